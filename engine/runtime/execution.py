"""The interpreter that advances an execution's record, one state at a time.

An execution is data (``engine.runtime.record``: ``ExecutionRecord`` and its
``Position``). The ``Interpreter`` moves the position forward and keeps no
progress in Python stack frames that the record does not also hold, so a
store can persist the record and ``Engine.resume`` can continue it.

What each state type does lives in ``engine.states`` (one module per type,
found through one table); the interpreter is the loop around them and what
they share: events, the context object, the I/O primitives a TestState run
observes, Assign, sleeping. It implements ``engine.states.runner.Runner``.

Plain states (Pass, Choice, Succeed, Fail) run as plain function calls; only
Task, Wait, Map and Parallel await. That keeps a transition cheap and every
``await`` a visible cancel point.
"""

from __future__ import annotations

import asyncio
import random
from collections import ChainMap
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any, Final

from engine.definition.expressions import JsonataField
from engine.definition.model import (
    CompiledValue,
    MapState,
    ParallelState,
    Retrier,
    State,
    StateMachine,
    TaskState,
)
from engine.errors import QUERY_EVALUATION_ERROR, QueryEvaluationError, StatesError
from engine.executor import Executor, ExecutorCall
from engine.history import History, format_timestamp
from engine.jsonata import evaluation_pause
from engine.jsonvalue import JSON, dumps_str
from engine.runtime.record import (
    ABORTED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    ExecutionRecord,
    MapProgress,
    Position,
    RuntimeConfig,
)
from engine.scope import Scope
from engine.states import ASYNC_STATES, SYNC_STATES, map_, parallel, retry_catch, task
from engine.states.io import IO, evaluate, select, write_result
from engine.states.runner import Failure, ResultState, Runner, Variables

__all__ = [
    "ABORTED",
    "FAILED",
    "RUNNING",
    "SUCCEEDED",
    "SYNC_STEPS_PER_YIELD",
    "TIMED_OUT",
    "ExecutionRecord",
    "Failure",
    "Interpreter",
    "MapProgress",
    "Position",
    "RuntimeConfig",
]

_RETRYABLE: Final = frozenset({"Task", "Map", "Parallel"})
SYNC_STEPS_PER_YIELD: Final = 100
"""Plain states an execution runs in a row before it lets the loop run others (and its stop or timeout act)."""
_SCOPED_PREFIX: Final = "An error occurred"


class Interpreter:
    """Runs one execution's state machine, advancing its record."""

    # Slotted: one interpreter lives as long as its execution, thousands at once.
    __slots__ = (
        "_assigned",
        "_execution_ctx_cache",
        "_machine_ctx",
        "_sync_steps",
        "clock",
        "config",
        "fast_scope",
        "guard",
        "history",
        "machine",
        "map_run_scope",
        "may_park",
        "record",
        "rng",
        "task_override",
        "timestamp",
        "unparked",
    )

    def __init__(
        self, machine: StateMachine, record: ExecutionRecord, config: RuntimeConfig, rng: random.Random
    ) -> None:
        self.machine = machine
        self.record = record
        self.config = config
        self.rng = rng
        self.history = record.history
        self.map_run_scope = ""
        self.clock = config.clock
        self.guard = config.guard
        self._execution_ctx_cache: dict[str, JSON] | None = None
        self._assigned: dict[str, JSON] | None = None
        # Made on the first simple Pass with Parameters: an execution that only waits never needs it.
        self.fast_scope: Scope | None = None
        # Set by the execution: whether a Task may park now (not once a stop is
        # requested), and whether the current Task is being run again after parking.
        self.may_park = config.park and machine.timeout_seconds is None
        self.unparked = False
        # Set for a test case: state name -> the executor that replaces the registry's, or None.
        self.task_override: Callable[[str], Executor | None] | None = None
        self._sync_steps = 0
        self.timestamp: Callable[[], float] = config.clock.timestamp
        self._machine_ctx: dict[str, JSON] = {
            "Id": record.state_machine_arn,
            "Name": record.state_machine_name,
        }

    @property
    def _execution_ctx(self) -> dict[str, JSON]:
        # Built on first use: most states never read $$, and formatting StartTime costs.
        ctx = self._execution_ctx_cache
        if ctx is None:
            record = self.record
            ctx = {
                "Id": record.execution_arn,
                "Input": record.input,
                "Name": record.name,
                "RoleArn": record.role_arn,
                "StartTime": format_timestamp(record.start_time),
            }
            if record.state_machine_type != "EXPRESS":
                # Express executions cannot be redriven; their context has no RedriveCount.
                ctx["RedriveCount"] = record.redrive_count
            self._execution_ctx_cache = ctx
        return ctx

    # -- events ----------------------------------------------------------
    def event(self, event_type: str, details: Mapping[str, JSON] | None = None) -> int:
        n = self.history.append(event_type, self.clock.timestamp(), details)
        if self.config.on_event is not None:
            self.config.on_event(self.record, event_type, details)
        return n

    def exited(self, state: State, out: JSON) -> None:
        """Record ``<Type>StateExited``; with ``assignedVariables`` as AWS does when the state assigned any."""
        assigned = self._assigned
        if not assigned and self.config.on_event is None:
            self.history.state_event(state.exited_event, self.clock.timestamp(), state.name, out)
            return
        details: dict[str, JSON] = {"name": state.name, "output": out}
        if assigned:
            details["assignedVariables"] = {k: dumps_str(v) for k, v in assigned.items()}
            details["assignedVariablesDetails"] = {"truncated": False}
            self._assigned = None
        self.event(f"{state.type}StateExited", details)

    def exit_recorded(self) -> None:
        self._assigned = None

    # -- context ---------------------------------------------------------
    def context(
        self,
        pos: Position,
        map_item: JSON = None,
        entered: datetime | None = None,
        *,
        retryable: bool = False,
    ) -> dict[str, JSON]:
        """The context object (``$$``) of the state at ``pos``; ``map_item`` is ``$$.Map``."""
        state: dict[str, JSON] = {
            "EnteredTime": format_timestamp(entered or self.clock.now()),
            "Name": pos.state,
        }
        if retryable or pos.retry_counts:
            # Only states that can retry carry RetryCount (a Pass state's context has none: conformance input_path[$$]).
            state["RetryCount"] = sum(pos.retry_counts)
        ctx: dict[str, JSON] = {
            "Execution": self._execution_ctx,
            "State": state,
            "StateMachine": self._machine_ctx,
        }
        if map_item is not None:
            ctx["Map"] = map_item
        if pos.task_token is not None:
            ctx["Task"] = {"Token": pos.task_token}
        return ctx

    # -- the scope loop ----------------------------------------------------
    async def run_scope(self, machine: StateMachine, pos: Position, variables: Variables) -> JSON:
        """Run states from ``pos`` until the scope ends; return its output.

        Raises:
            Failure: the scope failed with an uncaught error.
        """
        states = machine.states
        sync_states = SYNC_STATES
        async_states = ASYNC_STATES
        history = self.history
        timestamp = self.timestamp
        on_event = self.config.on_event
        on_transition = self.config.on_transition
        while True:
            state = states[pos.state]
            if pos.entered_event_id == 0:
                etype = state.entered_event
                pos.entered_event_id = history.state_event(etype, timestamp(), state.name, pos.input)
                if on_event is not None:
                    on_event(self.record, etype, {"name": state.name, "input": pos.input})
                if on_transition is not None:
                    on_transition(self.record)
            if state.query_language == "JSONata":
                # JSONata held the loop for its whole budget (runaway expressions somewhere): give
                # the others their time first; this state's expressions then get their whole limit.
                while (pause := evaluation_pause()) > 0:
                    self._sync_steps = 0
                    await asyncio.sleep(pause)
            try:
                handler = sync_states.get(state.type)
                if handler is not None:
                    output, nxt = handler(self, state, pos, variables)
                    self._sync_steps += 1
                    if self._sync_steps >= SYNC_STEPS_PER_YIELD:
                        # A loop of Pass or Choice states never awaits: yield now and then, so
                        # other executions run and this one's stop and TimeoutSeconds can act.
                        self._sync_steps = 0
                        await asyncio.sleep(0)
                else:
                    output, nxt = await async_states[state.type](self, state, pos, variables)
            except StatesError as err:
                caught = self._failed(state, pos, variables, err)
                if caught is None:
                    raise Failure(err) from None
                output, nxt = caught
            if nxt is None:
                return output
            pos.enter(nxt, output)

    def _failed(
        self, state: State, pos: Position, variables: Variables, err: StatesError
    ) -> tuple[JSON, str] | None:
        """A state raised ``err``: AWS's cause prefix, the EvaluationFailed event, then Catch."""
        if err.state_scoped and err.cause is not None and not err.cause.startswith(_SCOPED_PREFIX):
            err.cause = (
                f"{_SCOPED_PREFIX} while executing the state '{state.name}' "
                f"(entered at the event id #{pos.entered_event_id}). {err.cause}"
            )
        if err.error == QUERY_EVALUATION_ERROR and not (
            isinstance(err, QueryEvaluationError) and err.evaluation_recorded
        ):
            # AWS records the failed JSONata evaluation as its own event.
            self.event(
                "EvaluationFailed", {"error": err.error, "cause": err.cause or "", "state": state.name}
            )
        return self.catch(state, pos, variables, err)

    async def step(self, state: State, pos: Position, variables: Variables) -> tuple[JSON, str | None]:
        """Run one state; return (output, next state or None at the end)."""
        handler = SYNC_STATES.get(state.type)
        if handler is not None:
            return handler(self, state, pos, variables)
        return await ASYNC_STATES[state.type](self, state, pos, variables)

    def detached(self, map_run_scope: str) -> Runner:
        return _Detached(self, map_run_scope)

    # -- I/O primitives (a TestState run overrides them to observe each step) ----
    def scope_for(self, state: State, pos: Position, value: JSON, variables: Mapping[str, JSON]) -> Scope:
        """The JSONPath scope of a state's step (its context object only when the state reads ``$$``)."""
        return Scope(
            value,
            self.context(pos, retryable=state.type in _RETRYABLE) if state.needs_context else None,
            variables,
            self.rng,
        )

    def input_path(self, state: State, value: JSON, scope: Scope) -> JSON:
        return select(state.input_path, state.input_path_null, value, scope)

    def output_path(self, state: State, value: JSON, scope: Scope) -> JSON:
        scope.input = value
        return select(state.output_path, state.output_path_null, value, scope)

    def result_path(self, state: ResultState, raw_input: JSON, result: JSON) -> JSON:
        return write_result(state.result_path, state.result_path_null, raw_input, result)

    def assign_jsonpath(
        self, state: State, assign: CompiledValue | None, value: JSON, scope: Scope
    ) -> dict[str, JSON] | None:
        if assign is None or assign.evaluate is None:
            return None
        scope.input = value
        out = evaluate(assign, scope)
        return out if isinstance(out, dict) else None

    def apply_assign(self, updates: dict[str, JSON] | None, variables: Variables, where: str) -> None:
        if not updates:
            return
        for k, v in updates.items():
            self.guard.check(v, "The variable '%s' assigned in state '%s' has a value", k, where)
        self.guard.check(updates, "The Assign field of state '%s' produced a value", where)
        variables.update(updates)
        self._assigned = updates

    def bindings(self, pos: Position, value: JSON, variables: Variables, **extra: JSON) -> ChainMap[str, JSON]:
        """JSONata's variables: ``$states`` (input, context, and ``extra``) over the workflow's."""
        states: dict[str, JSON] = {"input": value, "context": self.context(pos)}
        states.update(extra)
        return ChainMap({"states": states}, variables)

    def jsonata_eval(self, cv: CompiledValue, bindings: Mapping[str, JSON]) -> JSON:
        template = cv.jsonata
        if template is None:  # pragma: no cover - the parser gives every JSONata value a template
            raise QueryEvaluationError(cause=f"The field '{cv.field}' has no JSONata value")
        try:
            return template.evaluate(bindings, rng=self.rng, now_millis=self._now_millis())
        except QueryEvaluationError as err:
            raise err.scoped() from None

    def jsonata_expr(self, expr: JsonataField, field_name: str, bindings: Mapping[str, JSON]) -> JSON:
        try:
            return expr.evaluate_field(bindings, field_name, rng=self.rng, now_millis=self._now_millis())
        except QueryEvaluationError as err:
            raise err.scoped() from None

    def _now_millis(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    # -- sleeping -------------------------------------------------------------
    async def sleep_for(self, pos: Position, delay: float) -> None:
        """Sleep ``delay`` seconds, recording the due time in the position first.

        The live sleep uses the delay itself (exact in virtual time); the
        recorded wall-clock due time is what a resumed execution waits for.
        """
        pos.due = self.clock.timestamp() + delay
        if self.config.on_transition is not None:
            self.config.on_transition(self.record)
        if delay > 0:
            await self.clock.sleep(delay)
        pos.due = None

    async def sleep_until_due(self, pos: Position) -> None:
        """Sleep until the position's recorded due time (after a resume)."""
        due = pos.due
        if due is not None:
            delta = due - self.clock.timestamp()
            if delta > 0:
                await self.clock.sleep(delta)
        pos.due = None

    async def retry_sleep(self, pos: Position, delay: float) -> None:
        await self.sleep_for(pos, delay)

    # -- the steps of Task, Map and Parallel (a TestState run replaces them) -----
    def invoke(
        self,
        state: TaskState,
        pos: Position,
        executor: Executor,
        call: ExecutorCall,
        timeout_s: float | None,
        heartbeat: float | None,
        options: Mapping[str, object],
    ) -> Coroutine[Any, Any, JSON]:
        # The Task's own coroutine, not awaited here: a frame less in every execution whose
        # Task waits (thousands queue for a create at once, each with its whole stack).
        return task.invoke(self, state, pos, executor, call, timeout_s, heartbeat, options)

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
    ) -> list[JSON]:
        return await map_.iterations(
            self, state, pos, variables, items, effective, max_conc, tolerated_count, tolerated_pct
        )

    def select_item(
        self, state: MapState, pos: Position, variables: Variables, effective: JSON, index: int, item: JSON
    ) -> JSON:
        """One Map item through ItemSelector."""
        return IO[state.query_language].item_input(self, state, pos, variables, effective, index, item)

    async def branches(
        self, state: ParallelState, pos: Position, variables: Variables, branch_input: JSON
    ) -> list[JSON]:
        return await parallel.branches(self, state, pos, variables, branch_input)

    def retry(self, retriers: tuple[Retrier, ...], pos: Position, err: StatesError) -> float | None:
        return retry_catch.retry(self, retriers, pos, err)

    def catch(
        self, state: State, pos: Position, variables: Variables, err: StatesError
    ) -> tuple[JSON, str] | None:
        return retry_catch.catch(self, state, pos, variables, err)


class _Detached(Interpreter):
    """A Distributed Map's child runs: their events stay out of the parent history (as on AWS)."""

    __slots__ = ()

    def __init__(self, parent: Interpreter, map_run_scope: str) -> None:
        record = parent.record
        for slot in Interpreter.__slots__:
            setattr(self, slot, getattr(parent, slot))
        # Not charged to the parent's 25,000-event budget either, as on AWS.
        self.history = History(enabled=False, limit=None)
        self.record = record
        self.map_run_scope = map_run_scope

    def event(self, event_type: str, details: Mapping[str, JSON] | None = None) -> int:
        return self.history.append(event_type, self.clock.timestamp(), details)
