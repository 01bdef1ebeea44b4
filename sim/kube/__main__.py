"""``python -m sim.kube``: serve one Kubernetes API simulator in the foreground.

For manual use (``kubectl`` against a local API server). Prints the URL, the
static admin token and the base64 CA, optionally writes a kubeconfig, and serves
until interrupted. The full ``statewright sim`` command (EKS, STS and clusters)
is built on the same class elsewhere.

``--runtime process`` runs the commands that clients put in pod specs as local
processes; the server only listens on loopback.

``--ca-dir`` keeps the CA there (created on first use), so a server restarted
on the same ``--port`` with the same ``--token`` is the same API server to its
clients, only without its objects: what fault tests and benchmarks need to
play an API server that lost its state. The ``--fault-*`` and ``--drop-rate``
options inject seeded 429/500/503 answers and dropped connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

import yaml

from sim.faults import FaultConfig
from sim.kube.simulator import KubeSimulator
from sim.server import HANDSHAKE_TIMEOUT_SECONDS, HEADER_TIMEOUT_SECONDS
from sim.tls import CertificateAuthority


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m sim.kube", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runtime",
        choices=("model", "process"),
        default="model",
        help="how containers run: annotations (model) or local subprocesses (process)",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--token", default=None, help="static admin token (default: a random one)")
    parser.add_argument("--kubeconfig", type=Path, default=None, help="write a kubeconfig for kubectl here")
    parser.add_argument("--http", action="store_true", help="serve plain HTTP instead of HTTPS")
    parser.add_argument("--ca-dir", type=Path, default=None, help="keep the CA here and reuse it on restart")
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=HEADER_TIMEOUT_SECONDS,
        help=f"close connections whose request head takes longer (default {HEADER_TIMEOUT_SECONDS:g} s)",
    )
    parser.add_argument(
        "--handshake-timeout",
        type=float,
        default=HANDSHAKE_TIMEOUT_SECONDS,
        help=f"close connections whose TLS handshake takes longer (default {HANDSHAKE_TIMEOUT_SECONDS:g} s)",
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="fraction of requests answered 429/500/503 (split evenly)",
    )
    parser.add_argument(
        "--drop-rate", type=float, default=0.0, help="fraction of connections dropped unanswered"
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument("--watch-cut", type=float, default=None, help="end watch streams after SECONDS")
    args = parser.parse_args(argv)
    try:
        args.faults = fault_config(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.header_timeout <= 0 or args.handshake_timeout <= 0:
        parser.error("--header-timeout and --handshake-timeout must be positive")
    return args


def fault_config(args: argparse.Namespace) -> FaultConfig | None:
    """The faults the options ask for, or None."""
    if not (args.fault_rate or args.drop_rate or args.watch_cut):
        return None
    return FaultConfig.evenly(
        args.fault_rate, seed=args.fault_seed, drop_rate=args.drop_rate, watch_cut_seconds=args.watch_cut
    )


async def serve(args: argparse.Namespace) -> None:
    """Run the simulator until SIGINT or SIGTERM."""
    if args.runtime == "process":
        print(
            "warning: the process runtime runs the commands clients put in pod specs as local processes",
            file=sys.stderr,
            flush=True,
        )
    ca = None
    if args.ca_dir is not None:
        ca = await asyncio.to_thread(CertificateAuthority.load_or_create, args.ca_dir)
    kube = KubeSimulator(
        ca=ca,
        runtime=args.runtime,
        port=args.port,
        tls=not args.http,
        cluster_name="sim",
        faults=args.faults,
        header_timeout_seconds=args.header_timeout,
        handshake_timeout_seconds=args.handshake_timeout,
    )
    token = kube.add_static_token(args.token, "admin")
    async with kube:
        if args.kubeconfig is not None:
            text = yaml.safe_dump(kube.kubeconfig(token))
            await asyncio.to_thread(args.kubeconfig.write_text, text)
        print(f"url: {kube.url}\ntoken: {token}\nca: {kube.ca_b64}", flush=True)
        if args.kubeconfig is not None:
            print(f"kubeconfig: {args.kubeconfig}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as exc:
        print(f"error: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
