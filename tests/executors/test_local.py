"""The local executors, run alone with a hand-built call and context (no engine).

``LambdaExecutor`` must answer like Lambda does through Step Functions:
``lambda:invoke`` returns the Payload/StatusCode envelope, a plain function ARN
returns the payload itself, and a raised exception becomes an error named
after its type with Lambda's JSON error document as cause.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from engine import (
    ExecutorCall,
    ExecutorContext,
    ExecutorRegistry,
    IntegrationPattern,
    StatesError,
    StaticParameters,
)
from executors.local import LAMBDA_INVOKE, CallableExecutor, LambdaExecutor, lambda_executor, register


def _call(parameters: Any, resource: str = LAMBDA_INVOKE) -> ExecutorCall:
    return ExecutorCall(
        resource=resource,
        service="lambda",
        action="invoke",
        pattern=IntegrationPattern.REQUEST_RESPONSE,
        parameters=parameters,
    )


CTX = ExecutorContext(execution_arn="arn:x", execution_name="e", state_machine_arn="arn:sm", state_name="T")


async def test_invoke_wraps_the_result_in_lambdas_envelope() -> None:
    ex = LambdaExecutor({"echo": lambda p: {"got": p}})
    out = await ex.run(_call({"FunctionName": "echo", "Payload": {"a": 1}}), CTX)
    assert out == {
        "ExecutedVersion": "$LATEST",
        "Payload": {"got": {"a": 1}},
        "SdkHttpMetadata": {"HttpStatusCode": 200},
        "SdkResponseMetadata": {"RequestId": "00000000-0000-0000-0000-000000000000"},
        "StatusCode": 200,
    }


async def test_invoke_without_a_payload_sends_an_empty_object() -> None:
    seen: list[Any] = []
    ex = LambdaExecutor({"f": lambda p: seen.append(p)})
    await ex.run(_call({"FunctionName": "f"}), CTX)
    assert seen == [{}]


@pytest.mark.parametrize(
    "ref",
    [
        "fn",
        "fn:live",
        "arn:aws:lambda:us-east-1:123456789012:function:fn",
        "arn:aws:lambda:us-east-1:123456789012:function:fn:3",
    ],
)
async def test_the_function_name_may_be_a_name_a_qualified_name_or_an_arn(ref: str) -> None:
    ex = LambdaExecutor({"fn": lambda p: "hit"})
    out = await ex.run(_call({"FunctionName": ref}), CTX)
    assert isinstance(out, dict) and out["Payload"] == "hit"


async def test_a_plain_function_arn_returns_the_result_itself() -> None:
    ex = LambdaExecutor({"fn": lambda p: [p]})
    out = await ex.run(_call({"k": 1}, resource="arn:aws:lambda:us-east-1:123456789012:function:fn"), CTX)
    assert out == [{"k": 1}]


async def test_async_functions_are_awaited() -> None:
    async def fn(p: Any) -> Any:
        return p * 2

    ex = LambdaExecutor()
    ex.add("double", fn)
    out = await ex.run(_call({"FunctionName": "double", "Payload": 4}), CTX)
    assert isinstance(out, dict) and out["Payload"] == 8


async def test_a_missing_function_name_is_a_states_runtime_error() -> None:
    with pytest.raises(StatesError) as info:
        await LambdaExecutor().run(_call({"Payload": {}}), CTX)
    assert info.value.error == "States.Runtime"


async def test_an_unknown_function_raises_lambdas_resource_not_found() -> None:
    with pytest.raises(StatesError) as info:
        await LambdaExecutor().run(_call({"FunctionName": "ghost"}), CTX)
    assert info.value.error == "Lambda.ResourceNotFoundException"
    assert info.value.cause is not None and "function:ghost" in info.value.cause


async def test_an_exception_becomes_an_error_named_after_its_type() -> None:
    def fn(p: Any) -> Any:
        raise ZeroDivisionError("division by zero")

    with pytest.raises(StatesError) as info:
        await LambdaExecutor({"f": fn}).run(_call({"FunctionName": "f"}), CTX)
    assert info.value.error == "ZeroDivisionError"
    assert info.value.cause is not None
    assert orjson.loads(info.value.cause) == {
        "errorMessage": "division by zero",
        "errorType": "ZeroDivisionError",
        "stackTrace": [],
    }
    assert isinstance(info.value.__cause__, ZeroDivisionError)


async def test_an_error_type_attribute_overrides_the_error_name() -> None:
    class Declined(Exception):
        error_type = "Card.Declined"

    def fn(p: Any) -> Any:
        raise Declined("no")

    with pytest.raises(StatesError) as info:
        await LambdaExecutor({"f": fn}).run(_call({"FunctionName": "f"}), CTX)
    assert info.value.error == "Card.Declined"


async def test_a_states_error_from_a_function_passes_through_unchanged() -> None:
    def fn(p: Any) -> Any:
        raise StatesError("Custom.Name", "custom cause")

    with pytest.raises(StatesError) as info:
        await LambdaExecutor({"f": fn}).run(_call({"FunctionName": "f"}), CTX)
    assert (info.value.error, info.value.cause) == ("Custom.Name", "custom cause")


def test_invoke_parameters_must_name_a_function() -> None:
    ex = LambdaExecutor()
    problems = ex.check_parameters(
        "invoke",
        IntegrationPattern.REQUEST_RESPONSE,
        StaticParameters(known={"Payload": {}}, dynamic=frozenset()),
    )
    assert [(p.path, p.message) for p in problems] == [
        ((), "The field 'FunctionName' is required but was missing")
    ]
    assert (
        ex.check_parameters(
            "invoke",
            IntegrationPattern.REQUEST_RESPONSE,
            StaticParameters(known={"FunctionName": "f"}, dynamic=frozenset()),
        )
        == []
    )
    assert (
        ex.check_parameters(
            "invoke",
            IntegrationPattern.REQUEST_RESPONSE,
            StaticParameters(known={}, dynamic=frozenset({"FunctionName"})),
        )
        == []
    )
    # A computed parameters object cannot be checked statically.
    assert (
        ex.check_parameters(
            "invoke", IntegrationPattern.REQUEST_RESPONSE, StaticParameters(known={}, dynamic=None)
        )
        == []
    )


async def test_a_callable_executor_delegates_to_its_handler() -> None:
    seen: list[tuple[ExecutorCall, ExecutorContext]] = []

    async def handler(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        seen.append((call, ctx))
        return {"ok": call.parameters}

    call = _call({"x": 1})
    assert await CallableExecutor(handler).run(call, CTX) == {"ok": {"x": 1}}
    assert seen == [(call, CTX)]


def test_register_serves_invoke_and_plain_function_arns() -> None:
    reg = ExecutorRegistry()
    ex = LambdaExecutor()
    register(reg, ex)
    assert reg.lookup(LAMBDA_INVOKE)[1].executor is ex
    assert reg.lookup("arn:aws:lambda:eu-west-1:1:function:f")[1].executor is ex


def test_lambda_executor_reuses_the_registered_one_or_registers_a_new_one() -> None:
    reg = ExecutorRegistry()
    first = lambda_executor(reg)
    assert reg.lookup(LAMBDA_INVOKE)[1].executor is first
    assert lambda_executor(reg) is first
    mine = LambdaExecutor()
    other = ExecutorRegistry()
    register(other, mine)
    assert lambda_executor(other) is mine
