"""Human-readable progress of executions on stderr.

One line when a state is entered and one when it is left, with how long it
took, so a user watching ``statewright run`` sees each wait (a cluster being
created, a Job running) and its duration. Executions run concurrently, so
each line names the execution when there are several.

While a ``.sync`` Task waits, the engine's ``on_progress`` hook says what for
and how (``on_progress``): ``waiting for cluster pipeline: CREATING (poll
policy aws, next look in 60 s)`` or ``Job default/pi: active 1, succeeded 0,
failed 0``, printed when the status changes and otherwise at most every
``REPEAT_SECONDS``, so a poll every half second does not flood the terminal;
retries read ``retry 2 of 3 in 4 s``. A cleanup (``--cleanup``) reports what
it waits for the same way and each resource it deleted or could not delete.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Final, TextIO

from engine import JSON
from engine.runtime.execution import ExecutionRecord

_FINAL = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}


REPEAT_SECONDS: Final = 30.0
"""An unchanged wait is reported again after this long."""


def seconds(value: JSON) -> str:
    """``4`` for 4.0, ``0.5`` for 0.5, ``1.2`` for 1.23: seconds as people write them."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "?"
    return f"{value:.0f}" if value >= 10 or float(value).is_integer() else f"{value:.1f}"


class Progress:
    """An ``on_event`` hook that prints state transitions to a stream (and ``on_progress`` for waits)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        show_execution: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.show_execution = show_execution
        # Seconds from an injected clock: loop time under --virtual-time, so waits show as they would take.
        self._now = clock
        self._t0 = clock()
        self._entered: dict[tuple[str, str], float] = {}
        self._waits: dict[tuple[str, str], tuple[str, float]] = {}

    def on_progress(self, record: ExecutionRecord, kind: str, details: Mapping[str, JSON]) -> None:
        """The engine's ``on_progress`` hook: waits and retries."""
        state = details.get("state")
        if kind == "RetryScheduled":
            self._waits.pop((record.execution_arn, str(state)), None)
            self._line(
                record,
                f"   {state}: {details.get('error')}: retry {details.get('retry')} of "
                f"{details.get('maxAttempts')} in {seconds(details.get('delaySeconds'))} s",
            )
            return
        if kind not in ("TaskWaiting", "CleanupWaiting"):
            return
        if kind == "CleanupWaiting":
            state = "cleanup"
        text = f"   {state}: waiting for {details.get('waitingFor')}: {details.get('status')}"
        how = [f"poll policy {details.get('pollPolicy')}"] if details.get("pollPolicy") else []
        if details.get("how"):
            how.append(str(details["how"]))
        key = (record.execution_arn, str(state))
        now = self._now()
        previous = self._waits.get(key)
        if previous is not None and previous[0] == text and now - previous[1] < REPEAT_SECONDS:
            return
        self._waits[key] = (text, now)
        if "nextPollSeconds" in details:
            how.append(f"next look in {seconds(details['nextPollSeconds'])} s")
        self._line(record, f"{text} ({', '.join(how)})" if how else text)

    def _line(self, record: ExecutionRecord, text: str) -> None:
        prefix = f"[{self._now() - self._t0:7.2f}s]"
        who = f" {record.name}:" if self.show_execution else ""
        print(f"{prefix}{who} {text}", file=self.stream, flush=True)

    def __call__(self, record: ExecutionRecord, event_type: str, details: Mapping[str, JSON] | None) -> None:
        name = details.get("name") if details else None
        if event_type.endswith("StateEntered") and isinstance(name, str):
            self._entered[(record.execution_arn, name)] = self._now()
            self._line(record, f"-> {name} ({event_type[: -len('StateEntered')]})")
        elif event_type.endswith("StateExited") and isinstance(name, str):
            self._waits.pop((record.execution_arn, name), None)
            start = self._entered.pop((record.execution_arn, name), None)
            took = f" in {self._now() - start:.2f}s" if start is not None else ""
            self._line(record, f"<- {name}{took}")
        elif event_type == "ResourceDeleted" and details:
            self._line(record, f"   cleanup: deleted {details.get('resource')} ({details.get('outcome')})")
        elif event_type == "ResourceNotDeleted" and details:
            self._line(
                record, f"   cleanup: could not delete {details.get('resource')}: {details.get('cause')}"
            )
        elif event_type in ("TaskFailed", "TaskTimedOut") and details:
            self._line(record, f"   {event_type}: {details.get('error')}")
        elif event_type in _FINAL:
            extra = ""
            if details and details.get("error"):
                extra = f" ({details.get('error')})"
            self._line(record, f"== {_FINAL[event_type]}{extra}")
