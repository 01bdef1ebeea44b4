"""A Distributed Map resumed after a crash does not run its finished iterations again, failed ones included.

A Distributed Map's children record their events in a history of their own,
so the parent's history cannot tell a resume which of them failed: the
Map's progress keeps each finished child's outcome. Each test runs on a real
SQLite file and a real PostgreSQL database, cuts the run while one iteration
still waits (a suspend, or the store cut off as a SIGKILL leaves it), resumes
on a new engine, and compares with the uncut run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

import anyio
import pytest

from engine import ExecutorCall, ExecutorContext, LoopClock, TaskFailed

CUSTOM: Final = "arn:aws:states:::custom:call"

pytestmark = pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)


def _machine(tolerated: int) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ToleratedFailureCount": tolerated,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": CUSTOM, "End": True}},
                },
                "End": True,
            }
        },
    }


async def _run(harness: Any, store_url: str, tolerated: int, items: list[int], cut: str | None) -> Any:
    """Run the Map over ``items``; cut at 50 s unless ``cut`` is None.

    An item from -9 to -1 fails at once, one below -10 fails after 100 s, 0 succeeds after 100 s.
    """
    calls: Counter[int] = Counter()

    async def work(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        item = call.parameters
        assert isinstance(item, int)
        calls[item] += 1
        if item == 0 or item < -10:
            await anyio.sleep(100)
        if item < 0:
            raise TaskFailed("Item.Bad", f"item {item}")
        return item * 10

    harness.handle(CUSTOM, work)
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(_machine(tolerated), items)
        if cut is None:
            return await execution.wait(), calls
        await anyio.sleep(50)
        if cut == "crash":
            assert engine.store is not None
            engine.store.freeze()
    async with harness.engine(clock=clock, store=store_url) as engine:
        resumed = engine.get(execution.execution_arn)
        assert resumed is not None
        return await resumed.wait(), calls


@pytest.mark.looptime
@pytest.mark.parametrize("cut", ["suspend", "crash"])
async def test_a_tolerated_failed_iteration_is_not_run_again_after_a_resume(
    harness: Any, store_url: str, cut: str
) -> None:
    whole, _ = await _run(harness, store_url, 1, [-1, 2, 0], None)
    result, calls = await _run(harness, store_url, 1, [-1, 2, 0], cut)
    assert (whole.status, whole.output) == ("SUCCEEDED", [None, 20, 0])
    assert (result.status, result.output) == (whole.status, whole.output)
    assert calls == {-1: 1, 2: 1, 0: 2}  # only the iteration still waiting at the cut runs again
    assert result.history.types == whole.history.types


@pytest.mark.looptime
@pytest.mark.parametrize("cut", ["suspend", "crash"])
async def test_failed_iterations_past_the_threshold_fail_the_resumed_map_as_the_uncut_one(
    harness: Any, store_url: str, cut: str
) -> None:
    # The tolerated failure at once, the one past the threshold after the resume.
    whole, _ = await _run(harness, store_url, 1, [-1, -11, 0], None)
    result, calls = await _run(harness, store_url, 1, [-1, -11, 0], cut)
    assert (whole.status, whole.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    assert (result.status, result.error, result.cause) == (whole.status, whole.error, whole.cause)
    assert calls == {-1: 1, -11: 2, 0: 2}
    assert result.history.types == whole.history.types
