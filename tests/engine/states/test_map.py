"""Map states: items, ItemSelector and ``$$.Map.Item``, MaxConcurrency, failures, results."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from engine import ExecutorCall, ExecutorContext, StatesError, SystemClock

CUSTOM = "arn:aws:states:::custom:call"


def _map(processor_state: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    inner = processor_state or {"Type": "Pass", "End": True}
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": inner}},
                "End": True,
                **fields,
            }
        },
    }


async def test_map_runs_the_processor_for_each_item_and_keeps_their_order(harness: Any) -> None:
    harness.fn("sq", lambda p: p * p)
    result = await harness.run(_map(harness.task("sq", OutputPath="$.value")), [3, 1, 2])
    assert result.output == [9, 1, 4]
    assert sorted(harness.calls["sq"]) == [1, 2, 3]


async def test_items_path_selects_the_array(harness: Any) -> None:
    result = await harness.run(_map(ItemsPath="$.xs", ResultPath="$.out"), {"xs": [1, 2], "keep": True})
    assert result.output == {"xs": [1, 2], "keep": True, "out": [1, 2]}


async def test_item_selector_sees_the_map_item_context_and_the_state_input(harness: Any) -> None:
    selector = {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "shared.$": "$.shared"}
    result = await harness.run(_map(ItemsPath="$.xs", ItemSelector=selector), {"xs": ["a", "b"], "shared": 9})
    assert result.output == [{"index": 0, "value": "a", "shared": 9}, {"index": 1, "value": "b", "shared": 9}]


async def test_the_legacy_iterator_and_parameters_fields_still_work(harness: Any) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "Parameters": {"i.$": "$$.Map.Item.Index"},
                "End": True,
            }
        },
    }
    result = await harness.run(definition, ["x", "y", "z"])
    assert result.output == [{"i": 0}, {"i": 1}, {"i": 2}]


async def test_an_empty_array_gives_an_empty_result(harness: Any) -> None:
    result = await harness.run(_map(), [])
    assert result.output == []
    assert "MapIterationStarted" not in result.history.types


async def test_result_selector_and_result_path_apply_to_the_whole_result(harness: Any) -> None:
    definition = _map(
        ItemsPath="$.xs", ResultSelector={"n.$": "States.ArrayLength($)"}, ResultPath="$.summary"
    )
    result = await harness.run(definition, {"xs": [1, 2, 3]})
    assert result.output == {"xs": [1, 2, 3], "summary": {"n": 3}}


async def test_items_that_are_not_an_array_fail_with_states_runtime(harness: Any) -> None:
    result = await harness.run(_map(ItemsPath="$.xs"), {"xs": {"not": "array"}})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


@pytest.mark.looptime
@pytest.mark.parametrize(
    ("max_concurrency", "expected_peak", "expected_seconds"), [(2, 2, 30), (1, 1, 60), (0, 6, 10)]
)
async def test_max_concurrency_bounds_the_iterations_running_at_once(
    harness: Any, max_concurrency: int, expected_peak: int, expected_seconds: float
) -> None:
    running = 0
    peak = 0

    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await anyio.sleep(10)
        finally:
            running -= 1
        return call.parameters

    harness.handle(CUSTOM, handler)
    definition = _map({"Type": "Task", "Resource": CUSTOM, "End": True}, MaxConcurrency=max_concurrency)
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await harness.run(definition, list(range(6)), clock=SystemClock())
    assert result.output == list(range(6))
    assert peak == expected_peak
    assert loop.time() - start == pytest.approx(expected_seconds)


async def test_max_concurrency_path_reads_the_limit_from_the_input(harness: Any) -> None:
    running = 0
    peak = 0

    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0)
        await anyio.sleep(0)
        running -= 1
        return None

    harness.handle(CUSTOM, handler)
    definition = _map(
        {"Type": "Task", "Resource": CUSTOM, "End": True}, ItemsPath="$.xs", MaxConcurrencyPath="$.limit"
    )
    result = await harness.run(definition, {"xs": list(range(5)), "limit": 1})
    assert result.status == "SUCCEEDED"
    assert peak == 1


@pytest.mark.looptime
async def test_a_failed_iteration_fails_the_map_and_cancels_the_others(harness: Any) -> None:
    cancelled: list[int] = []

    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        n = call.parameters
        assert isinstance(n, int)
        if n == 2:
            await anyio.sleep(1)
            raise StatesError("Item.Bad", f"item {n}")
        try:
            await anyio.sleep(100)
        except BaseException:
            cancelled.append(n)
            raise
        return n

    harness.handle(CUSTOM, handler)
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await harness.run(
        _map({"Type": "Task", "Resource": CUSTOM, "End": True}), [0, 1, 2, 3], clock=SystemClock()
    )
    assert (result.status, result.error, result.cause) == ("FAILED", "Item.Bad", "item 2")
    assert sorted(cancelled) == [0, 1, 3]
    assert loop.time() - start == pytest.approx(1)
    types = result.history.types
    # The cancelled siblings are recorded as aborted, as AWS records them.
    assert types[-7:] == [
        "TaskFailed",
        "MapIterationFailed",
        "MapIterationAborted",
        "MapIterationAborted",
        "MapIterationAborted",
        "MapStateFailed",
        "ExecutionFailed",
    ]
    assert "MapStateSucceeded" not in types


async def test_a_catch_on_the_map_handles_an_iteration_failure(harness: Any) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "F",
                    "States": {"F": {"Type": "Fail", "Error": "Iter.Fail", "Cause": "x"}},
                },
                "Catch": [{"ErrorEquals": ["Iter.Fail"], "ResultPath": "$.err", "Next": "Handled"}],
                "ItemsPath": "$.xs",
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    result = await harness.run(definition, {"xs": [1]})
    assert result.status == "SUCCEEDED"
    assert result.output == {"xs": [1], "err": {"Error": "Iter.Fail", "Cause": "x"}}


async def test_a_retry_on_the_map_reruns_it(harness: Any) -> None:
    attempts: list[int] = []

    def flaky(p: Any) -> Any:
        attempts.append(p)
        if len(attempts) == 1:
            raise RuntimeError("first time")
        return p

    harness.fn("flaky", flaky)
    definition = _map(
        harness.task("flaky", OutputPath="$.value"),
        Retry=[{"ErrorEquals": ["RuntimeError"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        MaxConcurrency=1,
    )
    result = await harness.run(definition, [7])
    assert result.output == [7]
    assert attempts == [7, 7]
    assert result.history.types.count("MapStateStarted") == 2


async def test_map_history_has_aws_event_types_in_order(harness: Any) -> None:
    result = await harness.run(_map(MaxConcurrency=1), ["a", "b"])
    assert result.history.types == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    started = [e for e in result.history if e.type == "MapStateStarted"]
    assert started[0].details == {"length": 2}
    iterations = [e.details for e in result.history if e.type == "MapIterationStarted"]
    assert iterations == [{"name": "M", "index": 0}, {"name": "M", "index": 1}]


async def test_nested_maps_see_their_own_item_context(harness: Any) -> None:
    inner_map = {
        "Type": "Map",
        "ItemsPath": "$.row",
        "ItemSelector": {"col.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"StartAt": "Leaf", "States": {"Leaf": {"Type": "Pass", "End": True}}},
        "End": True,
    }
    definition = _map(inner_map, ItemSelector={"row.$": "$$.Map.Item.Value"})
    result = await harness.run(definition, [["a", "b"], ["c"]])
    assert result.output == [[{"col": 0, "v": "a"}, {"col": 1, "v": "b"}], [{"col": 0, "v": "c"}]]


async def test_a_distributed_map_tolerates_failures_up_to_the_count(harness: Any) -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "Bad"}],
                "Default": "Ok",
            },
            "Bad": {"Type": "Fail", "Error": "Bad"},
            "Ok": {"Type": "Pass", "End": True},
        },
    }
    ok = {
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "ItemProcessor": processor, "ToleratedFailureCount": 1, "End": True}},
    }
    result = await harness.run(ok, [0, 1, 2])
    assert (result.status, result.output) == ("SUCCEEDED", [0, None, 2])
    too_many = await harness.run(ok, [1, 1, 2])
    assert (too_many.status, too_many.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")


async def test_iterations_read_outer_variables_and_their_assignments_stay_inside(harness: Any) -> None:
    definition = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"x": 1}, "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "ItemProcessor": {
                    "StartAt": "I",
                    "States": {
                        "I": {
                            "Type": "Pass",
                            "Parameters": {"outer.$": "$x"},
                            "Assign": {"x": 5},
                            "Next": "J",
                        },
                        "J": {
                            "Type": "Pass",
                            "Parameters": {"outer.$": "$.outer", "inner.$": "$x"},
                            "End": True,
                        },
                    },
                },
                "ResultPath": "$.m",
                "Next": "After",
            },
            "After": {"Type": "Pass", "Parameters": {"after.$": "$x", "m.$": "$.m"}, "End": True},
        },
    }
    result = await harness.run(definition, {"xs": [1, 2]})
    assert result.output == {"after": 1, "m": [{"outer": 1, "inner": 5}, {"outer": 1, "inner": 5}]}
