"""Persistence and resume: an execution is data that a new engine can continue.

The tests run an execution on one engine with a store, take a copy of its
stored record while it is paused (in a Wait, in a Task, in the middle of a
Map), close that engine, and resume the copy on a new engine. The copy stands
for what a durable store would have written; the resumed execution must
finish from where it was, not from the start.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import anyio
import orjson
import pytest

from engine import (
    ExecutionAlreadyExists,
    ExecutionRecord,
    ExecutorCall,
    ExecutorContext,
    InMemoryStore,
    LoopClock,
    Store,
    SystemClock,
)
from engine.persistence import record_to_json

CUSTOM = "arn:aws:states:::custom:call"


async def _until(predicate: Any) -> None:
    with anyio.fail_after(5):
        while not predicate():
            await anyio.sleep(0.001)


def _snapshot(store: InMemoryStore, arn: str) -> ExecutionRecord:
    record = store.record(arn)
    assert record is not None
    assert record.status == "RUNNING"
    return copy.deepcopy(record)


def _chain(harness: Any) -> dict[str, Any]:
    return {
        "StartAt": "First",
        "States": {
            "First": harness.task("first", ResultPath="$.first", Next="Pause"),
            "Pause": {"Type": "Wait", "Seconds": 100, "Next": "Second"},
            "Second": harness.task("second", ResultPath="$.second", End=True),
        },
    }


@pytest.mark.looptime
async def test_an_execution_paused_in_a_wait_resumes_from_the_wait(harness: Any) -> None:
    harness.fn("first", lambda p: "one")
    harness.fn("second", lambda p: "two")
    definition = _chain(harness)
    store = InMemoryStore()
    async with harness.engine(clock=SystemClock(), store=store) as engine:
        execution = engine.start(definition, {"n": 1}, name="resumable")
        await _until(lambda: execution.record.position.state == "Pause")
        await anyio.sleep(10)
        saved = _snapshot(store, execution.execution_arn)
    assert execution.status == "ABORTED"
    assert saved.position.state == "Pause"
    assert saved.position.input == {"n": 1, "first": {"value": "one"}}

    async with harness.engine(clock=SystemClock()) as engine:
        resumed = engine.resume(definition, saved)
        result = await resumed.wait()
        with pytest.raises(ExecutionAlreadyExists):
            engine.start(definition, {}, name="resumable")
    assert result.status == "SUCCEEDED"
    assert result.output == {"n": 1, "first": {"value": "one"}, "second": {"value": "two"}}
    assert harness.calls["first"] == [{"n": 1}]
    assert len(harness.calls["second"]) == 1
    types = result.history.types
    assert types.count("ExecutionStarted") == 1
    assert types.count("WaitStateEntered") == 1
    assert types.count("TaskScheduled") == 2
    assert types[-1] == "ExecutionSucceeded"
    assert result.name == "resumable"


@pytest.mark.looptime
async def test_a_task_resumes_with_the_handle_its_executor_saved(harness: Any) -> None:
    starts: list[Any] = []

    async def job(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        starts.append(ctx.handle)
        if ctx.handle is None:
            ctx.save_handle({"job": "j-1"})
            await anyio.sleep_forever()
        return {"picked_up": ctx.handle}

    harness.handle(CUSTOM, job)
    definition = {
        "StartAt": "Prep",
        "States": {
            "Prep": {"Type": "Pass", "Result": "prepared", "ResultPath": "$.prep", "Next": "Job"},
            "Job": {"Type": "Task", "Resource": CUSTOM, "ResultPath": "$.job", "End": True},
        },
    }
    store = InMemoryStore()
    async with harness.engine(clock=SystemClock(), store=store) as engine:
        execution = engine.start(definition, {})
        await _until(lambda: starts == [None])
        saved = _snapshot(store, execution.execution_arn)
    assert saved.position.state == "Job"
    assert saved.position.handle == {"job": "j-1"}

    async with harness.engine(clock=SystemClock()) as engine:
        result = await engine.resume(definition, saved).wait()
    assert result.status == "SUCCEEDED"
    assert result.output == {"prep": "prepared", "job": {"picked_up": {"job": "j-1"}}}
    assert starts == [None, {"job": "j-1"}]
    assert result.history.types.count("PassStateEntered") == 1
    assert result.history.types.count("TaskStateEntered") == 1


@pytest.mark.looptime
async def test_a_map_resumes_without_rerunning_finished_iterations(harness: Any) -> None:
    seen: list[int] = []
    block = {"on": True}

    async def item(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        n = call.parameters
        assert isinstance(n, int)
        seen.append(n)
        if n == 2 and block["on"]:
            await anyio.sleep_forever()
        return n * 10

    harness.handle(CUSTOM, item)
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "I",
                    "States": {"I": {"Type": "Task", "Resource": CUSTOM, "End": True}},
                },
                "End": True,
            }
        },
    }
    store = InMemoryStore()
    async with harness.engine(clock=SystemClock(), store=store) as engine:
        execution = engine.start(definition, [0, 1, 2, 3])
        await _until(lambda: seen == [0, 1, 2])
        saved = _snapshot(store, execution.execution_arn)
    assert saved.position.map_progress is not None
    assert saved.position.map_progress.results == {0: 0, 1: 10}

    block["on"] = False
    async with harness.engine(clock=SystemClock()) as engine:
        result = await engine.resume(definition, saved).wait()
    assert (result.status, result.output) == ("SUCCEEDED", [0, 10, 20, 30])
    assert seen == [0, 1, 2, 2, 3]


async def test_the_store_sees_every_transition_and_the_end(harness: Any) -> None:
    class Recording(InMemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple[str, str]] = []

        def save(self, record: ExecutionRecord) -> None:
            super().save(record)
            self.seen.append((record.status, record.position.state))

    store = Recording()
    assert isinstance(store, Store)
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Pass", "End": True},
        },
    }
    result = await harness.run(definition, {}, store=store)
    running_states = [state for status, state in store.seen if status == "RUNNING"]
    assert ["A", "B", "C"] == sorted(set(running_states))
    assert running_states.index("A") < running_states.index("B") < running_states.index("C")
    assert store.seen[-1][0] == "SUCCEEDED"
    stored = await store.get_execution(result.execution_arn)
    assert stored is not None and stored.output == {}
    assert await store.running() == []


@pytest.mark.looptime
async def test_the_store_lists_only_unfinished_executions_as_running(harness: Any) -> None:
    store = InMemoryStore()
    wait = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": True}}}
    done = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    async with harness.engine(clock=SystemClock(), store=store) as engine:
        waiting = engine.start(wait, {}, name="waiting")
        await engine.run(done, {}, name="done")
        await anyio.sleep(1)
        assert [r.record.name for r in await store.running()] == ["waiting"]
        assert [e.name for e in (await store.list_executions(status="RUNNING")).items] == ["waiting"]
        waiting.stop()
    assert await store.running() == []
    assert (await store.list_executions(status="RUNNING")).items == []


async def test_a_record_renders_as_plain_json_for_durable_stores(harness: Any) -> None:
    store = InMemoryStore()
    harness.fn("f", lambda p: p)
    definition = {"StartAt": "T", "States": {"T": harness.task("f")}}
    result = await harness.run(definition, {"x": 1}, store=store)
    record = store.record(result.execution_arn)
    assert record is not None
    doc = record_to_json(record)
    again = orjson.loads(orjson.dumps(doc))
    assert again["name"] == result.name
    assert again["status"] == "SUCCEEDED"
    assert again["input"] == {"x": 1}
    assert again["position"]["state"] == "T"
    assert [e["type"] for e in again["history"]] == result.history.types


@pytest.mark.looptime
async def test_a_resumed_wait_ends_when_the_original_wait_was_due(harness: Any) -> None:
    """The Wait's due time is part of the execution's position, not of a sleeping coroutine."""
    loop = asyncio.get_running_loop()
    definition = {
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "Seconds": 100, "Next": "Done"}, "Done": {"Type": "Succeed"}},
    }
    store = InMemoryStore()
    start = loop.time()
    # The due time is wall-clock data (it must survive a restart), so both
    # engines read one clock whose wall time follows the virtual loop time.
    clock = LoopClock()
    async with harness.engine(clock=clock, store=store) as engine:
        execution = engine.start(definition, {})
        await anyio.sleep(30)
        saved = _snapshot(store, execution.execution_arn)
    async with harness.engine(clock=clock) as engine:
        result = await engine.resume(definition, saved).wait()
    assert result.status == "SUCCEEDED"
    # Entered at 0 for 100 seconds: due at 100, not 30 + 100.
    assert loop.time() - start == pytest.approx(100)
