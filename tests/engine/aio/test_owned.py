"""``OwnedTasks``: every spawned task is tracked until it ends and joined on close.

Invariant: after ``join`` returns or raises, no task spawned before it is
still running; a crashed task is logged, and does not stop ``join``.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from engine.aio.owned import OwnedTasks


async def test_join_waits_for_every_task_and_forgets_the_finished() -> None:
    tasks = OwnedTasks()
    ended: list[int] = []

    async def work(n: int) -> None:
        await asyncio.sleep(0.001 * n)
        ended.append(n)

    for n in (3, 1, 2):
        tasks.spawn(work(n), name=f"work {n}")
    assert len(tasks) == 3
    await tasks.join()
    assert sorted(ended) == [1, 2, 3]
    assert len(tasks) == 0


async def test_join_also_waits_for_tasks_spawned_while_it_waits() -> None:
    tasks = OwnedTasks()
    ended: list[str] = []

    async def child() -> None:
        await asyncio.sleep(0.001)
        ended.append("child")

    async def parent() -> None:
        tasks.spawn(child(), name="child")
        ended.append("parent")

    tasks.spawn(parent(), name="parent")
    await tasks.join()
    assert ended == ["parent", "child"]


async def test_a_crashed_task_is_logged_under_the_owners_logger(caplog: pytest.LogCaptureFixture) -> None:
    owner_log = logging.getLogger("tests.owner")
    tasks = OwnedTasks(owner_log)

    async def crash() -> None:
        raise RuntimeError("lost")

    with caplog.at_level(logging.ERROR):
        tasks.spawn(crash(), name="execution e1")
        await tasks.join()
    [record] = caplog.records
    assert (record.name, record.getMessage()) == ("tests.owner", "execution e1 crashed")


async def test_cancelling_join_cancels_the_tasks_and_waits_for_their_cleanup() -> None:
    tasks = OwnedTasks()
    cleaned = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0)  # cleanup that itself awaits
            cleaned.set()

    tasks.spawn(forever(), name="forever")
    joiner = asyncio.get_running_loop().create_task(tasks.join())
    await asyncio.sleep(0.001)
    joiner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await joiner
    assert cleaned.is_set()
    assert len(tasks) == 0
