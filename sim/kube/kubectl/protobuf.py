"""Just enough of Kubernetes' protobuf wire format to read what kubectl's typed clients send.

``kubectl create configmap|secret|namespace|job``, ``kubectl run`` and ``kubectl auth
can-i`` send their objects as ``application/vnd.kubernetes.protobuf`` (the ``k8s\\0``
magic, then a ``runtime.Unknown`` envelope holding apiVersion, kind and the
encoded object), and client-go has no JSON fallback for request bodies. This
module decodes those bodies into the JSON shape the rest of the server uses,
from a table of field numbers taken from the Kubernetes ``generated.proto``
files for the kinds listed in :data:`KINDS`. Fields outside the table (probes,
volumes, affinity...) are skipped. Answers stay JSON, which these clients accept.
"""

from __future__ import annotations

import base64
import time
from typing import Any, Final

MAGIC: Final = b"k8s\x00"

# A field: (json name, type, repeated). Types: "string", "bytes", "int", "bool", "time",
# "quantity", "intorstring", "map", "map_bytes", "map_quantity", or a message name.
# A json name of "" inlines the sub-message's fields into the parent (Go embedding).
Field = tuple[str, str, bool]
S, INT, B = "string", "int", "bool"

MESSAGES: Final[dict[str, dict[int, Field]]] = {
    "ObjectMeta": {
        1: ("name", S, False),
        2: ("generateName", S, False),
        3: ("namespace", S, False),
        5: ("uid", S, False),
        6: ("resourceVersion", S, False),
        7: ("generation", INT, False),
        8: ("creationTimestamp", "time", False),
        9: ("deletionTimestamp", "time", False),
        10: ("deletionGracePeriodSeconds", INT, False),
        11: ("labels", "map", False),
        12: ("annotations", "map", False),
        13: ("ownerReferences", "OwnerReference", True),
        14: ("finalizers", S, True),
    },
    "OwnerReference": {
        1: ("kind", S, False),
        3: ("name", S, False),
        4: ("uid", S, False),
        5: ("apiVersion", S, False),
        6: ("controller", B, False),
        7: ("blockOwnerDeletion", B, False),
    },
    "LabelSelector": {
        1: ("matchLabels", "map", False),
        2: ("matchExpressions", "LabelSelectorRequirement", True),
    },
    "LabelSelectorRequirement": {1: ("key", S, False), 2: ("operator", S, False), 3: ("values", S, True)},
    "ConfigMap": {
        1: ("metadata", "ObjectMeta", False),
        2: ("data", "map", False),
        3: ("binaryData", "map_bytes", False),
        4: ("immutable", B, False),
    },
    "Secret": {
        1: ("metadata", "ObjectMeta", False),
        2: ("data", "map_bytes", False),
        3: ("type", S, False),
        4: ("stringData", "map", False),
        5: ("immutable", B, False),
    },
    "Namespace": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "NamespaceSpec", False)},
    "NamespaceSpec": {1: ("finalizers", S, True)},
    "ServiceAccount": {
        1: ("metadata", "ObjectMeta", False),
        3: ("imagePullSecrets", "LocalObjectReference", True),
        4: ("automountServiceAccountToken", B, False),
    },
    "LocalObjectReference": {1: ("name", S, False)},
    "Pod": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "PodSpec", False)},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "PodSpec", False)},
    "PodSpec": {
        2: ("containers", "Container", True),
        20: ("initContainers", "Container", True),
        3: ("restartPolicy", S, False),
        4: ("terminationGracePeriodSeconds", INT, False),
        5: ("activeDeadlineSeconds", INT, False),
        6: ("dnsPolicy", S, False),
        7: ("nodeSelector", "map", False),
        8: ("serviceAccountName", S, False),
        9: ("serviceAccount", S, False),
        10: ("nodeName", S, False),
        15: ("imagePullSecrets", "LocalObjectReference", True),
        16: ("hostname", S, False),
        17: ("subdomain", S, False),
        19: ("schedulerName", S, False),
        24: ("priorityClassName", S, False),
        25: ("priority", INT, False),
        30: ("enableServiceLinks", B, False),
        31: ("preemptionPolicy", S, False),
    },
    "Container": {
        1: ("name", S, False),
        2: ("image", S, False),
        3: ("command", S, True),
        4: ("args", S, True),
        5: ("workingDir", S, False),
        6: ("ports", "ContainerPort", True),
        7: ("env", "EnvVar", True),
        8: ("resources", "ResourceRequirements", False),
        9: ("volumeMounts", "VolumeMount", True),
        13: ("terminationMessagePath", S, False),
        14: ("imagePullPolicy", S, False),
        16: ("stdin", B, False),
        17: ("stdinOnce", B, False),
        18: ("tty", B, False),
        19: ("envFrom", "EnvFromSource", True),
        20: ("terminationMessagePolicy", S, False),
    },
    "ContainerPort": {
        1: ("name", S, False),
        2: ("hostPort", INT, False),
        3: ("containerPort", INT, False),
        4: ("protocol", S, False),
        5: ("hostIP", S, False),
    },
    "EnvVar": {1: ("name", S, False), 2: ("value", S, False), 3: ("valueFrom", "EnvVarSource", False)},
    "EnvVarSource": {
        1: ("fieldRef", "ObjectFieldSelector", False),
        3: ("configMapKeyRef", "KeySelector", False),
        4: ("secretKeyRef", "KeySelector", False),
    },
    "ObjectFieldSelector": {1: ("apiVersion", S, False), 2: ("fieldPath", S, False)},
    "KeySelector": {1: ("", "LocalObjectReference", False), 2: ("key", S, False), 3: ("optional", B, False)},
    "EnvFromSource": {
        1: ("prefix", S, False),
        2: ("configMapRef", "EnvSource", False),
        3: ("secretRef", "EnvSource", False),
    },
    "EnvSource": {1: ("", "LocalObjectReference", False), 2: ("optional", B, False)},
    "ResourceRequirements": {1: ("limits", "map_quantity", False), 2: ("requests", "map_quantity", False)},
    "VolumeMount": {
        1: ("name", S, False),
        2: ("readOnly", B, False),
        3: ("mountPath", S, False),
        4: ("subPath", S, False),
    },
    "Service": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "ServiceSpec", False)},
    "ServiceSpec": {
        1: ("ports", "ServicePort", True),
        2: ("selector", "map", False),
        3: ("clusterIP", S, False),
        4: ("type", S, False),
        7: ("sessionAffinity", S, False),
        10: ("externalName", S, False),
    },
    "ServicePort": {
        1: ("name", S, False),
        2: ("protocol", S, False),
        3: ("port", INT, False),
        4: ("targetPort", "intorstring", False),
        5: ("nodePort", INT, False),
    },
    "Job": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "JobSpec", False)},
    "JobSpec": {
        1: ("parallelism", INT, False),
        2: ("completions", INT, False),
        3: ("activeDeadlineSeconds", INT, False),
        4: ("selector", "LabelSelector", False),
        5: ("manualSelector", B, False),
        6: ("template", "PodTemplateSpec", False),
        7: ("backoffLimit", INT, False),
        8: ("ttlSecondsAfterFinished", INT, False),
        9: ("completionMode", S, False),
        10: ("suspend", B, False),
        12: ("backoffLimitPerIndex", INT, False),
        13: ("maxFailedIndexes", INT, False),
        14: ("podReplacementPolicy", S, False),
        15: ("managedBy", S, False),
    },
    "CronJob": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "CronJobSpec", False)},
    "CronJobSpec": {
        1: ("schedule", S, False),
        2: ("startingDeadlineSeconds", INT, False),
        3: ("concurrencyPolicy", S, False),
        4: ("suspend", B, False),
        5: ("jobTemplate", "JobTemplateSpec", False),
        6: ("successfulJobsHistoryLimit", INT, False),
        7: ("failedJobsHistoryLimit", INT, False),
        8: ("timeZone", S, False),
    },
    "JobTemplateSpec": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "JobSpec", False)},
    "Deployment": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "DeploymentSpec", False)},
    "DeploymentSpec": {
        1: ("replicas", INT, False),
        2: ("selector", "LabelSelector", False),
        3: ("template", "PodTemplateSpec", False),
        5: ("minReadySeconds", INT, False),
        6: ("revisionHistoryLimit", INT, False),
        7: ("paused", B, False),
        9: ("progressDeadlineSeconds", INT, False),
    },
    "SelfSubjectAccessReview": {2: ("spec", "SelfSubjectAccessReviewSpec", False)},
    "SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes", False),
        2: ("nonResourceAttributes", "NonResourceAttributes", False),
    },
    "ResourceAttributes": {
        1: ("namespace", S, False),
        2: ("verb", S, False),
        3: ("group", S, False),
        4: ("version", S, False),
        5: ("resource", S, False),
        6: ("subresource", S, False),
        7: ("name", S, False),
    },
    "NonResourceAttributes": {1: ("path", S, False), 2: ("verb", S, False)},
}
KINDS: Final[frozenset[str]] = frozenset(
    {
        "ConfigMap",
        "Secret",
        "Namespace",
        "ServiceAccount",
        "Pod",
        "Service",
        "Job",
        "CronJob",
        "SelfSubjectAccessReview",
    }
)


def _varint(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated protobuf varint")
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    fields: list[tuple[int, int | bytes]] = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
            fields.append((number, value))
        elif wire == 2:
            length, i = _varint(data, i)
            if i + length > len(data):
                raise ValueError("truncated protobuf field")
            fields.append((number, data[i : i + length]))
            i += length
        elif wire == 5:
            i += 4
        elif wire == 1:
            i += 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return fields


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind: str, value: int | bytes) -> Any:
    if kind == S:
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    if kind == "bytes":
        return base64.b64encode(value).decode() if isinstance(value, bytes) else ""
    if kind == INT:
        return _signed(value) if isinstance(value, int) else 0
    if kind == B:
        return bool(value)
    raise ValueError(f"unknown scalar type {kind}")


def _special(kind: str, value: bytes) -> Any:
    fields = dict(_fields(value))
    if kind == "time":
        seconds = fields.get(1, 0)
        return time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(_signed(seconds) if isinstance(seconds, int) else 0)
        )
    if kind == "quantity":
        text = fields.get(1, b"")
        return text.decode() if isinstance(text, bytes) else ""
    if kind == "intorstring":
        if fields.get(1, 0) == 1:
            text = fields.get(3, b"")
            return text.decode() if isinstance(text, bytes) else ""
        number = fields.get(2, 0)
        return _signed(number) if isinstance(number, int) else 0
    raise ValueError(f"unknown special type {kind}")


def _map_entry(kind: str, value: bytes) -> tuple[str, Any]:
    fields = dict(_fields(value))
    key = fields.get(1, b"")
    raw = fields.get(2, b"")
    name = key.decode() if isinstance(key, bytes) else str(key)
    if not isinstance(raw, bytes):
        raw = b""
    if kind == "map_bytes":
        return name, base64.b64encode(raw).decode()
    if kind == "map_quantity":
        return name, _special("quantity", raw)
    return name, raw.decode("utf-8")


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    """Decode one message of :data:`MESSAGES` into its JSON form."""
    table = MESSAGES[name]
    result: dict[str, Any] = {}
    for number, value in _fields(data):
        spec = table.get(number)
        if spec is None:
            continue
        json_name, kind, repeated = spec
        if kind.startswith("map"):
            if isinstance(value, bytes):
                key, item = _map_entry(kind, value)
                result.setdefault(json_name, {})[key] = item
            continue
        if kind in MESSAGES:
            if not isinstance(value, bytes):
                continue
            decoded: Any = decode_message(kind, value)
            if json_name == "":
                result.update(decoded)
                continue
        elif kind in ("time", "quantity", "intorstring"):
            if not isinstance(value, bytes):
                continue
            decoded = _special(kind, value)
        else:
            decoded = _scalar(kind, value)
            if decoded == "" and not repeated:
                # Go always encodes non-pointer strings; JSON's omitempty leaves empty ones out.
                continue
        if repeated:
            result.setdefault(json_name, []).append(decoded)
        else:
            result[json_name] = decoded
    return result


def decode_object(body: bytes) -> dict[str, Any]:
    """Decode a ``application/vnd.kubernetes.protobuf`` request body into a JSON object.

    Raises:
        ValueError: not a Kubernetes protobuf body, or a kind this module cannot read.
    """
    if not body.startswith(MAGIC):
        raise ValueError("missing the Kubernetes protobuf magic prefix")
    envelope = dict(_fields(body[len(MAGIC) :]))
    type_meta = envelope.get(1)
    raw = envelope.get(2)
    if not isinstance(type_meta, bytes) or not isinstance(raw, bytes):
        raise ValueError("the protobuf envelope holds no typed object")
    meta = dict(_fields(type_meta))
    raw_version, raw_kind = meta.get(1, b""), meta.get(2, b"")
    api_version = raw_version.decode() if isinstance(raw_version, bytes) else ""
    kind = raw_kind.decode() if isinstance(raw_kind, bytes) else ""
    if kind not in KINDS:
        raise ValueError(f"{kind or 'this kind'} cannot be sent as protobuf to the simulator; send JSON")
    return {"apiVersion": api_version, "kind": kind, **decode_message(kind, raw)}


def decode_self_subject_access_review(body: bytes) -> dict[str, Any]:
    """Decode a protobuf SelfSubjectAccessReview into its JSON form.

    Raises:
        ValueError: the body is not a protobuf SelfSubjectAccessReview.
    """
    obj = decode_object(body)
    if obj.get("kind") != "SelfSubjectAccessReview":
        raise ValueError("the body is not a SelfSubjectAccessReview")
    obj["apiVersion"] = obj.get("apiVersion") or "authorization.k8s.io/v1"
    return obj
