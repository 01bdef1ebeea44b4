"""``statewright run --history FILE``: the history as GetExecutionHistory answers it.

The file is the API's response body, ``{"events": [...]}``: each event's
timestamp in epoch seconds, and only the members botocore's ``stepfunctions``
model defines for that event type (the model is the source of truth, as for
the API server), so tools written for the AWS API read it unchanged.
"""

from __future__ import annotations

from typing import Any

from engine.history import History


def wire_history(history: History) -> bytes:
    """The JSON body of a GetExecutionHistory response holding every event of ``history``."""
    from statewright.api._protocol import render_response, service_model

    events: list[dict[str, Any]] = []
    for event in history:
        out = event.to_aws()
        out["timestamp"] = event.timestamp
        events.append(out)
    return render_response(service_model().operation_model("GetExecutionHistory"), {"events": events})


__all__ = ["wire_history"]
