"""The one Node every pod runs on: Ready, labelled like an EKS managed node group's worker."""

from __future__ import annotations

from typing import Any, Final

from sim.kube.store import now_rfc3339

NODE_NAME: Final = "sim-node-1"
HOST_IP: Final = "10.0.0.10"


def node_object() -> dict[str, Any]:
    """The Node the kubelet runs every pod on (Ready, labelled like an EKS worker)."""
    now = now_rfc3339()
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": NODE_NAME,
            "labels": {
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "m5.large",
                "eks.amazonaws.com/nodegroup": "sim",
            },
        },
        "spec": {"providerID": "aws:///us-east-1a/i-0000000000000000"},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": HOST_IP},
                {"type": "Hostname", "address": NODE_NAME},
            ],
            "capacity": {"cpu": "2", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "1930m", "memory": "7Gi", "pods": "110"},
            "nodeInfo": {
                "kubeletVersion": "v1.32.0-eks-statewright",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "sim://1.0",
            },
        },
    }
