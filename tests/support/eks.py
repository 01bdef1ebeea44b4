"""EKS executor plumbing for tests that talk to a Kubernetes API server with a fixed token.

* ``StaticTokens`` — the bearer-token source the tests hand to ``EksServices``.
  It implements ``executors.eks.auth.BearerTokens`` with one fixed token that a
  test may change (``tokens.value = "unmapped"``), and records every cluster it
  was asked for and every cluster it was told to forget, so a test can state
  what the executors asked of it. ``cached`` always says no: every request then
  goes through ``token``, and the tests see each ask.
* ``services_with(tokens)`` — ``EksServices`` around such a source, with no
  AWS behind it (the tests give every Kubernetes endpoint and CA themselves).
"""

from __future__ import annotations

import aioboto3

from executors.eks.auth import BearerTokens, KubeConnections
from executors.eks.services import EksServices

DEFAULT_TOKEN = "tok"
"""The token the Kubernetes simulator of these tests maps to an admin (``static_tokens={...}``)."""


class StaticTokens(BearerTokens):
    """One fixed bearer token for every cluster, with a record of what was asked and forgotten."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.value = token
        self.asked: list[str] = []
        self.forgotten: list[str] = []
        self.closed = False

    async def token(self, cluster_name: str) -> str:
        self.asked.append(cluster_name)
        return self.value

    def cached(self, cluster_name: str) -> str | None:
        return None

    def forget(self, cluster_name: str) -> None:
        self.forgotten.append(cluster_name)

    async def aclose(self) -> None:
        self.closed = True


def services_with(tokens: BearerTokens) -> EksServices:
    """``EksServices`` whose Kubernetes requests carry ``tokens``' token; close it with ``aclose``."""
    return EksServices(
        session=aioboto3.Session(), region="us-east-1", tokens=tokens, connections=KubeConnections()
    )
