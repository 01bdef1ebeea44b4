"""The HTTP server: AWS JSON 1.0 on ``POST /``, Prometheus metrics on ``GET /metrics``.

One request, start to end: read the body (at most ``MAX_REQUEST_BYTES``),
look the operation up from ``X-Amz-Target``, verify the SigV4 signature when
the server was given a key, check the body against botocore's model, serve
it, shape the answer by the model. Every failure on the way is an
``ApiError`` answered in AWS's shape; an unexpected exception is logged as one
line (its type and message, never a traceback, never the request body) and
answered ``InternalFailure``, and the server keeps serving.

``ApiServer`` owns its engine: entering it starts the engine (which runs
the executions, worker included) and binds the socket, on loopback unless
told otherwise; leaving it stops both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final

from aiohttp import web

from engine import JSON, Engine, ExecutionRecord
from statewright.api._errors import ApiError, internal
from statewright.api._metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from statewright.api._protocol import CONTENT_TYPE, operation_model, parse_request, render_response
from statewright.api._service import StepFunctionsService
from statewright.api._sigv4 import SigV4Verifier

log = logging.getLogger(__name__)

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8083
MAX_REQUEST_BYTES: Final = 5 * 1024 * 1024
"""A definition may be 1 MiB of characters (up to 4 MiB of UTF-8); nothing valid is larger."""


class _Forward:
    """The engine's ``on_event``, forwarded to the service made after the engine."""

    def __init__(self) -> None:
        self.target: Any = None

    def __call__(self, record: ExecutionRecord, event_type: str, details: Mapping[str, JSON] | None) -> None:
        if self.target is not None:
            self.target(record, event_type, details)


class ApiServer:
    """A Step Functions API server on one engine.

    Args:
        host: the address to bind (loopback by default).
        port: the port (8083 by default, Step Functions Local's; 0 picks a free one).
        verifier: checks SigV4 signatures; None accepts any.
        engine_options: keyword arguments for the ``Engine`` (registry, clock, store, …).
    """

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        verifier: SigV4Verifier | None = None,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._verifier = verifier
        self._forward = _Forward()
        self.engine = Engine(on_event=self._forward, **dict(engine_options or {}))
        self.service = StepFunctionsService(self.engine)
        self._forward.target = self.service.on_event
        self._runner: web.AppRunner | None = None
        self._writer: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def __aenter__(self) -> ApiServer:
        # Map Runs go to the store as they change (the engine resumes some as it enters).
        self._writer = asyncio.get_running_loop().create_task(self.service.map_runs.run_writer())
        await self.engine.__aenter__()
        try:
            await self.service.machines.restore()
            for held in self.service.machines.held_versions:  # versions (``:N``) and aliases (``:NAME``)
                if not self.service.versions.restore(held):
                    self.service.aliases.restore(held)
            await self.service.activities.restore()
            await self.service.executions.restore()
            await self.service.machines.drop_deleted(self.service.executions.running_on)
            app = web.Application(client_max_size=MAX_REQUEST_BYTES)
            app.router.add_post("/", self._handle)
            app.router.add_get("/metrics", self._metrics)
            app.router.add_route("*", "/{tail:.*}", self._not_found)
            # A client that goes away cancels its request: a long-polling GetActivityTask must not
            # take a task for a worker that is no longer there.
            runner = web.AppRunner(app, access_log=None, handle_signals=False, handler_cancellation=True)
            await runner.setup()
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
            self._runner = runner
            server = getattr(site, "_server", None)
            if server is not None and server.sockets:
                self.port = int(server.sockets[0].getsockname()[1])
        except BaseException:
            await self._stop_writer()
            await self.engine.__aexit__(None, None, None)
            raise
        return self

    async def _stop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._runner is not None:
                await self._runner.cleanup()
        finally:
            self._runner = None
            await self._stop_writer()
            try:
                await self.service.map_runs.flush()  # what changed last, while the store is open
            except Exception:
                log.exception("the Map Runs could not be written to the store")
            await self.engine.__aexit__(exc_type, exc, tb)

    # -- handlers ---------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        operation = "Unknown"
        try:
            op = operation_model(request.headers.get("X-Amz-Target"))
            operation = op.name
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise ApiError(
                    "RequestEntityTooLargeException",
                    f"The request is larger than {MAX_REQUEST_BYTES} bytes",
                    413,
                ) from None
            if self._verifier is not None:
                self._verifier.verify(request.method, request.path_qs, request.headers, body)
            params = parse_request(op, body)
            result = await self.service.call(operation, params)
            response = web.Response(body=render_response(op, result), status=200)
        except ApiError as err:
            response = _error_response(err)
        except Exception as exc:
            log.error("%s failed: %s: %s", operation, type(exc).__name__, exc)
            response = _error_response(internal())
        response.headers["Content-Type"] = CONTENT_TYPE
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        self.service.metrics.request(operation, response.status, time.perf_counter() - started)
        return response

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.service.metrics.render(), headers={"Content-Type": METRICS_CONTENT_TYPE}
        )

    async def _not_found(self, request: web.Request) -> web.Response:
        err = ApiError("UnknownOperationException", f"No route for {request.method} {request.path}", 404)
        response = _error_response(err)
        response.headers["Content-Type"] = CONTENT_TYPE
        return response


def _error_response(err: ApiError) -> web.Response:
    import orjson

    return web.Response(body=orjson.dumps(err.body()), status=err.status)


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "MAX_REQUEST_BYTES", "ApiServer"]
