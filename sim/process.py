"""A simulator in a process of its own: started, read from, killed and stopped like a real server.

Fault tests and benchmarks need servers that die the way real ones do
(SIGKILL: no goodbye on open connections) or whose CPU and memory are counted
apart from the engine's. :class:`ChildProcess` is the parent's side that
:class:`sim.kube.process.KubeProcess` (``python -m sim.kube``) and the
benchmarks' whole-stack ``SimProcess`` share: it runs ``python -m MODULE``
with this checkout on ``PYTHONPATH``, reads the lines the child writes on
stdout (its readiness report), keeps what it writes on stderr when asked,
kills it with SIGKILL, and stops it politely (SIGTERM, or closing its stdin)
before killing it when it does not go in time. Subclasses say how to start
(:meth:`ChildProcess.start`) and what else to release (:meth:`ChildProcess.cleanup`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final, Self

ROOT: Final = str(Path(__file__).resolve().parents[1])
"""The checkout the child imports ``sim`` (and ``benchmarks``) from."""
STOP_TIMEOUT_SECONDS: Final = 10.0
STREAM_LIMIT: Final = 2**16
"""asyncio's default line limit of a child's stdout."""


class ChildProcess:
    """``python -m MODULE`` as a child process (see the module docstring).

    Args:
        name: how errors name the child (``python -m sim.kube``).
        stop_by_stdin: stop the child by closing its stdin (which it then reads) instead of SIGTERM.
        keep_stderr: collect what the child writes on stderr in :attr:`stderr` (else it is inherited).
        stop_timeout_seconds: how long a polite stop may take before SIGKILL.
        stream_limit: the longest line read from the child's stdout.

    Attributes:
        stderr: everything the child wrote on stderr so far, over all its lives (``keep_stderr``).
        returncode: the exit status of the child's last life once it is gone (-9: SIGKILL), else None.
    """

    def __init__(
        self,
        name: str,
        *,
        stop_by_stdin: bool = False,
        keep_stderr: bool = False,
        stop_timeout_seconds: float = STOP_TIMEOUT_SECONDS,
        stream_limit: int = STREAM_LIMIT,
    ) -> None:
        self.name = name
        self.stderr = ""
        self.returncode: int | None = None
        self._stop_by_stdin = stop_by_stdin
        self._keep_stderr = keep_stderr
        self._stop_timeout = stop_timeout_seconds
        self._stream_limit = stream_limit
        self._process: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs."""
        return self._process.pid if self._process is not None else None

    # -- to override -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the child and wait until it is ready (subclasses: :meth:`spawn`, then :meth:`readline`)."""
        raise NotImplementedError("a child process says how it starts")

    def cleanup(self) -> None:
        """Release what the subclass owns once the child is gone (default: nothing)."""

    # -- for subclasses ----------------------------------------------------------------------

    async def spawn(
        self, module: str, args: Sequence[str], *, preexec_fn: Callable[[], None] | None = None
    ) -> asyncio.subprocess.Process:
        """Run ``python -m module args`` with this checkout importable."""
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
            # Its stdout is a pipe, block-buffered by default: a readiness line printed without a
            # flush (http.server's) would reach readline only when the child exits.
            "PYTHONUNBUFFERED": "1",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            stdin=asyncio.subprocess.PIPE if self._stop_by_stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE if self._keep_stderr else None,
            env=env,
            preexec_fn=preexec_fn,
            limit=self._stream_limit,
        )
        self._process = process
        self.returncode = None
        if self._keep_stderr:
            self._stderr_task = asyncio.ensure_future(self._collect(process))
        return process

    async def readline(self) -> bytes:
        """The child's next stdout line; RuntimeError once it has exited instead."""
        process = self._process
        assert process is not None and process.stdout is not None
        line = await process.stdout.readline()
        if not line:
            code = await process.wait()
            raise RuntimeError(f"{self.name} exited with status {code}")
        return line

    async def send(self, line: bytes) -> None:
        """Write one line to the child's stdin (``stop_by_stdin`` children read it)."""
        process = self._process
        assert process is not None and process.stdin is not None
        process.stdin.write(line + b"\n")
        await process.stdin.drain()

    async def _collect(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        while line := await process.stderr.readline():
            self.stderr += line.decode(errors="replace")

    # -- stopping ----------------------------------------------------------------------------

    async def kill(self) -> None:
        """SIGKILL the child and wait until it is gone."""
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await self.reap()

    async def reap(self) -> None:
        """Wait for the child to be gone (killing it if it still runs) and for its stderr."""
        process, self._process = self._process, None
        if process is not None:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            self.returncode = await process.wait()
        task, self._stderr_task = self._stderr_task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)

    async def close(self) -> None:
        """Stop the child politely, SIGKILL it if it does not go in time, then :meth:`cleanup`."""
        try:
            process = self._process
            if process is not None and process.returncode is None:
                if not self._stop_by_stdin:
                    process.terminate()
                elif process.stdin is not None:
                    process.stdin.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), self._stop_timeout)
            await self.reap()
        finally:
            self.cleanup()

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


__all__ = ["ChildProcess"]
