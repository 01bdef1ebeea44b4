"""``statewright worker`` that SIGKILLs itself just before its Nth commit (for the crash tests).

    python -m tests.e2e.crash_worker N worker --store URL ...
    python -m tests.e2e.crash_worker --fork-server

The real worker runs in this real process; the only addition is the kill,
placed at a commit boundary so a chain of such workers crashes at every
transition of an execution in turn: each commits ``N - 1`` batches, then
dies with the next batch's work done in memory but not committed (the
worst moment: a Task's result or a created Job's handle not yet saved).

``--fork-server`` starts the interpreter and imports the command line once,
then forks one worker process per request, so a chain of forty workers does
not pay forty interpreter start-ups (about a second each) for what is not
under test. One JSON request a line on stdin, ``{"argv": [...], "kill_before":
N or null, "stdout": path, "stderr": path}``, is answered on stdout with
``{"pid": P}`` once the process runs and ``{"exit": code}`` when it ends
(negative: the signal that ended it, as ``subprocess`` reports it). Processes
run one at a time, their output appended to the files named. :class:`ForkServer`
is the tests' side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn

import anyio
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

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


def _say(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _worker(request: dict[str, Any]) -> NoReturn:
    """The forked child: the request's command line, then exit without the server's clean-up."""
    code = 1
    try:
        for fd, name in ((1, "stdout"), (2, "stderr")):
            os.dup2(os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), fd)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        if request["kill_before"] is not None:
            install(int(request["kill_before"]))
        code = main(list(request["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    """Fork a worker per request line on stdin, one at a time (see the module docstring)."""
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _worker(request)
        _say({"pid": pid})
        _, status = os.waitpid(pid, 0)
        _say({"exit": os.waitstatus_to_exitcode(status)})


class Forked:
    """One process the fork server runs: signal it, wait for its exit status."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.server = server
        self.pid = pid
        self.returncode: int | None = None

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    async def wait(self) -> int:
        if self.returncode is None:
            self.returncode = int((await self.server.reply())["exit"])
            self.server.running = None
        return self.returncode

    async def poll(self, seconds: float) -> int | None:
        """The exit status if the process ends within ``seconds``, else None."""
        with anyio.move_on_after(seconds):
            return await self.wait()
        return None


class ForkServer:
    """The tests' side of ``--fork-server`` (see the module docstring)."""

    def __init__(self, process: Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.replies = BufferedByteReceiveStream(process.stdout)
        self.running: Forked | None = None

    async def reply(self) -> dict[str, Any]:
        reply: dict[str, Any] = json.loads(await self.replies.receive_until(b"\n", 65536))
        return reply

    async def start(
        self, argv: Sequence[str], stdout: Path, stderr: Path | None = None, kill_before: int | None = None
    ) -> Forked:
        """``statewright ARGV`` in a forked process (SIGKILLed before its ``kill_before``-th commit)."""
        assert self.running is None, "one process at a time"
        for path in (stdout, stderr or stdout):
            # There from the start, as a file handed to subprocess is: a test may read it at once.
            path.open("ab").close()
        request = {"argv": list(argv), "kill_before": kill_before, "stdout": str(stdout), "stderr": str(stderr or stdout)}
        assert self.process.stdin is not None
        await self.process.stdin.send((json.dumps(request) + "\n").encode())
        self.running = Forked(self, int((await self.reply())["pid"]))
        return self.running

    async def kill(self) -> None:
        """SIGKILL the running process, if any, and reap it."""
        if self.running is not None:
            self.running.send_signal(signal.SIGKILL)
            await self.running.wait()


@asynccontextmanager
async def fork_server(env: Mapping[str, str], cwd: Path) -> AsyncIterator[ForkServer]:
    """A started fork server with environment ``env``; its process is killed and stopped afterwards."""
    command = [sys.executable, "-m", "tests.e2e.crash_worker", "--fork-server"]
    async with await anyio.open_process(
        command, env=dict(env), cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None
    ) as process:
        server = ForkServer(process)
        try:
            yield server
        finally:
            with anyio.CancelScope(shield=True), anyio.fail_after(30):
                await server.kill()
                assert process.stdin is not None
                await process.stdin.aclose()
                await process.wait()


if __name__ == "__main__":
    if sys.argv[1:] == ["--fork-server"]:
        serve()
    else:
        install(int(sys.argv[1]))
        sys.exit(main(sys.argv[2:]))
