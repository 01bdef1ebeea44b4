"""What each execution created, for the ``execution`` cleanup policy (``cleanup``).

``Created`` names one resource an execution made (a cluster, node group,
Fargate profile or Job). It is kept in the execution's own ledger
(``ExecutorContext.ledger``), which lives in the execution record: with a
durable store it is committed with the record, so an engine that resumes
the execution after a crash still knows what to delete. A Task's create
notes its resource, the execution's own delete crosses it out, and when the
execution ends ``cleanup.clean_up_execution`` deletes what is left, crossing
each entry out with the event that records its outcome.

Entries are plain JSON under keys of their own (``eks:`` and the resource's
identity), so the engine keeps them without knowing what they mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, cast

from engine.jsonvalue import JSON, dumps_str

Kind = Literal["cluster", "nodegroup", "fargateProfile", "job"]
KINDS: Final = frozenset({"cluster", "nodegroup", "fargateProfile", "job"})
PREFIX: Final = "eks:"
"""Every key of this integration's ledger entries starts so."""


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
        deleting: the cleanup has asked for its deletion already (a cleanup resumed after a
            crash then reports it deleted once it is gone).
    """

    kind: Kind
    identity: Mapping[str, str]
    state: str
    aborted: bool = False
    deleting: bool = False

    @property
    def key(self) -> str:
        """Its ledger key (a Job by namespace and name on its endpoint)."""
        if self.kind == "job":
            parts = ["job", self.identity["endpoint"], self.identity["namespace"], self.identity["name"]]
        else:
            parts = [self.kind, *(self.identity[k] for k in sorted(self.identity))]
        return PREFIX + dumps_str(parts)

    def describe(self) -> str:
        """How history and progress name it, e.g. ``node group pipeline/workers``."""
        if self.kind == "job":
            return f"Job {self.identity['namespace']}/{self.identity['name']} on cluster {self.identity['cluster']}"
        label = {"cluster": "cluster", "nodegroup": "node group", "fargateProfile": "Fargate profile"}[
            self.kind
        ]
        return f"{label} {'/'.join(self.identity.values())}"

    def entry(self) -> JSON:
        """Its ledger entry (plain JSON)."""
        out: dict[str, JSON] = {"kind": self.kind, "identity": dict(self.identity), "state": self.state}
        if self.aborted:
            out["aborted"] = True
        if self.deleting:
            out["deleting"] = True
        return out

    @classmethod
    def from_entry(cls, entry: JSON) -> Created | None:
        """The resource a ledger entry names, or None for an entry that is not one of ours."""
        if not isinstance(entry, dict):
            return None
        kind, identity, state = entry.get("kind"), entry.get("identity"), entry.get("state")
        if kind not in KINDS or not isinstance(identity, dict) or not isinstance(state, str):
            return None
        if not all(isinstance(v, str) for v in identity.values()):
            return None
        return cls(
            cast(Kind, kind),
            cast(dict[str, str], identity),
            state,
            aborted=entry.get("aborted") is True,
            deleting=entry.get("deleting") is True,
        )


def crossed_out(kind: Kind, identity: Mapping[str, str]) -> str:
    """The key of the entry a delete of this resource crosses out."""
    return Created(kind, identity, "").key


def kept_at_end(status: str, ledger: Mapping[str, JSON]) -> list[str]:
    """The keys of our entries to clean up after an execution that ended with ``status``.

    What a succeeded execution created is its result and is kept, but for what
    aborted Tasks could not delete (a Parallel branch stopped while it created).
    """
    keys = []
    for key, entry in ledger.items():
        if not key.startswith(PREFIX):
            continue
        created = Created.from_entry(entry)
        if created is not None and (status != "SUCCEEDED" or created.aborted):
            keys.append(key)
    return keys


__all__ = ["PREFIX", "Created", "Kind", "crossed_out", "kept_at_end"]
