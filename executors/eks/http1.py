"""A lean HTTP/1.1 client for the Kubernetes API's reads: the polling hot path.

Naive ``.sync`` polling sends one GET per waiting execution per interval, and
at thousands of executions the client's cost per request is what limits how
fast one process polls. Measured on the 2-core benchmark machine against the
simulator, aiohttp's client spends about 300 µs of CPU per TLS GET (its
request object, tracing signals, streams and timers); this client, which
does only what a keep-alive GET needs, about 120 µs. It is written here
rather than taken from a library because no maintained asyncio client is
that thin; everything else (writes, watches, unusual requests) stays on aiohttp.

What it does: keep-alive TLS connections per API server (verified against the
cluster's CA with host-name checking: the same ``ssl.SSLContext`` the aiohttp
pool uses), one request at a time per connection, ``Content-Length``,
``chunked`` and read-until-close bodies, ``Connection: close``, interim 1xx
answers skipped, a per-request read timeout, and one silent retry on a fresh
connection when a reused one turns out to have been closed by the server
before it answered (safe: only GET and HEAD come here). Failures surface as
aiohttp's exception types, so the one mapping in ``errors.kube_connection_errors``
applies to both paths.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Final, cast
from urllib.parse import quote, urlsplit

import aiohttp
from multidict import CIMultiDict

READ_TIMEOUT_SECONDS: Final = 120.0
"""A request with no complete answer this long after it was sent fails (as aiohttp's sock_read)."""
MAX_HEAD_BYTES: Final = 64 * 1024
"""An answer whose status line and headers exceed this is refused (a misbehaving peer)."""
_NO_BODY_STATUSES: Final = frozenset({204, 304})

RequestObserver = Callable[[str, str, int | None, float], None]
"""Called after each attempt with (method, path and query, status or None when none came, seconds taken)."""


class LeanResponse:
    """A complete answer, body included; shaped like the parts of ``aiohttp.ClientResponse`` callers use."""

    __slots__ = ("_body", "headers", "reason", "status")

    def __init__(self, status: int, reason: str, headers: CIMultiDict[str], body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self._body = body

    @property
    def body(self) -> bytes:
        """The body (already read)."""
        return self._body

    async def read(self) -> bytes:
        """The body (already read)."""
        return self._body

    def release(self) -> None:
        """Nothing to release: the connection went back to the pool with the whole answer read."""

    def close(self) -> None:
        """Nothing to close (see ``release``)."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; parses one answer at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.keep_alive = True
        self.received_any = False
        self._buffer = bytearray()
        self._waiter: asyncio.Future[LeanResponse] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._head_method = False
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._reason = ""
        self._headers: CIMultiDict[str] | None = None
        self._length = -1  # -1: unknown; -2: chunked; -3: until close
        self._chunks = bytearray()

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TLS transport does not subclass asyncio.Transport; it has the same methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        self._buffer += data
        try:
            self._parse()
        except aiohttp.ClientPayloadError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        if self._length == -3 and self._headers is not None and self._waiter is not None:
            self._complete(bytes(self._buffer))
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            if self._length == -3 and self._headers is not None:
                self._complete(bytes(self._buffer))
                return
            error = aiohttp.ServerDisconnectedError() if exc is None else aiohttp.ClientOSError(str(exc))
            self._fail(error)

    # -- requests --------------------------------------------------------------------------------

    def send(self, request: bytes, *, head: bool, timeout: float) -> asyncio.Future[LeanResponse]:
        """Write a request; the future completes with its answer."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        self._head_method = head
        self.received_any = False
        self._timer = loop.call_later(timeout, self._timed_out)
        self.transport.write(request)
        return waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _timed_out(self) -> None:
        self._timer = None
        self._fail(TimeoutError())
        self.close()

    def _fail(self, error: BaseException) -> None:
        self.keep_alive = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _complete(self, body: bytes) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        assert self._headers is not None
        response = LeanResponse(self._status, self._reason, self._headers, body)
        self._reset()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    # -- parsing ---------------------------------------------------------------------------------

    def _parse(self) -> None:
        buffer = self._buffer
        while self._waiter is not None:
            if self._headers is None and not self._parse_head():
                return
            length = self._length
            if length >= 0:
                if len(buffer) < length:
                    return
                body = bytes(buffer[:length])
                del buffer[:length]
                self._complete(body)
            elif length == -2:
                if not self._parse_chunks():
                    return
            else:
                return  # until close: eof_received / connection_lost complete it

    def _parse_head(self) -> bool:
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise aiohttp.ClientPayloadError("the answer's headers are too large")
            return False
        lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        del buffer[: end + 4]
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise aiohttp.ClientPayloadError("the answer is not HTTP/1.x")
        status = int(parts[1])
        if 100 <= status < 200:
            return False if not buffer else self._parse_head()  # interim answer: the real one follows
        headers: CIMultiDict[str] = CIMultiDict()
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise aiohttp.ClientPayloadError("a malformed header line in the answer")
            headers.add(name.strip(), value.strip())
        self._status = status
        self._reason = parts[2] if len(parts) > 2 else ""
        self._headers = headers
        connection = headers.get("Connection", "").lower()
        self.keep_alive = parts[0] != "HTTP/1.0" and "close" not in connection
        if self._head_method or status in _NO_BODY_STATUSES:
            self._length = 0
        elif "chunked" in headers.get("Transfer-Encoding", "").lower():
            self._length = -2
        elif (declared := headers.get("Content-Length")) is not None:
            if not declared.strip().isdigit():
                raise aiohttp.ClientPayloadError("the answer's Content-Length is not a number")
            self._length = int(declared)
        else:
            self._length = -3
            self.keep_alive = False
        return True

    def _parse_chunks(self) -> bool:
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return False
            size_text = bytes(buffer[:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise aiohttp.ClientPayloadError("a malformed chunk size in the answer") from None
            if size == 0:
                # The last chunk, then optional trailers, then an empty line.
                trailer_end = buffer.find(b"\r\n\r\n", line_end)
                if trailer_end < 0:
                    return False
                del buffer[: trailer_end + 4]
                body = bytes(self._chunks)
                self._complete(body)
                return True
            if len(buffer) < line_end + 2 + size + 2:
                return False
            start = line_end + 2
            self._chunks += buffer[start : start + size]
            del buffer[: start + size + 2]


class LeanPool:
    """Keep-alive TLS connections to one API server, for GET and HEAD.

    The number of connections is bounded by the callers (``RequestSlots``):
    one request per connection at a time, idle connections reused newest first.

    Args:
        origin: ``https://host[:port]``.
        context: the verifying TLS context for the server's CA.
        observer: called after each attempt (metrics, benchmarks), or None.
    """

    def __init__(self, origin: str, context: ssl.SSLContext, observer: RequestObserver | None = None) -> None:
        parts = urlsplit(origin)
        assert parts.hostname is not None
        self._host = parts.hostname
        self._port = parts.port or 443
        host_header = f"[{self._host}]" if ":" in self._host else self._host
        self._host_header = host_header if parts.port in (None, 443) else f"{host_header}:{self._port}"
        self._context = context
        self._idle: collections.deque[_Connection] = collections.deque()
        self._closed = False
        self.observer = observer

    def __repr__(self) -> str:
        return f"LeanPool({self._host}:{self._port}, idle={len(self._idle)})"

    @property
    def idle(self) -> int:
        """Open connections waiting for a request."""
        return len(self._idle)

    def _key(self) -> aiohttp.client_reqrep.ConnectionKey:
        # What aiohttp's TLS errors carry, so both clients fail alike.
        return aiohttp.client_reqrep.ConnectionKey(self._host, self._port, True, True, None, None, None, self._host)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await loop.create_connection(
                _Connection, self._host, self._port, ssl=self._context, server_hostname=self._host
            )
        except ssl.SSLCertVerificationError as exc:
            raise aiohttp.ClientConnectorCertificateError(self._key(), exc) from exc
        except ssl.SSLError as exc:
            raise aiohttp.ClientSSLError(self._key(), exc) from exc
        except OSError as exc:
            raise aiohttp.ClientOSError(exc.errno, str(exc)) from exc
        return protocol

    def _request_bytes(self, method: str, target: str, headers: Iterable[tuple[str, str]]) -> bytes:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header}", "User-Agent: statewright"]
        for name, value in headers:
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError("header names and values must not contain line breaks")
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def request(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]],
        headers: Iterable[tuple[str, str]],
        *,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> LeanResponse:
        """Send a GET or HEAD and return the whole answer.

        Args:
            method: ``GET`` or ``HEAD``.
            path: the percent-encoded path.
            params: query parameters, encoded here.
            headers: request headers (Host and User-Agent are added).
            read_timeout: seconds to wait for the complete answer.

        Raises:
            aiohttp.ClientError: the connection failed, was refused, or its TLS
                verification failed; ``TimeoutError`` when no answer came in time.
        """
        if method not in ("GET", "HEAD"):
            raise ValueError("the lean client sends only GET and HEAD")
        if self._closed:
            raise aiohttp.ClientConnectionError("the connection pool is closed")
        target = path
        if params:
            target += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)
        data = self._request_bytes(method, target, headers)
        observer = self.observer
        began = time.perf_counter() if observer is not None else 0.0
        idle = self._idle
        while idle and idle[-1].closed:
            idle.pop()  # closed by the server while idle (connection_lost said so)
        for attempt in (0, 1):
            reused = bool(idle)
            conn = idle.pop() if reused else await self._connect()
            try:
                response = await conn.send(data, head=method == "HEAD", timeout=read_timeout)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                conn.close()
                if reused and attempt == 0 and not conn.received_any:
                    continue  # the server had closed the idle connection: once more on a fresh one
                if observer is not None:
                    observer(method, target, None, time.perf_counter() - began)
                raise
            except BaseException:
                conn.close()
                if observer is not None:
                    observer(method, target, None, time.perf_counter() - began)
                raise
            if conn.keep_alive and not conn.closed and not self._closed:
                self._idle.append(conn)
            else:
                conn.close()
            if observer is not None:
                observer(method, target, response.status, time.perf_counter() - began)
            return response
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close every idle connection; requests in flight finish and then close theirs."""
        self._closed = True
        while self._idle:
            self._idle.pop().close()


__all__ = ["LeanPool", "LeanResponse", "RequestObserver"]
