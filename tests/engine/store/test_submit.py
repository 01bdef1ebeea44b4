"""``Engine.submit`` on a durable store: the execution it commits is this engine's, written to its end.

On both backends (a real SQLite file, a real PostgreSQL database): on a
shared store an execution submitted here must be owned here from the start,
or its writes are refused as another worker's until some claim takes it.
"""

from __future__ import annotations

import pytest

from engine import Engine
from engine.store import open_store

pytestmark = pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)


async def test_an_execution_submitted_on_a_store_is_stored_with_its_end(store_url: str) -> None:
    failing = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "why"}}}
    async with Engine(load_plugins=False, store=store_url) as engine:
        ex = await engine.submit(failing, {"n": 1}, name="ends-at-once")
        assert (await ex.wait()).status == "FAILED"
    store = open_store(store_url)
    await store.open()
    try:
        stored = await store.get_execution(ex.execution_arn)
        events = await store.history(ex.execution_arn)
    finally:
        await store.close()
    assert stored is not None
    assert (stored.status, stored.error, stored.cause) == ("FAILED", "Broken", "why")
    assert [e.type for e in events][-1] == "ExecutionFailed"
