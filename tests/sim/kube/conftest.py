"""Fixtures for the Kubernetes simulator tests: a running simulator, an HTTP client, kubectl."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yaml
from kube_support import ADMIN_ARN, ADMIN_TOKEN, FakeSts, Kubectl, KubectlResult, Reply, Request

from sim.kube import KubeSimulator


@pytest.fixture
def sts() -> FakeSts:
    return FakeSts()


@pytest.fixture
async def kube(sts: FakeSts) -> AsyncIterator[KubeSimulator]:
    simulator = KubeSimulator(
        static_tokens={ADMIN_TOKEN: "admin"},
        identity_resolver=sts,
        admin_arns=[ADMIN_ARN],
        pod_startup_seconds=0.01,
        backoff_seconds=0.05,
        bookmark_seconds=0.2,
    )
    async with simulator:
        yield simulator


@pytest.fixture
async def api(kube: KubeSimulator) -> AsyncIterator[Request]:
    """``await api(method, path, json=..., token=..., headers=...)`` against the simulator."""
    connector = aiohttp.TCPConnector(ssl=kube.ca.client_ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call(
            method: str,
            path: str,
            *,
            token: str | None = ADMIN_TOKEN,
            data: Any = None,
            json: Any = None,
            headers: dict[str, str] | None = None,
        ) -> Reply:
            sent = dict(headers or {})
            if token is not None:
                sent["Authorization"] = f"Bearer {token}"
            if json is not None:
                data = orjson.dumps(json)
                sent.setdefault("Content-Type", "application/json")
            async with session.request(method, kube.url + path, data=data, headers=sent) as response:
                return Reply(response.status, await response.read(), response.headers)

        yield call


@pytest.fixture
def kubectl(kube: KubeSimulator, tmp_path: Path) -> Kubectl:
    """Run the real kubectl against the simulator (``await kubectl("get", "pods", token=...)``)."""
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail("kubectl is not installed; these tests need the real client")

    async def run(*args: str, token: str = ADMIN_TOKEN, timeout: float = 60.0) -> KubectlResult:
        config = tmp_path / f"kubeconfig-{abs(hash(token))}"
        if not config.exists():
            config.write_text(yaml.safe_dump(kube.kubeconfig(token)))
        process = await asyncio.create_subprocess_exec(
            binary,
            f"--kubeconfig={config}",
            f"--cache-dir={tmp_path / 'cache'}",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
        assert process.returncode is not None
        return KubectlResult(process.returncode, stdout.decode(), stderr.decode())

    return run
