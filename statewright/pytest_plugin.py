"""statewright's pytest plugin (entry point ``pytest11``): test state machines in a few lines.

Fixtures:

* ``statewright_engine`` — an entered ``Engine`` on virtual time: Wait
  states, Retry back-off and timeouts take no real time (looptime's
  fast-forwarding loop, the engine's ``LoopClock`` starting at the real now),
  with the installed executors and the mock configuration of
  ``statewright_mock_config``. Set the ini option ``statewright_virtual_time =
  false`` (or override ``statewright_virtual_time``) to run in real time,
  for example against the simulators over real sockets.
* ``statewright_mock_config`` — the mock configuration the engine uses: the
  ini option ``statewright_mock_config`` (a path relative to the rootdir),
  or None; override the fixture in a ``conftest.py`` to return a path or a dict.
* ``statewright_simulators`` — the EKS, STS and Kubernetes simulators,
  started for the test, with boto3's environment pointed at them (so the EKS
  executors of an engine built in the test reach them).

Assertions on histories come from ``statewright.testing``
(``assert_states_visited``, ``assert_error_caught``, ``states_visited``).

Async fixtures use pytest-asyncio (``asyncio_mode = "auto"`` or
``@pytest.mark.asyncio``); nothing here runs unless a test asks for a fixture.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, LoopClock
from statewright.testing import assert_error_caught, assert_states_visited, states_visited

try:
    import pytest_asyncio

    HAVE_PYTEST_ASYNCIO = True
except ImportError:  # pragma: no cover - the fixtures below say what is missing
    HAVE_PYTEST_ASYNCIO = False


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "statewright_mock_config",
        "path (relative to the rootdir) of the Step Functions Local mock configuration statewright_engine uses",
        default="",
    )
    parser.addini(
        "statewright_virtual_time",
        "run statewright_engine on virtual time (default true)",
        type="bool",
        default=True,
    )


@pytest.fixture
def statewright_mock_config(request: pytest.FixtureRequest) -> Path | None:
    """The mock configuration of ``statewright_engine`` (the ini option, or None); override to change."""
    value = str(request.config.getini("statewright_mock_config") or "")
    return Path(request.config.rootpath, value) if value else None


@pytest.fixture
def statewright_virtual_time(request: pytest.FixtureRequest) -> bool:
    """Whether ``statewright_engine`` runs on virtual time (the ini option; override to change)."""
    return bool(request.config.getini("statewright_virtual_time"))


@contextlib.contextmanager
def virtual_time(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Fast-forward ``loop`` while inside: idle waits jump to the next timer (looptime)."""
    import looptime

    if isinstance(loop, looptime.LoopTimeEventLoop) and loop.looptime_on:
        yield  # already on virtual time (@pytest.mark.looptime)
        return
    patched = looptime.patch_event_loop(loop, start=loop.time(), _enabled=False)  # type: ignore[arg-type]
    with patched.looptime_enabled():
        yield


def _require_asyncio(name: str) -> None:
    if not HAVE_PYTEST_ASYNCIO:  # pragma: no cover - depends on the environment
        pytest.fail(f"the {name} fixture needs pytest-asyncio (pip install pytest-asyncio)", pytrace=False)


if HAVE_PYTEST_ASYNCIO:

    @pytest_asyncio.fixture
    async def statewright_engine(
        statewright_mock_config: Any, statewright_virtual_time: bool
    ) -> AsyncIterator[Engine]:
        """An entered Engine (virtual time unless turned off) with the mock configuration, closed after the test."""
        if statewright_virtual_time:
            with virtual_time(asyncio.get_running_loop()):
                async with Engine(
                    clock=LoopClock(datetime.now(UTC)), mock_config=statewright_mock_config
                ) as engine:
                    yield engine
        else:
            async with Engine(mock_config=statewright_mock_config) as engine:
                yield engine

    @pytest_asyncio.fixture
    async def statewright_simulators(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
        """Started EKS/STS/Kubernetes simulators (fast timings, a ready ``demo`` cluster), boto3 pointed at them."""
        from sim.eks import Timings
        from sim.stack import Simulators

        async with Simulators(timings=Timings.fast()) as stack:
            for name, value in stack.env().items():
                monkeypatch.setenv(name, value)
            yield stack

else:  # pragma: no cover - depends on the environment

    @pytest.fixture
    def statewright_engine() -> None:
        _require_asyncio("statewright_engine")

    @pytest.fixture
    def statewright_simulators() -> None:
        _require_asyncio("statewright_simulators")


__all__ = [
    "assert_error_caught",
    "assert_states_visited",
    "states_visited",
    "virtual_time",
]
