"""How ``statewright run`` answers SIGINT, SIGTERM and SIGHUP: all three alike.

A user's Ctrl-C, a service manager's SIGTERM and a closed terminal's SIGHUP
all mean "stop now", and none may leave a Job running or lose the record of
what happened. While the execution runs, each of them stops it as
StopExecution does: the running Task's cleanup runs (a runJob.sync deletes its
Job, shielded and time-limited), the execution ends ``ABORTED``, the command
writes the history file and prints the result as usual, and then exits with
``128 + the signal's number`` (130, 143, 129), as shells report a process a
signal ended. A second signal while the cleanup runs changes nothing: the
cleanup is already bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import Final, Protocol

STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SIGNAL_EXIT_BASE: Final = 128
STOP_CAUSE: Final = "statewright run received {name}"


class Stoppable(Protocol):
    """What is stopped: an execution handle (``Engine.start``'s)."""

    def stop(self, error: str | None = None, cause: str | None = None) -> None: ...


class Caught:
    """The first stop signal received, if any."""

    def __init__(self) -> None:
        self.signal: signal.Signals | None = None

    @property
    def exit_code(self) -> int | None:
        """``128 + signal number`` once a signal arrived, else None."""
        return SIGNAL_EXIT_BASE + int(self.signal) if self.signal is not None else None


@contextlib.contextmanager
def stop_on_signals(execution: Stoppable) -> Iterator[Caught]:
    """While inside, SIGINT, SIGTERM and SIGHUP stop ``execution`` (see the module docstring).

    Outside (and where the loop cannot take signal handlers) the default handling stays.
    """
    caught = Caught()
    loop = asyncio.get_running_loop()

    def stop(signum: signal.Signals) -> None:
        if caught.signal is not None:
            return
        caught.signal = signum
        execution.stop(None, STOP_CAUSE.format(name=signum.name))

    installed: list[signal.Signals] = []
    for signum in STOP_SIGNALS:
        try:
            loop.add_signal_handler(signum, stop, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no such signal
            continue
        installed.append(signum)
    try:
        yield caught
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


__all__ = ["STOP_SIGNALS", "Caught", "stop_on_signals"]
