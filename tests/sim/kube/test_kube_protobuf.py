"""Decoding kubectl's protobuf request bodies."""

from __future__ import annotations

import pytest
from kube_support import Request

from sim.kube.kubectl.protobuf import MAGIC, decode_object


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (payloads here are under 128 bytes)."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def varint_field(number: int, value: int) -> bytes:
    assert value < 128
    return bytes([number << 3, value])


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version.encode()) + field(2, kind.encode())
    return MAGIC + field(1, type_meta) + field(2, raw)


def test_a_configmap_decodes_with_metadata_and_data() -> None:
    metadata = field(1, b"cfg") + field(11, field(1, b"app") + field(2, b"x"))
    raw = field(1, metadata) + field(2, field(1, b"k") + field(2, b"v")) + varint_field(4, 1)

    obj = decode_object(envelope("v1", "ConfigMap", raw))

    assert obj == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "labels": {"app": "x"}},
        "data": {"k": "v"},
        "immutable": True,
    }


def test_empty_strings_are_left_out_like_json_omitempty() -> None:
    container = field(1, b"main") + field(2, b"busybox") + field(14, b"")
    raw = field(1, field(1, b"p")) + field(2, field(2, container) + field(3, b"Never"))

    obj = decode_object(envelope("v1", "Pod", raw))

    assert obj["spec"] == {"containers": [{"name": "main", "image": "busybox"}], "restartPolicy": "Never"}


def test_an_unknown_kind_or_a_non_protobuf_body_is_rejected() -> None:
    with pytest.raises(ValueError, match="cannot be sent as protobuf"):
        decode_object(envelope("example.com/v1", "Widget", b""))
    with pytest.raises(ValueError, match="magic"):
        decode_object(b"{}")


async def test_the_api_answers_415_for_protobuf_it_cannot_read(api: Request) -> None:
    reply = await api(
        "POST",
        "/apis/example.com/v1/namespaces/default/widgets",
        data=envelope("example.com/v1", "Widget", b""),
        headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
    )

    assert reply.status == 415
    assert reply.json["reason"] == "UnsupportedMediaType"
