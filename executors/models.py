"""Service API models for TestState's ``fieldValidationMode``: botocore's, walked as data.

A mocked result is checked against the output shape of the API action its
Task's Resource calls, read from botocore's own service models (the source
of truth the SDKs are generated from) instead of copied schemas:

* ``arn:aws:states:::aws-sdk:SERVICE:ACTION`` → SERVICE's ACTION (PascalCase);
* ``arn:aws:states:::SERVICE:ACTION`` (an optimized integration) → the same.

``PRESENT`` checks every field the model knows: its JSON type (structure →
object, list → array, map → object, string, integer, float, boolean,
timestamp → string or number; a blob may hold any JSON, because optimized
integrations such as ``lambda:invoke`` decode a JSON ``Payload``); ``STRICT``
also wants the shape's required fields. Fields the model does not know pass,
because optimized integrations add their own (``SdkHttpMetadata``). A
``.sync`` result is the finished job's description, not the action's output,
and a Lambda function ARN returns the function's own value: neither has a
model to check against, nor has an action botocore does not know.
"""

from __future__ import annotations

import functools
from typing import Any, Final

from engine import JSON, IntegrationPattern, parse_resource

_SDK_ALIASES: Final = {"sfn": "stepfunctions", "eventbridge": "events", "states": "stepfunctions"}


@functools.lru_cache(maxsize=256)
def _output_shape(service: str, action: str) -> Any:
    import botocore.exceptions
    import botocore.session

    session = botocore.session.get_session()
    name = _SDK_ALIASES.get(service, service)
    try:
        model = session.get_service_model(name)
    except botocore.exceptions.UnknownServiceError:
        return None
    operation = action[:1].upper() + action[1:]
    if operation not in model.operation_names:
        return None
    return model.operation_model(operation).output_shape


def _check(shape: Any, value: JSON, where: str, strict: bool, problems: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"{where} must be an object")
            return
        if strict:
            for name in shape.required_members:
                if name not in value:
                    problems.append(f"{where}.{name} is required")
        for name, member in shape.members.items():
            if name in value:
                _check(member, value[name], f"{where}.{name}", strict, problems)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"{where} must be an array")
            return
        for i, item in enumerate(value):
            _check(shape.member, item, f"{where}[{i}]", strict, problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"{where} must be an object")
            return
        for key, item in value.items():
            _check(shape.value, item, f"{where}.{key}", strict, problems)
    elif kind == "string" and not isinstance(value, str):
        problems.append(f"{where} must be a string")
    elif kind in ("integer", "long") and (isinstance(value, bool) or not isinstance(value, int)):
        problems.append(f"{where} must be an integer")
    elif kind in ("float", "double") and (isinstance(value, bool) or not isinstance(value, int | float)):
        problems.append(f"{where} must be a number")
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{where} must be a boolean")
    elif kind == "timestamp" and (isinstance(value, bool) or not isinstance(value, str | int | float)):
        problems.append(f"{where} must be a timestamp (a string or a number)")


class BotocoreModels:
    """Entry point ``statewright.models``: checks mocked results against botocore's models."""

    def check_result(self, resource: str, result: JSON, mode: str) -> list[str]:
        parsed = parse_resource(resource)
        if parsed.pattern is IntegrationPattern.SYNC or not resource.startswith("arn:aws:states:::"):
            return []
        service, action = parsed.service, parsed.action
        if service == "aws-sdk":
            service, _, action = action.partition(":")
        shape = _output_shape(service, action)
        if shape is None:
            return []
        problems: list[str] = []
        _check(shape, result, "$", mode == "STRICT", problems)
        return problems
