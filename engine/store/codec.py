"""Execution records as JSON: the position and variables a store keeps between transitions.

Plain JSON (orjson) rather than pickle: a store written by one version is
read by the next, and an operator can read it. Map progress keeps its
iteration results under string keys (JSON objects have no integer keys); a
Map iteration's or Parallel branch's position keeps the variables assigned
inside it; an execution whose end was decided while the cleanup after it runs
keeps that end (``ending``), and one whose Tasks noted what they created for
its cleanup keeps that ledger (``ledger``), each only when there is one. A field an older version did not write decodes as it did then.
"""

from __future__ import annotations

from typing import Any

from engine.jsonvalue import JSON, dumps_str, loads
from engine.runtime.record import Ending, ExecutionRecord, MapProgress, Position


def position_to_json(pos: Position) -> dict[str, JSON]:
    """A position (with its children) as plain JSON."""
    out: dict[str, JSON] = {"state": pos.state, "input": pos.input, "entered": pos.entered_event_id}
    if pos.retry_counts:
        out["retry"] = list(pos.retry_counts)
    if pos.handle is not None:
        out["handle"] = pos.handle
    if pos.due is not None:
        out["due"] = pos.due
    if pos.started:
        out["started"] = True
        out["started_at"] = pos.started_at
        if pos.beat_at > pos.started_at:
            out["beat_at"] = pos.beat_at
    if pos.task_token is not None:
        out["task_token"] = pos.task_token
    if pos.map_progress is not None:
        out["progress"] = {str(k): v for k, v in pos.map_progress.results.items()}
        if pos.map_progress.failure is not None:
            out["failed"] = list(pos.map_progress.failure)
        if pos.map_progress.failed:
            out["failed_items"] = {str(k): list(v) for k, v in pos.map_progress.failed.items()}
    if pos.children:
        out["children"] = {k: position_to_json(c) for k, c in pos.children.items()}
    if pos.variables:
        out["variables"] = pos.variables
    return out


def position_from_json(doc: Any) -> Position:
    """The inverse of ``position_to_json``.

    Raises:
        ValueError: the document is not a stored position.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("state"), str):
        raise ValueError("not a stored position")
    pos = Position(doc["state"], doc.get("input"))
    pos.entered_event_id = int(doc.get("entered", 0))
    pos.retry_counts = [int(n) for n in doc.get("retry", ())]
    pos.handle = doc.get("handle")
    due = doc.get("due")
    pos.due = float(due) if due is not None else None
    pos.started = bool(doc.get("started", False))
    # Older records have no start time: their resumed Task's timeout counts from the resume.
    started_at = doc.get("started_at")
    pos.started_at = float(started_at) if isinstance(started_at, int | float) else 0.0
    beat_at = doc.get("beat_at")
    pos.beat_at = float(beat_at) if isinstance(beat_at, int | float) else 0.0
    token = doc.get("task_token")
    pos.task_token = token if isinstance(token, str) else None
    progress = doc.get("progress")
    if isinstance(progress, dict):
        pos.map_progress = MapProgress({int(k): v for k, v in progress.items()})
        failed = doc.get("failed")
        if isinstance(failed, list) and len(failed) == 2 and isinstance(failed[0], str):
            cause = failed[1]
            pos.map_progress.failure = (failed[0], cause if isinstance(cause, str) else None)
        failed_items = doc.get("failed_items")
        if isinstance(failed_items, dict):
            for k, v in failed_items.items():
                if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str):
                    pos.map_progress.failed[int(k)] = (v[0], v[1] if isinstance(v[1], str) else None)
    children = doc.get("children")
    if isinstance(children, dict):
        pos.children = {k: position_from_json(c) for k, c in children.items()}
    scope_variables = doc.get("variables")
    if isinstance(scope_variables, dict):
        pos.variables = scope_variables
    return pos


def state_to_text(record: ExecutionRecord) -> str:
    """What changes between transitions (position, variables, a decided end, the ledger), as JSON text."""
    doc: dict[str, JSON] = {"position": position_to_json(record.position), "variables": record.variables}
    if record.ledger:
        doc["ledger"] = record.ledger
    ending = record.ending
    if ending is not None:
        doc["ending"] = {
            "status": ending.status,
            "output": ending.output,
            "error": ending.error,
            "cause": ending.cause,
        }
    return dumps_str(doc)


def state_from_text(text: str) -> tuple[Position, dict[str, JSON], Ending | None, dict[str, JSON] | None]:
    """The inverse of ``state_to_text``.

    Raises:
        ValueError: the text is not a stored state.
    """
    doc = loads(text)
    if not isinstance(doc, dict):
        raise ValueError("not a stored execution state")
    variables = doc.get("variables") or {}
    if not isinstance(variables, dict):
        raise ValueError("stored variables are not an object")
    ledger = doc.get("ledger")
    return (
        position_from_json(doc.get("position")),
        variables,
        _ending_from_json(doc.get("ending")),
        ledger if isinstance(ledger, dict) and ledger else None,
    )


def _ending_from_json(doc: Any) -> Ending | None:
    if doc is None:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("status"), str):
        raise ValueError("not a stored execution end")
    error, cause = doc.get("error"), doc.get("cause")
    return Ending(
        doc["status"],
        doc.get("output"),
        error if isinstance(error, str) else None,
        cause if isinstance(cause, str) else None,
    )
