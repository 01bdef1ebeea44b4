"""The execution record and the interpreter that advances it.

An execution is data (``ExecutionRecord``): its status, input, variables,
history and ``Position`` — the current state, that state's input, retry
counters, Map progress and an executor's resumable handle. The interpreter
(``Interpreter``) moves the position forward one state at a time and keeps no
progress in Python stack frames that the record does not also hold, so a
store can persist the record and ``Engine.resume`` can continue it.

Plain states (Pass, Choice, Succeed, Fail) run as plain function calls; only
Task, Wait, Map and Parallel await. That keeps a transition cheap and every
``await`` a visible cancel point.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import ChainMap
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Final, NoReturn

import anyio

from engine import jsonata
from engine.callbacks import TaskTokens, new_token, run_with_token
from engine.definition.choice import parse_timestamp
from engine.definition.model import (
    JSONATA,
    Catcher,
    ChoiceState,
    CompiledValue,
    FailState,
    MapState,
    ParallelState,
    PassState,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    WaitState,
)
from engine.errors import (
    ExceedToleratedFailureThreshold,
    HeartbeatTimeout,
    NoChoiceMatched,
    QueryEvaluationError,
    ResultPathMatchFailure,
    StatesError,
    StatesRuntime,
    StatesTimeout,
    TaskFailed,
)
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern, Listen, Parked
from engine.history import History, format_timestamp
from engine.jsonvalue import JSON, NotJSON, check_value, dumps, dumps_str
from engine.paths import PathNotFound, PathSetError, set_path
from engine.registry import ExecutorRegistry, UnknownResource, parse_resource
from engine.retry import error_matches, retry_delay
from engine.runtime.clock import Clock
from engine.scope import Scope
from engine.size_guard import SizeGuard

SUCCEEDED: Final = "SUCCEEDED"
FAILED: Final = "FAILED"
TIMED_OUT: Final = "TIMED_OUT"
ABORTED: Final = "ABORTED"
RUNNING: Final = "RUNNING"
_EMPTY: Final[dict[str, JSON]] = {}
_RETRYABLE: Final = frozenset({"Task", "Map", "Parallel"})
SYNC_STEPS_PER_YIELD: Final = 100
"""Plain states an execution runs in a row before it lets the loop run others (and its stop or timeout act)."""
MAX_WAIT_SECONDS: Final = 99_999_999
"""The largest Seconds a Wait state takes (AWS's definition rule, applied to SecondsPath too)."""
RESULT_WHAT: Final = "The state/task '%s' returned a result"
PARAMETERS_WHAT: Final = "The parameters of state/task '%s' are"


@dataclass
class MapProgress:
    """Which Map iterations have finished, and their results (for resume)."""

    results: dict[int, JSON] = field(default_factory=dict)


@dataclass(slots=True)
class Position:
    """Where one scope (the execution, a Parallel branch, a Map iteration) stands.

    Attributes:
        state: the current state's name.
        input: the current state's raw input.
        retry_counts: attempts used per retrier of the current state.
        handle: the executor's resumable handle for the current Task, if any.
        map_progress: finished iterations of the current Map state.
        children: positions of running branches/iterations, by key.
        entered_event_id: the id of the current state's Entered event.
        due: when the current Wait (or retry back-off) ends, as POSIX seconds.
        started: the current Task's TaskScheduled/TaskStarted are recorded (a
            resumed Task does not record them again).
        task_token: the current ``.waitForTaskToken`` attempt's ``$$.Task.Token``.
    """

    state: str
    input: JSON
    retry_counts: list[int] = field(default_factory=list)
    handle: JSON = None
    map_progress: MapProgress | None = None
    children: dict[str, Position] = field(default_factory=dict)
    entered_event_id: int = 0
    due: float | None = None
    started: bool = False
    task_token: str | None = None

    def enter(self, state: str, value: JSON) -> None:
        self.state = state
        self.input = value
        self.entered_event_id = 0
        self.started = False
        if self.retry_counts:
            self.retry_counts = []
        self.handle = None
        self.due = None
        self.map_progress = None
        if self.task_token is not None:
            self.task_token = None
        if self.children:
            self.children = {}


@dataclass(slots=True)
class ExecutionRecord:
    """Everything about one execution; enough to resume it."""

    execution_arn: str
    name: str
    state_machine_arn: str
    state_machine_name: str
    input: JSON
    start_time: datetime
    role_arn: str
    position: Position
    variables: dict[str, JSON] = field(default_factory=dict)
    status: str = RUNNING
    output: JSON = None
    error: str | None = None
    cause: str | None = None
    stop_time: datetime | None = None
    history: History = field(default_factory=History)
    redrive_count: int = 0
    state_machine_type: str = "STANDARD"


class _Failure(Exception):
    """A state failed with a StatesError: carried up through the scopes."""

    def __init__(self, error: StatesError) -> None:
        super().__init__(error.error)
        self.error = error


@dataclass
class RuntimeConfig:
    """What the interpreter needs from its engine."""

    registry: ExecutorRegistry
    clock: Clock
    guard: SizeGuard
    region: str = "us-east-1"
    executor_options: Mapping[str, object] = field(default_factory=dict)
    resource_options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    state_options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    on_transition: Callable[[ExecutionRecord], None] | None = None
    on_event: Callable[[ExecutionRecord, str, Mapping[str, JSON] | None], None] | None = None
    on_progress: Callable[[ExecutionRecord, str, Mapping[str, JSON]], None] | None = None
    """Told what waiting Tasks wait for (``TaskWaiting``) and of retries (``RetryScheduled``); not history."""
    commit: Callable[[ExecutionRecord], Awaitable[None]] | None = None
    """With a durable store: returns once the record is committed (awaited before every Task call)."""
    suspending: bool = False
    """Set while the engine suspends its executions (durable store): cancelled work must not be undone."""
    dropped: set[str] = field(default_factory=set)
    """Executions this engine stops running without an end (a shared store gave them to another worker)."""
    park: bool = True
    """Offer ``ExecutorContext.park`` to Tasks that can wait without a task of their own."""
    task_tokens: TaskTokens = field(default_factory=TaskTokens)
    """The tokens of ``.waitForTaskToken`` Tasks, answered through ``SendTask*``."""
    _merged_options: dict[tuple[str, str, str], Mapping[str, object]] = field(
        default_factory=dict, init=False, repr=False
    )
    _started: dict[tuple[str, str], dict[str, JSON]] = field(default_factory=dict, init=False, repr=False)

    def started_details(self, service: str, resource: str) -> dict[str, JSON]:
        """``TaskStarted``'s details for a resource: one dict shared by every execution.

        History details are never changed once recorded, and a waiting
        execution should not carry a copy of what all of them share.
        """
        key = (service, resource)
        found = self._started.get(key)
        if found is None:
            short = resource.rsplit(":", 1)[-1] if resource.startswith("arn:aws:states:::") else resource
            found = self._started[key] = {"resourceType": service, "resource": short}
        return found

    def options_for(self, resource: str, base: str, state_name: str) -> Mapping[str, object]:
        """Engine-wide, then per resource (with or without its pattern suffix), then per state.

        Merged once per (resource, state) and shared read-only by every call,
        rather than copied for each Task that waits.
        """
        key = (resource, base, state_name)
        merged = self._merged_options.get(key)
        if merged is None:
            options: dict[str, object] = dict(self.executor_options)
            options.update(self.resource_options.get(base, _EMPTY))
            options.update(self.resource_options.get(resource, _EMPTY))
            options.update(self.state_options.get(state_name, _EMPTY))
            merged = self._merged_options[key] = MappingProxyType(options)
        return merged


def _iso(t: datetime) -> str:
    return format_timestamp(t)


class LazyRandom:
    """An execution's random source, created on first use.

    A ``random.Random`` carries ~2.5 KB of Mersenne Twister state and seeding
    it costs tens of microseconds; most executions never draw. This proxy
    keeps only the seed until something draws, then delegates every call to a
    ``random.Random(seed)``, so draws are exactly those of a seeded Random.
    """

    __slots__ = ("_rng", "_seed")

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rng: random.Random | None = None

    def _real(self) -> random.Random:
        rng = self._rng
        if rng is None:
            rng = self._rng = random.Random(self._seed)
        return rng

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


def _no_beat() -> None:
    return None


def _no_report(details: Mapping[str, JSON]) -> None:
    return None


class _TaskHooks:
    """What an executor reports back through its context: heartbeats, handles, extra events.

    One slotted object per running Task instead of three closures and their
    cells: it lives as long as the Task waits, which for ``.sync`` tasks is long.
    """

    __slots__ = ("_deadline", "_heartbeat", "_interp", "_pos", "_resource", "_resource_type", "_scope")

    def __init__(
        self,
        interp: Interpreter,
        pos: Position,
        resource_type: JSON,
        resource: JSON,
        scope: anyio.CancelScope | None,
        deadline: float,
        heartbeat: float | None,
    ) -> None:
        self._interp = interp
        self._pos = pos
        self._resource_type = resource_type
        self._resource = resource
        self._scope = scope
        self._deadline = deadline
        self._heartbeat = heartbeat

    def beat(self) -> None:
        if self._heartbeat is not None and self._scope is not None:
            self._scope.deadline = min(self._deadline, self._interp.clock.monotonic() + self._heartbeat)

    def suspending(self) -> bool:
        config = self._interp.config
        return config.suspending or self._interp.record.execution_arn in config.dropped

    def save_handle(self, handle: JSON) -> None:
        self._pos.handle = handle
        interp = self._interp
        if interp.config.on_transition is not None:
            interp.config.on_transition(interp.record)

    def emit(self, event_type: str, extra: Mapping[str, JSON]) -> None:
        d: dict[str, JSON] = {"resourceType": self._resource_type, "resource": self._resource}
        d.update(extra)
        self._interp.event(event_type, d)

    @staticmethod
    def park(listen: Listen) -> NoReturn:
        raise Parked(listen)

    def report(self, details: Mapping[str, JSON]) -> None:
        interp = self._interp
        on_progress = interp.config.on_progress
        if on_progress is not None:
            on_progress(interp.record, "TaskWaiting", {"state": self._pos.state, **details})


class Interpreter:
    """Runs one execution's state machine, advancing its record."""

    # Slotted: one interpreter lives as long as its execution, thousands at once.
    __slots__ = (
        "_assigned",
        "_execution_ctx_cache",
        "_fast_scope",
        "_machine_ctx",
        "_sync_steps",
        "_timestamp",
        "clock",
        "config",
        "guard",
        "history",
        "machine",
        "may_park",
        "record",
        "rng",
        "task_override",
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
        self.clock = config.clock
        self.guard = config.guard
        self._execution_ctx_cache: dict[str, JSON] | None = None
        self._assigned: dict[str, JSON] | None = None
        # Made on the first simple Pass with Parameters: an execution that only waits never needs it.
        self._fast_scope: Scope | None = None
        # Set by the execution: whether a Task may park now (not once a stop is
        # requested), and whether the current Task is being run again after parking.
        self.may_park = config.park and machine.timeout_seconds is None
        self.unparked = False
        # Set for a test case: state name -> the executor that replaces the registry's, or None.
        self.task_override: Callable[[str], Any] | None = None
        self._sync_steps = 0
        self._timestamp = config.clock.timestamp
        self._machine_ctx: dict[str, JSON] = {
            "Id": record.state_machine_arn,
            "Name": record.state_machine_name,
        }

    # Plain states run as plain calls (no coroutine per transition); the table holds
    # the functions, not bound methods, so nothing is built per execution.
    _SYNC_HANDLERS: ClassVar[dict[str, Callable[..., tuple[JSON, str | None]]]] = {}

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
                "StartTime": _iso(record.start_time),
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

    # -- context ---------------------------------------------------------
    def context(
        self,
        pos: Position,
        map_item: JSON = None,
        entered: datetime | None = None,
        *,
        retryable: bool = False,
    ) -> dict[str, JSON]:
        state: dict[str, JSON] = {"EnteredTime": _iso(entered or self.clock.now()), "Name": pos.state}
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
    async def run_scope(
        self,
        machine: StateMachine,
        pos: Position,
        variables: MutableMapping[str, JSON],
        map_item: JSON = None,
    ) -> JSON:
        """Run states from ``pos`` until the scope ends; return its output.

        Raises:
            _Failure: the scope failed with an uncaught error.
        """
        states = machine.states
        sync_handlers = self._SYNC_HANDLERS
        history = self.history
        timestamp = self._timestamp
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
            try:
                handler = sync_handlers.get(state.type)
                if handler is not None:
                    output, nxt = handler(self, state, pos, variables)
                    self._sync_steps += 1
                    if self._sync_steps >= SYNC_STEPS_PER_YIELD:
                        # A loop of Pass or Choice states never awaits: yield now and then, so
                        # other executions run and this one's stop and TimeoutSeconds can act.
                        self._sync_steps = 0
                        await asyncio.sleep(0)
                elif state.type == "Task":
                    # Called directly, not through step(): one coroutine frame fewer
                    # for every execution waiting in a Task.
                    output, nxt = await self.s_task(state, pos, variables)  # type: ignore[arg-type]
                else:
                    output, nxt = await self.step(state, pos, variables, map_item)
            except StatesError as err:
                if (
                    err.state_scoped
                    and err.cause is not None
                    and not err.cause.startswith("An error occurred")
                ):
                    err.cause = (
                        f"An error occurred while executing the state '{state.name}' "
                        f"(entered at the event id #{pos.entered_event_id}). {err.cause}"
                    )
                if err.error == "States.QueryEvaluationError" and not (
                    isinstance(err, QueryEvaluationError) and err.evaluation_recorded
                ):
                    # AWS records the failed JSONata evaluation as its own event.
                    self.event(
                        "EvaluationFailed",
                        {"error": err.error, "cause": err.cause or "", "state": state.name},
                    )
                caught = self.catch(state, pos, variables, err)
                if caught is None:
                    raise _Failure(err) from None
                output, nxt = caught
            if nxt is None:
                return output
            pos.enter(nxt, output)

    async def step(
        self, state: State, pos: Position, variables: MutableMapping[str, JSON], map_item: JSON
    ) -> tuple[JSON, str | None]:
        """Run one state; return (output, next state or None at the end)."""
        t = state.type
        if t == "Pass":
            return self.s_pass(state, pos, variables)  # type: ignore[arg-type]
        if t == "Choice":
            return self.s_choice(state, pos, variables)  # type: ignore[arg-type]
        if t == "Task":
            return await self.s_task(state, pos, variables)  # type: ignore[arg-type]
        if t == "Wait":
            return await self.s_wait(state, pos, variables)  # type: ignore[arg-type]
        if t == "Succeed":
            return self.s_succeed(state, pos, variables)  # type: ignore[arg-type]
        if t == "Fail":
            self.s_fail(state, pos, variables)  # type: ignore[arg-type]
        if t == "Map":
            return await self.s_map(state, pos, variables)  # type: ignore[arg-type]
        if t == "Parallel":
            return await self.s_parallel(state, pos, variables)  # type: ignore[arg-type]
        raise StatesRuntime(cause=f"unknown state type {t}")  # pragma: no cover - the parser refuses it

    # -- I/O processing (JSONPath) -----------------------------------------
    def scope_for(
        self, state: State, pos: Position, value: JSON, variables: Mapping[str, JSON], map_item: JSON = None
    ) -> Scope:
        return Scope(
            value,
            self.context(pos, map_item, retryable=state.type in _RETRYABLE) if state.needs_context else None,
            variables,
            self.rng,
        )

    def input_path(self, state: State, value: JSON, scope: Scope) -> JSON:
        return _select(state.input_path, state.input_path_null, value, scope)

    def output_path(self, state: State, value: JSON, scope: Scope) -> JSON:
        scope.input = value
        return _select(state.output_path, state.output_path_null, value, scope)

    def result_path(self, state: Any, raw_input: JSON, result: JSON) -> JSON:
        if state.result_path_null:
            return raw_input
        path = state.result_path
        if path is None:
            return result
        try:
            return set_path(raw_input, path, result)
        except PathSetError as exc:
            raise ResultPathMatchFailure(
                cause=f"Unable to apply ResultPath '{path.text}' to input '{dumps_str(raw_input)}': {exc}"
            ).scoped() from None

    def assign_jsonpath(
        self, state: State, assign: CompiledValue | None, value: JSON, scope: Scope
    ) -> dict[str, JSON] | None:
        if assign is None or assign.evaluate is None:
            return None
        scope.input = value
        out = assign.evaluate(scope)
        return out if isinstance(out, dict) else None

    def apply_assign(
        self, updates: dict[str, JSON] | None, variables: MutableMapping[str, JSON], where: str
    ) -> None:
        if not updates:
            return
        for k, v in updates.items():
            self.guard.check(v, "The variable '%s' assigned in state '%s' has a value", k, where)
        self.guard.check(updates, "The Assign field of state '%s' produced a value", where)
        variables.update(updates)
        self._assigned = updates

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

    # -- JSONata helpers ---------------------------------------------------
    def bindings(
        self, pos: Position, value: JSON, variables: Mapping[str, JSON], **extra: JSON
    ) -> ChainMap[str, JSON]:
        states = {"input": value, "context": self.context(pos)}
        states.update(extra)
        return ChainMap({"states": states}, variables)  # type: ignore[arg-type]

    def jsonata_eval(self, cv: CompiledValue, bindings: Mapping[str, JSON]) -> JSON:
        template: Any = cv.jsonata
        try:
            return template.evaluate(bindings, rng=self.rng, now_millis=self._now_millis())
        except QueryEvaluationError as err:
            raise err.scoped() from None

    def _now_millis(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def jsonata_expr(self, expr: Any, field_name: str, bindings: Mapping[str, JSON]) -> JSON:
        try:
            return expr.evaluate_field(bindings, field_name, rng=self.rng, now_millis=self._now_millis())
        except QueryEvaluationError as err:
            raise err.scoped() from None

    def jsonata_finish(
        self,
        state: State,
        pos: Position,
        variables: MutableMapping[str, JSON],
        value: JSON,
        default: JSON,
        **extra: JSON,
    ) -> JSON:
        """Evaluate Assign and Output of a JSONata state; apply Assign; return the output."""
        b = self.bindings(pos, value, variables, **extra)
        updates = self.jsonata_eval(state.assign, b) if state.assign is not None else None
        out = self.jsonata_eval(state.output, b) if state.output is not None else default
        self.apply_assign(updates if isinstance(updates, dict) else None, variables, state.name)
        return out

    # -- state types --------------------------------------------------------
    def s_pass(
        self, state: PassState, pos: Position, variables: MutableMapping[str, JSON]
    ) -> tuple[JSON, str | None]:
        raw = pos.input
        if state.simple:
            # The common shape (Parameters/Result + ResultPath), decided at parse time,
            # without the general machinery: this is the hot path of Pass chains.
            params = state.parameters
            if params is not None:
                # One reused scope: evaluation is synchronous, so nothing else can see it meanwhile.
                sc = self._fast_scope
                if sc is None:
                    sc = self._fast_scope = Scope(None, None, {}, self.rng)
                sc.input = raw
                sc.variables = variables
                result = params.evaluate(sc)  # type: ignore[misc]
            elif state.has_result:
                result = state.result
            else:
                result = raw
            path = state.result_path
            if state.result_path_null:
                out = raw
            elif path is None:
                out = result
            else:
                try:
                    out = set_path(raw, path, result)
                except PathSetError:
                    out = self.result_path(state, raw, result)
            limit = self.guard.limit
            if limit is not None and len(dumps(out)) > limit:
                self.guard.check(out, RESULT_WHAT, state.name)
            self.history.state_event("PassStateExited", self._timestamp(), state.name, out)
            if self.config.on_event is not None:
                self.config.on_event(self.record, "PassStateExited", {"name": state.name, "output": out})
            return out, state.next
        if state.query_language == JSONATA:
            out = self.jsonata_finish(state, pos, variables, raw, raw)
        else:
            scope = self.scope_for(state, pos, raw, variables)
            effective = self.input_path(state, raw, scope)
            if state.parameters is not None:
                scope.input = effective
                result = state.parameters.evaluate(scope)  # type: ignore[misc]
            elif state.has_result:
                result = state.result
            else:
                result = effective
            updates = self.assign_jsonpath(state, state.assign, result, scope)
            out = self.result_path(state, raw, result)
            out = self.output_path(state, out, scope)
            self.apply_assign(updates, variables, state.name)
        self.guard.check(out, RESULT_WHAT, state.name)
        self.exited(state, out)
        return out, state.next

    def s_succeed(
        self, state: SucceedState, pos: Position, variables: MutableMapping[str, JSON]
    ) -> tuple[JSON, None]:
        raw = pos.input
        if state.query_language == JSONATA:
            out = self.jsonata_finish(state, pos, variables, raw, raw)
        else:
            scope = self.scope_for(state, pos, raw, variables)
            out = self.output_path(state, self.input_path(state, raw, scope), scope)
        self.exited(state, out)
        return out, None

    def s_fail(self, state: FailState, pos: Position, variables: MutableMapping[str, JSON]) -> None:
        raw = pos.input
        error, cause = state.error, state.cause
        if state.query_language == JSONATA:
            b = self.bindings(pos, raw, variables)
            if state.error_jsonata is not None:
                error = _to_str(self.jsonata_expr(state.error_jsonata, "Error", b))
            if state.cause_jsonata is not None:
                cause = _to_str(self.jsonata_expr(state.cause_jsonata, "Cause", b))
        else:
            scope = self.scope_for(state, pos, raw, variables)
            if state.error_path is not None:
                error = _to_str(
                    self._fail_path(state.error_path, state.error_path_text or "", "ErrorPath", scope)
                )
            if state.cause_path is not None:
                cause = _to_str(
                    self._fail_path(state.cause_path, state.cause_path_text or "", "CausePath", scope)
                )
        raise _Failure(StatesError(error or "", cause))

    def _fail_path(self, ev: Callable[[Scope], JSON], text: str, field_name: str, scope: Scope) -> JSON:
        try:
            return ev(scope)
        except StatesError as err:
            if err.error == "States.Runtime":
                raise StatesRuntime(
                    cause=f"The JSONPath '{text}' specified for the field '{field_name}' could not be found "
                    f"in the input '{dumps_str(scope.input)}'"
                ).scoped() from None
            raise

    def s_choice(
        self, state: ChoiceState, pos: Position, variables: MutableMapping[str, JSON]
    ) -> tuple[JSON, str | None]:
        raw = pos.input
        if state.query_language == JSONATA:
            b = self.bindings(pos, raw, variables)
            for rule in state.choices:
                if rule.jsonata_condition is not None:
                    ok = self.jsonata_expr(rule.jsonata_condition, "Condition", b)
                    if not isinstance(ok, bool):
                        raise QueryEvaluationError(
                            cause=f"The JSONata expression '{rule.jsonata_condition.text}' specified for the field "
                            f"'Condition' returned an unexpected result type. Expected 'boolean', but was "
                            f"'{_jtype(ok)}' for value: {dumps_str(ok)}"
                        ).scoped()
                else:
                    ok = rule.test(Scope(raw))
                if ok:
                    updates = self.jsonata_eval(rule.assign, b) if rule.assign is not None else None
                    out = (
                        self.jsonata_eval(rule.output, b)
                        if rule.output is not None
                        else (self.jsonata_eval(state.output, b) if state.output is not None else raw)
                    )
                    self.apply_assign(updates if isinstance(updates, dict) else None, variables, state.name)
                    self.exited(state, out)
                    return out, rule.next
            if state.default is None:
                raise NoChoiceMatched(cause=f"No Matches! at state '{state.name}'")
            out = self.jsonata_finish(state, pos, variables, raw, raw)
            self.exited(state, out)
            return out, state.default
        scope = self.scope_for(state, pos, raw, variables)
        effective = self.input_path(state, raw, scope)
        scope.input = effective
        target: str | None = None
        rule_assign = None
        for rule in state.choices:
            if rule.test(scope):
                target = rule.next
                rule_assign = rule.assign
                break
        if target is None:
            if state.default is None:
                raise NoChoiceMatched(cause=f"No Matches! at state '{state.name}'")
            target = state.default
        updates = self.assign_jsonpath(
            state, rule_assign if rule_assign is not None else state.assign, effective, scope
        )
        out = self.output_path(state, effective, scope)
        self.apply_assign(updates, variables, state.name)
        self.exited(state, out)
        return out, target

    async def s_wait(
        self, state: WaitState, pos: Position, variables: MutableMapping[str, JSON]
    ) -> tuple[JSON, str | None]:
        raw = pos.input
        if state.query_language == JSONATA:
            b = self.bindings(pos, raw, variables)
            seconds: float | None = state.seconds
            stamp: str | None = state.timestamp
            if state.seconds_jsonata is not None:
                v = self.jsonata_expr(state.seconds_jsonata, "Seconds", b)
                if not _is_wait_seconds(v):
                    raise QueryEvaluationError(
                        cause=f"The JSONata expression '{state.seconds_jsonata.text}' specified for the field 'Seconds' "
                        f"returned an unexpected result type. Expected 'integer', but was '{_jtype(v)}' for value: {dumps_str(v)}"
                    ).scoped()
                seconds = float(v)
            if state.timestamp_jsonata is not None:
                v = self.jsonata_expr(state.timestamp_jsonata, "Timestamp", b)
                if not isinstance(v, str) or parse_timestamp(v) is None:
                    raise QueryEvaluationError(
                        cause=f"The JSONata expression specified for the field 'Timestamp' returned an invalid timestamp: {dumps_str(v)}"
                    ).scoped()
                stamp = v
            await self._wait(seconds, stamp, pos)
            out = self.jsonata_finish(state, pos, variables, raw, raw)
        else:
            scope = self.scope_for(state, pos, raw, variables)
            effective = self.input_path(state, raw, scope)
            scope.input = effective
            seconds = state.seconds
            stamp = state.timestamp
            if state.seconds_path is not None:
                v = _get_or_runtime(state.seconds_path, scope, "SecondsPath")
                if not _is_wait_seconds(v):
                    raise StatesRuntime(
                        cause=f"The SecondsPath parameter does not reference a valid integer value: {dumps_str(v)}"
                    ).scoped()
                seconds = float(v)
            if state.timestamp_path is not None:
                v = _get_or_runtime(state.timestamp_path, scope, "TimestampPath")
                if not isinstance(v, str) or parse_timestamp(v) is None:
                    raise StatesRuntime(
                        cause=f"The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {dumps_str(v)}"
                    ).scoped()
                stamp = v
            await self._wait(seconds, stamp, pos)
            updates = self.assign_jsonpath(state, state.assign, effective, scope)
            out = self.output_path(state, effective, scope)
            self.apply_assign(updates, variables, state.name)
        self.exited(state, out)
        return out, state.next

    async def _wait(self, seconds: float | None, stamp: str | None, pos: Position) -> None:
        if pos.due is not None:  # resumed: the due time is part of the position
            await self.sleep_until_due(pos)
            return
        if seconds is not None:
            delay = seconds
        elif stamp is not None:
            when = parse_timestamp(stamp)
            delay = when.timestamp() - self.clock.timestamp() if when is not None else 0.0
        else:
            delay = 0.0
        await self.sleep_for(pos, delay)

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

    # -- Task ----------------------------------------------------------------
    async def s_task(
        self, state: TaskState, pos: Position, variables: MutableMapping[str, JSON]
    ) -> tuple[JSON, str | None]:
        raw = pos.input
        jsonata_mode = state.query_language == JSONATA
        # A test case's mocked Task runs its mock instead of the registry's executor.
        executor = self.task_override(state.name) if self.task_override is not None else None
        if executor is not None:
            parsed = parse_resource(state.resource)
        else:
            try:
                parsed, reg = self.config.registry.lookup(state.resource)
            except UnknownResource as exc:
                raise StatesRuntime(cause=str(exc)).scoped() from None
            executor = reg.executor
        options = self.config.options_for(state.resource, parsed.base, state.name)
        # A mocked callback Task gets its token too ($$.Task.Token, as Step Functions Local makes one up)
        # and answers with its mocked response at once (its executor answers_callbacks).
        callback = parsed.pattern is IntegrationPattern.WAIT_FOR_TASK_TOKEN
        while True:
            if pos.due is not None:  # resumed in a retry back-off: wait what remains
                await self.sleep_until_due(pos)
            if callback and not _token_submitted(pos):
                # A fresh token for every attempt; a resumed or unparked attempt keeps its own.
                pos.task_token = new_token()
            # Parameters are evaluated for every attempt: $$.State.RetryCount changes between them.
            scope = self.scope_for(state, pos, raw, variables)
            if jsonata_mode:
                b = self.bindings(pos, raw, variables)
                params = self.jsonata_eval(state.parameters, b) if state.parameters is not None else raw
                credentials = (
                    self.jsonata_eval(state.credentials, b) if state.credentials is not None else None
                )
                timeout = self._jsonata_seconds(
                    state.timeout_jsonata, "TimeoutSeconds", b, state.timeout_seconds
                )
                heartbeat = self._jsonata_seconds(
                    state.heartbeat_jsonata, "HeartbeatSeconds", b, state.heartbeat_seconds
                )
            else:
                effective = self.input_path(state, raw, scope)
                scope.input = effective
                params = state.parameters.evaluate(scope) if state.parameters is not None else effective  # type: ignore[misc]
                credentials = state.credentials.evaluate(scope) if state.credentials is not None else None  # type: ignore[misc]
                timeout = self._path_seconds(
                    state.timeout_seconds_path, "TimeoutSecondsPath", scope, state.timeout_seconds
                )
                heartbeat = self._path_seconds(
                    state.heartbeat_seconds_path, "HeartbeatSecondsPath", scope, state.heartbeat_seconds
                )
            self.guard.check(params, PARAMETERS_WHAT, state.name)
            call = ExecutorCall(
                resource=state.resource,
                service=parsed.service,
                action=parsed.action,
                pattern=parsed.pattern,
                parameters=params,
                credentials=credentials,
            )
            try:
                result = await self._invoke(state, pos, executor, call, timeout, heartbeat, options)
                break
            except StatesError as err:
                delay = self._retry(state.retry, pos, err)
                if delay is None:
                    raise
                if callback:
                    pos.task_token = None
                await self.retry_sleep(pos, delay)
        return self.finish_with_result(state, pos, variables, result, scope)

    def finish_with_result(
        self, state: Any, pos: Position, variables: MutableMapping[str, JSON], result: JSON, scope: Scope
    ) -> tuple[JSON, str | None]:
        """A Task's, Map's or Parallel's result → its output: ResultSelector, Assign, ResultPath, OutputPath.

        In JSONata, Output and Assign see the result as ``$states.result``.
        """
        raw = pos.input
        if state.query_language == JSONATA:
            out = self.jsonata_finish(state, pos, variables, raw, result, result=result)
        else:
            if state.result_selector is not None:
                scope.input = result
                result = state.result_selector.evaluate(scope)
            updates = self.assign_jsonpath(state, state.assign, result, scope)
            out = self.result_path(state, raw, result)
            out = self.output_path(state, out, scope)
            self.apply_assign(updates, variables, state.name)
        self.guard.check(out, RESULT_WHAT, state.name)
        self.exited(state, out)
        return out, state.next

    def _jsonata_seconds(
        self, expr: Any, field_name: str, b: Mapping[str, JSON], default: float | None
    ) -> float | None:
        if expr is None:
            return default
        v = self.jsonata_expr(expr, field_name, b)
        if not _is_number(v) or v <= 0:
            raise QueryEvaluationError(
                cause=f"The JSONata expression '{expr.text}' specified for the field '{field_name}' returned an "
                f"unexpected result type. Expected 'integer', but was '{_jtype(v)}' for value: {dumps_str(v)}"
            ).scoped()
        return float(v)

    def _path_seconds(self, path: Any, field_name: str, scope: Scope, default: float | None) -> float | None:
        if path is None:
            return default
        v = _get_or_runtime(path, scope, field_name)
        if not _is_number(v) or v <= 0:
            raise StatesRuntime(
                cause=f"The {field_name} field refers to value {dumps_str(v)} which is not a valid positive integer"
            ).scoped()
        return float(v)

    async def _invoke(
        self,
        state: TaskState,
        pos: Position,
        executor: Any,
        call: ExecutorCall,
        timeout_s: float | None,
        heartbeat: float | None,
        options: Mapping[str, object],
    ) -> JSON:
        timeout = timeout_s
        kind = getattr(executor, "history_events", "Task")
        started = self.config.started_details(call.service, call.resource)
        details: dict[str, JSON] = {
            "resourceType": started["resourceType"],
            "resource": started["resource"],
            "region": self.config.region,
            "parameters": call.parameters,
        }
        if timeout is not None:
            details["timeoutInSeconds"] = int(timeout)
        if heartbeat is not None:
            details["heartbeatInSeconds"] = int(heartbeat)
        resumed = False
        if self.unparked:
            # The same Task, run again after it parked: it was scheduled and started already.
            self.unparked = False
        elif pos.started:
            # Resumed after a restart: the Task's start is in the stored history already.
            resumed = True
        elif kind == "Activity":
            # AWS records activity Tasks as Activity* events; ActivityStarted comes when a worker
            # takes the task (the executor records it).
            self.event("ActivityScheduled", _activity_scheduled(details, call.resource))
            pos.started = True
        else:
            self.event("TaskScheduled", details)
            self.event("TaskStarted", started)
            pos.started = True
        commit = self.config.commit
        if commit is not None:
            # A durable store: the call is made only once the record scheduling it is committed.
            await commit(self.record)
        clock = self.clock
        deadline = clock.monotonic() + timeout if timeout is not None else math.inf
        # Without TimeoutSeconds or HeartbeatSeconds nothing can expire: no cancel scope
        # (two sets each) for the many executions that wait in such a Task.
        scope = (
            anyio.CancelScope(
                deadline=min(deadline, clock.monotonic() + heartbeat if heartbeat is not None else math.inf)
            )
            if timeout is not None or heartbeat is not None
            else None
        )
        hooks = _TaskHooks(
            self, pos, details["resourceType"], details["resource"], scope, deadline, heartbeat
        )
        ctx = ExecutorContext(
            execution_arn=self.record.execution_arn,
            execution_name=self.record.name,
            state_machine_arn=self.record.state_machine_arn,
            state_name=state.name,
            attempt=sum(pos.retry_counts) if pos.retry_counts else 0,
            clock=clock,
            deadline=deadline if timeout is not None else None,
            heartbeat_seconds=heartbeat,
            heartbeat=hooks.beat if heartbeat is not None else _no_beat,
            options=options,
            handle=pos.handle,
            entered_event_id=pos.entered_event_id,
            resumed=resumed,
            suspending=hooks.suspending,
            save_handle=hooks.save_handle,
            emit=hooks.emit,
            park=hooks.park if scope is None and self.may_park and pos is self.record.position else None,
            report=hooks.report if self.config.on_progress is not None else _no_report,
            task_token=pos.task_token,
        )
        result: JSON = None
        run = executor.run
        if (
            call.pattern is IntegrationPattern.WAIT_FOR_TASK_TOKEN
            and pos.task_token is not None
            and not getattr(executor, "answers_callbacks", False)
        ):
            tokens = self.config.task_tokens

            def run(call: ExecutorCall, ctx: ExecutorContext) -> Any:
                return run_with_token(executor, call, ctx, tokens)

        try:
            if scope is None:
                result = await run(call, ctx)
            else:
                with scope:
                    result = await run(call, ctx)
        except StatesError as err:
            pos.started = False
            self.event(
                f"{kind}Failed",
                {
                    "resourceType": details["resourceType"],
                    "resource": details["resource"],
                    "error": err.error,
                    "cause": err.cause or "",
                },
            )
            raise
        except Exception as exc:  # an executor bug must not crash the engine
            pos.started = False
            err2 = TaskFailed(cause=f"{type(exc).__name__}: {exc}")
            self.event(
                f"{kind}Failed",
                {
                    "resourceType": details["resourceType"],
                    "resource": details["resource"],
                    "error": err2.error,
                    "cause": err2.cause or "",
                },
            )
            raise err2 from exc
        pos.started = False
        if scope is not None and scope.cancelled_caught:
            pos.handle = None
            if clock.monotonic() >= deadline:
                err3: StatesError = StatesTimeout(cause=None)
            else:
                err3 = HeartbeatTimeout(cause=None)
            self.event(
                f"{kind}TimedOut",
                {
                    "resourceType": details["resourceType"],
                    "resource": details["resource"],
                    "error": err3.error,
                    "cause": "",
                },
            )
            raise err3
        pos.handle = None
        try:
            check_value(result)
        except NotJSON as exc:
            # NaN, Infinity or a Python object from an executor: no service can return that.
            bad = StatesRuntime(
                cause=f"The state/task '{state.name}' returned a result that is not JSON: {exc}"
            )
            self.event(
                "TaskFailed",
                {
                    "resourceType": details["resourceType"],
                    "resource": details["resource"],
                    "error": bad.error,
                    "cause": bad.cause or "",
                },
            )
            raise bad from None
        size = self.guard.over(result)
        if size is not None:
            self.event(
                f"{kind}Failed",
                {
                    "resourceType": details["resourceType"],
                    "resource": details["resource"],
                    "error": "States.DataLimitExceeded",
                    "cause": f"The state/task '{state.name}' returned a result with a size exceeding the maximum number of bytes service limit.",
                },
            )
            self.guard.check(result, RESULT_WHAT, state.name)
        self.event(
            f"{kind}Succeeded",
            {"resourceType": details["resourceType"], "resource": details["resource"], "output": result},
        )
        return result

    # -- Retry / Catch -------------------------------------------------------
    def _retry(self, retriers: tuple[Any, ...], pos: Position, err: StatesError) -> float | None:
        if not retriers:
            return None
        if len(pos.retry_counts) != len(retriers):
            pos.retry_counts = [0] * len(retriers)
        for i, r in enumerate(retriers):
            if error_matches(r.error_equals, err.error):
                used = pos.retry_counts[i]
                if used >= r.max_attempts:
                    return None
                pos.retry_counts[i] = used + 1
                delay = retry_delay(r, used, self.rng)
                on_progress = self.config.on_progress
                if on_progress is not None:
                    on_progress(
                        self.record,
                        "RetryScheduled",
                        {"state": pos.state, "error": err.error, "retry": used + 1,
                         "maxAttempts": r.max_attempts, "delaySeconds": delay},
                    )  # fmt: skip
                return delay
        return None

    def catch(
        self, state: State, pos: Position, variables: MutableMapping[str, JSON], err: StatesError
    ) -> tuple[JSON, str] | None:
        catchers: tuple[Catcher, ...] = getattr(state, "catch", ())
        for c in catchers:
            if not error_matches(c.error_equals, err.error):
                continue
            error_output: dict[str, JSON] = {
                "Error": err.error,
                "Cause": err.cause if err.cause is not None else "",
            }
            raw = pos.input
            if state.query_language == JSONATA:
                b = self.bindings(pos, raw, variables, errorOutput=error_output)
                updates = self.jsonata_eval(c.assign, b) if c.assign is not None else None
                out = self.jsonata_eval(c.output, b) if c.output is not None else error_output
                self.apply_assign(updates if isinstance(updates, dict) else None, variables, state.name)
            else:
                scope = self.scope_for(state, pos, error_output, variables)
                updates = self.assign_jsonpath(state, c.assign, error_output, scope)
                if not c.result_path_set:
                    out = error_output
                elif c.result_path is None:
                    out = raw
                else:
                    try:
                        out = set_path(raw, c.result_path, error_output)
                    except PathSetError:
                        return None
                self.apply_assign(updates, variables, state.name)
            self.exited(state, out)
            return out, c.next
        return None

    # -- Map -------------------------------------------------------------------
    async def s_map(
        self, state: MapState, pos: Position, variables: MutableMapping[str, JSON]
    ) -> tuple[JSON, str | None]:
        try:
            items, effective, max_conc, scope = self._map_items(state, pos, variables)
            if state.item_batcher is not None:
                items = self._batches(state, pos, variables, items, effective)
        except QueryEvaluationError as err:
            # AWS: EvaluationFailed, then MapStateFailed (conformance map_state_items_*).
            self.event(
                "EvaluationFailed", {"error": err.error, "cause": err.cause or "", "state": state.name}
            )
            err.evaluation_recorded = True
            self.event("MapStateFailed")
            raise
        return await self._map_run(state, pos, variables, items, effective, max_conc, scope)

    def _batches(
        self,
        state: MapState,
        pos: Position,
        variables: MutableMapping[str, JSON],
        items: list[JSON],
        effective: JSON,
    ) -> list[JSON]:
        """ItemBatcher: each item through ItemSelector, then grouped; a child's input is ``{"Items": [...]}``."""
        batcher = state.item_batcher
        assert batcher is not None
        selected = [
            self._select_item(state, pos, variables, effective, i, item) for i, item in enumerate(items)
        ]
        max_items, max_bytes = batcher.max_items, batcher.max_bytes
        batch_input: JSON = None
        if state.query_language == JSONATA:
            b = self.bindings(pos, effective, variables)
            if batcher.max_items_jsonata is not None:
                max_items = self._jsonata_positive(batcher.max_items_jsonata, "MaxItemsPerBatch", b)
            if batcher.max_bytes_jsonata is not None:
                max_bytes = self._jsonata_positive(batcher.max_bytes_jsonata, "MaxInputBytesPerBatch", b)
            if batcher.batch_input is not None:
                batch_input = self.jsonata_eval(batcher.batch_input, b)
        else:
            scope = self.scope_for(state, pos, effective, variables)
            scope.input = effective
            if batcher.max_items_path is not None:
                max_items = _positive_from_path(batcher.max_items_path, scope, "MaxItemsPerBatchPath")
            if batcher.max_bytes_path is not None:
                max_bytes = _positive_from_path(batcher.max_bytes_path, scope, "MaxInputBytesPerBatchPath")
            if batcher.batch_input is not None:
                batch_input = batcher.batch_input.evaluate(scope)  # type: ignore[misc]
        return _group(selected, max_items, max_bytes, batch_input, batcher.batch_input is not None)

    def _select_item(
        self,
        state: MapState,
        pos: Position,
        variables: MutableMapping[str, JSON],
        effective: JSON,
        index: int,
        item: JSON,
    ) -> JSON:
        if state.item_selector is None:
            return item
        map_ctx = {"Item": {"Index": index, "Value": item}}
        if state.query_language == JSONATA:
            b = self.bindings(pos, effective, variables)
            b.maps[0]["states"]["context"]["Map"] = map_ctx
            return self.jsonata_eval(state.item_selector, b)
        sc = Scope(effective, self.context(pos, map_ctx), variables, self.rng)
        return state.item_selector.evaluate(sc)  # type: ignore[misc]

    def _jsonata_positive(self, expr: Any, field_name: str, b: Mapping[str, JSON]) -> int:
        v = self.jsonata_expr(expr, field_name, b)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise QueryEvaluationError(
                cause=f"The JSONata expression '{expr.text}' specified for the field '{field_name}' returned an "
                f"unexpected result type. Expected 'integer', but was '{_jtype(v)}' for value: {dumps_str(v)}"
            ).scoped()
        return v

    def _map_items(
        self, state: MapState, pos: Position, variables: MutableMapping[str, JSON]
    ) -> tuple[list[JSON], JSON, int, Scope]:
        raw = pos.input
        jsonata_mode = state.query_language == JSONATA
        scope = self.scope_for(state, pos, raw, variables)
        if jsonata_mode:
            b = self.bindings(pos, raw, variables)
            if state.items is not None:
                items = self.jsonata_eval(state.items, b)
                if not isinstance(items, list):
                    exprs = getattr(state.items.jsonata, "expressions", ())
                    expr_text = exprs[0].text if exprs else dumps_str(items)
                    raise QueryEvaluationError(
                        cause=jsonata.unexpected_type_cause(expr_text, "Items", "array", items)
                    ).scoped()
            else:
                items = raw
                if not isinstance(items, list):
                    raise QueryEvaluationError(
                        cause=f"Map state input must be an array but was: {dumps_str(items)}"
                    ).scoped()
            max_conc = state.max_concurrency
            if state.max_concurrency_jsonata is not None:
                max_conc = int(self.jsonata_expr(state.max_concurrency_jsonata, "MaxConcurrency", b))
            effective = raw
        else:
            effective = self.input_path(state, raw, scope)
            scope.input = effective
            if state.items_path is not None:
                items = _get_or_runtime(state.items_path, scope, "ItemsPath")
            else:
                items = effective
            if not isinstance(items, list):
                raise StatesRuntime(
                    cause=f"Map state input must be an array but was: {dumps_str(items)}"
                ).scoped()
            max_conc = state.max_concurrency
            if state.max_concurrency_path is not None:
                max_conc = _int_from_path(state.max_concurrency_path, scope, "MaxConcurrencyPath")
        return items, effective, max_conc, scope

    async def _map_run(
        self,
        state: MapState,
        pos: Position,
        variables: MutableMapping[str, JSON],
        items: list[JSON],
        effective: JSON,
        max_conc: int,
        scope: Scope,
    ) -> tuple[JSON, str | None]:
        jsonata_mode = state.query_language == JSONATA
        if pos.due is not None:  # resumed in a retry back-off: wait what remains
            await self.sleep_until_due(pos)
        if pos.map_progress is None:  # not when resumed with iterations already under way
            self.event("MapStateStarted", {"length": len(items)})
        tolerated_count = state.tolerated_failure_count
        tolerated_pct = state.tolerated_failure_percentage
        if not jsonata_mode:
            if state.tolerated_failure_count_path is not None:
                tolerated_count = _int_from_path(
                    state.tolerated_failure_count_path, scope, "ToleratedFailureCountPath"
                )
                if tolerated_count < 0:
                    raise StatesRuntime(cause="ToleratedFailureCount cannot be negative.").scoped()
            if state.tolerated_failure_percentage_path is not None:
                v = _get_or_runtime(
                    state.tolerated_failure_percentage_path, scope, "ToleratedFailurePercentagePath"
                )
                if isinstance(v, str):
                    try:
                        v = float(v)
                    except ValueError:
                        pass
                if not _is_number(v) or not 0 <= v <= 100:
                    raise StatesRuntime(
                        cause=f"The ToleratedFailurePercentagePath field refers to value {dumps_str(v)} which is not a valid percentage"
                    ).scoped()
                tolerated_pct = float(v)
        while True:
            try:
                results = await self._map_iterations(
                    state, pos, variables, items, effective, max_conc, tolerated_count, tolerated_pct
                )
                break
            except _Failure as f:
                delay = self._retry(state.retry, pos, f.error)
                if delay is None:
                    self.event("MapStateFailed")
                    raise f.error from None
                pos.map_progress = None
                await self.retry_sleep(pos, delay)
                self.event("MapStateStarted", {"length": len(items)})
        self.guard.check(results, RESULT_WHAT, state.name)
        self.event("MapStateSucceeded")
        return self.finish_with_result(state, pos, variables, results, scope)

    async def _map_iterations(
        self,
        state: MapState,
        pos: Position,
        variables: MutableMapping[str, JSON],
        items: list[JSON],
        effective: JSON,
        max_conc: int,
        tolerated_count: int | None,
        tolerated_pct: float | None,
    ) -> list[JSON]:
        if pos.map_progress is None:
            pos.map_progress = MapProgress()
        progress = pos.map_progress
        n = len(items)
        failures: list[StatesError] = []
        first_failure: list[StatesError] = []
        limiter = anyio.Semaphore(max_conc) if max_conc and max_conc > 0 else None
        if state.distributed:
            self.event(
                "MapRunStarted",
                {"mapRunArn": f"{self.record.state_machine_arn}/{state.name}:{self.record.name}"},
            )
        interp = self if not state.distributed else _Detached(self)
        jsonata_mode = state.query_language == JSONATA

        def threshold_exceeded() -> bool:
            if not state.distributed:
                return bool(failures)
            if tolerated_count is None and tolerated_pct is None:
                return bool(failures)
            ok_count = tolerated_count is not None and len(failures) <= tolerated_count
            ok_pct = tolerated_pct is not None and n > 0 and (len(failures) * 100.0 / n) <= tolerated_pct
            return not (ok_count or ok_pct)

        # An exception that is no ASL failure (the history quota, a fault): it ends the execution.
        fatal: list[Exception] = []

        def fail(err: StatesError, tg: anyio.abc.TaskGroup) -> None:
            failures.append(err)
            if threshold_exceeded() and not first_failure:
                # The first failure in time decides the Map's error, as on AWS; the siblings are cancelled.
                first_failure.append(err)
                tg.cancel_scope.cancel()

        async def one(index: int, tg: anyio.abc.TaskGroup) -> None:
            item = items[index]
            key = f"{index}"
            started = False
            try:
                child = pos.children.get(key)
                if child is None:
                    map_ctx = {"Item": {"Index": index, "Value": item}}
                    if state.item_selector is not None and state.item_batcher is None:
                        # (With ItemBatcher the selector ran on each item before batching.)
                        if jsonata_mode:
                            b = self.bindings(pos, effective, variables)
                            b.maps[0]["states"]["context"]["Map"] = map_ctx
                            item_input = self.jsonata_eval(state.item_selector, b)
                        else:
                            sc = Scope(effective, self.context(pos, map_ctx), variables, self.rng)
                            item_input = state.item_selector.evaluate(sc)  # type: ignore[misc]
                    else:
                        item_input = item
                    child = Position(state.processor.start_at, item_input)
                    pos.children[key] = child
                    interp.event("MapIterationStarted", {"name": state.name, "index": index})
                # else: resumed in the middle of this iteration; it continues where it was.
                started = True
                out = await interp.run_scope(state.processor, child, ChainMap({}, variables))
            except _Failure as f:
                interp.event("MapIterationFailed", {"name": state.name, "index": index})
                fail(f.error, tg)
                return
            except StatesError as err:  # the ItemSelector failed: the iteration never started
                fail(err, tg)
                return
            except anyio.get_cancelled_exc_class():
                if started:
                    interp.event("MapIterationAborted", {"name": state.name, "index": index})
                raise
            except Exception as exc:
                if not fatal:
                    fatal.append(exc)
                    tg.cancel_scope.cancel()
                return
            finally:
                pos.children.pop(key, None)
            progress.results[index] = out
            interp.event("MapIterationSucceeded", {"name": state.name, "index": index})
            if self.config.on_transition is not None:  # the iteration's result is progress to keep
                self.config.on_transition(self.record)

        async def guarded(index: int, tg: anyio.abc.TaskGroup) -> None:
            if limiter is None:
                await one(index, tg)
                return
            async with limiter:
                if not first_failure and not fatal:
                    await one(index, tg)

        if limiter is not None and max_conc == 1:
            # Sequential iterations need no task group: cheaper, and events stay in item order.
            class _Seq:
                cancel_scope = anyio.CancelScope()

            seq: Any = _Seq()
            for i in range(n):
                if i in progress.results:
                    continue
                await one(i, seq)
                if first_failure or fatal:
                    break
        else:
            async with anyio.create_task_group() as tg:
                for i in range(n):
                    if i not in progress.results:
                        tg.start_soon(guarded, i, tg)
        if fatal:
            raise fatal[0]
        if first_failure:
            err = first_failure[0]
            if state.distributed:
                self.event("MapRunFailed")
                if tolerated_count is not None or tolerated_pct is not None:
                    raise _Failure(
                        ExceedToleratedFailureThreshold(
                            cause="The specified tolerated failure threshold was exceeded"
                        )
                    )
            raise _Failure(err)
        if state.distributed:
            self.event("MapRunSucceeded")
        results: list[JSON] = []
        for i in range(n):
            if i in progress.results:
                results.append(progress.results[i])
            else:
                # A tolerated failed iteration: AWS reports it as null in the results (no ResultWriter).
                results.append(None)
        return results

    # -- Parallel ----------------------------------------------------------------
    async def s_parallel(
        self, state: ParallelState, pos: Position, variables: MutableMapping[str, JSON]
    ) -> tuple[JSON, str | None]:
        raw = pos.input
        jsonata_mode = state.query_language == JSONATA
        scope = self.scope_for(state, pos, raw, variables)
        if jsonata_mode:
            b = self.bindings(pos, raw, variables)
            branch_input = self.jsonata_eval(state.parameters, b) if state.parameters is not None else raw
        else:
            effective = self.input_path(state, raw, scope)
            scope.input = effective
            branch_input = state.parameters.evaluate(scope) if state.parameters is not None else effective  # type: ignore[misc]
        while True:
            if pos.due is not None:  # resumed in a retry back-off: wait what remains
                await self.sleep_until_due(pos)
            if pos.map_progress is None:  # not when resumed with branches already under way
                self.event("ParallelStateStarted")
            try:
                results = await self._branches(state, pos, variables, branch_input)
                break
            except _Failure as f:
                delay = self._retry(state.retry, pos, f.error)
                if delay is None:
                    self.event("ParallelStateFailed")
                    raise f.error from None
                pos.map_progress = None
                await self.retry_sleep(pos, delay)
        self.guard.check(results, RESULT_WHAT, state.name)
        self.event("ParallelStateSucceeded")
        return self.finish_with_result(state, pos, variables, results, scope)

    async def _branches(
        self, state: ParallelState, pos: Position, variables: MutableMapping[str, JSON], branch_input: JSON
    ) -> list[JSON]:
        results: list[JSON] = [None] * len(state.branches)
        failure: list[StatesError] = []
        # Finished branches' results (MapProgress serves Parallel too): a resumed Parallel runs only the others.
        if pos.map_progress is None:
            pos.map_progress = MapProgress()
        progress = pos.map_progress
        fatal: list[Exception] = []

        async def one(i: int, tg: anyio.abc.TaskGroup) -> None:
            child = pos.children.get(f"branch{i}")
            if child is None:
                child = Position(state.branches[i].start_at, branch_input)
                pos.children[f"branch{i}"] = child
            try:
                results[i] = progress.results[i] = await self.run_scope(
                    state.branches[i], child, ChainMap({}, variables)
                )
                if self.config.on_transition is not None:  # the branch's result is progress to keep
                    self.config.on_transition(self.record)
            except _Failure as f:
                # The first branch to fail decides the error, as on AWS; the others are cancelled.
                if not failure and not fatal:
                    failure.append(f.error)
                    tg.cancel_scope.cancel()
            except Exception as exc:  # no ASL failure (the history quota, a fault): it ends the execution
                if not fatal:
                    fatal.append(exc)
                    tg.cancel_scope.cancel()
            finally:
                pos.children.pop(f"branch{i}", None)

        async with anyio.create_task_group() as tg:
            for i in range(len(state.branches)):
                if i in progress.results:
                    results[i] = progress.results[i]
                else:
                    tg.start_soon(one, i, tg)
        if fatal:
            raise fatal[0]
        if failure:
            raise _Failure(failure[0])
        return results


Interpreter._SYNC_HANDLERS.update(
    {
        "Pass": Interpreter.s_pass,
        "Choice": Interpreter.s_choice,
        "Succeed": Interpreter.s_succeed,
        "Fail": Interpreter.s_fail,  # type: ignore[dict-item]  # never returns: raises the failure
    }
)


class _Detached(Interpreter):
    """A Distributed Map's child runs: their events stay out of the parent history (as on AWS)."""

    __slots__ = ()

    def __init__(self, parent: Interpreter) -> None:
        record = parent.record
        for slot in Interpreter.__slots__:
            setattr(self, slot, getattr(parent, slot))
        # Not charged to the parent's 25,000-event budget either, as on AWS.
        self.history = History(enabled=False, limit=None)
        self.record = record

    def event(self, event_type: str, details: Mapping[str, JSON] | None = None) -> int:
        return self.history.append(event_type, self.clock.timestamp(), details)


def _activity_scheduled(details: Mapping[str, JSON], resource: str) -> dict[str, JSON]:
    """ActivityScheduled's details: the activity's ARN and the Task's input and timeouts."""
    out: dict[str, JSON] = {
        "resourceType": details["resourceType"],
        "resource": resource,
        "input": details["parameters"],
    }
    for key in ("timeoutInSeconds", "heartbeatInSeconds"):
        if key in details:
            out[key] = details[key]
    return out


def _token_submitted(pos: Position) -> bool:
    """Whether the current attempt already handed its task token over (its handle holds it)."""
    handle = pos.handle
    return (
        pos.task_token is not None and isinstance(handle, dict) and handle.get("taskToken") == pos.task_token
    )


def _is_wait_seconds(v: JSON) -> bool:
    """Seconds as a Wait state's definition must give them: an integer from 0 to 99,999,999."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_WAIT_SECONDS


def _is_number(v: JSON) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _jtype(v: JSON) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _to_str(v: JSON) -> str:
    return v if isinstance(v, str) else dumps_str(v)


def _get_or_runtime(path: Any, scope: Scope, field_name: str) -> JSON:
    try:
        return path.get(scope)
    except PathNotFound:
        raise StatesRuntime(
            cause=f"The JSONPath '{path.text}' specified for the field '{field_name}' could not be found in the input "
            f"'{dumps_str(scope.input)}'"
        ).scoped() from None


def _positive_from_path(path: Any, scope: Scope, field_name: str) -> int:
    v = _int_from_path(path, scope, field_name)
    if v < 1:
        raise StatesRuntime(
            cause=f'The {field_name} field refers to value "{v}" which is not a valid positive integer: {path.text}'
        ).scoped()
    return v


def _group(
    items: list[JSON], max_items: int | None, max_bytes: int | None, batch_input: JSON, with_input: bool
) -> list[JSON]:
    """Items in order into batches of at most ``max_items`` items and ``max_bytes`` bytes of child input."""
    empty: dict[str, JSON] = {"Items": []}
    if with_input:
        empty["BatchInput"] = batch_input
    base = len(dumps(empty))
    batches: list[list[JSON]] = []
    current: list[JSON] = []
    size = base
    for index, item in enumerate(items):
        item_size = len(dumps(item))
        full = current and (
            (max_items is not None and len(current) >= max_items)
            or (max_bytes is not None and size + 1 + item_size > max_bytes)
        )
        if full:
            batches.append(current)
            current, size = [], base
        if max_bytes is not None and not current and base + item_size > max_bytes:
            raise StatesRuntime(
                cause=f"The item at index {index} does not fit in a batch of MaxInputBytesPerBatch {max_bytes} bytes"
            ).scoped()
        size += item_size + (1 if current else 0)
        current.append(item)
    if current:
        batches.append(current)
    out: list[JSON] = []
    for batch in batches:
        child: dict[str, JSON] = {"Items": batch}
        if with_input:
            child["BatchInput"] = batch_input
        out.append(child)
    return out


def _int_from_path(path: Any, scope: Scope, field_name: str) -> int:
    v = _get_or_runtime(path, scope, field_name)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        # AWS accepts a string holding an integer here (conformance MAP_STATE_REFERENCE_IN_MAX_CONCURRENCY_PATH).
        return int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        shown = v if isinstance(v, str) else dumps_str(v)
        raise StatesRuntime(
            cause=f'The {field_name} field refers to value "{shown}" which is not a valid integer: {path.text}'
        ).scoped()
    return v


def _select(path: Any, is_null: bool, value: JSON, scope: Scope) -> JSON:
    """InputPath/OutputPath: null selects ``{}``, absent selects ``value``, a path its match."""
    if is_null:
        return {}
    if path is None:
        return value
    try:
        return path.get(scope)
    except PathNotFound:
        text = path.text
        raise StatesRuntime(
            cause=f"Invalid path '{text}' : No results for path: {_bracket(text)}"
        ).scoped() from None


def _bracket(text: str) -> str:
    """``$.a.b[0]`` → ``$['a']['b'][0]``, the form AWS's messages use."""
    if not text.startswith("$"):
        return text
    out = "$"
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == ".":
            j = i + 1
            while j < len(text) and text[j] not in ".[":
                j += 1
            out += f"['{text[i + 1 : j]}']"
            i = j
        elif ch == "[":
            j = text.find("]", i)
            if j < 0:
                return text
            out += text[i : j + 1]
            i = j + 1
        else:
            return text
    return out
