"""One execution's handle and the task that runs it.

``Execution`` is what ``Engine.start`` returns: it waits for the end, stops
(StopExecution), describes, and runs the execution's task under its own
cancel scope (TimeoutSeconds is that scope's deadline). A Task that waits
may *park* the execution (no task runs, only its record is kept; a wake runs
it again), and with a durable store the engine may *suspend* it (its task
ends, its record stays RUNNING for the next engine). How the execution ends
(SUCCEEDED, FAILED, TIMED_OUT, ABORTED) and the event that records it are
decided here; ``ExecutionResult`` is that end as the caller sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

import anyio
import anyio.lowlevel

from engine.aio.done import Done
from engine.aio.owned import OwnedTasks
from engine.aio.scopes import cancel_scope
from engine.definition.model import StateMachine
from engine.errors import DATA_LIMIT_EXCEEDED, StatesError, StatesRuntime
from engine.executor import ExecutionCleaner, ExecutionEnd, Parked
from engine.history import History, HistoryLimitReached, format_timestamp
from engine.jsonvalue import JSON, NotJSON, check_value
from engine.registry import ExecutorRegistry
from engine.runtime.clock import Clock
from engine.runtime.execution import Failure, Interpreter
from engine.runtime.record import (
    ABORTED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    Ending,
    ExecutionRecord,
    RuntimeConfig,
)
from engine.size_guard import limit_cause
from engine.store.base import StoreError


class HistoryReader(Protocol):
    """Reads an ended execution's history back from the store (the engine's durable side)."""

    async def read_back_history(self, record: ExecutionRecord) -> None: ...


class ExecutionOwner(Protocol):
    """What an execution's handle needs of the engine that runs it (``Engine`` is one).

    A protocol rather than the ``Engine`` class, so this module stays below the engine.
    """

    @property
    def clock(self) -> Clock: ...
    @property
    def registry(self) -> ExecutorRegistry: ...
    @property
    def _config(self) -> RuntimeConfig: ...
    @property
    def _executions(self) -> dict[str, Execution]: ...
    @property
    def _tasks(self) -> OwnedTasks | None: ...
    @property
    def _suspending(self) -> bool: ...
    @property
    def _durability(self) -> HistoryReader | None: ...
    def _finished(self, ex: Execution) -> None: ...


_END_EVENTS: Final = {
    SUCCEEDED: "ExecutionSucceeded",
    FAILED: "ExecutionFailed",
    ABORTED: "ExecutionAborted",
    TIMED_OUT: "ExecutionTimedOut",
}

# The engine's logger, as before this module was split out of it: what operators configure.
log = logging.getLogger("engine.runtime.engine")


@dataclass(frozen=True)
class ExecutionResult:
    """How an execution ended.

    Attributes:
        status: SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
        output: the output (SUCCEEDED only), as a JSON value.
        error: the error name (other statuses), if any.
        cause: the cause, if any.
        history: the execution history (AWS event types and fields).
        execution_arn: the execution's ARN.
        name: the execution's name.
    """

    status: str
    output: JSON
    error: str | None
    cause: str | None
    history: History
    execution_arn: str
    name: str
    start_date: datetime
    stop_date: datetime | None = None

    def to_json(self) -> dict[str, JSON]:
        """The CLI's shape: status, output, error, cause."""
        return {"status": self.status, "output": self.output, "error": self.error, "cause": self.cause}


class Execution:
    """A handle on a running (or finished) execution."""

    __slots__ = (
        "_cleanup",
        "_done",
        "_engine",
        "_interp",
        "_machine",
        "_parked",
        "_scope",
        "_stop_requested",
        "record",
    )

    def __init__(self, engine: ExecutionOwner, interp: Interpreter, machine: StateMachine) -> None:
        self._engine = engine
        self._interp = interp
        self._machine = machine
        self.record = interp.record
        self._done = Done()
        # One cancel scope per run of the task; None while parked (no task runs).
        self._scope: anyio.CancelScope | None = cancel_scope()
        self._stop_requested: tuple[str | None, str | None] | None = None
        self._parked = False
        # The shielded scope of the cleanup after the end while it runs; left set if a suspend cut it.
        self._cleanup: anyio.CancelScope | None = None

    @property
    def execution_arn(self) -> str:
        return self.record.execution_arn

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def done(self) -> bool:
        return self._done.is_set

    async def wait(self) -> ExecutionResult:
        """Wait until the execution ends; return its result.

        With a durable store, a history whose committed events were dropped
        from memory while the execution waited is read back from the store.
        """
        await self._done.wait()
        rec = self.record
        if not rec.history.complete and rec.status != RUNNING:
            durability = self._engine._durability
            if durability is not None:
                await durability.read_back_history(rec)
        return self.result()

    def result(self) -> ExecutionResult:
        """The result so far (status RUNNING while it runs)."""
        r = self.record
        return ExecutionResult(
            status=r.status,
            output=r.output,
            error=r.error,
            cause=r.cause,
            history=r.history,
            execution_arn=r.execution_arn,
            name=r.name,
            start_date=r.start_time,
            stop_date=r.stop_time,
        )

    def stop(self, error: str | None = None, cause: str | None = None) -> None:
        """Abort the execution (StopExecution): cancels everything under it."""
        if self._done.is_set or self._stop_requested is not None:
            return
        self._stop_requested = (error, cause)
        self._interp.may_park = False
        if self._parked:
            # Run the parked Task again, already cancelled: its executor cleans up as usual.
            self._unpark()
        elif self._scope is not None:
            self._scope.cancel()

    @property
    def parked(self) -> bool:
        """Whether the execution waits in a parked Task (no task of its own runs)."""
        return self._parked

    @property
    def _suspended(self) -> bool:
        """Whether the engine leaves this execution as it is (it suspends all, or another worker owns it)."""
        engine = self._engine
        return engine._suspending or self.record.execution_arn in engine._config.dropped

    def _suspend(self) -> None:
        """Leave the execution as it is (durable store): its task ends, its record stays RUNNING.

        A cleanup after its end that is under way stops too (it is shielded
        from stops and timeouts only): what it deleted is committed, what is
        left stays in the ledger, and the engine that resumes the record
        finishes it.
        """
        if self._cleanup is not None:
            self._cleanup.cancel()
        if self._parked:
            self._parked = False
            self._engine._executions.pop(self.record.execution_arn, None)
            self._engine._config.dropped.discard(self.record.execution_arn)
            self._done.set()
        elif self._scope is not None:
            self._scope.cancel()

    def _park(self, parked: Parked) -> None:
        self._scope = None
        self._parked = True
        parked.listen(self._unpark)

    def _unpark(self) -> bool:
        """The parked Task's wait may be over (or the execution was stopped): run it again.

        Returns whether it runs again because of this call (the engine's ``Wake``).
        """
        if not self._parked:
            return False
        tasks = self._engine._tasks
        if tasks is None:
            return False
        self._parked = False
        self._interp.unparked = True
        scope = self._scope = cancel_scope()
        if self._stop_requested is not None:
            scope.cancel()
        tasks.spawn(self._run(), name=f"execution {self.record.name}")
        return True

    def describe(self) -> dict[str, JSON]:
        """DescribeExecution's shape."""
        r = self.record
        out: dict[str, JSON] = {
            "executionArn": r.execution_arn,
            "stateMachineArn": r.state_machine_arn,
            "name": r.name,
            "status": r.status,
            "startDate": format_timestamp(r.start_time),
            "input": r.input,
        }
        if r.stop_time is not None:
            out["stopDate"] = format_timestamp(r.stop_time)
        if r.status == SUCCEEDED:
            out["output"] = r.output
        if r.error is not None:
            out["error"] = r.error
        if r.cause is not None:
            out["cause"] = r.cause
        return out

    async def _end(self, ending: Ending) -> None:
        """Let the executors clean up after the execution, then record its end.

        The cleanup awaits (it deletes what the execution created): with a
        durable store, the end is committed before it, so an execution resumed
        in the middle of the cleanup finishes that and records this end,
        running none of its states again (``ExecutionRecord.ending``).
        """
        rec = self.record
        resumed = rec.ending is not None
        cleaners = self._cleaners(ending.status)
        if cleaners:
            commit = self._engine._config.commit
            if commit is not None and rec.ending is None:
                rec.ending = ending
                await commit(rec)
            await self._clean_up(cleaners, ending.status, resumed=resumed)
            if self._cut_short:
                # Suspended in the cleanup: the end stays decided, not recorded; the task ends here.
                await anyio.lowlevel.checkpoint()
        rec.ending = None
        rec.ledger = None
        rec.status = ending.status
        details: dict[str, JSON] = {}
        if ending.status == SUCCEEDED:
            rec.output = ending.output
            details["output"] = ending.output
        else:
            rec.error, rec.cause = ending.error, ending.cause
            if rec.error is not None:
                details["error"] = rec.error
            if rec.cause is not None and ending.status != TIMED_OUT:
                details["cause"] = rec.cause
        self._interp.event(_END_EVENTS[ending.status], details)

    def _cleaners(self, status: str) -> list[tuple[ExecutionCleaner, dict[str, JSON]]]:
        """Each cleaner with the ledger entries it keeps; the ledger forgets every other entry."""
        rec = self.record
        ledger = rec.ledger
        if not ledger:
            return []
        found: list[tuple[ExecutionCleaner, dict[str, JSON]]] = []
        kept: dict[str, JSON] = {}
        for cleaner in self._engine.registry.cleaners():
            mine = {key: ledger[key] for key in cleaner.execution_ended(status, ledger) if key in ledger}
            if mine:
                found.append((cleaner, mine))
                kept.update(mine)
        rec.ledger = kept or None
        return found

    async def _clean_up(
        self, cleaners: list[tuple[ExecutionCleaner, dict[str, JSON]]], status: str, *, resumed: bool
    ) -> None:
        """Let the cleaners delete what their ledger entries name (``ExecutionCleaner``), shielded."""
        interp = self._interp
        config = self._engine._config
        on_progress = config.on_progress
        on_transition = config.on_transition
        record = self.record

        def report(details: Mapping[str, JSON]) -> None:
            if on_progress is not None:
                on_progress(record, "CleanupWaiting", details)

        def emit(event_type: str, details: Mapping[str, JSON]) -> None:
            interp.event(event_type, dict(details))

        def note(key: str, entry: JSON) -> None:
            record.note(key, entry)
            if on_transition is not None:
                on_transition(record)  # with the event emitted just before: one commit holds both

        with anyio.CancelScope(shield=True) as self._cleanup:
            for cleaner, entries in cleaners:
                end = ExecutionEnd(
                    execution_arn=record.execution_arn,
                    execution_name=record.name,
                    status=status,
                    clock=self._engine.clock,
                    options=config.executor_options,
                    emit=emit,
                    report=report,
                    ledger=entries,
                    note=note,
                    resumed=resumed,
                )
                try:
                    await cleaner.clean_up_execution(end)
                except Exception:
                    log.exception("cleaning up after %s failed", record.execution_arn)
        if not self._cleanup.cancelled_caught:
            self._cleanup = None

    @property
    def _cut_short(self) -> bool:
        """Whether a suspend stopped the cleanup after the end (outside it: it ran to its end otherwise)."""
        return self._cleanup is not None

    async def _run(self, resumed: bool = False) -> None:
        interp = self._interp
        rec = self.record
        machine = self._machine
        scope = self._scope
        assert scope is not None
        timeout = machine.timeout_seconds
        if timeout is not None:
            clock = self._engine.clock
            # TimeoutSeconds counts from the execution's start, also when it was resumed.
            elapsed = max(0.0, clock.timestamp() - rec.start_time.timestamp()) if resumed else 0.0
            scope.deadline = clock.monotonic() + timeout - elapsed
        parked: Parked | None = None
        engine = self._engine
        try:
            with scope:
                try:
                    if rec.ending is not None:
                        # Resumed while the cleanup after its end ran: that end stands, no state runs again.
                        await self._end(rec.ending)
                    else:
                        if self._stop_requested is not None and not interp.unparked:
                            # Stopped before its first step: a cancel scope only acts at an await,
                            # and a chain of plain states may never reach one. (A parked Task that
                            # is run again cancelled must still run, to clean up.)
                            await anyio.lowlevel.checkpoint()
                        output = await interp.run_scope(machine, rec.position, rec.variables)
                        check_output(output)
                        over = interp.guard.over(output)
                        if over is not None:
                            raise Failure(
                                StatesError(DATA_LIMIT_EXCEEDED, limit_cause("The execution output"))
                            )
                        rec.output = output
                        await self._end(Ending(SUCCEEDED, output))
                except Exception as exc:  # Failure, HistoryLimitReached, or a fault of the engine
                    if isinstance(exc, StoreError):
                        raise  # the store's own failure: handled as the store decides, not an ASL failure
                    f = _as_failure(exc, rec)
                    await self._end(Ending(FAILED, None, f.error.error or None, f.error.cause or None))
            if scope.cancelled_caught and not self._cut_short and not (self._suspended and self._stop_requested is None):
                # An end already decided stands (a stop or timeout while it was being committed).
                ending = rec.ending
                if ending is None and self._stop_requested is not None:
                    ending = Ending(ABORTED, None, *self._stop_requested)
                elif ending is None:
                    ending = Ending(TIMED_OUT, None, "States.Timeout", None)
                # Its own scope: a suspend must be able to cancel the commit of the end.
                closing = self._scope = cancel_scope()
                with closing:
                    await self._end(ending)
        except Parked as exc:
            # The Task waits without this task: it ends here and a wake runs the Task again.
            parked = exc
        finally:
            if (
                parked is None
                and rec.status == RUNNING
                and self._suspended
                and (self._stop_requested is None or self._cut_short)
            ):
                # Suspended with a durable store: the stored record stays RUNNING for the next engine.
                engine._executions.pop(rec.execution_arn, None)
                engine._config.dropped.discard(rec.execution_arn)
                self._done.set()
            elif parked is None:
                if rec.status == RUNNING:
                    # Cancelled from outside (the engine is closing): that is an abort.
                    rec.status = ABORTED
                    interp.history.append("ExecutionAborted", self._engine.clock.timestamp(), {})
                rec.stop_time = self._engine.clock.now()
                rec.position.children.clear()
                self._engine._finished(self)
                self._done.set()
        if parked is not None:
            self._park(parked)


def check_output(output: JSON) -> None:
    """An execution's output must be JSON (no NaN or Infinity from an executor, for example)."""
    try:
        check_value(output)
    except NotJSON as exc:
        raise Failure(StatesRuntime(cause=f"The execution output is not JSON: {exc}")) from None


def _as_failure(exc: BaseException, rec: ExecutionRecord) -> Failure:
    """How an execution that raised ends: its ASL failure, the history quota, or an engine fault."""
    if isinstance(exc, Failure):
        return exc
    if isinstance(exc, HistoryLimitReached):
        return Failure(StatesRuntime(cause=str(exc)))
    # A fault of the engine itself: the execution fails as AWS's would on an internal error,
    # the traceback goes to the debug log, never to the user.
    log.debug("execution %s failed inside the engine", rec.name, exc_info=exc)
    return Failure(StatesRuntime(cause=f"Internal error: {type(exc).__name__}: {exc}"))


__all__ = ["Execution", "ExecutionResult", "check_output"]
