"""``SQLiteStore``: the embedded durable store's SQL, over its file (``_file``) and schema (``_schema``).

Columns for leases (``owner``, ``lease_expires``, ``epoch``) are in the
executions table from the first version: a shared store fences every write
with them; this one records the owner only: one engine at a time runs a
file's executions, the one holding its runner lock (``_runner``).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar
from urllib.parse import parse_qs

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
from engine.store.rows import ACTIVITY_QUERY, EVENT_COUNT, EXECUTION_COLUMNS, STATE, STATE_MACHINE_QUERY
from engine.store.sqlite._file import SQLiteFile
from engine.store.sqlite._runner import RunnerLock

SCHEME: Final = "sqlite://"

T = TypeVar("T")


_INSERT_CHUNK: Final = (
    "INSERT INTO history_chunks (execution_seq, first_id, last_id, events) VALUES (?, ?, ?, ?)"
)
# The set-based batch statements: a head, then ``_insert_rows`` adds the VALUES rows.
_INSERT_CHUNKS: Final = "INSERT INTO history_chunks (execution_seq, first_id, last_id, events) VALUES "
_INSERT_EXECUTIONS: Final = (
    "INSERT INTO executions (seq, arn, state_machine_arn, state_machine_name, name, definition_hash, type, "
    "role_arn, redrive_count, status, input, start_date, state, event_count, owner, output, error, cause, "
    "stop_date, annotations) VALUES "
)
_UPDATE_EXECUTIONS: Final = (
    "UPDATE executions SET status = v.column2, state = v.column3, event_count = v.column4, "
    "output = v.column5, error = v.column6, cause = v.column7, stop_date = v.column8 FROM (VALUES "
)
_UPDATE_FROM: Final = ") AS v WHERE executions.seq = v.column1"


def _parts(db: sqlite3.Connection, values: list[Any], width: int) -> list[list[Any]]:
    """``values`` (rows of ``width`` flattened) cut to as many rows as one statement may bind."""
    rows = max(1, min(_MAX_ROWS, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    step = rows * width
    return [values[i : i + step] for i in range(0, len(values), step)]


_MAX_ROWS: Final = 500
"""Rows per statement at most (the statement's text grows with them)."""


def _insert_rows(db: sqlite3.Connection, head: str, width: int, values: list[Any], tail: str = "") -> None:
    """Run ``head`` + as many ``(?, …)`` rows as ``values`` holds (``width`` each) + ``tail``."""
    row = f"({', '.join('?' * width)})"
    for part in _parts(db, values, width):
        db.execute(f"{head}{', '.join([row] * (len(part) // width))}{tail}", part)


class SQLiteStore(DurableStore):
    """A durable store in one SQLite file.

    Args:
        path: the database file (created when missing).
        synchronous: ``FULL`` (each commit survives a power cut) or ``NORMAL``
            (survives a crash of the process; faster on slow disks).
        max_pages: cap the file at this many pages (``PRAGMA max_page_count``);
            a commit beyond it fails as on a full disk.
        create: create the file when it does not exist (else opening fails).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "FULL",
        max_pages: int | None = None,
        create: bool = True,
    ):
        super().__init__()
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise StoreError(
                f"store {self.path}: synchronous must be FULL, NORMAL or EXTRA, not {synchronous!r}"
            )
        self._file = SQLiteFile(
            self.path,
            synchronous=synchronous.upper(),
            max_pages=max_pages,
            create=create,
            on_rollback=self._forget_known,
        )
        self._owner = uuid.uuid4().hex
        self._runner = RunnerLock(self.path)
        self._seqs: dict[str, int] = {}  # writer thread only: live executions' row ids
        self._seen = 0  # writer thread only: the highest seq handed out by running()
        # Writer thread only: definitions and state machines known to be in the file (forgotten
        # when a transaction rolls back, since it may have been the one that added them).
        self._digests: dict[str, str] = {}
        self._machines: set[str] = set()

    def _forget_known(self) -> None:
        self._digests.clear()
        self._machines.clear()

    @classmethod
    def from_url(cls, url: str, *, create: bool = True) -> SQLiteStore:
        """``sqlite:///relative/path``, ``sqlite:////absolute/path``, with ``?synchronous=&max_pages=``."""
        rest = url[len(SCHEME) :]
        if not rest.startswith("/"):
            raise StoreError(f"{url!r}: a SQLite store URL is sqlite:///PATH")
        rest = rest[1:]
        path, _, query = rest.partition("?")
        if not path:
            raise StoreError(f"{url!r}: the store URL names no file")
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        unknown = set(params) - {"synchronous", "max_pages"}
        if unknown:
            raise StoreError(f"{url!r}: unknown store option(s) {', '.join(sorted(unknown))}")
        max_pages = params.get("max_pages")
        if max_pages is not None and not max_pages.isdigit():
            raise StoreError(f"{url!r}: max_pages must be a whole number")
        return cls(
            path,
            synchronous=params.get("synchronous", "FULL"),
            max_pages=int(max_pages) if max_pages is not None else None,
            create=create,
        )

    # -- the file ---------------------------------------------------------------------
    async def _open(self) -> None:
        await self._file.open()

    async def _close(self) -> None:
        try:
            await self._file.close()
        finally:
            self._runner.release()

    async def claim_runner(self) -> None:
        """Hold the file's runner lock, standing by while another process holds it (``_runner``)."""
        await self._runner.acquire()

    async def _write(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` in one write transaction on the file's thread."""
        return await self._file.call(self._file.transaction, body)

    async def _query(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` (reads) on the file's thread."""
        return await self._file.call(self._file.read, body)

    # -- group commit ------------------------------------------------------------------
    async def _write_batch(self, writes: Sequence[ExecutionWrite]) -> set[str]:
        return await self._write(lambda db: self._write_sync(db, writes))

    def _definition(self, db: sqlite3.Connection, text: str) -> str:
        digest = self._digests.get(text)
        if digest is None:
            digest = rows.definition_digest(text)
            db.execute("INSERT OR IGNORE INTO definitions (hash, text) VALUES (?, ?)", (digest, text))
            self._digests[text] = digest
        return digest

    def _insert_execution(self, db: sqlite3.Connection, w: ExecutionWrite, owner: str | None) -> int | None:
        c = w.create
        assert c is not None
        digest = self._definition(db, c.definition)
        if c.state_machine_arn not in self._machines:
            db.execute(
                "INSERT OR IGNORE INTO state_machines (arn, name, type, definition_hash, role_arn, creation_date) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (c.state_machine_arn, c.state_machine_name, c.type, digest, c.role_arn, c.start_date),
            )
            self._machines.add(c.state_machine_arn)
        # The row is written as the write leaves it (an execution created and finished within
        # one batch needs no UPDATE after).
        cur = db.execute(
            "INSERT INTO executions (arn, state_machine_arn, state_machine_name, name, definition_hash, type, "
            "role_arn, redrive_count, status, input, start_date, state, event_count, owner, output, error, cause, "
            "stop_date, annotations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (
                w.execution_arn,
                c.state_machine_arn,
                c.state_machine_name,
                c.name,
                digest,
                c.type,
                c.role_arn,
                c.redrive_count,
                w.status,
                c.input,
                c.start_date,
                w.position,
                w.event_count,
                owner,
                w.output,
                w.error,
                w.cause,
                w.stop_date,
                c.annotations,
            ),
        )
        if cur.rowcount == 0:
            return None
        return int(cur.lastrowid or 0)

    def _insert_executions(
        self, db: sqlite3.Connection, creates: Sequence[ExecutionWrite], owner: str | None
    ) -> dict[str, int]:
        """Insert new executions' rows, a few statements for the lot; ARN -> seq of those that landed.

        Each gets the seq an AUTOINCREMENT insert would give it (above the highest ever handed
        out: the write lock held since BEGIN IMMEDIATE keeps another process from taking one
        meanwhile), so no row has to be inserted alone to learn its seq; a name already taken
        leaves its row out (ON CONFLICT DO NOTHING) and its seq unused.
        """
        found = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'executions'").fetchone()
        base = int(found[0]) if found is not None else 0
        values: list[Any] = []
        for i, w in enumerate(creates):
            c = w.create
            assert c is not None
            digest = self._definition(db, c.definition)
            if c.state_machine_arn not in self._machines:
                db.execute(
                    "INSERT OR IGNORE INTO state_machines (arn, name, type, definition_hash, role_arn, "
                    "creation_date) VALUES (?, ?, ?, ?, ?, ?)",
                    (c.state_machine_arn, c.state_machine_name, c.type, digest, c.role_arn, c.start_date),
                )
                self._machines.add(c.state_machine_arn)
            # The row is written as the write leaves it (an execution created and finished within
            # one batch needs no UPDATE after).
            values += (
                base + 1 + i, w.execution_arn, c.state_machine_arn, c.state_machine_name, c.name, digest, c.type,
                c.role_arn, c.redrive_count, w.status, c.input, c.start_date, w.position, w.event_count, owner,
                w.output, w.error, w.cause, w.stop_date, c.annotations,
            )  # fmt: skip
        _insert_rows(db, _INSERT_EXECUTIONS, 20, values, " ON CONFLICT DO NOTHING")
        seqs = {w.execution_arn: base + 1 + i for i, w in enumerate(creates)}
        landed = db.execute("SELECT count(*) FROM executions WHERE seq > ?", (base,)).fetchone()[0]
        if landed != len(creates):
            kept = {r[0] for r in db.execute("SELECT seq FROM executions WHERE seq > ?", (base,))}
            seqs = {arn: seq for arn, seq in seqs.items() if seq in kept}
        return seqs

    def _write_sync(self, db: sqlite3.Connection, writes: Sequence[ExecutionWrite]) -> set[str]:
        # Set-based: one statement per kind of row for the whole batch rather than one per row.
        # Each statement lets go of the GIL once (sqlite3 releases it per step), so the thread
        # does not wait on the event loop for it row after row while the loop is busy.
        conflicts: set[str] = set()
        creates = [w for w in writes if w.create is not None]
        created = self._insert_executions(db, creates, self._owner) if creates else {}
        chunks: list[Any] = []
        updates: list[Any] = []
        finished: list[str] = []
        for w in writes:
            arn = w.execution_arn
            if w.create is not None:
                seq = created.get(arn)
                if seq is None:
                    conflicts.add(arn)
                    continue
                self._seqs[arn] = seq
            else:
                seq = self._seqs.get(arn)
                if seq is None:
                    # Not created, submitted or resumed through this store: an execution whose
                    # create found its name taken. Its changes must never reach the other's row.
                    continue
                updates += (seq, w.status, w.position, w.event_count, w.output, w.error, w.cause, w.stop_date)
            encoded = w.encoded
            if encoded is not None:
                chunks += (seq, encoded[0], w.event_count, encoded[1])
            if w.status != RUNNING:
                finished.append(arn)
                self._seqs.pop(arn, None)
        _insert_rows(db, _INSERT_CHUNKS, 4, chunks)
        _insert_rows(db, _UPDATE_EXECUTIONS, 8, updates, _UPDATE_FROM)
        if finished:
            for part in _parts(db, finished, 1):
                db.execute(f"DELETE FROM stop_requests WHERE arn IN ({', '.join('?' * len(part))})", part)
        return conflicts

    # -- state machines --------------------------------------------------------------
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
        settings_text = dumps_str(dict(settings or {}))

        def body(db: sqlite3.Connection) -> None:
            digest = self._definition(db, definition)
            db.execute(
                "INSERT INTO state_machines (arn, name, type, definition_hash, role_arn, creation_date, settings) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (arn) DO UPDATE SET "
                "definition_hash = excluded.definition_hash, role_arn = excluded.role_arn, "
                "settings = excluded.settings",
                (arn, name, type, digest, role_arn, created, settings_text),
            )

        await self._write(body)
        found = await self.get_state_machine(arn)
        assert found is not None
        return found

    async def delete_state_machine(self, arn: str) -> None:
        def body(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM state_machines WHERE arn = ?", (arn,))
            db.execute("DELETE FROM tags WHERE resource_arn = ?", (arn,))
            # An execution created after this must write the row again (it was its implicit create).
            self._machines.discard(arn)

        await self._write(body)

    async def get_state_machine(self, arn: str) -> StoredStateMachine | None:
        row = await self._query(
            lambda db: db.execute(f"{STATE_MACHINE_QUERY} WHERE s.arn = ?", (arn,)).fetchone()
        )
        return rows.state_machine(row) if row is not None else None

    async def list_state_machines(
        self, *, max_results: int = DEFAULT_PAGE_SIZE, next_token: str | None = None
    ) -> Page[StoredStateMachine]:
        after = next_token or ""
        found = await self._query(
            lambda db: db.execute(
                f"{STATE_MACHINE_QUERY} WHERE s.arn > ? ORDER BY s.arn LIMIT ?", (after, max_results + 1)
            ).fetchall(),
        )
        return rows.state_machine_page(found, max_results)

    # -- map runs ------------------------------------------------------------------------
    async def put_map_run(self, arn: str, execution_arn: str, document: str) -> None:
        await self._write(
            lambda db: db.execute(
                "INSERT INTO map_runs (arn, execution_arn, document) VALUES (?, ?, ?) "
                "ON CONFLICT (arn) DO UPDATE SET document = excluded.document",
                (arn, execution_arn, document),
            )
        )

    async def get_map_run(self, arn: str) -> str | None:
        row = await self._query(
            lambda db: db.execute("SELECT document FROM map_runs WHERE arn = ?", (arn,)).fetchone()
        )
        return str(row[0]) if row is not None else None

    async def list_map_runs(self, execution_arn: str) -> list[str]:
        found = await self._query(
            lambda db: db.execute(
                "SELECT document FROM map_runs WHERE execution_arn = ? ORDER BY seq", (execution_arn,)
            ).fetchall()
        )
        return [str(row[0]) for row in found]

    # -- activities and tags -------------------------------------------------------------
    async def put_activity(
        self, arn: str, name: str, *, creation_date: datetime | None = None
    ) -> StoredActivity:
        created = (creation_date or datetime.now(UTC)).timestamp()

        def body(db: sqlite3.Connection) -> Any:
            db.execute(
                "INSERT INTO activities (arn, name, creation_date) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (arn, name, created),
            )
            return db.execute(f"{ACTIVITY_QUERY} WHERE arn = ?", (arn,)).fetchone()

        return rows.activity(await self._write(body))

    async def list_activities(
        self, *, max_results: int = DEFAULT_PAGE_SIZE, next_token: str | None = None
    ) -> Page[StoredActivity]:
        after = next_token or ""
        found = await self._query(
            lambda db: db.execute(
                f"{ACTIVITY_QUERY} WHERE arn > ? ORDER BY arn LIMIT ?", (after, max_results + 1)
            ).fetchall(),
        )
        return rows.activity_page(found, max_results)

    async def delete_activity(self, arn: str) -> None:
        def body(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM activities WHERE arn = ?", (arn,))
            db.execute("DELETE FROM tags WHERE resource_arn = ?", (arn,))

        await self._write(body)

    async def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        await self._write(
            lambda db: db.executemany(
                "INSERT INTO tags (resource_arn, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT DO UPDATE SET value = excluded.value",
                [(arn, k, v) for k, v in tags.items()],
            )
        )

    async def untag_resource(self, arn: str, keys: Collection[str]) -> None:
        await self._write(
            lambda db: db.executemany(
                "DELETE FROM tags WHERE resource_arn = ? AND key = ?", [(arn, k) for k in keys]
            )
        )

    async def list_tags(self, arn: str) -> dict[str, str]:
        found = await self._query(
            lambda db: db.execute(
                "SELECT key, value FROM tags WHERE resource_arn = ? ORDER BY key", (arn,)
            ).fetchall()
        )
        return {r[0]: r[1] for r in found}

    # -- executions -----------------------------------------------------------------
    async def create_execution(
        self, record: ExecutionRecord, definition: str, *, run_here: bool = False
    ) -> None:
        write = creation_write(record, definition)

        def body(db: sqlite3.Connection) -> bool:
            seq = self._insert_execution(db, write, self._owner)
            if seq is None:
                return False
            self._seqs[write.execution_arn] = seq
            encoded = write.encoded
            if encoded is not None:
                db.execute(_INSERT_CHUNK, (seq, encoded[0], write.event_count, encoded[1]))
            return True

        if not await self._write(body):
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{record.execution_arn}'")
        record.history.committed = record.history.last_id

    async def redrive_execution(self, record: ExecutionRecord) -> bool:
        write = redrive_write(record)
        redriven = redriven_at(record)

        def body(db: sqlite3.Connection) -> bool:
            marks = ", ".join("?" for _ in REDRIVABLE_STATUSES)
            row = db.execute(
                f"SELECT seq FROM executions WHERE arn = ? AND status IN ({marks})",
                (write.execution_arn, *REDRIVABLE_STATUSES),
            ).fetchone()
            if row is None:
                return False
            seq = int(row[0])
            db.execute(
                "UPDATE executions SET status = ?, state = ?, event_count = ?, redrive_count = ?, output = NULL, "
                "error = NULL, cause = NULL, stop_date = NULL, owner = ?, epoch = epoch + 1, redrive_date = ? "
                "WHERE seq = ?",
                (
                    RUNNING,
                    write.position,
                    write.event_count,
                    record.redrive_count,
                    self._owner,
                    redriven,
                    seq,
                ),
            )
            encoded = write.encoded
            if encoded is not None:
                db.execute(_INSERT_CHUNK, (seq, encoded[0], write.event_count, encoded[1]))
            self._seqs[write.execution_arn] = seq
            return True

        if not await self._write(body):
            return False
        record.history.committed = record.history.last_id
        return True

    async def get_execution(self, execution_arn: str) -> StoredExecution | None:
        row = await self._query(
            lambda db: db.execute(
                f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = ?", (execution_arn,)
            ).fetchone(),
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
        where = ["seq < ?"]
        args: list[Any] = [rows.listing_start(next_token)]
        if state_machine_arn is not None:
            where.append("state_machine_arn = ?")
            args.append(state_machine_arn)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        args.append(max_results + 1)
        sql = f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?"
        found = await self._query(lambda db: db.execute(sql, args).fetchall())
        return rows.execution_page(found, max_results)

    async def history(
        self, execution_arn: str, *, after: int = 0, max_results: int | None = None, reverse: bool = False
    ) -> list[HistoryEvent]:
        def body(db: sqlite3.Connection) -> list[Any]:
            row = db.execute("SELECT seq FROM executions WHERE arn = ?", (execution_arn,)).fetchone()
            if row is None:
                raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
            cond, bound = ("first_id < ?", after or rows.NEWEST) if reverse else ("last_id > ?", after)
            return db.execute(
                f"SELECT first_id, events FROM history_chunks WHERE execution_seq = ? AND {cond} ORDER BY first_id",
                (row[0], bound),
            ).fetchall()

        found = rows.events(await self._query(body))
        return rows.history_page(found, after=after, max_results=max_results, reverse=reverse)

    async def load(self, execution_arn: str) -> Resumable | None:
        def body(db: sqlite3.Connection) -> tuple[Any, str, list[Any]] | None:
            row = db.execute(
                f"SELECT {EXECUTION_COLUMNS}, state, event_count, d.text FROM executions "
                "JOIN definitions d ON d.hash = definition_hash WHERE arn = ?",
                (execution_arn,),
            ).fetchone()
            if row is None:
                return None
            events = db.execute(
                "SELECT first_id, events FROM history_chunks WHERE execution_seq = ? ORDER BY first_id",
                (row[0],),
            ).fetchall()
            return row, row[-1], events

        found = await self._query(body)
        if found is None:
            return None
        row, definition, events = found
        return Resumable(
            definition, rows.record(row, row[STATE], row[EVENT_COUNT], rows.events(events), store=self.path)
        )

    async def running(self) -> list[Resumable]:
        def body(db: sqlite3.Connection) -> list[Any]:
            claimed = db.execute(
                f"SELECT {EXECUTION_COLUMNS}, state, event_count, d.text FROM executions "
                "JOIN definitions d ON d.hash = definition_hash "
                "WHERE status = ? AND seq > ? AND (owner IS NULL OR owner != ?) ORDER BY seq",
                (RUNNING, self._seen, self._owner),
            ).fetchall()
            if claimed:
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.executemany(
                        "UPDATE executions SET owner = ?, epoch = epoch + 1 WHERE seq = ?",
                        [(self._owner, r[0]) for r in claimed],
                    )
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                for r in claimed:
                    self._seqs[r[1]] = r[0]
                self._seen = max(self._seen, claimed[-1][0])
            return claimed

        found = await self._query(body)
        return [
            Resumable(r[-1], rows.record(r, r[STATE], r[EVENT_COUNT], None, store=self.path)) for r in found
        ]

    # -- stop requests ----------------------------------------------------------------
    async def request_stop(self, execution_arn: str, error: str | None, cause: str | None) -> None:
        def body(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT status FROM executions WHERE arn = ?", (execution_arn,)).fetchone()
            if row is None:
                raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
            if row[0] == RUNNING:
                db.execute(
                    "INSERT OR REPLACE INTO stop_requests (arn, error, cause, requested) VALUES (?, ?, ?, ?)",
                    (execution_arn, error, cause, datetime.now(UTC).timestamp()),
                )

        await self._write(body)

    async def stop_requests(self) -> list[StopRequest]:
        found = await self._query(
            lambda db: db.execute(
                "SELECT arn, error, cause FROM stop_requests ORDER BY requested"
            ).fetchall(),
        )
        return [StopRequest(r[0], r[1], r[2]) for r in found]

    async def drop_stop_request(self, execution_arn: str) -> None:
        await self._write(
            lambda db: db.execute("DELETE FROM stop_requests WHERE arn = ?", (execution_arn,)),
        )
