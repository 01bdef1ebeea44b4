"""A container's environment: ``env`` (with ``valueFrom``) and ``envFrom`` resolved from the store.

ConfigMap and Secret references are read at container start (Secret values
base64-decoded), ``fieldRef`` answers the pod's name, namespace, uid, node and
IPs; the process runtime passes nothing else (see ``isolation``).
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from sim.kube.kubelet.node import HOST_IP, NODE_NAME
from sim.kube.kubelet.records import PodRun
from sim.kube.store import Store


def container_environment(store: Store, run: PodRun, spec: dict[str, Any]) -> dict[str, str]:
    """The environment of one container of ``run`` (``spec`` is the container's)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOSTNAME": run.name,
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
    }
    for source in spec.get("envFrom") or []:
        if not isinstance(source, dict):
            continue
        for kind, resource in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
            ref = source.get(kind)
            if isinstance(ref, dict):
                obj = store.get("", resource, run.namespace, str(ref.get("name"))) or {}
                for k, v in (obj.get("data") or {}).items():
                    env[str(source.get("prefix", "")) + k] = _decode(v, resource)
    for variable in spec.get("env") or []:
        if not isinstance(variable, dict) or not variable.get("name"):
            continue
        value = variable.get("value")
        ref = variable.get("valueFrom") or {}
        if value is None and isinstance(ref, dict):
            value = _value_from(store, run, ref)
        env[str(variable["name"])] = "" if value is None else str(value)
    return env


def _value_from(store: Store, run: PodRun, ref: dict[str, Any]) -> str | None:
    for kind, resource in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
        selector = ref.get(kind)
        if isinstance(selector, dict):
            obj = store.get("", resource, run.namespace, str(selector.get("name"))) or {}
            raw = (obj.get("data") or {}).get(str(selector.get("key")))
            return None if raw is None else _decode(raw, resource)
    field_ref = ref.get("fieldRef")
    if isinstance(field_ref, dict):
        return {
            "metadata.name": run.name,
            "metadata.namespace": run.namespace,
            "metadata.uid": run.uid,
            "spec.nodeName": NODE_NAME,
            "status.podIP": run.pod_ip,
            "status.hostIP": HOST_IP,
        }.get(str(field_ref.get("fieldPath")))
    return None


def _decode(value: Any, resource: str) -> str:
    if resource != "secrets":
        return str(value)
    try:
        return base64.b64decode(str(value)).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""
