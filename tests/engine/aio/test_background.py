"""BackgroundTasks: an owner's long-lived tasks, hosted in one task, guarded, closed by aclose."""

from __future__ import annotations

import logging

import anyio
import pytest

from engine.aio.background import BackgroundTasks


async def test_a_crashed_task_is_logged_and_its_siblings_keep_running(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks(name="host", owner="the test services")
    ticks: list[int] = []

    async def crash() -> None:
        raise ValueError("boom")

    async def tick() -> None:
        while True:
            ticks.append(1)
            await anyio.sleep(0.01)

    with caplog.at_level(logging.ERROR, logger="engine.aio.background"):
        await tasks.start_soon(tick, name="tick")
        await tasks.start_soon(crash, name="crash")
        await anyio.sleep(0.1)
    assert any("background task crash crashed" in r.getMessage() for r in caplog.records)
    before = len(ticks)
    await anyio.sleep(0.05)
    assert len(ticks) > before
    await tasks.aclose()


async def test_aclose_cancels_every_task_and_later_starts_are_refused() -> None:
    tasks = BackgroundTasks(name="host", owner="the test services")
    cancelled = anyio.Event()

    async def forever() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    await tasks.start_soon(forever, name="forever")
    await anyio.sleep(0)
    await tasks.aclose()
    assert cancelled.is_set()
    with pytest.raises(RuntimeError, match="the test services are closed"):
        await tasks.start_soon(forever, name="again")


async def test_closing_before_any_task_started_is_a_no_op() -> None:
    tasks = BackgroundTasks()
    await tasks.aclose()
    assert repr(tasks) == "BackgroundTasks(running=False)"
