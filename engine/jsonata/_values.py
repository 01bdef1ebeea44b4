"""Turning the JSONata library's values into plain JSON, and back at the edge.

jsonata-python speaks its own dialect of Python values: ``None`` means
JSONata *undefined*, a ``NullValue`` singleton means JSON ``null``, sequences
are ``list`` subclasses carrying flags, numbers come back as whatever Python
arithmetic produced (``3.0``, ``2000000000000000000000``), and a result may be
a function or a compiled regex. AWS evaluates with the JavaScript JSONata, so
numbers behave like JavaScript doubles and the state sees plain JSON. This
module is the one place that translation happens; it copies as it converts, so
no result ever aliases the library's (or the caller's) objects.
"""

from __future__ import annotations

import enum
import math
from typing import Final

from jsonata.utils import Utils

from engine.jsonvalue import JSON

NULL_VALUE: Final = Utils.NULL_VALUE

#: Integers outside this range do not survive a trip through a JavaScript
#: double (or orjson's 64-bit integers), so they are carried as floats.
_INT_LIMIT: Final = 2**63


class Undefined(enum.Enum):
    """The type of :data:`UNDEFINED`: JSONata's "no result"."""

    UNDEFINED = "undefined"

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = Undefined.UNDEFINED
"""The value an expression returns when it matches nothing (JSONata ``undefined``)."""


class UnsupportedResult(ValueError):
    """A result that is not JSON: a function, a regular expression, NaN or infinity."""


def normalize_number(value: int | float) -> int | float:
    """Return a JSON number as JavaScript would print it: integral values as ints.

    ``3.0`` becomes ``3``, ``-0.0`` becomes ``0``, ``1.5`` stays ``1.5``;
    integers too large for a double's exact range become floats.

    Raises:
        UnsupportedResult: the value is NaN or infinite.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnsupportedResult(f"the number {value} cannot be represented in JSON")
        if value.is_integer() and -_INT_LIMIT < value < _INT_LIMIT:
            return int(value)
        return value
    if -_INT_LIMIT < value < _INT_LIMIT:
        return value
    return float(value)


def to_json(value: object) -> JSON | Undefined:
    """Convert a library result into a fresh plain JSON value.

    Top-level ``None`` is JSONata *undefined* and becomes :data:`UNDEFINED`.
    Inside containers ``None`` can only be a JSON ``null`` that came from the
    input document (the library leaves those untouched), so it stays ``None``.

    Raises:
        UnsupportedResult: the result holds something JSON cannot represent.
    """
    if value is None:
        return UNDEFINED
    return _convert(value)


def _convert(value: object) -> JSON:
    # Ordered by frequency in real payloads; bool before int because bool is an int.
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {str(k): _convert(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert(v) for v in value]
    if value is None or value is NULL_VALUE:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return normalize_number(value)
    raise UnsupportedResult(f"a value of type {type(value).__name__} cannot be represented in JSON")


def json_type_name(value: JSON) -> str:
    """Name a JSON value's type the way AWS's causes do: ``array``, ``object``, ``string``…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def copy_json(value: JSON) -> JSON:
    """Deep-copy a JSON value (containers only; scalars are immutable)."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value
