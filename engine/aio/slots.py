"""``RequestSlots``: a FIFO semaphore whose many waiters each keep only a future.

A bound on requests in flight to one server, for callers that may queue by the
thousand (every waiting execution polls through it): ``asyncio.Semaphore``'s
``acquire`` is a coroutine, so each queued caller would keep a frame as well as
its future. Here a waiter awaits the bare future ``enqueue`` returns, and a
released slot is handed straight to the oldest waiter still waiting.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib


class RequestSlots:
    """A FIFO semaphore for requests to one API server, cheap for its many waiters.

    ``asyncio.Semaphore.acquire`` is a coroutine: every queued request would keep
    its frame as well as its future. Here a waiter keeps only the future it
    awaits, and a released slot is handed straight to the oldest waiter.

    Args:
        size: how many requests may be in flight at once.
    """

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def __repr__(self) -> str:
        return f"RequestSlots(free={self._free}, waiting={len(self._waiters)})"

    @property
    def free(self) -> int:
        """Slots nobody holds."""
        return self._free

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
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

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
