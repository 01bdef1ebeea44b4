"""``statewright start | worker | describe | history | list | stop`` and ``run --store``: the exact contract.

The store is a real SQLite file; the read and write commands run in-process
(``main``), the worker as a real subprocess that is sent SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from statewright.cli import main

REPO = Path(__file__).resolve().parents[2]
WAIT = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Parameters": {"got.$": "$"}, "Next": "W"},
        "W": {"Type": "Wait", "SecondsPath": "$.got.wait", "Next": "B"},
        "B": {"Type": "Pass", "End": True},
    },
}


@pytest.fixture
def setup(tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "pipeline.json"
    path.write_bytes(orjson.dumps(WAIT))
    return str(path), f"sqlite:///{tmp_path / 'store.db'}"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, orjson.loads(out) if out.strip() else None, err


def _arn(name: str, machine: str = "pipeline") -> str:
    return f"arn:aws:states:us-east-1:123456789012:execution:{machine}:{name}"


def test_start_records_an_execution_without_running_it(capsys: pytest.CaptureFixture[str], setup: Any) -> None:
    file, store = setup
    code, doc, _ = _cli(capsys, "start", file, "--input", '{"wait": 1}', "--name", "one", "--store", store)
    assert code == 0
    assert set(doc) == {"executionArn", "startDate"}
    assert doc["executionArn"] == _arn("one")
    code, described, _ = _cli(capsys, "describe", doc["executionArn"], "--store", store)
    assert code == 0
    assert set(described) == {
        "executionArn", "name", "stateMachineArn", "status", "input", "output", "error", "cause", "startDate", "stopDate",
    }  # fmt: skip
    assert described["status"] == "RUNNING"
    assert described["input"] == '{"wait":1}'
    assert described["startDate"] == doc["startDate"]
    code, history, _ = _cli(capsys, "history", doc["executionArn"], "--store", store)
    assert code == 0
    assert [e["type"] for e in history["events"]] == ["ExecutionStarted"]
    assert history["events"][0]["executionStartedEventDetails"]["input"] == '{"wait":1}'


def test_a_name_already_used_exits_2_with_execution_already_exists(
    capsys: pytest.CaptureFixture[str], setup: Any
) -> None:
    file, store = setup
    assert _cli(capsys, "start", file, "--name", "dup", "--store", store)[0] == 0
    code, out, err = _cli(capsys, "start", file, "--name", "dup", "--store", store)
    assert code == 2 and out is None
    assert "ExecutionAlreadyExists" in err
    # Another state machine may use the name.
    assert _cli(capsys, "start", file, "--name", "dup", "--state-machine", "other", "--store", store)[0] == 0


@pytest.mark.parametrize("command", ["describe", "history", "stop"])
def test_an_unknown_arn_exits_1_with_execution_does_not_exist(
    capsys: pytest.CaptureFixture[str], setup: Any, command: str
) -> None:
    file, store = setup
    _cli(capsys, "start", file, "--store", store)
    code, out, err = _cli(capsys, command, _arn("missing"), "--store", store)
    assert code == 1 and out is None
    assert "ExecutionDoesNotExist" in err


def test_run_with_a_store_keeps_the_execution_and_refuses_its_name_again(
    capsys: pytest.CaptureFixture[str], setup: Any
) -> None:
    file, store = setup
    code, doc, _ = _cli(capsys, "run", file, "--input", '{"wait": 0}', "--name", "kept", "--store", store, "-q")
    assert (code, doc["status"]) == (0, "SUCCEEDED")
    code, described, _ = _cli(capsys, "describe", _arn("kept"), "--store", store)
    assert described["status"] == "SUCCEEDED"
    assert orjson.loads(described["output"]) == {"got": {"wait": 0}}
    assert described["stopDate"] is not None
    code, listed, _ = _cli(capsys, "list", "--store", store, "--status", "SUCCEEDED")
    assert [e["name"] for e in listed["executions"]] == ["kept"]
    assert set(listed["executions"][0]) == {"executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate"}
    code, _, err = _cli(capsys, "run", file, "--name", "kept", "--store", store, "-q")
    assert code == 2 and "ExecutionAlreadyExists" in err
    code, doc, _ = _cli(capsys, "run", file, "--input", '{"wait": 0}', "--state-machine", "named", "--store", store, "-q")
    assert code == 0
    code, listed, _ = _cli(capsys, "list", "--store", store, "--state-machine", "named")
    assert [e["stateMachineArn"].rsplit(":", 1)[-1] for e in listed["executions"]] == ["named"]


def test_a_store_that_cannot_be_opened_is_named_without_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database " * 100)
    code, _, err = _cli(capsys, "list", "--store", f"sqlite:///{notes}")
    assert code == 2
    assert f"{notes} is not a statewright store" in err
    code, _, err = _cli(capsys, "describe", _arn("x"), "--store", f"sqlite:///{tmp_path / 'absent.db'}")
    assert code == 2 and "does not exist" in err


def _worker(store: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "statewright", "worker", "--store", store],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def _status(capsys: pytest.CaptureFixture[str], store: str, arn: str) -> str:
    code, described, _ = _cli(capsys, "describe", arn, "--store", store)
    assert code == 0
    return str(described["status"])


def _until(predicate: Any, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_a_worker_runs_started_executions_suspends_on_sigterm_and_carries_out_stops(
    capsys: pytest.CaptureFixture[str], setup: Any
) -> None:
    file, store = setup
    _cli(capsys, "start", file, "--input", '{"wait": 0}', "--name", "quick", "--store", store)
    _cli(capsys, "start", file, "--input", '{"wait": 3600}', "--name", "long", "--store", store)
    worker = _worker(store)
    try:
        _until(lambda: _status(capsys, store, _arn("quick")) == "SUCCEEDED")
        # A new execution started while the worker runs is picked up too.
        _cli(capsys, "start", file, "--input", '{"wait": 0}', "--name", "later", "--store", store)
        _until(lambda: _status(capsys, store, _arn("later")) == "SUCCEEDED")
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0
    assert "Traceback" not in err
    assert "suspended 1 running execution(s)" in err
    assert _status(capsys, store, _arn("long")) == "RUNNING"

    worker = _worker(store)
    try:
        _until(lambda: "resumed" in (worker.stderr.readline() if worker.stderr else ""))
        code, doc, _ = _cli(capsys, "stop", _arn("long"), "--store", store, "--error", "Op", "--cause", "enough")
        assert code == 0 and set(doc) == {"stopDate"}
        asked = time.monotonic()
        _until(lambda: _status(capsys, store, _arn("long")) == "ABORTED", timeout=5)
        assert time.monotonic() - asked < 1.5
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=20)
    code, described, _ = _cli(capsys, "describe", _arn("long"), "--store", store)
    assert (described["error"], described["cause"]) == ("Op", "enough")
    code, history, _ = _cli(capsys, "history", _arn("long"), "--store", store)
    types = [e["type"] for e in history["events"]]
    assert types == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "WaitStateEntered", "ExecutionAborted"]


class _Lines:
    """A process's stderr, read line by line on a thread (a blocking read must not hang the test)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        import threading

        self.lines: list[str] = []
        stream = process.stderr
        assert stream is not None
        self._thread = threading.Thread(target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True)
        self._thread.start()

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)


def test_a_second_worker_on_one_sqlite_file_stands_by_until_the_first_dies(
    capsys: pytest.CaptureFixture[str], setup: Any
) -> None:
    file, store = setup
    _cli(capsys, "start", file, "--input", '{"wait": 3600}', "--name", "long", "--store", store)
    first = _worker(store)
    first_err = _Lines(first)
    second: subprocess.Popen[str] | None = None
    try:
        _until(lambda: first_err.has("resumed"))
        second = _worker(store)
        second_err = _Lines(second)
        _until(lambda: second_err.has(f"executions are run by another process (pid {first.pid}); standing by"))
        # The commands that only record or read work while a worker holds the file; the new
        # execution is run by the first worker alone (one of each event, ids in order).
        assert _cli(capsys, "start", file, "--input", '{"wait": 0}', "--name", "quick", "--store", store)[0] == 0
        _until(lambda: _status(capsys, store, _arn("quick")) == "SUCCEEDED")
        code, history, _ = _cli(capsys, "history", _arn("quick"), "--store", store)
        assert [e["id"] for e in history["events"]] == list(range(1, 9))
        code, listed, _ = _cli(capsys, "list", "--store", store)
        assert code == 0 and {e["name"] for e in listed["executions"]} == {"long", "quick"}
        assert not second_err.has("resumed")
        # SIGKILL: the kernel drops the lock, and the second worker takes the executions over at once.
        first.kill()
        first.wait(timeout=10)
        _until(lambda: second_err.has("running its executions here") and second_err.has("resumed"), timeout=5)
        assert _cli(capsys, "stop", _arn("long"), "--store", store)[0] == 0
        _until(lambda: _status(capsys, store, _arn("long")) == "ABORTED", timeout=5)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    assert not any("Traceback" in line for line in second_err.lines)
