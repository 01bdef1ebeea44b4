"""What a state type sees of the interpreter that runs it: the ``Runner`` protocol.

The state modules are plain functions of a ``Runner`` (the interpreter of
``engine.runtime.execution`` implements it), so they never import the
interpreter, and the interpreter imports them through one dispatch table.
The members fall in three groups: the execution's data (record, config,
clock, random source), the primitive steps of a state's I/O that a TestState
run observes by overriding them (``input_path``, ``result_path``,
``assign_jsonpath``, ``invoke``…), and the loop services (events, sleeping,
running a nested scope).

``Failure`` carries a state's uncaught ``StatesError`` up through the scopes.
"""

from __future__ import annotations

import random
from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping
from datetime import datetime
from typing import Protocol

from engine.definition.expressions import JsonataField
from engine.definition.model import (
    CompiledValue,
    MapState,
    ParallelState,
    PassState,
    Retrier,
    State,
    StateMachine,
    TaskState,
)
from engine.errors import QUERY_EVALUATION_ERROR, QueryEvaluationError, StatesError
from engine.executor import Executor, ExecutorCall
from engine.history import History
from engine.jsonvalue import JSON
from engine.runtime.clock import Clock
from engine.runtime.record import ExecutionRecord, Position, RuntimeConfig
from engine.scope import Scope
from engine.size_guard import SizeGuard

Variables = MutableMapping[str, JSON]
"""The workflow variables a scope sees (a ChainMap over its parents' in Map and Parallel)."""

ResultState = PassState | TaskState | MapState | ParallelState
"""The states with a ResultPath."""


class Failure(Exception):
    """A state failed with a StatesError: carried up through the scopes."""

    def __init__(self, error: StatesError) -> None:
        super().__init__(error.error)
        self.error = error


def stored_failure(failure: tuple[str, str | None]) -> StatesError:
    """The error a resumed Map or Parallel fails with: the one its progress recorded."""
    error, cause = failure
    if error == QUERY_EVALUATION_ERROR:
        return QueryEvaluationError(cause=cause)
    return StatesError(error, cause)


class Runner(Protocol):
    """The interpreter, as the state types use it."""

    record: ExecutionRecord
    config: RuntimeConfig
    clock: Clock
    guard: SizeGuard
    rng: random.Random
    history: History
    may_park: bool
    unparked: bool
    fast_scope: Scope | None
    timestamp: Callable[[], float]
    map_run_scope: str
    """"" in the execution; in a Distributed Map's child, its run's ARN and the child's index."""

    task_override: Callable[[str], Executor | None] | None
    """Set for a test case: state name -> the executor that replaces the registry's, or None."""

    # -- events and the loop
    def event(self, event_type: str, details: Mapping[str, JSON] | None = None) -> int: ...

    def exited(self, state: State, out: JSON) -> None: ...

    def exit_recorded(self) -> None:
        """The state's Exited event is in the history already: its assignments are applied, not recorded."""
        ...

    async def run_scope(self, machine: StateMachine, pos: Position, variables: Variables) -> JSON: ...

    def detached(self, map_run_scope: str) -> Runner:
        """A runner for a Distributed Map's child: its events stay out of this history.

        ``map_run_scope`` (the run's ARN and the child's index) makes the ARNs of the
        Map Runs the child starts its own: its event ids alone are not.
        """
        ...

    async def sleep_for(self, pos: Position, delay: float) -> None: ...

    async def sleep_until_due(self, pos: Position) -> None: ...

    async def retry_sleep(self, pos: Position, delay: float) -> None: ...

    # -- a state's context and I/O primitives
    def context(
        self,
        pos: Position,
        map_item: JSON = None,
        entered: datetime | None = None,
        *,
        retryable: bool = False,
    ) -> dict[str, JSON]: ...

    def scope_for(self, state: State, pos: Position, value: JSON, variables: Mapping[str, JSON]) -> Scope: ...

    def input_path(self, state: State, value: JSON, scope: Scope) -> JSON: ...

    def output_path(self, state: State, value: JSON, scope: Scope) -> JSON: ...

    def result_path(self, state: ResultState, raw_input: JSON, result: JSON) -> JSON: ...

    def assign_jsonpath(
        self, state: State, assign: CompiledValue | None, value: JSON, scope: Scope
    ) -> dict[str, JSON] | None: ...

    def apply_assign(self, updates: dict[str, JSON] | None, variables: Variables, where: str) -> None: ...

    def bindings(self, pos: Position, value: JSON, variables: Variables, **extra: JSON) -> ChainMap[str, JSON]: ...

    def jsonata_eval(self, cv: CompiledValue, bindings: Mapping[str, JSON]) -> JSON: ...

    def jsonata_expr(self, expr: JsonataField, field_name: str, bindings: Mapping[str, JSON]) -> JSON: ...

    # -- the steps of Task, Map and Parallel a TestState run replaces
    async def invoke(
        self,
        state: TaskState,
        pos: Position,
        executor: Executor,
        call: ExecutorCall,
        timeout_s: float | None,
        heartbeat: float | None,
        options: Mapping[str, object],
    ) -> JSON: ...

    async def map_iterations(
        self,
        state: MapState,
        pos: Position,
        variables: Variables,
        items: list[JSON],
        effective: JSON,
        max_conc: int,
        tolerated_count: int | None,
        tolerated_pct: float | None,
    ) -> list[JSON]: ...

    def select_item(
        self, state: MapState, pos: Position, variables: Variables, effective: JSON, index: int, item: JSON
    ) -> JSON: ...

    async def branches(
        self, state: ParallelState, pos: Position, variables: Variables, branch_input: JSON
    ) -> list[JSON]: ...

    def retry(self, retriers: tuple[Retrier, ...], pos: Position, err: StatesError) -> float | None: ...
