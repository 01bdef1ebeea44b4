"""The six EKS control-plane resources, request-response and ``.sync``.

``eks:createCluster``, ``deleteCluster``, ``createNodegroup``,
``deleteNodegroup``, ``createFargateProfile`` and ``deleteFargateProfile`` map
one to one onto EKS API operations (spec §3). Each is described once, as data
(``ControlPlaneAction``): the operation, the Describe operation that polls it,
the statuses that end the wait, and the operation that undoes it on abort. One
function runs them all:

* request-response: call the operation, return its response in Step Functions
  casing (``{"Cluster": {...}}``, spec §2.2), plus ``SdkHttpMetadata`` /
  ``SdkResponseMetadata`` unless the ``eks_sdk_metadata`` option is false
  (UNCONFIRMED for EKS, spec §2.2: on by default as in other SDK-based integrations);
* ``.sync``: call the operation, record ``TaskSubmitted`` and a resumable
  handle, then poll Describe with the poll policy until a terminal status.
  Creates return the final Describe response; deletes return the Delete
  response once Describe says ``ResourceNotFoundException`` (spec §3.2,
  UNCONFIRMED, the botocore waiters' reading). A failure status raises
  ``States.TaskFailed`` with the last described object as JSON cause.

The Describe calls of ``.sync`` waits go through the engine's
``DescribeCoalescer`` under every policy: executions waiting on the same
cluster, node group or Fargate profile share one call in flight and reuse an
answer as old as their policy allows (``polling.describe_max_age``), so under
``batched:SECONDS`` N waiters cost one Describe per resource per interval.

When a create ``.sync`` wait is cancelled (execution stopped, task timed out),
a best-effort delete of the half-created resource runs shielded and
time-limited (spec §7.1, UNCONFIRMED; the ``eks_cancel_on_abort`` option turns
it off). The options it reads (``options.EksOptions``): ``poll_policy``,
``eks_sdk_metadata``, ``eks_timestamp_format`` (``epoch_millis`` |
``epoch_seconds`` | ``iso8601``), ``cleanup`` and ``eks_cancel_on_abort``.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

import anyio

from engine.errors import StatesError, TaskFailed
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from engine.jsonvalue import JSON, dumps_str
from executors.eks.errors import eks_api_errors, task_failed
from executors.eks.ledger import Created, Kind, crossed_out
from executors.eks.options import EXECUTION, NEVER, EksOptions
from executors.eks.params import (
    TimestampFormat,
    eks_service_model,
    from_botocore,
    operation_model,
    pascal,
    to_botocore,
)
from executors.eks.polling import (
    CONTROL_PLANE_DEFAULT_POLICY,
    PollPolicy,
    describe_max_age,
    parse_poll_policy,
    poll_until,
)
from executors.eks.recovery import is_own_tagged, mark_tags
from executors.eks.services import EksServices

log = logging.getLogger(__name__)

CONTROL_PLANE_DEFAULT: Final = parse_poll_policy(CONTROL_PLANE_DEFAULT_POLICY)
"""The poll policy of control-plane ``.sync`` waits when the options choose none."""
ABORT_CLEANUP_SECONDS: Final = 15.0
NOT_FOUND: Final = "EKS.ResourceNotFoundException"
RESOURCE_TYPE: Final = "eks"


@dataclass(frozen=True, slots=True)
class ControlPlaneAction:
    """One control-plane resource, as data.

    Attributes:
        action: the resource's action, e.g. ``createCluster``.
        operation: the EKS operation, e.g. ``CreateCluster``.
        method: the botocore client method, e.g. ``create_cluster``.
        describe: the Describe client method that polls it.
        describe_operation: its EKS operation name.
        result_key: the response member holding the object, e.g. ``cluster``.
        identity: request members (botocore names) that identify the object
            for Describe/Delete, as ``{request member: describe member}``.
        kind: ``create`` waits for ``success``; ``delete`` waits for not-found.
        success: statuses that end a create wait successfully.
        failure: statuses that fail the wait.
        undo: the client method deleting a half-created object on abort.
    """

    action: str
    operation: str
    method: str
    describe: str
    describe_operation: str
    result_key: str
    identity: Mapping[str, str]
    kind: Literal["create", "delete"]
    success: frozenset[str]
    failure: frozenset[str]
    undo: str | None = None


_CLUSTER_ID: Final = {"name": "name"}
_NODEGROUP_ID: Final = {"clusterName": "clusterName", "nodegroupName": "nodegroupName"}
_FARGATE_ID: Final = {"clusterName": "clusterName", "fargateProfileName": "fargateProfileName"}

# Terminal statuses follow botocore's waiters (spec §12): ClusterActive fails on
# DELETING/FAILED, ClusterDeleted on ACTIVE/CREATING/PENDING (+FAILED, spec §3.2).
# A DEGRADED node group keeps the wait going, bounded by TimeoutSeconds (spec §3.3).
ACTIONS: Final[Mapping[str, ControlPlaneAction]] = {
    a.action: a
    for a in (
        ControlPlaneAction(
            "createCluster", "CreateCluster", "create_cluster", "describe_cluster", "DescribeCluster",
            "cluster", _CLUSTER_ID, "create", frozenset({"ACTIVE"}), frozenset({"FAILED", "DELETING"}),
            undo="delete_cluster",
        ),
        ControlPlaneAction(
            "deleteCluster", "DeleteCluster", "delete_cluster", "describe_cluster", "DescribeCluster",
            "cluster", _CLUSTER_ID, "delete", frozenset(),
            frozenset({"ACTIVE", "CREATING", "PENDING", "FAILED"}),
        ),
        ControlPlaneAction(
            "createNodegroup", "CreateNodegroup", "create_nodegroup", "describe_nodegroup",
            "DescribeNodegroup", "nodegroup", _NODEGROUP_ID, "create", frozenset({"ACTIVE"}),
            frozenset({"CREATE_FAILED"}), undo="delete_nodegroup",
        ),
        ControlPlaneAction(
            "deleteNodegroup", "DeleteNodegroup", "delete_nodegroup", "describe_nodegroup",
            "DescribeNodegroup", "nodegroup", _NODEGROUP_ID, "delete", frozenset(),
            frozenset({"DELETE_FAILED"}),
        ),
        ControlPlaneAction(
            "createFargateProfile", "CreateFargateProfile", "create_fargate_profile",
            "describe_fargate_profile", "DescribeFargateProfile", "fargateProfile", _FARGATE_ID, "create",
            frozenset({"ACTIVE"}), frozenset({"CREATE_FAILED"}), undo="delete_fargate_profile",
        ),
        ControlPlaneAction(
            "deleteFargateProfile", "DeleteFargateProfile", "delete_fargate_profile",
            "describe_fargate_profile", "DescribeFargateProfile", "fargateProfile", _FARGATE_ID, "delete",
            frozenset(), frozenset({"DELETE_FAILED"}),
        ),
    )
}

CONTROL_PLANE_PATTERNS: Final = frozenset({IntegrationPattern.REQUEST_RESPONSE, IntegrationPattern.SYNC})

_model_loaded = False


async def _ensure_model() -> None:
    # botocore reads its JSON model from disk: do that once, off the event loop.
    global _model_loaded
    if not _model_loaded:
        await anyio.to_thread.run_sync(eks_service_model)
        _model_loaded = True


def sdk_metadata(response: Mapping[str, Any]) -> dict[str, JSON]:
    """``SdkHttpMetadata`` and ``SdkResponseMetadata`` from botocore's ``ResponseMetadata``."""
    meta = response.get("ResponseMetadata") or {}
    headers = {str(k): str(v) for k, v in (meta.get("HTTPHeaders") or {}).items()}
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": meta.get("HTTPStatusCode", 200),
        },
        "SdkResponseMetadata": {"RequestId": meta.get("RequestId", "")},
    }


def _convert(operation: str, response: Mapping[str, Any], timestamps: TimestampFormat) -> dict[str, JSON]:
    converted = from_botocore(operation_model(operation).output_shape, dict(response), timestamps)
    assert isinstance(converted, dict)
    return converted


async def _invoke(client: Any, method: str, kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    with eks_api_errors():
        response = await getattr(client, method)(**kwargs)
    return cast(Mapping[str, Any], response)


async def run_control_plane(
    call: ExecutorCall, ctx: ExecutorContext, services: EksServices, options: EksOptions | None = None
) -> JSON:
    """Run one control-plane resource (request-response or ``.sync``).

    Args:
        call: the Task's call; ``call.action`` is one of ``ACTIONS``.
        ctx: the executor context.
        services: the engine's shared EKS services.
        options: the call's checked executor options (resolved from ``ctx.options`` when None).

    Returns:
        AWS's output for the resource, in Step Functions casing.

    Raises:
        StatesError: ``EKS.<ExceptionName>`` for EKS API errors, ``States.TaskFailed``
            for a failure status, ``States.Runtime`` for invalid parameters.
    """
    spec = ACTIONS.get(call.action)
    if spec is None:
        raise TaskFailed(None, f"eks:{call.action} is not a control-plane resource")
    await _ensure_model()
    kwargs = to_botocore(spec.operation, call.parameters, state_name=ctx.state_name)
    if options is None:
        options = services.options_of(ctx.options)
    timestamps = options.timestamp_format
    with_metadata = options.sdk_metadata
    cleanup = options.cleanup
    client = await services.eks_client()
    identity = {target: kwargs[source] for source, target in spec.identity.items()}
    if call.pattern is IntegrationPattern.REQUEST_RESPONSE:
        # Finished even when a stop lands meanwhile (as the .sync create below): the ledger notes it.
        # Marked as a .sync create is: a resumed call whose answer was lost finds its own resource
        # (and notes it for cleanup) instead of failing on what its first attempt made.
        with anyio.CancelScope(shield=True):
            response = await _create_once(ctx, client, spec, kwargs, identity, durable=options.durable_store)
        _note(ctx, spec, identity, cleanup)
        output = _convert(spec.operation, response, timestamps)
        if with_metadata:
            output.update(sdk_metadata(response))
        return output
    if call.pattern is not IntegrationPattern.SYNC:
        raise TaskFailed(None, f"eks:{call.action} does not support {call.pattern.suffix}")
    policy = options.poll_policy_or(CONTROL_PLANE_DEFAULT)
    resource = f"{spec.action}{IntegrationPattern.SYNC.suffix}"
    handle = ctx.handle
    resumed = isinstance(handle, dict) and handle.get("resource") == resource and handle.get("identity") == identity
    if resumed:
        assert isinstance(handle, dict)
        submitted = handle.get("submitted")
    else:
        # A stop that lands while EKS answers the create would leave what it made unknown to the
        # abort and the ledger: the request is finished first (bounded by the client's timeouts),
        # and the stop then acts at the wait below, which deletes it.
        with anyio.CancelScope(shield=True):
            response = await _create_once(ctx, client, spec, kwargs, identity, durable=options.durable_store)
        submitted = _convert(spec.operation, response, timestamps)
        event_output = dict(submitted)
        if with_metadata:
            event_output.update(sdk_metadata(response))
        ctx.emit(
            "TaskSubmitted",
            {"resourceType": RESOURCE_TYPE, "resource": resource, "output": dumps_str(event_output)},
        )
        ctx.save_handle({"resource": resource, "identity": identity, "submitted": submitted})
        if spec.kind == "create":
            _note(ctx, spec, identity, cleanup)
    shared = _SharedDescribe(
        services, ctx, client, spec, identity, timestamps, describe_max_age(policy), resumed=resumed
    )
    subject = waiting_for(spec, identity)
    if spec.kind == "delete":
        deleted = await _wait_deleted(ctx, spec, shared, submitted, policy, subject)
        _note(ctx, spec, identity, cleanup)
        return deleted
    try:
        return await _wait_created(ctx, spec, shared, policy, subject)
    except anyio.get_cancelled_exc_class():
        if spec.undo is not None and cleanup != NEVER and not ctx.suspending():
            await _undo_on_abort(ctx, client, spec, identity)
        raise


def _note(ctx: ExecutorContext, spec: ControlPlaneAction, identity: Mapping[str, Any], cleanup: str) -> None:
    """Keep the cleanup ledger: a create under the ``execution`` policy is noted, a delete crosses it out."""
    kind = cast(Kind, spec.result_key)
    names = {k: str(v) for k, v in identity.items()}
    if spec.kind == "delete":
        ctx.ledger(crossed_out(kind, names), None)
    elif cleanup == EXECUTION:
        created = Created(kind, names, ctx.state_name)
        ctx.ledger(created.key, created.entry())


async def _create_once(
    ctx: ExecutorContext,
    client: Any,
    spec: ControlPlaneAction,
    kwargs: dict[str, Any],
    identity: Mapping[str, Any],
    *,
    durable: bool,
) -> Mapping[str, Any]:
    """Send the create, or find the resource this call created before a crash (see ``recovery``)."""
    if spec.kind != "create" or not durable:
        return await _invoke(client, spec.method, kwargs)
    try:
        return await _invoke(client, spec.method, mark_tags(ctx, kwargs))
    except StatesError as exc:
        if exc.error != "EKS.ResourceInUseException":
            raise
        existing = await _invoke(client, spec.describe, identity)
        if not is_own_tagged(ctx, (existing.get(spec.result_key) or {}).get("tags")):
            raise
        return existing


class _SharedDescribe:
    """One waiter's Describe, coalesced with every other waiter's on the same resource.

    The answer is shared, so a waiter copies what it returns as its output.
    A fresh wait uses no answer from before its create or delete call.
    """

    __slots__ = ("_client", "_clock", "_coalescer", "_identity", "_key", "_max_age", "_since", "_spec", "_timestamps")

    def __init__(
        self,
        services: EksServices,
        ctx: ExecutorContext,
        client: Any,
        spec: ControlPlaneAction,
        identity: Mapping[str, Any],
        timestamps: TimestampFormat,
        max_age: float,
        *,
        resumed: bool,
    ) -> None:
        self._coalescer = services.describes()
        self._client = client
        self._spec = spec
        self._identity = identity
        self._timestamps = timestamps
        self._max_age = max_age
        self._key = (spec.describe, tuple(sorted(identity.items())), timestamps)
        self._clock = ctx.clock
        # Answers from before this wait's create or delete never end it. A resumed
        # wait's call was made before the restart, so any answer since then will do.
        self._since = -math.inf if resumed else ctx.clock.monotonic()

    async def __call__(self) -> tuple[dict[str, JSON], str | None]:
        return await self._coalescer.describe(
            self._key, self._fetch, self._max_age, now=self._clock.monotonic, since=self._since
        )

    async def _fetch(self) -> tuple[dict[str, JSON], str | None]:
        return await _describe(self._client, self._spec, self._identity, self._timestamps)


async def _describe(
    client: Any, spec: ControlPlaneAction, identity: Mapping[str, Any], timestamps: TimestampFormat
) -> tuple[dict[str, JSON], str | None]:
    response = await _invoke(client, spec.describe, identity)
    output = _convert(spec.describe_operation, response, timestamps)
    status = (response.get(spec.result_key) or {}).get("status")
    return output, status


_SUBJECTS: Final = {"cluster": "cluster", "nodegroup": "node group", "fargateProfile": "Fargate profile"}


def waiting_for(spec: ControlPlaneAction, identity: Mapping[str, Any]) -> str:
    """How progress names the resource a wait is for, e.g. ``node group pipeline/workers``."""
    return f"{_SUBJECTS[spec.result_key]} {'/'.join(str(v) for v in identity.values())}"


class _LastStatus:
    """What the last Describe said, for progress reports."""

    __slots__ = ("status", "subject")

    def __init__(self, subject: str, status: str) -> None:
        self.subject = subject
        self.status = status

    def __call__(self) -> Mapping[str, JSON]:
        return {"waitingFor": self.subject, "status": self.status}


async def _wait_created(
    ctx: ExecutorContext,
    spec: ControlPlaneAction,
    describe: _SharedDescribe,
    policy: PollPolicy,
    subject: str,
) -> JSON:
    last = _LastStatus(subject, "submitted")

    async def probe() -> JSON:
        output, status = await describe()
        last.status = str(status)
        if status in spec.success:
            return copy.deepcopy(output)
        if status in spec.failure:
            raise task_failed(output.get(pascal(spec.result_key)))
        return None

    return await poll_until(ctx, policy, probe, last)


async def _wait_deleted(
    ctx: ExecutorContext,
    spec: ControlPlaneAction,
    describe: _SharedDescribe,
    submitted: JSON,
    policy: PollPolicy,
    subject: str,
) -> JSON:
    last = _LastStatus(subject, "DELETING")

    async def probe() -> JSON:
        try:
            output, status = await describe()
        except StatesError as exc:
            if exc.error == NOT_FOUND:
                return submitted
            raise
        last.status = str(status)
        if status in spec.failure:
            raise task_failed(output.get(pascal(spec.result_key)))
        return None

    return await poll_until(ctx, policy, probe, last)


async def _undo_on_abort(
    ctx: ExecutorContext, client: Any, spec: ControlPlaneAction, identity: Mapping[str, Any]
) -> None:
    """Ask EKS to delete what the aborted Task was creating (shielded, time-limited).

    A delete EKS cannot take yet (``ResourceInUseException`` while the resource
    is still ``CREATING``) or that fails is not given up: the resource goes into
    the execution's ledger, and its cleanup waits it out and deletes it
    when the execution ends (``executors.eks.cleanup``).
    """
    assert spec.undo is not None
    accepted = False
    with anyio.move_on_after(ABORT_CLEANUP_SECONDS, shield=True) as scope:
        try:
            await _invoke(client, spec.undo, identity)
            accepted = True
            log.info("aborted %s: requested deletion of %s", spec.action, dict(identity))
        except StatesError as exc:
            log.info("aborted %s: %s not deleted yet (%s); the cleanup will", spec.action, dict(identity), exc.error)
    if scope.cancelled_caught:
        log.warning("aborted %s: deleting %s timed out; the cleanup will retry", spec.action, dict(identity))
    if not accepted:
        names = {k: str(v) for k, v in identity.items()}
        created = Created(cast(Kind, spec.result_key), names, ctx.state_name, aborted=True)
        ctx.ledger(created.key, created.entry())
