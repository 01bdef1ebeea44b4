"""A resumed execution ends as the uninterrupted one would: what the position must keep.

Each test runs on a real SQLite file and a real PostgreSQL database, and
compares a run suspended in the middle and resumed on a new engine with the
same run left alone: the variables assigned inside Map iterations and
Parallel branches, a Task's TimeoutSeconds counted from its original start
and its HeartbeatSeconds from its last stored heartbeat, and the
25,000-event history quota counted across the resume.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from engine import ExecutorCall, ExecutorContext, LoopClock, SystemClock, TaskFailed
from engine.history import MAX_EVENTS
from engine.store import open_store

CUSTOM = "arn:aws:states:::custom:call"

pytestmark = pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)


def _inner(name: str) -> dict[str, Any]:
    """A scope that assigns a variable, waits 100 s, then reads it back (and the outer one)."""
    return {
        "StartAt": f"{name}Set",
        "States": {
            f"{name}Set": {"Type": "Pass", "Assign": {"mine.$": "$.v", "step": 1}, "Next": f"{name}Wait"},
            f"{name}Wait": {"Type": "Wait", "Seconds": 100, "Next": f"{name}Use"},
            f"{name}Use": {
                "Type": "Pass",
                "Parameters": {"mine.$": "$mine", "step.$": "$step", "outer.$": "$outer"},
                "End": True,
            },
        },
    }


SCOPES = {
    "StartAt": "Outer",
    "States": {
        "Outer": {"Type": "Pass", "Assign": {"outer": "o"}, "Next": "M"},
        "M": {
            "Type": "Map",
            "ItemSelector": {"v.$": "$$.Map.Item.Value"},
            "ItemProcessor": _inner("Item"),
            "Next": "P",
        },
        "P": {
            "Type": "Parallel",
            "Parameters": {"v": "branch"},
            "Branches": [_inner("A"), _inner("B")],
            "End": True,
        },
    },
}


async def _scopes_run(harness: Any, store_url: str, *, suspend_at: float | None) -> Any:
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(SCOPES, [1, 2])
        if suspend_at is None:
            return await execution.wait()
        await anyio.sleep(suspend_at)
    async with harness.engine(clock=clock, store=store_url) as engine:
        return await engine._executions[execution.execution_arn].wait()


@pytest.mark.looptime
@pytest.mark.parametrize("suspend_at", [50, 150])  # in the Map's Waits, then in the Parallel's
async def test_variables_assigned_inside_map_iterations_and_branches_survive_a_restart(
    harness: Any, store_url: str, suspend_at: float
) -> None:
    whole = await _scopes_run(harness, store_url, suspend_at=None)
    resumed = await _scopes_run(harness, store_url, suspend_at=suspend_at)
    expected = [{"mine": "branch", "step": 1, "outer": "o"}] * 2
    assert (whole.status, whole.output) == ("SUCCEEDED", expected)
    assert (resumed.status, resumed.output) == (whole.status, whole.output)
    assert resumed.history.types == whole.history.types


def _waiting_task(timeout: int) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": CUSTOM,
                "TimeoutSeconds": timeout,
                "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Late"}],
                "End": True,
            },
            "Late": {"Type": "Pass", "End": True},
        },
    }


@pytest.mark.looptime
async def test_a_resumed_task_times_out_counting_from_its_original_start(
    harness: Any, store_url: str
) -> None:
    calls: list[bool] = []

    async def forever(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        calls.append(ctx.resumed)
        await anyio.sleep_forever()

    harness.handle(CUSTOM, forever)
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    start = loop.time()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(_waiting_task(100), {})
        await anyio.sleep(60)
        assert calls == [False]
    async with harness.engine(clock=clock, store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert calls == [False, True]
    assert result.status == "SUCCEEDED"
    assert result.output["error"]["Error"] == "States.Timeout"
    # 100 s after the Task started, not 100 s after the resume at 60 s.
    assert loop.time() - start == pytest.approx(100, abs=1)
    types = result.history.types
    assert types.count("TaskStarted") == 1 and types.count("TaskTimedOut") == 1


@pytest.mark.looptime
async def test_a_task_whose_timeout_passed_while_down_times_out_at_once(harness: Any, store_url: str) -> None:
    async def forever(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        await anyio.sleep_forever()

    harness.handle(CUSTOM, forever)
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(_waiting_task(100), {})
        await anyio.sleep(30)
    await anyio.sleep(200)  # the process is "down" past the Task's timeout
    resumed_at = loop.time()
    async with harness.engine(clock=clock, store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert result.output["error"]["Error"] == "States.Timeout"
    assert loop.time() - resumed_at < 1


def _beating_task() -> dict[str, Any]:
    definition = _waiting_task(1000)
    definition["States"]["T"]["HeartbeatSeconds"] = 50
    definition["States"]["T"]["Catch"][0]["ErrorEquals"] = ["States.HeartbeatTimeout"]
    return definition


@pytest.mark.looptime
@pytest.mark.parametrize("cut", ["suspend", "crash"])
async def test_a_resumed_task_times_out_its_heartbeat_counting_from_the_last_beat(
    harness: Any, store_url: str, cut: str
) -> None:
    # Beats at 10, 20 and 30 s; the engine goes at 35 s (suspended, or its store cut off as a
    # SIGKILL leaves it: only the group-committed beats count) and is back at 60 s, where the
    # executor stays silent: the window ends 50 s after the beat at 30 s, at 80 s.
    async def beats_then_silent(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        if not ctx.resumed:
            for _ in range(3):
                await anyio.sleep(10)
                ctx.heartbeat()
        await anyio.sleep_forever()

    harness.handle(CUSTOM, beats_then_silent)
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    start = loop.time()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(_beating_task(), {})
        await anyio.sleep(35)
        if cut == "crash":
            assert engine.store is not None
            engine.store.freeze()
    await anyio.sleep(60 - (loop.time() - start))
    async with harness.engine(clock=clock, store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert result.output["error"]["Error"] == "States.HeartbeatTimeout"
    assert loop.time() - start == pytest.approx(80, abs=1)
    assert result.history.types.count("TaskTimedOut") == 1


@pytest.mark.looptime
async def test_a_task_whose_last_beat_is_older_than_its_heartbeat_at_resume_times_out_at_once(
    harness: Any, store_url: str
) -> None:
    calls: list[bool] = []

    async def silent(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        calls.append(ctx.resumed)
        await anyio.sleep_forever()

    harness.handle(CUSTOM, silent)
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(_beating_task(), {})
        await anyio.sleep(30)
    await anyio.sleep(100)  # down longer than the heartbeat interval
    resumed_at = loop.time()
    async with harness.engine(clock=clock, store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert result.output["error"]["Error"] == "States.HeartbeatTimeout"
    assert loop.time() - resumed_at < 1
    types = result.history.types
    assert types.count("TaskStarted") == 1 and types.count("TaskTimedOut") == 1


LOOP = {
    "StartAt": "Count",
    "States": {
        # 3,000 rounds of 4 events, then a Wait to suspend in, then a loop that never ends.
        "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "More"},
        "More": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericLessThan": 3000, "Next": "Count"}],
            "Default": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 100, "Next": "A"},
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Next": "A"},
    },
}


@pytest.mark.looptime
async def test_the_history_quota_counts_the_events_committed_before_a_restart(
    harness: Any, store_url: str
) -> None:
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store_url) as engine:
        execution = engine.start(LOOP, {"n": 0})
        await anyio.sleep(50)
        assert execution.record.history.last_id == 1 + 3000 * 4 + 1  # suspended in the Wait
    assert execution.status == "RUNNING"
    async with harness.engine(clock=clock, store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause == f"The execution reached the maximum number of history events ({MAX_EVENTS})."
    events = list(result.history)
    # As AWS: 25,000 events in all, the last one ExecutionFailed, ids consecutive across the resume.
    assert len(events) == MAX_EVENTS
    assert [e.id for e in events] == list(range(1, MAX_EVENTS + 1))
    assert events[-1].type == "ExecutionFailed"
    assert events[-2].type == "PassStateExited"
    reader = open_store(store_url)
    await reader.open()
    try:
        stored = await reader.history(execution.execution_arn)
    finally:
        await reader.close()
    assert [e.id for e in stored] == list(range(1, MAX_EVENTS + 1))


def _failing_scope(kind: str) -> dict[str, Any]:
    task = {"Type": "Task", "Resource": CUSTOM, "End": True}
    if kind == "Map":
        state: dict[str, Any] = {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {"I": task}}}
    else:
        branches = [{"StartAt": "I", "States": {"I": {**task, "Parameters": n}}} for n in (0, 1)]
        state = {"Type": "Parallel", "Branches": branches}
    return {"StartAt": "S", "States": {"S": {**state, "End": True}}}


@pytest.mark.parametrize("kind", ["Map", "Parallel"])
async def test_a_failure_committed_before_the_scope_ended_is_not_run_again(
    harness: Any, store_url: str, kind: str
) -> None:
    # Item 0 fails at once; item 1 takes a while to stop when cancelled: a commit falls between the
    # first's failure and the state's end, and the engine stops there.
    cancelled = asyncio.Event()
    calls: list[Any] = []

    async def item(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        calls.append(call.parameters)
        if call.parameters == 0:
            raise TaskFailed(cause="boom")
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.2)

    harness.handle(CUSTOM, item)
    definition = _failing_scope(kind)
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        whole = await engine.run(definition, [0, 1])
    assert (whole.status, whole.error, whole.cause) == ("FAILED", "States.TaskFailed", "boom")
    calls.clear()
    cancelled.clear()
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        execution = engine.start(definition, [0, 1])
        await cancelled.wait()
    assert execution.status == "RUNNING"
    async with harness.engine(clock=SystemClock(), store=store_url) as engine:
        result = await engine._executions[execution.execution_arn].wait()
    assert (result.status, result.error, result.cause) == (whole.status, whole.error, whole.cause)
    assert sorted(calls) == [0, 1]  # the failed item is not called again, nor the aborted one
    assert result.history.types == whole.history.types
    assert [e.id for e in result.history] == list(range(1, len(whole.history.types) + 1))


@pytest.mark.parametrize("kind", ["Map", "Parallel"])
@pytest.mark.parametrize("durable", [True, False])
async def test_a_redriven_scope_runs_its_failed_item_again_and_not_the_others(
    harness: Any, store_url: str, kind: str, durable: bool
) -> None:
    # The failure its progress keeps for a resume is not the redrive's: that runs the failed one again.
    calls: list[Any] = []

    async def item(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        calls.append(call.parameters)
        if call.parameters == 1 and calls.count(1) == 1:
            raise TaskFailed(cause="first time")
        return call.parameters

    harness.handle(CUSTOM, item)
    definition = _failing_scope(kind)
    if kind == "Map":
        definition["States"]["S"]["MaxConcurrency"] = 1
    async with harness.engine(clock=SystemClock(), **({"store": store_url} if durable else {})) as engine:
        execution = engine.start(definition, [0, 1])
        first = await execution.wait()
        assert (first.status, first.cause) == ("FAILED", "first time")
        redriven = await engine.submit_redrive(definition, execution.record)
        result = await redriven.wait()
    assert (result.status, result.output) == ("SUCCEEDED", [0, 1])
    assert sorted(calls) == [0, 1, 1]
