"""Python callables as Task resources.

Two executors in the shape of httpx's ``MockTransport``:

* ``LambdaExecutor`` serves ``arn:aws:states:::lambda:invoke`` (and plain
  Lambda function ARNs) from a table of local functions, returning AWS's
  ``Payload``/``StatusCode`` shape, so Task, Retry, Catch and timeouts can be
  exercised with no cloud at all.
* ``CallableExecutor`` turns any ``async def handler(call, ctx)`` into an
  executor for a resource of your choosing.

A function raising an exception fails the task the way a Lambda function
error does: the error name is the exception's type (or its ``error_type``
attribute) and the cause is Lambda's JSON error document.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Final

from engine import (
    JSON,
    ExecutorCall,
    ExecutorContext,
    ExecutorRegistry,
    IntegrationPattern,
    ParameterProblem,
    StatesError,
    StaticParameters,
)
from engine.jsonvalue import dumps_str

LAMBDA_INVOKE: Final = "arn:aws:states:::lambda:invoke"
LAMBDA_ARN_PREFIX: Final = "arn:aws:lambda:"

LocalFunction = Callable[[JSON], JSON | Awaitable[JSON]]
Handler = Callable[[ExecutorCall, ExecutorContext], Awaitable[JSON]]


def _function_name(ref: str) -> str:
    """A function name from a name, a partial ARN or a full ARN (with an optional qualifier)."""
    if ref.startswith(LAMBDA_ARN_PREFIX):
        parts = ref.split(":")
        return parts[6] if len(parts) > 6 else ref
    return ref.split(":")[0]


class LambdaExecutor:
    """Runs ``lambda:invoke`` Tasks with local Python functions.

    Args:
        functions: function name → callable taking the payload (sync or async).
    """

    def __init__(self, functions: MutableMapping[str, LocalFunction] | None = None) -> None:
        self.functions: MutableMapping[str, LocalFunction] = functions if functions is not None else {}

    def add(self, name: str, fn: LocalFunction) -> None:
        """Serve function ``name`` with ``fn``."""
        self.functions[name] = fn

    async def run(self, call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        direct = call.resource.startswith(LAMBDA_ARN_PREFIX)
        if direct:
            name = _function_name(call.resource)
            payload = call.parameters
        else:
            params = call.parameters if isinstance(call.parameters, dict) else {}
            ref = params.get("FunctionName")
            if not isinstance(ref, str):
                raise StatesError("States.Runtime", "The field 'FunctionName' is required for lambda:invoke")
            name = _function_name(ref)
            payload = params.get("Payload", {})
        fn = self.functions.get(name)
        if fn is None:
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: arn:aws:lambda:us-east-1:123456789012:function:{name} "
                "(Service: Lambda, Status Code: 404, Error Code: ResourceNotFoundException)",
            )
        try:
            out = fn(payload)
            if inspect.isawaitable(out):
                out = await out
        except StatesError:
            raise
        except Exception as exc:
            error_type = getattr(exc, "error_type", None) or type(exc).__name__
            cause = dumps_str({"errorMessage": str(exc), "errorType": error_type, "stackTrace": []})
            raise StatesError(error_type, cause) from exc
        if direct:
            return out
        request_id = str(uuid.UUID(int=0))
        return {
            "ExecutedVersion": "$LATEST",
            "Payload": out,
            "SdkHttpMetadata": {"HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": request_id},
            "StatusCode": 200,
        }

    def check_parameters(
        self, action: str, pattern: IntegrationPattern, parameters: StaticParameters
    ) -> list[ParameterProblem]:
        if action != "invoke":
            return []
        if (
            parameters.dynamic is not None
            and "FunctionName" not in parameters.known
            and "FunctionName" not in parameters.dynamic
        ):
            return [ParameterProblem((), "The field 'FunctionName' is required but was missing")]
        return []


class CallableExecutor:
    """An executor made of one ``async def handler(call, ctx)``."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def run(self, call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        return await self._handler(call, ctx)


def lambda_executor(registry: ExecutorRegistry) -> LambdaExecutor:
    """The registry's LambdaExecutor, registering one if it has none."""
    for reg in registry:
        if reg.base == LAMBDA_INVOKE and isinstance(reg.executor, LambdaExecutor):
            return reg.executor
    ex = LambdaExecutor()
    register(registry, ex)
    return ex


def register(registry: ExecutorRegistry, executor: LambdaExecutor | None = None) -> None:
    """Entry point ``statewright.executors``: serve lambda:invoke locally."""
    ex = executor or LambdaExecutor()
    registry.register(
        LAMBDA_INVOKE,
        ex,
        # .waitForTaskToken: the function is invoked with $$.Task.Token in its payload and the
        # engine waits for SendTaskSuccess / SendTaskFailure (engine.callbacks).
        patterns=(IntegrationPattern.REQUEST_RESPONSE, IntegrationPattern.WAIT_FOR_TASK_TOKEN),
    )
    registry.register_prefix(LAMBDA_ARN_PREFIX, ex)
