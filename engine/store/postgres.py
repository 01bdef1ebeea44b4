"""The shared durable store: PostgreSQL through asyncpg, for many workers at once.

All SQL for PostgreSQL lives here; everything above this module (group
commit in ``DurableStore``, resume in the engine, the command line) is the
same code as for SQLite, over the same tables.

Ownership. Every RUNNING execution is owned by at most one worker
(``executions.owner``) and carries a fencing ``epoch`` that grows with each
claim. A worker registers in ``workers`` and renews one lease there by
heartbeat (one row per worker, however many executions it owns: the shape of
Airflow's triggerer, whose triggers belong to a triggerer id whose heartbeat
is checked). ``running()`` claims, in one statement, executions that are
unowned or whose owner's lease has lapsed, with ``FOR UPDATE SKIP LOCKED`` so
claimants never wait on each other
(https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE).
Every write of an execution is ``WHERE owner = me AND epoch = the epoch I
claimed`` — Temporal's range-id fencing: a worker that was paused or cut off
while another claimed its executions finds its writes refused, counts them
(``fenced_writes``) and drops those executions (``on_lost``); none of its
writes lands. The SQLite store's ``lease_expires`` column is not used here:
the lease is the worker's, in ``workers``.

Wake-ups. ``create_execution`` and ``request_stop`` send ``NOTIFY`` in their
transaction; each worker LISTENs on one dedicated connection
(https://www.postgresql.org/docs/current/sql-notify.html) and
``wait_for_work`` returns at once, with polling as the fallback when the
listener is down.

Faults. A lost connection is not a store failure: the writer retries its
batch with exponential back-off while the executions waiting on it stay
suspended at their commit, and a worker whose lease it could not renew
lets no Task call start until it has renewed it. A retried batch is
idempotent (history rows and creates are written ``ON CONFLICT DO NOTHING``;
a create that is already there with this worker as owner is its own).

Secrets. The URL's password is only handed to asyncpg: ``url``, log lines
and every error name the store as ``postgresql://USER@HOST:PORT/DB``.
TLS is used when the URL asks (``sslmode=require``, ``verify-ca``,
``verify-full``, with ``sslrootcert``, ``sslcert``, ``sslkey``) and is always
verified: ``require`` verifies like ``verify-full``, and ``prefer``/``allow``
(which would fall back to plain text) are refused.

The schema is versioned in ``statewright_schema`` and migrated forward on
open under an advisory lock, so workers starting together migrate once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import asyncpg

from engine.errors import ExecutionAlreadyExists, ExecutionDoesNotExist
from engine.history import HistoryEvent
from engine.runtime.execution import RUNNING, ExecutionRecord
from engine.store import rows
from engine.store.base import (
    DEFAULT_PAGE_SIZE,
    DurableStore,
    ExecutionWrite,
    Page,
    Resumable,
    StopRequest,
    StoredExecution,
    StoredStateMachine,
    StoreError,
    creation_write,
)
from engine.store.rows import EXECUTION_COLUMNS, STATE_MACHINE_QUERY

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMES: Final = ("postgresql", "postgres")
DEFAULT_LEASE_SECONDS: Final = 15.0
#: The channel every worker LISTENs on; the payload says what happened (start, stop, release).
CHANNEL: Final = "statewright"
#: pg_advisory_xact_lock key of the migration ("SWT1", as the SQLite store's application id).
MIGRATION_LOCK: Final = 0x53575431
#: How long the writer waits before retrying a batch the first time, and at most.
RETRY_FIRST: Final = 0.1
RETRY_MAX: Final = 2.0
#: How long closing keeps retrying a flush against a server that is gone.
CLOSE_PATIENCE: Final = 10.0
#: The most executions one claim takes; a worker that took a full batch claims again at once.
CLAIM_BATCH: Final = 500
#: Engine-side threads that wait for the I/O thread's results (one per store call in flight).
WAITERS: Final = 8

# Each entry is one schema version; a new version is appended, never edited.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE definitions (
            hash text PRIMARY KEY,
            text text NOT NULL
        )""",
        """CREATE TABLE state_machines (
            arn text PRIMARY KEY,
            name text NOT NULL,
            type text NOT NULL,
            definition_hash text NOT NULL REFERENCES definitions (hash),
            role_arn text NOT NULL,
            creation_date double precision NOT NULL
        )""",
        """CREATE TABLE executions (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            arn text NOT NULL UNIQUE,
            state_machine_arn text NOT NULL,
            state_machine_name text NOT NULL,
            name text NOT NULL,
            definition_hash text NOT NULL REFERENCES definitions (hash),
            type text NOT NULL,
            role_arn text NOT NULL,
            redrive_count integer NOT NULL DEFAULT 0,
            status text NOT NULL,
            input text NOT NULL,
            output text,
            error text,
            cause text,
            start_date double precision NOT NULL,
            stop_date double precision,
            state text NOT NULL,
            event_count integer NOT NULL,
            owner text,
            epoch bigint NOT NULL DEFAULT 0,
            UNIQUE (state_machine_arn, name)
        )""",
        "CREATE INDEX executions_by_status ON executions (status, seq)",
        # What claims scan: only the running executions, whatever the table's size.
        "CREATE INDEX executions_running ON executions (seq) INCLUDE (owner) WHERE status = 'RUNNING'",
        """CREATE TABLE history (
            execution_seq bigint NOT NULL,
            id integer NOT NULL,
            previous_id integer NOT NULL,
            timestamp double precision NOT NULL,
            type text NOT NULL,
            details text,
            PRIMARY KEY (execution_seq, id)
        )""",
        """CREATE TABLE stop_requests (
            arn text PRIMARY KEY,
            error text,
            cause text,
            requested double precision NOT NULL
        )""",
        """CREATE TABLE workers (
            id text PRIMARY KEY,
            name text NOT NULL,
            capacity integer,
            lease_expires timestamptz NOT NULL,
            started timestamptz NOT NULL DEFAULT now()
        )""",
    ),
    # 2: history kept as chunks, as in the SQLite store: one row per execution per commit, each
    # chunk a JSON array of [type, timestamp, name, value or details, previous id] (what
    # ``History.encode_after`` makes); chunks are appended, never rewritten.
    (
        """CREATE TABLE history_chunks (
            execution_seq bigint NOT NULL,
            first_id integer NOT NULL,
            last_id integer NOT NULL,
            events bytea NOT NULL,
            PRIMARY KEY (execution_seq, first_id)
        )""",
        """INSERT INTO history_chunks (execution_seq, first_id, last_id, events)
            SELECT execution_seq, id, id,
                convert_to(json_build_array(json_build_array(type, timestamp, NULL, details::json, previous_id))::text,
                           'UTF8')
            FROM history""",
        "DROP TABLE history",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

# Unowned, or owned by a worker whose lease has lapsed (or who is gone); never our own.
_CLAIMABLE: Final = (
    "status = 'RUNNING' AND owner IS DISTINCT FROM $1 AND (owner IS NULL OR owner NOT IN "
    "(SELECT id FROM workers WHERE lease_expires > now()))"
)
_CLAIM: Final = f"""
    WITH picked AS (
        SELECT seq FROM executions WHERE {_CLAIMABLE} ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED
    )
    UPDATE executions e SET owner = $1, epoch = e.epoch + 1 FROM picked WHERE e.seq = picked.seq
    RETURNING e.{EXECUTION_COLUMNS.replace(", ", ", e.")}, e.state, e.event_count, e.epoch, e.definition_hash
"""
_UPDATE: Final = """
    UPDATE executions e SET status = u.status, state = u.state, event_count = u.event_count,
        output = u.output, error = u.error, cause = u.cause, stop_date = u.stop_date
    FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::integer[], $7::text[], $8::text[],
                $9::text[], $10::double precision[])
        AS u(seq, epoch, status, state, event_count, output, error, cause, stop_date)
    WHERE e.seq = ANY($2::bigint[]) AND e.seq = u.seq AND e.owner = $1 AND e.epoch = u.epoch
    RETURNING e.seq
"""
# ``e.seq = ANY(...)`` lets the planner reach the batch's rows through the primary key; joined on the
# unnested arrays alone it may scan the whole table for every batch (a cost that grows with the table).
_INSERT_CHUNKS: Final = """
    INSERT INTO history_chunks (execution_seq, first_id, last_id, events)
    SELECT * FROM unnest($1::bigint[], $2::integer[], $3::integer[], $4::bytea[])
    ON CONFLICT DO NOTHING
"""
_INSERT_EXECUTIONS: Final = """
    INSERT INTO executions (arn, state_machine_arn, state_machine_name, name, definition_hash, type, role_arn,
        redrive_count, status, input, start_date, state, event_count, owner, epoch)
    SELECT a, sm, smn, n, h, t, r, rc, 'RUNNING', i, sd, st, 0, $1, $2
    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                $10::integer[], $11::text[], $12::double precision[], $13::text[])
        AS u(a, sm, smn, n, h, t, r, rc, i, sd, st)
    ON CONFLICT DO NOTHING
    RETURNING arn, seq
"""

#: What a lost or refused connection looks like: retried, never a store failure.
TRANSIENT: Final = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now (starting up)
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections
    asyncpg.exceptions.TransactionRollbackError,  # deadlock or serialization failure: run it again
)


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed ``postgresql://`` URL: what to connect to, and how to name it without its password."""

    dsn: str  # for asyncpg only: password included, TLS options removed
    display: str  # postgresql://USER@HOST:PORT/DB
    where: str  # HOST:PORT
    user: str
    database: str
    tls: ssl.SSLContext | bool

    @classmethod
    def parse(cls, url: str) -> Target:
        """Raises StoreError (naming no password) for a URL that is not a usable PostgreSQL URL."""
        try:
            parts = urlsplit(url)
            port = parts.port or 5432
        except ValueError as exc:
            raise StoreError(
                f"not a PostgreSQL URL ({exc}): expected postgresql://USER@HOST:PORT/DB"
            ) from None
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise StoreError("not a PostgreSQL URL: expected postgresql://USER@HOST:PORT/DB")
        user = unquote(parts.username or "") or os.environ.get("PGUSER", "") or "postgres"
        database = unquote(parts.path.lstrip("/")) or user
        host = parts.hostname
        where = f"{host}:{port}"
        display = f"postgresql://{user}@{where}/{database}"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        tls = _tls_context(query, display)
        rest = urlencode({k: v for k, v in query.items() if not k.startswith("ssl")})
        dsn = urlunsplit(parts._replace(scheme="postgresql", query=rest))
        return cls(dsn, display, where, user, database, tls)


def _tls_context(query: dict[str, str], display: str) -> ssl.SSLContext | bool:
    mode = query.get("sslmode", "disable")
    if mode == "disable":
        for key in ("sslrootcert", "sslcert", "sslkey"):
            if key in query:
                raise StoreError(f"{display}: {key} given without sslmode=require/verify-ca/verify-full")
        return False
    if mode in ("prefer", "allow"):
        raise StoreError(
            f"{display}: sslmode={mode} may fall back to an unverified or plain connection; "
            "use sslmode=verify-full (or require) with sslrootcert, or sslmode=disable"
        )
    if mode not in ("require", "verify-ca", "verify-full"):
        raise StoreError(f"{display}: unknown sslmode {mode!r}")
    root = query.get("sslrootcert")
    try:
        context = ssl.create_default_context(cafile=root) if root else ssl.create_default_context()
        # verify-ca checks the chain, not the name; require is verified fully (TLS is never unverified).
        context.check_hostname = mode != "verify-ca"
        if "sslcert" in query:
            context.load_cert_chain(query["sslcert"], query.get("sslkey"))
    except (OSError, ssl.SSLError) as exc:
        raise StoreError(f"{display}: cannot load the TLS files ({exc})") from None
    return context


def _cause(exc: BaseException) -> str:
    """What went wrong, in words a user can act on (asyncpg's messages never hold the password)."""
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return "password authentication failed"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the server's TLS certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is PostgreSQL running there?)"
    if isinstance(exc, OSError) and "Connect call failed" in str(exc):
        return "connection refused (is PostgreSQL running there?)"
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, asyncpg.PostgresError):
        return exc.args[0] if exc.args else type(exc).__name__
    return str(exc) or type(exc).__name__


@dataclass(slots=True)
class _Owned:
    seq: int
    epoch: int


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
        self._create = create
        self._target = Target.parse(url)
        self.url = self._target.display
        if not lease_seconds > 0:
            raise StoreError(f"{self.url}: the lease must be longer than 0 seconds")
        if capacity is not None and capacity < 1:
            raise StoreError(f"{self.url}: a worker's capacity is at least 1")
        self.lease_seconds = float(lease_seconds)
        self.capacity = capacity
        self._pool_size = pool_size
        self.worker_id = uuid.uuid4().hex
        self.worker_name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._pool: asyncpg.Pool | None = None
        self._io_loop: asyncio.AbstractEventLoop | None = None
        self._io_thread: threading.Thread | None = None
        self._engine_loop: asyncio.AbstractEventLoop | None = None
        self._waiters: ThreadPoolExecutor | None = None
        self._flushing_since: float | None = None
        self._owned: dict[str, _Owned] = {}
        self._definitions_by_hash: dict[str, str] = {}
        self._registered = False
        self._renewed_at = -math.inf  # monotonic time the last renewed lease was asked for
        self._renewed = asyncio.Event()
        self._work = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._down_since: float | None = None
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

    # -- the I/O thread -------------------------------------------------------------------
    # asyncpg runs on an event loop of its own, on a dedicated thread: the lease's heartbeat is
    # never starved by a busy engine loop (10,000 executions), and the engine's loop waits for the
    # store as it waits for SQLite's thread (an executor future), which virtual-time test loops
    # (looptime) wait for in real time instead of jumping past asyncpg's timeouts.
    async def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._io_loop
        if loop is None:
            coro.close()
            raise StoreError(f"store {self.url} is not open")
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._waiters, future.result)
        except asyncio.CancelledError:
            future.cancel()
            raise

    def _to_engine(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the engine's loop (from the I/O thread)."""
        if self._engine_loop is not None and not self._engine_loop.is_closed():
            self._engine_loop.call_soon_threadsafe(fn)

    # -- connections ----------------------------------------------------------------------
    def _refused(self, exc: BaseException) -> StoreError:
        return StoreError(f"cannot connect to PostgreSQL at {self._target.where}: {_cause(exc)}")

    async def _open(self) -> None:
        self._closing = False
        self._engine_loop = asyncio.get_running_loop()
        self._renewed = asyncio.Event()
        self._work = asyncio.Event()
        io_loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(io_loop)
            io_loop.call_soon(ready.set)
            io_loop.run_forever()

        self._io_thread = threading.Thread(target=run, name=f"statewright-postgres {self.url}", daemon=True)
        self._io_thread.start()
        ready.wait()
        self._io_loop = io_loop
        self._waiters = ThreadPoolExecutor(
            max_workers=WAITERS, thread_name_prefix="statewright-postgres-wait"
        )
        try:
            await self._call(self._open_io())
        except BaseException:
            await self._stop_thread()
            raise

    async def _stop_thread(self) -> None:
        loop, self._io_loop = self._io_loop, None
        thread, self._io_thread = self._io_thread, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(self._waiters, thread.join)
        if loop is not None:
            loop.close()
        if self._waiters is not None:
            self._waiters.shutdown(wait=False)
            self._waiters = None

    async def _open_io(self) -> None:
        target = self._target
        try:
            self._pool = await asyncpg.create_pool(
                target.dsn,
                ssl=target.tls,
                min_size=1,
                max_size=self._pool_size,
                timeout=10,
                # asyncpg prepares every statement; after five runs PostgreSQL may switch to a generic
                # plan that cannot see the batch's array sizes, and joins a batch of thousands to the
                # table by nested loop. Planned per call with the values, a batch is a hash join.
                server_settings={"plan_cache_mode": "force_custom_plan"},
            )
        except asyncpg.InvalidCatalogNameError:
            raise StoreError(
                f"cannot open store {self.url}: the database {target.database!r} does not exist"
            ) from None
        except (*TRANSIENT, asyncpg.PostgresError, ssl.SSLError) as exc:
            raise self._refused(exc) from None
        try:
            await self._migrate()
        except BaseException:
            await self._pool.close()
            self._pool = None
            raise

    async def _migrate(self) -> None:
        try:
            async with self._connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                ours = await conn.fetchval("SELECT to_regclass('statewright_schema') IS NOT NULL")
                if not ours:
                    if not self._create:
                        raise StoreError(f"{self.url} holds no statewright store (no statewright tables yet)")
                    if await conn.fetchval("SELECT to_regclass('executions') IS NOT NULL"):
                        raise StoreError(
                            f"{self.url} is not a statewright store (it has an executions table of another "
                            "application)"
                        )
                    await conn.execute("CREATE TABLE statewright_schema (version integer NOT NULL)")
                    await conn.execute("INSERT INTO statewright_schema VALUES (0)")
                version = int(await conn.fetchval("SELECT version FROM statewright_schema"))
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"store {self.url} has schema version {version}, newer than this statewright "
                        f"understands ({SCHEMA_VERSION}): upgrade statewright to open it"
                    )
                for number in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in MIGRATIONS[number - 1]:
                        await conn.execute(statement)
                    await conn.execute("UPDATE statewright_schema SET version = $1", number)
        except (*TRANSIENT, asyncpg.PostgresError) as exc:
            raise StoreError(f"cannot open store {self.url}: {_cause(exc)}") from None

    def _connection(self) -> Any:
        if self._pool is None:
            raise StoreError(f"store {self.url} is not open")
        return self._pool.acquire()

    async def _query(self, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``body`` once on a pooled connection; a lost server is a StoreError naming host and cause."""
        return await self._call(self._query_io(body))

    async def _query_io(self, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        try:
            async with self._connection() as conn:
                return await body(conn)
        except StoreError:
            raise
        except TRANSIENT as exc:
            raise self._refused(exc) from None
        except asyncpg.PostgresError as exc:
            raise StoreError(f"store {self.url}: {_cause(exc)}") from None

    async def _retrying(self, what: str, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``body`` in a transaction until it commits: a lost server is waited for, with back-off."""
        return await self._call(self._retrying_io(what, body))

    async def _retrying_io(self, what: str, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        delay = RETRY_FIRST
        while True:
            try:
                async with self._connection() as conn, conn.transaction():
                    result = await body(conn)
                if self._down_since is not None:
                    log.warning("PostgreSQL at %s is back; %s goes on", self._target.where, what)
                    self._down_since = None
                return result
            except TRANSIENT as exc:
                since = self._flushing_since
                if since is not None and time.monotonic() - since > CLOSE_PATIENCE:
                    # Leaving (SIGTERM) while the server is gone: what was committed stays, the rest is
                    # done again by whoever resumes the executions (no Task ran on uncommitted records).
                    raise self._refused(exc) from None
                if self._down_since is None:
                    self._down_since = time.monotonic()
                    log.warning(
                        "PostgreSQL at %s: %s; %s waits and retries", self._target.where, _cause(exc), what
                    )
                await asyncio.sleep(delay * (0.5 + random.random()))  # jitter: workers do not retry in step
                delay = min(delay * 2, RETRY_MAX)
            except asyncpg.PostgresError as exc:
                raise StoreError(f"store {self.url}: {what}: {_cause(exc)}") from None

    async def flush(self) -> None:
        # A flush (the engine suspending, SIGTERM) waits for a lost server a bounded time only.
        if self._flushing_since is None:
            self._flushing_since = time.monotonic()
        try:
            await super().flush()
        finally:
            self._flushing_since = None

    async def _close(self) -> None:
        self._closing = True
        if self._io_loop is None:
            return
        try:
            await self._call(self._close_io())
        finally:
            self._owned.clear()
            await self._stop_thread()

    async def _close_io(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            if self._registered:
                await asyncio.wait_for(self._release(pool), CLOSE_PATIENCE)
        except (*TRANSIENT, asyncpg.PostgresError) as exc:
            log.warning(
                "PostgreSQL at %s: could not hand back this worker's executions (%s); "
                "others take them over when its lease lapses",
                self._target.where,
                _cause(exc),
            )
        finally:
            self._registered = False
            try:
                await asyncio.wait_for(pool.close(), CLOSE_PATIENCE)
            except (*TRANSIENT, asyncpg.PostgresError):
                pool.terminate()

    async def _release(self, pool: asyncpg.Pool) -> None:
        """Hand every execution this worker still owns back (SIGTERM): others claim them at once."""
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE executions SET owner = NULL WHERE owner = $1 AND status = 'RUNNING'", self.worker_id
            )
            await conn.execute("DELETE FROM workers WHERE id = $1", self.worker_id)
            await conn.execute("SELECT pg_notify($1, 'release')", CHANNEL)

    # -- the lease ------------------------------------------------------------------------
    async def _register(self) -> None:
        if not self._registered:
            await self._call(self._register_io())

    async def _register_io(self) -> None:
        if self._registered:
            return
        await self._renew()
        self._registered = True
        # Only a worker (a store that claims or creates executions) holds a lease and listens.
        loop = asyncio.get_running_loop()
        self._tasks += [
            loop.create_task(self._heartbeat(), name=f"store {self.url} lease"),
            loop.create_task(self._listen(), name=f"store {self.url} listener"),
        ]

    async def _renew(self) -> None:
        asked = time.monotonic()

        async def body(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO workers (id, name, capacity, lease_expires) "
                "VALUES ($1, $2, $3, now() + make_interval(secs => $4)) "
                "ON CONFLICT (id) DO UPDATE SET lease_expires = excluded.lease_expires",
                self.worker_id,
                self.worker_name,
                self.capacity,
                self.lease_seconds,
            )

        await self._retrying_io("renewing the lease", body)
        self._renewed_at = asked
        self._to_engine(self._renewed.set)

    def lease_held(self) -> bool:
        """Whether this worker's lease surely has not lapsed (by its own clock, with a margin)."""
        margin = min(1.0, self.lease_seconds / 5)
        return time.monotonic() - self._renewed_at < self.lease_seconds - margin

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            self._to_engine(self._renewed.clear)
            try:
                await self._renew()
            except StoreError as exc:
                log.error("%s", exc)

    async def commit(self, record: ExecutionRecord) -> None:
        await super().commit(record)
        # A Task is called only while the lease holds: had it lapsed, another worker may own the
        # execution by now, and the fenced commit after renewing tells (it drops the execution then).
        while self._registered and not self.lease_held():
            await self._renewed.wait()
            await super().commit(record)

    # -- wake-ups ---------------------------------------------------------------------------
    async def _listen(self) -> None:
        delay = RETRY_FIRST
        while True:
            closed = asyncio.Event()
            try:
                conn = await asyncpg.connect(self._target.dsn, ssl=self._target.tls, timeout=10)
            except (*TRANSIENT, asyncpg.PostgresError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            delay = RETRY_FIRST
            try:
                conn.add_termination_listener(lambda _conn, event=closed: event.set())
                await conn.add_listener(CHANNEL, lambda *_args: self._to_engine(self._work.set))
                self._to_engine(self._work.set)  # whatever was notified while nobody listened
                await closed.wait()
            except TRANSIENT:
                pass
            finally:
                if not conn.is_closed():
                    conn.terminate()

    async def wait_for_work(self) -> None:
        """Return when another process started, stopped or handed back executions (NOTIFY).

        Callers poll too (``anyio.move_on_after`` around this): a notification
        sent while the listener was reconnecting is not replayed by PostgreSQL.
        """
        await self._work.wait()
        self._work.clear()

    # -- group commit ---------------------------------------------------------------------
    async def _write_batch(self, writes: Sequence[ExecutionWrite]) -> set[str]:
        # An execution this worker no longer owns is written no more (it was dropped).
        mine = [w for w in writes if w.create is not None or w.execution_arn in self._owned]
        if any(w.create is not None for w in mine):
            await self._register()
        ids = {w.execution_arn: self._owned[w.execution_arn] for w in mine if w.execution_arn in self._owned}
        conflicts, created, accepted = await self._retrying(
            "committing", lambda conn: self._write(conn, mine, ids)
        )
        for arn, seq in created.items():
            self._owned[arn] = _Owned(seq, 1)
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

    async def _write(
        self, conn: asyncpg.Connection, writes: Sequence[ExecutionWrite], ids: dict[str, _Owned]
    ) -> tuple[set[str], dict[str, int], set[int]]:
        """One batch, on the I/O thread: creates, fenced updates, then history of what landed."""
        conflicts: set[str] = set()
        seqs: dict[str, int] = {arn: o.seq for arn, o in ids.items()}
        epochs: dict[str, int] = {arn: o.epoch for arn, o in ids.items()}
        creates = [w for w in writes if w.create is not None]
        created: dict[str, int] = {}
        if creates:
            created = await self._insert(conn, creates, self.worker_id, 1)
            for w in creates:
                if w.execution_arn in created:
                    seqs[w.execution_arn] = created[w.execution_arn]
                    epochs[w.execution_arn] = 1
                else:
                    conflicts.add(w.execution_arn)
        rows = [w for w in writes if w.execution_arn not in conflicts and w.execution_arn in seqs]
        accepted: set[int] = set()
        if rows:
            result = await conn.fetch(
                _UPDATE,
                self.worker_id,
                [seqs[w.execution_arn] for w in rows],
                [epochs[w.execution_arn] for w in rows],
                [w.status for w in rows],
                [w.position for w in rows],
                [w.event_count for w in rows],
                [w.output for w in rows],
                [w.error for w in rows],
                [w.cause for w in rows],
                [w.stop_date for w in rows],
            )
            accepted = {r[0] for r in result}
        landed = [w for w in rows if seqs[w.execution_arn] in accepted]
        await self._insert_events(conn, [(seqs[w.execution_arn], w) for w in landed])
        finished = [w.execution_arn for w in landed if w.status != RUNNING]
        if finished:
            await conn.execute("DELETE FROM stop_requests WHERE arn = ANY($1::text[])", finished)
        return conflicts, created, accepted

    async def _insert(
        self, conn: asyncpg.Connection, creates: Sequence[ExecutionWrite], owner: str | None, epoch: int
    ) -> dict[str, int]:
        """Insert new executions (their definitions and state machines first); ARN → seq of those inserted."""
        definitions: dict[str, str] = {}
        machines: dict[str, tuple[str, str, str, str, float]] = {}
        for w in creates:
            c = w.create
            assert c is not None
            digest = rows.definition_digest(c.definition)
            definitions[digest] = c.definition
            machines.setdefault(
                c.state_machine_arn, (c.state_machine_name, c.type, digest, c.role_arn, c.start_date)
            )
        hashes = sorted(definitions)
        await conn.execute(
            "INSERT INTO definitions (hash, text) SELECT * FROM unnest($1::text[], $2::text[]) "
            "ON CONFLICT DO NOTHING",
            hashes,
            [definitions[h] for h in hashes],
        )
        arns = sorted(machines)
        await conn.execute(
            "INSERT INTO state_machines (arn, name, type, definition_hash, role_arn, creation_date) "
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
            "$6::double precision[]) ON CONFLICT DO NOTHING",
            arns,
            *[[machines[a][i] for a in arns] for i in range(5)],
        )
        cs = [w.create for w in creates]
        inserted_rows = await conn.fetch(
            _INSERT_EXECUTIONS,
            owner,
            epoch,
            [w.execution_arn for w in creates],
            [c.state_machine_arn for c in cs if c],
            [c.state_machine_name for c in cs if c],
            [c.name for c in cs if c],
            [rows.definition_digest(c.definition) for c in cs if c],
            [c.type for c in cs if c],
            [c.role_arn for c in cs if c],
            [c.redrive_count for c in cs if c],
            [c.input for c in cs if c],
            [c.start_date for c in cs if c],
            [w.position for w in creates],
        )
        inserted = {r[0]: r[1] for r in inserted_rows}
        missing = [w.execution_arn for w in creates if w.execution_arn not in inserted]
        if missing and owner is not None:
            # A retried batch whose first try had committed: the rows are there, with us as owner.
            again = await conn.fetch(
                "SELECT arn, seq FROM executions WHERE arn = ANY($1::text[]) AND owner = $2", missing, owner
            )
            inserted.update({r[0]: r[1] for r in again})
        return inserted

    @staticmethod
    async def _insert_events(conn: asyncpg.Connection, batches: Sequence[tuple[int, ExecutionWrite]]) -> None:
        """Each write's new events as one chunk row (the batch in one statement)."""
        columns: tuple[list[Any], ...] = ([], [], [], [])
        for seq, w in batches:
            encoded = w.encoded
            if encoded is None:
                continue
            columns[0].append(seq)
            columns[1].append(encoded[0])
            columns[2].append(w.event_count)
            columns[3].append(encoded[1])
        if columns[0]:
            await conn.execute(_INSERT_CHUNKS, *columns)

    # -- state machines -------------------------------------------------------------------
    async def put_state_machine(
        self, arn: str, name: str, definition: str, *, type: str = "STANDARD", role_arn: str = ""
    ) -> StoredStateMachine:
        now = datetime.now(UTC).timestamp()
        digest = rows.definition_digest(definition)

        async def body(conn: asyncpg.Connection) -> None:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO definitions (hash, text) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    digest,
                    definition,
                )
                await conn.execute(
                    "INSERT INTO state_machines (arn, name, type, definition_hash, role_arn, creation_date) "
                    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (arn) DO UPDATE SET "
                    "definition_hash = excluded.definition_hash, role_arn = excluded.role_arn",
                    arn,
                    name,
                    type,
                    digest,
                    role_arn,
                    now,
                )

        await self._query(body)
        found = await self.get_state_machine(arn)
        assert found is not None
        return found

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

    # -- executions -----------------------------------------------------------------------
    async def create_execution(self, record: ExecutionRecord, definition: str) -> None:
        write = creation_write(record, definition)

        async def body(conn: asyncpg.Connection) -> bool:
            async with conn.transaction():
                seq = (await self._insert(conn, [write], None, 0)).get(record.execution_arn)
                if seq is None:
                    return False
                await self._insert_events(conn, [(seq, write)])
                await conn.execute(
                    "UPDATE executions SET event_count = $1 WHERE seq = $2", write.event_count, seq
                )
                await conn.execute("SELECT pg_notify($1, 'start')", CHANNEL)
                return True

        if not await self._query(body):
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{record.execution_arn}'")
        record.history.committed = record.history.last_id

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
        return Resumable(row[-1], rows.record(row, row[15], row[16], rows.events(events), store=self.url))

    # -- claims -----------------------------------------------------------------------------
    async def running(self) -> list[Resumable]:
        """Claim RUNNING executions that nobody (alive) owns, up to this worker's share and capacity.

        The share spreads executions between workers: each takes up to the
        running executions divided by the workers whose lease holds (see
        ``_wanted``), at most ``CLAIM_BATCH`` per call. While PostgreSQL is unreachable nothing is claimed (the
        next call tries again).
        """
        try:
            await self._register()
            room = self.capacity - len(self._owned) if self.capacity is not None else CLAIM_BATCH
            room = min(room, CLAIM_BATCH)
            if room <= 0 or not self.lease_held():
                return []
            claimed = await self._retrying("claiming executions", lambda conn: self._claim(conn, room))
        except StoreError as exc:
            log.error("%s", exc)
            return []
        if len(claimed) == room:
            # Maybe more to take: the worker asks again at once (wait_for_work returns), and
            # workers starting together share from the first batches on.
            self._work.set()
        for r in claimed:
            self._owned[r[1]] = _Owned(r[0], r[17])
        return [
            Resumable(self._definitions_by_hash[r[18]], rows.record(r, r[15], r[16], None, store=self.url))
            for r in claimed
        ]

    async def _claim(self, conn: asyncpg.Connection, room: int) -> list[Any]:
        claimable = await conn.fetchval(f"SELECT count(*) FROM executions WHERE {_CLAIMABLE}", self.worker_id)
        if not claimable:
            return []
        running = await conn.fetchval("SELECT count(*) FROM executions WHERE status = 'RUNNING'")
        workers = await conn.fetch(
            "SELECT w.id, w.capacity, (SELECT count(*) FROM executions e WHERE e.status = 'RUNNING' "
            "AND e.owner = w.id) AS owned FROM workers w WHERE w.lease_expires > now()"
        )
        claimed = list(
            await conn.fetch(_CLAIM, self.worker_id, min(room, claimable, self._wanted(running, workers)))
        )
        unknown = sorted({r[18] for r in claimed} - set(self._definitions_by_hash))
        if unknown:
            found = await conn.fetch(
                "SELECT hash, text FROM definitions WHERE hash = ANY($1::text[])", unknown
            )
            self._definitions_by_hash.update({h: t for h, t in found})
        return claimed

    def _wanted(self, running: int, workers: Sequence[asyncpg.Record]) -> int:
        """How many to claim: up to this worker's fair share of all running executions.

        Beyond its share only when no other live worker below its share has room
        left (they are at capacity): then nothing waits for a worker that cannot take it.
        """
        share = math.ceil(running / max(1, len(workers)))
        mine = next((int(w["owned"]) for w in workers if w["id"] == self.worker_id), 0)
        if share > mine:
            return share - mine
        others_have_room = any(
            w["id"] != self.worker_id
            and w["owned"] < share
            and (w["capacity"] is None or w["owned"] < w["capacity"])
            for w in workers
        )
        return 0 if others_have_room else running

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
