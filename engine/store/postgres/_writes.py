"""The PostgreSQL store's group commit: one batch of executions' writes, fenced, in few statements.

Every update of an execution is ``WHERE owner = me AND epoch = the epoch I
claimed``, Temporal's range-id fencing: a worker that was paused or cut off
while another claimed its executions finds its writes refused (the seqs it
gets back say which landed), and none of them lands. A batch is set-based
(``unnest`` arrays, one statement per kind of row) and idempotent, so the
writer may run it again after a lost connection: history chunks and creates
are written ``ON CONFLICT DO NOTHING``, and a create already there with this
worker as owner is its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from engine.runtime.record import RUNNING
from engine.store.base import ExecutionWrite
from engine.store.postgres._schema import INSERT_CHUNKS, INSERT_EXECUTIONS, UPDATE
from engine.store.rows import definition_digest


@dataclass(slots=True)
class Owned:
    """The fence of an execution this worker owns: its row and the epoch of the claim."""

    seq: int
    epoch: int


async def write_batch(
    conn: asyncpg.Connection, worker_id: str, writes: Sequence[ExecutionWrite], ids: dict[str, Owned]
) -> tuple[set[str], dict[str, int], set[int]]:
    """One batch in the transaction ``conn`` is in: creates, fenced updates, then history of what landed.

    Args:
        conn: a connection in a transaction.
        worker_id: the writing worker (the owner every update is fenced on).
        writes: the batch.
        ids: the fence of each execution this worker owns.

    Returns:
        The ARNs whose create found the name taken, ARN -> seq of the executions created, and the
        seqs whose update was accepted (the rest are now another worker's).
    """
    conflicts: set[str] = set()
    seqs: dict[str, int] = {arn: o.seq for arn, o in ids.items()}
    epochs: dict[str, int] = {arn: o.epoch for arn, o in ids.items()}
    creates = [w for w in writes if w.create is not None]
    created: dict[str, int] = {}
    if creates:
        created = await insert_executions(conn, creates, worker_id, 1)
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
            UPDATE,
            worker_id,
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
    await insert_events(conn, [(seqs[w.execution_arn], w) for w in landed])
    finished = [w.execution_arn for w in landed if w.status != RUNNING]
    if finished:
        await conn.execute("DELETE FROM stop_requests WHERE arn = ANY($1::text[])", finished)
    return conflicts, created, accepted


async def insert_executions(
    conn: asyncpg.Connection, creates: Sequence[ExecutionWrite], owner: str | None, epoch: int
) -> dict[str, int]:
    """Insert new executions (their definitions and state machines first); ARN → seq of those inserted."""
    definitions: dict[str, str] = {}
    machines: dict[str, tuple[str, str, str, str, float]] = {}
    for w in creates:
        c = w.create
        assert c is not None
        digest = definition_digest(c.definition)
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
        INSERT_EXECUTIONS,
        owner,
        epoch,
        [w.execution_arn for w in creates],
        [c.state_machine_arn for c in cs if c],
        [c.state_machine_name for c in cs if c],
        [c.name for c in cs if c],
        [definition_digest(c.definition) for c in cs if c],
        [c.type for c in cs if c],
        [c.role_arn for c in cs if c],
        [c.redrive_count for c in cs if c],
        [c.input for c in cs if c],
        [c.start_date for c in cs if c],
        [w.position for w in creates],
        [c.annotations for c in cs if c],
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


async def insert_events(conn: asyncpg.Connection, batches: Sequence[tuple[int, ExecutionWrite]]) -> None:
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
        await conn.execute(INSERT_CHUNKS, *columns)
