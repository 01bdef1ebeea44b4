"""``RequestSlots``: a FIFO semaphore whose many waiters each keep only a future, or nothing running.

A bound on requests in flight to one server, for callers that may queue by the
thousand (every waiting execution polls through it, a burst of starts creates
through it): ``asyncio.Semaphore``'s ``acquire`` is a coroutine, so each queued
caller would keep a frame as well as its future. Here a waiter awaits the bare
future ``enqueue`` returns, and a released slot is handed straight to the
oldest waiter still waiting.

A waiter may also be a parked execution (``park``): it keeps no task at all,
only its place in the line. The slot handed to it is held for it until its
Task runs again and takes it (``claim``); if it no longer waits there (its
wake says so), the slot goes to the next in line.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable, Hashable
from typing import Final

_QUEUED: Final = 0
_HANDED: Final = 1


class _ParkedWaiter:
    """A parked execution's place in the line: its key, the engine's wake, and whether it holds a slot."""

    __slots__ = ("key", "slots", "state", "wake")

    def __init__(self, slots: RequestSlots, key: Hashable) -> None:
        self.slots = slots
        self.key = key
        self.state = _QUEUED
        self.wake: Callable[[], bool] | None = None

    def listen(self, wake: Callable[[], bool]) -> None:
        """The engine's ``Listen``: woken once a slot is handed over (at once if it was already)."""
        if self.state == _HANDED:
            self.slots._wake_handed(self, wake)
        else:
            self.wake = wake


class RequestSlots:
    """A FIFO semaphore for requests to one API server, cheap for its many waiters.

    ``asyncio.Semaphore.acquire`` is a coroutine: every queued request would keep
    its frame as well as its future. Here a waiter keeps only the future it
    awaits, or, parked (``park``), no task at all; a released slot is handed
    straight to the oldest waiter.

    Args:
        size: how many requests may be in flight at once.
    """

    __slots__ = ("_free", "_parked", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: collections.deque[asyncio.Future[None] | _ParkedWaiter] = collections.deque()
        # Parked waiters by key, queued or handed a slot they have not claimed yet.
        self._parked: dict[Hashable, _ParkedWaiter] = {}

    def __repr__(self) -> str:
        return f"RequestSlots(free={self._free}, waiting={len(self._waiters)}, parked={len(self._parked)})"

    @property
    def free(self) -> int:
        """Slots nobody holds (nor is handed)."""
        return self._free

    @property
    def waiting(self) -> int:
        """Waiters in line, parked ones included."""
        return len(self._waiters)

    def try_acquire(self) -> bool:
        """Take a slot if one is free (and nobody queues before us)."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    def enqueue(self) -> asyncio.Future[None]:
        """Join the queue; the future completes when a slot is handed over (then it is held)."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    def park(self, key: Hashable) -> Callable[[Callable[[], bool]], None] | None:
        """Join the queue as a parked execution named by ``key``; its ``Listen`` for ``ExecutorContext.park``.

        Once a slot is handed over the wake is called, and the slot is kept for
        ``key`` until ``claim(key)`` takes it. None when ``key`` waits here
        already (the caller then waits with ``enqueue`` or ``acquire``).
        """
        if key in self._parked:
            return None
        waiter = self._parked[key] = _ParkedWaiter(self, key)
        self._waiters.append(waiter)
        return waiter.listen

    def claim(self, key: Hashable) -> bool:
        """Take the slot handed to the parked ``key`` (True: it is held now, release it after).

        False when none was: ``key`` is not parked here, or still waits in line (it
        was woken by something else, a stop): it leaves the line then.
        """
        waiter = self._parked.pop(key, None)
        if waiter is None:
            return False
        if waiter.state == _HANDED:
            return True
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)
        return False

    def abandon(self, waiter: asyncio.Future[None]) -> None:
        """A queued waiter gave up (it was cancelled): leave the queue, or pass on a slot it was handed."""
        if waiter.done() and not waiter.cancelled():
            self.release()
            return
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def release(self) -> None:
        """Give a slot back: to the oldest waiter still waiting, else to the pool."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if isinstance(waiter, _ParkedWaiter):
                waiter.state = _HANDED
                wake = waiter.wake
                # Not listening yet (it is parking now): its listen wakes it.
                if wake is None or self._woken(waiter, wake):
                    return
                continue
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def _woken(self, waiter: _ParkedWaiter, wake: Callable[[], bool]) -> bool:
        """Wake a parked waiter handed a slot; False (the slot not taken) when it no longer waits."""
        waiter.wake = None
        if wake():
            return True
        if self._parked.get(waiter.key) is waiter:
            del self._parked[waiter.key]
        return False

    def _wake_handed(self, waiter: _ParkedWaiter, wake: Callable[[], bool]) -> None:
        if not self._woken(waiter, wake):
            self.release()

    async def acquire(self) -> None:
        """Take a slot, waiting in line when none is free."""
        if self.try_acquire():
            return
        waiter = self.enqueue()
        try:
            await waiter
        except BaseException:
            self.abandon(waiter)
            raise


__all__ = ["RequestSlots"]
