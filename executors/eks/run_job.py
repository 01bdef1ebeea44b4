"""``eks:runJob`` and ``eks:runJob.sync``: run a batch/v1 Job, optionally wait and fetch its logs.

The Job is created once, whatever the API server does meanwhile
(``create.create_job``: retried when safe, read back by name and owner mark
when a failure leaves it unknown whether the Job was made).

Request-response creates the Job and returns it as the create call answered
(spec §4.2, UNCONFIRMED: the created object, no ``status`` yet). ``.sync``
creates it, saves a resumable handle (namespace, name, uid), records
``TaskSubmitted``, then polls the Job with the state's poll policy until a
terminal condition (spec §11.1: ``Complete`` or ``Failed`` with status
``"True"``; the interim ``SuccessCriteriaMet`` / ``FailureTarget`` of
Kubernetes ≥ 1.31 only mean "nearly there", so the wait goes on until the
authoritative condition, which is what carries the final counts and times).
It returns the final Job with Kubernetes casing; with
``LogOptions.RetrieveLogs`` it adds ``logs.pods.<pod>.containers.<container>``
holding ``log`` (JSON-parsed unless ``RawLogs``) or, when that one read failed,
``error`` and ``cause`` (best effort, spec §4.2). A Job that ends ``Failed``
fails the task with ``States.TaskFailed`` and the result as JSON cause.

By default the wait is the shared ``watch`` of ``executors.eks.watch`` (one
stream per cluster and namespace for all executions); ``batched:SECONDS``
shares one LIST per interval; the other policies poll with one GET per
interval on the raw hot path of ``KubeClient``. The
logs of all containers are read concurrently in a task group owned by this
call, so nothing outlives it. If the wait is cancelled (execution stopped, task
timed out), the Job is deleted, shielded and time-limited, with a uid
precondition so a namesake created since is never touched.

Results are returned whole, however large the logs: the engine's size guard
turns an oversized result into ``States.DataLimitExceeded``; ``LogParameters``
(``tailLines``, ``limitBytes``) are passed to the log endpoint for users to trim.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import anyio

from engine.errors import StatesError, TaskFailed
from engine.executor import (
    ExecutorCall,
    ExecutorContext,
    IntegrationPattern,
    ParameterProblem,
    ParameterReading,
    StaticParameters,
)
from engine.jsonvalue import JSON, JSONDecodeError, dumps_str, loads
from executors.eks.create import create_job
from executors.eks.errors import task_failed
from executors.eks.fields import (
    CLUSTER_FIELDS,
    FieldRule,
    boolean_rule,
    check_static,
    object_rule,
    parameter_error,
    runtime_parameters,
    string_list_map_rule,
    string_rule,
)
from executors.eks.jobs import FAILED, JobRef, job_outcome, job_pods, pod_selector, read_job
from executors.eks.kube import KubeClient
from executors.eks.ledger import Created
from executors.eks.options import EXECUTION, NEVER, EksOptions
from executors.eks.polling import (
    JOB_DEFAULT_POLICY,
    BatchedPollPolicy,
    PollPolicy,
    WatchPollPolicy,
    parse_poll_policy,
    poll_until,
)
from executors.eks.services import EksServices

log = logging.getLogger(__name__)

RESOURCE_TYPE: Final = "eks"
DEFAULT_NAMESPACE: Final = "default"
ABORT_CLEANUP_SECONDS: Final = 15.0
"""How long a stopped task may spend deleting its Job."""
ABORT_PROPAGATION: Final = "Foreground"
"""Delete the Job's pods with it, as the docs' eks:call example does (spec §5.1, §7.1)."""
JOB_DEFAULT: Final = parse_poll_policy(JOB_DEFAULT_POLICY)
"""The poll policy of runJob.sync when the options choose none."""
LOG_READ_CONCURRENCY: Final = 8
"""At most this many container logs are read at once."""
MAX_CAUSE_CHARS: Final = 32768

RESERVED_LOG_PARAMETERS: Final[Mapping[str, str]] = {
    # UNCONFIRMED (spec §4.1): other PodLogOptions keys pass through; these two cannot.
    "container": "Step Functions sets it for each container",
    "follow": "a followed log never ends",
}


JOB_TYPE_MESSAGE: Final = 'The value for the field "Job" must be a JSON object or a string holding one'


def _job_rule(path: tuple[str, ...], value: JSON, reading: ParameterReading) -> list[ParameterProblem]:
    if isinstance(value, dict):
        return []
    if isinstance(value, str):
        # UNCONFIRMED (spec §4.1): a string Job is a serialized JSON manifest (YAML not assumed).
        try:
            if isinstance(loads(value), dict):
                return []
        except JSONDecodeError:
            pass
    return [ParameterProblem(path, JOB_TYPE_MESSAGE)]


LOG_OPTIONS_FIELDS: Final[Mapping[str, FieldRule]] = {
    "RetrieveLogs": boolean_rule,
    "RawLogs": boolean_rule,
    "LogParameters": string_list_map_rule(RESERVED_LOG_PARAMETERS),
}
FIELDS: Final[Mapping[str, FieldRule]] = {
    **CLUSTER_FIELDS,
    "Namespace": string_rule,
    "Job": _job_rule,
    "LogOptions": object_rule(LOG_OPTIONS_FIELDS),
}
REQUIRED: Final = ("ClusterName", "CertificateAuthority", "Endpoint", "Job")


def check_parameters(pattern: IntegrationPattern, parameters: StaticParameters) -> list[ParameterProblem]:
    """Problems visible in a runJob state's Parameters before anything runs.

    Args:
        pattern: request-response or ``.sync`` (LogOptions is checked, and ignored
            by request-response, for both).
        parameters: the literal and dynamic top-level fields.
    """
    return check_static(FIELDS, REQUIRED, parameters)


@dataclass(frozen=True, slots=True)
class LogOptions:
    """``LogOptions`` after checking.

    Attributes:
        retrieve: fetch every container's log once the Job is done.
        raw: keep each log as text instead of parsing it as JSON.
        parameters: query parameters for the read-log call (``tailLines``…).
    """

    retrieve: bool = False
    raw: bool = False
    parameters: Mapping[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_parameter(cls, value: JSON) -> LogOptions:
        """Build from a checked ``LogOptions`` value (or None)."""
        if not isinstance(value, dict):
            return cls()
        return cls(
            retrieve=value.get("RetrieveLogs") is True,
            raw=value.get("RawLogs") is True,
            parameters=dict(value.get("LogParameters") or {}),
        )


async def run_job(
    call: ExecutorCall, ctx: ExecutorContext, services: EksServices, options: EksOptions | None = None
) -> JSON:
    """Run ``eks:runJob`` (request-response) or ``eks:runJob.sync``.

    Args:
        call: the resolved call; ``call.parameters`` holds ClusterName,
            CertificateAuthority, Endpoint, Namespace, Job and LogOptions.
        ctx: the executor context (handle, events).
        services: the engine's shared EKS plumbing.
        options: the call's checked executor options (resolved from ``ctx.options`` when None).

    Returns:
        The created Job (request-response), or the final Job with optional ``logs`` (``.sync``).

    Raises:
        StatesError: ``States.Runtime`` for invalid parameters, ``EKS.<status>``
            for a Kubernetes error (``EKS.409`` when the Job exists), ``States.TaskFailed``
            when the Job fails or the API server cannot be reached.
    """
    if call.pattern not in (IntegrationPattern.REQUEST_RESPONSE, IntegrationPattern.SYNC):
        raise TaskFailed(None, f"eks:runJob does not support {call.pattern.suffix}")
    params = runtime_parameters(ctx, FIELDS, REQUIRED, call.parameters)
    if options is None:
        options = services.options_of(ctx.options)
        # The per-cluster rate limit must be in force before this execution's first request, the create.
        services.fix_rate_limits(options.rate_limits)
    namespace = str(params.get("Namespace", DEFAULT_NAMESPACE))
    manifest = _manifest(ctx, params["Job"])
    logs = LogOptions.from_parameter(params.get("LogOptions"))
    sync = call.pattern is IntegrationPattern.SYNC
    policy = options.poll_policy_or(JOB_DEFAULT) if sync else None
    resource = f"runJob{call.pattern.suffix}"
    client = services.kube_client(params)
    cleanup = options.cleanup

    ref = JobRef.from_handle(ctx.handle, resource)
    if ref is None:
        # The namespace's stream must be running before the Job exists, to see all of it.
        ready = (
            functools.partial(services.job_watches().prepare, client, namespace, policy, ctx.clock)
            if isinstance(policy, WatchPollPolicy)
            else None
        )
        created = await create_job(ctx, client, namespace, manifest, durable=options.durable_store, ready=ready)
        ref = JobRef.of(created, namespace)
        ctx.save_handle(ref.handle(resource))
        if cleanup == EXECUTION:
            ident = {"cluster": str(params["ClusterName"]), "endpoint": str(params["Endpoint"]),
                     "ca": str(params["CertificateAuthority"]), "namespace": ref.namespace, "name": ref.name,
                     "uid": ref.uid or ""}  # fmt: skip
            noted = Created("job", ident, ctx.state_name)
            ctx.ledger(noted.key, noted.entry())
        if not sync:
            return created
        ctx.emit(
            "TaskSubmitted",
            {"resourceType": RESOURCE_TYPE, "resource": resource, "output": dumps_str(created)},
        )
        # Nothing below needs the created Job: a waiting execution keeps only its reference.
        del created
    elif not sync:
        # Resumed after the create went through: answer with the Job as it is now.
        return await client.get_job(ref.namespace, ref.name)

    assert policy is not None
    try:
        final = await wait_for_job(ctx, services, client, ref, policy)
    except anyio.get_cancelled_exc_class():
        # UNCONFIRMED (spec §7.1, §14 item 20): a stopped runJob.sync deletes its Job, best effort.
        # A suspending engine (durable store) leaves the Job running: the next engine reattaches.
        if cleanup != NEVER and not ctx.suspending():
            await _delete_on_abort(client, ref)
        raise
    result: dict[str, JSON] = dict(final)
    if logs.retrieve:
        result["logs"] = await collect_logs(client, ref.namespace, final, logs)
    if job_outcome(final) == FAILED:
        # UNCONFIRMED (spec §6, §14 item 11): States.TaskFailed with the Job (and logs) as JSON cause.
        raise task_failed(result)
    return result


def _manifest(ctx: ExecutorContext, value: JSON) -> dict[str, JSON]:
    if isinstance(value, str):
        try:
            value = loads(value)
        except JSONDecodeError:
            value = None
    if not isinstance(value, dict):
        raise parameter_error(ctx, [JOB_TYPE_MESSAGE])
    return value


def wait_for_job(
    ctx: ExecutorContext, services: EksServices, client: KubeClient, ref: JobRef, policy: PollPolicy
) -> Coroutine[Any, Any, dict[str, JSON]]:
    """Wait until a Job is ``Complete`` or ``Failed`` and return it.

    ``watch`` policies wait on the engine's shared watch of the Job's
    namespace, ``batched`` ones on its shared lister (both in ``services``);
    any other policy polls the Job alone, one GET per delay.

    Raises:
        StatesError: ``EKS.<status>`` when reading the Job fails for good
            (``EKS.404`` once it is deleted), ``States.TaskFailed`` when the name
            now belongs to another Job or the API server stays unreachable.
    """
    subject = f"Job {ref.namespace}/{ref.name}"
    # The shared waits' coroutines are returned, not awaited here: no frame of this
    # function stays alive in every waiting execution.
    if isinstance(policy, WatchPollPolicy):
        watches = services.job_watches()
        ctx.report({"waitingFor": subject, "status": "running", "pollPolicy": policy.name, "how": watches.how(policy)})
        return watches.wait(ctx, client, ref, policy)
    if isinstance(policy, BatchedPollPolicy):
        batches = services.job_batches()
        ctx.report({"waitingFor": subject, "status": "running", "pollPolicy": policy.name, "how": batches.how(policy)})
        return batches.wait(ctx, client, ref, policy)
    last: dict[str, JSON] = {"waitingFor": subject, "status": "created"}

    async def probe() -> dict[str, JSON] | None:
        job = await read_job(client, ref)
        last["status"] = job_pods(job)
        return job if job_outcome(job) is not None else None

    return poll_until(ctx, policy, probe, lambda: last)


async def _delete_on_abort(client: KubeClient, ref: JobRef) -> None:
    with anyio.move_on_after(ABORT_CLEANUP_SECONDS, shield=True) as scope:
        try:
            await client.delete_job(ref.namespace, ref.name, ABORT_PROPAGATION, uid=ref.uid)
            log.info("stopped runJob.sync: deleted Job %s/%s", ref.namespace, ref.name)
        except StatesError as exc:
            log.warning(
                "stopped runJob.sync: could not delete Job %s/%s: %s", ref.namespace, ref.name, exc.error
            )
    if scope.cancelled_caught:
        log.warning("stopped runJob.sync: deleting Job %s/%s timed out", ref.namespace, ref.name)


def parse_log(text: str) -> JSON:
    """A log as JSON when the whole text is one JSON document, else the text.

    UNCONFIRMED (spec §4.2): "deserialized into JSON if possible"; numbers
    become doubles, so long numbers lose precision as the docs warn.
    """
    stripped = text.strip()
    if stripped:
        try:
            return loads(stripped)
        except JSONDecodeError:
            pass
    return text


def _names(items: JSON) -> list[str]:
    if not isinstance(items, list):
        return []
    return [item["name"] for item in items if isinstance(item, dict) and isinstance(item.get("name"), str)]


async def collect_logs(
    client: KubeClient, namespace: str, job: Mapping[str, JSON], options: LogOptions
) -> dict[str, JSON]:
    """Read the log of every app container of every pod of a Job.

    Best effort, as AWS documents (spec §4.2): a log that cannot be read is
    ``{"error", "cause"}`` in its container's place, and when the pods cannot
    even be listed (the Job and its pods were deleted as it finished, the API
    server is unreachable) the whole ``logs`` value is that error and cause.
    The Task's outcome is the Job's, never the logs'.

    Returns:
        ``{"pods": {<pod>: {"containers": {<container>: {"log": …} | {"error", "cause"}}}}}``,
        or ``{"error", "cause"}`` when the pods could not be listed.
    """
    # UNCONFIRMED (spec §4.2): every pod of the Job, every app container (not init containers).
    try:
        pods = await client.list_pods(namespace, pod_selector(job))
    except StatesError as exc:
        return {"error": exc.error, "cause": exc.cause}
    result: dict[str, JSON] = {}
    reads: list[tuple[dict[str, JSON], str, str]] = []
    for pod in pods:
        meta, spec = pod.get("metadata"), pod.get("spec")
        name = meta.get("name") if isinstance(meta, dict) else None
        if not isinstance(name, str):
            continue
        containers: dict[str, JSON] = {}
        result[name] = {"containers": containers}
        for container in _names(spec.get("containers") if isinstance(spec, dict) else None):
            containers[container] = {}
            reads.append((containers, name, container))

    limiter = anyio.CapacityLimiter(LOG_READ_CONCURRENCY)

    async def read(into: dict[str, JSON], pod: str, container: str) -> None:
        async with limiter:
            try:
                text = await client.read_log(namespace, pod, container, options.parameters)
            except StatesError as exc:
                # UNCONFIRMED (spec §4.2): the error/cause of the failed read, named as in §6.
                into[container] = {"error": exc.error, "cause": exc.cause}
                return
        into[container] = {"log": text if options.raw else parse_log(text)}

    async with anyio.create_task_group() as tg:
        for slot, pod_name, container_name in reads:
            tg.start_soon(read, slot, pod_name, container_name)
    return {"pods": result}


__all__ = [
    "FIELDS",
    "REQUIRED",
    "LogOptions",
    "check_parameters",
    "collect_logs",
    "parse_log",
    "run_job",
    "wait_for_job",
]
