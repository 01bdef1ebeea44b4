"""The kubelet's records of what runs: one :class:`PodRun` per pod, one :class:`ContainerRun` per container.

They hold what the API object does not: timers, subprocesses, the log lines
with their times, restart counts and the previous instance's log.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ContainerRun:
    """One container of a running pod: state, log and restarts."""

    name: str
    image: str
    state: dict[str, Any] = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: dict[str, Any] = field(default_factory=dict)
    log: list[tuple[float, bytes]] = field(default_factory=list)
    previous_log: list[tuple[float, bytes]] | None = None
    restart_count: int = 0
    exit_code: int | None = None
    process: asyncio.subprocess.Process | None = None
    container_id: str = ""

    @property
    def running(self) -> bool:
        """Whether the container is running now."""
        return "running" in self.state

    @property
    def terminated(self) -> bool:
        """Whether the container has stopped and will not restart."""
        return "terminated" in self.state

    def write(self, text: bytes, moment: float) -> None:
        """Append output (split into lines, each with its time)."""
        for line in text.splitlines(keepends=True):
            self.log.append((moment, line))


@dataclass
class PodRun:
    """The kubelet's record of one pod."""

    namespace: str
    name: str
    uid: str
    restart_policy: str
    annotations: dict[str, str]
    spec: dict[str, Any]
    containers: dict[str, ContainerRun]
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    started_at: str = ""
    pod_ip: str = ""
    stopping: bool = False
