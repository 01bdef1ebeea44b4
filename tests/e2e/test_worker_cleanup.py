"""``statewright worker --cleanup execution``: a worker deletes what a failed execution created.

The worker is a real subprocess on a real SQLite store, reaching the simulators
(started by the test) through its ``--sim-env`` file only. The execution creates
a cluster, then fails; under ``execution`` the worker deletes the cluster and
records it (``ResourceDeleted``) before ``ExecutionFailed``.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import anyio

from sim.stack import Simulators
from tests.e2e.support import REPO, base_environment

DEFINITION: Final = {
    "StartAt": "Cluster",
    "States": {
        "Cluster": {
            "Type": "Task",
            "Resource": "arn:aws:states:::eks:createCluster.sync",
            "Parameters": {
                "Name": "worker-made",
                "RoleArn": "arn:aws:iam::123456789012:role/cluster",
                "ResourcesVpcConfig": {"SubnetIds": ["subnet-1"]},
            },
            "ResultPath": None,
            "Next": "Broken",
        },
        "Broken": {"Type": "Fail", "Error": "Pipeline.Broken", "Cause": "on purpose"},
    },
}
ARN: Final = "arn:aws:states:us-east-1:123456789012:execution:pipeline:made"


async def cli(env: dict[str, str], *argv: str) -> Any:
    done = await anyio.run_process(
        [sys.executable, "-m", "statewright", *argv], env=env, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout) if done.stdout.strip() else None


async def test_a_worker_with_cleanup_execution_deletes_what_the_failed_execution_created(
    simulators: Simulators, tmp_path: Path
) -> None:
    env_file = tmp_path / "sim.env"
    env_file.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in simulators.env().items()))
    definition = tmp_path / "pipeline.json"
    definition.write_text(json.dumps(DEFINITION))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    env = base_environment(tmp_path)
    await cli(env, "start", str(definition), "--name", "made", "--store", store)

    worker = await anyio.open_process(
        [sys.executable, "-m", "statewright", "worker", "--store", store, "--sim-env", str(env_file),
         "--cleanup", "execution"],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        with anyio.fail_after(90):
            while (await cli(env, "describe", ARN, "--store", store))["status"] == "RUNNING":
                await anyio.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        with anyio.fail_after(30):
            await worker.wait()
        assert worker.stderr is not None
        err = (await worker.stderr.receive()).decode() if worker.returncode is not None else ""
        await worker.aclose()

    described = await cli(env, "describe", ARN, "--store", store)
    assert (described["status"], described["error"]) == ("FAILED", "Pipeline.Broken")
    assert "worker-made" not in simulators.eks.clusters, err
    types = [event["type"] for event in (await cli(env, "history", ARN, "--store", store))["events"]]
    assert types.count("ResourceDeleted") == 1
    assert types.index("ResourceDeleted") < types.index("ExecutionFailed") == len(types) - 1
