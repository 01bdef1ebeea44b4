"""Control-plane parameters: Step Functions casing ↔ botocore casing, and their checks.

Step Functions names EKS request members with the first letter upper-cased
(``ResourcesVpcConfig.SubnetIds``, spec §2.1) and returns response members the
same way (``Cluster.CertificateAuthority.Data``, spec §2.2). botocore speaks the
wire names (``resourcesVpcConfig.subnetIds``). Both directions walk botocore's
own service model, so structure member names are converted while map keys
(``Tags``, ``Labels``) and values stay untouched, and nothing here has to be
updated when EKS adds a member.

The same walk checks parameters: an unknown field, a missing required member
or a literal of the wrong JSON type is a ``ParameterProblem`` with its path,
worded like Step Functions' validation messages. At definition time computed
values are skipped, as the state's query language defines them (``"Name.$"``
keys in a JSONPath state, where ``"{% … %}"`` is a plain string; ``"{% … %}"``
strings in a JSONata state), at any depth; at run time every problem becomes
``States.Runtime``. Enum values and lengths are left to EKS,
which answers ``EKS.InvalidParameterException`` as AWS would.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from engine.errors import StatesRuntime
from engine.executor import ParameterProblem, ParameterReading
from engine.jsonvalue import JSON

TimestampFormat = Literal["epoch_millis", "epoch_seconds", "iso8601"]
TIMESTAMP_FORMATS: Final[tuple[TimestampFormat, ...]] = ("epoch_millis", "epoch_seconds", "iso8601")

_JSON_TYPE_NAMES: Final = {
    "string": "STRING",
    "boolean": "BOOLEAN",
    "integer": "INTEGER",
    "long": "INTEGER",
    "double": "NUMBER",
    "float": "NUMBER",
    "timestamp": "TIMESTAMP",
    "blob": "STRING",
    "structure": "OBJECT",
    "map": "OBJECT",
    "list": "LIST",
}


class _Dynamic:
    """Stands for a value only known at run time."""

    def __repr__(self) -> str:
        return "<dynamic>"


DYNAMIC: Final = _Dynamic()


@functools.cache
def eks_service_model() -> ServiceModel:
    """botocore's EKS service model (loaded from disk once; call off the loop first)."""
    return botocore.session.get_session().get_service_model("eks")


def operation_model(operation: str) -> OperationModel:
    """The botocore operation model, e.g. for ``CreateCluster``."""
    return eks_service_model().operation_model(operation)


def pascal(name: str) -> str:
    """``resourcesVpcConfig`` → ``ResourcesVpcConfig``."""
    return name[:1].upper() + name[1:]


@functools.cache
def _pascal_members(shape_name: str) -> Mapping[str, str]:
    shape = eks_service_model().shape_for(shape_name)
    assert isinstance(shape, StructureShape)
    return {pascal(member): member for member in shape.members}


class _Walker:
    """One pass over a parameter value: converts and collects problems."""

    def __init__(self, reading: ParameterReading) -> None:
        self.reading = reading
        self.problems: list[ParameterProblem] = []

    def problem(self, path: tuple[str, ...], message: str) -> None:
        self.problems.append(ParameterProblem(path, message))

    def value(self, shape: Shape, value: Any, path: tuple[str, ...]) -> Any:
        if value is DYNAMIC or self.reading.computed(value):
            return value
        field = path[-1] if path else "Parameters"
        kind = shape.type_name
        if isinstance(shape, StructureShape):
            if not isinstance(value, dict):
                return self.wrong_type(kind, field, path, value)
            return self.structure(shape, value, path)
        if isinstance(shape, ListShape):
            if not isinstance(value, list):
                return self.wrong_type(kind, field, path, value)
            return [self.value(shape.member, v, (*path, str(i))) for i, v in enumerate(value)]
        if isinstance(shape, MapShape):
            if not isinstance(value, dict):
                return self.wrong_type(kind, field, path, value)
            out: dict[str, Any] = {}
            for k, v in value.items():
                key, computed = self.reading.member(k, v)
                out[key] = DYNAMIC if computed else self.value(shape.value, v, (*path, key))
            return out
        return self.scalar(kind, field, path, value)

    def scalar(self, kind: str, field: str, path: tuple[str, ...], value: Any) -> Any:
        if kind in ("string", "blob"):
            ok = isinstance(value, str)
        elif kind == "boolean":
            ok = isinstance(value, bool)
        elif kind in ("integer", "long"):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind in ("double", "float"):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif kind == "timestamp":
            ok = isinstance(value, str | int | float) and not isinstance(value, bool)
        else:
            ok = True
        return value if ok else self.wrong_type(kind, field, path, value)

    def wrong_type(self, kind: str, field: str, path: tuple[str, ...], value: Any) -> Any:
        expected = _JSON_TYPE_NAMES.get(kind, kind.upper())
        self.problem(path, f'The value for the field "{field}" must be a {expected}')
        return value

    def structure(
        self, shape: StructureShape, value: dict[str, Any], path: tuple[str, ...]
    ) -> dict[str, Any]:
        members = _pascal_members(shape.name)
        out: dict[str, Any] = {}
        present: set[str] = set()
        for key, item in value.items():
            name, dynamic = self.reading.member(key, item)
            member = members.get(name)
            if member is None:
                self.problem((*path, name), f'The field "{name}" is not supported by Step Functions')
                continue
            present.add(member)
            out[member] = DYNAMIC if dynamic else self.value(shape.members[member], item, (*path, name))
        for member in shape.required_members:
            if member not in present:
                self.problem((*path, pascal(member)), f'The field "{pascal(member)}" is required')
        return out


def check_static(
    operation: str,
    known: Mapping[str, JSON],
    dynamic: frozenset[str],
    reading: ParameterReading = ParameterReading.JSONPATH,
) -> list[ParameterProblem]:
    """Problems visible in a definition's Parameters for one EKS operation.

    Args:
        operation: the EKS operation, e.g. ``CreateCluster``.
        known: top-level keys with literal values.
        dynamic: top-level keys computed at run time (their values are not checked).
        reading: the state's query language, which says what is computed inside ``known``.
    """
    walker = _Walker(reading)
    value: dict[str, Any] = {k: DYNAMIC for k in dynamic}
    value.update(known)
    walker.structure(operation_model(operation).input_shape, value, ())
    return walker.problems


def to_botocore(operation: str, parameters: JSON, *, state_name: str = "") -> dict[str, Any]:
    """Convert resolved Parameters into botocore's request keywords.

    Raises:
        StatesRuntime: the parameters are not an object, or have unknown
            fields, missing required members or values of the wrong type.
    """
    walker = _Walker(ParameterReading.RESOLVED)
    shape = operation_model(operation).input_shape
    if not isinstance(parameters, dict):
        walker.problem((), "The Parameters must be a JSON object")
        converted: dict[str, Any] = {}
    else:
        converted = walker.structure(shape, parameters, ())
    if walker.problems:
        where = f"the state '{state_name}'" if state_name else "the state"
        listed = ", ".join(p.message for p in walker.problems)
        raise StatesRuntime(
            None,
            f"An error occurred while executing {where}. "
            f"The Parameters could not be used to start the Task: [{listed}]",
        )
    return converted


def _timestamp(value: datetime, fmt: TimestampFormat) -> JSON:
    if fmt == "iso8601":
        return value.isoformat()
    if fmt == "epoch_seconds":
        return value.timestamp()
    return round(value.timestamp() * 1000)


def from_botocore(shape: Shape | None, value: Any, timestamps: TimestampFormat = "epoch_millis") -> JSON:
    """Convert a botocore result into Step Functions casing.

    Structure member names are PascalCased; map keys, enum and string values
    are untouched; timestamps become ``timestamps`` (UNCONFIRMED format, spec §2.2).
    Keys the model does not know (``ResponseMetadata``) are dropped.

    Args:
        shape: the output shape (None for a value without a model: kept as is).
        value: what botocore parsed.
        timestamps: ``epoch_millis`` (default), ``epoch_seconds`` or ``iso8601``.
    """
    if isinstance(value, datetime):
        return _timestamp(value, timestamps)
    if shape is None:
        return value
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            pascal(k): from_botocore(shape.members[k], v, timestamps)
            for k, v in value.items()
            if k in shape.members
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [from_botocore(shape.member, v, timestamps) for v in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: from_botocore(shape.value, v, timestamps) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
