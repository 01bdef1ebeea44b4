"""The resource catalogue: which group/version/resource paths exist and how they behave.

One :class:`ResourceInfo` per API resource gives what discovery advertises (kind,
short names, verbs, namespaced) and what the store needs (whether the resource
has a ``status`` subresource, which field selectors it supports). Built-in types
are listed here; any other ``/apis/{group}/{version}/{resource}`` path gets an
entry on first use so custom resources can be stored as plain JSON, and stored
CustomResourceDefinitions register theirs so discovery and kubectl see them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

ALL_VERBS: Final[tuple[str, ...]] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
BASE_FIELDS: Final[frozenset[str]] = frozenset({"metadata.name", "metadata.namespace"})


@dataclass(frozen=True)
class ResourceInfo:
    """One API resource.

    Attributes:
        group: API group (``""`` for core).
        version: served version.
        resource: plural resource name used in paths (``jobs``).
        kind: object kind (``Job``).
        namespaced: whether objects live in a namespace.
        singular: singular name (``job``).
        short_names: kubectl short names (``po``).
        verbs: verbs discovery advertises.
        subresources: subresource names served (``status``, ``log``).
        categories: discovery categories (``all``).
        field_labels: field selectors supported besides metadata.name/namespace.
    """

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool = True
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    field_labels: frozenset[str] = field(default_factory=frozenset)

    @property
    def api_version(self) -> str:
        """``batch/v1`` or ``v1``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """``(group, resource)``, the storage key of the resource."""
        return self.group, self.resource

    @property
    def has_status(self) -> bool:
        """Whether ``status`` is a subresource (then the main resource ignores status changes)."""
        return "status" in self.subresources

    @property
    def allowed_fields(self) -> frozenset[str]:
        """Every field selector this resource accepts."""
        return BASE_FIELDS | self.field_labels

    @property
    def list_kind(self) -> str:
        """``JobList``."""
        return f"{self.kind}List"


BUILTIN: Final[tuple[ResourceInfo, ...]] = (
    ResourceInfo(
        "",
        "v1",
        "namespaces",
        "Namespace",
        namespaced=False,
        singular="namespace",
        short_names=("ns",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        subresources=("status", "finalize"),
        field_labels=frozenset({"status.phase"}),
    ),
    ResourceInfo(
        "",
        "v1",
        "pods",
        "Pod",
        singular="pod",
        short_names=("po",),
        categories=("all",),
        subresources=("status", "log"),
        field_labels=frozenset(
            {
                "status.phase",
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "status.podIP",
                "status.nominatedNodeName",
                "spec.hostNetwork",
            }
        ),
    ),
    ResourceInfo(
        "",
        "v1",
        "nodes",
        "Node",
        namespaced=False,
        singular="node",
        short_names=("no",),
        subresources=("status",),
        field_labels=frozenset({"spec.unschedulable"}),
    ),
    ResourceInfo("", "v1", "configmaps", "ConfigMap", singular="configmap", short_names=("cm",)),
    ResourceInfo("", "v1", "secrets", "Secret", singular="secret", field_labels=frozenset({"type"})),
    ResourceInfo(
        "",
        "v1",
        "services",
        "Service",
        singular="service",
        short_names=("svc",),
        categories=("all",),
        subresources=("status",),
    ),
    ResourceInfo(
        "", "v1", "serviceaccounts", "ServiceAccount", singular="serviceaccount", short_names=("sa",)
    ),
    ResourceInfo(
        "",
        "v1",
        "events",
        "Event",
        singular="event",
        short_names=("ev",),
        field_labels=frozenset(
            {
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            }
        ),
    ),
    ResourceInfo(
        "batch",
        "v1",
        "jobs",
        "Job",
        singular="job",
        categories=("all",),
        subresources=("status",),
        field_labels=frozenset({"status.successful"}),
    ),
    ResourceInfo(
        "batch",
        "v1",
        "cronjobs",
        "CronJob",
        singular="cronjob",
        short_names=("cj",),
        categories=("all",),
        subresources=("status",),
    ),
    ResourceInfo(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        singular="deployment",
        short_names=("deploy",),
        categories=("all",),
        subresources=("status",),
    ),
    ResourceInfo("rbac.authorization.k8s.io", "v1", "roles", "Role", singular="role"),
    ResourceInfo("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", singular="rolebinding"),
    ResourceInfo(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        namespaced=False,
        singular="clusterrole",
    ),
    ResourceInfo(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        namespaced=False,
        singular="clusterrolebinding",
    ),
    ResourceInfo(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        namespaced=False,
        singular="selfsubjectaccessreview",
        verbs=("create",),
    ),
    ResourceInfo(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        singular="customresourcedefinition",
        short_names=("crd", "crds"),
        subresources=("status",),
    ),
)


class Catalog:
    """Every resource the server knows, indexed for path routing and kind lookup."""

    def __init__(self, resources: Iterable[ResourceInfo] = BUILTIN) -> None:
        self._by_path: dict[tuple[str, str, str], ResourceInfo] = {}
        self._by_kind: dict[tuple[str, str], ResourceInfo] = {}
        self._group_versions: dict[str, list[str]] = {}
        for info in resources:
            self.register(info)

    def register(self, info: ResourceInfo) -> None:
        """Add or replace a resource (a CRD being stored or a custom path used)."""
        self._by_path[(info.group, info.version, info.resource)] = info
        self._by_kind[(info.api_version, info.kind)] = info
        versions = self._group_versions.setdefault(info.group, [])
        if info.version not in versions:
            versions.append(info.version)

    def lookup(self, group: str, version: str, resource: str) -> ResourceInfo | None:
        """The resource served at ``/apis/{group}/{version}/{resource}``, if known."""
        return self._by_path.get((group, version, resource))

    def by_kind(self, api_version: str, kind: str) -> ResourceInfo | None:
        """The resource whose objects have ``apiVersion`` and ``kind``."""
        return self._by_kind.get((api_version, kind))

    def any_version(self, group: str, resource: str) -> ResourceInfo | None:
        """The resource ``group``/``resource`` in whichever version is registered first."""
        for version in self._group_versions.get(group, ()):
            info = self._by_path.get((group, version, resource))
            if info is not None:
                return info
        return None

    def groups(self) -> dict[str, list[str]]:
        """Group name to its versions (preferred first); the core group is ``""``."""
        return {group: list(versions) for group, versions in self._group_versions.items()}

    def resources(self, group: str, version: str) -> list[ResourceInfo]:
        """Every resource of one group version, in registration order."""
        return [info for (g, v, _), info in self._by_path.items() if g == group and v == version]

    def ensure_generic(
        self,
        group: str,
        version: str,
        resource: str,
        namespaced: bool,
        kind: str | None = None,
        *,
        register: bool = True,
    ) -> ResourceInfo:
        """The resource at a path nobody declared, stored as plain JSON.

        Args:
            group: API group.
            version: API version.
            resource: plural resource name from the path.
            namespaced: whether the path named a namespace.
            kind: the kind of the object being created, when known.
            register: remember the resource (and show it in discovery); a read of a path where
                nothing was ever written does not register it.
        """
        info = self.lookup(group, version, resource)
        if info is not None:
            return info
        singular = resource[:-1] if resource.endswith("s") else resource
        info = ResourceInfo(
            group,
            version,
            resource,
            kind or singular[:1].upper() + singular[1:],
            namespaced=namespaced,
            singular=singular,
        )
        if register:
            self.register(info)
        return info
