"""Per-kind defaulting and validation, as kube-apiserver's registry strategies do.

A :class:`Strategy` fills defaults on create, validates creates and updates
(returning ``(reason, field, message)`` causes for a 422 Invalid), and says how
deletion behaves for the kind. Jobs and Pods get Kubernetes' defaults (so the
objects clients read back look like a real cluster's) and the validation the
issue names: a Job without containers, a bad ``restartPolicy``, a missing name.
Everything else uses the generic strategy: name checks only.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final

from sim.kube.resources import ResourceInfo

Cause = tuple[str, str, str]
ORPHAN: Final = "Orphan"
BACKGROUND: Final = "Background"
FOREGROUND: Final = "Foreground"

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_MESSAGE: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE: Final = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
JOB_LABELS: Final = (
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "controller-uid",
    "job-name",
)


def _quote(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


class Strategy:
    """The generic behaviour: RFC 1123 subdomain names, Background deletion, Status answer."""

    default_propagation: str = BACKGROUND
    return_deleted_object: bool = False
    dns_label_names: bool = False

    def prepare_create(self, obj: dict[str, Any], info: ResourceInfo) -> None:
        """Fill defaults on a new object (in place)."""

    def validate_name(self, name: str) -> list[Cause]:
        """Causes for a bad ``metadata.name``."""
        if self.dns_label_names:
            if len(name) > 63 or not _DNS1123_LABEL.match(name):
                return [
                    ("FieldValueInvalid", "metadata.name", f"Invalid value: {_quote(name)}: {LABEL_MESSAGE}")
                ]
            return []
        if len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
            return [
                ("FieldValueInvalid", "metadata.name", f"Invalid value: {_quote(name)}: {SUBDOMAIN_MESSAGE}")
            ]
        return []

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
        """Causes that make ``obj`` invalid (``old`` is the stored object on update)."""
        return []


class NamespaceStrategy(Strategy):
    """Namespaces: DNS-label names, phase Active, the ``kubernetes`` finalizer."""

    dns_label_names = True

    def prepare_create(self, obj: dict[str, Any], info: ResourceInfo) -> None:
        """Give the namespace its standard label, finalizer and phase."""
        name = obj["metadata"]["name"]
        labels = obj["metadata"].setdefault("labels", {})
        labels.setdefault("kubernetes.io/metadata.name", name)
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}


def _default_pod_spec(spec: dict[str, Any], restart_policy: str = "Always") -> None:
    spec.setdefault("restartPolicy", restart_policy)
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        if not isinstance(container, dict):
            continue
        image = str(container.get("image", ""))
        tagged = ":" in image.rsplit("/", 1)[-1] or "@" in image
        latest = image.endswith(":latest") or not tagged
        container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        container.setdefault("resources", {})
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")


def validate_pod_spec(spec: Any, path: str) -> list[Cause]:
    """Causes for a bad pod spec at ``path`` (containers present, named, with an image)."""
    if not isinstance(spec, dict):
        return [("FieldValueRequired", path, "Required value")]
    containers = spec.get("containers")
    if not containers:
        return [("FieldValueRequired", f"{path}.containers", "Required value")]
    if not isinstance(containers, list):
        return [("FieldValueInvalid", f"{path}.containers", "Invalid value: must be a list")]
    causes: list[Cause] = []
    seen: set[str] = set()
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}]"
        if not isinstance(container, dict):
            causes.append(("FieldValueInvalid", where, "Invalid value: must be an object"))
            continue
        name = container.get("name")
        if not name:
            causes.append(("FieldValueRequired", f"{where}.name", "Required value"))
        elif not isinstance(name, str) or len(name) > 63 or not _DNS1123_LABEL.match(name):
            causes.append(
                ("FieldValueInvalid", f"{where}.name", f"Invalid value: {_quote(name)}: {LABEL_MESSAGE}")
            )
        elif name in seen:
            causes.append(("FieldValueDuplicate", f"{where}.name", f"Duplicate value: {_quote(name)}"))
        else:
            seen.add(name)
        if not container.get("image"):
            causes.append(("FieldValueRequired", f"{where}.image", "Required value"))
        for field in ("command", "args"):
            value = container.get(field)
            if value is not None and (
                not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            ):
                causes.append(
                    ("FieldValueInvalid", f"{where}.{field}", "Invalid value: must be a list of strings")
                )
    return causes


class PodStrategy(Strategy):
    """Pods: spec defaults, phase Pending on create, the deleted object in DELETE answers."""

    return_deleted_object = True

    def prepare_create(self, obj: dict[str, Any], info: ResourceInfo) -> None:
        """Default the spec and start the pod Pending."""
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            _default_pod_spec(spec)
            spec.setdefault("serviceAccountName", "default")
            spec.setdefault("serviceAccount", spec["serviceAccountName"])
            spec.setdefault("enableServiceLinks", True)
            spec.setdefault("priority", 0)
            spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
        """Containers required; restartPolicy one of Always/OnFailure/Never."""
        spec = obj.get("spec")
        causes = validate_pod_spec(spec, "spec")
        policy = spec.get("restartPolicy") if isinstance(spec, dict) else None
        if policy not in ("Always", "OnFailure", "Never"):
            causes.append(
                (
                    "FieldValueNotSupported",
                    "spec.restartPolicy",
                    f'Unsupported value: {_quote(policy)}: supported values: "Always", "OnFailure", "Never"',
                )
            )
        if old is not None and isinstance(spec, dict):
            old_spec = dict(old.get("spec") or {})
            new_spec = dict(spec)
            for mutable in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
                old_spec.pop(mutable, None)
                new_spec.pop(mutable, None)
            if _strip_images(old_spec) != _strip_images(new_spec):
                causes.append(
                    (
                        "FieldValueForbidden",
                        "spec",
                        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
                        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                        "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                        "(allow it to be set to 1 if it was previously negative)",
                    )
                )
        return causes


def _strip_images(spec: dict[str, Any]) -> dict[str, Any]:
    result = dict(spec)
    for field in ("containers", "initContainers"):
        if isinstance(result.get(field), list):
            result[field] = [
                {k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                for c in result[field]
            ]
    return result


def _nonnegative(spec: dict[str, Any], field: str, causes: list[Cause], *, positive: bool = False) -> None:
    value = spec.get(field)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        causes.append(
            ("FieldValueInvalid", f"spec.{field}", f"Invalid value: {_quote(value)}: must be an integer")
        )
    elif positive and value <= 0:
        causes.append(
            ("FieldValueInvalid", f"spec.{field}", f"Invalid value: {value}: must be greater than 0")
        )
    elif value < 0:
        causes.append(
            (
                "FieldValueInvalid",
                f"spec.{field}",
                f"Invalid value: {value}: must be greater than or equal to 0",
            )
        )


class JobStrategy(Strategy):
    """Jobs: Kubernetes' defaults (selector, labels, parallelism...), validation, Orphan deletion."""

    default_propagation = ORPHAN

    def prepare_create(self, obj: dict[str, Any], info: ResourceInfo) -> None:
        """Default the spec as kube-apiserver does and generate the selector and pod labels."""
        obj["status"] = {}
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        metadata = obj["metadata"]
        uid, name = metadata["uid"], metadata["name"]
        if spec.get("completions") is None and spec.get("parallelism") is None:
            spec["completions"] = 1
        spec.setdefault("parallelism", 1)
        if spec.get("backoffLimitPerIndex") is None:
            spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        template = spec.get("template")
        if not isinstance(template, dict):
            return
        if not spec.get("manualSelector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            template_meta = template.setdefault("metadata", {})
            if isinstance(template_meta, dict):
                labels = template_meta.setdefault("labels", {})
                if isinstance(labels, dict):
                    for label, value in zip(JOB_LABELS, (uid, name, uid, name), strict=True):
                        labels[label] = value
                    if not metadata.get("labels"):
                        metadata["labels"] = dict(labels)
        pod_spec = template.get("spec")
        if isinstance(pod_spec, dict):
            _default_pod_spec(pod_spec)

    def validate_name(self, name: str) -> list[Cause]:
        """Job names become label values, so they are limited to 63 characters."""
        causes = super().validate_name(name)
        if not causes and len(name) > 63:
            causes.append(
                (
                    "FieldValueInvalid",
                    "metadata.name",
                    f'Invalid value: "{name}": must be no more than 63 characters',
                )
            )
        return causes

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
        """Template required, with containers and restartPolicy Never/OnFailure; counts non-negative."""
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [("FieldValueRequired", "spec", "Required value")]
        causes: list[Cause] = []
        template = spec.get("template")
        if not isinstance(template, dict):
            causes.append(("FieldValueRequired", "spec.template", "Required value"))
            return causes
        pod_spec = template.get("spec")
        causes.extend(validate_pod_spec(pod_spec, "spec.template.spec"))
        policy = pod_spec.get("restartPolicy") if isinstance(pod_spec, dict) else None
        if policy == "Always" or policy is None:
            causes.append(
                (
                    "FieldValueRequired",
                    "spec.template.spec.restartPolicy",
                    'Required value: valid values: "OnFailure", "Never"',
                )
            )
        elif spec.get("podFailurePolicy") is not None and policy == "OnFailure":
            causes.append(
                (
                    "FieldValueInvalid",
                    "spec.template.spec.restartPolicy",
                    f'Invalid value: "{policy}": only "Never" is supported when podFailurePolicy is specified',
                )
            )
        elif policy not in ("OnFailure", "Never"):
            causes.append(
                (
                    "FieldValueNotSupported",
                    "spec.template.spec.restartPolicy",
                    f'Unsupported value: {_quote(policy)}: supported values: "OnFailure", "Never"',
                )
            )
        for field in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"):
            _nonnegative(spec, field, causes)
        _nonnegative(spec, "activeDeadlineSeconds", causes, positive=True)
        if spec.get("completionMode") not in ("NonIndexed", "Indexed"):
            causes.append(
                (
                    "FieldValueNotSupported",
                    "spec.completionMode",
                    f"Unsupported value: {_quote(spec.get('completionMode'))}: supported values: "
                    '"NonIndexed", "Indexed"',
                )
            )
        if spec.get("completionMode") == "Indexed" and spec.get("completions") is None:
            causes.append(
                ("FieldValueRequired", "spec.completions", "Required value: when completion mode is Indexed")
            )
        if old is not None:
            old_spec = old.get("spec") or {}
            for field in ("template", "selector", "completionMode"):
                if spec.get(field) != old_spec.get(field) and not (
                    field == "template" and spec.get("suspend")
                ):
                    causes.append(("FieldValueInvalid", f"spec.{field}", "Invalid value: field is immutable"))
        return causes


class SecretStrategy(Strategy):
    """Secrets: ``stringData`` folds into base64 ``data``, type defaults to Opaque, data must be base64."""

    def prepare_create(self, obj: dict[str, Any], info: ResourceInfo) -> None:
        """Fold ``stringData`` into ``data`` and default the type."""
        fold_string_data(obj)
        obj.setdefault("type", "Opaque")

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
        """Every ``data`` value must be base64."""
        fold_string_data(obj)
        causes: list[Cause] = []
        data = obj.get("data") or {}
        if not isinstance(data, dict):
            return [("FieldValueInvalid", "data", "Invalid value: must be an object")]
        for key, value in data.items():
            try:
                base64.b64decode(str(value), validate=True)
            except (binascii.Error, ValueError):
                causes.append(("FieldValueInvalid", f"data[{key}]", "Invalid value: illegal base64 data"))
        return causes


def fold_string_data(obj: dict[str, Any]) -> None:
    """Move a Secret's write-only ``stringData`` into ``data`` (base64), as the API server does."""
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {})
        if isinstance(data, dict):
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()


class ServiceStrategy(Strategy):
    """Services: type ClusterIP by default with an allocated cluster IP; DNS-label names."""

    dns_label_names = True

    def __init__(self) -> None:
        self._next_ip = 1

    def prepare_create(self, obj: dict[str, Any], info: ResourceInfo) -> None:
        """Allocate a cluster IP (10.100.0.0/16) unless headless, default type and session affinity."""
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None":
            index = self._next_ip
            self._next_ip += 1
            spec["clusterIP"] = f"10.100.{index // 254 % 254}.{index % 254 + 1}"
            spec["clusterIPs"] = [spec["clusterIP"]]
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
        obj["status"] = {"loadBalancer": {}}


STRATEGIES: Final[dict[tuple[str, str], Strategy]] = {
    ("", "namespaces"): NamespaceStrategy(),
    ("", "pods"): PodStrategy(),
    ("batch", "jobs"): JobStrategy(),
    ("", "secrets"): SecretStrategy(),
}
GENERIC: Final = Strategy()


def strategy_for(info: ResourceInfo) -> Strategy:
    """The strategy of a resource (the generic one for everything not special-cased)."""
    return STRATEGIES.get(info.key, GENERIC)


def strategies() -> dict[tuple[str, str], Strategy]:
    """A fresh strategy table for one API server (strategies that allocate keep per-server state)."""
    return {**STRATEGIES, ("", "services"): ServiceStrategy()}
