"""Foreign errors → AWS error names and cause shapes, in one place.

Every EKS executor reaches the outside world through botocore (the EKS
control plane) or, for the Kubernetes API, aiohttp and the lean read client
(``http1``, its own ``LeanHttpError`` tree). Their exceptions stop here and
become ``engine.StatesError`` with the name and cause Step Functions uses, so
Retry and Catch match them exactly as on AWS:

* an EKS API exception → ``EKS.<ExceptionName>`` (``EKS.ResourceInUseException``)
  with the Java-SDK style cause Step Functions' other optimized integrations show;
* a Kubernetes answer that is not 2xx → ``EKS.<status>`` with the JSON cause
  ``{"ResponseBody", "StatusCode", "StatusText"}`` (spec §5.3);
* a connection or TLS failure → ``States.TaskFailed`` with a text cause naming
  the failure (the same words for a read on the lean client as for aiohttp);
* a ``.sync`` resource or Job that ended in a failure status →
  ``States.TaskFailed`` with the object as JSON cause (spec §6).

Errors worth another poll (throttling, 5xx, dropped connections) are raised as
``TransientEksError``, a ``StatesError`` with the same name, so a poller can
tell them apart while Retry/Catch still see the plain AWS name.

Causes never carry a token, a presigned URL or a secret key: botocore's
messages do not contain them, and connection errors are reduced to their
class name and host.
"""

from __future__ import annotations

import contextlib
import errno
import logging
from collections.abc import Iterator
from typing import Final

import aiohttp
from botocore import exceptions as botoexc

from engine.errors import StatesError, TaskFailed
from engine.jsonvalue import JSON, dumps_str
from executors.eks.http1 import (
    LeanClosedError,
    LeanConnectError,
    LeanHttpError,
    LeanPoolClosed,
    LeanProtocolError,
    LeanTimeout,
    LeanTLSError,
)

log = logging.getLogger(__name__)

EKS_ERROR_PREFIX: Final = "EKS."
TRANSIENT_HTTP_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
TRANSIENT_EKS_CODES: Final = frozenset(
    {
        "ServerException",
        "ServiceUnavailableException",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "Throttling",
    }
)


class TransientEksError(StatesError):
    """An EKS or Kubernetes failure that may pass if tried again later.

    It carries the same ``error`` name as its permanent twin, so Retry and
    Catch are unaffected; only pollers look at the class.
    """


def _java_style_cause(message: str, status: int | None, code: str, request_id: str | None) -> str:
    # UNCONFIRMED (spec §6): Step Functions' SDK-based integrations format AWS
    # exceptions the way the AWS Java SDK prints them; we follow that shape.
    return (
        f"{message} (Service: AmazonEKS; Status Code: {status if status is not None else 'null'}; "
        f"Error Code: {code}; Request ID: {request_id or 'null'}; Proxy: null)"
    )


def eks_error_from_client_error(exc: botoexc.ClientError) -> StatesError:
    """Translate one botocore ``ClientError`` from the EKS API.

    Args:
        exc: the error botocore raised.

    Returns:
        ``EKS.<Code>`` with AWS's message in the cause; a ``TransientEksError``
        for throttling and server-side failures.
    """
    error = exc.response.get("Error", {}) if isinstance(exc.response, dict) else {}
    meta = exc.response.get("ResponseMetadata", {}) if isinstance(exc.response, dict) else {}
    code = str(error.get("Code") or "UnknownError")
    message = str(error.get("Message") or error.get("message") or code)
    status = meta.get("HTTPStatusCode")
    cause = _java_style_cause(message, status, code, meta.get("RequestId"))
    cls = (
        TransientEksError
        if code in TRANSIENT_EKS_CODES or (isinstance(status, int) and status in TRANSIENT_HTTP_STATUSES)
        else StatesError
    )
    return cls(EKS_ERROR_PREFIX + code, cause)


@contextlib.contextmanager
def eks_api_errors() -> Iterator[None]:
    """Map botocore exceptions raised inside the block to ``StatesError``.

    * ``ClientError`` → ``EKS.<Code>`` (transient for throttling and 5xx);
    * endpoint, connection and read-timeout errors → transient ``States.TaskFailed``;
    * missing credentials or region → ``States.TaskFailed`` saying what is missing;
    * a request botocore refuses to build → ``States.TaskFailed`` with its message.

    ``StatesError`` raised inside passes through unchanged.
    """
    try:
        yield
    except StatesError:
        raise
    except botoexc.ClientError as exc:
        raise eks_error_from_client_error(exc) from exc
    except (botoexc.EndpointConnectionError, botoexc.ConnectionClosedError) as exc:
        # The endpoint URL (no credentials in it) says which endpoint is down.
        where = exc.kwargs.get("endpoint_url")
        raise TransientEksError(
            None, f"Unable to reach the EKS endpoint{f' {where}' if where else ''}: {exc.__class__.__name__}"
        ) from exc
    except (botoexc.ConnectTimeoutError, botoexc.ReadTimeoutError) as exc:
        raise TransientEksError(None, f"The EKS endpoint timed out: {exc.__class__.__name__}") from exc
    except botoexc.SSLError as exc:
        raise TaskFailed(None, "TLS verification of the EKS endpoint failed") from exc
    except botoexc.NoCredentialsError as exc:
        raise TaskFailed(None, "Unable to locate AWS credentials for the EKS call") from exc
    except botoexc.NoRegionError as exc:
        raise TaskFailed(None, "No AWS Region is configured (set AWS_REGION) for the EKS call") from exc
    except botoexc.ParamValidationError as exc:
        raise TaskFailed(None, f"Invalid EKS request: {exc}") from exc
    except botoexc.BotoCoreError as exc:
        raise TaskFailed(None, f"EKS call failed: {exc.__class__.__name__}") from exc


def kube_http_error(status: int, status_text: str, body: JSON | str) -> StatesError:
    """The task error for a Kubernetes answer that is not 2xx (spec §5.3).

    Args:
        status: the HTTP status code, e.g. 401.
        status_text: the reason phrase, e.g. ``Unauthorized``.
        body: the parsed JSON body (usually a Kubernetes ``Status``), or the raw text.

    Returns:
        ``EKS.<status>`` whose cause is the compact JSON text of
        ``{"ResponseBody": body, "StatusCode": status, "StatusText": status_text}``;
        a ``TransientEksError`` for 429 and 5xx.
    """
    cause = dumps_str({"ResponseBody": body, "StatusCode": status, "StatusText": status_text})
    cls = TransientEksError if status in TRANSIENT_HTTP_STATUSES else StatesError
    return cls(f"{EKS_ERROR_PREFIX}{status}", cause)


def task_failed(obj: JSON) -> StatesError:
    """``States.TaskFailed`` with ``obj`` serialized as the JSON cause (spec §6).

    Args:
        obj: the last described resource or the final Job object.
    """
    return TaskFailed(None, dumps_str(obj))


def connection_failed(exc: BaseException, what: str) -> StatesError:
    """``States.TaskFailed`` for a connection or TLS failure (spec §5.3, UNCONFIRMED naming).

    Args:
        exc: the transport exception.
        what: where the connection went, e.g. ``the Kubernetes API server at https://…``
            (an endpoint, never a URL with credentials).

    Returns:
        A transient error for refused/reset/timed-out connections, a permanent
        one for TLS verification failures.
    """
    if isinstance(exc, LeanHttpError):
        return _lean_connection_failed(exc, what)
    if isinstance(exc, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch):
        return TaskFailed(None, f"TLS verification failed for {what}: {exc.__class__.__name__}")
    if isinstance(exc, aiohttp.ClientConnectorError) or (
        isinstance(exc, aiohttp.ClientOSError) and exc.errno in _UNREACHABLE_ERRNOS
    ):
        # The usual reason on EKS: a private-only endpoint (spec §2.4, §5.3), unreachable from outside the VPC.
        return TransientEksError(
            None, f"Unable to connect to {what}: {exc.__class__.__name__}. {PUBLIC_ENDPOINT_HINT}"
        )
    return TransientEksError(None, f"Unable to connect to {what}: {exc.__class__.__name__}")


_UNREACHABLE_ERRNOS: Final = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT})
PUBLIC_ENDPOINT_HINT: Final = (
    "The EKS integration reaches only clusters whose API server endpoint has public access "
    "(resourcesVpcConfig.endpointPublicAccess)."
)


def _lean_cause_name(exc: LeanHttpError) -> str:
    """The failure's name in a cause: the one these failures have always carried on the read path.

    The lean client used to raise aiohttp's types; a cause names the same kind of
    failure in the same words still, so what users match in a cause does not change.
    """
    if isinstance(exc, LeanTLSError):
        return "ClientConnectorCertificateError" if exc.verification else "ClientSSLError"
    if isinstance(exc, LeanClosedError):
        return "ServerDisconnectedError" if exc.os_error is None else "ClientOSError"
    if isinstance(exc, LeanTimeout):
        return "TimeoutError"
    if isinstance(exc, LeanProtocolError):
        return "ClientPayloadError"
    if isinstance(exc, LeanPoolClosed):
        return "ClientConnectionError"
    return "ClientOSError"  # LeanConnectError: the OS refused or could not route the connection


def _lean_connection_failed(exc: LeanHttpError, what: str) -> StatesError:
    name = _lean_cause_name(exc)
    if isinstance(exc, LeanTLSError):
        return TaskFailed(None, f"TLS verification failed for {what}: {name}")
    if isinstance(exc, LeanConnectError) and exc.errno in _UNREACHABLE_ERRNOS:
        return TransientEksError(None, f"Unable to connect to {what}: {name}. {PUBLIC_ENDPOINT_HINT}")
    return TransientEksError(None, f"Unable to connect to {what}: {name}")


TRANSPORT_ERRORS: Final = (
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    TimeoutError,
    LeanHttpError,
)
"""The transport failures ``kube_connection_errors`` (and ``KubeClient``'s send loop) map."""


@contextlib.contextmanager
def kube_connection_errors(what: str) -> Iterator[None]:
    """Map aiohttp connection and timeout errors inside the block to ``StatesError``.

    HTTP status handling is the caller's (it has the body); this only covers
    the transport: ``aiohttp.ClientConnectionError``, ``TimeoutError``, payload
    errors and the lean client's ``LeanHttpError``. ``StatesError`` passes through unchanged.

    Args:
        what: a description of the peer for the cause, e.g. ``the Kubernetes API server``.
    """
    try:
        yield
    except StatesError:
        raise
    except TRANSPORT_ERRORS as exc:
        raise connection_failed(exc, what) from exc
