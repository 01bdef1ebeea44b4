"""The Job controller, as Kubernetes ≥ 1.31 runs it.

Event-driven: store events for Jobs and for pods owned by Jobs mark a Job dirty,
and one ``call_soon`` flush syncs every dirty Job once. Timers exist only for
transitions that are due later (the pod-failure backoff, ``activeDeadlineSeconds``,
``ttlSecondsAfterFinished``), one ``loop.call_later`` handle each, so 10,000 Jobs
cost 10,000 handles and no polling.

A sync does what the real controller does for a NonIndexed Job: count
succeeded/failed pods (each pod once, by uid), create pods up to ``parallelism``
(labelled ``job-name``, ``controller-uid`` and their ``batch.kubernetes.io/``
forms, owned by the Job), replace failed pods after an exponential backoff, and
finish in two steps — first ``SuccessCriteriaMet`` (reason CompletionsReached) or
``FailureTarget`` (BackoffLimitExceeded, DeadlineExceeded; the deadline wins), then,
once no pod is left running or terminating, ``Complete`` (with completionTime) or
``Failed``. ``ttlSecondsAfterFinished`` deletes a finished Job in the background. Exit-code rules of
``podFailurePolicy`` are honoured (FailJob fails the Job with reason PodFailurePolicy,
Ignore does not count the failure), and Indexed Jobs run each completion index once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from sim.aws.times import rfc3339_epoch
from sim.kube.errors import KubeError
from sim.kube.objects import with_changes
from sim.kube.registry import Registry
from sim.kube.store import DELETED, Entry, Event, now_rfc3339

CONTROLLER_UID: Final = "batch.kubernetes.io/controller-uid"
INDEX_KEY: Final = "batch.kubernetes.io/job-completion-index"
SUCCESS_MESSAGE: Final = "Reached expected number of succeeded pods"
BACKOFF_MESSAGE: Final = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE: Final = "Job was active longer than specified deadline"
DEFAULT_BACKOFF_SECONDS: Final = 10.0
MAX_BACKOFF_SECONDS: Final = 360.0
DEFAULT_EVENT_TTL_SECONDS: Final = 3600.0
EVENT_SWEEP_SECONDS: Final = 60.0


@dataclass
class JobState:
    """What the controller remembers about one Job between syncs."""

    uid: str
    outcomes: dict[str, str] = field(default_factory=dict)
    completed_indexes: set[int] = field(default_factory=set)
    fail_job: str | None = None
    started: float | None = None
    last_failure: float = 0.0
    deadline: asyncio.TimerHandle | None = None
    backoff: asyncio.TimerHandle | None = None
    ttl: asyncio.TimerHandle | None = None

    def cancel(self) -> None:
        """Cancel every timer."""
        for handle in (self.deadline, self.backoff, self.ttl):
            if handle is not None:
                handle.cancel()
        self.deadline = self.backoff = self.ttl = None


def _condition(kind: str, reason: str, message: str, moment: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "lastProbeTime": moment,
        "lastTransitionTime": moment,
        "reason": reason,
        "message": message,
    }


def _has(conditions: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((c for c in conditions if c.get("type") == kind and c.get("status") == "True"), None)


class JobController:
    """Reconciles batch/v1 Jobs into pods and status.

    Args:
        registry: the API registry (to create/delete pods and write Job status).
        backoff_seconds: first delay before replacing a failed pod (Kubernetes: 10 s), doubling per
            failure up to six minutes.
        record_events: record the controller's Events (SuccessfulCreate, Completed, BackoffLimitExceeded...)
            as ``kubectl describe job`` shows them.
        event_ttl_seconds: how long recorded Events are kept (kube-apiserver's ``--event-ttl``: 1 h).
    """

    def __init__(
        self,
        registry: Registry,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        record_events: bool = True,
        event_ttl_seconds: float = DEFAULT_EVENT_TTL_SECONDS,
    ) -> None:
        self.registry = registry
        self.backoff_seconds = backoff_seconds
        self.record_events = record_events
        self.event_ttl_seconds = event_ttl_seconds
        self._recorded: deque[tuple[float, str, str]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self.events = registry.catalog.lookup("", "v1", "events")
        jobs = registry.catalog.lookup("batch", "v1", "jobs")
        pods = registry.catalog.lookup("", "v1", "pods")
        assert jobs is not None and pods is not None
        self.jobs, self.pods = jobs, pods
        self.states: dict[str, JobState] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._flush_scheduled = False
        self._closed = False
        registry.store.subscribe(self._on_event)

    def close(self) -> None:
        """Cancel every timer; the controller does nothing afterwards."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for state in self.states.values():
            state.cancel()
        self.states.clear()

    # -- events ----------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if self._closed:
            return
        info = event.table.info
        metadata = event.entry.obj["metadata"]
        if info is self.jobs:
            key = (metadata.get("namespace", ""), metadata["name"])
            if event.type == DELETED:
                state = self.states.pop(metadata.get("uid", ""), None)
                if state is not None:
                    state.cancel()
                return
            old = event.old.obj if event.old is not None else None
            new = event.entry.obj
            if (
                old is not None
                and old.get("spec") is new.get("spec")
                and (old["metadata"].get("deletionTimestamp") == metadata.get("deletionTimestamp"))
            ):
                # Only the status changed (the controller's own write): nothing new to reconcile.
                return
            self._mark(key)
        elif info is self.pods:
            for ref in metadata.get("ownerReferences") or ():
                if ref.get("kind") == "Job" and ref.get("controller"):
                    if event.type == DELETED:
                        self._count_removed(event.entry.obj, str(ref.get("uid")))
                    self._mark((metadata.get("namespace", ""), str(ref.get("name"))))

    def _count_removed(self, pod: dict[str, Any], job_uid: str) -> None:
        state = self.states.get(job_uid)
        if state is None:
            return
        pod_uid = pod["metadata"].get("uid", "")
        if pod_uid in state.outcomes:
            return
        phase = (pod.get("status") or {}).get("phase")
        state.outcomes[pod_uid] = "s" if phase == "Succeeded" else "f"
        if phase != "Succeeded":
            state.last_failure = time.time()

    def _mark(self, key: tuple[str, str]) -> None:
        self._dirty.add(key)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, set()
        for namespace, name in dirty:
            if self._closed:
                return
            try:
                self.sync(namespace, name)
            except KubeError:
                # A pod create can race a namespace deletion; the next event re-syncs the Job.
                continue

    # -- the sync ---------------------------------------------------------------------------------

    def sync(self, namespace: str, name: str) -> None:
        """Bring one Job's pods and status in line with its spec."""
        registry = self.registry
        entry = registry.store.lookup(registry.table(self.jobs), namespace, name)
        if entry is None:
            return
        job = entry.obj
        metadata, spec = job["metadata"], job.get("spec") or {}
        status: dict[str, Any] = job.get("status") or {}
        uid = metadata.get("uid", "")
        state = self.states.get(uid)
        if state is None:
            state = self.states[uid] = JobState(uid)
        conditions: list[dict[str, Any]] = list(status.get("conditions") or [])
        if _has(conditions, "Complete") or _has(conditions, "Failed"):
            self._arm_ttl(state, job)
            return
        if metadata.get("deletionTimestamp"):
            return
        now = time.time()
        moment = now_rfc3339(now)
        pods_table = registry.table(self.pods)
        keys = pods_table.by_label.get((CONTROLLER_UID, uid), set())
        pods = [pods_table.objects[k] for k in sorted(keys) if k in pods_table.objects]
        active: list[Entry] = []
        terminating = 0
        ready = 0
        restarts = 0
        for pod in pods:
            pod_status = pod.obj.get("status") or {}
            phase = pod_status.get("phase")
            pod_uid = pod.obj["metadata"].get("uid", "")
            if phase == "Succeeded":
                state.outcomes.setdefault(pod_uid, "s")
                index = _pod_index(pod.obj)
                if index is not None:
                    state.completed_indexes.add(index)
            elif phase == "Failed":
                if pod_uid not in state.outcomes:
                    outcome, message = apply_pod_failure_policy(spec.get("podFailurePolicy"), pod.obj)
                    state.outcomes[pod_uid] = outcome
                    if outcome != "i":
                        state.last_failure = now
                    if message is not None and state.fail_job is None:
                        state.fail_job = message
            elif pod.obj["metadata"].get("deletionTimestamp"):
                terminating += 1
            else:
                active.append(pod)
                if any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in pod_status.get("conditions") or []
                ):
                    ready += 1
                restarts += sum(
                    int(c.get("restartCount", 0)) for c in pod_status.get("containerStatuses") or []
                )
        indexed = spec.get("completionMode") == "Indexed"
        succeeded = sum(1 for outcome in state.outcomes.values() if outcome == "s")
        if indexed:
            succeeded = len(state.completed_indexes)
        failed = sum(1 for outcome in state.outcomes.values() if outcome == "f")
        start_time = status.get("startTime")
        suspended = bool(spec.get("suspend"))
        parallelism = int(spec.get("parallelism", 1) or 0)
        completions = spec.get("completions")
        backoff_limit = int(spec.get("backoffLimit", 6))
        deadline = spec.get("activeDeadlineSeconds")
        template = spec.get("template") or {}
        restart_policy = (template.get("spec") or {}).get("restartPolicy")
        target = _has(conditions, "FailureTarget") or _has(conditions, "SuccessCriteriaMet")
        if target is None and not suspended:
            if start_time is None:
                start_time = moment
                state.started = now
            elif state.started is None:
                state.started = rfc3339_epoch(start_time)
            elapsed = now - state.started
            if isinstance(deadline, int) and elapsed >= deadline:
                target = _condition("FailureTarget", "DeadlineExceeded", DEADLINE_MESSAGE, moment)
            elif state.fail_job is not None:
                target = _condition("FailureTarget", "PodFailurePolicy", state.fail_job, moment)
            elif failed > backoff_limit or (
                restart_policy == "OnFailure"
                and (restarts > 0 if backoff_limit == 0 else restarts >= backoff_limit)
            ):
                target = _condition("FailureTarget", "BackoffLimitExceeded", BACKOFF_MESSAGE, moment)
            elif (completions is not None and succeeded >= int(completions)) or (
                completions is None and succeeded > 0 and not active
            ):
                target = _condition("SuccessCriteriaMet", "CompletionsReached", SUCCESS_MESSAGE, moment)
            if target is not None:
                conditions.append(target)
            elif isinstance(deadline, int) and state.deadline is None:
                state.deadline = asyncio.get_running_loop().call_later(
                    max(0.0, deadline - elapsed) + 0.001, self._mark, (namespace, name)
                )
        completion_time = None
        if target is not None:
            if state.deadline is not None:
                state.deadline.cancel()
                state.deadline = None
            for pod in active:
                self._delete_pod(pod)
                if target["type"] == "FailureTarget":
                    state.outcomes.setdefault(pod.obj["metadata"].get("uid", ""), "f")
            terminating += len(active)
            if target["type"] == "FailureTarget":
                failed = sum(1 for outcome in state.outcomes.values() if outcome == "f")
            active = []
            if terminating == 0:
                if target["type"] == "SuccessCriteriaMet":
                    conditions.append(_condition("Complete", target["reason"], target["message"], moment))
                    completion_time = moment
                    self._event(job, "Normal", "Completed", "Job completed")
                else:
                    conditions.append(_condition("Failed", target["reason"], target["message"], moment))
                    self._event(job, "Warning", target["reason"], target["message"])
        elif suspended:
            for pod in active:
                self._delete_pod(pod)
            terminating += len(active)
            active = []
        else:
            if completions is None:
                wanted = parallelism if succeeded == 0 else 0
            else:
                wanted = max(0, min(parallelism, int(completions) - succeeded))
            missing = wanted - len(active)
            if missing > 0 and failed > 0:
                delay = min(MAX_BACKOFF_SECONDS, self.backoff_seconds * 2 ** (failed - 1))
                remaining = state.last_failure + delay - now
                if remaining > 0:
                    if state.backoff is None or state.backoff.when() < asyncio.get_running_loop().time():
                        state.backoff = asyncio.get_running_loop().call_later(
                            remaining + 0.001, self._mark, (namespace, name)
                        )
                    missing = 0
            free_indexes: list[int | None] = [None] * max(0, missing)
            if indexed and completions is not None:
                busy = {_pod_index(pod.obj) for pod in active} | state.completed_indexes
                free_indexes = [i for i in range(int(completions)) if i not in busy]
                free_indexes = free_indexes[: max(0, missing)]
            for index in free_indexes:
                pod = self._create_pod(job, index)
                active.append(pod)
                self._event(job, "Normal", "SuccessfulCreate", f"Created pod: {pod.obj['metadata']['name']}")
            for pod in active[wanted:] if missing < 0 else []:
                self._delete_pod(pod)
        new_status: dict[str, Any] = {}
        if conditions:
            new_status["conditions"] = conditions
        if start_time is not None:
            new_status["startTime"] = start_time
        if completion_time is not None:
            new_status["completionTime"] = completion_time
        if active:
            new_status["active"] = len(active)
        if succeeded:
            new_status["succeeded"] = succeeded
        if indexed:
            new_status["completedIndexes"] = compress_indexes(state.completed_indexes)
        if failed:
            new_status["failed"] = failed
        new_status["terminating"] = terminating
        new_status["uncountedTerminatedPods"] = {}
        new_status["ready"] = ready
        if new_status != status:
            registry.write_status(self.jobs, with_changes(entry, status=new_status))
        if _has(conditions, "Complete") or _has(conditions, "Failed"):
            self._arm_ttl(state, {**job, "status": new_status})

    def _create_pod(self, job: dict[str, Any], index: int | None = None) -> Entry:
        metadata = job["metadata"]
        template = clone_json((job.get("spec") or {}).get("template") or {})
        template_meta = template.get("metadata") or {}
        pod_meta: dict[str, Any] = {
            "generateName": f"{metadata['name']}-" if index is None else f"{metadata['name']}-{index}-",
            "namespace": metadata.get("namespace", "default"),
            "labels": template_meta.get("labels") or {},
        }
        if template_meta.get("annotations"):
            pod_meta["annotations"] = template_meta["annotations"]
        pod_spec = template.get("spec") or {}
        if index is not None:
            pod_meta.setdefault("annotations", {})[INDEX_KEY] = str(index)
            pod_meta["labels"][INDEX_KEY] = str(index)
            pod_spec.setdefault("hostname", f"{metadata['name']}-{index}")
            for container in pod_spec.get("containers") or []:
                if isinstance(container, dict):
                    env = container.setdefault("env", [])
                    if isinstance(env, list):
                        env.insert(0, {"name": "JOB_COMPLETION_INDEX", "value": str(index)})
            template["spec"] = pod_spec
        pod_meta["ownerReferences"] = [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": metadata["name"],
                "uid": metadata["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": template.get("spec") or {}}
        return self.registry.create(self.pods, pod_meta["namespace"], pod)

    def _event(self, job: dict[str, Any], kind: str, reason: str, message: str) -> None:
        """Record a core/v1 Event about ``job``, as the job-controller does."""
        if not self.record_events or self.events is None:
            return
        metadata = job["metadata"]
        moment = now_rfc3339()
        event = {
            "metadata": {
                "name": f"{metadata['name']}.{uuid.uuid4().hex[:16]}",
                "namespace": metadata.get("namespace", "default"),
            },
            "involvedObject": {
                "kind": "Job",
                "namespace": metadata.get("namespace", "default"),
                "name": metadata["name"],
                "uid": metadata.get("uid", ""),
                "apiVersion": "batch/v1",
                "resourceVersion": metadata.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "source": {"component": "job-controller"},
            "firstTimestamp": moment,
            "lastTimestamp": moment,
            "count": 1,
            "type": kind,
            "eventTime": None,
            "reportingComponent": "job-controller",
            "reportingInstance": "",
        }
        try:
            created = self.registry.create(self.events, str(metadata.get("namespace", "default")), event)
        except KubeError:
            return
        self._recorded.append(
            (time.monotonic(), created.obj["metadata"]["namespace"], created.obj["metadata"]["name"])
        )
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self._sweep_interval(), self._sweep_events)

    def _sweep_interval(self) -> float:
        return min(EVENT_SWEEP_SECONDS, max(self.event_ttl_seconds, 0.01))

    def _sweep_events(self) -> None:
        """Delete recorded Events older than the event TTL (kube-apiserver keeps them an hour)."""
        self._sweeper = None
        if self._closed or self.events is None:
            return
        limit = time.monotonic() - self.event_ttl_seconds
        while self._recorded and self._recorded[0][0] <= limit:
            _, namespace, name = self._recorded.popleft()
            try:
                self.registry.delete(self.events, namespace, name)
            except KubeError:
                continue
        if self._recorded:
            self._sweeper = asyncio.get_running_loop().call_later(self._sweep_interval(), self._sweep_events)

    def _delete_pod(self, pod: Entry) -> None:
        metadata = pod.obj["metadata"]
        try:
            self.registry.delete(
                self.pods,
                metadata.get("namespace", ""),
                metadata["name"],
                {"propagationPolicy": "Background"},
            )
        except KubeError:
            pass

    def _arm_ttl(self, state: JobState, job: dict[str, Any]) -> None:
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if not isinstance(ttl, int) or state.ttl is not None:
            return
        status = job.get("status") or {}
        finished = status.get("completionTime") or next(
            (
                c.get("lastTransitionTime")
                for c in status.get("conditions") or []
                if c.get("type") == "Failed"
            ),
            None,
        )
        elapsed = time.time() - rfc3339_epoch(finished) if finished else 0.0
        metadata = job["metadata"]
        state.ttl = asyncio.get_running_loop().call_later(
            max(0.0, ttl - elapsed),
            self._expire,
            metadata.get("namespace", ""),
            metadata["name"],
            metadata["uid"],
        )

    def _expire(self, namespace: str, name: str, uid: str) -> None:
        entry = self.registry.store.lookup(self.registry.table(self.jobs), namespace, name)
        if entry is None or entry.obj["metadata"].get("uid") != uid:
            return
        try:
            self.registry.delete(
                self.jobs, namespace, name, {"propagationPolicy": "Background", "preconditions": {"uid": uid}}
            )
        except KubeError:
            pass


def apply_pod_failure_policy(policy: Any, pod: dict[str, Any]) -> tuple[str, str | None]:
    """Classify a failed pod by ``spec.podFailurePolicy`` (exit-code rules).

    Returns:
        ``("f", None)`` to count the failure, ``("i", None)`` to ignore it (rule action Ignore),
        or ``("f", message)`` when a FailJob rule matched (the Job fails with reason PodFailurePolicy).
    """
    rules = (policy or {}).get("rules") if isinstance(policy, dict) else None
    if not isinstance(rules, list):
        return "f", None
    metadata = pod["metadata"]
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for index, rule in enumerate(rules):
        on_exit = rule.get("onExitCodes") if isinstance(rule, dict) else None
        if not isinstance(on_exit, dict):
            continue
        values = on_exit.get("values") or []
        for status in statuses:
            terminated = (status.get("state") or {}).get("terminated") or {}
            code = terminated.get("exitCode")
            if not isinstance(code, int) or code == 0:
                continue
            if on_exit.get("containerName") not in (None, status.get("name")):
                continue
            matched = code in values if on_exit.get("operator") == "In" else code not in values
            if not matched:
                continue
            action = rule.get("action")
            if action == "Ignore":
                return "i", None
            if action == "FailJob":
                return "f", (
                    f"Container {status.get('name')} for pod {metadata.get('namespace', '')}/{metadata['name']} "
                    f"failed with exit code {code} matching FailJob rule at index {index}"
                )
            return "f", None
    return "f", None


def _pod_index(pod: dict[str, Any]) -> int | None:
    value = (pod["metadata"].get("annotations") or {}).get(INDEX_KEY)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def compress_indexes(indexes: set[int]) -> str:
    """``{0, 1, 2, 5}`` → ``"0-2,5"``, the form of ``status.completedIndexes``."""
    ranges: list[str] = []
    ordered = sorted(indexes)
    position = 0
    while position < len(ordered):
        end = position
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        first, last = ordered[position], ordered[end]
        ranges.append(str(first) if first == last else f"{first}-{last}")
        position = end + 1
    return ",".join(ranges)


def clone_json(value: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON object."""
    copied: dict[str, Any] = orjson.loads(orjson.dumps(value))
    return copied
