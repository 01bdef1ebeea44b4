"""What each execution created, for the ``execution`` cleanup policy (``cleanup``).

``Created`` names one resource an execution made (a cluster, node group,
Fargate profile or Job) and ``CleanupLedger`` keeps them per execution until
it ends: a Task's create adds its resource, the execution's own delete takes
it out again, and ``cleanup.clean_up_execution`` deletes what is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Kind = Literal["cluster", "nodegroup", "fargateProfile", "job"]


@dataclass(frozen=True, slots=True)
class Created:
    """One resource an execution created.

    Attributes:
        kind: ``cluster``, ``nodegroup``, ``fargateProfile`` or ``job``.
        identity: for control-plane resources the botocore members naming it
            (``name`` / ``clusterName`` + ``nodegroupName`` …); for a Job its
            cluster triple, namespace, name and uid.
        state: the Task state that created it.
        aborted: its Task was aborted and could not delete it at once: deleted when the
            execution ends, whatever its status (``aborted-task`` and ``execution`` alike).
    """

    kind: Kind
    identity: Mapping[str, str]
    state: str
    aborted: bool = False

    @property
    def key(self) -> tuple[str, ...]:
        """What identifies the resource (a Job by namespace and name on its endpoint)."""
        if self.kind == "job":
            return ("job", self.identity["endpoint"], self.identity["namespace"], self.identity["name"])
        return (self.kind, *(self.identity[k] for k in sorted(self.identity)))

    def describe(self) -> str:
        """How history and progress name it, e.g. ``node group pipeline/workers``."""
        if self.kind == "job":
            return f"Job {self.identity['namespace']}/{self.identity['name']} on cluster {self.identity['cluster']}"
        label = {"cluster": "cluster", "nodegroup": "node group", "fargateProfile": "Fargate profile"}[
            self.kind
        ]
        return f"{label} {'/'.join(self.identity.values())}"


class CleanupLedger:
    """What each running execution created and has not deleted (only under the ``execution`` policy)."""

    def __init__(self) -> None:
        self._by_execution: dict[str, dict[tuple[str, ...], Created]] = {}

    def __repr__(self) -> str:
        return f"CleanupLedger(executions={len(self._by_execution)})"

    def add(self, execution_arn: str, created: Created) -> None:
        """Note a resource the execution created."""
        self._by_execution.setdefault(execution_arn, {})[created.key] = created

    def remove(self, execution_arn: str, kind: Kind, identity: Mapping[str, str]) -> None:
        """The execution deleted a resource itself."""
        entries = self._by_execution.get(execution_arn)
        if entries is not None:
            entries.pop(Created(kind, identity, "").key, None)

    def pending(self, execution_arn: str) -> bool:
        """Whether anything is noted for the execution."""
        return bool(self._by_execution.get(execution_arn))

    def keep_aborted(self, execution_arn: str) -> None:
        """Forget all but what aborted Tasks could not delete (a succeeded execution keeps its resources)."""
        entries = self._by_execution.get(execution_arn)
        if entries is None:
            return
        kept = {key: item for key, item in entries.items() if item.aborted}
        if kept:
            self._by_execution[execution_arn] = kept
        else:
            del self._by_execution[execution_arn]

    def pop(self, execution_arn: str) -> list[Created]:
        """Everything noted for the execution, forgetting it."""
        return list(self._by_execution.pop(execution_arn, {}).values())


__all__ = ["CleanupLedger", "Created", "Kind"]
