"""ARNs and names of Step Functions resources.

Shapes (``REGION`` and ``ACCOUNT`` are the server's)::

    arn:aws:states:REGION:ACCOUNT:stateMachine:NAME
    arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME
    arn:aws:states:REGION:ACCOUNT:express:MACHINE:NAME:ID
    arn:aws:states:REGION:ACCOUNT:activity:NAME
    arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID

An ARN of the wrong shape, or of a resource type the operation does not
take, is ``InvalidArn`` as on AWS; a well-formed ARN that names nothing is
the operation's own "does not exist" error, raised by its caller. Names follow
AWS's rule: 1 to 80 characters, none of whitespace, brackets, wildcards,
``"#%\\^|~`$&,;:/`` or control characters (``InvalidName`` otherwise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from statewright.api._errors import ApiError, invalid_arn

_PARTS: Final = {"stateMachine": 1, "execution": 2, "express": 3, "activity": 1, "mapRun": 2}
_NAME_RE: Final = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")


@dataclass(frozen=True, slots=True)
class Arn:
    """A parsed Step Functions ARN."""

    region: str
    account: str
    kind: str
    names: tuple[str, ...]

    def __str__(self) -> str:
        return ":".join(("arn", "aws", "states", self.region, self.account, self.kind, *self.names))


def parse_arn(text: str, *kinds: str) -> Arn:
    """Parse ``text`` as one of ``kinds`` (``stateMachine``, ``execution``, …).

    Raises:
        ApiError: InvalidArn.
    """
    parts = text.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "states" or not parts[1].startswith("aws"):
        raise invalid_arn(text, "Invalid ARN prefix")
    kind = parts[5]
    if kind not in kinds:
        raise invalid_arn(text, f"Resource type not valid in this context: {kind}")
    names = tuple(parts[6:])
    if len(names) != _PARTS[kind] or not all(names) or not parts[3] or not parts[4]:
        raise invalid_arn(text, "Invalid ARN format")
    return Arn(parts[3], parts[4], kind, names)


def check_name(name: str, what: str = "Name") -> None:
    """Raises ``InvalidName`` unless ``name`` is a valid Step Functions name."""
    if not _NAME_RE.match(name):
        raise ApiError("InvalidName", f"Invalid {what}: '{name}'")


def is_role_arn(text: str) -> bool:
    """Whether ``text`` has the shape of an IAM role ARN."""
    parts = text.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[5].startswith("role/")


__all__ = ["Arn", "check_name", "is_role_arn", "parse_arn"]
