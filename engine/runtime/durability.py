"""An engine on a durable store: resume on entry, suspend on exit, and what the store reports.

With a store whose records outlive the process (SQLite, PostgreSQL), leaving
the engine does not abort what runs: every execution's pending progress is
committed and its task ends with the record still RUNNING, for the next
engine to resume (``suspend_all``, ``resume_stored``). The store reports
back through three hooks: it failed (the engine suspends everything and
keeps the error), another worker now owns an execution (it stops here,
recording nothing), or a new execution's name was taken in the store (it is
stopped with ExecutionAlreadyExists). Stop requests recorded in the store by
another process (``statewright stop``) are carried out here too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

import anyio

from engine.aio.owned import OwnedTasks
from engine.definition.model import StateMachine
from engine.errors import StatewrightError
from engine.history import History
from engine.runtime.record import RUNNING, ExecutionRecord, RuntimeConfig
from engine.runtime.redrive import ExecutionNotRedrivable, begin_redrive
from engine.store.base import Resumable, Store, StoreError

if TYPE_CHECKING:
    from engine.runtime.handle import Execution


class DurableOwner(Protocol):
    """What the durable side needs of its engine (``Engine`` is one).

    A protocol rather than the ``Engine`` class, so this module stays below the engine.
    """

    @property
    def _config(self) -> RuntimeConfig: ...
    @property
    def _executions(self) -> dict[str, Execution]: ...
    @property
    def _tasks(self) -> OwnedTasks | None: ...
    @property
    def _suspending(self) -> bool: ...
    def _suspend_executions(self) -> None: ...
    def compile(self, definition: str) -> StateMachine: ...
    def resume(self, definition: StateMachine, record: ExecutionRecord) -> Execution: ...


# The engine's logger, as before this module was split out of it: what operators configure.
log = logging.getLogger("engine.runtime.engine")


class Durability:
    """The engine's side of its store (any store; the hooks only for a durable one).

    Args:
        engine: the engine whose executions these are.
        store: its store.
    """

    def __init__(self, engine: DurableOwner, store: Store) -> None:
        self._engine = engine
        self.store = store
        self.failure: StoreError | None = None
        """Why the durable store stopped taking writes (the engine then suspended everything)."""
        if store.durable:
            store.on_failure = self._failed
            store.on_conflict = self._name_conflict
            store.on_lost = self._lost

    async def suspend_all(self) -> None:
        """Commit what is pending, then end every execution's task without recording an end."""
        store = self.store
        executions = self._engine._executions
        if self.failure is None:
            for ex in executions.values():
                store.save(ex.record)  # progress not yet marked (a branch's end) is kept too
            try:
                with anyio.CancelScope(shield=True):
                    await store.flush(leaving=True)
            except StoreError:
                pass  # reported through store_failure; what was committed stays
        store.freeze()
        self._engine._suspend_executions()

    def _failed(self, exc: StoreError) -> None:
        self.failure = exc
        engine = self._engine
        if not engine._suspending and engine._tasks is not None:
            engine._suspend_executions()

    def _lost(self, execution_arn: str) -> None:
        # Another worker claimed it (its lease had lapsed here): stop here, record no end, undo nothing.
        ex = self._engine._executions.get(execution_arn)
        if ex is not None:
            self._engine._config.dropped.add(execution_arn)
            ex._suspend()

    def _name_conflict(self, record: ExecutionRecord) -> None:
        ex = self._engine._executions.get(record.execution_arn)
        if ex is not None:
            ex.stop("ExecutionAlreadyExists", f"Execution Already Exists: '{record.execution_arn}'")

    async def read_back_history(self, record: ExecutionRecord) -> None:
        """Read an ended execution's history back from the store (its committed events were dropped)."""
        store = self.store
        if not store.durable:
            return
        try:
            await store.flush()
            events = await store.history(record.execution_arn)
        except StoreError:
            return
        record.history = History.from_events(events, enabled=record.history.enabled)

    async def redrive(self, execution_arn: str, timestamp: float) -> ExecutionRecord:
        """Redrive the execution as the store holds it, committed before anything runs.

        Raises:
            ExecutionNotRedrivable: the stored execution does not exist, is not FAILED, ABORTED
                or TIMED_OUT, or another process redrove it first.
            StoreError: the store cannot be written.
        """
        store = self.store
        await store.flush()  # its end may still be on its way to the store
        stored = await store.load(execution_arn)
        if stored is None:
            raise ExecutionNotRedrivable(f"Execution Does Not Exist: '{execution_arn}'")
        redriven = stored.record
        begin_redrive(redriven, timestamp, None)
        if not await store.redrive_execution(redriven):
            raise ExecutionNotRedrivable(f"Execution {execution_arn} has been redriven already")
        on_event = self._engine._config.on_event
        if on_event is not None:  # told once the redrive is the store's, not before
            on_event(redriven, "ExecutionRedriven", {"redriveCount": redriven.redrive_count})
        return redriven

    async def resume_stored(self) -> list[Execution]:
        """See ``Engine.resume_stored``."""
        resumed: list[Execution] = []
        machines: dict[str, StateMachine] = {}
        for item in await self.store.running():
            if item.record.execution_arn in self._engine._executions:
                continue
            ex = self._resume_item(item, machines)
            if ex is not None:
                resumed.append(ex)
        return resumed

    def _resume_item(self, item: Resumable, machines: dict[str, StateMachine]) -> Execution | None:
        machine = machines.get(item.definition)
        if machine is None:
            try:
                machine = machines[item.definition] = self._engine.compile(item.definition)
            except StatewrightError as exc:
                log.error("cannot resume %s: %s", item.record.execution_arn, exc)
                return None
        return self._engine.resume(machine, item.record)

    async def apply_stop_requests(self) -> int:
        """See ``Engine.apply_stop_requests``."""
        store = self.store
        done = 0
        for request in await store.stop_requests():
            ex = self._engine._executions.get(request.execution_arn)
            if ex is not None:
                ex.stop(request.error, request.cause)
                done += 1
            else:
                stored = await store.get_execution(request.execution_arn)
                if stored is None or stored.status != RUNNING:
                    await store.drop_stop_request(request.execution_arn)
        return done
