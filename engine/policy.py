"""The IAM policy a state machine's execution role needs.

``policy_for(definition)`` walks every Task of a definition — nested Parallel
branches and Map processors included — and asks the Task's executor which IAM
permissions it needs (``PolicyProvider``, an optional part of the executor
protocol). The executor sees what is known statically (``StaticParameters``):
a name written in the definition narrows an ARN, a name a path supplies
becomes ``*``. A Task's ``Credentials.RoleArn`` adds ``sts:AssumeRole``.

The statements are then merged into one policy document:

1. split into (effect, condition, action, resource) atoms, dropping duplicates;
2. per action, drop a resource another of its resources already covers
   (``*`` covers everything, ``cluster/*`` covers ``cluster/demo``);
3. group actions sharing the same resources, then resources sharing the same
   actions, so the document stays short and every statement grants exactly
   what some Task needed.

A Task whose executor cannot say what it needs (or whose Resource nothing
serves) is not silently dropped: it is listed in ``GeneratedPolicy.uncovered``
with its JSON location, and the command line prints those on stderr.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from engine.definition.model import JSONATA, MapState, ParallelState, StateMachine, TaskState
from engine.definition.parse import parse_definition
from engine.executor import PolicyProvider, PolicyStatement, PolicyTarget, static_parameters
from engine.jsonvalue import JSON
from engine.registry import ExecutorRegistry, UnknownResource

POLICY_VERSION: Final = "2012-10-17"


@dataclass(frozen=True, slots=True)
class UncoveredTask:
    """A Task whose permissions the generated policy does not include.

    Attributes:
        location: the state's JSON Pointer, e.g. ``/States/Notify``.
        resource: its Resource ARN.
        reason: why it is not covered.
    """

    location: str
    resource: str
    reason: str


@dataclass(frozen=True, slots=True)
class GeneratedPolicy:
    """The result of ``policy_for``.

    Attributes:
        document: the IAM policy document (``Version`` and ``Statement``).
        uncovered: Tasks whose permissions are not in ``document``.
    """

    document: dict[str, JSON]
    uncovered: tuple[UncoveredTask, ...]


def _tasks(machine: StateMachine, location: str) -> Iterator[tuple[str, TaskState, Mapping[str, Any]]]:
    raw_states = machine.raw.get("States")
    raw_states = raw_states if isinstance(raw_states, dict) else {}
    for name, state in machine.states.items():
        here = f"{location}/States/{_escape(name)}"
        if isinstance(state, TaskState):
            raw = raw_states.get(name)
            yield here, state, raw if isinstance(raw, dict) else {}
        elif isinstance(state, ParallelState):
            for i, branch in enumerate(state.branches):
                yield from _tasks(branch, f"{here}/Branches/{i}")
        elif isinstance(state, MapState):
            raw = raw_states.get(name)
            key = "ItemProcessor" if isinstance(raw, dict) and "ItemProcessor" in raw else "Iterator"
            yield from _tasks(state.processor, f"{here}/{key}")


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _credentials_statements(raw: Mapping[str, Any], jsonata: bool) -> list[PolicyStatement]:
    credentials = raw.get("Credentials")
    if not isinstance(credentials, dict):
        return []
    static = static_parameters(credentials, jsonata=jsonata)
    role = static.known.get("RoleArn")
    if isinstance(role, str) and static.dynamic is not None and "RoleArn" not in static.dynamic:
        return [PolicyStatement(("sts:AssumeRole",), (role,))]
    return [PolicyStatement(("sts:AssumeRole",), ("*",))]


def policy_for(
    definition: str | bytes | Mapping[str, Any] | StateMachine,
    *,
    registry: ExecutorRegistry | None = None,
    region: str = "*",
    account: str = "*",
    partition: str = "aws",
    cleanup: str = "aborted-task",
) -> GeneratedPolicy:
    """The IAM policy document the state machine's execution role needs.

    Args:
        definition: the definition (JSON text, parsed object or compiled machine).
        registry: the executors to ask; the installed plugins when None.
        region: the Region in generated ARNs (``*`` for any).
        account: the account in generated ARNs (``*`` for any).
        partition: the ARN partition.
        cleanup: the cleanup policy the executions will run under (see ``PolicyTarget``).

    Returns:
        The merged document, and the Tasks it could not cover.

    Raises:
        InvalidDefinition: the definition is invalid.
    """
    if registry is None:
        registry = ExecutorRegistry()
        registry.load_entry_points()
    machine = (
        definition
        if isinstance(definition, StateMachine)
        else parse_definition(definition, registry=registry)
    )
    target = PolicyTarget(partition=partition, region=region, account=account, cleanup=cleanup)
    statements: list[PolicyStatement] = []
    uncovered: list[UncoveredTask] = []
    for location, task, raw in _tasks(machine, ""):
        jsonata = task.query_language == JSONATA
        statements.extend(_credentials_statements(raw, jsonata))
        try:
            parsed, registration = registry.lookup(task.resource)
        except UnknownResource as exc:
            uncovered.append(UncoveredTask(location, task.resource, str(exc)))
            continue
        executor = registration.executor
        if not isinstance(executor, PolicyProvider):
            uncovered.append(
                UncoveredTask(
                    location, task.resource, "its executor does not say which IAM permissions it needs"
                )
            )
            continue
        params = static_parameters(raw.get("Arguments" if jsonata else "Parameters"), jsonata=jsonata)
        statements.extend(executor.policy_statements(parsed.action, parsed.pattern, params, target))
    return GeneratedPolicy(merge_statements(statements), tuple(uncovered))


# -- merging ------------------------------------------------------------------------------------


def _covers(pattern: str, resource: str) -> bool:
    """Whether IAM resource ``pattern`` (``*`` and ``?`` wildcards) matches all of ``resource``'s ARNs."""
    if pattern == resource:
        return True
    if "*" not in pattern and "?" not in pattern:
        return False
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    # A wildcard resource is covered only if the pattern matches its wildcards literally too.
    return re.fullmatch(regex, resource, flags=re.DOTALL) is not None


def _condition_key(condition: Mapping[str, Mapping[str, str | list[str]]] | None) -> bytes:
    return orjson.dumps(condition, option=orjson.OPT_SORT_KEYS) if condition else b""


def merge_statements(statements: list[PolicyStatement]) -> dict[str, JSON]:
    """Merge and de-duplicate statements into one Allow policy document (see the module docstring)."""
    conditions: dict[bytes, Mapping[str, Mapping[str, str | list[str]]] | None] = {}
    per_action: dict[tuple[bytes, str], set[str]] = {}
    for st in statements:
        key = _condition_key(st.condition)
        conditions[key] = st.condition
        for action in st.actions:
            per_action.setdefault((key, action), set()).update(st.resources)
    by_resources: dict[tuple[bytes, frozenset[str]], set[str]] = {}
    for (key, action), resources in per_action.items():
        kept = frozenset(
            r for r in resources if not any(other != r and _covers(other, r) for other in resources)
        )
        by_resources.setdefault((key, kept), set()).add(action)
    by_actions: dict[tuple[bytes, frozenset[str]], set[str]] = {}
    for (key, grouped_resources), grouped_actions in by_resources.items():
        by_actions.setdefault((key, frozenset(grouped_actions)), set()).update(grouped_resources)
    out: list[JSON] = []
    for (cond_key, actions), resources in sorted(
        by_actions.items(), key=lambda item: (item[0][0], sorted(item[0][1]), sorted(item[1]))
    ):
        statement: dict[str, JSON] = {
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": "*" if resources == {"*"} else sorted(resources),
        }
        condition = conditions[cond_key]
        if condition:
            statement["Condition"] = {op: dict(values) for op, values in condition.items()}
        out.append(statement)
    return {"Version": POLICY_VERSION, "Statement": out}


__all__ = ["GeneratedPolicy", "UncoveredTask", "merge_statements", "policy_for"]
