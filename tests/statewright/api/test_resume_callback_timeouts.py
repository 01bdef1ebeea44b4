"""A callback Task resumed by a restarted server times out its HeartbeatSeconds from the last beat.

The server runs on a real SQLite file in virtual time and is driven with
aioboto3 (botocore, as boto3): a ``.waitForTaskToken`` Task and an activity
Task get ``SendTaskHeartbeat`` calls, the server stops and a new one on the
same store resumes them. Their windows count from the last beat, and an
answer after the window is ``TaskTimedOut``, as AWS answers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aioboto3
import pytest
from botocore.exceptions import ClientError

from engine import ExecutorRegistry, LoopClock
from executors.local import LambdaExecutor, register
from statewright.api import ApiServer
from tests.statewright.api.conftest import CLIENT_CONFIG, ROLE

pytestmark = pytest.mark.looptime

WAIT_LAMBDA = "arn:aws:states:::lambda:invoke.waitForTaskToken"


@asynccontextmanager
async def _served(store: str, clock: LoopClock, tokens: list[str]) -> AsyncIterator[Any]:
    functions = LambdaExecutor()
    registry = ExecutorRegistry()
    register(registry, functions)
    functions.add("hand-over", lambda payload: tokens.append(payload["token"]) or {})
    # One clock for both servers: its wall time goes on across the restart, as a real one does.
    options = {"registry": registry, "store": store, "clock": clock}
    async with ApiServer(port=0, engine_options=options) as server:
        session = aioboto3.Session(
            aws_access_key_id="AKIDRESUME", aws_secret_access_key="secret", region_name="us-east-1"
        )
        async with session.client("stepfunctions", endpoint_url=server.url, config=CLIENT_CONFIG) as sfn:
            yield sfn


async def _until(cond: Callable[[], bool]) -> None:
    while not cond():
        await asyncio.sleep(0.01)


async def _until_done(sfn: Any, arn: str) -> dict[str, Any]:
    while True:
        d: dict[str, Any] = await sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        await asyncio.sleep(0.5)


def _task_machine(resource: str, parameters: dict[str, Any] | None) -> str:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "HeartbeatSeconds": 50, "End": True}
    if parameters is not None:
        state["Parameters"] = parameters
    return json.dumps({"StartAt": "Callback", "States": {"Callback": state}})


async def _late_answer_code(sfn: Any, token: str) -> str:
    with pytest.raises(ClientError) as exc:
        await sfn.send_task_success(taskToken=token, output='"late"')
    return str(exc.value.response["Error"]["Code"])


async def test_a_resumed_wait_for_task_token_times_out_from_its_last_heartbeat(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'sfn.db'}"
    clock = LoopClock()
    tokens: list[str] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with _served(store, clock, tokens) as sfn:
        definition = _task_machine(
            WAIT_LAMBDA, {"FunctionName": "hand-over", "Payload": {"token.$": "$$.Task.Token"}}
        )
        machine = (await sfn.create_state_machine(name="beat", definition=definition, roleArn=ROLE))[
            "stateMachineArn"
        ]
        ex = (await sfn.start_execution(stateMachineArn=machine))["executionArn"]
        await _until(lambda: bool(tokens))
        await asyncio.sleep(30)
        await sfn.send_task_heartbeat(taskToken=tokens[0])  # the window now ends at 80 s
        await asyncio.sleep(5)
    await asyncio.sleep(60 - (loop.time() - start))  # down from 35 s to 60 s
    async with _served(store, clock, tokens) as sfn:
        await asyncio.sleep(75 - (loop.time() - start))
        assert (await sfn.describe_execution(executionArn=ex))["status"] == "RUNNING"
        d = await _until_done(sfn, ex)
        assert loop.time() - start == pytest.approx(80, abs=2)  # not 110 s: 50 s after the resume
        assert (d["status"], d["error"]) == ("FAILED", "States.HeartbeatTimeout")
        assert await _late_answer_code(sfn, tokens[0]) == "TaskTimedOut"
        events = (await sfn.get_execution_history(executionArn=ex))["events"]
        assert [e["type"] for e in events].count("TaskTimedOut") == 1


async def test_a_resumed_activity_silent_past_its_heartbeat_times_out_at_once(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'sfn.db'}"
    clock = LoopClock()
    loop = asyncio.get_running_loop()
    async with _served(store, clock, []) as sfn:
        activity = (await sfn.create_activity(name="work"))["activityArn"]
        machine = (
            await sfn.create_state_machine(name="act", definition=_task_machine(activity, None), roleArn=ROLE)
        )["stateMachineArn"]
        ex = (await sfn.start_execution(stateMachineArn=machine))["executionArn"]
        token = (await sfn.get_activity_task(activityArn=activity, workerName="w"))["taskToken"]
        await asyncio.sleep(20)
        await sfn.send_task_heartbeat(taskToken=token)
        await asyncio.sleep(10)
    await asyncio.sleep(100)  # down past the window (it ended 50 s after the beat)
    resumed_at = loop.time()
    async with _served(store, clock, []) as sfn:
        d = await _until_done(sfn, ex)
        assert loop.time() - resumed_at < 2
        assert (d["status"], d["error"]) == ("FAILED", "States.HeartbeatTimeout")
        assert await _late_answer_code(sfn, token) == "TaskTimedOut"
