"""Execution records as documents, and records rebuilt from histories.

The stores themselves live in ``engine.store`` (``Store``, ``InMemoryStore``,
the SQLite backend); they are re-exported here for older imports.
``record_to_json`` renders a whole record (history included) as one JSON
document; ``rebuild_record`` rebuilds a record from a history alone.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Final

from engine.definition.model import StateMachine
from engine.history import History
from engine.jsonvalue import JSON, loads
from engine.runtime.record import ExecutionRecord, Position
from engine.store import InMemoryStore, Store

__all__ = ["InMemoryStore", "Store", "position_to_json", "rebuild_record", "record_to_json"]


def position_to_json(pos: Position) -> JSON:
    """A position as plain JSON (for durable stores)."""
    out = asdict(pos)
    if pos.map_progress is not None:
        out["map_progress"] = {"results": {str(k): v for k, v in pos.map_progress.results.items()}}
    return out


def record_to_json(record: ExecutionRecord) -> JSON:
    """An execution record as plain JSON, history included, for durable stores."""
    return {
        "executionArn": record.execution_arn,
        "name": record.name,
        "stateMachineArn": record.state_machine_arn,
        "input": record.input,
        "status": record.status,
        "variables": dict(record.variables),
        "position": position_to_json(record.position),
        "history": record.history.to_aws(),
    }


_NESTING: Final = frozenset({"MapStateEntered", "ParallelStateEntered"})
_UNNESTING: Final = frozenset({"MapStateExited", "ParallelStateExited"})
_FINAL: Final = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}


def rebuild_record(
    machine: StateMachine,
    history: History,
    *,
    execution_arn: str,
    name: str,
    state_machine_arn: str,
    state_machine_name: str = "StateMachine",
    role_arn: str = "",
) -> ExecutionRecord:
    """Rebuild an execution's record from its history alone.

    The top-level position comes from the last state entered and not yet
    exited (it is entered again on resume) or, after an exit, from that
    state's ``Next`` with its output; after a Choice's exit, the Choice
    again with its input and its Entered event's id, marked as exited
    (``started``): it chooses again, since choosing is pure, and records
    nothing twice. Variables come from the ``assignedVariables`` of
    top-level exits (but that Choice's, which it assigns again). Not rebuilt (they are in the live record, not the
    history): retry counters, a Wait's due time, Map progress and an
    executor's handle, so a resumed Task or Map runs its current state again.

    Raises:
        ValueError: the history has no ExecutionStarted event.
    """
    events = list(history)
    if not events or events[0].type != "ExecutionStarted":
        raise ValueError("a history starts with ExecutionStarted")
    start = events[0]
    details = start.details or {}
    execution_input = details.get("input", {})
    variables: dict[str, JSON] = {}
    depth = 0
    current: tuple[str, JSON, int] | None = None
    last_exit: tuple[str, JSON, JSON, int] | None = None
    # The last top-level exit's assignments, applied once the history goes on past it.
    pending: dict[str, JSON] = {}
    status = "RUNNING"
    for ev in events[1:]:
        d = ev.details or {}
        if ev.type.endswith("StateEntered"):
            if depth == 0:
                current = (str(d.get("name")), d.get("input"), ev.id)
            if ev.type in _NESTING:
                depth += 1
        elif ev.type.endswith("StateExited"):
            if ev.type in _UNNESTING:
                depth -= 1
            if depth == 0:
                entered_input, entered_id = (current[1], current[2]) if current is not None else (None, 0)
                last_exit = (str(d.get("name")), entered_input, d.get("output"), entered_id)
                current = None
                variables.update(pending)
                assigned = d.get("assignedVariables")
                pending = (
                    {k: loads(v) if isinstance(v, str) else v for k, v in assigned.items()}
                    if isinstance(assigned, dict)
                    else {}
                )
        elif ev.type in _FINAL:
            status = _FINAL[ev.type]
    if current is not None:
        position = Position(current[0], current[1], entered_event_id=current[2])
    elif last_exit is not None:
        state = machine.states[last_exit[0]]
        if state.type == "Choice":
            position = Position(state.name, last_exit[1], entered_event_id=last_exit[3], started=True)
            pending = {}  # the Choice assigns them again, after choosing with the variables it saw
        else:
            position = Position(state.next or state.name, last_exit[2])
    else:
        position = Position(machine.start_at, execution_input)
    variables.update(pending)
    record = ExecutionRecord(
        execution_arn=execution_arn,
        name=name,
        state_machine_arn=state_machine_arn,
        state_machine_name=state_machine_name,
        input=execution_input,
        start_time=datetime.fromtimestamp(start.timestamp, UTC),
        role_arn=role_arn or str(details.get("roleArn", "")),
        position=position,
        variables=variables,
        status=status,
        history=history,
    )
    return record
