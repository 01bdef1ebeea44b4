"""The README's first command, model runtime: ``statewright run examples/eks-pipeline.json --sim``.

``--sim`` starts the simulators inside the run with fresh credentials, so the
subprocess gets no AWS setting at all. stdout must hold exactly one JSON
object (the result), stderr the progress (each state entered and left, with
how long it took), and ``--history`` the execution history in AWS's shape.
The process runtime's real perl is covered once, in ``test_process_runtime``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio

from tests.e2e.support import EXAMPLES, HAPPY_PATH, REPO, base_environment


async def test_the_pipeline_runs_on_the_embedded_simulators_with_progress_on_stderr(tmp_path: Path) -> None:
    history_file = tmp_path / "history.json"
    command = [
        sys.executable, "-m", "statewright", "run", str(EXAMPLES / "eks-pipeline.json"),
        "--input", f"@{EXAMPLES / 'eks-pipeline.input.json'}", "--sim", "--history", str(history_file),
    ]  # fmt: skip
    done = await anyio.run_process(command, env=base_environment(tmp_path), cwd=REPO, check=False)
    stdout, stderr = done.stdout.decode(), done.stderr.decode()

    assert done.returncode == 0, stderr
    result = json.loads(stdout)
    assert result["status"] == "SUCCEEDED"
    assert result["error"] is None
    assert result["output"]["logs"][0].startswith("3.14159265358979")
    for state in HAPPY_PATH:
        assert f"-> {state} (" in stderr, f"no progress line for entering {state!r}"
        assert f"<- {state} in " in stderr, f"no progress line for leaving {state!r}"

    events = json.loads(await anyio.Path(history_file).read_text())["events"]
    assert events[0]["type"] == "ExecutionStarted"
    assert events[-1]["type"] == "ExecutionSucceeded"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered == HAPPY_PATH


async def test_the_pipeline_runs_the_same_on_uvloop(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "statewright", "run", str(EXAMPLES / "eks-pipeline.json"),
        "--input", f"@{EXAMPLES / 'eks-pipeline.input.json'}", "--sim", "--loop", "uvloop", "--quiet",
    ]  # fmt: skip
    done = await anyio.run_process(command, env=base_environment(tmp_path), cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout.decode())
    assert result["status"] == "SUCCEEDED"
    assert result["output"]["logs"][0].startswith("3.14159265358979")
