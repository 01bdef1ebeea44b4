"""The shared durable store: PostgreSQL through asyncpg, for many workers at once.

All SQL for PostgreSQL lives in this package; everything above it (group
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

The rooms:

- ``_store``: ``PostgresStore``, the ``Store`` interface's queries in PostgreSQL's SQL.
- ``_writes``: the group commit's fenced, set-based batch writes.
- ``_worker``: this process as a worker: lease and heartbeat, LISTEN, claims, hand-back.
- ``_database``: the I/O thread, the pool, the migration, queries once or retried.
- ``_schema``: the migrations and the batch statements.
- ``_target``: the URL, TLS, and what a connection failure means.
"""

from __future__ import annotations

from engine.store.postgres._database import CLOSE_PATIENCE, RETRY_FIRST, RETRY_MAX
from engine.store.postgres._schema import CHANNEL, MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION
from engine.store.postgres._store import CLAIM_BATCH, DEFAULT_LEASE_SECONDS, PostgresStore
from engine.store.postgres._target import SCHEMES, TRANSIENT, Target

__all__ = [
    "CHANNEL",
    "CLAIM_BATCH",
    "CLOSE_PATIENCE",
    "DEFAULT_LEASE_SECONDS",
    "MIGRATIONS",
    "MIGRATION_LOCK",
    "RETRY_FIRST",
    "RETRY_MAX",
    "SCHEMA_VERSION",
    "SCHEMES",
    "TRANSIENT",
    "PostgresStore",
    "Target",
]
