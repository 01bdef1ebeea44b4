"""`statewright serve --store URL`: a restart of the server in between loses nothing."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.statewright.api.conftest import ROLE, client, pass_machine
from tests.statewright.api.support import ServeProcess, error_code, finished


def test_a_restart_with_a_sqlite_store_loses_nothing(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'sfn.db'}"
    first = ServeProcess("--store", store)
    try:
        sfn = client(first.url)
        done_machine = sfn.create_state_machine(name="done", definition=pass_machine(v=1), roleArn=ROLE)[
            "stateMachineArn"
        ]
        done = sfn.start_execution(stateMachineArn=done_machine, name="finished", input='{"a": 1}')[
            "executionArn"
        ]
        assert finished(sfn, done)["status"] == "SUCCEEDED"
        activity = sfn.create_activity(name="approve")["activityArn"]
        waiting_def = json.dumps(
            {
                "StartAt": "Approve",
                "States": {
                    "Approve": {
                        "Type": "Task",
                        "Resource": activity,
                        "ResultPath": "$.approval",
                        "Next": "After",
                    },
                    "After": {"Type": "Pass", "End": True},
                },
            }
        )
        waiting_machine = sfn.create_state_machine(name="approval", definition=waiting_def, roleArn=ROLE)[
            "stateMachineArn"
        ]
        waiting = sfn.start_execution(stateMachineArn=waiting_machine, name="pending", input='{"order": 7}')[
            "executionArn"
        ]
        task = sfn.get_activity_task(activityArn=activity, workerName="before-restart")
        token = task["taskToken"]
        assert json.loads(task["input"]) == {"order": 7}
        before = sfn.get_execution_history(executionArn=waiting)["events"]
    finally:
        code, err = first.stop()
    assert code == 0 and "Traceback" not in err

    second = ServeProcess("--store", store)
    try:
        sfn = client(second.url)
        metrics = urllib.request.urlopen(second.url + "/metrics", timeout=10).read().decode()
        assert "statewright_waiting_executions 1.0" in metrics  # the resumed activity Task, parked
        assert json.loads(
            sfn.describe_state_machine(stateMachineArn=done_machine)["definition"]
        ) == json.loads(pass_machine(v=1))
        assert {m["name"] for m in sfn.list_state_machines()["stateMachines"]} == {"done", "approval"}
        old = sfn.describe_execution(executionArn=done)
        assert (old["status"], json.loads(old["output"]), old["input"]) == ("SUCCEEDED", {"v": 1}, '{"a":1}')
        assert [e["type"] for e in sfn.get_execution_history(executionArn=done)["events"]][
            -1
        ] == "ExecutionSucceeded"
        assert sfn.describe_execution(executionArn=waiting)["status"] == "RUNNING"
        listed = sfn.list_executions(stateMachineArn=waiting_machine)["executions"]
        assert [e["name"] for e in listed] == ["pending"]
        # The token handed out before the restart still answers the Task.
        sfn.send_task_success(taskToken=token, output='{"ok": true}')
        d = finished(sfn, waiting)
        assert d["status"] == "SUCCEEDED"
        assert json.loads(d["output"]) == {"order": 7, "approval": {"ok": True}}
        after = sfn.get_execution_history(executionArn=waiting)["events"]
        assert [e["id"] for e in after[: len(before)]] == [e["id"] for e in before]
        assert [e["id"] for e in after] == list(range(1, len(after) + 1))
        assert after[-1]["type"] == "ExecutionSucceeded"
    finally:
        code, err = second.stop()
    assert code == 0 and "Traceback" not in err


def test_history_and_executions_page_from_a_sqlite_store(tmp_path: Path) -> None:
    from tests.statewright.api.conftest import ThreadedApi
    from tests.statewright.api.support import pass_chain

    api = ThreadedApi(store=f"sqlite:///{tmp_path / 'pages.db'}").start()
    try:
        sfn = client(api.url)
        arn = sfn.create_state_machine(name="pages", definition=pass_chain(3), roleArn=ROLE)[
            "stateMachineArn"
        ]
        runs = [sfn.start_execution(stateMachineArn=arn, name=f"p{i}")["executionArn"] for i in range(3)]
        for ex in runs:
            assert finished(sfn, ex)["status"] == "SUCCEEDED"
        forward = [
            e["id"]
            for p in sfn.get_paginator("get_execution_history").paginate(
                executionArn=runs[0], PaginationConfig={"PageSize": 3}
            )
            for e in p["events"]
        ]
        assert forward == list(range(1, 9))
        first = sfn.get_execution_history(executionArn=runs[0], maxResults=3, reverseOrder=True)
        second = sfn.get_execution_history(
            executionArn=runs[0], maxResults=3, reverseOrder=True, nextToken=first["nextToken"]
        )
        assert [e["id"] for e in first["events"] + second["events"]] == [8, 7, 6, 5, 4, 3]
        bare = sfn.get_execution_history(executionArn=runs[0], includeExecutionData=False)["events"]
        assert "input" not in bare[0]["executionStartedEventDetails"]
        names = [
            e["name"]
            for p in sfn.get_paginator("list_executions").paginate(
                stateMachineArn=arn, PaginationConfig={"PageSize": 1}
            )
            for e in p["executions"]
        ]
        assert names == ["p2", "p1", "p0"]
        succeeded = sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED")["executions"]
        assert len(succeeded) == 3
    finally:
        api.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_deletions_tags_settings_and_activities_are_the_same_after_a_restart(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = (
        f"sqlite:///{tmp_path / 'sfn.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    )
    logging = {"level": "ERROR", "includeExecutionData": True}
    first = ServeProcess("--store", store)
    try:
        sfn = client(first.url)
        gone = sfn.create_state_machine(name="gone", definition=pass_machine(), roleArn=ROLE)[
            "stateMachineArn"
        ]
        kept = sfn.create_state_machine(
            name="kept", definition=pass_machine(), roleArn=ROLE, tags=[{"key": "team", "value": "data"}]
        )["stateMachineArn"]
        sfn.delete_state_machine(stateMachineArn=gone)
        sfn.tag_resource(
            resourceArn=kept, tags=[{"key": "env", "value": "test"}, {"key": "cost", "value": "1"}]
        )
        sfn.untag_resource(resourceArn=kept, tagKeys=["cost"])
        updated = sfn.update_state_machine(
            stateMachineArn=kept, loggingConfiguration=logging, tracingConfiguration={"enabled": True}
        )
        before = sfn.describe_state_machine(stateMachineArn=kept)
        worker = sfn.create_activity(name="worker", tags=[{"key": "a", "value": "b"}])
        dropped = sfn.create_activity(name="dropped")["activityArn"]
        sfn.delete_activity(activityArn=dropped)
    finally:
        code, err = first.stop()
    assert code == 0 and "Traceback" not in err

    second = ServeProcess("--store", store)
    try:
        sfn = client(second.url)
        with pytest.raises(ClientError) as exc:
            sfn.describe_state_machine(stateMachineArn=gone)
        assert error_code(exc) == "StateMachineDoesNotExist"
        assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["kept"]
        tags = sfn.list_tags_for_resource(resourceArn=kept)["tags"]
        assert sorted((t["key"], t["value"]) for t in tags) == [("env", "test"), ("team", "data")]
        after = sfn.describe_state_machine(stateMachineArn=kept)
        assert after == {**before, "ResponseMetadata": after["ResponseMetadata"]}
        assert (after["revisionId"], after["loggingConfiguration"]) == (updated["revisionId"], logging)
        assert after["tracingConfiguration"] == {"enabled": True}
        activities = sfn.list_activities()["activities"]
        assert [(a["activityArn"], a["creationDate"]) for a in activities] == [
            (worker["activityArn"], worker["creationDate"])
        ]
        assert sfn.list_tags_for_resource(resourceArn=worker["activityArn"])["tags"] == [
            {"key": "a", "value": "b"}
        ]
        with pytest.raises(ClientError) as exc:
            sfn.describe_activity(activityArn=dropped)
        assert error_code(exc) == "ActivityDoesNotExist"
        # The deleted name is free again, and starts with nothing of the old machine.
        again = sfn.create_state_machine(name="gone", definition=pass_machine(v=2), roleArn=ROLE)[
            "stateMachineArn"
        ]
        assert sfn.list_tags_for_resource(resourceArn=again)["tags"] == []
    finally:
        code, err = second.stop()
    assert code == 0 and "Traceback" not in err


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_redrive_on_a_durable_store_survives_restarts_before_and_after_it(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = (
        f"sqlite:///{tmp_path / 'sfn.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    )

    def serve(body: Any) -> Any:
        server = ServeProcess("--store", store)
        try:
            return body(client(server.url))
        finally:
            code, err = server.stop()
            assert code == 0 and "Traceback" not in err

    def fail_once(sfn: Any) -> str:
        activity = sfn.create_activity(name="approve")["activityArn"]
        definition = json.dumps(
            {"StartAt": "Approve", "States": {"Approve": {"Type": "Task", "Resource": activity, "End": True}}}
        )
        machine = sfn.create_state_machine(name="approval", definition=definition, roleArn=ROLE)[
            "stateMachineArn"
        ]
        ex: str = sfn.start_execution(stateMachineArn=machine, name="once", input='{"n": 1}')["executionArn"]
        token = sfn.get_activity_task(activityArn=activity)["taskToken"]
        sfn.send_task_failure(taskToken=token, error="Rejected", cause="not yet")
        assert finished(sfn, ex)["status"] == "FAILED"
        return ex

    ex = serve(fail_once)

    def redrive(sfn: Any) -> Any:
        d = sfn.describe_execution(executionArn=ex)
        assert (d["status"], d["error"], d["redriveStatus"], d["redriveCount"]) == (
            "FAILED",
            "Rejected",
            "REDRIVABLE",
            0,
        )
        answer = sfn.redrive_execution(executionArn=ex)
        d = sfn.describe_execution(executionArn=ex)
        assert (d["status"], d["redriveCount"], d["redriveDate"]) == ("RUNNING", 1, answer["redriveDate"])
        return answer["redriveDate"]

    redriven_at = serve(redrive)

    def finish(sfn: Any) -> None:
        d = sfn.describe_execution(executionArn=ex)
        assert (d["status"], d["redriveCount"], d["redriveDate"]) == ("RUNNING", 1, redriven_at)
        activity = sfn.list_activities()["activities"][0]["activityArn"]
        task = sfn.get_activity_task(activityArn=activity, workerName="after-restart")
        assert json.loads(task["input"]) == {"n": 1}
        sfn.send_task_success(taskToken=task["taskToken"], output='{"approved": true}')
        d = finished(sfn, ex)
        assert (d["status"], json.loads(d["output"]), d["redriveCount"]) == (
            "SUCCEEDED",
            {"approved": True},
            1,
        )
        events = sfn.get_execution_history(executionArn=ex)["events"]
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        types = [e["type"] for e in events]
        assert types.count("ExecutionRedriven") == 1 and types.count("ExecutionFailed") == 1
        assert types[-1] == "ExecutionSucceeded"
        listed = sfn.list_executions(stateMachineArn=d["stateMachineArn"], redriveFilter="REDRIVEN")
        assert [(e["name"], e["redriveCount"]) for e in listed["executions"]] == [("once", 1)]
        with pytest.raises(ClientError) as exc:
            sfn.redrive_execution(executionArn=ex)
        assert error_code(exc) == "ExecutionNotRedrivable"

    serve(finish)
