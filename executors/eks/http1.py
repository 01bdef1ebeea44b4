"""A lean HTTP/1.1 client for the Kubernetes API's reads: the polling hot path.

Naive ``.sync`` polling sends one GET per waiting execution per interval, and
at thousands of executions the client's cost per request is what limits how
fast one process polls. This client does only what a keep-alive GET needs;
everything else (writes, watches, unusual requests) stays on aiohttp.
Measured with ``python -m benchmarks.http_get`` (``time.process_time()`` per TLS
GET of a 2.4 KB Job answer on one keep-alive connection, the server in another
process; medians of 50 runs of 2,000 GETs on the shared 2-core machine, CPython
3.11): this client 41 µs, aiohttp 100 µs, a ratio of 2.4 on asyncio's loop (27
against 77 µs, 2.9, on uvloop). Answers are parsed by httptools (llhttp, the
parser of Node.js); the hand-written parser it replaced measured the same, 41 µs
(aiohttp 104), in the same interleaved runs. Handling one answer without the
socket (parse, timer, future) costs about 6 µs with either parser: TLS and the
event loop are the rest.

What it does: keep-alive TLS connections per API server (verified against the
cluster's CA with host-name checking: the same ``ssl.SSLContext`` the aiohttp
pool uses), one request at a time per connection, ``Content-Length``,
``chunked`` and read-until-close bodies, ``Connection: close``, interim 1xx
answers skipped, a per-request read timeout, and one silent retry on a fresh
connection when a reused one turns out to have been closed by the server
before it answered (safe: only GET and HEAD come here).

A connection goes back to the pool only with its answer read whole and nothing
after it; any failure or cancellation closes it and disarms its read timer, so
a connection is never reused half-read. Failures are this module's own errors,
mapped to AWS's error names with the aiohttp ones in ``errors.connection_failed``:

* ``LeanHttpError``: no complete answer came
    * ``LeanConnectError``: the connection could not be opened (``errno`` from the OS)
    * ``LeanTLSError``: the TLS handshake failed (``verification``: the certificate was not trusted)
    * ``LeanClosedError``: the connection closed before the answer was complete (``os_error`` when reset)
    * ``LeanTimeout``: no complete answer within the read timeout
    * ``LeanProtocolError``: the answer is not well-formed HTTP/1.x
    * ``LeanPoolClosed``: the pool was closed before the request
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Final, cast
from urllib.parse import quote, urlsplit

import httptools
from multidict import CIMultiDict

READ_TIMEOUT_SECONDS: Final = 120.0
"""A request with no complete answer this long after it was sent fails (as aiohttp's sock_read)."""
CONNECT_TIMEOUT_SECONDS: Final = 30.0
"""TCP connect and TLS handshake together, as the aiohttp sessions' ``sock_connect``: a
blackholed endpoint fails the read in seconds, not after the system's connect timeout."""
MAX_HEAD_BYTES: Final = 64 * 1024
"""An answer whose status line and headers exceed this is refused (a misbehaving peer)."""

RequestObserver = Callable[[str, str, int | None, float], None]
"""Called after each attempt with (method, path and query, status or None when none came, seconds taken)."""


class LeanHttpError(Exception):
    """A GET or HEAD got no complete answer (the base of this module's errors)."""


class LeanConnectError(LeanHttpError):
    """The connection could not be opened: refused, unreachable, or the name did not resolve.

    Attributes:
        errno: the operating system's error number, None when it gave none.
    """

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class LeanTLSError(LeanHttpError):
    """The TLS handshake failed.

    Attributes:
        verification: True when the server's certificate was not trusted (wrong CA or host name).
    """

    def __init__(self, message: str, *, verification: bool) -> None:
        super().__init__(message)
        self.verification = verification


class LeanClosedError(LeanHttpError):
    """The connection closed before the answer was complete.

    Attributes:
        os_error: the error that broke it (a reset), None when the server closed it.
    """

    def __init__(self, message: str, os_error: OSError | None = None) -> None:
        super().__init__(message)
        self.os_error = os_error


class LeanTimeout(LeanHttpError):
    """No complete answer came within the read timeout."""


class LeanProtocolError(LeanHttpError):
    """The answer is not well-formed HTTP/1.x (or its head is over ``MAX_HEAD_BYTES``)."""


class LeanPoolClosed(LeanHttpError):
    """The pool was closed before the request was sent."""


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
    """One keep-alive connection; one request in flight at a time, its answer fed to httptools.

    The parser calls the ``on_*`` methods (httptools' callback protocol) while
    ``data_received`` feeds it. ``_waiter`` and ``_timer`` exist exactly while
    a request is in flight: every way out (answer, failure, timeout, close)
    goes through ``_settle``, which disarms the timer.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.keep_alive = True
        self.received_any = False
        self._waiter: asyncio.Future[LeanResponse] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._head_method = False
        self._parser = httptools.HttpResponseParser(self)
        self._reset()

    def _reset(self) -> None:
        self._reason = bytearray()
        self._fields: list[tuple[bytes, bytes]] = []
        self._headers: CIMultiDict[str] | None = None
        self._body = bytearray()
        self._head_bytes = 0
        self._pending_head = 0
        self._interim = False

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TLS transport does not subclass asyncio.Transport; it has the same methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        if self._waiter is None:
            # Bytes nobody asked for: the connection's framing can no longer be trusted.
            self.keep_alive = False
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(LeanProtocolError(f"a malformed answer: {exc}"))
            self.close()
            return
        if self._waiter is not None and self._headers is None:
            # Headers still incomplete: count what is buffered (a field too long is never called back).
            self._pending_head += len(data)
            if self._pending_head > MAX_HEAD_BYTES:
                self._fail(LeanProtocolError("the answer's headers are too large"))
                self.close()

    def eof_received(self) -> bool | None:
        self._end_of_stream()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._end_of_stream()
        if self._waiter is not None:
            os_error = exc if isinstance(exc, OSError) else None
            self._fail(LeanClosedError("the connection closed before the whole answer came", os_error))

    def _end_of_stream(self) -> None:
        # An answer framed by neither Content-Length nor chunked ends with the stream
        # (llhttp reads it until close, and httptools has no call to say the stream ended).
        headers = self._headers
        if self._waiter is None or headers is None or "Content-Length" in headers:
            return
        if "chunked" not in headers.get("Transfer-Encoding", "").lower():
            self.keep_alive = False
            self._complete(self._parser.get_status_code())

    # -- httptools' callbacks --------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._waiter is None:
            self.keep_alive = False  # an answer nobody asked for (after a HEAD's, say)

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        # Kept raw and decoded once per answer: this is called for every header of every poll.
        self._fields.append((name, value))
        self._head_bytes += len(name) + len(value)

    def on_headers_complete(self) -> None:
        if self._waiter is None:
            return
        if self._head_bytes > MAX_HEAD_BYTES:
            self._fail(LeanProtocolError("the answer's headers are too large"))
            raise LeanProtocolError("too large")  # stops the parser; the waiter has its error
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            self._interim = True  # 1xx: llhttp ends the message here; the real answer follows
            return
        # llhttp drops the spaces before a value, not those after it.
        self._headers = CIMultiDict(
            [(n.decode("latin-1"), v.rstrip().decode("latin-1")) for n, v in self._fields]
        )
        if self._head_method:
            # A HEAD answer has no body whatever its Content-Length says, and httptools cannot be
            # told so: finish here and give the next answer a fresh parser.
            self.keep_alive = self.keep_alive and self._parser.should_keep_alive()
            self._parser = httptools.HttpResponseParser(self)
            self._complete(status)

    def on_body(self, body: bytes) -> None:
        if self._waiter is None:
            self.keep_alive = False
        else:
            self._body += body

    def on_message_complete(self) -> None:
        if self._waiter is None:
            return
        if self._interim:
            self._reset()
            return
        self.keep_alive = self.keep_alive and self._parser.should_keep_alive()
        self._complete(self._parser.get_status_code())

    # -- requests --------------------------------------------------------------------------------

    def send(self, request: bytes, *, head: bool, timeout: float) -> asyncio.Future[LeanResponse]:
        """Write a request; the future completes with its answer."""
        assert self.transport is not None and self._waiter is None
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        self._head_method = head
        self.received_any = False
        if self.closed or self.transport.is_closing():
            # Closed before the request (connection_lost already came, or is on its way with the
            # bytes dropped): nothing would ever answer it, so it fails now, not at its read timeout.
            self._fail(LeanClosedError("the connection was closed before the request was sent"))
            return waiter
        self._timer = loop.call_later(timeout, self._timed_out)
        self.transport.write(request)
        return waiter

    def close(self) -> None:
        """Close the connection; a request in flight is abandoned and its timer disarmed."""
        self.closed = True
        self.keep_alive = False
        waiter = self._settle()
        if waiter is not None:
            waiter.set_exception(LeanClosedError("the connection was closed before the answer came"))
        if self.transport is not None:
            self.transport.close()

    def _timed_out(self) -> None:
        self._timer = None
        self._fail(LeanTimeout("no complete answer in time"))
        self.close()

    def _settle(self) -> asyncio.Future[LeanResponse] | None:
        """End the request in flight: disarm its timer and hand back its future (if still waited on)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiter, self._waiter = self._waiter, None
        return waiter if waiter is not None and not waiter.done() else None

    def _fail(self, error: LeanHttpError) -> None:
        self.keep_alive = False
        waiter = self._settle()
        if waiter is not None:
            waiter.set_exception(error)

    def _complete(self, status: int) -> None:
        assert self._headers is not None
        reason = self._reason.decode("latin-1").strip()
        response = LeanResponse(status, reason, self._headers, bytes(self._body))
        self._reset()
        waiter = self._settle()
        if waiter is not None:
            waiter.set_result(response)


class LeanPool:
    """Keep-alive TLS connections to one API server, for GET and HEAD.

    The number of connections is bounded by the callers (``RequestSlots``):
    one request per connection at a time, idle connections reused newest first.

    Args:
        origin: ``https://host[:port]``.
        context: the verifying TLS context for the server's CA.
        observer: called after each attempt (metrics, benchmarks), or None.
        connect_timeout: seconds the TCP connect and TLS handshake may take together.
    """

    def __init__(
        self,
        origin: str,
        context: ssl.SSLContext,
        observer: RequestObserver | None = None,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        parts = urlsplit(origin)
        assert parts.hostname is not None
        self._host = parts.hostname
        self._port = parts.port or 443
        host_header = f"[{self._host}]" if ":" in self._host else self._host
        self._host_header = host_header if parts.port in (None, 443) else f"{host_header}:{self._port}"
        self._context = context
        self._connect_timeout = connect_timeout
        self._idle: collections.deque[_Connection] = collections.deque()
        self._closed = False
        self.observer = observer

    def __repr__(self) -> str:
        return f"LeanPool({self._host}:{self._port}, idle={len(self._idle)})"

    @property
    def idle(self) -> int:
        """Open connections waiting for a request."""
        return len(self._idle)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, protocol = await loop.create_connection(
                    _Connection, self._host, self._port, ssl=self._context, server_hostname=self._host
                )
        except TimeoutError as exc:
            raise LeanTimeout(
                f"connecting to {self._host}:{self._port} took over {self._connect_timeout:g} s"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise LeanTLSError(f"the server's certificate is not trusted: {exc}", verification=True) from exc
        except ssl.SSLError as exc:
            raise LeanTLSError(f"the TLS handshake failed: {exc}", verification=False) from exc
        except OSError as exc:
            raise LeanConnectError(f"cannot connect to {self._host}:{self._port}: {exc}", exc.errno) from exc
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

        Cancelling the call closes its connection (never returned to the pool half-read).

        Args:
            method: ``GET`` or ``HEAD``.
            path: the percent-encoded path.
            params: query parameters, encoded here.
            headers: request headers (Host and User-Agent are added).
            read_timeout: seconds to wait for the complete answer.

        Raises:
            LeanHttpError: no complete answer (see the module docstring for the kinds).
            ValueError: a method other than GET and HEAD, or a header with a line break.
        """
        if method not in ("GET", "HEAD"):
            raise ValueError("the lean client sends only GET and HEAD")
        if self._closed:
            raise LeanPoolClosed("the connection pool is closed")
        target = path
        if params:
            target += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)
        data = self._request_bytes(method, target, headers)
        observer = self.observer
        began = time.perf_counter() if observer is not None else 0.0
        idle = self._idle
        for attempt in (0, 1):
            # Before each try: while the first waited, the server may have closed the others too.
            while idle and idle[-1].closed:
                idle.pop()  # closed by the server while idle (connection_lost said so)
            reused = bool(idle)
            conn = idle.pop() if reused else await self._connect()
            try:
                response = await conn.send(data, head=method == "HEAD", timeout=read_timeout)
            except LeanClosedError:
                conn.close()
                if reused and attempt == 0 and not conn.received_any:
                    continue  # the server had closed the idle connection: once more on a fresh one
                if observer is not None:
                    observer(method, target, None, time.perf_counter() - began)
                raise
            except BaseException:
                conn.close()  # cancelled or failed: never back to the pool, its timer disarmed
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


__all__ = [
    "LeanClosedError",
    "LeanConnectError",
    "LeanHttpError",
    "LeanPool",
    "LeanPoolClosed",
    "LeanProtocolError",
    "LeanResponse",
    "LeanTLSError",
    "LeanTimeout",
    "RequestObserver",
]
