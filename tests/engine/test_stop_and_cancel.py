"""Execution lifecycle: stop (StopExecution), cancellation, naming and many executions at once.

Invariant behind every stop test: after ``stop`` the execution is ABORTED
with the given error and cause, an ``ExecutionAborted`` event ends its
history, the executor's coroutine saw the cancellation and its shielded
cleanup ran, and nothing is left running (``engine.running == 0``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from engine import (
    Engine,
    ExecutionAlreadyExists,
    ExecutorCall,
    ExecutorContext,
    InvalidInput,
    SystemClock,
)

CUSTOM = "arn:aws:states:::custom:call"


def _task(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": CUSTOM, "End": True, **fields}}}


class Blocking:
    """Blocks until cancelled; records that it started, saw cancellation and cleaned up (shielded)."""

    def __init__(self) -> None:
        self.started = 0
        self.cancelled = 0
        self.cleaned_up = 0
        self.cleanup_slept = 0.0

    async def __call__(self, call: ExecutorCall, ctx: ExecutorContext) -> Any:
        self.started += 1
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        finally:
            # Cleanup (deleting a Job, say) must survive the cancellation: shielded and time-limited.
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                before = asyncio.get_running_loop().time()
                await anyio.sleep(1)
                self.cleanup_slept = asyncio.get_running_loop().time() - before
                self.cleaned_up += 1
        return None  # pragma: no cover - never reached


async def _until(predicate: Any) -> None:
    with anyio.fail_after(5):
        while not predicate():
            await anyio.sleep(0.001)


@pytest.mark.looptime
async def test_stop_aborts_the_execution_and_cancels_its_executor(harness: Any) -> None:
    blocking = Blocking()
    harness.handle(CUSTOM, blocking)
    async with harness.engine(clock=SystemClock()) as engine:
        execution = engine.start(_task(), {"in": 1})
        await _until(lambda: blocking.started == 1)
        assert execution.status == "RUNNING"
        assert engine.running == 1
        execution.stop("User.Stop", "stopped by the test")
        result = await execution.wait()
        assert engine.running == 0
    assert (result.status, result.error, result.cause) == ("ABORTED", "User.Stop", "stopped by the test")
    assert blocking.cancelled == 1
    assert blocking.cleaned_up == 1
    assert blocking.cleanup_slept == pytest.approx(1)
    assert result.history.types[-1] == "ExecutionAborted"
    assert result.history[-1].details == {"error": "User.Stop", "cause": "stopped by the test"}
    assert "TaskSucceeded" not in result.history.types and "TaskFailed" not in result.history.types
    assert result.stop_date is not None


@pytest.mark.looptime
async def test_stop_without_error_or_cause_records_an_empty_aborted_event(harness: Any) -> None:
    async with harness.engine(clock=SystemClock()) as engine:
        execution = engine.start(
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": True}}}, {}
        )
        await anyio.sleep(1)
        execution.stop()
        result = await execution.wait()
    assert (result.status, result.error, result.cause) == ("ABORTED", None, None)
    assert result.history[-1].type == "ExecutionAborted"
    assert result.history[-1].details == {}


@pytest.mark.looptime
async def test_stop_during_a_wait_ends_the_wait_at_once(harness: Any) -> None:
    loop = asyncio.get_running_loop()
    async with harness.engine(clock=SystemClock()) as engine:
        execution = engine.start(
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}, {}
        )
        await anyio.sleep(10)
        execution.stop("E", "C")
        await execution.wait()
        assert loop.time() == pytest.approx(10)
    assert "WaitStateExited" not in execution.result().history.types


@pytest.mark.looptime
async def test_stop_cancels_every_map_iteration_and_parallel_branch(harness: Any) -> None:
    blocking = Blocking()
    harness.handle(CUSTOM, blocking)
    task = {"Type": "Task", "Resource": CUSTOM, "End": True}
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "M",
                        "States": {
                            "M": {
                                "Type": "Map",
                                "ItemProcessor": {"StartAt": "I", "States": {"I": task}},
                                "End": True,
                            }
                        },
                    },
                    {"StartAt": "T", "States": {"T": task}},
                ],
                "End": True,
            }
        },
    }
    async with harness.engine(clock=SystemClock()) as engine:
        execution = engine.start(definition, [1, 2, 3, 4])
        await _until(lambda: blocking.started == 5)
        execution.stop("Halt", "all of it")
        result = await execution.wait()
        assert engine.running == 0
    assert result.status == "ABORTED"
    assert (blocking.cancelled, blocking.cleaned_up) == (5, 5)


async def test_stop_after_the_end_changes_nothing(harness: Any) -> None:
    async with harness.engine() as engine:
        execution = engine.start({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {"a": 1})
        result = await execution.wait()
        execution.stop("Late", "too late")
        assert execution.result().status == "SUCCEEDED"
    assert result.output == {"a": 1}
    assert execution.result().history.types[-1] == "ExecutionSucceeded"


@pytest.mark.looptime
async def test_a_second_stop_does_not_replace_the_first(harness: Any) -> None:
    blocking = Blocking()
    harness.handle(CUSTOM, blocking)
    async with harness.engine(clock=SystemClock()) as engine:
        execution = engine.start(_task(), {})
        await _until(lambda: blocking.started == 1)
        execution.stop("First", "1")
        execution.stop("Second", "2")
        result = await execution.wait()
    assert (result.error, result.cause) == ("First", "1")
    assert result.history.types.count("ExecutionAborted") == 1


@pytest.mark.looptime
async def test_leaving_the_engine_aborts_what_still_runs(harness: Any) -> None:
    blocking = Blocking()
    harness.handle(CUSTOM, blocking)
    async with harness.engine(clock=SystemClock()) as engine:
        execution = engine.start(_task(), {})
        await _until(lambda: blocking.started == 1)
    assert engine.running == 0
    assert execution.done
    assert execution.status == "ABORTED"
    assert blocking.cancelled == 1 and blocking.cleaned_up == 1
    assert execution.result().history.types[-1] == "ExecutionAborted"


@pytest.mark.looptime
async def test_describe_reports_a_running_then_an_aborted_execution(harness: Any) -> None:
    async with harness.engine(clock=SystemClock()) as engine:
        execution = engine.start(
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": True}}},
            {"k": "v"},
            name="described",
            state_machine_name="SM",
        )
        await anyio.sleep(1)
        running = execution.describe()
        assert engine.get(execution.execution_arn) is execution
        execution.stop("E", "C")
        await execution.wait()
        stopped = execution.describe()
        assert engine.get(execution.execution_arn) is None
    assert running["status"] == "RUNNING"
    assert running["name"] == "described"
    assert running["executionArn"] == "arn:aws:states:us-east-1:123456789012:execution:SM:described"
    assert running["stateMachineArn"] == "arn:aws:states:us-east-1:123456789012:stateMachine:SM"
    assert running["input"] == {"k": "v"}
    assert "stopDate" not in running and "output" not in running
    assert stopped["status"] == "ABORTED"
    assert (stopped["error"], stopped["cause"]) == ("E", "C")
    assert "stopDate" in stopped


# -- starting executions --------------------------------------------------------------------------

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


async def test_execution_names_are_unique_per_state_machine(harness: Any) -> None:
    async with harness.engine() as engine:
        await engine.run(PASS, {}, name="same")
        with pytest.raises(ExecutionAlreadyExists):
            engine.start(PASS, {}, name="same")
        # Another state machine may reuse the name.
        other = await engine.run(PASS, {}, name="same", state_machine_name="Other")
        assert other.status == "SUCCEEDED"
        assert other.execution_arn.endswith(":execution:Other:same")


async def test_a_name_stays_taken_while_the_first_execution_runs(harness: Any) -> None:
    async with harness.engine(clock=SystemClock()) as engine:
        first = engine.start(
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 0, "End": True}}}, {}, name="n"
        )
        with pytest.raises(ExecutionAlreadyExists):
            engine.start(PASS, {}, name="n")
        await first.wait()


async def test_executions_without_a_name_get_distinct_generated_names(harness: Any) -> None:
    async with harness.engine() as engine:
        names = {(await engine.run(PASS, {})).name for _ in range(20)}
    assert len(names) == 20


async def test_an_execution_name_longer_than_80_characters_is_refused(harness: Any) -> None:
    async with harness.engine() as engine:
        with pytest.raises(InvalidInput):
            engine.start(PASS, {}, name="x" * 81)
        assert (await engine.run(PASS, {}, name="x" * 80)).status == "SUCCEEDED"


async def test_input_that_is_not_json_is_refused(harness: Any) -> None:
    async with harness.engine() as engine:
        with pytest.raises(InvalidInput):
            engine.start(PASS, input_json="{not json")
        ok = await engine.start(PASS, input_json='{"a": [1]}').wait()
    assert ok.output == {"a": [1]}


async def test_starting_outside_the_engine_block_is_refused() -> None:
    engine = Engine(load_plugins=False)
    with pytest.raises(RuntimeError):
        engine.start(PASS, {})


@pytest.mark.looptime
async def test_a_thousand_short_executions_run_concurrently_and_all_succeed(harness: Any) -> None:
    harness.fn("add", lambda p: p["n"] + 1)
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "T"},
            "T": harness.task("add", ResultPath="$.r", End=True),
        },
    }
    async with harness.engine(clock=SystemClock()) as engine:
        handles = [engine.start(definition, {"n": i}) for i in range(1000)]
        assert engine.running == 1000
        results = [await h.wait() for h in handles]
        assert engine.running == 0
        # All waited concurrently: one second of virtual time, not a thousand.
        assert asyncio.get_running_loop().time() == pytest.approx(1)
    assert all(r.status == "SUCCEEDED" for r in results)
    assert [r.output["r"]["value"] for r in results] == [i + 1 for i in range(1000)]


async def test_a_given_name_is_remembered_for_90_days_then_forgotten() -> None:
    from engine.runtime.clock import ImmediateClock

    pass_ = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    wait_91_days = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 91 * 86400, "End": True}}}
    async with Engine(load_plugins=False, clock=ImmediateClock()) as engine:
        await engine.run(pass_, name="nightly")
        with pytest.raises(ExecutionAlreadyExists):
            engine.start(pass_, name="nightly")
        await engine.run(wait_91_days, name="the-wait")  # virtual time moves 91 days on
        assert (await engine.run(pass_, name="nightly")).status == "SUCCEEDED"


async def test_name_memory_is_bounded_and_forgets_the_oldest_first() -> None:
    pass_ = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    async with Engine(load_plugins=False, name_memory=2) as engine:
        for name in ("a", "b", "c"):
            await engine.run(pass_, name=name)
        assert (await engine.run(pass_, name="a")).status == "SUCCEEDED"  # forgotten: the oldest
        with pytest.raises(ExecutionAlreadyExists):
            engine.start(pass_, name="a")  # remembered again just now
        for _ in range(100):
            await engine.run(pass_)  # generated names are random UUIDs, never remembered
        assert len(engine._names) <= 2
