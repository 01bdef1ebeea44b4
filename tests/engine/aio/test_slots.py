"""RequestSlots: a FIFO bound on requests in flight whose waiters keep only a future."""

from __future__ import annotations

import asyncio

import anyio

from engine.aio.slots import RequestSlots


async def test_free_slots_are_taken_without_waiting_and_the_rest_queue_in_order() -> None:
    slots = RequestSlots(2)
    assert slots.try_acquire() and slots.try_acquire()
    assert not slots.try_acquire()
    order: list[int] = []

    async def wait(n: int) -> None:
        await slots.acquire()
        order.append(n)

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(wait, n)
        await asyncio.sleep(0)
        assert order == []
        slots.release()
        slots.release()
        await asyncio.sleep(0)
        assert order == [0, 1]
        slots.release()
    assert order == [0, 1, 2]
    assert slots.free == 0


async def test_a_cancelled_waiter_leaves_the_queue_and_loses_no_slot() -> None:
    slots = RequestSlots(1)
    assert slots.try_acquire()
    with anyio.move_on_after(0.01):
        await slots.acquire()
    slots.release()
    assert slots.free == 1
    assert slots.try_acquire()


async def test_a_slot_handed_to_a_waiter_that_is_cancelled_passes_to_the_next() -> None:
    slots = RequestSlots(1)
    assert slots.try_acquire()
    first = slots.enqueue()
    second = slots.enqueue()
    slots.release()
    assert first.done() and not second.done()
    slots.abandon(first)
    assert second.done()
    slots.release()
    assert slots.free == 1


async def test_nobody_overtakes_the_queue_while_a_slot_is_being_handed_over() -> None:
    slots = RequestSlots(1)
    assert slots.try_acquire()
    waiter = slots.enqueue()
    slots.release()
    assert waiter.done()
    assert not slots.try_acquire()


class Execution:
    """Stands for a parked execution: its wake runs its Task again (True) unless it no longer waits."""

    def __init__(self, name: str, woken: list[str], *, waits: bool = True) -> None:
        self.name = name
        self.woken = woken
        self.waits = waits

    def wake(self) -> bool:
        if not self.waits:
            return False
        self.woken.append(self.name)
        return True


async def test_parked_waiters_keep_their_place_among_futures_and_are_woken_with_the_slot() -> None:
    slots = RequestSlots(1)
    assert slots.try_acquire()
    woken: list[str] = []
    listen_a = slots.park("a")
    future = slots.enqueue()
    listen_b = slots.park("b")
    assert listen_a is not None and listen_b is not None
    listen_a(Execution("a", woken).wake)
    listen_b(Execution("b", woken).wake)
    assert slots.waiting == 3
    slots.release()
    assert woken == ["a"] and not future.done()
    assert slots.claim("a")  # its Task runs again and takes the slot handed to it
    slots.release()
    assert future.done() and woken == ["a"]
    slots.release()
    assert woken == ["a", "b"]
    assert slots.claim("b")
    slots.release()
    assert slots.free == 1 and slots.waiting == 0


async def test_a_slot_handed_before_the_engine_listens_wakes_the_waiter_when_it_does() -> None:
    slots = RequestSlots(1)
    assert slots.try_acquire()
    listen = slots.park("a")
    assert listen is not None
    slots.release()  # handed while the execution is still on its way out of its task
    woken: list[str] = []
    listen(Execution("a", woken).wake)
    assert woken == ["a"]
    assert slots.claim("a")
    assert slots.free == 0


async def test_a_slot_handed_to_an_execution_that_no_longer_waits_goes_to_the_next() -> None:
    slots = RequestSlots(1)
    assert slots.try_acquire()
    woken: list[str] = []
    for name, waits in (("gone", False), ("late", False), ("next", True)):
        listen = slots.park(name)
        assert listen is not None
        if name != "late":
            listen(Execution(name, woken, waits=waits).wake)
    slots.release()
    # "gone" said no; "late" has no wake yet and holds the slot until its listen says no too.
    assert woken == [] and slots.free == 0
    assert not slots.claim("gone")
    late = slots._parked["late"]
    late.listen(Execution("late", woken, waits=False).wake)
    assert woken == ["next"]
    assert slots.claim("next")
    slots.release()
    assert slots.free == 1 and slots.waiting == 0


async def test_a_parked_waiter_woken_by_something_else_leaves_the_line_holding_nothing() -> None:
    slots = RequestSlots(1)
    assert slots.try_acquire()
    woken: list[str] = []
    for name in ("a", "b"):
        listen = slots.park(name)
        assert listen is not None
        listen(Execution(name, woken).wake)
    assert not slots.claim("a")  # stopped: its Task runs again before any slot was handed to it
    assert slots.waiting == 1
    slots.release()
    assert woken == ["b"]
    assert slots.claim("b")
    assert not slots.claim("b")  # taken once
    slots.release()
    assert slots.free == 1


async def test_a_key_parks_once_a_second_park_of_it_is_refused() -> None:
    slots = RequestSlots(1)
    assert slots.try_acquire()
    assert slots.park("a") is not None
    assert slots.park("a") is None
    assert slots.waiting == 1
