"""Deletion and garbage collection: propagation policies, finalizers, graceful pods, namespaces.

What kube-apiserver's generic registry and the garbage collector do when an
object goes: DeleteOptions preconditions; ``propagationPolicy`` Foreground
(the ``foregroundDeletion`` finalizer waits for the dependents, which are
deleted first), Background (the owner goes, the collector follows its
ownerReferences) and Orphan (dependents lose the reference); objects with
finalizers get a ``deletionTimestamp`` and stay until the finalizers are gone;
running pods are deleted gracefully (the kubelet stops them, then calls
:meth:`Deletion.finish_pod_deletion`); a namespace is Terminating until all
its content is deleted. The collector reacts to DELETED events after the
write that caused them (``call_soon``), as the real one runs apart from the
request.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, Final

from sim.kube.errors import KubeError, conflict, invalid
from sim.kube.objects import clone, get_entry, ordered_metadata
from sim.kube.resources import Catalog, ResourceInfo
from sim.kube.store import DELETED, Entry, Event, Store, Table, now_rfc3339
from sim.kube.strategies import BACKGROUND, FOREGROUND, ORPHAN, Strategy

IMMORTAL_NAMESPACES: Final = frozenset({"default", "kube-system", "kube-public"})
FOREGROUND_FINALIZER: Final = "foregroundDeletion"
ORPHAN_FINALIZER: Final = "orphan"


class Deletion:
    """Deletes objects and collects the garbage they leave.

    Args:
        store: the object store (its DELETED events drive the collector).
        catalog: the resource catalogue.
        strategy_for: the per-kind strategy (its default propagation policy).

    Attributes:
        graceful_pod_hook: asked whether a deleted pod must terminate gracefully (the kubelet's).
    """

    def __init__(
        self, store: Store, catalog: Catalog, strategy_for: Callable[[ResourceInfo], Strategy]
    ) -> None:
        self.store = store
        self.namespaces = catalog.lookup("", "v1", "namespaces")
        self.pods = catalog.lookup("", "v1", "pods")
        self.strategy_for = strategy_for
        self.graceful_pod_hook: Callable[[Entry], bool] | None = None
        store.subscribe(self._on_event)

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
        entry = get_entry(self.store, info, key_ns, name)
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
        table = self.store.table(info)
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
        table = self.store.table(self.pods)
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
        ns_table = self.store.table(self.namespaces)
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
        ns_table = self.store.table(self.namespaces)
        if remaining and attempt < 600:
            asyncio.get_running_loop().call_later(0.05, self._finish_namespace, name, attempt + 1)
            return
        if (("", name)) in ns_table.objects:
            self.store.remove(ns_table, ("", name))
