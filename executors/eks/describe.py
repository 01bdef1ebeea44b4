"""Describe coalescing: control-plane waiters on one resource share their Describe calls.

N executions waiting on one cluster (or node group, or Fargate profile) would
cost N DescribeCluster calls per interval; ``DescribeCoalescer`` makes it one.
A waiter shares an in-flight Describe and reuses an answer younger than its
policy allows (``polling.describe_max_age``).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Hashable
from typing import Final, Generic, TypeVar

import anyio

from engine.errors import StatesError
from engine.runtime.clock import SystemClock

T = TypeVar("T")

_LOOP_CLOCK: Final = SystemClock()

class _Call(Generic[T]):
    __slots__ = ("done", "error", "started", "value")

    def __init__(self, started: float) -> None:
        self.done = anyio.Event()
        self.started = started
        self.value: _Answer[T] | None = None
        self.error: BaseException | None = None


class _Answer(Generic[T]):
    """One answer, boxed: ``T`` itself may be None."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


class _Shared(Generic[T]):
    __slots__ = ("answer", "fetched_at", "inflight")

    def __init__(self) -> None:
        self.inflight: _Call[T] | None = None
        self.answer: _Answer[T] | None = None
        self.fetched_at: float | None = None


class DescribeCoalescer(Generic[T]):
    """Shares Describe calls between waiters on the same resource.

    A waiter asks for a resource's state with the oldest answer it accepts:
    an answer whose call started no longer ago than ``max_age``, and not
    before ``since`` (the waiter's own start, so an answer from before a
    create or delete never ends the wait that follows it), is reused; a call
    in flight that started since then is joined (its answer or error shared);
    otherwise this waiter makes the call. A call whose caller is cancelled is
    made again by a waiter that joined it. Times are the waiters' clock
    (``ExecutorContext.clock.monotonic``), so virtual time applies.
    """

    SWEEP_AT: Final = 4096
    KEEP_SECONDS: Final = 900.0

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Shared[T]] = {}
        self.calls = 0

    def __repr__(self) -> str:
        return f"DescribeCoalescer(resources={len(self._entries)}, calls={self.calls})"

    async def describe(
        self,
        key: Hashable,
        fetch: Callable[[], Awaitable[T]],
        max_age: float,
        *,
        now: Callable[[], float] | None = None,
        since: float = -math.inf,
    ) -> T:
        """The resource's state, from a shared call.

        Args:
            key: names the resource and the call (operation, identity, format).
            fetch: makes the call.
            max_age: the oldest answer (seconds since its call started) this waiter accepts.
            now: the waiter's monotonic clock (``ctx.clock.monotonic``; the loop's by default).
            since: answers from calls started before this time are never used.

        Raises:
            StatesError: the call's error (shared with the waiters that joined it).
        """
        if now is None:
            now = _LOOP_CLOCK.monotonic
        while True:
            entry = self._entries.get(key)
            if entry is None:
                if len(self._entries) >= self.SWEEP_AT:
                    self._sweep(now())
                entry = self._entries[key] = _Shared[T]()
            moment = now()
            fetched, answer = entry.fetched_at, entry.answer
            if answer is not None and fetched is not None and fetched >= since and moment - fetched <= max_age:
                return answer.value
            call = entry.inflight
            if call is not None and call.started >= since:
                await call.done.wait()
                if call.value is not None:
                    return call.value.value
                if call.error is not None:
                    raise _copy_error(call.error)
                continue
            call = _Call[T](moment)
            if entry.inflight is None:
                entry.inflight = call
            self.calls += 1
            try:
                value = await fetch()
            except anyio.get_cancelled_exc_class():
                raise
            except BaseException as exc:
                call.error = exc
                raise
            else:
                call.value = _Answer(value)
                if entry.fetched_at is None or moment >= entry.fetched_at:
                    entry.answer, entry.fetched_at = call.value, moment
                return value
            finally:
                if entry.inflight is call:
                    entry.inflight = None
                call.done.set()

    def _sweep(self, now: float) -> None:
        stale = [
            key
            for key, entry in self._entries.items()
            if entry.inflight is None and (entry.fetched_at is None or now - entry.fetched_at > self.KEEP_SECONDS)
        ]
        for key in stale:
            del self._entries[key]


def _copy_error(exc: BaseException) -> BaseException:
    if isinstance(exc, StatesError):
        copied = type(exc)(exc.error, exc.cause)
        copied.__cause__ = exc
        return copied
    return exc


__all__ = [
    "DescribeCoalescer",
]
