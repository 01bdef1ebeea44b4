"""A state's failure that spans an await is committed first: a resume continues from it.

An execution's end waits for executors that clean up after it
(``ExecutionCleaner``) before its final event is recorded. That wait is a
window: a crash or a suspend in it must not make the resumed execution call
its last Task again, nor record that Task's events twice. Each test runs on a
real SQLite file and a real PostgreSQL database and cuts the run while the
cleanup waits, in two ways: the store stops taking writes at that moment
(what a SIGKILL leaves: only what was committed before the cleanup began),
or the engine suspends the execution there (what SIGTERM leaves).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import anyio
import pytest

from engine import ExecutorCall, ExecutorContext, LoopClock, TaskFailed
from engine.executor import ExecutionEnd

CUSTOM: Final = "arn:aws:states:::custom:call"
CLEANUP_SECONDS: Final = 100.0

pytestmark = pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)


class _SlowCleaner:
    """A Task resource whose executor also cleans up after executions, slowly.

    ``cut``: what to do when a cleanup begins ("freeze": the store takes no more
    writes, as if the process died there; "none": nothing).
    """

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self.calls = 0
        self.cleanups: list[str] = []
        self.store: Any = None
        self.cut = "none"
        self.cleaning = anyio.Event()

    async def run(self, call: ExecutorCall, ctx: ExecutorContext) -> Any:
        self.calls += 1
        ctx.ledger("custom:made", {"by": ctx.state_name})  # something to clean up after the execution
        if self.outcome == "fail":
            raise TaskFailed("Job.Failed", "the job failed")
        return {"done": self.calls}

    def execution_ended(self, status: str, ledger: Mapping[str, Any]) -> list[str]:
        return [key for key in ledger if key.startswith("custom:")]

    async def clean_up_execution(self, end: ExecutionEnd) -> None:
        self.cleanups.append(end.status)
        if self.cut == "freeze":
            self.store.freeze()
        self.cleaning.set()
        await end.clock.sleep(CLEANUP_SECONDS)
        end.emit("CleanedUp", {"status": end.status})
        end.note("custom:made", None)


DEFINITION: Final = {
    "StartAt": "Prep",
    "States": {
        "Prep": {"Type": "Pass", "Result": 1, "ResultPath": "$.prep", "Next": "Work"},
        "Work": {"Type": "Task", "Resource": CUSTOM, "End": True},
    },
}


async def _cut_in_cleanup(harness: Any, store_url: str, cleaner: _SlowCleaner, cut: str) -> Any:
    """Run until the cleanup waits, cut there (``cut``), then resume on a new engine; its result."""
    harness.registry.register(CUSTOM, cleaner)
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        cleaner.store = engine.store
        cleaner.cut = cut
        execution = engine.start(DEFINITION, {})
        with anyio.fail_after(10):
            await cleaner.cleaning.wait()
        cleaner.cut = "none"
    async with harness.engine(clock=clock, store=store_url) as engine:
        resumed = engine.get(execution.execution_arn)
        assert resumed is not None
        return await resumed.wait()


@pytest.mark.looptime
@pytest.mark.parametrize("cut", ["freeze", "suspend"])
async def test_a_failed_task_is_not_called_again_after_a_crash_while_the_execution_cleans_up(
    harness: Any, store_url: str, cut: str
) -> None:
    cleaner = _SlowCleaner("fail")
    result = await _cut_in_cleanup(harness, store_url, cleaner, cut)
    assert (result.status, result.error, result.cause) == ("FAILED", "Job.Failed", "the job failed")
    assert cleaner.calls == 1
    assert cleaner.cleanups == ["FAILED", "FAILED"]  # the interrupted cleanup runs again, to its end
    types = result.history.types
    assert types == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "CleanedUp",
        "ExecutionFailed",
    ]
    assert [e.id for e in result.history] == list(range(1, len(types) + 1))


@pytest.mark.looptime
@pytest.mark.parametrize("cut", ["freeze", "suspend"])
async def test_a_succeeded_task_is_not_called_again_after_a_crash_while_the_execution_cleans_up(
    harness: Any, store_url: str, cut: str
) -> None:
    cleaner = _SlowCleaner("succeed")
    result = await _cut_in_cleanup(harness, store_url, cleaner, cut)
    assert (result.status, result.output) == ("SUCCEEDED", {"done": 1})
    assert cleaner.calls == 1
    assert cleaner.cleanups == ["SUCCEEDED", "SUCCEEDED"]
    types = result.history.types
    assert types[-5:] == ["TaskStarted", "TaskSucceeded", "TaskStateExited", "CleanedUp", "ExecutionSucceeded"]
    assert types.count("TaskScheduled") == 1
    assert [e.id for e in result.history] == list(range(1, len(types) + 1))
