"""API semantics over the store: create, replace, patch; deletion goes through ``deletion``.

The HTTP layer and the controllers both go through a :class:`Registry`, so an
object the Job controller creates is defaulted, validated and versioned exactly
like one a client POSTs. It owns what kube-apiserver's generic registry owns:
names and ``generateName``, uid/creationTimestamp/generation, resourceVersion
preconditions, the ``status`` subresource split, the four patch types, and
CustomResourceDefinitions registering their resources. Deletion, finalizers,
propagation policies, graceful pod deletion, namespace termination and the
garbage collector are :class:`~sim.kube.deletion.Deletion`'s.
"""

from __future__ import annotations

import random
import uuid
from typing import Any, Final

import orjson
import yaml

from sim.kube.deletion import Deletion
from sim.kube.errors import KubeError, already_exists, bad_request, conflict, invalid, not_found
from sim.kube.objects import SYSTEM_FIELDS, clone, get_entry, ordered_metadata
from sim.kube.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from sim.kube.resources import Catalog, ResourceInfo
from sim.kube.store import Entry, Store, Table, now_rfc3339
from sim.kube.strategies import GENERIC, Strategy, strategies

NAME_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
PATCH_TYPES: Final = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)


def random_suffix(length: int = 5) -> str:
    """Kubernetes' generateName suffix alphabet (no vowels, no look-alike digits)."""
    return "".join(random.choice(NAME_ALPHABET) for _ in range(length))


class Registry:
    """The API's write semantics.

    Args:
        store: the object store.
        catalog: the resource catalogue.

    Attributes:
        deletion: deletion and garbage collection (``delete`` and ``finish_pod_deletion`` go there).
    """

    def __init__(self, store: Store, catalog: Catalog) -> None:
        self.store = store
        self.catalog = catalog
        self.namespaces = catalog.lookup("", "v1", "namespaces")
        self._strategies = strategies()
        self.deletion = Deletion(store, catalog, self.strategy_for)

    # -- helpers -------------------------------------------------------------------------------

    def strategy_for(self, info: ResourceInfo) -> Strategy:
        """The defaulting/validation strategy of ``info`` on this server."""
        return self._strategies.get(info.key, GENERIC)

    def table(self, info: ResourceInfo) -> Table:
        """The store table of ``info``."""
        return self.store.table(info)

    def get(self, info: ResourceInfo, namespace: str, name: str) -> Entry:
        """The stored object, or 404."""
        return get_entry(self.store, info, namespace, name)

    def _check_namespace(self, info: ResourceInfo, namespace: str, *, creating: bool) -> None:
        if not info.namespaced or self.namespaces is None:
            return
        entry = self.store.lookup(self.table(self.namespaces), "", namespace)
        if entry is None:
            raise not_found("", "namespaces", namespace)
        if creating and entry.obj["metadata"].get("deletionTimestamp"):
            raise KubeError(
                "Forbidden",
                f'{info.resource} "{namespace}" is forbidden: unable to create new content in namespace '
                f"{namespace} because it is being terminated",
                {"group": info.group, "kind": info.resource},
            )

    def _typecheck(self, info: ResourceInfo, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request(
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json, application/yaml"
            )
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version is not None and api_version != info.api_version:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({info.api_version})"
            )
        if kind is not None and kind != info.kind:
            raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({info.kind})")
        metadata = body.get("metadata")
        if metadata is None:
            metadata = body["metadata"] = {}
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        obj = {"apiVersion": info.api_version, "kind": info.kind}
        obj.update((k, v) for k, v in body.items() if k not in ("apiVersion", "kind"))
        return obj

    def _validate(
        self, info: ResourceInfo, strategy: Strategy, obj: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        causes = strategy.validate(obj, old)
        if causes:
            raise invalid(info.kind, info.group, obj["metadata"].get("name", ""), causes)

    # -- create ----------------------------------------------------------------------------------

    def create(self, info: ResourceInfo, namespace: str, body: Any, *, dry_run: bool = False) -> Entry:
        """Create an object (POST).

        Args:
            info: the resource.
            namespace: the namespace from the URL (``""`` for cluster-scoped resources).
            body: the decoded request body.
            dry_run: validate and default only; nothing is stored.

        Raises:
            KubeError: 400, 404 (namespace), 409 AlreadyExists or 422 Invalid.
        """
        obj = self._typecheck(info, body)
        metadata = obj["metadata"]
        strategy = self.strategy_for(info)
        if info.namespaced:
            body_ns = metadata.get("namespace")
            if body_ns and body_ns != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        name = metadata.get("name")
        if not name:
            generate = metadata.get("generateName")
            if not generate:
                raise invalid(
                    info.kind,
                    info.group,
                    "",
                    [
                        (
                            "FieldValueRequired",
                            "metadata.name",
                            "Required value: name or generateName is required",
                        )
                    ],
                )
            name = f"{generate}{random_suffix()}"
        if not isinstance(name, str):
            raise invalid(
                info.kind, info.group, "", [("FieldValueInvalid", "metadata.name", "Invalid value")]
            )
        causes = strategy.validate_name(name)
        if causes:
            raise invalid(info.kind, info.group, name, causes)
        self._check_namespace(info, namespace, creating=True)
        table = self.table(info)
        if (namespace if info.namespaced else "", name) in table.objects:
            raise already_exists(info.group, info.resource, name)
        metadata["name"] = name
        for field in (*SYSTEM_FIELDS, "resourceVersion"):
            metadata.pop(field, None)
        metadata["uid"] = str(uuid.uuid4())
        metadata["resourceVersion"] = ""
        metadata["generation"] = 1
        metadata["creationTimestamp"] = now_rfc3339()
        strategy.prepare_create(obj, info)
        obj["metadata"] = ordered_metadata(metadata)
        self._validate(info, strategy, obj, None)
        if dry_run:
            return Entry(obj, orjson.dumps(obj), 0)
        entry = self.store.insert(table, obj)
        if info.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._register_crd(obj)
        return entry

    def _register_crd(self, obj: dict[str, Any]) -> None:
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        for version in spec.get("versions") or []:
            if not isinstance(version, dict) or not version.get("served", True):
                continue
            subresources = tuple((version.get("subresources") or {}).keys())
            self.catalog.register(
                ResourceInfo(
                    str(spec.get("group", "")),
                    str(version.get("name")),
                    str(names.get("plural", "")),
                    str(names.get("kind", "")),
                    namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                    singular=str(names.get("singular", "")),
                    short_names=tuple(names.get("shortNames") or ()),
                    categories=tuple(names.get("categories") or ()),
                    subresources=subresources,
                )
            )

    # -- update ----------------------------------------------------------------------------------

    def replace(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        body: Any,
        *,
        subresource: str = "",
        dry_run: bool = False,
    ) -> Entry:
        """Replace an object (PUT), honouring a resourceVersion precondition.

        Raises:
            KubeError: 400 name mismatch, 404, 409 Conflict, 422 Invalid.
        """
        obj = self._typecheck(info, body)
        body_name = obj["metadata"].get("name")
        if body_name and body_name != name:
            raise bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        old = self.get(info, namespace if info.namespaced else "", name)
        wanted_rv = obj["metadata"].get("resourceVersion")
        if wanted_rv and str(wanted_rv) != str(old.rv):
            raise conflict(
                info.group,
                info.resource,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        return self._update(info, old, obj, subresource=subresource, dry_run=dry_run)

    def _update(
        self,
        info: ResourceInfo,
        old: Entry,
        obj: dict[str, Any],
        *,
        subresource: str = "",
        dry_run: bool = False,
    ) -> Entry:
        strategy = self.strategy_for(info)
        old_obj = old.obj
        if subresource == "status":
            new = clone(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
        else:
            new = obj
            metadata = new.setdefault("metadata", {})
            old_meta = old_obj["metadata"]
            for field in ("name", "namespace", *SYSTEM_FIELDS):
                if field in old_meta:
                    metadata[field] = old_meta[field]
                else:
                    metadata.pop(field, None)
            if info.has_status:
                if "status" in old_obj:
                    new["status"] = old_obj["status"]
                else:
                    new.pop("status", None)
            if _spec_of(new) != _spec_of(old_obj):
                metadata["generation"] = int(old_meta.get("generation", 1)) + 1
            new["metadata"] = ordered_metadata(metadata)
            self._validate(info, strategy, new, old_obj)
        new["metadata"]["resourceVersion"] = old_obj["metadata"].get("resourceVersion")
        if new == old_obj:
            return old
        if dry_run:
            return Entry(new, orjson.dumps(new), old.rv)
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            table = self.table(info)
            return self.store.remove(table, (meta.get("namespace", ""), meta["name"]))
        entry = self.store.update(self.table(info), new)
        if info.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._register_crd(new)
        return entry

    def write_status(self, info: ResourceInfo, obj: dict[str, Any]) -> Entry:
        """Store a controller's new version of an object as is (no validation, same semantics)."""
        return self.store.update(self.table(info), obj)

    def patch(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        content_type: str,
        body: bytes,
        *,
        subresource: str = "",
        field_manager: str | None = None,
        dry_run: bool = False,
    ) -> tuple[Entry, bool]:
        """Patch an object (PATCH) with any of the four patch types.

        Returns:
            The stored entry and whether it was created (server-side apply of a new object).

        Raises:
            KubeError: 400 malformed patch, 404, 409, 415 unsupported patch type, 422.
        """
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in PATCH_TYPES:
            raise KubeError(
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - "
                f"accepted media types include: {', '.join(PATCH_TYPES)}",
                code=415,
            )
        key_ns = namespace if info.namespaced else ""
        if media == "application/apply-patch+yaml":
            if not field_manager:
                raise bad_request(
                    "PATCH requests with apply-patch+yaml content type require the fieldManager "
                    "query parameter"
                )
            try:
                applied = yaml.safe_load(body.decode("utf-8")) if body else None
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise bad_request(f"error decoding YAML: {exc.__class__.__name__}") from None
            if not isinstance(applied, dict):
                raise bad_request("the apply configuration must be an object")
            existing = self.store.lookup(self.table(info), key_ns, name)
            if existing is None:
                applied.setdefault("metadata", {}).setdefault("name", name)
                return self.create(info, namespace, applied, dry_run=dry_run), True
            patched = strategic_merge_patch(clone(existing), applied)
            return self._update(info, existing, patched, subresource=subresource, dry_run=dry_run), False
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise bad_request(f"error decoding patch: {exc}") from None
        old = self.get(info, key_ns, name)
        current = clone(old)
        try:
            if media == "application/json-patch+json":
                patched = json_patch(current, document)
            elif media == "application/merge-patch+json":
                if not isinstance(document, dict):
                    raise PatchError("a merge patch must be a JSON object")
                patched = merge_patch(current, document)
            else:
                patched = strategic_merge_patch(current, document)
        except PatchError as exc:
            raise invalid(info.kind, info.group, name, [("FieldValueInvalid", "patch", str(exc))]) from None
        if not isinstance(patched, dict):
            raise bad_request("the patch must leave an object")
        wanted_rv = (patched.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and str(wanted_rv) != str(old.rv):
            raise conflict(
                info.group,
                info.resource,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        if patched.get("kind") != info.kind or patched.get("apiVersion") != info.api_version:
            raise bad_request("a patch may not change apiVersion or kind")
        return self._update(info, old, patched, subresource=subresource, dry_run=dry_run), False

    # -- delete ----------------------------------------------------------------------------------

    def delete(
        self,
        info: ResourceInfo,
        namespace: str,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        dry_run: bool = False,
    ) -> tuple[Entry, bool]:
        """Delete an object (DELETE); see :meth:`~sim.kube.deletion.Deletion.delete`."""
        return self.deletion.delete(info, namespace, name, options, dry_run=dry_run)

    def finish_pod_deletion(self, namespace: str, name: str) -> None:
        """Remove a terminating pod once its containers have stopped (called by the kubelet)."""
        self.deletion.finish_pod_deletion(namespace, name)


def _spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}
