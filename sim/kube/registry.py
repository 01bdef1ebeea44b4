"""API semantics over the store: create, replace, patch, delete, garbage collection.

The HTTP layer and the controllers both go through a :class:`Registry`, so an
object the Job controller creates is defaulted, validated and versioned exactly
like one a client POSTs. It owns what kube-apiserver's generic registry owns:
names and ``generateName``, uid/creationTimestamp/generation, resourceVersion
preconditions, the ``status`` subresource split, finalizers and
``deletionTimestamp``, ``propagationPolicy`` (Foreground, Background, Orphan)
with the garbage collector that follows ownerReferences, and namespace
termination. Pods that are running are deleted gracefully: they get a
``deletionTimestamp`` and the kubelet removes them once their containers stop.
"""

from __future__ import annotations

import asyncio
import functools
import random
import uuid
from collections.abc import Callable
from typing import Any, Final

import orjson
import yaml

from sim.kube.errors import (
    KubeError,
    already_exists,
    bad_request,
    conflict,
    invalid,
    not_found,
)
from sim.kube.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from sim.kube.resources import Catalog, ResourceInfo
from sim.kube.store import DELETED, Entry, Event, Store, Table, now_rfc3339
from sim.kube.strategies import BACKGROUND, FOREGROUND, GENERIC, ORPHAN, Strategy, strategies

IMMORTAL_NAMESPACES: Final = frozenset({"default", "kube-system", "kube-public"})
NAME_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
FOREGROUND_FINALIZER: Final = "foregroundDeletion"
ORPHAN_FINALIZER: Final = "orphan"
METADATA_ORDER: Final = (
    "name",
    "generateName",
    "namespace",
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
)
PATCH_TYPES: Final = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
SYSTEM_FIELDS: Final = (
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def random_suffix(length: int = 5) -> str:
    """Kubernetes' generateName suffix alphabet (no vowels, no look-alike digits)."""
    return "".join(random.choice(NAME_ALPHABET) for _ in range(length))


def ordered_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata with its keys in kube-apiserver's order (unknown keys last)."""
    ordered: dict[str, Any] = {key: metadata[key] for key in METADATA_ORDER if key in metadata}
    ordered.update((key, value) for key, value in metadata.items() if key not in ordered)
    return ordered


def clone(entry: Entry) -> dict[str, Any]:
    """A deep copy of a stored object (parsing its bytes is faster than ``copy.deepcopy``)."""
    copied: dict[str, Any] = orjson.loads(entry.raw)
    return copied


def with_changes(entry: Entry, **fields: Any) -> dict[str, Any]:
    """A new version of a stored object with top-level ``fields`` replaced.

    Shallow: stored objects are never mutated, so the new version may share unchanged parts.
    """
    obj = dict(entry.obj)
    obj["metadata"] = dict(obj["metadata"])
    obj.update(fields)
    return obj


class Registry:
    """The API's write semantics.

    Args:
        store: the object store.
        catalog: the resource catalogue.
    """

    def __init__(self, store: Store, catalog: Catalog) -> None:
        self.store = store
        self.catalog = catalog
        self.namespaces = catalog.lookup("", "v1", "namespaces")
        self.pods = catalog.lookup("", "v1", "pods")
        self.graceful_pod_hook: Callable[[Entry], bool] | None = None
        self._strategies = strategies()
        store.subscribe(self._on_event)

    # -- helpers -------------------------------------------------------------------------------

    def strategy_for(self, info: ResourceInfo) -> Strategy:
        """The defaulting/validation strategy of ``info`` on this server."""
        return self._strategies.get(info.key, GENERIC)

    def table(self, info: ResourceInfo) -> Table:
        """The store table of ``info``."""
        return self.store.table(info)

    def get(self, info: ResourceInfo, namespace: str, name: str) -> Entry:
        """The stored object, or 404."""
        entry = self.store.lookup(self.table(info), namespace, name)
        if entry is None:
            raise not_found(info.group, info.resource, name)
        return entry

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
        """Delete an object (DELETE) following ``propagationPolicy`` and ``gracePeriodSeconds``.

        Args:
            info: the resource.
            namespace: namespace from the URL.
            name: object name.
            options: DeleteOptions (propagationPolicy, gracePeriodSeconds, preconditions, orphanDependents).
            dry_run: report what would happen without doing it.

        Returns:
            The entry (the last stored state) and whether it is gone already.

        Raises:
            KubeError: 400 bad policy, 404, 409 failed precondition.
        """
        options = options or {}
        key_ns = namespace if info.namespaced else ""
        entry = self.get(info, key_ns, name)
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") and preconditions["uid"] != entry.obj["metadata"].get("uid"):
            raise conflict(
                info.group,
                info.resource,
                name,
                f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                f"UID in object meta: {entry.obj['metadata'].get('uid')}",
            )
        if preconditions.get("resourceVersion") and str(preconditions["resourceVersion"]) != str(entry.rv):
            raise conflict(
                info.group,
                info.resource,
                name,
                f"Precondition failed: ResourceVersion in precondition: "
                f"{preconditions['resourceVersion']}, ResourceVersion in object meta: {entry.rv}",
            )
        strategy = self.strategy_for(info)
        policy = options.get("propagationPolicy")
        if policy is None and options.get("orphanDependents") is not None:
            policy = ORPHAN if options["orphanDependents"] else BACKGROUND
        if policy is None:
            policy = strategy.default_propagation
        if policy not in (ORPHAN, BACKGROUND, FOREGROUND):
            raise invalid(
                "DeleteOptions",
                "",
                "",
                [
                    (
                        "FieldValueNotSupported",
                        "propagationPolicy",
                        f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan", "nil"',
                    )
                ],
            )
        grace = options.get("gracePeriodSeconds")
        if dry_run:
            return entry, False
        if info.key == ("", "namespaces"):
            if name in IMMORTAL_NAMESPACES:
                raise KubeError(
                    "Forbidden",
                    f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                    {"name": name, "kind": "namespaces"},
                )
            return self._delete_namespace(entry), False
        obj = entry.obj
        metadata = obj["metadata"]
        finalizers = list(metadata.get("finalizers") or [])
        extra = (
            FOREGROUND_FINALIZER if policy == FOREGROUND else ORPHAN_FINALIZER if policy == ORPHAN else None
        )
        uid = metadata.get("uid", "")
        has_dependents = bool(self.store.dependents.get(uid))
        if extra is not None and has_dependents and extra not in finalizers:
            finalizers.append(extra)
        table = self.table(info)
        if info.key == ("", "pods") and grace != 0 and self.graceful_pod_hook is not None:
            if self.graceful_pod_hook(entry):
                return self._mark_deleting(table, entry, finalizers, grace), False
        if finalizers:
            if metadata.get("deletionTimestamp") and finalizers == list(metadata.get("finalizers") or []):
                return entry, False
            marked = self._mark_deleting(table, entry, finalizers, 0)
            self._process_finalizers(table, marked)
            current = self.store.lookup(table, key_ns, name)
            return (current, False) if current is not None else (marked, True)
        removed = self.store.remove(table, (key_ns, name))
        return removed, True

    def _mark_deleting(self, table: Table, entry: Entry, finalizers: list[str], grace: Any) -> Entry:
        obj = clone(entry)
        metadata = obj["metadata"]
        if not metadata.get("deletionTimestamp"):
            metadata["deletionTimestamp"] = now_rfc3339()
            metadata["deletionGracePeriodSeconds"] = (
                int(grace)
                if isinstance(grace, int)
                else (
                    int((obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
                    if table.info.key == ("", "pods")
                    else 0
                )
            )
        if finalizers:
            metadata["finalizers"] = finalizers
        obj["metadata"] = ordered_metadata(metadata)
        return self.store.update(table, obj)

    def finish_pod_deletion(self, namespace: str, name: str) -> None:
        """Remove a terminating pod once its containers have stopped (called by the kubelet)."""
        if self.pods is None:
            return
        table = self.table(self.pods)
        entry = self.store.lookup(table, namespace, name)
        if entry is None or not entry.obj["metadata"].get("deletionTimestamp"):
            return
        finalizers = [f for f in entry.obj["metadata"].get("finalizers") or [] if f != FOREGROUND_FINALIZER]
        if finalizers:
            return
        self.store.remove(table, (namespace, name))

    def _process_finalizers(self, table: Table, entry: Entry) -> None:
        """Run the garbage collector's part of Orphan and Foreground deletion for ``entry``."""
        metadata = entry.obj["metadata"]
        finalizers = list(metadata.get("finalizers") or [])
        uid = metadata.get("uid", "")
        dependents = list(self.store.dependents.get(uid, ()))
        if ORPHAN_FINALIZER in finalizers:
            for dep_table, key in dependents:
                dep = dep_table.objects.get(key)
                if dep is None:
                    continue
                obj = clone(dep)
                refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
                if refs:
                    obj["metadata"]["ownerReferences"] = refs
                else:
                    obj["metadata"].pop("ownerReferences", None)
                self.store.update(dep_table, obj)
            finalizers.remove(ORPHAN_FINALIZER)
            entry = self._set_finalizers(table, entry, finalizers)
            dependents = []
        if FOREGROUND_FINALIZER in finalizers:
            if dependents:
                for dep_table, key in dependents:
                    dep = dep_table.objects.get(key)
                    if dep is not None and not dep.obj["metadata"].get("deletionTimestamp"):
                        self._delete_quietly(dep_table.info, key, FOREGROUND)
                return
            finalizers.remove(FOREGROUND_FINALIZER)
            entry = self._set_finalizers(table, entry, finalizers)

    def _set_finalizers(self, table: Table, entry: Entry, finalizers: list[str]) -> Entry:
        metadata = entry.obj["metadata"]
        key = (metadata.get("namespace", ""), metadata["name"])
        if not finalizers and metadata.get("deletionTimestamp"):
            return self.store.remove(table, key)
        obj = clone(entry)
        obj["metadata"]["finalizers"] = finalizers
        if not finalizers:
            obj["metadata"].pop("finalizers")
        return self.store.update(table, obj)

    def _delete_quietly(self, info: ResourceInfo, key: tuple[str, str], policy: str) -> None:
        try:
            self.delete(info, key[0], key[1], {"propagationPolicy": policy})
        except KubeError:
            pass

    def _on_event(self, event: Event) -> None:
        """Garbage collection: react to deletions of owners and of dependents."""
        if event.type != DELETED:
            return
        metadata = event.entry.obj["metadata"]
        uid = metadata.get("uid", "")
        if uid in self.store.dependents:
            self._defer(functools.partial(self._collect, uid))
        for ref in metadata.get("ownerReferences") or []:
            owner_uid = ref.get("uid")
            if owner_uid and not self.store.dependents.get(owner_uid):
                self._defer(functools.partial(self._release_owner, str(owner_uid)))

    def _collect(self, uid: str) -> None:
        for dep_table, key in list(self.store.dependents.get(uid, ())):
            self._delete_quietly(dep_table.info, key, BACKGROUND)

    def _release_owner(self, uid: str) -> None:
        if self.store.dependents.get(uid):
            return
        located = self.store.by_uid.get(uid)
        if located is None:
            return
        table, key = located
        entry = table.objects.get(key)
        if entry is not None and entry.obj["metadata"].get("deletionTimestamp"):
            self._process_finalizers(table, entry)

    @staticmethod
    def _defer(callback: Callable[[], None]) -> None:
        try:
            asyncio.get_running_loop().call_soon(callback)
        except RuntimeError:
            callback()

    def _delete_namespace(self, entry: Entry) -> Entry:
        assert self.namespaces is not None
        ns_table = self.table(self.namespaces)
        name = entry.obj["metadata"]["name"]
        if not entry.obj["metadata"].get("deletionTimestamp"):
            obj = clone(entry)
            obj["metadata"]["deletionTimestamp"] = now_rfc3339()
            obj["metadata"]["deletionGracePeriodSeconds"] = 0
            obj["metadata"] = ordered_metadata(obj["metadata"])
            obj["status"] = {"phase": "Terminating"}
            entry = self.store.update(ns_table, obj)
        for table in list(self.store.tables.values()):
            if not table.info.namespaced:
                continue
            for key in [k for k in table.objects if k[0] == name]:
                self._delete_quietly(table.info, key, BACKGROUND)
        self._defer(lambda: self._finish_namespace(name, 0))
        return entry

    def _finish_namespace(self, name: str, attempt: int) -> None:
        assert self.namespaces is not None
        remaining = any(
            key[0] == name
            for table in self.store.tables.values()
            if table.info.namespaced
            for key in table.objects
        )
        ns_table = self.table(self.namespaces)
        if remaining and attempt < 600:
            asyncio.get_running_loop().call_later(0.05, self._finish_namespace, name, attempt + 1)
            return
        if (("", name)) in ns_table.objects:
            self.store.remove(ns_table, ("", name))


def _spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}
