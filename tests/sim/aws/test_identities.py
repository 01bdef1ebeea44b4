"""Identities: the --identity option, what STS reports, what an authenticator makes of it."""

from __future__ import annotations

import pytest

from sim.aws.identities import (
    AwsIdentity,
    CallerIdentity,
    IdentityConfigError,
    caller_identity_for,
    default_identity,
    parse_identity_option,
)


def test_identity_option_takes_a_key_an_optional_secret_and_a_principal_arn() -> None:
    plain = parse_identity_option("AKIAEXAMPLE1=arn:aws:iam::123456789012:role/ops")
    assert (plain.access_key_id, plain.secret_access_key) == ("AKIAEXAMPLE1", None)
    assert plain.account == "123456789012"
    with_secret = parse_identity_option("AKIAEXAMPLE2:s3cret=arn:aws:iam::123456789012:user/bob")
    assert with_secret.secret_access_key == "s3cret"
    for bad in (
        "AKIA",
        "=arn:aws:iam::123456789012:role/x",
        "AKIA=arn:aws:s3:::bucket",
        "AKIA=arn:aws:iam::1:role/x",
    ):
        with pytest.raises(IdentityConfigError):
            parse_identity_option(bad)


def test_role_credentials_are_reported_as_an_assumed_role_session_without_the_path() -> None:
    caller = caller_identity_for("arn:aws:iam::123456789012:role/service-role/my-role", "sess")
    assert caller.arn == "arn:aws:sts::123456789012:assumed-role/my-role/sess"
    assert caller.user_id.startswith("AROA") and caller.user_id.endswith(":sess")
    assert caller_identity_for("arn:aws:iam::123456789012:root").user_id == "123456789012"


def test_an_authenticator_splits_the_caller_user_id_and_canonicalizes_its_arn() -> None:
    caller = CallerIdentity(
        arn="arn:aws:sts::123456789012:assumed-role/my-role/sess",
        user_id="AROAEXAMPLE:sess",
        account="123456789012",
    )
    user = CallerIdentity(
        arn="arn:aws:iam::123456789012:user/bob", user_id="AIDAEXAMPLE", account="123456789012"
    )

    assert AwsIdentity.from_caller(caller) == AwsIdentity(
        arn="arn:aws:iam::123456789012:role/my-role",
        account="123456789012",
        user_id="AROAEXAMPLE",
        session_name="sess",
    )
    assert AwsIdentity.from_caller(user).session_name == ""


def test_the_default_identity_has_fresh_keys_each_time() -> None:
    first, second = default_identity(), default_identity()
    assert first.arn == "arn:aws:iam::111122223333:role/statewright-sim"
    assert first.access_key_id != second.access_key_id
    assert len(first.access_key_id) == 20 and len(first.secret_access_key or "") == 40
