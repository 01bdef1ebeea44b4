"""How the EKS executors prove who they are and whom they trust.

Three things live here, each shared by every execution of an engine:

* ``BearerTokens`` — what the executors ask of a token source (the protocol
  tests fake), and ``TokenProvider``, its implementation: the EKS bearer token Kubernetes expects (spec §10.1):
  ``k8s-aws-v1.`` + unpadded base64url of a presigned STS GetCallerIdentity
  URL whose signed headers include ``x-k8s-aws-id: <cluster>``. The URL is
  presigned by botocore through a long-lived STS client (the aws-cli
  event-handler approach), so the endpoint, Region and credentials follow
  boto3's standard configuration, including ``AWS_ENDPOINT_URL_STS``. Tokens
  are cached per (cluster, access key) and renewed well before STS stops
  accepting them 15 minutes after signing.
* ``ssl_context_for_ca`` — a verifying TLS context for a cluster's base64 CA
  bundle, cached so every call to one cluster reuses one context.
* ``KubeConnections`` — one pooled aiohttp session per (endpoint, CA), reused
  by every execution, so 10,000 Jobs on one cluster share a handful of sockets.

Tokens never reach logs or reprs: nothing here logs them, every holder hides
them in ``repr``, and botocore's debug records of signatures and signed
queries are filtered out.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import aioboto3
import aiohttp
import anyio
import orjson

from engine.aio.slots import RequestSlots
from engine.errors import TaskFailed
from executors.eks.errors import eks_api_errors
from executors.eks.http1 import LeanPool, RequestObserver

TOKEN_PREFIX: Final = "k8s-aws-v1."
K8S_AWS_ID_HEADER: Final = "x-k8s-aws-id"
PRESIGN_EXPIRES_SECONDS: Final = 60
"""``X-Amz-Expires`` as aws-cli and the authenticator send it; STS ignores it (15 min rule)."""
TOKEN_REUSE_SECONDS: Final = 14 * 60 - 60
"""Renew a cached token after 13 minutes: the aws CLI advertises 14, STS stops at 15."""
_CONTEXT_KEY: Final = "eks_cluster_id"
ACCESS_KEY_RECHECK_SECONDS: Final = 1.0
"""How long the access key a token is cached under is taken as current."""


class _HideSigningDetails(logging.Filter):
    """Drops botocore's debug records that spell out a signature or a signed query.

    botocore logs the canonical request (which, when presigning with temporary
    credentials, holds ``X-Amz-Security-Token``) and the signature itself; for
    a presigned URL those two are the token.
    """

    _PREFIXES: Final = ("CanonicalRequest:", "StringToSign:", "Signature:")

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(self._PREFIXES))


_SIGNING_FILTER: Final = _HideSigningDetails()


def _hide_signing_details() -> None:
    target = logging.getLogger("botocore.auth")
    if _SIGNING_FILTER not in target.filters:
        target.addFilter(_SIGNING_FILTER)


def _move_cluster_id_to_context(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if K8S_AWS_ID_HEADER in params:
        context[_CONTEXT_KEY] = params.pop(K8S_AWS_ID_HEADER)


def _add_cluster_id_header(request: Any, **_: Any) -> None:
    cluster_id = request.context.get(_CONTEXT_KEY)
    if cluster_id is not None:
        request.headers[K8S_AWS_ID_HEADER] = cluster_id


def encode_token(presigned_url: str) -> str:
    """Turn a presigned GetCallerIdentity URL into an EKS bearer token."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(presigned_url.encode()).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class _CachedToken:
    value: str
    minted_at: float

    def __repr__(self) -> str:
        return f"_CachedToken(value=<redacted>, minted_at={self.minted_at!r})"


class BearerTokens(Protocol):
    """A source of EKS bearer tokens, one per cluster name.

    ``TokenProvider`` is the real one; tests hand the executors a fixed token
    through the same four methods.
    """

    async def token(self, cluster_name: str) -> str:
        """A token for ``cluster_name``, minted or cached."""
        ...

    def cached(self, cluster_name: str) -> str | None:
        """The token ``token`` would return without an await, or None."""
        ...

    def forget(self, cluster_name: str) -> None:
        """Drop what is cached for ``cluster_name`` (after a 401)."""
        ...

    async def aclose(self) -> None:
        """Release what the source holds."""
        ...


class TokenProvider:
    """Mints and caches EKS bearer tokens for the engine's AWS identity.

    Args:
        session: the aioboto3 session (default credential chain).
        region: the Region for the regional STS endpoint; None lets boto3 decide.
        now: wall-clock seconds, injectable for tests (STS judges tokens by wall time).
    """

    def __init__(
        self,
        session: aioboto3.Session,
        region: str | None = None,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._region = region
        self._now = now
        self._cache: dict[tuple[str, str], _CachedToken] = {}
        self._stack = contextlib.AsyncExitStack()
        self._client: Any = None
        self._lock: anyio.Lock | None = None
        self._key_cache: tuple[str, float] | None = None
        _hide_signing_details()

    def __repr__(self) -> str:
        return f"TokenProvider(region={self._region!r}, cached={len(self._cache)})"

    async def _sts(self) -> Any:
        if self._client is not None:
            return self._client
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self._client is None:
                with eks_api_errors():
                    client = await self._stack.enter_async_context(
                        self._session.client("sts", region_name=self._region)
                    )
                events = client.meta.events
                events.register("provide-client-params.sts.GetCallerIdentity", _move_cluster_id_to_context)
                events.register("before-sign.sts.GetCallerIdentity", _add_cluster_id_header)
                self._client = client
        return self._client

    async def _access_key(self) -> str:
        # Asked on every request; the chain is consulted at most once a second
        # (refreshed credentials are still noticed well before a token expires).
        now = time.monotonic()
        cached = self._key_cache
        if cached is not None and now - cached[1] < ACCESS_KEY_RECHECK_SECONDS:
            return cached[0]
        key = await self._resolve_access_key()
        self._key_cache = (key, now)
        return key

    async def _resolve_access_key(self) -> str:
        with eks_api_errors():
            credentials = await self._session.get_credentials()
            if credentials is None:
                raise TaskFailed(None, "Unable to locate AWS credentials to build the EKS token")
            frozen = await credentials.get_frozen_credentials()
        return str(frozen.access_key)

    def cached(self, cluster_name: str) -> str | None:
        """The cached token for ``cluster_name`` when ``token`` would return it without any await, else None."""
        key_cache = self._key_cache
        if key_cache is None:
            return None
        now = time.monotonic()
        if now - key_cache[1] >= ACCESS_KEY_RECHECK_SECONDS:
            return None
        found = self._cache.get((cluster_name, key_cache[0]))
        if found is None or self._now() - found.minted_at >= TOKEN_REUSE_SECONDS:
            return None
        return found.value

    async def token(self, cluster_name: str) -> str:
        """Return a bearer token for ``cluster_name``, minting one when needed.

        Args:
            cluster_name: the EKS cluster name, signed as ``x-k8s-aws-id``.

        Raises:
            StatesError: no credentials or Region, or the STS client cannot be built.
        """
        key = (cluster_name, await self._access_key())
        cached = self._cache.get(key)
        now = self._now()
        if cached is not None and now - cached.minted_at < TOKEN_REUSE_SECONDS:
            return cached.value
        client = await self._sts()
        with eks_api_errors():
            url = await client.generate_presigned_url(
                "get_caller_identity",
                Params={K8S_AWS_ID_HEADER: cluster_name},
                ExpiresIn=PRESIGN_EXPIRES_SECONDS,
                HttpMethod="GET",
            )
        minted = _CachedToken(encode_token(url), now)
        self._cache[key] = minted
        return minted.value

    def forget(self, cluster_name: str) -> None:
        """Drop cached tokens for a cluster (after a 401, a fresh token may help)."""
        for key in [k for k in self._cache if k[0] == cluster_name]:
            del self._cache[key]

    async def aclose(self) -> None:
        """Close the STS client and forget every token."""
        self._cache.clear()
        self._key_cache = None
        self._client = None
        await self._stack.aclose()


class InvalidCertificateAuthority(TaskFailed):
    """The ``CertificateAuthority`` parameter is not base64 of a PEM (or DER) certificate."""


@functools.lru_cache(maxsize=256)
def ssl_context_for_ca(ca_b64: str) -> ssl.SSLContext:
    """A verifying TLS context trusting exactly the given CA bundle.

    Verification is always on (``CERT_REQUIRED`` and host-name checking); there
    is no way to turn it off.

    Args:
        ca_b64: base64 of the PEM bundle, as in DescribeCluster's
            ``certificateAuthority.data``.

    Raises:
        InvalidCertificateAuthority: ``States.TaskFailed`` (spec §5.3: connection
            and TLS failures, UNCONFIRMED naming) with a cause saying what is wrong.
    """
    try:
        raw = base64.b64decode("".join(ca_b64.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCertificateAuthority(None, "CertificateAuthority is not valid base64") from exc
    # A bare client context trusts nothing until told: only this cluster's CA,
    # never the system store (a public CA must not vouch for a cluster).
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if b"-----BEGIN" in raw:
            context.load_verify_locations(cadata=raw.decode("ascii"))
        else:
            context.load_verify_locations(cadata=raw)
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCertificateAuthority(
            None, "CertificateAuthority does not hold a PEM certificate bundle"
        ) from exc
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    return context


def _json_serialize(value: Any) -> str:
    return orjson.dumps(value).decode()


def normalize_endpoint(endpoint: str) -> str:
    """The ``https://host[:port]`` origin of a Kubernetes API endpoint.

    Raises:
        StatesError: ``States.TaskFailed`` when the endpoint is not an https URL
            with a host and nothing but an optional trailing ``/`` after it.
    """
    try:
        parts = urlsplit(endpoint.strip())
        port = parts.port
    except ValueError as exc:
        raise TaskFailed(None, "Endpoint is not a valid URL") from exc
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise TaskFailed(None, "Endpoint must be an https:// URL of the Kubernetes API server")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise TaskFailed(None, "Endpoint must be the API server's origin, without path, query or user info")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"https://{host}" + (f":{port}" if port is not None else "")


READS: Final = "reads"
WRITES: Final = "writes"


class KubeConnections:
    """Pooled HTTPS connections to Kubernetes API servers, per (endpoint, CA).

    Reads (GET and HEAD: status polls, lists, logs) go through the lean client's
    pool (``lean_pool``, ``executors.eks.http1``); everything else (creates,
    deletes, watches, eks:call's other methods) through one aiohttp
    session (``session``). Each side has its own request slots, so a poll never
    queues behind thousands of creates, nor a create behind polls.

    Each TLS connection costs its buffers (asyncio keeps 256 KiB per
    connection), so the pools are as small as keeps the API server busy:
    reads, which every poll makes, get more in flight than writes, which the
    API server handles one after another anyway.

    Args:
        reads_per_host: requests in flight (and connections) to one API server for reads.
        writes_per_host: requests in flight to one API server for writes; watches
            (one per cluster and namespace) open their connections beside them.
        limit_per_host: when given, both of the above.
    """

    def __init__(
        self, *, reads_per_host: int = 32, writes_per_host: int = 8, limit_per_host: int | None = None
    ) -> None:
        if limit_per_host is not None:
            reads_per_host = writes_per_host = limit_per_host
        self._reads_per_host = reads_per_host
        self._writes_per_host = writes_per_host
        self._sessions: dict[tuple[str, str], aiohttp.ClientSession] = {}
        self._slots: dict[tuple[str, str, str], RequestSlots] = {}
        self._lean: dict[tuple[str, str], LeanPool] = {}
        self.observer: RequestObserver | None = None
        """Called after every lean-client attempt (see ``http1``); aiohttp sessions take a TraceConfig."""

    def lean_pool(self, endpoint: str, ca_b64: str) -> LeanPool:
        """The lean keep-alive client for an API server's GET and HEAD requests (``http1``)."""
        origin = normalize_endpoint(endpoint)
        key = (origin, ca_b64)
        pool = self._lean.get(key)
        if pool is None:
            pool = self._lean[key] = LeanPool(origin, ssl_context_for_ca(ca_b64), self.observer)
        return pool

    def request_slots(self, endpoint: str, ca_b64: str, *, reads: bool = False) -> RequestSlots:
        """The bound on requests in flight to one API server: its reads (``reads``) or the rest.

        ``reads_per_host`` / ``writes_per_host`` slots (watches aside); a request
        that holds one has a connection or is about to get one, the others queue
        here before building anything.
        """
        key = (normalize_endpoint(endpoint), ca_b64, READS if reads else WRITES)
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = RequestSlots(self._reads_per_host if reads else self._writes_per_host)
        return slots

    def __repr__(self) -> str:
        return f"KubeConnections(sessions={len(self._sessions)})"

    def session(self, endpoint: str, ca_b64: str) -> aiohttp.ClientSession:
        """The shared aiohttp session for an API server's writes and watches, created on first use.

        Must be called from within the event loop. The session verifies the
        server against ``ca_b64`` and serializes JSON bodies with orjson; it
        carries no credentials (send the bearer token per request).

        Args:
            endpoint: the API server URL (``https://host[:port]``).
            ca_b64: the cluster's base64 CA bundle.

        Raises:
            StatesError: the endpoint is not an https origin or the CA is invalid.
        """
        origin = normalize_endpoint(endpoint)
        key = (origin, ca_b64)
        existing = self._sessions.get(key)
        if existing is not None and not existing.closed:
            return existing
        # No connection limit here: the request slots bound requests, and watches
        # (one per cluster and namespace) hold a connection each beside them.
        connector = aiohttp.TCPConnector(ssl=ssl_context_for_ca(ca_b64), limit=0, limit_per_host=0)
        created = aiohttp.ClientSession(json_serialize=_json_serialize, connector=connector)
        self._sessions[key] = created
        return created

    @property
    def sessions(self) -> Mapping[tuple[str, str], aiohttp.ClientSession]:
        """The open aiohttp sessions by (origin, CA), for metrics and tests."""
        return dict(self._sessions)

    async def aclose(self) -> None:
        """Close every session."""
        sessions, self._sessions = list(self._sessions.values()), {}
        self._slots.clear()
        lean, self._lean = list(self._lean.values()), {}
        for pool in lean:
            pool.close()
        for s in sessions:
            await s.close()


__all__ = [
    "K8S_AWS_ID_HEADER",
    "TOKEN_PREFIX",
    "BearerTokens",
    "InvalidCertificateAuthority",
    "KubeConnections",
    "TokenProvider",
    "encode_token",
    "normalize_endpoint",
    "ssl_context_for_ca",
]
