"""The PostgreSQL store's schema and statements: every migration and the batch SQL it runs.

Migrations are appended, never edited (the store migrates forward on open,
under ``MIGRATION_LOCK``); the statements below are the set-based ones the
group commit and the claims send, one statement per batch.
"""

from __future__ import annotations

from typing import Final

from engine.store.rows import EVENT_COUNT, EXECUTION_COLUMNS

#: The channel every worker LISTENs on; the payload says what happened (start, stop, release).
CHANNEL: Final = "statewright"
#: pg_advisory_xact_lock key of the migration ("SWT1", as the SQLite store's application id).
MIGRATION_LOCK: Final = 0x53575431
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
    # 3: what the API server kept in memory only, as in the SQLite store: a state machine's
    # settings beyond its definition, tags of state machines and activities, the activities.
    (
        "ALTER TABLE state_machines ADD COLUMN settings text",
        """CREATE TABLE tags (
            resource_arn text NOT NULL,
            key text NOT NULL,
            value text NOT NULL,
            PRIMARY KEY (resource_arn, key)
        )""",
        """CREATE TABLE activities (
            arn text PRIMARY KEY,
            name text NOT NULL,
            creation_date double precision NOT NULL
        )""",
    ),
    # 4: as in the SQLite store: what an execution started with beyond its definition
    # (``ExecutionRecord.annotations``) and when it was last redriven.
    (
        "ALTER TABLE executions ADD COLUMN annotations text",
        "ALTER TABLE executions ADD COLUMN redrive_date double precision",
    ),  # 5: as in the SQLite store: the Map Runs of Distributed Map states, one JSON document each.
    (
        """CREATE TABLE map_runs (
            seq bigserial PRIMARY KEY,
            arn text NOT NULL UNIQUE,
            execution_arn text NOT NULL,
            document text NOT NULL
        )""",
        "CREATE INDEX map_runs_by_execution ON map_runs (execution_arn, seq)",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

# Unowned, or owned by a worker whose lease has lapsed (or who is gone); never our own.
CLAIMABLE: Final = (
    "status = 'RUNNING' AND owner IS DISTINCT FROM $1 AND (owner IS NULL OR owner NOT IN "
    "(SELECT id FROM workers WHERE lease_expires > now()))"
)
CLAIM: Final = f"""
    WITH picked AS (
        SELECT seq FROM executions WHERE {CLAIMABLE} ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED
    )
    UPDATE executions e SET owner = $1, epoch = e.epoch + 1 FROM picked WHERE e.seq = picked.seq
    RETURNING e.{EXECUTION_COLUMNS.replace(", ", ", e.")}, e.state, e.event_count, e.epoch, e.definition_hash
"""
CLAIM_EPOCH: Final = EVENT_COUNT + 1
"""Where a ``CLAIM`` row has the claim's epoch (after ``state`` and ``event_count``)."""
CLAIM_HASH: Final = EVENT_COUNT + 2
"""Where a ``CLAIM`` row has its definition's hash."""
UPDATE: Final = """
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
INSERT_CHUNKS: Final = """
    INSERT INTO history_chunks (execution_seq, first_id, last_id, events)
    SELECT * FROM unnest($1::bigint[], $2::integer[], $3::integer[], $4::bytea[])
    ON CONFLICT DO NOTHING
"""
INSERT_EXECUTIONS: Final = """
    INSERT INTO executions (arn, state_machine_arn, state_machine_name, name, definition_hash, type, role_arn,
        redrive_count, status, input, start_date, state, event_count, owner, epoch, annotations)
    SELECT a, sm, smn, n, h, t, r, rc, 'RUNNING', i, sd, st, 0, $1, $2, an
    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                $10::integer[], $11::text[], $12::double precision[], $13::text[], $14::text[])
        AS u(a, sm, smn, n, h, t, r, rc, i, sd, st, an)
    ON CONFLICT DO NOTHING
    RETURNING arn, seq
"""
