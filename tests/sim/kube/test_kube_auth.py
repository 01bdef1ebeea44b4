"""EKS-style authentication (token format, aws-auth mapping, caching) and RBAC authorization."""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiohttp
from kube_support import ACCOUNT, ADMIN_TOKEN, FakeSts, Request, eks_token

from sim.aws.identities import AwsIdentity
from sim.aws.token import StsEndpoints
from sim.kube import KubeSimulator

UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


def aws_auth(kube: KubeSimulator, **data: str) -> None:
    kube.store.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": data,
        }
    )


def rbac(kube: KubeSimulator, *objects: dict[str, Any]) -> None:
    for obj in objects:
        kube.store.put({"apiVersion": "rbac.authorization.k8s.io/v1", **obj})


async def test_a_missing_token_and_an_unmapped_identity_get_the_eks_401_status(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    stranger = sts.add("AKIASTRANGE", f"arn:aws:iam::{ACCOUNT}:role/stranger")

    missing = await api("GET", "/api/v1/namespaces/default/pods", token=None)
    unmapped = await api("GET", "/api/v1/namespaces/default/pods", token=stranger)

    assert missing.status == unmapped.status == 401
    assert missing.json == unmapped.json == UNAUTHORIZED


async def test_aws_auth_maps_roles_with_templates_and_groups(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    aws_auth(
        kube,
        mapRoles=f"- rolearn: arn:aws:iam::{ACCOUNT}:role/ops\n"
        "  username: ops:{{SessionName}}\n  groups: [system:masters]\n",
    )
    token = sts.add("AKIAOPS", f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/alice", session_name="alice")

    reply = await api(
        "POST", "/api/v1/namespaces/default/configmaps", token=token, json={"metadata": {"name": "by-ops"}}
    )

    assert reply.status == 201


async def test_aws_auth_json_strings_as_in_the_step_functions_example_work(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    aws_auth(
        kube,
        mapUsers=f'[{{ "userarn": "arn:aws:iam::{ACCOUNT}:user/my-user", "username": "my-user", '
        '"groups": [ "system:masters" ] } ]',
    )
    token = sts.add("AKIAUSER", f"arn:aws:iam::{ACCOUNT}:user/my-user")

    reply = await api("GET", "/apis/batch/v1/namespaces/default/jobs", token=token)

    assert reply.status == 200


async def test_identity_resolution_is_cached_per_token(
    api: Request, sts: FakeSts, kube: KubeSimulator
) -> None:
    aws_auth(
        kube,
        mapUsers=f"- userarn: arn:aws:iam::{ACCOUNT}:user/c\n  username: c\n  groups: [system:masters]\n",
    )
    token = sts.add("AKIACACHE", f"arn:aws:iam::{ACCOUNT}:user/c")

    for _ in range(5):
        assert (await api("GET", "/api/v1/namespaces", token=token)).status == 200

    assert sts.calls == 1


async def test_rbac_role_binding_grants_only_its_namespace_verbs_and_resources(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    aws_auth(
        kube,
        mapRoles=f"- rolearn: arn:aws:iam::{ACCOUNT}:role/runner\n  username: runner\n"
        "  groups: [job-runners]\n",
    )
    rbac(
        kube,
        {
            "kind": "Role",
            "metadata": {"name": "run-jobs", "namespace": "default"},
            "rules": [
                {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get"]},
                {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            ],
        },
        {
            "kind": "RoleBinding",
            "metadata": {"name": "run-jobs", "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "run-jobs"},
            "subjects": [{"kind": "Group", "name": "job-runners", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    token = sts.add("AKIARUNNER", f"arn:aws:iam::{ACCOUNT}:role/runner")

    get_job = await api("GET", "/apis/batch/v1/namespaces/default/jobs/x", token=token)
    list_jobs = await api("GET", "/apis/batch/v1/namespaces/default/jobs", token=token)
    other_ns = await api("GET", "/apis/batch/v1/namespaces/kube-system/jobs/x", token=token)
    pods = await api("GET", "/api/v1/namespaces/default/pods", token=token)
    namespaces = await api("GET", "/api/v1/namespaces", token=token)

    assert get_job.status == 404
    assert list_jobs.status == 403
    assert list_jobs.json["message"] == (
        'jobs.batch is forbidden: User "runner" cannot list resource "jobs" in API group "batch" in the '
        'namespace "default"'
    )
    assert other_ns.status == 403
    assert pods.json["message"] == (
        'pods is forbidden: User "runner" cannot list resource "pods" in API group "" in the namespace "default"'
    )
    assert namespaces.json["message"] == (
        'namespaces is forbidden: User "runner" cannot list resource "namespaces" in API group "" at the '
        "cluster scope"
    )
    assert namespaces.json["details"] == {"group": "", "kind": "namespaces"}


async def test_rbac_resource_names_restrict_to_named_objects(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    aws_auth(kube, mapUsers=f"- userarn: arn:aws:iam::{ACCOUNT}:user/n\n  username: n\n  groups: []\n")
    rbac(
        kube,
        {
            "kind": "ClusterRole",
            "metadata": {"name": "one-cm"},
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["ok"]}
            ],
        },
        {
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "one-cm"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "one-cm"},
            "subjects": [{"kind": "User", "name": "n", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    token = sts.add("AKIAN", f"arn:aws:iam::{ACCOUNT}:user/n")

    allowed = await api("GET", "/api/v1/namespaces/default/configmaps/ok", token=token)
    denied = await api("GET", "/api/v1/namespaces/default/configmaps/other", token=token)

    assert allowed.status == 404
    assert denied.status == 403
    assert denied.json["message"].startswith('configmaps "other" is forbidden: User "n" cannot get resource')


async def test_discovery_is_open_to_any_authenticated_user(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    aws_auth(kube, mapUsers=f"- userarn: arn:aws:iam::{ACCOUNT}:user/d\n  username: d\n")
    token = sts.add("AKIAD", f"arn:aws:iam::{ACCOUNT}:user/d")

    assert (await api("GET", "/apis", token=token)).status == 200
    assert (await api("GET", "/version", token=None)).status == 200


async def test_static_tokens_and_add_admin(api: Request, kube: KubeSimulator, sts: FakeSts) -> None:
    token = sts.add("AKIALATE", f"arn:aws:iam::{ACCOUNT}:role/late")
    before = await api("GET", "/api/v1/namespaces", token=token)

    kube.add_admin(f"arn:aws:iam::{ACCOUNT}:role/late")
    after = await api("GET", "/api/v1/namespaces", token=token)
    extra = kube.add_static_token(username="ops")

    assert before.status == 401
    assert (await api("GET", "/api/v1/namespaces", token=ADMIN_TOKEN)).status == 200
    assert (await api("GET", "/api/v1/namespaces", token=extra)).status == 200
    assert after.status == 200


async def test_a_failing_identity_resolver_answers_401_not_a_traceback() -> None:
    async def broken(token: str) -> AwsIdentity | None:
        raise ConnectionError("STS is down")

    async with KubeSimulator(identity_resolver=broken) as kube:
        connector = aiohttp.TCPConnector(ssl=kube.ca.client_ssl_context())
        async with aiohttp.ClientSession(connector=connector) as session:
            headers = {"Authorization": f"Bearer {eks_token('AKIAANY')}"}
            async with session.get(kube.url + "/api/v1/namespaces", headers=headers) as response:
                assert response.status == 401
                assert await response.json() == UNAUTHORIZED


async def test_an_expired_eks_token_is_401_without_asking_the_resolver(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    sts.add("AKIAOLD", f"arn:aws:iam::{ACCOUNT}:role/creator")
    old = eks_token("AKIAOLD", signed_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))

    reply = await api("GET", "/api/v1/namespaces", token=old)

    assert reply.status == 401
    assert reply.json == UNAUTHORIZED
    assert sts.calls == 0


async def test_a_padded_eks_token_is_401_without_asking_the_resolver(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    """aws-iam-authenticator decodes with Go's RawURLEncoding, which refuses padding; so does the cluster."""
    token = sts.add("AKIAPAD", f"arn:aws:iam::{ACCOUNT}:role/creator")
    padded = token + "=" * (-(len(token) - len("k8s-aws-v1.")) % 4 or 4)

    accepted = await api("GET", "/api/v1/namespaces", token=token)
    refused = await api("GET", "/api/v1/namespaces", token=padded)

    assert accepted.status == 200
    assert refused.status == 401
    assert refused.json == UNAUTHORIZED
    assert sts.calls == 1


async def test_a_cluster_trusting_one_sts_endpoint_refuses_tokens_for_another_without_asking(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    token = sts.add("AKIAHOST", f"arn:aws:iam::{ACCOUNT}:role/creator")
    kube.authenticator.sts_endpoints = StsEndpoints.of_url("https://127.0.0.1:2")

    reply = await api("GET", "/api/v1/namespaces", token=token)

    assert reply.status == 401
    assert sts.calls == 0
