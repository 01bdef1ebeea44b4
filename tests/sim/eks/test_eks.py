"""The EKS control-plane simulator driven by aioboto3: lifecycle, botocore waiters, errors, failures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError

from sim.eks import FailureRule, Timings
from sim.stack import Simulators

FAST_WAIT = {"Delay": 0.05, "MaxAttempts": 100}
ROLE = "arn:aws:iam::111122223333:role/cluster-role"
NODE_ROLE = "arn:aws:iam::111122223333:role/node-role"
POD_ROLE = "arn:aws:iam::111122223333:role/pod-execution-role"
VPC = {"subnetIds": ["subnet-1", "subnet-2"]}
QUICK = Timings(
    cluster_create=0.1,
    cluster_delete=0.05,
    nodegroup_create=0.1,
    nodegroup_delete=0.05,
    fargate_profile_create=0.1,
    fargate_profile_delete=0.05,
)


@pytest.fixture
def simulators_options() -> dict[str, Any]:
    # Control-plane behaviour only: no Kubernetes API servers, no demo cluster.
    return {"kube_servers": False, "demo_cluster": None, "timings": QUICK}


def error_code(exc: ClientError) -> str:
    code: str = exc.response["Error"]["Code"]
    return code


async def active_cluster(eks: Any, name: str = "c1") -> dict[str, Any]:
    await eks.create_cluster(name=name, roleArn=ROLE, resourcesVpcConfig=VPC)
    await eks.get_waiter("cluster_active").wait(name=name, WaiterConfig=FAST_WAIT)
    described: dict[str, Any] = (await eks.describe_cluster(name=name))["cluster"]
    return described


async def test_cluster_is_creating_then_active_through_the_cluster_active_waiter(eks: Any) -> None:
    created = (await eks.create_cluster(name="c1", roleArn=ROLE, resourcesVpcConfig=VPC))["cluster"]
    assert created["status"] == "CREATING"
    assert "endpoint" not in created

    await eks.get_waiter("cluster_active").wait(name="c1", WaiterConfig=FAST_WAIT)

    cluster = (await eks.describe_cluster(name="c1"))["cluster"]
    assert cluster["status"] == "ACTIVE"
    assert cluster["arn"] == "arn:aws:eks:us-east-1:111122223333:cluster/c1"
    assert isinstance(cluster["createdAt"], dt.datetime)
    assert cluster["identity"]["oidc"]["issuer"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    assert cluster["accessConfig"] == {
        "bootstrapClusterCreatorAdminPermissions": True,
        "authenticationMode": "CONFIG_MAP",
    }


async def test_cluster_deleted_waiter_succeeds_once_the_cluster_is_gone(eks: Any) -> None:
    await active_cluster(eks)

    deleting = (await eks.delete_cluster(name="c1"))["cluster"]
    assert deleting["status"] == "DELETING"
    await eks.get_waiter("cluster_deleted").wait(name="c1", WaiterConfig=FAST_WAIT)

    with pytest.raises(ClientError) as caught:
        await eks.describe_cluster(name="c1")
    assert error_code(caught.value) == "ResourceNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert (await eks.list_clusters())["clusters"] == []


async def test_nodegroup_goes_active_and_is_deleted_through_botocore_waiters(eks: Any) -> None:
    await active_cluster(eks)

    created = await eks.create_nodegroup(
        clusterName="c1", nodegroupName="ng1", subnets=["subnet-1"], nodeRole=NODE_ROLE
    )
    nodegroup = created["nodegroup"]
    assert nodegroup["status"] == "CREATING"
    assert nodegroup["scalingConfig"] == {"minSize": 1, "maxSize": 2, "desiredSize": 2}
    assert nodegroup["nodegroupArn"].startswith("arn:aws:eks:us-east-1:111122223333:nodegroup/c1/ng1/")
    await eks.get_waiter("nodegroup_active").wait(
        clusterName="c1", nodegroupName="ng1", WaiterConfig=FAST_WAIT
    )
    active = (await eks.describe_nodegroup(clusterName="c1", nodegroupName="ng1"))["nodegroup"]
    assert active["status"] == "ACTIVE"
    assert active["resources"]["autoScalingGroups"][0]["name"].startswith("eks-ng1-")
    assert (await eks.list_nodegroups(clusterName="c1"))["nodegroups"] == ["ng1"]

    assert (await eks.delete_nodegroup(clusterName="c1", nodegroupName="ng1"))["nodegroup"][
        "status"
    ] == "DELETING"
    await eks.get_waiter("nodegroup_deleted").wait(
        clusterName="c1", nodegroupName="ng1", WaiterConfig=FAST_WAIT
    )
    assert (await eks.list_nodegroups(clusterName="c1"))["nodegroups"] == []


async def test_fargate_profile_goes_active_and_is_deleted_through_botocore_waiters(eks: Any) -> None:
    await active_cluster(eks)

    created = await eks.create_fargate_profile(
        clusterName="c1",
        fargateProfileName="fp1",
        podExecutionRoleArn=POD_ROLE,
        selectors=[{"namespace": "jobs", "labels": {"team": "a"}}],
    )
    assert created["fargateProfile"]["status"] == "CREATING"
    assert created["fargateProfile"]["subnets"] == ["subnet-1", "subnet-2"]
    await eks.get_waiter("fargate_profile_active").wait(
        clusterName="c1", fargateProfileName="fp1", WaiterConfig=FAST_WAIT
    )
    profile = (await eks.describe_fargate_profile(clusterName="c1", fargateProfileName="fp1"))[
        "fargateProfile"
    ]
    assert profile["status"] == "ACTIVE"
    assert profile["selectors"] == [{"namespace": "jobs", "labels": {"team": "a"}}]
    assert (await eks.list_fargate_profiles(clusterName="c1"))["fargateProfileNames"] == ["fp1"]

    await eks.delete_fargate_profile(clusterName="c1", fargateProfileName="fp1")
    await eks.get_waiter("fargate_profile_deleted").wait(
        clusterName="c1", fargateProfileName="fp1", WaiterConfig=FAST_WAIT
    )
    assert (await eks.list_fargate_profiles(clusterName="c1"))["fargateProfileNames"] == []


async def test_duplicate_cluster_name_is_resource_in_use(eks: Any) -> None:
    await eks.create_cluster(name="c1", roleArn=ROLE, resourcesVpcConfig=VPC)

    with pytest.raises(ClientError) as caught:
        await eks.create_cluster(name="c1", roleArn=ROLE, resourcesVpcConfig=VPC)

    assert error_code(caught.value) == "ResourceInUseException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert caught.value.response["clusterName"] == "c1"


async def test_retry_with_the_same_client_request_token_returns_the_existing_cluster(eks: Any) -> None:
    first = await eks.create_cluster(
        name="c1", roleArn=ROLE, resourcesVpcConfig=VPC, clientRequestToken="t-1"
    )
    again = await eks.create_cluster(
        name="c1", roleArn=ROLE, resourcesVpcConfig=VPC, clientRequestToken="t-1"
    )

    assert again["cluster"]["arn"] == first["cluster"]["arn"]
    assert again["cluster"]["createdAt"] == first["cluster"]["createdAt"]


async def test_unknown_names_are_resource_not_found(eks: Any) -> None:
    await active_cluster(eks)
    calls = [
        eks.describe_cluster(name="nope"),
        eks.delete_cluster(name="nope"),
        eks.describe_nodegroup(clusterName="c1", nodegroupName="nope"),
        eks.delete_nodegroup(clusterName="c1", nodegroupName="nope"),
        eks.describe_fargate_profile(clusterName="c1", fargateProfileName="nope"),
        eks.delete_fargate_profile(clusterName="c1", fargateProfileName="nope"),
        eks.list_nodegroups(clusterName="nope"),
        eks.create_nodegroup(clusterName="nope", nodegroupName="n", subnets=["s"], nodeRole=NODE_ROLE),
    ]
    for call in calls:
        with pytest.raises(ClientError) as caught:
            await call
        assert error_code(caught.value) == "ResourceNotFoundException"


async def test_missing_required_members_are_invalid_parameter(aws_client: Any) -> None:
    unchecked = Config(parameter_validation=False, retries={"max_attempts": 1})
    async with aws_client("eks", config=unchecked) as eks:
        with pytest.raises(ClientError) as caught:
            await eks.create_cluster(name="c1", resourcesVpcConfig=VPC)
        assert error_code(caught.value) == "InvalidParameterException"
        assert "roleArn" in caught.value.response["Error"]["Message"]
        assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == (
            "InvalidParameterException"
        )

        with pytest.raises(ClientError) as caught:
            await eks.create_cluster(name="bad name!", roleArn=ROLE, resourcesVpcConfig=VPC)
        assert error_code(caught.value) == "InvalidParameterException"

        with pytest.raises(ClientError) as caught:
            await eks.list_clusters(maxResults=500)
        assert error_code(caught.value) == "InvalidParameterException"


async def test_compute_on_a_cluster_that_is_not_active_is_an_invalid_request(eks: Any) -> None:
    await eks.create_cluster(name="c1", roleArn=ROLE, resourcesVpcConfig=VPC)

    with pytest.raises(ClientError) as caught:
        await eks.create_nodegroup(clusterName="c1", nodegroupName="ng", subnets=["s"], nodeRole=NODE_ROLE)

    assert error_code(caught.value) == "InvalidRequestException"


async def test_delete_cluster_with_a_nodegroup_or_fargate_profile_is_resource_in_use(eks: Any) -> None:
    await active_cluster(eks)
    await eks.create_nodegroup(clusterName="c1", nodegroupName="ng1", subnets=["s"], nodeRole=NODE_ROLE)

    with pytest.raises(ClientError) as caught:
        await eks.delete_cluster(name="c1")
    assert error_code(caught.value) == "ResourceInUseException"

    await eks.get_waiter("nodegroup_active").wait(
        clusterName="c1", nodegroupName="ng1", WaiterConfig=FAST_WAIT
    )
    await eks.delete_nodegroup(clusterName="c1", nodegroupName="ng1")
    await eks.get_waiter("nodegroup_deleted").wait(
        clusterName="c1", nodegroupName="ng1", WaiterConfig=FAST_WAIT
    )
    await eks.create_fargate_profile(clusterName="c1", fargateProfileName="fp", podExecutionRoleArn=POD_ROLE)

    with pytest.raises(ClientError) as caught:
        await eks.delete_cluster(name="c1")
    assert error_code(caught.value) == "ResourceInUseException"
    assert (await eks.describe_cluster(name="c1"))["cluster"]["status"] == "ACTIVE"


async def test_only_one_fargate_profile_per_cluster_may_be_creating_or_deleting(eks: Any) -> None:
    await active_cluster(eks)
    await eks.create_fargate_profile(clusterName="c1", fargateProfileName="fp1", podExecutionRoleArn=POD_ROLE)

    with pytest.raises(ClientError) as caught:
        await eks.create_fargate_profile(
            clusterName="c1", fargateProfileName="fp2", podExecutionRoleArn=POD_ROLE
        )
    assert error_code(caught.value) == "ResourceInUseException"
    assert "fp1" in caught.value.response["Error"]["Message"]

    await eks.get_waiter("fargate_profile_active").wait(
        clusterName="c1", fargateProfileName="fp1", WaiterConfig=FAST_WAIT
    )
    await eks.create_fargate_profile(clusterName="c1", fargateProfileName="fp2", podExecutionRoleArn=POD_ROLE)
    with pytest.raises(ClientError) as caught:
        await eks.delete_fargate_profile(clusterName="c1", fargateProfileName="fp1")
    assert error_code(caught.value) == "ResourceInUseException"


async def test_list_clusters_paginates_with_max_results_and_next_token(eks: Any) -> None:
    for index in range(5):
        await eks.create_cluster(name=f"c{index}", roleArn=ROLE, resourcesVpcConfig=VPC)

    first = await eks.list_clusters(maxResults=2)
    assert first["clusters"] == ["c0", "c1"]
    second = await eks.list_clusters(maxResults=2, nextToken=first["nextToken"])
    assert second["clusters"] == ["c2", "c3"]
    pages = [page["clusters"] async for page in eks.get_paginator("list_clusters").paginate(maxResults=2)]
    assert pages == [["c0", "c1"], ["c2", "c3"], ["c4"]]


@pytest.mark.parametrize(
    "simulators_options",
    [
        {
            "kube_servers": False,
            "demo_cluster": None,
            "timings": QUICK,
            "failures": [
                FailureRule(
                    "cluster", "broken-*", issue_code="Ec2SubnetNotFound", message="subnet-1 missing"
                ),
                FailureRule("nodegroup", "bad-ng"),
            ],
        }
    ],
)
async def test_failure_rules_end_resources_failed_with_health_issues(eks: Any) -> None:
    await eks.create_cluster(name="broken-1", roleArn=ROLE, resourcesVpcConfig=VPC)

    with pytest.raises(WaiterError) as waited:
        await eks.get_waiter("cluster_active").wait(name="broken-1", WaiterConfig=FAST_WAIT)
    assert "FAILED" in str(waited.value)
    cluster = (await eks.describe_cluster(name="broken-1"))["cluster"]
    assert cluster["status"] == "FAILED"
    assert cluster["health"]["issues"] == [
        {"code": "Ec2SubnetNotFound", "message": "subnet-1 missing", "resourceIds": ["broken-1"]}
    ]

    await active_cluster(eks, "fine")
    await eks.create_nodegroup(clusterName="fine", nodegroupName="bad-ng", subnets=["s"], nodeRole=NODE_ROLE)
    with pytest.raises(WaiterError):
        await eks.get_waiter("nodegroup_active").wait(
            clusterName="fine", nodegroupName="bad-ng", WaiterConfig=FAST_WAIT
        )
    nodegroup = (await eks.describe_nodegroup(clusterName="fine", nodegroupName="bad-ng"))["nodegroup"]
    assert nodegroup["status"] == "CREATE_FAILED"
    assert nodegroup["health"]["issues"][0]["code"] == "NodeCreationFailure"


async def test_a_delete_failure_leaves_delete_failed_and_a_retry_can_succeed(
    simulators: Simulators, eks: Any
) -> None:
    simulators.eks.add_failure(FailureRule("fargate_profile", "stuck", phase="delete", times=1))
    await active_cluster(eks)
    await eks.create_fargate_profile(
        clusterName="c1", fargateProfileName="stuck", podExecutionRoleArn=POD_ROLE
    )
    await eks.get_waiter("fargate_profile_active").wait(
        clusterName="c1", fargateProfileName="stuck", WaiterConfig=FAST_WAIT
    )

    await eks.delete_fargate_profile(clusterName="c1", fargateProfileName="stuck")
    with pytest.raises(WaiterError):
        await eks.get_waiter("fargate_profile_deleted").wait(
            clusterName="c1", fargateProfileName="stuck", WaiterConfig=FAST_WAIT
        )
    profile = (await eks.describe_fargate_profile(clusterName="c1", fargateProfileName="stuck"))[
        "fargateProfile"
    ]
    assert profile["status"] == "DELETE_FAILED"
    assert profile["health"]["issues"][0]["code"] == "InternalFailure"

    await eks.delete_fargate_profile(clusterName="c1", fargateProfileName="stuck")
    await eks.get_waiter("fargate_profile_deleted").wait(
        clusterName="c1", fargateProfileName="stuck", WaiterConfig=FAST_WAIT
    )


def test_realistic_timings_are_minutes_and_scale_with_the_time_factor() -> None:
    realistic = Timings.realistic()
    assert 600 <= realistic.seconds("cluster", "create") <= 900
    assert 60 <= realistic.seconds("nodegroup", "create") <= 600
    assert 60 <= realistic.seconds("fargate_profile", "create") <= 600
    assert Timings.named("realistic", 0.01).seconds("cluster", "create") == pytest.approx(8.4)
    assert Timings.fast().seconds("cluster", "create") < 1
    with pytest.raises(ValueError, match="unknown timings profile"):
        Timings.named("slow")


def test_bad_timings_and_failure_rules_are_refused_with_clear_errors() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        Timings(cluster_create=-1)
    with pytest.raises(ValueError, match="kind must be"):
        FailureRule("addon", "*")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="phase must be"):
        FailureRule("cluster", "*", phase="update")  # type: ignore[arg-type]
