"""Lists: paged with ``limit`` and ``continue``, assembled from the stored objects' bytes.

A list's body is the stored objects' serialized bytes joined under one
header, never a re-serialization; a continue token names the resourceVersion
and the last key of the page, and is refused with 410 once that version has
been compacted. kubectl's Table answers come from ``kubectl.tables``.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from aiohttp import web

from sim.kube.api.requests import int_param, json_response, selectors
from sim.kube.errors import KubeError
from sim.kube.kubectl import tables
from sim.kube.registry import Registry
from sim.kube.resources import ResourceInfo
from sim.kube.store import Entry, decode_continue, encode_continue

EXPIRED_CONTINUE: Final = (
    "The provided continue parameter is too old to display a consistent "
    "list result. You can start a new list without the continue parameter, or use "
    "the continue token in this response to retrieve the remainder of the results. "
    "Continuing with the provided token results in an inconsistent list - objects "
    "that were created, modified, or deleted between the time the first chunk was "
    "returned and now may show up in the list."
)


def list_body(info: ResourceInfo, rv: int, items: list[bytes], token: str | None) -> bytes:
    """A ``…List`` object around already serialized ``items``."""
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if token:
        meta["continue"] = token
    head = orjson.dumps({"kind": info.list_kind, "apiVersion": info.api_version, "metadata": meta})
    return head[:-1] + b',"items":[' + b",".join(items) + b"]}"


def list_objects(
    registry: Registry, request: web.Request, info: ResourceInfo, namespace: str | None
) -> web.Response:
    """Answer a list (GET on a collection without ``watch``)."""
    store = registry.store
    labels, fields = selectors(request, info)
    limit = int_param(request.query, "limit")
    token = request.query.get("continue")
    rv = store.rv
    start = None
    if token:
        rv, start = decode_continue(token)
        if rv < store.compacted_rv:
            raise KubeError("Expired", EXPIRED_CONTINUE)
    table = registry.table(info)
    entries: list[Entry] = []
    next_token = None
    for entry in store.select(table, namespace, labels, fields, start):
        if limit and len(entries) >= limit:
            metadata = entries[-1].obj["metadata"]
            next_token = encode_continue(rv, (metadata.get("namespace", ""), metadata["name"]))
            break
        entries.append(entry)
    if tables.wants_table(request.headers.get("Accept", "")):
        objects = [entry.obj for entry in entries]
        return json_response(orjson.dumps(tables.table(info.key, objects, str(rv), next_token)))
    return json_response(list_body(info, rv, [entry.raw for entry in entries], next_token))
