"""A suspend stops the cleanup after an execution's end at once; the resuming engine finishes it.

The cleanup after the end is shielded from stops and timeouts, not from a
suspend (a durable engine leaving: a worker's SIGTERM). Each test runs on a
real SQLite file and a real PostgreSQL database in virtual time: leaving the
engine while a cleaner waits takes no time, the execution stays RUNNING with
its decided end and its ledger, and the next engine runs the cleanup again
and records that end once, also for an execution that was stopped.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from engine import LoopClock
from tests.engine.store.test_resume_ending import CLEANUP_SECONDS, CUSTOM, _SlowCleaner

pytestmark = [
    pytest.mark.looptime,
    pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True),
]

WAITING: Any = {
    "StartAt": "Work",
    "States": {
        "Work": {"Type": "Task", "Resource": CUSTOM, "Next": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 1000, "End": True},
    },
}


async def test_leaving_the_engine_in_a_cleanup_takes_no_time_and_the_next_engine_finishes_it(
    harness: Any, store_url: str
) -> None:
    cleaner = _SlowCleaner("fail")
    harness.registry.register(CUSTOM, cleaner)
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(WAITING, {})
        with anyio.fail_after(10):
            await cleaner.cleaning.wait()
        left_at = loop.time()
    assert loop.time() - left_at < 1  # not the cleanup's 100 s
    async with harness.engine(clock=clock, store=store_url) as engine:
        resumed = engine.get(execution.execution_arn)
        assert resumed is not None and resumed.status == "RUNNING"
        result = await resumed.wait()
    assert loop.time() - left_at == pytest.approx(CLEANUP_SECONDS, abs=1)
    assert (result.status, result.error) == ("FAILED", "Job.Failed")
    assert cleaner.calls == 1 and cleaner.cleanups == ["FAILED", "FAILED"]
    types = result.history.types
    assert types.count("CleanedUp") == 1 and types[-2:] == ["CleanedUp", "ExecutionFailed"]


async def test_a_stopped_execution_suspended_in_its_cleanup_ends_aborted_once_on_the_next_engine(
    harness: Any, store_url: str
) -> None:
    cleaner = _SlowCleaner("succeed")
    harness.registry.register(CUSTOM, cleaner)
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(WAITING, {})
        await anyio.sleep(10)  # in the Wait, after the Task noted what it made
        execution.stop("Operator.Stop", "by hand")
        with anyio.fail_after(10):
            await cleaner.cleaning.wait()
        left_at = loop.time()
    assert loop.time() - left_at < 1
    async with harness.engine(clock=clock, store=store_url) as engine:
        resumed = engine.get(execution.execution_arn)
        assert resumed is not None and resumed.status == "RUNNING"
        result = await resumed.wait()
    assert (result.status, result.error, result.cause) == ("ABORTED", "Operator.Stop", "by hand")
    assert cleaner.cleanups == ["ABORTED", "ABORTED"]
    types = result.history.types
    assert types.count("ExecutionAborted") == 1 and types[-2:] == ["CleanedUp", "ExecutionAborted"]
