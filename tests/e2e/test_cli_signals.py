"""``statewright run`` stopped by SIGINT, SIGTERM or SIGHUP: cleanup, history, result, 128 + signal.

The simulators run as ``statewright sim`` in a process of their own; each run
starts a runJob.sync whose Job would run for an hour, is sent the signal once
the Job exists, and must then delete the Job, write the history file, print
the result (ABORTED) and exit with 128 + the signal's number. The runs are
forked from a fork server that imported the command line once
(``tests.e2e.crash_worker``): each is still a process of its own, sent a real
signal; only the interpreter start-up is shared.
"""

from __future__ import annotations

import base64
import json
import signal
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
import yaml

from tests.e2e.crash_worker import fork_server
from tests.e2e.support import REPO
from tests.e2e.test_cli_with_sim_env import statewright_sim

pytestmark = pytest.mark.slow

JOBS = "/apis/batch/v1/namespaces/default/jobs"


def definition(cluster: dict[str, str]) -> dict[str, Any]:
    return {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:runJob.sync",
                "Parameters": {
                    "ClusterName": "demo", "CertificateAuthority": cluster["ca"], "Endpoint": cluster["server"],
                    "Job.$": "$.job",
                },
                "End": True,
            }
        },
    }  # fmt: skip


def job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": {
            "metadata": {"annotations": {"sim.statewright.io/seconds": "3600"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}},
    }  # fmt: skip


async def job_exists(cluster: dict[str, str], name: str) -> bool:
    context = ssl.create_default_context(cadata=base64.b64decode(cluster["ca"]).decode())
    headers = {"Authorization": f"Bearer {cluster['token']}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{cluster['server']}{JOBS}/{name}", ssl=context, headers=headers) as answer,
    ):
        return answer.status == 200


async def test_each_stop_signal_deletes_the_job_writes_the_history_and_exits_128_plus_its_number(
    tmp_path: Path,
) -> None:
    async with statewright_sim(tmp_path) as sim:
        config = yaml.safe_load(sim.kubeconfig.read_text())
        cluster = {
            "server": config["clusters"][0]["cluster"]["server"],
            "ca": config["clusters"][0]["cluster"]["certificate-authority-data"],
            "token": config["users"][0]["user"]["token"],
        }
        machine = tmp_path / "machine.json"
        machine.write_text(json.dumps(definition(cluster)))
        async with fork_server(sim.env, REPO) as server:
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                name = f"signalled-{signum.name.lower()}"
                history = tmp_path / f"{name}.json"
                argv = [
                    "run", str(machine), "--quiet", "--poll", "fixed:0.2",
                    "--input", json.dumps({"job": job(name)}), "--history", str(history),
                ]  # fmt: skip
                stdout, stderr = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
                process = await server.start(argv, stdout=stdout, stderr=stderr)
                with anyio.fail_after(60):
                    while not await job_exists(cluster, name):
                        ended = await process.poll(0)
                        assert ended is None, (
                            "the run ended before its Job existed",
                            ended,
                            stderr.read_text(),
                        )
                        await anyio.sleep(0.1)
                    process.send_signal(signum)
                    code = await process.wait()
                assert code == 128 + signum, (signum, code, stderr.read_text())
                result = json.loads(stdout.read_text())
                assert result["status"] == "ABORTED"
                events = [e["type"] for e in json.loads(history.read_text())["events"]]
                assert events[-1] == "ExecutionAborted"
                assert not await job_exists(cluster, name)  # the stopped Task deleted its Job
