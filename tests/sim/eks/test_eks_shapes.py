"""Response shapes: the simulator answers what moto answers for the same calls, within botocore's model."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.loaders import create_loader
from moto import mock_aws

FAST_WAIT = {"Delay": 0.05, "MaxAttempts": 100}
ACCOUNT = "111122223333"
CLUSTER: dict[str, Any] = {
    "name": "shape",
    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/cluster-role",
    "resourcesVpcConfig": {"subnetIds": ["subnet-1", "subnet-2"]},
    "encryptionConfig": [
        {"resources": ["secrets"], "provider": {"keyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"}}
    ],
    "tags": {"team": "a"},
}
NODEGROUP: dict[str, Any] = {
    "clusterName": "shape",
    "nodegroupName": "ng",
    "subnets": ["subnet-1"],
    "nodeRole": f"arn:aws:iam::{ACCOUNT}:role/node-role",
    "remoteAccess": {"ec2SshKey": "key"},
    "taints": [{"key": "k", "value": "v", "effect": "NO_SCHEDULE"}],
}
PROFILE: dict[str, Any] = {
    "clusterName": "shape",
    "fargateProfileName": "fp",
    "podExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/pod-role",
    "selectors": [{"namespace": "jobs"}],
}


# moto makes resources ACTIVE at once; on EKS (and here) a Create answer is CREATING: a cluster's
# endpoint and OIDC issuer, and a node group's Auto Scaling group, appear only once it is ACTIVE.
CREATING_ONLY_DIFFERENCES = {
    ("create_cluster", "cluster"): {"endpoint", "identity"},
    ("create_nodegroup", "nodegroup"): {"resources"},
}


@pytest.fixture
def simulators_options() -> dict[str, Any]:
    return {"demo_cluster": None}


def keys(answer: dict[str, Any]) -> dict[str, set[str]]:
    """Top-level keys, and the keys of the resource document when there is one."""
    top = {k for k in answer if k != "ResponseMetadata"}
    shape = {"": top}
    for member in ("cluster", "nodegroup", "fargateProfile"):
        if member in answer:
            shape[member] = set(answer[member])
    return shape


def moto_answers() -> dict[str, dict[str, set[str]]]:
    with mock_aws():
        eks = boto3.client("eks", region_name="us-east-1")
        answers = {
            "create_cluster": keys(eks.create_cluster(**CLUSTER)),
            "describe_cluster": keys(eks.describe_cluster(name="shape")),
            "list_clusters": keys(eks.list_clusters()),
            "create_nodegroup": keys(eks.create_nodegroup(**NODEGROUP)),
            "describe_nodegroup": keys(eks.describe_nodegroup(clusterName="shape", nodegroupName="ng")),
            "list_nodegroups": keys(eks.list_nodegroups(clusterName="shape")),
            "create_fargate_profile": keys(eks.create_fargate_profile(**PROFILE)),
            "describe_fargate_profile": keys(
                eks.describe_fargate_profile(clusterName="shape", fargateProfileName="fp")
            ),
            "list_fargate_profiles": keys(eks.list_fargate_profiles(clusterName="shape")),
            "delete_nodegroup": keys(eks.delete_nodegroup(clusterName="shape", nodegroupName="ng")),
            "delete_fargate_profile": keys(
                eks.delete_fargate_profile(clusterName="shape", fargateProfileName="fp")
            ),
            "delete_cluster": keys(eks.delete_cluster(name="shape")),
        }
    return answers


async def sim_answers(eks: Any) -> dict[str, dict[str, set[str]]]:
    answers = {"create_cluster": keys(await eks.create_cluster(**CLUSTER))}
    await eks.get_waiter("cluster_active").wait(name="shape", WaiterConfig=FAST_WAIT)
    answers["describe_cluster"] = keys(await eks.describe_cluster(name="shape"))
    answers["list_clusters"] = keys(await eks.list_clusters())
    answers["create_nodegroup"] = keys(await eks.create_nodegroup(**NODEGROUP))
    await eks.get_waiter("nodegroup_active").wait(
        clusterName="shape", nodegroupName="ng", WaiterConfig=FAST_WAIT
    )
    answers["describe_nodegroup"] = keys(
        await eks.describe_nodegroup(clusterName="shape", nodegroupName="ng")
    )
    answers["list_nodegroups"] = keys(await eks.list_nodegroups(clusterName="shape"))
    answers["create_fargate_profile"] = keys(await eks.create_fargate_profile(**PROFILE))
    await eks.get_waiter("fargate_profile_active").wait(
        clusterName="shape", fargateProfileName="fp", WaiterConfig=FAST_WAIT
    )
    answers["describe_fargate_profile"] = keys(
        await eks.describe_fargate_profile(clusterName="shape", fargateProfileName="fp")
    )
    answers["list_fargate_profiles"] = keys(await eks.list_fargate_profiles(clusterName="shape"))
    answers["delete_nodegroup"] = keys(await eks.delete_nodegroup(clusterName="shape", nodegroupName="ng"))
    answers["delete_fargate_profile"] = keys(
        await eks.delete_fargate_profile(clusterName="shape", fargateProfileName="fp")
    )
    await eks.get_waiter("nodegroup_deleted").wait(
        clusterName="shape", nodegroupName="ng", WaiterConfig=FAST_WAIT
    )
    await eks.get_waiter("fargate_profile_deleted").wait(
        clusterName="shape", fargateProfileName="fp", WaiterConfig=FAST_WAIT
    )
    answers["delete_cluster"] = keys(await eks.delete_cluster(name="shape"))
    return answers


def model_members() -> dict[str, set[str]]:
    model = create_loader().load_service_model("eks", "service-2")
    shapes = model["shapes"]
    return {
        member: set(shapes[shape]["members"])
        for member, shape in (
            ("cluster", "Cluster"),
            ("nodegroup", "Nodegroup"),
            ("fargateProfile", "FargateProfile"),
        )
    }


async def test_every_member_moto_answers_is_answered_and_nothing_outside_botocores_model(eks: Any) -> None:
    expected = moto_answers()
    actual = await sim_answers(eks)
    allowed = model_members()

    for operation, moto_shape in expected.items():
        for part, moto_keys in moto_shape.items():
            missing = (
                moto_keys - actual[operation][part] - CREATING_ONLY_DIFFERENCES.get((operation, part), set())
            )
            assert not missing, f"{operation} {part or 'response'} lacks {sorted(missing)}"
        for part, sim_keys in actual[operation].items():
            if part:
                unknown = sim_keys - allowed[part]
                assert not unknown, f"{operation} {part} has members outside the model: {sorted(unknown)}"
