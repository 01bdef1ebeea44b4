"""The real kubectl (v1.32) against the simulator: apply, wait, logs, get, delete, 401, 403."""

from __future__ import annotations

from pathlib import Path

import orjson
import yaml
from kube_support import (
    ACCOUNT,
    ADMIN_ARN,
    FakeSts,
    Kubectl,
    eks_token,
    job_condition,
    job_manifest,
    wait_for,
)

from sim.kube import KubeSimulator

JOB_YAML = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations:
        sim.statewright.io/seconds: "0.2"
        sim.statewright.io/log: "3.14159265358979323846\\n"
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: perl:5.34.0
        command: ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]
"""


async def test_kubectl_applies_waits_reads_logs_lists_pods_and_deletes_a_job(
    kube: KubeSimulator, kubectl: Kubectl, tmp_path: Path
) -> None:
    manifest = tmp_path / "job.yaml"
    manifest.write_text(JOB_YAML)

    created = await kubectl("apply", "-f", str(manifest))
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "job.batch/pi created"

    again = await kubectl("apply", "-f", str(manifest))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "job.batch/pi unchanged"

    waited = await kubectl("wait", "--for=condition=complete", "job/pi", "--timeout=30s")
    assert waited.returncode == 0, waited.stderr
    assert "condition met" in waited.stdout

    logs = await kubectl("logs", "job/pi")
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout == "3.14159265358979323846\n"

    listed = await kubectl("get", "pods", "-l", "job-name=pi", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    pods = orjson.loads(listed.stdout)["items"]
    assert len(pods) == 1
    assert pods[0]["status"]["phase"] == "Succeeded"
    assert pods[0]["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "pi"

    deleted = await kubectl("delete", "job", "pi", "--cascade=foreground")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == 'job.batch "pi" deleted'
    assert kube.store.get("batch", "jobs", "default", "pi") is None
    assert kube.store.objects("", "pods", "default") == []


async def test_kubectl_delete_with_foreground_cascade_waits_for_running_pods(
    kube: KubeSimulator, kubectl: Kubectl, tmp_path: Path
) -> None:
    manifest = tmp_path / "job.yaml"
    manifest.write_text(yaml.safe_dump(job_manifest("long", seconds=60)))
    assert (await kubectl("apply", "-f", str(manifest))).returncode == 0
    await wait_for(lambda: any(p["status"]["phase"] == "Running" for p in kube.store.objects("", "pods")))

    deleted = await kubectl("delete", "job", "long", "--cascade=foreground")

    assert deleted.returncode == 0, deleted.stderr
    assert kube.store.get("batch", "jobs", "default", "long") is None
    assert kube.store.objects("", "pods", "default") == []


async def test_kubectl_with_a_bad_token_is_unauthorized(kubectl: Kubectl) -> None:
    result = await kubectl("get", "pods", token="not-a-token")

    assert result.returncode == 1
    assert "error: You must be logged in to the server" in result.stderr


async def test_kubectl_with_an_identity_aws_auth_does_not_map_is_unauthorized(
    kubectl: Kubectl, sts: FakeSts
) -> None:
    token = sts.add("AKIASTRANGER", f"arn:aws:iam::{ACCOUNT}:role/stranger")

    result = await kubectl("get", "jobs", token=token)

    assert result.returncode == 1
    assert "You must be logged in to the server" in result.stderr


async def test_kubectl_with_the_cluster_creator_identity_is_admin(kubectl: Kubectl, sts: FakeSts) -> None:
    token = sts.add(
        "AKIACREATOR", ADMIN_ARN.replace(":iam::", ":sts::").replace("role/", "assumed-role/") + "/s1"
    )

    allowed = await kubectl("auth", "can-i", "delete", "jobs", token=token)
    listed = await kubectl("get", "jobs", token=token)

    assert listed.returncode == 0, listed.stderr
    assert allowed.stdout.strip() == "yes"


async def test_kubectl_auth_can_i_reflects_rbac_for_a_mapped_identity(
    kube: KubeSimulator, kubectl: Kubectl, sts: FakeSts
) -> None:
    kube.store.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": {
                "mapUsers": f'[{{"userarn": "arn:aws:iam::{ACCOUNT}:user/viewer", "username": "viewer", '
                '"groups": ["viewers"]}]'
            },
        }
    )
    kube.store.put(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "viewers"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "Group", "name": "viewers", "apiGroup": "rbac.authorization.k8s.io"}],
        }
    )
    token = sts.add("AKIAVIEWER", f"arn:aws:iam::{ACCOUNT}:user/viewer")

    can_list = await kubectl("auth", "can-i", "list", "jobs", token=token)
    can_delete = await kubectl("auth", "can-i", "delete", "jobs", token=token)

    assert can_list.stdout.strip() == "yes"
    assert can_delete.stdout.strip() == "no"


async def test_kubectl_with_a_mapped_identity_rbac_does_not_allow_is_forbidden(
    kube: KubeSimulator, kubectl: Kubectl, sts: FakeSts
) -> None:
    kube.store.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": {
                "mapRoles": f"- rolearn: arn:aws:iam::{ACCOUNT}:role/reader\n  username: reader\n"
                "  groups: [readers]\n"
            },
        }
    )
    token = sts.add("AKIAREADER", f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/session")

    result = await kubectl("get", "job", "x", token=token)

    assert result.returncode == 1
    assert (
        'jobs.batch "x" is forbidden: User "reader" cannot get resource "jobs" in API group "batch" '
        'in the namespace "default"'
    ) in result.stderr


async def test_kubectl_token_in_eks_format_without_resolver_match_is_unauthorized(kubectl: Kubectl) -> None:
    result = await kubectl("get", "pods", token=eks_token("AKIANOBODY"))

    assert result.returncode == 1
    assert "You must be logged in to the server" in result.stderr


async def test_kubectl_get_prints_the_server_side_columns(
    kube: KubeSimulator, kubectl: Kubectl, tmp_path: Path
) -> None:
    manifest = tmp_path / "jobs.yaml"
    manifest.write_text(
        yaml.safe_dump(job_manifest("fine", seconds=0.01))
        + "---\n"
        + yaml.safe_dump(job_manifest("broken", seconds=0.01, exit_code=2, backoff_limit=0))
    )
    assert (await kubectl("apply", "-f", str(manifest))).returncode == 0
    await wait_for(
        lambda: all(
            (kube.store.get("batch", "jobs", "default", n) or {})
            .get("status", {})
            .get("conditions", [{}])[-1]
            .get("type")
            in ("Complete", "Failed")
            for n in ("fine", "broken")
        )
    )

    jobs = await kubectl("get", "jobs")
    pods = await kubectl("get", "pods")

    rows = {line.split()[0]: line.split() for line in jobs.stdout.splitlines()[1:]}
    assert jobs.stdout.split()[:5] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert rows["fine"][1:3] == ["Complete", "1/1"]
    assert rows["broken"][1:3] == ["Failed", "0/1"]
    statuses = sorted(line.split()[2] for line in pods.stdout.splitlines()[1:])
    assert pods.stdout.split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert statuses == ["Completed", "Error"]


async def test_kubectl_typed_creates_sent_as_protobuf_are_understood(
    kube: KubeSimulator, kubectl: Kubectl
) -> None:
    configmap = await kubectl("create", "configmap", "settings", "--from-literal=mode=fast")
    secret = await kubectl("create", "secret", "generic", "creds", "--from-literal=password=hunter2")
    job = await kubectl("create", "job", "hello", "--image=busybox:1.36", "--", "echo", "hi")
    pod = await kubectl(
        "run",
        "solo",
        "--image=nginx:1.27",
        "--restart=Never",
        "--env=A=1",
        "--annotations=sim.statewright.io/log=ran",
    )

    for result in (configmap, secret, job, pod):
        assert result.returncode == 0, result.stderr
    assert (kube.store.get("", "configmaps", "default", "settings") or {})["data"] == {"mode": "fast"}
    assert (kube.store.get("", "secrets", "default", "creds") or {})["data"] == {"password": "aHVudGVyMg=="}
    stored_job = kube.store.get("batch", "jobs", "default", "hello") or {}
    container = stored_job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["echo", "hi"]
    assert container["image"] == "busybox:1.36"
    assert container["imagePullPolicy"] == "IfNotPresent"
    stored_pod = kube.store.get("", "pods", "default", "solo") or {}
    assert stored_pod["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    await wait_for(lambda: job_condition(kube, "hello", "Complete"))
    logs = await kubectl("logs", "solo")
    assert logs.stdout == "ran\n"
