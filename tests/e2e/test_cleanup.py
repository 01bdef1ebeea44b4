"""Cleanup that really cleans, on the simulators with realistic timings scaled down 500 times.

Each test ends with nothing left in the simulator but its ready ``demo``
cluster: stopped while a cluster is CREATING (DeleteCluster answers
ResourceInUseException until it is ACTIVE), while a node group is CREATING,
during a Job; a node group that ends CREATE_FAILED; two Fargate profiles of
which only one may be deleting at a time. What was deleted is in the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from engine import Execution, ExecutionResult, History
from sim.eks import FailureRule, Timings
from sim.stack import Simulators
from tests.e2e.support import e2e_engine, model_job

pytestmark = pytest.mark.parametrize(
    "simulators_options", [{"timings": Timings.realistic(time_factor=0.002)}]
)
"""Cluster create 1.7 s, delete 0.6 s; node group create 0.36 s, delete 0.48 s; Fargate 0.24 s each way."""

POLL = "fixed:0.05"
LIMIT = {"cleanup_timeout_seconds": 60}
"""A cleanup that cannot finish fails the test in a minute rather than waiting its default hour."""
ROLE = "arn:aws:iam::123456789012:role/cluster"
NODE_ROLE = "arn:aws:iam::123456789012:role/node"
POD_ROLE = "arn:aws:iam::123456789012:role/pods"


def create_cluster(name: str, next_state: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::eks:createCluster.sync",
        "Parameters": {"Name": name, "RoleArn": ROLE, "ResourcesVpcConfig": {"SubnetIds": ["subnet-1"]}},
        "ResultPath": "$.eks",
    }
    return {**state, "Next": next_state} if next_state else {**state, "End": True}


def create_nodegroup(cluster: str, name: str, next_state: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::eks:createNodegroup.sync",
        "Parameters": {
            "ClusterName": cluster,
            "NodegroupName": name,
            "NodeRole": NODE_ROLE,
            "Subnets": ["subnet-1"],
        },
        "ResultPath": None,
    }
    return {**state, "Next": next_state} if next_state else {**state, "End": True}


def create_profile(cluster: str, name: str, next_state: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::eks:createFargateProfile.sync",
        "Parameters": {
            "ClusterName": cluster,
            "FargateProfileName": name,
            "PodExecutionRoleArn": POD_ROLE,
            "Selectors": [{"Namespace": name}],
        },
        "ResultPath": None,
        "Next": next_state,
    }


def deleted(history: History) -> list[str]:
    return [str(e.details["resource"]) for e in history if e.type == "ResourceDeleted" and e.details]


def not_deleted(history: History) -> list[Any]:
    return [dict(e.details) for e in history if e.type == "ResourceNotDeleted" and e.details]


def nothing_left(simulators: Simulators) -> list[str]:
    """Every cluster but ``demo``, with its node groups and profiles, and every Job on ``demo``."""
    eks = simulators.eks
    left = [name for name in eks.clusters if name != "demo"]
    left += [f"nodegroup {n}" for c in eks.clusters.values() for n in c.nodegroups]
    left += [f"profile {n}" for c in eks.clusters.values() for n in c.fargate_profiles]
    return left


async def stop_when(execution: Execution, ready: Any, *, within: float = 30.0) -> ExecutionResult:
    with anyio.fail_after(within):
        while not ready():
            assert not execution.done, execution.result().history.types
            await anyio.sleep(0.02)
    execution.stop("User.Stopped", "stopped by the test")
    with anyio.fail_after(within):
        return await execution.wait()


async def jobs_on_demo(simulators: Simulators) -> list[str]:
    return [
        job["metadata"]["name"]
        for job in simulators.cluster("demo").store.objects("batch", "jobs", "default")
    ]


async def test_stopped_while_the_cluster_is_creating_the_cluster_is_waited_out_and_deleted(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    definition = {"StartAt": "Create", "States": {"Create": create_cluster("c1", None)}}
    async with e2e_engine(executor_options={"poll_policy": POLL, **LIMIT}) as engine:
        execution = engine.start(definition, {})
        result = await stop_when(execution, lambda: simulators.eks.cluster_status("c1") == "CREATING")
    assert result.status == "ABORTED"
    assert deleted(result.history) == ["cluster c1"]
    assert nothing_left(simulators) == []
    types = result.history.types
    assert types.index("ResourceDeleted") < types.index("ExecutionAborted") == len(types) - 1


async def test_with_cleanup_never_a_stopped_cluster_is_left_as_it_is(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    definition = {"StartAt": "Create", "States": {"Create": create_cluster("kept", None)}}
    async with e2e_engine(executor_options={"poll_policy": POLL, "cleanup": "never", **LIMIT}) as engine:
        execution = engine.start(definition, {})
        result = await stop_when(execution, lambda: simulators.eks.cluster_status("kept") == "CREATING")
    assert "ResourceDeleted" not in result.history.types
    assert simulators.eks.cluster_status("kept") in ("CREATING", "ACTIVE")
    await simulators.eks.wait_cluster_active("kept")
    simulators.eks.delete_cluster("kept")


async def test_stopped_while_the_node_group_is_creating_everything_the_execution_made_is_deleted(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    definition = {
        "StartAt": "Cluster",
        "States": {"Cluster": create_cluster("c2", "Workers"), "Workers": create_nodegroup("c2", "w2")},
    }

    def nodegroup_creating() -> bool:
        cluster = simulators.eks.clusters.get("c2")
        return (
            cluster is not None
            and "w2" in cluster.nodegroups
            and cluster.nodegroups["w2"].status == "CREATING"
        )

    async with e2e_engine(executor_options={"poll_policy": POLL, "cleanup": "execution", **LIMIT}) as engine:
        execution = engine.start(definition, {})
        result = await stop_when(execution, nodegroup_creating)
    assert result.status == "ABORTED"
    # The aborted Task deletes its node group; the execution's cleanup then its cluster.
    assert deleted(result.history) == ["node group c2/w2", "cluster c2"]
    assert not_deleted(result.history) == []
    assert nothing_left(simulators) == []


async def test_stopped_while_the_create_request_is_answered_the_node_group_is_still_deleted(
    simulators: Simulators, sim_env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stop lands after EKS made the node group, before its answer reached the Task: the race of a
    stop "during node group CREATING" under load, made certain here by stopping from inside the create."""
    definition = {
        "StartAt": "Cluster",
        "States": {"Cluster": create_cluster("c3", "Workers"), "Workers": create_nodegroup("c3", "w3")},
    }
    compute = simulators.eks._compute
    original = compute.create
    started: list[Execution] = []

    def create_then_stop(cluster_name: str, kind: Any, body: Any) -> Any:
        answer = original(cluster_name, kind, body)
        started[0].stop("User.Stopped", "stopped while the create was answered")
        return answer

    monkeypatch.setattr(compute, "create", create_then_stop)
    options = {"poll_policy": POLL, "cleanup": "execution", "cleanup_timeout_seconds": 10}
    async with e2e_engine(executor_options=options) as engine:
        started.append(engine.start(definition, {}))
        with anyio.fail_after(40):
            result = await started[0].wait()
    assert result.status == "ABORTED"
    assert not_deleted(result.history) == []
    assert deleted(result.history) == ["node group c3/w3", "cluster c3"]
    assert nothing_left(simulators) == []


async def test_stopped_during_a_job_the_job_and_the_cluster_it_ran_on_are_deleted(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    run = {
        "Type": "Task",
        "Resource": "arn:aws:states:::eks:runJob.sync",
        "Parameters": {
            "ClusterName": "c3",
            "Endpoint.$": "$.eks.Cluster.Endpoint",
            "CertificateAuthority.$": "$.eks.Cluster.CertificateAuthority.Data",
            "Job": model_job("long-job", seconds="60"),
        },
        "End": True,
    }
    definition = {"StartAt": "Cluster", "States": {"Cluster": create_cluster("c3", "Run"), "Run": run}}

    def job_running() -> bool:
        try:
            return bool(simulators.cluster("c3").store.objects("batch", "jobs", "default"))
        except KeyError:
            return False

    async with e2e_engine(executor_options={"poll_policy": POLL, "cleanup": "execution", **LIMIT}) as engine:
        execution = engine.start(definition, {})
        result = await stop_when(execution, job_running)
    assert result.status == "ABORTED"
    # The aborted runJob.sync deletes its Job; the execution's cleanup makes sure of it, then of the cluster.
    assert deleted(result.history) == ["Job default/long-job on cluster c3", "cluster c3"]
    assert nothing_left(simulators) == []


async def test_a_failed_node_group_fails_the_execution_and_both_it_and_its_cluster_are_deleted(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    simulators.eks.add_failure(FailureRule(kind="nodegroup", name_pattern="w4", phase="create"))
    definition = {
        "StartAt": "Cluster",
        "States": {"Cluster": create_cluster("c4", "Workers"), "Workers": create_nodegroup("c4", "w4")},
    }
    async with e2e_engine(executor_options={"poll_policy": POLL, "cleanup": "execution", **LIMIT}) as engine:
        result = await engine.run(definition, {})
    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    assert deleted(result.history) == ["node group c4/w4", "cluster c4"]
    assert nothing_left(simulators) == []


async def test_profiles_deleted_one_at_a_time_wait_out_resource_in_use_then_the_cluster_goes(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    definition = {
        "StartAt": "Cluster",
        "States": {
            "Cluster": create_cluster("c5", "P1"),
            "P1": create_profile("c5", "p1", "P2"),
            "P2": create_profile("c5", "p2", "Boom"),
            "Boom": {"Type": "Fail", "Error": "Pipeline.Broken", "Cause": "on purpose"},
        },
    }
    async with e2e_engine(executor_options={"poll_policy": POLL, "cleanup": "execution", **LIMIT}) as engine:
        result = await engine.run(definition, {})
    assert result.status == "FAILED" and result.error == "Pipeline.Broken"
    assert sorted(deleted(result.history)[:2]) == ["Fargate profile c5/p1", "Fargate profile c5/p2"]
    assert deleted(result.history)[2:] == ["cluster c5"]
    assert nothing_left(simulators) == []


async def test_a_succeeded_execution_keeps_what_it_created(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    definition = {"StartAt": "Cluster", "States": {"Cluster": create_cluster("c6", None)}}
    async with e2e_engine(executor_options={"poll_policy": POLL, "cleanup": "execution", **LIMIT}) as engine:
        result = await engine.run(definition, {})
    assert result.status == "SUCCEEDED"
    assert "ResourceDeleted" not in result.history.types
    assert simulators.eks.cluster_status("c6") == "ACTIVE"
