"""AWS's protocols as the simulators speak them: the bottom layer of ``sim``, standard library and YAML only.

One implementation of each piece that the EKS and STS simulators and the
Kubernetes API servers share (import-linter keeps this package from importing
the rest of ``sim``):

* :mod:`~sim.aws.times`: ``X-Amz-Date`` and RFC 3339 timestamps, the default clock;
* :mod:`~sim.aws.sigv4`: Signature Version 4: parse, verify and presign requests;
* :mod:`~sim.aws.token`: the EKS bearer token, minted and decoded;
* :mod:`~sim.aws.arns`: principal ARNs and their canonical form;
* :mod:`~sim.aws.identities`: the principals, their keys, what STS says about them;
* :mod:`~sim.aws.aws_auth`: the ``aws-auth`` ConfigMap, parsed, looked up and edited;
* :mod:`~sim.aws.iam`: identity-based IAM policy evaluation (``--policy``).
"""

from sim.aws.arns import canonicalize_arn
from sim.aws.identities import (
    AwsIdentity,
    CallerIdentity,
    Identity,
    IdentityConfigError,
    IdentityRegistry,
    UnknownAccessKeyError,
)
from sim.aws.sigv4 import SigV4Error, SigV4Problem
from sim.aws.times import utc_now
from sim.aws.token import StsEndpoints, TokenError, decode_eks_token, make_eks_token

__all__ = [
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
