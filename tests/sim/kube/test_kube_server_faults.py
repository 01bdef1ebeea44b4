"""The simulator base (TLS from our CA, port 0, idempotent close) and seeded fault injection."""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter

import aiohttp
import pytest
from kube_support import ADMIN_TOKEN

from sim.faults import Fault, FaultConfig, FaultInjector
from sim.kube import KubeSimulator
from sim.tls import CertificateAuthority


def test_the_same_seed_injects_the_same_faults() -> None:
    config = FaultConfig(seed=7, throttle_rate=0.2, error_rate=0.1, unavailable_rate=0.1, drop_rate=0.1)

    one, two, other = (
        FaultInjector(config),
        FaultInjector(config),
        FaultInjector(FaultConfig(seed=8, drop_rate=0.5)),
    )

    drawn = [one.next_fault() for _ in range(200)]
    assert drawn == [two.next_fault() for _ in range(200)]
    assert drawn != [other.next_fault() for _ in range(200)]


def test_fault_rates_are_respected_roughly() -> None:
    injector = FaultInjector(FaultConfig(seed=1, throttle_rate=0.3, unavailable_rate=0.2))

    counts = Counter(injector.next_fault() for _ in range(10_000))

    assert 2_700 < counts[Fault.THROTTLE] < 3_300
    assert 1_700 < counts[Fault.UNAVAILABLE] < 2_300
    assert counts[Fault.DROP] == 0


def test_invalid_fault_rates_are_rejected() -> None:
    with pytest.raises(ValueError, match="sum to at most 1"):
        FaultConfig(throttle_rate=0.7, error_rate=0.7)


async def test_the_server_verifies_with_its_ca_only_and_closes_idempotently() -> None:
    ca = CertificateAuthority()
    kube = KubeSimulator(ca=ca, static_tokens={ADMIN_TOKEN: "admin"})
    await kube.start()
    assert kube.url.startswith("https://127.0.0.1:")
    assert not kube.url.endswith("/")
    assert kube.ca_b64 == ca.ca_b64
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(kube.url + "/version", ssl=ca.client_ssl_context()) as response:
                assert response.status == 200
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(kube.url + "/version", ssl=ssl.create_default_context())
    finally:
        await kube.close()
        await kube.close()


async def test_plain_http_is_an_explicit_option() -> None:
    async with KubeSimulator(tls=False, static_tokens={ADMIN_TOKEN: "admin"}) as kube:
        async with aiohttp.ClientSession() as session:
            async with session.get(kube.url + "/version") as response:
                assert kube.url.startswith("http://")
                assert response.status == 200


async def test_injected_faults_answer_kubernetes_status_objects_with_retry_after() -> None:
    faults = FaultConfig(
        seed=3, throttle_rate=0.5, unavailable_rate=0.25, error_rate=0.25, retry_after_seconds=2
    )
    async with KubeSimulator(static_tokens={ADMIN_TOKEN: "admin"}, faults=faults) as kube:
        statuses: Counter[int] = Counter()
        connector = aiohttp.TCPConnector(ssl=kube.ca.client_ssl_context())
        async with aiohttp.ClientSession(
            connector=connector, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as session:
            for _ in range(40):
                async with session.get(kube.url + "/api/v1/namespaces") as response:
                    statuses[response.status] += 1
                    body = await response.json()
                    if response.status == 429:
                        assert response.headers["Retry-After"] == "2"
                        assert body["reason"] == "TooManyRequests"
                        assert body["details"]["retryAfterSeconds"] == 2
                    elif response.status == 503:
                        assert body["reason"] == "ServiceUnavailable"
            kube.set_faults(None)
            async with session.get(kube.url + "/api/v1/namespaces") as response:
                assert response.status == 200

    assert set(statuses) == {429, 500, 503}


async def test_dropped_connections_close_without_an_answer() -> None:
    async with KubeSimulator(static_tokens={ADMIN_TOKEN: "admin"}, faults=FaultConfig(drop_rate=1.0)) as kube:
        connector = aiohttp.TCPConnector(ssl=kube.ca.client_ssl_context())
        async with aiohttp.ClientSession(connector=connector) as session:
            with pytest.raises(aiohttp.ClientError):
                await session.get(kube.url + "/version")


async def test_added_latency_delays_answers() -> None:
    async with KubeSimulator(
        static_tokens={ADMIN_TOKEN: "admin"}, faults=FaultConfig(latency_seconds=0.2)
    ) as kube:
        connector = aiohttp.TCPConnector(ssl=kube.ca.client_ssl_context())
        async with aiohttp.ClientSession(connector=connector) as session:
            loop = asyncio.get_running_loop()
            began = loop.time()
            async with session.get(kube.url + "/version") as response:
                assert response.status == 200
            assert loop.time() - began >= 0.2


async def test_watches_are_cut_early_when_configured() -> None:
    async with KubeSimulator(
        static_tokens={ADMIN_TOKEN: "admin"}, faults=FaultConfig(watch_cut_seconds=0.3)
    ) as kube:
        connector = aiohttp.TCPConnector(ssl=kube.ca.client_ssl_context())
        async with aiohttp.ClientSession(connector=connector) as session:
            loop = asyncio.get_running_loop()
            began = loop.time()
            async with session.get(
                kube.url + f"/api/v1/namespaces/default/pods?watch=1&resourceVersion={kube.store.rv}",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            ) as response:
                assert await response.read() == b""
            assert 0.25 <= loop.time() - began < 2


async def test_closing_the_server_ends_open_watches_promptly() -> None:
    kube = KubeSimulator(static_tokens={ADMIN_TOKEN: "admin"})
    await kube.start()
    connector = aiohttp.TCPConnector(ssl=kube.ca.client_ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        response = await session.get(
            kube.url + f"/api/v1/pods?watch=1&resourceVersion={kube.store.rv}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        loop = asyncio.get_running_loop()
        began = loop.time()
        await kube.close()
        assert await response.read() == b""
        assert loop.time() - began < 1.5
