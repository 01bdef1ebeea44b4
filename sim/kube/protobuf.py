"""Just enough of Kubernetes' protobuf wire format to read a SelfSubjectAccessReview.

``kubectl auth can-i`` sends its review as ``application/vnd.kubernetes.protobuf``
(the ``k8s\\0`` magic, then a ``runtime.Unknown`` envelope around the object), and
client-go has no fallback to JSON for request bodies. This module decodes that
one message into the JSON shape the rest of the server uses; answers are JSON,
which the client accepts.
"""

from __future__ import annotations

from typing import Any, Final

MAGIC: Final = b"k8s\x00"


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    fields: list[tuple[int, int | bytes]] = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
            fields.append((number, value))
        elif wire == 2:
            length, i = _varint(data, i)
            if i + length > len(data):
                raise ValueError("truncated protobuf field")
            fields.append((number, data[i : i + length]))
            i += length
        elif wire == 5:
            i += 4
        elif wire == 1:
            i += 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return fields


def _varint(data: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated protobuf varint")
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def _strings(data: bytes, names: dict[int, str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for number, value in _fields(data):
        if number in names and isinstance(value, bytes):
            result[names[number]] = value.decode("utf-8")
    return result


RESOURCE_ATTRIBUTES: Final = {
    1: "namespace",
    2: "verb",
    3: "group",
    4: "version",
    5: "resource",
    6: "subresource",
    7: "name",
}
NON_RESOURCE_ATTRIBUTES: Final = {1: "path", 2: "verb"}


def decode_self_subject_access_review(body: bytes) -> dict[str, Any]:
    """Decode a protobuf SelfSubjectAccessReview into its JSON form.

    Raises:
        ValueError: the body is not a protobuf SelfSubjectAccessReview.
    """
    if not body.startswith(MAGIC):
        raise ValueError("missing the Kubernetes protobuf magic prefix")
    envelope = dict(_fields(body[len(MAGIC) :]))
    raw = envelope.get(2)
    if not isinstance(raw, bytes):
        raise ValueError("the protobuf envelope holds no object")
    spec: dict[str, Any] = {}
    for number, value in _fields(raw):
        if number != 2 or not isinstance(value, bytes):
            continue
        for inner_number, inner in _fields(value):
            if inner_number == 1 and isinstance(inner, bytes):
                spec["resourceAttributes"] = _strings(inner, RESOURCE_ATTRIBUTES)
            elif inner_number == 2 and isinstance(inner, bytes):
                spec["nonResourceAttributes"] = _strings(inner, NON_RESOURCE_ATTRIBUTES)
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": spec}
