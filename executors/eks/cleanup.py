"""Cleanup that really cleans: what an EKS execution leaves behind, deleted in order.

The ``cleanup`` executor option (per engine, resource or state, like every
executor option; ``statewright run --cleanup``) chooses:

* ``never`` — nothing is deleted, not even what an aborted Task was creating;
* ``aborted-task`` (the default, Step Functions' documented behaviour, spec §7.1)
  — when a ``.sync`` Task is aborted (execution stopped, timed out, a Parallel
  branch failed), what it was creating is deleted: the Task asks at once, and
  what EKS cannot delete yet (a cluster still ``CREATING`` answers
  ``ResourceInUseException``) is noted and deleted when the execution ends;
* ``execution`` — besides, when the execution fails, is stopped or times out,
  everything it created and did not delete itself (Jobs, Fargate profiles,
  node groups, clusters) is deleted.

Every create of a Task under ``execution`` is noted in the execution's
ledger (``ledger.Created``, one entry per resource, kept in the execution
record); the execution's own deletes cross their resource out again. When
the execution ends the engine asks ``clean_up_execution``, which deletes in
dependency order — Jobs, then node groups and Fargate profiles, then their
clusters — and records each outcome in the history (``ResourceDeleted`` /
``ResourceNotDeleted`` with the reason), so the progress output shows it too.

Deleting waits instead of giving up (``delete_control_plane``): a resource
still ``CREATING`` or ``UPDATING`` is waited out, a ``ResourceInUseException``
(a cluster whose node groups are still going, a second Fargate profile while
one is deleting) is retried, a ``DELETE_FAILED`` node group is deleted again,
all on the poll policy's cadence, until the resource is gone or the
``cleanup_timeout_seconds`` option (one hour by default) runs out. Jobs are
deleted with their uid as precondition, so a namesake created since is never
touched.

With a durable store the ledger is committed with the record, and so is
each outcome together with the crossing out of its entry: an engine that
resumes the execution after a crash (before its end, or in the middle of
its cleanup) deletes what is still noted, and records each outcome once. A
worker that is SIGTERMed (it suspends) stops its cleanup at once, mid-wait,
and leaves the rest to the next worker the same way. An
entry is marked ``deleting`` once its delete was sent, so a resumed cleanup
that finds the resource gone reports it deleted rather than already gone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

import anyio

from engine.errors import StatesError, TaskFailed
from engine.executor import ExecutionEnd
from engine.jsonvalue import JSON
from executors.eks.errors import TransientEksError, eks_api_errors
from executors.eks.ledger import Created, Kind
from executors.eks.polling import PollPolicy, parse_poll_policy
from executors.eks.services import EksServices

log = logging.getLogger(__name__)

DEFAULT_CLEANUP_POLL: Final = parse_poll_policy("aws")
"""The cadence of a cleanup's waits when the options choose no poll policy."""
MIN_WAIT_SECONDS: Final = 0.25
"""A cleanup looks at most four times a second, whatever the poll policy: deletions take seconds at best."""
MAX_DELETE_ATTEMPTS: Final = 3
"""Deletes sent to a resource that keeps ending ``DELETE_FAILED`` before it is reported as not deleted."""
NOT_FOUND: Final = "EKS.ResourceNotFoundException"
IN_USE: Final = "EKS.ResourceInUseException"
_WAIT_STATUSES: Final = frozenset({"CREATING", "UPDATING", "DELETING", "PENDING"})

# -- deleting one control-plane resource ------------------------------------------------------------

_OPERATIONS: Final[Mapping[str, tuple[str, str, str]]] = {
    # kind → (describe method, delete method, response member)
    "cluster": ("describe_cluster", "delete_cluster", "cluster"),
    "nodegroup": ("describe_nodegroup", "delete_nodegroup", "nodegroup"),
    "fargateProfile": ("describe_fargate_profile", "delete_fargate_profile", "fargateProfile"),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """How deleting one resource ended: ``deleted``, ``gone`` (already) or ``failed`` with the reason."""

    result: Literal["deleted", "gone", "failed"]
    reason: str = ""


async def _call(client: Any, method: str, identity: Mapping[str, str]) -> Mapping[str, Any]:
    with eks_api_errors():
        answer: Mapping[str, Any] = await getattr(client, method)(**identity)
    return answer


async def delete_control_plane(
    client: Any,
    kind: Kind,
    identity: Mapping[str, str],
    *,
    clock: Any,
    policy: PollPolicy,
    deadline: float,
    report: Any = None,
    asked: bool = False,
    on_asked: Callable[[], None] | None = None,
) -> Outcome:
    """Delete a cluster, node group or Fargate profile and wait until it is gone.

    Waits out ``CREATING``/``UPDATING``/``DELETING``, retries on
    ``ResourceInUseException`` and transient errors, deletes a ``DELETE_FAILED``
    resource again (up to ``MAX_DELETE_ATTEMPTS`` deletes), and gives up only
    at ``deadline`` (the clock's monotonic time) or on a permanent error.

    Args:
        client: the EKS client.
        kind: the resource's kind.
        identity: its botocore members (``name``, or ``clusterName`` + item name).
        clock: the engine's clock.
        policy: the cadence of the waits.
        deadline: when to give up.
        report: called with progress details while waiting (optional).
        asked: a delete was sent before (by a cleanup an engine crash interrupted).
        on_asked: called once, after the first delete EKS accepted.
    """
    describe, delete, member = _OPERATIONS[kind]
    subject = Created(kind, identity, "").describe()
    deletes = 1 if asked else 0
    last = "unknown"
    delays = policy.delays()
    while True:
        try:
            status = str((await _call(client, describe, identity)).get(member, {}).get("status"))
        except StatesError as exc:
            if exc.error == NOT_FOUND:
                return Outcome("deleted" if deletes else "gone")
            if not isinstance(exc, TransientEksError):
                return Outcome("failed", f"{exc.error}: {exc.cause}")
            status = "unknown"
        last = status
        if status not in _WAIT_STATUSES and status != "unknown":
            if status == "DELETE_FAILED" and deletes >= MAX_DELETE_ATTEMPTS:
                return Outcome("failed", f"{subject} ended DELETE_FAILED after {deletes} deletes")
            try:
                await _call(client, delete, identity)
                deletes += 1
                last = "DELETING"
                if on_asked is not None and deletes == 1:
                    on_asked()
            except StatesError as exc:
                if exc.error == NOT_FOUND:
                    return Outcome("deleted" if deletes else "gone")
                if exc.error == IN_USE:
                    last = f"{status}, in use ({exc.cause.split(' (Service:')[0] if exc.cause else 'busy'})"
                elif not isinstance(exc, TransientEksError):
                    return Outcome("failed", f"{exc.error}: {exc.cause}")
        delay = next(delays, None)
        if delay is not None:
            delay = max(delay, MIN_WAIT_SECONDS)
        if delay is None or clock.monotonic() + delay > deadline:
            return Outcome("failed", f"{subject} was still {last} when the cleanup timeout ran out")
        if report is not None:
            report(
                {"waitingFor": subject, "status": last, "pollPolicy": policy.name, "nextPollSeconds": delay}
            )
        await clock.sleep(delay)


# -- the execution's cleanup ---------------------------------------------------------------------

ORDER: Final[Mapping[str, int]] = {"job": 0, "nodegroup": 1, "fargateProfile": 1, "cluster": 2}
"""Dependency order: Jobs, then compute, then the clusters it runs on."""


async def clean_up_execution(services: EksServices, end: ExecutionEnd) -> None:
    """Delete what an ended execution left behind, in dependency order, recording each outcome.

    Args:
        services: the engine's ``EksServices``.
        end: the ended execution (clock, options, ``emit`` and ``report``) and the
            ledger entries to clean up (``end.ledger``).
    """
    created = [(key, item) for key, entry in end.ledger.items() if (item := Created.from_entry(entry))]
    try:
        options = services.options_of(end.options)
    except TaskFailed as exc:
        for key, item in created:
            _record(end, key, item, Outcome("failed", str(exc.cause)))
        return
    policy = options.poll_policy_or(DEFAULT_CLEANUP_POLL)
    deadline = end.clock.monotonic() + options.cleanup_timeout_seconds
    for rank in sorted(set(ORDER.values())):
        batch = [(key, item) for key, item in created if ORDER[item.kind] == rank]
        if not batch:
            continue
        # Resources of one rank do not depend on each other: delete them side by side.
        async with anyio.create_task_group() as group:
            for key, item in batch:
                group.start_soon(_clean_one, services, key, item, end, policy, deadline)


async def _clean_one(
    services: EksServices, key: str, item: Created, end: ExecutionEnd, policy: PollPolicy, deadline: float
) -> None:
    def asked() -> None:
        end.note(key, replace(item, deleting=True).entry())

    try:
        if item.kind == "job":
            if not item.deleting:
                asked()  # a Job goes at once: a resumed cleanup that finds no Job then knows why
            outcome = await _delete_job(services, item)
        else:
            client = await services.eks_client()
            outcome = await delete_control_plane(
                client,
                item.kind,
                item.identity,
                clock=end.clock,
                policy=policy,
                deadline=deadline,
                report=end.report,
                asked=item.deleting,
                on_asked=asked,
            )
    except StatesError as exc:
        outcome = Outcome("failed", f"{exc.error}: {exc.cause}")
    _record(end, key, item, outcome)


async def _delete_job(services: EksServices, item: Created) -> Outcome:
    ident = item.identity
    client = services.kube_client(
        {"ClusterName": ident["cluster"], "Endpoint": ident["endpoint"], "CertificateAuthority": ident["ca"]}
    )
    try:
        await client.delete_job(ident["namespace"], ident["name"], "Background", uid=ident.get("uid") or None)
    except StatesError as exc:
        if exc.error == "EKS.404":
            return Outcome("deleted" if item.deleting else "gone")
        if exc.error == "EKS.409":
            # The uid precondition failed: the name now belongs to another Job, which is not ours.
            return Outcome("gone", "the name now belongs to another Job")
        return Outcome("failed", f"{exc.error}: {exc.cause}")
    return Outcome("deleted")


def _record(end: ExecutionEnd, key: str, item: Created, outcome: Outcome) -> None:
    """The outcome in the history, and the entry crossed out with it (one commit holds both)."""
    details: dict[str, JSON] = {"resourceType": "eks", "resource": item.describe(), "createdBy": item.state}
    if outcome.result == "failed":
        details["cause"] = outcome.reason
        log.warning(
            "cleanup of %s: could not delete %s: %s", end.execution_arn, item.describe(), outcome.reason
        )
        end.emit("ResourceNotDeleted", details)
    else:
        details["outcome"] = "deleted" if outcome.result == "deleted" else "already gone"
        end.emit("ResourceDeleted", details)
    end.note(key, None)


__all__ = [
    "Outcome",
    "clean_up_execution",
    "delete_control_plane",
]
