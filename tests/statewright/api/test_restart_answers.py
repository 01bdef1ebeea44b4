"""`statewright serve --store URL`: what the server answers about executions, machines and tags is the same
after a restart as before it (the revision an execution started with, DELETING, ListExecutions' fields,
the order of tags), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.statewright.api.conftest import ROLE, ThreadedApi, client, pass_machine
from tests.statewright.api.support import ServeProcess, error_code, finished

both_stores = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])


@pytest.fixture
def store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'sfn.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def serve(store: str, body: Callable[[Any], Any]) -> Any:
    """Run ``body(sfn)`` against a fresh ``statewright serve --store STORE``, stopped after it."""
    server = ServeProcess("--store", store)
    try:
        return body(client(server.url))
    finally:
        code, err = server.stop()
        assert code == 0 and "Traceback" not in err, err


def activity_machine(activity: str) -> str:
    """A definition waiting on ``activity``, written with indentation (kept exactly as given)."""
    return json.dumps(
        {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}}}, indent=2
    )


def without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


@both_stores
def test_describe_state_machine_for_execution_answers_the_revision_it_started_with_after_a_restart(
    store: str,
) -> None:
    logging = {"level": "ERROR", "includeExecutionData": True}

    def before(sfn: Any) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
        activity = sfn.create_activity(name="work")["activityArn"]
        definition = activity_machine(activity)
        machine = sfn.create_state_machine(
            name="revised", definition=definition, roleArn=ROLE, loggingConfiguration=logging
        )["stateMachineArn"]
        first_revision = sfn.describe_state_machine(stateMachineArn=machine)["revisionId"]
        running = sfn.start_execution(stateMachineArn=machine, name="running")["executionArn"]
        answered = without_metadata(sfn.describe_state_machine_for_execution(executionArn=running))
        assert (answered["definition"], answered["revisionId"]) == (definition, first_revision)
        sfn.update_state_machine(
            stateMachineArn=machine,
            definition=pass_machine(v=2),
            roleArn=ROLE.replace("test", "other"),
            tracingConfiguration={"enabled": True},
        )
        later = sfn.start_execution(stateMachineArn=machine, name="later")["executionArn"]
        assert finished(sfn, later)["status"] == "SUCCEEDED"
        answered_later = without_metadata(sfn.describe_state_machine_for_execution(executionArn=later))
        assert answered_later["revisionId"] != first_revision
        # Still the first revision after the update, before any restart.
        assert without_metadata(sfn.describe_state_machine_for_execution(executionArn=running)) == answered
        return running, later, answered, answered_later

    running, later, answered, answered_later = serve(store, before)

    def after(sfn: Any) -> None:
        assert without_metadata(sfn.describe_state_machine_for_execution(executionArn=running)) == answered
        assert without_metadata(sfn.describe_state_machine_for_execution(executionArn=later)) == answered_later
        assert answered["loggingConfiguration"] == logging
        assert answered_later["tracingConfiguration"] == {"enabled": True}

    serve(store, after)


@both_stores
def test_a_machine_deleted_while_an_execution_runs_is_deleting_across_a_restart_then_gone(store: str) -> None:
    def delete_while_running(sfn: Any) -> tuple[str, str]:
        activity = sfn.create_activity(name="work")["activityArn"]
        machine = sfn.create_state_machine(
            name="doomed",
            definition=activity_machine(activity),
            roleArn=ROLE,
            tags=[{"key": "old", "value": "yes"}],
        )["stateMachineArn"]
        sfn.start_execution(stateMachineArn=machine, name="last")
        sfn.delete_state_machine(stateMachineArn=machine)
        assert sfn.describe_state_machine(stateMachineArn=machine)["status"] == "DELETING"
        return machine, activity

    machine, activity = serve(store, delete_while_running)

    def finish(sfn: Any) -> str:
        assert sfn.describe_state_machine(stateMachineArn=machine)["status"] == "DELETING"
        assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["doomed"]
        with pytest.raises(ClientError) as exc:
            sfn.start_execution(stateMachineArn=machine)
        assert error_code(exc) == "StateMachineDeleting"
        task = sfn.get_activity_task(activityArn=activity, workerName="w")
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
        ex = machine.replace(":stateMachine:", ":execution:") + ":last"
        assert finished(sfn, ex)["status"] == "SUCCEEDED"
        with pytest.raises(ClientError) as exc:
            sfn.describe_state_machine(stateMachineArn=machine)
        assert error_code(exc) == "StateMachineDoesNotExist"
        return ex

    ex = serve(store, finish)

    def gone(sfn: Any) -> None:
        with pytest.raises(ClientError) as exc:
            sfn.describe_state_machine(stateMachineArn=machine)
        assert error_code(exc) == "StateMachineDoesNotExist"
        assert sfn.list_state_machines()["stateMachines"] == []
        assert sfn.describe_execution(executionArn=ex)["status"] == "SUCCEEDED"
        again = sfn.create_state_machine(name="doomed", definition=pass_machine(), roleArn=ROLE)
        assert sfn.list_tags_for_resource(resourceArn=again["stateMachineArn"])["tags"] == []

    serve(store, gone)


@both_stores
def test_a_machine_deleted_while_running_is_gone_once_its_execution_ends_and_its_name_is_free(
    store: str,
) -> None:
    def body(sfn: Any) -> None:
        activity = sfn.create_activity(name="work")["activityArn"]
        machine = sfn.create_state_machine(
            name="reused", definition=activity_machine(activity), roleArn=ROLE, tags=[{"key": "a", "value": "1"}]
        )
        arn = machine["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        sfn.delete_state_machine(stateMachineArn=arn)
        task = sfn.get_activity_task(activityArn=activity, workerName="w")
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
        assert finished(sfn, ex)["status"] == "SUCCEEDED"
        with pytest.raises(ClientError) as exc:
            sfn.describe_state_machine(stateMachineArn=arn)
        assert error_code(exc) == "StateMachineDoesNotExist"
        again = sfn.create_state_machine(name="reused", definition=pass_machine(), roleArn=ROLE)
        assert again["creationDate"] > machine["creationDate"]
        assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == []

    serve(store, body)

    def after(sfn: Any) -> None:
        [listed] = sfn.list_state_machines()["stateMachines"]
        assert listed["name"] == "reused"
        assert sfn.describe_state_machine(stateMachineArn=listed["stateMachineArn"])["status"] == "ACTIVE"
        assert sfn.list_tags_for_resource(resourceArn=listed["stateMachineArn"])["tags"] == []

    serve(store, after)


@both_stores
def test_list_executions_after_a_restart_gives_the_fields_describe_execution_gives(store: str) -> None:
    def before(sfn: Any) -> str:
        activity = sfn.create_activity(name="work")["activityArn"]
        machine = sfn.create_state_machine(name="listed", definition=activity_machine(activity), roleArn=ROLE)[
            "stateMachineArn"
        ]
        failed = sfn.start_execution(stateMachineArn=machine, name="redriven")["executionArn"]
        task = sfn.get_activity_task(activityArn=activity)
        sfn.send_task_failure(taskToken=task["taskToken"], error="No", cause="not yet")
        assert finished(sfn, failed)["status"] == "FAILED"
        sfn.redrive_execution(executionArn=failed)
        task = sfn.get_activity_task(activityArn=activity)
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
        assert finished(sfn, failed)["status"] == "SUCCEEDED"
        sfn.start_execution(stateMachineArn=machine, name="plain")
        return machine

    machine = serve(store, before)

    def after(sfn: Any) -> None:
        # Listed first: nothing of these executions is in the new server's memory yet.
        listed = sfn.list_executions(stateMachineArn=machine)["executions"]
        assert [e["name"] for e in listed] == ["plain", "redriven"]
        for item in listed:
            described = sfn.describe_execution(executionArn=item["executionArn"])
            assert item == {k: described[k] for k in item}, item["name"]
        assert listed[1]["redriveCount"] == 1 and "redriveDate" in listed[1]
        assert "redriveDate" not in listed[0]

    serve(store, after)


@both_stores
def test_list_tags_for_resource_answers_in_key_order_before_and_after_a_restart(store: str) -> None:
    tags = [{"key": "zone", "value": "1"}, {"key": "Team", "value": "2"}, {"key": "app", "value": "3"}]

    def before(sfn: Any) -> tuple[str, list[dict[str, str]]]:
        machine = sfn.create_state_machine(name="tagged", definition=pass_machine(), roleArn=ROLE, tags=tags[:1])[
            "stateMachineArn"
        ]
        sfn.tag_resource(resourceArn=machine, tags=tags[1:])
        answer: list[dict[str, str]] = sfn.list_tags_for_resource(resourceArn=machine)["tags"]
        return machine, answer

    machine, answered = serve(store, before)
    assert [t["key"] for t in answered] == ["Team", "app", "zone"]
    assert serve(store, lambda sfn: sfn.list_tags_for_resource(resourceArn=machine)["tags"]) == answered


def test_list_tags_for_resource_answers_in_key_order_without_a_store() -> None:
    api = ThreadedApi().start()
    try:
        sfn = client(api.url)
        activity = sfn.create_activity(name="tagged", tags=[{"key": "b", "value": "1"}])["activityArn"]
        sfn.tag_resource(resourceArn=activity, tags=[{"key": "a", "value": "2"}, {"key": "B", "value": "3"}])
        assert [t["key"] for t in sfn.list_tags_for_resource(resourceArn=activity)["tags"]] == ["B", "a", "b"]
    finally:
        api.stop()
