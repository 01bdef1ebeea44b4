"""Every state machine of ``examples/seed`` through the Python API against the simulators.

The control-plane walk creates its own cluster (``create-cluster.json``), feeds
the examples the input they expect (``{"cluster": {"Name", "Endpoint",
"CertificateAuthority"}}``, built from the createCluster.sync output as a user
would) and tears everything down again, checking each output against the
shapes of spec §2.2, §4.2 and §5.2. The order is chosen so ``add-aws-auth``
runs once on a cluster without aws-auth (201 Created) and once after a node
group made EKS create the ConfigMap (409 AlreadyExists → ``EKS.409``).

The Kubernetes examples (run the Job with its logs, list its pods, delete it
with Foreground propagation) run on the simulators' ready ``demo`` cluster.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import anyio

from sim.stack import Simulators
from tests.e2e.support import (
    assert_no_secrets,
    cluster_gone,
    cluster_input,
    cluster_parameters,
    condition_true,
    e2e_engine,
    eks_client,
    model_job,
    result_text,
    seed_example,
    single_task,
)

CLUSTER = "seed-cluster"
NODE_ROLE = "arn:aws:iam::123456789012:role/MyNodeInstanceRole"


def assert_pascal_case(value: Any, path: str = "$") -> None:
    """Every structure member name starts upper-case (spec §2.2); map keys of user data are skipped."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("Tags", "Labels"):
                continue
            assert key[:1].isupper(), f"{path}.{key} is not PascalCase"
            assert_pascal_case(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_pascal_case(item, f"{path}[{index}]")


def seed_input_from(cluster: Mapping[str, Any]) -> dict[str, Any]:
    """The seed examples' input, from a createCluster.sync ``Cluster`` output."""
    return {
        "cluster": {
            "Name": cluster["Name"],
            "Endpoint": cluster["Endpoint"],
            "CertificateAuthority": cluster["CertificateAuthority"]["Data"],
        }
    }


def aws_auth_get(cluster: Mapping[str, Any]) -> dict[str, Any]:
    """A machine reading the aws-auth ConfigMap with eks:call."""
    return single_task(
        "arn:aws:states:::eks:call",
        {
            "ClusterName": cluster["Name"],
            "CertificateAuthority": cluster["CertificateAuthority"],
            "Endpoint": cluster["Endpoint"],
            "Method": "GET",
            "Path": "/api/v1/namespaces/kube-system/configmaps/aws-auth",
        },
    )


async def test_control_plane_examples_create_map_and_tear_down_a_cluster(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    async with e2e_engine() as engine:
        created = await engine.run(seed_example("create-cluster"), {"name": CLUSTER})
        assert created.status == "SUCCEEDED", (created.error, created.cause)
        assert isinstance(created.output, dict)
        assert set(created.output) == {"Cluster"}
        cluster = created.output["Cluster"]
        assert_pascal_case(created.output)
        assert cluster["Name"] == CLUSTER
        assert cluster["Status"] == "ACTIVE"
        assert cluster["RoleArn"] == "arn:aws:iam::123456789012:role/MyEKSClusterRole"
        assert cluster["ResourcesVpcConfig"]["SubnetIds"] == [
            "subnet-053e7c47012341234",
            "subnet-027cfea4b12341234",
        ]
        assert cluster["Endpoint"].startswith("https://")
        pem = base64.b64decode(cluster["CertificateAuthority"]["Data"]).decode("ascii")
        assert pem.startswith("-----BEGIN CERTIFICATE-----")
        assert created.history.types.count("TaskSubmitted") == 1

        async with eks_client() as eks:
            described = (await eks.describe_cluster(name=CLUSTER))["cluster"]
        assert described["status"] == "ACTIVE"
        assert described["endpoint"] == cluster["Endpoint"]
        assert described["certificateAuthority"]["data"] == cluster["CertificateAuthority"]["Data"]
        assert described["arn"] == cluster["Arn"]

        seed_input = seed_input_from(cluster)

        # No node group yet, so no aws-auth: the seed's POST creates it.
        added = await engine.run(seed_example("add-aws-auth"), seed_input)
        assert added.status == "SUCCEEDED", (added.error, added.cause)
        assert isinstance(added.output, dict)
        assert added.output["StatusCode"] == 201
        assert added.output["StatusText"] == "Created"
        body = added.output["ResponseBody"]
        assert body["kind"] == "ConfigMap"
        assert body["metadata"]["name"] == "aws-auth"
        assert body["metadata"]["namespace"] == "kube-system"
        assert "arn:aws:iam::123456789012:role/my-role" in body["data"]["mapRoles"]
        assert "arn:aws:iam::123456789012:user/my-user" in body["data"]["mapUsers"]

        nodegroup = await engine.run(seed_example("create-nodegroup"), seed_input)
        assert nodegroup.status == "SUCCEEDED", (nodegroup.error, nodegroup.cause)
        assert isinstance(nodegroup.output, dict)
        assert set(nodegroup.output) == {"Nodegroup"}
        assert_pascal_case(nodegroup.output)
        group = nodegroup.output["Nodegroup"]
        assert group["NodegroupName"] == "MyNodegroup"
        assert group["ClusterName"] == CLUSTER
        assert group["Status"] == "ACTIVE"
        assert group["NodeRole"] == NODE_ROLE
        assert group["Subnets"] == ["subnet-09fb51df01234", "subnet-027cfea4b1234"]

        # EKS merged the node role into the ConfigMap the seed created.
        read = await engine.run(aws_auth_get(seed_input["cluster"]), {})
        assert read.status == "SUCCEEDED", (read.error, read.cause)
        assert isinstance(read.output, dict)
        roles = read.output["ResponseBody"]["data"]["mapRoles"]
        assert NODE_ROLE in roles
        assert "arn:aws:iam::123456789012:role/my-role" in roles

        # Now the ConfigMap exists: the same POST is a Kubernetes 409.
        again = await engine.run(seed_example("add-aws-auth"), seed_input)
        assert again.status == "FAILED"
        assert again.error == "EKS.409"
        assert again.cause is not None
        cause = json.loads(again.cause)
        assert set(cause) == {"ResponseBody", "StatusCode", "StatusText"}
        assert cause["StatusCode"] == 409
        assert cause["StatusText"] == "Conflict"
        assert cause["ResponseBody"]["kind"] == "Status"
        assert cause["ResponseBody"]["reason"] == "AlreadyExists"
        assert cause["ResponseBody"]["code"] == 409

        profile = await engine.run(seed_example("create-fargate-profile"), seed_input)
        assert profile.status == "SUCCEEDED", (profile.error, profile.cause)
        assert isinstance(profile.output, dict)
        assert set(profile.output) == {"FargateProfile"}
        assert_pascal_case(profile.output)
        fargate = profile.output["FargateProfile"]
        assert fargate["FargateProfileName"] == "MyFargateProfile"
        assert fargate["ClusterName"] == CLUSTER
        assert fargate["Status"] == "ACTIVE"
        assert fargate["PodExecutionRoleArn"] == "arn:aws:iam::123456789012:role/MyFargatePodExecutionRole"
        assert fargate["Selectors"] == [{"Namespace": "my-namespace", "Labels": {"my-label": "my-value"}}]

        deleted_group = await engine.run(seed_example("delete-nodegroup"), seed_input)
        assert deleted_group.status == "SUCCEEDED", (deleted_group.error, deleted_group.cause)
        assert isinstance(deleted_group.output, dict)
        assert deleted_group.output["Nodegroup"]["NodegroupName"] == "MyNodegroup"

        deleted_profile = await engine.run(seed_example("delete-fargate-profile"), seed_input)
        assert deleted_profile.status == "SUCCEEDED", (deleted_profile.error, deleted_profile.cause)
        assert isinstance(deleted_profile.output, dict)
        assert deleted_profile.output["FargateProfile"]["FargateProfileName"] == "MyFargateProfile"

        async with eks_client() as eks:
            assert (await eks.list_nodegroups(clusterName=CLUSTER))["nodegroups"] == []
            assert (await eks.list_fargate_profiles(clusterName=CLUSTER))["fargateProfileNames"] == []

        deleted = await engine.run(seed_example("delete-cluster"), seed_input)
        assert deleted.status == "SUCCEEDED", (deleted.error, deleted.cause)
        assert isinstance(deleted.output, dict)
        assert deleted.output["Cluster"]["Name"] == CLUSTER

    assert await cluster_gone(CLUSTER)


async def test_kubernetes_examples_run_the_job_with_logs_list_its_pods_and_delete_it(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    seed_input = cluster_input(simulators)
    async with e2e_engine() as engine:
        ran = await engine.run(seed_example("run-job"), seed_input)
        assert ran.status == "SUCCEEDED", (ran.error, ran.cause)
        job = ran.output
        assert isinstance(job, dict)
        assert job["apiVersion"] == "batch/v1"
        assert job["kind"] == "Job"
        assert job["metadata"]["name"] == "example-job"
        assert job["metadata"]["namespace"] == "default"
        assert job["spec"]["backoffLimit"] == 0
        assert condition_true(job, "Complete"), job["status"]
        assert not condition_true(job, "Failed")
        assert job["status"]["succeeded"] == 1
        pods = job["logs"]["pods"]
        assert len(pods) == 1
        (pod_name,) = pods
        assert pod_name.startswith("example-job-")
        # The model runtime prints nothing for this Job; RawLogs keeps the (empty) string.
        assert pods[pod_name] == {"containers": {"pi-2000": {"log": ""}}}

        listed = await engine.run(seed_example("list-job-pods"), seed_input)
        assert listed.status == "SUCCEEDED", (listed.error, listed.cause)
        assert isinstance(listed.output, dict)
        assert listed.output["StatusCode"] == 200
        assert listed.output["StatusText"] == "OK"
        assert listed.output["ResponseBody"]["kind"] == "PodList"
        items = listed.output["ResponseBody"]["items"]
        assert [item["metadata"]["name"] for item in items] == [pod_name]
        assert items[0]["metadata"]["labels"]["job-name"] == "example-job"
        assert items[0]["status"]["phase"] == "Succeeded"

        removed = await engine.run(seed_example("delete-job"), seed_input)
        assert removed.status == "SUCCEEDED", (removed.error, removed.cause)
        assert isinstance(removed.output, dict)
        assert removed.output["StatusCode"] == 200
        assert removed.output["StatusText"] == "OK"
        response = removed.output["ResponseBody"]
        # Foreground: the Job is returned still present, held by the foregroundDeletion finalizer.
        assert response["kind"] == "Job"
        assert response["metadata"]["name"] == "example-job"
        assert "foregroundDeletion" in response["metadata"]["finalizers"]
        assert "deletionTimestamp" in response["metadata"]

        # Foreground propagation removes the pods, then the Job (polled: garbage collection is async).
        get_job = single_task(
            "arn:aws:states:::eks:call",
            {
                **cluster_parameters(simulators),
                "Method": "GET",
                "Path": "/apis/batch/v1/namespaces/default/jobs/example-job",
            },
        )
        for _ in range(50):
            gone = await engine.run(get_job, {})
            if gone.status == "FAILED":
                break
            await anyio.sleep(0.05)
        assert gone.status == "FAILED"
        assert gone.error == "EKS.404"
        after = await engine.run(seed_example("list-job-pods"), seed_input)
        assert isinstance(after.output, dict)
        assert after.output["ResponseBody"]["items"] == []

    for result in (ran, listed, removed, gone, after):
        assert_no_secrets(result_text(result), sim_env["AWS_SECRET_ACCESS_KEY"])


async def test_request_response_resources_answer_at_once_without_waiting(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    create_nodegroup = single_task(
        "arn:aws:states:::eks:createNodegroup",
        {
            "ClusterName": "demo",
            "NodegroupName": "at-once",
            "NodeRole": NODE_ROLE,
            "Subnets": ["subnet-09fb51df01234"],
        },
    )
    run_job = single_task(
        "arn:aws:states:::eks:runJob", {**cluster_parameters(simulators), "Job": model_job("at-once")}
    )
    async with e2e_engine() as engine:
        group = await engine.run(create_nodegroup, {})
        job = await engine.run(run_job, {})

    assert group.status == "SUCCEEDED", (group.error, group.cause)
    assert isinstance(group.output, dict)
    assert group.output["Nodegroup"]["NodegroupName"] == "at-once"
    assert group.output["Nodegroup"]["Status"] == "CREATING"
    # Spec §2.2: the Java-SDK envelope of control-plane request-response results.
    assert group.output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert group.output["SdkResponseMetadata"]["RequestId"]

    assert job.status == "SUCCEEDED", (job.error, job.cause)
    assert isinstance(job.output, dict)
    assert job.output["kind"] == "Job"
    assert job.output["metadata"]["name"] == "at-once"
    assert "logs" not in job.output
    assert not condition_true(job.output, "Complete")
