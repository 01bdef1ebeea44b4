"""The long-lived clients every EKS execution of an engine shares.

One ``EksServices`` per engine holds the aioboto3 session (boto3's default
credential chain, ``AWS_REGION``, ``AWS_ENDPOINT_URL_EKS`` / ``_STS``,
``AWS_CA_BUNDLE``), one EKS client entered once and reused, the bearer-token
cache and the Kubernetes connection pools. Creating clients per call would
cost a TLS handshake and a credential lookup per poll; sharing them is what
lets thousands of waiting executions cost a few sockets.

It also owns what makes waiting cheap: the per-cluster rate limits
(``ratelimit.RateLimits``), the shared Job watches (``watch.JobWatches``),
the batched Job listers (``batching.JobBatches``) and the coalesced Describe
calls (``batching.DescribeCoalescer``), each created on first use. Their
long-lived tasks run in ``BackgroundTasks``, a task group owned by this
object and closed by ``aclose``.

``BackgroundTasks`` hosts its task group in one task of its own: anyio
requires a task group to be left by the task that entered it, and these
services outlive every execution that happens to use them first. That host
task is the one task here not started from a task group; ``aclose`` ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import aioboto3
import anyio
import anyio.abc
from botocore.config import Config

from executors.eks import redact
from executors.eks.auth import BearerTokens, KubeConnections, TokenProvider
from executors.eks.cleanup import CleanupLedger
from executors.eks.errors import eks_api_errors
from executors.eks.ratelimit import RateLimits

if TYPE_CHECKING:
    from executors.eks.batching import DescribeCoalescer, JobBatches
    from executors.eks.watch import JobWatches

log = logging.getLogger(__name__)

EKS_CLIENT_CONFIG: Final = Config(retries={"mode": "standard", "max_attempts": 4}, max_pool_connections=64)


class BackgroundTasks:
    """A task group for the services' long-lived tasks, started on first use.

    Every task started here is guarded: an exception is logged, never
    propagated to its siblings (a crashed watch must not cancel the others).
    """

    def __init__(self) -> None:
        self._group: anyio.abc.TaskGroup | None = None
        self._host: asyncio.Task[None] | None = None
        self._ready: anyio.Event | None = None
        self._stop: anyio.Event | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"BackgroundTasks(running={self._group is not None})"

    async def start_soon(self, func: Callable[[], Awaitable[None]], name: str) -> None:
        """Run ``func()`` in the group (started first if needed).

        Raises:
            RuntimeError: the services are closed.
        """
        if self._closed:
            raise RuntimeError("the EKS services are closed")
        if self._group is None:
            if self._ready is None:
                self._ready, self._stop = anyio.Event(), anyio.Event()
                self._host = asyncio.get_running_loop().create_task(self._run(), name="statewright-eks-services")
            await self._ready.wait()
        if self._group is None:
            raise RuntimeError("the EKS services are closed")
        self._group.start_soon(_guarded, func, name, name=name)

    async def _run(self) -> None:
        assert self._ready is not None and self._stop is not None
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                self._ready.set()
                await self._stop.wait()
                group.cancel_scope.cancel()
        finally:
            self._group = None
            self._ready.set()

    async def aclose(self) -> None:
        """Cancel every task and wait for them to end."""
        self._closed = True
        host, self._host = self._host, None
        if host is None:
            return
        assert self._stop is not None
        self._stop.set()
        await host


async def _guarded(func: Callable[[], Awaitable[None]], name: str) -> None:
    try:
        await func()
    except anyio.get_cancelled_exc_class():
        raise
    except Exception:
        log.exception("background task %s crashed", name)


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
        cleanup: what executions created under the ``execution`` cleanup policy.
    """

    session: aioboto3.Session
    region: str | None
    tokens: BearerTokens
    connections: KubeConnections
    rate_limits: RateLimits = field(default_factory=RateLimits)
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    cleanup: CleanupLedger = field(default_factory=CleanupLedger)
    _watches: JobWatches | None = field(default=None, init=False, repr=False)
    _batches: JobBatches | None = field(default=None, init=False, repr=False)
    _describes: DescribeCoalescer | None = field(default=None, init=False, repr=False)
    _stack: contextlib.AsyncExitStack = field(
        default_factory=contextlib.AsyncExitStack, init=False, repr=False
    )
    _eks: Any = field(default=None, init=False, repr=False)
    _lock: anyio.Lock | None = field(default=None, init=False, repr=False)
    kube_clients: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)
    """``executors.eks.kube.client_for``'s shared clients, by cluster (typed there: this module is below it)."""

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
                        self.session.client("eks", region_name=self.region, config=EKS_CLIENT_CONFIG)
                    )
                redact.install()  # loggers botocore created for the client
        return self._eks

    def apply_options(self, options: Mapping[str, object]) -> None:
        """Apply the executor options these services read (``eks_kube_qps``, ``eks_kube_burst``).

        Raises:
            ValueError: an invalid value, with the option's name.
        """
        self.rate_limits.apply_options(options)

    def job_watches(self) -> JobWatches:
        """The shared Job watches, one per (cluster, namespace); created on first use."""
        if self._watches is None:
            from executors.eks.watch import JobWatches

            self._watches = JobWatches(self.background)
        return self._watches

    def job_batches(self) -> JobBatches:
        """The batched Job listers, one per (cluster, namespace, interval); created on first use."""
        if self._batches is None:
            from executors.eks.batching import JobBatches

            self._batches = JobBatches(self.background)
        return self._batches

    def describes(self) -> DescribeCoalescer:
        """The coalescer of control-plane Describe calls; created on first use."""
        if self._describes is None:
            from executors.eks.batching import DescribeCoalescer

            self._describes = DescribeCoalescer()
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
