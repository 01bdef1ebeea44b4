"""JSON values and the only place where bytes meet values.

Inside the engine a JSON value is a plain Python object (dict, list, str, int,
float, bool, None). orjson turns bytes into values and back; nothing else in
the engine serializes, so the rules (UTF-8, no NaN, sorted keys never) live here.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import orjson

JSON: TypeAlias = Any
"""A JSON value: dict[str, JSON] | list[JSON] | str | int | float | bool | None.

Kept as ``Any`` on purpose: recursive aliases make every access site cast, and
the engine checks shapes where it matters (paths, intrinsics, templates).
"""

JSONObject: TypeAlias = dict[str, Any]


class JSONDecodeError(ValueError):
    """Text that is not valid JSON."""


def loads(data: bytes | bytearray | memoryview | str) -> JSON:
    """Parse JSON text or bytes into a value.

    Raises:
        JSONDecodeError: the text is not valid JSON.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise JSONDecodeError(str(exc)) from exc


def dumps(value: JSON) -> bytes:
    """Serialize a value to compact UTF-8 JSON bytes (AWS's compact form)."""
    return orjson.dumps(value)


def dumps_str(value: JSON) -> str:
    """Serialize a value to a compact JSON string."""
    return orjson.dumps(value).decode()


def dumps_pretty(value: JSON) -> str:
    """Serialize a value as indented JSON text, for people."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
