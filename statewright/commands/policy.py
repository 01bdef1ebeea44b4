"""``statewright policy FILE``: the IAM policy the state machine's execution role needs.

Prints the policy document (``engine.policy_for``) as JSON on stdout, ready for
``aws iam put-role-policy --policy-document file://...`` or for
``statewright sim --policy``. Tasks the document does not cover (a resource
whose executor cannot say what it needs) are listed on stderr. ARNs use
``--region`` (default ``$AWS_REGION`` / ``$AWS_DEFAULT_REGION``, else ``*``)
and ``--account`` (default ``*``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Final

from engine import ExecutorRegistry, policy_for
from engine.jsonvalue import dumps_pretty

CLEANUP_POLICIES: Final = ("never", "aborted-task", "execution")
_ACCOUNT_RE: Final = re.compile(r"^(\d{12}|\*)$")
_REGION_RE: Final = re.compile(r"^([a-z]{2}(-[a-z]+)+-\d|\*)$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``policy`` command's options."""
    parser.add_argument("file", metavar="FILE", help="the state machine definition (JSON)")
    parser.add_argument(
        "--region", help="the Region in generated ARNs (default $AWS_REGION or $AWS_DEFAULT_REGION, else *)"
    )
    parser.add_argument("--account", default="*", help="the 12-digit account in generated ARNs (default *)")
    parser.add_argument(
        "--cleanup",
        choices=CLEANUP_POLICIES,
        default="aborted-task",
        help="the cleanup policy executions run under; 'execution' adds what deleting created resources needs",
    )


def run(args: argparse.Namespace, text: str) -> str:
    """The policy document of the definition ``text``, as indented JSON; uncovered Tasks go to stderr.

    Raises:
        ValueError: a bad ``--region`` or ``--account``.
        InvalidDefinition: the definition is invalid.
    """
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "*"
    if not _REGION_RE.match(region):
        raise ValueError(f"--region: {region!r} is not a Region name such as us-east-1 (or *)")
    if not _ACCOUNT_RE.match(args.account):
        raise ValueError(f"--account: {args.account!r} is not a 12-digit account ID (or *)")
    registry = ExecutorRegistry()
    registry.load_entry_points()
    generated = policy_for(text, registry=registry, region=region, account=args.account, cleanup=args.cleanup)
    for task in generated.uncovered:
        print(
            f"statewright policy: not covered: {task.location} ({task.resource}): {task.reason}",
            file=sys.stderr,
        )
    return dumps_pretty(generated.document)


__all__ = ["CLEANUP_POLICIES", "add_arguments", "run"]
