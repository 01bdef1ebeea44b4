"""Execution history: AWS's event types and fields.

Events are recorded cheaply (a slotted object holding Python values) and
rendered to AWS's GetExecutionHistory shape on demand: ``id``,
``previousEventId``, ``timestamp``, ``type`` and one ``<type>EventDetails``
object whose ``input``/``output``/``parameters`` members are JSON strings, as
AWS gives them. The history is also what rebuilds an execution's position
(``engine.runtime.execution.position_from_history``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from engine.jsonvalue import JSON, dumps_str, loads

_STRING_FIELDS: Final = frozenset({"input", "output", "parameters"})

MAX_EVENTS: Final = 25_000
"""AWS's hard quota on a Standard execution's history."""

_CLOSING: Final = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}
)


class HistoryLimitReached(Exception):
    """The history holds ``MAX_EVENTS - 1`` events and the next one does not end the execution.

    AWS then appends ``ExecutionFailed`` as the last event: the execution fails
    whatever its Catch fields say, so this is no ``StatesError``.
    """


def details_key(event_type: str) -> str:
    """The AWS details member name for an event type."""
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


def format_timestamp(t: datetime | float) -> str:
    """ISO 8601 with milliseconds and a Z, as Step Functions shows times."""
    if not isinstance(t, datetime):
        t = datetime.fromtimestamp(t, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


@dataclass(slots=True)
class HistoryEvent:
    """One history event."""

    id: int
    previous_event_id: int
    timestamp: float  # POSIX seconds; rendered as AWS's ISO form on demand
    type: str
    details: Mapping[str, JSON] | None = None

    @property
    def time(self) -> datetime:
        """The event's time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp, UTC)

    def to_aws(self) -> dict[str, JSON]:
        """Render as one element of AWS's ``events`` list."""
        out: dict[str, JSON] = {
            "id": self.id,
            "previousEventId": self.previous_event_id,
            "timestamp": format_timestamp(self.timestamp),
            "type": self.type,
        }
        if self.details is not None:
            d: dict[str, JSON] = {}
            for k, v in self.details.items():
                if k in _STRING_FIELDS and not isinstance(v, str):
                    d[k] = dumps_str(v)
                    d[k + "Details"] = {"truncated": False}
                else:
                    d[k] = v
            out[details_key(self.type)] = d
        return out


_Row = tuple[str, float, str | None, Any, int | None]
_WIDTH: Final = 5
"""The cells of one event in ``History``'s flat list: the fields of ``_Row``."""

PACK_THRESHOLD: Final = 1024
"""JSON text in event details longer than this many characters is kept zlib-compressed."""


class _Packed:
    """A long JSON string of an event's details, compressed until the event is read.

    A ``.sync`` Task's ``TaskSubmitted`` holds the whole first API answer (a
    created Job is over a kilobyte) for as long as the Task waits; JSON
    compresses to well under half.
    """

    __slots__ = ("data",)

    def __init__(self, text: str) -> None:
        self.data = zlib.compress(text.encode(), 1)

    def text(self) -> str:
        return zlib.decompress(self.data).decode()


def _pack(details: Mapping[str, JSON]) -> Mapping[str, Any]:
    if not any(isinstance(v := details.get(k), str) and len(v) > PACK_THRESHOLD for k in _STRING_FIELDS):
        return details
    return {
        k: _Packed(v) if k in _STRING_FIELDS and isinstance(v, str) and len(v) > PACK_THRESHOLD else v
        for k, v in details.items()
    }


def _packed_text(value: object) -> str:
    if isinstance(value, _Packed):
        return value.text()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _unpack(details: Mapping[str, Any]) -> Mapping[str, JSON]:
    if not any(isinstance(v, _Packed) for v in details.values()):
        return details
    return {k: v.text() if isinstance(v, _Packed) else v for k, v in details.items()}


class History:
    """An append-only list of events with AWS's id chaining.

    Each event is five cells of one flat list (the fields of ``_Row``),
    turned into a ``HistoryEvent`` only when read: recording is on every
    transition's path, and a tuple per event would be one more object per
    transition for the garbage collector to track and scan for as long as
    the execution lives. A state's Entered/Exited event stores just its name
    and value (the common case); other events store their details mapping.
    """

    __slots__ = ("_base", "_count", "_last", "_rows", "committed", "enabled")

    def __init__(self, *, enabled: bool = True, limit: int | None = MAX_EVENTS) -> None:
        # The events in memory, _WIDTH cells each (see _Row).
        self._rows: list[Any] = []
        self._count = 0
        # Events before ``_base`` were dropped from memory once a durable store held them.
        self._base = 0
        # The id of the last event a durable store has committed.
        self.committed = 0
        self.enabled = enabled
        # The id after which only an event closing the execution may be recorded (counted even
        # when events are not kept); None: no limit (Express executions, detached children).
        self._last = limit - 1 if limit is not None else None

    @staticmethod
    def _full(event_type: str, last: int) -> None:
        if event_type not in _CLOSING:
            raise HistoryLimitReached(
                f"The execution reached the maximum number of history events ({last + 1})."
            )

    @property
    def last_id(self) -> int:
        """The id of the last event recorded (0 when none)."""
        return self._count

    @property
    def complete(self) -> bool:
        """Whether every event is in memory (a durable store may have dropped committed ones)."""
        return self._base == 0

    def events_after(self, event_id: int) -> list[HistoryEvent]:
        """The events in memory with an id above ``event_id``, in order."""
        start = max(event_id - self._base, 0)
        return [self._event(i + self._base, self._row(i)) for i in range(start, len(self))]

    def drop_committed(self) -> None:
        """Forget the events a durable store has committed: a waiting execution keeps no history."""
        n = self.committed - self._base
        if n > 0 and self.enabled:
            del self._rows[: n * _WIDTH]
            self._base = self.committed

    def resume_after(self, count: int) -> None:
        """Continue a stored history of ``count`` events (kept by the store, not in memory)."""
        self._count = self._base = self.committed = count

    def encode_after(self, event_id: int) -> tuple[int, bytes]:
        """The events in memory with an id above ``event_id`` as one JSON array, and the first one's id.

        The array is flat, five elements per event (``type, timestamp, name,
        value_or_details, previous``: the internal row): a durable store keeps
        a batch of events as one value, encoded in one call, instead of one
        object per event.
        """
        start = max(event_id - self._base, 0)
        return start + self._base + 1, orjson.dumps(self._rows[start * _WIDTH :], default=_packed_text)

    @staticmethod
    def decode(first_id: int, data: bytes | str) -> list[HistoryEvent]:
        """The events ``encode_after`` encoded (ids from ``first_id``).

        Stores written before the array was flat hold one array per event; both read back.
        """
        cells = loads(data)  # exact integers beyond 64 bits too
        if cells and isinstance(cells[0], list):
            cells = [cell for row in cells for cell in row]
        return [
            History._event(
                first_id - 1 + i, (cells[j], cells[j + 1], cells[j + 2], cells[j + 3], cells[j + 4])
            )
            for i, j in enumerate(range(0, len(cells), _WIDTH))
        ]

    @classmethod
    def from_events(cls, events: list[HistoryEvent], *, enabled: bool = True) -> History:
        """A history holding ``events`` (read back from a store), ids 1…n in order."""
        history = cls(enabled=enabled)
        for ev in events:
            history._rows.extend((ev.type, ev.timestamp, None, ev.details, ev.previous_event_id))
        history._count = history.committed = len(events)
        return history

    def append(
        self,
        event_type: str,
        timestamp: float,
        details: Mapping[str, JSON] | None = None,
        previous: int | None = None,
    ) -> int:
        """Record an event; returns its id.

        ``previous`` defaults to the last event's id: AWS chains each event to
        the one that caused it, which for a sequential execution is the last.
        """
        last = self._last
        if last is not None and self._count >= last:
            self._full(event_type, last)
        self._count += 1
        if self.enabled:
            if details is not None:
                details = _pack(details)
            self._rows.extend((event_type, timestamp, None, details, previous))
        return self._count

    def state_event(self, event_type: str, timestamp: float, name: str, value: JSON) -> int:
        """Record a ``<Type>StateEntered`` (value = input) or ``<Type>StateExited`` (value = output)."""
        last = self._last
        if last is not None and self._count >= last:
            self._full(event_type, last)
        self._count += 1
        if self.enabled:
            self._rows.extend((event_type, timestamp, name, value, None))
        return self._count

    @staticmethod
    def _event(i: int, row: _Row) -> HistoryEvent:  # i: the event's 0-based position in the whole history
        event_type, timestamp, name, payload, previous = row
        n = i + 1
        if name is not None:
            key = "input" if event_type.endswith("Entered") else "output"
            details: Mapping[str, JSON] | None = {"name": name, key: payload}
        else:
            details = _unpack(payload) if payload is not None else None
        return HistoryEvent(n, previous if previous is not None else n - 1, timestamp, event_type, details)

    def _row(self, i: int) -> _Row:
        """The ``i``-th event in memory (0-based) as a row."""
        j = i * _WIDTH
        r = self._rows
        return (r[j], r[j + 1], r[j + 2], r[j + 3], r[j + 4])

    def __iter__(self) -> Iterator[HistoryEvent]:
        for i in range(len(self)):
            yield self._event(i + self._base, self._row(i))

    def __len__(self) -> int:
        return len(self._rows) // _WIDTH

    def __getitem__(self, i: int) -> HistoryEvent:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("history index out of range")
        return self._event(i + self._base, self._row(i))

    @property
    def types(self) -> list[str]:
        """The event types in order."""
        return self._rows[::_WIDTH]

    def to_aws(self) -> list[dict[str, JSON]]:
        """All events in AWS's shape."""
        return [e.to_aws() for e in self]
