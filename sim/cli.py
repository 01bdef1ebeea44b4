"""The ``statewright sim`` command: the simulators in the foreground until interrupted.

The application package owns the command line; it calls :func:`add_arguments`
on its ``sim`` sub-parser and awaits :func:`run`. ``python -m sim`` does the
same without the application package (see ``sim/__main__.py``).

What the command promises scripts: it starts STS, EKS and a ready cluster
(``demo`` by default) on loopback, checks that each server answers, and only
then writes the ``--env`` and ``--kubeconfig`` files (atomically, mode 0600,
since they hold credentials), so a script may simply wait for a file to
appear. The kubeconfig's bearer token lasts 15 minutes, so the file is
rewritten with a fresh token every ``--token-refresh`` seconds (10 minutes by
default). Ctrl-C or SIGTERM stops everything and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shlex
import signal
import ssl
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import aiohttp
import yaml

from sim.aws.iam import Policy, PolicyError
from sim.aws.identities import IdentityConfigError, parse_identity_option
from sim.eks import MAX_TOKEN_TTL_SECONDS, Timings
from sim.stack import Simulators

DEFAULT_TOKEN_REFRESH_SECONDS: Final = 600.0
PROBE_TIMEOUT_SECONDS: Final = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``statewright sim`` options to ``parser``."""
    parser.add_argument(
        "--kubeconfig", metavar="FILE", help="write a kubeconfig for the demo cluster to FILE"
    )
    parser.add_argument("--env", metavar="FILE", help="write 'export K=V' lines for AWS clients to FILE")
    parser.add_argument(
        "--runtime",
        choices=("model", "process"),
        default="model",
        help="how Kubernetes Jobs run: simulated (model) or as local processes (process)",
    )
    parser.add_argument(
        "--identity",
        action="append",
        default=[],
        metavar="ACCESS_KEY_ID=ARN",
        help="add a principal (repeatable); ACCESS_KEY_ID:SECRET=ARN also checks signatures",
    )
    parser.add_argument(
        "--timings",
        choices=("fast", "realistic"),
        default="fast",
        help="lifecycle durations: sub-second (fast) or as on EKS, minutes (realistic)",
    )
    parser.add_argument(
        "--time-factor", type=float, default=1.0, metavar="F", help="multiply every duration by F"
    )
    parser.add_argument("--region", default="us-east-1", help="the simulated region (default us-east-1)")
    parser.add_argument(
        "--cluster", default="demo", metavar="NAME", help="name of the ready cluster (default demo)"
    )
    parser.add_argument(
        "--token-refresh",
        type=float,
        default=DEFAULT_TOKEN_REFRESH_SECONDS,
        metavar="SECONDS",
        help="rewrite the kubeconfig with a fresh token this often (default 600)",
    )
    parser.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="[ARN=]FILE",
        help="enforce the IAM policy in FILE for the default identity (or for the principal ARN); "
        "EKS refuses what it does not allow with AccessDeniedException (repeatable)",
    )
    parser.add_argument(
        "--token-ttl",
        type=float,
        metavar="SECONDS",
        help="the clusters' API servers refuse bearer tokens older than SECONDS (default 900, as STS); "
        "the kubeconfig is then rewritten every SECONDS/2 unless --token-refresh says otherwise",
    )
    parser.add_argument(
        "--plain-http",
        action="store_true",
        help="serve EKS and STS over plain HTTP instead of HTTPS (Kubernetes stays HTTPS)",
    )


def _policies(values: list[str]) -> tuple[Policy | None, dict[str, Policy]]:
    """``--policy FILE`` (the default identity) and ``--policy ARN=FILE`` values, loaded.

    Raises:
        PolicyError: a file that cannot be read or is not a valid policy, or two for one principal.
    """
    default: Policy | None = None
    by_arn: dict[str, Policy] = {}
    for value in values:
        arn, sep, path = value.partition("=")
        if sep and arn.startswith("arn:"):
            if arn in by_arn:
                raise PolicyError(f"--policy: two policies for {arn}")
            by_arn[arn] = Policy.load(path)
        else:
            if default is not None:
                raise PolicyError("--policy: two policies for the default identity")
            default = Policy.load(value)
    return default, by_arn


def _fail(message: str) -> int:
    print(f"statewright sim: error: {message}", file=sys.stderr)
    return 2


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600 (the file holds credentials)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_env(env: Mapping[str, str]) -> str:
    """``export K=V`` lines, shell-quoted."""
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in env.items())


def render_kubeconfig(config: Mapping[str, Any]) -> str:
    """The kubeconfig as YAML."""
    return yaml.safe_dump(dict(config), default_flow_style=False, sort_keys=False)


async def _probe(stack: Simulators, cluster: str) -> None:
    """Check that EKS, STS and the cluster's API server answer HTTP (any status)."""
    urls = [stack.eks_url + "/clusters", stack.sts_url + "/"]
    ssl_context = stack.ca.client_ssl_context() if stack.ca is not None else None
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for url in urls:
            verify = ssl_context if ssl_context is not None and url.startswith("https") else True
            async with session.get(url, ssl=verify) as response:
                await response.read()
        kube = stack.cluster(cluster)
        kube_ssl = ssl.create_default_context(cadata=base64.b64decode(kube.ca_b64).decode("ascii"))
        headers = {"Authorization": f"Bearer {stack.token(cluster)}"}
        async with session.get(kube.url + "/version", ssl=kube_ssl, headers=headers) as response:
            await response.read()


def _print_banner(stack: Simulators, cluster: str, env_file: str | None) -> None:
    doc = stack.eks.describe_cluster(cluster)
    lines = [
        "statewright simulators are running (Ctrl-C to stop)",
        f"  EKS endpoint:     {stack.eks_url}",
        f"  STS endpoint:     {stack.sts_url}",
        f"  region:           {stack.region}",
        f"  identity:         {stack.identities.default.arn}",
        f"  cluster {cluster!r}: {doc['status']}",
        f"    endpoint:       {doc.get('endpoint', '')}",
        f"    CA (base64):    {doc.get('certificateAuthority', {}).get('data', '')}",
        "",
    ]
    env = stack.env()
    if env_file is not None:
        lines.append(f"AWS client environment written to {env_file} (source it).")
    else:
        # Credentials never go to a terminal or a log: only into the 0600 --env file.
        shown = {k: ("<hidden: use --env FILE>" if k == "AWS_SECRET_ACCESS_KEY" else v) for k, v in env.items()}
        lines.append("AWS client environment (the secret key is written only with --env FILE):")
        lines.extend(f"  {line}" for line in render_env(shown).splitlines())
    print("\n".join(lines), flush=True)


async def run(args: argparse.Namespace) -> int:
    """Run the simulators until SIGINT or SIGTERM; return the exit status (0 when stopped cleanly).

    Args:
        args: The parsed options of :func:`add_arguments`.
    """
    try:
        identities = [parse_identity_option(value) for value in args.identity]
    except IdentityConfigError as exc:
        return _fail(str(exc))
    if not args.time_factor > 0:
        return _fail("--time-factor must be greater than 0")
    if not args.token_refresh > 0:
        return _fail("--token-refresh must be greater than 0")
    refresh = args.token_refresh
    if args.token_ttl is not None:
        if not 0 < args.token_ttl <= MAX_TOKEN_TTL_SECONDS:
            return _fail(f"--token-ttl must be more than 0 and at most {MAX_TOKEN_TTL_SECONDS:g} seconds")
        if refresh == DEFAULT_TOKEN_REFRESH_SECONDS:
            refresh = min(refresh, args.token_ttl / 2)
    timings = Timings.named(args.timings, args.time_factor)
    try:
        default_policy, policies = _policies(args.policy)
    except PolicyError as exc:
        return _fail(str(exc))

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        async with Simulators(
            runtime=args.runtime,
            identities=identities,
            timings=timings,
            demo_cluster=args.cluster,
            region=args.region,
            tls=not args.plain_http,
            policy=default_policy,
            policies=policies,
            token_ttl=args.token_ttl,
        ) as stack:
            await _probe(stack, args.cluster)
            if args.env:
                await asyncio.to_thread(_write_private, Path(args.env), render_env(stack.env()))
            if args.kubeconfig:
                await asyncio.to_thread(
                    _write_private, Path(args.kubeconfig), render_kubeconfig(stack.kubeconfig(args.cluster))
                )
            _print_banner(stack, args.cluster, args.env)
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=refresh)
                except TimeoutError:
                    if args.kubeconfig:
                        await asyncio.to_thread(
                            _write_private,
                            Path(args.kubeconfig),
                            render_kubeconfig(stack.kubeconfig(args.cluster)),
                        )
    except OSError as exc:
        return _fail(f"cannot start the simulators or write their files: {exc}")
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
    print("statewright simulators stopped", flush=True)
    return 0
