"""An execution as data: its record, its position, and what the interpreter is given.

``ExecutionRecord`` is everything about one execution, enough to resume it;
``Position`` is where one scope (the execution, a Parallel branch, a Map
iteration) stands: the current state, its input, retry counters, Map
progress and an executor's resumable handle. A store persists these and
``Engine.resume`` continues from them. ``RuntimeConfig`` is what the
interpreter needs from its engine.

Plain data, below the interpreter and the state types, which both read and
advance it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Final

from engine.callbacks import TaskTokens
from engine.history import History
from engine.jsonvalue import JSON
from engine.map_runs import MapRuns
from engine.registry import ExecutorRegistry
from engine.runtime.clock import Clock
from engine.size_guard import SizeGuard

SUCCEEDED: Final = "SUCCEEDED"
FAILED: Final = "FAILED"
TIMED_OUT: Final = "TIMED_OUT"
ABORTED: Final = "ABORTED"
RUNNING: Final = "RUNNING"
_EMPTY: Final[dict[str, JSON]] = {}


@dataclass
class MapProgress:
    """Which Map iterations (or Parallel branches) have finished, and their results (for resume).

    ``failure`` is the (error, cause) of the iteration or branch whose failure
    ends the state: its failed event may be committed before the state's end,
    and a resumed Map or Parallel then fails with it, running nothing again.
    ``failed`` holds a Distributed Map's failed iterations (tolerated or not),
    by index, in the order they failed: a resumed Map counts them again
    against its threshold instead of running them again.
    """

    results: dict[int, JSON] = field(default_factory=dict)
    failure: tuple[str, str | None] | None = None
    failed: dict[int, tuple[str, str | None]] = field(default_factory=dict)


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
        started: the current state's events after its Entered are recorded: a
            Task's TaskScheduled/TaskStarted (a resumed Task does not record
            them again), a Choice's Exited (rebuilt from a history that ends
            there, it chooses again without recording it).
        task_token: the current ``.waitForTaskToken`` attempt's ``$$.Task.Token``.
        started_at: when the current Task started (POSIX seconds; meaningful while
            ``started``): a resumed Task's TimeoutSeconds counts from it.
        beat_at: when the current Task's executor last sent a heartbeat (POSIX
            seconds; 0 before the first): a resumed Task's HeartbeatSeconds
            counts from it (or from ``started_at``, whichever is later).
        variables: the variables assigned inside this scope (a Map iteration or a
            Parallel branch; None until one is): kept so a resumed scope sees them.
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
    started_at: float = 0.0
    beat_at: float = 0.0
    variables: dict[str, JSON] | None = None

    def own_variables(self) -> dict[str, JSON]:
        """The variables this scope assigns (made on first use): a Map iteration's or branch's own."""
        if self.variables is None:
            self.variables = {}
        return self.variables

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


@dataclass(frozen=True, slots=True)
class Ending:
    """How an execution ends, decided before the executors' cleanup after it runs.

    Committed before that cleanup awaits (a durable store), so an execution
    resumed in the middle of it only finishes the cleanup and records this end:
    its last Task is not called again.
    """

    status: str
    output: JSON = None
    error: str | None = None
    cause: str | None = None


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
    ending: Ending | None = None
    """The end decided while the cleanup after the execution runs (see ``Ending``)."""
    annotations: dict[str, JSON] | None = None
    """What the starter keeps with the execution (the API server: the revision, version and alias
    it started on); stored with it and read back as given, never read by the engine."""
    ledger: dict[str, JSON] | None = None
    """What the execution's Tasks created, by key, for its cleanup (``ExecutorContext.ledger``)."""

    def note(self, key: str, entry: JSON) -> None:
        """Keep ``entry`` in the ledger under ``key``, or cross the key out when ``entry`` is None."""
        if entry is not None:
            if self.ledger is None:
                self.ledger = {}
            self.ledger[key] = entry
        elif self.ledger is not None:
            self.ledger.pop(key, None)
            if not self.ledger:
                self.ledger = None


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
    map_runs: MapRuns = field(default_factory=MapRuns)
    """The Distributed Maps' runs (UpdateMapRun reaches a running one through it)."""
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
