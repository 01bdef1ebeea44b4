"""The real AWS CLI against the server: `aws stepfunctions ... --endpoint-url http://127.0.0.1:PORT`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.statewright.api.conftest import ROLE, ThreadedApi

AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
pytestmark = pytest.mark.skipif(AWS is None, reason="the AWS CLI is installed with the dev extras")

DEFINITION = json.dumps(
    {
        "StartAt": "One",
        "States": {
            "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "Two"},
            "Two": {"Type": "Pass", "Result": 2, "ResultPath": "$.two", "End": True},
        },
    }
)
WAITING = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}})


@pytest.fixture
def aws(api: ThreadedApi, tmp_path: Path) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIDCLI",
        AWS_SECRET_ACCESS_KEY="cli-secret",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_PAGER="",
        AWS_MAX_ATTEMPTS="1",
        # StartSyncExecution's endpoint has the host prefix "sync-", which a loopback address cannot take.
        AWS_DISABLE_HOST_PREFIX_INJECTION="true",
    )

    def run(*args: str, ok: bool = True) -> Any:
        assert AWS is not None
        proc = subprocess.run(
            [AWS, "stepfunctions", *args, "--endpoint-url", api.url, "--output", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
            return json.loads(proc.stdout) if proc.stdout.strip() else {}
        assert proc.returncode != 0
        return proc.stderr

    return run


def test_the_aws_cli_creates_starts_describes_lists_and_pages_history(aws: Any) -> None:
    arn = aws("create-state-machine", "--name", "cli", "--definition", DEFINITION, "--role-arn", ROLE)[
        "stateMachineArn"
    ]
    assert aws("describe-state-machine", "--state-machine-arn", arn)["definition"] == DEFINITION
    ex = aws("start-execution", "--state-machine-arn", arn, "--name", "run1", "--input", '{"zero": 0}')[
        "executionArn"
    ]
    deadline = time.monotonic() + 20
    while (d := aws("describe-execution", "--execution-arn", ex))["status"] == "RUNNING":
        assert time.monotonic() < deadline
    assert json.loads(d["output"]) == {"zero": 0, "one": 1, "two": 2}
    assert isinstance(d["startDate"], float)  # AWS JSON timestamps: epoch seconds, as CLI v1 prints them
    listed = aws("list-executions", "--state-machine-arn", arn, "--status-filter", "SUCCEEDED")
    assert [e["name"] for e in listed["executions"]] == ["run1"]
    first = aws("get-execution-history", "--execution-arn", ex, "--max-items", "3")
    assert [e["id"] for e in first["events"]] == [1, 2, 3] and first["NextToken"]
    rest = aws("get-execution-history", "--execution-arn", ex, "--starting-token", first["NextToken"])
    assert [e["id"] for e in rest["events"]] == [4, 5, 6]
    reverse = aws("get-execution-history", "--execution-arn", ex, "--reverse-order", "--page-size", "2")
    assert [e["id"] for e in reverse["events"]] == [6, 5, 4, 3, 2, 1]


def test_the_aws_cli_stops_redrives_and_runs_sync_executions(aws: Any) -> None:
    arn = aws("create-state-machine", "--name", "slow", "--definition", WAITING, "--role-arn", ROLE)[
        "stateMachineArn"
    ]
    ex = aws("start-execution", "--state-machine-arn", arn)["executionArn"]
    aws("stop-execution", "--execution-arn", ex, "--error", "Cli.Stop", "--cause", "done")
    d = aws("describe-execution", "--execution-arn", ex)
    assert (d["status"], d["error"], d["redriveStatus"]) == ("ABORTED", "Cli.Stop", "REDRIVABLE")
    assert "redriveDate" in aws("redrive-execution", "--execution-arn", ex)
    d = aws("describe-execution", "--execution-arn", ex)
    assert (d["status"], d["redriveCount"]) == ("RUNNING", 1)
    aws("stop-execution", "--execution-arn", ex)
    express = aws(
        "create-state-machine",
        "--name",
        "quick",
        "--definition",
        DEFINITION,
        "--role-arn",
        ROLE,
        "--type",
        "EXPRESS",
    )["stateMachineArn"]
    result = aws("start-sync-execution", "--state-machine-arn", express, "--input", "{}")
    assert result["status"] == "SUCCEEDED" and json.loads(result["output"]) == {"one": 1, "two": 2}


def test_the_aws_cli_shows_awss_errors(aws: Any) -> None:
    err = aws("describe-execution", "--execution-arn", "not-an-arn", ok=False)
    assert "An error occurred (InvalidArn) when calling the DescribeExecution operation" in err
    err = aws(
        "describe-state-machine",
        "--state-machine-arn",
        "arn:aws:states:us-east-1:123456789012:stateMachine:missing",
        ok=False,
    )
    assert "(StateMachineDoesNotExist)" in err
    err = aws("create-state-machine", "--name", "bad", "--definition", "{}", "--role-arn", ROLE, ok=False)
    assert "(InvalidDefinition)" in err
    err = aws("send-task-success", "--task-token", "nope", "--task-output", "{}", ok=False)
    assert "(InvalidToken)" in err
    assert "Traceback" not in err
