"""`stateMachineArn#TestCase`: Step Functions Local's mock configuration through the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.statewright.api.conftest import ROLE, ThreadedApi, client
from tests.statewright.api.support import finished

DEFINITION = json.dumps(
    {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": "https://sqs.example/q", "MessageBody.$": "$"},
                "End": True,
            }
        },
    }
)
MOCKS = {
    "StateMachines": {"Notify": {"TestCases": {"Sent": {"Send": "Queued"}, "Broken": {"Send": "Down"}}}},
    "MockedResponses": {
        "Queued": {"0": {"Return": {"MessageId": "m-1"}}},
        "Down": {"0": {"Throw": {"Error": "SQS.ServiceUnavailable", "Cause": "down"}}},
    },
}


@pytest.fixture
def mocked_api(tmp_path: Path) -> Iterator[ThreadedApi]:
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(MOCKS))
    server = ThreadedApi(mock_config=str(path)).start()
    try:
        yield server
    finally:
        server.stop()


def test_start_execution_with_a_test_case_answers_its_mocked_tasks(mocked_api: ThreadedApi) -> None:
    sfn: Any = client(mocked_api.url)
    # sqs:sendMessage has no executor here: a machine of the mock configuration is accepted anyway.
    arn = sfn.create_state_machine(name="Notify", definition=DEFINITION, roleArn=ROLE)["stateMachineArn"]
    sent = sfn.start_execution(stateMachineArn=f"{arn}#Sent", input='{"hello": 1}')["executionArn"]
    d = finished(sfn, sent)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"MessageId": "m-1"}
    broken = sfn.start_execution(stateMachineArn=f"{arn}#Broken")["executionArn"]
    d = finished(sfn, broken)
    assert (d["status"], d["error"]) == ("FAILED", "SQS.ServiceUnavailable")
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=f"{arn}#NoSuchCase")
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="Other", definition=DEFINITION, roleArn=ROLE)
    assert exc.value.response["Error"]["Code"] == "InvalidDefinition"  # not in the mock configuration
