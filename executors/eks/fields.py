"""The field-rule DSL of ``eks:runJob`` and ``eks:call`` parameters, and their shared fields.

A ``FieldRule`` checks one field's value at a location and returns the
problems it finds; ``object_rule`` and ``string_list_map_rule`` build rules of
nested values, ``check_fields`` applies a table of rules to an object. The same
rules run twice: on the literal values of a definition (problems with JSON
locations, before anything runs: ``check_static``) and on the resolved
parameters of a call (a ``States.Runtime`` error: ``runtime_parameters``).
Every rule gets the ``ParameterReading`` of its value: in a definition it
tells computed values (``.$`` keys of a JSONPath state, ``"{% … %}"`` strings
of a JSONata state, at any depth) from literal ones, which alone are checked;
at run time nothing is computed, so everything is checked.
Messages use the same wording as the control-plane checks in ``params.py``
("The field \"X\" is required", "The value for the field \"X\" must be a STRING").

``CLUSTER_FIELDS`` (``ClusterName`` / ``CertificateAuthority`` / ``Endpoint``)
are the fields both resources name their cluster with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final

from engine.errors import StatesRuntime
from engine.executor import ExecutorContext, ParameterProblem, ParameterReading, StaticParameters
from engine.jsonvalue import JSON

MAX_CAUSE_CHARS: Final = 32768
"""AWS's limit on an error cause (TaskFailedEventDetails.cause)."""


FieldRule = Callable[[tuple[str, ...], JSON, ParameterReading], list[ParameterProblem]]
"""Checks one field's literal value at a location, read as the reading says; returns the problems."""


def _dotted(path: tuple[str, ...]) -> str:
    # Step Functions names the field itself, not its full path (the path is the location).
    return path[-1] if path else "Parameters"


def _problem(path: tuple[str, ...], message: str) -> list[ParameterProblem]:
    return [ParameterProblem(path, message)]


def string_rule(path: tuple[str, ...], value: JSON, reading: ParameterReading) -> list[ParameterProblem]:
    """A non-empty string."""
    if not isinstance(value, str):
        return _problem(path, f'The value for the field "{_dotted(path)}" must be a STRING')
    if not value:
        return _problem(path, f'The value for the field "{_dotted(path)}" must not be empty')
    return []


def boolean_rule(path: tuple[str, ...], value: JSON, reading: ParameterReading) -> list[ParameterProblem]:
    """A JSON boolean."""
    if not isinstance(value, bool):
        return _problem(path, f'The value for the field "{_dotted(path)}" must be a BOOLEAN')
    return []


def string_list_map_rule(
    reserved: Mapping[str, str] | None = None,
) -> FieldRule:
    """A map of string to list of strings (``QueryParameters``, ``LogParameters``).

    Args:
        reserved: keys that may not appear, with the reason given to the user.
    """

    def rule(path: tuple[str, ...], value: JSON, reading: ParameterReading) -> list[ParameterProblem]:
        if not isinstance(value, dict):
            return _problem(path, f'The value for the field "{_dotted(path)}" must be a map of STRING '
                            "to a list of STRING")
        problems: list[ParameterProblem] = []
        for key, items in value.items():
            name, computed = reading.member(key, items)
            where = (*path, name)
            if reserved and name in reserved:
                message = f'The field "{_dotted(where)}" is not supported: {reserved[name]}'
                problems += _problem(where, message)
                continue
            if computed:
                continue
            if not isinstance(items, list) or not all(
                isinstance(item, str) or reading.computed(item) for item in items
            ):
                message = f'The value for the field "{_dotted(where)}" must be a list of STRING'
                problems += _problem(where, message)
        return problems

    return rule


def object_rule(fields: Mapping[str, FieldRule], required: Iterable[str] = ()) -> FieldRule:
    """A JSON object with known fields; unknown fields are refused as AWS does."""
    needed = tuple(required)

    def rule(path: tuple[str, ...], value: JSON, reading: ParameterReading) -> list[ParameterProblem]:
        if not isinstance(value, dict):
            return _problem(path, f'The value for the field "{_dotted(path)}" must be an OBJECT')
        known: dict[str, JSON] = {}
        dynamic: set[str] = set()
        for key, item in value.items():
            name, computed = reading.member(key, item)
            if computed:
                dynamic.add(name)
            else:
                known[key] = item
        return check_fields(fields, needed, known, dynamic, path, reading)

    return rule


def check_fields(
    fields: Mapping[str, FieldRule],
    required: Iterable[str],
    known: Mapping[str, JSON],
    dynamic: Iterable[str],
    path: tuple[str, ...] = (),
    reading: ParameterReading = ParameterReading.RESOLVED,
) -> list[ParameterProblem]:
    """Check an object's fields: required ones present, no unknown ones, literal values valid.

    Args:
        fields: the allowed fields and the rule for each value.
        required: the fields that must be present (literal or dynamic).
        known: fields with literal (or resolved) values.
        dynamic: fields computed at run time (checked only for presence and name).
        path: the object's location, for messages.
        reading: how nested values are read (computed parts are not checked).
    """
    dynamic = frozenset(dynamic)
    problems: list[ParameterProblem] = []
    for name in (*known, *sorted(dynamic - set(known))):
        if name not in fields:
            where = (*path, name)
            problems += _problem(where, f'The field "{_dotted(where)}" is not supported by Step Functions')
    for name in required:
        if name not in known and name not in dynamic:
            where = (*path, name)
            problems += _problem(where, f'The field "{_dotted(where)}" is required')
    for name, value in known.items():
        rule = fields.get(name)
        # Computed values never reach ``known``: a "{% … %}" string here is a JSONPath state's
        # plain string, or a resolved value, and is checked as any other.
        if rule is not None:
            problems += rule((*path, name), value, reading)
    return problems


def check_static(
    fields: Mapping[str, FieldRule], required: Iterable[str], parameters: StaticParameters
) -> list[ParameterProblem]:
    """``check_fields`` on what a definition shows; nothing when the whole object is computed."""
    if parameters.dynamic is None:
        return []
    return check_fields(fields, required, parameters.known, parameters.dynamic, (), parameters.reading)


def runtime_parameters(
    ctx: ExecutorContext, fields: Mapping[str, FieldRule], required: Iterable[str], parameters: JSON
) -> dict[str, JSON]:
    """The resolved parameters as an object, after the same checks the definition got.

    Raises:
        StatesRuntime: ``States.Runtime`` worded as AWS words a Task that cannot start.
    """
    # UNCONFIRMED (spec §2.1): AWS reports parameters resolved at run time that its
    # schema refuses as States.Runtime "The Parameters … could not be used to start the Task".
    if not isinstance(parameters, dict):
        raise parameter_error(ctx, ["The Parameters must be a JSON object"])
    problems = check_fields(fields, required, parameters, ())
    if problems:
        raise parameter_error(ctx, [p.message for p in problems])
    return parameters


def parameter_error(ctx: ExecutorContext, messages: list[str]) -> StatesRuntime:
    """The ``States.Runtime`` error for parameters a Task cannot start with."""
    where = f"the state '{ctx.state_name}'" if ctx.state_name else "the state"
    cause = (
        f"An error occurred while executing {where}. The Parameters could not be used to start the Task: "
        f"[{', '.join(messages)}]"
    )
    return StatesRuntime(None, cause[:MAX_CAUSE_CHARS])


CLUSTER_FIELDS: Final[Mapping[str, FieldRule]] = {
    "ClusterName": string_rule,
    "CertificateAuthority": string_rule,
    "Endpoint": string_rule,
}
"""The fields that name the cluster, shared by runJob and call."""


__all__ = [
    "CLUSTER_FIELDS",
    "FieldRule",
    "boolean_rule",
    "check_fields",
    "check_static",
    "object_rule",
    "parameter_error",
    "runtime_parameters",
    "string_list_map_rule",
    "string_rule",
]
