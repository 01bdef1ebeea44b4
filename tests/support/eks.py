"""EKS executor plumbing for tests that talk to a Kubernetes API server with a fixed token.

* ``StaticTokens`` — the bearer-token source the tests hand to ``EksServices``.
  It implements ``executors.eks.auth.BearerTokens`` with one fixed token that a
  test may change (``tokens.value = "unmapped"``), and records every cluster it
  was asked for and every cluster it was told to forget, so a test can state
  what the executors asked of it. ``cached`` always says no: every request then
  goes through ``token``, and the tests see each ask.
* ``services_with(tokens)`` — ``EksServices`` around such a source, with no
  AWS behind it (the tests give every Kubernetes endpoint and CA themselves).
* ``CountingKube`` — the Kubernetes simulator recording every request that
  reaches it (so "one watch" means one watch request arrived), answering
  first what a test adds to ``answers`` and refusing Job lists or watches
  when told; ``status_response`` builds the ``Status`` failures it answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aioboto3
import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from executors.eks.auth import BearerTokens, KubeConnections
from executors.eks.services import EksServices
from sim.kube import KubeSimulator

DEFAULT_TOKEN = "tok"
"""The token the Kubernetes simulator of these tests maps to an admin (``static_tokens={...}``)."""
JOBS_PATH = "/apis/batch/v1/namespaces/default/jobs"


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


def status_response(code: int, reason: str, message: str) -> web.Response:
    """A Kubernetes ``Status`` failure answer, as the API server sends it."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}  # fmt: skip
    return web.Response(status=code, body=orjson.dumps(body), headers={"Content-Type": "application/json"})


class CountingKube(KubeSimulator):
    """The Kubernetes simulator, recording every request and refusing what a test forbids."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.forbid_watch = False
        self.forbid_list = False
        self.answers: list[Callable[[web.Request], web.Response | None]] = []

    def build_handler(self) -> Handler:
        inner = super().build_handler()

        async def handle(request: web.Request) -> web.StreamResponse:
            query = dict(request.query)
            self.requests.append((request.method, request.path, query))
            for answer in self.answers:
                response = answer(request)
                if response is not None:
                    return response
            if request.path.endswith("/jobs") and request.method == "GET":
                if query.get("watch") and self.forbid_watch:
                    return status_response(
                        403, "Forbidden", 'jobs.batch is forbidden: cannot watch resource "jobs"'
                    )
                if not query.get("watch") and self.forbid_list:
                    return status_response(
                        403, "Forbidden", 'jobs.batch is forbidden: cannot list resource "jobs"'
                    )
            return await inner(request)

        return handle

    def watches(self) -> list[dict[str, str]]:
        return [q for m, p, q in self.requests if p == JOBS_PATH and q.get("watch")]

    def lists(self) -> list[dict[str, str]]:
        return [q for m, p, q in self.requests if m == "GET" and p == JOBS_PATH and not q.get("watch")]

    def gets(self) -> list[str]:
        return [p for m, p, q in self.requests if m == "GET" and p.startswith(JOBS_PATH + "/")]

    def cut_watches(self) -> None:
        assert self.api is not None
        for watcher in list(self.api.watchers):
            watcher.close()
