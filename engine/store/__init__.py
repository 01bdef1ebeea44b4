"""Where executions live: the ``Store`` interface, the in-memory default, SQLite.

``open_store(url)`` picks a backend by the URL's scheme; each backend is one
module holding all of its SQL. What ``__all__`` lists is the supported API.
"""

from __future__ import annotations

from engine.store.base import (
    DurableStore,
    Page,
    Resumable,
    StopRequest,
    Store,
    StoredActivity,
    StoredExecution,
    StoredStateMachine,
    StoreError,
)
from engine.store.memory import InMemoryStore


def open_store(url: str, *, create: bool = True) -> Store:
    """A store for a URL: ``sqlite:///PATH`` (``sqlite:////abs/path``), ``postgresql://USER@HOST:PORT/DB``
    or ``memory://``.

    The store is opened by the engine (or ``await store.open()``); with
    ``create=False`` opening a store that does not exist yet fails.

    Raises:
        StoreError: the URL names no known backend or is malformed.
    """
    if url.startswith("sqlite:"):
        from engine.store.sqlite import SQLiteStore

        return SQLiteStore.from_url(url, create=create)
    if url.startswith(("postgresql:", "postgres:")):
        from engine.store.postgres import PostgresStore

        return PostgresStore.from_url(url, create=create)
    if url in ("memory://", "memory:"):
        return InMemoryStore()
    scheme = url.partition(":")[0] if ":" in url else url
    raise StoreError(
        f"{url!r}: unknown store (expected sqlite:///PATH, postgresql://USER@HOST:PORT/DB or memory://; not {scheme!r})"
    )


__all__ = [
    "DurableStore",
    "InMemoryStore",
    "Page",
    "Resumable",
    "StopRequest",
    "Store",
    "StoreError",
    "StoredActivity",
    "StoredExecution",
    "StoredStateMachine",
    "open_store",
]
