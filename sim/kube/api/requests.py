"""Reading a Kubernetes request and writing its answer: query parameters, bodies, selectors.

Shared by every route: integer and boolean query parameters read as
kube-apiserver reads them, ``dryRun``, request bodies (JSON, YAML, or the
protobuf kubectl's typed clients send) refused with 413 beyond 3 MiB, label and
field selectors, and the JSON answers with their Status bodies.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
import yaml
from aiohttp import web
from multidict import MultiMapping

from sim.kube.errors import KubeError, bad_request, request_entity_too_large, status_object
from sim.kube.kubectl.protobuf import decode_object
from sim.kube.resources import ResourceInfo
from sim.kube.selectors import FieldSelector, LabelSelector, parse_field_selector, parse_label_selector

JSON_HEADERS: Final = {"Content-Type": "application/json"}
TEXT_HEADERS: Final = {"Content-Type": "text/plain"}
NOT_FOUND_BODY: Final = orjson.dumps(
    status_object(404, "NotFound", "the server could not find the requested resource", {})
)
MAX_REQUEST_BODY_BYTES: Final = 3 * 1024 * 1024
"""kube-apiserver's limit on a request body (``MaxRequestBodyBytes``, 3 MiB)."""
METHOD_NOT_ALLOWED: Final = "the server does not allow this method on the requested resource"


def json_response(body: bytes, status: int = 200) -> web.Response:
    """An ``application/json`` answer of ready bytes."""
    return web.Response(body=body, status=status, headers=JSON_HEADERS)


def error_response(error: KubeError) -> web.Response:
    """The Status answer of ``error``, with its headers (``Retry-After``…)."""
    headers = dict(JSON_HEADERS)
    headers.update(error.headers)
    return web.Response(body=error.body(), status=error.code, headers=headers)


def int_param(query: MultiMapping[str], name: str) -> int | None:
    """An integer query parameter, None when absent or empty, 400 when not an integer."""
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"invalid {name} {value!r}: must be an integer") from None


def truthy(value: str | None) -> bool:
    """A boolean query parameter as kube-apiserver reads it."""
    return value is not None and value.lower() in ("1", "true", "yes")


def dry_run(query: MultiMapping[str]) -> bool:
    """Whether ``dryRun=All`` was asked for (400 for any other value)."""
    values = query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise bad_request(f'unsupported dryRun value "{value}": supported values: "All"')
    return bool(values)


async def read_body(request: web.Request) -> bytes:
    """The request body, refused with 413 beyond ``MAX_REQUEST_BODY_BYTES`` (before reading, when declared)."""
    length = request.content_length
    if length is not None and length > MAX_REQUEST_BODY_BYTES:
        raise request_entity_too_large(MAX_REQUEST_BODY_BYTES)
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise request_entity_too_large(MAX_REQUEST_BODY_BYTES) from None


async def decode_body(request: web.Request) -> Any:
    """The request body decoded by its Content-Type (JSON, YAML or Kubernetes protobuf)."""
    raw = await read_body(request)
    media = request.headers.get("Content-Type", "application/json").split(";", 1)[0].strip().lower()
    if media == "application/vnd.kubernetes.protobuf":
        try:
            return decode_object(raw)
        except ValueError as exc:
            raise KubeError("UnsupportedMediaType", str(exc), code=415) from None
    try:
        if media in ("application/yaml", "application/x-yaml", "text/yaml"):
            return yaml.safe_load(raw.decode("utf-8"))
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise bad_request(
            f"the body of the request could not be decoded: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None


def selectors(request: web.Request, info: ResourceInfo) -> tuple[LabelSelector, FieldSelector]:
    """The ``labelSelector`` and ``fieldSelector`` of a list, watch or deletecollection (400 if malformed)."""
    try:
        labels = parse_label_selector(request.query.get("labelSelector", ""))
        fields = parse_field_selector(request.query.get("fieldSelector", ""), info.allowed_fields)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    return labels, fields
