"""``examples/eks-pipeline.json`` through the Python API under the simulators' model runtime.

The pipeline creates everything itself (cluster, node group, aws-auth entry,
the pi Job) and tears it down. The happy path must succeed with the digits of
pi and leave nothing behind; with the node group forced to ``CREATE_FAILED``
(an EKS failure rule) its Catch path must still delete the cluster and the
execution must fail with the node group's error.

The pipeline's Retry intervals (30 s, then 60 s) pass on a
:class:`FastForwardClock`; the definition runs unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine import History
from sim.eks import FailureRule
from sim.stack import Simulators
from tests.e2e.support import (
    EXAMPLES,
    HAPPY_PATH,
    FastForwardClock,
    cluster_gone,
    condition_true,
    e2e_engine,
    load_json,
)

PIPELINE = load_json(EXAMPLES / "eks-pipeline.json")
PIPELINE_INPUT = load_json(EXAMPLES / "eks-pipeline.input.json")
CLUSTER = PIPELINE_INPUT["clusterName"]
NODEGROUP = PIPELINE_INPUT["nodegroupName"]


def entered_states(history: History) -> list[str]:
    """Names of the states in the order they were entered."""
    names: list[str] = []
    for event in history:
        if event.type.endswith("StateEntered") and event.details is not None:
            name = event.details["name"]
            assert isinstance(name, str)
            names.append(name)
    return names


def exited_output(history: History, state: str) -> Any:
    """The output of the (last) exit of ``state``."""
    outputs = [
        event.details["output"]
        for event in history
        if event.type.endswith("StateExited") and event.details is not None and event.details["name"] == state
    ]
    assert outputs, f"{state!r} never exited"
    return outputs[-1]


async def test_the_pipeline_succeeds_with_the_digits_of_pi_and_deletes_everything(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    async with e2e_engine() as engine:
        result = await engine.run(PIPELINE, PIPELINE_INPUT)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert entered_states(result.history) == HAPPY_PATH
    assert "TaskFailed" not in result.history.types

    output = result.output
    assert isinstance(output, dict)
    assert set(output) == {"status", "logs"}
    assert condition_true(output, "Complete"), output["status"]
    assert output["status"]["succeeded"] == 1
    (log,) = output["logs"]
    assert isinstance(log, str)
    assert log.startswith("3.14159265358979323846264338327950288419716939937510")

    created = exited_output(result.history, "Create cluster")["eks"]["Cluster"]
    assert created["Name"] == CLUSTER
    assert created["Status"] == "ACTIVE"
    assert created["Endpoint"].startswith("https://")
    assert set(created["CertificateAuthority"]) == {"Data"}
    nodegroup = exited_output(result.history, "Create node group")["nodegroup"]
    assert nodegroup == {"Name": NODEGROUP, "Status": "ACTIVE"}
    # EKS put the node role into aws-auth; the pipeline's PATCH added the operator's role.
    aws_auth = exited_output(result.history, "Map role into aws-auth")["awsAuth"]
    assert "arn:aws:iam::123456789012:role/MyNodeInstanceRole" in aws_auth["mapRoles"]
    assert aws_auth["patch"] == {"StatusCode": 200}
    pods = exited_output(result.history, "List job pods")["JobPods"]["pods"]
    assert len(pods) == 1
    assert pods[0].startswith("example-job-")

    assert await cluster_gone(CLUSTER)


async def test_a_node_group_that_ends_create_failed_still_deletes_the_cluster_and_fails_with_its_error(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    simulators.eks.add_failure(FailureRule(kind="nodegroup", name_pattern=NODEGROUP, phase="create"))
    async with e2e_engine(clock=FastForwardClock()) as engine:
        result = await engine.run(PIPELINE, PIPELINE_INPUT)

    states = entered_states(result.history)
    assert states[:2] == ["Create cluster", "Create node group"]
    assert "Run pi job" not in states
    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed", (
        f"expected the node group's error, got {result.error}: {result.cause} (states entered: {states})"
    )
    assert states[-2:] == ["Delete cluster after failure", "Pipeline failed"], states
    assert result.cause is not None
    cause = json.loads(result.cause)
    failed = cause.get("Nodegroup", cause)
    assert failed["NodegroupName"] == NODEGROUP
    assert failed["Status"] == "CREATE_FAILED"
    assert failed["Health"]["Issues"][0]["Code"] == "NodeCreationFailure"

    assert await cluster_gone(CLUSTER), "the Catch path left the cluster behind"


async def test_a_node_group_that_cannot_be_created_at_all_still_deletes_the_cluster(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    # EKS rejects the name, so there is no node group to delete: the clean-up must cope with that.
    bad_input = {**PIPELINE_INPUT, "nodegroupName": "not a valid name!"}
    async with e2e_engine(clock=FastForwardClock()) as engine:
        result = await engine.run(PIPELINE, bad_input)

    states = entered_states(result.history)
    assert states[:2] == ["Create cluster", "Create node group"]
    assert states[-2:] == ["Delete cluster after failure", "Pipeline failed"], states
    assert result.status == "FAILED"
    assert result.error == "EKS.InvalidParameterException", (result.error, result.cause)
    assert result.cause is not None
    assert "Error Code: InvalidParameterException" in result.cause
    assert await cluster_gone(CLUSTER), "the Catch path left the cluster behind"


async def test_a_cluster_that_ends_failed_is_deleted_too(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    # The pipeline promises that a failure still deletes what was created; a FAILED
    # cluster exists (EKS keeps it until DeleteCluster) and must be deleted as well.
    simulators.eks.add_failure(FailureRule(kind="cluster", name_pattern=CLUSTER, phase="create"))
    async with e2e_engine(clock=FastForwardClock()) as engine:
        result = await engine.run(PIPELINE, PIPELINE_INPUT)

    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed", (result.error, result.cause)
    assert result.cause is not None
    failed = json.loads(result.cause)
    failed = failed.get("Cluster", failed)
    assert failed["Name"] == CLUSTER
    assert failed["Status"] == "FAILED"
    assert "Create node group" not in entered_states(result.history)
    status = simulators.eks.cluster_status(CLUSTER)
    assert await cluster_gone(CLUSTER), f"the pipeline left the cluster behind in status {status}"
