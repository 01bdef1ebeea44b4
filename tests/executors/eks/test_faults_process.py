"""runJob.sync executions against a Kubernetes API server in another process that dies, restarts or hurries.

The simulator runs as ``python -m sim.kube`` (``sim.kube.process.KubeProcess``),
so it can be SIGKILLed like a real API server and come back on the same
address, CA and token without its objects. The invariant of every test: each
execution ends, and ends right — SUCCEEDED when its Job completed, otherwise
the error AWS's integration gives (``EKS.404`` for a Job that no longer
exists, ``States.TaskFailed`` naming the endpoint when the API server stays
unreachable); none waits forever.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import pytest

from engine import Engine, ExecutorRegistry
from engine.errors import StatesError
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from executors.eks import EksExecutor, register
from executors.eks.call import eks_call
from executors.eks.services import EksServices
from sim.kube.process import KubeProcess
from tests.executors.eks.test_watch import TOKEN, manifest, until

pytestmark = pytest.mark.slow

RUN_LIMIT_SECONDS = 120.0


@pytest.fixture
async def kube_process() -> AsyncIterator[KubeProcess]:
    async with KubeProcess(TOKEN) as process:
        yield process


def machine(kube: KubeProcess, *, state: str = "Run", logs: bool = False) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "ClusterName": "demo",
        "CertificateAuthority": kube.ca_b64,
        "Endpoint": kube.url,
        "Job.$": "$.job",
    }
    if logs:
        parameters["LogOptions"] = {"RetrieveLogs": True}
    name = state
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::eks:runJob.sync",
        "Parameters": parameters,
        "End": True,
    }
    return {"StartAt": name, "States": {name: task}}


def engine_for(services: EksServices, **options: object) -> Engine:
    registry = ExecutorRegistry()
    register(registry, EksExecutor(services))
    return Engine(
        load_plugins=False,
        registry=registry,
        executor_options=dict(options),
        state_options={"RunBatched": {"poll_policy": "batched:0.2"}},
    )


async def kube_get(kube: KubeProcess, path: str, **query: str) -> tuple[int, Any]:
    context = ssl.create_default_context(cadata=base64.b64decode(kube.ca_b64).decode())
    async with (
        aiohttp.ClientSession() as session,
        session.get(kube.url + path, params=query, ssl=context, headers={"Authorization": f"Bearer {TOKEN}"}) as r,
    ):
        return r.status, await r.json(content_type=None)


async def test_parked_and_batched_waiters_fail_naming_the_endpoint_when_the_api_server_dies(
    kube_process: KubeProcess, services: EksServices
) -> None:
    """Waiters parked on the shared watch, and waiters on the batched lister, all end once the server is gone."""
    async with engine_for(services) as engine:
        watched = engine.compile(machine(kube_process))
        batched = engine.compile(machine(kube_process, state="RunBatched"))
        executions = [engine.start(watched, {"job": manifest(f"w-{i}", seconds=3600)}) for i in range(30)]
        executions += [
            engine.start(batched, {"job": manifest(f"b-{i}", seconds=3600)}, name=f"b-{i}") for i in range(10)
        ]
        await until(lambda: sum(e.parked for e in executions) >= 30, timeout=30)
        await kube_process.kill()
        with anyio.fail_after(RUN_LIMIT_SECONDS):
            results = [await e.wait() for e in executions]
    assert {r.status for r in results} == {"FAILED"}
    assert {r.error for r in results} == {"States.TaskFailed"}
    assert all(kube_process.url in str(r.cause) for r in results), {r.cause for r in results}


async def test_executions_end_with_eks_404_when_the_api_server_comes_back_without_their_jobs(
    kube_process: KubeProcess, services: EksServices
) -> None:
    """Restarted on the same address, CA and token but empty: the watch relists and the Jobs are gone."""
    async with engine_for(services) as engine:
        compiled = engine.compile(machine(kube_process))
        executions = [engine.start(compiled, {"job": manifest(f"r-{i}", seconds=3600)}) for i in range(30)]
        await until(lambda: all(e.parked for e in executions), timeout=30)
        await kube_process.restart()
        with anyio.fail_after(RUN_LIMIT_SECONDS):
            results = [await e.wait() for e in executions]
        # The same engine runs a new Job on the restarted server to the end.
        after = await engine.start(compiled, {"job": manifest("after-restart", seconds=0.2)}).wait()
    assert {r.error for r in results} == {"EKS.404"}
    assert all('not found' in str(r.cause) for r in results)
    assert after.status == "SUCCEEDED", (after.error, after.cause)


async def test_a_watch_from_a_resource_version_the_server_never_issued_is_refused_as_too_large(
    kube_process: KubeProcess,
) -> None:
    status, body = await kube_get(
        kube_process, "/apis/batch/v1/namespaces/default/jobs", watch="1", resourceVersion="99999999"
    )
    assert status == 504
    assert body["reason"] == "Timeout"
    assert body["message"].startswith("Too large resource version: 99999999, current: ")
    assert body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


def ttl_zero(name: str, seconds: float) -> dict[str, Any]:
    job = manifest(name, seconds=seconds)
    job["spec"]["ttlSecondsAfterFinished"] = 0
    return job


async def test_jobs_deleted_as_they_finish_still_succeed_with_best_effort_logs(
    kube_process: KubeProcess, services: EksServices
) -> None:
    """ttlSecondsAfterFinished: 0 — the Job is gone right after Complete; the execution still succeeds."""
    async with engine_for(services) as engine:
        plain = engine.compile(machine(kube_process))
        with_logs = engine.compile(machine(kube_process, logs=True))
        executions = [engine.start(plain, {"job": ttl_zero(f"t-{i}", 0.05 * (i % 5))}) for i in range(60)]
        executions += [engine.start(with_logs, {"job": ttl_zero(f"l-{i}", 0.1)}) for i in range(10)]
        with anyio.fail_after(RUN_LIMIT_SECONDS):
            results = [await e.wait() for e in executions]
    assert [(r.status, r.error) for r in results] == [("SUCCEEDED", None)] * len(results)
    for result in results[60:]:
        logs = result.output["logs"]
        # Best effort: the log, or an error and cause in its place, never a failed Task.
        if "pods" in logs:
            for pod in logs["pods"].values():
                for entry in pod["containers"].values():
                    assert "log" in entry or {"error", "cause"} <= set(entry)
        else:
            assert {"error", "cause"} <= set(logs)
    status, listing = await kube_get(kube_process, "/apis/batch/v1/namespaces/default/jobs")
    assert status == 200
    assert listing["items"] == []  # every Job was deleted as it finished


async def _raw_exchange(kube: KubeProcess, request: bytes, *, body_bytes: int = 0) -> bytes:
    context = ssl.create_default_context(cadata=base64.b64decode(kube.ca_b64).decode())
    host, port = kube.url.removeprefix("https://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port), ssl=context, server_hostname=host)
    writer.write(request)
    chunk = b"x" * 65536
    with anyio.move_on_after(5), contextlib.suppress(ConnectionError):
        sent = 0
        while sent < body_bytes:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
            if reader.at_eof() or len(reader._buffer) > 0:  # the server answered early
                break
    answer = await reader.read(65536)
    writer.close()
    return answer


async def test_a_huge_request_body_is_refused_with_413_and_no_traceback(kube_process: KubeProcess) -> None:
    size = 100 * 1024 * 1024
    head = (
        "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    answer = await _raw_exchange(kube_process, head, body_bytes=size)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"RequestEntityTooLarge" in answer
    await kube_process.close()
    assert "Traceback" not in kube_process.stderr, kube_process.stderr


async def read_until_closed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    try:
        return await reader.read()
    except (ConnectionError, ssl.SSLError):
        return b""  # closed by the server (reset)
    finally:
        writer.close()


async def test_connections_that_send_their_headers_too_slowly_are_closed(services: EksServices) -> None:
    async with KubeProcess(TOKEN, ["--header-timeout", "1", "--handshake-timeout", "2"]) as kube:
        context = ssl.create_default_context(cadata=base64.b64decode(kube.ca_b64).decode())
        host, port = kube.url.removeprefix("https://").split(":")

        async def slow_headers() -> bytes:
            try:
                reader, writer = await asyncio.open_connection(host, int(port), ssl=context, server_hostname=host)
            except (ConnectionError, ssl.SSLError, TimeoutError):
                return b""  # on a loaded machine the handshake itself may outlast its timeout: closed too
            writer.write(b"GET /version HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            await writer.drain()
            return await read_until_closed(reader, writer)

        async def silent() -> bytes:
            reader, writer = await asyncio.open_connection(host, int(port))  # no TLS handshake at all
            return await read_until_closed(reader, writer)

        with anyio.fail_after(30):
            answers = await asyncio.gather(*(slow_headers() for _ in range(100)), *(silent() for _ in range(100)))
        assert answers == [b""] * 200  # closed without an answer
        # A well-behaved client is still served.
        status, body = await kube_get(kube, "/version")
        assert status == 200
        assert "gitVersion" in body
    assert "Traceback" not in kube.stderr, kube.stderr


async def test_job_creation_goes_through_throttling_server_errors_and_dropped_connections_once(
    services: EksServices,
) -> None:
    """No Retry on the Task: every create is retried or read back, no Job is made twice, no EKS.409 for our own."""
    async with KubeProcess(TOKEN, ["--fault-rate", "0.15", "--drop-rate", "0.05", "--fault-seed", "3"]) as kube:
        async with engine_for(services) as engine:
            compiled = engine.compile(machine(kube))
            inputs = []
            for i in range(80):
                job = manifest(f"c-{i}", seconds=0.2)
                if i % 2:
                    job["metadata"] = {"generateName": f"g-{i}-"}
                inputs.append({"job": job})
            executions = [engine.start(compiled, item) for item in inputs]
            with anyio.fail_after(RUN_LIMIT_SECONDS):
                results = [await e.wait() for e in executions]
        status, listing = None, None
        for _ in range(20):  # the listing itself may meet an injected fault
            status, listing = await kube_get(kube, "/apis/batch/v1/namespaces/default/jobs")
            if status == 200:
                break
    assert [(r.status, r.error, r.cause) for r in results] == [("SUCCEEDED", None, None)] * 80
    assert listing is not None
    names = sorted(item["metadata"]["name"] for item in listing["items"])
    assert len(names) == 80  # one Job per execution, none twice
    assert sorted(r.output["metadata"]["name"] for r in results) == names


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
async def test_an_eks_call_path_with_non_ascii_characters_is_percent_encoded(
    kube_process: KubeProcess, services: EksServices, method: str
) -> None:
    """A namespace named ``中文`` is looked up by the API server (and not found), whatever the method."""
    parameters: dict[str, Any] = {
        "ClusterName": "demo",
        "CertificateAuthority": kube_process.ca_b64,
        "Endpoint": kube_process.url,
        "Method": method,
        "Path": "/api/v1/namespaces/中文" if method != "POST" else "/api/v1/namespaces/中文/configmaps",
    }
    if method == "POST":
        parameters["RequestBody"] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    call = ExecutorCall(
        resource="arn:aws:states:::eks:call", service="eks", action="call",
        pattern=IntegrationPattern.REQUEST_RESPONSE, parameters=parameters,
    )  # fmt: skip
    ctx = ExecutorContext(
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:sm:run",
        execution_name="run",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:sm",
        state_name="Call",
    )
    with pytest.raises(StatesError) as caught:
        await eks_call(call, ctx, services)
    assert caught.value.error == "EKS.404", caught.value.cause
    if method != "HEAD":
        assert 'namespaces \\"中文\\" not found' in str(caught.value.cause)
