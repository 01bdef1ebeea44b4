"""A pytest plugin: the ``simulators`` fixture, a started :class:`sim.stack.Simulators` per test.

Enable it with ``pytest_plugins = ["sim.testing"]`` in the root ``conftest.py``
(or import the fixtures into a package's conftest). The fixture is
function-scoped and async: each test gets fresh identities, a fresh CA and a
ready ``demo`` cluster with fast timings, and everything is stopped after the
test. Override the ``simulators_options`` fixture to pass other keyword
arguments to :class:`~sim.stack.Simulators` (``timings``, ``failures``,
``identities``, ``demo_cluster``…).

This module is the one place in ``sim`` that imports pytest; it is only loaded
by test runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from sim.eks import Timings
from sim.stack import Simulators


@pytest.fixture
def simulators_options() -> dict[str, Any]:
    """Keyword arguments for the ``simulators`` fixture's :class:`Simulators` (override to change)."""
    return {}


@pytest_asyncio.fixture
async def simulators(simulators_options: dict[str, Any]) -> AsyncIterator[Simulators]:
    """A started :class:`Simulators` (fast timings, a ready ``demo`` cluster), stopped after the test."""
    options: dict[str, Any] = {"timings": Timings.fast(), **simulators_options}
    async with Simulators(**options) as stack:
        yield stack
