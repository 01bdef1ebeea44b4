"""The ``Store`` interface, and the group commit every durable backend shares.

An engine talks to its store in two ways. On its hot path, synchronously:
``save(record)`` after every transition marks the record changed (nothing is
written there), and ``await commit(record)`` before every Task call returns
once everything the record holds so far is committed. Everything else is an
awaited query: state machines, executions by status with paging, history
pages, stop requests, and the API's activities and tags — what the command
line and an API server need.

Durable backends (``DurableStore``) commit in groups: changed records
accumulate while a commit is in flight and the next commit takes all of them
in one transaction, so executions that reach a transition in the same moment
share one fsync (SQLite's documented WAL behaviour makes that one write of
the WAL). A backend supplies only ``_write_batch`` and the queries; the SQL
of each database stays in its own module.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Generic, TypeVar

import orjson

from engine.definition.model import StateMachine
from engine.errors import StatewrightError
from engine.history import History, HistoryEvent
from engine.jsonvalue import JSON, dumps_str
from engine.runtime.record import RUNNING, ExecutionRecord
from engine.store.codec import state_to_text

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE: Final = 100
MAX_BATCH: Final = 500
"""Records per group commit at most (a burst of transitions is committed in several)."""


class StoreError(StatewrightError):
    """A store cannot be opened or written: names the store and the cause."""


@dataclass(frozen=True, slots=True)
class StoredStateMachine:
    """A state machine as a store keeps it."""

    arn: str
    name: str
    definition: str
    type: str
    role_arn: str
    creation_date: datetime
    settings: Mapping[str, JSON] = field(default_factory=dict)
    """What the API keeps beyond the definition (logging, tracing, encryption, revision), as given."""


@dataclass(frozen=True, slots=True)
class StoredActivity:
    """An activity as a store keeps it (its tasks live with the executions waiting on them)."""

    arn: str
    name: str
    creation_date: datetime


@dataclass(frozen=True, slots=True)
class StoredExecution:
    """An execution's summary and outcome (DescribeExecution's fields)."""

    execution_arn: str
    name: str
    state_machine_arn: str
    status: str
    input: JSON
    output: JSON
    error: str | None
    cause: str | None
    start_date: datetime
    stop_date: datetime | None
    redrive_count: int = 0
    annotations: Mapping[str, JSON] | None = None
    """What the execution was started with beyond its definition (``ExecutionRecord.annotations``)."""
    redrive_date: datetime | None = None
    """When it was last redriven (None if never, or if redriven before the store kept the date)."""

    def describe(self) -> dict[str, JSON]:
        """DescribeExecution's fields; ``input``/``output`` as JSON text, as AWS gives them."""
        from engine.history import format_timestamp

        return {
            "executionArn": self.execution_arn,
            "name": self.name,
            "stateMachineArn": self.state_machine_arn,
            "status": self.status,
            "input": dumps_str(self.input),
            "output": dumps_str(self.output) if self.status == "SUCCEEDED" else None,
            "error": self.error,
            "cause": self.cause,
            "startDate": format_timestamp(self.start_date),
            "stopDate": format_timestamp(self.stop_date) if self.stop_date is not None else None,
        }

    def list_item(self) -> dict[str, JSON]:
        """One element of ListExecutions' ``executions``."""
        from engine.history import format_timestamp

        out: dict[str, JSON] = {
            "executionArn": self.execution_arn,
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "status": self.status,
            "startDate": format_timestamp(self.start_date),
        }
        if self.stop_date is not None:
            out["stopDate"] = format_timestamp(self.stop_date)
        return out


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; ``next_token`` is None on the last page."""

    items: list[T]
    next_token: str | None = None


@dataclass(frozen=True, slots=True)
class Resumable:
    """An execution to continue: its definition (as started) and its record."""

    definition: str
    record: ExecutionRecord


@dataclass(frozen=True, slots=True)
class StopRequest:
    """A StopExecution asked for through the store (by another process)."""

    execution_arn: str
    error: str | None
    cause: str | None


class Store(abc.ABC):
    """Where state machines, executions, positions and histories live.

    The engine opens the store when it is entered and closes it when it
    leaves (``open``/``close`` nest). ``durable`` says whether a new process
    can continue what this one left: the engine then resumes RUNNING
    executions on entry and suspends them on exit instead of aborting them.
    """

    durable: bool = False
    url: str = ""
    notifies: bool = False
    """Whether ``wait_for_work`` returns when other processes change the store (else only polling sees it)."""
    # What a durable store reports back; the engine sets these (a store that is not durable never calls them).
    on_failure: Callable[[StoreError], None] | None = None
    """Set by the engine: called with the StoreError when a commit fails."""
    on_lost: Callable[[str], None] | None = None
    """Set by the engine: a shared store found another worker owning this execution (by ARN); stop
    running it here without an end and without writing (the other worker continues it)."""
    on_conflict: Callable[[ExecutionRecord], None] | None = None
    """Set by the engine: a new execution's name was already taken in the store (nothing of it was written)."""

    # -- lifecycle -----------------------------------------------------------------
    async def open(self) -> None:  # noqa: B027 - optional hook
        """Make the store ready (create or migrate its schema)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Commit what is pending and release the store."""

    # -- the engine's hot path -----------------------------------------------------------
    @abc.abstractmethod
    def created(self, record: ExecutionRecord, machine: StateMachine) -> None:
        """A new execution (its ExecutionStarted is recorded); written with the next commit."""

    @abc.abstractmethod
    def save(self, record: ExecutionRecord) -> None:
        """The record changed (a transition, a handle, a due time, the end)."""

    async def commit(self, record: ExecutionRecord) -> None:
        """Return once everything ``record`` holds so far is committed."""
        self.save(record)

    async def flush(self, *, leaving: bool = False) -> None:  # noqa: B027 - optional hook
        """Return once every change saved so far is committed.

        ``leaving``: the engine is suspending or the store closing (SIGTERM); a store that waits
        for a lost server may then wait only a bounded time. Any other flush waits it out.
        """

    def freeze(self) -> None:  # noqa: B027 - optional hook
        """Accept no more changes (the engine suspends its executions)."""

    async def claim_runner(self) -> None:  # noqa: B027 - optional hook
        """Become an engine that runs this store's executions (called once the store is open).

        A store that allows one such engine at a time (SQLite) stands by here
        until the other one stops; a store with leases (PostgreSQL) lets many run.
        """

    # -- state machines ----------------------------------------------------------
    @abc.abstractmethod
    async def put_state_machine(
        self,
        arn: str,
        name: str,
        definition: str,
        *,
        type: str = "STANDARD",
        role_arn: str = "",
        settings: Mapping[str, JSON] | None = None,
        creation_date: datetime | None = None,
    ) -> StoredStateMachine:
        """Create the state machine, or give it this definition, role and settings (new executions use them).

        ``creation_date`` (now when None) is kept from the first put; ``settings``
        is kept as given and replaced by each put.
        """

    @abc.abstractmethod
    async def delete_state_machine(self, arn: str) -> None:
        """Forget the state machine and its tags (its executions stay); nothing happens if it is unknown."""

    @abc.abstractmethod
    async def get_state_machine(self, arn: str) -> StoredStateMachine | None:
        """A state machine by ARN, or None."""

    @abc.abstractmethod
    async def list_state_machines(
        self, *, max_results: int = DEFAULT_PAGE_SIZE, next_token: str | None = None
    ) -> Page[StoredStateMachine]:
        """State machines by name."""

    # -- activities ----------------------------------------------------------------
    @abc.abstractmethod
    async def put_activity(
        self, arn: str, name: str, *, creation_date: datetime | None = None
    ) -> StoredActivity:
        """Create the activity unless it exists; the activity as stored (the first put's date)."""

    @abc.abstractmethod
    async def list_activities(
        self, *, max_results: int = DEFAULT_PAGE_SIZE, next_token: str | None = None
    ) -> Page[StoredActivity]:
        """Activities by ARN."""

    @abc.abstractmethod
    async def delete_activity(self, arn: str) -> None:
        """Forget the activity and its tags; nothing happens if it is unknown."""

    # -- tags -------------------------------------------------------------------------
    @abc.abstractmethod
    async def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        """Add these tags to a state machine or activity (a key already there takes the new value)."""

    @abc.abstractmethod
    async def untag_resource(self, arn: str, keys: Collection[str]) -> None:
        """Remove these tag keys (keys it does not have are ignored)."""

    @abc.abstractmethod
    async def list_tags(self, arn: str) -> dict[str, str]:
        """A resource's tags, by key (empty when it has none)."""

    # -- map runs -------------------------------------------------------------------
    @abc.abstractmethod
    async def put_map_run(self, arn: str, execution_arn: str, document: str) -> None:
        """Keep a Map Run's document (JSON text), replacing what was kept under its ARN."""

    @abc.abstractmethod
    async def get_map_run(self, arn: str) -> str | None:
        """A Map Run's document, or None."""

    @abc.abstractmethod
    async def list_map_runs(self, execution_arn: str) -> list[str]:
        """The documents of an execution's Map Runs, in the order they were first put."""

    # -- executions --------------------------------------------------------------
    @abc.abstractmethod
    async def create_execution(
        self, record: ExecutionRecord, definition: str, *, run_here: bool = False
    ) -> None:
        """Record a new execution (with its ExecutionStarted event) and commit it.

        With ``run_here`` this store's engine runs it (``Engine.submit``): a shared
        store records it as this worker's at once; else it waits for whoever claims it.

        Raises:
            ExecutionAlreadyExists: the name is taken for that state machine.
        """

    @abc.abstractmethod
    async def redrive_execution(self, record: ExecutionRecord) -> bool:
        """Write a redriven execution back as RUNNING (its new events too) and commit it; this store runs it.

        ``record`` is the stored execution made RUNNING again with its
        ExecutionRedriven event. The write is made only if the stored execution
        is still FAILED, ABORTED or TIMED_OUT (another process may have redriven
        it first); returns whether it was.
        """

    @abc.abstractmethod
    async def get_execution(self, execution_arn: str) -> StoredExecution | None:
        """An execution's summary, or None."""

    @abc.abstractmethod
    async def load(self, execution_arn: str) -> Resumable | None:
        """An execution's definition and full record (history included), or None."""

    @abc.abstractmethod
    async def list_executions(
        self,
        *,
        state_machine_arn: str | None = None,
        status: str | None = None,
        max_results: int = DEFAULT_PAGE_SIZE,
        next_token: str | None = None,
    ) -> Page[StoredExecution]:
        """Executions, newest first, optionally of one state machine and one status."""

    @abc.abstractmethod
    async def history(
        self, execution_arn: str, *, after: int = 0, max_results: int | None = None, reverse: bool = False
    ) -> list[HistoryEvent]:
        """History events with an id above ``after`` (below it with ``reverse``), in id order or reversed."""

    @abc.abstractmethod
    async def running(self) -> list[Resumable]:
        """Every RUNNING execution not yet handed out by this store object (to resume)."""

    async def wait_for_work(self) -> None:
        """Return when another process may have started, stopped or handed back executions.

        A store that is told (PostgreSQL's LISTEN/NOTIFY) returns then; one that
        is not never returns. Callers poll as well, with this as the shortcut.
        """
        await asyncio.Event().wait()

    # -- stop requests -------------------------------------------------------------
    @abc.abstractmethod
    async def request_stop(self, execution_arn: str, error: str | None, cause: str | None) -> None:
        """Ask whoever runs the execution to stop it.

        Raises:
            ExecutionDoesNotExist: no such execution.
        """

    @abc.abstractmethod
    async def stop_requests(self) -> list[StopRequest]:
        """Stop requests not yet carried out."""

    @abc.abstractmethod
    async def drop_stop_request(self, execution_arn: str) -> None:
        """Forget a stop request (the execution had already ended)."""


# -- group commit --------------------------------------------------------------------


class ExecutionWrite:
    """One execution's changes in a batch, serialized on the event loop (a consistent snapshot).

    The new events come either as ``events`` or encoded in one value
    (``encoded``: the first new id and ``History.encode_after``'s bytes);
    each form is derived from the other on first use.
    """

    __slots__ = (
        "_encoded", "_events", "cause", "create", "error", "event_count", "execution_arn",
        "output", "position", "status", "stop_date",
    )  # fmt: skip

    def __init__(
        self,
        execution_arn: str,
        status: str,
        position: str,
        events: list[HistoryEvent] | None = None,
        event_count: int = 0,
        output: str | None = None,
        error: str | None = None,
        cause: str | None = None,
        stop_date: float | None = None,
        create: ExecutionCreate | None = None,
        *,
        encoded: tuple[int, bytes] | None = None,
    ) -> None:
        self.execution_arn = execution_arn
        self.status = status
        self.position = position  # JSON text: position and variables
        self._events = events
        self._encoded = encoded
        self.event_count = event_count
        self.output = output
        self.error = error
        self.cause = cause
        self.stop_date = stop_date
        self.create = create

    @property
    def events(self) -> list[HistoryEvent]:
        """The new events, in id order."""
        if self._events is None:
            self._events = History.decode(*self._encoded) if self._encoded is not None else []
        return self._events

    @property
    def encoded(self) -> tuple[int, bytes] | None:
        """``(first id, JSON array)`` of the new events, or None when there are none."""
        if self._encoded is None and self._events:
            rows = [
                (
                    e.type,
                    e.timestamp,
                    None,
                    dict(e.details) if e.details is not None else None,
                    e.previous_event_id,
                )
                for e in self._events
            ]
            self._encoded = (self._events[0].id, orjson.dumps(rows))
        return self._encoded


@dataclass(frozen=True, slots=True)
class ExecutionCreate:
    """What a new execution's row needs beyond an ExecutionWrite."""

    name: str
    state_machine_arn: str
    state_machine_name: str
    definition: str
    input: str
    start_date: float
    role_arn: str
    type: str
    redrive_count: int
    annotations: str | None
    """``record.annotations`` as JSON text, or None."""

    @classmethod
    def of(cls, record: ExecutionRecord, definition: str) -> ExecutionCreate:
        """What ``record``'s row needs, with the definition's JSON text."""
        return cls(
            name=record.name,
            state_machine_arn=record.state_machine_arn,
            state_machine_name=record.state_machine_name,
            definition=definition,
            input=dumps_str(record.input),
            start_date=record.start_time.timestamp(),
            role_arn=record.role_arn,
            type=record.state_machine_type,
            redrive_count=record.redrive_count,
            annotations=dumps_str(record.annotations) if record.annotations is not None else None,
        )


def creation_write(record: ExecutionRecord, definition: str) -> ExecutionWrite:
    """A new execution's first write (``Store.create_execution``): its row and every event so far."""
    history = record.history
    return ExecutionWrite(
        execution_arn=record.execution_arn,
        status=RUNNING,
        position=state_to_text(record),
        events=history.events_after(0),
        event_count=history.last_id,
        create=ExecutionCreate.of(record, definition),
    )


REDRIVABLE_STATUSES: Final = ("FAILED", "ABORTED", "TIMED_OUT")
"""The stored statuses ``redrive_execution`` turns back to RUNNING."""


def redriven_at(record: ExecutionRecord) -> float | None:
    """When ``record`` was redriven: its last ExecutionRedriven event not yet committed, or None."""
    history = record.history
    for event in reversed(history.events_after(history.committed)):
        if event.type == "ExecutionRedriven":
            return event.timestamp
    return None


def redrive_write(record: ExecutionRecord) -> ExecutionWrite:
    """A redriven execution's write (``Store.redrive_execution``): its position and its new events."""
    history = record.history
    return ExecutionWrite(
        execution_arn=record.execution_arn,
        status=RUNNING,
        position=state_to_text(record),
        event_count=history.last_id,
        encoded=history.encode_after(history.committed) if history.committed < history.last_id else None,
    )


@dataclass(slots=True)
class _Batch:
    records: dict[str, ExecutionRecord] = field(default_factory=dict)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    woken: bool = False  # the writer was told of this batch


class DurableStore(Store):
    """A store that survives the process: changes are group-committed by one writer task.

    ``save`` only marks a record; the writer takes every marked record,
    serializes what changed since its last commit (new history events, the
    position, the outcome) and hands the batch to ``_write_batch``, one
    transaction. While that runs, new marks gather for the next batch. After
    a commit, a still-running execution's committed events are dropped from
    memory: a waiting execution keeps its record, not its history.
    """

    durable = True

    def __init__(self) -> None:
        self._pending = _Batch()
        self._creates: dict[str, StateMachine] = {}
        self._definitions: dict[int, tuple[StateMachine, str]] = {}
        self._wake: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        self._failed: StoreError | None = None
        self._frozen = False
        self._rejected: set[str] = set()
        self._in_flight: _Batch | None = None  # the batch being written
        self._ahead: _Batch | None = None  # the next one, serialized while that one is written
        self._opened = 0
        self.batches = 0
        """How many commits have been made (group commit: far fewer than transitions)."""

    # -- subclass hooks --------------------------------------------------------
    @abc.abstractmethod
    async def _open(self) -> None: ...

    @abc.abstractmethod
    async def _close(self) -> None: ...

    @abc.abstractmethod
    async def _write_batch(self, writes: Sequence[ExecutionWrite]) -> set[str]:
        """Write one batch in one transaction; return the ARNs whose create found the name taken."""

    # -- lifecycle -------------------------------------------------------------
    async def open(self) -> None:
        self._opened += 1
        if self._opened > 1:
            return
        self._frozen = False
        self._failed = None
        await self._open()
        self._wake = asyncio.Event()
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name=f"store {self.url}")

    async def close(self) -> None:
        self._opened -= 1
        if self._opened > 0:
            return
        try:
            if self._failed is None:
                await self.flush(leaving=True)
        finally:
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.cancel()
                await asyncio.gather(writer, return_exceptions=True)
            await self._close()

    @property
    def failure(self) -> StoreError | None:
        """Why the store stopped accepting writes (disk full, I/O error), or None."""
        return self._failed

    # -- the engine's hot path -------------------------------------------------------
    def created(self, record: ExecutionRecord, machine: StateMachine) -> None:
        self._creates[record.execution_arn] = machine
        self.save(record)

    def save(self, record: ExecutionRecord) -> None:
        # Called at every transition: kept to a dict store and one flag test.
        if self._frozen or (self._rejected and record.execution_arn in self._rejected):
            return
        pending = self._pending
        pending.records[record.execution_arn] = record
        if not pending.woken:
            pending.woken = True
            if self._wake is not None:
                self._wake.set()

    async def commit(self, record: ExecutionRecord) -> None:
        if self._failed is not None:
            raise self._failed
        if self._frozen:
            # Suspending: nothing more is written, so nothing more may be called.
            await asyncio.Event().wait()
        arn = record.execution_arn
        in_flight, ahead = self._in_flight, self._ahead
        if (
            record.history.committed == record.history.last_id
            and arn not in self._pending.records
            and (in_flight is None or arn not in in_flight.records)
            and (ahead is None or arn not in ahead.records)
        ):
            return  # nothing of it is uncommitted (a resumed Task picking up its call)
        self.save(record)
        waiter = asyncio.get_running_loop().create_future()
        self._pending.waiters.append(waiter)
        await waiter

    async def flush(self, *, leaving: bool = False) -> None:
        if self._failed is not None:
            raise self._failed
        waiter = asyncio.get_running_loop().create_future()
        latest = self._ahead or self._in_flight
        if not self._pending.records and latest is not None:
            # Nothing new: what was saved so far is in the batch being written (or the next one).
            latest.waiters.append(waiter)
        elif not self._pending.records:
            return
        else:
            self._pending.waiters.append(waiter)
            if self._wake is not None:
                self._wake.set()
        await waiter

    def freeze(self) -> None:
        self._frozen = True

    # -- the writer ------------------------------------------------------------
    def _take(self) -> _Batch:
        """The next batch: every record marked (and their waiters), or MAX_BATCH of them."""
        pending = self._pending
        if len(pending.records) > MAX_BATCH:
            # A bounded transaction: serializing thousands of records at once would hold all
            # their text in memory together. The rest (and the waiters) go with the next one.
            arns = list(pending.records)[:MAX_BATCH]
            assert self._wake is not None
            self._wake.set()
            return _Batch({arn: pending.records.pop(arn) for arn in arns})
        self._pending = _Batch()
        return pending

    def _take_ahead(self, writing: _Batch) -> _Batch | None:
        """A full batch to serialize while ``writing`` is written, or None (no backlog).

        Only with more than MAX_BATCH records marked: a group that is full already gains
        nothing by waiting, while a smaller one keeps gathering until the commit before it
        ends. Records in ``writing`` stay marked (their new events are serialized once it is
        committed), and so do the waiters: they are answered by a later batch.
        """
        pending = self._pending
        if len(pending.records) <= MAX_BATCH:
            return None
        arns: list[str] = []
        for arn in pending.records:
            if arn not in writing.records:
                arns.append(arn)
                if len(arns) == MAX_BATCH:
                    break
        return _Batch({arn: pending.records.pop(arn) for arn in arns}) if arns else None

    async def _write_loop(self) -> None:
        assert self._wake is not None
        wake = self._wake
        loop = asyncio.get_running_loop()
        ahead: tuple[_Batch, list[ExecutionWrite]] | None = None
        while True:
            if ahead is None:
                await wake.wait()
                wake.clear()
                batch = self._take()
                try:
                    writes = [self._serialize(r) for r in batch.records.values()]
                except Exception as exc:  # a bug must not pass silently
                    self._fail(StoreError(f"store {self.url}: {type(exc).__name__}: {exc}"), batch)
                    return
            else:
                batch, writes = ahead
                ahead = None
            self._in_flight = batch
            try:
                if writes:
                    written = loop.create_task(self._write_batch(writes))
                    # Under a backlog, the next batch is serialized here while this one is written
                    # (the event loop's work and the database's overlap); the task starts first.
                    await asyncio.sleep(0)
                    following = self._take_ahead(batch)
                    if following is not None:
                        self._ahead = following
                        try:
                            ahead = (following, [self._serialize(r) for r in following.records.values()])
                        except BaseException:
                            await asyncio.gather(written, return_exceptions=True)
                            raise
                    conflicts = await written
                else:
                    conflicts = set()
                counts = {w.execution_arn: w.event_count for w in writes}
            except StoreError as exc:
                self._fail(exc, batch)
                return
            except Exception as exc:  # a backend bug must not pass silently
                self._fail(StoreError(f"store {self.url}: {type(exc).__name__}: {exc}"), batch)
                return
            self._in_flight = self._ahead
            self._ahead = None
            if writes:
                self.batches += 1
            for arn, record in batch.records.items():
                self._creates.pop(arn, None)
                if arn in conflicts:
                    self.conflicted(record)
                    continue
                history = record.history
                # Only what was serialized is committed: events recorded since go with the next batch.
                history.committed = max(history.committed, counts[arn])
                if record.status == RUNNING:
                    history.drop_committed()
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _fail(self, exc: StoreError, batch: _Batch) -> None:
        log.error("%s", exc)
        self._failed = exc
        self._frozen = True
        for waiter in batch.waiters + self._pending.waiters:
            if not waiter.done():
                waiter.set_exception(exc)
        if self.on_failure is not None:
            self.on_failure(exc)

    def conflicted(self, record: ExecutionRecord) -> None:
        self._rejected.add(record.execution_arn)
        if self.on_conflict is not None:
            self.on_conflict(record)

    def definition_text(self, machine: StateMachine) -> str:
        """The definition's JSON text (made once per machine)."""
        found = self._definitions.get(id(machine))
        if found is None or found[0] is not machine:
            found = self._definitions[id(machine)] = (machine, dumps_str(machine.raw))
        return found[1]

    def _serialize(self, record: ExecutionRecord) -> ExecutionWrite:
        history = record.history
        encoded = (
            history.encode_after(history.committed)
            if history.enabled and history.committed < history.last_id
            else None
        )
        finished = record.status != RUNNING
        write = ExecutionWrite(
            execution_arn=record.execution_arn,
            status=record.status,
            # An ended execution keeps its position only if a redrive may continue from it.
            position=state_to_text(record) if not finished or record.status in REDRIVABLE_STATUSES else "",
            event_count=history.last_id,
            encoded=encoded,
        )
        if finished:
            write.output = dumps_str(record.output) if record.status == "SUCCEEDED" else None
            write.error = record.error
            write.cause = record.cause
            write.stop_date = record.stop_time.timestamp() if record.stop_time is not None else None
        machine = self._creates.get(record.execution_arn)
        if machine is not None:
            write.create = ExecutionCreate.of(record, self.definition_text(machine))
        return write
