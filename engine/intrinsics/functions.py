"""The eighteen ``States.*`` intrinsic functions and the table that describes them.

Each function is a plain Python function over already-evaluated arguments.
What a function accepts (arity and argument types) is data in
:data:`FUNCTIONS`, checked in one place, :func:`check_arguments`, both at
definition time for literal arguments (raising :class:`IntrinsicSyntaxError`)
and at run time for everything else (raising ``States.IntrinsicFailure``).
Checks that depend on a value rather than a type (a hash algorithm's name,
``JsonMerge``'s third argument, a partition size) live in each spec's
``validate`` hook, which also runs at both times.

Behaviours pinned by the AWS-recorded conformance cases:

* ``States.Format`` renders non-string values as Java's ``toString`` does:
  ``{Arg1=1, Arg2=[]}`` for objects, ``[a, b]`` for arrays, ``null``.
* ``States.MathAdd`` (and every integer argument) rounds a non-integer half
  up, as Java's ``Math.round``: 1.5 → 2, -1.5 → -1, -2.5 → -2.
* ``States.StringSplit`` splits on *any* of the delimiter characters and drops
  empty tokens (Java ``StringTokenizer``): ``",,,,"`` → ``[]``.
* ``States.StringToJson`` of a blank string is ``null``.
* ``States.JsonToString`` is compact JSON.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from engine.errors import IntrinsicFailure
from engine.jsonvalue import JSON, JSONDecodeError, dumps_str, loads
from engine.scope import Scope

__all__ = [
    "FUNCTIONS",
    "ArgType",
    "FunctionSpec",
    "IntrinsicSyntaxError",
    "check_arguments",
    "format_string",
    "java_string",
    "show_json",
    "split_template",
]

MAX_ARRAY_RANGE_ITEMS: Final = 1000
MAX_ENCODING_INPUT_CHARS: Final = 10_000
MAX_HASH_INPUT_CHARS: Final = 10_000
HASH_ALGORITHMS: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}
PLACEHOLDER: Final = "{}"


class IntrinsicSyntaxError(ValueError):
    """An intrinsic function call AWS would refuse in a definition.

    The message names the function and says what is wrong: unknown function,
    wrong number of arguments, a literal argument of the wrong type or value,
    unbalanced quotes or parentheses.
    """


class ArgType(enum.Enum):
    """What an argument must be; ``INTEGER`` accepts any number and rounds it half up."""

    ANY = "any value"
    STRING = "a string"
    NUMBER = "a number"
    INTEGER = "an integer"
    BOOLEAN = "a boolean"
    ARRAY = "an array"
    OBJECT = "an object"


class ArgumentError(Exception):
    """An argument check failed; the caller turns it into the right error for the time of the check."""


Impl = Callable[[list[JSON], Scope], JSON]
Validate = Callable[[Sequence[JSON]], None]
"""Value checks over the (coerced) arguments; entries the caller does not know yet are ``UNKNOWN``."""


class _Unknown:
    """Stands for an argument whose value is only known at run time."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """How one intrinsic function is called.

    Attributes:
        name: the full name, e.g. ``States.ArrayGetItem``.
        params: (name, type) of each positional parameter, required ones first.
        required: how many of ``params`` are required.
        variadic: the type of any further arguments, or None when there are none.
        impl: the function over coerced arguments.
        validate: value checks beyond types, run at definition and at run time.
    """

    name: str
    params: tuple[tuple[str, ArgType], ...]
    required: int
    variadic: ArgType | None
    impl: Impl
    validate: Validate | None = None

    def arity_text(self) -> str:
        if self.variadic is not None:
            return f"at least {self.required} argument{'s' if self.required != 1 else ''}"
        if self.required == len(self.params):
            n = self.required
            return f"exactly {n} argument{'s' if n != 1 else ''}"
        return f"{self.required} to {len(self.params)} arguments"

    def check_arity(self, count: int) -> str | None:
        """Returns what is wrong with calling this function with ``count`` arguments, or None."""
        if count < self.required or (self.variadic is None and count > len(self.params)):
            return f"{self.name} takes {self.arity_text()}, but got {count}"
        return None


# --------------------------------------------------------------------------- argument checks


def _json_type(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _show(value: JSON) -> str:
    return show_json(value, 200)


def show_json(value: JSON, limit: int | None = None) -> str:
    """Compact JSON of a value for an error message, shortened to ``limit`` characters."""
    try:
        text = dumps_str(value)
    except TypeError:  # integers beyond 64 bits
        text = repr(value)
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


def java_round(value: float) -> int:
    """Java's ``Math.round``: the nearest integer, halves rounded up (towards +∞)."""
    return math.floor(value + 0.5)


def _coerce(kind: ArgType, value: JSON) -> JSON:
    """Check one value against a type; returns it (integers rounded) or raises ArgumentError."""
    t = type(value)
    if kind is ArgType.ANY:
        return value
    if kind is ArgType.STRING:
        if t is str:
            return value
    elif kind is ArgType.INTEGER:
        if t is int:
            return value
        if t is float and math.isfinite(value):
            return java_round(value)
    elif kind is ArgType.NUMBER:
        if t is int or t is float:
            return value
    elif kind is ArgType.BOOLEAN:
        if t is bool:
            return value
    elif kind is ArgType.ARRAY:
        if isinstance(value, list):
            return value
    elif isinstance(value, dict):
        return value
    raise ArgumentError(f"must be {kind.value}, but was the {_json_type(value)} {show_json(value)}")


def _param(spec: FunctionSpec, index: int) -> tuple[str, ArgType]:
    if index < len(spec.params):
        return spec.params[index]
    assert spec.variadic is not None
    return (f"argument {index + 1}", spec.variadic)


def check_arguments(spec: FunctionSpec, values: Sequence[JSON]) -> list[JSON]:
    """Check and coerce arguments against a spec; ``UNKNOWN`` entries are skipped.

    Raises:
        ArgumentError: an argument has the wrong type or value; the message names it.
    """
    out: list[JSON] = []
    params = spec.params
    for i, value in enumerate(values):
        kind = params[i][1] if i < len(params) else spec.variadic
        if kind is ArgType.ANY or value is UNKNOWN:
            out.append(value)
            continue
        assert kind is not None
        try:
            out.append(_coerce(kind, value))
        except ArgumentError as exc:
            name = _param(spec, i)[0]
            raise ArgumentError(f"{spec.name}: the argument '{name}' {exc}") from None
    if spec.validate is not None:
        try:
            spec.validate(out)
        except ArgumentError as exc:
            raise ArgumentError(f"{spec.name}: {exc}") from None
    return out


def _fail(spec_name: str, message: str) -> IntrinsicFailure:
    return IntrinsicFailure(cause=f"{spec_name}: {message}")


# --------------------------------------------------------------------------- States.Format


def java_string(value: JSON) -> str:
    """Render a JSON value as AWS's ``States.Format`` does (Java ``String.valueOf`` of the value)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, list):
        return "[" + ", ".join(java_string(v) for v in value) + "]"
    return "{" + ", ".join(f"{k}={java_string(v)}" for k, v in value.items()) + "}"


def _java_double(value: float) -> str:
    """Java's ``Double.toString``: plain between 10^-3 and 10^7, else ``d.dddE±n``."""
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    ds = list(digits)
    while len(ds) > 1 and ds[-1] == 0:
        ds.pop()
        exponent += 1
    sci = len(ds) - 1 + exponent
    head = str(ds[0])
    tail = "".join(str(d) for d in ds[1:]) or "0"
    return f"{'-' if sign else ''}{head}.{tail}E{sci}"


def split_template(template: str) -> list[str]:
    """Split a run-time ``States.Format`` template at each ``{}``."""
    return template.split(PLACEHOLDER)


def _format(args: list[JSON], scope: Scope) -> JSON:
    pieces = split_template(args[0])
    values = args[1:]
    if len(pieces) - 1 != len(values):
        raise _fail(
            "States.Format",
            f"the template has {len(pieces) - 1} placeholder(s) '{{}}' but {len(values)} value(s) were given",
        )
    return render_format(pieces, values)


def render_format(pieces: Sequence[str], values: Sequence[JSON]) -> str:
    """Interleave template pieces with rendered values (``len(pieces) == len(values) + 1``)."""
    return format_string(pieces).format(*[v if type(v) is str else java_string(v) for v in values])


def format_string(pieces: Sequence[str]) -> str:
    """A ``str.format`` pattern with one ``{}`` between consecutive pieces (braces in pieces doubled)."""
    return "{}".join(piece.replace("{", "{{").replace("}", "}}") for piece in pieces)


# --------------------------------------------------------------------------- JSON


def _string_to_json(args: list[JSON], scope: Scope) -> JSON:
    text: str = args[0]
    if not text.strip():
        return None
    try:
        return loads(text)
    except JSONDecodeError:
        raise _fail("States.StringToJson", f"the argument is not valid JSON: {show_json(text)}") from None


def _json_to_string(args: list[JSON], scope: Scope) -> JSON:
    try:
        return dumps_str(args[0])
    except TypeError:
        raise _fail("States.JsonToString", "the value holds an integer beyond 64 bits") from None


def _json_merge(args: list[JSON], scope: Scope) -> JSON:
    left, right, deep = args
    if deep:
        raise _fail("States.JsonMerge", "deep merge is not supported; the third argument must be false")
    merged = dict(left)
    merged.update(right)
    return merged


def _validate_json_merge(args: Sequence[JSON]) -> None:
    if len(args) == 3 and args[2] is True:
        raise ArgumentError("deep merge is not supported; the third argument must be false")


# --------------------------------------------------------------------------- arrays


def _identity(value: JSON) -> object:
    """A hashable, type-strict key for JSON equality (``1``, ``1.0`` and ``true`` all differ)."""
    if isinstance(value, dict):
        return ("o", frozenset((k, _identity(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("a", tuple(_identity(v) for v in value))
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int):
        return ("i", value)
    if isinstance(value, float):
        return ("f", value)
    if isinstance(value, str):
        return ("s", value)
    return ("n",)


def _array(args: list[JSON], scope: Scope) -> JSON:
    return list(args)


def _array_partition(args: list[JSON], scope: Scope) -> JSON:
    array, size = args
    if size <= 0:
        raise _fail("States.ArrayPartition", f"the chunk size must be greater than 0, but was {size}")
    return [array[i : i + size] for i in range(0, len(array), size)]


def _validate_array_partition(args: Sequence[JSON]) -> None:
    if len(args) == 2 and args[1] is not UNKNOWN and args[1] <= 0:
        raise ArgumentError(f"the chunk size must be greater than 0, but was {args[1]}")


def _array_contains(args: list[JSON], scope: Scope) -> JSON:
    array, value = args
    key = _identity(value)
    return any(_identity(item) == key for item in array)


def _array_range(args: list[JSON], scope: Scope) -> JSON:
    start, end, step = args
    problem = _array_range_problem(start, end, step)
    if problem:
        raise _fail("States.ArrayRange", problem)
    return list(range(start, end + (1 if step > 0 else -1), step))


def _array_range_problem(start: int, end: int, step: int) -> str | None:
    if step == 0:
        return "the step must not be 0"
    count = max(0, (end - start) // step + 1)
    if count > MAX_ARRAY_RANGE_ITEMS:
        return f"the range would have {count} items; at most {MAX_ARRAY_RANGE_ITEMS} are allowed"
    return None


def _validate_array_range(args: Sequence[JSON]) -> None:
    if len(args) == 3:
        start, end, step = args
        if step is not UNKNOWN and step == 0:
            raise ArgumentError("the step must not be 0")
        if UNKNOWN not in (start, end, step):
            problem = _array_range_problem(start, end, step)
            if problem:
                raise ArgumentError(problem)


def _array_get_item(args: list[JSON], scope: Scope) -> JSON:
    array, index = args
    if not 0 <= index < len(array):
        raise _fail(
            "States.ArrayGetItem", f"the index {index} is out of bounds for an array of {len(array)} item(s)"
        )
    return array[index]


def _validate_array_get_item(args: Sequence[JSON]) -> None:
    if len(args) == 2 and args[1] is not UNKNOWN and args[1] < 0:
        raise ArgumentError(f"the index must not be negative, but was {args[1]}")


def _array_length(args: list[JSON], scope: Scope) -> JSON:
    return len(args[0])


def _array_unique(args: list[JSON], scope: Scope) -> JSON:
    seen: set[object] = set()
    out: list[JSON] = []
    for item in args[0]:
        key = _identity(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


# --------------------------------------------------------------------------- encoding and hashing


def _check_length(name: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise _fail(name, f"the input has {len(text)} characters; at most {limit} are allowed")


def _base64_encode(args: list[JSON], scope: Scope) -> JSON:
    text: str = args[0]
    _check_length("States.Base64Encode", text, MAX_ENCODING_INPUT_CHARS)
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


def _base64_decode(args: list[JSON], scope: Scope) -> JSON:
    text: str = args[0]
    _check_length("States.Base64Decode", text, MAX_ENCODING_INPUT_CHARS)
    # Java's basic decoder accepts missing padding; Python's does not.
    padded = text + "=" * (-len(text) % 4) if len(text) % 4 != 1 else text
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise _fail("States.Base64Decode", f"the argument is not valid base64: {show_json(text)}") from None
    return raw.decode("utf-8", "replace")


def _hash(args: list[JSON], scope: Scope) -> JSON:
    data, algorithm = args
    _check_length("States.Hash", data, MAX_HASH_INPUT_CHARS)
    name = HASH_ALGORITHMS.get(algorithm)
    if name is None:
        raise _fail("States.Hash", _unknown_algorithm(algorithm))
    return hashlib.new(name, data.encode("utf-8", "surrogatepass")).hexdigest()


def _unknown_algorithm(algorithm: str) -> str:
    return f"unknown hash algorithm {algorithm!r}; use one of {', '.join(HASH_ALGORITHMS)}"


def _validate_hash(args: Sequence[JSON]) -> None:
    if len(args) == 2 and args[1] is not UNKNOWN and args[1] not in HASH_ALGORITHMS:
        raise ArgumentError(_unknown_algorithm(args[1]))


# --------------------------------------------------------------------------- math, strings, ids


def _math_random(args: list[JSON], scope: Scope) -> JSON:
    start, end = args[0], args[1]
    if start >= end:
        raise _fail("States.MathRandom", f"the start ({start}) must be less than the end ({end})")
    rng = random.Random(args[2]) if len(args) == 3 else scope.rng
    # AWS: start is inclusive, end exclusive.
    return rng.randrange(start, end)


def _validate_math_random(args: Sequence[JSON]) -> None:
    if len(args) >= 2 and UNKNOWN not in (args[0], args[1]) and args[0] >= args[1]:
        raise ArgumentError(f"the start ({args[0]}) must be less than the end ({args[1]})")


def _math_add(args: list[JSON], scope: Scope) -> JSON:
    return args[0] + args[1]


def _string_split(args: list[JSON], scope: Scope) -> JSON:
    text, delimiters = args
    if not delimiters:
        return [text] if text else []
    tokens: list[str] = []
    current: list[str] = []
    delims = set(delimiters)
    for ch in text:
        if ch in delims:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        tokens.append("".join(current))
    return tokens


def _uuid(args: list[JSON], scope: Scope) -> JSON:
    return str(uuid.UUID(int=scope.rng.getrandbits(128), version=4))


# --------------------------------------------------------------------------- the table

_S = ArgType.STRING
_I = ArgType.INTEGER
_A = ArgType.ARRAY
_O = ArgType.OBJECT
_ANY = ArgType.ANY


def _spec(
    name: str,
    params: tuple[tuple[str, ArgType], ...],
    impl: Impl,
    *,
    required: int | None = None,
    variadic: ArgType | None = None,
    validate: Validate | None = None,
) -> FunctionSpec:
    return FunctionSpec(
        name=f"States.{name}",
        params=params,
        required=len(params) if required is None else required,
        variadic=variadic,
        impl=impl,
        validate=validate,
    )


FUNCTIONS: Final[dict[str, FunctionSpec]] = {
    spec.name: spec
    for spec in (
        _spec("Format", (("template", _S),), _format, variadic=_ANY),
        _spec("StringToJson", (("string", _S),), _string_to_json),
        _spec("JsonToString", (("value", _ANY),), _json_to_string),
        _spec("Array", (), _array, variadic=_ANY),
        _spec(
            "ArrayPartition",
            (("array", _A), ("chunkSize", _I)),
            _array_partition,
            validate=_validate_array_partition,
        ),
        _spec("ArrayContains", (("array", _A), ("value", _ANY)), _array_contains),
        _spec(
            "ArrayRange",
            (("start", _I), ("end", _I), ("step", _I)),
            _array_range,
            validate=_validate_array_range,
        ),
        _spec(
            "ArrayGetItem", (("array", _A), ("index", _I)), _array_get_item, validate=_validate_array_get_item
        ),
        _spec("ArrayLength", (("array", _A),), _array_length),
        _spec("ArrayUnique", (("array", _A),), _array_unique),
        _spec("Base64Encode", (("data", _S),), _base64_encode),
        _spec("Base64Decode", (("data", _S),), _base64_decode),
        _spec("Hash", (("data", _S), ("algorithm", _S)), _hash, validate=_validate_hash),
        _spec(
            "JsonMerge",
            (("json1", _O), ("json2", _O), ("deep", ArgType.BOOLEAN)),
            _json_merge,
            validate=_validate_json_merge,
        ),
        _spec(
            "MathRandom",
            (("start", _I), ("end", _I), ("seed", _I)),
            _math_random,
            required=2,
            validate=_validate_math_random,
        ),
        _spec("MathAdd", (("value1", _I), ("value2", _I)), _math_add),
        _spec("StringSplit", (("string", _S), ("delimiter", _S)), _string_split),
        _spec("UUID", (), _uuid),
    )
}
"""Every intrinsic function by full name."""
