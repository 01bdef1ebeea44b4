"""State machine versions through real boto3 and the AWS CLI: publish, list, describe, start, delete, restart."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.statewright.api.conftest import ROLE, client, pass_machine
from tests.statewright.api.support import ServeProcess, error_code, finished


def test_published_versions_run_the_revision_they_were_published_from(sfn: Any) -> None:
    created = sfn.create_state_machine(
        name="versioned", definition=pass_machine(v=1), roleArn=ROLE, publish=True, versionDescription="first"
    )
    machine, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    assert v1 == f"{machine}:1"
    updated = sfn.update_state_machine(stateMachineArn=machine, definition=pass_machine(v=2), publish=True)
    v2 = updated["stateMachineVersionArn"]
    assert v2 == f"{machine}:2"
    # The same revision again is the same version (idempotent, as AWS).
    again = sfn.publish_state_machine_version(stateMachineArn=machine)
    assert again["stateMachineVersionArn"] == v2
    sfn.update_state_machine(stateMachineArn=machine, definition=pass_machine(v=3))
    listed = sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [v2, v1]  # newest first
    described = sfn.describe_state_machine(stateMachineArn=v1)
    assert (described["stateMachineArn"], described["description"]) == (v1, "first")
    assert json.loads(described["definition"]) == json.loads(pass_machine(v=1))

    on_v1 = sfn.start_execution(stateMachineArn=v1, name="on-v1")["executionArn"]
    assert on_v1 == machine.replace(":stateMachine:", ":execution:") + ":on-v1"
    d = finished(sfn, on_v1)
    assert (json.loads(d["output"]), d["stateMachineVersionArn"], d["stateMachineArn"]) == ({"v": 1}, v1, machine)
    latest = sfn.start_execution(stateMachineArn=machine, name="latest")["executionArn"]
    d = finished(sfn, latest)
    assert json.loads(d["output"]) == {"v": 3} and "stateMachineVersionArn" not in d
    items = {e["name"]: e for e in sfn.list_executions(stateMachineArn=machine)["executions"]}
    assert items["on-v1"]["stateMachineVersionArn"] == v1 and "stateMachineVersionArn" not in items["latest"]
    assert json.loads(sfn.describe_state_machine_for_execution(executionArn=on_v1)["definition"]) == {
        "StartAt": "Done",
        "States": {"Done": {"Type": "Pass", "Result": {"v": 1}, "End": True}},
    }

    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)  # deleting what is gone succeeds
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=v1)
    assert error_code(exc) == "StateMachineDoesNotExist"
    v3 = sfn.publish_state_machine_version(stateMachineArn=machine)["stateMachineVersionArn"]
    assert v3 == f"{machine}:3"  # a number is never given twice


def test_version_errors_are_aws_errors(sfn: Any) -> None:
    machine = sfn.create_state_machine(name="strict", definition=pass_machine(), roleArn=ROLE)["stateMachineArn"]
    with pytest.raises(ClientError) as exc:
        sfn.publish_state_machine_version(stateMachineArn=machine, revisionId="not-the-current-one")
    assert error_code(exc) == "ConflictException"
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=machine, definition=pass_machine(v=2), versionDescription="x")
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=f"{machine}:7")
    assert error_code(exc) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=f"{machine}:1:2")
    assert error_code(exc) == "InvalidArn"
    with pytest.raises(ClientError) as exc:
        sfn.delete_state_machine_version(stateMachineVersionArn=machine)
    assert error_code(exc) == "InvalidArn"
    with pytest.raises(ClientError) as exc:
        sfn.publish_state_machine_version(stateMachineArn=machine + "-missing")
    assert error_code(exc) == "StateMachineDoesNotExist"
    revision = sfn.describe_state_machine(stateMachineArn=machine)["revisionId"]
    published = sfn.publish_state_machine_version(stateMachineArn=machine, revisionId=revision)
    assert published["stateMachineVersionArn"] == f"{machine}:1"
    sfn.delete_state_machine(stateMachineArn=machine)
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=f"{machine}:1")
    assert error_code(exc) == "StateMachineDoesNotExist"  # versions go with their machine


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_versions_survive_a_restart_and_the_aws_cli_sees_them(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    aws = shutil.which("aws")
    assert aws is not None, "the AWS CLI is in the dev extras"
    store = (
        f"sqlite:///{tmp_path / 'sfn.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    )
    first = ServeProcess("--store", store)
    try:
        sfn = client(first.url)
        created = sfn.create_state_machine(name="kept", definition=pass_machine(v=1), roleArn=ROLE, publish=True)
        machine, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
        sfn.update_state_machine(stateMachineArn=machine, definition=pass_machine(v=2))
        v2 = sfn.publish_state_machine_version(stateMachineArn=machine, description="second")
        sfn.delete_state_machine_version(stateMachineVersionArn=v1)
        on_v2 = sfn.start_execution(stateMachineArn=v2["stateMachineVersionArn"], name="on-v2")["executionArn"]
        assert finished(sfn, on_v2)["status"] == "SUCCEEDED"
        before = sfn.describe_state_machine(stateMachineArn=v2["stateMachineVersionArn"])
    finally:
        code, err = first.stop()
    assert code == 0 and "Traceback" not in err

    second = ServeProcess("--store", store)
    try:
        sfn = client(second.url)
        after = sfn.describe_state_machine(stateMachineArn=v2["stateMachineVersionArn"])
        assert {**after, "ResponseMetadata": None} == {**before, "ResponseMetadata": None}
        assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["kept"]
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "AKIDTEST",
            "AWS_SECRET_ACCESS_KEY": "test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        out = subprocess.run(
            [aws, "stepfunctions", "list-state-machine-versions", "--endpoint-url", second.url,
             "--state-machine-arn", machine],
            capture_output=True, text=True, env=env, timeout=60, check=True,
        )  # fmt: skip
        listed = json.loads(out.stdout)["stateMachineVersions"]
        assert [v["stateMachineVersionArn"] for v in listed] == [v2["stateMachineVersionArn"]]
        d = sfn.describe_execution(executionArn=on_v2)
        assert (d["stateMachineVersionArn"], json.loads(d["output"])) == (v2["stateMachineVersionArn"], {"v": 2})
        item = sfn.list_executions(stateMachineArn=machine)["executions"][0]
        assert item["stateMachineVersionArn"] == v2["stateMachineVersionArn"]
        # Numbers continue after the restart: 1 was deleted, 2 is taken.
        sfn.update_state_machine(stateMachineArn=machine, definition=pass_machine(v=3))
        v3 = sfn.publish_state_machine_version(stateMachineArn=machine)["stateMachineVersionArn"]
        assert v3 == f"{machine}:3"
        again = sfn.start_execution(stateMachineArn=v2["stateMachineVersionArn"])["executionArn"]
        assert json.loads(finished(sfn, again)["output"]) == {"v": 2}
    finally:
        code, err = second.stop()
    assert code == 0 and "Traceback" not in err
