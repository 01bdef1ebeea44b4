"""``SelfSubjectAccessReview``: "may I?" answered by the server's own RBAC (``kubectl auth can-i``)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from sim.kube.api.requests import decode_body, json_response
from sim.kube.auth import UserInfo
from sim.kube.errors import bad_request
from sim.kube.rbac import Attributes, Authorizer
from sim.kube.resources import ResourceInfo


async def access_review(
    request: web.Request, info: ResourceInfo, user: UserInfo, authorizer: Authorizer
) -> web.Response:
    """Answer a SelfSubjectAccessReview (POST) for ``user``."""
    body = await decode_body(request)
    spec = body.get("spec") if isinstance(body, dict) else None
    if not isinstance(spec, dict):
        raise bad_request("a SelfSubjectAccessReview needs a spec")
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if isinstance(resource, dict):
        attrs = Attributes(
            verb=str(resource.get("verb", "")),
            group=str(resource.get("group", "")),
            resource=str(resource.get("resource", "")),
            subresource=str(resource.get("subresource", "")),
            namespace=str(resource.get("namespace", "")),
            name=str(resource.get("name", "")),
        )
    elif isinstance(non_resource, dict):
        attrs = Attributes(verb=str(non_resource.get("verb", "")), path=str(non_resource.get("path", "")))
    else:
        raise bad_request("spec.resourceAttributes or spec.nonResourceAttributes is required")
    allowed = authorizer.allowed(user, attrs)
    status: dict[str, Any] = {"allowed": allowed}
    review = {
        "kind": info.kind,
        "apiVersion": info.api_version,
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
    return json_response(orjson.dumps(review), 201)
