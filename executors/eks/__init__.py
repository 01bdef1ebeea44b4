"""The Step Functions optimized integration for Amazon EKS.

``EksExecutor`` serves all fifteen EKS resources: the six control-plane
resources (``control_plane``), each request-response and ``.sync``, plus
``eks:runJob`` / ``eks:runJob.sync`` (``run_job``) and the request-response-only
``eks:call`` (``call``). One executor per engine dispatches on the action and
hands every execution the same ``EksServices`` (EKS client, token cache,
Kubernetes connection pools). ``.waitForTaskToken`` is not supported by any
EKS resource (spec §1: the EKS page and the AWS SDK agree).

``register`` is the ``statewright.executors`` entry point.

The rooms, top to bottom (an import-linter ``layers`` contract in
``pyproject.toml`` keeps every import pointing down):

* the resources: ``control_plane`` (clusters, node groups, Fargate profiles),
  ``run_job`` (runJob and its logs), ``call`` (eks:call);
* ``cleanup``: deleting what an execution left, in dependency order;
* ``services``: the long-lived clients and shared waits of one engine;
* the shared waits: ``watch`` (list-then-watch), ``batching`` (one LIST per
  interval) on ``feeds`` (feeds, subscriptions, the waiter's side), and
  ``create`` / ``recovery`` (a Job created once, recognized after a crash);
* ``kube``: the Kubernetes REST client; ``auth`` (bearer token, CA, pools) and
  ``ratelimit`` (per-cluster token bucket, retry rule) below it;
* pure rooms: ``polling`` (poll policies and the poll loop), ``jobs`` (Job
  objects: reference, outcome, the one read), ``fields`` (the parameter rules of
  runJob and call), ``params`` (control-plane parameters from botocore's model),
  ``policy`` (IAM statements), ``ledger`` (what executions created),
  ``describe`` (coalesced Describe calls), ``redact`` (secrets out of logs);
* ``errors`` (foreign errors to AWS names) and ``http1`` (the lean read client).
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from typing import Any, Final

from engine.errors import TaskFailed
from engine.executor import (
    ExecutionEnd,
    ExecutorCall,
    ExecutorContext,
    IntegrationPattern,
    ParameterProblem,
    PolicyStatement,
    PolicyTarget,
    StaticParameters,
)
from engine.jsonvalue import JSON
from engine.registry import SERVICE_ARN_PREFIX, ExecutorRegistry
from executors.eks.call import check_parameters as check_call_parameters
from executors.eks.call import eks_call
from executors.eks.cleanup import clean_up_execution
from executors.eks.control_plane import ACTIONS, CONTROL_PLANE_PATTERNS, run_control_plane
from executors.eks.ledger import kept_at_end
from executors.eks.options import ENGINE_WIDE_OPTIONS, EksOptions
from executors.eks.params import check_static
from executors.eks.policy import eks_policy_statements
from executors.eks.run_job import check_parameters as check_run_job_parameters
from executors.eks.run_job import run_job
from executors.eks.services import EksServices

SERVICE: Final = "eks"
RUN_JOB: Final = "runJob"
CALL: Final = "call"

RESOURCE_PATTERNS: Final[dict[str, frozenset[IntegrationPattern]]] = {
    **{action: CONTROL_PLANE_PATTERNS for action in ACTIONS},
    RUN_JOB: frozenset({IntegrationPattern.REQUEST_RESPONSE, IntegrationPattern.SYNC}),
    CALL: frozenset({IntegrationPattern.REQUEST_RESPONSE}),
}
"""Every EKS action and the integration patterns it supports (15 resources in all)."""


class EksExecutor:
    """Runs every ``arn:aws:states:::eks:*`` resource.

    Args:
        services: the shared clients; ``EksServices.default()`` on first use when None.
    """

    def __init__(self, services: EksServices | None = None) -> None:
        self._services = services

    def __repr__(self) -> str:
        return f"EksExecutor(services={self._services!r})"

    @property
    def services(self) -> EksServices:
        """The shared services, created from boto3's standard configuration when not given."""
        if self._services is None:
            self._services = EksServices.default()
        return self._services

    def run(self, call: ExecutorCall, ctx: ExecutorContext) -> Coroutine[Any, Any, JSON]:
        """Dispatch the call to its resource's implementation.

        Returns the implementation's coroutine itself rather than awaiting it
        here: a ``.sync`` task may wait for hours, and a dispatching frame
        would be kept alive for all of that in every waiting execution.
        """
        services = self.services
        services.bind(ctx)
        try:
            options = services.options_of(ctx.options)
        except TaskFailed as exc:
            return _fail(exc)
        # The rate (eks_kube_qps/burst) holds for every Kubernetes call, eks:call included; set
        # once, by the engine-wide options (check_options), or else by the first call's.
        services.fix_rate_limits(options.rate_limits)
        if call.action in ACTIONS:
            return run_control_plane(call, ctx, services, options)
        if call.action == RUN_JOB:
            return run_job(call, ctx, services, options)
        if call.action == CALL:
            return eks_call(call, ctx, services)
        return _fail(TaskFailed(None, f"eks:{call.action} is not a resource of the EKS integration"))

    def check_options(self, engine_wide: Mapping[str, object], overrides: list[Mapping[str, object]]) -> None:
        """Check the engine's executor options once, when it is built (``options.EksOptions``).

        The rate limit is engine-wide, so it is set here from ``engine_wide`` and
        refused in per-resource or per-state options, where it used to hold
        engine-wide for whichever Task ran last.

        Raises:
            ValueError: an unknown ``eks_`` option or a bad value, naming it.
        """
        options = EksOptions.parse(engine_wide)
        for override in overrides:
            EksOptions.parse(override)
            for name in ENGINE_WIDE_OPTIONS:
                if name in override:
                    raise ValueError(
                        f"the executor option {name!r} holds for the whole engine: "
                        "set it in executor_options, not per resource or state"
                    )
        if options.rate_limits is not None:
            self.services.fix_rate_limits(options.rate_limits)

    def check_parameters(
        self, action: str, pattern: IntegrationPattern, parameters: StaticParameters
    ) -> list[ParameterProblem]:
        """Problems visible in a Task's Parameters before anything runs."""
        if action in ACTIONS:
            if parameters.dynamic is None:
                return []
            return check_static(
                ACTIONS[action].operation, parameters.known, parameters.dynamic, parameters.reading
            )
        if action == RUN_JOB:
            return check_run_job_parameters(pattern, parameters)
        if action == CALL:
            return check_call_parameters(pattern, parameters)
        return [ParameterProblem((), f"eks:{action} is not a resource of the EKS integration")]

    def policy_statements(
        self, action: str, pattern: IntegrationPattern, parameters: StaticParameters, target: PolicyTarget
    ) -> list[PolicyStatement]:
        """The IAM statements a Task of this resource needs (``executors.eks.policy``)."""
        if action not in RESOURCE_PATTERNS:
            return []
        return eks_policy_statements(action, pattern, parameters, target)

    def execution_ended(self, status: str, ledger: Mapping[str, JSON]) -> list[str]:
        """The entries left to delete (``cleanup``): all under ``execution``, what aborted Tasks left."""
        return kept_at_end(status, ledger)

    async def clean_up_execution(self, end: ExecutionEnd) -> None:
        """Delete what the ended execution created and did not delete, in dependency order."""
        if end.ledger:
            await clean_up_execution(self.services, end)

    async def aclose(self) -> None:
        """Close the shared clients (when this executor created or was given them)."""
        if self._services is not None:
            await self._services.aclose()


async def _fail(error: TaskFailed) -> JSON:
    raise error


def register(registry: ExecutorRegistry, executor: EksExecutor | None = None) -> None:
    """Register the fifteen EKS resources with one shared executor.

    Args:
        registry: the engine's registry.
        executor: the executor to use; a new ``EksExecutor()`` when None.
    """
    shared = executor if executor is not None else EksExecutor()
    for action, patterns in RESOURCE_PATTERNS.items():
        registry.register(f"{SERVICE_ARN_PREFIX}{SERVICE}:{action}", shared, patterns=patterns)


__all__ = ["RESOURCE_PATTERNS", "EksExecutor", "EksServices", "register"]
