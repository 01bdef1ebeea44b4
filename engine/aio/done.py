"""``Done``: a set-once event, lighter than ``asyncio.Event``.

An execution's handle holds one, set when the execution ends. Most
executions are never awaited one by one, so the list of waiters (the cost of
an ``asyncio.Event``, whose waiter deque takes about 700 bytes) is made only
when someone waits.
"""

from __future__ import annotations

import asyncio


class Done:
    """Set once; ``wait`` returns at once after that, and every waiter is woken when it is set."""

    __slots__ = ("_waiters", "is_set")

    def __init__(self) -> None:
        self.is_set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def set(self) -> None:
        """Mark it done and wake every waiter (again: no effect)."""
        self.is_set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Return once it is set (at once if it already is)."""
        if self.is_set:
            return
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
