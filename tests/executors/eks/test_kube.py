"""KubeClient against a small recording HTTPS server: auth, TLS, error mapping, path confinement.

The server here is deliberately dumb (it records what arrives and answers what
the test set up), so each test states exactly what reached the wire.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import anyio
import pytest
import trustme
from aiohttp import web

from engine.errors import StatesError, StatesRuntime
from executors.eks.kube import KubeClient, check_api_path
from executors.eks.services import EksServices
from tests.support.eks import StaticTokens

GOOD_TOKEN = "k8s-aws-v1.c2VjcmV0LXRva2Vu"
UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


@pytest.fixture
def tokens() -> StaticTokens:
    return StaticTokens(GOOD_TOKEN)


@dataclass
class Seen:
    method: str
    raw_path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """What the fake API server received, and the answer it gives per (method, path)."""

    seen: list[Seen] = field(default_factory=list)
    answers: dict[tuple[str, str], Callable[[web.Request, bytes], web.Response]] = field(default_factory=dict)


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.json_response(body, status=code)


def _app(recorder: Recorder) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        recorder.seen.append(
            Seen(request.method, request.raw_path, list(request.query.items()), dict(request.headers), body)
        )
        if request.headers.get("Authorization") != f"Bearer {GOOD_TOKEN}":
            return web.json_response(UNAUTHORIZED, status=401)
        answer = recorder.answers.get((request.method, request.path))
        if answer is None:
            return _status(404, "NotFound", f"the server could not find {request.path}")
        return answer(request, body)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@dataclass
class FakeServer:
    url: str
    ca_b64: str
    other_ca_b64: str
    recorder: Recorder


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    ca = trustme.CA()
    other = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    recorder = Recorder()
    runner = web.AppRunner(_app(recorder))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield FakeServer(
            f"https://127.0.0.1:{port}",
            base64.b64encode(ca.cert_pem.bytes()).decode(),
            base64.b64encode(other.cert_pem.bytes()).decode(),
            recorder,
        )
    finally:
        await runner.cleanup()


def _client(services: EksServices, server: FakeServer, ca_b64: str | None = None) -> KubeClient:
    return services.new_kube_client("demo", server.url, ca_b64 or server.ca_b64)


async def test_request_sends_the_bearer_token_and_returns_the_parsed_body(
    server: FakeServer, services: EksServices, tokens: StaticTokens
) -> None:
    server.recorder.answers[("GET", "/api/v1/namespaces/default/pods")] = lambda request, body: (
        web.json_response({"kind": "PodList", "items": []})
    )
    response = await _client(services, server).request(
        "GET", "/api/v1/namespaces/default/pods", query={"labelSelector": ["job-name=pi"], "x": ["1", "2"]}
    )
    assert response.status == 200 and response.reason == "OK"
    assert response.value() == {"kind": "PodList", "items": []}
    seen = server.recorder.seen[-1]
    assert seen.headers["Authorization"] == f"Bearer {GOOD_TOKEN}"
    assert seen.query == [("labelSelector", "job-name=pi"), ("x", "1"), ("x", "2")]
    assert tokens.asked == ["demo"]


async def test_a_non_2xx_answer_becomes_eks_status_with_the_documented_cause(
    server: FakeServer, services: EksServices
) -> None:
    with pytest.raises(StatesError) as caught:
        await _client(services, server).request("GET", "/apis/batch/v1/namespaces/default/jobs/missing")
    assert caught.value.error == "EKS.404"
    cause = json.loads(caught.value.cause or "")
    assert set(cause) == {"ResponseBody", "StatusCode", "StatusText"}
    assert cause["StatusCode"] == 404 and cause["StatusText"] == "Not Found"
    assert cause["ResponseBody"]["reason"] == "NotFound"


async def test_an_unmapped_token_fails_with_eks_401_exactly_as_documented_and_is_forgotten(
    server: FakeServer, services: EksServices, tokens: StaticTokens
) -> None:
    tokens.value = "k8s-aws-v1.d3Jvbmc"
    with pytest.raises(StatesError) as caught:
        await _client(services, server).request("GET", "/api/v1/namespaces")
    assert caught.value.error == "EKS.401"
    assert json.loads(caught.value.cause or "") == {
        "ResponseBody": UNAUTHORIZED,
        "StatusCode": 401,
        "StatusText": "Unauthorized",
    }
    assert "k8s-aws-v1" not in (caught.value.cause or "")
    # The first 401 renews the token and sends again; the second is the answer.
    assert tokens.forgotten == ["demo", "demo"]
    assert tokens.asked == ["demo", "demo"]
    assert [seen.raw_path for seen in server.recorder.seen] == ["/api/v1/namespaces"] * 2


async def test_a_server_whose_certificate_another_ca_signed_is_refused(
    server: FakeServer, services: EksServices
) -> None:
    with pytest.raises(StatesError) as caught:
        await _client(services, server, server.other_ca_b64).request("GET", "/api/v1/namespaces")
    assert caught.value.error == "States.TaskFailed"
    assert "TLS" in (caught.value.cause or "")
    assert GOOD_TOKEN not in str(caught.value)
    assert server.recorder.seen == []


async def test_an_invalid_certificate_authority_is_a_clear_task_error(services: EksServices) -> None:
    with pytest.raises(StatesError) as caught:
        services.new_kube_client("demo", "https://127.0.0.1:1", "not base64 at all!")
    assert caught.value.error == "States.TaskFailed"
    assert "CertificateAuthority" in (caught.value.cause or "")


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:1",
        "127.0.0.1:1",
        "https://user:pw@127.0.0.1:1",
        "https://127.0.0.1:1/prefix",
        "https://127.0.0.1:1/?a=b",
    ],
)
async def test_an_endpoint_that_is_not_an_https_origin_is_refused(
    services: EksServices, endpoint: str
) -> None:
    with pytest.raises(StatesError) as caught:
        services.new_kube_client("demo", endpoint, base64.b64encode(trustme.CA().cert_pem.bytes()).decode())
    assert caught.value.error == "States.TaskFailed"


ESCAPES = [
    "https://evil.example/api",
    "http:/api",
    "api/v1/pods",
    "//evil.example/api",
    "/api/../../etc",
    "/api/%2e%2e/secret",
    "/api/%2E%2E/secret",
    "/api/%252e%252e/secret",
    "/api/.%2e/secret",
    "/api/./pods",
    "/api\\..\\x",
    "/api/%5c../x",
    "/api/v1/pods?x=1",
    "/api/v1/pods#frag",
    "/api/v1/pods x",
    "/api/v1/\npods",
]


@pytest.mark.parametrize("path", ESCAPES)
async def test_a_path_that_could_leave_the_endpoint_is_refused_before_any_request(
    server: FakeServer, services: EksServices, path: str
) -> None:
    assert check_api_path(path) is not None
    with pytest.raises(StatesRuntime):
        await _client(services, server).request("GET", path)
    assert server.recorder.seen == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/namespaces/default/pods",
        "/apis/batch/v1/namespaces/a-b/jobs/x.y",
        "/api/v1/namespaces/default/pods/p%2Dq/log",
        "/version",
        "/",
    ],
)
def test_ordinary_kubernetes_paths_are_allowed(path: str) -> None:
    assert check_api_path(path) is None


async def test_typed_operations_run_over_the_shared_pool_and_keep_kubernetes_casing(
    server: FakeServer, services: EksServices
) -> None:
    created = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "pi",
            "namespace": "default",
            "uid": "u-1",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "futureField": {"x": 1},
        },
        "spec": {"backoffLimit": 0},
    }
    server.recorder.answers[("POST", "/apis/batch/v1/namespaces/default/jobs")] = lambda request, body: (
        web.json_response(created, status=201)
    )
    server.recorder.answers[("DELETE", "/apis/batch/v1/namespaces/default/jobs/pi")] = lambda request, body: (
        web.json_response({"kind": "Status", "status": "Success"})
    )
    client = _client(services, server)
    manifest = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"}}
    job = await client.create_job("default", manifest)
    assert job == created
    await client.delete_job("default", "pi", "Foreground", uid="u-1")
    await client.create_job("default", {"metadata": {"name": "pi"}})
    post, delete = server.recorder.seen[0], server.recorder.seen[1]
    assert json.loads(post.body)["metadata"] == {"name": "pi"}
    assert post.headers["Authorization"] == f"Bearer {GOOD_TOKEN}"
    assert ("propagationPolicy", "Foreground") in delete.query
    assert json.loads(delete.body)["preconditions"] == {"uid": "u-1"}
    # One cluster, one aiohttp session (reads have the lean pool), still open for the next call.
    sessions = list(services.connections.sessions.values())
    assert len(sessions) == 1 and not sessions[0].closed


async def test_read_log_passes_the_container_and_log_parameters_and_returns_text(
    server: FakeServer, services: EksServices
) -> None:
    server.recorder.answers[("GET", "/api/v1/namespaces/default/pods/pi-abc/log")] = lambda request, body: (
        web.Response(text='{"pi": 3.14}\n', content_type="text/plain")
    )
    text = await _client(services, server).read_log(
        "default", "pi-abc", "main", {"tailLines": ["6"], "limitBytes": ["100"]}
    )
    assert text == '{"pi": 3.14}\n'
    query = server.recorder.seen[-1].query
    assert query == [("container", "main"), ("tailLines", "6"), ("limitBytes", "100")]


async def test_head_has_no_body_and_string_bodies_are_sent_as_given(
    server: FakeServer, services: EksServices
) -> None:
    server.recorder.answers[("HEAD", "/api")] = lambda request, body: web.Response(status=200)
    server.recorder.answers[("POST", "/api")] = lambda request, body: web.Response(status=201, text="made")
    client = _client(services, server)
    head = await client.request("HEAD", "/api", body={"ignored": True})
    assert head.value() is None and server.recorder.seen[-1].body == b""
    post = await client.request("POST", "/api", body="kind: X\n", content_type="application/yaml")
    assert post.status == 201 and post.value() == "made"
    assert server.recorder.seen[-1].body == b"kind: X\n"
    assert server.recorder.seen[-1].headers["Content-Type"] == "application/yaml"


async def test_reads_do_not_queue_behind_writes_that_hold_every_connection(
    server: FakeServer, services: EksServices
) -> None:
    server.recorder.answers[("GET", "/apis/batch/v1/namespaces/default/jobs/pi")] = lambda request, body: (
        web.json_response({"kind": "Job", "metadata": {"name": "pi"}})
    )
    client = _client(services, server)
    writes = services.connections.request_slots(server.url, server.ca_b64)
    held = 0
    while writes.try_acquire():
        held += 1
    assert held > 0  # every write slot is taken
    with anyio.fail_after(5):
        job = await client.get_job("default", "pi")
    assert job["metadata"] == {"name": "pi"}
    waiter = writes.enqueue()
    assert not waiter.done()
    writes.abandon(waiter)
