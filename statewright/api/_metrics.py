"""``GET /metrics``: the server's Prometheus metrics (prometheus-client, text format).

Each server has its own ``CollectorRegistry`` (two servers in one process
never share counts). What is counted, and from where:

* ``statewright_executions_started_total`` and
  ``statewright_executions_finished_total{status}``, from the engine's history
  events (``ExecutionStarted``, ``ExecutionSucceeded`` …);
* ``statewright_state_transitions_total``: every ``*StateEntered`` event;
* ``statewright_task_duration_seconds{resource}``: from ``TaskScheduled`` (or
  ``ActivityScheduled``) to the Task's ``…Succeeded`` / ``…Failed`` /
  ``…TimedOut``, on the engine's clock;
* ``statewright_waiting_executions``: executions whose Task waits (parked, or
  awaiting a task token), read when scraped;
* ``statewright_api_requests_total{operation,status}`` and
  ``statewright_api_request_duration_seconds{operation}``, per request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from engine import JSON, Clock, ExecutionRecord

_FINAL: Final = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}
_TASK_START: Final = frozenset({"TaskScheduled", "ActivityScheduled"})
_TASK_END: Final = frozenset(
    {"TaskSucceeded", "TaskFailed", "TaskTimedOut", "ActivitySucceeded", "ActivityFailed", "ActivityTimedOut"}
)
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST


class Metrics:
    """The counters, histograms and gauges of one server.

    Args:
        clock: the engine's clock (task latencies are measured on it).
        waiting: returns how many executions wait in a Task now.
    """

    def __init__(self, clock: Clock, waiting: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self._clock = clock
        self.started = Counter("statewright_executions_started", "Executions started", registry=self.registry)
        self.finished = Counter(
            "statewright_executions_finished",
            "Executions finished, by status",
            ["status"],
            registry=self.registry,
        )
        self.transitions = Counter("statewright_state_transitions", "States entered", registry=self.registry)
        self.task_latency = Histogram(
            "statewright_task_duration_seconds",
            "Time from TaskScheduled to the Task's end, by resource",
            ["resource"],
            registry=self.registry,
        )
        self.waiting = Gauge(
            "statewright_waiting_executions", "Executions waiting in a Task", registry=self.registry
        )
        self.waiting.set_function(lambda: float(waiting()))
        self.requests = Counter(
            "statewright_api_requests",
            "API requests, by operation and HTTP status",
            ["operation", "status"],
            registry=self.registry,
        )
        self.request_latency = Histogram(
            "statewright_api_request_duration_seconds",
            "API request handling time, by operation",
            ["operation"],
            registry=self.registry,
        )
        self._tasks: dict[str, dict[str, list[float]]] = {}

    def on_event(self, record: ExecutionRecord, event_type: str, details: Mapping[str, JSON] | None) -> None:
        """The engine's ``on_event`` hook: count what the history records."""
        if event_type.endswith("StateEntered"):
            self.transitions.inc()
        elif event_type in _TASK_START and details is not None:
            per = self._tasks.setdefault(record.execution_arn, {})
            per.setdefault(_resource(details), []).append(self._clock.monotonic())
        elif event_type in _TASK_END and details is not None:
            starts = self._tasks.get(record.execution_arn, {}).get(_resource(details))
            if starts:
                self.task_latency.labels(_resource(details)).observe(self._clock.monotonic() - starts.pop(0))
        elif event_type == "ExecutionStarted":
            self.started.inc()
        elif event_type in _FINAL:
            self.finished.labels(_FINAL[event_type]).inc()
            self._tasks.pop(record.execution_arn, None)

    def request(self, operation: str, status: int, seconds: float) -> None:
        self.requests.labels(operation, str(status)).inc()
        self.request_latency.labels(operation).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _resource(details: Mapping[str, JSON]) -> str:
    return f"{details.get('resourceType')}:{details.get('resource')}"


__all__ = ["CONTENT_TYPE", "Metrics"]
