"""A store that cannot be used says which file and why, and loses nothing already committed."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine.store import StoreError, open_store
from engine.store.sqlite import SCHEMA_VERSION, SQLiteStore

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


async def _open(url: str) -> None:
    store = open_store(url)
    await store.open()
    await store.close()


async def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere' / 'store.db'}"
    with pytest.raises(StoreError, match=r"cannot open store .*nowhere/store.db: the folder .* does not exist"):
        await _open(url)


async def test_a_directory_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=rf"cannot open store {tmp_path}: it is a directory"):
        await _open(f"sqlite:///{tmp_path}")


async def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=rf"{path} is not a statewright store \(file is not a database\)"):
        await _open(f"sqlite:///{path}")
    assert path.read_bytes() == before


async def test_another_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE things (x)")
    with pytest.raises(StoreError, match=rf"{path} is not a statewright store \(it is another SQLite database\)"):
        await _open(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["things"]


async def test_a_store_from_a_newer_version_is_refused(store_url: str) -> None:
    await _open(store_url)
    path = store_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match=rf"store {path} has schema version {SCHEMA_VERSION + 1}, newer than"):
        await _open(store_url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:/relative", "a SQLite store URL is sqlite:///PATH"),
        ("sqlite:///", "names no file"),
        ("sqlite:///x.db?cache=huge", "unknown store option"),
        ("mysql://db/x", "unknown store"),
    ],
)
def test_malformed_store_urls_say_what_is_expected(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        open_store(url)


async def test_a_full_disk_fails_the_commit_and_keeps_what_was_committed(harness: Any, tmp_path: Path) -> None:
    path = tmp_path / "small.db"
    async with harness.engine(store=f"sqlite:///{path}") as engine:
        kept = await engine.run(PASS, {"keep": "me"}, name="kept")
    assert kept.status == "SUCCEEDED"
    with sqlite3.connect(path) as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    # Room for almost nothing more: the next big commit fails as on a full disk.
    url = f"sqlite:///{path}?max_pages={pages + 1}"
    big = {"blob": "x" * 200_000}
    async with harness.engine(store=url) as engine:
        execution = engine.start(PASS, big, name="too-big")
        await execution.wait()
        await _settle(engine)
        failure = engine.store_failure
    assert failure is not None
    assert str(failure).startswith(f"store {path}: the disk is full")
    assert "nothing committed before was lost" in str(failure)
    store = SQLiteStore(path)
    await store.open()
    try:
        found = await store.get_execution(kept.execution_arn)
        assert found is not None and found.status == "SUCCEEDED" and found.input == {"keep": "me"}
        assert len(await store.history(kept.execution_arn)) == 4
        names = [e.name for e in (await store.list_executions()).items]
        assert names == ["kept"]
    finally:
        await store.close()


async def _settle(engine: Any) -> None:
    import anyio

    with anyio.fail_after(5):
        while engine.store_failure is None:
            await anyio.sleep(0.01)


async def test_a_finished_execution_reads_back_whole_from_a_new_store_object(store_url: str, harness: Any) -> None:
    async with harness.engine(store=store_url) as engine:
        result = await engine.run(PASS, {"a": 1}, name="read-me")
    store = open_store(store_url)
    await store.open()
    try:
        found = await store.load(result.execution_arn)
        assert found is not None
        assert found.record.history.types == result.history.types
        assert found.record.output == {"a": 1}
    finally:
        await store.close()


async def test_a_version_1_store_is_migrated_and_keeps_its_history(tmp_path: Path) -> None:
    from engine.store.sqlite import APPLICATION_ID, MIGRATIONS

    path = tmp_path / "v1.db"
    arn = "arn:aws:states:us-east-1:123456789012:execution:sm:old"
    with sqlite3.connect(path) as db:
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute("INSERT INTO definitions VALUES ('h', '{}')")
        db.execute(
            "INSERT INTO executions (arn, state_machine_arn, state_machine_name, name, definition_hash, type, role_arn, "
            "status, input, output, start_date, stop_date, state, event_count) "
            "VALUES (?, 'arn:sm', 'sm', 'old', 'h', 'STANDARD', 'r', 'SUCCEEDED', '{}', '1', 1.0, 2.0, '', 2)",
            (arn,),
        )
        db.execute("INSERT INTO history VALUES (1, 1, 0, 1.0, 'ExecutionStarted', '{\"input\":{}}')")
        db.execute("INSERT INTO history VALUES (1, 2, 1, 2.0, 'ExecutionSucceeded', '{\"output\":1}')")
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute("PRAGMA user_version = 1")
    store = SQLiteStore(path)
    await store.open()
    try:
        events = await store.history(arn)
        assert [(e.id, e.type, e.details) for e in events] == [
            (1, "ExecutionStarted", {"input": {}}),
            (2, "ExecutionSucceeded", {"output": 1}),
        ]
        assert [e.id for e in await store.history(arn, reverse=True, max_results=1)] == [2]
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_a_new_file_has_large_pages_and_an_older_file_keeps_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine import Engine, parse_definition
    from engine.store.sqlite import _file

    new, old = tmp_path / "new.db", tmp_path / "old.db"
    with monkeypatch.context() as patch:  # a file made before: SQLite's default page size
        patch.setattr(_file, "PAGE_SIZE", 4096)
        await _open(f"sqlite:///{old}")
    for path in (new, old):
        async with Engine(store=f"sqlite:///{path}") as engine:
            result = await engine.start(parse_definition(PASS), {"n": 1}).wait()
        assert result.status == "SUCCEEDED"
        store = SQLiteStore(path, create=False)
        await store.open()
        try:
            found = await store.get_execution(result.execution_arn)
            assert found is not None and found.status == "SUCCEEDED"
            assert [e.type for e in await store.history(result.execution_arn)][-1] == "ExecutionSucceeded"
        finally:
            await store.close()
    with sqlite3.connect(new) as db:
        assert db.execute("PRAGMA page_size").fetchone()[0] == _file.PAGE_SIZE == 16_384
    with sqlite3.connect(old) as db:
        assert db.execute("PRAGMA page_size").fetchone()[0] == 4096
