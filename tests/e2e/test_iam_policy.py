"""The generated IAM policy, enforced by the simulators: it is enough, and each permission it holds is needed.

``Simulators(policy=...)`` makes EKS refuse what the default identity's policy
does not allow (403 ``AccessDeniedException``); the executors surface that as
``EKS.AccessDeniedException`` with the Java-SDK style cause of every other EKS
API error (our choice where spec §6 leaves it UNCONFIRMED).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from engine import policy_for
from sim.aws.identities import DEFAULT_ACCOUNT
from sim.stack import Simulators
from tests.e2e.support import EXAMPLES, HAPPY_PATH, FastForwardClock, cluster_gone, e2e_engine, load_json
from tests.e2e.test_pipeline import entered_states

PIPELINE = load_json(EXAMPLES / "eks-pipeline.json")
PIPELINE_INPUT = load_json(EXAMPLES / "eks-pipeline.input.json")
GENERATED: dict[str, Any] = policy_for(PIPELINE, region="us-east-1", account=DEFAULT_ACCOUNT).document


def without(document: Mapping[str, Any], action: str) -> dict[str, Any]:
    """The policy with one action removed from every statement."""
    trimmed = copy.deepcopy(dict(document))
    for statement in trimmed["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != action]
    trimmed["Statement"] = [s for s in trimmed["Statement"] if s["Action"]]
    return trimmed


@pytest.mark.parametrize("simulators_options", [{"policy": GENERATED}])
async def test_the_generated_policy_lets_the_pipeline_run(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    async with e2e_engine() as engine:
        result = await engine.run(PIPELINE, PIPELINE_INPUT)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert entered_states(result.history) == HAPPY_PATH
    assert await cluster_gone(PIPELINE_INPUT["clusterName"])


@pytest.mark.parametrize("simulators_options", [{"policy": without(GENERATED, "eks:CreateNodegroup")}])
async def test_a_policy_without_create_nodegroup_fails_that_state_with_access_denied(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    async with e2e_engine(clock=FastForwardClock()) as engine:
        result = await engine.run(PIPELINE, PIPELINE_INPUT)
    failures = [e.details for e in result.history if e.type == "TaskFailed" and e.details is not None]
    assert failures, result.history.types
    first = failures[0]
    assert first["error"] == "EKS.AccessDeniedException"
    cause = first["cause"]
    assert isinstance(cause, str)
    caller = simulators.identities.default.caller_identity().arn
    assert cause.startswith(
        f"User: {caller} is not authorized to perform: eks:CreateNodegroup on resource: "
        f"arn:aws:eks:us-east-1:{DEFAULT_ACCOUNT}:cluster/{PIPELINE_INPUT['clusterName']} "
        "because no identity-based policy allows the eks:CreateNodegroup action"
    )
    assert "Status Code: 403; Error Code: AccessDeniedException" in cause
    states = entered_states(result.history)
    assert states[:2] == ["Create cluster", "Create node group"]
    assert result.status == "FAILED"
    assert result.error == "EKS.AccessDeniedException"
    assert await cluster_gone(PIPELINE_INPUT["clusterName"]), "the Catch path could still delete the cluster"


@pytest.mark.parametrize("simulators_options", [{"policy": without(GENERATED, "iam:PassRole")}])
async def test_a_policy_without_pass_role_fails_the_cluster_creation(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    async with e2e_engine(clock=FastForwardClock()) as engine:
        result = await engine.run(PIPELINE, PIPELINE_INPUT)
    assert result.status == "FAILED"
    assert entered_states(result.history)[0] == "Create cluster"
    failures = [e.details for e in result.history if e.type == "TaskFailed" and e.details is not None]
    assert failures[0]["error"] == "EKS.AccessDeniedException"
    assert "is not authorized to perform: iam:PassRole on resource: arn:aws:iam::" in str(
        failures[0]["cause"]
    )
    assert simulators.eks.cluster_status(PIPELINE_INPUT["clusterName"]) is None


@pytest.mark.parametrize(
    "simulators_options",
    [{"policy": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "eks:DeleteCluster", "Resource": "*"},
    ]}}],
)  # fmt: skip
async def test_an_explicit_deny_is_reported_as_such(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    definition = {
        "StartAt": "D",
        "States": {
            "D": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:deleteCluster",
                "Parameters": {"Name": "demo"},
                "End": True,
            }
        },
    }
    async with e2e_engine() as engine:
        result = await engine.run(definition, {})
    assert result.error == "EKS.AccessDeniedException"
    assert "with an explicit deny in an identity-based policy" in str(result.cause)
    assert simulators.eks.cluster_status("demo") == "ACTIVE"
