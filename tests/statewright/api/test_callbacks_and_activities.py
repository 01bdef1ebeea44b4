"""Callbacks and activities through boto3: .waitForTaskToken round trips, activity workers, token errors."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from engine.callbacks import new_token
from tests.statewright.api.conftest import ROLE, ThreadedApi
from tests.statewright.api.support import error_code, finished

WAIT_LAMBDA = "arn:aws:states:::lambda:invoke.waitForTaskToken"


def _callback_machine(**task: Any) -> str:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": WAIT_LAMBDA,
        "Parameters": {
            "FunctionName": "enqueue",
            "Payload": {"token.$": "$$.Task.Token", "order.$": "$.order"},
        },
        "End": True,
    }
    state.update(task)
    return json.dumps({"StartAt": "Wait for approval", "States": {"Wait for approval": state}})


@pytest.fixture
def inbox(api: ThreadedApi) -> list[dict[str, Any]]:
    """What the 'enqueue' Lambda function received: the payloads carrying task tokens."""
    received: list[dict[str, Any]] = []

    def enqueue(payload: Any) -> Any:
        received.append(payload)
        return {"queued": True}

    api.add_function("enqueue", enqueue)
    return received


def _wait_for(cond: Any) -> None:
    deadline = time.monotonic() + 20
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_wait_for_task_token_round_trip(sfn: Any, inbox: list[dict[str, Any]]) -> None:
    arn = sfn.create_state_machine(name="approve", definition=_callback_machine(), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ex = sfn.start_execution(stateMachineArn=arn, input='{"order": 42}')["executionArn"]
    _wait_for(lambda: inbox)
    token = inbox[0]["token"]
    assert inbox[0]["order"] == 42 and len(token) >= 64
    assert sfn.describe_execution(executionArn=ex)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output='{"approved": true}')
    d = finished(sfn, ex)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"approved": True}
    types = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
    assert types[:6] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
    ]
    # The token is spent: a second answer finds no task.
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=token, output="{}")
    assert error_code(exc) == "TaskDoesNotExist"
    assert token not in json.dumps(exc.value.response["Error"])


def test_send_task_failure_fails_the_execution(sfn: Any, inbox: list[dict[str, Any]]) -> None:
    arn = sfn.create_state_machine(name="deny", definition=_callback_machine(), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ex = sfn.start_execution(stateMachineArn=arn, input='{"order": 1}')["executionArn"]
    _wait_for(lambda: inbox)
    sfn.send_task_failure(taskToken=inbox[0]["token"], error="Order.Denied", cause="out of stock")
    d = finished(sfn, ex)
    assert (d["status"], d["error"], d["cause"]) == ("FAILED", "Order.Denied", "out of stock")


def test_token_errors(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken="forged", output="{}")
    assert error_code(exc) == "InvalidToken"
    with pytest.raises(ClientError) as exc:
        sfn.send_task_heartbeat(taskToken=new_token())
    assert error_code(exc) == "TaskDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=new_token(), output="not json")
    assert error_code(exc) == "InvalidOutput"


def _activity_machine(activity_arn: str, **task: Any) -> str:
    state: dict[str, Any] = {"Type": "Task", "Resource": activity_arn, "End": True}
    state.update(task)
    return json.dumps({"StartAt": "Work", "States": {"Work": state}})


def test_an_activity_worker_written_for_aws_runs_unchanged(api: ThreadedApi, sfn: Any) -> None:
    activity = sfn.create_activity(name="resize")["activityArn"]
    assert activity == "arn:aws:states:us-east-1:123456789012:activity:resize"
    assert sfn.describe_activity(activityArn=activity)["name"] == "resize"
    assert [a["name"] for a in sfn.list_activities()["activities"]] == ["resize"]
    arn = sfn.create_state_machine(name="images", definition=_activity_machine(activity), roleArn=ROLE)[
        "stateMachineArn"
    ]
    done: list[str] = []

    def worker() -> None:
        # The standard boto3 activity worker loop.
        while len(done) < 2:
            task = sfn.get_activity_task(activityArn=activity, workerName="worker-1")
            if not task.get("taskToken"):
                continue
            image = json.loads(task["input"])["image"]
            sfn.send_task_heartbeat(taskToken=task["taskToken"])
            sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"resized": image}))
            done.append(image)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    executions = [
        sfn.start_execution(stateMachineArn=arn, input=json.dumps({"image": name}))["executionArn"]
        for name in ("a.png", "b.png")
    ]
    thread.join(30)
    outputs = sorted(json.loads(finished(sfn, ex)["output"])["resized"] for ex in executions)
    assert outputs == ["a.png", "b.png"]
    events = sfn.get_execution_history(executionArn=executions[0])["events"]
    started = [e for e in events if e["type"] == "ActivityStarted"]
    assert started[0]["activityStartedEventDetails"] == {"workerName": "worker-1"}
    types = [e["type"] for e in events]
    assert types[1:5] == ["TaskStateEntered", "ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]
    assert not [
        t for t in types if t.startswith("Task") and t != "TaskStateEntered" and t != "TaskStateExited"
    ]
    scheduled = events[2]["activityScheduledEventDetails"]
    assert scheduled["resource"] == activity and json.loads(scheduled["input"]) == {"image": "a.png"}


def test_get_activity_task_long_polls_then_answers_no_token(api: ThreadedApi, sfn: Any) -> None:
    activity = sfn.create_activity(name="idle")["activityArn"]
    api.service_poll_seconds(0.3)
    t0 = time.monotonic()
    task = sfn.get_activity_task(activityArn=activity)
    assert time.monotonic() - t0 >= 0.3 and not task.get("taskToken")


def test_a_worker_polling_first_gets_the_task_as_soon_as_it_is_scheduled(api: ThreadedApi, sfn: Any) -> None:
    activity = sfn.create_activity(name="eager")["activityArn"]
    arn = sfn.create_state_machine(name="eager", definition=_activity_machine(activity), roleArn=ROLE)[
        "stateMachineArn"
    ]
    got: list[dict[str, Any]] = []
    thread = threading.Thread(
        target=lambda: got.append(sfn.get_activity_task(activityArn=activity)), daemon=True
    )
    thread.start()
    time.sleep(0.2)
    ex = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    thread.join(20)
    assert json.loads(got[0]["input"]) == {"n": 1}
    sfn.send_task_failure(taskToken=got[0]["taskToken"], error="Worker.Crashed")
    assert finished(sfn, ex)["error"] == "Worker.Crashed"


def test_activity_errors(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:activity:missing"
    with pytest.raises(ClientError) as exc:
        sfn.get_activity_task(activityArn=missing)
    assert error_code(exc) == "ActivityDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.describe_activity(activityArn="arn:aws:states:us-east-1:123456789012:stateMachine:x")
    assert error_code(exc) == "InvalidArn"
    arn = sfn.create_activity(name="temp")["activityArn"]
    sfn.delete_activity(activityArn=arn)
    with pytest.raises(ClientError) as exc:
        sfn.describe_activity(activityArn=arn)
    assert error_code(exc) == "ActivityDoesNotExist"


def test_a_poller_that_went_away_does_not_take_the_task(api: ThreadedApi, sfn: Any) -> None:
    import http.client
    from urllib.parse import urlsplit

    activity = sfn.create_activity(name="abandoned")["activityArn"]
    u = urlsplit(api.url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=30)
    conn.request(
        "POST",
        "/",
        body=json.dumps({"activityArn": activity}),
        headers={
            "X-Amz-Target": "AWSStepFunctions.GetActivityTask",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    time.sleep(0.2)
    conn.close()  # the worker is gone while its poll waits
    time.sleep(0.2)
    arn = sfn.create_state_machine(name="abandoned", definition=_activity_machine(activity), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ex = sfn.start_execution(stateMachineArn=arn, input='{"n": 2}')["executionArn"]
    task = sfn.get_activity_task(activityArn=activity, workerName="second")
    assert json.loads(task["input"]) == {"n": 2}
    sfn.send_task_success(taskToken=task["taskToken"], output='"ok"')
    assert finished(sfn, ex)["status"] == "SUCCEEDED"
