"""Fixtures of the EKS executor tests that reach a Kubernetes API server with a fixed token.

* ``tokens`` — a fresh ``StaticTokens`` (``tests/support/eks.py``); a test module
  that needs another token overrides this fixture.
* ``services`` — ``EksServices`` around ``tokens``, closed after the test.
* ``kube`` — a Kubernetes simulator that maps the default token to an admin;
  a module that counts or refuses requests overrides it with its subclass.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from executors.eks.services import EksServices
from sim.kube import KubeSimulator
from tests.support.eks import DEFAULT_TOKEN, StaticTokens, services_with


@pytest.fixture
def tokens() -> StaticTokens:
    return StaticTokens()


@pytest.fixture
async def services(tokens: StaticTokens) -> AsyncIterator[EksServices]:
    svc = services_with(tokens)
    try:
        yield svc
    finally:
        await svc.aclose()


@pytest.fixture
async def kube() -> AsyncIterator[KubeSimulator]:
    async with KubeSimulator(static_tokens={DEFAULT_TOKEN: "admin"}) as simulator:
        yield simulator
