"""The Engine: one event loop, many executions, structured concurrency.

The engine owns a task group (entered with ``async with Engine()``); every
execution runs in it under its own cancel scope, so ``stop`` cancels
everything under that execution and leaving the ``async with`` block aborts
what still runs. Time, randomness and ids come from injected sources so
Wait, Retry and timeouts can be tested in virtual time and replays are
deterministic.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final, cast

import anyio
import anyio.abc
import anyio.lowlevel

from engine.aio.ids import UuidFactory
from engine.aio.owned import OwnedTasks
from engine.aio.random import LazyRandom
from engine.callbacks import TaskTokens
from engine.definition.model import StateMachine
from engine.definition.parse import parse_definition
from engine.errors import (
    ExecutionAlreadyExists,
    InvalidInput,
    Problem,
    StatewrightError,
)
from engine.executor import ExecutionCleaner
from engine.history import MAX_EVENTS, History
from engine.jsonvalue import JSON, JSONDecodeError, NotJSON, check_value, dumps, dumps_str, loads
from engine.registry import ExecutorRegistry
from engine.runtime.clock import Clock, SystemClock
from engine.runtime.execution import (
    RUNNING,
    ExecutionRecord,
    Interpreter,
    Position,
    RuntimeConfig,
)
from engine.runtime.handle import Execution, ExecutionResult
from engine.runtime.redrive import ExecutionNotRedrivable, prepare_redrive
from engine.size_guard import DEFAULT_LIMIT_BYTES, SizeGuard
from engine.store.base import Resumable, Store, StoreError
from engine.testing import (
    InvalidMockConfig,
    MockConfig,
    MockSession,
    TestStateResult,
    compile_with_mocks,
    mock_session,
    run_test_state,
)

log = logging.getLogger(__name__)

DEFAULT_REGION: Final = "us-east-1"
DEFAULT_ACCOUNT: Final = "123456789012"


class _NoInput:
    """``start``'s input when none is given: the execution's input is then ``{}``, as on AWS."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_INPUT"


NO_INPUT: Final[Any] = _NoInput()
"""No input given (``None`` is an input: JSON null)."""
NAME_RETENTION_SECONDS: Final = 90 * 24 * 3600
"""AWS refuses a name used by the same state machine within the last 90 days."""
COMPILED_CACHE_SIZE: Final = 256
"""How many compiled definitions an engine keeps (by content) for ``start``/``run`` with a dict or text."""
DEFAULT_NAME_MEMORY: Final = 100_000
"""How many given execution names the engine remembers at most (the oldest finished go first)."""


class Engine:
    """Runs ASL state machines, many executions at once, on one event loop.

    Args:
        registry: the executor registry; by default a new one with the
            installed plugins (entry-point group ``statewright.executors``).
        load_plugins: load entry-point executors into a default registry.
        clock: where time comes from (default: the system clock).
        size_limit: the payload limit in bytes (default 262,144); None disables it.
        region: the region used in ARNs.
        account: the account used in ARNs.
        seed: seed for the engine's random source (MathRandom, UUID, jitter, ids).
        id_factory: makes execution names when none is given.
        store: where executions live: a ``Store``, or a URL such as
            ``sqlite:///PATH`` (see ``engine.store.open_store``). With a
            durable store, entering the engine resumes every RUNNING
            execution it holds and leaving suspends them (they stay RUNNING);
            ``Execution.stop`` still aborts. Default: none (nothing kept).
        resume_on_entry: with a durable store, resume its RUNNING executions
            when the engine is entered (on by default; off to run only new ones).
        executor_options: options every executor call sees (``ctx.options``),
            for example ``{"poll_policy": "fixed:5"}``.
        resource_options: options per Resource ARN (with or without its
            pattern suffix, e.g. ``arn:aws:states:::eks:runJob.sync``), merged
            over ``executor_options``.
        state_options: options per state name, merged over both.
        record_history: keep the full history (on by default).
        role_arn: the execution role ARN shown in ``$$.Execution.RoleArn``.
        on_event: called with (record, event type, details) for every history
            event, for progress displays and metrics; it must not block.
        on_progress: called with (record, kind, details) for what is not history:
            ``TaskWaiting`` (what a waiting Task waits for, its poll policy and
            next look, from ``ExecutorContext.report``) and ``RetryScheduled``
            (``retry`` of ``maxAttempts`` in ``delaySeconds``); it must not block.
        park_waiting: let executors park a waiting Task (``ExecutorContext.park``):
            the execution then keeps no task or frames while it waits, only its
            record (on by default).
        mock_config: a Step Functions Local mock configuration (a path, JSON
            text, a parsed object or a ``MockConfig``); executions started with
            ``test_case=`` answer its mocked Task states from it.
        name_memory: how many caller-given execution names are remembered for
            the uniqueness check (names are also forgotten after 90 days, as on
            AWS; generated names are random UUIDs and never remembered).
    """

    def __init__(
        self,
        *,
        registry: ExecutorRegistry | None = None,
        load_plugins: bool = True,
        clock: Clock | None = None,
        size_limit: int | None = DEFAULT_LIMIT_BYTES,
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
        seed: int | None = None,
        id_factory: Callable[[], str] | None = None,
        store: Store | str | None = None,
        resume_on_entry: bool = True,
        executor_options: Mapping[str, object] | None = None,
        resource_options: Mapping[str, Mapping[str, object]] | None = None,
        state_options: Mapping[str, Mapping[str, object]] | None = None,
        record_history: bool = True,
        role_arn: str | None = None,
        on_event: Callable[[ExecutionRecord, str, Mapping[str, JSON] | None], None] | None = None,
        on_progress: Callable[[ExecutionRecord, str, Mapping[str, JSON]], None] | None = None,
        park_waiting: bool = True,
        mock_config: MockConfig | str | os.PathLike[str] | Mapping[str, Any] | None = None,
        name_memory: int = DEFAULT_NAME_MEMORY,
    ) -> None:
        if registry is None:
            registry = ExecutorRegistry()
            if load_plugins:
                registry.load_entry_points()
        self.registry = registry
        self.clock: Clock = clock or SystemClock()
        self.guard = SizeGuard(size_limit)
        self.region = region
        self.account = account
        self.rng = random.Random(seed)
        self._ids = id_factory or UuidFactory(random.Random(self.rng.getrandbits(64)))
        if isinstance(store, str):
            from engine.store import open_store

            store = open_store(store)
        self.store = store
        self._durable = store is not None and store.durable
        self._resume_on_entry = resume_on_entry
        self._suspending = False
        self.store_failure: StoreError | None = None
        """Why the durable store stopped taking writes (the engine then suspended everything)."""
        if self._durable:
            assert store is not None
            store.on_failure = self._store_failed  # type: ignore[attr-defined]
            store.on_conflict = self._name_conflict  # type: ignore[attr-defined]
            store.on_lost = self._lost  # type: ignore[attr-defined]
        self.record_history = record_history
        self.role_arn = role_arn or f"arn:aws:iam::{account}:role/StatewrightExecutionRole"
        # Answers for .waitForTaskToken Tasks and activity tasks (SendTaskSuccess / Failure / Heartbeat).
        self.task_tokens = TaskTokens()
        self._config = RuntimeConfig(
            registry=registry,
            clock=self.clock,
            guard=self.guard,
            region=region,
            # Executors mark what a durable execution creates, to recognize it after a crash.
            executor_options={
                **(executor_options or {}),
                **({"durable_store": True} if self._durable else {}),
            },
            resource_options=dict(resource_options or {}),
            state_options=dict(state_options or {}),
            on_transition=store.save if store is not None else None,
            commit=store.commit if store is not None and store.durable else None,
            on_event=on_event,
            on_progress=on_progress,
            park=park_waiting,
            task_tokens=self.task_tokens,
        )
        self.mock_config = MockConfig.load(mock_config) if mock_config is not None else None
        self._tasks: OwnedTasks | None = None
        self._cleaner_cache: tuple[int, list[ExecutionCleaner]] | None = None
        # (state machine ARN, name) -> start time, oldest first: names given by callers,
        # kept for AWS's 90-day uniqueness rule and bounded by name_memory.
        self._names: dict[tuple[str, str], float] = {}
        self.name_memory = name_memory
        self._executions: dict[str, Execution] = {}
        # Definition text -> compiled machine (see ``compile``), oldest first, bounded.
        self._compiled: dict[str | bytes, StateMachine] = {}

    # -- lifecycle -------------------------------------------------------------
    async def __aenter__(self) -> Engine:
        if self.store is not None:
            await self.store.open()
        self._suspending = self._config.suspending = False
        self._tasks = OwnedTasks(log)
        if self._durable and self._resume_on_entry:
            await self.resume_stored()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._tasks is not None
        if self._durable:
            await self._suspend_all()
        else:
            # Leaving the block aborts whatever still runs: every execution is owned here.
            for ex in list(self._executions.values()):
                ex.stop("Engine.Closed", "the engine was closed while the execution was running")
        try:
            await self._tasks.join()
            return None
        finally:
            self._tasks = None
            for reg in self.registry:
                close = getattr(reg.executor, "aclose", None)
                if close is not None:
                    with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                        await close()
            if self.store is not None:
                with anyio.CancelScope(shield=True):
                    await self.store.close()

    # -- durability ------------------------------------------------------------
    async def _suspend_all(self) -> None:
        """Commit what is pending, then end every execution's task without recording an end."""
        store = self.store
        assert store is not None
        if self.store_failure is None:
            for ex in self._executions.values():
                store.save(ex.record)  # progress not yet marked (a branch's end) is kept too
            try:
                with anyio.CancelScope(shield=True):
                    await store.flush()
            except StoreError:
                pass  # reported through store_failure; what was committed stays
        store.freeze()
        self._suspending = self._config.suspending = True
        for ex in list(self._executions.values()):
            ex._suspend()

    def _store_failed(self, exc: StoreError) -> None:
        self.store_failure = exc
        if not self._suspending and self._tasks is not None:
            self._suspending = self._config.suspending = True
            for ex in list(self._executions.values()):
                ex._suspend()

    def _lost(self, execution_arn: str) -> None:
        # Another worker claimed it (its lease had lapsed here): stop here, record no end, undo nothing.
        ex = self._executions.get(execution_arn)
        if ex is not None:
            self._config.dropped.add(execution_arn)
            ex._suspend()

    def _name_conflict(self, record: ExecutionRecord) -> None:
        ex = self._executions.get(record.execution_arn)
        if ex is not None:
            ex.stop("ExecutionAlreadyExists", f"Execution Already Exists: '{record.execution_arn}'")

    async def _read_back_history(self, record: ExecutionRecord) -> None:
        store = self.store
        if store is None or not store.durable:
            return
        try:
            await store.flush()
            events = await store.history(record.execution_arn)
        except StoreError:
            return
        record.history = History.from_events(events, enabled=record.history.enabled)

    async def resume_stored(self) -> list[Execution]:
        """Resume every RUNNING execution of the store not yet running here.

        Called on entry; call it again to pick up executions another process
        started in the store (``statewright start``). A definition that no
        longer validates (an executor is missing) is logged and skipped.
        """
        assert self.store is not None
        resumed: list[Execution] = []
        machines: dict[str, StateMachine] = {}
        for item in await self.store.running():
            if item.record.execution_arn in self._executions:
                continue
            ex = self._resume_item(item, machines)
            if ex is not None:
                resumed.append(ex)
        return resumed

    def _resume_item(self, item: Resumable, machines: dict[str, StateMachine]) -> Execution | None:
        machine = machines.get(item.definition)
        if machine is None:
            try:
                machine = machines[item.definition] = self.compile(item.definition)
            except StatewrightError as exc:
                log.error("cannot resume %s: %s", item.record.execution_arn, exc)
                return None
        return self.resume(machine, item.record)

    async def apply_stop_requests(self) -> int:
        """Carry out the stop requests recorded in the store (``statewright stop``); returns how many."""
        assert self.store is not None
        done = 0
        for request in await self.store.stop_requests():
            ex = self._executions.get(request.execution_arn)
            if ex is not None:
                ex.stop(request.error, request.cause)
                done += 1
            else:
                stored = await self.store.get_execution(request.execution_arn)
                if stored is None or stored.status != RUNNING:
                    await self.store.drop_stop_request(request.execution_arn)
        return done

    def _cleaners(self) -> list[ExecutionCleaner]:
        """The registered executors that clean up after executions, each once (cached per registry version)."""
        version = self.registry.version
        cached = self._cleaner_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        found: dict[int, ExecutionCleaner] = {}
        for reg in self.registry:
            if isinstance(reg.executor, ExecutionCleaner):
                found.setdefault(id(reg.executor), reg.executor)
        self._cleaner_cache = (version, list(found.values()))
        return self._cleaner_cache[1]

    # -- definitions -----------------------------------------------------------
    def compile(self, definition: str | bytes | Mapping[str, Any] | StateMachine) -> StateMachine:
        """Parse and validate a definition against this engine's executors.

        Compiled machines are cached by content (the definition's JSON text),
        so ``engine.run(definition_dict, ...)`` in a loop parses it once; a
        dict changed afterwards has other content, and the cached machine was
        built from a copy, so it never sees the change.
        """
        if isinstance(definition, StateMachine):
            return definition
        if isinstance(definition, str | bytes):
            key: str | bytes = definition
            source: str | bytes = definition
        else:
            try:
                key = source = dumps(definition)
            except NotJSON:
                return parse_definition(definition, registry=self.registry)  # reports the problem
        cache = self._compiled
        machine = cache.get(key)
        if machine is not None:
            return machine
        machine = parse_definition(source, registry=self.registry)
        if len(cache) >= COMPILED_CACHE_SIZE:
            del cache[next(iter(cache))]  # the oldest first
        cache[key] = machine
        return machine

    # -- executions ------------------------------------------------------------
    def start(
        self,
        definition: str | bytes | Mapping[str, Any] | StateMachine,
        input: JSON = NO_INPUT,
        *,
        name: str | None = None,
        state_machine_name: str = "StateMachine",
        input_json: str | bytes | None = None,
        state_machine_type: str = "STANDARD",
        test_case: str | None = None,
        role_arn: str | None = None,
    ) -> Execution:
        """Start an execution and return its handle (StartExecution).

        ``role_arn`` is the state machine's role (``$$.Execution.RoleArn``); the engine's by default.

        Raises:
            InvalidDefinition: the definition is invalid.
            InvalidInput: the input is not JSON or is too large.
            ExecutionAlreadyExists: the name is taken for this state machine.
            InvalidMockConfig: ``test_case`` names no test case of ``state_machine_name``.
            RuntimeError: the engine is not entered (``async with Engine()``).
        """
        if self._tasks is None:
            raise RuntimeError("use 'async with Engine() as engine:' before starting executions")
        mocks = mock_session(self.mock_config, state_machine_name, test_case)
        if mocks is not None and self._durable:
            # A stored record does not carry its test case: resumed, it would call real services.
            raise InvalidMockConfig(
                [
                    Problem(
                        "",
                        "DURABLE_STORE",
                        "test cases run on an engine without a durable store (mocks are not stored)",
                    )
                ]
            )
        compiled = (
            definition if mocks is None else compile_with_mocks(definition, self.registry, mocks.test_case)
        )
        machine, record = self.prepare(
            compiled,
            input,
            name=name,
            state_machine_name=state_machine_name,
            input_json=input_json,
            state_machine_type=state_machine_type,
            record_start=False,
            role_arn=role_arn,
        )
        return self._launch(machine, record, started=True, mocks=mocks)

    async def submit(
        self,
        definition: str | bytes | Mapping[str, Any] | StateMachine,
        input: JSON = NO_INPUT,
        *,
        name: str | None = None,
        state_machine_name: str = "StateMachine",
        input_json: str | bytes | None = None,
        state_machine_type: str = "STANDARD",
        role_arn: str | None = None,
    ) -> Execution:
        """Start an execution once the store has committed it (StartExecution on a store).

        Unlike ``start``, the name is checked against the store itself, so a
        name used by an earlier engine or another process is refused.

        Raises:
            ExecutionAlreadyExists: the name is taken for this state machine (in the store).
            InvalidDefinition, InvalidInput: as ``start``.
            StoreError: the store cannot be written.
        """
        if self._tasks is None:
            raise RuntimeError("use 'async with Engine() as engine:' before starting executions")
        if self.store is None:
            return self.start(
                definition,
                input,
                name=name,
                state_machine_name=state_machine_name,
                input_json=input_json,
                state_machine_type=state_machine_type,
                role_arn=role_arn,
            )
        machine, record = self.prepare(
            definition,
            input,
            name=name,
            state_machine_name=state_machine_name,
            input_json=input_json,
            state_machine_type=state_machine_type,
            role_arn=role_arn,
        )
        await self.store.create_execution(record, dumps_str(machine.raw))
        ex = self._launch(machine, record, started=False)
        if self._config.on_event is not None:
            self._config.on_event(record, "ExecutionStarted", record.history[0].details)
        return ex

    def prepare(
        self,
        definition: str | bytes | Mapping[str, Any] | StateMachine,
        input: JSON = NO_INPUT,
        *,
        name: str | None = None,
        state_machine_name: str = "StateMachine",
        input_json: str | bytes | None = None,
        state_machine_type: str = "STANDARD",
        record_start: bool = True,
        role_arn: str | None = None,
    ) -> tuple[StateMachine, ExecutionRecord]:
        """A new execution's machine and record, without running it.

        With ``record_start`` its ExecutionStarted event is recorded, ready for
        ``Store.create_execution`` (``statewright start`` records executions
        this way for a worker to run). The name is checked only against the
        executions this engine knows.

        Raises:
            InvalidDefinition, InvalidInput, ExecutionAlreadyExists: as ``start``.
        """
        machine = self.compile(definition)
        if input_json is not None:
            try:
                input = loads(input_json)
            except JSONDecodeError as exc:
                raise InvalidInput(f"execution input is not valid JSON: {exc}") from None
        elif input is NO_INPUT:
            input = {}
        else:
            try:
                check_value(input)
            except NotJSON as exc:
                raise InvalidInput(f"execution input is not JSON: {exc}") from None
        size = self.guard.over(input)
        if size is not None:
            raise InvalidInput(
                f"execution input is {size} bytes, over the {self.guard.limit}-byte limit (States.DataLimitExceeded)"
            )
        sm_arn = f"arn:aws:states:{self.region}:{self.account}:stateMachine:{state_machine_name}"
        if name is None:
            name = self._ids()
        else:
            if not (1 <= len(name) <= 80):
                raise InvalidInput("execution names must be 1 to 80 characters")
            if state_machine_type != "EXPRESS":
                # Express executions may share a name: their ARNs end with a unique id.
                self._remember_name(sm_arn, name)
        now = self.clock.now()
        record = ExecutionRecord(
            execution_arn=(
                f"arn:aws:states:{self.region}:{self.account}:express:{state_machine_name}:{name}:{self._ids()}"
                if state_machine_type == "EXPRESS"
                else f"arn:aws:states:{self.region}:{self.account}:execution:{state_machine_name}:{name}"
            ),
            name=name,
            state_machine_arn=sm_arn,
            state_machine_name=state_machine_name,
            input=input,
            start_time=now,
            role_arn=role_arn or self.role_arn,
            position=Position(machine.start_at, input),
            # Express executions keep no history on AWS, so no 25,000-event quota either.
            history=History(
                enabled=self.record_history, limit=None if state_machine_type == "EXPRESS" else MAX_EVENTS
            ),
            state_machine_type=state_machine_type,
        )
        if record_start:
            record.history.append(
                "ExecutionStarted",
                self.clock.timestamp(),
                {"input": record.input, "roleArn": record.role_arn},
            )
        return machine, record

    def resume(
        self, definition: str | bytes | Mapping[str, Any] | StateMachine, record: ExecutionRecord
    ) -> Execution:
        """Continue a stored, unfinished execution from its recorded position."""
        if self._tasks is None:
            raise RuntimeError("use 'async with Engine() as engine:' before resuming executions")
        machine = self.compile(definition)
        key = (record.state_machine_arn, record.name)
        self._names.pop(key, None)
        self._names[key] = record.start_time.timestamp()
        # The state that was running is entered again (its Entered event is already in the history).
        return self._launch(machine, record, started=False)

    def redrive(
        self, definition: str | bytes | Mapping[str, Any] | StateMachine, record: ExecutionRecord
    ) -> Execution:
        """RedriveExecution: continue a FAILED, ABORTED or TIMED_OUT execution from the state it stopped in.

        Raises:
            ExecutionNotRedrivable: the execution succeeded, still runs, or is an Express one, or
                the engine runs on a durable store (not supported there yet).
        """
        if self._tasks is None:
            raise RuntimeError("use 'async with Engine() as engine:' before redriving executions")
        if self._durable:
            # A durable store stops writing an execution once it has ended; a redrive it did not
            # record would be lost on restart, so it is refused rather than run unrecorded.
            raise ExecutionNotRedrivable("Redriving an execution is not supported on a durable store yet")
        machine = self.compile(definition)
        prepare_redrive(record)
        details: dict[str, JSON] = {"redriveCount": record.redrive_count}
        record.history.append("ExecutionRedriven", self.clock.timestamp(), details)
        on_event = self._config.on_event
        if on_event is not None:
            on_event(record, "ExecutionRedriven", details)
        return self.resume(machine, record)

    def _remember_name(self, sm_arn: str, name: str) -> None:
        """Refuse a name in use; remember it, forgetting the expired and the oldest beyond the bound."""
        names = self._names
        key = (sm_arn, name)
        now = self.clock.timestamp()
        expired = now - NAME_RETENTION_SECONDS
        if key in names and names[key] > expired:
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{name}'")
        names.pop(key, None)
        while names:
            oldest_key = next(iter(names))
            if names[oldest_key] > expired and len(names) < self.name_memory:
                break
            del names[oldest_key]
        names[key] = now

    def _launch(
        self,
        machine: StateMachine,
        record: ExecutionRecord,
        *,
        started: bool,
        mocks: MockSession | None = None,
    ) -> Execution:
        assert self._tasks is not None
        # A duck-typed stand-in for random.Random (see LazyRandom).
        rng = cast(random.Random, LazyRandom(self.rng.getrandbits(64)))
        interp = Interpreter(machine, record, self._config, rng)
        if mocks is not None:
            interp.task_override = mocks.executor_for
        if started:
            interp.event("ExecutionStarted", {"input": record.input, "roleArn": record.role_arn})
        ex = Execution(self, interp, machine)
        self._executions[record.execution_arn] = ex
        store = self.store
        if store is not None:
            if started:
                store.created(record, machine)
            elif not self._durable or record.history.committed < record.history.last_id:
                store.save(record)
        self._tasks.spawn(ex._run(not started), name=f"execution {record.name}")
        return ex

    def _finished(self, ex: Execution) -> None:
        self._executions.pop(ex.execution_arn, None)
        if self.store is not None:
            self.store.save(ex.record)

    async def run(
        self,
        definition: str | bytes | Mapping[str, Any] | StateMachine,
        input: JSON = NO_INPUT,
        *,
        name: str | None = None,
        state_machine_name: str = "StateMachine",
        state_machine_type: str = "STANDARD",
        test_case: str | None = None,
    ) -> ExecutionResult:
        """Start an execution and wait for its result."""
        ex = self.start(
            definition,
            input,
            name=name,
            state_machine_name=state_machine_name,
            state_machine_type=state_machine_type,
            test_case=test_case,
        )
        return await ex.wait()

    async def test_state(
        self,
        definition: str | bytes | Mapping[str, Any],
        input: JSON = None,
        *,
        state_name: str | None = None,
        inspection_level: str = "INFO",
        variables: Mapping[str, JSON] | str | None = None,
        mock: Mapping[str, JSON] | None = None,
        context: Mapping[str, JSON] | str | None = None,
        reveal_secrets: bool = False,
        state_configuration: Mapping[str, JSON] | None = None,
    ) -> TestStateResult:
        """Run one state in isolation, as the TestState API does (see ``engine.testing``).

        ``definition``, ``input``, ``variables``, ``context`` and a mock's
        ``result`` may be JSON text, as on the wire, or JSON values;
        ``state_configuration`` is the API's ``stateConfiguration``.

        Raises:
            TestStateValidation: a request AWS refuses (its ValidationException).
            InvalidDefinition: the definition is invalid.
        """
        return await run_test_state(
            self,
            definition,
            input,
            state_name=state_name,
            inspection_level=inspection_level,
            variables=variables,
            mock=mock,
            context=context,
            reveal_secrets=reveal_secrets,
            state_configuration=state_configuration,
        )

    def get(self, execution_arn: str) -> Execution | None:
        """A running execution's handle by ARN."""
        return self._executions.get(execution_arn)

    @property
    def running(self) -> int:
        """How many executions are running."""
        return len(self._executions)


__all__ = ["Engine", "Execution", "ExecutionResult"]
