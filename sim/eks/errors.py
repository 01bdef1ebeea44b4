"""EKS's error answers: the HTTP status, the ``x-amzn-ErrorType`` code botocore reads, the JSON body.

Every refusal of the EKS simulator is an :class:`EksError`, raised where the
rule is checked and turned into a response by the server's middleware. EKS
puts the names of the resources involved beside ``message`` in the body
(``clusterName``, ``nodegroupName``, ``fargateProfileName``), so the error
carries them as ``fields``.

Codes used: ``InvalidParameterException`` and ``InvalidRequestException``
(400), ``ResourceNotFoundException`` (404), ``ResourceInUseException`` (409),
``AccessDeniedException`` and the SigV4 codes (403), ``SerializationException``
(400), ``UnknownOperationException`` (404/405), and the injected
``TooManyRequestsException`` (429), ``ServerException`` (500) and
``ServiceUnavailableException`` (503).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Final

from aiohttp import web

from sim.aws.sigv4 import SigV4Problem


class EksError(Exception):
    """An EKS error answer: HTTP status, ``x-amzn-ErrorType`` code, message and resource fields."""

    def __init__(self, status: int, code: str, message: str, **fields: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def response(self) -> web.Response:
        """The HTTP answer botocore parses into ``ClientError`` with this code."""
        request_id = str(uuid.uuid4())
        body = {"message": self.message, **self.fields}
        return web.Response(
            status=self.status,
            text=json.dumps(body),
            content_type="application/json",
            headers={"x-amzn-ErrorType": self.code, "x-amzn-RequestId": request_id},
        )


def invalid_parameter(message: str, **fields: str) -> EksError:
    """A request member is missing, of the wrong type or out of range."""
    return EksError(400, "InvalidParameterException", message, **fields)


def invalid_request(message: str, **fields: str) -> EksError:
    """The request is well-formed but not allowed in the resource's current state."""
    return EksError(400, "InvalidRequestException", message, **fields)


def in_use(message: str, **fields: str) -> EksError:
    """A name is taken, or a resource is busy or still has dependents."""
    return EksError(409, "ResourceInUseException", message, **fields)


def not_found(message: str, **fields: str) -> EksError:
    """No resource of that name."""
    return EksError(404, "ResourceNotFoundException", message, **fields)


SIGV4_ERRORS: Final[Mapping[SigV4Problem, tuple[int, str]]] = {
    SigV4Problem.MISSING: (403, "MissingAuthenticationTokenException"),
    SigV4Problem.MALFORMED: (403, "IncompleteSignatureException"),
    SigV4Problem.BAD_SIGNATURE: (403, "InvalidSignatureException"),
    SigV4Problem.EXPIRED: (403, "InvalidSignatureException"),
}
"""Why SigV4 refused a request → EKS's status and code."""
