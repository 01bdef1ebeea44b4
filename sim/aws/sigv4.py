"""AWS Signature Version 4 as the simulators need it: parse, verify, presign — stdlib only.

The EKS and STS simulators must learn who is calling (the access key in the
``Authorization`` header or in a presigned query), refuse requests AWS would
refuse, and verify signatures so that an EKS bearer token minted for one
cluster cannot be replayed against another: the cluster name travels only as
the signed ``x-k8s-aws-id`` header, so only the signature binds a token to its
cluster. The simulators must not import botocore, so this module re-implements
the few pieces of SigV4 involved with :mod:`hmac` and :mod:`hashlib`, following
the canonicalisation botocore's signer uses (``botocore/auth.py``):

* canonical URI: the path as sent, dot segments and empty segments removed,
  then percent-encoded once more with ``/`` and ``~`` kept;
* canonical query: every ``key=value`` pair re-encoded with ``-_.~`` kept,
  sorted (for presigned URLs, without ``X-Amz-Signature``);
* canonical headers: the signed header names, lower-cased, values trimmed and
  inner whitespace collapsed;
* payload hash: ``x-amz-content-sha256`` if sent, else SHA-256 of the body;
  presigned URLs are accepted with either the empty-body hash (what botocore
  presigns for STS) or ``UNSIGNED-PAYLOAD``.

The EKS bearer token, a presigned STS URL, is built on :func:`presign_url` in
:mod:`sim.aws.token`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final, Protocol
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from sim.aws.times import TimestampError, format_amz_date, parse_amz_date

ALGORITHM: Final = "AWS4-HMAC-SHA256"
EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"

#: STS accepts a presigned URL for 15 minutes after X-Amz-Date, whatever its X-Amz-Expires.
PRESIGNED_URL_LIFETIME: Final = dt.timedelta(minutes=15)
#: A signature dated this far in the future is refused (AWS allows 5 minutes of clock skew).
MAX_CLOCK_SKEW: Final = dt.timedelta(minutes=5)


class SigV4Problem(Enum):
    """Why a request's SigV4 credentials were refused; each simulator maps it to its protocol's error."""

    MISSING = "missing"
    """No ``Authorization`` header and no presigned query."""
    MALFORMED = "malformed"
    """Credentials present but not a well-formed SigV4 header or query."""
    BAD_SIGNATURE = "bad_signature"
    """The signature does not match the one computed with the identity's secret."""
    EXPIRED = "expired"
    """The signature's date is outside the accepted window."""


class SigV4Error(Exception):
    """A request's SigV4 credentials are missing, malformed, wrong or expired.

    The message never contains the signature, the secret or the presigned URL.
    """

    def __init__(self, problem: SigV4Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


class HttpRequest(Protocol):
    """What :meth:`SignedRequest.read` needs of a server's request (aiohttp's ``web.Request`` has it)."""

    @property
    def method(self) -> str: ...

    @property
    def raw_path(self) -> str: ...

    @property
    def query_string(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def read(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """An HTTP request as SigV4 sees it.

    Attributes:
        method: The HTTP method.
        raw_path: The path as sent (percent-encoded, without the query).
        query_string: The raw query string.
        headers: Lower-case header names to their values.
        body: The request body.
    """

    method: str
    raw_path: str
    query_string: str
    headers: Mapping[str, Sequence[str]]
    body: bytes = b""

    @classmethod
    async def read(cls, request: HttpRequest) -> SignedRequest:
        """Read a server's request (its body included) into the form SigV4 checks."""
        body = await request.read()
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        return cls(
            method=request.method,
            raw_path=request.raw_path.split("?", 1)[0],
            query_string=request.query_string,
            headers=headers,
            body=body,
        )

    def query_pairs(self) -> list[tuple[str, str]]:
        """The decoded query, in order, blank values kept."""
        return parse_qsl(self.query_string, keep_blank_values=True)


@dataclass(frozen=True, slots=True)
class SignedRequestInfo:
    """What a SigV4 ``Authorization`` header or presigned query declares.

    Attributes:
        access_key_id: The access key named in the credential scope.
        amz_date: ``X-Amz-Date`` (``YYYYMMDDTHHMMSSZ``).
        scope_date: The date part of the credential scope (``YYYYMMDD``).
        region: The region of the credential scope.
        service: The signing name of the credential scope (``eks``, ``sts``).
        signed_headers: The lower-case names of the signed headers, in order.
        signature: The hex signature to check.
        presigned: True for query authentication (a presigned URL).
        expires: ``X-Amz-Expires`` of a presigned URL, else None.
    """

    access_key_id: str
    amz_date: str
    scope_date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    presigned: bool
    expires: int | None = None

    @property
    def credential_scope(self) -> str:
        """The credential scope without the access key: ``date/region/service/aws4_request``."""
        return f"{self.scope_date}/{self.region}/{self.service}/aws4_request"

    def signed_at(self) -> dt.datetime:
        """The signing time as an aware UTC datetime.

        Raises:
            SigV4Error: ``X-Amz-Date`` is not ``YYYYMMDDTHHMMSSZ``.
        """
        try:
            return parse_amz_date(self.amz_date)
        except TimestampError as exc:
            raise SigV4Error(SigV4Problem.MALFORMED, str(exc)) from None


def _split_credential(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise SigV4Error(
            SigV4Problem.MALFORMED,
            "Credential must have the form <AccessKeyId>/<date>/<region>/<service>/aws4_request.",
        )
    return parts[0], parts[1], parts[2], parts[3]


def parse_authorization_header(value: str, amz_date: str | None) -> SignedRequestInfo:
    """Parse an ``Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`` header.

    Args:
        value: The header value.
        amz_date: The request's ``X-Amz-Date`` header (botocore always sends one).

    Raises:
        SigV4Error: the header is not a complete SigV4 header (``MALFORMED``).
    """
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SigV4Error(SigV4Problem.MALFORMED, f"Unsupported authorization type; expected {ALGORITHM}.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, field_value = item.strip().partition("=")
        if sep:
            fields[key] = field_value
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if name not in fields]
    if missing:
        raise SigV4Error(
            SigV4Problem.MALFORMED,
            f"Authorization header requires {', '.join(repr(m) for m in missing)} parameter(s).",
        )
    if not amz_date:
        raise SigV4Error(
            SigV4Problem.MALFORMED, "Authorization header requires existence of the X-Amz-Date header."
        )
    access_key_id, scope_date, region, service = _split_credential(fields["Credential"])
    return SignedRequestInfo(
        access_key_id=access_key_id,
        amz_date=amz_date,
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=tuple(fields["SignedHeaders"].lower().split(";")),
        signature=fields["Signature"],
        presigned=False,
    )


def parse_presigned_query(query: Mapping[str, str]) -> SignedRequestInfo:
    """Parse the ``X-Amz-*`` members of a presigned URL's query.

    Raises:
        SigV4Error: a member is missing or malformed (``MALFORMED``).
    """
    missing = [
        name
        for name in (
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-SignedHeaders",
            "X-Amz-Signature",
        )
        if not query.get(name)
    ]
    if missing:
        raise SigV4Error(SigV4Problem.MALFORMED, f"Presigned query lacks {', '.join(missing)}.")
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise SigV4Error(SigV4Problem.MALFORMED, f"X-Amz-Algorithm must be {ALGORITHM}.")
    expires: int | None = None
    if "X-Amz-Expires" in query:
        try:
            expires = int(query["X-Amz-Expires"])
        except ValueError:
            raise SigV4Error(SigV4Problem.MALFORMED, "X-Amz-Expires must be an integer.") from None
    access_key_id, scope_date, region, service = _split_credential(query["X-Amz-Credential"])
    return SignedRequestInfo(
        access_key_id=access_key_id,
        amz_date=query["X-Amz-Date"],
        scope_date=scope_date,
        region=region,
        service=service,
        signed_headers=tuple(query["X-Amz-SignedHeaders"].lower().split(";")),
        signature=query["X-Amz-Signature"],
        presigned=True,
        expires=expires,
    )


def _remove_dot_segments(path: str) -> str:
    output: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if output:
                output.pop()
        else:
            output.append(segment)
    joined = "/" + "/".join(output)
    if path.endswith("/") and joined != "/":
        joined += "/"
    return joined


def canonical_uri(raw_path: str) -> str:
    """The canonical URI of a path as sent on the wire (botocore's ``_normalize_url_path``)."""
    return quote(_remove_dot_segments(raw_path or "/"), safe="/~")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """The canonical query string of decoded ``(key, value)`` pairs."""
    encoded = sorted((quote(key, safe="-_.~"), quote(value, safe="-_.~")) for key, value in pairs)
    return "&".join(f"{key}={value}" for key, value in encoded)


def canonical_headers(headers: Mapping[str, Sequence[str]], names: Sequence[str]) -> str:
    """Canonical header lines (each ending with a newline) for the signed header ``names``."""
    lines = []
    for name in names:
        values = headers.get(name, ())
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}\n")
    return "".join(lines)


def signing_key(secret_access_key: str, scope_date: str, region: str, service: str) -> bytes:
    """Derive the SigV4 signing key for one day, region and service."""
    key = hmac.new(f"AWS4{secret_access_key}".encode(), scope_date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def compute_signature(
    *,
    secret_access_key: str,
    info: SignedRequestInfo,
    method: str,
    raw_path: str,
    query_pairs: Iterable[tuple[str, str]],
    headers: Mapping[str, Sequence[str]],
    payload_hash: str,
) -> str:
    """Compute the hex SigV4 signature of a request as its signer did.

    Args:
        secret_access_key: The identity's secret.
        info: The parsed credentials (scope, date, signed headers).
        method: The HTTP method.
        raw_path: The path as sent (percent-encoded, without the query).
        query_pairs: Decoded query pairs, without ``X-Amz-Signature``.
        headers: Lower-case header name to its values.
        payload_hash: The hex SHA-256 of the body, or ``UNSIGNED-PAYLOAD``.
    """
    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(query_pairs),
            canonical_headers(headers, info.signed_headers),
            ";".join(info.signed_headers),
            payload_hash,
        ]
    )
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            info.amz_date,
            info.credential_scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = signing_key(secret_access_key, info.scope_date, info.region, info.service)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def verify_signature(
    *,
    secret_access_key: str,
    info: SignedRequestInfo,
    method: str,
    raw_path: str,
    query_pairs: Sequence[tuple[str, str]],
    headers: Mapping[str, Sequence[str]],
    body: bytes,
) -> None:
    """Check a request's SigV4 signature.

    Raises:
        SigV4Error: ``BAD_SIGNATURE`` when no accepted payload hash reproduces the signature.
    """
    if info.presigned:
        query_pairs = [(k, v) for k, v in query_pairs if k != "X-Amz-Signature"]
    declared = headers.get("x-amz-content-sha256")
    if declared:
        candidates: tuple[str, ...] = (declared[0],)
    elif info.presigned:
        candidates = (EMPTY_SHA256, UNSIGNED_PAYLOAD)
    else:
        candidates = (hashlib.sha256(body).hexdigest(), UNSIGNED_PAYLOAD)
    for payload_hash in candidates:
        expected = compute_signature(
            secret_access_key=secret_access_key,
            info=info,
            method=method,
            raw_path=raw_path,
            query_pairs=query_pairs,
            headers=headers,
            payload_hash=payload_hash,
        )
        if hmac.compare_digest(expected, info.signature):
            return
    raise SigV4Error(
        SigV4Problem.BAD_SIGNATURE,
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    )


def check_signing_time(info: SignedRequestInfo, now: dt.datetime) -> None:
    """Refuse a presigned URL older than 15 minutes, or a signature dated in the future.

    Raises:
        SigV4Error: ``EXPIRED`` (with STS's wording) or ``MALFORMED`` (bad date).
    """
    signed_at = info.signed_at()
    if signed_at - now > MAX_CLOCK_SKEW:
        raise SigV4Error(
            SigV4Problem.EXPIRED,
            f"Signature not yet current: {info.amz_date} is still later than "
            f"{format_amz_date(now + MAX_CLOCK_SKEW)} ({format_amz_date(now)} + 5 min.)",
        )
    if info.presigned and now > signed_at + PRESIGNED_URL_LIFETIME:
        raise SigV4Error(
            SigV4Problem.EXPIRED,
            f"Signature expired: {info.amz_date} is now earlier than "
            f"{format_amz_date(now - PRESIGNED_URL_LIFETIME)} ({format_amz_date(now)} - 15 min.)",
        )


def host_header(url: str) -> str:
    """The ``Host`` value a client sends for ``url`` (lower-case, default port dropped)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port is not None and parts.port != default_port:
        host = f"{host}:{parts.port}"
    return host


def presign_url(
    *,
    url: str,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    headers: Mapping[str, str],
    expires: int,
    now: dt.datetime,
    session_token: str | None = None,
) -> str:
    """Presign a GET of ``url`` with SigV4 query authentication, as botocore's ``SigV4QueryAuth`` does.

    Args:
        url: The URL with its operation parameters in the query.
        access_key_id: The signer's access key.
        secret_access_key: The signer's secret.
        region: The credential scope's region.
        service: The credential scope's signing name.
        headers: Extra headers to sign besides ``host`` (the caller sends them with the GET).
        expires: ``X-Amz-Expires``.
        now: The signing time.
        session_token: ``X-Amz-Security-Token`` for temporary credentials.

    Returns:
        The presigned URL.
    """
    parts = urlsplit(url)
    amz_date = format_amz_date(now)
    signed_headers_map: dict[str, list[str]] = {"host": [host_header(url)]}
    for name, value in headers.items():
        signed_headers_map[name.lower()] = [value]
    names = tuple(sorted(signed_headers_map))
    operation = parse_qsl(parts.query, keep_blank_values=True)
    auth: list[tuple[str, str]] = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key_id}/{amz_date[:8]}/{region}/{service}/aws4_request"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", ";".join(names)),
    ]
    if session_token is not None:
        auth.append(("X-Amz-Security-Token", session_token))
    info = SignedRequestInfo(
        access_key_id=access_key_id,
        amz_date=amz_date,
        scope_date=amz_date[:8],
        region=region,
        service=service,
        signed_headers=names,
        signature="",
        presigned=True,
        expires=expires,
    )
    signature = compute_signature(
        secret_access_key=secret_access_key,
        info=info,
        method="GET",
        raw_path=parts.path or "/",
        query_pairs=[*operation, *auth],
        headers=signed_headers_map,
        payload_hash=EMPTY_SHA256,
    )
    query = urlencode([*operation, *auth, ("X-Amz-Signature", signature)], quote_via=quote, safe="-_.~")
    return f"{parts.scheme}://{parts.netloc}{parts.path or '/'}?{query}"
