"""Rows to objects: what both SQL backends read back, mapped once.

SQLite and PostgreSQL keep the same tables (see each backend's
``MIGRATIONS``) and select the same columns in the same order, so turning a
row into a ``StoredStateMachine``, a ``StoredActivity``, a ``StoredExecution`` or a resumable
``ExecutionRecord``, history chunks into events, and rows into a page is one
piece of code here. What differs between the two, the SQL dialect and the
driver, stays in each backend's module.

Column order is the contract: ``EXECUTION_COLUMNS`` (then, where a record is
rebuilt, ``state`` and ``event_count`` at ``STATE`` and ``EVENT_COUNT``), ``STATE_MACHINE_QUERY`` and ``ACTIVITY_QUERY``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from engine.history import History, HistoryEvent
from engine.jsonvalue import JSON, loads
from engine.runtime.record import ExecutionRecord, Position
from engine.store.base import Page, StoredActivity, StoredExecution, StoredStateMachine, StoreError
from engine.store.codec import state_from_text

EXECUTION_COLUMNS: Final = (
    "seq, arn, state_machine_arn, state_machine_name, name, type, role_arn, redrive_count, status, "
    "input, output, error, cause, start_date, stop_date, annotations, redrive_date"
)
"""The executions' columns every mapping below reads, in this order (``seq`` is index 0)."""
STATE: Final = len(EXECUTION_COLUMNS.split(", "))
"""Where a query that rebuilds a record selects ``state``, right after ``EXECUTION_COLUMNS``."""
EVENT_COUNT: Final = STATE + 1
"""Where it selects ``event_count``, after ``state``."""
STATE_MACHINE_QUERY: Final = (
    "SELECT s.arn, s.name, d.text, s.type, s.role_arn, s.creation_date, s.settings FROM state_machines s "
    "JOIN definitions d ON d.hash = s.definition_hash"
)
"""A state machine with its definition's text (add a WHERE clause)."""
ACTIVITY_QUERY: Final = "SELECT arn, name, creation_date FROM activities"
"""An activity (add a WHERE clause)."""
NEWEST: Final = 2**62
"""The ``seq`` bound of a listing's first page (listings go newest first, by ``seq``)."""


class Row(Protocol):
    """A result row by column index: a ``sqlite3`` tuple or an ``asyncpg.Record``."""

    def __getitem__(self, index: int, /) -> Any: ...


def to_datetime(value: float | None) -> datetime | None:
    """A stored timestamp (seconds since the epoch, UTC) as an aware datetime."""
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def definition_digest(text: str) -> str:
    """The key a definition's text is stored under (``definitions.hash``)."""
    return hashlib.sha256(text.encode()).hexdigest()


def listing_start(next_token: str | None) -> int:
    """The ``seq`` a page of executions starts below (a token is the last seq of the page before)."""
    return int(next_token) if next_token and next_token.isdigit() else NEWEST


def state_machine(row: Row) -> StoredStateMachine:
    """A ``STATE_MACHINE_QUERY`` row."""
    created = to_datetime(row[5])
    assert created is not None
    # Written before the settings were kept (schema version 2): none.
    settings = loads(row[6]) if row[6] is not None else {}
    return StoredStateMachine(
        row[0], row[1], row[2], row[3], row[4], created, settings if isinstance(settings, dict) else {}
    )


def state_machine_page(rows: Sequence[Row], max_results: int) -> Page[StoredStateMachine]:
    """A page from ``max_results + 1`` rows by ARN (one more tells a next page exists)."""
    items = [state_machine(r) for r in rows[:max_results]]
    return Page(items, items[-1].arn if len(rows) > max_results else None)


def activity(row: Row) -> StoredActivity:
    """An ``ACTIVITY_QUERY`` row."""
    created = to_datetime(row[2])
    assert created is not None
    return StoredActivity(row[0], row[1], created)


def activity_page(rows: Sequence[Row], max_results: int) -> Page[StoredActivity]:
    """A page from ``max_results + 1`` rows by ARN (one more tells a next page exists)."""
    items = [activity(r) for r in rows[:max_results]]
    return Page(items, items[-1].arn if len(rows) > max_results else None)


def stored_annotations(text: str | None) -> dict[str, JSON] | None:
    """The ``annotations`` column (None when the execution was started without any)."""
    value = loads(text) if text is not None else None
    return value if isinstance(value, dict) else None


def execution(row: Row) -> StoredExecution:
    """An ``EXECUTION_COLUMNS`` row."""
    start = to_datetime(row[13])
    assert start is not None
    return StoredExecution(
        execution_arn=row[1],
        name=row[4],
        state_machine_arn=row[2],
        status=row[8],
        input=loads(row[9]),
        output=loads(row[10]) if row[10] is not None else None,
        error=row[11],
        cause=row[12],
        start_date=start,
        stop_date=to_datetime(row[14]),
        redrive_count=row[7],
        annotations=stored_annotations(row[15]),
        redrive_date=to_datetime(row[16]),
    )


def execution_page(rows: Sequence[Row], max_results: int) -> Page[StoredExecution]:
    """A page from ``max_results + 1`` rows, newest first; its token is the last seq on it."""
    items = [execution(r) for r in rows[:max_results]]
    token = str(rows[max_results - 1][0]) if len(rows) > max_results else None
    return Page(items, token)


def events(chunks: Iterable[Row]) -> list[HistoryEvent]:
    """Events from ``(first_id, events)`` chunk rows in id order."""
    out: list[HistoryEvent] = []
    for chunk in chunks:
        out.extend(History.decode(chunk[0], chunk[1]))
    return out


def history_page(
    found: list[HistoryEvent], *, after: int, max_results: int | None, reverse: bool
) -> list[HistoryEvent]:
    """The events of whole chunks cut to those above ``after`` (below it with ``reverse``)."""
    if reverse:
        found = [e for e in reversed(found) if not after or e.id < after]
    else:
        found = [e for e in found if e.id > after]
    return found[:max_results] if max_results is not None else found


def record(
    row: Row, state: str, event_count: int, history_events: list[HistoryEvent] | None, *, store: str
) -> ExecutionRecord:
    """An execution's record from its row, its stored ``state`` and its history.

    Args:
        row: an ``EXECUTION_COLUMNS`` row.
        state: the ``state`` column: position and variables (empty once the execution ended,
            unless it ended FAILED, ABORTED or TIMED_OUT: a redrive continues from there).
        event_count: the ``event_count`` column.
        history_events: the whole history, or None to resume after ``event_count`` events
            without holding them.
        store: how errors name the store.

    Raises:
        StoreError: the stored position cannot be read.
    """
    try:
        # A finished execution keeps no position (but one a redrive may continue from).
        position, variables, ending, ledger = (
            state_from_text(state) if state else (Position("", None), {}, None, None)
        )
    except ValueError as exc:
        raise StoreError(f"store {store}: execution {row[1]} has an unreadable position ({exc})") from None
    if history_events is None:
        history = History()
        history.resume_after(event_count)
    else:
        history = History.from_events(history_events)
    start = to_datetime(row[13])
    assert start is not None
    return ExecutionRecord(
        execution_arn=row[1],
        name=row[4],
        state_machine_arn=row[2],
        state_machine_name=row[3],
        input=loads(row[9]),
        start_time=start,
        role_arn=row[6],
        position=position,
        variables=variables,
        status=row[8],
        output=loads(row[10]) if row[10] is not None else None,
        error=row[11],
        cause=row[12],
        stop_time=to_datetime(row[14]),
        history=history,
        redrive_count=row[7],
        state_machine_type=row[5],
        ending=ending,
        annotations=stored_annotations(row[15]),
        ledger=ledger,
    )
