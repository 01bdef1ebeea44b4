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
