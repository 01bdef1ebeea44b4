"""``python -m sim.kube``: serve one Kubernetes API simulator in the foreground.

For manual use (``kubectl`` against a local API server). Prints the URL, the
static admin token and the base64 CA, optionally writes a kubeconfig, and serves
until interrupted. The full ``statewright sim`` command (EKS, STS and clusters)
is built on the same class elsewhere.

``--runtime process`` runs the commands that clients put in pod specs as local
processes; the server only listens on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

import yaml

from sim.kube.simulator import KubeSimulator


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
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run the simulator until SIGINT or SIGTERM."""
    if args.runtime == "process":
        print(
            "warning: the process runtime runs the commands clients put in pod specs as local processes",
            file=sys.stderr,
            flush=True,
        )
    kube = KubeSimulator(runtime=args.runtime, port=args.port, tls=not args.http, cluster_name="sim")
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
