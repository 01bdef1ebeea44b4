"""This process as a worker of the shared store: its lease, its wake-ups, its share of claims.

A worker registers in ``workers`` and renews one lease there by heartbeat
(one row per worker, however many executions it owns: the shape of Airflow's
triggerer, whose triggers belong to a triggerer id whose heartbeat is
checked). It LISTENs on one dedicated connection for what other processes
NOTIFY (https://www.postgresql.org/docs/current/sql-notify.html), and claims
RUNNING executions that are unowned or whose owner's lease has lapsed, up to
its fair share, with ``FOR UPDATE SKIP LOCKED`` so claimants never wait on
each other (https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE).
Leaving, it hands back what it still owns so others claim it at once.

Only a worker (a store that claims or creates executions) holds a lease and
listens: a store used only to read or to record stop requests never registers.
Methods ending in ``_io`` run on the store's I/O thread.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Sequence
from functools import partial
from typing import Any

import asyncpg

from engine.aio.crash import log_crash
from engine.store.base import StoreError
from engine.store.postgres._database import CLOSE_PATIENCE, RETRY_FIRST, RETRY_MAX, Database
from engine.store.postgres._schema import CHANNEL, CLAIM, CLAIM_HASH, CLAIMABLE
from engine.store.postgres._target import ENDED_BETWEEN_STATEMENTS, TRANSIENT, describe_failure

log = logging.getLogger("engine.store.postgres")


class Worker:
    """One worker's row in ``workers``: identity, lease, listener and claims.

    Args:
        db: the store's database.
        lease_seconds: how long the claim outlives the last heartbeat.
        capacity: the most RUNNING executions this worker owns at once (None: no cap).
        name: how this worker appears in ``workers`` (default: host and process id).
    """

    def __init__(self, db: Database, *, lease_seconds: float, capacity: int | None, name: str | None) -> None:
        self._db = db
        self.id = uuid.uuid4().hex
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.lease_seconds = lease_seconds
        self.capacity = capacity
        self.registered = False
        self._renewed_at = -math.inf  # monotonic time the last renewed lease was asked for
        self.renewed = asyncio.Event()
        """Set (on the engine's loop) while the last renewal holds; cleared before each renewal."""
        self.work = asyncio.Event()
        """Set (on the engine's loop) when another process may have changed what there is to run."""
        self.tasks: list[asyncio.Task[None]] = []
        """The heartbeat and the listener, on the I/O thread's loop."""
        self.definitions_by_hash: dict[str, str] = {}

    def reset(self) -> None:
        """New events for an engine loop that is (re)opening the store."""
        self.renewed = asyncio.Event()
        self.work = asyncio.Event()

    # -- the lease ------------------------------------------------------------------------
    async def register_io(self) -> None:
        """Take the lease and start the heartbeat and the listener (once)."""
        if self.registered:
            return
        await self._renew()
        self.registered = True
        loop = asyncio.get_running_loop()
        for task in (
            loop.create_task(self._heartbeat(), name=f"store {self._db.url} lease"),
            loop.create_task(self._listen(), name=f"store {self._db.url} listener"),
        ):
            task.add_done_callback(partial(log_crash, logger=log))
            self.tasks.append(task)

    async def _renew(self) -> None:
        asked = time.monotonic()

        async def body(conn: asyncpg.Connection) -> None:
            await conn.execute(
                "INSERT INTO workers (id, name, capacity, lease_expires) "
                "VALUES ($1, $2, $3, now() + make_interval(secs => $4)) "
                "ON CONFLICT (id) DO UPDATE SET lease_expires = excluded.lease_expires",
                self.id,
                self.name,
                self.capacity,
                self.lease_seconds,
            )

        await self._db.retrying_io("renewing the lease", body)
        self._renewed_at = asked
        self._db.to_engine(self.renewed.set)

    def lease_held(self) -> bool:
        """Whether this worker's lease surely has not lapsed (by its own clock, with a margin)."""
        margin = min(1.0, self.lease_seconds / 5)
        return time.monotonic() - self._renewed_at < self.lease_seconds - margin

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            self._db.to_engine(self.renewed.clear)
            try:
                await self._renew()
            except StoreError as exc:
                log.error("%s", exc)

    # -- wake-ups ---------------------------------------------------------------------------
    async def _listen(self) -> None:
        target = self._db.target
        delay = RETRY_FIRST
        while True:
            closed = asyncio.Event()
            try:
                conn = await asyncpg.connect(target.dsn, ssl=target.tls, timeout=10)
            except (*TRANSIENT, asyncpg.PostgresError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            delay = RETRY_FIRST
            try:
                conn.add_termination_listener(lambda _conn, event=closed: event.set())
                await conn.add_listener(CHANNEL, lambda *_args: self._db.to_engine(self.work.set))
                self._db.to_engine(self.work.set)  # whatever was notified while nobody listened
                await closed.wait()
            except (*TRANSIENT, ENDED_BETWEEN_STATEMENTS):
                pass  # connected as the server went away: connect again (the connection is closed below)
            finally:
                if not conn.is_closed():
                    conn.terminate()

    # -- claims -----------------------------------------------------------------------------
    async def claim(self, conn: asyncpg.Connection, room: int) -> list[Any]:
        """Claim up to ``room`` executions (and this worker's share); their definitions are looked up too."""
        claimable = await conn.fetchval(f"SELECT count(*) FROM executions WHERE {CLAIMABLE}", self.id)
        if not claimable:
            return []
        running = await conn.fetchval("SELECT count(*) FROM executions WHERE status = 'RUNNING'")
        workers = await conn.fetch(
            "SELECT w.id, w.capacity, (SELECT count(*) FROM executions e WHERE e.status = 'RUNNING' "
            "AND e.owner = w.id) AS owned FROM workers w WHERE w.lease_expires > now()"
        )
        claimed = list(await conn.fetch(CLAIM, self.id, min(room, claimable, self.wanted(running, workers))))
        unknown = sorted({r[CLAIM_HASH] for r in claimed} - set(self.definitions_by_hash))
        if unknown:
            found = await conn.fetch(
                "SELECT hash, text FROM definitions WHERE hash = ANY($1::text[])", unknown
            )
            self.definitions_by_hash.update({h: t for h, t in found})
        return claimed

    def wanted(self, running: int, workers: Sequence[asyncpg.Record]) -> int:
        """How many to claim: up to this worker's fair share of all running executions.

        Beyond its share only when no other live worker below its share has room
        left (they are at capacity): then nothing waits for a worker that cannot take it.
        """
        share = math.ceil(running / max(1, len(workers)))
        mine = next((int(w["owned"]) for w in workers if w["id"] == self.id), 0)
        if share > mine:
            return share - mine
        others_have_room = any(
            w["id"] != self.id
            and w["owned"] < share
            and (w["capacity"] is None or w["owned"] < w["capacity"])
            for w in workers
        )
        return 0 if others_have_room else running

    # -- leaving ----------------------------------------------------------------------------
    async def leave_io(self) -> None:
        """Stop the heartbeat and the listener; hand back what this worker still owns (SIGTERM)."""
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pool = self._db.pool
        if pool is None or not self.registered:
            self.registered = False
            return
        try:
            await asyncio.wait_for(self._release(pool), CLOSE_PATIENCE)
        except (*TRANSIENT, ENDED_BETWEEN_STATEMENTS, asyncpg.PostgresError) as exc:
            log.warning(
                "PostgreSQL at %s: could not hand back this worker's executions (%s); "
                "others take them over when its lease lapses",
                self._db.target.where,
                describe_failure(exc),
            )
        finally:
            self.registered = False

    async def _release(self, pool: asyncpg.Pool) -> None:
        """Hand every execution this worker still owns back: others claim them at once."""
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE executions SET owner = NULL WHERE owner = $1 AND status = 'RUNNING'", self.id
            )
            await conn.execute("DELETE FROM workers WHERE id = $1", self.id)
            await conn.execute("SELECT pg_notify($1, 'release')", CHANNEL)
