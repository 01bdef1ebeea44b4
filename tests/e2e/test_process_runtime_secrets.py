"""A Job under the process runtime cannot read the engine's credentials.

``statewright run --sim --runtime process`` runs the simulators, and so the
containers' processes, under the engine's own process, whose environment holds
the user's AWS credentials. The Job reads its parent's environment and command
line and its grandparent's environment (the engine); none of the credentials
may reach the Job's log, the result or the history.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.e2e.support import REPO, base_environment

pytestmark = pytest.mark.slow

SECRET = "wJalrXUtnFEMI/K7MDENG/RECOGNIZABLESECRET"
SESSION = "IQoJb3JpZ2luX2VjRECOGNIZABLESESSION"
PROBE = (
    'echo "parent environ:"; tr "\\0" "\\n" < /proc/$PPID/environ; '
    'echo "parent cmdline:"; tr "\\0" " " < /proc/$PPID/cmdline; echo; '
    'GP=$(cut -d" " -f4 /proc/$PPID/stat); echo "grandparent $GP environ:"; tr "\\0" "\\n" < /proc/$GP/environ; '
    'echo "own environ:"; env'
)


def definition() -> dict[str, Any]:
    job = {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "nosy"},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "main", "image": "busybox", "command": ["sh", "-c", PROBE]}]}}},
    }  # fmt: skip
    return {
        "StartAt": "Cluster",
        "States": {
            "Cluster": {
                "Type": "Task", "Resource": "arn:aws:states:::eks:createCluster.sync",
                "Parameters": {"Name": "nosy", "RoleArn": "arn:aws:iam::123456789012:role/r",
                               "ResourcesVpcConfig": {"SubnetIds": ["subnet-1", "subnet-2"]}},
                "ResultSelector": {"Endpoint.$": "$.Cluster.Endpoint", "CA.$": "$.Cluster.CertificateAuthority.Data"},
                "ResultPath": "$.cluster", "Next": "Run",
            },
            "Run": {
                "Type": "Task", "Resource": "arn:aws:states:::eks:runJob.sync",
                "Parameters": {"ClusterName": "nosy", "Endpoint.$": "$.cluster.Endpoint",
                               "CertificateAuthority.$": "$.cluster.CA", "Job": job,
                               "LogOptions": {"RetrieveLogs": True, "RawLogs": True}},
                "End": True,
            },
        },
    }  # fmt: skip


async def test_a_job_reading_its_parents_environment_finds_no_credentials(tmp_path: Path) -> None:
    machine = tmp_path / "nosy.json"
    machine.write_text(json.dumps(definition()))
    history = tmp_path / "history.json"
    env = {
        **base_environment(tmp_path),
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": SESSION,
    }
    command = [
        sys.executable, "-m", "statewright", "run", str(machine), "--sim", "--runtime", "process",
        "--poll", "fixed:0.2", "--quiet", "--history", str(history),
    ]  # fmt: skip
    with anyio.fail_after(120):
        done = await anyio.run_process(command, env=env, cwd=REPO, check=False)
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    result = json.loads(stdout)
    assert result["status"] == "SUCCEEDED", (result, stderr)
    (pod,) = result["output"]["logs"]["pods"].values()
    log = pod["containers"]["main"]["log"]
    assert "parent environ:" in log and "grandparent" in log and "own environ:" in log  # the probe ran
    everything = stdout + stderr + history.read_text()
    for secret in (SECRET, SESSION):
        assert secret not in everything
