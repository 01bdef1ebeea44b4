"""The simulators in a process of their own, so the engine's CPU and memory are measured alone.

The polling benchmarks start this module as a child process
(``python -m benchmarks.simproc --env FILE …``) and talk to it over its
standard streams, one JSON object per line:

* once STS, EKS and the ready cluster answer, it writes the ``--env`` file
  (``export K=V`` lines, as ``statewright sim --env`` writes them) and prints
  ``{"ready": true, "env": {…}, "cluster": {"name", "endpoint", "ca"}}``;
* it then reads commands from stdin and answers each with one line:
  ``finish_times`` → ``{"finish_times": {job name: epoch seconds}}`` (the
  moment each Job of the ready cluster first carried a ``Complete`` or
  ``Failed`` condition, taken with ``time.time()`` inside the simulator when
  the status write happens: sub-millisecond, where ``completionTime`` has one
  second resolution), ``usage`` → ``{"cpu_s", "rss_peak_mb"}`` of this process,
  ``clear`` → forgets the recorded times, ``creations`` → ``{"creations": {key: n}}``
  (how many Jobs were created per value of the ``bench.statewright.io/call``
  label, for counting side effects done twice), ``stop`` (or end of input) → exits.

Faults are :class:`sim.faults.FaultConfig` given to :class:`sim.stack.Simulators`
(``faults`` for the Kubernetes API servers, ``aws_faults`` for EKS and STS):
``--fault-rate`` is split evenly between 429 (with ``Retry-After``), 500 and 503,
and ``--watch-cut`` ends every watch stream after that many seconds. They are
switched on only after the simulators are ready, so start-up itself is clean.

:class:`SimProcess` is the parent's side: an async context manager that starts
the child (optionally pinned to one CPU), waits for readiness and stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import shlex
import ssl
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
import orjson

from sim.faults import FaultConfig
from sim.process import ChildProcess

READY_TIMEOUT_SECONDS: Final = 60.0
STOP_TIMEOUT_SECONDS: Final = 20.0
TERMINAL_CONDITIONS: Final = ("Complete", "Failed")


# -- the child ------------------------------------------------------------------------------------


class _FinishRecorder:
    """Remembers when each Job first became Complete or Failed (a store listener)."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def __call__(self, event: Any) -> None:
        if event.table.info.resource != "jobs":
            return
        obj = event.entry.obj
        name = obj["metadata"].get("name", "")
        if name in self.times:
            return
        for condition in (obj.get("status") or {}).get("conditions") or ():
            if condition.get("type") in TERMINAL_CONDITIONS and condition.get("status") == "True":
                self.times[name] = time.time()
                return


CALL_LABEL: Final = "bench.statewright.io/call"


class _CreateRecorder:
    """Counts Job creations per ``bench.statewright.io/call`` label (a store listener)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, event: Any) -> None:
        if event.type != "ADDED" or event.table.info.resource != "jobs":
            return
        labels = event.entry.obj["metadata"].get("labels") or {}
        key = labels.get(CALL_LABEL)
        if key is not None:
            self.counts[key] = self.counts.get(key, 0) + 1


async def _probe(url: str, ca_b64: str, token: str) -> None:
    context = ssl.create_default_context(cadata=base64.b64decode(ca_b64).decode("ascii"))
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(url + "/version", ssl=context, headers={"Authorization": f"Bearer {token}"}) as answer,
    ):
        answer.raise_for_status()


def _write_env(path: Path, env: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("".join(f"export {key}={shlex.quote(value)}\n" for key, value in env.items()))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _say(record: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(record).decode() + "\n")
    sys.stdout.flush()


async def _serve(args: argparse.Namespace) -> None:
    # Only the child needs the simulators: the measured parent imports this module for SimProcess alone.
    from sim.eks import Timings
    from sim.stack import Simulators

    timings = Timings.named(args.timings, args.time_factor)
    async with Simulators(
        timings=timings, demo_cluster=args.cluster, kube_servers=not args.no_kube_servers
    ) as stack:
        recorder = _FinishRecorder()
        creations = _CreateRecorder()
        cluster: dict[str, str] = {"name": args.cluster}
        if not args.no_kube_servers:
            kube = stack.cluster(args.cluster)
            kube.store.subscribe(recorder)
            kube.store.subscribe(creations)
            await _probe(kube.url, kube.ca_b64, stack.token(args.cluster))
            cluster.update(endpoint=kube.url, ca=kube.ca_b64)
        if args.fault_rate > 0 or args.drop_rate > 0 or args.watch_cut is not None:
            config = FaultConfig.evenly(
                args.fault_rate,
                seed=args.fault_seed,
                drop_rate=args.drop_rate,
                watch_cut_seconds=args.watch_cut,
            )
            if args.faults in ("kube", "both"):
                # Clusters created from now on get them too (EksSimulator reads kube_faults then).
                stack.eks.kube_faults = config
                if not args.no_kube_servers:
                    stack.cluster(args.cluster).set_faults(config)
            if args.faults in ("aws", "both"):
                stack.eks.set_faults(config)
                stack.sts.set_faults(config)
        env = stack.env()
        await asyncio.to_thread(_write_env, Path(args.env), env)
        _say({"ready": True, "env": env, "cluster": cluster, "pid": os.getpid()})
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = (await reader.readline()).decode().strip()
            if line in ("", "stop"):
                break
            if line == "finish_times":
                _say({"finish_times": recorder.times})
            elif line == "creations":
                _say({"creations": creations.counts})
            elif line == "clear":
                recorder.times = {}
                _say({"cleared": True})
            elif line == "usage":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                _say({"cpu_s": usage.ru_utime + usage.ru_stime, "rss_peak_mb": usage.ru_maxrss / 1024})
            else:
                _say({"error": f"unknown command {line!r}"})


def main(argv: list[str] | None = None) -> int:
    """Run the simulators until stdin closes or ``stop`` arrives."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.simproc", description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, metavar="FILE", help="write 'export K=V' lines here")
    parser.add_argument("--cluster", default="demo", help="the ready cluster's name (default demo)")
    parser.add_argument("--timings", choices=("fast", "realistic"), default="fast")
    parser.add_argument("--time-factor", type=float, default=1.0)
    parser.add_argument("--no-kube-servers", action="store_true", help="no Kubernetes API servers")
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="fraction of requests answered 429/500/503"
    )
    parser.add_argument(
        "--drop-rate", type=float, default=0.0, help="fraction of connections dropped unanswered"
    )
    parser.add_argument("--watch-cut", type=float, default=None, help="end watch streams after SECONDS")
    parser.add_argument("--faults", choices=("kube", "aws", "both"), default="kube")
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU (Linux)")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {args.cpu})
        except OSError as exc:
            parser.error(f"cannot pin to CPU {args.cpu}: {exc.strerror}")
    if not 0 <= args.fault_rate <= 1:
        parser.error("--fault-rate must lie between 0 and 1")
    if args.time_factor <= 0:
        parser.error("--time-factor must be positive")
    try:
        # The simulator is the benchmarks' server, not what they measure: on uvloop
        # (when installed, as with the dev extras) it answers about a third faster.
        import uvloop
    except ImportError:
        asyncio.run(_serve(args))
    else:
        uvloop.run(_serve(args))
    return 0


# -- the parent ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimOptions:
    """How to start the simulator process.

    Attributes:
        timings: ``fast`` or ``realistic`` EKS lifecycle durations.
        time_factor: multiplies every EKS duration.
        kube_servers: start a Kubernetes API server per ACTIVE cluster.
        fault_rate: fraction of requests answered 429/500/503 (0 for none).
        drop_rate: fraction of requests whose connection is dropped unanswered.
        watch_cut: end watch streams after this many seconds (None: never).
        faults: where faults apply: ``kube``, ``aws`` or ``both``.
        fault_seed: seed of the fault draws.
        cpu: pin the simulator process to this CPU (None: no pinning).
    """

    timings: str = "fast"
    time_factor: float = 1.0
    kube_servers: bool = True
    fault_rate: float = 0.0
    drop_rate: float = 0.0
    watch_cut: float | None = None
    faults: str = "kube"
    fault_seed: int = 0
    cpu: int | None = None


class SimProcess(ChildProcess):
    """The parent's handle on ``python -m benchmarks.simproc`` (a :class:`sim.process.ChildProcess`).

    Attributes (once started):
        env: the environment an AWS client needs (also written to ``env_file``).
        cluster: ``name``, ``endpoint`` and ``ca`` of the ready cluster.
    """

    def __init__(self, options: SimOptions | None = None) -> None:
        # Answers such as finish_times for 100,000 Jobs are one long line.
        super().__init__(
            "the simulator process",
            stop_by_stdin=True,
            stop_timeout_seconds=STOP_TIMEOUT_SECONDS,
            stream_limit=2**28,
        )
        self.options = options or SimOptions()
        self.env: dict[str, str] = {}
        self.cluster: dict[str, str] = {}
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def env_file(self) -> str:
        """The env file's path."""
        assert self._tmpdir is not None
        return str(Path(self._tmpdir.name) / "sim.env")

    async def start(self) -> None:
        """Start the child and wait until it reports ready."""
        opts = self.options
        self._tmpdir = tempfile.TemporaryDirectory(prefix="statewright-bench-")
        args = ["--env", self.env_file, "--timings", opts.timings, "--time-factor", str(opts.time_factor)]
        args += [
            "--fault-rate",
            str(opts.fault_rate),
            "--drop-rate",
            str(opts.drop_rate),
            "--faults",
            opts.faults,
            "--fault-seed",
            str(opts.fault_seed),
        ]
        if opts.watch_cut is not None:
            args += ["--watch-cut", str(opts.watch_cut)]
        if not opts.kube_servers:
            args.append("--no-kube-servers")
        if opts.cpu is not None:
            args += ["--cpu", str(opts.cpu)]
        await self.spawn("benchmarks.simproc", args)
        ready = await asyncio.wait_for(self._read(), READY_TIMEOUT_SECONDS)
        if not ready.get("ready"):
            raise RuntimeError(f"the simulator process did not start: {ready}")
        self.env = dict(ready["env"])
        self.cluster = dict(ready["cluster"])

    async def _read(self) -> dict[str, Any]:
        answer: dict[str, Any] = orjson.loads(await self.readline())
        return answer

    async def ask(self, command: str) -> dict[str, Any]:
        """Send one command (``finish_times``, ``usage``, ``clear``) and return the answer."""
        await self.send(command.encode())
        return await self._read()

    async def finish_times(self) -> dict[str, float]:
        """Job name → epoch seconds at which the simulator marked it Complete or Failed."""
        answer = await self.ask("finish_times")
        return {str(k): float(v) for k, v in answer["finish_times"].items()}

    def cleanup(self) -> None:
        """Delete the env file."""
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None


def apply_env(env: dict[str, str]) -> None:
    """Set the simulator's AWS client environment in this process (before the Engine is built)."""
    os.environ.update(env)


if __name__ == "__main__":
    sys.exit(main())
