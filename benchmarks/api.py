"""The API server's throughput and latency, from concurrent clients on loopback.

    python -m benchmarks.api [--requests 2000] [--concurrency 16] [--sync 300] [--repeat 3] [--client raw|aioboto3]
                             [--store URL]

Starts ``statewright serve --port 0`` in its own process (as users run it)
and measures, each ``--repeat`` times:

* ``api_start_execution``: StartExecution requests per second on a two-state
  Standard machine, from ``--concurrency`` concurrent clients;
* ``api_describe_execution``: DescribeExecution requests per second on the
  executions just started;
* ``api_start_sync_execution``: end-to-end latency (p50/p95/p99) of
  StartSyncExecution on a three-state Express machine, one request at a time.

``--client raw`` (the default) sends the AWS JSON 1.0 requests with aiohttp
(keep-alive, no signing: the server accepts any signature by default), so the
figures are the server's; ``--client aioboto3`` goes through the real SDK,
whose own per-request cost then shows. ``--store sqlite:///PATH`` runs the
server on a durable store (StartExecution then answers once the execution is
committed). Each result is one JSON line; the last lines are the medians over
the repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from benchmarks._common import emit, percentiles

ROLE = "arn:aws:iam::123456789012:role/bench"
STANDARD = json.dumps(
    {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Result": 1, "End": True}},
    }
)
EXPRESS = json.dumps(
    {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Pass", "Result": 2, "ResultPath": "$.b", "Next": "C"},
            "C": {"Type": "Pass", "Result": 3, "ResultPath": "$.c", "End": True},
        },
    }
)

Call = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


def start_server(store: str | None) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "statewright", "serve", "--port", "0", *(["--store", store] if store else [])],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    m = re.search(r"listening on (http://\S+)", line)
    if m is None:
        proc.kill()
        raise SystemExit(f"the server did not start: {line}")
    return proc, m.group(1)


def raw_caller(session: aiohttp.ClientSession, url: str) -> Call:
    async def call(operation: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "X-Amz-Target": f"AWSStepFunctions.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        }
        async with session.post(url, data=json.dumps(body), headers=headers) as resp:
            answer: dict[str, Any] = await resp.json(content_type=None)
            if resp.status != 200:
                raise RuntimeError(f"{operation}: {answer}")
            return answer

    return call


def sdk_caller(client: Any) -> Call:
    names = {
        "CreateStateMachine": "create_state_machine",
        "StartExecution": "start_execution",
        "DescribeExecution": "describe_execution",
        "StartSyncExecution": "start_sync_execution",
    }

    async def call(operation: str, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = await getattr(client, names[operation])(**body)
        return out

    return call


async def concurrently(n: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run ``one(i)`` for i < n with ``concurrency`` workers; seconds taken."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await one(i)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0


async def measure(call: Call, args: argparse.Namespace, run: int) -> list[dict[str, Any]]:
    std = (
        await call("CreateStateMachine", {"name": f"bench-{run}", "definition": STANDARD, "roleArn": ROLE})
    )["stateMachineArn"]
    exp = (
        await call(
            "CreateStateMachine",
            {"name": f"bench-sync-{run}", "definition": EXPRESS, "roleArn": ROLE, "type": "EXPRESS"},
        )
    )["stateMachineArn"]
    arns: list[str] = [""] * args.requests

    async def start(i: int) -> None:
        arns[i] = (await call("StartExecution", {"stateMachineArn": std, "input": json.dumps({"i": i})}))[
            "executionArn"
        ]

    async def describe(i: int) -> None:
        await call("DescribeExecution", {"executionArn": arns[i]})

    params = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "client": args.client,
        "store": args.store or "memory://",
        "run": run,
    }
    results = []
    seconds = await concurrently(args.requests, args.concurrency, start)
    results.append(
        {
            "name": "api_start_execution",
            **params,
            "n": args.requests,
            "seconds": seconds,
            "rate": args.requests / seconds,
        }
    )
    seconds = await concurrently(args.requests, args.concurrency, describe)
    results.append(
        {
            "name": "api_describe_execution",
            **params,
            "n": args.requests,
            "seconds": seconds,
            "rate": args.requests / seconds,
        }
    )
    latencies: list[float] = []
    for _ in range(args.sync):
        t0 = time.perf_counter()
        answer = await call("StartSyncExecution", {"stateMachineArn": exp, "input": "{}"})
        latencies.append(time.perf_counter() - t0)
        assert answer["status"] == "SUCCEEDED", answer
    results.append(
        {
            "name": "api_start_sync_execution",
            "sync": args.sync,
            "client": args.client,
            "run": run,
            "n": args.sync,
            "seconds": sum(latencies),
            **percentiles(latencies),
        }
    )
    return results


async def main(args: argparse.Namespace) -> None:
    proc, url = start_server(args.store)
    try:
        all_results: list[dict[str, Any]] = []
        if args.client == "raw":
            connector = aiohttp.TCPConnector(limit=args.concurrency)
            async with aiohttp.ClientSession(connector=connector) as session:
                call = raw_caller(session, url)
                for run in range(args.repeat):
                    all_results += await measure(call, args, run)
        else:
            import aioboto3
            from botocore.config import Config

            session = aioboto3.Session(
                aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
            )
            config = Config(
                inject_host_prefix=False, max_pool_connections=args.concurrency, retries={"max_attempts": 1}
            )
            async with session.client("stepfunctions", endpoint_url=url, config=config) as client:
                for run in range(args.repeat):
                    all_results += await measure(sdk_caller(client), args, run)
        for r in all_results:
            emit(r)
        for name, key in (
            ("api_start_execution", "rate"),
            ("api_describe_execution", "rate"),
            ("api_start_sync_execution", "p50"),
        ):
            values = [r[key] for r in all_results if r["name"] == name]
            summary: dict[str, Any] = {
                "name": f"{name}_median",
                "client": args.client,
                "store": args.store or "memory://",
                "repeats": len(values),
                f"median_{key}": statistics.median(values),
                "values": values,
            }
            if name != "api_start_sync_execution":
                summary["concurrency"] = args.concurrency
            else:
                summary["median_p95"] = statistics.median(r["p95"] for r in all_results if r["name"] == name)
            emit(summary)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--requests", type=int, default=2000, help="StartExecution / DescribeExecution requests per run"
    )
    p.add_argument("--concurrency", type=int, default=16, help="concurrent clients")
    p.add_argument("--sync", type=int, default=300, help="StartSyncExecution requests per run (sequential)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--client", choices=("raw", "aioboto3"), default="raw")
    p.add_argument("--store", metavar="URL", help="the server's --store (default: in memory)")
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
