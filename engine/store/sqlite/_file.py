"""The SQLite store's file: one connection, owned by one thread, and the schema migrated on open.

``sqlite3`` is blocking, so the connection belongs to a dedicated thread and
nothing blocks the event loop: every query and every group-committed batch
is one hop there (``call``). WAL mode lets readers in other processes read
while the worker writes; ``synchronous=FULL`` (the default) makes each
committed batch survive a power cut, ``NORMAL`` only a crash of the process
(https://www.sqlite.org/wal.html, https://www.sqlite.org/pragma.html#pragma_synchronous).
Errors become ``StoreError``s that name the file and say what to do.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, TypeVar

from engine.store.base import StoreError
from engine.store.sqlite._schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

T = TypeVar("T")

PAGE_SIZE: Final = 16_384
"""The page size of a new file. A commit writes one history chunk per execution, a few KiB
(a 20-transition execution's is 3.4 KiB); a ``WITHOUT ROWID`` table keeps in its leaf at most
about a quarter of a page per row and spills the rest to overflow pages, so at SQLite's default
4 KiB every such chunk took two pages more (10,000 such executions: 47 MB of pages for 35 MB of
chunks; 41 MB at 16 KiB). Larger pages keep them inline and halve the time of a commit; a file
made before keeps its page size."""


def describe_failure(path: str, exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
        return f"{path} is not a statewright store ({text})"
    if "disk is full" in text or "database or disk is full" in text:
        return f"store {path}: the disk is full ({text}); nothing committed before was lost"
    return f"store {path}: {text}"


class SQLiteFile:
    """One SQLite file as the store uses it: its thread, its connection, its schema.

    Args:
        path: the database file (created when missing, unless ``create`` is false).
        synchronous: ``FULL``, ``NORMAL`` or ``EXTRA`` (checked by the store).
        max_pages: cap the file at this many pages (``PRAGMA max_page_count``).
        create: create the file when it does not exist (else opening fails).
        on_rollback: called on the thread when a write transaction rolls back.
    """

    def __init__(
        self,
        path: str,
        *,
        synchronous: str,
        max_pages: int | None,
        create: bool,
        on_rollback: Callable[[], None],
    ) -> None:
        self.path = path
        self._synchronous = synchronous
        self._max_pages = max_pages
        self._create = create
        self._on_rollback = on_rollback
        self._thread: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the file's thread and wait for it here."""
        if self._thread is None:
            raise StoreError(f"store {self.path} is not open")
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def _conn(self) -> sqlite3.Connection:
        assert self._db is not None
        return self._db

    async def open(self) -> None:
        """Start the thread, open the file and migrate its schema."""
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="statewright-sqlite")
        try:
            await self.call(self._open_sync)
        except BaseException:
            self._thread.shutdown(wait=False)
            self._thread = None
            raise

    def _open_sync(self) -> None:
        path = self.path
        if os.path.isdir(path):
            raise StoreError(f"cannot open store {path}: it is a directory")
        parent = Path(path).parent
        if not self._create and not os.path.exists(path):
            raise StoreError(f"store {path} does not exist")
        if not parent.is_dir():
            raise StoreError(f"cannot open store {path}: the folder {parent} does not exist")
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from None
        try:
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app_id != APPLICATION_ID and (tables or app_id):
                raise StoreError(f"{path} is not a statewright store (it is another SQLite database)")
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"store {path} has schema version {version}, newer than this statewright "
                    f"understands ({SCHEMA_VERSION}): upgrade statewright to open it"
                )
            db.execute("PRAGMA busy_timeout = 10000")
            if not tables and not version:
                # A new file only (a page size is fixed once WAL mode is on): see PAGE_SIZE.
                db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"cannot open store {path}: WAL mode is not available ({mode})")
            db.execute(f"PRAGMA synchronous = {self._synchronous}")
            if self._max_pages is not None:
                db.execute(f"PRAGMA max_page_count = {int(self._max_pages)}")
            for number in range(version + 1, SCHEMA_VERSION + 1):
                db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in MIGRATIONS[number - 1]:
                        db.execute(statement)
                    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    db.execute(f"PRAGMA user_version = {number}")
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        except StoreError:
            db.close()
            raise
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(describe_failure(path, exc)) from None
        self._db = db

    async def close(self) -> None:
        """Close the file and stop the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return

        def close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await asyncio.get_running_loop().run_in_executor(thread, close)
        thread.shutdown(wait=True)

    def transaction(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` in one write transaction (on the thread); a rolled-back one calls ``on_rollback``."""
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = body(db)
                db.execute("COMMIT")
            except BaseException:
                self._on_rollback()
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(describe_failure(self.path, exc)) from None
        return result

    def read(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` outside a write transaction (on the thread)."""
        try:
            return body(self._conn())
        except sqlite3.Error as exc:
            raise StoreError(describe_failure(self.path, exc)) from None
