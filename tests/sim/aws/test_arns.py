"""Principal ARNs: the forms accepted and the one canonical form callers are compared in."""

from __future__ import annotations

import pytest

from sim.aws.arns import ArnError, account_of, canonicalize_arn, validate_principal_arn


def test_an_assumed_role_session_is_its_role() -> None:
    assert canonicalize_arn("arn:aws:sts::123456789012:assumed-role/my-role/sess") == (
        "arn:aws:iam::123456789012:role/my-role"
    )
    assert (
        canonicalize_arn("arn:aws-cn:sts::123456789012:assumed-role/r/s")
        == "arn:aws-cn:iam::123456789012:role/r"
    )


def test_a_role_loses_its_path_because_its_session_arn_carries_none() -> None:
    assert (
        canonicalize_arn("arn:aws:iam::123456789012:role/path/my-role")
        == "arn:aws:iam::123456789012:role/my-role"
    )


def test_users_root_and_strings_that_are_not_arns_are_kept() -> None:
    for arn in (
        "arn:aws:iam::123456789012:user/bob",
        "arn:aws:iam::123456789012:user/team/bob",
        "arn:aws:iam::123456789012:root",
        "arn:aws:sts::123456789012:federated-user/bob",
        "not-an-arn",
    ):
        assert canonicalize_arn(arn) == arn


def test_the_canonical_form_is_a_fixed_point() -> None:
    for arn in ("arn:aws:sts::123456789012:assumed-role/r/s", "arn:aws:iam::123456789012:role/a/b/r"):
        assert canonicalize_arn(canonicalize_arn(arn)) == canonicalize_arn(arn)


def test_principal_arns_are_validated_with_a_message_naming_the_accepted_forms() -> None:
    validate_principal_arn("arn:aws:iam::123456789012:role/ops")
    validate_principal_arn("arn:aws:sts::123456789012:assumed-role/ops/me")
    assert account_of("arn:aws:iam::123456789012:root") == "123456789012"
    for bad in ("arn:aws:s3:::bucket", "arn:aws:iam::1:role/x", "arn:aws:sts::123456789012:assumed-role/ops"):
        with pytest.raises(ArnError, match="not a principal ARN"):
            validate_principal_arn(bad)
