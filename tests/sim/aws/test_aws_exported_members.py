"""``sim.aws`` exports exactly its documented surface."""

from __future__ import annotations

import sim.aws


def test_the_aws_protocol_package_exports_exactly_its_api() -> None:
    assert sim.aws.__all__ == [
        "AwsIdentity",
        "CallerIdentity",
        "Identity",
        "IdentityConfigError",
        "IdentityRegistry",
        "SigV4Error",
        "SigV4Problem",
        "StsEndpoints",
        "TokenError",
        "UnknownAccessKeyError",
        "canonicalize_arn",
        "decode_eks_token",
        "make_eks_token",
        "utc_now",
    ]
    assert all(getattr(sim.aws, name).__module__.startswith("sim.aws.") for name in sim.aws.__all__)
