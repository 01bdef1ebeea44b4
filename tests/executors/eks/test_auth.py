"""The EKS bearer token, the per-cluster TLS context and the pooled Kubernetes sessions."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import ssl
from collections.abc import AsyncIterator, Mapping
from urllib.parse import parse_qsl, urlsplit

import aioboto3
import aiohttp
import pytest
import trustme
from aiohttp import web

from engine.errors import StatesError
from executors.eks import auth
from executors.eks.auth import (
    InvalidCertificateAuthority,
    KubeConnections,
    TokenProvider,
    normalize_endpoint,
    ssl_context_for_ca,
)
from executors.eks.services import EksServices
from sim.aws.sigv4 import verify_signature
from sim.aws.token import StsEndpoints, decode_eks_token
from tests.executors.conftest import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, REGION

STS_HOST = f"sts.{REGION}.amazonaws.com"
ALLOWED_QUERY_KEYS = {
    "Action",
    "Version",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
}


def static_session(session_token: str | None = None) -> aioboto3.Session:
    return aioboto3.Session(
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
        aws_session_token=session_token,
        region_name=REGION,
    )


def decode(token: str) -> str:
    body = token.removeprefix("k8s-aws-v1.")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def signature_matches(token: str, cluster: str) -> bool:
    decoded = decode_eks_token(token, trusted=StsEndpoints.named([STS_HOST]), now=dt.datetime.now(dt.UTC))
    parts = urlsplit(decoded.url)
    try:
        verify_signature(
            secret_access_key=FAKE_SECRET_KEY,
            info=decoded.info,
            method="GET",
            raw_path=parts.path,
            query_pairs=parse_qsl(parts.query, keep_blank_values=True),
            headers={"host": [decoded.host], "x-k8s-aws-id": [cluster]},
            body=b"",
        )
    except Exception:
        return False
    return True


@pytest.fixture
async def tokens(aws_env: Mapping[str, str]) -> AsyncIterator[TokenProvider]:
    provider = TokenProvider(static_session(), REGION)
    yield provider
    await provider.aclose()


async def test_token_is_the_unpadded_base64url_of_a_presigned_regional_sts_url(tokens: TokenProvider) -> None:
    token = await tokens.token("demo")
    assert token.startswith("k8s-aws-v1.")
    assert "=" not in token
    url = urlsplit(decode(token))
    assert (url.scheme, url.netloc, url.path) == ("https", STS_HOST, "/")
    query = dict(parse_qsl(url.query))
    assert set(query) <= ALLOWED_QUERY_KEYS
    assert query["Action"] == "GetCallerIdentity"
    assert query["Version"] == "2011-06-15"
    assert query["X-Amz-Expires"] == "60"
    assert query["X-Amz-SignedHeaders"].split(";") == ["host", "x-k8s-aws-id"]
    assert query["X-Amz-Credential"].startswith(f"{FAKE_ACCESS_KEY}/")
    assert f"/{REGION}/sts/aws4_request" in query["X-Amz-Credential"]


async def test_token_passes_the_authenticators_format_checks(tokens: TokenProvider) -> None:
    token = await tokens.token("demo")
    decoded = decode_eks_token(token, trusted=StsEndpoints.named([STS_HOST]), now=dt.datetime.now(dt.UTC))
    assert decoded.info.service == "sts"


async def test_the_cluster_name_is_signed_as_the_x_k8s_aws_id_header(tokens: TokenProvider) -> None:
    token = await tokens.token("demo")
    assert signature_matches(token, "demo")
    assert not signature_matches(token, "another-cluster")


async def test_temporary_credentials_put_the_session_token_in_the_query(aws_env: Mapping[str, str]) -> None:
    provider = TokenProvider(static_session(session_token="SESSION-TOKEN-VALUE"), REGION)
    try:
        query = dict(parse_qsl(urlsplit(decode(await provider.token("demo"))).query))
    finally:
        await provider.aclose()
    assert query["X-Amz-Security-Token"] == "SESSION-TOKEN-VALUE"


async def test_the_sts_endpoint_follows_aws_endpoint_url_sts(
    aws_env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "https://127.0.0.1:4443")
    services = EksServices.default()
    try:
        url = urlsplit(decode(await services.tokens.token("demo")))
    finally:
        await services.aclose()
    assert url.netloc == "127.0.0.1:4443"
    assert dict(parse_qsl(url.query))["X-Amz-Credential"].startswith(FAKE_ACCESS_KEY)


async def test_a_token_is_reused_for_13_minutes_then_renewed(
    aws_env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    minted: list[str] = []
    real_encode = auth.encode_token

    def counting_encode(url: str) -> str:
        minted.append(url)
        return real_encode(url)

    monkeypatch.setattr(auth, "encode_token", counting_encode)
    clock = [1_000_000.0]
    provider = TokenProvider(static_session(), REGION, now=lambda: clock[0])
    try:
        first = await provider.token("demo")
        clock[0] += 12 * 60
        assert await provider.token("demo") == first
        assert len(minted) == 1
        clock[0] += 2 * 60
        await provider.token("demo")
        assert len(minted) == 2
        await provider.token("other")
        assert len(minted) == 3
        provider.forget("demo")
        await provider.token("demo")
        assert len(minted) == 4
    finally:
        await provider.aclose()


async def test_a_cached_token_is_handed_out_without_await_only_while_token_would_reuse_it(
    aws_env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_000_000.0]
    monotonic = [50.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: monotonic[0])
    provider = TokenProvider(static_session(), REGION, now=lambda: clock[0])
    try:
        assert provider.cached("demo") is None
        first = await provider.token("demo")
        assert provider.cached("demo") == first
        assert provider.cached("other") is None
        monotonic[0] += auth.ACCESS_KEY_RECHECK_SECONDS
        assert provider.cached("demo") is None  # the credential chain is consulted again first
        assert await provider.token("demo") == first
        assert provider.cached("demo") == first
        clock[0] += auth.TOKEN_REUSE_SECONDS
        assert provider.cached("demo") is None  # due for renewal
        provider.forget("demo")
        assert provider.cached("demo") is None
    finally:
        await provider.aclose()


async def test_tokens_differ_per_cluster(tokens: TokenProvider) -> None:
    assert await tokens.token("a") != await tokens.token("b")


async def test_no_token_or_signature_appears_in_reprs_or_debug_logs(
    aws_env: Mapping[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    session = static_session()
    services = EksServices(session, REGION, TokenProvider(session, REGION), KubeConnections())
    with caplog.at_level(logging.DEBUG):
        token = await services.tokens.token("demo")
    try:
        signature = dict(parse_qsl(urlsplit(decode(token)).query))["X-Amz-Signature"]
        for text in (repr(services), repr(services.tokens), str(vars(services.tokens).get("_cache"))):
            assert token not in text and signature not in text
        assert token not in caplog.text
        assert signature not in caplog.text
        assert FAKE_SECRET_KEY not in caplog.text
    finally:
        await services.aclose()


async def test_missing_credentials_is_a_task_failure_with_a_clear_cause(
    aws_env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    provider = TokenProvider(aioboto3.Session(region_name=REGION), REGION)
    try:
        with pytest.raises(StatesError) as info:
            await provider.token("demo")
    finally:
        await provider.aclose()
    assert info.value.error == "States.TaskFailed"
    assert "credentials" in (info.value.cause or "")


# --- TLS --------------------------------------------------------------------------------------


def ca_b64(ca: trustme.CA) -> str:
    return base64.b64encode(ca.cert_pem.bytes()).decode()


@pytest.fixture(scope="module")
def cluster_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def api_server(cluster_ca: trustme.CA) -> AsyncIterator[str]:
    """An HTTPS server on 127.0.0.1 whose certificate the cluster CA issued."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cluster_ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"path": request.path, "auth": request.headers.get("Authorization")})

    app = web.Application()
    app.router.add_get("/{tail:.*}", echo)
    app.router.add_post("/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def test_the_tls_context_always_verifies_the_certificate_and_host_name(cluster_ca: trustme.CA) -> None:
    context = ssl_context_for_ca(ca_b64(cluster_ca))
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert ssl_context_for_ca(ca_b64(cluster_ca)) is context


@pytest.mark.parametrize(
    "bad",
    ["not base64 at all!", base64.b64encode(b"-----BEGIN CERTIFICATE-----\ngarbage\n").decode(), ""],
)
def test_an_invalid_certificate_authority_is_a_task_failure(bad: str) -> None:
    with pytest.raises(InvalidCertificateAuthority) as info:
        ssl_context_for_ca(bad)
    assert info.value.error == "States.TaskFailed"
    assert "CertificateAuthority" in (info.value.cause or "")


async def test_a_session_trusts_the_clusters_ca(api_server: str, cluster_ca: trustme.CA) -> None:
    connections = KubeConnections()
    try:
        session = connections.session(api_server, ca_b64(cluster_ca))
        async with session.post(f"{api_server}/api", json={"a": 1}) as response:
            assert response.status == 200
            assert (await response.json())["path"] == "/api"
    finally:
        await connections.aclose()


async def test_a_session_with_the_wrong_ca_fails_verification(api_server: str) -> None:
    connections = KubeConnections()
    try:
        session = connections.session(api_server, ca_b64(trustme.CA()))
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with session.get(f"{api_server}/api"):
                pass
    finally:
        await connections.aclose()


async def test_a_certificate_for_another_host_name_fails_verification(
    cluster_ca: trustme.CA, api_server: str
) -> None:
    # Reaching 127.0.0.1 by the name "localhost" works; a server certificate
    # issued for a different name must not.
    other_ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    other_ca.issue_cert("api.other.example").configure_cert(server_ctx)
    app = web.Application()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = runner.addresses[0][1]
    connections = KubeConnections()
    try:
        session = connections.session(f"https://127.0.0.1:{port}", ca_b64(other_ca))
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with session.get(f"https://127.0.0.1:{port}/"):
                pass
    finally:
        await connections.aclose()
        await runner.cleanup()


async def test_one_session_per_endpoint_and_ca_is_reused(cluster_ca: trustme.CA) -> None:
    connections = KubeConnections()
    try:
        a = connections.session("https://10.0.0.1:443", ca_b64(cluster_ca))
        assert connections.session("https://10.0.0.1:443/", ca_b64(cluster_ca)) is a
        assert connections.session("https://10.0.0.1:443", ca_b64(trustme.CA())) is not a
        assert connections.session("https://10.0.0.2:443", ca_b64(cluster_ca)) is not a
        assert len(connections.sessions) == 3
    finally:
        await connections.aclose()
    assert a.closed


@pytest.mark.parametrize(
    "endpoint",
    ["http://10.0.0.1", "10.0.0.1:443", "https://user:pw@10.0.0.1", "https://10.0.0.1/path", "https://"],
)
def test_an_endpoint_that_is_not_an_https_origin_is_refused(endpoint: str) -> None:
    with pytest.raises(StatesError) as info:
        normalize_endpoint(endpoint)
    assert info.value.error == "States.TaskFailed"


def test_endpoint_normalization_keeps_host_and_port() -> None:
    assert normalize_endpoint("https://ABC.gr7.us-east-1.eks.amazonaws.com/") == (
        "https://abc.gr7.us-east-1.eks.amazonaws.com"
    )
    assert normalize_endpoint("https://127.0.0.1:8443") == "https://127.0.0.1:8443"
    assert normalize_endpoint("https://[::1]:8443") == "https://[::1]:8443"
