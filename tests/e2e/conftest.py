"""Fixtures of the end-to-end tests: the simulators and the environment that points boto3 at them.

``simulators`` / ``simulators_options`` come from :mod:`sim.testing` (fresh
simulators with fast timings and a ready ``demo`` cluster per test);
``sim_env`` sets ``Simulators.env()`` with ``monkeypatch.setenv`` after
forgetting the machine's AWS configuration, so an Engine built afterwards
reaches the simulators through boto3's standard configuration only. The
helpers the tests share live in :mod:`tests.e2e.support`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from sim.stack import Simulators
from sim.testing import simulators, simulators_options
from tests.e2e.support import isolate_aws

__all__ = ["sim_env", "simulators", "simulators_options"]


@pytest.fixture
def sim_env(simulators: Simulators, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Mapping[str, str]:
    """The environment ``Simulators.env()`` gives, set before any Engine is built."""
    isolate_aws(monkeypatch, tmp_path)
    env = simulators.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
