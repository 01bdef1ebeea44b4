"""Polling the EKS control plane: executions waiting on createCluster.sync and createNodegroup.sync.

Each run starts the simulators in their own process (:mod:`benchmarks.simproc`,
realistic EKS durations multiplied by ``--time-factor``, 0.01 by default: a
cluster takes 8.4 s instead of 14 min, a node group 1.8 s instead of 3 min; no
Kubernetes API servers, since nothing here talks to one), then in this process
an ``Engine`` with the policy under test runs two phases:

1. ``clusters`` — K executions of ``eks:createCluster.sync`` (K = ``--clusters``);
2. ``nodegroups`` — N executions of ``eks:createNodegroup.sync`` (N = ``--jobs``),
   node group *i* on cluster *i mod K*, so N waiters share K clusters.

One JSON line per phase, with the fields of ``benchmarks.polling`` (policy,
jobs, completed, failed, p50_s … max_s, requests_by_kind, requests_per_job,
requests_per_s, cpu_s, rss_peak_mb, bytes_per_waiting_execution, wall_s).
Requests are counted on the client, by botocore ``before-send.eks`` /
``response-received.eks`` handlers on the engine's shared EKS client (every
attempt, retries included). Detection latency is measured from:

* node groups: ``modifiedAt``, which the simulator stamps (millisecond
  precision) at the moment the node group becomes ACTIVE;
* clusters: ``createdAt`` + the scaled create duration, the moment the
  simulator's timer makes the cluster ACTIVE (it stamps nothing then).

``--faults`` makes the EKS and STS endpoints answer 5 % 429/500/503 (botocore's
standard retry mode retries them, then the poller's transient tolerance).

    python -m benchmarks.eks_polling [--jobs 200] [--clusters 10] [--policy fixed:1] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import sys
import time
from dataclasses import dataclass
from typing import Any, Final

import anyio

from benchmarks._common import percentiles
from benchmarks.polling import (
    RUN_TIMEOUT_SECONDS,
    CompressedAwsPolicy,
    MemorySampler,
    Observer,
    RequestCounter,
    RunConfig,
    add_rate_limit_arguments,
    build_policy,
    counting_services,
    cpu_split,
    drive,
    executor_options,
    pin_to_cpus,
    rounded,
    rss_bytes,
    sim_options,
)
from benchmarks.simproc import SimProcess, apply_env
from engine.jsonvalue import JSON
from executors.eks import EksExecutor, register
from statewright import Engine, ExecutorRegistry

DEFAULT_TIME_FACTOR: Final = 0.01
MIN_WAITING_FOR_MEMORY: Final = 100
CLUSTER_CREATE_SECONDS: Final = 840.0
"""``sim.eks.Timings.realistic().cluster_create``, before the time factor."""
ACCOUNT_ROLE: Final = "arn:aws:iam::123456789012:role/"
SUBNETS: Final[list[JSON]] = ["subnet-053e7c47012341234", "subnet-027cfea4b12341234"]
CANDIDATE_POLICIES: Final = ("fixed:1", "aws/100", "batched:1")
DEFAULT_SET: Final = tuple((n, p) for n in (100, 1_000) for p in CANDIDATE_POLICIES)
RETRY: Final[list[JSON]] = [
    {
        "ErrorEquals": ["EKS.ThrottlingException", "EKS.ServerException", "EKS.ServiceUnavailableException"],
        "IntervalSeconds": 1,
        "MaxAttempts": 6,
        "BackoffRate": 1.5,
        "JitterStrategy": "FULL",
    }
]


def create_cluster_machine() -> dict[str, JSON]:
    """createCluster.sync with the cluster name from the input."""
    return {
        "StartAt": "Create",
        "States": {
            "Create": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:createCluster.sync",
                "Parameters": {
                    "Name.$": "$.cluster",
                    "RoleArn": ACCOUNT_ROLE + "BenchClusterRole",
                    "ResourcesVpcConfig": {"SubnetIds": SUBNETS},
                },
                "ResultSelector": {"createdAt.$": "$.Cluster.CreatedAt", "status.$": "$.Cluster.Status"},
                "Retry": RETRY,
                "End": True,
            }
        },
    }


def create_nodegroup_machine() -> dict[str, JSON]:
    """createNodegroup.sync with cluster and node group names from the input."""
    return {
        "StartAt": "Create",
        "States": {
            "Create": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:createNodegroup.sync",
                "Parameters": {
                    "ClusterName.$": "$.cluster",
                    "NodegroupName.$": "$.nodegroup",
                    "NodeRole": ACCOUNT_ROLE + "BenchNodeRole",
                    "Subnets": SUBNETS,
                },
                "ResultSelector": {
                    "modifiedAt.$": "$.Nodegroup.ModifiedAt",
                    "status.$": "$.Nodegroup.Status",
                },
                "Retry": RETRY,
                "End": True,
            }
        },
    }


@dataclass(frozen=True)
class EksConfig:
    """One EKS run: ``run`` carries jobs (node groups), policy, seed, faults, pinning, timeout."""

    run: RunConfig
    clusters: int = 10
    time_factor: float = DEFAULT_TIME_FACTOR


def _epoch(value: JSON) -> float | None:
    """Seconds from the executor's ``epoch_millis`` timestamp."""
    if isinstance(value, int | float):
        return float(value) / 1000.0
    return None


async def _phase(
    engine: Engine,
    machine: Any,
    inputs: list[tuple[str, dict[str, JSON]]],
    counter: RequestCounter,
    observer: Observer,
    reference: str,
    offset: float,
    timeout: float,
) -> dict[str, Any]:
    """Run one batch of executions to the end; measure it."""
    counter.reset()
    observer.reset()
    gc.collect()
    sampler = MemorySampler(observer, baseline=rss_bytes())
    cpu_before = time.process_time()
    began = time.time()
    results: list[Any] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(sampler.run)
        handles = [engine.start(machine, item, name=name) for name, item in inputs]
        with anyio.move_on_after(timeout):
            results = [await handle.wait() for handle in handles]
        ended = time.time()
        tg.cancel_scope.cancel()
    cpu = time.process_time() - cpu_before
    sampler.sample()
    latencies = []
    for result in results:
        output = result.output if isinstance(result.output, dict) else {}
        ready = _epoch(output.get(reference))
        left = observer.exited.get(result.name)
        if result.status == "SUCCEEDED" and ready is not None and left is not None:
            latencies.append(left - (ready + offset))
    completed = sum(1 for r in results if r.status == "SUCCEEDED")
    wall = ended - began
    lat = percentiles(latencies)
    total = counter.total
    return {
        "jobs": len(inputs),
        "completed": completed,
        "failed": len(results) - completed,
        "unfinished": len(inputs) - len(results),
        "errors": dict(collections.Counter(str(r.error) for r in results if r.status != "SUCCEEDED")),
        **rounded(lat),
        "latency_samples": len(latencies),
        "requests": total,
        "requests_by_kind": dict(counter.by_kind),
        "requests_by_status": dict(counter.by_status),
        "requests_per_job": round(total / len(inputs), 3),
        "requests_per_s": round(total / wall, 1) if wall > 0 else 0.0,
        "request_counting": "client botocore before-send/response-received",
        "cpu_s": round(cpu, 3),
        "rss_peak_mb": round(sampler.peak_rss / 2**20, 1),
        # With a handful in flight, one-time costs (first client, imports) swamp the figure.
        "bytes_per_waiting_execution": (
            round(sampler.bytes_per_waiting)
            if sampler.bytes_per_waiting is not None and sampler.peak_waiting >= MIN_WAITING_FOR_MEMORY
            else None
        ),
        "waiting_peak": sampler.peak_waiting,
        "memory_method": "rss_delta_at_peak_in_flight",
        "wall_s": round(wall, 3),
    }


async def eks_benchmark(config: EksConfig) -> list[dict[str, Any]]:
    """Both phases of one configuration; one record per phase."""
    run = config.run
    policy = build_policy(run.policy)
    sim_cpu, engine_cpus = cpu_split(run.pin)
    pin_to_cpus(engine_cpus)
    options = sim_options(
        run, sim_cpu, timings="realistic", time_factor=config.time_factor, kube_servers=False, faults="aws"
    )
    records = []
    async with SimProcess(options) as sim:
        apply_env(sim.env)
        counter = RequestCounter()
        services = await counting_services(counter, eks=True)
        registry = ExecutorRegistry()
        register(registry, EksExecutor(services))
        observer = Observer()
        engine = Engine(
            registry=registry,
            executor_options=executor_options(run, policy, eks_timestamp_format="epoch_millis"),
            on_event=observer,
            seed=run.seed,
        )
        clusters = [f"bench-{run.seed}-c{index:03d}" for index in range(config.clusters)]
        nodegroups = [
            (f"ng-{index:06d}", {"cluster": clusters[index % len(clusters)], "nodegroup": f"ng-{index:06d}"})
            for index in range(run.jobs)
        ]
        common = {
            "policy": policy.name,
            "faults": run.faults,
            "seed": run.seed,
            "clusters": config.clusters,
            "time_factor": config.time_factor,
            "aws_compression": policy.factor if isinstance(policy, CompressedAwsPolicy) else None,
            "pinned": sim_cpu is not None,
        }
        async with engine:
            phase = await _phase(
                engine,
                engine.compile(create_cluster_machine()),
                [(name, {"cluster": name}) for name in clusters],
                counter,
                observer,
                "createdAt",
                CLUSTER_CREATE_SECONDS * config.time_factor,
                run.timeout,
            )
            records.append(
                {
                    "name": "eks_polling.createCluster",
                    **common,
                    **phase,
                    "latency_reference": "createdAt+scaled_duration",
                }
            )
            if phase["completed"] == len(clusters):
                phase = await _phase(
                    engine,
                    engine.compile(create_nodegroup_machine()),
                    nodegroups,
                    counter,
                    observer,
                    "modifiedAt",
                    0.0,
                    run.timeout,
                )
                records.append(
                    {
                        "name": "eks_polling.createNodegroup",
                        **common,
                        **phase,
                        "latency_reference": "modifiedAt",
                    }
                )
    return records


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.eks_polling``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.eks_polling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--jobs", type=int, action="append", help="node groups, i.e. waiting executions")
    parser.add_argument(
        "--clusters", type=int, default=10, help="clusters the node groups share (default 10)"
    )
    parser.add_argument("--policy", action="append", help="poll policy spec (repeatable)")
    parser.add_argument("--time-factor", type=float, default=DEFAULT_TIME_FACTOR, help="scales EKS durations")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", action="store_true", help="5%% 429/500/503 from EKS and STS")
    parser.add_argument("--timeout", type=float, default=RUN_TIMEOUT_SECONDS)
    parser.add_argument("--no-pin", action="store_true")
    # The parent passes its children --loop (benchmarks.polling.child_argv): accept it here too.
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="the engine's event loop (default asyncio)",
    )
    add_rate_limit_arguments(parser)
    parser.add_argument("--out", help="append JSON lines here (default benchmarks/results/…)")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs is not None and any(n < 1 for n in args.jobs):
        parser.error("--jobs must be at least 1")
    if args.clusters < 1 or args.time_factor <= 0 or args.timeout <= 0:
        parser.error("--clusters, --time-factor and --timeout must be positive")
    for spec in args.policy or ():
        try:
            build_policy(spec)
        except ValueError as exc:
            parser.error(str(exc))
    if args.out is not None:
        from pathlib import Path

        args.out = Path(args.out)
    args.max = False
    common = {
        "seed": args.seed,
        "faults": args.faults,
        "pin": not args.no_pin,
        "timeout": args.timeout,
        "kube_qps": args.kube_qps,
        "kube_burst": args.kube_burst,
        "loop": args.loop,
    }
    if args.jobs is None and args.policy is None:
        pairs = list(DEFAULT_SET)
    else:
        pairs = [(n, p) for p in args.policy or CANDIDATE_POLICIES for n in args.jobs or [200]]
    configs = [RunConfig(n, p, **common) for n, p in pairs]
    extra = {"clusters": args.clusters, "time_factor": args.time_factor}

    def run_one(config: RunConfig) -> list[dict[str, Any]]:
        if config.loop == "uvloop":
            import uvloop

            return uvloop.run(eks_benchmark(EksConfig(config, **extra)))
        return asyncio.run(eks_benchmark(EksConfig(config, **extra)))

    return drive(
        args,
        configs,
        "benchmarks.eks_polling",
        "eks_polling",
        run_one,
        child_extra=["--clusters", str(args.clusters), "--time-factor", str(args.time_factor)],
        job_seconds=False,
    )


__all__ = ["EksConfig", "create_cluster_machine", "create_nodegroup_machine", "eks_benchmark", "main"]


if __name__ == "__main__":
    sys.exit(main())
