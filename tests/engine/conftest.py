"""Fixtures shared by the engine behaviour tests.

Every test drives the engine through its public API: it builds an
``ExecutorRegistry``, serves Task resources with local Python functions
(``executors.local.LambdaExecutor``) or with hand-written handlers
(``executors.local.CallableExecutor``), and runs definitions with
``async with Engine(...) as engine: await engine.run(...)``.

* ``harness`` — a ``Harness`` owning one registry (with ``lambda:invoke``
  served locally), helpers to add functions and custom resources, to build
  Task states, and to run a definition on a fresh engine. Runs use the
  ``ImmediateClock`` (sleeps return at once and advance virtual time) unless a
  test passes another clock; tests where concurrent sleeps must interleave
  use ``@pytest.mark.looptime`` and the engine's default ``SystemClock``,
  which reads the (fast-forwarded) loop time.

Fixtures, not importable helpers: the tests folders are not packages, so
pytest's rootdir-relative imports cannot reach a shared helper module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import pytest

from engine import (
    JSON,
    Clock,
    Engine,
    ExecutionResult,
    ExecutorCall,
    ExecutorContext,
    ExecutorRegistry,
)
from engine.runtime.clock import ImmediateClock
from executors.local import CallableExecutor, LambdaExecutor, LocalFunction, register

LAMBDA: Final = "arn:aws:states:::lambda:invoke"
CUSTOM: Final = "arn:aws:states:::custom:call"

Handler = Callable[[ExecutorCall, ExecutorContext], Awaitable[JSON]]


@dataclass
class Harness:
    """One registry plus the helpers the behaviour tests share.

    Attributes:
        registry: serves ``lambda:invoke`` (and ``arn:aws:lambda:`` ARNs) with
            ``functions``; tests add custom resources with ``handle``.
        functions: the local Lambda functions.
        calls: every payload each local function received, by name.
    """

    registry: ExecutorRegistry
    functions: LambdaExecutor
    calls: dict[str, list[JSON]] = field(default_factory=dict)

    def fn(self, name: str, body: LocalFunction) -> None:
        """Serve Lambda function ``name`` with ``body``, recording its payloads."""
        seen = self.calls.setdefault(name, [])

        def recorded(payload: JSON) -> Any:
            seen.append(payload)
            return body(payload)

        self.functions.add(name, recorded)

    def handle(self, resource: str, handler: Handler) -> None:
        """Serve ``resource`` (request-response) with an ``async def handler(call, ctx)``."""
        self.registry.register(resource, CallableExecutor(handler))

    @staticmethod
    def task(function: str, **fields: JSON) -> dict[str, JSON]:
        """A Task state invoking local function ``function`` with the state input as payload.

        ``ResultSelector`` picks ``Payload`` unless the test gives its own
        (pass ``ResultSelector=None`` to keep Lambda's whole response).
        """
        state: dict[str, JSON] = {
            "Type": "Task",
            "Resource": LAMBDA,
            "Parameters": {"FunctionName": function, "Payload.$": "$"},
            "ResultSelector": {"value.$": "$.Payload"},
        }
        state.update(fields)
        if state.get("ResultSelector") is None:
            del state["ResultSelector"]
        if "Next" not in state and "End" not in state:
            state["End"] = True
        return state

    @asynccontextmanager
    async def engine(self, **kwargs: Any) -> AsyncIterator[Engine]:
        """A fresh engine on this registry (``ImmediateClock`` unless ``clock`` is given)."""
        kwargs.setdefault("clock", ImmediateClock())
        async with Engine(load_plugins=False, registry=self.registry, **kwargs) as engine:
            yield engine

    async def run(
        self,
        definition: Mapping[str, Any] | str,
        input: JSON = None,
        *,
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> ExecutionResult:
        """Run ``definition`` to its end on a fresh engine and return the result."""
        async with self.engine(clock=clock or ImmediateClock(), **kwargs) as engine:
            return await engine.run(definition, input)


@pytest.fixture
def harness() -> Harness:
    """A registry serving local Lambda functions, and run helpers."""
    registry = ExecutorRegistry()
    functions = LambdaExecutor()
    register(registry, functions)
    return Harness(registry=registry, functions=functions)
