"""``KubeProcess``: the Kubernetes API simulator in a process of its own, which can be killed.

Fault tests and benchmarks need an API server that dies the way a real one
does (SIGKILL: no goodbye on open connections) and comes back on the same
address with the same CA and token but none of its objects. In-process
servers cannot die that way, so this runs ``python -m sim.kube`` as a child:
``start`` waits for its ``url:`` line, ``kill`` sends SIGKILL, ``restart``
starts it again on the port it had (the CA is kept in a temporary
``--ca-dir``). Everything it wrote on stderr is kept in ``stderr`` (tests
check that it never printed a traceback).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, Self

READY_TIMEOUT_SECONDS: Final = 60.0
STOP_TIMEOUT_SECONDS: Final = 10.0
ROOT: Final = str(Path(__file__).resolve().parents[2])
"""The checkout the child imports ``sim`` from."""
RESTART_ATTEMPTS: Final = 50
"""Tries to bind the old port again (it may linger briefly after a kill)."""


class KubeProcess:
    """``python -m sim.kube`` as a child process (see the module docstring).

    Args:
        token: the static admin token clients send.
        args: further ``python -m sim.kube`` options (``--fault-rate``, ``--header-timeout``…).
        cpu: pin the child to this CPU (Linux), or None.

    Attributes (once started):
        url: ``https://127.0.0.1:PORT``.
        ca_b64: the base64 CA bundle.
        stderr: everything the child wrote on stderr so far, over all its lives.
    """

    def __init__(self, token: str = "tok", args: Sequence[str] = (), *, cpu: int | None = None) -> None:
        self.token = token
        self.args = list(args)
        self.cpu = cpu
        self.url = ""
        self.ca_b64 = ""
        self.port = 0
        self.stderr = ""
        self.starts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs."""
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Start the child (on the previous port when there was one) and wait for its URL."""
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="statewright-kube-")
        for attempt in range(RESTART_ATTEMPTS):
            try:
                await self._start_once()
                return
            except RuntimeError:
                if not self.port or attempt + 1 == RESTART_ATTEMPTS:
                    raise
                await asyncio.sleep(0.1)  # the port is still held by the dead process's sockets

    async def _start_once(self) -> None:
        assert self._dir is not None
        argv = [sys.executable, "-m", "sim.kube", "--token", self.token, "--port", str(self.port)]
        argv += ["--ca-dir", str(Path(self._dir.name) / "ca"), *self.args]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            preexec_fn=self._pin if self.cpu is not None else None,
        )
        self._process = process
        self._stderr_task = asyncio.ensure_future(self._collect(process))
        values: dict[str, str] = {}
        assert process.stdout is not None
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                while "ca" not in values:
                    line = (await process.stdout.readline()).decode()
                    if not line:
                        await process.wait()
                        raise RuntimeError(f"python -m sim.kube exited with status {process.returncode}")
                    key, _, value = line.strip().partition(": ")
                    values[key] = value
        except BaseException:
            await self._reap()
            raise
        self.url, self.ca_b64 = values["url"], values["ca"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.starts += 1

    def _pin(self) -> None:
        if self.cpu is not None and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, {self.cpu})

    async def _collect(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        while line := await process.stderr.readline():
            self.stderr += line.decode(errors="replace")

    async def kill(self) -> None:
        """SIGKILL the child and wait until it is gone (its objects die with it)."""
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await self._reap()

    async def restart(self) -> None:
        """Kill the child if it runs, then start a new one on the same port, CA and token."""
        await self.kill()
        await self.start()

    async def _reap(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            await process.wait()
        task, self._stderr_task = self._stderr_task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)

    async def close(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL) and remove the CA folder."""
        process = self._process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                pass
        await self._reap()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


__all__ = ["KubeProcess"]
