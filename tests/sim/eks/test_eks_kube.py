"""Each ACTIVE cluster serves Kubernetes at its endpoint, with its own CA, EKS tokens and aws-auth."""

from __future__ import annotations

import base64
import json
import ssl
from typing import Any

import aiohttp
import pytest
import yaml

from sim.eks import Timings
from sim.faults import FaultConfig
from sim.stack import Simulators

FAST_WAIT = {"Delay": 0.05, "MaxAttempts": 100}
ACCOUNT = "111122223333"
OTHER_KEY = "AKIAOPERATOR00000001"
OTHER_SECRET = "operator-secret"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/operator"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/node-role"
POD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/pod-role"
AWS_AUTH = "/api/v1/namespaces/kube-system/configmaps/aws-auth"


@pytest.fixture
def simulators_options() -> dict[str, Any]:
    return {
        "identities": [f"{OTHER_KEY}:{OTHER_SECRET}={OTHER_ROLE}"],
        "timings": Timings(cluster_create=0.1, nodegroup_create=0.1, fargate_profile_create=0.1),
    }


def trusting(ca_b64: str) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=base64.b64decode(ca_b64).decode("ascii"))


async def kube(
    method: str, endpoint: str, ca_b64: str, token: str, path: str, body: Any = None
) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.request(
            method,
            endpoint + path,
            ssl=trusting(ca_b64),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            json=body,
        ) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None


async def test_a_cluster_created_through_eks_serves_kubernetes_to_its_creator_with_its_own_ca(
    simulators: Simulators, eks: Any
) -> None:
    await eks.create_cluster(
        name="k1", roleArn=f"arn:aws:iam::{ACCOUNT}:role/c", resourcesVpcConfig={"subnetIds": ["s1"]}
    )
    await eks.get_waiter("cluster_active").wait(name="k1", WaiterConfig=FAST_WAIT)
    cluster = (await eks.describe_cluster(name="k1"))["cluster"]
    endpoint, ca_b64 = cluster["endpoint"], cluster["certificateAuthority"]["data"]
    assert endpoint.startswith("https://127.0.0.1:")
    assert endpoint != simulators.cluster("demo").url
    assert ca_b64 != simulators.cluster("demo").ca_b64

    status, namespaces = await kube("GET", endpoint, ca_b64, simulators.token("k1"), "/api/v1/namespaces")
    assert status == 200
    assert namespaces["kind"] == "NamespaceList"

    # A token minted for another cluster does not open this one.
    status, body = await kube("GET", endpoint, ca_b64, simulators.token("demo"), "/api/v1/namespaces")
    assert status == 401
    assert body["reason"] == "Unauthorized"

    # The cluster's certificate comes from its own CA, not the EKS endpoint's.
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        assert simulators.ca is not None
        async with aiohttp.ClientSession() as session:
            await session.get(endpoint + "/version", ssl=simulators.ca.client_ssl_context())


async def test_another_identity_gets_401_until_aws_auth_maps_it_into_system_masters(
    simulators: Simulators,
) -> None:
    demo = simulators.cluster("demo")
    operator_token = simulators.token("demo", OTHER_KEY)
    status, _ = await kube("GET", demo.url, demo.ca_b64, operator_token, "/api/v1/namespaces")
    assert status == 401

    aws_auth = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": {
            "mapRoles": json.dumps(
                [{"rolearn": OTHER_ROLE, "username": "operator", "groups": ["system:masters"]}]
            )
        },
    }
    status, _ = await kube(
        "POST",
        demo.url,
        demo.ca_b64,
        simulators.token("demo"),
        "/api/v1/namespaces/kube-system/configmaps",
        aws_auth,
    )
    assert status == 201

    status, namespaces = await kube("GET", demo.url, demo.ca_b64, operator_token, "/api/v1/namespaces")
    assert status == 200
    assert namespaces["kind"] == "NamespaceList"


async def test_node_groups_and_fargate_profiles_add_their_roles_to_aws_auth_as_eks_does(
    simulators: Simulators, eks: Any
) -> None:
    demo = simulators.cluster("demo")
    admin = simulators.token("demo")
    status, _ = await kube("GET", demo.url, demo.ca_b64, admin, AWS_AUTH)
    assert status == 404

    await eks.create_nodegroup(clusterName="demo", nodegroupName="ng", subnets=["s1"], nodeRole=NODE_ROLE)
    await eks.get_waiter("nodegroup_active").wait(
        clusterName="demo", nodegroupName="ng", WaiterConfig=FAST_WAIT
    )
    await eks.create_fargate_profile(
        clusterName="demo",
        fargateProfileName="fp",
        podExecutionRoleArn=POD_ROLE,
        selectors=[{"namespace": "jobs"}],
    )
    await eks.get_waiter("fargate_profile_active").wait(
        clusterName="demo", fargateProfileName="fp", WaiterConfig=FAST_WAIT
    )

    status, configmap = await kube("GET", demo.url, demo.ca_b64, admin, AWS_AUTH)
    assert status == 200
    roles = {entry["rolearn"]: entry for entry in yaml.safe_load(configmap["data"]["mapRoles"])}
    assert roles[NODE_ROLE] == {
        "rolearn": NODE_ROLE,
        "username": "system:node:{{EC2PrivateDNSName}}",
        "groups": ["system:bootstrappers", "system:nodes"],
    }
    assert roles[POD_ROLE]["username"] == "system:node:{{SessionName}}"
    assert roles[POD_ROLE]["groups"] == ["system:bootstrappers", "system:nodes", "system:node-proxier"]

    await eks.delete_nodegroup(clusterName="demo", nodegroupName="ng")
    await eks.get_waiter("nodegroup_deleted").wait(
        clusterName="demo", nodegroupName="ng", WaiterConfig=FAST_WAIT
    )
    status, configmap = await kube("GET", demo.url, demo.ca_b64, admin, AWS_AUTH)
    remaining = [entry["rolearn"] for entry in yaml.safe_load(configmap["data"]["mapRoles"])]
    assert remaining == [POD_ROLE]


async def test_a_creator_without_bootstrap_admin_permissions_is_not_an_administrator(
    simulators: Simulators, eks: Any
) -> None:
    await eks.create_cluster(
        name="k2",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/c",
        resourcesVpcConfig={"subnetIds": ["s1"]},
        accessConfig={"bootstrapClusterCreatorAdminPermissions": False},
    )
    await eks.get_waiter("cluster_active").wait(name="k2", WaiterConfig=FAST_WAIT)
    cluster = simulators.cluster("k2")

    status, _ = await kube("GET", cluster.url, cluster.ca_b64, simulators.token("k2"), "/api/v1/namespaces")

    assert status == 401


async def test_deleting_a_cluster_stops_its_api_server(simulators: Simulators, eks: Any) -> None:
    demo = simulators.cluster("demo")
    await eks.delete_cluster(name="demo")
    await eks.get_waiter("cluster_deleted").wait(name="demo", WaiterConfig=FAST_WAIT)

    with pytest.raises(KeyError):
        simulators.cluster("demo")
    with pytest.raises(aiohttp.ClientConnectionError):
        await kube("GET", demo.url, demo.ca_b64, simulators.token("demo"), "/version")


@pytest.mark.parametrize(
    "simulators_options",
    [
        {
            "faults": FaultConfig(seed=7, throttle_rate=0.3, error_rate=0.1),
            "timings": Timings(nodegroup_create=0.05),
        }
    ],
)
async def test_aws_auth_is_updated_through_a_cluster_api_that_throttles_and_fails(
    simulators: Simulators, eks: Any
) -> None:
    await eks.create_nodegroup(clusterName="demo", nodegroupName="ng", subnets=["s1"], nodeRole=NODE_ROLE)
    await eks.get_waiter("nodegroup_active").wait(
        clusterName="demo", nodegroupName="ng", WaiterConfig=FAST_WAIT
    )

    demo = simulators.cluster("demo")
    demo.set_faults(None)
    status, configmap = await kube("GET", demo.url, demo.ca_b64, simulators.token("demo"), AWS_AUTH)
    assert status == 200
    assert [entry["rolearn"] for entry in yaml.safe_load(configmap["data"]["mapRoles"])] == [NODE_ROLE]
