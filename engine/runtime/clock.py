"""Time for the engine, injected.

Engine code never calls ``time`` or ``datetime.now``: it asks a ``Clock``. The
system clock reads the event loop's monotonic time and the wall clock; tests
use ``LoopClock``, whose wall time is derived from loop time, so a
fast-forwarded loop (looptime) moves both together and Wait, Retry and
timeouts run in virtual time.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import anyio
import anyio.lowlevel


@runtime_checkable
class Clock(Protocol):
    """Where the engine gets time from."""

    def now(self) -> datetime:
        """Current wall-clock time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds, comparable with deadlines."""
        ...

    def timestamp(self) -> float:
        """Current wall-clock time as POSIX seconds (cheaper than ``now()``; history uses it)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` (a cancel point)."""
        ...


def _loop_time() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


class SystemClock:
    """Real time: the wall clock and the running loop's monotonic clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return _loop_time()

    async def sleep(self, seconds: float) -> None:
        # The engine runs on asyncio (its tasks are the loop's): asyncio.sleep directly
        # skips anyio's backend lookup on a path every poll takes.
        await asyncio.sleep(max(0.0, seconds))


class LoopClock(SystemClock):
    """Wall time that follows loop time from a fixed origin (for virtual-time tests).

    Args:
        origin: the wall time that loop time ``0.0`` stands for... more precisely,
            the wall time at the first reading; later readings add elapsed loop time.
    """

    def __init__(self, origin: datetime | None = None) -> None:
        self._origin = origin or datetime(2026, 1, 1, tzinfo=UTC)
        self._loop_origin: float | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        t = _loop_time()
        if self._loop_origin is None:
            self._loop_origin = t
        return self._origin.timestamp() + (t - self._loop_origin)


class ImmediateClock(LoopClock):
    """Virtual time that jumps: every sleep returns at once and advances the clock.

    For tests of single executions where only the order of events matters, not
    the interleaving of concurrent sleeps (use looptime for those).
    """

    def __init__(self, origin: datetime | None = None) -> None:
        super().__init__(origin)
        self._offset = 0.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        return self._origin.timestamp() + self._offset

    def monotonic(self) -> float:
        return _loop_time() + self._offset

    async def sleep(self, seconds: float) -> None:
        self._offset += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()
