"""The long-lived clients every EKS execution of an engine shares.

One ``EksServices`` per engine holds the aioboto3 session (boto3's default
credential chain, ``AWS_REGION``, ``AWS_ENDPOINT_URL_EKS`` / ``_STS``,
``AWS_CA_BUNDLE``), one EKS client entered once and reused, the bearer-token
cache and the Kubernetes connection pools. Creating clients per call would
cost a TLS handshake and a credential lookup per poll; sharing them is what
lets thousands of waiting executions cost a few sockets.

It also owns what makes waiting cheap: the per-cluster rate limits
(``ratelimit.RateLimits``), the shared ``KubeClient`` per cluster, the shared
Job watches (``watch.JobWatches``), the batched Job listers
(``batching.JobBatches``) and the coalesced Describe calls
(``describe.DescribeCoalescer``), each created on first use. Their long-lived
tasks run in ``engine.aio.background.BackgroundTasks``, a task group owned by
this object and closed by ``aclose``.

The services serve one engine: ``bind`` gives them its clock (every wait and
rate limit reads time through it) and seeds their random source (retry and
backoff jitter) from the first call, the one source of randomness the executor
protocol offers (the execution ARN, itself from the engine's seeded ids, and the
Task's place in it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aioboto3
import anyio
from botocore.config import Config

from engine.aio.background import BackgroundTasks
from engine.errors import TaskFailed
from engine.executor import ExecutorContext
from engine.jsonvalue import JSON
from engine.runtime.clock import Clock, SystemClock
from executors.eks import redact
from executors.eks.auth import BearerTokens, KubeConnections, TokenProvider, normalize_endpoint
from executors.eks.batching import JobBatches
from executors.eks.describe import DescribeCoalescer
from executors.eks.errors import eks_api_errors
from executors.eks.kube import KubeClient
from executors.eks.options import EksOptions, ResolvedOptions
from executors.eks.ratelimit import DEFAULT_RETRY, RateLimits, RetryRule
from executors.eks.watch import JobWatches

UNBOUND_SEED: Final = 0
"""The random source's seed until ``bind`` seeds it from the engine (services used without an executor)."""
MAX_CACHED_CLIENTS: Final = 256
"""``KubeClient`` objects kept per engine for reuse (one per cluster in practice)."""

DescribeAnswer = tuple[dict[str, JSON], str | None]
"""What a control-plane Describe gives its waiters: the converted output and the resource's status."""
ClusterKey = tuple[str, str, str]
"""(cluster name, endpoint, base64 CA): what names one cluster's ``KubeClient``."""


def _background() -> BackgroundTasks:
    return BackgroundTasks(name="statewright-eks-services", owner="the EKS services")

EKS_RETRY_MODE: Final = "standard"
"""botocore's retry mode for the EKS client unless ``AWS_RETRY_MODE`` or the profile's ``retry_mode`` names one."""
EKS_TOTAL_MAX_ATTEMPTS: Final = 5
"""Tries per EKS call, the first included, unless ``AWS_MAX_ATTEMPTS`` or the profile's ``max_attempts`` says."""


def eks_client_config(session: aioboto3.Session) -> Config:
    """The EKS client's ``Config``: the defaults above for what boto3's standard configuration leaves unset.

    A ``retries`` key in a client ``Config`` overrides the environment and the
    config file, so only the keys the user has not configured are given; botocore
    fills the others from ``AWS_RETRY_MODE`` / ``AWS_MAX_ATTEMPTS`` / the profile.
    """
    core = session._session  # boto3 exposes no public accessor for its botocore session
    retries: dict[str, Any] = {}
    # retry_mode has a default ("legacy") in botocore's lookup, so whether it was set is read at the sources.
    if not os.environ.get("AWS_RETRY_MODE") and not core.get_scoped_config().get("retry_mode"):
        retries["mode"] = EKS_RETRY_MODE
    if core.get_config_variable("max_attempts") is None:
        retries["total_max_attempts"] = EKS_TOTAL_MAX_ATTEMPTS
    return Config(retries=retries, max_pool_connections=64)


@dataclass
class EksServices:
    """Shared AWS and Kubernetes plumbing for the EKS executors.

    Attributes:
        session: the aioboto3 session (default credential chain).
        region: the Region for EKS and STS, or None to let boto3 decide
            (``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / the config file).
        tokens: the EKS bearer-token cache.
        connections: pooled Kubernetes API sessions.
        rate_limits: per-cluster token buckets for Kubernetes requests.
        background: the task group of shared watches and pollers.
        clock: the engine's clock, once ``bind`` has run (the system clock before).
        rng: the random source of retry and backoff jitter, seeded by ``bind``
            (``UNBOUND_SEED`` before).
    """

    session: aioboto3.Session
    region: str | None
    tokens: BearerTokens
    connections: KubeConnections
    rate_limits: RateLimits = field(default_factory=RateLimits)
    background: BackgroundTasks = field(default_factory=_background)
    clock: Clock = field(default_factory=SystemClock, repr=False)
    rng: random.Random = field(default_factory=lambda: random.Random(UNBOUND_SEED), repr=False)
    resolved: ResolvedOptions = field(default_factory=ResolvedOptions, repr=False)
    """The ``EksOptions`` of each merged options mapping calls came with (``options_of``)."""
    _bound: bool = field(default=False, init=False, repr=False)
    _rates_fixed: bool = field(default=False, init=False, repr=False)
    _watches: JobWatches | None = field(default=None, init=False, repr=False)
    _batches: JobBatches | None = field(default=None, init=False, repr=False)
    _describes: DescribeCoalescer[DescribeAnswer] | None = field(default=None, init=False, repr=False)
    _stack: contextlib.AsyncExitStack = field(
        default_factory=contextlib.AsyncExitStack, init=False, repr=False
    )
    _eks: Any = field(default=None, init=False, repr=False)
    _lock: anyio.Lock | None = field(default=None, init=False, repr=False)
    kube_clients: dict[ClusterKey, KubeClient] = field(default_factory=dict, init=False, repr=False)
    """The shared ``KubeClient`` of each cluster (``kube_client``)."""

    def __post_init__(self) -> None:
        # Secrets never reach a log record of the clients these services drive (see redact).
        redact.install()

    @classmethod
    def default(cls) -> EksServices:
        """Services built from boto3's standard configuration; no I/O happens yet."""
        session = aioboto3.Session()
        # AWS_REGION is the SDKs' common variable; botocore itself only reads
        # AWS_DEFAULT_REGION and the config file, which remain the fallback.
        region = os.environ.get("AWS_REGION") or session.region_name
        return cls(
            session=session,
            region=region,
            tokens=TokenProvider(session, region),
            connections=KubeConnections(),
        )

    async def eks_client(self) -> Any:
        """The shared aioboto3 EKS client, created on first use.

        Raises:
            StatesError: the client cannot be built (no Region, bad endpoint configuration).
        """
        if self._eks is not None:
            return self._eks
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self._eks is None:
                with eks_api_errors():
                    self._eks = await self._stack.enter_async_context(
                        self.session.client(
                            "eks", region_name=self.region, config=eks_client_config(self.session)
                        )
                    )
                redact.install()  # loggers botocore created for the client
        return self._eks

    def bind(self, ctx: ExecutorContext) -> None:
        """Take the engine's clock and seed the random source from the first call (later calls: nothing)."""
        if self._bound:
            return
        self._bound = True
        self.clock = self.rate_limits.clock = ctx.clock
        seed = f"eks-services|{ctx.execution_arn}|{ctx.entered_event_id}|{ctx.attempt}"
        self.rng.seed(hashlib.sha256(seed.encode()).digest())

    def kube_client(self, parameters: Mapping[str, JSON]) -> KubeClient:
        """The ``KubeClient`` for the cluster checked parameters name.

        Clients hold no per-call state, so executions on one cluster share one
        (kept in ``kube_clients``) rather than each keeping its own while it waits.
        """
        key = (str(parameters["ClusterName"]), str(parameters["Endpoint"]), str(parameters["CertificateAuthority"]))
        cache = self.kube_clients
        client = cache.get(key)
        if client is not None and not client.closed:
            return client
        client = self.new_kube_client(*key)
        if len(cache) >= MAX_CACHED_CLIENTS:
            cache.pop(next(iter(cache)))
        cache[key] = client
        return client

    def new_kube_client(
        self, cluster_name: str, endpoint: str, ca_b64: str, *, retry: RetryRule = DEFAULT_RETRY
    ) -> KubeClient:
        """A new ``KubeClient`` sending through these services (``kube_client`` shares one per cluster).

        Raises:
            StatesError: ``States.TaskFailed`` for an endpoint that is not an https origin or a bad CA.
        """
        bucket = self.rate_limits.bucket(normalize_endpoint(endpoint))
        return KubeClient(
            self.tokens, self.connections, bucket, cluster_name, endpoint, ca_b64,
            clock=self.clock, rng=self.rng, retry=retry,
        )  # fmt: skip

    def options_of(self, options: Mapping[str, object]) -> EksOptions:
        """The checked ``EksOptions`` of a call's (merged) options, resolved once per mapping.

        Raises:
            TaskFailed: an invalid option, named (an engine has refused it at construction
                already; this is for calls made without one).
        """
        try:
            return self.resolved.get(options)
        except ValueError as exc:
            raise TaskFailed(None, str(exc)) from exc

    def fix_rate_limits(self, limits: tuple[float, int] | None) -> None:
        """Set the per-cluster rate limit, once: later settings are ignored (it is engine-wide).

        ``None`` (no rate option) leaves the defaults and fixes nothing.
        """
        if limits is None or self._rates_fixed:
            return
        self._rates_fixed = True
        self.rate_limits.configure(*limits)

    def job_watches(self) -> JobWatches:
        """The shared Job watches, one per (cluster, namespace); created on first use."""
        if self._watches is None:
            self._watches = JobWatches(self.background, self.rng)
        return self._watches

    def job_batches(self) -> JobBatches:
        """The batched Job listers, one per (cluster, namespace, interval); created on first use."""
        if self._batches is None:
            self._batches = JobBatches(self.background, self.rng)
        return self._batches

    def describes(self) -> DescribeCoalescer[DescribeAnswer]:
        """The coalescer of control-plane Describe calls; created on first use."""
        if self._describes is None:
            self._describes = DescribeCoalescer[DescribeAnswer]()
        return self._describes

    async def aclose(self) -> None:
        """Stop the shared watches and pollers, close the EKS and STS clients and every Kubernetes session."""
        self._eks = None
        try:
            await self.background.aclose()
            await self._stack.aclose()
        finally:
            try:
                await self.tokens.aclose()
            finally:
                await self.connections.aclose()
