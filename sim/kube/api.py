"""HTTP routing of the simulated kube-apiserver.

One catch-all aiohttp route hands every request to :class:`KubeApi`, which
parses Kubernetes paths itself (``/api/v1/namespaces/{ns}/{resource}/{name}/{sub}``,
``/apis/{group}/{version}/...``, the legacy ``/watch/`` prefix), authenticates,
authorizes, and calls the registry. Keeping the routing in one function with no
regex matching keeps a simple GET cheap: the answer to a GET is the stored
object's bytes, serialized once when it was written.

Lists are assembled from those same bytes. Watches register a
:class:`~sim.kube.store.Watcher` and write the frames it is handed, so an event
is serialized once however many clients watch.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Final

import orjson
import yaml
from aiohttp import web

from sim.kube.auth import Attributes, Authenticator, Authorizer, UserInfo
from sim.kube.errors import (
    UNAUTHORIZED_BODY,
    KubeError,
    bad_request,
    forbidden,
    forbidden_path,
    request_entity_too_large,
    status_object,
    too_large_resource_version,
)
from sim.kube.kubectl import discovery, tables
from sim.kube.kubectl.protobuf import decode_object
from sim.kube.kubectl.tables import wants_table
from sim.kube.kubelet import Kubelet
from sim.kube.registry import Registry
from sim.kube.resources import ResourceInfo
from sim.kube.selectors import FieldSelector, parse_field_selector, parse_label_selector
from sim.kube.store import Entry, Event, Watcher, decode_continue, encode_continue

logger = logging.getLogger(__name__)
JSON_HEADERS: Final = {"Content-Type": "application/json"}
TEXT_HEADERS: Final = {"Content-Type": "text/plain"}
NOT_FOUND_BODY: Final = orjson.dumps(
    status_object(404, "NotFound", "the server could not find the requested resource", {})
)
PUBLIC_PATHS: Final = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})
DEFAULT_WATCH_SECONDS: Final = 1800.0
MAX_REQUEST_BODY_BYTES: Final = 3 * 1024 * 1024
"""kube-apiserver's limit on a request body (``MaxRequestBodyBytes``, 3 MiB)."""
METHOD_NOT_ALLOWED: Final = "the server does not allow this method on the requested resource"
PROTOBUF_V2: Final = "application/com.github.proto-openapi.spec.v2"
TOP_LEVEL_FIELDS: Final = frozenset(
    {
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "status",
        "data",
        "binaryData",
        "stringData",
        "type",
        "immutable",
        "rules",
        "subjects",
        "roleRef",
        "aggregationRule",
        "secrets",
        "imagePullSecrets",
        "automountServiceAccountToken",
        "involvedObject",
        "reason",
        "message",
        "source",
        "firstTimestamp",
        "lastTimestamp",
        "count",
        "eventTime",
        "series",
        "action",
        "related",
        "reportingComponent",
        "reportingInstance",
    }
)
METADATA_FIELDS: Final = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers=JSON_HEADERS)


def _error(error: KubeError) -> web.Response:
    headers = dict(JSON_HEADERS)
    headers.update(error.headers)
    return web.Response(body=error.body(), status=error.code, headers=headers)


def _int_param(query: Any, name: str) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"invalid {name} {value!r}: must be an integer") from None


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


def _table_event(info: ResourceInfo, event_type: str, obj: dict[str, Any]) -> bytes:
    rendered = tables.table(info.key, [obj], str(obj["metadata"].get("resourceVersion", "")))
    return orjson.dumps({"type": event_type, "object": rendered}) + b"\n"


def _table_frame(event: Event, event_type: str) -> bytes:
    """A watch frame whose object is a one-row Table, built once per event for all Table watchers."""
    key = f"table:{event_type}"
    frame = event.frames.get(key)
    if frame is None:
        frame = event.frames[key] = _table_event(event.table.info, event_type, event.entry.obj)
    return frame


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
        self.watch_cut_seconds = watch_cut_seconds
        self.bookmark_seconds = bookmark_seconds
        self.watchers: set[Watcher] = set()
        self.closing = False

    def close_watches(self) -> None:
        """End every open watch (server shutdown)."""
        self.closing = True
        for watcher in list(self.watchers):
            watcher.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one request (the catch-all route)."""
        try:
            return await self._handle(request)
        except KubeError as error:
            return _error(error)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except web.HTTPRequestEntityTooLarge:
            return _error(request_entity_too_large(MAX_REQUEST_BODY_BYTES))
        except Exception as exc:
            # A bug must not leak a traceback to the client or the terminal: one line, details at DEBUG.
            logger.error(
                "internal error answering %s %s: %s: %s", request.method, request.path, type(exc).__name__, exc
            )
            logger.debug("internal error details", exc_info=True)
            return _error(
                KubeError("InternalError", "Internal error occurred: the simulator failed to answer")
            )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in PUBLIC_PATHS:
            if path.startswith("/version"):
                return _json(orjson.dumps(discovery.KUBERNETES_VERSION))
            return web.Response(text="ok", headers=TEXT_HEADERS)
        user = await self.authenticator.authenticate(request.headers.get("Authorization"))
        if user is None:
            return _json(UNAUTHORIZED_BODY, 401)
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
        catalog = self.catalog
        document: dict[str, Any] | None = None
        head = segments[0]
        if head == "api" and len(segments) == 1:
            document = discovery.api_versions(f"{request.host}")
        elif head == "api" and len(segments) == 2:
            document = discovery.resource_list(catalog, "", segments[1])
        elif head == "apis" and len(segments) == 1:
            document = discovery.api_group_list(catalog)
        elif head == "apis" and len(segments) == 2:
            document = discovery.api_group(catalog, segments[1])
        elif head == "apis" and len(segments) == 3:
            document = discovery.resource_list(catalog, segments[1], segments[2])
        elif head == "openapi" and len(segments) == 2 and segments[1] == "v2":
            accept = request.headers.get("Accept", "")
            if PROTOBUF_V2 in accept and "json" not in accept and "*/*" not in accept:
                raise KubeError("NotAcceptable", "only application/json is served for /openapi/v2", code=406)
            document = discovery.openapi_v2_document(catalog)
        elif head == "openapi" and len(segments) == 2 and segments[1] == "v3":
            document = discovery.openapi_v3_index(catalog)
        elif head == "openapi" and len(segments) >= 4 and segments[1] == "v3":
            if segments[2] == "api" and len(segments) == 4:
                document = discovery.openapi_v3_document(catalog, "", segments[3])
            elif segments[2] == "apis" and len(segments) == 5:
                document = discovery.openapi_v3_document(catalog, segments[3], segments[4])
        if document is None:
            return _json(NOT_FOUND_BODY, 404)
        return _json(orjson.dumps(document))

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
            return _json(NOT_FOUND_BODY, 404)
        method = request.method
        query = request.query
        watch = parsed.watch or _truthy(query.get("watch"))
        if parsed.name and not parsed.subresource and watch and not parsed.watch:
            watch = False
        if parsed.name:
            verb = {
                "GET": "get",
                "HEAD": "get",
                "PUT": "update",
                "PATCH": "patch",
                "DELETE": "delete",
                "POST": "create",
            }.get(method, "")
            if parsed.watch:
                verb = "watch"
        else:
            verb = {
                "GET": "watch" if watch else "list",
                "HEAD": "list",
                "POST": "create",
                "DELETE": "deletecollection",
                "PUT": "update",
                "PATCH": "patch",
            }.get(method, "")
        info = parsed.info
        if info is None and group == "":
            return _json(NOT_FOUND_BODY, 404)
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
                body = await self._body(request)
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
            return _json(NOT_FOUND_BODY, 404)
        if not info.namespaced and parsed.namespace is not None:
            return _json(NOT_FOUND_BODY, 404)
        if parsed.subresource and parsed.subresource not in info.subresources:
            return _json(NOT_FOUND_BODY, 404)
        if parsed.subresource == "log":
            if method != "GET":
                raise KubeError("MethodNotAllowed", METHOD_NOT_ALLOWED)
            return await self._log(request, info, namespace, parsed.name)
        if info.key == ("authorization.k8s.io", "selfsubjectaccessreviews"):
            if method != "POST" or parsed.name:
                raise KubeError("MethodNotAllowed", METHOD_NOT_ALLOWED)
            return await self._access_review(request, info, user)
        if not parsed.name:
            if method in ("GET", "HEAD"):
                if watch:
                    return await self._watch(request, info, parsed.namespace)
                return self._list(request, info, parsed.namespace)
            if method == "POST":
                return await self._create(request, info, namespace)
            if method == "DELETE":
                return await self._delete_collection(request, info, parsed.namespace)
            raise KubeError("MethodNotAllowed", METHOD_NOT_ALLOWED)
        if parsed.watch:
            return await self._watch(request, info, parsed.namespace, name=parsed.name)
        if method in ("GET", "HEAD"):
            entry = self.registry.get(info, namespace if info.namespaced else "", parsed.name)
            if parsed.subresource == "" and wants_table(request.headers.get("Accept", "")):
                return _json(orjson.dumps(tables.table(info.key, [entry.obj], str(entry.rv))))
            return _json(entry.raw)
        if method == "PUT":
            body = self._check_fields(info, await self._body(request), query.get("fieldValidation"))
            entry = self.registry.replace(
                info,
                namespace,
                parsed.name,
                body,
                subresource=parsed.subresource,
                dry_run=self._dry_run(query),
            )
            return _json(entry.raw)
        if method == "PATCH":
            raw = await self._read(request)
            entry, created = self.registry.patch(
                info,
                namespace,
                parsed.name,
                request.headers.get("Content-Type", ""),
                raw,
                subresource=parsed.subresource,
                field_manager=query.get("fieldManager"),
                dry_run=self._dry_run(query),
            )
            return _json(entry.raw, 201 if created else 200)
        if method == "DELETE":
            return await self._delete(request, info, namespace, parsed.name)
        raise KubeError("MethodNotAllowed", METHOD_NOT_ALLOWED)

    @staticmethod
    def _dry_run(query: Any) -> bool:
        values = query.getall("dryRun", [])
        for value in values:
            if value != "All":
                raise bad_request(f'unsupported dryRun value "{value}": supported values: "All"')
        return bool(values)

    @staticmethod
    async def _read(request: web.Request) -> bytes:
        """The request body, refused with 413 beyond ``MAX_REQUEST_BODY_BYTES`` (before reading, when declared)."""
        length = request.content_length
        if length is not None and length > MAX_REQUEST_BODY_BYTES:
            raise request_entity_too_large(MAX_REQUEST_BODY_BYTES)
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise request_entity_too_large(MAX_REQUEST_BODY_BYTES) from None

    async def _body(self, request: web.Request) -> Any:
        raw = await self._read(request)
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

    def _check_fields(self, info: ResourceInfo, body: Any, directive: str | None) -> Any:
        if not directive or directive == "Ignore" or not isinstance(body, dict):
            return body
        if directive not in ("Strict", "Warn"):
            raise bad_request(
                f'fieldValidation must be one of "Ignore", "Warn" or "Strict", not "{directive}"'
            )
        if self.catalog.lookup(info.group, info.version, info.resource) is None or info.group not in (
            "",
            "batch",
            "apps",
            "rbac.authorization.k8s.io",
        ):
            return body
        unknown = [f'unknown field "{k}"' for k in body if k not in TOP_LEVEL_FIELDS]
        metadata = body.get("metadata")
        if isinstance(metadata, dict):
            unknown.extend(f'unknown field "metadata.{k}"' for k in metadata if k not in METADATA_FIELDS)
        if unknown and directive == "Strict":
            raise bad_request(f"strict decoding error: {', '.join(unknown)}")
        return body

    async def _access_review(self, request: web.Request, info: ResourceInfo, user: UserInfo) -> web.Response:
        body = await self._body(request)
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
        allowed = self.authorizer.allowed(user, attrs)
        status: dict[str, Any] = {"allowed": allowed}
        review = {
            "kind": info.kind,
            "apiVersion": info.api_version,
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }
        return _json(orjson.dumps(review), 201)

    async def _create(self, request: web.Request, info: ResourceInfo, namespace: str) -> web.Response:
        body = self._check_fields(info, await self._body(request), request.query.get("fieldValidation"))
        entry = self.registry.create(info, namespace, body, dry_run=self._dry_run(request.query))
        return _json(entry.raw, 201)

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if request.can_read_body:
            body = await self._body(request) if await self._read(request) else None
            if body is not None and not isinstance(body, dict):
                raise bad_request("DeleteOptions must be an object")
            options.update(body or {})
        query = request.query
        if query.get("propagationPolicy"):
            options["propagationPolicy"] = query["propagationPolicy"]
        grace = _int_param(query, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        if query.get("orphanDependents"):
            options["orphanDependents"] = _truthy(query["orphanDependents"])
        return options

    async def _delete(
        self, request: web.Request, info: ResourceInfo, namespace: str, name: str
    ) -> web.Response:
        options = await self._delete_options(request)
        entry, gone = self.registry.delete(
            info, namespace if info.namespaced else "", name, options, dry_run=self._dry_run(request.query)
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
            return _json(orjson.dumps(status))
        return _json(entry.raw)

    async def _delete_collection(
        self, request: web.Request, info: ResourceInfo, namespace: str | None
    ) -> web.Response:
        options = await self._delete_options(request)
        labels, fields = self._selectors(request, info)
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
                    dry_run=self._dry_run(request.query),
                )
                deleted.append(result.raw)
        return _json(self._list_body(info, self.store.rv, deleted, None))

    # -- list and watch ---------------------------------------------------------------------------------

    def _selectors(self, request: web.Request, info: ResourceInfo) -> tuple[Any, FieldSelector]:
        try:
            labels = parse_label_selector(request.query.get("labelSelector", ""))
            fields = parse_field_selector(request.query.get("fieldSelector", ""), info.allowed_fields)
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        return labels, fields

    @staticmethod
    def _list_body(info: ResourceInfo, rv: int, items: list[bytes], token: str | None) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if token:
            meta["continue"] = token
        head = orjson.dumps({"kind": info.list_kind, "apiVersion": info.api_version, "metadata": meta})
        return head[:-1] + b',"items":[' + b",".join(items) + b"]}"

    def _list(self, request: web.Request, info: ResourceInfo, namespace: str | None) -> web.Response:
        labels, fields = self._selectors(request, info)
        limit = _int_param(request.query, "limit")
        token = request.query.get("continue")
        rv = self.store.rv
        start = None
        if token:
            rv, start = decode_continue(token)
            if rv < self.store.compacted_rv:
                raise KubeError(
                    "Expired",
                    "The provided continue parameter is too old to display a consistent "
                    "list result. You can start a new list without the continue parameter, or use "
                    "the continue token in this response to retrieve the remainder of the results. "
                    "Continuing with the provided token results in an inconsistent list - objects "
                    "that were created, modified, or deleted between the time the first chunk was "
                    "returned and now may show up in the list.",
                )
        table = self.registry.table(info)
        entries: list[Entry] = []
        next_token = None
        for entry in self.store.select(table, namespace, labels, fields, start):
            if limit and len(entries) >= limit:
                metadata = entries[-1].obj["metadata"]
                next_token = encode_continue(rv, (metadata.get("namespace", ""), metadata["name"]))
                break
            entries.append(entry)
        if wants_table(request.headers.get("Accept", "")):
            objects = [entry.obj for entry in entries]
            return _json(orjson.dumps(tables.table(info.key, objects, str(rv), next_token)))
        return _json(self._list_body(info, rv, [entry.raw for entry in entries], next_token))

    async def _watch(
        self, request: web.Request, info: ResourceInfo, namespace: str | None, name: str = ""
    ) -> web.StreamResponse:
        labels, fields = self._selectors(request, info)
        if name:
            fields = parse_field_selector(f"metadata.name={name}")
        query = request.query
        timeout = _int_param(query, "timeoutSeconds")
        duration = float(timeout) if timeout is not None and timeout > 0 else DEFAULT_WATCH_SECONDS
        cut = self.watch_cut_seconds()
        if cut is not None:
            duration = min(duration, cut)
        bookmarks = _truthy(query.get("allowWatchBookmarks"))
        rv_text = query.get("resourceVersion", "")
        table = self.registry.table(info)
        render = _table_frame if wants_table(request.headers.get("Accept", "")) else None
        watcher = Watcher(namespace, labels, fields, render)
        initial: list[bytes] = []
        error: KubeError | None = None
        send_initial = _truthy(query.get("sendInitialEvents"))
        if rv_text in ("", "0") or send_initial:
            for e in self.store.select(table, namespace, labels, fields):
                if render is None:
                    initial.append(b'{"type":"ADDED","object":' + e.raw + b"}\n")
                else:
                    initial.append(_table_event(info, "ADDED", e.obj))
            if send_initial and bookmarks:
                initial.append(self._bookmark(info, initial_events_end=True))
        else:
            try:
                since = int(rv_text)
            except ValueError:
                raise bad_request(f"invalid resourceVersion {rv_text!r}") from None
            if since > self.store.rv:
                # Never issued here (a client of an earlier server at this address): as the watch cache does.
                raise too_large_resource_version(since, self.store.rv)
            try:
                for event in self.store.events_since(table, since):
                    watcher.offer(event)
            except KubeError as exc:
                error = exc
        response = web.StreamResponse(status=200, headers=JSON_HEADERS)
        response.enable_chunked_encoding()
        if error is not None:
            await response.prepare(request)
            await response.write(b'{"type":"ERROR","object":' + error.body() + b"}\n")
            await response.write_eof()
            return response
        table.watchers.add(watcher)
        self.watchers.add(watcher)
        try:
            await response.prepare(request)
            if initial:
                await response.write(b"".join(initial))
            await self._pump(response, watcher, info, duration, bookmarks)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            watcher.closed = True
            table.watchers.discard(watcher)
            self.watchers.discard(watcher)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response

    async def _pump(
        self,
        response: web.StreamResponse,
        watcher: Watcher,
        info: ResourceInfo,
        duration: float,
        bookmarks: bool,
    ) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + duration
        next_bookmark = loop.time() + self.bookmark_seconds
        queue = watcher.queue
        while not self.closing:
            now = loop.time()
            if now >= end:
                return
            wait = end - now
            if bookmarks:
                wait = min(wait, max(0.0, next_bookmark - now))
            try:
                frame = await asyncio.wait_for(queue.get(), timeout=wait)
            except TimeoutError:
                if bookmarks and loop.time() >= next_bookmark:
                    next_bookmark = loop.time() + self.bookmark_seconds
                    if queue.empty():
                        await response.write(self._bookmark(info))
                continue
            if frame is None:
                return
            chunk = [frame]
            while not queue.empty():
                more = queue.get_nowait()
                if more is None:
                    await response.write(b"".join(chunk))
                    return
                chunk.append(more)
            await response.write(b"".join(chunk))

    def _bookmark(self, info: ResourceInfo, *, initial_events_end: bool = False) -> bytes:
        metadata: dict[str, Any] = {"resourceVersion": str(self.store.rv)}
        if initial_events_end:
            metadata["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": info.kind, "apiVersion": info.api_version, "metadata": metadata}
        return b'{"type":"BOOKMARK","object":' + orjson.dumps(obj) + b"}\n"

    # -- logs ---------------------------------------------------------------------------------------------

    async def _log(
        self, request: web.Request, info: ResourceInfo, namespace: str, name: str
    ) -> web.StreamResponse:
        entry = self.registry.get(info, namespace, name)
        query = request.query
        tail = _int_param(query, "tailLines")
        limit = _int_param(query, "limitBytes")
        since = _int_param(query, "sinceSeconds")
        if limit is not None and limit <= 0:
            raise KubeError(
                "Invalid",
                f'PodLogOptions "{name}" is invalid: limitBytes: Invalid value: {limit}: '
                "must be greater than 0",
            )
        if since is not None and since <= 0:
            raise KubeError(
                "Invalid",
                f'PodLogOptions "{name}" is invalid: sinceSeconds: Invalid value: {since}: '
                "must be greater than 0",
            )
        since_time = None
        if query.get("sinceTime"):
            try:
                since_time = float(
                    calendar.timegm(time.strptime(query["sinceTime"][:19], "%Y-%m-%dT%H:%M:%S"))
                )
            except ValueError:
                raise bad_request(f"invalid sinceTime {query['sinceTime']!r}") from None
        container = query.get("container") or None
        options = {
            "previous": _truthy(query.get("previous")),
            "tail_lines": tail,
            "limit_bytes": limit,
            "since_seconds": since,
            "since_time": since_time,
            "timestamps": _truthy(query.get("timestamps")),
        }
        data = self.kubelet.read_log(entry.obj, container, **options)  # type: ignore[arg-type]
        if not _truthy(query.get("follow")) or options["previous"]:
            return web.Response(body=data, headers=TEXT_HEADERS)
        return await self._follow(request, entry.obj, container, data, options)

    async def _follow(
        self,
        request: web.Request,
        pod: dict[str, Any],
        container: str | None,
        data: bytes,
        options: dict[str, Any],
    ) -> web.StreamResponse:
        names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
        chosen = container or (names[0] if names else "")
        record = self.kubelet.log_follower(pod, chosen)
        response = web.StreamResponse(headers=TEXT_HEADERS)
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(data)
        if record is None:
            return response
        sent = len(record.log)
        sent_bytes = len(data)
        limit = options.get("limit_bytes")
        try:
            while not self.closing:
                if len(record.log) > sent:
                    lines = record.log[sent:]
                    sent = len(record.log)
                    chunk = b"".join(
                        (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(m)).encode() + b".000000000Z " + t)
                        if options.get("timestamps")
                        else t
                        for m, t in lines
                    )
                    if limit is not None:
                        chunk = chunk[: max(0, limit - sent_bytes)]
                    sent_bytes += len(chunk)
                    if chunk:
                        await response.write(chunk)
                if record.terminated or (limit is not None and sent_bytes >= limit):
                    break
                if self.kubelet.log_follower(pod, chosen) is not record:
                    break
                await asyncio.sleep(0.1)
        except ConnectionResetError:
            pass
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response
