"""CPU per keep-alive TLS GET: the lean read client (``executors.eks.http1``) against aiohttp.

The polling hot path is one GET of a Job per poll, so the client's CPU per
request bounds how many executions one process can poll. This measures it the
way that matters on a loaded machine: ``time.process_time()`` of this process
(the server runs in a child process, so its CPU is not counted) over many
sequential GETs on one keep-alive connection, repeated, medians reported.

* ``lean``: ``LeanPool.request`` and the body read, as ``KubeClient`` does;
* ``aiohttp``: ``ClientSession.get`` and ``read()`` on a verifying TLS connector;
* ``lean_parse``: the lean client's answer parsing alone (no socket), one
  Job answer fed to a connection in one piece.

The answer is a realistic Job object (about 3 KB of JSON, ``Content-Length``).
One JSON line per client and run summary::

    python -m benchmarks.http_get [--requests 2000] [--repeat 7] [--loop asyncio|uvloop]

The child server is ``python -m benchmarks.http_get --serve``: it prints its
port and CA (PEM) as one JSON line and answers every request with the Job.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import aiohttp
import orjson

from benchmarks._common import emit

JOB_PATH: Final = "/apis/batch/v1/namespaces/default/jobs/bench-job"
HEADERS: Final = (("Authorization", "Bearer k8s-aws-v1.benchmark-token"), ("Accept", "application/json, */*"))
PARSE_ROUNDS: Final = 20000


def job_body() -> bytes:
    """A completed Job as kube-apiserver writes it (about 3 KB)."""
    labels = {
        "batch.kubernetes.io/controller-uid": "5f2d1c1e-6a1b-4c7e-9d1e-1b2c3d4e5f60",
        "batch.kubernetes.io/job-name": "bench-job",
        "controller-uid": "5f2d1c1e-6a1b-4c7e-9d1e-1b2c3d4e5f60",
        "job-name": "bench-job",
    }
    job = {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": {
            "name": "bench-job", "namespace": "default", "uid": "5f2d1c1e-6a1b-4c7e-9d1e-1b2c3d4e5f60",
            "resourceVersion": "123456", "generation": 1, "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": labels,
            "annotations": {"statewright.io/call": "arn:aws:states:us-east-1:123456789012:execution:m:e#3"},
            "managedFields": [{
                "manager": "statewright", "operation": "Update", "apiVersion": "batch/v1",
                "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:backoffLimit": {}, "f:completions": {}, "f:parallelism": {},
                                        "f:template": {"f:spec": {"f:containers": {}}}}},
            }],
        },
        "spec": {
            "parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
            "suspend": False, "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": labels["controller-uid"]}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{
                        "name": "pi", "image": "perl:5.34.0", "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"],
                        "resources": {}, "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
                    }],
                    "restartPolicy": "Never", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                    "securityContext": {}, "schedulerName": "default-scheduler",
                },
            },
        },
        "status": {
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": "2026-01-01T00:00:09Z",
                 "lastTransitionTime": "2026-01-01T00:00:09Z"},
                {"type": "Complete", "status": "True", "lastProbeTime": "2026-01-01T00:00:09Z",
                 "lastTransitionTime": "2026-01-01T00:00:09Z"},
            ],
            "startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:09Z",
            "succeeded": 1, "terminating": 0, "ready": 0,
            "uncountedTerminatedPods": {},
        },
    }  # fmt: skip
    return orjson.dumps(job)


def job_answer() -> bytes:
    """The whole HTTP answer the server sends for every request."""
    body = job_body()
    head = (
        "HTTP/1.1 200 OK\r\nAudit-Id: 0b7e6c4a-1f2e-4d3c-8b9a-0a1b2c3d4e5f\r\nCache-Control: no-cache, private\r\n"
        "Content-Type: application/json\r\nX-Kubernetes-Pf-Flowschema-Uid: 3c1b\r\n"
        f"X-Kubernetes-Pf-Prioritylevel-Uid: 9a8b\r\nDate: Thu, 01 Jan 2026 00:00:10 GMT\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


# -- the child: a TLS server answering the Job ----------------------------------------------------


async def serve() -> None:
    """Answer every request with the Job, keep-alive, until stdin closes."""
    import trustme

    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    answer = job_answer()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    print(orjson.dumps({"port": port, "ca": ca.cert_pem.bytes().decode()}).decode(), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()


# -- the parent: the clients -----------------------------------------------------------------------


def cpu_per_call(call: Callable[[], Awaitable[object]], n: int) -> Callable[[], Awaitable[float]]:
    """A coroutine function measuring CPU seconds per ``call`` over ``n`` sequential calls."""

    async def run() -> float:
        began = time.process_time()
        for _ in range(n):
            await call()
        return (time.process_time() - began) / n

    return run


async def lean_client(
    origin: str, context: ssl.SSLContext
) -> tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[None]]]:
    from executors.eks.http1 import LeanPool

    pool = LeanPool(origin, context)

    async def get() -> bytes:
        response = await pool.request("GET", JOB_PATH, [], HEADERS)
        return await response.read()

    async def close() -> None:
        pool.close()

    return get, close


async def aiohttp_client(
    origin: str, context: ssl.SSLContext
) -> tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[None]]]:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=1))
    url = origin + JOB_PATH
    headers = dict(HEADERS)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)

    async def get() -> bytes:
        async with session.get(url, headers=headers, timeout=timeout, allow_redirects=False) as response:
            return await response.read()

    return get, session.close


async def lean_parse_seconds(rounds: int) -> float:
    """CPU seconds per answer of the lean client's answer handling (parse, timer, future), no socket."""
    from executors.eks.http1 import _Connection

    class _Sink:
        def write(self, data: bytes) -> None:
            pass

        def close(self) -> None:
            pass

    raw = job_answer()
    request = f"GET {JOB_PATH} HTTP/1.1\r\n\r\n".encode()

    conn = _Connection()
    conn.connection_made(_Sink())  # type: ignore[arg-type]
    began = time.process_time()
    for _ in range(rounds):
        waiter = conn.send(request, head=False, timeout=60.0)
        conn.data_received(raw)
        waiter.result()
    return (time.process_time() - began) / rounds


async def measure(args: argparse.Namespace, origin: str, context: ssl.SSLContext) -> None:
    makers = {"lean": lean_client, "aiohttp": aiohttp_client}
    for name in args.clients:
        if name == "lean_parse":
            runs = [await lean_parse_seconds(PARSE_ROUNDS) for _ in range(args.repeat)]
            n = PARSE_ROUNDS
        else:
            get, close = await makers[name](origin, context)
            try:
                for _ in range(min(200, args.requests)):  # warm-up: handshake, caches
                    await get()
                timed = cpu_per_call(get, args.requests)
                runs = [await timed() for _ in range(args.repeat)]
            finally:
                await close()
            n = args.requests
        emit({
            "name": "http_get", "client": name, "loop": args.loop, "n": n, "repeat": args.repeat,
            "answer_bytes": len(job_answer()),
            "cpu_us_per_request_p50": round(statistics.median(runs) * 1e6, 2),
            "cpu_us_per_request_runs": [round(r * 1e6, 2) for r in runs],
        })  # fmt: skip


async def parent(args: argparse.Namespace) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.http_get", "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        ready = orjson.loads(child.stdout.readline())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cadata=ready["ca"])
        await measure(args, f"https://127.0.0.1:{ready['port']}", context)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.http_get", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--requests", type=int, default=2000, help="GETs per timed run (default 2000)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per client; the median is reported")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument(
        "--clients",
        nargs="+",
        choices=("lean", "aiohttp", "lean_parse"),
        default=["lean", "aiohttp", "lean_parse"],
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(serve())
        return 0
    run: Any = asyncio.run
    if args.loop == "uvloop":
        import uvloop

        run = uvloop.run
    run(parent(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
