"""batch/v1 Jobs as data: the reference a task keeps, the terminal rule, the one Job read.

Everything here is a plain function of a Job object (or one GET of it), shared
by every way of waiting: ``run_job``'s own polling, the batched lister and the
watch (``feeds``). ``read_job`` is the one read of a task's Job, with the
namesake rule every wait applies (a Job that took the name of a deleted one is
not ours: ``States.TaskFailed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from engine.errors import TaskFailed
from engine.jsonvalue import JSON

COMPLETE: Final = "Complete"
FAILED: Final = "Failed"


class JobReader(Protocol):
    """What ``read_job`` needs of a Kubernetes client (``kube.KubeClient``)."""

    async def get_job(self, namespace: str, name: str) -> dict[str, JSON]:
        """Read one Job (``EKS.404`` when it does not exist)."""
        ...


@dataclass(frozen=True, slots=True)
class JobRef:
    """The Job a task created: what the resumable handle records.

    Attributes:
        namespace: the Job's namespace.
        name: the Job's name (as Kubernetes set it, also with ``generateName``).
        uid: the Job's uid, so a namesake created later is never mistaken for it.
        resource_version: the Job's resourceVersion when it was created (not saved
            in the handle): a shared watch already past it need not be asked again.
    """

    namespace: str
    name: str
    uid: str | None
    resource_version: str | None = field(default=None, compare=False)

    def handle(self, resource: str) -> dict[str, JSON]:
        """The JSON handle saved in the execution record."""
        return {"resource": resource, "namespace": self.namespace, "name": self.name, "uid": self.uid}

    @classmethod
    def from_handle(cls, handle: JSON, resource: str) -> JobRef | None:
        """The Job a saved handle names, or None when the handle is not ours."""
        if not isinstance(handle, dict) or handle.get("resource") != resource:
            return None
        namespace, name, uid = handle.get("namespace"), handle.get("name"), handle.get("uid")
        if not isinstance(namespace, str) or not isinstance(name, str) or not isinstance(uid, str | None):
            return None
        return cls(namespace, name, uid)

    @classmethod
    def of(cls, job: Mapping[str, JSON], namespace: str) -> JobRef:
        """The reference to a Job object Kubernetes returned."""
        meta = job.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise TaskFailed(None, "The Kubernetes API server returned a Job without metadata.name")
        ns = meta.get("namespace")
        uid = meta.get("uid")
        version = meta.get("resourceVersion")
        return cls(
            ns if isinstance(ns, str) and ns else namespace,
            name,
            uid if isinstance(uid, str) else None,
            version if isinstance(version, str) else None,
        )


def job_outcome(job: Mapping[str, JSON]) -> str | None:
    """``Complete`` or ``Failed`` once the Job has that condition with status True, else None."""
    status = job.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    if not isinstance(conditions, list):
        return None
    for condition in conditions:
        if (
            isinstance(condition, dict)
            and condition.get("status") == "True"
            and condition.get("type") in (COMPLETE, FAILED)
        ):
            return str(condition["type"])
    return None


async def read_job(client: JobReader, ref: JobRef) -> dict[str, JSON]:
    """Read the Job (one GET); the namesake rule of every wait.

    Raises:
        StatesError: ``EKS.404`` when it is gone, ``States.TaskFailed`` when
            another Job took its name.
    """
    job = await client.get_job(ref.namespace, ref.name)
    meta = job.get("metadata")
    uid = meta.get("uid") if isinstance(meta, dict) else None
    if ref.uid is not None and uid is not None and uid != ref.uid:
        raise TaskFailed(None, f"The Job {ref.namespace}/{ref.name} was deleted and another Job took its name")
    return job


def job_pods(job: Mapping[str, JSON]) -> str:
    """A Job's pod counts for progress, e.g. ``active 1, succeeded 0, failed 0``."""
    status = job.get("status")
    counts = status if isinstance(status, dict) else {}
    return ", ".join(f"{key} {counts.get(key) or 0}" for key in ("active", "succeeded", "failed"))


def pod_selector(job: Mapping[str, JSON]) -> str:
    """The label selector for a Job's pods.

    The Job's own ``spec.selector`` is what its controller matches pods with
    (``controller-uid``), so pods orphaned by an earlier Job of the same name
    are never included; without one, ``controller-uid`` then ``job-name``
    (spec §11.1).
    """
    spec = job.get("spec")
    selector = spec.get("selector") if isinstance(spec, dict) else None
    terms: list[str] = []
    if isinstance(selector, dict):
        labels = selector.get("matchLabels")
        if isinstance(labels, dict):
            terms += [f"{key}={value}" for key, value in labels.items()]
        expressions = selector.get("matchExpressions")
        if isinstance(expressions, list):
            terms += [t for t in (_expression(e) for e in expressions) if t]
    if terms:
        return ",".join(terms)
    meta = job.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    if isinstance(meta.get("uid"), str):
        return f"controller-uid={meta['uid']}"
    return f"job-name={meta.get('name', '')}"


def _expression(expression: JSON) -> str | None:
    if not isinstance(expression, dict) or not isinstance(expression.get("key"), str):
        return None
    key, operator = expression["key"], expression.get("operator")
    values = expression.get("values") or []
    if operator == "In":
        return f"{key} in ({','.join(map(str, values))})"
    if operator == "NotIn":
        return f"{key} notin ({','.join(map(str, values))})"
    if operator == "Exists":
        return str(key)
    if operator == "DoesNotExist":
        return f"!{key}"
    return None


__all__ = ["COMPLETE", "FAILED", "JobReader", "JobRef", "job_outcome", "job_pods", "pod_selector", "read_job"]
