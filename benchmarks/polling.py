"""Polling at scale: N concurrent ``eks:runJob.sync`` executions under each poll policy.

Each run starts the simulators in a process of their own
(:mod:`benchmarks.simproc`, pinned to CPU 0 when there are two or more), then,
in this process (pinned to the other CPUs), an ``Engine`` with
``executor_options={"poll_policy": policy}`` runs N executions of a one-state
machine: an ``arn:aws:states:::eks:runJob.sync`` Task on the simulator's
``demo`` cluster. Every Job has a unique name and runs for a time drawn from a
seeded uniform distribution (``--min-seconds`` to ``--max-seconds``, set by the
pod-template annotation ``sim.statewright.io/seconds``). The Task retries
``EKS.429`` / ``EKS.500`` / ``EKS.503`` (the create can be throttled in fault runs).

Policies (``--policy``, repeatable):

* ``fixed:S`` — naive per-execution polling: one GET per execution every S seconds;
* ``aws/F`` — AWS's schedule (60 s ten times, then +60 s up to 300 s) with every
  delay divided by F (``aws`` alone means ``aws/60``: 1 s, then up to 5 s);
* ``batched:S`` and ``watch`` — the shared poller and the shared watch, run as soon
  as ``executors.eks.polling.parse_poll_policy`` knows them (skipped, and said so
  on stderr, until then);
* any other spec ``parse_poll_policy`` accepts.

One JSON line per run (also appended to ``--out``, by default
``benchmarks/results/polling-<UTC time>.jsonl``):

* ``p50_s`` … ``max_s``: detection latency, from the moment the simulator
  marked the Job ``Complete`` (recorded inside the simulator process with
  ``time.time()`` when it wrote the status, see ``benchmarks/simproc.py``) to the
  ``TaskStateExited`` event (``on_event`` hook, ``time.time()``); ``latency_reference``
  says which was used. ``ct_p50_s`` / ``ct_p99_s`` measure from
  ``status.completionTime`` instead (one-second resolution, so up to 1 s larger).
* ``requests_by_kind`` / ``requests_per_job`` / ``requests_per_s``: Kubernetes API
  requests counted on the client side, by an ``aiohttp.TraceConfig`` on the engine's
  pooled Kubernetes sessions (the simulator has no request counter to read); every
  attempt counts, including ones answered 429/5xx (``requests_by_status``).
  ``status_requests_per_job`` leaves out the create and log reads.
* ``cpu_s``: this process's CPU time during the run; ``rss_peak_mb``: the highest
  resident set size sampled (every 100 ms) during the run; ``sim_cpu_s``: the
  simulator process's CPU time.
* ``bytes_per_waiting_execution``: (RSS - RSS before the run) ÷ executions in
  flight (submitted, not yet out of the Task), at the sample where the most were in flight.
* ``wall_s``: from the first start to the last execution's end.

``python -m benchmarks.polling`` alone runs the default set (see ``DEFAULT_SET``),
each run in a fresh process with a fresh simulator; ``--jobs N --policy P`` runs
one; ``--max`` doubles N from ``--jobs`` until latency or errors degrade; ``--faults``
adds 5 % 429/500/503 answers and cuts watches every 3 s; ``--hold`` measures memory
with all N waiting at once (``memory_probe``, name ``polling.memory``). The
executors' client-side rate limit is set out of reach (``--kube-qps`` /
``--kube-burst`` to measure with one). ``--seed`` fixes the Job durations (and
the fault draws), so runs are reproducible.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime
import gc
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aioboto3
import aiohttp
import anyio
import orjson

from benchmarks._common import emit, percentiles
from benchmarks.simproc import SimOptions, SimProcess, apply_env
from engine.jsonvalue import JSON
from engine.runtime.execution import ExecutionRecord
from executors.eks import EksExecutor, register
from executors.eks.auth import KubeConnections
from executors.eks.polling import AwsPollPolicy, PollPolicy, parse_poll_policy
from executors.eks.ratelimit import BURST_OPTION, QPS_OPTION
from executors.eks.services import EksServices
from sim.kube.process import KubeProcess
from statewright import Engine, ExecutorRegistry

RESULTS_DIR: Final = Path(__file__).resolve().parent / "results"
DEFAULT_AWS_COMPRESSION: Final = 60.0
FAULT_RATE: Final = 0.05
DROP_RATE: Final = 0.02
"""With ``--faults``: the fraction of requests whose connection the simulator drops unanswered."""
WATCH_CUT_SECONDS: Final = 3.0
KILL_AFTER_FRACTION: Final = 0.3
"""``--kill-server``: the simulator is killed once this share of the executions has left its Task."""
SAMPLE_SECONDS: Final = 0.1
RUN_TIMEOUT_SECONDS: Final = 600.0
UNLIMITED_QPS: Final = 1_000_000.0
UNLIMITED_BURST: Final = 1_000_000
MAX_MODE_LIMIT: Final = 64_000
MAX_MODE_P99_SECONDS: Final = 5.0
"""``--max`` stops when detection p99 exceeds this many seconds (or any execution fails)."""

CANDIDATE_POLICIES: Final = ("fixed:1", "aws/60", "batched:1", "watch")
DEFAULT_SET: Final[tuple[tuple[int, str, bool], ...]] = (
    *((n, p, False) for n in (100, 1_000) for p in CANDIDATE_POLICIES),
    *((10_000, p, False) for p in ("fixed:1", "batched:1", "watch")),
    *((1_000, p, True) for p in CANDIDATE_POLICIES),
)
"""(jobs, policy, faults) of the bare run; policies not yet registered are skipped.

Chosen to finish in under ten minutes on two cores: every policy at 100 and 1,000
and under faults at 1,000; at 10,000 the naive poller and the two shared policies
whose targets are stated at that scale (``aws/60`` polls no less than ``fixed:1``
for the first ten minutes, so it is left to ``--jobs 10000 --policy aws/60``)."""


# -- policies ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompressedAwsPolicy:
    """AWS's runJob.sync schedule with every delay divided by ``factor``.

    Attributes:
        factor: the time compression, > 0 (60 turns the 60 s first polls into 1 s).
    """

    factor: float = DEFAULT_AWS_COMPRESSION

    @property
    def name(self) -> str:
        """``aws/FACTOR``, the benchmark's spec for this policy."""
        return f"aws/{self.factor:g}"

    def delays(self) -> Iterator[float]:
        """AWS's delays, compressed."""
        return (delay / self.factor for delay in AwsPollPolicy().delays())


def build_policy(spec: str) -> PollPolicy:
    """A policy from a benchmark spec: ``aws`` / ``aws/F`` (compressed) or any registered spec.

    Raises:
        ValueError: an unknown or malformed spec.
    """
    if spec == "aws":
        return CompressedAwsPolicy()
    if spec.startswith("aws/"):
        try:
            factor = float(spec.removeprefix("aws/"))
        except ValueError:
            raise ValueError(f"aws/F needs a number F, not {spec!r}") from None
        if not factor > 0:
            raise ValueError(f"aws/F needs F > 0, not {spec!r}")
        return CompressedAwsPolicy(factor)
    return parse_poll_policy(spec)


def available(spec: str) -> bool:
    """Whether ``spec`` names a policy this process can build (``watch`` / ``batched`` once registered)."""
    try:
        build_policy(spec)
    except ValueError:
        return False
    return True


# -- counting requests ---------------------------------------------------------------------------


def kube_request_kind(method: str, path: str, query: Mapping[str, str]) -> str:
    """A short name for a Kubernetes API request: ``get_job``, ``list_jobs``, ``watch_jobs``…"""
    parts = [p for p in path.split("/") if p]
    resource, name, sub = "", "", ""
    if "namespaces" in parts:
        rest = parts[parts.index("namespaces") + 2 :]
        resource = rest[0] if rest else "namespaces"
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
    elif parts:
        resource = parts[-1]
    verb = method.lower()
    if sub == "log":
        return "read_log"
    if verb == "get":
        if name:
            return f"get_{resource.removesuffix('s')}"
        if query.get("watch") in ("true", "1"):
            return f"watch_{resource}"
        return f"list_{resource}"
    if verb == "post":
        return f"create_{resource.removesuffix('s')}"
    if verb == "delete":
        return f"delete_{resource.removesuffix('s')}"
    return f"{verb}_{resource or 'other'}"


@dataclass
class RequestCounter:
    """API requests sent, by kind and by answer status (``error`` when none came)."""

    by_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    by_status: collections.Counter[str] = field(default_factory=collections.Counter)
    request_seconds: list[float] = field(default_factory=list)
    """Duration of each answered request (headers in), watches left out."""
    queue_seconds: list[float] = field(default_factory=list)
    """Time requests spent waiting for a pooled connection (only those that waited)."""

    def reset(self) -> None:
        """Forget everything counted so far."""
        self.by_kind.clear()
        self.by_status.clear()
        self.request_seconds.clear()
        self.queue_seconds.clear()

    @property
    def total(self) -> int:
        """All requests counted."""
        return sum(self.by_kind.values())

    def trace_config(self) -> aiohttp.TraceConfig:
        """A trace config that counts every request of the session it is attached to."""

        async def on_start(session: Any, ctx: Any, params: aiohttp.TraceRequestStartParams) -> None:
            url = params.url
            self.by_kind[kube_request_kind(params.method, url.path, url.query)] += 1
            ctx.began = time.perf_counter()

        async def on_queued(session: Any, ctx: Any, params: Any) -> None:
            ctx.queued = time.perf_counter()

        async def on_dequeued(session: Any, ctx: Any, params: Any) -> None:
            self.queue_seconds.append(time.perf_counter() - ctx.queued)

        async def on_end(session: Any, ctx: Any, params: aiohttp.TraceRequestEndParams) -> None:
            self.by_status[str(params.response.status)] += 1
            if params.url.query.get("watch") not in ("true", "1"):
                self.request_seconds.append(time.perf_counter() - ctx.began)

        async def on_error(session: Any, ctx: Any, params: aiohttp.TraceRequestExceptionParams) -> None:
            self.by_status["error"] += 1

        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(on_start)
        trace.on_request_end.append(on_end)
        trace.on_connection_queued_start.append(on_queued)
        trace.on_connection_queued_end.append(on_dequeued)
        trace.on_request_exception.append(on_error)
        trace.freeze()
        return trace

    def lean_observer(self) -> Callable[[str, str, int | None, float], None]:
        """An observer for the executors' lean GET client (``executors.eks.http1``), counting like ``trace_config``."""

        def observe(method: str, target: str, status: int | None, seconds: float) -> None:
            path, _, query = target.partition("?")
            pairs = dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair) if "watch" in query else {}
            self.by_kind[kube_request_kind(method, path, pairs)] += 1
            self.by_status[str(status) if status is not None else "error"] += 1
            if status is not None:
                self.request_seconds.append(seconds)

        return observe

    def botocore_hook(self) -> Callable[..., None]:
        """A ``before-send.eks`` handler counting EKS API attempts by operation."""

        def before_send(event_name: str = "", **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[-1]
            self.by_kind[operation] += 1

        return before_send

    def response_hook(self) -> Callable[..., None]:
        """A ``response-received.eks`` handler counting EKS answers by status."""

        def received(response_dict: Mapping[str, Any] | None = None, exception: Any = None, **_: Any) -> None:
            if response_dict is None:
                self.by_status["error"] += 1
            else:
                self.by_status[str(response_dict.get("status_code"))] += 1

        return received


class CountingConnections(KubeConnections):
    """The engine's pooled Kubernetes sessions, each with a counting ``TraceConfig``, and its lean GET client."""

    def __init__(self, counter: RequestCounter) -> None:
        super().__init__()
        self._trace = counter.trace_config()
        self.observer = counter.lean_observer()

    def session(self, endpoint: str, ca_b64: str) -> aiohttp.ClientSession:
        """The pooled session, with the counter attached the first time it is handed out."""
        session = super().session(endpoint, ca_b64)
        # ClientSession reads its trace configs per request; the constructor belongs to the base class.
        traces: list[aiohttp.TraceConfig] = session._trace_configs
        if self._trace not in traces:
            traces.append(self._trace)
        return session


async def counting_services(counter: RequestCounter, *, eks: bool = False) -> EksServices:
    """``EksServices.default()`` whose Kubernetes sessions (and with ``eks``, EKS client) are counted."""
    services = EksServices.default()
    services.connections = CountingConnections(counter)
    if eks:
        client = await services.eks_client()
        client.meta.events.register("before-send.eks", counter.botocore_hook())
        client.meta.events.register("response-received.eks", counter.response_hook())
    return services


# -- observing the run ---------------------------------------------------------------------------


def rss_bytes() -> int:
    """This process's resident set size now (Linux ``/proc/self/statm``; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Observer:
    """Follows every execution through the engine's ``on_event`` hook.

    ``waiting`` counts executions whose Task was submitted and has not exited.
    """

    def __init__(self) -> None:
        self.submitted: dict[str, float] = {}
        self.exited: dict[str, float] = {}

    def reset(self) -> None:
        """Forget every execution seen so far."""
        self.submitted.clear()
        self.exited.clear()

    @property
    def waiting(self) -> int:
        """Executions submitted and not yet out of their Task."""
        return len(self.submitted) - len(self.exited)

    def __call__(self, record: ExecutionRecord, event_type: str, details: Mapping[str, JSON] | None) -> None:
        if event_type == "TaskSubmitted":
            self.submitted.setdefault(record.name, time.time())
        elif event_type == "TaskStateExited":
            self.exited.setdefault(record.name, time.time())


@dataclass
class MemorySampler:
    """Samples RSS and executions in flight every ``SAMPLE_SECONDS``."""

    observer: Observer
    baseline: int
    peak_rss: int = 0
    peak_waiting: int = 0
    rss_at_peak_waiting: int = 0

    def sample(self) -> None:
        """Take one sample."""
        rss = rss_bytes()
        self.peak_rss = max(self.peak_rss, rss)
        waiting = self.observer.waiting
        if waiting > self.peak_waiting:
            self.peak_waiting, self.rss_at_peak_waiting = waiting, rss

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            self.sample()
            await anyio.sleep(SAMPLE_SECONDS)

    @property
    def bytes_per_waiting(self) -> float | None:
        """RSS growth at the busiest sample, per execution in flight then."""
        if self.peak_waiting == 0:
            return None
        return max(0, self.rss_at_peak_waiting - self.baseline) / self.peak_waiting


def pin_to_cpus(cpus: set[int]) -> None:
    """Pin this process to ``cpus`` where the platform allows it."""
    if hasattr(os, "sched_setaffinity") and cpus:
        os.sched_setaffinity(0, cpus)


def cpu_split(pin: bool) -> tuple[int | None, set[int]]:
    """(simulator CPU, engine CPUs): the first CPU for the simulator, the rest for the engine."""
    if not pin or not hasattr(os, "sched_getaffinity"):
        return None, set()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, set()
    return cpus[0], set(cpus[1:])


def _ms(seconds: list[float]) -> dict[str, float]:
    found = percentiles(seconds)
    return {"p50": found["p50"] * 1000, "p99": found["p99"] * 1000}


def rounded(values: Mapping[str, float], prefix: str = "", suffix: str = "_s") -> dict[str, float]:
    """``{prefix}{key}{suffix}: value`` rounded to 4 places."""
    return {f"{prefix}{key}{suffix}": round(value, 4) for key, value in values.items()}


# -- the runJob.sync workload --------------------------------------------------------------------

RETRY_THROTTLED: Final[list[JSON]] = [
    {
        "ErrorEquals": ["EKS.429", "EKS.500", "EKS.503"],
        "IntervalSeconds": 1,
        "MaxAttempts": 6,
        "BackoffRate": 1.5,
        "JitterStrategy": "FULL",
    }
]


def run_job_machine(cluster: Mapping[str, str]) -> dict[str, JSON]:
    """One ``runJob.sync`` Task on ``cluster``; the output keeps what the benchmark reads."""
    return {
        "StartAt": "Run",
        "States": {
            "Run": {
                "Type": "Task",
                "Resource": "arn:aws:states:::eks:runJob.sync",
                "Parameters": {
                    "ClusterName": cluster["name"],
                    "CertificateAuthority": cluster["ca"],
                    "Endpoint": cluster["endpoint"],
                    "Namespace": "default",
                    "Job.$": "$.job",
                },
                "ResultSelector": {
                    "name.$": "$.metadata.name",
                    "completionTime.$": "$.status.completionTime",
                },
                "Retry": RETRY_THROTTLED,
                "End": True,
            }
        },
    }


def job_manifest(name: str, seconds: float, *, ttl_zero: bool = False) -> dict[str, JSON]:
    """A Job the simulator runs for ``seconds`` (deleted as it finishes with ``ttl_zero``)."""
    spec: dict[str, JSON] = {"ttlSecondsAfterFinished": 0} if ttl_zero else {}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            **spec,
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {"sim.statewright.io/seconds": f"{seconds:.3f}"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36"}]},
            },
        },
    }


def job_durations(jobs: int, seed: int, low: float, high: float) -> list[float]:
    """The seeded run time of each Job, uniform in [low, high]."""
    rng = random.Random(seed)
    return [rng.uniform(low, high) for _ in range(jobs)]


def parse_rfc3339(text: str) -> float:
    """Epoch seconds of ``YYYY-MM-DDTHH:MM:SSZ``."""
    moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    return moment.timestamp()


SETTLE_SECONDS: Final = 2.0
"""The memory probe's wait, once all wait, before it measures (a few polls, or the watch's steady state)."""
STEADY_SECONDS: Final = 5.0
"""The window, once all wait, over which steady requests per second and CPU shares are measured."""


@dataclass(frozen=True)
class RunConfig:
    """One benchmark run.

    Attributes:
        jobs: concurrent executions.
        policy: the poll-policy spec.
        seed: seeds Job durations and fault draws.
        faults: inject 5 % 429/500/503 and cut watches every 3 s.
        min_seconds, max_seconds: the Job run-time distribution (uniform).
        pin: pin simulator and engine to separate CPUs.
        timeout: give up on the run after this many seconds.
        kube_qps, kube_burst: the engine's per-cluster client-side rate limit
            (``eks_kube_qps`` / ``eks_kube_burst``); by default so high that it never binds,
            so the runs measure polling, not the limiter.
        hold: measure memory instead (``memory_probe``): Jobs that outlast the probe.
        tracemalloc: with ``hold``, also trace Python allocations (slow).
        trace_frames: with ``tracemalloc``, the frames kept per allocation; above 1 the sites
            are grouped by traceback (innermost frame first in the report) instead of by line.
        malloc_stats: with ``hold``, also report what pymalloc's arenas and glibc's heap grew
            by per waiting execution, and RSS after ``malloc_trim`` (diagnostics only).
        loop: the engine process's event loop, ``asyncio`` or ``uvloop``.
        store: with ``hold``, keep the executions in a SQLite store (a temporary file).
        kill_server: SIGKILL the Kubernetes API server mid-run and restart it without its state
            (the API server alone in its own process, ``sim.kube.process.KubeProcess``).
        ttl_zero: Jobs with ``ttlSecondsAfterFinished: 0`` (deleted as they finish).
        settle_seconds, steady_seconds: with ``hold``, the wait before measuring and the steady
            window (``SETTLE_SECONDS`` / ``STEADY_SECONDS``; shorter in the smoke test).
    """

    jobs: int
    policy: str
    seed: int = 1
    faults: bool = False
    min_seconds: float = 1.0
    max_seconds: float = 5.0
    pin: bool = True
    timeout: float = RUN_TIMEOUT_SECONDS
    kube_qps: float = UNLIMITED_QPS
    kube_burst: int = UNLIMITED_BURST
    hold: bool = False
    tracemalloc: bool = False
    trace_frames: int = 1
    malloc_stats: bool = False
    loop: str = "asyncio"
    store: bool = False
    kill_server: bool = False
    ttl_zero: bool = False
    settle_seconds: float = SETTLE_SECONDS
    steady_seconds: float = STEADY_SECONDS


def executor_options(config: RunConfig, policy: PollPolicy, **extra: object) -> dict[str, object]:
    """The engine's executor options for a run: the policy and the client-side rate limit."""
    return {"poll_policy": policy, QPS_OPTION: config.kube_qps, BURST_OPTION: config.kube_burst, **extra}


def sim_options(config: RunConfig, cpu: int | None, **extra: Any) -> SimOptions:
    """The simulator options of a run (faults when asked)."""
    if config.faults:
        extra.update(fault_rate=FAULT_RATE, drop_rate=DROP_RATE, watch_cut=WATCH_CUT_SECONDS, fault_seed=config.seed)
    return SimOptions(cpu=cpu, **extra)


async def warm_up(engine: Engine, machine: Any, seed: int) -> None:
    """One short execution first, so imports, TLS contexts, the token and the pool exist before measuring."""
    warm = engine.start(machine, {"job": job_manifest(f"warmup-{seed}", 0.1)}, name=f"warmup-{seed}")
    result = await warm.wait()
    if result.status != "SUCCEEDED":
        raise RuntimeError(f"the warm-up execution ended {result.status}: {result.error}: {result.cause}")


HOLD_JOB_SECONDS: Final = 3600.0
TOP_ALLOCATION_SITES: Final = 30


def pymalloc_stats() -> dict[str, int]:
    """pymalloc's arena figures (``sys._debugmallocstats``, which writes to the C stderr): what
    Python's small-object allocator holds from the system, and how much of it is free inside."""
    import re

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode(errors="replace")
    wanted = {
        "arenas allocated current": "arenas",
        "bytes in allocated blocks": "allocated_blocks",
        "bytes in available blocks": "available_blocks",
        "unused pools": "unused_pools",
    }
    found: dict[str, int] = {}
    for line in text.splitlines():
        for label, key in wanted.items():
            if label in line and key not in found:
                found[key] = int(re.sub(r"[^0-9]", "", line.rsplit("=", 1)[1]))
    return found


def glibc_heap() -> dict[str, int]:
    """glibc's ``mallinfo2``: bytes handed out, free inside its heaps, and mmapped (empty elsewhere)."""
    import ctypes
    import ctypes.util

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]  # fmt: skip

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError, TypeError):
        return {}
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return {"heap": info.arena, "in_use": info.uordblks, "free": info.fordblks, "mmapped": info.hblkhd}


def malloc_stats() -> dict[str, dict[str, int]]:
    """``--malloc-stats``: both allocators' figures now."""
    return {"pymalloc": pymalloc_stats(), "glibc": glibc_heap()}


def per_execution_change(
    before: Mapping[str, Mapping[str, int]], after: Mapping[str, Mapping[str, int]], n: int
) -> dict[str, dict[str, int]]:
    """What each allocator figure grew by, per waiting execution."""
    return {
        group: {key: round((value - before[group].get(key, 0)) / max(n, 1)) for key, value in figures.items()}
        for group, figures in after.items()
    }


def trimmed_rss() -> int | None:
    """RSS after glibc's ``malloc_trim(0)`` gave back what it can (a diagnostic, never the figure)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        return None
    return rss_bytes()


def _object_types() -> collections.Counter[str]:
    """How many objects the collector tracks, by type (what a waiting execution keeps alive)."""
    return collections.Counter(
        f"{type(obj).__module__}.{type(obj).__qualname__}" for obj in gc.get_objects()
    )


async def memory_probe(config: RunConfig) -> dict[str, Any]:
    """Bytes per waiting execution, with every execution waiting at once.

    N executions start Jobs that run for an hour; once all N have submitted
    theirs and waited ``config.settle_seconds`` more (a few polls, or the watch's
    steady state), the growth of the resident set since just before the first
    start (after a full collection) is divided by the executions waiting. With
    ``config.tracemalloc`` the Python allocations over the same span are traced
    too, and the largest allocation sites reported; tracing slows the engine
    about fourfold, so use it at moderate N. The engine is then closed with
    ``eks_cancel_on_abort`` off, so no Job is deleted.
    """
    import tracemalloc

    policy = build_policy(config.policy)
    sim_cpu, engine_cpus = cpu_split(config.pin)
    pin_to_cpus(engine_cpus)
    async with SimProcess(sim_options(config, sim_cpu)) as sim:
        apply_env(sim.env)
        counter = RequestCounter()
        services = await counting_services(counter)
        registry = ExecutorRegistry()
        register(registry, EksExecutor(services))
        observer = Observer()
        options = executor_options(config, policy, eks_cancel_on_abort=False)
        store_dir = tempfile.TemporaryDirectory(prefix="statewright-hold-") if config.store else None
        store = f"sqlite:///{store_dir.name}/hold.db" if store_dir is not None else None
        engine = Engine(
            registry=registry, executor_options=options, on_event=observer, seed=config.seed, store=store
        )
        machine = engine.compile(run_job_machine(sim.cluster))
        names = [f"hold-{config.seed}-{index:06d}" for index in range(config.jobs)]
        inputs = [{"job": job_manifest(name, HOLD_JOB_SECONDS)} for name in names]
        async with engine:
            await warm_up(engine, machine, config.seed)
            observer.reset()
            gc.collect()
            stats_before = malloc_stats() if config.malloc_stats else {}
            rss_before = rss_bytes()
            types_before = _object_types() if config.tracemalloc else collections.Counter()
            if config.tracemalloc:
                tracemalloc.start(config.trace_frames)
                before = tracemalloc.take_snapshot()
            began = time.time()
            handles = [
                engine.start(machine, item, name=name) for name, item in zip(names, inputs, strict=True)
            ]
            with anyio.move_on_after(config.timeout):
                while observer.waiting + sum(1 for h in handles if h.done) < config.jobs:
                    await anyio.sleep(SAMPLE_SECONDS)
            submitted_s = time.time() - began
            await anyio.sleep(config.settle_seconds)
            waiting = observer.waiting
            counter.reset()
            steady_sim_before = (await sim.ask("usage"))["cpu_s"]
            steady_cpu_before, steady_began = time.process_time(), time.perf_counter()
            await anyio.sleep(config.steady_seconds)
            steady_s = time.perf_counter() - steady_began
            steady_cpu = (time.process_time() - steady_cpu_before) / steady_s
            steady_requests, steady_kinds = counter.total, dict(counter.by_kind)
            steady_sim_cpu = ((await sim.ask("usage"))["cpu_s"] - steady_sim_before) / steady_s
            gc.collect()
            rss_after = rss_bytes()
            stats_after = malloc_stats() if config.malloc_stats else {}
            rss_trimmed = trimmed_rss() if config.malloc_stats else None
            changes = []
            types_after: collections.Counter[str] = collections.Counter()
            if config.tracemalloc:
                grouping = "traceback" if config.trace_frames > 1 else "lineno"
                changes = tracemalloc.take_snapshot().compare_to(before, grouping)
                tracemalloc.stop()
                types_after = _object_types()
            ended = [h.result() for h in handles if h.done]
    if store_dir is not None:
        store_dir.cleanup()
    traced = sum(change.size_diff for change in changes)
    top = [
        {
            "site": " <- ".join(str(frame) for frame in reversed(change.traceback)),
            "bytes_per_execution": round(change.size_diff / max(waiting, 1)),
        }
        for change in changes[:TOP_ALLOCATION_SITES]
    ]
    diagnostics: dict[str, Any] = {}
    if config.malloc_stats:
        diagnostics["malloc_per_execution"] = per_execution_change(stats_before, stats_after, waiting)
        if rss_trimmed is not None and waiting:
            diagnostics["bytes_per_waiting_execution_after_trim"] = round(max(0, rss_trimmed - rss_before) / waiting)
    grown = (types_after - types_before).most_common(TOP_ALLOCATION_SITES)
    return {
        "name": "polling.memory",
        "policy": policy.name,
        "jobs": config.jobs,
        "seed": config.seed,
        "waiting": waiting,
        "ended_early": len(ended),
        "errors": dict(collections.Counter(f"{r.error}: {str(r.cause)[:200]}" for r in ended)),
        "bytes_per_waiting_execution": round(max(0, rss_after - rss_before) / waiting) if waiting else None,
        "memory_method": "rss_delta_all_waiting",
        "store": "sqlite" if config.store else None,
        "traced_bytes_per_waiting_execution": round(traced / waiting)
        if waiting and config.tracemalloc
        else None,
        "top_allocation_sites": top,
        **diagnostics,
        "top_object_types": [
            {"type": name, "per_execution": round(count / max(waiting, 1), 2)} for name, count in grown
        ],
        "submit_s": round(submitted_s, 3),
        "steady_requests_per_s": round(steady_requests / steady_s, 1),
        "steady_engine_cpu": round(steady_cpu, 2),
        "steady_sim_cpu": round(steady_sim_cpu, 2),
        "steady_requests_by_kind": steady_kinds,
        "kube_qps": config.kube_qps,
        "pinned": sim_cpu is not None,
    }


class StaticTokens:
    """The bearer token of a Kubernetes simulator run alone (``--kill-server``): no STS to sign with."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, cluster_name: str) -> str:
        return self._token

    def cached(self, cluster_name: str) -> str | None:
        return self._token

    def forget(self, cluster_name: str) -> None:
        return None

    async def aclose(self) -> None:
        return None


KUBE_TOKEN: Final = "benchmark-admin-token"


def kube_fault_args(config: RunConfig) -> list[str]:
    """``python -m sim.kube`` options for the run's faults."""
    if not config.faults:
        return []
    return ["--fault-rate", str(FAULT_RATE), "--drop-rate", str(DROP_RATE), "--watch-cut", str(WATCH_CUT_SECONDS),
            "--fault-seed", str(config.seed)]  # fmt: skip


def outcome_counts(
    config: RunConfig,
    names: list[str],
    results: list[Any],
    observer: Observer,
    killed_at: float | None,
    endpoint: str,
) -> dict[str, Any]:
    """How many executions ended right, wrong, or are still waiting.

    Right: SUCCEEDED with its own Job; with ``--kill-server`` also ``EKS.404`` for a
    Job submitted before the killed server was gone (the restarted one no longer has it), or
    ``States.TaskFailed`` naming the API server while it was unreachable.
    """
    right = wrong = waiting = 0
    wrong_errors: collections.Counter[str] = collections.Counter()
    for name, result in zip(names, results, strict=True):
        if result is None:
            waiting += 1
            continue
        output = result.output if isinstance(result.output, dict) else {}
        if result.status == "SUCCEEDED" and output.get("name") == name:
            right += 1
            continue
        submitted = observer.submitted.get(name)
        if config.kill_server and result.status == "FAILED" and (
            (result.error == "EKS.404" and killed_at is not None and submitted is not None and submitted < killed_at)
            or (result.error == "States.TaskFailed" and endpoint in str(result.cause))
        ):
            right += 1
            continue
        wrong += 1
        wrong_errors[f"{result.status} {result.error}: {str(result.cause)[:160]}"] += 1
    return {"right": right, "wrong": wrong, "still_waiting": waiting, "wrong_errors": dict(wrong_errors.most_common(5))}


async def run_job_benchmark(config: RunConfig) -> dict[str, Any]:
    """Run one configuration and return its JSON record (without machine info)."""
    policy = build_policy(config.policy)
    sim_cpu, engine_cpus = cpu_split(config.pin)
    pin_to_cpus(engine_cpus)
    async with contextlib.AsyncExitStack() as stack:
        counter = RequestCounter()
        sim: SimProcess | None = None
        kube: KubeProcess | None = None
        if config.kill_server:
            kube = await stack.enter_async_context(KubeProcess(KUBE_TOKEN, kube_fault_args(config), cpu=sim_cpu))
            cluster = {"name": "demo", "endpoint": kube.url, "ca": kube.ca_b64}
            services = EksServices(
                session=aioboto3.Session(),
                region="us-east-1",
                tokens=StaticTokens(KUBE_TOKEN),  # type: ignore[arg-type]
                connections=CountingConnections(counter),
            )
        else:
            sim = await stack.enter_async_context(SimProcess(sim_options(config, sim_cpu)))
            apply_env(sim.env)
            cluster = sim.cluster
            services = await counting_services(counter)
        registry = ExecutorRegistry()
        register(registry, EksExecutor(services))
        observer = Observer()
        durations = job_durations(config.jobs, config.seed, config.min_seconds, config.max_seconds)
        names = [f"bench-{config.seed}-{index:06d}" for index in range(config.jobs)]
        inputs = [{"job": job_manifest(n, d, ttl_zero=config.ttl_zero)} for n, d in zip(names, durations, strict=True)]
        engine = Engine(
            registry=registry,
            executor_options=executor_options(config, policy),
            on_event=observer,
            seed=config.seed,
        )
        machine = engine.compile(run_job_machine(cluster))
        ended_results: list[Any] = []
        killed_at: float | None = None

        async def kill_mid_run() -> None:
            nonlocal killed_at
            assert kube is not None
            while len(observer.exited) < config.jobs * KILL_AFTER_FRACTION:
                await anyio.sleep(SAMPLE_SECONDS / 2)
            await kube.kill()
            killed_at = time.time()  # dead: every Job created before now is gone with it
            await kube.start()  # the same address, CA and token, without any object

        async with engine, anyio.create_task_group() as tg:
            await warm_up(engine, machine, config.seed)
            counter.reset()
            observer.reset()
            gc.collect()
            sampler = MemorySampler(observer, baseline=rss_bytes())
            sim_cpu_before = (await sim.ask("usage"))["cpu_s"] if sim is not None else 0.0
            cpu_before = time.process_time()
            began = time.time()
            tg.start_soon(sampler.run)
            if kube is not None:
                tg.start_soon(kill_mid_run)
            handles = [
                engine.start(machine, item, name=name) for name, item in zip(names, inputs, strict=True)
            ]
            with anyio.move_on_after(config.timeout):
                for handle in handles:
                    await handle.wait()
            ended_results = [handle.result() if handle.done else None for handle in handles]
            ended = time.time()
            tg.cancel_scope.cancel()
        cpu = time.process_time() - cpu_before
        sampler.sample()
        sim_cpu_used = (await sim.ask("usage"))["cpu_s"] - sim_cpu_before if sim is not None else 0.0
        finish = await sim.finish_times() if sim is not None else {}
        outcomes = outcome_counts(config, names, ended_results, observer, killed_at, cluster["endpoint"])
    results = [r for r in ended_results if r is not None]
    completed = sum(1 for r in results if r.status == "SUCCEEDED")
    errors = collections.Counter(str(r.error) for r in results if r.status != "SUCCEEDED")
    latencies: list[float] = []
    ct_latencies: list[float] = []
    for result in results:
        if result.status != "SUCCEEDED" or result.name not in observer.exited:
            continue
        left = observer.exited[result.name]
        if result.name in finish:
            latencies.append(left - finish[result.name])
        output = result.output if isinstance(result.output, dict) else {}
        completion = output.get("completionTime")
        if isinstance(completion, str):
            ct_latencies.append(left - parse_rfc3339(completion))
    wall = ended - began
    total = counter.total
    setup = counter.by_kind.get("create_job", 0) + counter.by_kind.get("read_log", 0)
    lat = percentiles(latencies)
    ct = percentiles(ct_latencies)
    return {
        "name": "polling.runJob",
        "policy": policy.name,
        "jobs": config.jobs,
        "faults": config.faults,
        "kill_server": config.kill_server,
        "ttl_zero": config.ttl_zero,
        **outcomes,
        "seed": config.seed,
        "job_seconds": [config.min_seconds, config.max_seconds],
        "completed": completed,
        "failed": len(results) - completed,
        "unfinished": config.jobs - len(results),
        "errors": dict(errors),
        **rounded(lat),
        "latency_reference": "sim_status_write",
        "latency_samples": len(latencies),
        **rounded({"p50": ct["p50"], "p99": ct["p99"]}, prefix="ct_"),
        "requests": total,
        "requests_by_kind": dict(counter.by_kind),
        "requests_by_status": dict(counter.by_status),
        "requests_per_job": round(total / config.jobs, 3),
        "status_requests_per_job": round((total - setup) / config.jobs, 3),
        "requests_per_s": round(total / wall, 1) if wall > 0 else 0.0,
        "request_counting": "client aiohttp TraceConfig",
        **rounded(_ms(counter.request_seconds), prefix="request_", suffix="_ms"),
        "requests_queued_for_connection": len(counter.queue_seconds),
        **rounded(_ms(counter.queue_seconds), prefix="conn_queue_", suffix="_ms"),
        "cpu_s": round(cpu, 3),
        "sim_cpu_s": round(sim_cpu_used, 3),
        "rss_peak_mb": round(sampler.peak_rss / 2**20, 1),
        "bytes_per_waiting_execution": (
            round(sampler.bytes_per_waiting) if sampler.bytes_per_waiting is not None else None
        ),
        "waiting_peak": sampler.peak_waiting,
        "memory_method": "rss_delta_at_peak_in_flight",
        "wall_s": round(wall, 3),
        "aws_compression": policy.factor if isinstance(policy, CompressedAwsPolicy) else None,
        "kube_qps": config.kube_qps,
        "kube_burst": config.kube_burst,
        "pinned": sim_cpu is not None,
    }


# -- driving runs ---------------------------------------------------------------------------------


def default_out(prefix: str) -> Path:
    """``benchmarks/results/<prefix>-<UTC time>.jsonl``."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return RESULTS_DIR / f"{prefix}-{stamp}.jsonl"


def run_in_child(module: str, argv: list[str]) -> list[dict[str, Any]]:
    """Run ``python -m module --single ARGV`` (a fresh process) and return the JSON lines it printed."""
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", module, "--single", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.stderr:
        sys.stderr.write(done.stderr)
    records = [orjson.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 and not records:
        raise RuntimeError(f"{module} {' '.join(argv)} exited with status {done.returncode}")
    return records


def record_line(record: dict[str, Any], out: Path) -> None:
    """Append one record to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("ab") as handle:
        handle.write(orjson.dumps(record) + b"\n")


def child_argv(config: RunConfig, *, job_seconds: bool = True) -> list[str]:
    """The command-line arguments that reproduce ``config`` in a child process."""
    argv = ["--jobs", str(config.jobs), "--policy", config.policy, "--seed", str(config.seed)]
    if job_seconds:
        argv += ["--min-seconds", str(config.min_seconds), "--max-seconds", str(config.max_seconds)]
    argv += ["--timeout", str(config.timeout)]
    argv += ["--kube-qps", str(config.kube_qps), "--kube-burst", str(config.kube_burst)]
    if config.faults:
        argv.append("--faults")
    if config.kill_server:
        argv.append("--kill-server")
    if config.ttl_zero:
        argv.append("--ttl-zero")
    if not config.pin:
        argv.append("--no-pin")
    if config.hold:
        argv.append("--hold")
    if config.tracemalloc:
        argv.append("--tracemalloc")
    if config.trace_frames != 1:
        argv += ["--trace-frames", str(config.trace_frames)]
    if config.malloc_stats:
        argv.append("--malloc-stats")
    if config.store:
        argv.append("--store")
    argv += ["--loop", config.loop]
    return argv


def degraded(record: Mapping[str, Any], limit: float) -> bool:
    """Whether a ``--max`` step went too far: a failure, an unfinished run or p99 over ``limit``."""
    return bool(record["failed"] or record["unfinished"] or record["p99_s"] > limit)


def add_rate_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """``--kube-qps`` / ``--kube-burst``: the engine's client-side limit per cluster."""
    parser.add_argument(
        "--kube-qps", type=float, default=UNLIMITED_QPS, help="eks_kube_qps (default: never binds)"
    )
    parser.add_argument(
        "--kube-burst", type=int, default=UNLIMITED_BURST, help="eks_kube_burst (default: never binds)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.polling``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.polling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--jobs", type=int, action="append", help="concurrent executions (repeatable)")
    parser.add_argument("--policy", action="append", help="poll policy spec (repeatable)")
    parser.add_argument("--seed", type=int, default=1, help="seed of Job durations and faults (default 1)")
    parser.add_argument(
        "--faults", action="store_true", help="5%% 429/5xx answers, 2%% dropped connections, watches cut every 3 s"
    )
    parser.add_argument(
        "--kill-server", action="store_true",
        help="SIGKILL the Kubernetes API server mid-run and restart it without its state",
    )
    parser.add_argument("--ttl-zero", action="store_true", help="Jobs deleted as they finish (ttlSecondsAfterFinished: 0)")
    parser.add_argument(
        "--max", action="store_true", help="double N from --jobs until latency or errors degrade"
    )
    parser.add_argument("--max-p99", type=float, default=MAX_MODE_P99_SECONDS, help="--max: p99 limit (s)")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="shortest Job run time (default 1)")
    parser.add_argument("--max-seconds", type=float, default=5.0, help="longest Job run time (default 5)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=RUN_TIMEOUT_SECONDS,
        help="give up on a run after SECONDS (default 600)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin simulator and engine to CPUs")
    parser.add_argument("--hold", action="store_true", help="measure memory with all N waiting at once (RSS)")
    parser.add_argument("--tracemalloc", action="store_true", help="--hold: also trace allocations (slow)")
    parser.add_argument(
        "--trace-frames", type=int, default=1, help="--tracemalloc: frames per site, grouped by traceback when > 1"
    )
    parser.add_argument(
        "--malloc-stats", action="store_true", help="--hold: also report pymalloc/glibc growth and RSS after malloc_trim"
    )
    parser.add_argument("--store", action="store_true", help="--hold: with a durable SQLite store (temporary file)")
    parser.add_argument(
        "--loop", choices=("asyncio", "uvloop"), default="asyncio", help="the engine's event loop (default asyncio)"
    )
    add_rate_limit_arguments(parser)
    parser.add_argument("--out", type=Path, help="append JSON lines here (default benchmarks/results/…)")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    return parser


def _configs(args: argparse.Namespace) -> list[RunConfig]:
    common = {
        "seed": args.seed,
        "min_seconds": args.min_seconds,
        "max_seconds": args.max_seconds,
        "pin": not args.no_pin,
        "timeout": args.timeout,
        "kube_qps": args.kube_qps,
        "kube_burst": args.kube_burst,
        "hold": args.hold,
        "tracemalloc": args.tracemalloc,
        "trace_frames": args.trace_frames,
        "malloc_stats": args.malloc_stats,
        "loop": args.loop,
        "store": args.store,
        "kill_server": args.kill_server,
        "ttl_zero": args.ttl_zero,
    }
    if args.jobs is None and args.policy is None and not args.hold:
        return [RunConfig(n, p, faults=f, **common) for n, p, f in DEFAULT_SET]
    jobs = args.jobs or [1_000]
    policies = args.policy or list(CANDIDATE_POLICIES)
    return [RunConfig(n, p, faults=args.faults, **common) for p in policies for n in jobs]


def validate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Reject bad options with a message (no traceback)."""
    if args.jobs is not None and any(n < 1 for n in args.jobs):
        parser.error("--jobs must be at least 1")
    if not 0 < args.min_seconds <= args.max_seconds:
        parser.error("need 0 < --min-seconds <= --max-seconds")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    if args.trace_frames < 1:
        parser.error("--trace-frames must be at least 1")
    if args.kube_qps <= 0 or args.kube_burst < 1:
        parser.error("--kube-qps must be positive and --kube-burst at least 1")
    for spec in args.policy or ():
        try:
            build_policy(spec)
        except ValueError as exc:
            parser.error(str(exc))


def drive(
    args: argparse.Namespace,
    configs: list[RunConfig],
    module: str,
    prefix: str,
    run_one: Callable[[RunConfig], list[dict[str, Any]]],
    child_extra: list[str] | None = None,
    *,
    job_seconds: bool = True,
) -> int:
    """Run ``configs`` (in-process when ``--single``, else each in a child) and record the lines."""
    if args.single:
        for config in configs:
            for record in run_one(config):
                emit(record)
        return 0
    extra = child_extra or []
    out: Path = args.out or default_out(prefix)
    runnable = [c for c in configs if available(c.policy)]
    for skipped in sorted({c.policy for c in configs} - {c.policy for c in runnable}):
        sys.stderr.write(f"skipping poll policy {skipped!r}: not registered in executors.eks.polling yet\n")
    sys.stderr.write(f"writing results to {out}\n")
    for config in runnable:
        if args.max:
            step = config
            while step.jobs <= MAX_MODE_LIMIT:
                records = run_in_child(module, child_argv(step, job_seconds=job_seconds) + extra)
                for record in records:
                    record["mode"] = "max"
                    _print_and_record(record, out)
                if not records or degraded(records[-1], args.max_p99):
                    break
                step = RunConfig(**{**step.__dict__, "jobs": step.jobs * 2})
            continue
        for record in run_in_child(module, child_argv(config, job_seconds=job_seconds) + extra):
            _print_and_record(record, out)
    return 0


def _print_and_record(record: dict[str, Any], out: Path) -> None:
    sys.stdout.write(orjson.dumps(record).decode() + "\n")
    sys.stdout.flush()
    record_line(record, out)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.polling``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    validate(args, parser)
    return drive(args, _configs(args), "benchmarks.polling", "polling", lambda c: [run_on_loop(c.loop, run_one(c))])


def run_on_loop(loop: str, main: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run ``main`` on the named event loop; the record says which."""
    if loop == "uvloop":
        import uvloop

        record = uvloop.run(main)
    else:
        record = asyncio.run(main)
    record["loop"] = loop
    return record


async def run_one(config: RunConfig) -> dict[str, Any]:
    """The memory probe with ``hold``, else the timed run."""
    return await (memory_probe(config) if config.hold else run_job_benchmark(config))


__all__ = [
    "CompressedAwsPolicy",
    "RequestCounter",
    "RunConfig",
    "build_policy",
    "kube_request_kind",
    "run_job_benchmark",
]


if __name__ == "__main__":
    sys.exit(main())
