"""`statewright serve` as users run it: a real process, real clients, SigV4, metrics, signals."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from statewright.api import SigV4Verifier
from tests.statewright.api.conftest import ROLE, ThreadedApi, client, pass_machine
from tests.statewright.api.support import ServeProcess, finished, raw


@pytest.fixture
def served() -> Iterator[ServeProcess]:
    p = ServeProcess()
    try:
        yield p
    finally:
        if p.proc.poll() is None:
            p.stop()


def test_serve_binds_loopback_serves_boto3_and_exits_cleanly_on_sigterm(served: ServeProcess) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    sfn = client(served.url)
    arn = sfn.create_state_machine(name="served", definition=pass_machine(), roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert finished(sfn, ex)["status"] == "SUCCEEDED"
    with pytest.raises(ClientError):
        sfn.describe_execution(executionArn="bad")
    metrics = urllib.request.urlopen(served.url + "/metrics", timeout=10).read().decode()
    assert "statewright_executions_started_total 1.0" in metrics
    assert 'statewright_executions_finished_total{status="SUCCEEDED"} 1.0' in metrics
    assert 'statewright_api_requests_total{operation="DescribeExecution",status="400"} 1.0' in metrics
    code, err = served.stop()
    assert code == 0 and "Traceback" not in err


def test_serve_refuses_bad_options() -> None:
    for args in (["--verify-sigv4", "no-secret"], ["--store", "nosuch://x"]):
        proc = subprocess.run(
            [sys.executable, "-m", "statewright", "serve", "--port", "0", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2 and proc.stderr.startswith("statewright: "), proc.stderr
        assert "Traceback" not in proc.stderr


def test_serve_with_verify_sigv4_accepts_only_that_key() -> None:
    p = ServeProcess("--verify-sigv4", "AKIDGOOD=good-secret")
    try:
        good = client(p.url, aws_access_key_id="AKIDGOOD", aws_secret_access_key="good-secret")
        assert good.list_state_machines()["stateMachines"] == []
        wrong_secret = client(p.url, aws_access_key_id="AKIDGOOD", aws_secret_access_key="guess")
        with pytest.raises(ClientError) as exc:
            wrong_secret.list_state_machines()
        assert exc.value.response["Error"]["Code"] == "InvalidSignatureException"
    finally:
        code, err = p.stop()
    assert code == 0 and "good-secret" not in err


@pytest.fixture
def signed_api() -> Iterator[ThreadedApi]:
    server = ThreadedApi(verifier=SigV4Verifier("AKIDGOOD", "good-secret")).start()
    try:
        yield server
    finally:
        server.stop()


def test_sigv4_errors(signed_api: ThreadedApi) -> None:
    good = client(signed_api.url, aws_access_key_id="AKIDGOOD", aws_secret_access_key="good-secret")
    arn = good.create_state_machine(name="signed", definition=pass_machine(), roleArn=ROLE)["stateMachineArn"]
    assert good.describe_state_machine(stateMachineArn=arn)["name"] == "signed"
    other = client(signed_api.url, aws_access_key_id="AKIDOTHER", aws_secret_access_key="good-secret")
    with pytest.raises(ClientError) as exc:
        other.list_state_machines()
    assert exc.value.response["Error"]["Code"] == "UnrecognizedClientException"
    status, answer = raw(signed_api, b"{}", "AWSStepFunctions.ListStateMachines")
    assert (status, answer["__type"]) == (403, "MissingAuthenticationTokenException")


def test_metrics_count_transitions_tasks_waiting_executions_and_requests(api: ThreadedApi, sfn: Any) -> None:
    waiting = '{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}'.replace(
        "True", "true"
    )
    arn = sfn.create_state_machine(name="m", definition=pass_machine(), roleArn=ROLE)["stateMachineArn"]
    finished(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    activity = sfn.create_activity(name="a")["activityArn"]
    task = json.dumps({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": activity, "End": True}}})
    tarn = sfn.create_state_machine(name="t", definition=task, roleArn=ROLE)["stateMachineArn"]
    sfn.start_execution(stateMachineArn=tarn)
    warn = sfn.create_state_machine(name="w", definition=waiting, roleArn=ROLE)["stateMachineArn"]
    sfn.start_execution(stateMachineArn=warn)
    got = sfn.get_activity_task(activityArn=activity, workerName="w1")
    before = urllib.request.urlopen(api.url + "/metrics", timeout=10).read().decode()
    assert "statewright_waiting_executions 1.0" in before  # the activity Task, parked
    sfn.send_task_success(taskToken=got["taskToken"], output="{}")
    deadline = time.monotonic() + 10
    while True:
        text = urllib.request.urlopen(api.url + "/metrics", timeout=10).read().decode()
        if (
            'statewright_executions_finished_total{status="SUCCEEDED"} 2.0' in text
            or time.monotonic() > deadline
        ):
            break
        time.sleep(0.05)
    assert "statewright_executions_started_total 3.0" in text
    assert 'statewright_executions_finished_total{status="SUCCEEDED"} 2.0' in text
    assert "statewright_state_transitions_total 3.0" in text
    assert f'statewright_task_duration_seconds_count{{resource="states:{activity}"}} 1.0' in text
    assert 'statewright_api_requests_total{operation="SendTaskSuccess",status="200"} 1.0' in text
    assert "statewright_waiting_executions 0.0" in text  # the Wait state is not a Task


def test_serve_with_sim_runs_eks_tasks_offline() -> None:
    definition = json.dumps(
        {
            "StartAt": "Create",
            "States": {
                "Create": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::eks:createCluster",
                    "Parameters": {
                        "Name": "served",
                        "RoleArn": "arn:aws:iam::123456789012:role/eks",
                        "ResourcesVpcConfig": {"SubnetIds": ["subnet-1", "subnet-2"]},
                    },
                    "ResultSelector": {"status.$": "$.Cluster.Status", "name.$": "$.Cluster.Name"},
                    "End": True,
                }
            },
        }
    )
    p = ServeProcess("--sim")
    try:
        sfn = client(p.url)
        arn = sfn.create_state_machine(name="eks", definition=definition, roleArn=ROLE)["stateMachineArn"]
        d = finished(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
        assert d["status"] == "SUCCEEDED", d
        assert json.loads(d["output"]) == {"status": "CREATING", "name": "served"}
    finally:
        code, err = p.stop()
    assert code == 0 and "Traceback" not in err
