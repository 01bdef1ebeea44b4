"""Recognizing our own resources after a crash.

With a durable store, the engine commits a Task's start before the call and
the executor's handle after the create answers. A crash between the two
leaves a resource the store does not know of. So every resource a durable
execution creates carries a mark: the execution ARN, the Task state's
Entered event id and the attempt (a label with their digest, for selectors,
and annotations or tags with the values themselves). When a resumed Task
without a handle creates again and the name is taken (Kubernetes 409,
EKS ``ResourceInUseException``), or when its Job has a generated name, the
executor finds the resource with its own mark and reattaches instead of
failing or creating a second one.

Marks are added only when the engine's store is durable (the
``durable_store`` executor option the engine sets): without one, outputs
are exactly AWS's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Final

from engine.executor import ExecutorContext
from engine.jsonvalue import JSON

CALL_LABEL: Final = "statewright.io/call"
ARN_KEY: Final = "statewright.io/execution-arn"
EVENT_KEY: Final = "statewright.io/entered-event-id"
ATTEMPT_KEY: Final = "statewright.io/attempt"
TAG_CALL: Final = "statewright:call"


def call_id(ctx: ExecutorContext) -> str:
    """A label-safe digest of (execution ARN, Entered event id, attempt): one per call."""
    text = f"{ctx.execution_arn}|{ctx.entered_event_id}|{ctx.attempt}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def marks(ctx: ExecutorContext) -> dict[str, str]:
    """The values a marked resource carries."""
    return {ARN_KEY: ctx.execution_arn, EVENT_KEY: str(ctx.entered_event_id), ATTEMPT_KEY: str(ctx.attempt)}


def mark_job(ctx: ExecutorContext, manifest: dict[str, JSON]) -> dict[str, JSON]:
    """The Job manifest with this call's label and annotations (a copy; the input is not changed).

    A Job without labels of its own is given Kubernetes' defaults, the pod template's labels
    (``job-name``, ``controller-uid`` …): the call's label then goes on the template, so the Job
    still gets those defaults, and ours with them. A Job with labels of its own gets ours beside.
    """
    meta = manifest.get("metadata")
    meta = dict(meta) if isinstance(meta, dict) else {}
    annotations = meta.get("annotations")
    annotations = dict(annotations) if isinstance(annotations, dict) else {}
    annotations.update(marks(ctx))
    meta["annotations"] = annotations
    out = dict(manifest)
    own = meta.get("labels")
    spec = manifest.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    if (not isinstance(own, dict) or not own) and isinstance(spec, dict) and isinstance(template, dict):
        template_meta = template.get("metadata")
        template_meta = dict(template_meta) if isinstance(template_meta, dict) else {}
        labels = template_meta.get("labels")
        labels = dict(labels) if isinstance(labels, dict) else {}
        labels[CALL_LABEL] = call_id(ctx)
        template_meta["labels"] = labels
        out["spec"] = {**spec, "template": {**template, "metadata": template_meta}}
    else:
        labels = dict(own) if isinstance(own, dict) else {}
        labels[CALL_LABEL] = call_id(ctx)
        meta["labels"] = labels
    out["metadata"] = meta
    return out


def is_own_job(ctx: ExecutorContext, job: Mapping[str, JSON]) -> bool:
    """Whether a Job carries this very call's mark."""
    meta = job.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict):
        return False
    return all(annotations.get(k) == v for k, v in marks(ctx).items())


def mark_tags(ctx: ExecutorContext, kwargs: dict[str, object]) -> dict[str, object]:
    """An EKS create request's parameters with this call's mark among its tags (a copy)."""
    tags = kwargs.get("tags")
    merged: dict[str, object] = dict(tags) if isinstance(tags, dict) else {}
    merged[TAG_CALL] = call_id(ctx)
    out = dict(kwargs)
    out["tags"] = merged
    return out


def is_own_tagged(ctx: ExecutorContext, tags: object) -> bool:
    """Whether an EKS resource's tags carry this very call's mark."""
    return isinstance(tags, Mapping) and tags.get(TAG_CALL) == call_id(ctx)


__all__ = [
    "CALL_LABEL",
    "call_id",
    "is_own_job",
    "is_own_tagged",
    "mark_job",
    "mark_tags",
]
