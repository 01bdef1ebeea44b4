"""RBAC over stored roles and bindings: what an authenticated user may do."""

from __future__ import annotations

from kube_support import ACCOUNT, FakeSts, Request, aws_auth, rbac

from sim.kube import KubeSimulator


async def test_rbac_role_binding_grants_only_its_namespace_verbs_and_resources(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    aws_auth(
        kube,
        mapRoles=f"- rolearn: arn:aws:iam::{ACCOUNT}:role/runner\n  username: runner\n"
        "  groups: [job-runners]\n",
    )
    rbac(
        kube,
        {
            "kind": "Role",
            "metadata": {"name": "run-jobs", "namespace": "default"},
            "rules": [
                {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get"]},
                {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            ],
        },
        {
            "kind": "RoleBinding",
            "metadata": {"name": "run-jobs", "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "run-jobs"},
            "subjects": [{"kind": "Group", "name": "job-runners", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    token = sts.add("AKIARUNNER", f"arn:aws:iam::{ACCOUNT}:role/runner")

    get_job = await api("GET", "/apis/batch/v1/namespaces/default/jobs/x", token=token)
    list_jobs = await api("GET", "/apis/batch/v1/namespaces/default/jobs", token=token)
    other_ns = await api("GET", "/apis/batch/v1/namespaces/kube-system/jobs/x", token=token)
    pods = await api("GET", "/api/v1/namespaces/default/pods", token=token)
    namespaces = await api("GET", "/api/v1/namespaces", token=token)

    assert get_job.status == 404
    assert list_jobs.status == 403
    assert list_jobs.json["message"] == (
        'jobs.batch is forbidden: User "runner" cannot list resource "jobs" in API group "batch" in the '
        'namespace "default"'
    )
    assert other_ns.status == 403
    assert pods.json["message"] == (
        'pods is forbidden: User "runner" cannot list resource "pods" in API group "" in the namespace "default"'
    )
    assert namespaces.json["message"] == (
        'namespaces is forbidden: User "runner" cannot list resource "namespaces" in API group "" at the '
        "cluster scope"
    )
    assert namespaces.json["details"] == {"group": "", "kind": "namespaces"}


async def test_rbac_resource_names_restrict_to_named_objects(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    aws_auth(kube, mapUsers=f"- userarn: arn:aws:iam::{ACCOUNT}:user/n\n  username: n\n  groups: []\n")
    rbac(
        kube,
        {
            "kind": "ClusterRole",
            "metadata": {"name": "one-cm"},
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["ok"]}
            ],
        },
        {
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "one-cm"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "one-cm"},
            "subjects": [{"kind": "User", "name": "n", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    token = sts.add("AKIAN", f"arn:aws:iam::{ACCOUNT}:user/n")

    allowed = await api("GET", "/api/v1/namespaces/default/configmaps/ok", token=token)
    denied = await api("GET", "/api/v1/namespaces/default/configmaps/other", token=token)

    assert allowed.status == 404
    assert denied.status == 403
    assert denied.json["message"].startswith('configmaps "other" is forbidden: User "n" cannot get resource')


async def test_discovery_is_open_to_any_authenticated_user(
    api: Request, kube: KubeSimulator, sts: FakeSts
) -> None:
    aws_auth(kube, mapUsers=f"- userarn: arn:aws:iam::{ACCOUNT}:user/d\n  username: d\n")
    token = sts.add("AKIAD", f"arn:aws:iam::{ACCOUNT}:user/d")

    assert (await api("GET", "/apis", token=token)).status == 200
    assert (await api("GET", "/version", token=None)).status == 200
