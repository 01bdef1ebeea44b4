"""Fixtures for the API server tests: a real server on loopback, real AWS clients.

* ``api`` — an ``ApiServer`` on a free loopback port, run on its own event
  loop in a background thread (boto3 and the AWS CLI block, so they call
  from the test's thread, as users' programs do). Its engine serves
  ``lambda:invoke`` with the local functions in ``api.functions``.
* ``sfn`` — the real boto3 ``stepfunctions`` client pointed at it
  (host-prefix injection off, as StartSyncExecution's ``sync-`` prefix needs
  for a loopback endpoint; no retries, so each error is seen once).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from typing import Any, Final

import boto3
import pytest
from botocore.config import Config

from engine import JSON, ExecutorRegistry
from executors.local import LambdaExecutor, register
from statewright.api import ApiServer, SigV4Verifier

ROLE: Final = "arn:aws:iam::123456789012:role/test"
CLIENT_CONFIG: Final = Config(inject_host_prefix=False, retries={"max_attempts": 1, "mode": "standard"})


class ThreadedApi:
    """An ``ApiServer`` running on its own loop in a daemon thread."""

    def __init__(self, verifier: SigV4Verifier | None = None, **engine_options: Any) -> None:
        self.functions = LambdaExecutor()
        registry = ExecutorRegistry()
        register(registry, self.functions)
        engine_options.setdefault("registry", registry)
        self._engine_options = engine_options
        self._verifier = verifier
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.server: ApiServer | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> ThreadedApi:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with ApiServer(port=0, verifier=self._verifier, engine_options=self._engine_options) as server:
            self.server = server
            self._ready.set()
            await self._stop.wait()

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def run(self, fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        assert self._loop is not None
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(fn(), self._loop)
        return fut.result(30)

    def call_soon(self, fn: Callable[[], Any]) -> Any:
        """Run a plain function on the server's loop and return its result."""

        async def wrapped() -> Any:
            return fn()

        return self.run(wrapped)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def add_function(self, name: str, fn: Callable[[JSON], JSON]) -> None:
        self.functions.add(name, fn)

    def service_poll_seconds(self, seconds: float) -> None:
        """Shorten GetActivityTask's long poll (60 s on AWS) for a test."""
        assert self.server is not None
        self.server.service.activities.poll_seconds = seconds


def client(url: str, **kwargs: Any) -> Any:
    """A boto3 ``stepfunctions`` client for ``url``."""
    kwargs.setdefault("aws_access_key_id", "AKIDTEST")
    kwargs.setdefault("aws_secret_access_key", "test-secret")
    return boto3.client(
        "stepfunctions", endpoint_url=url, region_name="us-east-1", config=CLIENT_CONFIG, **kwargs
    )


@pytest.fixture
def api() -> Iterator[ThreadedApi]:
    server = ThreadedApi().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sfn(api: ThreadedApi) -> Any:
    return client(api.url)


def pass_machine(**extra: Any) -> str:
    import json

    return json.dumps(
        {
            "StartAt": "Done",
            "States": {"Done": {"Type": "Pass", "Result": extra or {"ok": True}, "End": True}},
        }
    )
