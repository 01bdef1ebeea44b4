"""The embedded durable store: one SQLite file in WAL mode.

All SQL for SQLite lives in this package, in three rooms:

- ``_store``: ``SQLiteStore``, the ``Store`` interface's queries and the group commit's batch writes.
- ``_file``: the file's connection on a thread of its own (``sqlite3`` blocks; the event loop never
  does), WAL mode and ``synchronous``, the schema migrated on open, errors that name the file.
- ``_schema``: the migrations, versioned with ``PRAGMA user_version``, and ``APPLICATION_ID``
  (``PRAGMA application_id``), which marks the file as a statewright store so that a foreign
  SQLite file is refused rather than written into.
"""

from __future__ import annotations

from engine.store.sqlite._schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from engine.store.sqlite._store import SCHEME, SQLiteStore

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "SCHEME", "SQLiteStore"]
