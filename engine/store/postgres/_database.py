"""The PostgreSQL store's connection to its database: asyncpg on a thread of its own.

asyncpg runs on an event loop of its own, on a dedicated thread: the lease's
heartbeat is never starved by a busy engine loop (10,000 executions), and the
engine's loop waits for the store as it waits for SQLite's thread (an
executor future), which virtual-time test loops (looptime) wait for in real
time instead of jumping past asyncpg's timeouts.

``Database`` owns that thread, the connection pool and the schema's
migration, and runs a piece of work on a pooled connection either once
(``query_io``: a lost server is an error) or until it commits
(``retrying_io``: a lost server is waited for, with back-off and jitter).
Methods ending in ``_io`` run on the I/O thread; ``call`` gets there from
the engine's loop and ``to_engine`` back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar

import asyncpg

from engine.store.base import StoreError
from engine.store.postgres._schema import MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION
from engine.store.postgres._target import ENDED_BETWEEN_STATEMENTS, TRANSIENT, Target, describe_failure

log = logging.getLogger("engine.store.postgres")

T = TypeVar("T")

#: How long the writer waits before retrying a batch the first time, and at most.
RETRY_FIRST: Final = 0.1
RETRY_MAX: Final = 2.0
#: How long closing keeps retrying a flush against a server that is gone.
CLOSE_PATIENCE: Final = 10.0
#: Engine-side threads that wait for the I/O thread's results (one per store call in flight).
WAITERS: Final = 8


class Database:
    """One PostgreSQL database as the store uses it: the I/O thread, the pool, the schema.

    Args:
        target: where to connect.
        pool_size: connections in the pool.
        create: create the tables in a database that has none yet (else opening fails).
    """

    def __init__(self, target: Target, *, pool_size: int, create: bool) -> None:
        self.target = target
        self.url = target.display
        self._pool_size = pool_size
        self._create = create
        self.pool: asyncpg.Pool | None = None
        self.io_loop: asyncio.AbstractEventLoop | None = None
        self._io_thread: threading.Thread | None = None
        self._engine_loop: asyncio.AbstractEventLoop | None = None
        self._waiters: ThreadPoolExecutor | None = None
        self.flushing_since: float | None = None
        """Monotonic time a flush began (set while one runs): retries then give up after CLOSE_PATIENCE."""
        self._down_since: float | None = None

    # -- the I/O thread -------------------------------------------------------------------
    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the I/O thread and wait for it here (cancelling it if this wait is)."""
        loop = self.io_loop
        if loop is None:
            coro.close()
            raise StoreError(f"store {self.url} is not open")
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._waiters, future.result)
        except asyncio.CancelledError:
            future.cancel()
            raise

    def to_engine(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the engine's loop (from the I/O thread)."""
        if self._engine_loop is not None and not self._engine_loop.is_closed():
            self._engine_loop.call_soon_threadsafe(fn)

    async def open(self) -> None:
        """Start the I/O thread, connect the pool and migrate the schema."""
        self._engine_loop = asyncio.get_running_loop()
        io_loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(io_loop)
            io_loop.call_soon(ready.set)
            io_loop.run_forever()

        self._io_thread = threading.Thread(target=run, name=f"statewright-postgres {self.url}", daemon=True)
        self._io_thread.start()
        ready.wait()
        self.io_loop = io_loop
        self._waiters = ThreadPoolExecutor(
            max_workers=WAITERS, thread_name_prefix="statewright-postgres-wait"
        )
        try:
            await self.call(self._open_io())
        except BaseException:
            await self.stop_thread()
            raise

    async def stop_thread(self) -> None:
        """Stop the I/O thread (after ``close_io``)."""
        loop, self.io_loop = self.io_loop, None
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

    # -- connections ----------------------------------------------------------------------
    def refused(self, exc: BaseException) -> StoreError:
        """The error for a server that cannot be reached (naming host and cause, never the password)."""
        return StoreError(f"cannot connect to PostgreSQL at {self.target.where}: {describe_failure(exc)}")

    async def _open_io(self) -> None:
        target = self.target
        try:
            self.pool = await asyncpg.create_pool(
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
            raise self.refused(exc) from None
        try:
            await self._migrate()
        except BaseException:
            await self.pool.close()
            self.pool = None
            raise

    async def _migrate(self) -> None:
        try:
            async with self.connection() as conn, conn.transaction():
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
            raise StoreError(f"cannot open store {self.url}: {describe_failure(exc)}") from None

    def connection(self) -> Any:
        """``async with`` it for a pooled connection."""
        if self.pool is None:
            raise StoreError(f"store {self.url} is not open")
        return self.pool.acquire()

    async def query_io(self, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``body`` once on a pooled connection; a lost server is a StoreError naming host and cause."""
        try:
            async with self.connection() as conn:
                with _ended_connections_closed(conn):
                    return await body(conn)
        except StoreError:
            raise
        except (*TRANSIENT, ENDED_BETWEEN_STATEMENTS) as exc:
            raise self.refused(exc) from None
        except asyncpg.PostgresError as exc:
            raise StoreError(f"store {self.url}: {describe_failure(exc)}") from None

    async def retrying_io(self, what: str, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``body`` in a transaction until it commits: a lost server is waited for, with back-off."""
        delay = RETRY_FIRST
        ended = 0  # connections found ended by the server in a row (see ENDED_BETWEEN_STATEMENTS)
        while True:
            try:
                async with self.connection() as conn:
                    with _ended_connections_closed(conn):
                        async with conn.transaction():
                            result = await body(conn)
                if self._down_since is not None:
                    log.warning("PostgreSQL at %s is back; %s goes on", self.target.where, what)
                    self._down_since = None
                return result
            except (*TRANSIENT, ENDED_BETWEEN_STATEMENTS) as exc:
                ended = ended + 1 if isinstance(exc, ENDED_BETWEEN_STATEMENTS) else 0
                if ended > self._pool_size:
                    # Each pooled connection holds at most one such FATAL per shutdown: more in a row
                    # is not the server going away but asyncpg failing, which is reported.
                    raise StoreError(f"store {self.url}: {what}: {type(exc).__name__}: {exc}") from None
                since = self.flushing_since
                if since is not None and time.monotonic() - since > CLOSE_PATIENCE:
                    # Leaving (SIGTERM) while the server is gone: what was committed stays, the rest is
                    # done again by whoever resumes the executions (no Task ran on uncommitted records).
                    raise self.refused(exc) from None
                if self._down_since is None:
                    self._down_since = time.monotonic()
                    log.warning(
                        "PostgreSQL at %s: %s; %s waits and retries",
                        self.target.where,
                        describe_failure(exc),
                        what,
                    )
                await asyncio.sleep(delay * (0.5 + random.random()))  # jitter: workers do not retry in step
                delay = min(delay * 2, RETRY_MAX)
            except asyncpg.PostgresError as exc:
                raise StoreError(f"store {self.url}: {what}: {describe_failure(exc)}") from None

    async def close_pool_io(self) -> None:
        """Close the pool (terminating it if the server does not answer within CLOSE_PATIENCE)."""
        pool, self.pool = self.pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), CLOSE_PATIENCE)
        except (*TRANSIENT, ENDED_BETWEEN_STATEMENTS, asyncpg.PostgresError):
            pool.terminate()


@contextlib.contextmanager
def _ended_connections_closed(conn: asyncpg.Connection) -> Iterator[None]:
    """Close ``conn`` for good if the server ended it between two statements (the pool then connects anew).

    The pool would hand it out again otherwise until asyncpg reads the end of the stream.
    """
    try:
        yield
    except ENDED_BETWEEN_STATEMENTS:
        conn.terminate()
        raise
