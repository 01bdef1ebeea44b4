"""``KubeSimulator``: one simulated Kubernetes API server (one per EKS cluster).

Wires the pieces together — catalogue, store, registry, kubelet, Job controller,
authentication, RBAC and the HTTP layer — on top of :class:`sim.server.SimServer`,
and seeds what a new cluster has: the ``default``, ``kube-system`` and
``kube-public`` namespaces and the bootstrap RBAC roles.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from sim.faults import Fault, FaultConfig
from sim.kube.api import JSON_HEADERS, MAX_REQUEST_BODY_BYTES, KubeApi
from sim.kube.auth import Authenticator, IdentityResolver
from sim.kube.errors import status_object
from sim.kube.jobs import DEFAULT_BACKOFF_SECONDS, JobController
from sim.kube.kubelet import DEFAULT_STARTUP_SECONDS, Kubelet, node_object
from sim.kube.rbac import Authorizer, bootstrap_rbac
from sim.kube.registry import Registry
from sim.kube.resources import Catalog
from sim.kube.store import DEFAULT_HISTORY, Store
from sim.server import HANDSHAKE_TIMEOUT_SECONDS, HEADER_TIMEOUT_SECONDS, LOOPBACK, SimServer
from sim.tls import CertificateAuthority

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class KubeSimulator(SimServer):
    """A Kubernetes API server simulator, as an async context manager.

    Args:
        ca: certificate authority for the serving certificate (a new one when omitted).
        identity_resolver: turns an EKS bearer token into the AWS identity that signed it.
        admin_arns: identities in ``system:masters`` without an aws-auth entry (the cluster creator).
        static_tokens: token → username, in ``system:masters`` (for standalone use).
        runtime: ``model`` (annotations decide how containers behave) or ``process`` (containers'
            commands run as local subprocesses — it executes what clients send; opt-in, loopback only).
        tls: serve HTTPS (default) or plain HTTP.
        faults: fault injection (429/500/503/drops, latency, watch cuts).
        cluster_name: the cluster's name (informational).
        host: address to bind (loopback).
        port: port to bind (0: any free port).
        history_size: events kept for watches resuming from a resourceVersion (older → 410).
        pod_startup_seconds: how long a pod stays Pending before its containers start.
        backoff_seconds: the Job controller's first pod-failure backoff (Kubernetes: 10 s) and the
            kubelet's first container restart back-off.
        bookmark_seconds: interval between BOOKMARK events on watches that allow bookmarks.
        record_events: whether the Job controller records Events (``kubectl describe job``).
        header_timeout_seconds: close connections whose request head takes longer to arrive.
        handshake_timeout_seconds: close connections whose TLS handshake takes longer.

    Example:
        >>> async with KubeSimulator(static_tokens={"t": "admin"}) as kube:  # doctest: +SKIP
        ...     print(kube.url, kube.ca_b64)
    """

    # One byte over the limit, so a body of exactly the limit is read and a larger one refused.
    max_body_bytes = MAX_REQUEST_BODY_BYTES + 1

    def __init__(
        self,
        *,
        ca: CertificateAuthority | None = None,
        identity_resolver: IdentityResolver | None = None,
        admin_arns: Iterable[str] = (),
        static_tokens: Mapping[str, str] | None = None,
        runtime: Literal["model", "process"] = "model",
        tls: bool = True,
        faults: FaultConfig | None = None,
        cluster_name: str = "sim",
        host: str = LOOPBACK,
        port: int = 0,
        history_size: int = DEFAULT_HISTORY,
        pod_startup_seconds: float = DEFAULT_STARTUP_SECONDS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        bookmark_seconds: float = 60.0,
        record_events: bool = True,
        header_timeout_seconds: float = HEADER_TIMEOUT_SECONDS,
        handshake_timeout_seconds: float = HANDSHAKE_TIMEOUT_SECONDS,
    ) -> None:
        if runtime not in ("model", "process"):
            raise ValueError(f"runtime must be 'model' or 'process', not {runtime!r}")
        if runtime == "process" and host not in LOOPBACK_HOSTS:
            raise ValueError(
                "the process runtime runs commands that clients send; it is served on loopback only"
            )
        self.ca = ca or CertificateAuthority()
        hostnames = (host, "localhost") if host != "localhost" else ("localhost", "127.0.0.1")
        super().__init__(
            host=host,
            port=port,
            ssl_context=self.ca.server_ssl_context(*hostnames) if tls else None,
            faults=faults,
            header_timeout_seconds=header_timeout_seconds,
            handshake_timeout_seconds=handshake_timeout_seconds,
        )
        self.cluster_name = cluster_name
        self.runtime = runtime
        self.catalog = Catalog()
        self.store = Store(self.catalog, history_size=history_size)
        self.registry = Registry(self.store, self.catalog)
        self.authenticator = Authenticator(self.store, identity_resolver, admin_arns, static_tokens)
        self.authorizer = Authorizer(self.store)
        self._pod_startup_seconds = pod_startup_seconds
        self._backoff_seconds = backoff_seconds
        self._bookmark_seconds = bookmark_seconds
        self._record_events = record_events
        self.kubelet: Kubelet | None = None
        self.jobs: JobController | None = None
        self.api: KubeApi | None = None
        self._seed()

    @property
    def ca_b64(self) -> str:
        """Base64 of the CA certificate (EKS ``certificateAuthority.data``)."""
        return self.ca.ca_b64

    def _seed(self) -> None:
        namespaces = self.catalog.lookup("", "v1", "namespaces")
        assert namespaces is not None
        for name in INITIAL_NAMESPACES:
            self.registry.create(namespaces, "", {"metadata": {"name": name}})
        for obj in bootstrap_rbac():
            self.store.put(obj)
        self.store.put(node_object())

    def add_admin(self, arn: str) -> None:
        """Put identity ``arn`` in ``system:masters`` (the EKS cluster creator)."""
        self.authenticator.add_admin(arn)

    def add_static_token(self, token: str | None = None, username: str = "admin") -> str:
        """Accept a bearer token for ``username`` in ``system:masters``; returns the token."""
        token = token or secrets.token_urlsafe(24)
        self.authenticator.add_static_token(token, username)
        return token

    def fault_response(self, fault: Fault, request: web.Request) -> web.StreamResponse:
        """Injected faults answer with the Status objects kube-apiserver sends."""
        headers = dict(JSON_HEADERS)
        if fault is Fault.THROTTLE:
            seconds = self.faults.retry_after_seconds if self.faults else 1
            headers["Retry-After"] = str(seconds)
            body = status_object(
                429,
                "TooManyRequests",
                "Too many requests, please try again later.",
                {"retryAfterSeconds": seconds},
            )
        elif fault is Fault.UNAVAILABLE:
            body = status_object(
                503, "ServiceUnavailable", "the server is currently unable to handle the request"
            )
        else:
            body = status_object(500, "InternalError", "Internal error occurred: injected fault")
        return web.Response(status=fault.value, body=orjson.dumps(body), headers=headers)

    def _watch_cut(self) -> float | None:
        faults = self.faults
        return faults.watch_cut_seconds if faults is not None else None

    def build_app(self) -> web.Application:
        """An aiohttp application serving the simulator (for embedding it in another app)."""
        handler = self.build_handler()
        app = web.Application(client_max_size=self.max_body_bytes)
        app.router.add_route("*", "/{tail:.*}", handler)
        return app

    def build_handler(self) -> Handler:
        """Start the controllers and return the request handler (served by aiohttp's low-level server)."""
        self.kubelet = Kubelet(
            self.registry,
            self.runtime,
            startup_seconds=self._pod_startup_seconds,
            restart_backoff_seconds=self._backoff_seconds,
        )
        self.jobs = JobController(
            self.registry, backoff_seconds=self._backoff_seconds, record_events=self._record_events
        )
        self.api = KubeApi(
            self.registry,
            self.kubelet,
            self.authenticator,
            self.authorizer,
            self._watch_cut,
            bookmark_seconds=self._bookmark_seconds,
        )
        for entry in list(self.registry.table(self.kubelet.info).objects.values()):
            self.kubelet.admit(entry)
        return self.api.handle

    async def on_close(self) -> None:
        """End watches, stop the controllers and every pod."""
        if self.api is not None:
            self.api.close_watches()
        if self.jobs is not None:
            self.jobs.close()
        if self.kubelet is not None:
            await self.kubelet.close()

    def set_faults(self, faults: FaultConfig | None) -> None:
        """Replace the fault configuration (None turns injection off)."""
        super().set_faults(faults)

    def kubeconfig(self, token: str, *, user: str = "sim-user", context: str | None = None) -> dict[str, Any]:
        """A kubeconfig (as a dict) that reaches this server with ``token``."""
        name = context or self.cluster_name
        cluster: dict[str, Any] = {"server": self.url}
        if self.url.startswith("https"):
            cluster["certificate-authority-data"] = self.ca_b64
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": name, "cluster": cluster}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
            "current-context": name,
        }
