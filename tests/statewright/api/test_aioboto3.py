"""aioboto3 on the server's own event loop: async SDK users, and callback timeouts in virtual time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aioboto3
import pytest
from botocore.exceptions import ClientError

from engine import ExecutorRegistry
from executors.local import LambdaExecutor, register
from statewright.api import ApiServer
from tests.statewright.api.conftest import CLIENT_CONFIG, ROLE

WAIT_LAMBDA = "arn:aws:states:::lambda:invoke.waitForTaskToken"


@pytest.fixture
async def served() -> AsyncIterator[tuple[Any, list[Any]]]:
    functions = LambdaExecutor()
    registry = ExecutorRegistry()
    register(registry, functions)
    tokens: list[Any] = []
    functions.add("hand-over", lambda payload: tokens.append(payload["token"]) or {})
    async with ApiServer(port=0, engine_options={"registry": registry}) as server:
        session = aioboto3.Session(
            aws_access_key_id="AKIDASYNC", aws_secret_access_key="secret", region_name="us-east-1"
        )
        async with session.client("stepfunctions", endpoint_url=server.url, config=CLIENT_CONFIG) as sfn:
            yield sfn, tokens


async def _until_done(sfn: Any, arn: str) -> dict[str, Any]:
    while True:
        d: dict[str, Any] = await sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        await asyncio.sleep(0.01)


def _machine(**task: Any) -> str:
    state = {
        "Type": "Task",
        "Resource": WAIT_LAMBDA,
        "Parameters": {"FunctionName": "hand-over", "Payload": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    state.update(task)
    return json.dumps({"StartAt": "Callback", "States": {"Callback": state}})


async def test_aioboto3_runs_a_callback_round_trip(served: tuple[Any, list[Any]]) -> None:
    sfn, tokens = served
    arn = (await sfn.create_state_machine(name="async", definition=_machine(), roleArn=ROLE))[
        "stateMachineArn"
    ]
    ex = (await sfn.start_execution(stateMachineArn=arn))["executionArn"]
    while not tokens:
        await asyncio.sleep(0.01)
    await sfn.send_task_success(taskToken=tokens[0], output='"done"')
    d = await _until_done(sfn, ex)
    assert d["status"] == "SUCCEEDED" and d["output"] == '"done"'
    page = await sfn.list_executions(stateMachineArn=arn)
    assert [e["executionArn"] for e in page["executions"]] == [ex]


@pytest.mark.looptime
async def test_a_callback_task_times_out_in_virtual_time_and_late_answers_are_task_timed_out(
    served: tuple[Any, list[Any]],
) -> None:
    sfn, tokens = served
    arn = (
        await sfn.create_state_machine(name="timeout", definition=_machine(TimeoutSeconds=300), roleArn=ROLE)
    )["stateMachineArn"]
    ex = (await sfn.start_execution(stateMachineArn=arn))["executionArn"]
    while not tokens:
        await asyncio.sleep(0.01)
    await asyncio.sleep(299)
    assert (await sfn.describe_execution(executionArn=ex))["status"] == "RUNNING"
    await asyncio.sleep(2)
    d = await _until_done(sfn, ex)
    assert (d["status"], d["error"]) == ("FAILED", "States.Timeout")
    with pytest.raises(ClientError) as exc:
        await sfn.send_task_success(taskToken=tokens[0], output="{}")
    assert exc.value.response["Error"]["Code"] == "TaskTimedOut"


@pytest.mark.looptime
async def test_heartbeats_reset_heartbeat_seconds(served: tuple[Any, list[Any]]) -> None:
    sfn, tokens = served
    arn = (
        await sfn.create_state_machine(name="beat", definition=_machine(HeartbeatSeconds=60), roleArn=ROLE)
    )["stateMachineArn"]
    ex = (await sfn.start_execution(stateMachineArn=arn))["executionArn"]
    while not tokens:
        await asyncio.sleep(0.01)
    for _ in range(3):
        await asyncio.sleep(50)
        await sfn.send_task_heartbeat(taskToken=tokens[0])
    assert (await sfn.describe_execution(executionArn=ex))["status"] == "RUNNING"  # 150 s > 60 s, kept alive
    await asyncio.sleep(61)
    d = await _until_done(sfn, ex)
    assert (d["status"], d["error"]) == ("FAILED", "States.HeartbeatTimeout")
    with pytest.raises(ClientError) as exc:
        await sfn.send_task_heartbeat(taskToken=tokens[0])
    assert exc.value.response["Error"]["Code"] == "TaskTimedOut"
