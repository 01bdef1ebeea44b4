"""The Task state: resolve the parameters, call the executor, make the output.

``run`` is the attempt loop (a fresh token per ``.waitForTaskToken``
attempt; Retry between attempts); ``invoke`` is one call: the
TaskScheduled/TaskStarted events, the commit a durable store needs first,
TimeoutSeconds and HeartbeatSeconds as one cancel scope, the executor's
context, and the events of its end (succeeded, failed, timed out, or a
result that is not JSON or too large). After a resume, TimeoutSeconds counts
from the Task's original start and HeartbeatSeconds from its last heartbeat
(both kept in the position; a beat is saved with the next group commit, not
committed on its own).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import NoReturn

import anyio

from engine.callbacks import new_token, run_with_token
from engine.definition.model import State, TaskState
from engine.errors import (
    DATA_LIMIT_EXCEEDED,
    HeartbeatTimeout,
    StatesError,
    StatesRuntime,
    StatesTimeout,
    TaskFailed,
)
from engine.executor import (
    Executor,
    ExecutorCall,
    ExecutorContext,
    IntegrationPattern,
    Listen,
    Parked,
    no_report,
)
from engine.jsonvalue import JSON, NotJSON, check_value
from engine.registry import UnknownResource, parse_resource
from engine.runtime.record import Position
from engine.size_guard import PARAMETERS_WHAT, RESULT_WHAT, limit_cause
from engine.states.io import IO
from engine.states.runner import Runner, Variables


async def run(runner: Runner, state: State, pos: Position, variables: Variables) -> tuple[JSON, str | None]:
    """Run a Task state, retrying as its Retry says; return (output, next state)."""
    assert isinstance(state, TaskState)
    io = IO[state.query_language]
    # A test case's mocked Task runs its mock instead of the registry's executor.
    override = runner.task_override
    executor = override(state.name) if override is not None else None
    if executor is not None:
        parsed = parse_resource(state.resource)
    else:
        try:
            parsed, reg = runner.config.registry.lookup(state.resource)
        except UnknownResource as exc:
            raise StatesRuntime(cause=str(exc)).scoped() from None
        executor = reg.executor
    options = runner.config.options_for(state.resource, parsed.base, state.name)
    # A mocked callback Task gets its token too ($$.Task.Token, as Step Functions Local makes one up)
    # and answers with its mocked response at once (its executor answers_callbacks).
    callback = parsed.pattern is IntegrationPattern.WAIT_FOR_TASK_TOKEN
    while True:
        if pos.due is not None:  # resumed in a retry back-off: wait what remains
            await runner.sleep_until_due(pos)
        if callback and not _token_submitted(pos):
            # A fresh token for every attempt; a resumed or unparked attempt keeps its own.
            pos.task_token = new_token()
        # Parameters are evaluated for every attempt: $$.State.RetryCount changes between them.
        step = io.begin(runner, state, pos, variables)
        params = step.arguments(state.parameters)
        credentials = step.value(state.credentials) if state.credentials is not None else None
        timeout = step.task_seconds(
            state.timeout_seconds_path, state.timeout_jsonata, "TimeoutSeconds", state.timeout_seconds
        )
        heartbeat = step.task_seconds(
            state.heartbeat_seconds_path, state.heartbeat_jsonata, "HeartbeatSeconds", state.heartbeat_seconds
        )
        runner.guard.check(params, PARAMETERS_WHAT, state.name)
        call = ExecutorCall(
            resource=state.resource,
            service=parsed.service,
            action=parsed.action,
            pattern=parsed.pattern,
            parameters=params,
            credentials=credentials,
        )
        try:
            result = await runner.invoke(state, pos, executor, call, timeout, heartbeat, options)
            break
        except StatesError as err:
            delay = runner.retry(state.retry, pos, err)
            if delay is None:
                raise
            if callback:
                pos.task_token = None
            await runner.retry_sleep(pos, delay)
    out = step.finish_result(state, result, state.result_selector, task_like=True)
    runner.guard.check(out, RESULT_WHAT, state.name)
    runner.exited(state, out)
    return out, state.next


async def invoke(
    runner: Runner,
    state: TaskState,
    pos: Position,
    executor: Executor,
    call: ExecutorCall,
    timeout_s: float | None,
    heartbeat: float | None,
    options: Mapping[str, object],
) -> JSON:
    timeout = timeout_s
    kind: str = getattr(executor, "history_events", "Task")
    started = runner.config.started_details(call.service, call.resource)
    details: dict[str, JSON] = {
        "resourceType": started["resourceType"],
        "resource": started["resource"],
        "region": runner.config.region,
        "parameters": call.parameters,
    }
    if timeout is not None:
        details["timeoutInSeconds"] = int(timeout)
    if heartbeat is not None:
        details["heartbeatInSeconds"] = int(heartbeat)
    resumed = False
    if runner.unparked:
        # The same Task, run again after it parked: it was scheduled and started already.
        runner.unparked = False
    elif pos.started:
        # Resumed after a restart: the Task's start is in the stored history already.
        resumed = True
    elif kind == "Activity":
        # AWS records activity Tasks as Activity* events; ActivityStarted comes when a worker
        # takes the task (the executor records it).
        runner.event("ActivityScheduled", _activity_scheduled(details, call.resource))
        pos.started = True
        pos.started_at = runner.clock.timestamp()
    else:
        runner.event("TaskScheduled", details)
        runner.event("TaskStarted", started)
        pos.started = True
        pos.started_at = runner.clock.timestamp()
    commit = runner.config.commit
    if commit is not None:
        # A durable store: the call is made only once the record scheduling it is committed.
        await commit(runner.record)
    clock = runner.clock
    deadline = math.inf
    if timeout is not None:
        # A resumed Task's TimeoutSeconds counts from its original start, not from the resume.
        elapsed = max(0.0, clock.timestamp() - pos.started_at) if resumed and pos.started_at else 0.0
        deadline = clock.monotonic() + timeout - elapsed
    # Without TimeoutSeconds or HeartbeatSeconds nothing can expire: no cancel scope
    # (two sets each) for the many executions that wait in such a Task.
    scope = None
    if heartbeat is not None:
        # A resumed Task's window counts from its last beat (or its start): none came while down.
        last = max(pos.beat_at, pos.started_at) if resumed else 0.0
        silent = max(0.0, clock.timestamp() - last) if last else 0.0
        scope = anyio.CancelScope(deadline=min(deadline, clock.monotonic() + heartbeat - silent))
    elif timeout is not None:
        scope = anyio.CancelScope(deadline=deadline)
    hooks = _TaskHooks(runner, pos, details["resourceType"], details["resource"], scope, deadline, heartbeat)
    ctx = ExecutorContext(
        execution_arn=runner.record.execution_arn,
        execution_name=runner.record.name,
        state_machine_arn=runner.record.state_machine_arn,
        state_name=state.name,
        attempt=sum(pos.retry_counts) if pos.retry_counts else 0,
        clock=clock,
        deadline=deadline if timeout is not None else None,
        heartbeat_seconds=heartbeat,
        heartbeat=hooks.beat if heartbeat is not None else _no_beat,
        expired=hooks.expired,
        options=options,
        handle=pos.handle,
        entered_event_id=pos.entered_event_id,
        resumed=resumed,
        suspending=hooks.suspending,
        save_handle=hooks.save_handle,
        emit=hooks.emit,
        park=hooks.park if scope is None and runner.may_park and pos is runner.record.position else None,
        report=hooks.report if runner.config.on_progress is not None else no_report,
        task_token=pos.task_token,
        ledger=hooks.ledger,
    )
    result: JSON = None
    run: Callable[[ExecutorCall, ExecutorContext], Awaitable[JSON]] = executor.run
    if (
        call.pattern is IntegrationPattern.WAIT_FOR_TASK_TOKEN
        and pos.task_token is not None
        and not getattr(executor, "answers_callbacks", False)
    ):
        tokens = runner.config.task_tokens

        def run(call: ExecutorCall, ctx: ExecutorContext) -> Awaitable[JSON]:
            return run_with_token(executor, call, ctx, tokens)

    try:
        if scope is None:
            result = await run(call, ctx)
        else:
            with scope:
                result = await run(call, ctx)
    except StatesError as err:
        pos.started = False
        runner.event(
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
        runner.event(
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
        runner.event(
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
        bad = StatesRuntime(cause=f"The state/task '{state.name}' returned a result that is not JSON: {exc}")
        runner.event(
            "TaskFailed",
            {
                "resourceType": details["resourceType"],
                "resource": details["resource"],
                "error": bad.error,
                "cause": bad.cause or "",
            },
        )
        raise bad from None
    size = runner.guard.over(result)
    if size is not None:
        runner.event(
            f"{kind}Failed",
            {
                "resourceType": details["resourceType"],
                "resource": details["resource"],
                "error": DATA_LIMIT_EXCEEDED,
                "cause": limit_cause(RESULT_WHAT, state.name),
            },
        )
        runner.guard.check(result, RESULT_WHAT, state.name)
    runner.event(
        f"{kind}Succeeded",
        {"resourceType": details["resourceType"], "resource": details["resource"], "output": result},
    )
    return result


def _no_beat() -> None:
    return None


class _TaskHooks:
    """What an executor reports back through its context: heartbeats, handles, extra events.

    One slotted object per running Task instead of three closures and their
    cells: it lives as long as the Task waits, which for ``.sync`` tasks is long.
    """

    __slots__ = ("_deadline", "_heartbeat", "_pos", "_resource", "_resource_type", "_runner", "_scope")

    def __init__(
        self,
        runner: Runner,
        pos: Position,
        resource_type: JSON,
        resource: JSON,
        scope: anyio.CancelScope | None,
        deadline: float,
        heartbeat: float | None,
    ) -> None:
        self._runner = runner
        self._pos = pos
        self._resource_type = resource_type
        self._resource = resource
        self._scope = scope
        self._deadline = deadline
        self._heartbeat = heartbeat

    def beat(self) -> None:
        if self._heartbeat is not None and self._scope is not None:
            runner = self._runner
            self._scope.deadline = min(self._deadline, runner.clock.monotonic() + self._heartbeat)
            # Kept for a resume (its window counts from here): saved with the next group commit.
            self._pos.beat_at = runner.clock.timestamp()
            if runner.config.on_transition is not None:
                runner.config.on_transition(runner.record)

    def expired(self) -> bool:
        scope = self._scope
        return scope is not None and self._runner.clock.monotonic() >= scope.deadline

    def suspending(self) -> bool:
        config = self._runner.config
        return config.suspending or self._runner.record.execution_arn in config.dropped

    def save_handle(self, handle: JSON) -> None:
        self._pos.handle = handle
        runner = self._runner
        if runner.config.on_transition is not None:
            runner.config.on_transition(runner.record)

    def ledger(self, key: str, entry: JSON) -> None:
        runner = self._runner
        runner.record.note(key, entry)
        if runner.config.on_transition is not None:
            runner.config.on_transition(runner.record)

    def emit(self, event_type: str, extra: Mapping[str, JSON]) -> None:
        d: dict[str, JSON] = {"resourceType": self._resource_type, "resource": self._resource}
        d.update(extra)
        self._runner.event(event_type, d)

    @staticmethod
    def park(listen: Listen) -> NoReturn:
        raise Parked(listen)

    def report(self, details: Mapping[str, JSON]) -> None:
        runner = self._runner
        on_progress = runner.config.on_progress
        if on_progress is not None:
            on_progress(runner.record, "TaskWaiting", {"state": self._pos.state, **details})


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
