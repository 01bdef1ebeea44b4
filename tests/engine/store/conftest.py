"""Fixtures for the store tests: a SQLite store URL in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A fresh SQLite store (absolute path: four slashes)."""
    return f"sqlite:///{tmp_path / 'store.db'}"
