"""How EKS resources move through their phases: timings, injected failures, the tasks that wait them out.

Every resource is created in ``CREATING`` and deleted through ``DELETING``;
a background task owned by :class:`Lifecycle` sleeps the phase's duration
(:class:`Timings`), then asks whether a :class:`FailureRule` makes this attempt
fail, and moves the resource on:

* cluster ``CREATING`` → ``ACTIVE`` (or ``FAILED``), ``DELETING`` → gone (or ``FAILED``);
* node group and Fargate profile ``CREATING`` → ``ACTIVE`` (or
  ``CREATE_FAILED``), ``DELETING`` → gone (or ``DELETE_FAILED``).

Realistic timings (:meth:`Timings.realistic`, then scaled by ``time_factor``):

===========================  ========  ===============================================================
phase                        seconds   source
===========================  ========  ===============================================================
cluster create               840       measured 13-16 min over 21 regions (easontechtalk.com, "Unofficial
                                       EKS Cluster Creation Performance"); EKS API reference: "it takes
                                       several minutes"; botocore ClusterActive waits up to 20 min
cluster delete               300       estimate ("a few minutes"; no AWS figure); botocore ClusterDeleted
                                       waits up to 20 min
node group create            180       tutorials report 2-5 min ("a few minutes"); botocore
                                       NodegroupActive waits up to 40 min
node group delete            240       estimate: instances are drained and terminated; botocore
                                       NodegroupDeleted waits up to 20 min
Fargate profile create       120       EKS workshop: "can take up to several minutes"; botocore
                                       FargateProfileActive waits up to 10 min
Fargate profile delete       120       estimate, same order as create; botocore waits up to 30 min
===========================  ========  ===============================================================

The default (:meth:`Timings.fast`) keeps every phase well under a second for tests.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

_log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
ResourceKind = Literal["cluster", "nodegroup", "fargate_profile"]
Phase = Literal["create", "delete"]


@dataclass(frozen=True)
class Timings:
    """How long each lifecycle phase takes, in seconds, before ``time_factor`` is applied.

    Attributes:
        cluster_create: CREATING → ACTIVE (or FAILED).
        cluster_delete: DELETING → gone.
        nodegroup_create: CREATING → ACTIVE (or CREATE_FAILED).
        nodegroup_delete: DELETING → gone (or DELETE_FAILED).
        fargate_profile_create: CREATING → ACTIVE (or CREATE_FAILED).
        fargate_profile_delete: DELETING → gone (or DELETE_FAILED).
        time_factor: Multiplies every duration (0.01 runs the realistic profile 100 times faster).
    """

    cluster_create: float = 0.5
    cluster_delete: float = 0.2
    nodegroup_create: float = 0.3
    nodegroup_delete: float = 0.2
    fargate_profile_create: float = 0.3
    fargate_profile_delete: float = 0.2
    time_factor: float = 1.0

    def __post_init__(self) -> None:
        for name in (
            "cluster_create", "cluster_delete", "nodegroup_create", "nodegroup_delete",
            "fargate_profile_create", "fargate_profile_delete", "time_factor",
        ):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"Timings.{name} must not be negative")

    @classmethod
    def fast(cls, time_factor: float = 1.0) -> Timings:
        """Sub-second phases for tests (the default)."""
        return cls(time_factor=time_factor)

    @classmethod
    def realistic(cls, time_factor: float = 1.0) -> Timings:
        """Durations of the real service (see the module docstring for sources)."""
        return cls(
            cluster_create=840.0,
            cluster_delete=300.0,
            nodegroup_create=180.0,
            nodegroup_delete=240.0,
            fargate_profile_create=120.0,
            fargate_profile_delete=120.0,
            time_factor=time_factor,
        )

    @classmethod
    def named(cls, profile: str, time_factor: float = 1.0) -> Timings:
        """``fast`` or ``realistic`` by name (the ``--timings`` option).

        Raises:
            ValueError: unknown profile name.
        """
        if profile == "fast":
            return cls.fast(time_factor)
        if profile == "realistic":
            return cls.realistic(time_factor)
        raise ValueError(f"unknown timings profile {profile!r}; use 'fast' or 'realistic'")

    def scaled(self, time_factor: float) -> Timings:
        """A copy with another ``time_factor``."""
        return replace(self, time_factor=time_factor)

    def seconds(self, kind: ResourceKind, phase: Phase) -> float:
        """The scaled duration of one phase of one resource kind."""
        base: float = getattr(self, f"{kind}_{phase}")
        return base * self.time_factor


_DEFAULT_ISSUES: Final[Mapping[tuple[ResourceKind, Phase], tuple[str, str]]] = {
    ("cluster", "create"): ("InternalFailure", "The cluster control plane could not be provisioned."),
    ("cluster", "delete"): ("InternalFailure", "The cluster could not be deleted."),
    ("nodegroup", "create"): ("NodeCreationFailure", "Instances failed to join the kubernetes cluster"),
    ("nodegroup", "delete"): (
        "NodeTerminationFailure",
        "The node group's instances could not be terminated.",
    ),
    ("fargate_profile", "create"): ("InternalFailure", "The Fargate profile could not be created."),
    ("fargate_profile", "delete"): ("InternalFailure", "The Fargate profile could not be deleted."),
}


@dataclass(frozen=True)
class FailureRule:
    """Make matching resources fail a lifecycle phase.

    A cluster that fails to create ends ``FAILED``; a node group or Fargate
    profile ends ``CREATE_FAILED``; a failed delete leaves a node group or
    profile ``DELETE_FAILED`` and a cluster ``FAILED``. The resource's
    ``health.issues`` holds one issue with ``code`` and ``message``.

    Attributes:
        kind: ``cluster``, ``nodegroup`` or ``fargate_profile``.
        name_pattern: A shell-style pattern (:mod:`fnmatch`) matched against the resource's name.
        phase: ``create`` or ``delete``.
        issue_code: The health issue code (a value of botocore's issue-code enum); a default per kind.
        message: The health issue message; a default per kind.
        times: Fail only the first ``times`` matching attempts; None fails every one.
    """

    kind: ResourceKind
    name_pattern: str
    phase: Phase = "create"
    issue_code: str | None = None
    message: str | None = None
    times: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("cluster", "nodegroup", "fargate_profile"):
            raise ValueError(
                f"FailureRule.kind must be cluster, nodegroup or fargate_profile, not {self.kind!r}"
            )
        if self.phase not in ("create", "delete"):
            raise ValueError(f"FailureRule.phase must be create or delete, not {self.phase!r}")

    def issue(self, resource_id: str) -> JsonObject:
        """The ``health.issues`` entry this rule produces."""
        code, message = _DEFAULT_ISSUES[(self.kind, self.phase)]
        return {
            "code": self.issue_code or code,
            "message": self.message or message,
            "resourceIds": [resource_id],
        }


class Lifecycle:
    """The timings and failure rules of one EKS simulator, and the tasks that apply them.

    Args:
        timings: How long each phase takes.
        failures: Failure rules, matched in order.
    """

    def __init__(self, timings: Timings, failures: Iterable[FailureRule] = ()) -> None:
        self.timings = timings
        self._failures: list[FailureRule] = list(failures)
        self._failure_counts: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def add_failure(self, rule: FailureRule) -> None:
        """Add a failure rule (matched after the ones before it)."""
        self._failures.append(rule)

    def failure(self, kind: ResourceKind, name: str, phase: Phase) -> FailureRule | None:
        """The rule that makes this attempt fail, if any (counting it against the rule's ``times``)."""
        for index, rule in enumerate(self._failures):
            if rule.kind != kind or rule.phase != phase or not fnmatch.fnmatchcase(name, rule.name_pattern):
                continue
            used = self._failure_counts.get(index, 0)
            if rule.times is not None and used >= rule.times:
                continue
            self._failure_counts[index] = used + 1
            return rule
        return None

    async def wait(self, kind: ResourceKind, phase: Phase) -> None:
        """Sleep through one phase."""
        await asyncio.sleep(self.timings.seconds(kind, phase))

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a phase's task in the background; a failure is logged, never lost."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("EKS simulator task %r failed", task.get_name(), exc_info=task.exception())

    async def close(self) -> None:
        """Cancel every phase still running and wait for the tasks to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
