"""The executor protocol: how a Task state reaches the outside world.

An executor is one async method, ``run(call, ctx)``, in the shape of httpx's
transport: the engine resolves the Task's parameters, builds one frozen
``ExecutorCall`` and one ``ExecutorContext``, and awaits the result. The
executor returns exactly the output AWS returns for that resource, or raises
``StatesError`` with AWS's error name and cause. Adding a field to either
dataclass never breaks an implementation.

Executors may also check a Task's parameters when a definition is validated
(``ParameterChecker``), so a missing required parameter is reported with its
JSON location before anything runs.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn, Protocol, runtime_checkable

from engine.jsonvalue import JSON
from engine.runtime.clock import Clock, SystemClock


class IntegrationPattern(enum.Enum):
    """How Step Functions waits for a service: the Resource ARN's suffix."""

    REQUEST_RESPONSE = ""
    SYNC = ".sync"
    WAIT_FOR_TASK_TOKEN = ".waitForTaskToken"

    @property
    def suffix(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class ExecutorCall:
    """What a Task asks of an executor.

    Attributes:
        resource: the Resource ARN as written, e.g. ``arn:aws:states:::eks:runJob.sync``.
        service: the integration's service, e.g. ``eks``.
        action: the API action without the pattern suffix, e.g. ``runJob``.
        pattern: request-response, ``.sync`` or ``.waitForTaskToken``.
        parameters: the resolved Parameters (JSONPath) or Arguments (JSONata).
        credentials: the Task's resolved ``Credentials`` field, if any.
    """

    resource: str
    service: str
    action: str
    pattern: IntegrationPattern
    parameters: JSON
    credentials: JSON = None


def _no_heartbeat() -> None:
    return None


def _no_event(event_type: str, details: Mapping[str, JSON]) -> None:
    return None


def _no_handle(handle: JSON) -> None:
    return None


def no_report(details: Mapping[str, JSON]) -> None:
    """``ExecutorContext.report`` when nobody watches progress: executors may skip building reports."""
    return None


def _no_note(key: str, entry: JSON) -> None:
    return None


def _never() -> bool:
    return False


Wake = Callable[[], bool]
"""Called once, from the event loop, when a parked wait may be over.

Returns whether the Task runs again because of this call: False when the
execution no longer waits there (it was woken already, stopped, ended, or left
to another engine), so whatever the wake was to hand over goes to someone else.
"""
Listen = Callable[[Wake], None]
"""Given the engine's ``Wake``, arranges for it to be called (at once if the wait is already over)."""


class Parked(BaseException):
    """Raised through ``ExecutorContext.park``: the execution's task ends while its Task waits.

    A ``BaseException`` so that no ``except Exception`` on the way out (an
    executor's own error handling, the engine's) mistakes it for a failure.
    """

    def __init__(self, listen: Listen) -> None:
        super().__init__("parked")
        self.listen = listen


@dataclass(frozen=True, slots=True)
class ExecutorContext:
    """Where and when a call runs, and how it reports back.

    Attributes:
        execution_arn: the running execution's ARN.
        execution_name: its name.
        state_machine_arn: the state machine's ARN.
        state_name: the Task state's name.
        attempt: 0 for the first try, then 1, 2, … for each Retry.
        clock: the engine's clock; executors sleep and read time through it only.
        deadline: monotonic time at which TimeoutSeconds expires, or None.
            The engine enforces it with a cancel scope; executors may read it
            to size their own waits.
        heartbeat_seconds: the Task's HeartbeatSeconds, or None.
        heartbeat: call to report liveness; resets the heartbeat timer.
        expired: whether the Task's TimeoutSeconds or HeartbeatSeconds has run
            out (its cancel scope's deadline has passed): a cancelled call asks
            it to tell a timeout from a stop. A resumed Task's heartbeat window
            counts from its last stored beat, so only the engine knows when.
        task_token: the ``$$.Task.Token`` for ``.waitForTaskToken`` tasks.
        options: engine-, resource- and state-level executor options
            (for example ``poll_policy``), merged in that order.
        handle: a resumable handle saved by an earlier attempt of this very
            task (after a restart), or None.
        entered_event_id: the id of the Task state's Entered event; with the
            execution ARN and ``attempt`` it names this call uniquely, so an
            executor can mark what it creates and recognize it after a crash.
        resumed: the Task had started before the engine restarted. With no
            ``handle``, a create may have gone through before the handle was
            committed: an executor that marks its resources looks for its own.
        suspending: True once the engine suspends its executions (leaving
            ``async with`` with a durable store), or this one execution (a
            shared store's other worker owns it now): a cancelled call must then
            leave its work running (no delete on cancel), another engine resumes it.
        save_handle: record a resumable handle (for example a Job's name and
            uid) in the execution record, so a resumed execution can pick up
            the wait instead of starting the work again.
        emit: record an extra history event (for example ``TaskSubmitted``).
        report: tell people watching what the Task waits for and how (for
            example ``{"waitingFor": "cluster demo", "status": "CREATING",
            "pollPolicy": "aws", "nextPollSeconds": 60}``); goes to the engine's
            ``on_progress`` hook, never into the history. Cheap when nobody listens.
        park: when not None, the executor may call ``park(listen)`` (it raises
            ``Parked``) once it has nothing to do but wait (its handle saved, or
            nothing made yet): the execution's task and its frames are released, and the
            engine calls ``listen(wake)``; the executor arranges for ``wake()``
            to be called once when the wait may be over. The engine then runs
            the Task again with the same handle, without new ``TaskScheduled``
            / ``TaskStarted`` events, and the executor picks up its wait. A
            stopped execution is woken the same way, already cancelled, so its
            executor cleans up as usual. Offered only to a Task without
            TimeoutSeconds or HeartbeatSeconds in the execution's top-level
            scope of a machine without TimeoutSeconds. Call it from the
            coroutine ``run`` returned, not from a task-group child (its
            exception would arrive wrapped in an exception group).
        ledger: note what the execution created, for its cleanup when it ends:
            ``ledger(key, entry)`` keeps the JSON ``entry`` under ``key`` (keys are
            the executor's own, e.g. prefixed with its service) in the execution's
            record, ``ledger(key, None)`` crosses it out. With a durable store the
            ledger is committed with the record, so a crash does not forget it; the
            entries come back in ``ExecutionEnd.ledger`` (``ExecutionCleaner``).
    """

    execution_arn: str
    execution_name: str
    state_machine_arn: str
    state_name: str
    attempt: int = 0
    clock: Clock = field(default_factory=SystemClock)
    deadline: float | None = None
    heartbeat_seconds: float | None = None
    heartbeat: Callable[[], None] = _no_heartbeat
    expired: Callable[[], bool] = _never
    task_token: str | None = None
    options: Mapping[str, object] = field(default_factory=dict)
    handle: JSON = None
    entered_event_id: int = 0
    resumed: bool = False
    suspending: Callable[[], bool] = _never
    save_handle: Callable[[JSON], None] = _no_handle
    emit: Callable[[str, Mapping[str, JSON]], None] = _no_event
    park: Callable[[Listen], NoReturn] | None = None
    report: Callable[[Mapping[str, JSON]], None] = no_report
    ledger: Callable[[str, JSON], None] = _no_note


@runtime_checkable
class Executor(Protocol):
    """Runs Task states for one or more resources.

    Contract:
        * ``run`` is a coroutine that never blocks the event loop.
        * It is cancellable at every await: a stop or timeout cancels it, and
          cleanup it must do (delete a Job) runs shielded and time-limited.
        * It returns the exact output AWS returns for the resource, or raises
          ``engine.StatesError`` whose ``error`` and ``cause`` are AWS's.
        * Any other exception is reported as ``States.TaskFailed`` with the
          exception's text as cause; executors should not rely on that.
    """

    async def run(self, call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        """Perform the call and return AWS's output for it."""
        ...


@runtime_checkable
class OptionsChecker(Protocol):
    """Optional: an executor that checks the executor options before anything runs.

    The engine calls ``check_options`` once when it is built, for every
    executor of its registry that implements it (``check_executor_options``),
    with each level of options it was given: the engine-wide
    ``executor_options`` first, then each resource's and each state's. A bad
    value, or a name that is the executor's own but unknown to it, raises
    ``ValueError`` naming the option, and the engine is not built.
    """

    def check_options(self, engine_wide: Mapping[str, object], overrides: list[Mapping[str, object]]) -> None:
        """Raise ``ValueError`` for the first option that is wrong."""
        ...


def check_executor_options(
    executors: Iterable[object],
    engine_wide: Mapping[str, object],
    overrides: list[Mapping[str, object]],
) -> None:
    """Let every ``OptionsChecker`` among ``executors`` check the options (each executor once).

    Raises:
        ValueError: what the first checker that objects says.
    """
    seen: set[int] = set()
    for executor in executors:
        if id(executor) in seen or not isinstance(executor, OptionsChecker):
            continue
        seen.add(id(executor))
        executor.check_options(engine_wide, overrides)


@dataclass(frozen=True, slots=True)
class ParameterProblem:
    """One problem with a Task's parameters, found before anything runs.

    Attributes:
        path: where, relative to the Parameters/Arguments object, as JSON Pointer
            segments (``("Job", "spec")``); empty for the object itself.
        message: what is wrong, worded like AWS's validation message.
    """

    path: tuple[str, ...]
    message: str


class ParameterReading(enum.Enum):
    """Which parts of a Task's parameters are computed at run time, by where they are read.

    * ``JSONPATH``: a JSONPath state's ``Parameters`` as written. A member whose
      key ends in ``.$`` (at any depth) is computed; a ``"{% … %}"`` string is a
      plain string like any other.
    * ``JSONATA``: a JSONata state's ``Arguments`` as written. A ``"{% … %}"``
      string (a member's value or an array item, at any depth) is computed;
      keys are plain, ``.$`` included.
    * ``RESOLVED``: the parameters an executor is called with. Nothing is
      computed any more: every value is what it is.
    """

    JSONPATH = "JSONPath"
    JSONATA = "JSONata"
    RESOLVED = "resolved"

    def member(self, key: str, value: JSON) -> tuple[str, bool]:
        """The field name of ``key: value`` in an object, and whether its value is computed."""
        if self is ParameterReading.JSONPATH and key.endswith(".$"):
            return key[:-2], True
        return key, self.computed(value)

    def computed(self, value: JSON) -> bool:
        """Whether a value on its own (an array item, a member's value) is computed."""
        from engine.jsonata import is_jsonata_template

        return self is ParameterReading.JSONATA and is_jsonata_template(value)


@dataclass(frozen=True, slots=True)
class StaticParameters:
    """What is known about a Task's parameters at definition time.

    Attributes:
        known: top-level keys with literal values (``"Name": "demo"``); nested
            values may still hold computed parts, which ``reading`` tells apart.
        dynamic: top-level keys whose values are computed at run time
            (``"Name.$": "$.name"`` appears as ``Name``), or None when the
            whole object is computed (a JSONata expression).
        reading: the state's query language, which decides what is computed
            inside ``known`` values: ``.$`` keys (JSONPath) or ``"{% … %}"``
            strings (JSONata), never both.
    """

    known: Mapping[str, JSON]
    dynamic: frozenset[str] | None
    reading: ParameterReading = ParameterReading.JSONPATH


def static_parameters(params: JSON, *, jsonata: bool) -> StaticParameters:
    """What a Task's raw ``Parameters`` (``jsonata=False``) or ``Arguments`` reveal before it runs.

    ``"Name.$": "$.name"`` (JSONPath) and ``"Name": "{% ... %}"`` (JSONata) are
    dynamic; any other top-level value is known (in a JSONPath state a
    ``"{% ... %}"`` string is a plain string). A non-object (a whole JSONata
    expression) makes everything dynamic.
    """
    reading = ParameterReading.JSONATA if jsonata else ParameterReading.JSONPATH
    if isinstance(params, dict):
        known: dict[str, JSON] = {}
        dynamic: set[str] = set()
        for k, v in params.items():
            name, computed = reading.member(k, v)
            if computed:
                dynamic.add(name)
            else:
                known[k] = v
        return StaticParameters(known=known, dynamic=frozenset(dynamic), reading=reading)
    if params is None:
        return StaticParameters(known={}, dynamic=frozenset(), reading=reading)
    return StaticParameters(known={}, dynamic=None, reading=reading)


@runtime_checkable
class ParameterChecker(Protocol):
    """Optional: an executor that can check parameters at validation time."""

    def check_parameters(
        self, action: str, pattern: IntegrationPattern, parameters: StaticParameters
    ) -> list[ParameterProblem]:
        """Return every problem found; an empty list when none."""
        ...


# -- IAM policy (optional part of the protocol) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyTarget:
    """Where the generated policy's ARNs point.

    Attributes:
        partition: the ARN partition (``aws``).
        region: the Region of regional ARNs, or ``*``.
        account: the account of ARNs, or ``*``.
        cleanup: the cleanup policy the role will run under (``never``,
            ``aborted-task`` or ``execution``); ``execution`` needs the
            permissions to describe and delete whatever a Task creates.
    """

    partition: str = "aws"
    region: str = "*"
    account: str = "*"
    cleanup: str = "aborted-task"


@dataclass(frozen=True, slots=True)
class PolicyStatement:
    """One IAM permission a Task needs: the actions allowed on the resources.

    Attributes:
        actions: IAM actions, e.g. ``("eks:CreateCluster",)``.
        resources: resource ARNs (wildcards allowed), or ``("*",)``.
        condition: the statement's IAM ``Condition`` block, if any.
    """

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Mapping[str, str | list[str]]] | None = None


@runtime_checkable
class PolicyProvider(Protocol):
    """Optional: an executor that can say which IAM permissions a Task needs.

    ``engine.policy_for`` asks every Task's executor; a resource whose executor
    is not a ``PolicyProvider`` is reported as not covered.
    """

    def policy_statements(
        self,
        action: str,
        pattern: IntegrationPattern,
        parameters: StaticParameters,
        target: PolicyTarget,
    ) -> list[PolicyStatement]:
        """The statements the Task's execution role needs; an empty list when it needs none."""
        ...


# -- cleanup when an execution ends (optional part of the protocol) -----------------------------


@dataclass(frozen=True, slots=True)
class ExecutionEnd:
    """An execution that has ended, for executors that clean up after it.

    Attributes:
        execution_arn: the execution's ARN.
        execution_name: its name.
        status: ``SUCCEEDED``, ``FAILED``, ``ABORTED`` or ``TIMED_OUT``.
        clock: the engine's clock (waits during cleanup go through it).
        options: the engine-level executor options (``executor_options``).
        emit: record a history event, before the execution's final event.
        report: tell people watching what the cleanup waits for (``on_progress``).
        ledger: the entries of the execution's ledger this cleaner kept
            (``ExecutionCleaner.execution_ended``), by key.
        note: change an entry (``ExecutorContext.ledger``'s rule); the ledger is
            saved with the record, so call ``note(key, None)`` right after the
            ``emit`` that records the entry's outcome: both are committed
            together, and a cleanup resumed after a crash sees neither again.
        resumed: the cleanup started in an engine that is gone (it crashed) and
            goes on here with what its ledger still holds.
    """

    execution_arn: str
    execution_name: str
    status: str
    clock: Clock
    options: Mapping[str, object]
    emit: Callable[[str, Mapping[str, JSON]], None] = _no_event
    report: Callable[[Mapping[str, JSON]], None] = no_report
    ledger: Mapping[str, JSON] = field(default_factory=dict)
    note: Callable[[str, JSON], None] = _no_note
    resumed: bool = False


@runtime_checkable
class ExecutionCleaner(Protocol):
    """Optional: an executor that deletes what an execution left behind when it ends.

    What an execution created is in its ledger (``ExecutorContext.ledger``),
    kept in its record. When it ends, the engine asks every cleaner which
    entries still need cleaning up (``execution_ended``, a plain call, cheap)
    and forgets the entries none keeps. If any are kept, it saves the
    decided end with the ledger (a durable store), then awaits
    ``clean_up_execution`` of each cleaner that kept some, shielded from
    stops and timeouts, before it records the execution's final event, so what
    was deleted is in the history. Only a suspend (a durable engine leaving,
    a worker's SIGTERM) cancels it: what it deleted is committed, the rest
    stays in the ledger. An engine that resumes a record whose cleanup was
    under way when its engine died or suspended runs the cleanup again with
    what the ledger still holds (``ExecutionEnd.resumed``).
    """

    def execution_ended(self, status: str, ledger: Mapping[str, JSON]) -> Collection[str]:
        """The keys of ``ledger`` (an execution that ended with ``status``) this cleaner will clean up."""
        ...

    async def clean_up_execution(self, end: ExecutionEnd) -> None:
        """Delete what ``end.ledger`` names; record each outcome (``end.emit``) and cross it out (``end.note``)."""
        ...
