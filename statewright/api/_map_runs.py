"""Map Runs: DescribeMapRun, ListMapRuns, UpdateMapRun, and ListExecutions of a Map Run's children.

A Distributed Map state's run is held by the engine (``engine.map_runs``)
while it runs; UpdateMapRun changes it there, so a new ``maxConcurrency``
or tolerated failure threshold reaches the running Map at once. With a
durable store every run is a document in the store (``Store.put_map_run``),
written when it starts, is updated and ends by a writer task that
``flush`` drains: reads flush first, and the server flushes before it
stops. A run that ended is forgotten by the engine once written (the store
answers for it), so memory does not grow with every run a server has seen. A run that was running when the server stopped is resumed with its
execution; the document's start date, its children's dates and the
settings UpdateMapRun gave it are taken up again (``_take_up``). A run known
only to the store (its execution ended before a restart) is answered from
its document.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import anyio

from engine import Engine
from engine.history import History
from engine.jsonvalue import JSON, dumps_str, loads
from engine.map_runs import RUNNING, Child, MapRun, MapRuns
from engine.store import Store, StoreError
from statewright.api._arns import parse_arn
from statewright.api._errors import ApiError, store_failure
from statewright.api._paging import make_token, page_size, read_token

_CHILD_STATUS: Final = {"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
_END_EVENTS: Final = {
    "SUCCEEDED": "ExecutionSucceeded",
    "FAILED": "ExecutionFailed",
    "TIMED_OUT": "ExecutionTimedOut",
    "ABORTED": "ExecutionAborted",
}
_INCLUDED: Final[dict[str, JSON]] = {"truncated": False}
_DATA_KEYS: Final = ("input", "inputDetails", "output", "outputDetails")


def _date(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


def _not_found(arn: str) -> ApiError:
    return ApiError("ResourceNotFound", f"Resource not found: '{arn}'", resourceName=arn)


class MapRunIndex:
    """The Map Runs one server answers for."""

    def __init__(self, engine: Engine) -> None:
        self._runs: MapRuns = engine.map_runs
        self._runs.listener = self._changed
        store = engine.store
        self._store: Store | None = store if store is not None and store.durable else None
        if self._store is not None:
            self._runs.persist = self._persist
        self._pending: dict[str, MapRun] = {}
        self._children: dict[str, tuple[str, int]] = {}
        """Child execution ARN -> (its run's ARN, its index), for the runs seen."""
        self._resumed: list[MapRun] = []
        # Made in the writer's loop (anyio's primitives need one).
        self._wake: anyio.Event | None = None
        self._lock: anyio.Lock | None = None

    # -- keeping them in the store ---------------------------------------------------
    def _changed(self, run: MapRun, what: str) -> None:
        if self._store is None:
            return
        if what == "resumed":
            self._resumed.append(run)
        else:
            self._pending[run.arn] = run
        if self._wake is not None:
            self._wake.set()

    async def run_writer(self) -> None:
        """Write what changed, as it changes (runs until cancelled)."""
        while True:
            self._wake = anyio.Event()
            try:
                await self.flush()
            except StoreError:
                pass  # kept pending: the next change or read writes it again
            if not self._pending and not self._resumed:
                await self._wake.wait()

    async def flush(self) -> None:
        """Take up resumed runs' documents, then write every changed run's.

        Raises:
            StoreError: the store refused.
        """
        store = self._store
        if store is None:
            return
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            while self._resumed:
                run = self._resumed[0]
                doc = await store.get_map_run(run.arn)
                if doc is not None:
                    _take_up(run, MapRun.from_json(_object(doc)))
                self._resumed.pop(0)
            while self._pending:
                arn, run = next(iter(self._pending.items()))
                # Serialized when written: the newest state of the run.
                await store.put_map_run(arn, run.execution_arn, dumps_str(run.to_json()))
                if self._pending.get(arn) is run:
                    del self._pending[arn]
                    if run.status != RUNNING:
                        self._runs.forget(arn)  # ended and written: the store answers for it now

    async def _persist(self, run: MapRun) -> None:
        """A run's end, written before its Map state exits (``MapRuns.end`` awaits it)."""
        try:
            await self.flush()
        except StoreError:
            pass  # kept pending: the writer writes it again (the execution goes on meanwhile)

    async def _flushed(self) -> None:
        try:
            await self.flush()
        except StoreError as exc:
            raise store_failure(exc) from None

    async def _find(self, arn: str) -> MapRun | None:
        live = self._runs.get(arn)
        if live is not None or self._store is None:
            return live
        await self._flushed()
        try:
            doc = await self._store.get_map_run(arn)
        except StoreError as exc:
            raise store_failure(exc) from None
        return MapRun.from_json(_object(doc)) if doc is not None else None

    async def get(self, arn: str) -> MapRun:
        """The run ``arn`` names.

        Raises:
            ApiError: InvalidArn, ResourceNotFound.
        """
        parse_arn(arn, "mapRun")
        if "/" not in arn.split(":")[6]:
            raise ApiError("InvalidArn", f"Invalid Arn: 'Invalid ARN format: {arn}'")
        run = await self._find(arn)
        if run is None:
            raise _not_found(arn)
        return run

    async def of(self, execution_arn: str) -> list[MapRun]:
        """An execution's runs in the order they started: those held, and those only the store has."""
        runs = {r.arn: r for r in self._runs.of(execution_arn)}
        if self._store is not None:
            await self._flushed()
            try:
                docs = await self._store.list_map_runs(execution_arn)
            except StoreError as exc:
                raise store_failure(exc) from None
            for doc in docs:
                stored = MapRun.from_json(_object(doc))
                runs.setdefault(stored.arn, stored)
        return sorted(runs.values(), key=lambda r: r.start)

    def _note(self, run: MapRun) -> None:
        for index in run.children:
            self._children.setdefault(run.child_arn(index), (run.arn, index))

    async def child(self, arn: str) -> tuple[MapRun, Child] | None:
        """The run and child of a child execution's ARN (``execution:MACHINE/LABEL:UUID``).

        Looked up in the runs seen; else in the runs held, then in the stored runs of the
        executions of ``MACHINE`` with the label ``LABEL``.
        """
        if arn not in self._children:
            for run in self._runs.held():
                self._note(run)
        if arn not in self._children and self._store is not None:
            await self._scan(arn)
        hit = self._children.get(arn)
        if hit is None:
            return None
        found = await self._find(hit[0])
        child = found.children.get(hit[1]) if found is not None else None
        return (found, child) if found is not None and child is not None else None

    async def _scan(self, arn: str) -> None:
        assert self._store is not None
        head = arn.split(":")
        machine_name, _, label = head[6].partition("/")
        machine = ":".join([*head[:5], "stateMachine", machine_name])
        await self._flushed()
        token: str | None = None
        try:
            while True:
                page = await self._store.list_executions(state_machine_arn=machine, next_token=token)
                for stored in page.items:
                    for doc in await self._store.list_map_runs(stored.execution_arn):
                        run = MapRun.from_json(_object(doc))
                        if run.label == label:
                            self._note(run)
                    if arn in self._children:
                        return
                token = page.next_token
                if token is None:
                    return
        except StoreError as exc:
            raise store_failure(exc) from None

    async def describe_child(self, arn: str) -> dict[str, Any] | None:
        """DescribeExecution of a Map Run's child execution (None: no such child)."""
        found = await self.child(arn)
        if found is None:
            return None
        run, child = found
        out: dict[str, Any] = {
            "executionArn": arn,
            "stateMachineArn": run.child_machine_arn(),
            "name": arn.rpartition(":")[2],
            "status": child.status,
            "startDate": _date(child.start),
            "stopDate": _date(child.stop),
            "input": child.input,
            "inputDetails": {"included": True},
            "mapRunArn": run.arn,
            "error": child.error,
            "cause": child.cause,
        }
        if child.status == "SUCCEEDED":
            out["output"] = child.output
            out["outputDetails"] = {"included": True}
        return out

    async def child_history(self, arn: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """GetExecutionHistory of a Map Run's child execution (None: no such child).

        A child's own state events are not kept (they stay out of every history, as
        its parent's); its history is what is kept of it: its start with its input,
        and its end with its output or error.
        """
        found = await self.child(arn)
        if found is None:
            return None
        _, child = found
        history = History(limit=None)
        history.append("ExecutionStarted", child.start, {"input": child.input, "inputDetails": _INCLUDED})
        end = _END_EVENTS.get(child.status)
        if end is not None and child.stop is not None:
            details: dict[str, JSON] = (
                {"output": child.output, "outputDetails": _INCLUDED}
                if child.status == "SUCCEEDED"
                else {k: v for k, v in (("error", child.error), ("cause", child.cause)) if v is not None}
            )
            history.append(end, child.stop, details)
        reverse = bool(params.get("reverseOrder"))
        include = params.get("includeExecutionData")
        include_data = True if include is None else bool(include)
        listing = f"GetExecutionHistory/{arn}/{reverse}"
        at = read_token(params.get("nextToken"), listing)
        n = len(history)
        ids = range(n if at is None else min(at, n), 0, -1) if reverse else range(at or 1, n + 1)
        size = page_size(params)
        events = []
        for i in ids[:size]:
            event = history[i - 1].to_aws()
            event["timestamp"] = _date(history[i - 1].timestamp)
            if not include_data:
                for key, value in event.items():
                    if key.endswith("EventDetails") and isinstance(value, dict):
                        event[key] = {k: v for k, v in value.items() if k not in _DATA_KEYS}
            events.append(event)
        out: dict[str, Any] = {"events": events}
        if len(ids) > size:
            out["nextToken"] = make_token(listing, ids[size])
        return out

    # -- operations --------------------------------------------------------------------
    async def describe(self, params: dict[str, Any]) -> dict[str, Any]:
        run = await self.get(params["mapRunArn"])
        executions, items = run.counts()
        return {
            "mapRunArn": run.arn,
            "executionArn": run.execution_arn,
            "status": run.status,
            "startDate": _date(run.start),
            "stopDate": _date(run.stop),
            "maxConcurrency": run.max_concurrency,
            "toleratedFailurePercentage": run.tolerated_pct or 0.0,
            "toleratedFailureCount": run.tolerated_count or 0,
            "itemCounts": items,
            "executionCounts": executions,
            "redriveCount": 0,
        }

    async def list(self, params: dict[str, Any], execution_arn: str) -> dict[str, Any]:
        """ListMapRuns of ``execution_arn`` (the caller checked that the execution exists)."""
        listing = f"ListMapRuns/{execution_arn}"
        start = read_token(params.get("nextToken"), listing) or 0
        size = page_size(params)
        runs = await self.of(execution_arn)
        out: dict[str, Any] = {
            "mapRuns": [
                {
                    "executionArn": r.execution_arn,
                    "mapRunArn": r.arn,
                    "stateMachineArn": r.state_machine_arn,
                    "startDate": _date(r.start),
                    "stopDate": _date(r.stop),
                }
                for r in runs[start : start + size]
            ]
        }
        if start + size < len(runs):
            out["nextToken"] = make_token(listing, start + size)
        return out

    async def update(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["mapRunArn"]
        given = [
            params.get(k) for k in ("maxConcurrency", "toleratedFailurePercentage", "toleratedFailureCount")
        ]
        if all(v is None for v in given):
            raise ApiError(
                "ValidationException",
                "At least one of maxConcurrency, toleratedFailurePercentage or toleratedFailureCount must be given",
            )
        run = await self.get(arn)
        if run.status != RUNNING or self._runs.get(arn) is not run:
            raise ApiError("ValidationException", f"Map Run is not running: '{arn}'")
        max_concurrency, pct, count = given
        run.update(
            int(max_concurrency) if max_concurrency is not None else None,
            int(count) if count is not None else None,
            float(pct) if pct is not None else None,
        )
        self._runs.updated(run)
        await self._flushed()  # kept before the answer, as an update that a restart must not lose
        return {}

    async def children(self, params: dict[str, Any]) -> dict[str, Any]:
        """ListExecutions with ``mapRunArn``: the run's child workflow executions, newest first."""
        run = await self.get(params["mapRunArn"])
        status = params.get("statusFilter")
        if status is not None and status not in _CHILD_STATUS:
            return {"executions": []}  # (PENDING_REDRIVE: none is)
        listing = f"ListExecutions/{run.arn}/{status}"
        start = read_token(params.get("nextToken"), listing) or 0
        size = page_size(params)
        chosen = [
            c
            for c in sorted(run.children.values(), key=lambda c: (c.start, c.index), reverse=True)
            if status is None or c.status == status
        ]
        self._note(run)
        machine = run.child_machine_arn()
        out: dict[str, Any] = {
            "executions": [
                {
                    "executionArn": run.child_arn(c.index),
                    "stateMachineArn": machine,
                    "name": run.child_arn(c.index).rpartition(":")[2],
                    "status": c.status,
                    "startDate": _date(c.start),
                    "stopDate": _date(c.stop),
                    "mapRunArn": run.arn,
                    "itemCount": c.items,
                }
                for c in chosen[start : start + size]
            ]
        }
        if start + size < len(chosen):
            out["nextToken"] = make_token(listing, start + size)
        return out


def _object(doc: str) -> dict[str, Any]:
    value = loads(doc)
    if not isinstance(value, dict):
        raise StoreError("a stored Map Run is not a JSON object")
    return value


def _take_up(live: MapRun, stored: MapRun) -> None:
    """A resumed run goes on with what it had: its start, its children's dates, its updated settings."""
    live.start = stored.start
    live.taken = {i: c for i, c in stored.children.items() if i not in live.children}
    for index, child in live.children.items():
        before = stored.children.get(index)
        if before is not None:
            child.start = before.start
            if child.input is None:
                child.input = before.input
            if child.status != RUNNING and before.status == child.status:
                child.stop = before.stop
                child.output = child.output or before.output
                child.error, child.cause = child.error or before.error, child.cause or before.cause
    live.update(stored.max_concurrency, stored.tolerated_count, stored.tolerated_pct)


__all__ = ["MapRunIndex"]
