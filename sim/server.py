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
"""

from __future__ import annotations

import asyncio
import ssl
from types import TracebackType
from typing import Final, Self

from aiohttp import web
from aiohttp.typedefs import Handler

from sim.faults import Fault, FaultConfig, FaultInjector

LOOPBACK: Final = "127.0.0.1"
SHUTDOWN_TIMEOUT_SECONDS: Final = 2.0


class SimServer:
    """A simulator's HTTP(S) server.

    Args:
        host: address to bind; loopback by default.
        port: port to bind; 0 picks a free one.
        ssl_context: server TLS context; None serves plain HTTP.
        faults: faults to inject, or None.
    """

    def __init__(
        self,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        faults: FaultConfig | None = None,
    ) -> None:
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

    def _with_faults(self, handler: Handler) -> Handler:
        async def serve(request: web.Request) -> web.StreamResponse:
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
            server = web.Server(self._with_faults(handler), access_log=None)  # type: ignore[arg-type]
            runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)
        else:
            app = self.build_app()
            app.middlewares.insert(0, self._fault_middleware)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, ssl_context=self._ssl_context)
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
