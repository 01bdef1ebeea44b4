"""IAM identity-based policy evaluation, for the simulators' ``--policy``.

The EKS simulator asks :meth:`PolicySet.authorize` before each operation (and
for each role a request passes), so a user can run a state machine offline
under the policy ``statewright policy`` generated, or a hand-written one, and
see the Task that lacks a permission fail as it would on AWS.

Evaluation follows IAM's documented logic for identity-based policies
("Policy evaluation logic", IAM User Guide):

1. every statement whose Action/NotAction, Resource/NotResource and
   Condition match the request applies;
2. an applicable ``Deny`` decides: explicitly denied;
3. else an applicable ``Allow`` decides: allowed;
4. else implicitly denied.

Matching rules: actions are ``service:Name`` compared case-insensitively with
``*`` and ``?`` wildcards; resources are ARNs compared case-sensitively with
the same wildcards (``*`` may span ``/`` and ``:``). Conditions support the
string, ARN and Bool operators, their ``IfExists`` forms and multi-valued
condition values (any value may match); keys missing from the request make a
positive operator false and a negated one true, as IAM does. A policy using
anything else (``Principal``, an unknown operator, policy variables) is
refused when loaded, never half-applied.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

POLICY_VERSIONS: Final = frozenset({"2012-10-17", "2008-10-17"})
_STATEMENT_KEYS: Final = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)

_STRING_OPERATORS: Final = {
    "StringEquals": (False, False, False),
    "StringNotEquals": (True, False, False),
    "StringEqualsIgnoreCase": (False, False, True),
    "StringNotEqualsIgnoreCase": (True, False, True),
    "StringLike": (False, True, False),
    "StringNotLike": (True, True, False),
    "ArnEquals": (False, True, False),
    "ArnLike": (False, True, False),
    "ArnNotEquals": (True, True, False),
    "ArnNotLike": (True, True, False),
}
"""operator → (negated, wildcards allowed, case-insensitive)."""


class PolicyError(ValueError):
    """A policy document that cannot be evaluated: what is wrong and where."""


class Decision(enum.Enum):
    """The outcome of an evaluation."""

    ALLOWED = "allowed"
    IMPLICIT_DENY = "implicit deny"
    EXPLICIT_DENY = "explicit deny"


def _wildcard(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyError(f"{where} must be a string or a non-empty list of strings")


def _no_variables(values: Iterable[str], where: str) -> None:
    for value in values:
        if "${" in value:
            raise PolicyError(
                f"{where}: policy variables such as {value!r} are not supported by the simulator"
            )


@dataclass(frozen=True)
class _Condition:
    operator: str
    key: str
    values: tuple[str, ...]
    if_exists: bool

    def holds(self, context: Mapping[str, str]) -> bool:
        actual = context.get(self.key.lower())
        if self.operator == "Bool":
            if actual is None:
                return self.if_exists
            return actual.lower() in {v.lower() for v in self.values}
        negated, wildcards, ignore_case = _STRING_OPERATORS[self.operator]
        if actual is None:
            return self.if_exists or negated
        if wildcards:
            matched = any(_wildcard(v, ignore_case=ignore_case).fullmatch(actual) for v in self.values)
        elif ignore_case:
            matched = actual.lower() in {v.lower() for v in self.values}
        else:
            matched = actual in self.values
        return not matched if negated else matched


@dataclass(frozen=True)
class Statement:
    """One parsed statement."""

    effect: str
    actions: tuple[re.Pattern[str], ...]
    not_action: bool
    resources: tuple[re.Pattern[str], ...]
    not_resource: bool
    conditions: tuple[_Condition, ...]

    def applies(self, action: str, resource: str, context: Mapping[str, str]) -> bool:
        """Whether this statement matches the request."""
        action_match = any(p.fullmatch(action) for p in self.actions)
        if action_match == self.not_action:
            return False
        resource_match = any(p.fullmatch(resource) for p in self.resources)
        if resource_match == self.not_resource:
            return False
        return all(c.holds(context) for c in self.conditions)


def _conditions(raw: Any, where: str) -> tuple[_Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}.Condition must be an object")
    out: list[_Condition] = []
    for operator, block in raw.items():
        base = operator[: -len("IfExists")] if operator.endswith("IfExists") else operator
        if ":" in base:
            raise PolicyError(f"{where}.Condition: set operators such as {operator!r} are not supported")
        if base not in _STRING_OPERATORS and base != "Bool":
            raise PolicyError(f"{where}.Condition: unsupported condition operator {operator!r}")
        if not isinstance(block, dict) or not block:
            raise PolicyError(f"{where}.Condition.{operator} must be a non-empty object")
        for key, value in block.items():
            values = _strings(value, f"{where}.Condition.{operator}.{key}")
            _no_variables(values, f"{where}.Condition")
            out.append(_Condition(base, key, values, operator.endswith("IfExists")))
    return tuple(out)


def _statement(raw: Any, where: str) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must be an object")
    if "Principal" in raw or "NotPrincipal" in raw:
        raise PolicyError(f"{where}: identity-based policies have no Principal")
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}.Effect must be Allow or Deny")
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(f"{where} needs exactly one of Action and NotAction")
    if ("Resource" in raw) == ("NotResource" in raw):
        raise PolicyError(f"{where} needs exactly one of Resource and NotResource")
    action_key = "Action" if "Action" in raw else "NotAction"
    resource_key = "Resource" if "Resource" in raw else "NotResource"
    actions = _strings(raw[action_key], f"{where}.{action_key}")
    for action in actions:
        if action != "*" and ":" not in action:
            raise PolicyError(f"{where}.{action_key}: {action!r} is not service:Action or *")
    resources = _strings(raw[resource_key], f"{where}.{resource_key}")
    _no_variables(resources, f"{where}.{resource_key}")
    for resource in resources:
        if resource != "*" and not resource.startswith("arn:"):
            raise PolicyError(f"{where}.{resource_key}: {resource!r} is not an ARN or *")
    return Statement(
        effect=effect,
        actions=tuple(_wildcard(a, ignore_case=True) for a in actions),
        not_action=action_key == "NotAction",
        resources=tuple(_wildcard(r, ignore_case=False) for r in resources),
        not_resource=resource_key == "NotResource",
        conditions=_conditions(raw.get("Condition"), where),
    )


@dataclass(frozen=True)
class Policy:
    """A parsed identity-based policy document."""

    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, document: Any) -> Policy:
        """Parse a policy document (a dict, or JSON text).

        Raises:
            PolicyError: what is wrong with it.
        """
        if isinstance(document, str | bytes):
            try:
                document = json.loads(document)
            except ValueError as exc:
                raise PolicyError(f"the policy is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise PolicyError("a policy document must be a JSON object")
        unknown = set(document) - {"Version", "Id", "Statement"}
        if unknown:
            raise PolicyError(f"unknown top-level field(s) {', '.join(sorted(unknown))}")
        version = document.get("Version")
        if version is not None and version not in POLICY_VERSIONS:
            raise PolicyError(f"Version must be one of {', '.join(sorted(POLICY_VERSIONS))}")
        raw = document.get("Statement")
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list):
            raise PolicyError("Statement must be an object or a list of objects")
        return cls(tuple(_statement(s, f"Statement[{i}]") for i, s in enumerate(raw)))

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read and parse a policy file.

        Raises:
            PolicyError: unreadable or invalid.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read the policy file {str(path)!r}: {exc}") from None
        return cls.parse(text)

    def evaluate(self, action: str, resource: str, context: Mapping[str, str] | None = None) -> Decision:
        """Decide one request: explicit deny wins, then any allow, else implicit deny.

        Args:
            action: ``service:Action``, e.g. ``eks:CreateCluster``.
            resource: the resource ARN (``*`` for actions without resource-level permissions).
            context: condition keys of the request (case-insensitive names).
        """
        keys = {k.lower(): v for k, v in (context or {}).items()}
        allowed = False
        for statement in self.statements:
            if statement.applies(action, resource, keys):
                if statement.effect == "Deny":
                    return Decision.EXPLICIT_DENY
                allowed = True
        return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY


def denial_message(principal_arn: str, action: str, resource: str, decision: Decision) -> str:
    """AWS's AccessDenied message for an identity-based refusal."""
    why = (
        "with an explicit deny in an identity-based policy"
        if decision is Decision.EXPLICIT_DENY
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {why}"


class PolicySet:
    """Which policy applies to which principal.

    Args:
        policies: principal ARN (an IAM user or role ARN, as canonicalized by
            the simulators) → its policy. Principals without an entry are not
            restricted (the simulators' default).
    """

    def __init__(self, policies: Mapping[str, Policy] | None = None) -> None:
        self._policies = dict(policies or {})

    def __bool__(self) -> bool:
        return bool(self._policies)

    def policy_for(self, principal_arn: str) -> Policy | None:
        """The policy attached to a principal, if any."""
        return self._policies.get(principal_arn)

    def attach(self, principal_arn: str, policy: Policy) -> None:
        """Attach (replace) a principal's policy."""
        self._policies[principal_arn] = policy


__all__ = ["Decision", "Policy", "PolicyError", "PolicySet", "Statement", "denial_message"]
