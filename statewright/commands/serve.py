"""``statewright serve``: the Step Functions API on loopback.

    statewright serve [--host 127.0.0.1] [--port 8083] [--store URL] [--sim] [--verify-sigv4 KEY=SECRET]

It runs until SIGINT or SIGTERM, then stops the engine (aborting what still
runs) and exits 0. Once listening it prints one line on stderr,
``statewright serve: listening on http://HOST:PORT``, so scripts (and tests
with ``--port 0``) learn the address. With a durable ``--store`` the
executions still running when it stops stay RUNNING in the store, and the
next ``serve`` on that store continues them (task tokens included).
``SFN_MOCK_CONFIG=FILE``, as for Step Functions Local, loads a mock
configuration: StartExecution on ``stateMachineArn#TestCase`` runs that test case. ``--sim`` starts the embedded EKS, STS
and Kubernetes simulators and points the executors at them, as ``run --sim``
does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import Any, Final

from statewright.api import DEFAULT_HOST, DEFAULT_PORT, ApiServer, SigV4Verifier
from statewright.commands.options import (
    EXIT_USAGE,
    UsageError,
    add_cleanup_argument,
    cleanup_options,
    poll_options,
)

EXIT_OK: Final = 0
MEMORY_STORE: Final = "memory://"
MOCK_CONFIG_ENV: Final = "SFN_MOCK_CONFIG"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST}: loopback only)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}, Step Functions Local's; 0: any free)",
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        default=MEMORY_STORE,
        help=f"where state machines and executions live: sqlite:///PATH, postgresql://USER@HOST:PORT/DB "
        f"or {MEMORY_STORE} (the default; lost when the server stops)",
    )
    parser.add_argument(
        "--sim",
        action="store_true",
        help="also start the EKS, STS and Kubernetes simulators (EKS Tasks run offline)",
    )
    add_cleanup_argument(parser)
    parser.add_argument(
        "--verify-sigv4",
        metavar="KEY=SECRET",
        help="accept only requests signed (SigV4) with this access key and secret (default: accept any signature)",
    )


def _verifier(spec: str | None) -> SigV4Verifier | None:
    if spec is None:
        return None
    key, sep, secret = spec.partition("=")
    if not sep or not key or not secret:
        raise UsageError("--verify-sigv4 takes KEY=SECRET (an access key id and its secret access key)")
    return SigV4Verifier(key, secret)


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.store != MEMORY_STORE:
        from engine.store import StoreError, open_store

        try:
            options["store"] = open_store(args.store)
        except StoreError as exc:
            raise UsageError(f"--store: {exc}") from None
    mock_config = os.environ.get(MOCK_CONFIG_ENV)
    if mock_config:
        # Step Functions Local's variable: StartExecution on `stateMachineArn#TestCase` runs a test case.
        options["mock_config"] = mock_config
    poll = poll_options(None, sim=True) if args.sim else {}
    executor_options = {**poll, **cleanup_options(args.cleanup)}
    if executor_options:
        options["executor_options"] = executor_options
    return options


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _serve(args: argparse.Namespace) -> int:
    verifier = _verifier(args.verify_sigv4)
    options = _engine_options(args)
    async with contextlib.AsyncExitStack() as stack:
        if args.sim:
            from sim.stack import Simulators

            sims = await stack.enter_async_context(Simulators())
            # The executors read boto3's standard configuration, as with `run --sim`.
            os.environ.update(sims.env())
        try:
            server = await stack.enter_async_context(
                ApiServer(host=args.host, port=args.port, verifier=verifier, engine_options=options)
            )
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
        print(f"statewright serve: listening on {server.url}", file=sys.stderr, flush=True)
        await _until_signalled()
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """Run ``serve`` to its end; returns the exit code."""
    try:
        return asyncio.run(_serve(args))
    except UsageError as exc:
        print(f"statewright: {exc}", file=sys.stderr)
        return EXIT_USAGE


__all__ = ["add_arguments", "run"]
