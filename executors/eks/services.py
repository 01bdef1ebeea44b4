"""The long-lived clients every EKS execution of an engine shares.

One ``EksServices`` per engine holds the aioboto3 session (boto3's default
credential chain, ``AWS_REGION``, ``AWS_ENDPOINT_URL_EKS`` / ``_STS``,
``AWS_CA_BUNDLE``), one EKS client entered once and reused, the bearer-token
cache and the Kubernetes connection pools. Creating clients per call would
cost a TLS handshake and a credential lookup per poll; sharing them is what
lets thousands of waiting executions cost a few sockets.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any, Final

import aioboto3
import anyio
from botocore.config import Config

from executors.eks.auth import KubeConnections, TokenProvider
from executors.eks.errors import eks_api_errors

EKS_CLIENT_CONFIG: Final = Config(retries={"mode": "standard", "max_attempts": 4}, max_pool_connections=64)


@dataclass
class EksServices:
    """Shared AWS and Kubernetes plumbing for the EKS executors.

    Attributes:
        session: the aioboto3 session (default credential chain).
        region: the Region for EKS and STS, or None to let boto3 decide
            (``AWS_REGION`` / ``AWS_DEFAULT_REGION`` / the config file).
        tokens: the EKS bearer-token cache.
        connections: pooled Kubernetes API sessions.
    """

    session: aioboto3.Session
    region: str | None
    tokens: TokenProvider
    connections: KubeConnections
    _stack: contextlib.AsyncExitStack = field(
        default_factory=contextlib.AsyncExitStack, init=False, repr=False
    )
    _eks: Any = field(default=None, init=False, repr=False)
    _lock: anyio.Lock | None = field(default=None, init=False, repr=False)

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
        return self._eks

    async def aclose(self) -> None:
        """Close the EKS and STS clients and every Kubernetes session."""
        self._eks = None
        try:
            await self._stack.aclose()
        finally:
            try:
                await self.tokens.aclose()
            finally:
                await self.connections.aclose()
