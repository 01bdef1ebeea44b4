"""aws-auth: one parser for mapRoles/mapUsers/mapAccounts, the lookup table, the edits EKS makes."""

from __future__ import annotations

import yaml

from sim.aws.aws_auth import (
    AwsAuthEntry,
    AwsAuthMap,
    parse_accounts,
    parse_entries,
    render_entries,
    render_username,
    with_role,
    without_role,
)
from sim.aws.identities import AwsIdentity

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/nodes"


def test_unreadable_values_are_no_entries_rather_than_errors() -> None:
    for text in (None, 3, "", "  ", "``", '""', "''", "{not: [yaml", "just a string", "{a: 1}"):
        assert parse_entries(text) == []
        assert parse_accounts(text) == frozenset()
    assert parse_entries("- rolearn: a\n- just text\n- [1, 2]\n") == [{"rolearn": "a"}]


def test_json_values_as_in_the_step_functions_example_are_read_like_yaml() -> None:
    text = f'[{{ "userarn": "arn:aws:iam::{ACCOUNT}:user/my-user", "username": "my-user", "groups": [ "system:masters" ] }} ]'

    table = AwsAuthMap.from_data({"mapUsers": text, "mapAccounts": f'["{ACCOUNT}"]'})

    assert table.lookup(f"arn:aws:iam::{ACCOUNT}:user/my-user") == AwsAuthEntry(
        "my-user", ("system:masters",)
    )
    assert table.accounts == {ACCOUNT}


def test_roles_are_looked_up_by_canonical_arn_case_insensitively() -> None:
    table = AwsAuthMap.from_data(
        {"mapRoles": f"- rolearn: arn:aws:iam::{ACCOUNT}:role/team/Ops\n  username: ops\n  groups: [g]\n"}
    )

    assert table.lookup(f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/alice") == AwsAuthEntry("ops", ("g",))
    assert table.lookup(f"arn:aws:iam::{ACCOUNT}:role/other") is None
    assert AwsAuthMap.from_data({"mapRoles": "- username: no-arn\n"}).roles == {}


def test_username_templates_expand_like_aws_iam_authenticator() -> None:
    identity = AwsIdentity(arn="arn", account=ACCOUNT, session_name="me@example.com")

    assert render_username("u-{{AccountID}}-{{SessionName}}", identity) == f"u-{ACCOUNT}-me-example.com"
    assert render_username("{{SessionNameRaw}}", identity) == "me@example.com"
    assert render_username("system:node:{{EC2PrivateDNSName}}", identity) is None
    assert render_username("{{AccessKeyID}}", identity) is None


def test_adding_a_role_writes_its_canonical_arn_once_and_removing_takes_every_form() -> None:
    pathed = f"arn:aws:iam::{ACCOUNT}:role/eks/nodes"
    groups = ("system:bootstrappers", "system:nodes")

    once = with_role([], pathed, "system:node:{{EC2PrivateDNSName}}", groups)
    twice = with_role(once, ROLE, "other", ())

    assert once == [
        {"groups": list(groups), "rolearn": ROLE, "username": "system:node:{{EC2PrivateDNSName}}"}
    ]
    assert twice is once
    assert without_role([*once, {"rolearn": "arn:aws:iam::1:role/keep"}], pathed) == [
        {"rolearn": "arn:aws:iam::1:role/keep"}
    ]


def test_rendered_entries_parse_back_to_the_same_entries() -> None:
    entries = with_role([{"rolearn": "x", "groups": ["a"]}], ROLE, "u", ("g",))

    text = render_entries(entries)

    assert parse_entries(text) == entries
    assert yaml.safe_load(text)[1]["rolearn"] == ROLE
