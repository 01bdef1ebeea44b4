"""Task states: AWS's I/O order, the executor call and context, results and errors."""

from __future__ import annotations

from typing import Any

import pytest

from engine import JSON, ExecutorCall, ExecutorContext, IntegrationPattern, InvalidDefinition, StatesError

LAMBDA = "arn:aws:states:::lambda:invoke"
CUSTOM = "arn:aws:states:::custom:call"


def _one(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": state}}


async def test_io_processing_runs_in_aws_order(harness: Any) -> None:
    """InputPath → Parameters → task → ResultSelector → ResultPath → OutputPath."""
    harness.fn("double", lambda p: {"doubled": p["n"] * 2, "noise": "x"})
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "InputPath": "$.job",
        "Parameters": {"FunctionName": "double", "Payload": {"n.$": "$.n"}},
        "ResultSelector": {"d.$": "$.Payload.doubled", "status.$": "$.StatusCode"},
        "ResultPath": "$.job.result",
        "OutputPath": "$.job",
        "End": True,
    }
    result = await harness.run(_one(state), {"job": {"n": 21}, "other": True})
    assert harness.calls["double"] == [{"n": 21}]
    assert result.output == {"n": 21, "result": {"d": 42, "status": 200}}


async def test_lambda_invoke_returns_aws_payload_and_status_code(harness: Any) -> None:
    harness.fn("f", lambda p: {"echo": p})
    result = await harness.run(_one(harness.task("f", ResultSelector=None)), {"a": 1})
    assert result.output["Payload"] == {"echo": {"a": 1}}
    assert result.output["StatusCode"] == 200
    assert result.output["ExecutedVersion"] == "$LATEST"


async def test_a_plain_lambda_arn_returns_the_function_result_itself(harness: Any) -> None:
    harness.fn("plain", lambda p: [p, p])
    state = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:plain", "End": True}
    result = await harness.run(_one(state), {"a": 1})
    assert result.output == [{"a": 1}, {"a": 1}]


async def test_async_local_functions_are_awaited(harness: Any) -> None:
    async def fn(p: Any) -> Any:
        return {"async": p}

    harness.fn("af", fn)
    result = await harness.run(_one(harness.task("af")), 5)
    assert result.output == {"value": {"async": 5}}


async def test_a_function_exception_fails_the_task_with_its_type_as_error(harness: Any) -> None:
    def boom(p: Any) -> Any:
        raise ValueError("bad value")

    harness.fn("boom", boom)
    result = await harness.run(_one(harness.task("boom")), {})
    assert result.status == "FAILED"
    assert result.error == "ValueError"
    assert result.cause == '{"errorMessage":"bad value","errorType":"ValueError","stackTrace":[]}'


async def test_an_error_type_attribute_names_the_error(harness: Any) -> None:
    class Custom(Exception):
        error_type = "Payments.Declined"

    def boom(p: Any) -> Any:
        raise Custom("no funds")

    harness.fn("pay", boom)
    result = await harness.run(_one(harness.task("pay")), {})
    assert (result.status, result.error) == ("FAILED", "Payments.Declined")


async def test_an_unknown_function_fails_like_lambda_does(harness: Any) -> None:
    result = await harness.run(_one(harness.task("missing")), {})
    assert result.error == "Lambda.ResourceNotFoundException"
    assert result.cause is not None and "function:missing" in result.cause


async def test_an_executor_bug_is_reported_as_task_failed_not_a_crash(harness: Any) -> None:
    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        raise KeyError("oops")

    harness.handle(CUSTOM, handler)
    result = await harness.run(_one({"Type": "Task", "Resource": CUSTOM, "End": True}), {})
    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    assert result.cause == "KeyError: 'oops'"


async def test_an_executor_states_error_keeps_its_name_and_cause(harness: Any) -> None:
    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        raise StatesError("EKS.404", "cluster not found")

    harness.handle(CUSTOM, handler)
    result = await harness.run(_one({"Type": "Task", "Resource": CUSTOM, "End": True}), {})
    assert (result.error, result.cause) == ("EKS.404", "cluster not found")


async def test_the_executor_receives_the_call_and_its_context(harness: Any) -> None:
    seen: list[tuple[ExecutorCall, ExecutorContext]] = []

    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        seen.append((call, ctx))
        return {"ok": True}

    harness.handle(CUSTOM, handler)
    state = {
        "Type": "Task",
        "Resource": CUSTOM,
        "Parameters": {"Name.$": "$.name"},
        "Credentials": {"RoleArn": "arn:aws:iam::1:role/x"},
        "TimeoutSeconds": 30,
        "HeartbeatSeconds": 10,
        "End": True,
    }
    async with harness.engine(
        executor_options={"poll": "fast", "k": 1}, state_options={"T": {"k": 2}}
    ) as engine:
        result = await engine.run(_one(state), {"name": "n"}, name="exec", state_machine_name="SM")
    assert result.output == {"ok": True}
    ((call, ctx),) = seen
    assert call.resource == CUSTOM
    assert (call.service, call.action, call.pattern) == (
        "custom",
        "call",
        IntegrationPattern.REQUEST_RESPONSE,
    )
    assert call.parameters == {"Name": "n"}
    assert call.credentials == {"RoleArn": "arn:aws:iam::1:role/x"}
    assert ctx.execution_name == "exec"
    assert ctx.execution_arn == "arn:aws:states:us-east-1:123456789012:execution:SM:exec"
    assert ctx.state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:SM"
    assert ctx.state_name == "T"
    assert ctx.attempt == 0
    assert ctx.heartbeat_seconds == 10
    assert ctx.deadline is not None
    assert dict(ctx.options) == {"poll": "fast", "k": 2}


async def test_without_parameters_the_executor_receives_the_effective_input(harness: Any) -> None:
    params: list[Any] = []

    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        params.append(call.parameters)
        return None

    harness.handle(CUSTOM, handler)
    result = await harness.run(
        _one({"Type": "Task", "Resource": CUSTOM, "InputPath": "$.x", "End": True}), {"x": [1]}
    )
    assert params == [[1]]
    assert result.output is None


async def test_an_executor_can_emit_extra_history_events(harness: Any) -> None:
    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        ctx.emit("TaskSubmitted", {"output": {"jobId": "j-1"}})
        return 1

    harness.handle(CUSTOM, handler)
    result = await harness.run(_one({"Type": "Task", "Resource": CUSTOM, "End": True}), {})
    types = result.history.types
    assert types[types.index("TaskStarted") + 1] == "TaskSubmitted"
    submitted = result.history[types.index("TaskSubmitted")]
    assert submitted.details == {"resourceType": "custom", "resource": "call", "output": {"jobId": "j-1"}}


async def test_an_unknown_resource_is_refused_before_the_execution_starts(harness: Any) -> None:
    async with harness.engine() as engine:
        with pytest.raises(InvalidDefinition) as info:
            engine.start(_one({"Type": "Task", "Resource": "arn:aws:states:::nope:act", "End": True}), {})
        assert engine.running == 0
    assert [(p.location, p.code) for p in info.value.problems] == [("/States/T/Resource", "UNKNOWN_RESOURCE")]


async def test_a_task_chain_passes_each_result_on(harness: Any) -> None:
    harness.fn("inc", lambda p: p + 1)
    definition = {
        "StartAt": "A",
        "States": {
            "A": harness.task("inc", OutputPath="$.value", Next="B"),
            "B": harness.task("inc", OutputPath="$.value", End=True),
        },
    }
    result = await harness.run(definition, 1)
    assert result.output == 3
    assert harness.calls["inc"] == [1, 2]


# -- JSONata Task states ---------------------------------------------------------


def _jsonata(state: dict[str, Any]) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": state}}


async def test_jsonata_arguments_output_and_assign_see_input_and_result(harness: Any) -> None:
    """Arguments read ``$states.input``; Output and Assign also read ``$states.result``."""
    seen: list[ExecutorCall] = []

    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        seen.append(call)
        return {"sum": call.parameters["a"] + call.parameters["b"]}

    harness.handle(CUSTOM, handler)
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": CUSTOM,
                "Arguments": {"a": "{% $states.input.x %}", "b": 2},
                "Assign": {"total": "{% $states.result.sum %}"},
                "Output": {"sum": "{% $states.result.sum %}", "x": "{% $states.input.x %}"},
                "Next": "P",
            },
            "P": {"Type": "Pass", "Output": {"seen": "{% $total %}"}, "End": True},
        },
    }
    result = await harness.run(definition, {"x": 40})
    assert [c.parameters for c in seen] == [{"a": 40, "b": 2}]
    assert result.output == {"seen": 42}
    exited = next(e for e in result.history if e.type == "TaskStateExited")
    assert exited.details["output"] == {"sum": 42, "x": 40}
    assert exited.details["assignedVariables"] == {"total": "42"}


async def test_jsonata_task_without_arguments_passes_its_input_and_outputs_the_result(harness: Any) -> None:
    seen: list[JSON] = []

    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        seen.append(call.parameters)
        return {"done": True}

    harness.handle(CUSTOM, handler)
    result = await harness.run(_jsonata({"Type": "Task", "Resource": CUSTOM, "End": True}), {"in": 1})
    assert seen == [{"in": 1}]
    assert result.output == {"done": True}


async def test_jsonata_timeout_and_heartbeat_expressions_reach_the_executor_context(harness: Any) -> None:
    contexts: list[ExecutorContext] = []

    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        contexts.append(ctx)
        return {}

    harness.handle(CUSTOM, handler)
    state = {
        "Type": "Task",
        "Resource": CUSTOM,
        "TimeoutSeconds": "{% $states.input.t %}",
        "HeartbeatSeconds": "{% $states.input.t - 20 %}",
        "End": True,
    }
    result = await harness.run(_jsonata(state), {"t": 30})
    assert result.status == "SUCCEEDED"
    (ctx,) = contexts
    assert ctx.heartbeat_seconds == 10
    scheduled = next(e for e in result.history if e.type == "TaskScheduled")
    assert (scheduled.details["timeoutInSeconds"], scheduled.details["heartbeatInSeconds"]) == (30, 10)


async def test_jsonata_timeout_that_is_not_a_positive_number_fails_with_aws_cause(harness: Any) -> None:
    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        raise AssertionError("the executor must not be called")

    harness.handle(CUSTOM, handler)
    state = {"Type": "Task", "Resource": CUSTOM, "TimeoutSeconds": "{% $states.input.t %}", "End": True}
    result = await harness.run(_jsonata(state), {"t": "soon"})
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert result.cause == (
        "An error occurred while executing the state 'T' (entered at the event id #2). "
        "The JSONata expression '$states.input.t' specified for the field 'TimeoutSeconds' returned an "
        "unexpected result type. Expected 'integer', but was 'string' for value: \"soon\""
    )
    assert "EvaluationFailed" in result.history.types
    assert "TaskScheduled" not in result.history.types


async def test_jsonata_catch_output_and_assign_see_the_error_output(harness: Any) -> None:
    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        raise StatesError("Custom.Boom", "it broke")

    harness.handle(CUSTOM, handler)
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": CUSTOM,
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {"why": "{% $states.errorOutput.Cause %}"},
                        "Output": {"error": "{% $states.errorOutput.Error %}", "in": "{% $states.input %}"},
                        "Next": "After",
                    }
                ],
                "End": True,
            },
            "After": {
                "Type": "Pass",
                "Output": {"caught": "{% $states.input %}", "why": "{% $why %}"},
                "End": True,
            },
        },
    }
    result = await harness.run(definition, {"n": 1})
    assert result.status == "SUCCEEDED"
    assert result.output == {"caught": {"error": "Custom.Boom", "in": {"n": 1}}, "why": "it broke"}
