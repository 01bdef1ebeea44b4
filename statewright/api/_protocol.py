"""The Step Functions wire protocol, checked against botocore's own service model.

Requests are AWS JSON 1.0: ``POST /`` with ``X-Amz-Target:
AWSStepFunctions.<Operation>`` and a JSON body. Rather than copying the
schemas, this module walks botocore's ``stepfunctions`` model (loaded once
through botocore's loader), the way ``executors/eks/params.py`` walks EKS's:

* ``parse_request`` checks the body against the operation's input shape. A
  body that is not JSON, or a value of the wrong JSON type, is a
  ``SerializationException``; a missing required member, an unknown member,
  a string too long or too short, a number out of range or a value outside
  its enum is a ``ValidationException`` listing each problem in AWS's words
  (``Value 'x' at 'maxResults' failed to satisfy constraint: …``).
* ``render_response`` walks the output shape: members the model does not
  define are dropped, ``None`` members are left out, and timestamps (a
  ``datetime``, POSIX seconds or an ISO string) become epoch seconds, as
  AWS JSON sends them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import botocore.loaders
import orjson
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from engine.jsonvalue import JSON
from statewright.api._errors import ApiError, serialization, validation

SERVICE: Final = "stepfunctions"
TARGET_PREFIX: Final = "AWSStepFunctions."
CONTENT_TYPE: Final = "application/x-amz-json-1.0"

_JSON_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "string": (str,),
    "blob": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "timestamp": (int, float),
    "list": (list,),
    "map": (dict,),
    "structure": (dict,),
}


@functools.cache
def service_model() -> ServiceModel:
    """botocore's ``stepfunctions`` service model (read from disk once)."""
    loader = botocore.loaders.create_loader()
    return ServiceModel(loader.load_service_model(SERVICE, "service-2"), service_name=SERVICE)


def operation_model(target: str | None) -> OperationModel:
    """The operation an ``X-Amz-Target`` header names.

    Raises:
        ApiError: ``UnknownOperationException`` when the header is missing,
            has another prefix, or names no Step Functions operation.
    """
    if not target:
        raise ApiError("UnknownOperationException", "Missing X-Amz-Target header")
    if not target.startswith(TARGET_PREFIX):
        raise ApiError("UnknownOperationException", f"Unknown operation {target}")
    name = target[len(TARGET_PREFIX) :]
    model = service_model()
    if name not in model.operation_names:
        raise ApiError("UnknownOperationException", f"Unknown operation {target}")
    return model.operation_model(name)


def parse_request(op: OperationModel, body: bytes) -> dict[str, Any]:
    """Decode and check a request body against ``op``'s input shape.

    Raises:
        ApiError: SerializationException or ValidationException.
    """
    if not body.strip():
        value: Any = {}
    else:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise serialization(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise serialization("The request body must be a JSON object")
    shape = op.input_shape
    if shape is None:
        return {}
    problems: list[str] = []
    _check_structure(shape, value, "", problems)
    if problems:
        raise validation(problems)
    return value


def _where(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    allowed = _JSON_TYPES.get(kind, (object,))
    # A separate flag, so that mypy keeps ``value`` as Any below.
    ok = isinstance(value, allowed) and not (isinstance(value, bool) and kind != "boolean")
    if not ok:
        raise serialization(f"Value at '{path}' must be of type {kind}")
    if isinstance(shape, StructureShape):
        _check_structure(shape, value, path, problems)
    elif isinstance(shape, ListShape):
        _check_length(shape, len(value), path, problems, "length")
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}.{i + 1}.member", problems)
    elif isinstance(shape, MapShape):
        for k, item in value.items():
            _check(shape.key, k, f"{path}.key", problems)
            _check(shape.value, item, f"{path}.{k}", problems)
    elif kind == "string":
        _check_length(shape, len(value), path, problems, "length")
        enum = shape.enum
        if enum and value not in enum:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
    elif kind in ("integer", "long", "float", "double"):
        _check_range(shape, value, path, problems)


def _check_structure(shape: StructureShape, value: dict[str, Any], path: str, problems: list[str]) -> None:
    members = shape.members
    for key, item in value.items():
        member = members.get(key)
        where = _where(path, key)
        if member is None:
            problems.append(f"Value at '{where}' failed to satisfy constraint: Member is not a known field")
            continue
        if item is None:
            continue
        _check(member, item, where, problems)
    for required in shape.required_members:
        if value.get(required) is None:
            problems.append(
                f"Value null at '{_where(path, required)}' failed to satisfy constraint: Member must not be null"
            )


def _check_length(shape: Shape, n: int, path: str, problems: list[str], what: str) -> None:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    if lo is not None and n < lo:
        problems.append(
            f"Value at '{path}' failed to satisfy constraint: Member must have {what} greater than or equal to {lo}"
        )
    if hi is not None and n > hi:
        problems.append(
            f"Value at '{path}' failed to satisfy constraint: Member must have {what} less than or equal to {hi}"
        )


def _check_range(shape: Shape, v: float, path: str, problems: list[str]) -> None:
    lo = shape.metadata.get("min")
    hi = shape.metadata.get("max")
    if lo is not None and v < lo:
        problems.append(
            f"Value '{v}' at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {lo}"
        )
    if hi is not None and v > hi:
        problems.append(
            f"Value '{v}' at '{path}' failed to satisfy constraint: Member must have value less than or equal to {hi}"
        )


def render_response(op: OperationModel, result: Mapping[str, Any]) -> bytes:
    """``result`` shaped by ``op``'s output shape, as the response body."""
    shape = op.output_shape
    out = _render_structure(shape, result) if shape is not None else {}
    return orjson.dumps(out)


def _render(shape: Shape, value: Any) -> JSON:
    if isinstance(shape, StructureShape):
        return _render_structure(shape, value)
    if isinstance(shape, ListShape):
        return [_render(shape.member, v) for v in value]
    if isinstance(shape, MapShape):
        return {str(k): _render(shape.value, v) for k, v in value.items()}
    if shape.type_name == "timestamp":
        return epoch_seconds(value)
    return value


def _render_structure(shape: StructureShape, value: Mapping[str, Any]) -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    members = shape.members
    for key, item in value.items():
        member = members.get(key)
        if member is None or item is None:
            continue
        out[key] = _render(member, item)
    return out


def epoch_seconds(value: datetime | float | str) -> float:
    """A timestamp as POSIX seconds (AWS JSON's timestamp format)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value)


__all__ = [
    "CONTENT_TYPE",
    "TARGET_PREFIX",
    "epoch_seconds",
    "operation_model",
    "parse_request",
    "render_response",
    "service_model",
]
