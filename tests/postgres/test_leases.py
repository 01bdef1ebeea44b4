"""Many workers on one PostgreSQL store: claims, capacity, fencing, hand-back, wake-ups.

Each "worker" here is a ``PostgresStore`` of its own (its own pool, lease and
worker id) on one real database, as separate processes would be; the process
tests (SIGKILL) are in ``test_workers.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import asyncpg
import pytest

from engine import Engine, ExecutorCall, ExecutorContext, ExecutorRegistry
from engine.store.postgres import PostgresStore
from executors.local import CallableExecutor

CUSTOM = "arn:aws:states:::custom:call"
WAIT_LONG = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
ONE_TASK = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": CUSTOM, "End": True}}}


def registry(handler: Callable[[ExecutorCall, ExecutorContext], Awaitable[Any]] | None = None) -> ExecutorRegistry:
    reg = ExecutorRegistry()
    if handler is not None:
        reg.register(CUSTOM, CallableExecutor(handler))
    return reg


@asynccontextmanager
async def opened(url: str, **options: Any) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(url, **options)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def record_executions(url: str, definition: Any, count: int, prefix: str = "e") -> list[str]:
    """What ``statewright start`` does: executions committed in the store, run by nobody yet."""
    arns = []
    async with opened(url) as store:
        async def never(call: ExecutorCall, ctx: ExecutorContext) -> Any:
            raise AssertionError("recording an execution runs nothing")

        planner = Engine(load_plugins=False, registry=registry(never))
        text = planner.compile(definition).raw
        from engine.jsonvalue import dumps_str

        for i in range(count):
            _machine, record = planner.prepare(definition, {"i": i}, name=f"{prefix}{i}", state_machine_name="sm")
            await store.create_execution(record, dumps_str(text))
            arns.append(record.execution_arn)
    return arns


async def sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def test_workers_claim_disjoint_shares_of_the_unowned_executions(postgres_url: str) -> None:
    async with opened(postgres_url) as a, opened(postgres_url) as b:
        assert await a.running() == [] and await b.running() == []  # both are live workers now
        arns = await record_executions(postgres_url, WAIT_LONG, 20)
        first = {r.record.execution_arn for r in await a.running()}
        second = {r.record.execution_arn for r in await b.running()}
        assert len(first) == 10 and len(second) == 10  # each its share of 20 between two workers
        assert first.isdisjoint(second) and first | second == set(arns)
        assert await a.running() == [] and await b.running() == []
        owners = await sql(postgres_url, "SELECT owner, epoch FROM executions")
    assert {r["owner"] for r in owners} == {a.worker_id, b.worker_id}
    assert {r["epoch"] for r in owners} == {1}


async def test_a_worker_never_owns_more_than_its_capacity(postgres_url: str) -> None:
    await record_executions(postgres_url, WAIT_LONG, 7)
    async with opened(postgres_url, capacity=3) as small, opened(postgres_url) as big:
        assert len(await small.running()) == 3
        assert await small.running() == []
        assert small.owned() == 3
        assert len(await big.running()) == 4  # the rest waited for another worker


async def test_a_worker_whose_lease_lapsed_cannot_write_and_drops_the_execution(postgres_url: str) -> None:
    """Fencing: the paused worker's result never lands; the new owner's does, and the history stays whole."""
    await record_executions(postgres_url, ONE_TASK, 1)
    entered = asyncio.Event()
    release = asyncio.Event()

    async def slow(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        entered.set()
        await release.wait()
        return "from the paused worker"

    async def quick(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        return "from the new owner"

    store_a = PostgresStore(postgres_url)
    async with Engine(load_plugins=False, registry=registry(slow), store=store_a) as engine_a:
        await entered.wait()
        (arn,) = list(engine_a._executions)
        # Worker A stalls past its lease (as a paused or partitioned process does).
        await sql(postgres_url, "UPDATE workers SET lease_expires = now() - interval '1 s' WHERE id = $1", store_a.worker_id)
        store_b = PostgresStore(postgres_url)
        async with Engine(load_plugins=False, registry=registry(quick), store=store_b) as engine_b:
            (resumed,) = engine_b._executions.values()
            release.set()
            result = await resumed.wait()
            with anyio.fail_after(5):
                while arn in engine_a._executions:
                    await anyio.sleep(0.01)
    assert result.output == "from the new owner"
    assert store_a.fenced_writes == 1 and store_a.lost == 1
    rows = await sql(postgres_url, "SELECT status, output, owner, epoch FROM executions")
    assert [(r["status"], r["owner"], r["epoch"]) for r in rows] == [("SUCCEEDED", store_b.worker_id, 2)]
    async with opened(postgres_url) as reader:
        events = await reader.history(arn)
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert not any("paused worker" in str(e.details) for e in events)
    types = [e.type for e in events]
    assert types.count("TaskSucceeded") == 1 and types.count("ExecutionSucceeded") == 1


async def test_leaving_hands_the_executions_back_at_once(postgres_url: str) -> None:
    await record_executions(postgres_url, WAIT_LONG, 3)
    async with Engine(load_plugins=False, registry=registry(), store=PostgresStore(postgres_url)) as engine:
        assert len(engine._executions) == 3
    # The lease is 15 s; a worker that left cleanly does not make the others wait for it.
    async with opened(postgres_url) as other:
        started = time.monotonic()
        assert len(await other.running()) == 3
        assert time.monotonic() - started < 1


async def test_a_lapsed_lease_lets_another_worker_take_over(postgres_url: str) -> None:
    await record_executions(postgres_url, WAIT_LONG, 2)
    async with opened(postgres_url, lease_seconds=1) as a, opened(postgres_url) as b:
        assert len(await a.running()) == 2
        assert await b.running() == []  # a's lease holds
        # a stops heartbeating (its heartbeat task is what a SIGKILL or a pause stops).
        io_loop = a._db.io_loop
        assert io_loop is not None
        for task in list(a._worker.tasks):
            io_loop.call_soon_threadsafe(task.cancel)
        await anyio.sleep(1.2)
        taken = await b.running()
        assert len(taken) == 2
    rows = await sql(postgres_url, "SELECT DISTINCT epoch FROM executions")
    assert [r["epoch"] for r in rows] == [2]


async def test_new_executions_and_stop_requests_wake_the_workers(postgres_url: str) -> None:
    async with opened(postgres_url) as worker:
        await worker.running()  # registers and listens
        await anyio.sleep(0.2)
        worker._worker.work.clear()
        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            tg.start_soon(record_executions, postgres_url, WAIT_LONG, 1)
            with anyio.fail_after(1):
                await worker.wait_for_work()
        assert time.monotonic() - started < 1
        (claimed,) = await worker.running()
        async with opened(postgres_url) as cli:
            await cli.request_stop(claimed.record.execution_arn, "Operator", "enough")
        with anyio.fail_after(1):
            await worker.wait_for_work()
        assert [s.execution_arn for s in await worker.stop_requests()] == [claimed.record.execution_arn]


async def test_only_the_owner_is_asked_to_carry_out_a_stop(postgres_url: str) -> None:
    (arn,) = await record_executions(postgres_url, WAIT_LONG, 1)
    async with opened(postgres_url) as owner, opened(postgres_url) as other:
        await owner.running()
        await other.running()
        await other.request_stop(arn, None, None)
        assert await other.stop_requests() == []
        assert [s.execution_arn for s in await owner.stop_requests()] == [arn]


async def test_a_stop_reaches_the_owning_worker_within_a_second(postgres_url: str) -> None:
    (arn,) = await record_executions(postgres_url, WAIT_LONG, 1)
    store = PostgresStore(postgres_url)
    async with Engine(load_plugins=False, registry=registry(), store=store) as engine:
        (execution,) = engine._executions.values()

        async def carry_out() -> None:
            while True:
                with anyio.move_on_after(1):
                    await store.wait_for_work()
                await engine.apply_stop_requests()

        async with anyio.create_task_group() as tg:
            tg.start_soon(carry_out)
            await anyio.sleep(0.1)
            started = time.monotonic()
            async with opened(postgres_url) as cli:
                await cli.request_stop(arn, "Operator", "enough")
            result = await execution.wait()
            took = time.monotonic() - started
            tg.cancel_scope.cancel()
    assert (result.status, result.error) == ("ABORTED", "Operator")
    assert took < 1


@pytest.mark.parametrize("count", [1, 40])
async def test_executions_started_in_a_worker_are_owned_by_it_and_fenced(postgres_url: str, count: int) -> None:
    async def echo(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        return call.parameters

    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": CUSTOM, "Next": "U"},
                                             "U": {"Type": "Task", "Resource": CUSTOM, "End": True}}}  # fmt: skip
    store = PostgresStore(postgres_url)
    async with Engine(load_plugins=False, registry=registry(echo), store=store) as engine:
        results = [await engine.start(definition, {"i": i}).wait() for i in range(count)]
    assert [r.output for r in results] == [{"i": i} for i in range(count)]
    rows = await sql(postgres_url, "SELECT status, owner, epoch, event_count FROM executions")
    assert {(r["status"], r["owner"], r["epoch"]) for r in rows} == {("SUCCEEDED", store.worker_id, 1)}
    stored = await sql(
        postgres_url,
        "SELECT execution_seq, sum(last_id - first_id + 1) AS n FROM history_chunks GROUP BY execution_seq",
    )
    assert sorted(r["n"] for r in stored) == sorted(r["event_count"] for r in rows)
