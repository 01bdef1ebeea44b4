"""SigV4 parsing, verification and presigning, checked against botocore's signer."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from multidict import CIMultiDict

from sim.aws import sigv4
from sim.aws.times import format_amz_date

NOW = dt.datetime(2026, 11, 25, 5, 14, 29, tzinfo=dt.UTC)
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def headers_of(request: AWSRequest) -> dict[str, list[str]]:
    return {name.lower(): [value] for name, value in request.headers.items()}


def test_a_header_signed_botocore_request_verifies_and_a_changed_body_does_not() -> None:
    request = AWSRequest(
        method="POST",
        url="https://127.0.0.1:8443/clusters?maxResults=5",
        data=b'{"name": "c1"}',
        headers={"Content-Type": "application/json", "Host": "127.0.0.1:8443"},
    )
    SigV4Auth(CREDS, "eks", "us-east-1").add_auth(request)
    headers = headers_of(request)
    info = sigv4.parse_authorization_header(headers["authorization"][0], headers["x-amz-date"][0])
    assert (info.access_key_id, info.region, info.service) == ("AKIDEXAMPLE", "us-east-1", "eks")

    arguments = dict(
        secret_access_key=CREDS.secret_key,
        info=info,
        method="POST",
        raw_path="/clusters",
        query_pairs=[("maxResults", "5")],
        headers=headers,
    )
    sigv4.verify_signature(body=b'{"name": "c1"}', **arguments)
    with pytest.raises(sigv4.SigV4Error) as caught:
        sigv4.verify_signature(body=b'{"name": "c2"}', **arguments)
    assert caught.value.problem is sigv4.SigV4Problem.BAD_SIGNATURE


def test_our_presigned_url_is_byte_for_byte_what_botocore_presigns() -> None:
    ours = sigv4.presign_url(
        url="https://127.0.0.1:8443/?Action=GetCallerIdentity&Version=2011-06-15",
        access_key_id=CREDS.access_key,
        secret_access_key=CREDS.secret_key,
        region="us-west-2",
        service="sts",
        headers={"x-k8s-aws-id": "demo"},
        expires=60,
        now=NOW,
    )
    request = AWSRequest(
        method="GET",
        url="https://127.0.0.1:8443/",
        params={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
        headers={"x-k8s-aws-id": "demo"},
    )
    request.context["timestamp"] = format_amz_date(NOW)
    signer = SigV4QueryAuth(CREDS, "sts", "us-west-2", expires=60)
    signer._modify_request_before_signing(request)
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    signature = signer.signature(string_to_sign, request)

    query = dict(parse_qsl(urlsplit(ours).query))
    assert query["X-Amz-Signature"] == signature
    assert query["X-Amz-SignedHeaders"] == "host;x-k8s-aws-id"
    assert query["X-Amz-Credential"] == "AKIDEXAMPLE/20261125/us-west-2/sts/aws4_request"


def test_malformed_authorization_headers_are_reported_as_malformed() -> None:
    for header in ("Bearer abc", "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request", "AWS4-HMAC-SHA256 x=y"):
        with pytest.raises(sigv4.SigV4Error) as caught:
            sigv4.parse_authorization_header(header, "20261125T051429Z")
        assert caught.value.problem is sigv4.SigV4Problem.MALFORMED
    with pytest.raises(sigv4.SigV4Error, match="Credential must have the form"):
        sigv4.parse_authorization_header(
            "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1, SignedHeaders=host, Signature=ab",
            "20261125T051429Z",
        )


def test_a_presigned_url_is_accepted_for_fifteen_minutes_after_its_date() -> None:
    info = sigv4.parse_presigned_query(
        {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": "AKID/20261125/us-east-1/sts/aws4_request",
            "X-Amz-Date": "20261125T051429Z",
            "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
            "X-Amz-Signature": "00",
            "X-Amz-Expires": "60",
        }
    )
    sigv4.check_signing_time(info, NOW + dt.timedelta(minutes=14, seconds=59))
    with pytest.raises(sigv4.SigV4Error, match="Signature expired") as caught:
        sigv4.check_signing_time(info, NOW + dt.timedelta(minutes=15, seconds=1))
    assert caught.value.problem is sigv4.SigV4Problem.EXPIRED


async def test_a_server_request_is_read_with_lower_case_repeated_headers_and_the_path_without_query() -> None:
    class Request:
        method = "POST"
        raw_path = "/clusters/a%20b?maxResults=5"
        query_string = "maxResults=5"
        headers = CIMultiDict([("X-Amz-Date", "20261125T051429Z"), ("X-Custom", "a"), ("x-custom", "b")])

        async def read(self) -> bytes:
            return b"{}"

    signed = await sigv4.SignedRequest.read(Request())

    assert signed.raw_path == "/clusters/a%20b"
    assert signed.headers == {"x-amz-date": ["20261125T051429Z"], "x-custom": ["a", "b"]}
    assert signed.query_pairs() == [("maxResults", "5")]
    assert signed.body == b"{}"
