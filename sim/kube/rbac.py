"""RBAC as a Kubernetes API server applies it: may this user do this to that resource?

Authorization runs over the Role/ClusterRole/RoleBinding/ClusterRoleBinding
objects in the store, as Kubernetes' RBAC authorizer does: a user is allowed a
request when a rule of a role bound to the user (by name, group or service
account), cluster-wide or in the request's namespace, matches its verb, API
group, resource (and subresource), and resource name, or for a non-resource
request its URL path. ``system:masters`` may do anything. Rule sets are
compiled per user and namespace and cached until an RBAC object changes.

:func:`bootstrap_rbac` is what a new cluster has: cluster-admin, admin/edit/view,
discovery for every authenticated user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sim.kube.auth import AUTHENTICATED, MASTERS, UserInfo
from sim.kube.store import Event, Store

RBAC_GROUP: Final = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class Attributes:
    """What a request wants to do, for RBAC."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def is_resource(self) -> bool:
        """Whether the request is for a resource (else a non-resource URL)."""
        return bool(self.resource)


def _rule_allows(rule: Mapping[str, Any], attrs: Attributes) -> bool:
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.is_resource:
        for url in rule.get("nonResourceURLs") or []:
            if url == "*" or url == attrs.path or (url.endswith("*") and attrs.path.startswith(url[:-1])):
                return True
        return False
    groups = rule.get("apiGroups")
    if groups is None or ("*" not in groups and attrs.group not in groups):
        return False
    wanted = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    resources = rule.get("resources") or []
    if not any(
        r in ("*", wanted)
        or (attrs.subresource and r == f"*/{attrs.subresource}")
        or (attrs.subresource and r == f"{attrs.resource}/*")
        for r in resources
    ):
        return False
    names = rule.get("resourceNames") or []
    return not names or (bool(attrs.name) and attrs.name in names)


def _subject_matches(subject: Mapping[str, Any], user: UserInfo) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return bool(name == user.username)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        return user.username == f"system:serviceaccount:{subject.get('namespace', '')}:{name}"
    return False


class Authorizer:
    """RBAC over the stored roles and bindings.

    Args:
        store: the object store holding the RBAC objects.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._generation = 0
        self._cache: dict[tuple[str, tuple[str, ...], str], tuple[int, list[Mapping[str, Any]]]] = {}
        store.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.table.info.group == RBAC_GROUP:
            self._generation += 1

    def _role_rules(self, kind: str, name: str, namespace: str) -> list[Mapping[str, Any]]:
        if kind == "ClusterRole":
            role = self.store.get(RBAC_GROUP, "clusterroles", "", name)
        else:
            role = self.store.get(RBAC_GROUP, "roles", namespace, name)
        rules = (role or {}).get("rules") or []
        return [rule for rule in rules if isinstance(rule, dict)]

    def rules_for(self, user: UserInfo, namespace: str) -> list[Mapping[str, Any]]:
        """Every rule granted to ``user`` cluster-wide and in ``namespace``."""
        key = (user.username, user.groups, namespace)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == self._generation:
            return cached[1]
        rules: list[Mapping[str, Any]] = []
        for binding in self.store.objects(RBAC_GROUP, "clusterrolebindings"):
            if any(_subject_matches(s, user) for s in binding.get("subjects") or [] if isinstance(s, dict)):
                ref = binding.get("roleRef") or {}
                rules.extend(self._role_rules("ClusterRole", str(ref.get("name")), ""))
        if namespace:
            for binding in self.store.objects(RBAC_GROUP, "rolebindings", namespace):
                if any(
                    _subject_matches(s, user) for s in binding.get("subjects") or [] if isinstance(s, dict)
                ):
                    ref = binding.get("roleRef") or {}
                    rules.extend(self._role_rules(str(ref.get("kind")), str(ref.get("name")), namespace))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (self._generation, rules)
        return rules

    def allowed(self, user: UserInfo, attrs: Attributes) -> bool:
        """Whether ``user`` may do ``attrs``."""
        if user.is_master:
            return True
        return any(_rule_allows(rule, attrs) for rule in self.rules_for(user, attrs.namespace))


def bootstrap_rbac() -> list[dict[str, Any]]:
    """The default roles a new cluster has: cluster-admin, admin/edit/view, discovery for everyone."""
    discovery_urls = [
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/",
    ]
    read = ["get", "list", "watch"]
    write = ["create", "delete", "deletecollection", "patch", "update"]
    workloads = [
        "pods",
        "pods/log",
        "pods/status",
        "configmaps",
        "services",
        "events",
        "serviceaccounts",
        "jobs",
        "jobs/status",
        "cronjobs",
        "deployments",
    ]

    def role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "rules": rules,
        }

    def binding(name: str, role_name: str, group: str) -> dict[str, Any]:
        return {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role_name},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group}],
        }

    return [
        role(
            "cluster-admin",
            [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        ),
        role(
            "admin",
            [
                {
                    "apiGroups": ["", "batch", "apps", RBAC_GROUP],
                    "resources": [*workloads, "secrets", "roles", "rolebindings"],
                    "verbs": read + write,
                }
            ],
        ),
        role(
            "edit",
            [
                {
                    "apiGroups": ["", "batch", "apps"],
                    "resources": [*workloads, "secrets"],
                    "verbs": read + write,
                }
            ],
        ),
        role("view", [{"apiGroups": ["", "batch", "apps"], "resources": workloads, "verbs": read}]),
        role("system:discovery", [{"nonResourceURLs": discovery_urls, "verbs": ["get"]}]),
        role(
            "system:basic-user",
            [
                {
                    "apiGroups": ["authorization.k8s.io"],
                    "resources": ["selfsubjectaccessreviews"],
                    "verbs": ["create"],
                }
            ],
        ),
        binding("system:basic-user", "system:basic-user", AUTHENTICATED),
        binding("cluster-admin", "cluster-admin", MASTERS),
        binding("system:discovery", "system:discovery", AUTHENTICATED),
    ]
