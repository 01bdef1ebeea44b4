"""``PostgresStore``: the shared durable store's queries, over its database, worker and group commit.

The store answers the ``Store`` interface in PostgreSQL's SQL; what it is
made of lives beside it: the connection and I/O thread (``_database``), this
process as a worker with its lease, wake-ups and claims (``_worker``), the
fenced batch writes (``_writes``), the schema (``_schema``) and the URL
(``_target``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import asyncpg

from engine.errors import ExecutionAlreadyExists, ExecutionDoesNotExist
from engine.history import HistoryEvent
from engine.jsonvalue import JSON, dumps_str
from engine.runtime.record import RUNNING, ExecutionRecord
from engine.store import rows
from engine.store.base import (
    DEFAULT_PAGE_SIZE,
    REDRIVABLE_STATUSES,
    DurableStore,
    ExecutionWrite,
    Page,
    Resumable,
    StopRequest,
    StoredActivity,
    StoredExecution,
    StoredStateMachine,
    StoreError,
    creation_write,
    redrive_write,
    redriven_at,
)
from engine.store.postgres._database import Database
from engine.store.postgres._schema import CHANNEL, CLAIM_EPOCH, CLAIM_HASH
from engine.store.postgres._target import Target
from engine.store.postgres._worker import Worker
from engine.store.postgres._writes import Owned, insert_events, insert_executions, write_batch
from engine.store.rows import ACTIVITY_QUERY, EVENT_COUNT, EXECUTION_COLUMNS, STATE, STATE_MACHINE_QUERY

log = logging.getLogger("engine.store.postgres")

T = TypeVar("T")

DEFAULT_LEASE_SECONDS: Final = 15.0
#: The most executions one claim takes; a worker that took a full batch claims again at once.
CLAIM_BATCH: Final = 500


class PostgresStore(DurableStore):
    """A durable store in a PostgreSQL database, shared by any number of workers.

    Args:
        url: ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=...]``.
        lease_seconds: how long this worker's claim outlives its last heartbeat;
            another worker takes its executions over after that.
        capacity: the most RUNNING executions this worker owns at once (None: no cap).
        pool_size: connections in the pool (the group-committing writer uses one at a time).
        name: how this worker appears in ``workers`` (default: host and process id).
        create: create the tables in a database that has none yet (else opening fails).
    """

    notifies = True

    def __init__(
        self,
        url: str,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        capacity: int | None = None,
        pool_size: int = 4,
        name: str | None = None,
        create: bool = True,
    ) -> None:
        super().__init__()
        target = Target.parse(url)
        self.url = target.display
        if not lease_seconds > 0:
            raise StoreError(f"{self.url}: the lease must be longer than 0 seconds")
        if capacity is not None and capacity < 1:
            raise StoreError(f"{self.url}: a worker's capacity is at least 1")
        self._db = Database(target, pool_size=pool_size, create=create)
        self._worker = Worker(self._db, lease_seconds=float(lease_seconds), capacity=capacity, name=name)
        self._owned: dict[str, Owned] = {}
        self.fenced_writes = 0
        """Writes refused because another worker had claimed the execution (none of them landed)."""
        self.lost = 0
        """Executions dropped because another worker claimed them."""
        self.on_lost: Callable[[str], None] | None = None
        """Set by the engine: stop running this execution here, writing nothing (another worker owns it)."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> PostgresStore:
        """A store for ``url`` (see the class); ``options`` as the constructor's."""
        return cls(url, **options)

    @property
    def worker_id(self) -> str:
        """This worker's id in ``workers`` and ``executions.owner``."""
        return self._worker.id

    @property
    def worker_name(self) -> str:
        """How this worker appears in ``workers``."""
        return self._worker.name

    @property
    def lease_seconds(self) -> float:
        return self._worker.lease_seconds

    @property
    def capacity(self) -> int | None:
        return self._worker.capacity

    # -- opening and closing ------------------------------------------------------------
    async def _open(self) -> None:
        self._worker.reset()
        await self._db.open()

    async def _close(self) -> None:
        if self._db.io_loop is None:
            return
        try:
            await self._db.call(self._close_io())
        finally:
            self._owned.clear()
            await self._db.stop_thread()

    async def _close_io(self) -> None:
        try:
            await self._worker.leave_io()
        finally:
            await self._db.close_pool_io()

    async def flush(self, *, leaving: bool = False) -> None:
        if not leaving:
            # An execution reading its history back, the API server: wait a lost server out.
            await super().flush()
            return
        # Leaving (the engine suspending, SIGTERM): wait for a lost server a bounded time only.
        db = self._db
        if db.flushing_since is None:
            db.flushing_since = time.monotonic()
        try:
            await super().flush(leaving=True)
        finally:
            db.flushing_since = None

    async def _query(self, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``body`` once on a pooled connection; a lost server is a StoreError naming host and cause."""
        return await self._db.call(self._db.query_io(body))

    async def _retrying(self, what: str, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``body`` in a transaction until it commits: a lost server is waited for, with back-off."""
        return await self._db.call(self._db.retrying_io(what, body))

    # -- the lease ------------------------------------------------------------------------
    async def _register(self) -> None:
        if not self._worker.registered:
            await self._db.call(self._worker.register_io())

    def lease_held(self) -> bool:
        """Whether this worker's lease surely has not lapsed (by its own clock, with a margin)."""
        return self._worker.lease_held()

    async def commit(self, record: ExecutionRecord) -> None:
        await super().commit(record)
        # A Task is called only while the lease holds: had it lapsed, another worker may own the
        # execution by now, and the fenced commit after renewing tells (it drops the execution then).
        worker = self._worker
        while worker.registered and not worker.lease_held():
            await worker.renewed.wait()
            await super().commit(record)

    async def wait_for_work(self) -> None:
        """Return when another process started, stopped or handed back executions (NOTIFY).

        Callers poll too (``anyio.move_on_after`` around this): a notification
        sent while the listener was reconnecting is not replayed by PostgreSQL.
        """
        work = self._worker.work
        await work.wait()
        work.clear()

    # -- group commit ---------------------------------------------------------------------
    async def _write_batch(self, writes: Sequence[ExecutionWrite]) -> set[str]:
        # An execution this worker no longer owns is written no more (it was dropped).
        mine = [w for w in writes if w.create is not None or w.execution_arn in self._owned]
        if any(w.create is not None for w in mine):
            await self._register()
        ids = {w.execution_arn: self._owned[w.execution_arn] for w in mine if w.execution_arn in self._owned}
        conflicts, created, accepted = await self._retrying(
            "committing", lambda conn: write_batch(conn, self.worker_id, mine, ids)
        )
        for arn, seq in created.items():
            self._owned[arn] = Owned(seq, 1)
        lost: list[str] = []
        for w in mine:
            if w.execution_arn in conflicts:
                continue
            owned = self._owned.get(w.execution_arn)
            if owned is None:
                continue
            if owned.seq not in accepted:
                self.fenced_writes += 1
                lost.append(w.execution_arn)
                self._owned.pop(w.execution_arn, None)
            elif w.status != RUNNING:
                self._owned.pop(w.execution_arn, None)
        for arn in lost:
            self.lost += 1
            log.warning("%s: another worker owns execution %s now; dropping it here", self.url, arn)
            if self.on_lost is not None:
                self.on_lost(arn)
        return conflicts

    # -- state machines -------------------------------------------------------------------
    async def put_state_machine(
        self,
        arn: str,
        name: str,
        definition: str,
        *,
        type: str = "STANDARD",
        role_arn: str = "",
        settings: Mapping[str, JSON] | None = None,
        creation_date: datetime | None = None,
    ) -> StoredStateMachine:
        created = (creation_date or datetime.now(UTC)).timestamp()
        digest = rows.definition_digest(definition)
        settings_text = dumps_str(dict(settings or {}))

        async def body(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO definitions (hash, text) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    digest,
                    definition,
                )
                await conn.execute(
                    "INSERT INTO state_machines (arn, name, type, definition_hash, role_arn, creation_date, "
                    "settings) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (arn) DO UPDATE SET "
                    "definition_hash = excluded.definition_hash, role_arn = excluded.role_arn, "
                    "settings = excluded.settings",
                    arn,
                    name,
                    type,
                    digest,
                    role_arn,
                    created,
                    settings_text,
                )

        await self._query(body)
        found = await self.get_state_machine(arn)
        assert found is not None
        return found

    async def delete_state_machine(self, arn: str) -> None:
        async def body(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute("DELETE FROM state_machines WHERE arn = $1", arn)
                await conn.execute("DELETE FROM tags WHERE resource_arn = $1", arn)

        await self._query(body)

    async def get_state_machine(self, arn: str) -> StoredStateMachine | None:
        row = await self._query(lambda conn: conn.fetchrow(f"{STATE_MACHINE_QUERY} WHERE s.arn = $1", arn))
        return rows.state_machine(row) if row is not None else None

    async def list_state_machines(
        self, *, max_results: int = DEFAULT_PAGE_SIZE, next_token: str | None = None
    ) -> Page[StoredStateMachine]:
        found = await self._query(
            lambda conn: conn.fetch(
                f"{STATE_MACHINE_QUERY} WHERE s.arn > $1 ORDER BY s.arn LIMIT $2",
                next_token or "",
                max_results + 1,
            )
        )
        return rows.state_machine_page(found, max_results)

    # -- map runs ----------------------------------------------------------------------------
    async def put_map_run(self, arn: str, execution_arn: str, document: str) -> None:
        await self._query(
            lambda conn: conn.execute(
                "INSERT INTO map_runs (arn, execution_arn, document) VALUES ($1, $2, $3) "
                "ON CONFLICT (arn) DO UPDATE SET document = excluded.document",
                arn,
                execution_arn,
                document,
            )
        )

    async def get_map_run(self, arn: str) -> str | None:
        found = await self._query(
            lambda conn: conn.fetchval("SELECT document FROM map_runs WHERE arn = $1", arn)
        )
        return str(found) if found is not None else None

    async def list_map_runs(self, execution_arn: str) -> list[str]:
        found = await self._query(
            lambda conn: conn.fetch(
                "SELECT document FROM map_runs WHERE execution_arn = $1 ORDER BY seq", execution_arn
            )
        )
        return [str(row[0]) for row in found]

    # -- activities and tags ----------------------------------------------------------------
    async def put_activity(
        self, arn: str, name: str, *, creation_date: datetime | None = None
    ) -> StoredActivity:
        created = (creation_date or datetime.now(UTC)).timestamp()

        async def body(conn: asyncpg.Connection) -> Any:
            await conn.execute(
                "INSERT INTO activities (arn, name, creation_date) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                arn,
                name,
                created,
            )
            return await conn.fetchrow(f"{ACTIVITY_QUERY} WHERE arn = $1", arn)

        return rows.activity(await self._query(body))

    async def list_activities(
        self, *, max_results: int = DEFAULT_PAGE_SIZE, next_token: str | None = None
    ) -> Page[StoredActivity]:
        found = await self._query(
            lambda conn: conn.fetch(
                f"{ACTIVITY_QUERY} WHERE arn > $1 ORDER BY arn LIMIT $2", next_token or "", max_results + 1
            )
        )
        return rows.activity_page(found, max_results)

    async def delete_activity(self, arn: str) -> None:
        async def body(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute("DELETE FROM activities WHERE arn = $1", arn)
                await conn.execute("DELETE FROM tags WHERE resource_arn = $1", arn)

        await self._query(body)

    async def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        keys = list(tags)
        await self._query(
            lambda conn: conn.execute(
                "INSERT INTO tags (resource_arn, key, value) SELECT $1, k, v FROM unnest($2::text[], $3::text[]) "
                "AS u(k, v) ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
                arn,
                keys,
                [tags[k] for k in keys],
            )
        )

    async def untag_resource(self, arn: str, keys: Collection[str]) -> None:
        await self._query(
            lambda conn: conn.execute(
                "DELETE FROM tags WHERE resource_arn = $1 AND key = ANY($2::text[])", arn, list(keys)
            )
        )

    async def list_tags(self, arn: str) -> dict[str, str]:
        found = await self._query(
            lambda conn: conn.fetch("SELECT key, value FROM tags WHERE resource_arn = $1 ORDER BY key", arn)
        )
        return {r[0]: r[1] for r in found}

    # -- executions -----------------------------------------------------------------------
    async def create_execution(
        self, record: ExecutionRecord, definition: str, *, run_here: bool = False
    ) -> None:
        write = creation_write(record, definition)
        # Run here: owned by this worker from the start, so its writes are not refused as another's
        # (an unowned one is written by nobody until a claim takes it).
        if run_here:
            await self._register()
        owner, epoch = (self.worker_id, 1) if run_here else (None, 0)

        async def body(conn: asyncpg.Connection) -> int | None:
            async with conn.transaction():
                seq = (await insert_executions(conn, [write], owner, epoch)).get(record.execution_arn)
                if seq is None:
                    return None
                await insert_events(conn, [(seq, write)])
                await conn.execute(
                    "UPDATE executions SET event_count = $1 WHERE seq = $2", write.event_count, seq
                )
                if not run_here:
                    await conn.execute("SELECT pg_notify($1, 'start')", CHANNEL)
                return seq

        seq = await self._query(body)
        if seq is None:
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{record.execution_arn}'")
        if run_here:
            self._owned[record.execution_arn] = Owned(seq, epoch)
        record.history.committed = record.history.last_id

    async def redrive_execution(self, record: ExecutionRecord) -> bool:
        write = redrive_write(record)
        await self._register()

        async def body(conn: asyncpg.Connection) -> Any:
            async with conn.transaction():
                row = await conn.fetchrow(
                    "UPDATE executions SET status = $1, state = $2, event_count = $3, redrive_count = $4, "
                    "output = NULL, error = NULL, cause = NULL, stop_date = NULL, owner = $5, epoch = epoch + 1, "
                    "redrive_date = $8 WHERE arn = $6 AND status = ANY($7::text[]) RETURNING seq, epoch",
                    RUNNING,
                    write.position,
                    write.event_count,
                    record.redrive_count,
                    self.worker_id,
                    write.execution_arn,
                    list(REDRIVABLE_STATUSES),
                    redriven_at(record),
                )
                if row is not None:
                    await insert_events(conn, [(row[0], write)])
                return row

        found = await self._query(body)
        if found is None:
            return False
        self._owned[write.execution_arn] = Owned(found[0], found[1])
        record.history.committed = record.history.last_id
        return True

    async def get_execution(self, execution_arn: str) -> StoredExecution | None:
        row = await self._query(
            lambda conn: conn.fetchrow(
                f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = $1", execution_arn
            )
        )
        return rows.execution(row) if row is not None else None

    async def list_executions(
        self,
        *,
        state_machine_arn: str | None = None,
        status: str | None = None,
        max_results: int = DEFAULT_PAGE_SIZE,
        next_token: str | None = None,
    ) -> Page[StoredExecution]:
        where = ["seq < $1"]
        args: list[Any] = [rows.listing_start(next_token)]
        if state_machine_arn is not None:
            args.append(state_machine_arn)
            where.append(f"state_machine_arn = ${len(args)}")
        if status is not None:
            args.append(status)
            where.append(f"status = ${len(args)}")
        args.append(max_results + 1)
        sql = (
            f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE {' AND '.join(where)} "
            f"ORDER BY seq DESC LIMIT ${len(args)}"
        )
        found = await self._query(lambda conn: conn.fetch(sql, *args))
        return rows.execution_page(found, max_results)

    async def history(
        self, execution_arn: str, *, after: int = 0, max_results: int | None = None, reverse: bool = False
    ) -> list[HistoryEvent]:
        async def body(conn: asyncpg.Connection) -> list[Any]:
            seq = await conn.fetchval("SELECT seq FROM executions WHERE arn = $1", execution_arn)
            if seq is None:
                raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
            cond, bound = ("first_id < $2", after or 2**31 - 1) if reverse else ("last_id > $2", after)
            return list(
                await conn.fetch(
                    f"SELECT first_id, events FROM history_chunks WHERE execution_seq = $1 AND {cond} "
                    "ORDER BY first_id",
                    seq,
                    bound,
                )
            )

        found = rows.events(await self._query(body))
        return rows.history_page(found, after=after, max_results=max_results, reverse=reverse)

    async def load(self, execution_arn: str) -> Resumable | None:
        async def body(conn: asyncpg.Connection) -> tuple[Any, list[Any]] | None:
            row = await conn.fetchrow(
                f"SELECT {EXECUTION_COLUMNS}, state, event_count, d.text FROM executions "
                "JOIN definitions d ON d.hash = definition_hash WHERE arn = $1",
                execution_arn,
            )
            if row is None:
                return None
            events = await conn.fetch(
                "SELECT first_id, events FROM history_chunks WHERE execution_seq = $1 ORDER BY first_id",
                row[0],
            )
            return row, list(events)

        found = await self._query(body)
        if found is None:
            return None
        row, events = found
        return Resumable(
            row[-1], rows.record(row, row[STATE], row[EVENT_COUNT], rows.events(events), store=self.url)
        )

    # -- claims -----------------------------------------------------------------------------
    async def running(self) -> list[Resumable]:
        """Claim RUNNING executions that nobody (alive) owns, up to this worker's share and capacity.

        The share spreads executions between workers: each takes up to the
        running executions divided by the workers whose lease holds (see
        ``Worker.wanted``), at most ``CLAIM_BATCH`` per call. While PostgreSQL is unreachable nothing is
        claimed (the next call tries again).
        """
        worker = self._worker
        try:
            await self._register()
            room = worker.capacity - len(self._owned) if worker.capacity is not None else CLAIM_BATCH
            room = min(room, CLAIM_BATCH)
            if room <= 0 or not worker.lease_held():
                return []
            claimed = await self._retrying("claiming executions", lambda conn: worker.claim(conn, room))
        except StoreError as exc:
            log.error("%s", exc)
            return []
        if len(claimed) == room:
            # Maybe more to take: the worker asks again at once (wait_for_work returns), and
            # workers starting together share from the first batches on.
            worker.work.set()
        for r in claimed:
            self._owned[r[1]] = Owned(r[0], r[CLAIM_EPOCH])
        return [
            Resumable(
                worker.definitions_by_hash[r[CLAIM_HASH]],
                rows.record(r, r[STATE], r[EVENT_COUNT], None, store=self.url),
            )
            for r in claimed
        ]

    def owned(self) -> int:
        """How many RUNNING executions this worker owns."""
        return len(self._owned)

    # -- stop requests --------------------------------------------------------------------
    async def request_stop(self, execution_arn: str, error: str | None, cause: str | None) -> None:
        async def body(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                status = await conn.fetchval("SELECT status FROM executions WHERE arn = $1", execution_arn)
                if status is None:
                    raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
                if status == RUNNING:
                    await conn.execute(
                        "INSERT INTO stop_requests (arn, error, cause, requested) VALUES ($1, $2, $3, $4) "
                        "ON CONFLICT (arn) DO UPDATE SET error = excluded.error, cause = excluded.cause, "
                        "requested = excluded.requested",
                        execution_arn,
                        error,
                        cause,
                        datetime.now(UTC).timestamp(),
                    )
                    await conn.execute("SELECT pg_notify($1, 'stop')", CHANNEL)

        await self._query(body)

    async def stop_requests(self) -> list[StopRequest]:
        """The stop requests for executions this worker owns (others' owners carry out theirs)."""
        try:
            found = await self._query(
                lambda conn: conn.fetch(
                    "SELECT s.arn, s.error, s.cause FROM stop_requests s JOIN executions e ON e.arn = s.arn "
                    "WHERE e.owner = $1 OR e.status <> 'RUNNING' ORDER BY s.requested",
                    self.worker_id,
                )
            )
        except StoreError as exc:
            log.error("%s", exc)
            return []
        return [StopRequest(r[0], r[1], r[2]) for r in found]

    async def drop_stop_request(self, execution_arn: str) -> None:
        await self._query(
            lambda conn: conn.execute("DELETE FROM stop_requests WHERE arn = $1", execution_arn)
        )
