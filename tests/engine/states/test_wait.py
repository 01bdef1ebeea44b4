"""Wait states in virtual time: Seconds, SecondsPath, Timestamp, TimestampPath.

Tests marked ``looptime`` run on a fast-forwarded event loop: the engine's
default ``SystemClock`` reads loop time, so a Wait of an hour takes no wall
time while ``loop.time()`` moves by exactly an hour.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine import LoopClock, SystemClock


def _wait(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "W", "States": {"W": {"Type": "Wait", "End": True, **fields}}}


@pytest.mark.looptime
async def test_seconds_waits_exactly_that_long_in_loop_time(harness: Any) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await harness.run(_wait(Seconds=3600), {"a": 1}, clock=SystemClock())
    assert result.status == "SUCCEEDED"
    assert result.output == {"a": 1}
    assert loop.time() - start == pytest.approx(3600)


@pytest.mark.looptime
async def test_seconds_path_reads_the_duration_from_the_input(harness: Any) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await harness.run(_wait(SecondsPath="$.delay"), {"delay": 42}, clock=SystemClock())
    assert result.status == "SUCCEEDED"
    assert loop.time() - start == pytest.approx(42)


@pytest.mark.looptime
async def test_timestamp_waits_until_that_wall_time(harness: Any) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    result = await harness.run(_wait(Timestamp="2026-01-01T00:10:00Z"), {}, clock=LoopClock(origin))
    assert result.status == "SUCCEEDED"
    assert loop.time() - start == pytest.approx(600)


@pytest.mark.looptime
async def test_timestamp_path_waits_until_the_time_in_the_input(harness: Any) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    when = (origin + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = await harness.run(_wait(TimestampPath="$.at"), {"at": when}, clock=LoopClock(origin))
    assert result.status == "SUCCEEDED"
    assert loop.time() - start == pytest.approx(300)


@pytest.mark.looptime
async def test_a_timestamp_in_the_past_does_not_wait(harness: Any) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await harness.run(
        _wait(Timestamp="2020-01-01T00:00:00Z"), {}, clock=LoopClock(datetime(2026, 1, 1, tzinfo=UTC))
    )
    assert result.status == "SUCCEEDED"
    assert loop.time() - start == pytest.approx(0)


@pytest.mark.looptime
async def test_concurrent_waits_finish_in_order_of_their_durations(harness: Any) -> None:
    finished: list[int] = []
    async with harness.engine(clock=SystemClock()) as engine:
        handles = [engine.start(_wait(SecondsPath="$.s"), {"s": s}) for s in (30, 10, 20)]

        async def watch(i: int) -> None:
            await handles[i].wait()
            finished.append(i)

        await asyncio.gather(*(watch(i) for i in range(3)))
        assert asyncio.get_running_loop().time() == pytest.approx(30)
    assert finished == [1, 2, 0]


@pytest.mark.parametrize("bad", [-1, "ten", None, [1]])
async def test_seconds_path_to_something_not_a_non_negative_number_fails_with_states_runtime(
    harness: Any, bad: Any
) -> None:
    result = await harness.run(_wait(SecondsPath="$.s"), {"s": bad})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"


async def test_timestamp_path_to_something_not_a_timestamp_fails_with_states_runtime(harness: Any) -> None:
    result = await harness.run(_wait(TimestampPath="$.t"), {"t": "tomorrow"})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


async def test_a_missing_seconds_path_fails_with_states_runtime(harness: Any) -> None:
    result = await harness.run(_wait(SecondsPath="$.nope"), {})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


async def test_wait_applies_input_path_and_output_path(harness: Any) -> None:
    result = await harness.run(_wait(Seconds=1, InputPath="$.a", OutputPath="$.b"), {"a": {"b": 2}})
    assert result.output == 2
    assert result.history.types == [
        "ExecutionStarted",
        "WaitStateEntered",
        "WaitStateExited",
        "ExecutionSucceeded",
    ]


async def test_wait_advances_the_immediate_clock_without_sleeping(harness: Any) -> None:
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 86400, "Next": "P"},
            "P": {"Type": "Pass", "Parameters": {"t.$": "$$.State.EnteredTime"}, "End": True},
        },
    }
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await harness.run(definition, {})
    assert result.output == {"t": "2026-01-02T00:00:00.000Z"}
    assert loop.time() - start < 1.0


@pytest.mark.parametrize("seconds", [1.5, 1.7e308, 100_000_000, -1, True, "5"])
async def test_seconds_path_follows_the_rule_for_seconds(harness: Any, seconds: Any) -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}
    result = await harness.run(definition, {"s": seconds})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


@pytest.mark.parametrize("seconds", [0, 3, 3.0, 99_999_999])
async def test_seconds_path_takes_integers_up_to_the_maximum(harness: Any, seconds: Any) -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}
    result = await harness.run(definition, {"s": seconds})
    assert result.status == "SUCCEEDED"


@pytest.mark.parametrize("seconds", ["1.5", "100000000"])
async def test_jsonata_seconds_follow_the_same_rule(harness: Any, seconds: str) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": "{% " + seconds + " %}", "End": True}},
    }
    result = await harness.run(definition, {})
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")


# -- JSONata Wait states ---------------------------------------------------------


def _jsonata_wait(**fields: Any) -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "End": True, **fields}},
    }


@pytest.mark.looptime
async def test_jsonata_seconds_expression_waits_that_long_in_loop_time(harness: Any) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    definition = _jsonata_wait(Seconds="{% $states.input.delay * 2 %}")
    result = await harness.run(definition, {"delay": 30}, clock=SystemClock())
    assert result.status == "SUCCEEDED"
    assert result.output == {"delay": 30}
    assert loop.time() - start == pytest.approx(60)


@pytest.mark.looptime
async def test_jsonata_timestamp_expression_waits_until_that_wall_time(harness: Any) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    definition = _jsonata_wait(Timestamp="{% $states.input.at %}")
    result = await harness.run(definition, {"at": "2026-01-01T00:02:00Z"}, clock=LoopClock(origin))
    assert result.status == "SUCCEEDED"
    assert loop.time() - start == pytest.approx(120)


async def test_jsonata_wait_output_and_assign_apply_after_the_wait(harness: Any) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "W",
        "States": {
            "W": {
                "Type": "Wait",
                "Seconds": 5,
                "Assign": {"waited": "{% $states.input.n %}"},
                "Output": {"n": "{% $states.input.n + 1 %}"},
                "Next": "P",
            },
            "P": {
                "Type": "Pass",
                "Output": {"n": "{% $states.input.n %}", "waited": "{% $waited %}"},
                "End": True,
            },
        },
    }
    result = await harness.run(definition, {"n": 1})
    assert result.output == {"n": 2, "waited": 1}
    exited = next(e for e in result.history if e.type == "WaitStateExited")
    assert exited.details["assignedVariables"] == {"waited": "1"}


async def test_jsonata_seconds_of_the_wrong_type_fail_with_aws_cause(harness: Any) -> None:
    result = await harness.run(_jsonata_wait(Seconds="{% $states.input.s %}"), {"s": "ten"})
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert result.cause == (
        "An error occurred while executing the state 'W' (entered at the event id #2). "
        "The JSONata expression '$states.input.s' specified for the field 'Seconds' returned an "
        "unexpected result type. Expected 'integer', but was 'string' for value: \"ten\""
    )
    assert result.history.types[-2:] == ["EvaluationFailed", "ExecutionFailed"]


async def test_jsonata_timestamp_that_is_no_timestamp_fails_with_aws_cause(harness: Any) -> None:
    result = await harness.run(_jsonata_wait(Timestamp="{% $states.input.at %}"), {"at": "tomorrow"})
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert result.cause is not None and result.cause.endswith(
        "The JSONata expression specified for the field 'Timestamp' returned an invalid timestamp: \"tomorrow\""
    )
