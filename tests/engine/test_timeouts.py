"""Task TimeoutSeconds / TimeoutSecondsPath, HeartbeatSeconds, and the machine-level TimeoutSeconds.

All in virtual time (``looptime``): the assertions check the loop time at
which each timeout fired, which is exact on a fast-forwarded loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from engine import ExecutorCall, ExecutorContext, SystemClock

CUSTOM = "arn:aws:states:::custom:call"


def _task(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": CUSTOM, "End": True, **fields}}}


class Sleeper:
    """Sleeps ``seconds`` (optionally heartbeating every ``beat`` seconds); records what happened to it."""

    def __init__(self, seconds: float, beat: float | None = None) -> None:
        self.seconds = seconds
        self.beat = beat
        self.cancelled = False
        self.cleaned_up = False
        self.deadlines: list[float | None] = []

    async def __call__(self, call: ExecutorCall, ctx: ExecutorContext) -> Any:
        self.deadlines.append(ctx.deadline)
        try:
            if self.beat is None:
                await anyio.sleep(self.seconds)
            else:
                elapsed = 0.0
                while elapsed < self.seconds:
                    await anyio.sleep(self.beat)
                    elapsed += self.beat
                    ctx.heartbeat()
        except anyio.get_cancelled_exc_class():
            self.cancelled = True
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0)
                self.cleaned_up = True
        return {"slept": self.seconds}


def _now() -> float:
    return asyncio.get_running_loop().time()


@pytest.mark.looptime
async def test_a_task_over_its_timeout_fails_with_states_timeout(harness: Any) -> None:
    sleeper = Sleeper(100)
    harness.handle(CUSTOM, sleeper)
    start = _now()
    result = await harness.run(_task(TimeoutSeconds=5), {}, clock=SystemClock())
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert _now() - start == pytest.approx(5)
    assert sleeper.cancelled and sleeper.cleaned_up
    types = result.history.types
    assert types[-2:] == ["TaskTimedOut", "ExecutionFailed"]
    timed_out = result.history[types.index("TaskTimedOut")]
    assert timed_out.details is not None and timed_out.details["error"] == "States.Timeout"


@pytest.mark.looptime
async def test_a_task_within_its_timeout_succeeds(harness: Any) -> None:
    harness.handle(CUSTOM, Sleeper(4))
    result = await harness.run(_task(TimeoutSeconds=5), {}, clock=SystemClock())
    assert (result.status, result.output) == ("SUCCEEDED", {"slept": 4})


@pytest.mark.looptime
async def test_timeout_seconds_path_reads_the_timeout_from_the_input(harness: Any) -> None:
    sleeper = Sleeper(100)
    harness.handle(CUSTOM, sleeper)
    start = _now()
    result = await harness.run(_task(TimeoutSecondsPath="$.limit"), {"limit": 7}, clock=SystemClock())
    assert result.error == "States.Timeout"
    assert _now() - start == pytest.approx(7)
    assert sleeper.deadlines == [pytest.approx(start + 7)]


@pytest.mark.parametrize("bad", [0, -3, "5", None])
async def test_timeout_seconds_path_to_a_non_positive_integer_fails_with_states_runtime(
    harness: Any, bad: Any
) -> None:
    harness.handle(CUSTOM, Sleeper(0))
    result = await harness.run(_task(TimeoutSecondsPath="$.limit"), {"limit": bad})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


@pytest.mark.looptime
async def test_the_executor_sees_the_deadline_of_its_timeout(harness: Any) -> None:
    sleeper = Sleeper(1)
    harness.handle(CUSTOM, sleeper)
    start = _now()
    await harness.run(_task(TimeoutSeconds=30), {}, clock=SystemClock())
    assert sleeper.deadlines == [pytest.approx(start + 30)]


@pytest.mark.looptime
async def test_a_heartbeating_task_outlives_its_heartbeat_interval(harness: Any) -> None:
    harness.handle(CUSTOM, Sleeper(60, beat=5))
    result = await harness.run(_task(HeartbeatSeconds=10), {}, clock=SystemClock())
    assert (result.status, result.output) == ("SUCCEEDED", {"slept": 60})


@pytest.mark.looptime
async def test_a_silent_task_fails_with_heartbeat_timeout(harness: Any) -> None:
    sleeper = Sleeper(60)
    harness.handle(CUSTOM, sleeper)
    start = _now()
    result = await harness.run(_task(HeartbeatSeconds=10, TimeoutSeconds=100), {}, clock=SystemClock())
    assert (result.status, result.error) == ("FAILED", "States.HeartbeatTimeout")
    assert _now() - start == pytest.approx(10)
    assert sleeper.cancelled
    assert "TaskTimedOut" in result.history.types


@pytest.mark.looptime
async def test_heartbeats_do_not_extend_the_overall_timeout(harness: Any) -> None:
    harness.handle(CUSTOM, Sleeper(60, beat=5))
    start = _now()
    result = await harness.run(_task(HeartbeatSeconds=10, TimeoutSeconds=30), {}, clock=SystemClock())
    assert result.error == "States.Timeout"
    assert _now() - start == pytest.approx(30)


@pytest.mark.looptime
async def test_a_timeout_can_be_retried(harness: Any) -> None:
    attempts: list[float] = []

    async def slow_then_fast(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        attempts.append(_now())
        await anyio.sleep(100 if len(attempts) == 1 else 1)
        return "ok"

    harness.handle(CUSTOM, slow_then_fast)
    retry = [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 3, "MaxAttempts": 1}]
    start = _now()
    result = await harness.run(_task(TimeoutSeconds=5, Retry=retry), {}, clock=SystemClock())
    assert (result.status, result.output) == ("SUCCEEDED", "ok")
    assert [round(t - start, 6) for t in attempts] == [0, 8]


@pytest.mark.looptime
async def test_a_timeout_can_be_caught(harness: Any) -> None:
    harness.handle(CUSTOM, Sleeper(100))
    definition = _task(TimeoutSeconds=2, Catch=[{"ErrorEquals": ["States.Timeout"], "Next": "Late"}])
    definition["States"]["Late"] = {"Type": "Pass", "End": True}
    result = await harness.run(definition, {}, clock=SystemClock())
    assert result.status == "SUCCEEDED"
    assert result.output == {"Error": "States.Timeout", "Cause": ""}


@pytest.mark.looptime
async def test_the_machine_timeout_ends_the_execution_as_timed_out(harness: Any) -> None:
    sleeper = Sleeper(1000)
    harness.handle(CUSTOM, sleeper)
    definition = _task()
    definition["TimeoutSeconds"] = 60
    start = _now()
    async with harness.engine(clock=SystemClock()) as engine:
        result = await engine.run(definition, {})
        assert engine.running == 0
    assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")
    assert _now() - start == pytest.approx(60)
    assert sleeper.cancelled and sleeper.cleaned_up
    assert result.history.types[-1] == "ExecutionTimedOut"
    assert result.output is None


@pytest.mark.looptime
async def test_the_machine_timeout_also_bounds_a_wait(harness: Any) -> None:
    definition = {
        "StartAt": "W",
        "TimeoutSeconds": 10,
        "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}},
    }
    start = _now()
    result = await harness.run(definition, {}, clock=SystemClock())
    assert result.status == "TIMED_OUT"
    assert _now() - start == pytest.approx(10)


@pytest.mark.looptime
async def test_a_machine_that_finishes_in_time_succeeds(harness: Any) -> None:
    definition = {
        "StartAt": "W",
        "TimeoutSeconds": 10,
        "States": {"W": {"Type": "Wait", "Seconds": 9, "End": True}},
    }
    result = await harness.run(definition, {}, clock=SystemClock())
    assert result.status == "SUCCEEDED"
