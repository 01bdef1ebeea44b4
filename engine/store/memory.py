"""The default store: the live records in a dict, nothing copied, nothing durable.

It costs nothing per transition (``save`` keeps a reference) and answers the
same queries as a durable store, from the records themselves, so code above
the store (the command line, an API server) works the same on either.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime

from engine.definition.model import StateMachine
from engine.errors import ExecutionAlreadyExists, ExecutionDoesNotExist
from engine.history import HistoryEvent
from engine.jsonvalue import JSON, dumps_str
from engine.runtime.record import RUNNING, ExecutionRecord
from engine.store.base import (
    DEFAULT_PAGE_SIZE,
    Page,
    Resumable,
    StopRequest,
    Store,
    StoredActivity,
    StoredExecution,
    StoredStateMachine,
)


def _last_redrive(record: ExecutionRecord) -> datetime | None:
    # The records here are the live ones, their whole history in memory.
    if record.redrive_count == 0:
        return None
    for event in reversed(list(record.history)):
        if event.type == "ExecutionRedriven":
            return datetime.fromtimestamp(event.timestamp, UTC)
    return None


class InMemoryStore(Store):
    """A store that keeps the live records in a dict."""

    url = "memory://"

    def __init__(self) -> None:
        self._records: dict[str, ExecutionRecord] = {}
        self._definitions: dict[str, str] = {}
        self._machines: dict[str, StoredStateMachine] = {}
        self._activities: dict[str, StoredActivity] = {}
        self._map_runs: dict[str, tuple[str, str]] = {}  # ARN -> (execution ARN, document), as first put
        self._tags: dict[str, dict[str, str]] = {}
        self._stops: dict[str, StopRequest] = {}
        self._handed_out: set[str] = set()

    def created(self, record: ExecutionRecord, machine: StateMachine) -> None:
        self._definitions.setdefault(record.execution_arn, dumps_str(machine.raw))
        self._records[record.execution_arn] = record

    def save(self, record: ExecutionRecord) -> None:
        self._records[record.execution_arn] = record
        if record.status != RUNNING:
            self._stops.pop(record.execution_arn, None)

    def record(self, execution_arn: str) -> ExecutionRecord | None:
        """The live record itself (not a copy), or None."""
        return self._records.get(execution_arn)

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
        old = self._machines.get(arn)
        if old is not None:
            created = old.creation_date
        else:
            created = creation_date if creation_date is not None else datetime.now(UTC)
        sm = self._machines[arn] = StoredStateMachine(
            arn, name, definition, type, role_arn, created, dict(settings or {})
        )
        return sm

    async def delete_state_machine(self, arn: str) -> None:
        self._machines.pop(arn, None)
        self._tags.pop(arn, None)

    async def get_state_machine(self, arn: str) -> StoredStateMachine | None:
        return self._machines.get(arn)

    async def list_state_machines(
        self, *, max_results: int = DEFAULT_PAGE_SIZE, next_token: str | None = None
    ) -> Page[StoredStateMachine]:
        arns = sorted(a for a in self._machines if a > (next_token or ""))
        page = [self._machines[a] for a in arns[:max_results]]
        return Page(page, page[-1].arn if len(arns) > max_results else None)

    async def put_activity(
        self, arn: str, name: str, *, creation_date: datetime | None = None
    ) -> StoredActivity:
        found = self._activities.get(arn)
        if found is None:
            found = self._activities[arn] = StoredActivity(
                arn, name, creation_date if creation_date is not None else datetime.now(UTC)
            )
        return found

    async def list_activities(
        self, *, max_results: int = DEFAULT_PAGE_SIZE, next_token: str | None = None
    ) -> Page[StoredActivity]:
        arns = sorted(a for a in self._activities if a > (next_token or ""))
        page = [self._activities[a] for a in arns[:max_results]]
        return Page(page, page[-1].arn if len(arns) > max_results else None)

    async def delete_activity(self, arn: str) -> None:
        self._activities.pop(arn, None)
        self._tags.pop(arn, None)

    async def put_map_run(self, arn: str, execution_arn: str, document: str) -> None:
        self._map_runs[arn] = (execution_arn, document)

    async def get_map_run(self, arn: str) -> str | None:
        found = self._map_runs.get(arn)
        return found[1] if found is not None else None

    async def list_map_runs(self, execution_arn: str) -> list[str]:
        return [doc for owner, doc in self._map_runs.values() if owner == execution_arn]

    async def tag_resource(self, arn: str, tags: Mapping[str, str]) -> None:
        self._tags.setdefault(arn, {}).update(tags)

    async def untag_resource(self, arn: str, keys: Collection[str]) -> None:
        held = self._tags.get(arn, {})
        for key in keys:
            held.pop(key, None)

    async def list_tags(self, arn: str) -> dict[str, str]:
        return dict(self._tags.get(arn, {}))

    async def create_execution(
        self, record: ExecutionRecord, definition: str, *, run_here: bool = False
    ) -> None:
        if record.execution_arn in self._records or any(
            r.name == record.name and r.state_machine_arn == record.state_machine_arn
            for r in self._records.values()
        ):
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{record.execution_arn}'")
        self._records[record.execution_arn] = record
        self._definitions[record.execution_arn] = definition

    async def redrive_execution(self, record: ExecutionRecord) -> bool:
        # The records are the live ones: the redriven record is the stored one already.
        self._records[record.execution_arn] = record
        return True

    @staticmethod
    def _summary(r: ExecutionRecord) -> StoredExecution:
        return StoredExecution(
            r.execution_arn, r.name, r.state_machine_arn, r.status, r.input,
            r.output, r.error, r.cause, r.start_time, r.stop_time, r.redrive_count, r.annotations,
            _last_redrive(r),
        )  # fmt: skip

    async def get_execution(self, execution_arn: str) -> StoredExecution | None:
        r = self._records.get(execution_arn)
        return self._summary(r) if r is not None else None

    async def load(self, execution_arn: str) -> Resumable | None:
        r = self._records.get(execution_arn)
        if r is None:
            return None
        return Resumable(self._definitions.get(execution_arn, "{}"), r)

    async def list_executions(
        self,
        *,
        state_machine_arn: str | None = None,
        status: str | None = None,
        max_results: int = DEFAULT_PAGE_SIZE,
        next_token: str | None = None,
    ) -> Page[StoredExecution]:
        # Newest first, as ListExecutions answers; the token is the position to continue from.
        matching = [
            r
            for r in reversed(self._records.values())
            if (state_machine_arn is None or r.state_machine_arn == state_machine_arn)
            and (status is None or r.status == status)
        ]
        start = int(next_token) if next_token and next_token.isdigit() else 0
        page = matching[start : start + max_results]
        more = start + max_results < len(matching)
        return Page([self._summary(r) for r in page], str(start + max_results) if more else None)

    async def history(
        self, execution_arn: str, *, after: int = 0, max_results: int | None = None, reverse: bool = False
    ) -> list[HistoryEvent]:
        r = self._records.get(execution_arn)
        if r is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
        events = list(r.history)
        if reverse:
            events = [e for e in reversed(events) if not after or e.id < after]
        else:
            events = [e for e in events if e.id > after]
        return events[:max_results] if max_results is not None else events

    async def running(self) -> list[Resumable]:
        # Handed out once: the records are live objects, possibly run by an engine already.
        out: list[Resumable] = []
        for arn, r in self._records.items():
            if r.status == RUNNING and arn not in self._handed_out:
                self._handed_out.add(arn)
                out.append(Resumable(self._definitions.get(arn, "{}"), r))
        return out

    async def request_stop(self, execution_arn: str, error: str | None, cause: str | None) -> None:
        r = self._records.get(execution_arn)
        if r is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
        if r.status == RUNNING:
            self._stops[execution_arn] = StopRequest(execution_arn, error, cause)

    async def stop_requests(self) -> list[StopRequest]:
        return list(self._stops.values())

    async def drop_stop_request(self, execution_arn: str) -> None:
        self._stops.pop(execution_arn, None)
