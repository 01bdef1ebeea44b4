"""Container logs as ``/pods/{name}/log`` answers them: container choice, previous, tail, since, limits.

The kubelet keeps each line with the time it was written; the PodLogOptions
(:class:`LogOptions`) select and format them, as the real kubelet does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sim.kube.errors import bad_request
from sim.kube.kubelet.records import PodRun


@dataclass(frozen=True, slots=True)
class LogOptions:
    """The PodLogOptions of one log read.

    Attributes:
        previous: the log of the container's previous instance.
        tail_lines: only the last lines (None: all).
        limit_bytes: at most this many bytes (None: no limit).
        since_seconds: only lines written in the last seconds (wins over ``since_time``).
        since_time: only lines written at or after this epoch time.
        timestamps: prefix each line with its RFC 3339 time (nanoseconds).
    """

    previous: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None
    since_seconds: int | None = None
    since_time: float | None = None
    timestamps: bool = False


DEFAULT_LOG_OPTIONS: Final = LogOptions()


def rfc3339_nano(moment: float) -> str:
    """``2026-01-02T03:04:05.123456789Z`` — the timestamp format of ``timestamps=true`` logs."""
    whole = int(moment)
    nanos = round((moment - whole) * 1e9)
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{nanos:09d}Z"


def read_log(
    pods: Mapping[tuple[str, str], PodRun], pod: dict[str, Any], container: str | None, options: LogOptions
) -> bytes:
    """The log of one container of ``pod``, as ``/pods/{name}/log`` answers it.

    Raises:
        KubeError: 400 when several containers exist and none is named, the container is
            unknown, has not started, or has no previous instance.
    """
    metadata = pod["metadata"]
    name = metadata["name"]
    names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
    default = (metadata.get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    if container is None:
        if len(names) == 1:
            container = names[0]
        elif default in names:
            container = default
        else:
            raise bad_request(
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
            )
    if container not in names:
        raise bad_request(f"container {container} is not valid for pod {name}")
    run = pods.get((metadata.get("namespace", ""), name))
    state = run.containers.get(container) if run is not None else None
    if options.previous:
        if state is None or state.previous_log is None:
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        lines = state.previous_log
    else:
        if state is None or not state.container_id:
            reason = "ContainerCreating"
            if state is not None and "waiting" in state.state:
                reason = state.state["waiting"].get("reason", reason)
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        lines = state.log
    since_time = options.since_time
    if options.since_seconds is not None:
        since_time = time.time() - options.since_seconds
    if since_time is not None:
        lines = [line for line in lines if line[0] >= since_time]
    tail_lines = options.tail_lines
    if tail_lines is not None:
        lines = lines[-tail_lines:] if tail_lines > 0 else []
    if options.timestamps:
        data = b"".join(rfc3339_nano(moment).encode() + b" " + text for moment, text in lines)
    else:
        data = b"".join(text for _, text in lines)
    if options.limit_bytes is not None:
        data = data[: options.limit_bytes]
    return data
