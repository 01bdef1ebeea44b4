"""The one mapping from botocore / aiohttp / lean-client errors to AWS error names and causes."""

from __future__ import annotations

import errno
import ssl

import aiohttp
import orjson
import pytest
from botocore import exceptions as botoexc

from engine.errors import StatesError, TaskFailed
from executors.eks.create import broken_after_sending
from executors.eks.errors import (
    TransientEksError,
    connection_failed,
    eks_api_errors,
    kube_connection_errors,
    kube_http_error,
    task_failed,
)
from executors.eks.http1 import (
    LeanClosedError,
    LeanConnectError,
    LeanHttpError,
    LeanPoolClosed,
    LeanProtocolError,
    LeanTimeout,
    LeanTLSError,
)


def client_error(code: str, message: str, status: int, request_id: str = "req-1") -> botoexc.ClientError:
    return botoexc.ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": request_id},
        },
        "DeleteCluster",
    )


def test_an_eks_exception_becomes_eks_dot_its_name_with_the_aws_message_in_the_cause() -> None:
    exc = client_error("ResourceInUseException", "Cluster has nodegroups attached", 409, "abc-123")
    with pytest.raises(StatesError) as info, eks_api_errors():
        raise exc
    err = info.value
    assert err.error == "EKS.ResourceInUseException"
    assert err.cause == (
        "Cluster has nodegroups attached (Service: AmazonEKS; Status Code: 409; "
        "Error Code: ResourceInUseException; Request ID: abc-123; Proxy: null)"
    )
    assert err.__cause__ is exc
    assert not isinstance(err, TransientEksError)


@pytest.mark.parametrize(
    ("code", "status"),
    [("ServiceUnavailableException", 503), ("ServerException", 500), ("ThrottlingException", 400)],
)
def test_throttling_and_server_errors_are_transient_but_keep_their_aws_name(code: str, status: int) -> None:
    with pytest.raises(TransientEksError) as info, eks_api_errors():
        raise client_error(code, "later", status)
    assert info.value.error == f"EKS.{code}"


def test_not_found_is_a_permanent_error() -> None:
    with pytest.raises(StatesError) as info, eks_api_errors():
        raise client_error("ResourceNotFoundException", "No cluster found for name: x.", 404)
    assert info.value.error == "EKS.ResourceNotFoundException"
    assert not isinstance(info.value, TransientEksError)


def test_an_unreachable_endpoint_is_a_transient_task_failure() -> None:
    with pytest.raises(TransientEksError) as info, eks_api_errors():
        raise botoexc.EndpointConnectionError(endpoint_url="https://eks.example")
    assert info.value.error == "States.TaskFailed"
    assert "Unable to reach the EKS endpoint" in (info.value.cause or "")


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (botoexc.NoCredentialsError(), "credentials"),
        (botoexc.NoRegionError(), "AWS_REGION"),
        (botoexc.ParamValidationError(report="bad"), "Invalid EKS request"),
    ],
)
def test_configuration_problems_are_task_failures_with_a_clear_cause(exc: Exception, text: str) -> None:
    with pytest.raises(TaskFailed) as info, eks_api_errors():
        raise exc
    assert info.value.error == "States.TaskFailed"
    assert text in (info.value.cause or "")


def test_a_states_error_passes_through_the_mapping_unchanged() -> None:
    original = StatesError("EKS.404", "x")
    with pytest.raises(StatesError) as info, eks_api_errors():
        raise original
    assert info.value is original


def test_other_exceptions_are_not_swallowed() -> None:
    with pytest.raises(KeyError), eks_api_errors():
        raise KeyError("x")


def test_kube_http_error_cause_is_the_documented_401_shape() -> None:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    err = kube_http_error(401, "Unauthorized", body)
    assert err.error == "EKS.401"
    assert err.cause is not None
    assert orjson.loads(err.cause) == {"ResponseBody": body, "StatusCode": 401, "StatusText": "Unauthorized"}
    assert list(orjson.loads(err.cause)) == ["ResponseBody", "StatusCode", "StatusText"]
    assert not isinstance(err, TransientEksError)


def test_kube_http_error_keeps_a_text_body_as_a_string_and_marks_5xx_transient() -> None:
    err = kube_http_error(503, "Service Unavailable", "upstream down")
    assert err.error == "EKS.503"
    assert isinstance(err, TransientEksError)
    assert orjson.loads(err.cause or "")["ResponseBody"] == "upstream down"


def test_task_failed_serializes_the_object_as_the_cause() -> None:
    err = task_failed({"Status": "CREATE_FAILED", "NodegroupName": "ng"})
    assert err.error == "States.TaskFailed"
    assert orjson.loads(err.cause or "") == {"Status": "CREATE_FAILED", "NodegroupName": "ng"}


async def test_kube_connection_errors_map_refused_connections_to_a_transient_task_failure() -> None:
    with pytest.raises(TransientEksError) as info, kube_connection_errors("the Kubernetes API server"):
        raise aiohttp.ServerDisconnectedError()
    assert info.value.error == "States.TaskFailed"
    assert info.value.cause == "Unable to connect to the Kubernetes API server: ServerDisconnectedError"


def test_a_tls_failure_is_a_permanent_task_failure() -> None:
    from aiohttp.client_reqrep import ConnectionKey

    key = ConnectionKey("h", 443, True, True, None, None, None)
    err = connection_failed(aiohttp.ClientConnectorCertificateError(key, ValueError("bad cert")), "the API")
    assert isinstance(err, TaskFailed) and not isinstance(err, TransientEksError)
    assert "TLS verification failed for the API" in (err.cause or "")


API = "the Kubernetes API server at https://127.0.0.1:1"
HINT = (
    "The EKS integration reaches only clusters whose API server endpoint has public access "
    "(resourcesVpcConfig.endpointPublicAccess)."
)


@pytest.mark.parametrize(
    ("exc", "transient", "cause"),
    [
        (LeanConnectError("refused", errno.ECONNREFUSED), True, f"Unable to connect to {API}: ClientOSError. {HINT}"),
        (LeanConnectError("no such host", -2), True, f"Unable to connect to {API}: ClientOSError"),
        (LeanTLSError("bad cert", verification=True), False, f"TLS verification failed for {API}: ClientConnectorCertificateError"),
        (LeanTLSError("handshake", verification=False), False, f"TLS verification failed for {API}: ClientSSLError"),
        (LeanClosedError("hung up"), True, f"Unable to connect to {API}: ServerDisconnectedError"),
        (LeanClosedError("reset", ConnectionResetError(errno.ECONNRESET, "reset")), True, f"Unable to connect to {API}: ClientOSError"),
        (LeanTimeout("slow"), True, f"Unable to connect to {API}: TimeoutError"),
        (LeanProtocolError("bad"), True, f"Unable to connect to {API}: ClientPayloadError"),
        (LeanPoolClosed("closed"), True, f"Unable to connect to {API}: ClientConnectionError"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)  # fmt: skip
def test_a_lean_client_failure_maps_to_the_same_task_failure_as_before(
    exc: LeanHttpError, transient: bool, cause: str
) -> None:
    # The causes the read path has always produced (the lean client once raised aiohttp's types).
    with pytest.raises(StatesError) as info, kube_connection_errors(API):
        raise exc
    assert info.value.error == "States.TaskFailed"
    assert isinstance(info.value, TransientEksError) is transient
    assert info.value.cause == cause
    assert info.value.__cause__ is exc


def test_the_lean_and_aiohttp_tls_failures_read_alike() -> None:
    from aiohttp.client_reqrep import ConnectionKey

    key = ConnectionKey("h", 443, True, True, None, None, None)
    verification = ssl.SSLCertVerificationError("certificate verify failed")
    via_aiohttp = connection_failed(aiohttp.ClientConnectorCertificateError(key, verification), API)
    via_lean = connection_failed(LeanTLSError("certificate verify failed", verification=True), API)
    assert (via_lean.error, via_lean.cause, type(via_lean)) == (via_aiohttp.error, via_aiohttp.cause, type(via_aiohttp))


@pytest.mark.parametrize(
    ("exc", "broken"),
    [
        (LeanClosedError("hung up"), True),
        (LeanTimeout("slow"), True),
        (LeanConnectError("refused", errno.ECONNREFUSED), True),
        (LeanProtocolError("bad"), True),
        (LeanTLSError("bad cert", verification=True), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
def test_a_job_creation_reads_a_failed_lean_read_back_as_a_broken_connection_but_not_a_tls_failure(
    exc: LeanHttpError, broken: bool
) -> None:
    # create_job reads a Job back over the lean client when an earlier create may have landed;
    # a broken read is tried again, a TLS failure is not.
    error = connection_failed(exc, API)
    error.__cause__ = exc
    assert broken_after_sending(error) is broken
