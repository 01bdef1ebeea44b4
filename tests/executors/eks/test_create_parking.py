"""An execution whose runJob create waits for a write slot parks: it keeps its place in line, not a task.

In a burst of starts thousands of creates wait for the few write slots of one
API server at once. Each execution that may park waits in the slots' line with
no task or stack of its own; a released slot is handed to the oldest waiter,
and a parked one's Task runs again with the slot. These tests hold every write
slot themselves, as creates in flight would, and let them go one at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

from engine import Engine, ExecutorRegistry
from engine.aio.slots import RequestSlots
from engine.jsonvalue import JSON, loads
from engine.runtime.record import ExecutionRecord
from executors.eks import EksExecutor, recovery, register
from executors.eks.services import EksServices
from tests.executors.eks.test_watch import _engine_machine, manifest, until
from tests.support.eks import JOBS_PATH, CountingKube, StaticTokens, services_with


def write_slots(services: EksServices, kube: CountingKube) -> RequestSlots:
    return services.connections.request_slots(kube.url, kube.ca_b64)


class EverySlot:
    """Every write slot, held as creates in flight would hold them; what is still held goes back on exit."""

    def __init__(self, slots: RequestSlots) -> None:
        self.slots = slots
        self.size = 0
        while slots.try_acquire():
            self.size += 1
        assert self.size > 0
        self.held = self.size

    def release(self, count: int = 1) -> None:
        for _ in range(count):
            assert self.held > 0
            self.held -= 1
            self.slots.release()

    def __enter__(self) -> EverySlot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release(self.held)


def posts(kube: CountingKube) -> int:
    return sum(1 for m, p, q in kube.requests if m == "POST" and p == JOBS_PATH)


def execution_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("execution ")]


class Submitted:
    """The engine's ``on_event`` hook: execution names in the order their Jobs were created."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def __call__(self, record: ExecutionRecord, event_type: str, details: Mapping[str, JSON] | None) -> None:
        if event_type == "TaskSubmitted":
            self.order.append(record.name)


def engine_with(services: EksServices, **kwargs: Any) -> Engine:
    registry = ExecutorRegistry()
    register(registry, EksExecutor(services))
    return Engine(load_plugins=False, registry=registry, **kwargs)


async def test_creates_waiting_for_a_slot_park_and_are_handed_it_in_order(
    kube: CountingKube, services: EksServices
) -> None:
    submitted = Submitted()
    slots = write_slots(services, kube)
    async with engine_with(services, on_event=submitted) as engine:
        plain = engine.compile(_engine_machine(kube))
        timed = _engine_machine(kube)
        timed["States"]["Run"]["TimeoutSeconds"] = 3600  # a deadline: it may not park, it waits in line
        timed_machine = engine.compile(timed)
        with EverySlot(slots) as held:
            executions = []
            for i in range(5):
                machine = timed_machine if i == 2 else plain
                job = {"job": manifest(f"queued-{i}", seconds=0.2)}
                executions.append(engine.start(machine, job, name=f"q{i}"))
                await until(lambda: slots.waiting == len(executions))
            # Four parked in line with no task; the one with a deadline waits with its own.
            await until(lambda: sum(e.parked for e in executions) == 4)
            assert [e.parked for e in executions] == [True, True, False, True, True]
            assert [t.get_name() for t in execution_tasks()] == ["execution q2"]
            assert posts(kube) == 0
            # One slot: each create hands it on to the next in line when it is answered.
            held.release()
            await until(lambda: len(submitted.order) == 5)
            assert submitted.order == ["q0", "q1", "q2", "q3", "q4"]
        results = [await e.wait() for e in executions]
    assert [r.status for r in results] == ["SUCCEEDED"] * 5
    assert [r.output for r in results] == [{"name": f"queued-{i}"} for i in range(5)]
    assert all(r.history.types.count("TaskScheduled") == 1 for r in results)
    assert posts(kube) == 5
    assert slots.free == held.size
    assert slots.waiting == 0


async def test_stopping_an_execution_parked_in_line_sends_nothing_and_takes_no_slot(
    kube: CountingKube, services: EksServices
) -> None:
    slots = write_slots(services, kube)
    async with engine_with(services) as engine:
        machine = engine.compile(_engine_machine(kube))
        with EverySlot(slots) as held:
            executions = [
                engine.start(machine, {"job": manifest(f"line-{i}", seconds=0.2)}, name=f"l{i}")
                for i in range(3)
            ]
            await until(lambda: all(e.parked for e in executions) and slots.waiting == 3)
            executions[1].stop("Stopped", "while in line")
            with anyio.fail_after(10):
                stopped = await executions[1].wait()
            assert stopped.status == "ABORTED"
            assert slots.waiting == 2  # it left the line
            assert slots.free == 0  # and took nothing with it
            assert posts(kube) == 0
        results = [await executions[i].wait() for i in (0, 2)]
    assert [r.status for r in results] == ["SUCCEEDED"] * 2
    assert [r.output for r in results] == [{"name": "line-0"}, {"name": "line-2"}]
    assert posts(kube) == 2
    assert not [m for m, p, q in kube.requests if m == "DELETE"]  # the stopped one made nothing to delete
    assert slots.free == held.size


async def test_a_slot_handed_to_an_execution_stopped_before_its_task_runs_goes_to_the_next(
    kube: CountingKube, services: EksServices
) -> None:
    slots = write_slots(services, kube)
    async with engine_with(services) as engine:
        machine = engine.compile(_engine_machine(kube))
        with EverySlot(slots) as held:
            first = engine.start(machine, {"job": manifest("handed-0", seconds=0.2)})
            await until(lambda: first.parked)
            second = engine.start(machine, {"job": manifest("handed-1", seconds=0.2)})
            await until(lambda: second.parked and slots.waiting == 2)
            # Handed the slot (its Task is scheduled to run again), then stopped before it runs.
            held.release()
            assert not first.parked
            first.stop("Stopped", "just handed a slot")
            with anyio.fail_after(10):
                assert (await first.wait()).status == "ABORTED"
                # Its Task gave the slot back: the next in line creates with it.
                result = await second.wait()
            assert result.status == "SUCCEEDED"
            assert result.output == {"name": "handed-1"}
            assert posts(kube) == 1
        assert slots.free == held.size
        assert slots.waiting == 0


async def test_executions_left_in_line_by_a_suspending_engine_resume_and_create_each_job_once(
    kube: CountingKube, tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    first_services = services_with(StaticTokens())
    slots = write_slots(first_services, kube)
    names = [f"resumed-{i}" for i in range(3)]
    async with engine_with(first_services, store=store) as engine:
        machine = engine.compile(_engine_machine(kube))
        held = EverySlot(slots)
        try:
            executions = [engine.start(machine, {"job": manifest(name, seconds=0.2)}) for name in names]
            await until(lambda: all(e.parked for e in executions) and slots.waiting == 3)
        except BaseException:
            held.release(held.held)
            raise
        arns = [e.execution_arn for e in executions]
    # Suspended (the records stay RUNNING); the line still has their places, and their wakes
    # now say they no longer wait there: the slots released pass by them, none is lost.
    assert all(e.status == "RUNNING" for e in executions)
    held.release(held.size)
    assert slots.free == held.size
    assert slots.waiting == 0
    assert posts(kube) == 0
    # The next engine (another process: other services) resumes them; each creates its Job once.
    again = services_with(StaticTokens())
    async with engine_with(again, store=store) as engine:
        resumed = [engine.get(arn) for arn in arns]
        with anyio.fail_after(20):
            results = [await e.wait() for e in resumed if e is not None]
    assert [r.status for r in results] == ["SUCCEEDED"] * 3
    assert [r.output for r in results] == [{"name": name} for name in names]
    assert posts(kube) == 3
    for result in results:
        types = result.history.types
        assert types.count("TaskScheduled") == 1 and types.count("TaskSubmitted") == 1
        (submitted,) = [e for e in result.history if e.type == "TaskSubmitted"]
        assert submitted.details is not None
        job = loads(str(submitted.details["output"]))
        assert isinstance(job, dict) and recovery.ARN_KEY in str(job["metadata"])
        assert job["metadata"]["annotations"][recovery.ARN_KEY] == result.execution_arn  # type: ignore[index,call-overload]
    assert all(kube.store.get("batch", "jobs", "default", name) is not None for name in names)
