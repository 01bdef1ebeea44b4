"""Every control-plane resource, both patterns, against the EKS simulator.

The executor reaches the simulators only through boto3's standard
configuration (``sim_env``), with a fast fixed poll policy; the simulators'
lifecycles take tenths of a second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio
import orjson
import pytest

from engine.errors import StatesError, StatesRuntime, TaskFailed
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from engine.jsonvalue import JSON
from executors.eks import EksExecutor
from sim.eks import FailureRule
from sim.stack import DEMO_SUBNETS, Simulators
from tests.executors.conftest import Recorder

FAST = "fixed:0.05"
ROLE = "arn:aws:iam::123456789012:role/statewright-test"
JOIN_FAILURE = "Instances failed to join the kubernetes cluster"
RR = IntegrationPattern.REQUEST_RESPONSE
SYNC = IntegrationPattern.SYNC


@pytest.fixture
def simulators_options() -> dict[str, Any]:
    return {
        "failures": [
            FailureRule("nodegroup", "bad-*", "create", message=JOIN_FAILURE),
            FailureRule("cluster", "broken*", "create"),
            FailureRule("nodegroup", "stuck-*", "delete"),
            FailureRule("fargate_profile", "bad-*", "create"),
        ]
    }


def call(action: str, pattern: IntegrationPattern, parameters: JSON) -> ExecutorCall:
    return ExecutorCall(
        resource=f"arn:aws:states:::eks:{action}{pattern.suffix}",
        service="eks",
        action=action,
        pattern=pattern,
        parameters=parameters,
    )


def cluster_params(name: str) -> dict[str, Any]:
    return {"Name": name, "RoleArn": ROLE, "ResourcesVpcConfig": {"SubnetIds": list(DEMO_SUBNETS)}}


def nodegroup_params(cluster: str, name: str) -> dict[str, Any]:
    return {
        "ClusterName": cluster,
        "NodegroupName": name,
        "NodeRole": ROLE,
        "Subnets": list(DEMO_SUBNETS),
        "Labels": {"team": "data", "app.kubernetes.io/name": "x"},
        "ScalingConfig": {"MinSize": 1, "MaxSize": 2, "DesiredSize": 1},
    }


def fargate_params(cluster: str, name: str) -> dict[str, Any]:
    return {
        "ClusterName": cluster,
        "FargateProfileName": name,
        "PodExecutionRoleArn": ROLE,
        "Subnets": list(DEMO_SUBNETS),
        "Selectors": [{"Namespace": "jobs", "Labels": {"my-label": "my-value"}}],
    }


async def wait_until_gone(executor: EksExecutor, cluster: str) -> None:
    """Test-side wait for request-response deletes to finish before the cluster goes."""
    client = await executor.services.eks_client()
    with anyio.fail_after(10):
        while True:
            groups = (await client.list_nodegroups(clusterName=cluster))["nodegroups"]
            profiles = (await client.list_fargate_profiles(clusterName=cluster))["fargateProfileNames"]
            if not groups and not profiles:
                return
            await anyio.sleep(0.05)


async def test_create_cluster_request_response_returns_the_creating_cluster_with_sdk_metadata(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext]
) -> None:
    out = await eks_executor.run(call("createCluster", RR, cluster_params("rr")), make_ctx(FAST))
    assert out["Cluster"]["Name"] == "rr"
    assert out["Cluster"]["Status"] == "CREATING"
    assert out["Cluster"]["ResourcesVpcConfig"]["SubnetIds"] == list(DEMO_SUBNETS)
    assert isinstance(out["Cluster"]["CreatedAt"], int)
    assert out["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert out["SdkResponseMetadata"]["RequestId"]


async def test_create_cluster_sync_waits_for_active_and_returns_endpoint_and_ca(
    eks_executor: EksExecutor,
    make_ctx: Callable[..., ExecutorContext],
    recorder: Recorder,
    simulators: Simulators,
) -> None:
    params = {**cluster_params("made"), "Tags": {"Owner": "me", "cost-center": "42"}}
    out = await eks_executor.run(call("createCluster", SYNC, params), make_ctx(FAST))
    cluster = out["Cluster"]
    assert cluster["Status"] == "ACTIVE"
    assert cluster["Endpoint"].startswith("https://")
    assert cluster["CertificateAuthority"]["Data"]
    assert cluster["Tags"] == {"Owner": "me", "cost-center": "42"}
    assert "SdkHttpMetadata" not in out
    assert simulators.eks.cluster_status("made") == "ACTIVE"
    submitted = [d for e, d in recorder.events if e == "TaskSubmitted"]
    assert len(submitted) == 1
    assert submitted[0]["resource"] == "createCluster.sync"
    assert orjson.loads(submitted[0]["output"])["Cluster"]["Status"] == "CREATING"
    assert recorder.handles[0]["identity"] == {"name": "made"}
    assert recorder.heartbeats >= 2


async def test_the_sync_result_reaches_the_clusters_kubernetes_api_with_our_token_and_tls(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext]
) -> None:
    out = await eks_executor.run(call("createCluster", SYNC, cluster_params("reach")), make_ctx(FAST))
    endpoint, ca = out["Cluster"]["Endpoint"], out["Cluster"]["CertificateAuthority"]["Data"]
    services = eks_executor.services
    token = await services.tokens.token("reach")
    async with services.connections.session(endpoint, ca).get(
        endpoint.rstrip("/") + "/api/v1/namespaces/default/pods",
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["kind"] == "PodList"


async def test_node_groups_and_fargate_profiles_both_patterns_then_teardown_in_order(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext], simulators: Simulators
) -> None:
    ctx = make_ctx(FAST)
    # EKS changes one Fargate profile of a cluster at a time: the synchronous one goes first.
    fp = await eks_executor.run(call("createFargateProfile", SYNC, fargate_params("demo", "fp")), ctx)
    assert fp["FargateProfile"]["Status"] == "ACTIVE"
    rr_fp = await eks_executor.run(call("createFargateProfile", RR, fargate_params("demo", "fp-rr")), ctx)
    assert rr_fp["FargateProfile"]["Status"] == "CREATING"
    assert rr_fp["FargateProfile"]["Selectors"] == [{"Namespace": "jobs", "Labels": {"my-label": "my-value"}}]

    rr_ng = await eks_executor.run(call("createNodegroup", RR, nodegroup_params("demo", "ng-rr")), ctx)
    assert rr_ng["Nodegroup"]["Status"] == "CREATING"
    assert rr_ng["Nodegroup"]["Labels"] == {"team": "data", "app.kubernetes.io/name": "x"}
    assert "SdkHttpMetadata" in rr_ng
    ng = await eks_executor.run(call("createNodegroup", SYNC, nodegroup_params("demo", "ng")), ctx)
    assert ng["Nodegroup"]["Status"] == "ACTIVE"
    assert ng["Nodegroup"]["ScalingConfig"] == {"MinSize": 1, "MaxSize": 2, "DesiredSize": 1}

    with pytest.raises(StatesError) as in_use:
        await eks_executor.run(call("deleteCluster", SYNC, {"Name": "demo"}), ctx)
    assert in_use.value.error == "EKS.ResourceInUseException"
    assert "Status Code: 409; Error Code: ResourceInUseException" in (in_use.value.cause or "")

    deleted_ng = await eks_executor.run(
        call("deleteNodegroup", SYNC, {"ClusterName": "demo", "NodegroupName": "ng"}), ctx
    )
    assert deleted_ng["Nodegroup"]["Status"] == "DELETING"
    rr_del_ng = await eks_executor.run(
        call("deleteNodegroup", RR, {"ClusterName": "demo", "NodegroupName": "ng-rr"}), ctx
    )
    assert rr_del_ng["Nodegroup"]["Status"] == "DELETING"
    deleted_fp = await eks_executor.run(
        call("deleteFargateProfile", SYNC, {"ClusterName": "demo", "FargateProfileName": "fp"}), ctx
    )
    assert deleted_fp["FargateProfile"]["Status"] == "DELETING"
    rr_del_fp = await eks_executor.run(
        call("deleteFargateProfile", RR, {"ClusterName": "demo", "FargateProfileName": "fp-rr"}), ctx
    )
    assert rr_del_fp["FargateProfile"]["Status"] == "DELETING"
    await wait_until_gone(eks_executor, "demo")

    gone = await eks_executor.run(call("deleteCluster", SYNC, {"Name": "demo"}), ctx)
    assert gone["Cluster"]["Name"] == "demo"
    assert gone["Cluster"]["Status"] == "DELETING"
    assert simulators.eks.cluster_status("demo") is None


async def test_delete_cluster_request_response_returns_the_deleting_cluster(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext], simulators: Simulators
) -> None:
    out = await eks_executor.run(call("deleteCluster", RR, {"Name": "demo"}), make_ctx(FAST))
    assert out["Cluster"]["Status"] == "DELETING"
    assert out["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert simulators.eks.cluster_status("demo") in ("DELETING", None)


async def test_a_node_group_that_ends_create_failed_fails_the_sync_task_with_its_description(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext]
) -> None:
    with pytest.raises(TaskFailed) as failed:
        await eks_executor.run(
            call("createNodegroup", SYNC, nodegroup_params("demo", "bad-ng")), make_ctx(FAST)
        )
    assert failed.value.error == "States.TaskFailed"
    cause = orjson.loads(failed.value.cause or "")
    assert cause["NodegroupName"] == "bad-ng"
    assert cause["Status"] == "CREATE_FAILED"
    assert cause["Health"]["Issues"][0]["Message"] == JOIN_FAILURE


async def test_a_cluster_that_ends_failed_fails_create_cluster_sync(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext]
) -> None:
    with pytest.raises(TaskFailed) as failed:
        await eks_executor.run(call("createCluster", SYNC, cluster_params("broken")), make_ctx(FAST))
    cause = orjson.loads(failed.value.cause or "")
    assert (cause["Name"], cause["Status"]) == ("broken", "FAILED")


async def test_a_fargate_profile_that_ends_create_failed_fails_the_sync_task(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext]
) -> None:
    with pytest.raises(TaskFailed) as failed:
        await eks_executor.run(
            call("createFargateProfile", SYNC, fargate_params("demo", "bad-fp")), make_ctx(FAST)
        )
    assert orjson.loads(failed.value.cause or "")["Status"] == "CREATE_FAILED"


async def test_a_node_group_that_ends_delete_failed_fails_delete_nodegroup_sync(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext]
) -> None:
    ctx = make_ctx(FAST)
    await eks_executor.run(call("createNodegroup", SYNC, nodegroup_params("demo", "stuck-ng")), ctx)
    with pytest.raises(TaskFailed) as failed:
        await eks_executor.run(
            call("deleteNodegroup", SYNC, {"ClusterName": "demo", "NodegroupName": "stuck-ng"}), ctx
        )
    assert orjson.loads(failed.value.cause or "")["Status"] == "DELETE_FAILED"


@pytest.mark.parametrize(
    ("action", "parameters", "error"),
    [
        ("deleteCluster", {"Name": "nowhere"}, "EKS.ResourceNotFoundException"),
        (
            "deleteNodegroup",
            {"ClusterName": "demo", "NodegroupName": "none"},
            "EKS.ResourceNotFoundException",
        ),
        ("createCluster", cluster_params("demo"), "EKS.ResourceInUseException"),
    ],
)
async def test_eks_api_errors_carry_the_exception_name(
    eks_executor: EksExecutor,
    make_ctx: Callable[..., ExecutorContext],
    action: str,
    parameters: JSON,
    error: str,
) -> None:
    for pattern in (RR, SYNC):
        with pytest.raises(StatesError) as info:
            await eks_executor.run(call(action, pattern, parameters), make_ctx(FAST))
        assert info.value.error == error
        assert "Service: AmazonEKS" in (info.value.cause or "")


async def test_unknown_fields_fail_with_states_runtime_before_any_api_call(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext], simulators: Simulators
) -> None:
    params = {**cluster_params("never"), "Colour": "blue"}
    with pytest.raises(StatesRuntime) as info:
        await eks_executor.run(call("createCluster", SYNC, params), make_ctx(FAST))
    assert 'The field "Colour" is not supported by Step Functions' in (info.value.cause or "")
    assert simulators.eks.cluster_status("never") is None


async def test_stopping_a_create_sync_wait_requests_a_best_effort_delete_and_returns_promptly(
    eks_executor: EksExecutor,
    make_ctx: Callable[..., ExecutorContext],
    simulators: Simulators,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = make_ctx(FAST)
    await eks_executor.run(call("createNodegroup", SYNC, nodegroup_params("demo", "base")), ctx)
    caplog.set_level(logging.INFO, logger="executors.eks.control_plane")
    with anyio.fail_after(5), anyio.move_on_after(0.1) as scope:
        await eks_executor.run(call("createNodegroup", SYNC, nodegroup_params("demo", "abandoned")), ctx)
    assert scope.cancelled_caught
    # The simulator, like EKS, refuses to delete a node group that is still CREATING:
    # the attempt is made, logged, and the stop is not held up by it.
    assert "aborted createNodegroup" in caplog.text
    assert "abandoned" in caplog.text


async def test_the_executor_hands_eks_call_to_the_kubernetes_resources(
    eks_executor: EksExecutor, make_ctx: Callable[..., ExecutorContext], simulators: Simulators
) -> None:
    cluster = simulators.eks.describe_cluster("demo")
    params = {
        "ClusterName": "demo",
        "CertificateAuthority": cluster["certificateAuthority"]["data"],
        "Endpoint": cluster["endpoint"],
        "Method": "GET",
        "Path": "/api/v1/namespaces/default/pods",
    }
    out = await eks_executor.run(call("call", RR, params), make_ctx(FAST))
    assert out["StatusCode"] == 200
    assert out["ResponseBody"]["kind"] == "PodList"
