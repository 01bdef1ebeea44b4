"""Retry and Catch, in virtual time.

Retry timing is measured on a fast-forwarded loop (``looptime``): the handler
records ``loop.time()`` at every attempt, so the gaps are exactly the delays
the engine chose. Error matching follows AWS: ``States.ALL`` matches anything
but the terminal ``States.DataLimitExceeded`` and ``States.Runtime``;
``States.TaskFailed`` matches task errors but not ``States.Timeout``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from engine import ExecutorCall, ExecutorContext, StatesError, SystemClock

CUSTOM = "arn:aws:states:::custom:call"


def _task(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": CUSTOM, "End": True, **fields}}}


def _with_catch(catch: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    definition = _task(Catch=catch, **fields)
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    if any(c.get("Next") == "Other" for c in catch):
        definition["States"]["Other"] = {"Type": "Pass", "Result": "other", "End": True}
    return definition


class Failing:
    """A handler that fails with given errors, then succeeds; records the loop time of each attempt."""

    def __init__(self, *errors: str, result: Any = "done") -> None:
        self.errors = list(errors)
        self.result = result
        self.times: list[float] = []
        self.attempts: list[int] = []
        self.params: list[Any] = []

    async def __call__(self, call: ExecutorCall, ctx: ExecutorContext) -> Any:
        self.times.append(asyncio.get_running_loop().time())
        self.attempts.append(ctx.attempt)
        self.params.append(call.parameters)
        if self.errors:
            raise StatesError(self.errors.pop(0), "failed on purpose")
        return self.result

    @property
    def gaps(self) -> list[float]:
        return [round(b - a, 6) for a, b in zip(self.times, self.times[1:], strict=False)]


@pytest.mark.looptime
async def test_retry_defaults_wait_one_two_four_seconds_then_give_up(harness: Any) -> None:
    handler = Failing("E", "E", "E", "E")
    harness.handle(CUSTOM, handler)
    result = await harness.run(_task(Retry=[{"ErrorEquals": ["E"]}]), {}, clock=SystemClock())
    assert (result.status, result.error) == ("FAILED", "E")
    assert handler.gaps == [1, 2, 4]
    assert handler.attempts == [0, 1, 2, 3]


@pytest.mark.looptime
async def test_interval_and_backoff_rate_set_the_delays(harness: Any) -> None:
    handler = Failing("E", "E", "E")
    harness.handle(CUSTOM, handler)
    retry = [{"ErrorEquals": ["E"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}]
    result = await harness.run(_task(Retry=retry), {}, clock=SystemClock())
    assert (result.status, result.output) == ("SUCCEEDED", "done")
    assert handler.gaps == [2, 6, 18]


@pytest.mark.looptime
async def test_max_delay_seconds_caps_the_backoff(harness: Any) -> None:
    handler = Failing("E", "E", "E", "E")
    harness.handle(CUSTOM, handler)
    retry = [
        {
            "ErrorEquals": ["E"],
            "IntervalSeconds": 1,
            "BackoffRate": 10,
            "MaxAttempts": 4,
            "MaxDelaySeconds": 50,
        }
    ]
    result = await harness.run(_task(Retry=retry), {}, clock=SystemClock())
    assert result.status == "SUCCEEDED"
    assert handler.gaps == [1, 10, 50, 50]


async def test_max_attempts_zero_never_retries(harness: Any) -> None:
    handler = Failing("E")
    harness.handle(CUSTOM, handler)
    result = await harness.run(_task(Retry=[{"ErrorEquals": ["E"], "MaxAttempts": 0}]), {})
    assert result.error == "E"
    assert len(handler.times) == 1


@pytest.mark.looptime
async def test_full_jitter_draws_delays_below_the_backoff_reproducibly_with_a_seed(harness: Any) -> None:
    retry = [
        {
            "ErrorEquals": ["E"],
            "IntervalSeconds": 10,
            "BackoffRate": 2,
            "MaxAttempts": 5,
            "JitterStrategy": "FULL",
        }
    ]
    runs: list[list[float]] = []
    for _ in range(2):
        handler = Failing("E", "E", "E", "E", "E")
        harness.handle(CUSTOM, handler)
        result = await harness.run(_task(Retry=retry), {}, clock=SystemClock(), seed=1234)
        assert result.status == "SUCCEEDED"
        runs.append(handler.gaps)
    first, second = runs
    assert first == second
    caps = [10, 20, 40, 80, 160]
    assert all(0 <= gap <= cap for gap, cap in zip(first, caps, strict=True))
    assert first != caps
    other = Failing("E", "E", "E", "E", "E")
    harness.handle(CUSTOM, other)
    await harness.run(_task(Retry=retry), {}, clock=SystemClock(), seed=99)
    assert other.gaps != first


async def test_each_retrier_counts_its_own_attempts(harness: Any) -> None:
    handler = Failing("A", "B", "B", "A")
    harness.handle(CUSTOM, handler)
    retry = [{"ErrorEquals": ["A"], "MaxAttempts": 1}, {"ErrorEquals": ["B"], "MaxAttempts": 2}]
    result = await harness.run(_task(Retry=retry), {})
    # A (retry 1/1), B (1/2), B (2/2), A again: A's retrier is spent.
    assert (result.status, result.error) == ("FAILED", "A")
    assert len(handler.times) == 4


async def test_the_first_matching_retrier_is_used(harness: Any) -> None:
    handler = Failing("E", "E")
    harness.handle(CUSTOM, handler)
    retry = [{"ErrorEquals": ["E"], "MaxAttempts": 1}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]
    result = await harness.run(_task(Retry=retry), {})
    assert result.error == "E"
    assert len(handler.times) == 2


async def test_an_unmatched_error_is_not_retried(harness: Any) -> None:
    handler = Failing("Other")
    harness.handle(CUSTOM, handler)
    result = await harness.run(_task(Retry=[{"ErrorEquals": ["E"]}]), {})
    assert result.error == "Other"
    assert len(handler.times) == 1


async def test_retry_counters_start_again_when_the_state_is_entered_again(harness: Any) -> None:
    handler = Failing("E", "E")
    harness.handle(CUSTOM, handler)
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": CUSTOM,
                "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1}],
                "ResultPath": "$.r",
                "Next": "Again",
            },
            "Again": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.loop", "IsPresent": False, "Next": "Mark"}],
                "Default": "Done",
            },
            "Mark": {"Type": "Pass", "Result": True, "ResultPath": "$.loop", "Next": "T"},
            "Done": {"Type": "Succeed"},
        },
    }
    handler.errors = ["E", "E"]
    # First visit: E then success. Second visit: E then success again (a fresh MaxAttempts of 1).
    original = handler.__call__

    async def fail_first_of_each_visit(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        if ctx.attempt == 0:
            handler.errors = ["E"]
        return await original(call, ctx)

    harness.handle(CUSTOM, fail_first_of_each_visit)
    result = await harness.run(definition, {})
    assert result.status == "SUCCEEDED"
    assert handler.attempts == [0, 1, 0, 1]


async def test_retry_count_in_the_context_follows_the_attempts(harness: Any) -> None:
    handler = Failing("E", "E")
    harness.handle(CUSTOM, handler)
    definition = _task(
        Parameters={"retry.$": "$$.State.RetryCount"}, Retry=[{"ErrorEquals": ["E"], "MaxAttempts": 2}]
    )
    result = await harness.run(definition, {})
    assert result.status == "SUCCEEDED"
    assert handler.params == [{"retry": 0}, {"retry": 1}, {"retry": 2}]


async def test_a_retried_task_records_each_attempt_in_the_history(harness: Any) -> None:
    harness.handle(CUSTOM, Failing("E"))
    result = await harness.run(_task(Retry=[{"ErrorEquals": ["E"]}]), {})
    assert result.history.types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


# -- Catch ---------------------------------------------------------------------------------------


async def test_catch_without_result_path_outputs_the_error_object(harness: Any) -> None:
    harness.handle(CUSTOM, Failing("E"))
    result = await harness.run(_with_catch([{"ErrorEquals": ["E"], "Next": "Caught"}]), {"in": 1})
    assert result.status == "SUCCEEDED"
    assert result.output == {"Error": "E", "Cause": "failed on purpose"}


async def test_catch_result_path_merges_the_error_into_the_state_input(harness: Any) -> None:
    harness.handle(CUSTOM, Failing("E"))
    result = await harness.run(
        _with_catch([{"ErrorEquals": ["E"], "ResultPath": "$.error", "Next": "Caught"}]), {"in": 1}
    )
    assert result.output == {"in": 1, "error": {"Error": "E", "Cause": "failed on purpose"}}


async def test_catch_result_path_null_keeps_the_state_input(harness: Any) -> None:
    harness.handle(CUSTOM, Failing("E"))
    result = await harness.run(
        _with_catch([{"ErrorEquals": ["E"], "ResultPath": None, "Next": "Caught"}]), {"in": 1}
    )
    assert result.output == {"in": 1}


async def test_the_first_matching_catcher_is_used(harness: Any) -> None:
    harness.handle(CUSTOM, Failing("E"))
    catch = [
        {"ErrorEquals": ["Nope"], "Next": "Other"},
        {"ErrorEquals": ["E"], "Next": "Caught"},
        {"ErrorEquals": ["States.ALL"], "Next": "Other"},
    ]
    result = await harness.run(_with_catch(catch), {})
    assert result.output == {"Error": "E", "Cause": "failed on purpose"}


async def test_catch_applies_after_retries_are_spent(harness: Any) -> None:
    handler = Failing("E", "E", "E")
    harness.handle(CUSTOM, handler)
    definition = _with_catch(
        [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], Retry=[{"ErrorEquals": ["E"], "MaxAttempts": 2}]
    )
    result = await harness.run(definition, {})
    assert result.status == "SUCCEEDED"
    assert len(handler.times) == 3
    types = result.history.types
    assert types.count("TaskFailed") == 3
    assert types[types.index("TaskStateExited") - 1] == "TaskFailed"


@pytest.mark.parametrize(
    "error",
    [
        "E",
        "Lambda.Unknown",
        "States.TaskFailed",
        "States.Timeout",
        "States.HeartbeatTimeout",
        "States.Permissions",
    ],
)
async def test_states_all_catches_ordinary_errors(harness: Any, error: str) -> None:
    harness.handle(CUSTOM, Failing(error))
    result = await harness.run(_with_catch([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]), {})
    assert result.status == "SUCCEEDED"
    assert result.output["Error"] == error


async def test_states_all_does_not_catch_states_runtime(harness: Any) -> None:
    harness.handle(CUSTOM, Failing())
    definition = _with_catch([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], InputPath="$.missing")
    result = await harness.run(definition, {})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


async def test_states_all_does_not_retry_states_runtime(harness: Any) -> None:
    handler = Failing()
    harness.handle(CUSTOM, handler)
    result = await harness.run(_task(InputPath="$.missing", Retry=[{"ErrorEquals": ["States.ALL"]}]), {})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert handler.times == []


async def test_states_all_does_not_catch_data_limit_exceeded(harness: Any) -> None:
    harness.handle(CUSTOM, Failing(result="x" * 300_000))
    result = await harness.run(_with_catch([{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]), {})
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")


@pytest.mark.parametrize(
    ("error", "caught"), [("MyError", True), ("States.TaskFailed", True), ("States.Timeout", False)]
)
async def test_states_task_failed_matches_task_errors_but_not_timeouts(
    harness: Any, error: str, caught: bool
) -> None:
    harness.handle(CUSTOM, Failing(error))
    result = await harness.run(_with_catch([{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]), {})
    assert (result.status == "SUCCEEDED") is caught
    if not caught:
        assert result.error == error


async def test_an_uncaught_error_fails_the_execution(harness: Any) -> None:
    harness.handle(CUSTOM, Failing("E"))
    result = await harness.run(_with_catch([{"ErrorEquals": ["Other"], "Next": "Caught"}]), {})
    assert (result.status, result.error, result.cause) == ("FAILED", "E", "failed on purpose")


async def test_an_exception_from_a_local_function_is_retried_by_its_type_name(harness: Any) -> None:
    calls: list[int] = []

    def flaky(p: Any) -> Any:
        calls.append(1)
        if len(calls) < 3:
            raise TimeoutError("slow")
        return "ok"

    harness.fn("flaky", flaky)
    definition = {
        "StartAt": "T",
        "States": {
            "T": harness.task("flaky", Retry=[{"ErrorEquals": ["TimeoutError"], "IntervalSeconds": 5}])
        },
    }
    result = await harness.run(definition, {})
    assert result.output == {"value": "ok"}
    assert len(calls) == 3


@pytest.mark.looptime
async def test_a_retry_wait_is_a_cancel_point_for_stop(harness: Any) -> None:
    handler = Failing("E", "E")
    harness.handle(CUSTOM, handler)
    async with harness.engine(clock=SystemClock()) as engine:
        execution = engine.start(_task(Retry=[{"ErrorEquals": ["E"], "IntervalSeconds": 1000}]), {})
        await anyio.sleep(10)
        execution.stop("Stopped", "during the retry wait")
        result = await execution.wait()
    assert result.status == "ABORTED"
    assert len(handler.times) == 1
