"""Where execution records live between transitions.

A ``Store`` receives an execution's record at every transition and when it
ends; ``Engine.resume`` continues a stored record. ``InMemoryStore`` keeps
references (nothing is copied, so it costs nothing per transition); a durable
store serializes the record (``record_to_json``) and is free to batch writes.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Protocol, runtime_checkable

from engine.jsonvalue import JSON
from engine.runtime.execution import ExecutionRecord, Position


@runtime_checkable
class Store(Protocol):
    """Persistence for execution records."""

    def save(self, record: ExecutionRecord) -> None:
        """Record the execution's current state (called at every transition)."""
        ...

    def load(self, execution_arn: str) -> ExecutionRecord | None:
        """The stored record, or None."""
        ...

    def running(self) -> list[ExecutionRecord]:
        """Records of executions that had not finished when last saved."""
        ...


class InMemoryStore:
    """A store that keeps the live records in a dict."""

    def __init__(self) -> None:
        self._records: dict[str, ExecutionRecord] = {}

    def save(self, record: ExecutionRecord) -> None:
        self._records[record.execution_arn] = record

    def load(self, execution_arn: str) -> ExecutionRecord | None:
        return self._records.get(execution_arn)

    def running(self) -> list[ExecutionRecord]:
        return [r for r in self._records.values() if r.status == "RUNNING"]


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
