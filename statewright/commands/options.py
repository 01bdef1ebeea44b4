"""The options several commands share, and how their values are read.

One place for what ``run``, ``start``, ``worker``, ``validate``, ``serve`` and
``test-state`` have in common, so a flag reads and fails the same way
everywhere:

* arguments: ``add_file_argument`` (``FILE``), ``add_input_argument``
  (``--input JSON|@FILE``), ``add_name_argument``, ``add_state_machine_argument``,
  ``add_store_argument``, ``add_quiet_argument``;
* values: ``read_text`` (a file, or ``-`` for standard input where a command
  takes it), ``parse_input``, ``poll_options`` (``--poll`` / ``STATEWRIGHT_POLL``
  / the simulators' policy → executor options);
* reporting: ``UsageError`` (bad input from the user: stderr, exit code 2) and
  ``print_problems`` (an invalid definition, one problem a line with its JSON
  location).

The help texts are the command line's contract: ``statewright <command>
--help`` prints them as they stand here.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Final

from engine import JSON, InvalidDefinition
from engine.jsonvalue import JSONDecodeError, loads

EXIT_USAGE: Final = 2
STDIN: Final = "-"
"""``FILE`` (or ``@-`` for ``--input``) meaning standard input."""
POLL_ENV: Final = "STATEWRIGHT_POLL"
"""The default of ``--poll``; ``statewright sim --env`` writes one suited to the simulators."""
SIM_POLL: Final = "watch:0.5"
"""The poll policy with the embedded simulators (``--sim``): their Jobs and clusters change fast."""


class UsageError(Exception):
    """Bad input from the user: reported on stderr with exit code 2."""


# -- arguments -----------------------------------------------------------------------------------------


def add_file_argument(parser: argparse.ArgumentParser, *, stdin: bool) -> None:
    """``FILE``, the state machine definition; ``stdin``: ``-`` reads standard input."""
    suffix = "; - reads standard input" if stdin else ""
    parser.add_argument("file", metavar="FILE", help=f"the state machine definition (JSON){suffix}")


def add_input_argument(parser: argparse.ArgumentParser, *, stdin: bool) -> None:
    """``--input JSON|@FILE``, the execution input; ``stdin``: ``@-`` reads standard input."""
    forms = "JSON text, @file, or @- for standard input" if stdin else "JSON text or @file"
    parser.add_argument("--input", metavar="JSON|@FILE", help=f"execution input: {forms} (default {{}})")


def add_name_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="execution name (default: a random UUID)")


def add_state_machine_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-machine",
        metavar="NAME",
        help="the state machine's name (default: FILE's name without its extension)",
    )


STORE_HELP: Final = "the store: sqlite:///PATH (sqlite:////abs/path) or postgresql://USER@HOST:PORT/DB"


def add_store_argument(
    parser: argparse.ArgumentParser, *, required: bool = True, help: str = STORE_HELP
) -> None:
    """``--store URL``: required by the durable commands, optional for ``run``."""
    parser.add_argument("--store", metavar="URL", required=required, help=help)


def add_quiet_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")


CLEANUP_POLICIES: Final = ("never", "aborted-task", "execution")


def add_cleanup_argument(parser: argparse.ArgumentParser) -> None:
    """``--cleanup POLICY``, the executor option ``cleanup`` (run, worker and serve take it alike)."""
    parser.add_argument(
        "--cleanup",
        choices=CLEANUP_POLICIES,
        help="what is deleted when things go wrong: nothing (never), what an aborted .sync Task was "
        "creating (aborted-task, the default), or also everything the execution created when it fails, "
        "is stopped or times out (execution)",
    )


def cleanup_options(policy: str | None) -> dict[str, object]:
    """The executor options ``--cleanup`` gives: none when absent (each executor's default)."""
    return {} if policy is None else {"cleanup": policy}


# -- values --------------------------------------------------------------------------------------------


def read_text(path: str, what: str, *, stdin: bool = True) -> str:
    """The UTF-8 text of ``path`` (``-``: standard input, when ``stdin``).

    Raises:
        UsageError: the file cannot be read or is not UTF-8.
    """
    if stdin and path == STDIN:
        try:
            return sys.stdin.read()
        except UnicodeDecodeError:
            raise UsageError(f"{what} on standard input is not UTF-8 text") from None
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path!r} is not UTF-8 text") from None


def parse_input(value: str | None, *, stdin: bool = True) -> JSON:
    """``--input``: JSON text, or ``@file`` holding it (``@-``: standard input, when ``stdin``); ``{}`` when absent.

    Raises:
        UsageError: the file cannot be read or the text is not JSON.
    """
    if value is None:
        return {}
    text = read_text(value[1:], "input file", stdin=stdin) if value.startswith("@") else value
    try:
        return loads(text)
    except JSONDecodeError as exc:
        raise UsageError(f"the input is not valid JSON: {exc}") from None


def poll_options(flag: str | None, *, sim: bool = False) -> dict[str, object]:
    """Executor options for the poll policy: ``--poll``'s, else ``SIM_POLL`` with the
    simulators, else ``$STATEWRIGHT_POLL``'s, else none (each executor's default).

    Raises:
        UsageError: the policy does not parse (named after where it came from).
    """
    source = "--poll"
    spec = flag
    if spec is None and sim:
        spec = SIM_POLL
    elif spec is None:
        # The simulators' env file names a policy that suits their timings (sim/stack.py).
        spec, source = os.environ.get(POLL_ENV) or None, POLL_ENV
    if spec is None:
        return {}
    from executors.eks.polling import parse_poll_policy

    try:
        return {"poll_policy": parse_poll_policy(spec)}
    except ValueError as exc:
        raise UsageError(f"{source}: {exc}") from None


# -- reporting -----------------------------------------------------------------------------------------


def counted(n: int, noun: str) -> str:
    """``1 problem``, ``2 problems``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def print_problems(
    exc: InvalidDefinition, path: str, *, what: str = "invalid state machine definition"
) -> None:
    """Every problem of ``exc`` on stderr, under a line naming ``path``."""
    print(f"{path}: {what} ({counted(len(exc.problems), 'problem')}):", file=sys.stderr)
    for p in exc.problems:
        print(f"  {p.location or '/'}: {p.message} [{p.code}]", file=sys.stderr)


__all__ = [
    "EXIT_USAGE",
    "POLL_ENV",
    "SIM_POLL",
    "STDIN",
    "UsageError",
    "add_file_argument",
    "add_input_argument",
    "add_name_argument",
    "add_quiet_argument",
    "add_state_machine_argument",
    "add_store_argument",
    "counted",
    "parse_input",
    "poll_options",
    "print_problems",
    "read_text",
]
