"""Pass states: Result, Parameters, the JSONPath I/O fields and the context object ``$$``."""

from __future__ import annotations

from typing import Any

import pytest

from engine.runtime.clock import ImmediateClock


def _pass(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True, **fields}}}


async def test_a_bare_pass_state_outputs_its_input(harness: Any) -> None:
    result = await harness.run(_pass(), {"a": 1})
    assert (result.status, result.output) == ("SUCCEEDED", {"a": 1})


async def test_result_replaces_the_input(harness: Any) -> None:
    result = await harness.run(_pass(Result={"r": [1, 2]}), {"a": 1})
    assert result.output == {"r": [1, 2]}


async def test_result_path_merges_the_result_into_the_input(harness: Any) -> None:
    result = await harness.run(_pass(Result="x", ResultPath="$.deep.r"), {"a": 1})
    assert result.output == {"a": 1, "deep": {"r": "x"}}


async def test_result_path_null_discards_the_result(harness: Any) -> None:
    result = await harness.run(_pass(Result="x", ResultPath=None), {"a": 1})
    assert result.output == {"a": 1}


async def test_input_path_selects_what_the_state_sees(harness: Any) -> None:
    result = await harness.run(_pass(InputPath="$.inner"), {"inner": {"b": 2}, "other": 3})
    assert result.output == {"b": 2}


async def test_input_path_null_gives_an_empty_object(harness: Any) -> None:
    result = await harness.run(_pass(InputPath=None), {"a": 1})
    assert result.output == {}


async def test_output_path_selects_part_of_the_output(harness: Any) -> None:
    result = await harness.run(
        _pass(Result={"keep": 1, "drop": 2}, ResultPath="$.r", OutputPath="$.r.keep"), {"a": 1}
    )
    assert result.output == 1


async def test_output_path_null_gives_an_empty_object(harness: Any) -> None:
    result = await harness.run(_pass(OutputPath=None), {"a": 1})
    assert result.output == {}


async def test_parameters_see_the_input_after_input_path(harness: Any) -> None:
    definition = _pass(
        InputPath="$.in",
        Parameters={"v.$": "$.v", "const": "c", "list": [1, {"x.$": "$.v"}]},
        ResultPath="$.p",
    )
    result = await harness.run(definition, {"in": {"v": 7}})
    # ResultPath applies to the raw state input, not to the InputPath selection.
    assert result.output == {"in": {"v": 7}, "p": {"v": 7, "const": "c", "list": [1, {"x": 7}]}}


async def test_parameters_call_intrinsic_functions(harness: Any) -> None:
    definition = _pass(
        Parameters={"greeting.$": "States.Format('hello {}', $.name)", "n.$": "States.ArrayLength($.xs)"}
    )
    result = await harness.run(definition, {"name": "ann", "xs": [1, 2, 3]})
    assert result.output == {"greeting": "hello ann", "n": 3}


async def test_the_states_run_in_order_and_each_sees_the_previous_output(harness: Any) -> None:
    definition = {
        "StartAt": "One",
        "States": {
            "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "Two"},
            "Two": {"Type": "Pass", "Parameters": {"seen.$": "$.one"}, "ResultPath": "$.two", "End": True},
        },
    }
    result = await harness.run(definition, {})
    assert result.output == {"one": 1, "two": {"seen": 1}}


async def test_the_context_object_describes_execution_state_and_machine(harness: Any) -> None:
    async with harness.engine(clock=ImmediateClock(), role_arn="arn:aws:iam::123456789012:role/R") as engine:
        result = await engine.run(
            _pass(Parameters={"ctx.$": "$$"}), {"in": 1}, name="exec-1", state_machine_name="Machine"
        )
    ctx = result.output["ctx"]
    assert ctx["Execution"] == {
        "Id": "arn:aws:states:us-east-1:123456789012:execution:Machine:exec-1",
        "Input": {"in": 1},
        "Name": "exec-1",
        "RoleArn": "arn:aws:iam::123456789012:role/R",
        "StartTime": "2026-01-01T00:00:00.000Z",
        "RedriveCount": 0,
    }
    assert ctx["StateMachine"] == {
        "Id": "arn:aws:states:us-east-1:123456789012:stateMachine:Machine",
        "Name": "Machine",
    }
    assert ctx["State"] == {"EnteredTime": "2026-01-01T00:00:00.000Z", "Name": "P"}
    assert result.execution_arn == ctx["Execution"]["Id"]


async def test_context_fields_can_be_picked_one_by_one(harness: Any) -> None:
    definition = _pass(
        Parameters={
            "name.$": "$$.Execution.Name",
            "state.$": "$$.State.Name",
            "input.$": "$$.Execution.Input.a",
        }
    )
    async with harness.engine() as engine:
        result = await engine.run(definition, {"a": "x"}, name="n")
    assert result.output == {"name": "n", "state": "P", "input": "x"}


async def test_state_entered_time_follows_the_clock(harness: Any) -> None:
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 90, "Next": "P"},
            "P": {
                "Type": "Pass",
                "Parameters": {"t.$": "$$.State.EnteredTime", "s.$": "$$.Execution.StartTime"},
                "End": True,
            },
        },
    }
    result = await harness.run(definition, {})
    assert result.output == {"t": "2026-01-01T00:01:30.000Z", "s": "2026-01-01T00:00:00.000Z"}


async def test_a_missing_input_path_fails_with_states_runtime(harness: Any) -> None:
    result = await harness.run(_pass(InputPath="$.missing"), {"a": 1})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause is not None and "$.missing" in result.cause and "'P'" in result.cause


async def test_a_missing_parameter_path_fails_with_states_runtime(harness: Any) -> None:
    result = await harness.run(_pass(Parameters={"x.$": "$.nope"}), {"a": 1})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause is not None and "$.nope" in result.cause


async def test_a_result_path_through_a_scalar_fails_with_result_path_match_failure(harness: Any) -> None:
    result = await harness.run(_pass(Result=1, ResultPath="$.a.b"), {"a": "text"})
    assert result.status == "FAILED"
    assert result.error == "States.ResultPathMatchFailure"


@pytest.mark.parametrize("value", [None, 0, "s", [1, 2], True])
async def test_any_json_value_can_be_the_execution_input_of_a_pass_chain(harness: Any, value: Any) -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}},
    }
    async with harness.engine() as engine:
        result = await engine.run(definition, value)
    # Every JSON value passes through unchanged, null included.
    assert result.output == value


async def test_a_missing_input_is_an_empty_object_and_null_stays_null(harness: Any) -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    async with harness.engine() as engine:
        missing = await engine.run(definition)
        null = await engine.run(definition, None)
    assert (missing.output, null.output) == ({}, None)
    assert null.history[0].details == {"input": None, "roleArn": null.history[0].details["roleArn"]}  # type: ignore[index]


async def test_assign_takes_effect_after_the_state_and_is_visible_to_later_states(harness: Any) -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
            "B": {
                "Type": "Pass",
                "Parameters": {"old.$": "$x"},
                "Assign": {"x": 2},
                "ResultPath": "$.b",
                "Next": "C",
            },
            "C": {"Type": "Pass", "Parameters": {"new.$": "$x"}, "ResultPath": "$.c", "End": True},
        },
    }
    result = await harness.run(definition, {})
    assert result.output == {"b": {"old": 1}, "c": {"new": 2}}
