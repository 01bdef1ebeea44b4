"""Executions through the real boto3 client: start, describe, list, history, stop, redrive, sync."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.statewright.api.conftest import ROLE, ThreadedApi, pass_machine
from tests.statewright.api.support import error_code, finished, pass_chain

LAMBDA = "arn:aws:states:::lambda:invoke"


WAITING = json.dumps(
    {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 3600, "End": True}}}
)


@pytest.fixture
def machine(sfn: Any) -> str:
    return str(
        sfn.create_state_machine(name="chain", definition=pass_chain(5), roleArn=ROLE)["stateMachineArn"]
    )


def test_start_and_describe_a_successful_execution(sfn: Any, machine: str) -> None:
    started = sfn.start_execution(stateMachineArn=machine, name="first", input='{"x": 1}')
    assert started["executionArn"] == "arn:aws:states:us-east-1:123456789012:execution:chain:first"
    d = finished(sfn, started["executionArn"])
    assert d["status"] == "SUCCEEDED" and d["name"] == "first" and d["stateMachineArn"] == machine
    assert d["input"] == '{"x": 1}'
    assert json.loads(d["output"]) == {"x": 1, "s0": 0, "s1": 1, "s2": 2, "s3": 3, "s4": 4}
    assert d["startDate"] <= d["stopDate"]
    assert (d["redriveCount"], d["redriveStatus"]) == (0, "NOT_REDRIVABLE")


def test_the_same_name_and_input_while_running_is_the_same_execution(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="slow", definition=WAITING, roleArn=ROLE)["stateMachineArn"]
    a = sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    b = sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    assert a["executionArn"] == b["executionArn"] and a["startDate"] == b["startDate"]
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="once", input='{"other": true}')
    assert error_code(exc) == "ExecutionAlreadyExists"
    sfn.stop_execution(executionArn=a["executionArn"])
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
    assert error_code(exc) == "ExecutionAlreadyExists"


def test_bad_execution_input_and_unknown_executions(sfn: Any, machine: str) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=machine, input="{not json")
    assert error_code(exc) == "InvalidExecutionInput"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=machine, name="bad/name")
    assert error_code(exc) == "InvalidName"
    with pytest.raises(ClientError) as exc:
        sfn.describe_execution(executionArn="arn:aws:states:us-east-1:123456789012:execution:chain:nope")
    assert error_code(exc) == "ExecutionDoesNotExist"
    with pytest.raises(ClientError) as exc:
        sfn.describe_execution(executionArn=machine)
    assert error_code(exc) == "InvalidArn"


def test_list_executions_filters_by_status_and_pages_newest_first(sfn: Any, machine: str) -> None:
    arns = [sfn.start_execution(stateMachineArn=machine, name=f"e{i}")["executionArn"] for i in range(5)]
    for arn in arns:
        finished(sfn, arn)
    slow = sfn.create_state_machine(name="slow2", definition=WAITING, roleArn=ROLE)["stateMachineArn"]
    running = sfn.start_execution(stateMachineArn=slow, name="r")["executionArn"]
    names: list[str] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"stateMachineArn": machine, "maxResults": 2}
        if token:
            kwargs["nextToken"] = token
        page = sfn.list_executions(**kwargs)
        assert len(page["executions"]) <= 2
        names += [e["name"] for e in page["executions"]]
        token = page.get("nextToken")
        if not token:
            break
    assert names == ["e4", "e3", "e2", "e1", "e0"]
    assert [
        e["name"] for e in sfn.list_executions(stateMachineArn=slow, statusFilter="RUNNING")["executions"]
    ] == ["r"]
    assert sfn.list_executions(stateMachineArn=slow, statusFilter="SUCCEEDED")["executions"] == []
    sfn.stop_execution(executionArn=running)
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=machine, nextToken=page.get("nextToken") or "x")
    assert error_code(exc) == "InvalidToken"


def test_history_pages_forward_and_in_reverse_with_or_without_data(sfn: Any, machine: str) -> None:
    arn = sfn.start_execution(stateMachineArn=machine, input='{"secret": "value"}')["executionArn"]
    finished(sfn, arn)
    everything = sfn.get_execution_history(executionArn=arn)["events"]
    assert len(everything) == 12  # started, 5 x (entered, exited), succeeded
    assert [e["id"] for e in everything] == list(range(1, 13))
    assert everything[0]["type"] == "ExecutionStarted" and everything[-1]["type"] == "ExecutionSucceeded"
    assert everything[0]["executionStartedEventDetails"]["roleArn"] == ROLE
    forward = [
        e
        for p in sfn.get_paginator("get_execution_history").paginate(
            executionArn=arn, PaginationConfig={"PageSize": 5}
        )
        for e in p["events"]
    ]
    assert [e["id"] for e in forward] == list(range(1, 13))
    first = sfn.get_execution_history(executionArn=arn, maxResults=5, reverseOrder=True)
    second = sfn.get_execution_history(
        executionArn=arn, maxResults=5, reverseOrder=True, nextToken=first["nextToken"]
    )
    assert [e["id"] for e in first["events"] + second["events"]] == list(range(12, 2, -1))
    bare = sfn.get_execution_history(executionArn=arn, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert "output" not in bare[-1]["executionSucceededEventDetails"]


def test_stop_aborts_a_running_execution_with_error_and_cause(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="sleepy", definition=WAITING, roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    stopped = sfn.stop_execution(executionArn=ex, error="Operator.Stop", cause="not needed")
    d = sfn.describe_execution(executionArn=ex)
    assert (d["status"], d["error"], d["cause"]) == ("ABORTED", "Operator.Stop", "not needed")
    assert d["stopDate"] == stopped["stopDate"]
    assert d["redriveStatus"] == "REDRIVABLE"
    events = sfn.get_execution_history(executionArn=ex, reverseOrder=True, maxResults=1)["events"]
    assert events[0]["type"] == "ExecutionAborted"


def test_redrive_restarts_a_failed_execution_from_the_failed_state(api: ThreadedApi, sfn: Any) -> None:
    calls: list[str] = []

    def flaky(payload: Any) -> Any:
        calls.append("flaky")
        if len(calls) == 1:
            raise RuntimeError("transient")
        return {"fixed": True}

    api.add_function("prepare", lambda p: {"prepared": True})
    api.add_function("flaky", flaky)
    definition = json.dumps(
        {
            "StartAt": "Prepare",
            "States": {
                "Prepare": {
                    "Type": "Task",
                    "Resource": LAMBDA,
                    "Parameters": {"FunctionName": "prepare"},
                    "ResultSelector": {"p.$": "$.Payload"},
                    "Next": "Flaky",
                },
                "Flaky": {
                    "Type": "Task",
                    "Resource": LAMBDA,
                    "Parameters": {"FunctionName": "flaky"},
                    "OutputPath": "$.Payload",
                    "End": True,
                },
            },
        }
    )
    arn = sfn.create_state_machine(name="redrive", definition=definition, roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    failed = finished(sfn, ex)
    assert (failed["status"], failed["error"], failed["redriveStatus"]) == (
        "FAILED",
        "RuntimeError",
        "REDRIVABLE",
    )
    redriven = sfn.redrive_execution(executionArn=ex)
    d = finished(sfn, ex)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"fixed": True}
    assert d["redriveCount"] == 1 and d["redriveDate"] == redriven["redriveDate"]
    assert calls == ["flaky", "flaky"]
    types = [e["type"] for e in sfn.get_execution_history(executionArn=ex)["events"]]
    assert types.count("ExecutionStarted") == 1 and types.count("ExecutionRedriven") == 1
    assert types.count("TaskStateEntered") == 3  # Prepare once, Flaky twice
    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=ex)
    assert error_code(exc) == "ExecutionNotRedrivable"
    listed = sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"]
    assert [e["redriveCount"] for e in listed] == [1]


def test_start_sync_execution_answers_the_result_of_an_express_machine(sfn: Any) -> None:
    express = sfn.create_state_machine(name="fast", definition=pass_chain(3), roleArn=ROLE, type="EXPRESS")
    result = sfn.start_sync_execution(stateMachineArn=express["stateMachineArn"], input='{"a": 0}')
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"a": 0, "s0": 0, "s1": 1, "s2": 2}
    assert ":express:fast:" in result["executionArn"]
    fail = json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "why"}}})
    failing = sfn.create_state_machine(name="failing", definition=fail, roleArn=ROLE, type="EXPRESS")
    result = sfn.start_sync_execution(stateMachineArn=failing["stateMachineArn"])
    assert (result["status"], result["error"], result["cause"]) == ("FAILED", "Bad", "why")
    assert "output" not in result
    standard = sfn.create_state_machine(name="std", definition=pass_machine(), roleArn=ROLE)
    with pytest.raises(ClientError) as exc:
        sfn.start_sync_execution(stateMachineArn=standard["stateMachineArn"])
    assert error_code(exc) == "StateMachineTypeNotSupported"
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=express["stateMachineArn"])
    assert error_code(exc) == "StateMachineTypeNotSupported"


def test_describe_state_machine_for_execution(sfn: Any, machine: str) -> None:
    ex = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    d = sfn.describe_state_machine_for_execution(executionArn=ex)
    assert d["stateMachineArn"] == machine and d["name"] == "chain" and d["definition"] == pass_chain(5)
    assert d["roleArn"] == ROLE and d["revisionId"]


def test_test_state_runs_one_state(sfn: Any) -> None:
    state = json.dumps(
        {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "Next": "Later"}
    )
    answer = sfn.test_state(definition=state, roleArn=ROLE, input='{"n": 21}')
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"doubled": 42}
    assert answer["nextState"] == "Later"
    with pytest.raises(ClientError) as exc:
        sfn.test_state(definition='{"Type": "Nope"}', roleArn=ROLE, input="{}")
    assert error_code(exc) == "InvalidDefinition"
