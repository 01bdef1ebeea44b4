"""``Done``: set once, wakes every waiter, and a cancelled waiter leaves nothing behind."""

from __future__ import annotations

import asyncio

from engine.aio.done import Done


async def test_wait_returns_at_once_when_already_set() -> None:
    done = Done()
    done.set()
    await asyncio.wait_for(done.wait(), 1)
    assert done.is_set


async def test_set_wakes_every_waiter() -> None:
    done = Done()
    loop = asyncio.get_running_loop()
    waiters = [loop.create_task(done.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    done.set()
    await asyncio.wait_for(asyncio.gather(*waiters), 1)
    done.set()  # a second set changes nothing
    assert done.is_set


async def test_a_cancelled_waiter_is_forgotten_and_the_others_still_wake() -> None:
    done = Done()
    loop = asyncio.get_running_loop()
    gone = loop.create_task(done.wait())
    stays = loop.create_task(done.wait())
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    assert done._waiters is not None and len(done._waiters) == 1
    done.set()
    await asyncio.wait_for(stays, 1)


def test_no_waiter_list_is_made_until_someone_waits() -> None:
    done = Done()
    assert done._waiters is None
    done.set()
    assert done._waiters is None
