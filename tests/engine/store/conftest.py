"""Fixtures for the store tests: a SQLite store URL in a temporary folder, or a PostgreSQL database.

A module that holds for every durable backend says so with
``pytestmark = pytest.mark.parametrize("store_backend", BACKENDS, indirect=True)``:
its tests then run on SQLite and on a real PostgreSQL (same code above the backend).
"""

from __future__ import annotations

from pathlib import Path

import pytest

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def store_backend(request: pytest.FixtureRequest) -> str:
    """Which durable backend ``store_url`` names (SQLite unless the module parametrizes it)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def store_url(request: pytest.FixtureRequest, store_backend: str, tmp_path: Path) -> str:
    """A fresh store: a SQLite file (absolute path: four slashes), or an empty PostgreSQL database."""
    if store_backend == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path / 'store.db'}"
