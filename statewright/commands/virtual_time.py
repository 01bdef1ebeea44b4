"""``--virtual-time``: run on an event loop whose clock jumps over idle waits.

The loop is looptime's (a fast-forwarding asyncio loop): whenever every task
is waiting on a timer, loop time jumps to the next one, so Wait states, Retry
back-off, TimeoutSeconds and HeartbeatSeconds take no real time. The
engine's ``LoopClock`` derives wall time from loop time, starting at the real
time the run starts, so history timestamps are those a real run would have
recorded. Real I/O still takes real time; a timer due while a request is in
flight may fire early, so virtual time is for mocked and local executors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from engine import LoopClock

T = TypeVar("T")


def virtual_clock() -> LoopClock:
    """The engine clock for a virtual-time run: wall time starts now and follows loop time."""
    return LoopClock(datetime.now(UTC))


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fast-forwarding event loop."""
    import looptime

    def loop_factory() -> asyncio.AbstractEventLoop:
        return looptime.new_event_loop(_enabled=True)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coro)
