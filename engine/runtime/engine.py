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
from engine.executor import check_executor_options
from engine.history import MAX_EVENTS, History
from engine.jsonvalue import JSON, dumps_str
from engine.map_runs import MapRuns
from engine.registry import ExecutorRegistry
from engine.runtime.clock import Clock, SystemClock
from engine.runtime.durability import Durability
from engine.runtime.execution import Interpreter
from engine.runtime.handle import Execution, ExecutionResult
from engine.runtime.record import ExecutionRecord, RuntimeConfig
from engine.runtime.redrive import ExecutionNotRedrivable, begin_redrive
from engine.runtime.startup import (
    DEFAULT_NAME_MEMORY,
    NO_INPUT,
    CompiledDefinitions,
    ExecutionNames,
    Origin,
    execution_input,
)
from engine.size_guard import DEFAULT_LIMIT_BYTES, SizeGuard
from engine.store.base import Store, StoreError
from engine.testing import (
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
        # A misspelt or bad executor option stops the engine here, not a Task later.
        check_executor_options(
            (reg.executor for reg in registry),
            executor_options or {},
            [*(resource_options or {}).values(), *(state_options or {}).values()],
        )
        self.clock: Clock = clock or SystemClock()
        self.guard = SizeGuard(size_limit)
        self.region = region
        self.account = account
        self._origin = Origin(region, account)
        self.rng = random.Random(seed)
        self._ids = id_factory or UuidFactory(random.Random(self.rng.getrandbits(64)))
        if isinstance(store, str):
            from engine.store import open_store

            store = open_store(store)
        self.store = store
        self._durable = store is not None and store.durable
        self._resume_on_entry = resume_on_entry
        self._suspending = False
        self._durability = Durability(self, store) if store is not None else None
        self.record_history = record_history
        self.role_arn = role_arn or f"arn:aws:iam::{account}:role/StatewrightExecutionRole"
        # Answers for .waitForTaskToken Tasks and activity tasks (SendTaskSuccess / Failure / Heartbeat).
        self.task_tokens = TaskTokens()
        # The Distributed Maps' runs (DescribeMapRun, UpdateMapRun).
        self.map_runs = MapRuns()
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
            map_runs=self.map_runs,
        )
        self.mock_config = MockConfig.load(mock_config) if mock_config is not None else None
        self._tasks: OwnedTasks | None = None
        # Names given by callers, kept for AWS's 90-day uniqueness rule and bounded by name_memory.
        self._names = ExecutionNames(self.clock, name_memory)
        self._executions: dict[str, Execution] = {}
        self._compiled = CompiledDefinitions(registry)

    # -- lifecycle -------------------------------------------------------------
    async def __aenter__(self) -> Engine:
        if self.store is not None:
            await self.store.open()
            if self._durable:
                try:
                    await self.store.claim_runner()
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await self.store.close()
                    raise
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
            assert self._durability is not None
            await self._durability.suspend_all()
        else:
            # Leaving the block aborts whatever still runs: every execution is owned here.
            for ex in list(self._executions.values()):
                ex.stop("Engine.Closed", "the engine was closed while the execution was running")
        try:
            await self._tasks.join()
            return None
        finally:
            self._tasks = None
            await self.registry.aclose()
            if self.store is not None:
                with anyio.CancelScope(shield=True):
                    await self.store.close()

    # -- durability ------------------------------------------------------------
    @property
    def store_failure(self) -> StoreError | None:
        """Why the durable store stopped taking writes (the engine then suspended everything)."""
        return self._durability.failure if self._durability is not None else None

    @store_failure.setter
    def store_failure(self, exc: StoreError | None) -> None:
        assert self._durability is not None
        self._durability.failure = exc

    def _suspend_executions(self) -> None:
        """End every execution's task without recording an end (durable store: the records stay RUNNING)."""
        self._suspending = self._config.suspending = True
        for ex in list(self._executions.values()):
            ex._suspend()

    async def resume_stored(self) -> list[Execution]:
        """Resume every RUNNING execution of the store not yet running here.

        Called on entry; call it again to pick up executions another process
        started in the store (``statewright start``). A definition that no
        longer validates (an executor is missing) is logged and skipped.
        """
        assert self._durability is not None
        return await self._durability.resume_stored()

    async def apply_stop_requests(self) -> int:
        """Carry out the stop requests recorded in the store (``statewright stop``); returns how many."""
        assert self._durability is not None
        return await self._durability.apply_stop_requests()

    # -- definitions -----------------------------------------------------------
    def compile(self, definition: str | bytes | Mapping[str, Any] | StateMachine) -> StateMachine:
        """Parse and validate a definition against this engine's executors.

        Compiled machines are cached by content (the definition's JSON text),
        so ``engine.run(definition_dict, ...)`` in a loop parses it once; a
        dict changed afterwards has other content, and the cached machine was
        built from a copy, so it never sees the change.
        """
        return self._compiled.compile(definition)

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
        annotations: dict[str, JSON] | None = None,
    ) -> Execution:
        """Start an execution and return its handle (StartExecution).

        ``role_arn`` is the state machine's role (``$$.Execution.RoleArn``); the engine's by default.
        ``annotations`` is kept with the execution as given (``ExecutionRecord.annotations``).

        Raises:
            InvalidDefinition: the definition is invalid.
            InvalidInput: the input is not JSON or is too large.
            ExecutionAlreadyExists: the name is taken for this state machine.
            InvalidMockConfig: ``test_case`` names no test case of ``state_machine_name``.
            RuntimeError: the engine is not entered (``async with Engine()``).
        """
        if self._tasks is None:
            raise RuntimeError("use 'async with Engine() as engine:' before starting executions")
        mocks = mock_session(self.mock_config, state_machine_name, test_case, durable=self._durable)
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
            annotations=annotations,
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
        annotations: dict[str, JSON] | None = None,
    ) -> Execution:
        """Start an execution once the store has committed it (StartExecution on a store).

        Unlike ``start``, the name is checked against the store itself, so a
        name used by an earlier engine or another process is refused. A
        definition given as text is stored as that text (what it is read back as).

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
                annotations=annotations,
            )
        machine, record = self.prepare(
            definition,
            input,
            name=name,
            state_machine_name=state_machine_name,
            input_json=input_json,
            state_machine_type=state_machine_type,
            role_arn=role_arn,
            annotations=annotations,
        )
        text = definition if isinstance(definition, str) else dumps_str(machine.raw)
        await self.store.create_execution(record, text, run_here=True)
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
        annotations: dict[str, JSON] | None = None,
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
        input = execution_input(input, input_json, self.guard)
        origin = self._origin
        express = state_machine_type == "EXPRESS"
        name = self._names.name(
            name, self._ids, origin.state_machine_arn(state_machine_name), express=express
        )
        record = origin.new_record(
            execution_arn=(
                origin.express_arn(state_machine_name, name, self._ids())
                if express
                else origin.execution_arn(state_machine_name, name)
            ),
            name=name,
            state_machine_name=state_machine_name,
            input=input,
            start_time=self.clock.now(),
            start_at=machine.start_at,
            role_arn=role_arn or self.role_arn,
            # Express executions keep no history on AWS, so no 25,000-event quota either.
            history=History(enabled=self.record_history, limit=None if express else MAX_EVENTS),
            state_machine_type=state_machine_type,
        )
        record.annotations = annotations
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
        self._names.resumed(record)
        # The state that was running is entered again (its Entered event is already in the history).
        return self._launch(machine, record, started=False)

    def redrive(
        self, definition: str | bytes | Mapping[str, Any] | StateMachine, record: ExecutionRecord
    ) -> Execution:
        """RedriveExecution: continue a FAILED, ABORTED or TIMED_OUT execution from the state it stopped in.

        Raises:
            ExecutionNotRedrivable: the execution succeeded, still runs, or is an Express one, or
                the engine runs on a durable store (``submit_redrive`` redrives there).
        """
        if self._tasks is None:
            raise RuntimeError("use 'async with Engine() as engine:' before redriving executions")
        if self._durable:
            # A durable store stops writing an execution once it has ended: the redrive must be
            # committed before it runs, which only the awaited submit_redrive can wait for.
            raise ExecutionNotRedrivable("On a durable store an execution is redriven with submit_redrive")
        machine = self.compile(definition)
        begin_redrive(record, self.clock.timestamp(), self._config.on_event)
        return self.resume(machine, record)

    async def submit_redrive(
        self, definition: str | bytes | Mapping[str, Any] | StateMachine, record: ExecutionRecord
    ) -> Execution:
        """RedriveExecution on a store: continue the execution once the store has committed the redrive.

        On a durable store the execution is redriven as the store holds it
        (``record`` only names it): made RUNNING there, with its ExecutionRedriven
        event, before anything runs, so a restart right after resumes it. The
        returned execution's record is the one that runs.

        Raises:
            ExecutionNotRedrivable: as ``redrive``; also when the stored execution is no longer
                FAILED, ABORTED or TIMED_OUT (another process redrove it first).
            StoreError: the store cannot be written.
        """
        if self._durability is None or not self._durable:
            return self.redrive(definition, record)
        if self._tasks is None:
            raise RuntimeError("use 'async with Engine() as engine:' before redriving executions")
        machine = self.compile(definition)
        redriven = await self._durability.redrive(record.execution_arn, self.clock.timestamp())
        return self.resume(machine, redriven)

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

    @property
    def name_memory(self) -> int:
        """How many caller-given execution names are remembered for the uniqueness check."""
        return self._names.memory

    def get(self, execution_arn: str) -> Execution | None:
        """A running execution's handle by ARN."""
        return self._executions.get(execution_arn)

    @property
    def running(self) -> int:
        """How many executions are running."""
        return len(self._executions)


__all__ = ["Engine", "Execution", "ExecutionResult"]
