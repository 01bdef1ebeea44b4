"""EKS-style authentication: bearer tokens, the aws-auth mapping, caching, 401s."""

from __future__ import annotations

import datetime as dt

import aiohttp
from kube_support import ACCOUNT, ADMIN_TOKEN, FakeSts, Request, aws_auth, eks_token

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
