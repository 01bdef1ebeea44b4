"""Redrive on a durable store: committed before it runs, resumed after a restart, done once.

Every test runs on both durable backends, a real SQLite file and a real
PostgreSQL database.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from engine import ExecutorCall, ExecutorContext
from engine.runtime.redrive import ExecutionNotRedrivable
from engine.store import open_store

pytestmark = pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)


async def _stored(url: str, arn: str) -> tuple[str, int, list[str]]:
    store = open_store(url)
    await store.open()
    try:
        found = await store.get_execution(arn)
        assert found is not None
        events = await store.history(arn)
        assert [e.id for e in events] == list(range(1, len(events) + 1))
        return found.status, found.redrive_count, [e.type for e in events]
    finally:
        await store.close()


def _failing_once(harness: Any) -> dict[str, Any]:
    attempts: list[int] = []

    def flaky(payload: Any) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first time")
        return {"fixed": True}

    harness.fn("first", lambda p: {"step": 1})
    harness.fn("flaky", flaky)
    return {
        "StartAt": "First",
        "States": {"First": harness.task("first", Next="Flaky"), "Flaky": harness.task("flaky")},
    }


async def test_a_failed_execution_redriven_on_a_store_succeeds_and_the_store_says_so(
    harness: Any, store_url: str
) -> None:
    machine = _failing_once(harness)
    async with harness.engine(store=store_url) as engine:
        first = engine.start(machine, {}, name="flaky")
        assert (await first.wait()).status == "FAILED"
        redriven = await engine.submit_redrive(machine, first.record)
        result = await redriven.wait()
        assert result.status == "SUCCEEDED" and result.output == {"value": {"fixed": True}}
        assert redriven.record.redrive_count == 1
        with pytest.raises(ExecutionNotRedrivable, match="SUCCEEDED"):
            await engine.submit_redrive(machine, redriven.record)
    assert harness.calls["first"] == [{}]  # the state that succeeded did not run again
    status, count, types = await _stored(store_url, first.execution_arn)
    assert (status, count) == ("SUCCEEDED", 1)
    assert types.count("ExecutionStarted") == 1 and types.count("ExecutionRedriven") == 1
    assert types[-1] == "ExecutionSucceeded"


async def test_a_redrive_committed_before_a_restart_is_resumed_by_the_next_engine(
    harness: Any, store_url: str
) -> None:
    calls: list[str] = []
    release = anyio.Event()

    async def held(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        calls.append("called")
        if len(calls) == 1:
            raise RuntimeError("first time")
        if len(calls) == 2:
            await release.wait()  # the engine leaves while the redriven Task runs
        return {"after": "restart"}

    harness.handle("arn:aws:states:::custom:held", held)
    machine = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::custom:held", "End": True}},
    }
    async with harness.engine(clock=None, store=store_url) as engine:
        first = engine.start(machine, {}, name="held")
        assert (await first.wait()).status == "FAILED"
        await engine.submit_redrive(machine, first.record)
        with anyio.fail_after(10):
            while len(calls) < 2:
                await anyio.sleep(0.005)
    status, count, _ = await _stored(store_url, first.execution_arn)
    assert (status, count) == ("RUNNING", 1)
    async with harness.engine(clock=None, store=store_url) as engine:
        resumed = engine.get(first.execution_arn)
        assert resumed is not None
        result = await resumed.wait()
    assert result.status == "SUCCEEDED" and result.output == {"after": "restart"}
    status, count, types = await _stored(store_url, first.execution_arn)
    assert (status, count) == ("SUCCEEDED", 1) and types.count("ExecutionRedriven") == 1


async def test_an_execution_another_engine_redrove_first_is_not_redriven_again(
    harness: Any, store_url: str
) -> None:
    machine = _failing_once(harness)
    async with harness.engine(store=store_url) as engine:
        first = engine.start(machine, {}, name="twice")
        assert (await first.wait()).status == "FAILED"
        stale = first.record
        store = open_store(store_url)
        await store.open()
        try:
            loaded = await store.load(stale.execution_arn)
            assert loaded is not None
            loaded.record.status = "RUNNING"  # as another process's redrive leaves the row
            assert await store.redrive_execution(loaded.record)
            assert not await store.redrive_execution(loaded.record)
        finally:
            await store.close()
        with pytest.raises(ExecutionNotRedrivable):
            await engine.submit_redrive(machine, stale)
