"""kubernetes-asyncio, configured as for EKS (host, CA file, bearer token), against the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kube_support import ADMIN_TOKEN, job_manifest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from sim.kube import KubeSimulator


@pytest.fixture
async def k8s(kube: KubeSimulator, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    ca_file = tmp_path / "ca.pem"
    kube.ca.write_ca_file(ca_file)
    configuration = client.Configuration(host=kube.url)
    configuration.ssl_ca_cert = str(ca_file)
    configuration.api_key = {"BearerToken": ADMIN_TOKEN}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    async with client.ApiClient(configuration) as api_client:
        yield api_client


async def test_create_get_list_and_delete_a_job(k8s: client.ApiClient, kube: KubeSimulator) -> None:
    batch = client.BatchV1Api(k8s)
    core = client.CoreV1Api(k8s)

    created = await batch.create_namespaced_job("default", job_manifest("typed", seconds=0.05))
    fetched = await batch.read_namespaced_job("typed", "default")
    listed = await batch.list_namespaced_job("default", label_selector="job-name=typed")
    while not (await batch.read_namespaced_job_status("typed", "default")).status.completion_time:
        await asyncio.sleep(0.02)
    pods = await core.list_namespaced_pod("default", label_selector="job-name=typed")
    log = await core.read_namespaced_pod_log(pods.items[0].metadata.name, "default")
    deleted = await batch.delete_namespaced_job("typed", "default", propagation_policy="Background")

    assert created.metadata.uid == fetched.metadata.uid
    assert [job.metadata.name for job in listed.items] == ["typed"]
    assert pods.items[0].status.phase == "Succeeded"
    assert log == ""
    assert deleted.status == "Success"
    with pytest.raises(ApiException) as missing:
        await batch.read_namespaced_job("typed", "default")
    assert missing.value.status == 404


async def test_watching_jobs_sees_the_job_complete(k8s: client.ApiClient) -> None:
    batch = client.BatchV1Api(k8s)
    await batch.create_namespaced_job("default", job_manifest("watched", seconds=0.05))

    conditions: list[str] = []
    async with watch.Watch() as stream:
        async for event in stream.stream(
            batch.list_namespaced_job, "default", field_selector="metadata.name=watched", timeout_seconds=10
        ):
            job = event["object"]
            conditions = [c.type for c in (job.status.conditions or [])]
            if "Complete" in conditions:
                break

    assert conditions == ["SuccessCriteriaMet", "Complete"]


async def test_an_error_status_surfaces_as_api_exception(k8s: client.ApiClient) -> None:
    batch = client.BatchV1Api(k8s)
    manifest = job_manifest("bad-policy", restart_policy="Always")

    with pytest.raises(ApiException) as error:
        await batch.create_namespaced_job("default", manifest)

    assert error.value.status == 422
