"""Discovery and OpenAPI documents, built from the resource catalogue.

kubectl reads ``/api``, ``/apis`` and each group version's ``APIResourceList`` to
map kinds to paths, and the OpenAPI v3 documents to learn that the server
validates fields itself (a PATCH operation per kind with the
``x-kubernetes-group-version-kind`` extension and a ``fieldValidation`` query
parameter), so it sends ``fieldValidation=Strict`` instead of validating on the
client. The PATCH operations advertise JSON and merge patches only, so for
built-in kinds kubectl computes strategic merge patches from its compiled-in
types, which are exact. ``/openapi/v2`` is served as JSON; a client that accepts
only the protobuf form gets 406, which client-go treats as "no v2 schema".

The server answers the legacy discovery format (``application/json``), so
clients that ask for aggregated discovery fall back to per-group requests.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

import orjson

from sim.kube.errors import KubeError
from sim.kube.resources import Catalog, ResourceInfo

KUBERNETES_VERSION: Final = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-eks-statewright",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
PROTOBUF_V2: Final = "application/com.github.proto-openapi.spec.v2"
SUBRESOURCE_VERBS: Final = {
    "status": ["get", "patch", "update"],
    "log": ["get"],
    "finalize": ["update"],
    "scale": ["get", "patch", "update"],
}
SCHEMA_PREFIX: Final = {
    "": "io.k8s.api.core",
    "batch": "io.k8s.api.batch",
    "apps": "io.k8s.api.apps",
    "rbac.authorization.k8s.io": "io.k8s.api.rbac",
    "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
}


def api_versions(server_address: str) -> dict[str, Any]:
    """``/api``: the core group's versions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(catalog: Catalog) -> dict[str, Any]:
    """``/apis``: every named group."""
    groups = [_group(name, versions) for name, versions in catalog.groups().items() if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(catalog: Catalog, name: str) -> dict[str, Any] | None:
    """``/apis/{group}``, or None when the group is unknown."""
    versions = catalog.groups().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def resource_list(catalog: Catalog, group: str, version: str) -> dict[str, Any] | None:
    """``/api/v1`` or ``/apis/{group}/{version}``: the APIResourceList, or None when unknown."""
    infos = catalog.resources(group, version)
    if not infos:
        return None
    resources: list[dict[str, Any]] = []
    for info in infos:
        entry: dict[str, Any] = {
            "name": info.resource,
            "singularName": info.singular,
            "namespaced": info.namespaced,
            "kind": info.kind,
            "verbs": list(info.verbs),
        }
        if info.short_names:
            entry["shortNames"] = list(info.short_names)
        if info.categories:
            entry["categories"] = list(info.categories)
        entry["storageVersionHash"] = hashlib.sha256(f"{info.api_version}/{info.kind}".encode()).hexdigest()[
            :12
        ]
        resources.append(entry)
        for sub in info.subresources:
            resources.append(
                {
                    "name": f"{info.resource}/{sub}",
                    "singularName": "",
                    "namespaced": info.namespaced,
                    "kind": info.kind,
                    "verbs": SUBRESOURCE_VERBS.get(sub, ["get"]),
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _schema_name(info: ResourceInfo) -> str:
    prefix = SCHEMA_PREFIX.get(info.group, "io.statewright.sim." + (info.group or "core"))
    return f"{prefix}.{info.version}.{info.kind}"


def _gvk(info: ResourceInfo) -> list[dict[str, str]]:
    return [{"group": info.group, "version": info.version, "kind": info.kind}]


def _param(name: str, where: str = "query", required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required,
        "schema": {"type": "string"},
        "uniqueItems": True,
    }


WRITE_PARAMS: Final = ("dryRun", "fieldManager", "fieldValidation")
LIST_PARAMS: Final = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)


def _operation(
    info: ResourceInfo, action: str, params: tuple[str, ...], body: list[str] | None = None
) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{_schema_name(info)}"}
    operation: dict[str, Any] = {
        "operationId": f"{action}{info.kind}",
        "parameters": [_param(p) for p in params],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(info)[0],
    }
    if body is not None:
        operation["requestBody"] = {"content": {media: {"schema": ref} for media in body}, "required": True}
    return operation


def openapi_v3_document(catalog: Catalog, group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI v3 document of one group version, or None when unknown."""
    infos = catalog.resources(group, version)
    if not infos:
        return None
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for info in infos:
        scope = (
            f"{prefix}/namespaces/{{namespace}}/{info.resource}"
            if info.namespaced
            else f"{prefix}/{info.resource}"
        )
        path_params = [_param("namespace", "path", True)] if info.namespaced else []
        paths[scope] = {
            "get": _operation(info, "list", LIST_PARAMS),
            "post": _operation(info, "post", WRITE_PARAMS, ["application/json", "application/yaml"]),
            "delete": _operation(info, "deletecollection", LIST_PARAMS),
            "parameters": path_params,
        }
        paths[f"{scope}/{{name}}"] = {
            "get": _operation(info, "get", ()),
            "put": _operation(info, "put", WRITE_PARAMS, ["application/json", "application/yaml"]),
            "patch": _operation(
                info,
                "patch",
                (*WRITE_PARAMS, "force"),
                [
                    "application/json-patch+json",
                    "application/merge-patch+json",
                    "application/apply-patch+yaml",
                ],
            ),
            "delete": _operation(info, "delete", ("dryRun", "gracePeriodSeconds", "propagationPolicy")),
            "parameters": [*path_params, _param("name", "path", True)],
        }
        schemas[_schema_name(info)] = {
            "description": f"{info.kind} ({info.api_version}); stored and served by the statewright simulator.",
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
            "x-kubernetes-preserve-unknown-fields": True,
            "x-kubernetes-group-version-kind": _gvk(info),
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def openapi_v3_index(catalog: Catalog) -> dict[str, Any]:
    """``/openapi/v3``: where each group version's document lives (with a content hash)."""
    paths: dict[str, Any] = {}
    for group, versions in catalog.groups().items():
        for version in versions:
            document = openapi_v3_document(catalog, group, version)
            digest = hashlib.sha512(orjson.dumps(document)).hexdigest()[:64].upper()
            relative = f"apis/{group}/{version}" if group else f"api/{version}"
            paths[relative] = {"serverRelativeURL": f"/openapi/v3/{relative}?hash={digest}"}
    return {"paths": paths}


def openapi_v2_document(catalog: Catalog) -> dict[str, Any]:
    """``/openapi/v2``: one Swagger 2.0 document with a definition per kind."""
    definitions: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for group, versions in catalog.groups().items():
        for version in versions:
            for info in catalog.resources(group, version):
                definitions[_schema_name(info)] = {
                    "description": f"{info.kind} ({info.api_version})",
                    "type": "object",
                    "x-kubernetes-group-version-kind": _gvk(info),
                }
                prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
                scope = (
                    f"{prefix}/namespaces/{{namespace}}/{info.resource}"
                    if info.namespaced
                    else f"{prefix}/{info.resource}"
                )
                paths[f"{scope}/{{name}}"] = {
                    "patch": {
                        "operationId": f"patch{info.kind}",
                        "parameters": [
                            {"name": p, "in": "query", "type": "string", "uniqueItems": True}
                            for p in (*WRITE_PARAMS, "force")
                        ],
                        "responses": {"200": {"description": "OK"}},
                        "x-kubernetes-group-version-kind": _gvk(info)[0],
                    }
                }
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION["gitVersion"]},
        "paths": paths,
        "definitions": definitions,
    }


def document(catalog: Catalog, host: str, segments: list[str], accept: str) -> dict[str, Any] | None:
    """The discovery or OpenAPI document at the path ``segments`` (``/``-split), or None (404).

    Raises:
        KubeError: 406 for ``/openapi/v2`` asked for in protobuf only.
    """
    head = segments[0]
    count = len(segments)
    if head == "api" and count == 1:
        return api_versions(host)
    if head == "api" and count == 2:
        return resource_list(catalog, "", segments[1])
    if head == "apis" and count == 1:
        return api_group_list(catalog)
    if head == "apis" and count == 2:
        return api_group(catalog, segments[1])
    if head == "apis" and count == 3:
        return resource_list(catalog, segments[1], segments[2])
    if head != "openapi" or count < 2:
        return None
    if count == 2 and segments[1] == "v2":
        if PROTOBUF_V2 in accept and "json" not in accept and "*/*" not in accept:
            raise KubeError("NotAcceptable", "only application/json is served for /openapi/v2", code=406)
        return openapi_v2_document(catalog)
    if count == 2 and segments[1] == "v3":
        return openapi_v3_index(catalog)
    if count >= 4 and segments[1] == "v3":
        if segments[2] == "api" and count == 4:
            return openapi_v3_document(catalog, "", segments[3])
        if segments[2] == "apis" and count == 5:
            return openapi_v3_document(catalog, segments[3], segments[4])
    return None
