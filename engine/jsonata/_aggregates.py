"""Built-ins whose argument check would hold the thread past the time limit.

The library checks ``$sum``, ``$max``, ``$min``, ``$average`` and ``$join``
arguments against their signature (``a<n>``, ``a<s>``) item by item in one
uninterruptible pass, some microseconds an item: ``$sum([1..10000000])``
held the event loop 10-40 s although the limit is 500 ms. Bound here, these
check big arrays themselves, looking at the clock every few thousand items,
and fail with D1012 at the limit; anything else (small arrays, other argument
shapes) goes to the library's own check, so results and errors are the library's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from jsonata.functions import Functions
from jsonata.jexception import JException
from jsonata.jsonata import Jsonata

from . import _budget

#: Arrays shorter than this are checked by the library (a millisecond at most).
DIRECT_CHECK_ITEMS: Final = 4096
#: Items checked between two looks at the clock (a few milliseconds' work).
CHECK_EVERY: Final = 4096

#: Built-in name to the item type its array argument must hold (its signature's subtype).
BOUNDED: Final[dict[str, str]] = {"sum": "n", "max": "n", "min": "n", "average": "n", "join": "s"}


def _plain_type(item: object) -> type | None:
    return type(item) if type(item) in (int, float, str) else None


class BoundedBuiltin(Jsonata.JLambda):  # type: ignore[misc]
    """The library's built-in ``name``, its array argument checked under the time limit."""

    def __init__(self, name: str, native: Any) -> None:
        super().__init__(None)
        self._name = name
        self._native = native
        self._subtype = BOUNDED[name]
        self._symbol = native.signature.get_symbol

    def _checked(self, array: list[Any]) -> bool:
        """Whether every item has the subtype, as the library decides it, under the time limit."""
        symbol = self._symbol
        if symbol(array[0]) != self._subtype:
            return False
        # An item of a plain JSON type has the first item's symbol exactly when it has its type.
        first = _plain_type(array[0])
        for start in range(0, len(array), CHECK_EVERY):
            for item in array[start : start + CHECK_EVERY]:
                if type(item) is not first and symbol(item) != self._subtype:
                    return False
            left = _budget.seconds_left()
            if left is not None and left <= 0:
                raise JException("D1012", -1, _budget.current_limit_ms())
        return True

    def validate(self, args: Any, context: Any) -> Any:
        if not isinstance(args, list) or not args or not isinstance(args[0], list):
            return self._native.validate(args, context)
        array = args[0]
        rest: Sequence[Any] = args[1:]
        fits = len(rest) == 0 or (self._name == "join" and len(rest) == 1 and isinstance(rest[0], str))
        if len(array) < DIRECT_CHECK_ITEMS or not fits:
            return self._native.validate(args, context)
        if not self._checked(array):
            raise JException("T0412", -1, 1, self._name, self._subtype)
        # What the library's check returns: one value per parameter, None for a missing optional.
        return [array, rest[0] if rest else None] if self._name == "join" else [array]

    def call(self, input: Any, args: Any) -> Any:
        return self._native.call(input, args)


_library_func_apply: Final = Functions.func_apply


def _bounded_func_apply(func: Any, func_args: Sequence[Any] | None) -> Any:
    """The library's call helper of ``$map``, ``$filter``, ``$each``, ``$reduce``, ``$sift``, ``$single``.

    A lambda they call evaluates expression nodes, where the library's time box looks at the clock;
    a built-in (``$map([1..2000000], $string)``) evaluates none, so nothing stopped such a map before
    its end (23 s of a held loop). One clock read per call (well under the call's own cost).
    """
    left = _budget.seconds_left()
    if left is not None and left <= 0:
        raise JException("D1012", -1, _budget.current_limit_ms())
    return _library_func_apply(func, func_args)


def bound_higher_order_calls() -> None:
    """Route every higher-order built-in's per-item call through the time limit (idempotent).

    The library's higher-order functions look ``Functions.func_apply`` up at each call, so
    replacing it there is the one place that covers them all.
    """
    Functions.func_apply = staticmethod(_bounded_func_apply)
