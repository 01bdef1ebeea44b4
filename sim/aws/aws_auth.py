"""The ``kube-system/aws-auth`` ConfigMap: read by the clusters' authenticators, edited by EKS.

``aws-auth`` maps IAM principals to Kubernetes users and groups. Its ``data``
holds YAML (or JSON, which is YAML) strings, as aws-iam-authenticator's
``pkg/mapper/configmap`` reads them:

* ``mapRoles``: a list of ``{rolearn, username, groups}``;
* ``mapUsers``: a list of ``{userarn, username, groups}``;
* ``mapAccounts``: a list of account IDs whose every principal is
  authenticated (as its ARN, with no groups).

A value that is not YAML, not a list, or an entry that is not a mapping is
skipped, never an error: a cluster with a broken ``aws-auth`` still serves its
administrators. ARNs are compared in their canonical form
(:func:`sim.aws.arns.canonicalize_arn`), case-insensitively.

This module is the one parser (:func:`parse_entries`), the lookup table the
Kubernetes API servers build from it (:class:`AwsAuthMap`), the username
templates (:func:`render_username`), and the pure edits EKS makes when node
groups and Fargate profiles come and go (:func:`with_role`,
:func:`without_role`, :func:`render_entries`); the HTTP read-modify-write of
those edits is in :mod:`sim.eks.aws_auth`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml

from sim.aws.arns import canonicalize_arn
from sim.aws.identities import AwsIdentity

NAMESPACE: Final = "kube-system"
NAME: Final = "aws-auth"
_UNRESOLVABLE_TEMPLATES: Final = ("{{EC2PrivateDNSName}}", "{{AccessKeyID}}")


def parse_entries(text: object) -> list[dict[str, Any]]:
    """The mappings of a ``mapRoles`` or ``mapUsers`` value; [] for anything unreadable."""
    if not isinstance(text, str) or not text.strip():
        return []
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    if not isinstance(parsed, list):
        return []
    return [entry for entry in parsed if isinstance(entry, dict)]


def parse_accounts(text: object) -> frozenset[str]:
    """The account IDs of a ``mapAccounts`` value; empty for anything unreadable."""
    if not isinstance(text, str) or not text.strip():
        return frozenset()
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return frozenset()
    return frozenset(str(account) for account in parsed) if isinstance(parsed, list) else frozenset()


@dataclass(frozen=True, slots=True)
class AwsAuthEntry:
    """One principal's mapping: a username template (empty: the ARN) and groups."""

    username: str
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AwsAuthMap:
    """``aws-auth`` as a lookup table, keyed by lower-case canonical ARN."""

    roles: Mapping[str, AwsAuthEntry]
    users: Mapping[str, AwsAuthEntry]
    accounts: frozenset[str]

    @classmethod
    def empty(cls) -> AwsAuthMap:
        """The table of a cluster without ``aws-auth``."""
        return cls({}, {}, frozenset())

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> AwsAuthMap:
        """Build the table from a ConfigMap's ``data``."""
        return cls(
            roles=_table(parse_entries(data.get("mapRoles")), "rolearn"),
            users=_table(parse_entries(data.get("mapUsers")), "userarn"),
            accounts=parse_accounts(data.get("mapAccounts")),
        )

    def lookup(self, arn: str) -> AwsAuthEntry | None:
        """The role or user entry for a principal ARN (any form), or None."""
        key = canonicalize_arn(arn).lower()
        return self.roles.get(key) or self.users.get(key)


def _table(entries: list[dict[str, Any]], arn_key: str) -> dict[str, AwsAuthEntry]:
    table: dict[str, AwsAuthEntry] = {}
    for entry in entries:
        arn = entry.get(arn_key)
        if not isinstance(arn, str) or not arn:
            continue
        groups = entry.get("groups") or []
        table[canonicalize_arn(arn).lower()] = AwsAuthEntry(
            str(entry.get("username") or ""),
            tuple(str(g) for g in groups) if isinstance(groups, list) else (),
        )
    return table


def render_username(template: str, identity: AwsIdentity) -> str | None:
    """Expand aws-iam-authenticator's username template; None when it needs what STS cannot tell."""
    if any(name in template for name in _UNRESOLVABLE_TEMPLATES):
        return None
    return (
        template.replace("{{AccountID}}", identity.account)
        .replace("{{SessionNameRaw}}", identity.session_name)
        .replace("{{SessionName}}", identity.session_name.replace("@", "-"))
    )


def with_role(
    entries: list[dict[str, Any]], role_arn: str, username: str, groups: tuple[str, ...]
) -> list[dict[str, Any]]:
    """``mapRoles`` entries with a role added (canonical ARN), unless it is already mapped."""
    canonical = canonicalize_arn(role_arn)
    if any(canonicalize_arn(str(entry.get("rolearn", ""))) == canonical for entry in entries):
        return entries
    return [*entries, {"groups": list(groups), "rolearn": canonical, "username": username}]


def without_role(entries: list[dict[str, Any]], role_arn: str) -> list[dict[str, Any]]:
    """``mapRoles`` entries without those of a role (any form of its ARN)."""
    canonical = canonicalize_arn(role_arn)
    return [entry for entry in entries if canonicalize_arn(str(entry.get("rolearn", ""))) != canonical]


def render_entries(entries: list[dict[str, Any]]) -> str:
    """A ``mapRoles``/``mapUsers`` value as EKS writes it (block YAML, sorted keys)."""
    return yaml.safe_dump(entries, default_flow_style=False, sort_keys=True)
