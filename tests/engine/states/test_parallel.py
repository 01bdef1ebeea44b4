"""Parallel states: branches on the same input, results in branch order, failure and cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from engine import ExecutorCall, ExecutorContext, StatesError, SystemClock

CUSTOM = "arn:aws:states:::custom:call"


def _branch(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "B", "States": {"B": state}}


def _parallel(*branches: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": list(branches), "End": True, **fields}},
    }


@pytest.mark.looptime
async def test_branches_run_concurrently_and_results_keep_branch_order(harness: Any) -> None:
    definition = _parallel(
        _branch({"Type": "Wait", "Seconds": 30, "OutputPath": "$.a", "End": True}),
        _branch({"Type": "Wait", "Seconds": 10, "OutputPath": "$.b", "End": True}),
        _branch({"Type": "Pass", "Result": "now", "End": True}),
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await harness.run(definition, {"a": 1, "b": 2}, clock=SystemClock())
    assert result.output == [1, 2, "now"]
    # Concurrent: the slowest branch sets the duration, not the sum.
    assert loop.time() - start == pytest.approx(30)


async def test_parameters_build_the_input_every_branch_receives(harness: Any) -> None:
    definition = _parallel(
        _branch({"Type": "Pass", "End": True}),
        _branch({"Type": "Pass", "InputPath": "$.x", "End": True}),
        Parameters={"x.$": "$.value", "fixed": True},
    )
    result = await harness.run(definition, {"value": 5})
    assert result.output == [{"x": 5, "fixed": True}, 5]


async def test_result_selector_result_path_and_output_path_apply_to_the_branch_results(harness: Any) -> None:
    definition = _parallel(
        _branch({"Type": "Pass", "Result": 1, "End": True}),
        _branch({"Type": "Pass", "Result": 2, "End": True}),
        ResultSelector={"first.$": "$[0]", "second.$": "$[1]"},
        ResultPath="$.res",
        OutputPath="$.res",
    )
    result = await harness.run(definition, {"in": 0})
    assert result.output == {"first": 1, "second": 2}


@pytest.mark.looptime
async def test_a_failing_branch_fails_the_state_and_cancels_its_siblings(harness: Any) -> None:
    observed: list[str] = []

    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        if call.parameters == "fail":
            await anyio.sleep(2)
            raise StatesError("Branch.Failed", "on purpose")
        try:
            await anyio.sleep(1000)
        except anyio.get_cancelled_exc_class():
            observed.append("cancelled")
            raise
        return "late"

    harness.handle(CUSTOM, handler)
    definition = _parallel(
        _branch({"Type": "Task", "Resource": CUSTOM, "Parameters": "slow", "End": True}),
        _branch({"Type": "Task", "Resource": CUSTOM, "Parameters": "fail", "End": True}),
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await harness.run(definition, {}, clock=SystemClock())
    assert (result.status, result.error, result.cause) == ("FAILED", "Branch.Failed", "on purpose")
    assert observed == ["cancelled"]
    assert loop.time() - start == pytest.approx(2)
    assert result.history.types[-2:] == ["ParallelStateFailed", "ExecutionFailed"]


async def test_a_catch_on_the_parallel_handles_a_branch_failure(harness: Any) -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [_branch({"Type": "Fail", "Error": "Oops", "Cause": "bad"})],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}],
                "End": True,
            },
            "Recover": {"Type": "Pass", "End": True},
        },
    }
    result = await harness.run(definition, {"k": 1})
    assert result.status == "SUCCEEDED"
    assert result.output == {"k": 1, "error": {"Error": "Oops", "Cause": "bad"}}
    types = result.history.types
    assert (
        types.index("ParallelStateFailed")
        < types.index("ParallelStateExited")
        < types.index("PassStateEntered")
    )


async def test_a_retry_on_the_parallel_reruns_every_branch(harness: Any) -> None:
    calls: list[str] = []

    def ok(p: Any) -> Any:
        calls.append("ok")
        return "ok"

    def flaky(p: Any) -> Any:
        calls.append("flaky")
        if calls.count("flaky") == 1:
            raise RuntimeError("transient")
        return "flaky"

    harness.fn("ok", ok)
    harness.fn("flaky", flaky)
    definition = _parallel(
        _branch(harness.task("ok", OutputPath="$.value")),
        _branch(harness.task("flaky", OutputPath="$.value")),
        Retry=[{"ErrorEquals": ["RuntimeError"], "MaxAttempts": 2}],
    )
    result = await harness.run(definition, {})
    assert result.output == ["ok", "flaky"]
    assert calls.count("ok") == 2
    assert calls.count("flaky") == 2
    assert result.history.types.count("ParallelStateStarted") == 2


async def test_parallel_history_has_aws_event_types(harness: Any) -> None:
    result = await harness.run(_parallel(_branch({"Type": "Pass", "End": True})), {})
    assert result.history.types == [
        "ExecutionStarted",
        "ParallelStateEntered",
        "ParallelStateStarted",
        "PassStateEntered",
        "PassStateExited",
        "ParallelStateSucceeded",
        "ParallelStateExited",
        "ExecutionSucceeded",
    ]


async def test_a_map_inside_a_parallel_branch_works(harness: Any) -> None:
    inner = {
        "Type": "Map",
        "ItemsPath": "$.xs",
        "ItemProcessor": {
            "StartAt": "I",
            "States": {"I": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": True}},
        },
        "End": True,
    }
    definition = _parallel(_branch(inner), _branch({"Type": "Pass", "Result": "other", "End": True}))
    result = await harness.run(definition, {"xs": [1, 2]})
    assert result.output == [[{"v": 1}, {"v": 2}], "other"]


async def test_branch_assignments_do_not_leak_into_the_outer_scope(harness: Any) -> None:
    definition = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"x": "outer"}, "Next": "P"},
            "P": {
                "Type": "Parallel",
                "Branches": [
                    _branch(
                        {
                            "Type": "Pass",
                            "Parameters": {"seen.$": "$x"},
                            "Assign": {"x": "branch"},
                            "End": True,
                        }
                    ),
                ],
                "ResultPath": "$.p",
                "Next": "After",
            },
            "After": {"Type": "Pass", "Parameters": {"x.$": "$x", "p.$": "$.p"}, "End": True},
        },
    }
    result = await harness.run(definition, {})
    assert result.output == {"x": "outer", "p": [{"seen": "outer"}]}
