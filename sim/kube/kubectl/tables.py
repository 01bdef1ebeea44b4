"""Server-side printing: ``meta.k8s.io/v1`` Table answers for ``kubectl get``.

kubectl asks for ``application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the
columns the server chooses. These are kube-apiserver's columns for pods, jobs
and namespaces (READY, STATUS, RESTARTS, COMPLETIONS, DURATION, AGE); every other
resource gets NAME and AGE, as kube-apiserver gives custom resources.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import orjson

from sim.aws.times import rfc3339_epoch
from sim.kube.resources import ResourceInfo
from sim.kube.store import Event

TABLE_MEDIA: Final = "as=Table"
Column = dict[str, Any]


def _column(
    name: str, kind: str = "string", fmt: str = "", priority: int = 0, description: str = ""
) -> Column:
    return {
        "name": name,
        "type": kind,
        "format": fmt,
        "description": description or name,
        "priority": priority,
    }


def human_duration(seconds: float) -> str:
    """Kubernetes' short human duration (``45s``, ``3m12s``, ``5h``, ``2d3h``)."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 730:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d"


def _epoch(stamp: Any) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        return rfc3339_epoch(stamp)
    except ValueError:
        return None


def _age(obj: dict[str, Any]) -> str:
    created = _epoch(obj["metadata"].get("creationTimestamp"))
    return "<unknown>" if created is None else human_duration(time.time() - created)


def _pod_cells(obj: dict[str, Any]) -> list[Any]:
    status = obj.get("status") or {}
    containers = (obj.get("spec") or {}).get("containers") or []
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for container in statuses:
        state = container.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            terminated = state["terminated"]
            reason = terminated.get("reason") or f"ExitCode:{terminated.get('exitCode')}"
    if obj["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return [obj["metadata"]["name"], f"{ready}/{len(containers)}", reason, restarts, _age(obj)]


def _job_cells(obj: dict[str, Any]) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in conditions:
        state = "Complete"
    elif "Failed" in conditions:
        state = "Failed"
    elif (
        "FailureTarget" in conditions
        or "SuccessCriteriaMet" in conditions
        or obj["metadata"].get("deletionTimestamp")
    ):
        state = "Terminating"
    elif spec.get("suspend"):
        state = "Suspended"
    else:
        state = "Running"
    completions = spec.get("completions")
    done = f"{status.get('succeeded', 0)}/{completions if completions is not None else 1}"
    start = _epoch(status.get("startTime"))
    failed_at = conditions["Failed"].get("lastTransitionTime") if "Failed" in conditions else None
    end = _epoch(status.get("completionTime")) or _epoch(failed_at)
    duration = "" if start is None else human_duration((end or time.time()) - start)
    return [obj["metadata"]["name"], state, done, duration, _age(obj)]


PRINTERS: Final[dict[tuple[str, str], tuple[list[Column], Callable[[dict[str, Any]], list[Any]]]]] = {
    ("", "pods"): (
        [
            _column("Name", fmt="name"),
            _column("Ready"),
            _column("Status"),
            _column("Restarts", "string"),
            _column("Age"),
        ],
        _pod_cells,
    ),
    ("batch", "jobs"): (
        [
            _column("Name", fmt="name"),
            _column("Status"),
            _column("Completions"),
            _column("Duration"),
            _column("Age"),
        ],
        _job_cells,
    ),
    ("", "events"): (
        [_column("Last Seen"), _column("Type"), _column("Reason"), _column("Object"), _column("Message")],
        lambda obj: [
            human_duration(time.time() - (_epoch(obj.get("lastTimestamp")) or time.time())),
            obj.get("type", ""),
            obj.get("reason", ""),
            f"{str((obj.get('involvedObject') or {}).get('kind', '')).lower()}/"
            f"{(obj.get('involvedObject') or {}).get('name', '')}",
            obj.get("message", ""),
        ],
    ),
    ("", "nodes"): (
        [
            _column("Name", fmt="name"),
            _column("Status"),
            _column("Roles"),
            _column("Age"),
            _column("Version"),
        ],
        lambda obj: [
            obj["metadata"]["name"],
            "Ready"
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (obj.get("status") or {}).get("conditions") or []
            )
            else "NotReady",
            "<none>",
            _age(obj),
            ((obj.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", ""),
        ],
    ),
    ("", "namespaces"): (
        [_column("Name", fmt="name"), _column("Status"), _column("Age")],
        lambda obj: [obj["metadata"]["name"], (obj.get("status") or {}).get("phase", ""), _age(obj)],
    ),
}
DEFAULT_PRINTER: Final = (
    [_column("Name", fmt="name"), _column("Age")],
    lambda obj: [obj["metadata"]["name"], _age(obj)],
)


def wants_table(accept: str) -> bool:
    """Whether the client asked for a Table (its first acceptable type is a Table)."""
    first = accept.split(",", 1)[0]
    return TABLE_MEDIA in first and "g=meta.k8s.io" in first


def table(
    key: tuple[str, str],
    objects: list[dict[str, Any]],
    resource_version: str,
    continue_token: str | None = None,
) -> dict[str, Any]:
    """A ``meta.k8s.io/v1`` Table of ``objects`` with the resource's columns."""
    columns, cells = PRINTERS.get(key, DEFAULT_PRINTER)
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": [
            {
                "cells": cells(obj),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                },
            }
            for obj in objects
        ],
    }


def watch_event(info: ResourceInfo, event_type: str, obj: dict[str, Any]) -> bytes:
    """A watch frame whose object is a one-row Table of ``obj``."""
    rendered = table(info.key, [obj], str(obj["metadata"].get("resourceVersion", "")))
    return orjson.dumps({"type": event_type, "object": rendered}) + b"\n"


def watch_frame(event: Event, event_type: str) -> bytes:
    """A Table watch frame of ``event``, built once per event for all Table watchers."""
    key = f"table:{event_type}"
    frame = event.frames.get(key)
    if frame is None:
        frame = event.frames[key] = watch_event(event.table.info, event_type, event.entry.obj)
    return frame
