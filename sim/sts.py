"""An STS simulator: ``GetCallerIdentity`` over the query protocol, and EKS token resolution.

Two callers need STS. AWS clients (boto3, the aws CLI) call
``GetCallerIdentity`` with a SigV4 ``Authorization`` header and a form body;
they parse XML by default and JSON when they send ``Accept: application/json``.
The per-cluster Kubernetes API servers, like aws-iam-authenticator, take an EKS
bearer token, check its format (spec §10.2) and perform the presigned GET it
contains with their own cluster name as ``x-k8s-aws-id``: the signature only
matches if the token was minted for that cluster. :meth:`StsSimulator.resolve_token`
does that GET in-process — the same code path the HTTP handler runs, without a
network round trip per Kubernetes request.

Errors use STS's query-protocol document (``ErrorResponse``/``Error``/``Code``)
and codes: ``MissingAuthenticationToken``, ``InvalidClientTokenId``,
``SignatureDoesNotMatch``, ``IncompleteSignature``, ``InvalidAction``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Final
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from aiohttp import web

from sim.aws.identities import CallerIdentity, IdentityRegistry, UnknownAccessKeyError
from sim.aws.sigv4 import PRESIGNED_URL_LIFETIME, SignedRequest, SigV4Error, SigV4Problem, host_header
from sim.aws.times import utc_now
from sim.aws.token import (
    CLUSTER_ID_HEADER,
    STS_API_VERSION,
    StsEndpoints,
    TokenError,
    decode_eks_token,
)
from sim.faults import Fault, FaultConfig
from sim.server import LOOPBACK, SimServer
from sim.tls import CertificateAuthority

STS_XMLNS: Final = f"https://sts.amazonaws.com/doc/{STS_API_VERSION}/"
Clock = Callable[[], dt.datetime]


class StsError(Exception):
    """An STS error answer: HTTP status, error code, message and fault type."""

    def __init__(self, status: int, code: str, message: str, fault_type: str = "Sender") -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fault_type = fault_type


_SIGV4_ERRORS: Final[Mapping[SigV4Problem, tuple[int, str]]] = {
    SigV4Problem.MISSING: (403, "MissingAuthenticationToken"),
    SigV4Problem.MALFORMED: (400, "IncompleteSignature"),
    SigV4Problem.BAD_SIGNATURE: (403, "SignatureDoesNotMatch"),
    SigV4Problem.EXPIRED: (403, "SignatureDoesNotMatch"),
}
_MISSING_TOKEN_MESSAGE: Final = "Request is missing Authentication Token"


class StsSimulator(SimServer):
    """STS ``GetCallerIdentity`` for the identities of an :class:`IdentityRegistry`.

    Args:
        identities: The known principals (shared with the EKS simulator).
        region: The region clients sign for (informational; any scope region is accepted).
        ca: The certificate authority for HTTPS; a new one when None and ``tls`` is true.
        tls: Serve HTTPS (default). Plain HTTP only when explicitly False.
        faults: Faults to inject into HTTP answers.
        clock: Source of the current UTC time, for signature time windows.
        host: Address to bind (loopback).
        port: Port to bind (0: any free port).
    """

    def __init__(
        self,
        *,
        identities: IdentityRegistry,
        region: str = "us-east-1",
        ca: CertificateAuthority | None = None,
        tls: bool = True,
        faults: FaultConfig | None = None,
        clock: Clock = utc_now,
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        self.ca = ca if ca is not None or not tls else CertificateAuthority()
        super().__init__(
            host=host,
            port=port,
            ssl_context=self.ca.server_ssl_context() if tls and self.ca is not None else None,
            faults=faults,
        )
        self.identities = identities
        self.region = region
        self._clock = clock
        self.request_count = 0

    @property
    def endpoints(self) -> StsEndpoints:
        """This endpoint, as the clusters trust it in the tokens they are shown (once started)."""
        return StsEndpoints.of_url(self.url)

    # -- HTTP -------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """The STS application: every action is addressed to ``/``."""
        app = web.Application()
        app.router.add_route("GET", "/", self._handle)
        app.router.add_route("POST", "/", self._handle)
        return app

    def fault_response(self, fault: Fault, request: web.Request) -> web.StreamResponse:
        """Injected faults answer as STS does: ``Throttling``, ``InternalFailure``, ``ServiceUnavailable``."""
        code, fault_type = {
            Fault.THROTTLE: ("Throttling", "Sender"),
            Fault.INTERNAL_ERROR: ("InternalFailure", "Receiver"),
        }.get(fault, ("ServiceUnavailable", "Receiver"))
        error = StsError(
            fault.value, code, "Rate exceeded" if fault is Fault.THROTTLE else "injected fault", fault_type
        )
        return _error_response(error, _wants_json(request.headers.get("Accept", "")))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.request_count += 1
        signed = await SignedRequest.read(request)
        as_json = _wants_json(request.headers.get("Accept", ""))
        try:
            caller = self.get_caller_identity(signed)
        except StsError as error:
            return _error_response(error, as_json)
        request_id = str(uuid.uuid4())
        if as_json:
            document = {
                "GetCallerIdentityResponse": {
                    "GetCallerIdentityResult": {
                        "Account": caller.account,
                        "Arn": caller.arn,
                        "UserId": caller.user_id,
                    },
                    "ResponseMetadata": {"RequestId": request_id},
                }
            }
            return web.json_response(document, headers={"x-amzn-RequestId": request_id})
        text = (
            f'<GetCallerIdentityResponse xmlns="{STS_XMLNS}">\n'
            "  <GetCallerIdentityResult>\n"
            f"    <Arn>{escape(caller.arn)}</Arn>\n"
            f"    <UserId>{escape(caller.user_id)}</UserId>\n"
            f"    <Account>{escape(caller.account)}</Account>\n"
            "  </GetCallerIdentityResult>\n"
            "  <ResponseMetadata>\n"
            f"    <RequestId>{request_id}</RequestId>\n"
            "  </ResponseMetadata>\n"
            "</GetCallerIdentityResponse>\n"
        )
        return web.Response(text=text, content_type="text/xml", headers={"x-amzn-RequestId": request_id})

    # -- the operation ------------------------------------------------------------------------

    def get_caller_identity(self, request: SignedRequest) -> CallerIdentity:
        """Run one STS request: authenticate it, check the action, answer GetCallerIdentity.

        Raises:
            StsError: the answer is an STS error.
        """
        query_pairs = request.query_pairs()
        params = dict(query_pairs)
        content_type = request.headers.get("content-type", [""])[0]
        if request.body and content_type.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            identity, _info = self.identities.authenticate(
                request, service="sts", now=self._clock(), query_pairs=query_pairs
            )
        except SigV4Error as exc:
            status, code = _SIGV4_ERRORS[exc.problem]
            message = _MISSING_TOKEN_MESSAGE if exc.problem is SigV4Problem.MISSING else exc.message
            raise StsError(status, code, message) from None
        except UnknownAccessKeyError as exc:
            raise StsError(403, "InvalidClientTokenId", str(exc)) from None
        action = params.get("Action")
        if not action:
            raise StsError(400, "MissingAction", "Missing Action")
        if action != "GetCallerIdentity":
            raise StsError(
                400, "InvalidAction", f"Could not find operation {action} for version {STS_API_VERSION}"
            )
        version = params.get("Version", STS_API_VERSION)
        if version != STS_API_VERSION:
            raise StsError(400, "InvalidAction", f"Could not find operation {action} for version {version}")
        return identity.caller_identity()

    def resolve_token(
        self, token: str, cluster_name: str, *, max_age: dt.timedelta | None = None
    ) -> CallerIdentity:
        """Validate an EKS bearer token for ``cluster_name`` and return its caller.

        Applies aws-iam-authenticator's format checks (spec §10.2: prefix, unpadded
        base64url, https URL on this STS endpoint, allow-listed query keys, signed
        ``x-k8s-aws-id``, ``X-Amz-Date`` within 15 minutes, or within ``max_age``
        when given), then performs the presigned GET in-process with
        ``x-k8s-aws-id: cluster_name``.

        Raises:
            TokenError: the token is malformed, expired, for another cluster or for an unknown key.
        """
        decoded = decode_eks_token(
            token,
            trusted=self.endpoints,
            now=self._clock(),
            lifetime=max_age if max_age is not None else PRESIGNED_URL_LIFETIME,
        )
        parts = urlsplit(decoded.url)
        self.request_count += 1
        try:
            return self.get_caller_identity(
                SignedRequest(
                    method="GET",
                    raw_path=parts.path,
                    query_string=parts.query,
                    headers={
                        "host": [host_header(decoded.url)],
                        CLUSTER_ID_HEADER: [cluster_name],
                        "accept": ["application/json"],
                    },
                )
            )
        except StsError as error:
            # The authenticator reports STS's answer without the token or its URL.
            raise TokenError(f"sts getCallerIdentity failed: {error.status} {error.code}") from None


def _wants_json(accept: str) -> bool:
    return "application/json" in accept.lower()


def _error_response(error: StsError, as_json: bool) -> web.Response:
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id}
    if as_json:
        document = {
            "Error": {"Code": error.code, "Message": error.message, "Type": error.fault_type},
            "RequestId": request_id,
        }
        return web.Response(
            status=error.status, text=json.dumps(document), content_type="application/json", headers=headers
        )
    text = (
        f'<ErrorResponse xmlns="{STS_XMLNS}">\n'
        "  <Error>\n"
        f"    <Type>{error.fault_type}</Type>\n"
        f"    <Code>{escape(error.code)}</Code>\n"
        f"    <Message>{escape(error.message)}</Message>\n"
        "  </Error>\n"
        f"  <RequestId>{request_id}</RequestId>\n"
        "</ErrorResponse>\n"
    )
    return web.Response(status=error.status, text=text, content_type="text/xml", headers=headers)
