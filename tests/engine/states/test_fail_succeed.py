"""Fail and Succeed states: terminal outcomes, Error/Cause and their Path forms."""

from __future__ import annotations

from typing import Any


def _fail(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "F", "States": {"F": {"Type": "Fail", **fields}}}


async def test_fail_ends_the_execution_with_its_error_and_cause(harness: Any) -> None:
    result = await harness.run(_fail(Error="Custom.Error", Cause="it broke"), {})
    assert (result.status, result.error, result.cause, result.output) == (
        "FAILED",
        "Custom.Error",
        "it broke",
        None,
    )
    assert result.history.types == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    assert result.history[-1].details == {"error": "Custom.Error", "cause": "it broke"}


async def test_fail_without_error_or_cause_leaves_them_empty(harness: Any) -> None:
    result = await harness.run(_fail(), {})
    assert (result.status, result.error, result.cause) == ("FAILED", None, None)
    assert result.history[-1].details == {}


async def test_error_path_and_cause_path_read_from_the_input(harness: Any) -> None:
    result = await harness.run(_fail(ErrorPath="$.e", CausePath="$.c"), {"e": "From.Input", "c": "because"})
    assert (result.error, result.cause) == ("From.Input", "because")


async def test_cause_path_may_call_an_intrinsic_function(harness: Any) -> None:
    result = await harness.run(_fail(Error="E", CausePath="States.Format('item {} failed', $.id)"), {"id": 7})
    assert result.cause == "item 7 failed"


async def test_a_missing_error_path_fails_with_states_runtime(harness: Any) -> None:
    result = await harness.run(_fail(ErrorPath="$.nope"), {})
    assert result.error == "States.Runtime"
    assert result.cause is not None and "ErrorPath" in result.cause


async def test_succeed_ends_the_execution_with_its_output(harness: Any) -> None:
    definition = {
        "StartAt": "S",
        "States": {"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}},
    }
    result = await harness.run(definition, {"a": {"b": [1]}})
    assert (result.status, result.output) == ("SUCCEEDED", [1])
    assert result.history.types == [
        "ExecutionStarted",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]


async def test_a_fail_reached_through_a_choice_stops_there(harness: Any) -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.ok", "BooleanEquals": False, "Next": "F"}],
                "Default": "S",
            },
            "F": {"Type": "Fail", "Error": "NotOk"},
            "S": {"Type": "Succeed"},
        },
    }
    assert (await harness.run(definition, {"ok": False})).error == "NotOk"
    assert (await harness.run(definition, {"ok": True})).status == "SUCCEEDED"


async def test_a_fail_state_in_a_parallel_branch_fails_the_execution_with_its_error(harness: Any) -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": True}}},
                    {
                        "StartAt": "Bad",
                        "States": {"Bad": {"Type": "Fail", "Error": "Branch.Bad", "Cause": "c"}},
                    },
                ],
                "End": True,
            }
        },
    }
    result = await harness.run(definition, {})
    assert (result.status, result.error, result.cause) == ("FAILED", "Branch.Bad", "c")
