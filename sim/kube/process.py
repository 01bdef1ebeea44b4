"""``KubeProcess``: the Kubernetes API simulator in a process of its own, which can be killed.

Fault tests and benchmarks need an API server that dies the way a real one
does (SIGKILL: no goodbye on open connections) and comes back on the same
address with the same CA and token but none of its objects. In-process
servers cannot die that way, so this runs ``python -m sim.kube`` as a child
(:class:`sim.process.ChildProcess`): ``start`` waits for its ``url:`` line,
``kill`` sends SIGKILL, ``restart`` starts it again on the port it had (the CA
is kept in a temporary ``--ca-dir``). Everything it wrote on stderr is kept in
``stderr`` (tests check that it never printed a traceback).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from sim.process import ChildProcess

READY_TIMEOUT_SECONDS: Final = 60.0
RESTART_ATTEMPTS: Final = 50
"""Tries to bind the old port again (it may linger briefly after a kill)."""


class KubeProcess(ChildProcess):
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
        super().__init__("python -m sim.kube", keep_stderr=True)
        self.token = token
        self.args = list(args)
        self.cpu = cpu
        self.url = ""
        self.ca_b64 = ""
        self.port = 0
        self.starts = 0
        self._dir: tempfile.TemporaryDirectory[str] | None = None

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
        args = ["--token", self.token, "--port", str(self.port)]
        args += ["--ca-dir", str(Path(self._dir.name) / "ca"), *self.args]
        await self.spawn("sim.kube", args, preexec_fn=self._pin if self.cpu is not None else None)
        values: dict[str, str] = {}
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                while "ca" not in values:
                    line = (await self.readline()).decode()
                    key, _, value = line.strip().partition(": ")
                    values[key] = value
        except BaseException:
            await self.reap()
            raise
        self.url, self.ca_b64 = values["url"], values["ca"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.starts += 1

    def _pin(self) -> None:
        if self.cpu is not None and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, {self.cpu})

    async def restart(self) -> None:
        """Kill the child if it runs, then start a new one on the same port, CA and token."""
        await self.kill()
        await self.start()

    def cleanup(self) -> None:
        """Remove the CA folder."""
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


__all__ = ["KubeProcess"]
