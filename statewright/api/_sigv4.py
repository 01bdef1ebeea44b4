"""SigV4 verification for ``statewright serve --verify-sigv4 KEY=SECRET``.

By default the server accepts any signature, as Step Functions Local does:
SDKs always sign, and a local server has no accounts. With one key pair
configured, each request must carry an ``Authorization`` header signed with
it. The signature is recomputed with botocore's own signer
(``botocore.auth.SigV4Auth``, the code that signed the request in the client),
over exactly the headers the client listed as signed, at the client's
``X-Amz-Date``, for the region and service of its credential scope; then
compared in constant time. Errors are AWS's: ``MissingAuthenticationToken``,
``UnrecognizedClientException`` (another access key),
``InvalidSignatureException`` (a wrong signature, or one dated more than five
minutes from now). The secret never appears in a message or a log.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from statewright.api._errors import ApiError

ALGORITHM: Final = "AWS4-HMAC-SHA256"
MAX_SKEW: Final = timedelta(minutes=5)
_AUTH_RE: Final = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<sig>[0-9a-f]{64})$"
)


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidSignatureException", message)


class SigV4Verifier:
    """Checks requests against one access key and secret."""

    def __init__(self, access_key: str, secret_key: str) -> None:
        self._credentials = Credentials(access_key, secret_key)

    def verify(self, method: str, path_qs: str, headers: Mapping[str, str], body: bytes) -> None:
        """Raises ``ApiError`` unless the request is signed with this server's key."""
        auth = headers.get("Authorization")
        if not auth:
            raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
        m = _AUTH_RE.match(auth.strip())
        if m is None:
            raise ApiError(
                "IncompleteSignatureException",
                "The request signature is not a valid AWS4-HMAC-SHA256 signature",
            )
        parts = m["cred"].split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise ApiError("IncompleteSignatureException", "The credential scope is not valid")
        access_key, scope_date, region, service, _ = parts
        if not hmac.compare_digest(access_key, self._credentials.access_key):
            raise ApiError(
                "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        amz_date = headers.get("X-Amz-Date", "")
        try:
            when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise _invalid("The request has no valid X-Amz-Date header") from None
        if not amz_date.startswith(scope_date):
            raise _invalid("The credential scope date does not match X-Amz-Date")
        if abs(datetime.now(UTC) - when) > MAX_SKEW:
            raise _invalid("Signature expired: the request is dated more than 5 minutes from now")
        signed = m["signed"].split(";")
        lowered = {k.lower(): v for k, v in headers.items()}
        missing = [h for h in signed if h not in lowered]
        if missing:
            raise _invalid(f"Signed header missing from the request: {missing[0]}")
        host = lowered.get("host", "localhost")
        request = AWSRequest(
            method=method, url=f"http://{host}{path_qs}", data=body, headers={h: lowered[h] for h in signed}
        )
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(self._credentials, service, region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, m["sig"]):
            raise _invalid(
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method."
            )


__all__ = ["SigV4Verifier"]
