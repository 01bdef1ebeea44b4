"""Map Run documents in the store: replaced by each put, listed per execution in start order, kept on reopening.

Runs on a real SQLite file and a real PostgreSQL database (schema version 5),
and on the in-memory store, which answers the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from engine.store import InMemoryStore, Store, open_store

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders:e1"
OTHER = "arn:aws:states:us-east-1:123456789012:execution:orders:e2"
RUN = "arn:aws:states:us-east-1:123456789012:mapRun:orders/Map:{}"


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Store]:
    store = open_store(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _write(store: Store) -> None:
    await store.put_map_run(RUN.format(2), EXECUTION, '{"n": "second", "v": 1}')
    await store.put_map_run(RUN.format(1), EXECUTION, '{"n": "first"}')
    await store.put_map_run(RUN.format(3), OTHER, '{"n": "other"}')
    await store.put_map_run(RUN.format(2), EXECUTION, '{"n": "second", "v": 2}')  # replaced, keeps its place


async def _check(store: Store) -> None:
    assert await store.list_map_runs(EXECUTION) == ['{"n": "second", "v": 2}', '{"n": "first"}']
    assert await store.list_map_runs(OTHER) == ['{"n": "other"}']
    assert await store.list_map_runs("arn:aws:states:us-east-1:123456789012:execution:orders:none") == []
    assert await store.get_map_run(RUN.format(1)) == '{"n": "first"}'
    assert await store.get_map_run(RUN.format(9)) is None


@pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)
async def test_map_runs_are_kept_across_reopening(store_url: str) -> None:
    async with opened(store_url) as store:
        await _write(store)
    async with opened(store_url) as store:
        await _check(store)


async def test_the_in_memory_store_answers_the_same() -> None:
    store = InMemoryStore()
    await _write(store)
    await _check(store)
