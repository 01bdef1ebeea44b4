"""State machines through the real boto3 client: create, describe, list, update, delete, validate, tags."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.statewright.api.conftest import ROLE, pass_machine
from tests.statewright.api.support import error_code


def test_create_then_describe_returns_the_definition_as_given(sfn: Any) -> None:
    definition = pass_machine(hello="world")
    created = sfn.create_state_machine(name="hello", definition=definition, roleArn=ROLE)
    assert created["stateMachineArn"] == "arn:aws:states:us-east-1:123456789012:stateMachine:hello"
    described = sfn.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert described["definition"] == definition
    assert (described["name"], described["status"], described["type"], described["roleArn"]) == (
        "hello",
        "ACTIVE",
        "STANDARD",
        ROLE,
    )
    assert described["creationDate"] == created["creationDate"]
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert described["revisionId"]


def test_an_invalid_definition_is_refused_with_the_validators_messages(sfn: Any) -> None:
    bad = json.dumps({"StartAt": "Missing", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="bad", definition=bad, roleArn=ROLE)
    assert error_code(exc) == "InvalidDefinition"
    message = exc.value.response["Error"]["Message"]
    assert message.startswith("Invalid State Machine Definition:")
    assert "MISSING_TARGET" in message and "/StartAt" in message
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="bad", definition="{not json", roleArn=ROLE)
    assert error_code(exc) == "InvalidDefinition"


def test_creating_the_same_machine_twice_answers_the_first_and_a_different_one_is_refused(sfn: Any) -> None:
    first = sfn.create_state_machine(name="twice", definition=pass_machine(), roleArn=ROLE)
    again = sfn.create_state_machine(name="twice", definition=pass_machine(), roleArn=ROLE)
    assert again["creationDate"] == first["creationDate"]
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="twice", definition=pass_machine(other=1), roleArn=ROLE)
    assert error_code(exc) == "StateMachineAlreadyExists"


def test_names_and_role_arns_are_checked(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="has space", definition=pass_machine(), roleArn=ROLE)
    assert error_code(exc) == "InvalidName"
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="ok", definition=pass_machine(), roleArn="not-an-arn")
    assert error_code(exc) == "InvalidArn"


def test_list_state_machines_pages_with_next_token(sfn: Any) -> None:
    for i in range(5):
        sfn.create_state_machine(name=f"m{i}", definition=pass_machine(), roleArn=ROLE)
    first = sfn.list_state_machines(maxResults=2)
    assert [m["name"] for m in first["stateMachines"]] == ["m0", "m1"]
    names = [m["name"] for m in first["stateMachines"]]
    token = first.get("nextToken")
    while token:
        page = sfn.list_state_machines(maxResults=2, nextToken=token)
        names += [m["name"] for m in page["stateMachines"]]
        token = page.get("nextToken")
    assert names == [f"m{i}" for i in range(5)]
    paginated = [
        m["name"] for p in sfn.get_paginator("list_state_machines").paginate() for m in p["stateMachines"]
    ]
    assert paginated == names
    with pytest.raises(ClientError) as exc:
        sfn.list_state_machines(nextToken="garbage")
    assert error_code(exc) == "InvalidToken"


def test_update_changes_what_new_executions_run(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="u", definition=pass_machine(v=1), roleArn=ROLE)["stateMachineArn"]
    before = sfn.describe_state_machine(stateMachineArn=arn)["revisionId"]
    old = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=pass_machine(v=2))
    assert updated["revisionId"] != before
    new = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert json.loads(sfn.describe_state_machine_for_execution(executionArn=old)["definition"])["States"][
        "Done"
    ]["Result"] == {"v": 1}
    assert json.loads(sfn.describe_state_machine_for_execution(executionArn=new)["definition"])["States"][
        "Done"
    ]["Result"] == {"v": 2}
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=arn)
    assert error_code(exc) == "MissingRequiredParameter"
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=arn, definition='{"StartAt": 1}')
    assert error_code(exc) == "InvalidDefinition"


def test_delete_then_describe_is_state_machine_does_not_exist(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="gone", definition=pass_machine(), roleArn=ROLE)["stateMachineArn"]
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert error_code(exc) == "StateMachineDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn)
    assert error_code(exc) == "StateMachineDoesNotExist"


def test_validate_reports_diagnostics_with_code_message_and_location(sfn: Any) -> None:
    ok = sfn.validate_state_machine_definition(definition=pass_machine())
    assert ok["result"] == "OK" and ok["diagnostics"] == []
    bad = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Task", "End": True}}})
    report = sfn.validate_state_machine_definition(definition=bad)
    assert report["result"] == "FAIL" and report["truncated"] is False
    diag = report["diagnostics"][0]
    assert diag["severity"] == "ERROR" and diag["code"] and diag["location"].startswith("/States/A")
    assert "Resource" in diag["message"]


def test_tags_on_state_machines_and_activities(sfn: Any) -> None:
    arn = sfn.create_state_machine(
        name="tagged", definition=pass_machine(), roleArn=ROLE, tags=[{"key": "team", "value": "data"}]
    )["stateMachineArn"]
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "test"}])
    assert sorted((t["key"], t["value"]) for t in sfn.list_tags_for_resource(resourceArn=arn)["tags"]) == [
        ("env", "test"),
        ("team", "data"),
    ]
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "test"}]
    activity = sfn.create_activity(name="worker", tags=[{"key": "a", "value": "b"}])["activityArn"]
    assert sfn.list_tags_for_resource(resourceArn=activity)["tags"] == [{"key": "a", "value": "b"}]
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:nothing"
    with pytest.raises(ClientError) as exc:
        sfn.list_tags_for_resource(resourceArn=missing)
    assert error_code(exc) == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        sfn.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": ""} for i in range(51)])
    assert error_code(exc) == "TooManyTags"
