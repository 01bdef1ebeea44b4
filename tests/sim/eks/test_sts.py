"""STS GetCallerIdentity, SigV4 authentication of EKS and STS, and EKS token resolution."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import aiohttp
import boto3
import pytest
from botocore.exceptions import ClientError

from sim.aws.token import TokenError, make_eks_token
from sim.stack import Simulators

OTHER_KEY = "AKIAOTHERPRINCIPAL01"
OTHER_ARN = "arn:aws:iam::222233334444:user/alice"


@pytest.fixture
def simulators_options() -> dict[str, Any]:
    return {"kube_servers": False, "demo_cluster": None, "identities": [f"{OTHER_KEY}={OTHER_ARN}"]}


def botocore_token(stack: Simulators, cluster: str, *, secret: str | None = None) -> str:
    """A token made exactly as the aws CLI makes one, with botocore's presigner."""
    client = boto3.client(
        "sts",
        endpoint_url=stack.sts_url,
        region_name=stack.region,
        aws_access_key_id=stack.access_key_id,
        aws_secret_access_key=secret or stack.secret_access_key,
    )

    def move_cluster_id(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["x-k8s-aws-id"] = params.pop("ClusterId")

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-k8s-aws-id"] = request.context["x-k8s-aws-id"]

    client.meta.events.register("provide-client-params.sts.GetCallerIdentity", move_cluster_id)
    client.meta.events.register("before-sign.sts.GetCallerIdentity", add_header)
    url = client.generate_presigned_url(
        "get_caller_identity", Params={"ClusterId": cluster}, ExpiresIn=60, HttpMethod="GET"
    )
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


async def test_get_caller_identity_reports_the_default_role_as_an_assumed_role_session(
    simulators: Simulators, aws_client: Any
) -> None:
    async with aws_client("sts") as sts:
        answer = await sts.get_caller_identity()

    assert answer["Account"] == "111122223333"
    assert answer["Arn"] == "arn:aws:sts::111122223333:assumed-role/statewright-sim/statewright-sim"
    assert answer["UserId"].startswith("AROA") and answer["UserId"].endswith(":statewright-sim")
    assert simulators.identities.default.arn == "arn:aws:iam::111122223333:role/statewright-sim"


async def test_an_identity_added_by_option_is_served_without_checking_its_secret(aws_client: Any) -> None:
    async with aws_client("sts", access_key_id=OTHER_KEY, secret_access_key="anything") as sts:
        answer = await sts.get_caller_identity()

    assert answer["Arn"] == OTHER_ARN
    assert answer["Account"] == "222233334444"


async def test_unknown_access_key_is_invalid_client_token_id_on_sts_and_unrecognized_client_on_eks(
    aws_client: Any,
) -> None:
    async with aws_client("sts", access_key_id="AKIAUNKNOWN000000000", secret_access_key="x") as sts:
        with pytest.raises(ClientError) as caught:
            await sts.get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    async with aws_client("eks", access_key_id="AKIAUNKNOWN000000000", secret_access_key="x") as eks:
        with pytest.raises(ClientError) as caught:
            await eks.list_clusters()
    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


async def test_a_wrong_secret_fails_signature_verification(simulators: Simulators, aws_client: Any) -> None:
    async with aws_client("sts", secret_access_key="not-the-secret") as sts:
        with pytest.raises(ClientError) as caught:
            await sts.get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"

    async with aws_client("eks", secret_access_key="not-the-secret") as eks:
        with pytest.raises(ClientError) as caught:
            await eks.list_clusters()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"


async def test_requests_without_credentials_are_refused_as_aws_refuses_them(simulators: Simulators) -> None:
    assert simulators.ca is not None
    ssl_context = simulators.ca.client_ssl_context()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{simulators.eks_url}/clusters", ssl=ssl_context) as response:
            assert response.status == 403
            assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
            assert json.loads(await response.text()) == {"message": "Missing Authentication Token"}
        async with session.post(
            f"{simulators.sts_url}/",
            data="Action=GetCallerIdentity&Version=2011-06-15",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            ssl=ssl_context,
        ) as response:
            assert response.status == 403
            body = json.loads(await response.text())
            assert body["Error"]["Code"] == "MissingAuthenticationToken"


async def test_sts_answers_json_when_the_client_accepts_json(simulators: Simulators) -> None:
    token = simulators.token("c1")
    url = base64.urlsafe_b64decode(token[len("k8s-aws-v1.") :] + "==").decode()
    assert simulators.ca is not None
    async with aiohttp.ClientSession() as session:
        async with session.get(
            url,
            headers={"x-k8s-aws-id": "c1", "Accept": "application/json"},
            ssl=simulators.ca.client_ssl_context(),
        ) as response:
            assert response.status == 200
            body = json.loads(await response.text())
    result = body["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
    assert result["Arn"] == "arn:aws:sts::111122223333:assumed-role/statewright-sim/statewright-sim"
    assert body["GetCallerIdentityResponse"]["ResponseMetadata"]["RequestId"]


async def test_a_token_presigned_by_botocore_resolves_to_the_caller_for_its_own_cluster_only(
    simulators: Simulators,
) -> None:
    token = botocore_token(simulators, "c1")

    caller = simulators.sts.resolve_token(token, "c1")
    assert caller.arn == "arn:aws:sts::111122223333:assumed-role/statewright-sim/statewright-sim"

    with pytest.raises(TokenError, match="SignatureDoesNotMatch"):
        simulators.sts.resolve_token(token, "other-cluster")


async def test_tokens_the_authenticator_would_refuse_are_refused(simulators: Simulators) -> None:
    sts = simulators.sts
    good = simulators.token("c1")
    with pytest.raises(TokenError, match="prefix"):
        sts.resolve_token(good.replace("k8s-aws-v1.", "k8s-aws-v2."), "c1")
    with pytest.raises(TokenError, match="unpadded"):
        sts.resolve_token(good + "=", "c1")
    with pytest.raises(TokenError, match="too large"):
        sts.resolve_token("k8s-aws-v1." + "A" * 5000, "c1")

    elsewhere = make_eks_token(
        sts_url="https://sts.example.com",
        cluster_name="c1",
        access_key_id=simulators.access_key_id,
        secret_access_key=simulators.secret_access_key,
        region=simulators.region,
        now=dt.datetime.now(dt.UTC),
    )
    with pytest.raises(TokenError, match="host"):
        sts.resolve_token(elsewhere, "c1")

    expired = make_eks_token(
        sts_url=simulators.sts_url,
        cluster_name="c1",
        access_key_id=simulators.access_key_id,
        secret_access_key=simulators.secret_access_key,
        region=simulators.region,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16),
    )
    with pytest.raises(TokenError, match="expired"):
        sts.resolve_token(expired, "c1")

    url = base64.urlsafe_b64decode(good[len("k8s-aws-v1.") :] + "==").decode()
    extra = "k8s-aws-v1." + base64.urlsafe_b64encode((url + "&Foo=bar").encode()).decode().rstrip("=")
    with pytest.raises(TokenError, match="non-allowlisted"):
        sts.resolve_token(extra, "c1")

    unknown = make_eks_token(
        sts_url=simulators.sts_url,
        cluster_name="c1",
        access_key_id="AKIAUNKNOWN000000000",
        secret_access_key="x",
        region=simulators.region,
        now=dt.datetime.now(dt.UTC),
    )
    with pytest.raises(TokenError, match="InvalidClientTokenId"):
        sts.resolve_token(unknown, "c1")


async def test_eks_accepts_a_presigned_url_and_learns_the_caller_from_its_query(
    simulators: Simulators,
) -> None:
    client = boto3.client(
        "eks",
        endpoint_url=simulators.eks_url,
        region_name=simulators.region,
        aws_access_key_id=simulators.access_key_id,
        aws_secret_access_key=simulators.secret_access_key,
    )
    url = client.generate_presigned_url("list_clusters", Params={}, ExpiresIn=60)
    assert simulators.ca is not None
    async with aiohttp.ClientSession() as session:
        async with session.get(url, ssl=simulators.ca.client_ssl_context()) as response:
            assert response.status == 200
            assert json.loads(await response.text()) == {"clusters": []}
        tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
        async with session.get(tampered, ssl=simulators.ca.client_ssl_context()) as response:
            assert response.status == 403
            assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
