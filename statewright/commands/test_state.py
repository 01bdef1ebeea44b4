"""``statewright test-state FILE``: the TestState API on the command line.

``FILE`` holds one state, or a whole state machine with ``--state`` naming the
state to test. The command prints the TestState response as one JSON object
(AWS's wire shape: ``output`` and inspection values as JSON text) and exits
0 when the state SUCCEEDED, 1 for FAILED, RETRIABLE or CAUGHT_ERROR, 2 for a
request AWS would refuse.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine import JSON, Engine, InvalidDefinition, TestStateValidation
from engine.jsonvalue import dumps_str
from statewright.commands.options import parse_input, print_problems, read_text


def add_parser(sub: Any) -> None:
    """Register ``test-state`` on the command line's subparsers."""
    p = sub.add_parser(
        "test-state",
        help="run one state in isolation (the TestState API) and print its response",
        description="Run one state of FILE once, as AWS's TestState API does, and print the response.",
    )
    p.add_argument("file", metavar="FILE", help="one state, or a state machine with --state (JSON)")
    p.add_argument("--input", metavar="JSON|@FILE", help="the state's input (default {})")
    p.add_argument("--state", metavar="NAME", help="the state to test when FILE is a whole state machine")
    p.add_argument(
        "--inspection-level",
        choices=("INFO", "DEBUG", "TRACE"),
        default="INFO",
        help="INFO: status and output; DEBUG and TRACE add each processing step's data",
    )
    p.add_argument(
        "--mock",
        metavar="JSON|@FILE",
        help='mocked result: {"result": ...} or {"errorOutput": {"error": ..., "cause": ...}}, '
        'optionally with "fieldValidationMode" (STRICT, PRESENT, NONE)',
    )
    p.add_argument("--variables", metavar="JSON|@FILE", help="workflow variables visible to the state")
    p.add_argument("--context", metavar="JSON|@FILE", help="the Context object ($$) the state sees")
    p.add_argument(
        "--state-configuration",
        metavar="JSON|@FILE",
        help='the state\'s situation: {"retrierRetryCount": N, "mapIterationFailureCount": N, '
        '"errorCausedByState": NAME}',
    )
    p.add_argument(
        "--reveal-secrets", action="store_true", help="show connection secrets of HTTP Tasks at TRACE"
    )


async def run(args: argparse.Namespace) -> int:
    """Run the command; bad files or JSON raise the command line's ``UsageError``."""
    definition = read_text(args.file, "definition file")
    input_value: JSON = parse_input(args.input)
    mock = parse_input(args.mock) if args.mock is not None else None
    variables = parse_input(args.variables) if args.variables is not None else None
    context = parse_input(args.context) if args.context is not None else None
    configuration = parse_input(args.state_configuration) if args.state_configuration is not None else None
    for value, flag in (
        (mock, "--mock"),
        (variables, "--variables"),
        (context, "--context"),
        (configuration, "--state-configuration"),
    ):
        if value is not None and not isinstance(value, dict):
            print(f"statewright: {flag} must be a JSON object", file=sys.stderr)
            return 2
    try:
        # Entered, so the executors it loads are closed afterwards.
        async with Engine() as engine:
            result = await engine.test_state(
                definition,
                input_value,
                state_name=args.state,
                inspection_level=args.inspection_level,
                variables=variables,
                mock=mock,
                context=context,
                reveal_secrets=args.reveal_secrets,
                state_configuration=configuration,
            )
    except InvalidDefinition as exc:
        print_problems(exc, args.file, what="invalid definition")
        return 2
    except TestStateValidation as exc:
        print(f"statewright: {exc}", file=sys.stderr)
        return 2
    print(dumps_str(result.to_aws()), flush=True)
    return 0 if result.status == "SUCCEEDED" else 1
