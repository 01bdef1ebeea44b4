"""Throughput of the Kubernetes API simulator: simple GETs per second on one core.

The simulator runs in its own process pinned to one CPU (``sched_setaffinity``)
with 10,000 Jobs stored (model runtime, all completed, so 10,000 pods too); the
load generator runs in this process on the other CPUs with keep-alive HTTPS
connections. Each scenario prints one JSON line: name, parameters, n, seconds,
rate, p50/p95/p99 latency (ms), Python version, machine, nproc.

    python benchmarks/sim_throughput.py [--jobs 10000] [--requests 20000] [--concurrency 32]

``rate`` is what the client saw; ``rate_per_server_cpu_second`` is requests divided by the
CPU time the server process used, i.e. what one core sustains when the load generator is
not competing for it. Measured 2026-11-25 on a shared 2-CPU x86_64 VM (Python 3.11.7,
other jobs running, load average 3-5), 10,000 Jobs + 10,000 pods + 20,000 Events stored
(336 MB peak RSS): GET of a Job 2,204/s seen by the client and 4,168 per server CPU-second
(p50 13.8 ms at 32 in flight); list pods by ``job-name`` label 2,646 per server
CPU-second; ``/version`` 5,226 per server CPU-second. Seeding 10,000 Jobs through to
completion ran at 549 Jobs/s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import resource
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.kube import KubeSimulator

TOKEN = "benchmark-token"


def job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {
                    "annotations": {"sim.statewright.io/seconds": "0.1", "sim.statewright.io/log": "done\n"}
                },
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36"}]},
            },
        },
    }


def serve(jobs: int, cpu: int, pipe: Connection) -> None:
    """The server process: one core, seeded with ``jobs`` completed Jobs."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})

    async def main() -> None:
        async with KubeSimulator(static_tokens={TOKEN: "admin"}, pod_startup_seconds=0.01) as kube:
            info = kube.catalog.lookup("batch", "v1", "jobs")
            assert info is not None
            began = time.perf_counter()
            for index in range(jobs):
                kube.registry.create(info, "default", job(f"job-{index}"))
                if index % 500 == 499:
                    await asyncio.sleep(0)
            while True:
                done = sum(
                    1
                    for j in kube.store.objects("batch", "jobs", "default")
                    if (j.get("status") or {}).get("completionTime")
                )
                if done == jobs:
                    break
                await asyncio.sleep(0.2)
            settled = time.perf_counter() - began
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            objects = sum(len(table.objects) for table in kube.store.tables.values())
            pipe.send(
                {
                    "url": kube.url,
                    "ca": kube.ca.ca_pem.decode(),
                    "seed_seconds": settled,
                    "rss_mb": round(rss_mb, 1),
                    "objects": objects,
                }
            )
            loop = asyncio.get_running_loop()
            while await loop.run_in_executor(None, pipe.recv) == "cpu":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                pipe.send(usage.ru_utime + usage.ru_stime)

    asyncio.run(main())


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_load(
    url: str, ca: str, paths: Callable[[int], str], requests: int, concurrency: int
) -> tuple[float, list[float], int]:
    """Send GETs over ``concurrency`` keep-alive TLS connections with a minimal HTTP/1.1 client.

    A full client library costs more CPU per request than the server under test; this one only
    writes a request line and reads a Content-Length body.
    """
    context = ssl.create_default_context(cadata=ca)
    host, port = url.removeprefix("https://").rsplit(":", 1)
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port), ssl=context)
        try:
            for index in counter:
                began = time.perf_counter()
                writer.write(
                    f"GET {paths(index)} HTTP/1.1\r\nHost: {host}\r\n"
                    f"Authorization: Bearer {TOKEN}\r\n\r\n".encode()
                )
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                if status != 200:
                    errors += 1
                latencies.append((time.perf_counter() - began) * 1000)
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - began, latencies, errors


def machine() -> dict[str, Any]:
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False, timeout=5
        ).stdout.strip()
    except OSError:
        revision = ""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "nproc": os.cpu_count(),
        "git_revision": revision,
    }


def emit(
    name: str, params: dict[str, Any], seconds: float, latencies: list[float], errors: int, server_cpu: float
) -> None:
    ordered = sorted(latencies)
    record = {
        "name": name,
        **params,
        "n": len(latencies),
        "errors": errors,
        "seconds": round(seconds, 4),
        "rate": round(len(latencies) / seconds, 1),
        "server_cpu_seconds": round(server_cpu, 3),
        "rate_per_server_cpu_second": round(len(latencies) / server_cpu, 1) if server_cpu else None,
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(percentile(ordered, 0.95), 3),
        "p99_ms": round(percentile(ordered, 0.99), 3),
        "server_cpus": 1,
        **machine(),
    }
    sys.stdout.write(orjson.dumps(record).decode() + "\n")
    sys.stdout.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    server_cpu = cpus[0]
    if hasattr(os, "sched_setaffinity") and len(cpus) > 1:
        os.sched_setaffinity(0, set(cpus[1:]))
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=serve, args=(args.jobs, server_cpu, child))
    process.start()
    try:
        ready = parent.recv()
        url, ca = ready["url"], ready["ca"]
        params = {"jobs_stored": args.jobs, "concurrency": args.concurrency}
        scenarios: list[tuple[str, Callable[[int], str], int]] = [
            (
                "get_job",
                lambda i: f"/apis/batch/v1/namespaces/default/jobs/job-{i % args.jobs}",
                args.requests,
            ),
            (
                "list_pods_by_job_name_label",
                lambda i: f"/api/v1/namespaces/default/pods?labelSelector=job-name%3Djob-{i % args.jobs}",
                args.requests // 2,
            ),
            ("get_version", lambda i: "/version", args.requests),
        ]
        sys.stdout.write(
            orjson.dumps(
                {
                    "name": "seed_jobs_to_completion",
                    "n": args.jobs,
                    "seconds": round(ready["seed_seconds"], 3),
                    "rate": round(args.jobs / ready["seed_seconds"], 1),
                    "server_max_rss_mb": ready["rss_mb"],
                    "objects_stored": ready["objects"],
                    **machine(),
                }
            ).decode()
            + "\n"
        )
        for name, paths, count in scenarios:
            parent.send("cpu")
            cpu_before = parent.recv()
            seconds, latencies, errors = asyncio.run(run_load(url, ca, paths, count, args.concurrency))
            parent.send("cpu")
            emit(name, params, seconds, latencies, errors, parent.recv() - cpu_before)
    finally:
        parent.send("stop")
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
