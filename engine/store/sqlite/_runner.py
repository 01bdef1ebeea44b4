"""One runner per SQLite file: the engine that runs a file's executions holds a lock.

SQLite has no leases (the PostgreSQL store fences every write with one), so
two engines running executions on one file would each run every execution.
The engine that runs executions holds an exclusive ``flock`` on ``PATH.runner``
beside the database, with its pid written in it. The kernel releases the lock
when the process ends, SIGKILL included, so a restarted worker takes over at
once; a second engine stands by until the lock frees, saying once (a warning
on the ``engine.store.sqlite`` logger, which reaches stderr) which pid holds
it. Commands that only record or read (``start``, ``describe``, ``history``,
``list``, ``stop``) never take it. A lock file of its own, and ``flock``
rather than ``fcntl``'s record locks: SQLite itself takes record locks on the
database, and those belong to the process (closing any descriptor of the file
drops them all).
"""

from __future__ import annotations

import fcntl
import logging
import os
from typing import Final

import anyio
import anyio.to_thread

from engine.store.base import StoreError

log = logging.getLogger("engine.store.sqlite")

POLL_SECONDS: Final = 0.5
"""How often a standing-by engine tries the lock again."""


class RunnerLock:
    """The lock the engine that runs a SQLite file's executions holds.

    Args:
        path: the database file (the lock is ``path + ".runner"``).
    """

    def __init__(self, path: str) -> None:
        self.path = f"{path}.runner"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock through this object."""
        return self._fd is not None

    async def acquire(self) -> None:
        """Return once the lock is held here, waiting as long as another process holds it.

        Raises:
            StoreError: the lock file cannot be opened or written.
        """
        if self._fd is not None:
            return
        told = False
        while True:
            holder = await anyio.to_thread.run_sync(self._try)
            if holder is None:
                if told:
                    log.warning("store %s: the other runner stopped; running its executions here", self.path)
                return
            if not told:
                log.warning(
                    "store %s: executions are run by another process (pid %s); standing by until it stops",
                    self.path[: -len(".runner")],
                    holder or "unknown",
                )
                told = True
            await anyio.sleep(POLL_SECONDS)

    def _try(self) -> str | None:
        """Take the lock (None), or the holder's pid as written in the file ("" when unreadable)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"store {self.path}: cannot open the runner lock ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            finally:
                os.close(fd)
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"store {self.path}: cannot lock the runner lock ({exc.strerror})") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"store {self.path}: cannot write the runner lock ({exc.strerror})") from None
        self._fd = fd
        return None

    def release(self) -> None:
        """Let another engine run the file's executions (closing the descriptor drops the lock)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
