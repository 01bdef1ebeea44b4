"""Durable executions on the command line: ``start``, ``worker``, ``describe``, ``history``, ``list``, ``stop``.

Every command takes ``--store URL`` (``sqlite:///PATH`` or
``postgresql://USER@HOST:PORT/DB``). ``start`` records a new execution in the store and prints ``{"executionArn", "startDate"}`` once
it is committed, without running it; a ``worker`` runs every RUNNING
execution of the store and every new one until SIGTERM (it then suspends
them: they stay RUNNING for the next worker; a cleanup under way stops too,
what it deleted is committed and the next worker deletes the rest). The read commands print the
Step Functions API's shapes (DescribeExecution, GetExecutionHistory,
ListExecutions); ``stop`` records a stop request that a running worker
carries out within a second.

Exit codes: 0 done; 1 ``ExecutionDoesNotExist`` (or a worker whose store
failed); 2 bad input, ``ExecutionAlreadyExists`` or a store that cannot be
opened.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

from engine import Engine, ExecutionAlreadyExists, ExecutionDoesNotExist, InvalidDefinition, InvalidInput
from engine.history import format_timestamp
from engine.jsonvalue import JSON, dumps_str
from engine.store import Store, StoreError, open_store
from statewright.commands.options import (
    EXIT_USAGE,
    UsageError,
    add_cleanup_argument,
    add_file_argument,
    add_input_argument,
    add_name_argument,
    add_quiet_argument,
    add_state_machine_argument,
    add_store_argument,
    cleanup_options,
    parse_input,
    poll_options,
    print_problems,
    read_text,
)

EXIT_OK: Final = 0
EXIT_NOT_FOUND: Final = 1
STATUSES: Final = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
POLL_SECONDS: Final = 0.2
"""How often a worker looks for new executions and stop requests (a stop is carried out within a second)."""
NOTIFIED_POLL_SECONDS: Final = 0.5
"""The fallback poll of a store that notifies (PostgreSQL): new work and stops arrive by NOTIFY at once;
the poll finds executions whose owner's lease has lapsed (nobody notifies of that) soon after it lapses."""
COMMANDS: Final = ("start", "worker", "describe", "history", "list", "stop")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the durable-execution commands."""
    start = sub.add_parser("start", help="record a new execution in the store for a worker to run")
    add_file_argument(start, stdin=False)
    add_input_argument(start, stdin=False)
    add_name_argument(start)
    add_state_machine_argument(start)
    add_store_argument(start)

    worker = sub.add_parser("worker", help="run the store's executions until SIGTERM (then suspend them)")
    add_store_argument(worker)
    worker.add_argument(
        "--sim-env",
        metavar="FILE",
        help="read AWS endpoint variables from FILE (as written by statewright sim --env)",
    )
    add_quiet_argument(worker)
    add_cleanup_argument(worker)
    worker.add_argument(
        "--lease-seconds",
        metavar="SECONDS",
        type=_positive(float),
        help="PostgreSQL store: how long this worker's executions stay its own after its last heartbeat "
        "(default 15); when it dies, other workers take them over after that",
    )
    worker.add_argument(
        "--capacity",
        metavar="N",
        type=_positive(int),
        help="PostgreSQL store: own at most N running executions; the rest wait for another worker",
    )

    describe = sub.add_parser("describe", help="print an execution's DescribeExecution fields")
    describe.add_argument("arn", metavar="ARN")
    add_store_argument(describe)

    history = sub.add_parser("history", help="print an execution's history (GetExecutionHistory's shape)")
    history.add_argument("arn", metavar="ARN")
    add_store_argument(history)

    listing = sub.add_parser("list", help="list the store's executions (ListExecutions' shape)")
    add_store_argument(listing)
    listing.add_argument("--status", choices=STATUSES, help="only executions with this status")
    listing.add_argument("--state-machine", metavar="NAME", help="only executions of this state machine")

    stop = sub.add_parser("stop", help="stop an execution (a running worker carries it out)")
    stop.add_argument("arn", metavar="ARN")
    add_store_argument(stop)
    stop.add_argument("--error", help="the error recorded with the abort")
    stop.add_argument("--cause", help="the cause recorded with the abort")


def _positive(kind: type[float] | type[int]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
        return value

    return parse


def _worker_store(args: argparse.Namespace) -> Store:
    """The worker's store; the lease and capacity options belong to a shared (PostgreSQL) store.

    Raises:
        UsageError: ``--lease-seconds``/``--capacity`` with a store that has no leases.
    """
    if args.store.startswith(("postgresql:", "postgres:")):
        from engine.store.postgres import DEFAULT_LEASE_SECONDS, PostgresStore

        return PostgresStore(
            args.store,
            lease_seconds=args.lease_seconds or DEFAULT_LEASE_SECONDS,
            capacity=int(args.capacity) if args.capacity is not None else None,
        )
    for flag, value in (("--lease-seconds", args.lease_seconds), ("--capacity", args.capacity)):
        if value is not None:
            raise UsageError(f"{flag} is for a store shared by several workers (postgresql://...)")
    return open_store(args.store, create=True)


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    """``run``'s ``--store``."""
    add_store_argument(
        run, required=False, help="keep the execution in this store (sqlite:///PATH); it stays queryable"
    )


def main(args: argparse.Namespace) -> int:
    """Run one of ``COMMANDS``."""
    try:
        return asyncio.run(_COMMANDS[args.command](args))
    except ExecutionDoesNotExist as exc:
        print(f"statewright: ExecutionDoesNotExist: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except ExecutionAlreadyExists as exc:
        print(f"statewright: ExecutionAlreadyExists: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"statewright: {exc}", file=sys.stderr)
        return EXIT_USAGE


async def _opened(url: str, *, create: bool = False) -> Store:
    store = open_store(url, create=create)
    await store.open()
    return store


# -- start ---------------------------------------------------------------------------------------------


async def _start(args: argparse.Namespace) -> int:
    # Bad input is found before the store is touched; start reads no standard input.
    text = read_text(args.file, "definition file", stdin=False)
    value = parse_input(args.input, stdin=False)
    engine = Engine()
    try:
        machine, record = engine.prepare(
            text, value, name=args.name, state_machine_name=args.state_machine or Path(args.file).stem
        )
    except InvalidDefinition as exc:
        print_problems(exc, args.file)
        return EXIT_USAGE
    except InvalidInput as exc:
        print(f"statewright: {exc}", file=sys.stderr)
        return EXIT_USAGE
    store = await _opened(args.store, create=True)
    try:
        await store.create_execution(record, dumps_str(machine.raw))
    finally:
        await store.close()
    print(dumps_str({"executionArn": record.execution_arn, "startDate": format_timestamp(record.start_time)}))
    return EXIT_OK


# -- worker --------------------------------------------------------------------------------------------


def load_env_file(path: str) -> dict[str, str]:
    """``export K=V`` lines (shell-quoted, as ``statewright sim --env`` writes them) as a dict.

    Raises:
        UsageError: the file cannot be read or a line is not ``[export] K=V``.
    """
    out: dict[str, str] = {}
    for number, line in enumerate(read_text(path, "--sim-env file", stdin=False).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"{path}:{number}: {exc}") from None
        if words and words[0] == "export":
            words = words[1:]
        if len(words) != 1 or "=" not in words[0]:
            raise UsageError(f"{path}:{number}: expected 'export NAME=VALUE'")
        key, _, val = words[0].partition("=")
        out[key] = val
    return out


async def _worker(args: argparse.Namespace) -> int:
    if args.sim_env:
        os.environ.update(load_env_file(args.sim_env))
    options = {**poll_options(None), **cleanup_options(args.cleanup)}
    from statewright.progress import Progress

    progress = None if args.quiet else Progress(sys.stderr, show_execution=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    store = _worker_store(args)
    # A store that tells of new executions and stop requests is polled only as a fallback.
    poll = NOTIFIED_POLL_SECONDS if store.notifies else POLL_SECONDS
    engine = Engine(
        store=store,
        executor_options=options,
        on_event=progress,
        on_progress=progress.on_progress if progress is not None else None,
    )
    async with engine:
        _say(f"worker: {engine.running} execution(s) resumed from {store.url}")
        while not stopping.is_set():
            if engine.store_failure is not None:
                break
            try:
                new = await engine.resume_stored()
                if new:
                    _say(f"worker: picked up {len(new)} new execution(s)")
                await engine.apply_stop_requests()
            except StoreError as exc:
                engine.store_failure = exc
                break
            await _pause(stopping, store, poll)
        running = engine.running
    if engine.store_failure is not None:
        print(f"statewright: {engine.store_failure}", file=sys.stderr)
        return EXIT_NOT_FOUND
    _say(f"worker: suspended {running} running execution(s); they stay RUNNING in {store.url}")
    return EXIT_OK


async def _pause(stopping: asyncio.Event, store: Store, seconds: float) -> None:
    """Wait ``seconds``, or less: until SIGTERM or until the store tells of work."""
    waits = [asyncio.ensure_future(stopping.wait()), asyncio.ensure_future(store.wait_for_work())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
        await asyncio.gather(*waits, return_exceptions=True)


def _say(text: str) -> None:
    print(f"statewright {text}", file=sys.stderr, flush=True)


# -- reads and stop ------------------------------------------------------------------------------------


async def _describe(args: argparse.Namespace) -> int:
    store = await _opened(args.store)
    try:
        found = await store.get_execution(args.arn)
    finally:
        await store.close()
    if found is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{args.arn}'")
    print(dumps_str(found.describe()))
    return EXIT_OK


async def _history(args: argparse.Namespace) -> int:
    store = await _opened(args.store)
    try:
        events = await store.history(args.arn)
    finally:
        await store.close()
    print(dumps_str({"events": [e.to_aws() for e in events]}))
    return EXIT_OK


async def _list(args: argparse.Namespace) -> int:
    store = await _opened(args.store)
    items: list[JSON] = []
    try:
        sm_arn = None
        if args.state_machine:
            found = await store.list_state_machines(max_results=1_000_000)
            sm_arn = next((m.arn for m in found.items if m.name == args.state_machine), "")
        token: str | None = None
        while True:
            page = await store.list_executions(status=args.status, state_machine_arn=sm_arn, next_token=token)
            items.extend(e.list_item() for e in page.items)
            token = page.next_token
            if token is None:
                break
    finally:
        await store.close()
    print(dumps_str({"executions": items}))
    return EXIT_OK


async def _stop(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    store = await _opened(args.store)
    try:
        await store.request_stop(args.arn, args.error, args.cause)
    finally:
        await store.close()
    print(dumps_str({"stopDate": format_timestamp(datetime.now(UTC))}))
    return EXIT_OK


_COMMANDS: Final = {
    "start": _start,
    "worker": _worker,
    "describe": _describe,
    "history": _history,
    "list": _list,
    "stop": _stop,
}
