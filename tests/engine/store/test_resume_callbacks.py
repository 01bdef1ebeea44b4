"""A resumed ``.waitForTaskToken`` Task keeps its HeartbeatSeconds window and answers late callbacks.

Each test runs on a real SQLite file and a real PostgreSQL database in
virtual time: the engine goes down while a callback Task waits, a new engine
resumes it from the store, and the Task's HeartbeatSeconds counts from its
last ``SendTaskHeartbeat`` (or its start), not from the resume. A callback
that comes after the Task timed out is answered ``TaskTimedOut``, as AWS
answers, not ``TaskDoesNotExist``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from engine import LoopClock
from engine.callbacks import TaskDoesNotExist, TaskTimedOut
from tests.engine.conftest import Harness

pytestmark = [
    pytest.mark.looptime,
    pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True),
]

WAIT_LAMBDA = "arn:aws:states:::lambda:invoke.waitForTaskToken"


def _callback_machine(**task: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": WAIT_LAMBDA,
        "Parameters": {"FunctionName": "hand-over", "Payload": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    state.update(task)
    return {"StartAt": "Wait for worker", "States": {"Wait for worker": state}}


@pytest.fixture
def handed(harness: Harness) -> list[str]:
    tokens: list[str] = []

    def hand_over(payload: Any) -> Any:
        tokens.append(payload["token"])
        return {"accepted": True}

    harness.fn("hand-over", hand_over)
    return tokens


async def _until(cond: Any) -> None:
    while not cond():
        await anyio.sleep(0.01)


async def test_a_resumed_callback_times_out_its_heartbeat_from_the_last_beat_and_late_answers_are_timed_out(
    harness: Harness, handed: list[str], store_url: str
) -> None:
    # Beats at 10, 20 and 30 s; down from 35 s to 60 s; the window ends 50 s after the beat
    # at 30 s, at 80 s (from the resume it would end at 110 s).
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    start = loop.time()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(_callback_machine(HeartbeatSeconds=50), {})
        await _until(lambda: handed)
        for _ in range(3):
            await anyio.sleep(10 - (loop.time() - start) % 10)
            engine.task_tokens.heartbeat(handed[0])
        await anyio.sleep(35 - (loop.time() - start))
    await anyio.sleep(60 - (loop.time() - start))
    async with harness.engine(clock=clock, store=store_url) as engine:
        resumed = engine._executions[execution.execution_arn]
        await anyio.sleep(79 - (loop.time() - start))
        assert resumed.status == "RUNNING"
        result = await resumed.wait()
        assert loop.time() - start == pytest.approx(80, abs=1)
        with pytest.raises(TaskTimedOut):
            engine.task_tokens.succeed(handed[0], {"late": True})
    assert (result.status, result.error) == ("FAILED", "States.HeartbeatTimeout")
    types = result.history.types
    assert types.count("TaskSubmitted") == 1 and types.count("TaskTimedOut") == 1
    assert harness.calls["hand-over"] == [{"token": handed[0]}]


async def test_a_callback_silent_past_its_heartbeat_while_down_times_out_at_once_on_resume(
    harness: Harness, handed: list[str], store_url: str
) -> None:
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(_callback_machine(HeartbeatSeconds=50, TimeoutSeconds=1000), {})
        await _until(lambda: handed)
        await anyio.sleep(20)
        engine.task_tokens.heartbeat(handed[0])
        await anyio.sleep(10)
    await anyio.sleep(100)  # down longer than the heartbeat window left
    resumed_at = loop.time()
    async with harness.engine(clock=clock, store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
        assert loop.time() - resumed_at < 1
        with pytest.raises(TaskTimedOut):
            engine.task_tokens.succeed(handed[0], {})
        with pytest.raises(TaskTimedOut):
            engine.task_tokens.heartbeat(handed[0])
    assert (result.status, result.error) == ("FAILED", "States.HeartbeatTimeout")
    assert result.history.types.count("TaskTimedOut") == 1


async def test_a_resumed_callback_without_beats_counts_its_heartbeat_from_the_task_start(
    harness: Harness, handed: list[str], store_url: str
) -> None:
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    start = loop.time()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(_callback_machine(HeartbeatSeconds=50), {})
        await _until(lambda: handed)
        await anyio.sleep(20)
    await anyio.sleep(10)
    async with harness.engine(clock=clock, store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
        with pytest.raises(TaskTimedOut):
            engine.task_tokens.fail(handed[0], "Late", None)
    assert (result.status, result.error) == ("FAILED", "States.HeartbeatTimeout")
    assert loop.time() - start == pytest.approx(50, abs=1)


async def test_a_resumed_callback_answered_within_its_window_succeeds(
    harness: Harness, handed: list[str], store_url: str
) -> None:
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(_callback_machine(HeartbeatSeconds=50), {})
        await _until(lambda: handed)
        await anyio.sleep(20)
    await anyio.sleep(10)
    async with harness.engine(clock=clock, store=store_url) as engine:
        resumed = engine._executions[execution.execution_arn]
        await anyio.sleep(15)  # 45 s after the start: 5 s of the window left
        engine.task_tokens.heartbeat(handed[0])
        await anyio.sleep(45)
        engine.task_tokens.succeed(handed[0], {"done": True})
        result = await resumed.wait()
        with pytest.raises(TaskDoesNotExist):
            engine.task_tokens.succeed(handed[0], {})
    assert (result.status, result.output) == ("SUCCEEDED", {"done": True})
