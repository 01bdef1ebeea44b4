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
N or null, "log": path}``, is answered on stdout with ``{"pid": P}`` once the
worker runs and ``{"exit": code}`` when it ends (negative: the signal that
ended it, as ``subprocess`` reports it). Workers run one at a time, each with
its stdout and stderr appended to ``log``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

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
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
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


def fork_server() -> None:
    """Fork a worker per request line on stdin, one at a time (see the module docstring)."""
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _worker(request)
        _say({"pid": pid})
        _, status = os.waitpid(pid, 0)
        _say({"exit": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    if sys.argv[1:] == ["--fork-server"]:
        fork_server()
    else:
        install(int(sys.argv[1]))
        sys.exit(main(sys.argv[2:]))
