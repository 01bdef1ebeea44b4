"""``statewright worker`` processes for the crash benchmarks (``durability``, ``takeover``).

``Worker`` starts one real worker on a store, with the simulators' env file
and, for a shared PostgreSQL store, a lease; it reads the worker's stderr to
learn when the worker has resumed what the store held (``resumed_after``) and
to count the writes the fencing epoch refused (``fenced``). ``kill`` is
SIGKILL, ``stop`` SIGTERM (the worker then suspends its executions).
``running`` and ``until_done`` watch the store until every execution ended.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Final

from engine.store import open_store

ROOT: Final = str(Path(__file__).resolve().parent.parent)
FINISH_TIMEOUT_S: Final = 600.0
RESUMED_LINE: Final = b"resumed from"
FENCED_LINE: Final = b"dropping it here"
"""The end of what a worker logs when the fencing epoch refused its write (another worker owns it now)."""


class Worker:
    """One ``statewright worker`` process; knows when it has resumed everything.

    Args:
        url: the store.
        env_file: the simulators' env file (``--sim-env``).
        lease_seconds: the worker's ``--lease-seconds`` (PostgreSQL store), or None for the default.
    """

    def __init__(self, url: str, env_file: str, lease_seconds: float | None = None) -> None:
        self.url = url
        self.env_file = env_file
        self.lease_seconds = lease_seconds
        self.process: asyncio.subprocess.Process | None = None
        self.resumed = asyncio.Event()
        self.started = 0.0
        self.resumed_after = 0.0
        self.fenced = 0
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": ROOT}
        lease = ["--lease-seconds", str(self.lease_seconds)] if self.lease_seconds is not None else []
        self.started = time.monotonic()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "statewright", "worker", "--store", self.url, "--sim-env", self.env_file,
            *lease, "-q",
            stderr=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
        )  # fmt: skip
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for line in self.process.stderr:
            if RESUMED_LINE in line and not self.resumed.is_set():
                self.resumed_after = time.monotonic() - self.started
                self.resumed.set()
            if FENCED_LINE in line:
                self.fenced += 1

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        if self._reader is not None:
            await self._reader

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await self.process.wait()
        if self._reader is not None:
            await self._reader
        return code


async def running(url: str) -> int:
    """How many executions of the store are RUNNING."""
    store = open_store(url, create=False)
    await store.open()
    try:
        n = 0
        token: str | None = None
        while True:
            page = await store.list_executions(status="RUNNING", max_results=1000, next_token=token)
            n += len(page.items)
            token = page.next_token
            if token is None:
                return n
    finally:
        await store.close()


async def until_done(url: str, worker: Worker) -> None:
    """Wait until no execution of the store runs; fail when ``worker`` exits first."""
    deadline = time.monotonic() + FINISH_TIMEOUT_S
    while time.monotonic() < deadline:
        if await running(url) == 0:
            return
        assert worker.process is not None
        if worker.process.returncode is not None:
            raise RuntimeError(f"the worker exited with status {worker.process.returncode}")
        await asyncio.sleep(0.5)


__all__ = ["FENCED_LINE", "FINISH_TIMEOUT_S", "ROOT", "Worker", "running", "until_done"]
