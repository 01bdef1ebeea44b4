"""Helpers shared by the Kubernetes simulator tests (tokens, a fake STS, manifests, polling)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

from sim.kube import AwsIdentity, KubeSimulator

ADMIN_TOKEN = "admin-token"
ACCOUNT = "123456789012"
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT}:role/creator"


def eks_token(access_key: str, *, signed_at: dt.datetime | None = None, host: str = "127.0.0.1:1") -> str:
    """An EKS-format bearer token whose presigned URL names ``access_key`` (unsigned: tests resolve it)."""
    moment = signed_at or dt.datetime.now(dt.UTC)
    query = {
        "Action": "GetCallerIdentity",
        "Version": "2011-06-15",
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access_key}/{moment:%Y%m%d}/us-east-1/sts/aws4_request",
        "X-Amz-Date": f"{moment:%Y%m%dT%H%M%SZ}",
        "X-Amz-Expires": "60",
        "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
        "X-Amz-Signature": "0" * 64,
    }
    url = f"https://{host}/?{urlencode(query)}"
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def aws_auth(kube: KubeSimulator, **data: str) -> None:
    """Store a ``kube-system/aws-auth`` ConfigMap with ``data``."""
    kube.store.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": data,
        }
    )


def rbac(kube: KubeSimulator, *objects: dict[str, Any]) -> None:
    """Store RBAC objects (the apiVersion is added)."""
    for obj in objects:
        kube.store.put({"apiVersion": "rbac.authorization.k8s.io/v1", **obj})


class FakeSts:
    """An identity resolver mapping the access key inside an EKS token to an identity."""

    def __init__(self) -> None:
        self.identities: dict[str, AwsIdentity] = {}
        self.calls = 0

    def add(self, access_key: str, arn: str, session_name: str = "") -> str:
        self.identities[access_key] = AwsIdentity(
            arn=arn, account=ACCOUNT, user_id="AROAEXAMPLE", session_name=session_name
        )
        return eks_token(access_key)

    async def __call__(self, token: str) -> AwsIdentity | None:
        self.calls += 1
        url = base64.urlsafe_b64decode(token[len("k8s-aws-v1.") :] + "==").decode()
        credential = parse_qs(urlsplit(url).query)["X-Amz-Credential"][0]
        return self.identities.get(credential.split("/")[0])


@dataclass
class Reply:
    status: int
    body: bytes
    headers: Any

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


Request = Callable[..., Awaitable[Reply]]


def job_manifest(
    name: str,
    *,
    seconds: float = 0.05,
    exit_code: int = 0,
    log: str = "",
    backoff_limit: int = 6,
    restart_policy: str = "Never",
    **spec: Any,
) -> dict[str, Any]:
    """A batch/v1 Job whose container the model runtime runs for ``seconds``."""
    annotations = {"sim.statewright.io/seconds": str(seconds), "sim.statewright.io/exit-code": str(exit_code)}
    if log:
        annotations["sim.statewright.io/log"] = log
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff_limit,
            **spec,
            "template": {
                "metadata": {"annotations": annotations},
                "spec": {
                    "restartPolicy": restart_policy,
                    "containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"]}],
                },
            },
        },
    }


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``predicate`` on the loop until it returns something truthy."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def job_condition(
    kube: KubeSimulator, name: str, kind: str, namespace: str = "default"
) -> dict[str, Any] | None:
    job = kube.store.get("batch", "jobs", namespace, name) or {}
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition["type"] == kind and condition["status"] == "True":
            return condition  # type: ignore[no-any-return]
    return None


@dataclass
class KubectlResult:
    returncode: int
    stdout: str
    stderr: str


Kubectl = Callable[..., Awaitable[KubectlResult]]
