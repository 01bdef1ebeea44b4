"""Label and field selectors, parsed once per request and matched per object.

The label-selector grammar follows Kubernetes' ``labels.Parse``: comma-separated
requirements ``key``, ``!key``, ``key=value``, ``key==value``, ``key!=value``,
``key in (a,b)``, ``key notin (a,b)``, ``key>1`` and ``key<1``, with keys and
values validated like label keys and values. Field selectors accept ``=``,
``==`` and ``!=`` terms with backslash escapes; which fields may be selected is
decided per resource by the caller. Parse errors raise ``ValueError`` with the
message the API answers as 400 BadRequest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

EXISTS: Final = "exists"
NOT_EXISTS: Final = "!"
EQUALS: Final = "="
DOUBLE_EQUALS: Final = "=="
NOT_EQUALS: Final = "!="
IN: Final = "in"
NOT_IN: Final = "notin"
GREATER: Final = ">"
LESS: Final = "<"

_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SYMBOLS: Final = ("!=", "==", "!", "(", ")", ",", "=", ">", "<")
_SPACE: Final = " \t\r\n"


def validate_label_key(key: str) -> str | None:
    """Return why ``key`` is not a valid label key, or None when it is."""
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix):
            return f'prefix part of "{key}" must be a lowercase RFC 1123 subdomain'
    if not name or len(name) > 63 or not _NAME.match(name):
        return (
            f'name part of "{key}" must consist of alphanumeric characters, "-", "_" or ".", and must '
            "start and end with an alphanumeric character (at most 63 characters)"
        )
    return None


def validate_label_value(value: str) -> str | None:
    """Return why ``value`` is not a valid label value, or None when it is."""
    if value == "":
        return None
    if len(value) > 63 or not _NAME.match(value):
        return (
            f'invalid label value: "{value}": must be 63 characters or less and consist of alphanumeric '
            'characters, "-", "_" or ".", starting and ending with an alphanumeric character'
        )
    return None


@dataclass(frozen=True, slots=True)
class Requirement:
    """One label requirement: ``key``, an operator, and its values (sorted for set operators)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement."""
        op = self.operator
        if op in (EQUALS, DOUBLE_EQUALS, IN):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_EQUALS, NOT_IN):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == NOT_EXISTS:
            return self.key not in labels
        value = labels.get(self.key)
        if value is None:
            return False
        try:
            have = int(value)
        except ValueError:
            return False
        want = int(self.values[0])
        return have > want if op == GREATER else have < want

    def equality(self) -> tuple[str, str] | None:
        """``(key, value)`` when this requirement pins the key to one value (usable with an index)."""
        if self.operator in (EQUALS, DOUBLE_EQUALS) or (self.operator == IN and len(self.values) == 1):
            return self.key, self.values[0]
        return None

    def render(self) -> str:
        """The requirement in selector syntax."""
        if self.operator == EXISTS:
            return self.key
        if self.operator == NOT_EXISTS:
            return "!" + self.key
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        return f"{self.key}{self.operator}{self.values[0]}"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A conjunction of label requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every requirement holds for ``labels``."""
        return all(requirement.matches(labels) for requirement in self.requirements)

    def render(self) -> str:
        """The selector in its string form."""
        return ",".join(requirement.render() for requirement in self.requirements)

    @property
    def empty(self) -> bool:
        """Whether the selector has no requirement."""
        return not self.requirements


def _tokenize(text: str) -> list[tuple[str, str]]:
    """Split a label selector into ``(kind, text)`` tokens; kind is ``id`` or the symbol itself."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _SPACE:
            i += 1
            continue
        for symbol in _SYMBOLS:
            if text.startswith(symbol, i):
                tokens.append((symbol, symbol))
                i += len(symbol)
                break
        else:
            start = i
            while i < n and text[i] not in _SPACE and not any(text.startswith(s, i) for s in _SYMBOLS):
                i += 1
            word = text[start:i]
            tokens.append(("in" if word == "in" else "notin" if word == "notin" else "id", word))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def fail(self, why: str) -> ValueError:
        return ValueError(f"unable to parse requirement: {why}")

    def parse(self) -> LabelSelector:
        requirements: list[Requirement] = []
        while True:
            kind, word = self.peek()
            if kind == "end":
                if requirements and self.tokens and self.tokens[-1][0] == ",":
                    raise self.fail("found '', expected: identifier after ','")
                break
            if kind not in ("id", "!"):
                raise self.fail(f"found '{word}', expected: !, identifier, or 'end of string'")
            requirements.append(self.requirement())
            kind, word = self.take()
            if kind == "end":
                break
            if kind != ",":
                raise self.fail(f"found '{word}', expected: ',' or 'end of string'")
        return LabelSelector(tuple(requirements))

    def key(self) -> str:
        kind, word = self.take()
        if kind not in ("id", "in", "notin"):
            raise self.fail(f"found '{word}', expected: identifier")
        problem = validate_label_key(word)
        if problem:
            raise self.fail(f"invalid label key {problem}")
        return word

    def requirement(self) -> Requirement:
        if self.peek()[0] == "!":
            self.take()
            key = self.key()
            if self.peek()[0] not in (",", "end"):
                raise self.fail(f"found '{self.peek()[1]}', expected: ',' or 'end of string'")
            return Requirement(key, NOT_EXISTS)
        key = self.key()
        kind, word = self.peek()
        if kind in (",", "end"):
            return Requirement(key, EXISTS)
        self.take()
        if kind in (IN, NOT_IN):
            return Requirement(key, kind, self.value_set())
        if kind not in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER, LESS):
            raise self.fail(f"found '{word}', expected: in, notin, =, ==, !=, gt, lt")
        value = ""
        if self.peek()[0] == "id":
            value = self.take()[1]
        elif self.peek()[0] not in (",", "end"):
            raise self.fail(f"found '{self.peek()[1]}', expected: identifier")
        if kind in (GREATER, LESS):
            try:
                int(value)
            except ValueError:
                raise self.fail(
                    f"for 'gt', 'lt' operators, the value must be an integer: {value!r}"
                ) from None
        else:
            problem = validate_label_value(value)
            if problem:
                raise self.fail(problem)
        return Requirement(key, kind, (value,))

    def value_set(self) -> tuple[str, ...]:
        kind, word = self.take()
        if kind != "(":
            raise self.fail(f"found '{word}', expected: '('")
        values: set[str] = set()
        expect_value = True
        while True:
            kind, word = self.take()
            if kind == ")":
                if expect_value and values:
                    values.add("")
                break
            if kind == ",":
                if expect_value:
                    values.add("")
                expect_value = True
                continue
            if kind == "id" and expect_value:
                problem = validate_label_value(word)
                if problem:
                    raise self.fail(problem)
                values.add(word)
                expect_value = False
                continue
            raise self.fail(f"found '{word}', expected: ',', ')' or identifier")
        if not values:
            raise self.fail("for 'in', 'notin' operators, values set can't be empty")
        return tuple(sorted(values))


def parse_label_selector(text: str) -> LabelSelector:
    """Parse a ``labelSelector`` query value.

    Raises:
        ValueError: the selector is malformed; the message is Kubernetes'.
    """
    if not text.strip():
        return LabelSelector()
    return _Parser(text).parse()


def selector_from_label_selector_object(obj: Mapping[str, Any]) -> LabelSelector:
    """Turn a ``metav1.LabelSelector`` (matchLabels + matchExpressions) into a selector."""
    requirements = [Requirement(k, EQUALS, (str(v),)) for k, v in (obj.get("matchLabels") or {}).items()]
    for expression in obj.get("matchExpressions") or []:
        op = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": NOT_EXISTS}.get(
            str(expression.get("operator"))
        )
        if op is None:
            raise ValueError(f"{expression.get('operator')!r} is not a valid label selector operator")
        values = tuple(sorted(str(v) for v in expression.get("values") or []))
        requirements.append(Requirement(str(expression.get("key")), op, values))
    return LabelSelector(tuple(requirements))


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    """One field selector term."""

    field: str
    value: str
    negate: bool


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A conjunction of field terms over dotted paths (``metadata.name``, ``status.phase``)."""

    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj`` satisfies every term."""
        for requirement in self.requirements:
            have = field_value(obj, requirement.field)
            if (have == requirement.value) == requirement.negate:
                return False
        return True

    def name(self) -> str | None:
        """The object name when the selector pins ``metadata.name``."""
        for requirement in self.requirements:
            if requirement.field == "metadata.name" and not requirement.negate:
                return requirement.value
        return None

    @property
    def empty(self) -> bool:
        """Whether the selector has no term."""
        return not self.requirements


FIELD_ALIASES: Final[dict[str, str]] = {"status.successful": "status.succeeded"}


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string value of dotted ``path`` in ``obj`` (``""`` when absent)."""
    current: Any = obj
    for part in FIELD_ALIASES.get(path, path).split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
        if current is None:
            return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    if isinstance(current, (dict, list)):
        return ""
    return str(current)


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_field_selector(text: str, allowed: frozenset[str] | None = None) -> FieldSelector:
    """Parse a ``fieldSelector`` query value.

    Args:
        text: the selector.
        allowed: the field labels the resource supports; None allows any.

    Raises:
        ValueError: malformed selector or a field the resource does not support.
    """
    if not text.strip():
        return FieldSelector()
    requirements = []
    for term in _split_unescaped(text, ","):
        term = term.strip()
        for op, negation in (("!=", True), ("==", False), ("=", False)):
            index = _find_unescaped(term, op)
            if index >= 0:
                negate = negation
                field = term[:index].strip()
                value = _unescape(term[index + len(op) :].strip())
                break
        else:
            raise ValueError(f"invalid selector: '{text}'; can't understand '{term}'")
        if allowed is not None and field not in allowed:
            raise ValueError(f"field label not supported: {field}")
        requirements.append(FieldRequirement(field, value, negate))
    return FieldSelector(tuple(requirements))


def _find_unescaped(term: str, op: str) -> int:
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        if term.startswith(op, i):
            return i
        i += 1
    return -1
