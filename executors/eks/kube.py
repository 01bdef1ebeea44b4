"""A thin Kubernetes REST client for ``eks:runJob`` and ``eks:call``.

One ``KubeClient`` talks to one cluster: an endpoint, the base64 CA that
vouches for it, and the cluster name the EKS bearer token is signed for. It
owns no sockets: every request goes through the pooled session
``KubeConnections`` keeps per (endpoint, CA), and the token comes from
``TokenProvider`` per request, so tokens are renewed transparently and never
stored here.

Two paths, chosen by cost, both raw HTTP with orjson (Kubernetes' REST paths
are few and stable, and runJob must return the Job exactly as Kubernetes wrote
it, which typed client models do not: they drop fields they do not know and
re-format timestamps):

* Reads (GET and HEAD: the status GET of every poll, lists, pod logs) go
  through the lean keep-alive client of ``http1``, measured several times
  cheaper per request than aiohttp.
* Everything else (creates, deletes, ``eks:call``'s other methods) goes
  through the pooled aiohttp session.

Every answer, whichever path produced it, is finished in ``_finish``: the one
place where a non-2xx status becomes ``EKS.<status>`` (``kube_http_error``).
Transport failures are mapped by ``kube_connection_errors``. Every attempt,
whichever path, first takes a token from the cluster's rate limiter and is
tried again by the rule of ``ratelimit.RetryRule`` (429 after ``Retry-After``;
5xx and broken connections with jittered backoff for reads only), so the one
place that sends is also the one place that paces and retries.

``watch`` opens a Kubernetes watch stream and yields its events one by one,
splitting the newline-delimited frames itself (aiohttp's line reader refuses
lines over its buffer size, and a Job can be larger).

The client is given what it sends with (the token source, the connection
pools, the cluster's rate limiter) and the engine's clock and a seeded random
source for its waits; it knows nothing of the services object that owns them.
The parameter checks runJob and call share live in ``fields``.
"""

from __future__ import annotations

import http
import logging
import random
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import quote, unquote

import aiohttp
from yarl import URL

from engine.aio.slots import RequestSlots
from engine.errors import StatesError, StatesRuntime
from engine.jsonvalue import JSON, JSONDecodeError, dumps, loads
from engine.runtime.clock import Clock
from executors.eks import http1
from executors.eks.auth import BearerTokens, KubeConnections, normalize_endpoint
from executors.eks.errors import (
    TRANSPORT_ERRORS,
    TransientEksError,
    connection_failed,
    kube_connection_errors,
    kube_http_error,
)
from executors.eks.ratelimit import DEFAULT_RETRY, RetryRule, TokenBucket, retry_after_seconds

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE: Final = "application/json"
ACCEPT: Final = "application/json, */*"
REQUEST_TIMEOUT: Final = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)
"""Bounds one request, so a silent API server cannot stall a wait forever."""
WATCH_READ_MARGIN_SECONDS: Final = 30.0
"""A watch stream silent this much longer than its ``timeoutSeconds`` is considered dead."""


@dataclass(frozen=True, slots=True)
class KubeResponse:
    """A successful (2xx) answer from the Kubernetes API server.

    Attributes:
        status: the HTTP status code.
        reason: the reason phrase, e.g. ``OK``.
        content_type: the media type without parameters, lower-cased.
        body: the raw body bytes.
    """

    status: int
    reason: str
    content_type: str
    body: bytes

    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> JSON:
        """The body parsed as JSON.

        Raises:
            StatesError: ``States.TaskFailed`` when the body is not JSON.
        """
        try:
            return loads(self.body)
        except JSONDecodeError as exc:
            raise StatesError(None, f"The Kubernetes API server answered {self.status} with a body "
                              f"that is not JSON ({self.content_type or 'no content type'})") from exc

    def value(self) -> JSON:
        """The body as a JSON value: parsed when it is JSON, else the text; None when empty."""
        return _body_value(self.body, self.content_type)


def _body_value(body: bytes, content_type: str) -> JSON:
    if not body:
        return None
    if "json" in content_type:
        try:
            return loads(body)
        except JSONDecodeError:
            pass
    return body.decode("utf-8", errors="replace")


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


class KubeClient:
    """Requests to one cluster's Kubernetes API, authenticated with an EKS token.

    Args:
        tokens: the EKS bearer-token source.
        connections: the pooled sessions and request slots per API server.
        bucket: the API server's rate limiter (shared by every client of that server).
        clock: the engine's clock; retry pauses sleep through it.
        rng: the random source of retry jitter (seeded from the engine).
        cluster_name: the EKS cluster name the token is signed for.
        endpoint: the API server URL (``https://host[:port]``).
        ca_b64: the cluster's base64 CA bundle; TLS is verified against it.
        retry: the retry rule of its requests.

    Raises:
        StatesError: ``States.TaskFailed`` when the endpoint is not an https
            origin or the CA is not a PEM bundle.
    """

    def __init__(
        self,
        tokens: BearerTokens,
        connections: KubeConnections,
        bucket: TokenBucket,
        cluster_name: str,
        endpoint: str,
        ca_b64: str,
        *,
        clock: Clock,
        rng: random.Random,
        retry: RetryRule = DEFAULT_RETRY,
    ) -> None:
        self._tokens = tokens
        self._cluster = cluster_name
        self._origin = normalize_endpoint(endpoint)
        self._ca = ca_b64
        self._session = connections.session(self._origin, ca_b64)
        self._lean = connections.lean_pool(self._origin, ca_b64)
        self._bucket = bucket
        self._in_flight = connections.request_slots(self._origin, ca_b64)
        self._read_slots = connections.request_slots(self._origin, ca_b64, reads=True)
        self._clock = clock
        self._rng = rng
        self._retry = retry
        self._what = f"the Kubernetes API server at {self._origin}"

    def __repr__(self) -> str:
        return f"KubeClient(cluster={self._cluster!r}, endpoint={self._origin!r})"

    @property
    def closed(self) -> bool:
        """Whether a pooled session this client sends through was closed."""
        return self._session.closed

    @property
    def endpoint(self) -> str:
        """The API server's origin, ``https://host[:port]``."""
        return self._origin

    @property
    def write_slots(self) -> RequestSlots:
        """The request slots of the API server's writes pool (creates, deletes, ``eks:call``'s writes).

        A caller may hold one itself (``try_acquire``, ``acquire``, or parked: ``park``
        and ``claim``) and hand it to one request with ``held=True``.
        """
        return self._in_flight

    @property
    def key(self) -> tuple[str, str, str]:
        """``(origin, CA, cluster name)``: clients with equal keys reach the same server the same way."""
        return (self._origin, self._ca, self._cluster)

    async def _authorization(self) -> str:
        cached = self._tokens.cached(self._cluster)
        return "Bearer " + (cached if cached is not None else await self._tokens.token(self._cluster))

    async def _finish(self, response: _Response, *, read_body: bool = True) -> KubeResponse:
        """Read and release an answer; the one place non-2xx becomes ``EKS.<status>``."""
        if type(response) is http1.LeanResponse:
            body = response.body if read_body else b""  # read already: no await
        else:
            try:
                body = await response.read() if read_body else b""
            finally:
                response.release()
        status = response.status
        reason = response.reason or _reason_phrase(status)
        content_type = _media_type(response.headers)
        if 200 <= status < 300:
            return KubeResponse(status, reason, content_type, body)
        if status == http.HTTPStatus.UNAUTHORIZED:
            # The next call mints a fresh token, in case this one went stale.
            self._tokens.forget(self._cluster)
        parsed = _body_value(body, content_type)
        raise kube_http_error(status, reason, parsed if parsed is not None else "")

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, list[str]] | Iterable[tuple[str, str]] | None = None,
        body: JSON | str | None = None,
        content_type: str | None = None,
        retry: RetryRule | None = None,
        held: bool = False,
    ) -> Coroutine[Any, Any, KubeResponse]:
        """Send one request to a path on the cluster's endpoint (await the result).

        A plain function returning ``_send``'s coroutine, so a request queued for a
        connection keeps one frame, not two.

        Args:
            method: ``GET``, ``POST``, ``PUT``, ``DELETE``, ``HEAD`` or ``PATCH``.
            path: an absolute path on the endpoint; characters a URL path cannot
                carry (non-ASCII, spaces…) are percent-encoded here (``encode_path``),
                escapes already there are kept; anything that could leave the
                endpoint is refused (``check_api_path``).
            query: query parameters; a list value repeats its key.
            body: a JSON value (sent as JSON) or a string (sent as is); None for no body.
            content_type: the body's media type; JSON by default.
            retry: the retry rule for this request instead of the client's.
            held: the caller holds one of the pool's request slots (``write_slots``
                for anything but GET and HEAD) and hands it to this request: its
                first attempt goes without queueing, and the slot is released
                whatever happens.

        Returns:
            The 2xx answer.

        Raises:
            StatesError: ``EKS.<status>`` for a non-2xx answer, ``States.TaskFailed``
                for a connection or TLS failure, ``States.Runtime`` for a path
                outside the endpoint.
        """
        slots = self._read_slots if method in _READS else self._in_flight
        problem = check_api_path(path)
        if problem is not None:
            if held:
                slots.release()  # the caller's slot goes back with the refusal
            raise StatesRuntime(None, problem)
        send = _RawRequest(self, method, encode_path(path), _query_pairs(query), body, content_type)
        return self._send(method, send, read_body=method != "HEAD", slots=slots, rule=retry, held=held)

    async def _send(
        self,
        method: str,
        send: Callable[[], Awaitable[_Response]],
        *,
        read_body: bool = True,
        slots: RequestSlots | None = None,
        rule: RetryRule | None = None,
        held: bool = False,
    ) -> KubeResponse:
        """Pace, send, retry by the ``RetryRule``, and finish one request.

        Args:
            method: the HTTP method (decides what may be retried).
            send: makes one attempt and returns the unread response.
            read_body: read the body of the final answer (False for HEAD).
            slots: the request slots of the pool ``send`` uses (the writes pool's by default).
            rule: the retry rule (the client's by default).
            held: the caller hands over a slot of ``slots`` it holds, for the first attempt.
        """
        if rule is None:
            rule = self._retry
        if slots is None:
            slots = self._in_flight
        attempt = 0
        renewed = False
        while True:
            last = attempt + 1 >= rule.max_attempts
            # The bucket's acquire, without a coroutine when a token is there (every poll).
            pause = self._bucket.reserve()
            if pause > 0:
                try:
                    await self._bucket.wait_reserved(pause)
                except BaseException:
                    if held:
                        slots.release()
                    raise
            try:
                # At most as many requests in flight as the pool has connections: the rest
                # wait here, holding a few hundred bytes each, not a built request apiece.
                if held:
                    held = False  # the caller's slot, for this attempt only
                elif not slots.try_acquire():
                    # Await the bare future (no coroutine frame per queued request).
                    waiter = slots.enqueue()
                    try:
                        await waiter
                    except BaseException:
                        slots.abandon(waiter)
                        raise
                try:
                    # kube_connection_errors' mapping, inline: this is every poll's path.
                    response = await send()
                    status = response.status
                    if status == http.HTTPStatus.UNAUTHORIZED and not renewed:
                        # The token may have outlived the server's patience (a long wait, a
                        # shorter TTL): once per request, renew it and send again at once.
                        renewed = True
                        self._tokens.forget(self._cluster)
                        response.release()
                        continue
                    if last or status not in _RETRY_STATUSES or not rule.retryable(method, status):
                        return await self._finish(response, read_body=read_body)
                    delay = retry_after_seconds(response.headers) if status == 429 else None
                    response.release()
                except TRANSPORT_ERRORS as exc:
                    raise connection_failed(exc, self._what) from exc
                finally:
                    slots.release()
                if delay is None:
                    delay = rule.backoff(attempt, self._rng)
                log.debug("%s answered %d; trying again in %.2fs", self._what, status, delay)
            except TransientEksError as exc:
                broken = isinstance(exc.__cause__, aiohttp.ClientError | TimeoutError | http1.LeanHttpError)
                if not broken or last or not rule.retryable(method, None):
                    raise
                delay = rule.backoff(attempt, self._rng)
                log.debug("lost the connection to %s; trying again in %.2fs", self._what, delay)
            await self._clock.sleep(delay)
            attempt += 1

    async def watch(
        self,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        timeout_seconds: int = 300,
        on_open: Callable[[], None] | None = None,
    ) -> AsyncGenerator[dict[str, JSON], None]:
        """Open a watch stream and yield its events (``{"type": …, "object": …}``) as they come.

        The stream ends when the server closes it (``timeoutSeconds`` passed,
        or it was cut); the caller reconnects from the last resourceVersion it saw.
        Opening the stream is paced like any request and retried on 429;
        an answer other than 2xx raises ``EKS.<status>`` (``EKS.403`` when watch
        is forbidden, ``EKS.410`` when the resourceVersion expired).

        Args:
            path: the collection's path (``/apis/batch/v1/namespaces/ns/jobs``).
            query: further parameters (``resourceVersion``, ``allowWatchBookmarks``…);
                ``watch=1`` and ``timeoutSeconds`` are added.
            timeout_seconds: how long the server should keep the stream open.
            on_open: called once the server accepted the watch (2xx), before any event.

        Raises:
            StatesError: as ``request`` for the opening answer; ``States.TaskFailed``
                (transient) when the connection breaks mid-stream.
        """
        problem = check_api_path(path)
        if problem is not None:
            raise StatesRuntime(None, problem)
        url = URL(self._origin + path, encoded=True)
        params = [("watch", "1"), *query, ("timeoutSeconds", str(timeout_seconds))]
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=REQUEST_TIMEOUT.sock_connect,
            sock_read=timeout_seconds + WATCH_READ_MARGIN_SECONDS,
        )
        rule = self._retry
        attempt = 0
        renewed = False
        while True:
            await self._bucket.acquire()
            headers = {"Authorization": await self._authorization(), "Accept": JSON_CONTENT_TYPE}
            with kube_connection_errors(self._what):
                response = await self._session.get(
                    url, params=params, headers=headers, timeout=timeout, allow_redirects=False
                )
            if response.status == http.HTTPStatus.UNAUTHORIZED and not renewed:
                # As in _send: a stale token gets one renewal before the 401 counts.
                renewed = True
                self._tokens.forget(self._cluster)
                response.release()
                continue
            if response.status == 429 and attempt + 1 < rule.max_attempts:
                delay = retry_after_seconds(response.headers)
                response.release()
                await self._clock.sleep(delay if delay is not None else rule.backoff(attempt, self._rng))
                attempt += 1
                continue
            break
        if not 200 <= response.status < 300:
            with kube_connection_errors(self._what):
                await self._finish(response)
        if on_open is not None:
            on_open()
        try:
            buffer = bytearray()
            with kube_connection_errors(self._what):
                async for chunk in response.content.iter_any():
                    buffer += chunk
                    start = 0
                    while (end := buffer.find(b"\n", start)) >= 0:
                        line = bytes(buffer[start:end])
                        start = end + 1
                        if line.strip():
                            yield _event(line)
                    del buffer[:start]
        finally:
            # A stream left before its end cannot go back to the pool: close its connection.
            response.close()

    async def create_job(
        self,
        namespace: str,
        job: Mapping[str, JSON] | Callable[[], Mapping[str, JSON]],
        *,
        retry: RetryRule | None = None,
        held: bool = False,
    ) -> dict[str, JSON]:
        """Create a batch/v1 Job and return it as Kubernetes wrote it.

        ``retry`` replaces the client's rule for this request (``create.create_job``
        passes one attempt and retries itself, reading back what an ambiguous failure left).
        ``job`` may be a function that makes the manifest: it is called once a request
        slot is held, so a create queued for a connection keeps no manifest of its own.
        ``held``: the caller holds a slot of ``write_slots`` for it (see ``request``).

        Raw POST with orjson, like the status GET: every execution creates one
        Job, and a typed client's path (a sanitized copy of the manifest,
        stdlib JSON, a dozen frames per request) costs several times more CPU
        and transient memory while thousands of creates queue for a connection.

        Raises:
            StatesError: ``EKS.409`` when the name is taken, ``EKS.<status>`` otherwise.
        """
        response = await self.request(
            "POST", f"/apis/batch/v1/namespaces/{_seg(namespace)}/jobs",
            body=job if isinstance(job, dict) or callable(job) else dict(job), retry=retry, held=held,
        )
        return _object(response)

    async def get_job(self, namespace: str, name: str, *, retry: RetryRule | None = None) -> dict[str, JSON]:
        """Read a Job (the poll's hot path: raw GET, orjson); ``retry`` replaces the client's rule."""
        response = await self.request(
            "GET", f"/apis/batch/v1/namespaces/{_seg(namespace)}/jobs/{_seg(name)}", retry=retry
        )
        return _object(response)

    async def list_jobs(
        self, namespace: str, *, label_selector: str | None = None, field_selector: str | None = None
    ) -> dict[str, JSON]:
        """List a namespace's Jobs (raw GET, orjson); the list object with ``items`` and ``metadata``."""
        query: list[tuple[str, str]] = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        response = await self.request("GET", f"/apis/batch/v1/namespaces/{_seg(namespace)}/jobs", query=query)
        return _object(response)

    async def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, JSON]]:
        """List the pods matching a label selector, as Kubernetes wrote them."""
        response = await self.request(
            "GET", f"/api/v1/namespaces/{_seg(namespace)}/pods", query=[("labelSelector", label_selector)]
        )
        items = _object(response).get("items")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    async def read_log(
        self, namespace: str, pod: str, container: str, params: Mapping[str, list[str]] | None = None
    ) -> str:
        """Read one container's log (plain text).

        Args:
            namespace: the pod's namespace.
            pod: the pod's name.
            container: the container's name.
            params: further ``PodLogOptions`` query parameters (``tailLines``, ``limitBytes``…),
                passed through unchanged.
        """
        query: list[tuple[str, str]] = [("container", container)]
        query.extend(_query_pairs(params))
        response = await self.request(
            "GET", f"/api/v1/namespaces/{_seg(namespace)}/pods/{_seg(pod)}/log", query=query
        )
        return response.text()

    async def delete_job(
        self, namespace: str, name: str, propagation: str, *, uid: str | None = None
    ) -> None:
        """Delete a Job with a propagation policy (``Foreground``, ``Background``, ``Orphan``).

        Args:
            namespace: the Job's namespace.
            name: the Job's name.
            propagation: what happens to its pods.
            uid: when given, delete only the Job with this uid (a precondition),
                never a namesake created since.
        """
        options: dict[str, JSON] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": propagation,
        }
        if uid is not None:
            options["preconditions"] = {"uid": uid}
        await self.request(
            "DELETE", f"/apis/batch/v1/namespaces/{_seg(namespace)}/jobs/{_seg(name)}",
            query=[("propagationPolicy", propagation)], body=options,
        )


_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})


class _Response(Protocol):
    """What ``_send`` and ``_finish`` use of an answer: aiohttp's, or the lean client's."""

    @property
    def status(self) -> int: ...

    @property
    def reason(self) -> str | None: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def read(self) -> bytes: ...

    def release(self) -> Any: ...
_READS: Final = frozenset({"GET", "HEAD"})
"""Methods sent through the reads pool (``KubeConnections``)."""


class _RawRequest:
    """One attempt of a raw request, built when it is sent.

    Headers, URL and body are made only once a request slot is held: a request
    queued for a connection keeps just its arguments (a slotted object rather
    than a closure and its cells).
    """

    __slots__ = ("body", "client", "content_type", "method", "params", "path")

    def __init__(
        self,
        client: KubeClient,
        method: str,
        path: str,
        params: list[tuple[str, str]],
        body: JSON | str | None,
        content_type: str | None,
    ) -> None:
        self.client = client
        self.method = method
        self.path = path
        self.params = params
        self.body = body
        self.content_type = content_type

    async def __call__(self) -> _Response:
        client = self.client
        if self.method in _READS:
            # Reads, the polling hot path among them: the lean keep-alive client (``http1``).
            return await client._lean.request(
                self.method, self.path, self.params,
                (("Authorization", await client._authorization()), ("Accept", ACCEPT)),
                read_timeout=REQUEST_TIMEOUT.sock_read or http1.READ_TIMEOUT_SECONDS,
            )
        headers = {"Authorization": await client._authorization(), "Accept": ACCEPT}
        data: bytes | None = None
        body = self.body
        if callable(body):
            body = body()  # made once a slot is held (a queued create keeps none; see create_job)
        if body is not None and self.method != "HEAD":
            data = body.encode() if isinstance(body, str) else dumps(body)
            headers["Content-Type"] = self.content_type or JSON_CONTENT_TYPE
        return await client._session.request(
            self.method, URL(client._origin + self.path, encoded=True), params=self.params or None,
            data=data, headers=headers, timeout=REQUEST_TIMEOUT, allow_redirects=False,
        )


def _event(line: bytes) -> dict[str, JSON]:
    try:
        value = loads(line)
    except JSONDecodeError as exc:
        raise StatesError(None, "The Kubernetes API server sent a watch event that is not JSON") from exc
    if not isinstance(value, dict):
        raise StatesError(None, "The Kubernetes API server sent a watch event that is not an object")
    return value


def _object(response: KubeResponse) -> dict[str, JSON]:
    value = response.json()
    if not isinstance(value, dict):
        raise StatesError(None, f"The Kubernetes API server answered {response.status} with JSON that is "
                          "not an object")
    return value


def _seg(segment: str) -> str:
    return quote(segment, safe="")


def _reason_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _query_pairs(query: Mapping[str, list[str]] | Iterable[tuple[str, str]] | None) -> list[tuple[str, str]]:
    if query is None:
        return []
    if isinstance(query, Mapping):
        return [(key, value) for key, values in query.items() for value in values]
    return list(query)


_MAX_DECODE_ROUNDS: Final = 4
_UNSAFE_CHARACTER: Final = re.compile(r"[\s\x00-\x1f\x7f]")
"""Whitespace (``str.isspace``'s, Unicode included) and control characters; one scan per request."""


PATH_SAFE: Final = "/:@!$&'()*+,;=-._~%"
"""Kept as they are in a request path: RFC 3986 ``pchar`` and ``/``, and ``%`` (escapes already made)."""


def encode_path(path: str) -> str:
    """``path`` percent-encoded as a URL path, as Kubernetes clients send it.

    client-go writes the path through Go's ``url.URL.EscapedPath``: every byte of
    the UTF-8 form that a path may not carry literally becomes ``%XX``
    (``/api/中文`` → ``/api/%E4%B8%AD%E6%96%87``); what is allowed, escapes
    included, is left alone.
    """
    return quote(path, safe=PATH_SAFE)


def check_api_path(path: str) -> str | None:
    """Why ``path`` could reach something other than the endpoint, or None when it is safe.

    A Kubernetes REST path must start with a single ``/`` and name a path on
    the given endpoint: no scheme or host (``https://…``, ``//host``), no ``.``
    or ``..`` segments (also percent-encoded, also double-encoded), no
    backslashes, no query or fragment (use ``QueryParameters``), no whitespace
    or control characters.
    """
    if not path.startswith("/"):
        return f"The Path '{_clip(path)}' must be an absolute path on the endpoint, starting with '/'"
    if path.startswith("//"):
        return f"The Path '{_clip(path)}' must not start with '//' (it would name another host)"
    if _UNSAFE_CHARACTER.search(path) is not None:
        return "The Path must not contain whitespace or control characters"
    if "?" in path or "#" in path:
        return "The Path must not contain '?' or '#'; pass query parameters in QueryParameters"
    text = path
    for _ in range(_MAX_DECODE_ROUNDS):
        if "\\" in text:
            return "The Path must not contain backslashes"
        if any(segment in (".", "..") for segment in text.split("/")):
            return f"The Path '{_clip(path)}' must not contain '.' or '..' segments"
        decoded = unquote(text)
        if decoded == text:
            return None
        text = decoded
    return "The Path is percent-encoded too many times"


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


__all__ = [
    "KubeClient",
    "KubeResponse",
    "check_api_path",
    "encode_path",
]
