"""The EKS bearer token: minted as ``aws eks get-token`` does, refused as aws-iam-authenticator refuses."""

from __future__ import annotations

import base64
import datetime as dt
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.aws.sigv4 import verify_signature
from sim.aws.token import (
    MAX_TOKEN_BYTES,
    TOKEN_PREFIX,
    StsEndpoints,
    TokenError,
    decode_eks_token,
    make_eks_token,
)

NOW = dt.datetime(2026, 11, 25, 5, 14, 29, tzinfo=dt.UTC)
STS = "https://127.0.0.1:8443"
TRUSTED = StsEndpoints.of_url(STS)
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def mint(
    cluster: str = "demo", *, sts_url: str = STS, now: dt.datetime = NOW, key: str = "AKIDEXAMPLE"
) -> str:
    return make_eks_token(
        sts_url=sts_url,
        cluster_name=cluster,
        access_key_id=key,
        secret_access_key=SECRET,
        region="us-east-1",
        now=now,
    )


def token_of(url: str) -> str:
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def url_of(token: str) -> str:
    body = token[len(TOKEN_PREFIX) :]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def presigned_query(**changes: str) -> str:
    query = {
        "Action": "GetCallerIdentity",
        "Version": "2011-06-15",
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": "AKIA1/20261125/us-east-1/sts/aws4_request",
        "X-Amz-Date": "20261125T051429Z",
        "X-Amz-Expires": "60",
        "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
        "X-Amz-Signature": "0" * 64,
    }
    query.update(changes)
    return urlencode({k: v for k, v in query.items() if v})


def test_eks_tokens_are_unpadded_base64url_with_the_cluster_header_signed() -> None:
    token = mint()

    decoded = decode_eks_token(token, trusted=TRUSTED, now=NOW)

    assert token.startswith("k8s-aws-v1.") and "=" not in token
    assert decoded.query["Action"] == "GetCallerIdentity"
    assert decoded.info.signed_headers == ("host", "x-k8s-aws-id")
    assert decoded.host == "127.0.0.1:8443"
    assert decoded.expires_at == NOW + dt.timedelta(minutes=15)
    again = token_of(decoded.url + "&action=GetCallerIdentity")
    with pytest.raises(TokenError, match="repeated"):
        decode_eks_token(again, trusted=TRUSTED, now=NOW)


def test_a_token_is_accepted_until_fifteen_minutes_after_signing_or_a_shorter_lifetime() -> None:
    token = mint()

    decode_eks_token(token, trusted=TRUSTED, now=NOW + dt.timedelta(minutes=15))
    with pytest.raises(TokenError, match="expired"):
        decode_eks_token(token, trusted=TRUSTED, now=NOW + dt.timedelta(minutes=15, seconds=1))
    with pytest.raises(TokenError, match="expired"):
        decode_eks_token(
            token, trusted=TRUSTED, now=NOW + dt.timedelta(seconds=31), lifetime=dt.timedelta(seconds=30)
        )


def test_a_padded_token_is_refused_as_go_raw_url_encoding_refuses_it() -> None:
    """aws-iam-authenticator decodes with ``base64.RawURLEncoding``, which has no padding character."""
    token = mint()
    body_length = len(token) - len(TOKEN_PREFIX)
    padded = token + "=" * (-body_length % 4 or 4)

    with pytest.raises(TokenError, match="unpadded"):
        decode_eks_token(padded, trusted=TRUSTED, now=NOW)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (f"https://evil.example.com/?{presigned_query()}", "not a trusted STS endpoint"),
        (f"ftp://127.0.0.1:8443/?{presigned_query()}", "scheme"),
        (f"http://127.0.0.1:8443/?{presigned_query()}", "scheme"),
        (f"https://127.0.0.1:8443/path?{presigned_query()}", "path"),
        (f"https://127.0.0.1:8443/?{presigned_query(Action='AssumeRole')}", "action"),
        (f"https://127.0.0.1:8443/?{presigned_query()}&Foo=1", "non-allowlisted"),
        (f"https://127.0.0.1:8443/?{presigned_query(**{'X-Amz-SignedHeaders': 'host'})}", "x-k8s-aws-id"),
        (f"https://127.0.0.1:8443/?{presigned_query()}&action=GetCallerIdentity", "repeated"),
        (f"https://127.0.0.1:8443/?{presigned_query(**{'X-Amz-Expires': '901'})}", "X-Amz-Expires"),
        (f"https://127.0.0.1:8443/?{presigned_query(**{'X-Amz-Expires': ' 60'})}", "X-Amz-Expires"),
        (f"https://127.0.0.1:8443/?{presigned_query(**{'X-Amz-Date': '2026112T051429Z'})}", "X-Amz-Date"),
        (f"https://127.0.0.1:8443/?{presigned_query(**{'X-Amz-Date': ''})}", "X-Amz-Date"),
    ],
)
def test_tokens_aws_iam_authenticator_would_refuse_are_refused(url: str, problem: str) -> None:
    with pytest.raises(TokenError, match=problem):
        decode_eks_token(token_of(url), trusted=TRUSTED, now=NOW)


def test_tokens_without_the_prefix_or_too_large_are_refused() -> None:
    with pytest.raises(TokenError, match="prefix"):
        decode_eks_token("abc", trusted=TRUSTED, now=NOW)
    with pytest.raises(TokenError, match="too large"):
        decode_eks_token(TOKEN_PREFIX + "A" * MAX_TOKEN_BYTES, trusted=TRUSTED, now=NOW)
    standard_alphabet = TOKEN_PREFIX + base64.b64encode(url_of(mint()).encode()).decode().rstrip("=")
    assert "+" in standard_alphabet or "/" in standard_alphabet
    with pytest.raises(TokenError, match="base64url"):
        decode_eks_token(standard_alphabet, trusted=TRUSTED, now=NOW)


def test_a_standalone_cluster_trusts_aws_sts_hosts_and_any_loopback_port() -> None:
    standalone = StsEndpoints.standalone()
    for url in ("https://sts.amazonaws.com", "https://sts.eu-west-1.amazonaws.com", "http://127.0.0.1:1"):
        decode_eks_token(mint(sts_url=url), trusted=standalone, now=NOW)
    for url in ("http://sts.amazonaws.com", "https://sts.amazonaws.com:8443", "https://sts.example.com"):
        with pytest.raises(TokenError):
            decode_eks_token(mint(sts_url=url), trusted=standalone, now=NOW)


def test_the_host_is_matched_without_user_info_as_go_url_host_is() -> None:
    url = url_of(mint()).replace("https://", "https://someone@")

    decoded = decode_eks_token(token_of(url), trusted=TRUSTED, now=NOW)

    assert decoded.host == "127.0.0.1:8443"


# -- properties ----------------------------------------------------------------------------------

CLUSTER_NAMES = st.from_regex(r"\A[0-9A-Za-z][A-Za-z0-9_-]{0,99}\Z")
ACCESS_KEYS = st.from_regex(r"\AAKIA[A-Z0-9]{16}\Z")
MOMENTS = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31), timezones=st.just(dt.UTC)
)
AGES = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(minutes=15))


@given(cluster=CLUSTER_NAMES, key=ACCESS_KEYS, signed_at=MOMENTS, age=AGES)
def test_every_minted_token_decodes_to_its_signer_and_verifies_for_its_own_cluster_only(
    cluster: str, key: str, signed_at: dt.datetime, age: dt.timedelta
) -> None:
    signed_at = signed_at.replace(microsecond=0)
    token = mint(cluster, key=key, now=signed_at)

    decoded = decode_eks_token(token, trusted=TRUSTED, now=signed_at + age)

    assert decoded.info.access_key_id == key
    assert decoded.expires_at == signed_at + dt.timedelta(minutes=15)
    parts = urlsplit(decoded.url)

    def verify(name: str) -> None:
        verify_signature(
            secret_access_key=SECRET,
            info=decoded.info,
            method="GET",
            raw_path=parts.path,
            query_pairs=parse_qsl(parts.query, keep_blank_values=True),
            headers={"host": [decoded.host], "x-k8s-aws-id": [name]},
            body=b"",
        )

    verify(cluster)
    with pytest.raises(Exception, match="signature"):
        verify(cluster + "x")


@given(
    signed_at=MOMENTS,
    late=st.timedeltas(min_value=dt.timedelta(microseconds=1), max_value=dt.timedelta(days=9000)),
)
def test_a_token_past_its_lifetime_is_always_expired(signed_at: dt.datetime, late: dt.timedelta) -> None:
    signed_at = signed_at.replace(microsecond=0)
    token = mint(now=signed_at)

    with pytest.raises(TokenError, match="expired"):
        decode_eks_token(token, trusted=TRUSTED, now=signed_at + dt.timedelta(minutes=15) + late)


@given(text=st.text(max_size=300))
def test_any_string_is_decoded_or_refused_with_a_token_error(text: str) -> None:
    for candidate in (text, TOKEN_PREFIX + text):
        try:
            decode_eks_token(candidate, trusted=StsEndpoints.standalone(), now=NOW)
        except TokenError as exc:
            assert text not in str(exc) or len(text) < 4


@given(data=st.binary(max_size=600))
def test_any_base64url_payload_is_decoded_or_refused_with_a_token_error(data: bytes) -> None:
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("=")
    try:
        decode_eks_token(token, trusted=StsEndpoints.standalone(), now=NOW)
    except TokenError:
        pass
    else:
        raise AssertionError("random bytes were accepted as a presigned URL")


@given(
    key=st.sampled_from(["Action", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Credential"]),
    value=st.text(alphabet=st.characters(codec="ascii"), max_size=30),
)
def test_a_changed_query_value_is_accepted_only_when_it_is_still_valid(key: str, value: str) -> None:
    url = url_of(mint())
    parts = urlsplit(url)
    pairs = [(k, value if k == key else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    changed = token_of(f"{parts.scheme}://{parts.netloc}/?{urlencode(pairs)}")

    try:
        decoded = decode_eks_token(changed, trusted=TRUSTED, now=NOW)
    except TokenError:
        return
    assert decoded.query[key] == value
    assert decoded.query["Action"] == "GetCallerIdentity"
    assert "x-k8s-aws-id" in decoded.query["X-Amz-SignedHeaders"].lower().split(";")
    assert 0 <= int(decoded.query["X-Amz-Expires"]) <= 900
    assert decoded.expires_at >= NOW


@given(position=st.integers(min_value=0), character=st.sampled_from("=+/.!~ \t%"))
def test_a_character_outside_unpadded_base64url_is_always_refused(position: int, character: str) -> None:
    token = mint()
    body = token[len(TOKEN_PREFIX) :]
    at = position % (len(body) + 1)

    with pytest.raises(TokenError, match="base64url"):
        decode_eks_token(TOKEN_PREFIX + body[:at] + character + body[at:], trusted=TRUSTED, now=NOW)
