"""The EKS bearer token: minted as ``aws eks get-token`` does, decoded as aws-iam-authenticator does.

A token is ``k8s-aws-v1.`` followed by the unpadded base64url of a presigned
STS ``GetCallerIdentity`` URL whose signed headers include ``x-k8s-aws-id``
(the cluster name). The cluster's authenticator checks the token's form,
then performs the GET with its own cluster name in that header: only a token
minted for that cluster has a matching signature.

:func:`decode_eks_token` is the one decoder of the simulators: the STS
simulator runs it before that GET, the Kubernetes API servers before they
ask for the identity behind a token (and to know how long to cache it). It
applies aws-iam-authenticator's rules (``pkg/token/token.go``, ``Verify``), in
its order:

1. at most 4,096 bytes, the ``k8s-aws-v1.`` prefix;
2. the rest is *unpadded* base64url (Go's ``base64.RawURLEncoding``: a ``=``
   or a character outside ``A-Z a-z 0-9 - _`` is refused);
3. the URL is https (or the scheme of the STS endpoint trusted), its host
   ``host[:port]`` one of the trusted STS endpoints (:class:`StsEndpoints`),
   its path ``/``;
4. only the SigV4 query keys and ``Action``/``Version``, each once
   (compared case-insensitively), ``Action=GetCallerIdentity``,
   ``x-k8s-aws-id`` among the signed headers;
5. ``X-Amz-Expires`` an integer (Go's ``strconv.Atoi``) from 0 to 900;
6. ``X-Amz-Date`` exactly ``YYYYMMDDTHHMMSSZ``, and no more than 15 minutes
   ago (or the shorter lifetime a cluster is configured with).

Every refusal is a :class:`TokenError` whose message says why without
echoing the token or its URL.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from sim.aws.sigv4 import (
    PRESIGNED_URL_LIFETIME,
    SignedRequestInfo,
    SigV4Error,
    parse_presigned_query,
    presign_url,
)

TOKEN_PREFIX: Final = "k8s-aws-v1."
CLUSTER_ID_HEADER: Final = "x-k8s-aws-id"
STS_API_VERSION: Final = "2011-06-15"
#: aws-iam-authenticator refuses tokens longer than this (``maxTokenLenBytes``).
MAX_TOKEN_BYTES: Final = 4096
#: The X-Amz-Expires the aws CLI and aws-iam-authenticator put in tokens (legacy, ignored by STS).
TOKEN_EXPIRES_SECONDS: Final = 60
#: The largest X-Amz-Expires the authenticator accepts (15 minutes).
MAX_EXPIRES_SECONDS: Final = 900

ALLOWED_QUERY_KEYS: Final = frozenset(
    {
        "action",
        "version",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)
"""aws-iam-authenticator's ``parameterWhitelist``, lower-case."""

#: The public STS host names of AWS's partitions: global, regional, FIPS, the China and isolated ones.
AWS_STS_HOST: Final = re.compile(
    r"^sts(-fips)?(\.[a-z0-9-]+)?\.(amazonaws\.com(\.cn)?|api\.aws|c2s\.ic\.gov|sc2s\.sgov\.gov)$"
)
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_BASE64URL_RE: Final = re.compile(r"^[A-Za-z0-9_-]*$", re.ASCII)
_ATOI_RE: Final = re.compile(r"^[+-]?[0-9]+$", re.ASCII)


class TokenError(ValueError):
    """An EKS bearer token is refused; the message says why and never contains the token."""


@dataclass(frozen=True, slots=True)
class StsEndpoints:
    """The STS endpoints a decoder trusts a token's presigned URL to name.

    aws-iam-authenticator trusts the STS host names of its partition and
    nothing else. A simulated cluster trusts its STS simulator's exact
    ``host:port`` (:meth:`of_url`); a standalone Kubernetes simulator, whose
    identities come from a resolver of the caller's choosing, trusts AWS's own
    STS hosts and any loopback port (:meth:`standalone`).

    Attributes:
        hosts: Exact ``host[:port]`` values, lower-case.
        schemes: URL schemes accepted for ``hosts`` (``http`` only for an STS simulator without TLS).
        aws_partitions: Also trust the public STS host names of AWS's partitions (https only).
        any_loopback_port: Also trust any port of a loopback address, over https or http.
    """

    hosts: frozenset[str] = frozenset()
    schemes: frozenset[str] = field(default=frozenset({"https"}))
    aws_partitions: bool = False
    any_loopback_port: bool = False

    @classmethod
    def of_url(cls, url: str) -> StsEndpoints:
        """Trust exactly the endpoint of ``url`` (its scheme and ``host[:port]``)."""
        parts = urlsplit(url)
        return cls(hosts=frozenset({parts.netloc.lower()}), schemes=frozenset({parts.scheme}))

    @classmethod
    def named(cls, hosts: Iterable[str]) -> StsEndpoints:
        """Trust these ``host[:port]`` values over https."""
        return cls(hosts=frozenset(host.lower() for host in hosts))

    @classmethod
    def standalone(cls) -> StsEndpoints:
        """AWS's STS hosts and any loopback port: a Kubernetes simulator without an STS of its own."""
        return cls(aws_partitions=True, any_loopback_port=True)

    def admit(self, scheme: str, host: str) -> None:
        """Check a presigned URL's scheme and ``host[:port]`` (lower-case, without user info).

        Raises:
            TokenError: the scheme or the endpoint is not trusted.
        """
        if host in self.hosts:
            schemes: frozenset[str] | tuple[str, ...] = self.schemes
        elif self.aws_partitions and AWS_STS_HOST.match(host):
            schemes = ("https",)
        elif self.any_loopback_port and _hostname(host) in LOOPBACK_HOSTS:
            schemes = ("https", "http")
        else:
            if scheme != "https" and scheme not in self.schemes:
                raise TokenError(f"unexpected scheme {scheme!r} in presigned URL")
            raise TokenError("presigned URL host is not a trusted STS endpoint")
        if scheme not in schemes:
            raise TokenError(f"unexpected scheme {scheme!r} in presigned URL")


def _hostname(host: str) -> str:
    """``host[:port]`` without the port (and without the brackets of an IPv6 address)."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


@dataclass(frozen=True, slots=True)
class DecodedToken:
    """A token that passed every check of :func:`decode_eks_token`.

    Attributes:
        url: The presigned STS URL.
        host: The URL's ``host[:port]``, lower-case.
        query: The URL's query, each key once, as written.
        info: The parsed SigV4 query credentials.
        expires_at: When the token stops being accepted.
    """

    url: str
    host: str
    query: Mapping[str, str]
    info: SignedRequestInfo
    expires_at: dt.datetime


def make_eks_token(
    *,
    sts_url: str,
    cluster_name: str,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    now: dt.datetime,
    session_token: str | None = None,
) -> str:
    """Mint an EKS bearer token as ``aws eks get-token`` does.

    Args:
        sts_url: The STS endpoint (``https://host:port``) the token is presigned for.
        cluster_name: The cluster name, signed as ``x-k8s-aws-id``.
        access_key_id: The caller's access key.
        secret_access_key: The caller's secret.
        region: The signing region.
        now: The signing time (the token is valid 15 minutes after it).
        session_token: Optional session token for temporary credentials.

    Returns:
        ``k8s-aws-v1.`` followed by the unpadded base64url presigned URL.
    """
    base = sts_url.rstrip("/") + f"/?Action=GetCallerIdentity&Version={STS_API_VERSION}"
    url = presign_url(
        url=base,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        region=region,
        service="sts",
        headers={CLUSTER_ID_HEADER: cluster_name},
        expires=TOKEN_EXPIRES_SECONDS,
        now=now,
        session_token=session_token,
    )
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def decode_eks_token(
    token: str,
    *,
    trusted: StsEndpoints,
    now: dt.datetime,
    lifetime: dt.timedelta = PRESIGNED_URL_LIFETIME,
) -> DecodedToken:
    """Apply aws-iam-authenticator's checks to an EKS bearer token (see the module docstring).

    Args:
        token: The bearer token.
        trusted: The STS endpoints the presigned URL may name.
        now: The current time, for the token's age.
        lifetime: How long after ``X-Amz-Date`` the token is accepted (15 minutes, as STS does).

    Raises:
        TokenError: the token is refused.
    """
    url = _presigned_url(token)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise TokenError("presigned URL is malformed") from None
    # Go's URL.Host, which aws-iam-authenticator matches: host[:port] without any user info.
    host = parts.netloc.rpartition("@")[2].lower()
    trusted.admit(parts.scheme, host)
    if parts.path != "/":
        raise TokenError("unexpected path in presigned URL; it must be /")
    query = _token_query(parts.query)
    lowered = {key.lower(): value for key, value in query.items()}
    if lowered.get("action") != "GetCallerIdentity":
        raise TokenError("unexpected action parameter in presigned URL")
    if CLUSTER_ID_HEADER not in lowered.get("x-amz-signedheaders", "").lower().split(";"):
        raise TokenError(f"client did not sign the {CLUSTER_ID_HEADER} header in the presigned URL")
    expires = lowered.get("x-amz-expires", "")
    if not _ATOI_RE.match(expires) or not 0 <= int(expires) <= MAX_EXPIRES_SECONDS:
        raise TokenError(f"X-Amz-Expires must be an integer between 0 and {MAX_EXPIRES_SECONDS}")
    try:
        info = parse_presigned_query(query)
        signed_at = info.signed_at()
    except SigV4Error as exc:
        raise TokenError(exc.message) from None
    expires_at = signed_at + lifetime
    if now > expires_at:
        raise TokenError("token is expired")
    return DecodedToken(url=url, host=host, query=query, info=info, expires_at=expires_at)


def _presigned_url(token: str) -> str:
    if len(token) > MAX_TOKEN_BYTES or len(token.encode("utf-8", "replace")) > MAX_TOKEN_BYTES:
        raise TokenError("token is too large")
    if not token.startswith(TOKEN_PREFIX):
        raise TokenError(f"token is missing expected {TOKEN_PREFIX!r} prefix")
    encoded = token[len(TOKEN_PREFIX) :]
    if "=" in encoded:
        raise TokenError("token must be unpadded base64url")
    if not _BASE64URL_RE.match(encoded) or len(encoded) % 4 == 1:
        raise TokenError("token is not valid unpadded base64url")
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise TokenError("token is not valid unpadded base64url") from None


def _token_query(raw: str) -> dict[str, str]:
    query: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in parse_qsl(raw, keep_blank_values=True):
        lowered = key.lower()
        if lowered not in ALLOWED_QUERY_KEYS:
            raise TokenError(f"non-allowlisted query parameter {key!r}")
        if lowered in seen:
            raise TokenError(f"query parameter {key!r} is repeated")
        seen.add(lowered)
        query[key] = value
    return query
