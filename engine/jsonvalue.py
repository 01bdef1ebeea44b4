"""JSON values and the only place where bytes meet values.

Inside the engine a JSON value is a plain Python object (dict, list, str, int,
float, bool, None). orjson turns bytes into values and back; nothing else in
the engine serializes, so the rules (UTF-8, no NaN, sorted keys never) live here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final, TypeAlias

import orjson

JSON: TypeAlias = Any
"""A JSON value: dict[str, JSON] | list[JSON] | str | int | float | bool | None.

Kept as ``Any`` on purpose: recursive aliases make every access site cast, and
the engine checks shapes where it matters (paths, intrinsics, templates).
"""


MAX_DEPTH: Final = 1024
"""The deepest nesting of arrays and objects a value may have (orjson's parser limit)."""

_INT_CHUNK: Final = 10**4000
"""Integers are rendered in chunks below CPython's 4,300-digit ``int``/``str`` conversion limit."""

# orjson keeps integers exact only within [-2**63, 2**64); a longer digit run may be one that it rounds,
# and so may a negative one of 19 digits (-2**63 itself has 19).
_LONG_DIGITS: Final = re.compile(rb"-[0-9]{19}|[0-9]{20,}")
_LONG_DIGITS_STR: Final = re.compile(r"-[0-9]{19}|[0-9]{20,}")


class JSONDecodeError(ValueError):
    """Text that is not valid JSON."""


class NotJSON(ValueError):
    """A Python value that has no JSON form (NaN, Infinity, a set, too deep...)."""


def loads(data: bytes | bytearray | memoryview | str) -> JSON:
    """Parse JSON text or bytes into a value.

    Raises:
        JSONDecodeError: the text is not valid JSON.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # orjson reads an integer beyond a double's range as infinity and refuses it.
        if _has_long_digits(data):
            try:
                return _loads_exact(data)
            except (RecursionError, ValueError):
                pass
        raise JSONDecodeError(str(exc)) from exc
    if _has_long_digits(data):
        # JSON numbers have no size limit: keep integers beyond 64 bits exact, as the text says them.
        try:
            return _loads_exact(data)
        except (RecursionError, ValueError):
            return value
    return value


def _has_long_digits(data: bytes | bytearray | memoryview | str) -> bool:
    if isinstance(data, str):
        return _LONG_DIGITS_STR.search(data) is not None
    return _LONG_DIGITS.search(data) is not None


def _loads_exact(data: bytes | bytearray | memoryview | str) -> JSON:
    """The standard library's parser, with exact integers of any length and finite floats only."""
    text = data if isinstance(data, str) else bytes(data)
    return json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_no_constant)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number is infinity when parsed as double: {text[:20]}")
    return value


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not JSON")


def _parse_int(text: str) -> int:
    if len(text) < 4000:
        return int(text)
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    n = 0
    for i in range(0, len(digits), 3000):
        part = digits[i : i + 3000]
        n = n * 10 ** len(part) + int(part)
    return -n if negative else n


def dumps(value: JSON) -> bytes:
    """Serialize a value to compact UTF-8 JSON bytes (AWS's compact form).

    Raises:
        NotJSON: the value has no JSON form.
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        # Integers beyond 64 bits and values nested deeper than orjson writes (254 levels).
        return _dumps_slow(value).encode()


def dumps_str(value: JSON) -> str:
    """Serialize a value to a compact JSON string."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return _dumps_slow(value)


def dumps_pretty(value: JSON) -> str:
    """Serialize a value as indented JSON text, for people."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:
        return _dumps_slow(value)


def int_text(n: int) -> str:
    """An integer's decimal text, of any length (``str`` refuses over 4,300 digits)."""
    if -_INT_CHUNK < n < _INT_CHUNK:
        return str(n)
    if n < 0:
        return "-" + int_text(-n)
    high, low = divmod(n, _INT_CHUNK)
    return int_text(high) + str(low).rjust(4000, "0")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int_text(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotJSON(f"{value!r} is not a JSON number")
        return orjson.dumps(value).decode()
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    raise NotJSON(f"a {type(value).__name__} is not a JSON value")


_CLOSE: Final = {True: "}", False: "]"}


def _dumps_slow(value: JSON) -> str:
    """Compact JSON text without recursion, for what orjson refuses to write."""
    out: list[str] = []
    # Each frame: (iterator over the container, is-object, whether an item was written).
    stack: list[tuple[Any, bool, list[bool]]] = []
    current: Any = value
    while True:
        if isinstance(current, dict):
            if len(stack) >= MAX_DEPTH:
                raise NotJSON(f"the value is nested more than {MAX_DEPTH} levels deep")
            out.append("{")
            stack.append((iter(current.items()), True, [False]))
        elif isinstance(current, list | tuple):
            if len(stack) >= MAX_DEPTH:
                raise NotJSON(f"the value is nested more than {MAX_DEPTH} levels deep")
            out.append("[")
            stack.append((iter(current), False, [False]))
        else:
            out.append(_scalar(current))
        while stack:
            it, is_object, written = stack[-1]
            item: Any = next(it, _END)
            if item is _END:
                out.append(_CLOSE[is_object])
                stack.pop()
                continue
            if written[0]:
                out.append(",")
            written[0] = True
            if is_object:
                key, current = item
                if not isinstance(key, str):
                    raise NotJSON(f"object keys must be strings, not {type(key).__name__}")
                out.append(orjson.dumps(key).decode())
                out.append(":")
            else:
                current = item
            break
        else:
            return "".join(out)


_END: Final = object()


def check_value(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Make sure a Python value is JSON: plain types, finite numbers, string keys, bounded depth.

    Walks without recursion, so a value of any depth gets an answer.

    Raises:
        NotJSON: what is wrong, the first problem found.
    """
    # ``int`` covers bool; a ``bool | int`` here would build a union object per item checked.
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, str) or v is None or isinstance(v, int):
            continue
        if isinstance(v, float):
            if not math.isfinite(v):
                raise NotJSON(f"{v!r} is not a JSON number")
            continue
        if depth >= max_depth:
            raise NotJSON(f"the value is nested more than {max_depth} levels deep")
        if isinstance(v, dict):
            for k, item in v.items():
                if not isinstance(k, str):
                    raise NotJSON(f"object keys must be strings, not {type(k).__name__}")
                if not (isinstance(item, str) or item is None or isinstance(item, int)):
                    stack.append((item, depth + 1))
        elif isinstance(v, list):
            for item in v:
                if not (isinstance(item, str) or item is None or isinstance(item, int)):
                    stack.append((item, depth + 1))
        else:
            raise NotJSON(f"a {type(v).__name__} is not a JSON value")
