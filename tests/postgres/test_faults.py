"""The database going away mid-run, and databases that are not (or not yet) ours.

The restart test stops and starts a real PostgreSQL server (``pg_ctl stop``,
``pg_ctl start``) of its own while executions run: they stay suspended at
their next commit, the store reconnects with back-off, and every execution
ends exactly as it would have, with a whole history.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import anyio
import asyncpg
import pytest

from engine import Engine, ExecutorCall, ExecutorContext, ExecutorRegistry
from engine.store import StoreError
from engine.store.base import ExecutionWrite
from engine.store.postgres import SCHEMA_VERSION, PostgresStore
from engine.store.postgres import _database as postgres_database
from engine.store.postgres import _store as postgres_store
from engine.store.postgres._writes import Owned
from executors.local import CallableExecutor
from tests.support.postgres_fixtures import OwnPostgres

CUSTOM = "arn:aws:states:::custom:call"
STEPS = 4
CHAIN = {
    "StartAt": "S0",
    "States": {
        f"S{i}": {
            "Type": "Task",
            "Resource": CUSTOM,
            "Parameters": {"n.$": "$.n"},
            "ResultSelector": {"n.$": "$.n"},
            **({"Next": f"S{i + 1}"} if i < STEPS - 1 else {"End": True}),
        }
        for i in range(STEPS)
    },
}


async def test_executions_survive_postgresql_stopping_and_starting_again(
    own_postgres: OwnPostgres, own_postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls: dict[str, int] = {}
    down = asyncio.Event()

    async def add_one(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        calls[ctx.execution_arn] = calls.get(ctx.execution_arn, 0) + 1
        await anyio.sleep(0.05)
        return {"n": call.parameters["n"] + 1}  # type: ignore[index,operator]

    registry = ExecutorRegistry()
    registry.register(CUSTOM, CallableExecutor(add_one))
    store = PostgresStore(own_postgres_url)
    caplog.set_level(logging.WARNING, logger="engine.store.postgres")
    async with Engine(load_plugins=False, registry=registry, store=store) as engine:
        executions = [engine.start(CHAIN, {"n": i * 100}) for i in range(20)]
        await anyio.sleep(0.1)
        await anyio.to_thread.run_sync(own_postgres.cluster.stop)
        down.set()
        await anyio.sleep(1.5)  # the writer retries with back-off meanwhile
        running_while_down = sum(1 for e in executions if e.status == "RUNNING")
        await anyio.to_thread.run_sync(own_postgres.cluster.start)
        with anyio.fail_after(30):
            results = [await e.wait() for e in executions]
    assert running_while_down > 0
    assert [r.output for r in results] == [{"n": i * 100 + STEPS} for i in range(20)]
    # A call may be made once more only where its scheduling record was committed and its
    # result was not (at-least-once, as AWS); here every result was committed once.
    assert all(n <= STEPS + 1 for n in calls.values())
    conn = await asyncpg.connect(own_postgres_url)
    try:
        statuses = await conn.fetch("SELECT status, event_count FROM executions")
        counts = await conn.fetch(
            "SELECT execution_seq, sum(last_id - first_id + 1) AS count, max(last_id) AS max, min(first_id) AS min "
            "FROM history_chunks GROUP BY execution_seq"
        )
    finally:
        await conn.close()
    assert {r["status"] for r in statuses} == {"SUCCEEDED"}
    assert all(r["count"] == r["max"] and r["min"] == 1 for r in counts)  # no gap, no duplicate event
    assert sorted(r["count"] for r in counts) == sorted(r["event_count"] for r in statuses)
    where = f"{urlsplit(own_postgres_url).hostname}:{urlsplit(own_postgres_url).port}"
    assert f"PostgreSQL at {where}" in caplog.text and "is back" in caplog.text
    assert urlsplit(own_postgres_url).password not in caplog.text


def _end_backend(url: str, pid: int) -> None:
    """End the server process behind a connection (as a shutdown does) and wait until it is gone.

    From another thread: the caller's loop stays blocked meanwhile, so the server's FATAL and the
    end of the stream are both waiting on its socket when it runs again.
    """

    async def end() -> None:
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
            while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                await asyncio.sleep(0.01)
        finally:
            await conn.close()

    thread = threading.Thread(target=lambda: asyncio.run(end()))
    thread.start()
    thread.join()


async def test_a_connection_the_server_ends_between_two_statements_is_not_used_again(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The race of the restart above, made certain: the server ends the writer's connection after the
    # batch's statements, before its COMMIT. asyncpg reads the FATAL one turn of its loop before the
    # end of the stream; a COMMIT sent in between is refused with InternalClientError ("cannot switch
    # to state 15; another operation (2) is in progress"), which once failed the store for good.
    write_batch = postgres_store.write_batch
    ended: list[int] = []

    async def ending_before_commit(
        conn: asyncpg.Connection, worker_id: str, writes: Sequence[ExecutionWrite], ids: dict[str, Owned]
    ) -> tuple[set[str], dict[str, int], set[int]]:
        result = await write_batch(conn, worker_id, writes, ids)
        if not ended:
            ended.append(conn.get_server_pid())
            _end_backend(postgres_url, ended[0])
            await asyncio.sleep(0)  # asyncpg reads the FATAL
            await asyncio.sleep(0)  # ... and this batch commits before it reads the end of the stream
        return result

    monkeypatch.setattr(postgres_store, "write_batch", ending_before_commit)

    async def add_one(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        return {"n": call.parameters["n"] + 1}  # type: ignore[index,operator]

    registry = ExecutorRegistry()
    registry.register(CUSTOM, CallableExecutor(add_one))
    caplog.set_level(logging.WARNING, logger="engine.store.postgres")
    async with Engine(load_plugins=False, registry=registry, store=PostgresStore(postgres_url)) as engine:
        with anyio.fail_after(30):
            result = await engine.start(CHAIN, {"n": 1}).wait()
    assert len(ended) == 1
    assert result.output == {"n": 1 + STEPS}
    assert "the server ended the connection; committing waits and retries" in caplog.text
    assert "is back; committing goes on" in caplog.text
    conn = await asyncpg.connect(postgres_url)
    try:
        row = await conn.fetchrow("SELECT status, event_count FROM executions")
        events = await conn.fetchval("SELECT sum(last_id - first_id + 1) FROM history_chunks")
    finally:
        await conn.close()
    assert row is not None and row["status"] == "SUCCEEDED"
    assert events == row["event_count"]  # the batch run again added no event twice


async def test_a_flush_that_is_not_leaving_waits_a_lost_server_out(
    own_postgres: OwnPostgres, own_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a flush on the way out (suspending, SIGTERM) gives up on a lost server after
    # CLOSE_PATIENCE; one that an execution's wait() or the API server makes waits it out.
    monkeypatch.setattr(postgres_database, "CLOSE_PATIENCE", 0.5)

    async def add_one(call: ExecutorCall, ctx: ExecutorContext) -> Any:
        await anyio.sleep(0.05)
        n = call.parameters["n"]
        assert isinstance(n, int)
        return {"n": n + 1}

    registry = ExecutorRegistry()
    registry.register(CUSTOM, CallableExecutor(add_one))
    store = PostgresStore(own_postgres_url)
    async with Engine(load_plugins=False, registry=registry, store=store) as engine:
        executions = [engine.start(CHAIN, {"n": i * 100}) for i in range(5)]
        await anyio.sleep(0.1)
        await anyio.to_thread.run_sync(own_postgres.cluster.stop)
        flushing = asyncio.ensure_future(store.flush())
        await anyio.sleep(1.5)  # three times a leaving flush's patience
        assert not flushing.done()
        await anyio.to_thread.run_sync(own_postgres.cluster.start)
        with anyio.fail_after(30):
            await flushing
            results = [await e.wait() for e in executions]
        assert engine.store_failure is None
    assert [r.output for r in results] == [{"n": i * 100 + STEPS} for i in range(5)]


async def test_a_schema_from_a_newer_statewright_is_refused(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    await store.open()
    await store.close()
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("UPDATE statewright_schema SET version = $1", SCHEMA_VERSION + 1)
    finally:
        await conn.close()
    with pytest.raises(StoreError, match=f"has schema version {SCHEMA_VERSION + 1}, newer than"):
        await PostgresStore(postgres_url).open()


async def test_a_database_of_another_application_is_not_written_into(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("CREATE TABLE executions (id int)")
        with pytest.raises(StoreError, match="is not a statewright store"):
            await PostgresStore(postgres_url).open()
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    assert [t["tablename"] for t in tables] == ["executions"]


async def test_workers_opening_together_migrate_once(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    await asyncio.gather(*(s.close() for s in stores))
    conn = await asyncpg.connect(postgres_url)
    try:
        assert await conn.fetchval("SELECT version FROM statewright_schema") == SCHEMA_VERSION
        assert await conn.fetchval("SELECT count(*) FROM statewright_schema") == 1
    finally:
        await conn.close()


async def test_a_store_of_schema_1_is_migrated_with_its_history(postgres_url: str) -> None:
    from engine.store.postgres import MIGRATIONS

    conn = await asyncpg.connect(postgres_url)
    try:
        async with conn.transaction():
            await conn.execute("CREATE TABLE statewright_schema (version integer NOT NULL)")
            await conn.execute("INSERT INTO statewright_schema VALUES (1)")
            for statement in MIGRATIONS[0]:
                await conn.execute(statement)
            await conn.execute("INSERT INTO definitions VALUES ('h', '{}')")
            seq = await conn.fetchval(
                "INSERT INTO executions (arn, state_machine_arn, state_machine_name, name, definition_hash, type, "
                "role_arn, status, input, start_date, state, event_count) VALUES ('arn:x', 'arn:sm', 'sm', 'x', 'h', "
                "'STANDARD', 'r', 'SUCCEEDED', '{}', 0, '', 2) RETURNING seq"
            )
            await conn.execute(
                "INSERT INTO history VALUES ($1, 1, 0, 1.5, 'ExecutionStarted', '{\"input\": {\"a\": 1}}'), "
                "($1, 2, 1, 2.5, 'ExecutionSucceeded', NULL)",
                seq,
            )
    finally:
        await conn.close()
    store = PostgresStore(postgres_url)
    await store.open()
    try:
        events = await store.history("arn:x")
    finally:
        await store.close()
    assert [(e.id, e.previous_event_id, e.timestamp, e.type) for e in events] == [
        (1, 0, 1.5, "ExecutionStarted"),
        (2, 1, 2.5, "ExecutionSucceeded"),
    ]
    assert events[0].details == {"input": {"a": 1}}
