"""The ``statewright`` command line: ``run``, ``validate``, ``serve`` and ``sim``.

No logic of its own: it parses options, wires the engine, the executors and
(with ``--sim``) the embedded simulators, and turns outcomes into exit codes.
``run`` prints exactly one JSON object on stdout (status, output, error,
cause) so scripts can parse it; progress and problems go to stderr; nothing
prints a traceback.

Exit codes: 0 SUCCEEDED; 1 any other final status; 2 an invalid definition,
input or option; 128 + N when signal N (SIGINT, SIGTERM, SIGHUP) stopped the
execution (``commands/signals.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import anyio

from engine import (
    JSON,
    Engine,
    ExecutionAlreadyExists,
    InvalidDefinition,
    InvalidInput,
    InvalidMockConfig,
    StatesError,
    StatewrightError,
)
from engine.jsonvalue import dumps_str
from statewright.commands import durable as durable_commands
from statewright.commands import test_state as test_state_command
from statewright.commands.options import (
    EXIT_USAGE,
    POLL_ENV,
    SIM_POLL,
    STDIN,
    UsageError,
    add_cleanup_argument,
    add_file_argument,
    add_input_argument,
    add_name_argument,
    add_quiet_argument,
    add_state_machine_argument,
    cleanup_options,
    counted,
    parse_input,
    poll_options,
    print_problems,
    read_text,
)
from statewright.commands.signals import stop_on_signals
from statewright.commands.virtual_time import run_virtual, virtual_clock
from statewright.progress import Progress

EXIT_SUCCEEDED: Final = 0
EXIT_NOT_SUCCEEDED: Final = 1
EXIT_BROKEN_PIPE: Final = 128 + 13
"""stdout was closed by its reader (SIGPIPE is 13): the shells' status for a killed writer."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("statewright")
    except PackageNotFoundError:
        return "unknown"


def build_parser(*, sim_options: bool = True) -> argparse.ArgumentParser:
    """The command line's parser; ``sim_options=False`` skips importing the simulators (faster start)."""
    parser = argparse.ArgumentParser(
        prog="statewright",
        description="Run AWS Step Functions (ASL) state machines locally, with executors for Amazon EKS.",
    )
    parser.add_argument("--version", action="version", version=f"statewright {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a state machine and print its result as one JSON object")
    add_file_argument(run, stdin=True)
    add_input_argument(run, stdin=True)
    add_name_argument(run)
    run.add_argument(
        "--sim",
        action="store_true",
        help="start the EKS, STS and Kubernetes simulators in-process for this run (offline)",
    )
    run.add_argument(
        "--runtime",
        choices=("model", "process"),
        default="model",
        help="with --sim: run Job containers as modelled (default) or as real local processes",
    )
    run.add_argument(
        "--poll",
        metavar="POLICY",
        help="how .sync tasks wait: watch[:SECONDS] (Jobs: one shared watch per cluster; SECONDS is the "
        "control-plane poll interval), batched:SECONDS, aws, fixed:SECONDS, exponential:FIRST:MAX "
        f"(default: ${POLL_ENV} if set, else watch for runJob.sync and aws for clusters; "
        f"{SIM_POLL} with --sim)",
    )
    run.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="the event loop (uvloop: pip install 'statewright[speed]'; faster TLS and polling)",
    )
    run.add_argument(
        "--describe-cluster",
        metavar="NAME",
        help="before the run, describe the EKS cluster NAME and put its Name, Endpoint and "
        "CertificateAuthority at $.cluster of the input (an object), where the examples read them",
    )
    add_cleanup_argument(run)
    add_quiet_argument(run)
    run.add_argument(
        "--history",
        metavar="FILE",
        help='also write the execution history to FILE, as GetExecutionHistory answers it ({"events": [...]})',
    )
    add_state_machine_argument(run)
    run.add_argument(
        "--mock-config",
        metavar="FILE",
        help="a Step Functions Local mock configuration file (MockConfigFile.json); needs --test-case",
    )
    run.add_argument(
        "--test-case",
        metavar="NAME",
        help="run the state machine's test case NAME from --mock-config: its Task states answer from their "
        "mocked responses, the others run for real",
    )
    run.add_argument(
        "--virtual-time",
        action="store_true",
        help="skip over waits: Wait states, Retry back-off and timeouts take no real time, and the history "
        "shows the times a real run would have",
    )

    durable_commands.add_run_arguments(run)
    durable_commands.add_parsers(sub)

    val = sub.add_parser(
        "validate",
        help="check a definition; list every problem with its JSON location",
        description="Check a state machine definition against the installed executors and list every problem, "
        "each with its JSON location.",
        epilog="exit codes: 0 valid; 2 invalid (the problems on stderr) or unreadable",
    )
    add_file_argument(val, stdin=True)
    val.add_argument(
        "--mock-config",
        metavar="FILE",
        help="also check every test case of this Step Functions Local mock configuration against FILE",
    )
    val.add_argument(
        "--state-machine",
        metavar="NAME",
        help="with --mock-config: the state machine's name (default: FILE's stem)",
    )

    from statewright.commands import policy as policy_command

    policy_command.add_arguments(
        sub.add_parser(
            "policy", help="print the IAM policy document the state machine's execution role needs"
        )
    )

    test_state_command.add_parser(sub)

    serve = sub.add_parser(
        "serve", help="serve the Step Functions API (AWS JSON 1.0) for AWS SDKs and the AWS CLI"
    )
    from statewright.commands import serve as serve_command

    serve_command.add_arguments(serve)

    sim = sub.add_parser("sim", help="run the EKS, STS and Kubernetes simulators in the foreground")
    if sim_options:
        from sim import cli as sim_cli

        sim_cli.add_arguments(sim)
    return parser


async def _run(args: argparse.Namespace) -> int:
    if args.file == STDIN and args.input == "@" + STDIN:
        raise UsageError("the definition and the input cannot both come from standard input")
    text = read_text(args.file, "definition file")
    input_value = parse_input(args.input)
    options = poll_options(args.poll, sim=args.sim)
    options.update(cleanup_options(args.cleanup))
    # Under --virtual-time progress shows loop time: waits appear as long as they are.
    clock = asyncio.get_running_loop().time if args.virtual_time else time.monotonic
    progress = None if args.quiet else Progress(sys.stderr, clock=clock)
    if args.sim:
        from sim.stack import Simulators

        async with Simulators(runtime=args.runtime) as stack:
            # The executors read boto3's standard configuration; pointing it at
            # the simulators is all --sim does (no simulator-specific path).
            os.environ.update(stack.env())
            input_value = await _with_cluster(input_value, args.describe_cluster)
            return await _execute(text, input_value, args, options, progress)
    input_value = await _with_cluster(input_value, args.describe_cluster)
    return await _execute(text, input_value, args, options, progress)


async def _with_cluster(input_value: JSON, name: str | None) -> JSON:
    """``--describe-cluster``: the input with the cluster's reference at ``$.cluster``."""
    if name is None:
        return input_value
    if not isinstance(input_value, dict):
        raise UsageError("--describe-cluster puts $.cluster into the input, which must then be a JSON object")
    if "cluster" in input_value:
        raise UsageError("--describe-cluster sets $.cluster, and the input already has a field cluster")
    # Imported here: aioboto3 is slow to import, and only this option needs it before the run.
    from executors.eks.reference import describe_cluster_reference

    try:
        reference = await describe_cluster_reference(name)
    except StatesError as exc:
        raise UsageError(f"--describe-cluster {name}: {exc}") from None
    return {**input_value, "cluster": dict(reference)}


async def _execute(
    text: str,
    input_value: JSON,
    args: argparse.Namespace,
    options: dict[str, object],
    progress: Progress | None,
) -> int:
    state_machine = args.state_machine or Path(args.file).stem
    async with Engine(
        executor_options=options,
        on_event=progress,
        on_progress=progress.on_progress if progress is not None else None,
        mock_config=args.mock_config,
        clock=virtual_clock() if args.virtual_time else None,
        # With --store the execution is kept there; other executions in it are left alone.
        store=args.store,
        resume_on_entry=False,
    ) as engine:
        try:
            # With a test case, mocked Tasks need no executor: the definition is checked against it.
            machine = engine.compile(text) if args.test_case is None else None
            if args.store is not None and machine is not None:
                # Committed before it runs; a name the store already holds is refused.
                execution = await engine.submit(
                    machine, input_value, name=args.name, state_machine_name=state_machine
                )
            else:
                execution = engine.start(
                    machine or text,
                    input_value,
                    name=args.name,
                    state_machine_name=state_machine,
                    test_case=args.test_case,
                )
        except InvalidDefinition as exc:
            print_problems(exc, args.file)
            return EXIT_USAGE
        except ExecutionAlreadyExists as exc:
            print(f"statewright: ExecutionAlreadyExists: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except (InvalidInput, InvalidMockConfig) as exc:
            # Returned, not raised: an exception inside the engine's task group would arrive wrapped.
            print(f"statewright: {exc}", file=sys.stderr)
            return EXIT_USAGE
        # SIGINT, SIGTERM and SIGHUP stop the execution; its history and result are still written.
        with stop_on_signals(execution) as caught:
            result = await execution.wait()
    if args.history:
        from statewright.commands.history_file import wire_history

        await anyio.Path(args.history).write_bytes(wire_history(result.history))
    print(dumps_str(result.to_json()), flush=True)
    if caught.exit_code is not None:
        return caught.exit_code
    return EXIT_SUCCEEDED if result.status == "SUCCEEDED" else EXIT_NOT_SUCCEEDED


def _validate(args: argparse.Namespace) -> int:
    from engine import ExecutorRegistry

    text = read_text(args.file, "definition file")
    registry = ExecutorRegistry()
    registry.load_entry_points()
    if args.mock_config is not None:
        from statewright.commands.validate_mocks import test_case_problems

        name = args.state_machine or Path(args.file).stem
        found = test_case_problems(text, registry, args.mock_config, name)
        for case, problems in found.items():
            what = f"test case {case!r} of {name!r}" if case else f"mock configuration {args.mock_config}"
            print(f"{args.file}: {what} ({len(problems)} problem(s)):", file=sys.stderr)
            for p in problems:
                print(f"  {p.location or '/'}: {p.message} [{p.code}]", file=sys.stderr)
        if found:
            return EXIT_USAGE
        print(f"{args.file}: valid for every test case of {name!r} in {args.mock_config}")
        return EXIT_SUCCEEDED
    try:
        from engine import parse_definition

        machine = parse_definition(text, registry=registry)
    except InvalidDefinition as exc:
        print_problems(exc, args.file)
        return EXIT_USAGE
    print(f"{args.file}: valid ({counted(len(machine.states), 'state')}, starts at {machine.start_at!r})")
    return EXIT_SUCCEEDED


def _policy(args: argparse.Namespace) -> int:
    from statewright.commands import policy as policy_command

    text = read_text(args.file, "definition file")
    try:
        document = policy_command.run(args, text)
    except InvalidDefinition as exc:
        print_problems(exc, args.file)
        return EXIT_USAGE
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(document, flush=True)
    return EXIT_SUCCEEDED


# Every transition allocates history and JSON objects; with CPython's default
# young-generation threshold (700) the cyclic GC runs constantly once many
# executions are alive. Measured by benchmarks/transitions.py: 69k → 103k
# transitions/s. The command line is an application, so it may set this.
GC_THRESHOLDS: Final = (100_000, 50, 100)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``statewright`` console script."""
    gc.set_threshold(*GC_THRESHOLDS)
    argv = list(sys.argv[1:] if argv is None else argv)
    # Importing the simulators costs ~0.7 s: only the sim command needs its options.
    parser = build_parser(sim_options=bool(argv) and argv[0] == "sim")
    args = parser.parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "policy":
            return _policy(args)
        if args.command in durable_commands.COMMANDS:
            return durable_commands.main(args)
        if args.command == "test-state":
            return asyncio.run(test_state_command.run(args))

        if args.command == "serve":
            from statewright.commands import serve as serve_command

            return serve_command.run(args)
        if args.command == "run":
            if (args.mock_config is None) != (args.test_case is None):
                raise UsageError("--mock-config and --test-case go together")
            if args.virtual_time:
                if args.loop == "uvloop":
                    raise UsageError("--virtual-time runs on its own asyncio loop; leave out --loop uvloop")
                return run_virtual(_run(args))
            if args.loop == "uvloop":
                try:
                    import uvloop
                except ImportError:
                    raise UsageError("--loop uvloop needs uvloop: pip install 'statewright[speed]'") from None
                return int(uvloop.run(_run(args)))
            return asyncio.run(_run(args))
        from sim import cli as sim_cli

        result: Any = asyncio.run(sim_cli.run(args))
        return int(result)
    except UsageError as exc:
        print(f"statewright: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours. Point stdout at /dev/null so
        # the interpreter's final flush does not fail again, and exit as SIGPIPE would have.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("statewright: interrupted", file=sys.stderr)
        return 130
    except StatewrightError as exc:
        print(f"statewright: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        # A bug, not bad input: say so plainly; STATEWRIGHT_DEBUG=1 shows the traceback.
        if os.environ.get("STATEWRIGHT_DEBUG"):
            raise
        print(
            f"statewright: internal error: {type(exc).__name__}: {exc} (set STATEWRIGHT_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
