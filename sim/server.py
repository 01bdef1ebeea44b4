"""The base of every simulator: an aiohttp application served on loopback.

Shaped like ``aiohttp.test_utils.TestServer``: it binds ``127.0.0.1`` on port 0
unless told otherwise, tells its ``url`` once started, is an async context
manager, and ``close()`` may be called any number of times. Subclasses build
their ``web.Application`` in :meth:`SimServer.build_app` — or, when they route
requests themselves and per-request cost matters (the Kubernetes simulator), return
one handler from :meth:`SimServer.build_handler` to be served by aiohttp's
low-level server without router or middleware chain. Subclasses shape fault
answers in :meth:`SimServer.fault_response`; the base puts fault injection in
front of everything, either way, so every simulator fails the same way.

Slow clients cannot hold connections: a TLS handshake must finish within
``handshake_timeout_seconds`` and a request's head (request line and headers)
must arrive within ``header_timeout_seconds`` of its first byte (or of the
connection's start), as Go's ``http.Server.ReadHeaderTimeout`` bounds
kube-apiserver's; a connection that is too slow is closed without an answer.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Final, Self, cast

from aiohttp import web
from aiohttp.typedefs import Handler

from sim.faults import Fault, FaultConfig, FaultInjector

LOOPBACK: Final = "127.0.0.1"
SHUTDOWN_TIMEOUT_SECONDS: Final = 2.0
HEADER_TIMEOUT_SECONDS: Final = 10.0
"""How long a client may take to send a request's head before its connection is closed."""
HANDSHAKE_TIMEOUT_SECONDS: Final = 10.0
"""How long a client may take to finish the TLS handshake."""


class _HeadGuard(asyncio.Protocol):
    """Stands in front of aiohttp's protocol and closes connections whose request head is too slow.

    The timer runs from the connection's start until aiohttp has parsed a whole
    request head, and again from the first byte of each later request on a
    kept-alive connection; everything else is handed to aiohttp unchanged.
    """

    def __init__(self, inner: Any, timeout: float) -> None:
        self._inner = inner
        self._timeout = timeout
        self._timer: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if self._transport is not None:
            self._transport.abort()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._arm()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        inner = self._inner
        before = getattr(inner, "_request_count", 0)
        busy = bool(getattr(inner, "_request_in_progress", False))
        inner.data_received(data)
        if getattr(inner, "_request_count", 0) != before:
            self._disarm()  # a whole head arrived
        elif not busy:
            self._arm()  # the first bytes of a next request's head

    def eof_received(self) -> bool | None:
        result: bool | None = self._inner.eof_received()
        return result

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class _GuardedSite(web.TCPSite):
    """``web.TCPSite`` with a TLS handshake timeout and the ``_HeadGuard`` in front of each connection."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, ssl_context: ssl.SSLContext | None,
                 header_timeout: float, handshake_timeout: float) -> None:
        super().__init__(runner, host, port, ssl_context=ssl_context)
        self._header_timeout = header_timeout
        self._handshake_timeout = handshake_timeout

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        timeout = self._header_timeout
        factory: Callable[[], asyncio.Protocol] = lambda: _HeadGuard(server(), timeout)  # noqa: E731
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            factory,
            self._host,
            self._port,
            ssl=self._ssl_context,
            ssl_handshake_timeout=self._handshake_timeout if self._ssl_context is not None else None,
            backlog=self._backlog,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port


class SimServer:
    """A simulator's HTTP(S) server.

    ``max_body_bytes`` (a class attribute) bounds request bodies on the low-level
    path; a larger one makes ``request.read()`` raise ``HTTPRequestEntityTooLarge``.

    Args:
        host: address to bind; loopback by default.
        port: port to bind; 0 picks a free one.
        ssl_context: server TLS context; None serves plain HTTP.
        faults: faults to inject, or None.
        header_timeout_seconds: close a connection whose request head takes longer.
        handshake_timeout_seconds: close a connection whose TLS handshake takes longer.
    """

    max_body_bytes: int = 1024 * 1024

    def __init__(
        self,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        faults: FaultConfig | None = None,
        header_timeout_seconds: float = HEADER_TIMEOUT_SECONDS,
        handshake_timeout_seconds: float = HANDSHAKE_TIMEOUT_SECONDS,
    ) -> None:
        if header_timeout_seconds <= 0 or handshake_timeout_seconds <= 0:
            raise ValueError("the header and handshake timeouts must be positive")
        self.header_timeout_seconds = header_timeout_seconds
        self.handshake_timeout_seconds = handshake_timeout_seconds
        self._host = host
        self._port = port
        self._ssl_context = ssl_context
        self._runner: web.BaseRunner | None = None
        self._url: str | None = None
        self._injector: FaultInjector | None = None
        self.set_faults(faults)

    # -- to override -------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """Build the application to serve; called once by :meth:`start`."""
        raise NotImplementedError("a simulator must build its aiohttp application")

    def build_handler(self) -> Handler | None:
        """Return one handler for every request instead of an application (default: None).

        A simulator that routes by itself can serve through aiohttp's low-level server and skip
        the application's router and middleware chain, which is most of the per-request cost.
        """
        return None

    def fault_response(self, fault: Fault, request: web.Request) -> web.StreamResponse:
        """Shape the answer for an injected 429, 500 or 503 (plain text by default)."""
        headers = {}
        if fault is Fault.THROTTLE and self._injector is not None:
            headers["Retry-After"] = str(self._injector.config.retry_after_seconds)
        return web.Response(status=fault.value, text=f"injected fault {fault.value}\n", headers=headers)

    async def on_close(self) -> None:
        """Release what the subclass owns before the HTTP server stops (default: nothing)."""

    # -- faults ----------------------------------------------------------------------------

    @property
    def faults(self) -> FaultConfig | None:
        """The fault configuration in force, or None."""
        return self._injector.config if self._injector is not None else None

    def set_faults(self, faults: FaultConfig | None) -> None:
        """Replace the fault configuration (None turns injection off); the random stream restarts."""
        self._injector = FaultInjector(faults) if faults is not None else None

    def _with_faults(self, handler: Handler) -> Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]:
        async def serve(request: web.BaseRequest) -> web.StreamResponse:
            if not isinstance(request, web.Request):
                raise TypeError("the low-level server must be built with start()'s request factory")
            if self._injector is None:
                return await handler(request)
            return await self._fault_middleware(request, handler)

        return serve

    @web.middleware
    async def _fault_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        injector = self._injector
        if injector is None:
            return await handler(request)
        delay = injector.next_delay()
        fault = injector.next_fault()
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is None:
            return await handler(request)
        if fault is Fault.DROP:
            transport = request.transport
            if transport is not None:
                transport.abort()
            # The connection is gone; aiohttp discards whatever is returned now.
            return web.Response(status=499)
        return self.fault_response(fault, request)

    # -- life cycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash (``https://127.0.0.1:PORT``)."""
        if self._url is None:
            raise RuntimeError("the simulator is not started")
        return self._url

    @property
    def started(self) -> bool:
        """Whether the server is listening."""
        return self._runner is not None

    async def start(self) -> None:
        """Build the application and listen; returns once connections are accepted."""
        if self._runner is not None:
            return
        handler = self.build_handler()
        runner: web.BaseRunner
        if handler is not None:
            limit = self.max_body_bytes

            def make_request(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.Request:
                # A full Request (not the low-level BaseRequest), so handlers get what ``Handler`` promises.
                return web.Request(
                    message, payload, protocol, writer, task, asyncio.get_running_loop(), client_max_size=limit
                )

            server = web.Server(
                self._with_faults(handler),
                access_log=None,
                request_factory=make_request,
            )
            runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)
        else:
            app = self.build_app()
            app.middlewares.insert(0, self._fault_middleware)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)
        await runner.setup()
        site = _GuardedSite(
            runner,
            self._host,
            self._port,
            ssl_context=self._ssl_context,
            header_timeout=self.header_timeout_seconds,
            handshake_timeout=self.handshake_timeout_seconds,
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        scheme = "https" if self._ssl_context is not None else "http"
        shown = f"[{host}]" if ":" in host else host
        self._url = f"{scheme}://{shown}:{port}"

    async def close(self) -> None:
        """Stop serving and release everything; safe to call more than once."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        try:
            await self.on_close()
        finally:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
