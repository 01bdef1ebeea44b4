"""Parked Tasks: an execution waits without a task of its own, and is run again when woken."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from engine import Engine, ExecutorCall, ExecutorContext, Parked
from engine.executor import Wake
from tests.engine.conftest import CUSTOM

pytestmark = pytest.mark.looptime


@dataclass
class ParkingJob:
    """An executor that submits once, parks until woken, then returns its handle.

    Attributes:
        wakes: the engine's wake callbacks, one per park.
        runs: the handle seen by each run (None for the first).
        offered: whether ``ctx.park`` was offered, per run.
        cleaned: runs that were cancelled (the stopped ones clean up here).
    """

    wakes: list[Wake] = field(default_factory=list)
    runs: list[Any] = field(default_factory=list)
    offered: list[bool] = field(default_factory=list)
    cleaned: list[Any] = field(default_factory=list)
    done: bool = False

    def listen(self, wake: Wake) -> None:
        if self.done:
            wake()
        else:
            self.wakes.append(wake)

    async def __call__(self, call: ExecutorCall, ctx: ExecutorContext) -> Any:
        self.runs.append(ctx.handle)
        self.offered.append(ctx.park is not None)
        if ctx.handle is None:
            ctx.save_handle({"job": "j-1"})
            ctx.emit("TaskSubmitted", {"output": "{}"})
        try:
            while not self.done:
                if ctx.park is not None:
                    ctx.park(self.listen)
                await anyio.sleep(3600)
        except anyio.get_cancelled_exc_class():
            self.cleaned.append(ctx.handle)
            raise
        return {"finished": ctx.handle}


def _machine(**task: Any) -> dict[str, Any]:
    return {
        "StartAt": "Job",
        "States": {"Job": {"Type": "Task", "Resource": CUSTOM, "End": True, **task}},
    }


def _execution_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("execution ")]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_parked_task_keeps_no_task_and_finishes_when_woken(harness: Any) -> None:
    job = ParkingJob()
    harness.handle(CUSTOM, job)
    async with harness.engine() as engine:
        execution = engine.start(_machine(), {"n": 1})
        await _settle()
        assert execution.parked
        assert execution.status == "RUNNING"
        assert _execution_tasks() == []
        job.done = True
        job.wakes.pop()()
        result = await execution.wait()
    assert result.status == "SUCCEEDED"
    assert result.output == {"finished": {"job": "j-1"}}
    assert job.runs == [None, {"job": "j-1"}]
    types = result.history.types
    assert types.count("TaskScheduled") == 1
    assert types.count("TaskStarted") == 1
    assert types.count("TaskSubmitted") == 1
    assert types[-2:] == ["TaskStateExited", "ExecutionSucceeded"]


async def test_a_wake_before_the_wait_is_over_parks_the_task_again(harness: Any) -> None:
    job = ParkingJob()
    harness.handle(CUSTOM, job)
    async with harness.engine() as engine:
        execution = engine.start(_machine(), {})
        await _settle()
        job.wakes.pop()()
        await _settle()
        assert execution.parked
        assert len(job.runs) == 2
        job.done = True
        job.wakes.pop()()
        result = await execution.wait()
    assert result.status == "SUCCEEDED"
    assert result.history.types.count("TaskScheduled") == 1


async def test_stopping_a_parked_execution_runs_its_task_cancelled_so_it_cleans_up(harness: Any) -> None:
    job = ParkingJob()
    harness.handle(CUSTOM, job)
    async with harness.engine() as engine:
        execution = engine.start(_machine(), {})
        await _settle()
        assert execution.parked
        execution.stop("Stopped.ByTest", "a test stopped it")
        result = await execution.wait()
    assert result.status == "ABORTED"
    assert (result.error, result.cause) == ("Stopped.ByTest", "a test stopped it")
    assert job.cleaned == [{"job": "j-1"}]
    assert job.offered == [True, False]
    assert result.history.types[-1] == "ExecutionAborted"


async def test_closing_the_engine_aborts_parked_executions(harness: Any) -> None:
    job = ParkingJob()
    harness.handle(CUSTOM, job)
    async with harness.engine() as engine:
        executions = [engine.start(_machine(), {}) for _ in range(3)]
        await _settle()
        assert all(e.parked for e in executions)
    assert [e.status for e in executions] == ["ABORTED"] * 3
    assert len(job.cleaned) == 3


@pytest.mark.parametrize(
    ("machine", "engine_options"),
    [
        (_machine(TimeoutSeconds=100), {}),
        (_machine(HeartbeatSeconds=100), {}),
        ({**_machine(), "TimeoutSeconds": 1000}, {}),
        (_machine(), {"park_waiting": False}),
        (
            {
                "StartAt": "Both",
                "States": {
                    "Both": {
                        "Type": "Parallel",
                        "End": True,
                        "Branches": [_machine()],
                    }
                },
            },
            {},
        ),
    ],
    ids=["task-timeout", "heartbeat", "machine-timeout", "engine-off", "parallel-branch"],
)
async def test_park_is_not_offered_where_the_task_must_keep_running(
    harness: Any, machine: dict[str, Any], engine_options: dict[str, Any]
) -> None:
    job = ParkingJob()
    harness.handle(CUSTOM, job)
    async with harness.engine(**engine_options) as engine:
        execution = engine.start(machine, {})
        await _settle()
        assert not execution.parked
        assert job.offered == [False]
        job.done = True
        execution.stop()
        await execution.wait()


async def test_parked_is_a_base_exception_so_executor_error_handling_lets_it_through() -> None:
    assert not issubclass(Parked, Exception)


async def test_an_engine_without_parking_executors_is_unchanged(harness: Any) -> None:
    harness.fn("f", lambda p: {"ok": p})
    async with Engine(load_plugins=False, registry=harness.registry) as engine:
        result = await engine.run(
            {"StartAt": "F", "States": {"F": harness.task("f")}}, {"n": 2}
        )
    assert result.status == "SUCCEEDED"
    assert result.output == {"value": {"ok": {"n": 2}}}
