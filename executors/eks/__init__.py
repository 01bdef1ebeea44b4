"""The Step Functions optimized integration for Amazon EKS.

``EksExecutor`` serves all fifteen EKS resources: the six control-plane
resources (``control_plane``), each request-response and ``.sync``, plus
``eks:runJob`` / ``eks:runJob.sync`` (``run_job``) and the request-response-only
``eks:call`` (``call``). One executor per engine dispatches on the action and
hands every execution the same ``EksServices`` (EKS client, token cache,
Kubernetes connection pools). ``.waitForTaskToken`` is not supported by any
EKS resource (spec §1: the EKS page and the AWS SDK agree).

``register`` is the ``statewright.executors`` entry point.
"""

from __future__ import annotations

import importlib
from collections.abc import Coroutine
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
from executors.eks.cleanup import clean_up_execution
from executors.eks.control_plane import ACTIONS, CONTROL_PLANE_PATTERNS, run_control_plane
from executors.eks.params import check_static
from executors.eks.policy import eks_policy_statements
from executors.eks.services import EksServices

SERVICE: Final = "eks"
RUN_JOB: Final = "runJob"
CALL: Final = "call"
RUN_JOB_MODULE: Final = "executors.eks.run_job"
CALL_MODULE: Final = "executors.eks.call"

RESOURCE_PATTERNS: Final[dict[str, frozenset[IntegrationPattern]]] = {
    **{action: CONTROL_PLANE_PATTERNS for action in ACTIONS},
    RUN_JOB: frozenset({IntegrationPattern.REQUEST_RESPONSE, IntegrationPattern.SYNC}),
    CALL: frozenset({IntegrationPattern.REQUEST_RESPONSE}),
}
"""Every EKS action and the integration patterns it supports (15 resources in all)."""


def _part(module: str) -> Any:
    # Imported on first use: the Kubernetes resources load kubernetes-asyncio,
    # which control-plane-only engines never need.
    return importlib.import_module(module)


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
        try:
            # Rate options (eks_kube_qps/burst) hold for every Kubernetes call, eks:call included.
            self.services.apply_options(ctx.options)
        except ValueError as exc:
            return _fail(TaskFailed(None, str(exc)))
        if call.action in ACTIONS:
            return run_control_plane(call, ctx, self.services)
        if call.action == RUN_JOB:
            job: Coroutine[Any, Any, JSON] = _part(RUN_JOB_MODULE).run_job(call, ctx, self.services)
            return job
        if call.action == CALL:
            request: Coroutine[Any, Any, JSON] = _part(CALL_MODULE).eks_call(call, ctx, self.services)
            return request
        return _fail(TaskFailed(None, f"eks:{call.action} is not a resource of the EKS integration"))

    def check_parameters(
        self, action: str, pattern: IntegrationPattern, parameters: StaticParameters
    ) -> list[ParameterProblem]:
        """Problems visible in a Task's Parameters before anything runs."""
        if action in ACTIONS:
            if parameters.dynamic is None:
                return []
            return check_static(ACTIONS[action].operation, parameters.known, parameters.dynamic)
        if action == RUN_JOB:
            problems: list[ParameterProblem] = _part(RUN_JOB_MODULE).check_parameters(pattern, parameters)
            return problems
        if action == CALL:
            found: list[ParameterProblem] = _part(CALL_MODULE).check_parameters(pattern, parameters)
            return found
        return [ParameterProblem((), f"eks:{action} is not a resource of the EKS integration")]

    def policy_statements(
        self, action: str, pattern: IntegrationPattern, parameters: StaticParameters, target: PolicyTarget
    ) -> list[PolicyStatement]:
        """The IAM statements a Task of this resource needs (``executors.eks.policy``)."""
        if action not in RESOURCE_PATTERNS:
            return []
        return eks_policy_statements(action, pattern, parameters, target)

    def execution_ended(self, execution_arn: str, status: str) -> bool:
        """Whether the execution left resources to delete (``cleanup``: the ``execution`` policy)."""
        if self._services is None:
            return False
        ledger = self._services.cleanup
        if status == "SUCCEEDED":
            # What a succeeded execution created is its result: keep it (not what aborted Tasks left).
            ledger.keep_aborted(execution_arn)
        return ledger.pending(execution_arn)

    async def clean_up_execution(self, end: ExecutionEnd) -> None:
        """Delete what the ended execution created and did not delete, in dependency order."""
        created = self.services.cleanup.pop(end.execution_arn)
        if created:
            await clean_up_execution(self.services, created, end)

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
