"""Fixtures of the EKS executor tests that reach a Kubernetes API server with a fixed token.

* ``tokens`` — a fresh ``StaticTokens`` (``tests/support/eks.py``); a test module
  that needs another token overrides this fixture.
* ``services`` — ``EksServices`` around ``tokens``, closed after the test.
* ``kube`` — a ``CountingKube`` (the Kubernetes simulator, recording every
  request) that maps the default token to an admin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from executors.eks.services import EksServices
from tests.support.eks import DEFAULT_TOKEN, CountingKube, StaticTokens, services_with


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
async def kube() -> AsyncIterator[CountingKube]:
    async with CountingKube(static_tokens={DEFAULT_TOKEN: "admin"}) as simulator:
        yield simulator
