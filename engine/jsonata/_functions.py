"""The functions Step Functions adds to JSONata, and the ones it changes.

AWS documents six extra functions (``$partition``, ``$range``, ``$hash``,
``$random`` with an optional seed, ``$uuid``, ``$parse``) and one removal
(``$eval``). Besides those, everything that reads the clock or a random source
(``$now``, ``$millis``, unseeded ``$random``, ``$uuid``, ``$shuffle``) is
rebound here to the execution's injected RNG and to one timestamp per
evaluation, so a replayed execution computes the same values.

The library calls registered functions with plain positional arguments, so
the per-evaluation RNG and timestamp cannot travel as arguments; they sit in
a thread-local :class:`EvaluationContext` that the evaluator sets around each
call (evaluation is synchronous, so nothing else runs on the thread meanwhile).
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from jsonata.functions import Functions
from jsonata.jsonata import Jsonata
from jsonata.utils import Utils

from engine.jsonvalue import JSONDecodeError, loads

from ._aggregates import BOUNDED, BoundedBuiltin, bound_higher_order_calls
from ._values import NULL_VALUE

HASH_ALGORITHMS: Final[dict[str, str]] = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}
"""The algorithm names ``$hash`` accepts, mapped to :mod:`hashlib` names."""

# java.util.Random's linear congruential generator: AWS's seeded $random(42)
# answers 0.7275636800328681, which is Java's new Random(42).nextDouble().
_JAVA_MULTIPLIER: Final = 0x5DEECE66D
_JAVA_ADDEND: Final = 0xB
_JAVA_MASK: Final = (1 << 48) - 1
_DOUBLE_UNIT: Final = 1.0 / (1 << 53)


class FunctionError(ValueError):
    """A Step Functions JSONata function refused its arguments."""


@dataclass(slots=True)
class EvaluationContext:
    """What the clock- and RNG-dependent functions read during one evaluation."""

    rng: random.Random
    now_millis: int


class _Current(threading.local):
    def __init__(self) -> None:
        self.stack: list[EvaluationContext] = []


_CURRENT: Final = _Current()


def push_context(context: EvaluationContext) -> None:
    """Make ``context`` the one the functions read until :func:`pop_context`."""
    _CURRENT.stack.append(context)


def pop_context() -> None:
    """Undo the matching :func:`push_context`."""
    _CURRENT.stack.pop()


def _context(name: str) -> EvaluationContext:
    stack = _CURRENT.stack
    if not stack:
        raise FunctionError(f"${name} was called outside an evaluation")
    return stack[-1]


def java_random_double(seed: int) -> float:
    """Return ``new java.util.Random(seed).nextDouble()``."""
    state = (seed ^ _JAVA_MULTIPLIER) & _JAVA_MASK

    def next_bits(bits: int) -> int:
        nonlocal state
        state = (state * _JAVA_MULTIPLIER + _JAVA_ADDEND) & _JAVA_MASK
        return state >> (48 - bits)

    high = next_bits(26)
    low = next_bits(27)
    return ((high << 27) + low) * _DOUBLE_UNIT


def _integer_argument(function: str, position: int, value: object) -> int:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise FunctionError(f"Argument {position} of function ${function} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise FunctionError(f"Argument {position} of function ${function} must be a finite number")
    # AWS rounds non-integer arguments of its integer parameters down.
    return math.floor(number)


def _as_array(value: object) -> list[Any] | None:
    if isinstance(value, list):
        return list(value)
    return None


def sfn_partition(array: object = None, size: object = None) -> object:
    """``$partition(array, size)``: split an array into chunks of ``size`` items."""
    if array is None:
        return None
    items = _as_array(array)
    if items is None:
        raise FunctionError("Argument 1 of function $partition must be an array")
    chunk = _integer_argument("partition", 2, size)
    if chunk <= 0:
        raise FunctionError("Argument 2 of function $partition must be a positive integer")
    chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    return Utils.JList(chunks)


MAX_SEQUENCE: Final = 10_000_000
"""The most items ``$range`` makes: the library's own cap on the ``..`` operator (1e7)."""


def sfn_range(start: object = None, end: object = None, step: object = None) -> object:
    """``$range(start, end, step)``: numbers from ``start`` to ``end`` inclusive.

    The result is a JSONata sequence, as AWS's is: one number comes back as
    that number, not as a one-item array (conformance case
    ``array_range#exec_hist_resp_2``: ``$range(1, 9, 9)`` is ``1``).
    """
    first = _integer_argument("range", 1, start)
    last = _integer_argument("range", 2, end)
    delta = _integer_argument("range", 3, step)
    if delta == 0:
        raise FunctionError("Argument 3 of function $range must not be zero")
    stop = last + 1 if delta > 0 else last - 1
    numbers = range(first, stop, delta)
    if len(numbers) > MAX_SEQUENCE:
        raise FunctionError(
            f"The size of the sequence allocated by $range must not exceed 1e7 (it would be {len(numbers)})"
        )
    return Utils.create_sequence_from_iter(numbers)


def sfn_hash(value: object = None, algorithm: object = None) -> object:
    """``$hash(value, algorithm)``: the hex digest of a string."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FunctionError("Argument 1 of function $hash must be a string")
    if not isinstance(algorithm, str) or algorithm not in HASH_ALGORITHMS:
        names = ", ".join(HASH_ALGORITHMS)
        raise FunctionError(f"Argument 2 of function $hash must be one of: {names}")
    return hashlib.new(HASH_ALGORITHMS[algorithm], value.encode("utf-8")).hexdigest()


def sfn_random(seed: object = None) -> object:
    """``$random()`` from the execution's RNG, or ``$random(seed)`` reproducibly."""
    if seed is None:
        return _context("random").rng.random()
    return java_random_double(_integer_argument("random", 1, seed))


def sfn_uuid() -> object:
    """``$uuid()``: a version 4 UUID drawn from the execution's RNG."""
    bits = _context("uuid").rng.getrandbits(128)
    return str(uuid.UUID(int=bits, version=4))


def sfn_parse(text: object = None) -> object:
    """``$parse(json)``: the JSON value a string holds."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise FunctionError("Argument 1 of function $parse must be a string")
    try:
        value = loads(text)
    except JSONDecodeError as exc:
        raise FunctionError(f"Argument 1 of function $parse is not valid JSON: {exc}") from exc
    return NULL_VALUE if value is None else value


def sfn_shuffle(array: object = None) -> object:
    """``$shuffle(array)`` using the execution's RNG instead of the process-wide one."""
    if array is None:
        return None
    items = _as_array(array)
    if items is None:
        return array
    _context("shuffle").rng.shuffle(items)
    return Utils.JList(items)


def sfn_millis() -> object:
    """``$millis()``: the evaluation's timestamp, constant within one evaluation."""
    return _context("millis").now_millis


def sfn_now(picture: object = None, timezone: object = None) -> object:
    """``$now([picture [, timezone]])``: the evaluation's timestamp as text."""
    millis = _context("now").now_millis
    return Functions.datetime_from_millis(millis, picture, timezone)


REGISTERED: Final[dict[str, Callable[..., object]]] = {
    "partition": sfn_partition,
    "range": sfn_range,
    "hash": sfn_hash,
    "random": sfn_random,
    "uuid": sfn_uuid,
    "parse": sfn_parse,
    "shuffle": sfn_shuffle,
    "millis": sfn_millis,
    "now": sfn_now,
}
"""Every function bound on top of the library's built-ins, by name without ``$``."""

REMOVED: Final[frozenset[str]] = frozenset({"eval"})
"""Built-ins AWS does not offer: calling one fails with T1006 (not a function)."""


#: The library looks these up for every node it evaluates (evaluation hooks);
#: binding them to ``None`` close to the expression ends each lookup at once
#: instead of walking every frame up to the built-ins.
HOOK_NAMES: Final = ("__evaluate_entry", "__evaluate_exit")


def build_frame() -> Any:
    """Return the library frame holding the built-ins and the Step Functions dialect.

    One flat frame (a copy of the library's built-ins, with the dialect bound
    over them) keeps the chain of frames a lookup walks short. Removed names
    are bound to ``None``, which the library's frame lookup returns as "not a
    function".
    """
    bound_higher_order_calls()
    frame = Jsonata.Frame(None)
    frame.bindings = dict(Jsonata.static_frame.bindings)
    for name in BOUNDED:
        frame.bind(name, BoundedBuiltin(name, Jsonata.static_frame.bindings[name]))
    for name, implementation in REGISTERED.items():
        frame.bind(name, Jsonata.JLambda(implementation))
    for name in (*REMOVED, *HOOK_NAMES):
        frame.bind(name, None)
    return frame


def builtin_names() -> frozenset[str]:
    """Every function name an expression may call without defining it."""
    static: Sequence[str] = list(Jsonata.static_frame.bindings)
    return (frozenset(static) | frozenset(REGISTERED)) - REMOVED
