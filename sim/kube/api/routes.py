"""Routing of the simulated kube-apiserver: one handler for every request.

aiohttp's low-level server hands every request to :meth:`KubeApi.handle`, which
parses Kubernetes paths itself (``/api/v1/namespaces/{ns}/{resource}/{name}/{sub}``,
``/apis/{group}/{version}/...``, the legacy ``/watch/`` prefix), authenticates,
authorizes, and calls the registry, or the room of the request's kind: ``lists``,
``watch``, ``logs``, ``reviews``, and kubectl's ``discovery``. Keeping the routing
in one function with no regex matching keeps a simple GET cheap: the answer to a
GET is the stored object's bytes, serialized once when it was written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Final

import orjson
from aiohttp import web

from sim.kube.api.lists import list_body, list_objects
from sim.kube.api.logs import PodLogs
from sim.kube.api.requests import (
    MAX_REQUEST_BODY_BYTES,
    METHOD_NOT_ALLOWED,
    NOT_FOUND_BODY,
    TEXT_HEADERS,
    decode_body,
    dry_run,
    error_response,
    int_param,
    json_response,
    read_body,
    selectors,
    truthy,
)
from sim.kube.api.reviews import access_review
from sim.kube.api.watch import Watches
from sim.kube.auth import Authenticator, UserInfo
from sim.kube.errors import (
    UNAUTHORIZED_BODY,
    KubeError,
    bad_request,
    forbidden,
    forbidden_path,
    request_entity_too_large,
)
from sim.kube.kubectl import discovery, tables
from sim.kube.kubectl.field_validation import check_fields
from sim.kube.kubelet import Kubelet
from sim.kube.rbac import Attributes, Authorizer
from sim.kube.registry import Registry
from sim.kube.resources import ResourceInfo
from sim.kube.store import Watcher

logger = logging.getLogger(__name__)
PUBLIC_PATHS: Final = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})
NAMED_VERBS: Final = {
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
    "POST": "create",
}
COLLECTION_VERBS: Final = {
    "GET": "list",
    "HEAD": "list",
    "POST": "create",
    "DELETE": "deletecollection",
    "PUT": "update",
    "PATCH": "patch",
}


class ResourceRequest:
    """A parsed resource path."""

    __slots__ = ("group", "info", "name", "namespace", "resource", "subresource", "version", "watch")

    def __init__(
        self,
        group: str,
        version: str,
        resource: str,
        namespace: str | None,
        name: str,
        subresource: str,
        watch: bool,
        info: ResourceInfo | None,
    ) -> None:
        self.group = group
        self.version = version
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
        self.watch = watch
        self.info = info


class KubeApi:
    """The request handler.

    Args:
        registry: API semantics over the store.
        kubelet: the node (pod logs).
        authenticator: bearer token → user.
        authorizer: RBAC.
        watch_cut_seconds: returns the configured early watch cut (fault injection), if any.
        bookmark_seconds: interval between BOOKMARK events on watches that allow them.
    """

    def __init__(
        self,
        registry: Registry,
        kubelet: Kubelet,
        authenticator: Authenticator,
        authorizer: Authorizer,
        watch_cut_seconds: Callable[[], float | None],
        bookmark_seconds: float = 60.0,
    ) -> None:
        self.registry = registry
        self.store = registry.store
        self.catalog = registry.catalog
        self.kubelet = kubelet
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.watches = Watches(registry, watch_cut_seconds, bookmark_seconds)
        self.logs = PodLogs(registry, kubelet, lambda: self.watches.closing)

    @property
    def watchers(self) -> set[Watcher]:
        """The open watch streams."""
        return self.watches.watchers

    def close_watches(self) -> None:
        """End every open watch and followed log (server shutdown)."""
        self.watches.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one request (the catch-all route)."""
        try:
            return await self._handle(request)
        except KubeError as error:
            return error_response(error)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except web.HTTPRequestEntityTooLarge:
            return error_response(request_entity_too_large(MAX_REQUEST_BODY_BYTES))
        except Exception as exc:
            # A bug must not leak a traceback to the client or the terminal: one line, details at DEBUG.
            logger.error(
                "internal error answering %s %s: %s: %s",
                request.method,
                request.path,
                type(exc).__name__,
                exc,
            )
            logger.debug("internal error details", exc_info=True)
            return error_response(
                KubeError("InternalError", "Internal error occurred: the simulator failed to answer")
            )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in PUBLIC_PATHS:
            if path.startswith("/version"):
                return json_response(orjson.dumps(discovery.KUBERNETES_VERSION))
            return web.Response(text="ok", headers=TEXT_HEADERS)
        user = await self.authenticator.authenticate(request.headers.get("Authorization"))
        if user is None:
            return json_response(UNAUTHORIZED_BODY, 401)
        segments = path.strip("/").split("/")
        head = segments[0]
        if head == "api" and len(segments) >= 3:
            return await self._resource(request, user, "", segments[1], segments[2:])
        if head == "apis" and len(segments) >= 4:
            return await self._resource(request, user, segments[1], segments[2], segments[3:])
        return self._non_resource(request, user, segments)

    # -- discovery and OpenAPI ----------------------------------------------------------------------

    def _non_resource(self, request: web.Request, user: UserInfo, segments: list[str]) -> web.Response:
        path = request.path
        verb = request.method.lower()
        if not self.authorizer.allowed(user, Attributes(verb=verb, path=path)):
            raise forbidden_path(user.username, verb, path)
        if request.method not in ("GET", "HEAD"):
            raise KubeError("MethodNotAllowed", METHOD_NOT_ALLOWED)
        document = discovery.document(self.catalog, request.host, segments, request.headers.get("Accept", ""))
        if document is None:
            return json_response(NOT_FOUND_BODY, 404)
        return json_response(orjson.dumps(document))

    # -- resources ----------------------------------------------------------------------------------

    def _parse(self, group: str, version: str, rest: list[str]) -> ResourceRequest | None:
        watch = False
        if rest and rest[0] == "watch":
            watch, rest = True, rest[1:]
        namespace: str | None = None
        if (
            len(rest) >= 3
            and rest[0] == "namespaces"
            and not (group == "" and len(rest) == 3 and rest[2] in ("status", "finalize"))
        ):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3 or not all(rest):
            return None
        resource = rest[0]
        name = rest[1] if len(rest) > 1 else ""
        subresource = rest[2] if len(rest) > 2 else ""
        info = self.catalog.lookup(group, version, resource)
        return ResourceRequest(group, version, resource, namespace, name, subresource, watch, info)

    async def _resource(
        self, request: web.Request, user: UserInfo, group: str, version: str, rest: list[str]
    ) -> web.StreamResponse:
        parsed = self._parse(group, version, rest)
        if parsed is None:
            return json_response(NOT_FOUND_BODY, 404)
        method = request.method
        query = request.query
        watch = parsed.watch or truthy(query.get("watch"))
        if parsed.name and not parsed.subresource and watch and not parsed.watch:
            watch = False
        if parsed.name:
            verb = "watch" if parsed.watch else NAMED_VERBS.get(method, "")
        else:
            verb = "watch" if watch and method == "GET" else COLLECTION_VERBS.get(method, "")
        info = parsed.info
        if info is None and group == "":
            return json_response(NOT_FOUND_BODY, 404)
        namespace = parsed.namespace or ""
        if not user.is_master and not self.authorizer.allowed(
            user, Attributes(verb, group, parsed.resource, parsed.subresource, namespace, parsed.name)
        ):
            raise forbidden(
                group, parsed.resource, parsed.subresource, parsed.name, namespace, user.username, verb
            )
        if info is None:
            kind = None
            if method == "POST" and not parsed.name:
                body = await decode_body(request)
                kind = body.get("kind") if isinstance(body, dict) else None
            info = self.catalog.ensure_generic(
                group,
                version,
                parsed.resource,
                parsed.namespace is not None,
                kind if isinstance(kind, str) else None,
                register=method in ("POST", "PUT", "PATCH"),
            )
        if info.namespaced and parsed.name and parsed.namespace is None:
            return json_response(NOT_FOUND_BODY, 404)
        if not info.namespaced and parsed.namespace is not None:
            return json_response(NOT_FOUND_BODY, 404)
        if parsed.subresource and parsed.subresource not in info.subresources:
            return json_response(NOT_FOUND_BODY, 404)
        if parsed.subresource == "log":
            if method != "GET":
                raise KubeError("MethodNotAllowed", METHOD_NOT_ALLOWED)
            return await self.logs.answer(request, info, namespace, parsed.name)
        if info.key == ("authorization.k8s.io", "selfsubjectaccessreviews"):
            if method != "POST" or parsed.name:
                raise KubeError("MethodNotAllowed", METHOD_NOT_ALLOWED)
            return await access_review(request, info, user, self.authorizer)
        if not parsed.name:
            if method in ("GET", "HEAD"):
                if watch:
                    return await self.watches.watch(request, info, parsed.namespace)
                return list_objects(self.registry, request, info, parsed.namespace)
            if method == "POST":
                return await self._create(request, info, namespace)
            if method == "DELETE":
                return await self._delete_collection(request, info, parsed.namespace)
            raise KubeError("MethodNotAllowed", METHOD_NOT_ALLOWED)
        if parsed.watch:
            return await self.watches.watch(request, info, parsed.namespace, name=parsed.name)
        if method in ("GET", "HEAD"):
            entry = self.registry.get(info, namespace if info.namespaced else "", parsed.name)
            if parsed.subresource == "" and tables.wants_table(request.headers.get("Accept", "")):
                return json_response(orjson.dumps(tables.table(info.key, [entry.obj], str(entry.rv))))
            return json_response(entry.raw)
        if method == "PUT":
            body = check_fields(self.catalog, info, await decode_body(request), query.get("fieldValidation"))
            entry = self.registry.replace(
                info,
                namespace,
                parsed.name,
                body,
                subresource=parsed.subresource,
                dry_run=dry_run(query),
            )
            return json_response(entry.raw)
        if method == "PATCH":
            raw = await read_body(request)
            entry, created = self.registry.patch(
                info,
                namespace,
                parsed.name,
                request.headers.get("Content-Type", ""),
                raw,
                subresource=parsed.subresource,
                field_manager=query.get("fieldManager"),
                dry_run=dry_run(query),
            )
            return json_response(entry.raw, 201 if created else 200)
        if method == "DELETE":
            return await self._delete(request, info, namespace, parsed.name)
        raise KubeError("MethodNotAllowed", METHOD_NOT_ALLOWED)

    async def _create(self, request: web.Request, info: ResourceInfo, namespace: str) -> web.Response:
        body = check_fields(
            self.catalog, info, await decode_body(request), request.query.get("fieldValidation")
        )
        entry = self.registry.create(info, namespace, body, dry_run=dry_run(request.query))
        return json_response(entry.raw, 201)

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if request.can_read_body:
            body = await decode_body(request) if await read_body(request) else None
            if body is not None and not isinstance(body, dict):
                raise bad_request("DeleteOptions must be an object")
            options.update(body or {})
        query = request.query
        if query.get("propagationPolicy"):
            options["propagationPolicy"] = query["propagationPolicy"]
        grace = int_param(query, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        if query.get("orphanDependents"):
            options["orphanDependents"] = truthy(query["orphanDependents"])
        return options

    async def _delete(
        self, request: web.Request, info: ResourceInfo, namespace: str, name: str
    ) -> web.Response:
        options = await self._delete_options(request)
        entry, gone = self.registry.delete(
            info, namespace if info.namespaced else "", name, options, dry_run=dry_run(request.query)
        )
        if gone and not self.registry.strategy_for(info).return_deleted_object:
            metadata = entry.obj["metadata"]
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {
                    "name": name,
                    "group": info.group,
                    "kind": info.resource,
                    "uid": metadata.get("uid", ""),
                },
            }
            return json_response(orjson.dumps(status))
        return json_response(entry.raw)

    async def _delete_collection(
        self, request: web.Request, info: ResourceInfo, namespace: str | None
    ) -> web.Response:
        options = await self._delete_options(request)
        labels, fields = selectors(request, info)
        table = self.registry.table(info)
        deleted = []
        for entry in list(self.store.select(table, namespace, labels, fields)):
            metadata = entry.obj["metadata"]
            with contextlib.suppress(KubeError):
                result, _ = self.registry.delete(
                    info,
                    metadata.get("namespace", ""),
                    metadata["name"],
                    options,
                    dry_run=dry_run(request.query),
                )
                deleted.append(result.raw)
        return json_response(list_body(info, self.store.rv, deleted, None))
