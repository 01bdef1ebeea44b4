"""Task tokens: .waitForTaskToken Tasks wait for SendTaskSuccess / SendTaskFailure / heartbeats."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from engine import Engine
from engine.callbacks import InvalidToken, TaskDoesNotExist, TaskTimedOut, is_token, new_token
from tests.engine.conftest import Harness

pytestmark = pytest.mark.looptime

WAIT_LAMBDA = "arn:aws:states:::lambda:invoke.waitForTaskToken"


def _callback_machine(**task: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": WAIT_LAMBDA,
        "Parameters": {
            "FunctionName": "hand-over",
            "Payload": {"token.$": "$$.Task.Token", "job.$": "$.job"},
        },
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


def test_tokens_are_long_random_and_recognised() -> None:
    a, b = new_token(), new_token()
    assert a != b and len(a) == 88 and is_token(a)
    assert not is_token("AQ" + "x" * 10) and not is_token(a[:-1] + "!")


async def test_send_task_success_continues_a_parked_execution(harness: Harness, handed: list[str]) -> None:
    async with harness.engine(clock=None) as engine:
        ex = engine.start(_callback_machine(), {"job": 7})
        await _until(lambda: ex.parked)
        assert harness.calls["hand-over"] == [{"token": handed[0], "job": 7}]
        engine.task_tokens.succeed(handed[0], {"done": 7})
        result = await ex.wait()
    assert result.status == "SUCCEEDED" and result.output == {"done": 7}
    types = result.history.types
    assert types.count("TaskScheduled") == 1 and "TaskSubmitted" in types
    assert types[-3:] == ["TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]
    # Answered tokens cannot be answered again.
    with pytest.raises(TaskDoesNotExist):
        engine.task_tokens.succeed(handed[0], {})


async def test_send_task_failure_fails_the_task_with_its_error_and_cause(
    harness: Harness, handed: list[str]
) -> None:
    async with harness.engine(clock=None) as engine:
        ex = engine.start(_callback_machine(), {"job": 1})
        await _until(lambda: handed)
        engine.task_tokens.fail(handed[0], "Worker.Broke", "disk full")
        result = await ex.wait()
    assert (result.status, result.error, result.cause) == ("FAILED", "Worker.Broke", "disk full")


async def test_a_retry_gets_a_new_token(harness: Harness, handed: list[str]) -> None:
    machine = _callback_machine(Retry=[{"ErrorEquals": ["Worker.Broke"], "IntervalSeconds": 1}])
    async with harness.engine(clock=None) as engine:
        ex = engine.start(machine, {"job": 1})
        await _until(lambda: handed)
        engine.task_tokens.fail(handed[0], "Worker.Broke", None)
        await _until(lambda: len(handed) == 2)
        assert handed[0] != handed[1]
        engine.task_tokens.succeed(handed[1], "ok")
        assert (await ex.wait()).output == "ok"


async def test_heartbeats_keep_a_task_alive_and_their_absence_times_it_out(
    harness: Harness, handed: list[str]
) -> None:
    async with harness.engine(clock=None) as engine:
        ex = engine.start(_callback_machine(HeartbeatSeconds=10), {"job": 1})
        await _until(lambda: handed)
        for _ in range(3):
            await anyio.sleep(8)
            engine.task_tokens.heartbeat(handed[0])
        assert ex.status == "RUNNING"
        result = await ex.wait()
    assert (result.status, result.error) == ("FAILED", "States.HeartbeatTimeout")
    with pytest.raises(TaskTimedOut):
        engine.task_tokens.succeed(handed[0], {})


async def test_timeout_seconds_times_the_callback_out(harness: Harness, handed: list[str]) -> None:
    async with harness.engine(clock=None) as engine:
        result = await engine.run(_callback_machine(TimeoutSeconds=5), {"job": 1})
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    with pytest.raises(TaskTimedOut):
        engine.task_tokens.heartbeat(handed[0])


async def test_stopping_a_waiting_execution_retires_its_token(harness: Harness, handed: list[str]) -> None:
    async with harness.engine(clock=None) as engine:
        ex = engine.start(_callback_machine(), {"job": 1})
        await _until(lambda: ex.parked)
        ex.stop("Stopped", "by test")
        assert (await ex.wait()).status == "ABORTED"
    with pytest.raises(TaskDoesNotExist):
        engine.task_tokens.succeed(handed[0], {})
    assert len(engine.task_tokens) == 0


async def test_malformed_tokens_are_invalid(harness: Harness) -> None:
    async with harness.engine(clock=None) as engine:
        with pytest.raises(InvalidToken):
            engine.task_tokens.succeed("not-a-token", {})
        with pytest.raises(TaskDoesNotExist):
            engine.task_tokens.succeed(new_token(), {})


async def test_a_worker_answering_before_the_call_returns_is_not_lost(harness: Harness) -> None:
    engine_box: list[Engine] = []

    def answer_at_once(payload: Any) -> Any:
        engine_box[0].task_tokens.succeed(payload["token"], {"fast": True})
        return {}

    harness.fn("hand-over", answer_at_once)
    async with harness.engine(clock=None) as engine:
        engine_box.append(engine)
        result = await engine.run(_callback_machine(), {"job": 1})
    assert result.output == {"fast": True}


async def test_redrive_restarts_a_failed_execution_from_the_failed_state(harness: Harness) -> None:
    attempts: list[int] = []

    def flaky(payload: Any) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first time")
        return payload

    harness.fn("first", lambda p: {"step": 1})
    harness.fn("flaky", flaky)
    machine = {
        "StartAt": "First",
        "States": {"First": harness.task("first", Next="Flaky"), "Flaky": harness.task("flaky")},
    }
    async with harness.engine() as engine:
        first = engine.start(machine, {})
        failed = await first.wait()
        assert failed.status == "FAILED"
        ex = engine.redrive(machine, first.record)
        result = await ex.wait()
    assert result.status == "SUCCEEDED" and result.execution_arn == failed.execution_arn
    assert harness.calls["first"] == [{}]  # the state that succeeded did not run again
    assert result.history.types.count("ExecutionRedriven") == 1
    assert result.history.types.count("ExecutionStarted") == 1
    assert ex.record.redrive_count == 1


async def test_a_succeeded_execution_cannot_be_redriven(harness: Harness) -> None:
    from engine.runtime.redrive import ExecutionNotRedrivable

    harness.fn("first", lambda p: p)
    machine = {"StartAt": "First", "States": {"First": harness.task("first")}}
    async with harness.engine() as engine:
        ex = engine.start(machine, {})
        await ex.wait()
        with pytest.raises(ExecutionNotRedrivable, match="SUCCEEDED"):
            engine.redrive(machine, ex.record)


async def test_a_task_token_survives_a_restart_with_a_sqlite_store(
    harness: Harness, handed: list[str], tmp_path: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    async with harness.engine(clock=None, store=url) as engine:
        ex = engine.start(_callback_machine(), {"job": 3}, name="survivor")
        await _until(lambda: ex.parked)
        arn = ex.execution_arn
    # The engine left with the Task waiting: the execution stays RUNNING in the file.
    assert len(handed) == 1
    async with harness.engine(clock=None, store=url) as engine:
        resumed = engine.get(arn)
        assert resumed is not None
        await _until(lambda: resumed.parked)
        engine.task_tokens.succeed(handed[0], {"after": "restart"})
        result = await resumed.wait()
    assert result.status == "SUCCEEDED" and result.output == {"after": "restart"}
    assert len(handed) == 1  # the function that received the token was not called again


async def test_redrive_is_refused_on_a_durable_store_rather_than_left_unrecorded(
    harness: Harness, tmp_path: Any
) -> None:
    from engine.runtime.redrive import ExecutionNotRedrivable

    harness.fn("broken", lambda p: (_ for _ in ()).throw(RuntimeError("no")))
    machine = {"StartAt": "B", "States": {"B": harness.task("broken")}}
    async with harness.engine(store=f"sqlite:///{tmp_path / 'r.db'}") as engine:
        ex = engine.start(machine, {})
        assert (await ex.wait()).status == "FAILED"
        with pytest.raises(ExecutionNotRedrivable, match="durable store"):
            engine.redrive(machine, ex.record)
