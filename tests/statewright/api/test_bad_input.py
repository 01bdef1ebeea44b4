"""Bad requests get AWS's error shape and status, never a traceback, and the server keeps serving."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.statewright.api.conftest import ROLE, ThreadedApi, pass_machine
from tests.statewright.api.support import raw

TARGET = "AWSStepFunctions."


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.DEBUG)
    yield
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("body", "target", "code"),
    [
        (b"{not json", TARGET + "ListStateMachines", "SerializationException"),
        (b"[1, 2]", TARGET + "ListStateMachines", "SerializationException"),
        (b"{}", None, "UnknownOperationException"),
        (b"{}", "AWSStepFunctions.Nope", "UnknownOperationException"),
        (b"{}", "SomethingElse.ListStateMachines", "UnknownOperationException"),
        (b'{"maxResults": "ten"}', TARGET + "ListStateMachines", "SerializationException"),
        (b'{"maxResults": true}', TARGET + "ListStateMachines", "SerializationException"),
        (b'{"maxResults": 5000}', TARGET + "ListStateMachines", "ValidationException"),
        (b'{"surprise": 1}', TARGET + "ListStateMachines", "ValidationException"),
        (b"{}", TARGET + "DescribeExecution", "ValidationException"),
        (b'{"executionArn": "arn:aws:sqs:us-east-1:1:q"}', TARGET + "DescribeExecution", "InvalidArn"),
        (
            b'{"stateMachineArn": "arn:aws:states:us-east-1:123456789012:execution:a:b"}',
            TARGET + "DescribeStateMachine",
            "InvalidArn",
        ),
        (
            b'{"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:none"}',
            TARGET + "DescribeStateMachine",
            "StateMachineDoesNotExist",
        ),
        (
            b'{"statusFilter": "DONE", "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"}',
            TARGET + "ListExecutions",
            "ValidationException",
        ),
        (b"{}", TARGET + "DescribeMapRun", "ValidationException"),
        (
            b'{"mapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:a/b:c"}',
            TARGET + "DescribeMapRun",
            "ResourceNotFound",
        ),
    ],
)
def test_bad_requests_answer_aws_errors(api: ThreadedApi, body: bytes, target: str | None, code: str) -> None:
    status, answer = raw(api, body, target)
    assert (status, answer["__type"]) == (400, code)
    assert isinstance(answer["message"], str) and answer["message"]
    # ... and the server keeps serving.
    assert raw(api, b"{}", TARGET + "ListStateMachines") == (200, {"stateMachines": []})


def test_validation_messages_are_awss(api: ThreadedApi) -> None:
    _, answer = raw(api, b'{"maxResults": 5000}', TARGET + "ListStateMachines")
    assert answer["message"] == (
        "1 validation error detected: Value '5000' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 1000"
    )
    _, answer = raw(api, b"{}", TARGET + "DescribeExecution")
    assert answer["message"] == (
        "1 validation error detected: Value null at 'executionArn' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_inputs_over_256_kib_are_refused(api: ThreadedApi, sfn: Any) -> None:
    arn = sfn.create_state_machine(name="big", definition=pass_machine(), roleArn=ROLE)["stateMachineArn"]
    too_many_chars = json.dumps({"x": "a" * 262_144})
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, input=too_many_chars)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "262144" in exc.value.response["Error"]["Message"]
    # Under the character limit but over 262,144 bytes of UTF-8: the engine's size guard.
    too_many_bytes = json.dumps({"x": "é" * 140_000}, ensure_ascii=False)
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, input=too_many_bytes)
    assert exc.value.response["Error"]["Code"] == "InvalidExecutionInput"
    assert "DataLimitExceeded" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken="x", output=json.dumps({"x": "a" * 262_144}))
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_a_request_over_the_body_limit_is_413(api: ThreadedApi) -> None:
    body = json.dumps({"name": "x", "definition": "a" * (6 * 1024 * 1024), "roleArn": ROLE}).encode()
    status, answer = raw(api, body, TARGET + "CreateStateMachine")
    assert status == 413 and answer["__type"] == "RequestEntityTooLargeException"
    assert raw(api, b"{}", TARGET + "ListActivities")[0] == 200


def test_other_paths_answer_404_in_awss_shape(api: ThreadedApi) -> None:
    status, answer = raw(api, b"", None, method="GET", path="/nothing")
    assert status == 404 and answer["__type"] == "UnknownOperationException"
