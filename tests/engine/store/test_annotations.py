"""What an execution keeps beyond its definition: its annotations and its redrive date, read back from the store.

Every test runs on both durable backends, a real SQLite file and a real
PostgreSQL database.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.store import open_store

pytestmark = pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)

ANNOTATIONS = {"revisionId": "r-1", "loggingConfiguration": {"level": "ALL"}, "updateDate": 1.5}


async def test_annotations_and_the_definition_text_given_to_submit_are_read_back(
    harness: Any, store_url: str
) -> None:
    harness.fn("f", lambda p: {"done": True})
    text = json.dumps({"StartAt": "F", "States": {"F": harness.task("f")}}, indent=4)
    async with harness.engine(store=store_url) as engine:
        ex = await engine.submit(text, {}, name="kept", annotations=dict(ANNOTATIONS))
        assert (await ex.wait()).status == "SUCCEEDED"
        plain = await engine.submit(text, {}, name="plain")
        await plain.wait()
    store = open_store(store_url)
    await store.open()
    try:
        loaded = await store.load(ex.execution_arn)
        assert loaded is not None
        assert loaded.definition == text  # as given, not re-serialized
        assert loaded.record.annotations == ANNOTATIONS
        found = await store.get_execution(ex.execution_arn)
        assert found is not None and found.annotations == ANNOTATIONS
        listed = {e.name: e for e in (await store.list_executions()).items}
        assert listed["kept"].annotations == ANNOTATIONS and listed["plain"].annotations is None
    finally:
        await store.close()


async def test_the_redrive_date_is_the_execution_redriven_events_and_listed(harness: Any, store_url: str) -> None:
    attempts: list[int] = []

    def flaky(payload: Any) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first time")
        return {}

    harness.fn("flaky", flaky)
    machine = {"StartAt": "F", "States": {"F": harness.task("flaky")}}
    async with harness.engine(store=store_url) as engine:
        first = engine.start(machine, {}, name="flaky")
        assert (await first.wait()).status == "FAILED"
        redriven = await engine.submit_redrive(machine, first.record)
        assert (await redriven.wait()).status == "SUCCEEDED"
    store = open_store(store_url)
    await store.open()
    try:
        events = await store.history(first.execution_arn)
        [event] = [e for e in events if e.type == "ExecutionRedriven"]
        [listed] = (await store.list_executions()).items
        assert listed.redrive_count == 1
        assert listed.redrive_date is not None and listed.redrive_date.timestamp() == event.timestamp
        found = await store.get_execution(first.execution_arn)
        assert found is not None and found.redrive_date == listed.redrive_date
    finally:
        await store.close()
