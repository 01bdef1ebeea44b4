"""``log_crash``: a task that died of an exception is logged with its name; others are not."""

from __future__ import annotations

import asyncio
import logging

import pytest

from engine.aio.crash import log_crash


async def _fail() -> None:
    raise ValueError("boom")


async def _return() -> None:
    return None


async def test_a_task_that_raised_is_logged_with_its_name_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = asyncio.get_running_loop().create_task(_fail(), name="the watcher")
    await asyncio.gather(task, return_exceptions=True)
    with caplog.at_level(logging.ERROR, logger="engine.aio.crash"):
        log_crash(task)
    [record] = caplog.records
    assert record.getMessage() == "the watcher crashed"
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)


async def test_a_task_that_returned_or_was_cancelled_is_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    returned = loop.create_task(_return())
    cancelled = loop.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(returned, cancelled, return_exceptions=True)
    with caplog.at_level(logging.DEBUG):
        log_crash(returned)
        log_crash(cancelled)
    assert caplog.records == []


async def test_the_crash_goes_to_the_logger_given(caplog: pytest.LogCaptureFixture) -> None:
    task = asyncio.get_running_loop().create_task(_fail(), name="t")
    await asyncio.gather(task, return_exceptions=True)
    mine = logging.getLogger("tests.mine")
    with caplog.at_level(logging.ERROR):
        log_crash(task, mine)
    assert [r.name for r in caplog.records] == ["tests.mine"]
