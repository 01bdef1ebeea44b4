"""Pod status as a kubelet reports it: phase, conditions, IPs and ``containerStatuses``.

A pure function of the kubelet's record of the pod and the status it had:
condition ``lastTransitionTime`` only moves when a condition's value changes.
"""

from __future__ import annotations

from typing import Any

from sim.kube.kubelet.node import HOST_IP
from sim.kube.kubelet.records import PodRun
from sim.kube.store import now_rfc3339


def pod_status(run: PodRun, old: dict[str, Any]) -> dict[str, Any]:
    """The pod status a kubelet reports for ``run``, keeping transition times from ``old``."""
    now = now_rfc3339()
    containers = list(run.containers.values())
    finished = bool(containers) and all(c.terminated for c in containers)
    if finished:
        phase = "Succeeded" if all(c.exit_code == 0 for c in containers) else "Failed"
    elif run.started_at and any(c.running or c.restart_count or c.last_state for c in containers):
        phase = "Running"
    else:
        phase = "Pending"
    ready = phase == "Running" and all(c.running for c in containers)
    old_conditions = {c.get("type"): c for c in old.get("conditions") or []}

    def condition(kind: str, status: bool, reason: str | None = None) -> dict[str, Any]:
        value = "True" if status else "False"
        previous = old_conditions.get(kind)
        moment = previous["lastTransitionTime"] if previous and previous.get("status") == value else now
        result: dict[str, Any] = {
            "type": kind,
            "status": value,
            "lastProbeTime": None,
            "lastTransitionTime": moment,
        }
        if reason:
            result["reason"] = reason
        return result

    not_ready = "PodCompleted" if finished else "ContainersNotReady"
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [
            condition("PodReadyToStartContainers", bool(run.started_at) and not finished),
            condition("Initialized", True),
            condition("Ready", ready, None if ready else not_ready),
            condition("ContainersReady", ready, None if ready else not_ready),
            condition("PodScheduled", True),
        ],
        "hostIP": HOST_IP,
        "hostIPs": [{"ip": HOST_IP}],
    }
    if run.pod_ip:
        status["podIP"] = run.pod_ip
        status["podIPs"] = [{"ip": run.pod_ip}]
    status["startTime"] = old.get("startTime") or now
    status["containerStatuses"] = [
        {
            "containerID": c.container_id,
            "image": c.image,
            "imageID": f"sim://{c.image}",
            "lastState": c.last_state,
            "name": c.name,
            "ready": c.running and ready,
            "restartCount": c.restart_count,
            "started": c.running,
            "state": c.state,
        }
        if c.container_id
        else {
            "image": c.image,
            "imageID": "",
            "lastState": c.last_state,
            "name": c.name,
            "ready": False,
            "restartCount": c.restart_count,
            "started": False,
            "state": c.state,
        }
        for c in containers
    ]
    status["qosClass"] = old.get("qosClass", "BestEffort")
    return status
