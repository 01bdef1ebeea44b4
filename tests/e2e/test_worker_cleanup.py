"""``statewright worker --cleanup execution``: a worker deletes what a failed execution created.

The worker is a real process on a real SQLite store, reaching the simulators
(started by the test) through its ``--sim-env`` file only. It and the
``start`` / ``describe`` / ``history`` commands are forked from fork servers
that imported the command line once (``tests.e2e.crash_worker``): each command is
still a process of its own (the worker stops on a real SIGTERM); only the
interpreter start-up, a second or more per polling ``describe``, is shared. The execution creates
a cluster, then fails; under ``execution`` the worker deletes the cluster and
records it (``ResourceDeleted``) before ``ExecutionFailed``.
"""

from __future__ import annotations

import json
import shlex
import signal
from pathlib import Path
from typing import Any, Final

import anyio

from sim.stack import Simulators
from tests.e2e.crash_worker import ForkServer, fork_server
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


async def cli(server: ForkServer, outputs: Path, *argv: str) -> Any:
    """``statewright ARGV`` in a process forked by ``server``; its JSON output, if any."""
    stdout, stderr = outputs / "cli.out", outputs / "cli.err"
    for path in (stdout, stderr):
        path.write_text("")
    code = await (await server.start(argv, stdout=stdout, stderr=stderr)).wait()
    assert code == 0, stderr.read_text()
    text = stdout.read_text()
    return json.loads(text) if text.strip() else None


async def test_a_worker_with_cleanup_execution_deletes_what_the_failed_execution_created(
    simulators: Simulators, tmp_path: Path
) -> None:
    env_file = tmp_path / "sim.env"
    env_file.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in simulators.env().items()))
    definition = tmp_path / "pipeline.json"
    definition.write_text(json.dumps(DEFINITION))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    env = base_environment(tmp_path)
    # Two servers: one forks the worker, the other the commands run while it works (one process each at a time).
    async with fork_server(env, REPO) as commands, fork_server(env, REPO) as workers:
        await cli(commands, tmp_path, "start", str(definition), "--name", "made", "--store", store)

        worker_err = tmp_path / "worker.err"
        worker = await workers.start(
            ["worker", "--store", store, "--sim-env", str(env_file), "--cleanup", "execution"],
            stdout=tmp_path / "worker.out", stderr=worker_err,
        )  # fmt: skip
        try:
            with anyio.fail_after(90):
                describe = ("describe", ARN, "--store", store)
                while (await cli(commands, tmp_path, *describe))["status"] == "RUNNING":
                    await anyio.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            with anyio.fail_after(30):
                await worker.wait()
            err = worker_err.read_text()

        described = await cli(commands, tmp_path, "describe", ARN, "--store", store)
        assert (described["status"], described["error"]) == ("FAILED", "Pipeline.Broken")
        assert "worker-made" not in simulators.eks.clusters, err
        history = await cli(commands, tmp_path, "history", ARN, "--store", store)
    types = [event["type"] for event in history["events"]]
    assert types.count("ResourceDeleted") == 1
    assert types.index("ResourceDeleted") < types.index("ExecutionFailed") == len(types) - 1
