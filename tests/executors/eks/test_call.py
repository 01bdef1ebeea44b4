"""eks:call against the Kubernetes simulator: AWS's output shape, errors and path confinement."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
import trustme

from engine.errors import StatesError
from engine.executor import ExecutorCall, ExecutorContext, IntegrationPattern
from executors.eks.call import eks_call
from executors.eks.services import EksServices
from tests.support.eks import DEFAULT_TOKEN, StaticTokens

TOKEN = DEFAULT_TOKEN
UNAUTHORIZED_CAUSE = {
    "ResponseBody": {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    },
    "StatusCode": 401,
    "StatusText": "Unauthorized",
}


CTX = ExecutorContext(
    execution_arn="arn:exec", execution_name="run", state_machine_arn="arn:sm", state_name="Call"
)


def call(kube: Any, method: str, path: str, **extra: Any) -> ExecutorCall:
    return ExecutorCall(
        resource="arn:aws:states:::eks:call",
        service="eks",
        action="call",
        pattern=IntegrationPattern.REQUEST_RESPONSE,
        parameters={
            "ClusterName": "demo",
            "CertificateAuthority": kube.ca_b64,
            "Endpoint": kube.url,
            "Method": method,
            "Path": path,
            **extra,
        },
    )


CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


async def test_get_returns_response_body_status_code_and_status_text(
    kube: Any, services: EksServices
) -> None:
    result = await eks_call(
        call(
            kube,
            "GET",
            "/api/v1/namespaces/default/pods",
            QueryParameters={"labelSelector": ["job-name=example-job"]},
        ),
        CTX,
        services,
    )
    assert set(result) == {"ResponseBody", "StatusCode", "StatusText"}
    assert result["StatusCode"] == 200 and result["StatusText"] == "OK"
    assert result["ResponseBody"]["kind"] == "PodList" and result["ResponseBody"]["items"] == []


async def test_a_missing_job_is_eks_404_with_the_documented_cause_shape(
    kube: Any, services: EksServices
) -> None:
    with pytest.raises(StatesError) as caught:
        await eks_call(
            call(
                kube,
                "DELETE",
                "/apis/batch/v1/namespaces/default/jobs/example-job",
                QueryParameters={"propagationPolicy": ["Foreground"]},
            ),
            CTX,
            services,
        )
    assert caught.value.error == "EKS.404"
    cause = json.loads(caught.value.cause or "")
    assert list(cause) == ["ResponseBody", "StatusCode", "StatusText"]
    assert cause["StatusCode"] == 404 and cause["StatusText"] == "Not Found"
    assert cause["ResponseBody"]["kind"] == "Status" and cause["ResponseBody"]["reason"] == "NotFound"


async def test_an_unauthorized_token_is_eks_401_exactly_as_the_docs_show(
    kube: Any, services: EksServices, tokens: StaticTokens
) -> None:
    tokens.value = "k8s-aws-v1.bm90LW1hcHBlZA"
    with pytest.raises(StatesError) as caught:
        await eks_call(call(kube, "GET", "/api/v1/namespaces/default/pods"), CTX, services)
    assert caught.value.error == "EKS.401"
    assert json.loads(caught.value.cause or "") == UNAUTHORIZED_CAUSE
    assert "k8s-aws-v1" not in str(caught.value)


async def test_create_patch_and_delete_an_object_with_each_body_kind(
    kube: Any, services: EksServices
) -> None:
    created = await eks_call(
        call(
            kube,
            "POST",
            CONFIGMAPS,
            RequestBody={
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cfg"},
                "data": {"a": "1"},
            },
        ),
        CTX,
        services,
    )
    assert created["StatusCode"] == 201 and created["ResponseBody"]["data"] == {"a": "1"}

    merged = await eks_call(
        call(kube, "PATCH", f"{CONFIGMAPS}/cfg", RequestBody={"data": {"b": "2"}}), CTX, services
    )
    assert merged["ResponseBody"]["data"] == {"a": "1", "b": "2"}

    patched = await eks_call(
        call(
            kube,
            "PATCH",
            f"{CONFIGMAPS}/cfg",
            RequestBody=json.dumps([{"op": "replace", "path": "/data/a", "value": "9"}]),
        ),
        CTX,
        services,
    )
    assert patched["ResponseBody"]["data"] == {"a": "9", "b": "2"}

    deleted = await eks_call(call(kube, "DELETE", f"{CONFIGMAPS}/cfg"), CTX, services)
    assert deleted["StatusCode"] == 200
    with pytest.raises(StatesError) as caught:
        await eks_call(call(kube, "GET", f"{CONFIGMAPS}/cfg"), CTX, services)
    assert caught.value.error == "EKS.404"


async def test_head_has_no_response_body(kube: Any, services: EksServices) -> None:
    result = await eks_call(call(kube, "HEAD", "/api/v1/namespaces/default/pods"), CTX, services)
    assert "ResponseBody" not in result and result["StatusCode"] == 200


@pytest.mark.parametrize(
    "path",
    ["https://example.com/api", "//example.com/api", "/api/../../x", "/api/%2e%2e/x", "/api\\x", "api/v1"],
)
async def test_a_path_outside_the_endpoint_is_refused_before_any_request(
    services: EksServices, path: str
) -> None:
    ca = base64.b64encode(trustme.CA().cert_pem.bytes()).decode()
    unreachable = ExecutorCall(
        resource="arn:aws:states:::eks:call",
        service="eks",
        action="call",
        pattern=IntegrationPattern.REQUEST_RESPONSE,
        parameters={
            "ClusterName": "demo",
            "CertificateAuthority": ca,
            "Endpoint": "https://127.0.0.1:9",
            "Method": "GET",
            "Path": path,
        },
    )
    with pytest.raises(StatesError) as caught:
        await eks_call(unreachable, CTX, services)
    assert caught.value.error == "States.Runtime"
    assert "Path" in (caught.value.cause or "")


async def test_a_server_signed_by_another_ca_fails_tls(kube: Any, services: EksServices) -> None:
    other = base64.b64encode(trustme.CA().cert_pem.bytes()).decode()
    with pytest.raises(StatesError) as caught:
        await eks_call(call(kube, "GET", "/api/v1/namespaces", CertificateAuthority=other), CTX, services)
    assert caught.value.error == "States.TaskFailed"
    assert "TLS" in (caught.value.cause or "")


async def test_a_text_answer_such_as_a_pod_log_is_returned_as_a_string(
    kube: Any, services: EksServices
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "talker", "annotations": {"sim.statewright.io/log": '{"not": "parsed"}'}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
    }
    await eks_call(call(kube, "POST", "/api/v1/namespaces/default/pods", RequestBody=pod), CTX, services)
    result: dict[str, Any] = {}
    for _ in range(100):
        try:
            result = await eks_call(
                call(kube, "GET", "/api/v1/namespaces/default/pods/talker/log"), CTX, services
            )
        except StatesError:
            await anyio.sleep(0.05)
            continue
        if result.get("ResponseBody"):
            break
        await anyio.sleep(0.05)
    assert result["StatusCode"] == 200
    assert isinstance(result["ResponseBody"], str) and '{"not": "parsed"}' in result["ResponseBody"]

