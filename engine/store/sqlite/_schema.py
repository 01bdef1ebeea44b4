"""The SQLite store's schema: one migration per version, appended, never edited.

The version is kept in ``PRAGMA user_version`` and migrated forward on open;
``APPLICATION_ID`` (``PRAGMA application_id``) marks a file as a statewright
store, so a foreign SQLite file is refused rather than written into.
"""

from __future__ import annotations

from typing import Final

APPLICATION_ID: Final = 0x53575431  # "SWT1": this file is a statewright store

# Each entry is one schema version; a new version is appended, never edited.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE definitions (
            hash TEXT PRIMARY KEY,
            text TEXT NOT NULL
        )""",
        """CREATE TABLE state_machines (
            arn TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            definition_hash TEXT NOT NULL REFERENCES definitions (hash),
            role_arn TEXT NOT NULL,
            creation_date REAL NOT NULL
        )""",
        """CREATE TABLE executions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            arn TEXT NOT NULL UNIQUE,
            state_machine_arn TEXT NOT NULL,
            state_machine_name TEXT NOT NULL,
            name TEXT NOT NULL,
            definition_hash TEXT NOT NULL REFERENCES definitions (hash),
            type TEXT NOT NULL,
            role_arn TEXT NOT NULL,
            redrive_count INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            input TEXT NOT NULL,
            output TEXT,
            error TEXT,
            cause TEXT,
            start_date REAL NOT NULL,
            stop_date REAL,
            state TEXT NOT NULL,
            event_count INTEGER NOT NULL,
            owner TEXT,
            lease_expires REAL,
            epoch INTEGER NOT NULL DEFAULT 0,
            UNIQUE (state_machine_arn, name)
        )""",
        "CREATE INDEX executions_by_status ON executions (status, seq)",
        """CREATE TABLE history (
            execution_seq INTEGER NOT NULL,
            id INTEGER NOT NULL,
            previous_id INTEGER NOT NULL,
            timestamp REAL NOT NULL,
            type TEXT NOT NULL,
            details TEXT,
            PRIMARY KEY (execution_seq, id)
        ) WITHOUT ROWID""",
        """CREATE TABLE stop_requests (
            arn TEXT PRIMARY KEY,
            error TEXT,
            cause TEXT,
            requested REAL NOT NULL
        )""",
    ),
    # 2: history kept as chunks, one row per execution per commit (each chunk a JSON array of
    # [type, timestamp, name, value or details, previous id]): a commit writes one row for
    # an execution's new events instead of one per event. Chunks are appended, never rewritten.
    (
        """CREATE TABLE history_chunks (
            execution_seq INTEGER NOT NULL,
            first_id INTEGER NOT NULL,
            last_id INTEGER NOT NULL,
            events BLOB NOT NULL,
            PRIMARY KEY (execution_seq, first_id)
        ) WITHOUT ROWID""",
        """INSERT INTO history_chunks (execution_seq, first_id, last_id, events)
            SELECT execution_seq, id, id, json_array(json_array(type, timestamp, NULL, json(details), previous_id))
            FROM history""",
        "DROP TABLE history",
    ),
    # 3: what the API server kept in memory only: a state machine's settings beyond its definition
    # (a JSON object), tags of state machines and activities, and the activities themselves.
    (
        "ALTER TABLE state_machines ADD COLUMN settings TEXT",
        """CREATE TABLE tags (
            resource_arn TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (resource_arn, key)
        ) WITHOUT ROWID""",
        """CREATE TABLE activities (
            arn TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            creation_date REAL NOT NULL
        )""",
    ),
    # 4: what the API server needs of an execution after a restart: what it started with beyond
    # the definition (``ExecutionRecord.annotations``, a JSON object) and when it was last redriven.
    (
        "ALTER TABLE executions ADD COLUMN annotations TEXT",
        "ALTER TABLE executions ADD COLUMN redrive_date REAL",
    ),  # 5: the Map Runs of Distributed Map states (one JSON document each, written when a run starts,
    # is updated and ends), so DescribeMapRun and ListMapRuns answer the same after a restart.
    (
        """CREATE TABLE map_runs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            arn TEXT NOT NULL UNIQUE,
            execution_arn TEXT NOT NULL,
            document TEXT NOT NULL
        )""",
        "CREATE INDEX map_runs_by_execution ON map_runs (execution_arn, seq)",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)
