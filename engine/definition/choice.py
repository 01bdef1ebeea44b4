"""Choice rules compiled to predicates.

Each JSONPath rule (``Variable`` plus one comparison operator, or ``And`` /
``Or`` / ``Not``) becomes a closure ``Scope -> bool`` at definition time.
Comparisons follow AWS: a value of the wrong type never matches (it is not an
error), ``IsPresent`` is the only operator that tolerates a missing path, and
timestamps compare as instants.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Final

from engine.errors import Problem, StatesRuntime
from engine.jsonvalue import JSON
from engine.paths import Path, PathNotFound, PathSyntaxError, compile_path
from engine.scope import Scope
from engine.templates import pointer

Predicate = Callable[[Scope], bool]

_TYPES: Final[dict[str, type | tuple[type, ...]]] = {
    "String": str,
    "Numeric": (int, float),
    "Boolean": bool,
    "Timestamp": str,
}
_COMPARISONS: Final = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
COMPARATORS: Final = frozenset(
    [f"{t}{c}" for t in ("String", "Numeric", "Timestamp") for c in _COMPARISONS]
    + [f"{t}{c}Path" for t in ("String", "Numeric", "Timestamp") for c in _COMPARISONS]
    + ["BooleanEquals", "BooleanEqualsPath", "StringMatches"]
    + ["IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"]
)
_TIMESTAMP_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: str) -> datetime | None:
    """Parse an RFC 3339 timestamp as AWS accepts it (upper-case T and Z), or None."""
    if not _TIMESTAMP_RE.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _is_number(v: JSON) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _glob_segments(pattern: str) -> list[str]:
    """The literal runs between unescaped stars (AWS: ``\\*`` is a star, ``\\\\`` a backslash)."""
    segments: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            current.append(pattern[i + 1])
            i += 2
            continue
        if ch == "*":
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    segments.append("".join(current))
    return segments


def _matches(pattern: str) -> Callable[[str], bool]:
    """StringMatches in linear time: no backtracking, whatever the stars.

    With only ``*`` as a wildcard, the text matches when it starts with the
    first literal run, ends with the last, and holds the ones between in
    order; taking each middle run at its leftmost place is always right, so
    one left-to-right scan decides (a regex with one ``.*`` per star
    backtracks polynomially).
    """
    segments = _glob_segments(pattern)
    if len(segments) == 1:
        literal = segments[0]
        return lambda s: s == literal
    first, middle, last = segments[0], segments[1:-1], segments[-1]
    fixed = len(first) + len(last)

    def match(s: str) -> bool:
        if len(s) < fixed or not s.startswith(first) or not s.endswith(last):
            return False
        pos, end = len(first), len(s) - len(last)
        for seg in middle:
            found = s.find(seg, pos, end)
            if found < 0:
                return False
            pos = found + len(seg)
        return True

    return match


def _compare(kind: str, op: str, a: JSON, b: JSON) -> bool:
    if kind == "Numeric":
        if not (_is_number(a) and _is_number(b)):
            return False
    elif kind == "String":
        if not (isinstance(a, str) and isinstance(b, str)):
            return False
    elif kind == "Boolean":
        if not (isinstance(a, bool) and isinstance(b, bool)):
            return False
    elif kind == "Timestamp":
        if not (isinstance(a, str) and isinstance(b, str)):
            return False
        ta, tb = parse_timestamp(a), parse_timestamp(b)
        if ta is None or tb is None:
            return False
        a, b = ta, tb
    if op == "Equals":
        return bool(a == b)
    if op == "LessThan":
        return bool(a < b)
    if op == "GreaterThan":
        return bool(a > b)
    if op == "LessThanEquals":
        return bool(a <= b)
    return bool(a >= b)


def _variable_getter(path: Path, text: str) -> Callable[[Scope], JSON]:
    get = path.get

    def read(scope: Scope) -> JSON:
        try:
            return get(scope)
        except PathNotFound:
            raise StatesRuntime(
                cause=f"Invalid path '{text}': The choice state's condition path references an invalid value."
            ).scoped() from None

    return read


def compile_rule(rule: JSON, location: str, problems: list[Problem], *, top: bool) -> Predicate:
    """Compile one JSONPath Choice rule; append problems with their locations."""
    if not isinstance(rule, dict):
        problems.append(Problem(location, "INVALID_TYPE", "a Choice rule must be an object"))
        return _false
    allowed = {"Variable", "And", "Or", "Not", "Comment", *COMPARATORS}
    if top:
        allowed |= {"Next", "Assign"}
    for key in rule:
        if key not in allowed:
            problems.append(
                Problem(pointer(location, key), "UNKNOWN_FIELD", f"Field '{key}' is not supported")
            )
    if top and "Next" not in rule:
        problems.append(Problem(location, "MISSING_FIELD", "a Choice rule must have 'Next'"))
    combinators = [k for k in ("And", "Or", "Not") if k in rule]
    comparators = [k for k in rule if k in COMPARATORS]
    if combinators:
        if len(combinators) > 1 or comparators or "Variable" in rule:
            problems.append(Problem(location, "INVALID_RULE", "a Choice rule must have exactly one operator"))
            return _false
        op = combinators[0]
        if op == "Not":
            inner = compile_rule(rule["Not"], pointer(location, "Not"), problems, top=False)
            return lambda s: not inner(s)
        subs_raw = rule[op]
        if not isinstance(subs_raw, list) or not subs_raw:
            problems.append(
                Problem(pointer(location, op), "INVALID_TYPE", f"'{op}' must be a non-empty array")
            )
            return _false
        subs = tuple(
            compile_rule(r, pointer(pointer(location, op), i), problems, top=False)
            for i, r in enumerate(subs_raw)
        )
        if op == "And":
            return lambda s: all(p(s) for p in subs)
        return lambda s: any(p(s) for p in subs)
    if len(comparators) != 1:
        problems.append(
            Problem(location, "INVALID_RULE", "a Choice rule must have exactly one comparison operator")
        )
        return _false
    if "Variable" not in rule:
        problems.append(Problem(location, "MISSING_FIELD", "a comparison rule must have 'Variable'"))
        return _false
    var_text = rule["Variable"]
    if not isinstance(var_text, str):
        problems.append(Problem(pointer(location, "Variable"), "INVALID_TYPE", "'Variable' must be a string"))
        return _false
    try:
        var_path = compile_path(var_text)
    except PathSyntaxError as exc:
        problems.append(Problem(pointer(location, "Variable"), "INVALID_PATH", str(exc)))
        return _false
    op = comparators[0]
    operand = rule[op]
    oploc = pointer(location, op)
    read = _variable_getter(var_path, var_text)
    var_get = var_path.get

    if op == "IsPresent":
        if not isinstance(operand, bool):
            problems.append(Problem(oploc, "INVALID_TYPE", f"'{op}' must be a boolean"))
            return _false
        want = operand

        def is_present(s: Scope) -> bool:
            try:
                var_get(s)
            except PathNotFound:
                return not want
            return want

        return is_present
    if op.startswith("Is"):
        if not isinstance(operand, bool):
            problems.append(Problem(oploc, "INVALID_TYPE", f"'{op}' must be a boolean"))
            return _false
        want = operand
        check: Callable[[JSON], bool] = {
            "IsNull": lambda v: v is None,
            "IsNumeric": _is_number,
            "IsString": lambda v: isinstance(v, str),
            "IsBoolean": lambda v: isinstance(v, bool),
            "IsTimestamp": lambda v: isinstance(v, str) and parse_timestamp(v) is not None,
        }[op]

        def is_type(s: Scope) -> bool:
            try:
                v = var_get(s)
            except PathNotFound:
                # AWS: a type test on a missing path is simply false.
                return False
            return check(v) == want

        return is_type
    if op == "StringMatches":
        if not isinstance(operand, str):
            problems.append(Problem(oploc, "INVALID_TYPE", f"'{op}' must be a string"))
            return _false
        match = _matches(operand)

        def string_matches(s: Scope) -> bool:
            v = read(s)
            return isinstance(v, str) and match(v)

        return string_matches
    is_path = op.endswith("Path")
    base = op[:-4] if is_path else op
    kind = next(k for k in ("String", "Numeric", "Boolean", "Timestamp") if base.startswith(k))
    cmp = base[len(kind) :]
    if is_path:
        if not isinstance(operand, str):
            problems.append(Problem(oploc, "INVALID_TYPE", f"'{op}' must be a path string"))
            return _false
        try:
            other = compile_path(operand)
        except PathSyntaxError as exc:
            problems.append(Problem(oploc, "INVALID_PATH", str(exc)))
            return _false
        other_read = _variable_getter(other, operand)
        return lambda s: _compare(kind, cmp, read(s), other_read(s))
    expected_type = _TYPES[kind]
    if not isinstance(operand, expected_type) or (kind == "Numeric" and isinstance(operand, bool)):
        problems.append(Problem(oploc, "INVALID_TYPE", f"'{op}' must be a {kind.lower()} value"))
        return _false
    if kind == "Timestamp" and isinstance(operand, str) and parse_timestamp(operand) is None:
        problems.append(Problem(oploc, "INVALID_VALUE", f"'{op}' must be an RFC 3339 timestamp"))
        return _false
    const = operand
    return lambda s: _compare(kind, cmp, read(s), const)


def _false(scope: Scope) -> bool:
    return False
