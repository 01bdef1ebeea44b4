"""Redrive: a FAILED, ABORTED or TIMED_OUT execution continues from where it stopped.

As on AWS (RedriveExecution), a redriven execution keeps its ARN, name, input
and history: ``ExecutionRedriven`` is appended with the new ``redriveCount``,
and the state that was running when the execution stopped is entered again
with the input it had. Its retry counters start over; a Map state keeps the
results of its iterations that succeeded (``Position.map_progress``), so only
the others run again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from engine.errors import StatewrightError
from engine.jsonvalue import JSON
from engine.runtime.record import ABORTED, FAILED, RUNNING, TIMED_OUT, ExecutionRecord

REDRIVABLE: Final = frozenset({FAILED, ABORTED, TIMED_OUT})


class ExecutionNotRedrivable(StatewrightError):
    """The execution cannot be redriven (it succeeded, still runs, or is an Express execution)."""


def not_redrivable_reason(record: ExecutionRecord) -> str | None:
    """Why ``record`` cannot be redriven, in AWS's words; None when it can."""
    if record.state_machine_type == "EXPRESS":
        return "Express executions cannot be redriven"
    if record.status not in REDRIVABLE:
        return f"Execution is {record.status} and cannot be redriven"
    return None


def prepare_redrive(record: ExecutionRecord) -> None:
    """Put a stopped record back to RUNNING at the state it stopped in.

    Raises:
        ExecutionNotRedrivable: the record is not FAILED, ABORTED or TIMED_OUT.
    """
    reason = not_redrivable_reason(record)
    if reason is not None:
        raise ExecutionNotRedrivable(reason)
    record.status = RUNNING
    record.output = None
    record.error = None
    record.cause = None
    record.stop_time = None
    record.ending = None
    record.redrive_count += 1
    pos = record.position
    pos.entered_event_id = 0  # entered again, with a new StateEntered event
    pos.retry_counts = []
    pos.handle = None
    pos.due = None
    pos.task_token = None
    pos.started = False
    pos.children.clear()
    if pos.map_progress is not None:
        pos.map_progress.failure = None  # the failed iterations or branches run again
        pos.map_progress.failed.clear()


__all__ = ["REDRIVABLE", "ExecutionNotRedrivable", "not_redrivable_reason", "prepare_redrive"]


def begin_redrive(
    record: ExecutionRecord,
    timestamp: float,
    on_event: Callable[[ExecutionRecord, str, dict[str, JSON]], None] | None,
) -> None:
    """``prepare_redrive``, then the ``ExecutionRedriven`` event in the history and to ``on_event``.

    Raises:
        ExecutionNotRedrivable: the record is not FAILED, ABORTED or TIMED_OUT.
    """
    prepare_redrive(record)
    details: dict[str, JSON] = {"redriveCount": record.redrive_count}
    record.history.append("ExecutionRedriven", timestamp, details)
    if on_event is not None:
        on_event(record, "ExecutionRedriven", details)
