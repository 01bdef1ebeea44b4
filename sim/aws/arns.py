"""Principal ARNs: which forms the simulators accept, and the one canonical form callers are compared in.

A caller presents credentials; STS names it with an ARN whose form depends on
the credentials: an IAM user (``arn:aws:iam::ACCT:user/PATH/NAME``), the
account root, or, for a role, an *assumed-role session*
(``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION``, no path). Everything that
decides by principal — the cluster creator, ``aws-auth`` entries, IAM
policies — compares :func:`canonicalize_arn` forms, so a role is the same
principal whichever of its ARNs is written down:

* an assumed-role session becomes ``arn:aws:iam::ACCT:role/ROLE``
  (aws-iam-authenticator's ``pkg/arn`` does the same);
* an IAM role ARN loses its path, because the session ARN it matches carries
  none (EKS writes node roles into ``aws-auth`` without their path for the same
  reason);
* users, root and federated users are kept as they are.
"""

from __future__ import annotations

import re
from typing import Final

_PRINCIPAL_RE: Final = re.compile(r"^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(.+)$")
_IAM_RESOURCE_RE: Final = re.compile(r"^(role|user)/([\w+=,.@-]+/)*[\w+=,.@-]+$")
_SESSION_RESOURCE_RE: Final = re.compile(r"^assumed-role/[\w+=,.@-]+/[\w+=,.@-]+$")
ROLE_ARN_RE: Final = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
"""An IAM role ARN, as EKS requires for ``roleArn``, ``nodeRole`` and ``podExecutionRoleArn``."""


class ArnError(ValueError):
    """An ARN is not a principal the simulators can represent."""


def validate_principal_arn(arn: str) -> None:
    """Check that ``arn`` names an IAM user, role or root, or an STS assumed-role session.

    Raises:
        ArnError: with a message saying which forms are accepted.
    """
    match = _PRINCIPAL_RE.match(arn)
    ok = False
    if match is not None:
        service, resource = match.group(2), match.group(4)
        if service == "iam":
            ok = resource == "root" or bool(_IAM_RESOURCE_RE.match(resource))
        else:
            ok = bool(_SESSION_RESOURCE_RE.match(resource))
    if not ok:
        raise ArnError(
            f"{arn!r} is not a principal ARN; use arn:aws:iam::<12 digits>:role/NAME, "
            ":user/NAME, :root, or arn:aws:sts::<12 digits>:assumed-role/ROLE/SESSION"
        )


def account_of(arn: str) -> str:
    """The account field of an ARN."""
    return arn.split(":")[4]


def canonicalize_arn(arn: str) -> str:
    """The canonical form of a principal ARN (see the module docstring); other strings unchanged."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return arn
    partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
    if service == "sts" and resource.startswith("assumed-role/"):
        role_name = resource.split("/")[1]
        return f"arn:{partition}:iam::{account}:role/{role_name}"
    if service == "iam" and resource.startswith("role/"):
        return f"arn:{partition}:iam::{account}:role/{resource.rsplit('/', 1)[-1]}"
    return arn
