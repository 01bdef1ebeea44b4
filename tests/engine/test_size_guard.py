"""The 256 KiB payload limit: where it applies, exactly at the boundary, in UTF-8 bytes.

Payload sizes are computed from the compact JSON AWS measures: a Pass result
``{"s": "<n chars>"}`` serializes to ``n + 8`` bytes when every character is
ASCII, and each ``é`` costs two bytes.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine import (
    DEFAULT_LIMIT_BYTES,
    DataLimitExceeded,
    ExecutorCall,
    ExecutorContext,
    InvalidInput,
    SizeGuard,
)
from engine.size_guard import payload_size

LIMIT = 262_144
CUSTOM = "arn:aws:states:::custom:call"
WRAP = len('{"s":""}')


def _sized(total: int, char: str = "x") -> dict[str, str]:
    """An object whose compact JSON is exactly ``total`` bytes (``char`` is 1 or 2 bytes in UTF-8)."""
    width = len(char.encode())
    body = total - WRAP
    return {"s": char * (body // width) + "a" * (body % width)}


def _pass_result(result: Any) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}


def test_the_default_limit_is_aws_256_kib() -> None:
    assert DEFAULT_LIMIT_BYTES == LIMIT == SizeGuard().limit


def test_the_guard_accepts_exactly_the_limit_and_refuses_one_byte_more() -> None:
    guard = SizeGuard()
    at_limit = _sized(LIMIT)
    assert payload_size(at_limit) == LIMIT
    guard.check(at_limit, "The thing")
    assert guard.over(at_limit) is None
    over = _sized(LIMIT + 1)
    with pytest.raises(DataLimitExceeded) as info:
        guard.check(over, "The thing")
    assert info.value.error == "States.DataLimitExceeded"
    assert info.value.cause is not None and info.value.cause.startswith("The thing")
    assert guard.over(over) == LIMIT + 1


def test_multi_byte_characters_count_by_their_utf8_bytes() -> None:
    value = _sized(LIMIT + 1, "é")
    assert len(value["s"]) < LIMIT // 2 + 1
    assert payload_size(value) == LIMIT + 1
    assert payload_size({"s": "€"}) == WRAP + 3
    assert payload_size({"s": "😀"}) == WRAP + 4
    with pytest.raises(DataLimitExceeded):
        SizeGuard().check(value, "x")


def test_a_guard_without_a_limit_accepts_anything() -> None:
    SizeGuard(None).check({"s": "x" * (LIMIT * 2)}, "x")
    assert SizeGuard(None).over({"s": "x" * (LIMIT * 2)}) is None


async def test_a_state_output_of_exactly_the_limit_passes(harness: Any) -> None:
    result = await harness.run(_pass_result(_sized(LIMIT)), {})
    assert result.status == "SUCCEEDED"
    assert payload_size(result.output) == LIMIT


async def test_a_state_output_one_byte_over_fails_with_data_limit_exceeded(harness: Any) -> None:
    result = await harness.run(_pass_result(_sized(LIMIT + 1)), {})
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
    assert result.cause is not None and "'P'" in result.cause


async def test_multi_byte_output_is_measured_in_bytes_at_the_boundary(harness: Any) -> None:
    assert (await harness.run(_pass_result(_sized(LIMIT, "é")), {})).status == "SUCCEEDED"
    over = await harness.run(_pass_result(_sized(LIMIT + 1, "é")), {})
    assert (over.status, over.error) == ("FAILED", "States.DataLimitExceeded")


async def test_execution_input_over_the_limit_is_refused_at_start(harness: Any) -> None:
    async with harness.engine() as engine:
        ok = await engine.run({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, _sized(LIMIT))
        assert ok.status == "SUCCEEDED"
        with pytest.raises(InvalidInput) as info:
            engine.start({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, _sized(LIMIT + 1))
    assert str(LIMIT + 1) in str(info.value)


def _returning(value: Any) -> Any:
    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        return value

    return handler


def _task_with_catch(errors: list[str]) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": CUSTOM,
                "Catch": [{"ErrorEquals": errors, "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }


async def test_a_task_result_over_the_limit_fails_the_task(harness: Any) -> None:
    harness.handle(CUSTOM, _returning(_sized(LIMIT + 1)))
    result = await harness.run(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": CUSTOM, "End": True}}}, {}
    )
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
    failed = [e for e in result.history if e.type == "TaskFailed"]
    assert len(failed) == 1
    assert failed[0].details is not None and failed[0].details["error"] == "States.DataLimitExceeded"
    assert "TaskSucceeded" not in result.history.types


async def test_a_task_result_of_exactly_the_limit_passes(harness: Any) -> None:
    harness.handle(CUSTOM, _returning(_sized(LIMIT)))
    result = await harness.run(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": CUSTOM, "End": True}}}, {}
    )
    assert result.status == "SUCCEEDED"


async def test_states_all_does_not_catch_data_limit_exceeded(harness: Any) -> None:
    harness.handle(CUSTOM, _returning(_sized(LIMIT + 1)))
    result = await harness.run(_task_with_catch(["States.ALL"]), {})
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")


async def test_an_explicit_error_equals_catches_data_limit_exceeded(harness: Any) -> None:
    harness.handle(CUSTOM, _returning(_sized(LIMIT + 1)))
    result = await harness.run(_task_with_catch(["States.DataLimitExceeded"]), {})
    assert result.status == "SUCCEEDED"
    assert result.output["Error"] == "States.DataLimitExceeded"


async def test_parameters_over_the_limit_fail_before_the_executor_runs(harness: Any) -> None:
    calls: list[Any] = []

    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        calls.append(call)
        return None

    harness.handle(CUSTOM, handler)
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": CUSTOM, "Parameters": _sized(LIMIT + 1), "End": True}},
    }
    result = await harness.run(definition, {})
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
    assert result.cause is not None and "parameters" in result.cause
    assert calls == []


async def test_a_map_result_over_the_limit_fails_even_when_each_item_fits(harness: Any) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "I",
                    "States": {"I": {"Type": "Pass", "Result": _sized(100_000), "End": True}},
                },
                "End": True,
            }
        },
    }
    two = await harness.run(definition, [1, 2])
    assert two.status == "SUCCEEDED"
    three = await harness.run(definition, [1, 2, 3])
    assert (three.status, three.error) == ("FAILED", "States.DataLimitExceeded")


async def test_a_parallel_result_over_the_limit_fails(harness: Any) -> None:
    branch = {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": _sized(100_000), "End": True}}}
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [branch, branch, branch], "End": True}},
    }
    result = await harness.run(definition, {})
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")


async def test_the_limit_is_configurable_per_engine(harness: Any) -> None:
    definition = _pass_result(_sized(101))
    assert (await harness.run(definition, {}, size_limit=101)).status == "SUCCEEDED"
    small = await harness.run(definition, {}, size_limit=100)
    assert (small.status, small.error) == ("FAILED", "States.DataLimitExceeded")
    unlimited = await harness.run(_pass_result(_sized(LIMIT * 4)), {}, size_limit=None)
    assert unlimited.status == "SUCCEEDED"
