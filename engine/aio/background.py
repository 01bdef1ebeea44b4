"""``BackgroundTasks``: a task group for long-lived tasks of an object that outlives its first user.

Shared watches and pollers serve many executions and belong to none of them,
so they cannot live in an execution's task group. They run here, in one task
group owned by the object that holds this one (the EKS services, say), started
on first use and closed by ``aclose``.

The group is hosted in one task of its own: anyio requires a task group to be
left by the task that entered it, and the owner outlives whichever execution
happens to use it first. That host task is the one task here not started from
a task group; ``aclose`` ends it.

Every task started here is guarded: an exception is logged, never propagated
to its siblings (a crashed watch must not cancel the others).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import anyio
import anyio.abc

log = logging.getLogger(__name__)


class BackgroundTasks:
    """A task group for an owner's long-lived tasks, started on first use.

    Args:
        name: the host task's name (shows in task dumps).
        owner: what the tasks belong to, for the error once it is closed.
    """

    def __init__(self, name: str = "statewright-background", owner: str = "the owner") -> None:
        self._name = name
        self._owner = owner
        self._group: anyio.abc.TaskGroup | None = None
        self._host: asyncio.Task[None] | None = None
        self._ready: anyio.Event | None = None
        self._stop: anyio.Event | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"BackgroundTasks(running={self._group is not None})"

    async def start_soon(self, func: Callable[[], Awaitable[None]], name: str) -> None:
        """Run ``func()`` in the group (started first if needed).

        Raises:
            RuntimeError: the tasks' owner is closed.
        """
        if self._closed:
            raise RuntimeError(f"{self._owner} are closed")
        if self._group is None:
            if self._ready is None:
                self._ready, self._stop = anyio.Event(), anyio.Event()
                self._host = asyncio.get_running_loop().create_task(self._run(), name=self._name)
            await self._ready.wait()
        if self._group is None:
            raise RuntimeError(f"{self._owner} are closed")
        self._group.start_soon(_guarded, func, name, name=name)

    async def _run(self) -> None:
        assert self._ready is not None and self._stop is not None
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                self._ready.set()
                await self._stop.wait()
                group.cancel_scope.cancel()
        finally:
            self._group = None
            self._ready.set()

    async def aclose(self) -> None:
        """Cancel every task and wait for them to end."""
        self._closed = True
        host, self._host = self._host, None
        if host is None:
            return
        assert self._stop is not None
        self._stop.set()
        await host


async def _guarded(func: Callable[[], Awaitable[None]], name: str) -> None:
    try:
        await func()
    except anyio.get_cancelled_exc_class():
        raise
    except Exception:
        log.exception("background task %s crashed", name)


__all__ = ["BackgroundTasks"]
