"""``statewright worker`` that SIGKILLs itself just before its Nth commit (for the crash tests).

    python -m tests.e2e.crash_worker N worker --store URL ...

The real worker runs in this real process; the only addition is the kill,
placed at a commit boundary so a chain of such workers crashes at every
transition of an execution in turn: each commits ``N - 1`` batches, then
dies with the next batch's work done in memory but not committed (the
worst moment: a Task's result or a created Job's handle not yet saved).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from engine.store.sqlite import SQLiteStore
from statewright.cli import main


def install(kill_before: int) -> None:
    """Make the ``kill_before``-th group commit of this process never happen (SIGKILL instead)."""
    original = SQLiteStore._write_batch
    count = 0

    async def write_batch(self: SQLiteStore, writes: Sequence[Any]) -> set[str]:
        nonlocal count
        count += 1
        if count >= kill_before:
            os.kill(os.getpid(), signal.SIGKILL)
        return await original(self, writes)

    SQLiteStore._write_batch = write_batch  # type: ignore[method-assign]


if __name__ == "__main__":
    install(int(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))
