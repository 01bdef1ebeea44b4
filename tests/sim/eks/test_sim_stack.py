"""The Simulators stack: TLS that clients must verify, plain HTTP on request, injected AWS faults."""

from __future__ import annotations

import base64
import json
import ssl
from typing import Any

import aioboto3
import aiohttp
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, SSLError

from sim.faults import FaultConfig
from sim.stack import Simulators

NO_RETRIES = Config(retries={"max_attempts": 1})


def session_for(stack: Simulators) -> Any:
    return aioboto3.Session(
        aws_access_key_id=stack.access_key_id,
        aws_secret_access_key=stack.secret_access_key,
        region_name=stack.region,
    )


async def test_clients_configured_only_by_the_environment_verify_tls_with_the_ca_bundle(
    simulators: Simulators, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in simulators.env().items():
        monkeypatch.setenv(key, value)

    async with aioboto3.Session().client("eks", config=NO_RETRIES) as eks:
        assert (await eks.list_clusters())["clusters"] == ["demo"]
        cluster = (await eks.describe_cluster(name="demo"))["cluster"]
    assert cluster["endpoint"] == simulators.cluster("demo").url

    monkeypatch.delenv("AWS_CA_BUNDLE")
    async with aioboto3.Session().client("eks", config=NO_RETRIES) as eks:
        with pytest.raises(SSLError):
            await eks.list_clusters()


async def test_kubeconfig_names_the_endpoint_the_ca_and_a_working_token(simulators: Simulators) -> None:
    config = simulators.kubeconfig("demo")
    cluster = config["clusters"][0]["cluster"]
    token = config["users"][0]["user"]["token"]
    assert config["current-context"] == "arn:aws:eks:us-east-1:111122223333:cluster/demo"

    context = ssl.create_default_context(
        cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(
            cluster["server"] + "/api/v1/namespaces/default",
            ssl=context,
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 200
            assert json.loads(await response.text())["metadata"]["name"] == "default"


@pytest.mark.parametrize("simulators_options", [{"tls": False}])
async def test_plain_http_is_available_when_asked_for_and_tokens_still_work(simulators: Simulators) -> None:
    assert simulators.eks_url.startswith("http://")
    assert "AWS_CA_BUNDLE" not in simulators.env()
    async with session_for(simulators).client(
        "eks", endpoint_url=simulators.eks_url, config=NO_RETRIES
    ) as eks:
        assert (await eks.list_clusters())["clusters"] == ["demo"]
    caller = simulators.sts.resolve_token(simulators.token("demo"), "demo")
    assert caller.account == "111122223333"


@pytest.mark.parametrize(
    "simulators_options", [{"demo_cluster": None, "aws_faults": FaultConfig(throttle_rate=1.0)}]
)
async def test_injected_faults_answer_with_aws_error_codes(simulators: Simulators) -> None:
    session = session_for(simulators)
    async with session.client(
        "eks", endpoint_url=simulators.eks_url, verify=simulators.ca_bundle_path, config=NO_RETRIES
    ) as eks:
        with pytest.raises(ClientError) as caught:
            await eks.list_clusters()
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429

    async with session.client(
        "sts", endpoint_url=simulators.sts_url, verify=simulators.ca_bundle_path, config=NO_RETRIES
    ) as sts:
        with pytest.raises(ClientError) as caught:
            await sts.get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "Throttling"
