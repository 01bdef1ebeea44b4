"""Group commit under a backlog: batches written while the next is serialized, rows set-based."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from engine import Engine, parse_definition
from engine.jsonvalue import dumps_str
from engine.store import open_store
from engine.store.base import MAX_BATCH, DurableStore, ExecutionWrite
from engine.store.sqlite import SQLiteStore

CHAIN = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Pass", "Result": 2, "ResultPath": "$.b", "End": True},
    },
}
EVENTS = ["ExecutionStarted", "PassStateEntered", "PassStateExited", "PassStateEntered", "PassStateExited",
          "ExecutionSucceeded"]  # fmt: skip


def _watch_overlap(store: DurableStore) -> list[bool]:
    """Record, per batch written, whether the next batch had been serialized by the time it was."""
    seen: list[bool] = []
    write = store._write_batch

    async def watched(writes: Sequence[ExecutionWrite]) -> set[str]:
        conflicts = await write(writes)
        seen.append(store._ahead is not None)
        return conflicts

    store._write_batch = watched  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)
async def test_a_backlog_is_written_while_the_next_batch_is_serialized_and_nothing_twice(store_url: str) -> None:
    store = open_store(store_url)
    assert isinstance(store, DurableStore)
    overlapped = _watch_overlap(store)
    machine = parse_definition(CHAIN)
    n = 3 * MAX_BATCH + 7
    async with Engine(store=store) as engine:
        handles = [engine.start(machine, {"k": k}) for k in range(n)]
        results = [await h.wait() for h in handles]
        await store.flush()
        assert all(r.status == "SUCCEEDED" for r in results)
        # More than one batch was serialized while the one before it was written.
        assert len(overlapped) >= 4 and sum(overlapped) >= 2
        for k in (0, MAX_BATCH, n - 1):
            arn = handles[k].execution_arn
            found = await store.get_execution(arn)
            assert found is not None and found.status == "SUCCEEDED" and found.output == {"k": k, "a": 1, "b": 2}
            events = await store.history(arn)
            assert [e.type for e in events] == EVENTS
            assert [e.id for e in events] == list(range(1, len(EVENTS) + 1))
            assert events[0].details is not None and events[0].details["input"] == {"k": k}


async def test_a_taken_name_in_a_batch_leaves_the_other_rows_their_own(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    async with Engine(store=store) as engine:
        # Each statement binds few rows, so the batch takes several statements of each kind.
        await store._file.call(lambda: store._file._conn().setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 50))
        # Another process records an execution under a name this engine is about to use.
        _, theirs = Engine().prepare(CHAIN, {"k": "theirs"}, name="taken")
        other = SQLiteStore(path)
        await other.open()
        try:
            await other.create_execution(theirs, dumps_str(CHAIN))
        finally:
            await other.close()
        names = ["n0", "n1", "taken", "n2", "n3", "n4"]
        handles = [engine.start(CHAIN, {"k": name}, name=name) for name in names]
        for h in handles:
            await h.wait()
        await store.flush()
        assert store.batches >= 1
        for name, h in zip(names, handles, strict=True):
            if name == "taken":
                continue
            found = await store.get_execution(h.execution_arn)
            assert found is not None and (found.name, found.status) == (name, "SUCCEEDED")
            assert found.output == {"k": name, "a": 1, "b": 2}
            events = await store.history(h.execution_arn)
            assert [e.type for e in events] == EVENTS
            assert events[0].details is not None and events[0].details["input"] == {"k": name}
        # The taken name's row is still the other process's execution, untouched.
        kept = await store.get_execution(theirs.execution_arn)
        assert kept is not None and (kept.status, kept.input) == ("RUNNING", {"k": "theirs"})
        assert [e.type for e in await store.history(theirs.execution_arn)] == ["ExecutionStarted"]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*), count(DISTINCT seq) FROM executions").fetchone() == (6, 6)
        # No history was written for the refused create (it has no row of its own).
        orphans = "SELECT count(*) FROM history_chunks WHERE execution_seq NOT IN (SELECT seq FROM executions)"
        assert db.execute(orphans).fetchone() == (0,)
