"""Human-readable progress of executions on stderr.

One line when a state is entered and one when it is left, with how long it
took, so a user watching ``statewright run`` sees each wait (a cluster being
created, a Job running) and its duration. Executions run concurrently, so
each line names the execution when there are several.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import TextIO

from engine import JSON
from engine.runtime.execution import ExecutionRecord

_FINAL = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}


class Progress:
    """An ``on_event`` hook that prints state transitions to a stream."""

    def __init__(self, stream: TextIO | None = None, *, show_execution: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.show_execution = show_execution
        self._t0 = time.monotonic()
        self._entered: dict[tuple[str, str], float] = {}

    def _line(self, record: ExecutionRecord, text: str) -> None:
        prefix = f"[{time.monotonic() - self._t0:7.2f}s]"
        who = f" {record.name}:" if self.show_execution else ""
        print(f"{prefix}{who} {text}", file=self.stream, flush=True)

    def __call__(self, record: ExecutionRecord, event_type: str, details: Mapping[str, JSON] | None) -> None:
        name = details.get("name") if details else None
        if event_type.endswith("StateEntered") and isinstance(name, str):
            self._entered[(record.execution_arn, name)] = time.monotonic()
            self._line(record, f"-> {name} ({event_type[: -len('StateEntered')]})")
        elif event_type.endswith("StateExited") and isinstance(name, str):
            start = self._entered.pop((record.execution_arn, name), None)
            took = f" in {time.monotonic() - start:.2f}s" if start is not None else ""
            self._line(record, f"<- {name}{took}")
        elif event_type in ("TaskFailed", "TaskTimedOut") and details:
            self._line(record, f"   {event_type}: {details.get('error')}")
        elif event_type in _FINAL:
            extra = ""
            if details and details.get("error"):
                extra = f" ({details.get('error')})"
            self._line(record, f"== {_FINAL[event_type]}{extra}")
