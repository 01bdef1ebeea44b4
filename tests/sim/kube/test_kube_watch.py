"""Watches: event streams, selectors at the view's edge, bookmarks, resuming, 410 Expired."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest
from kube_support import ADMIN_TOKEN, Request

from sim.kube import KubeSimulator
from sim.kube.store import Watcher

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


async def watch_events(
    kube: KubeSimulator, path: str, count: int, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """Read ``count`` events (or until the stream ends) from a watch URL."""
    events: list[dict[str, Any]] = []
    connector = aiohttp.TCPConnector(ssl=kube.ca.client_ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(
            kube.url + path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as response:
            assert response.status == 200

            async def read() -> None:
                async for line in response.content:
                    events.append(orjson.loads(line))
                    if len(events) >= count:
                        return

            await asyncio.wait_for(read(), timeout)
    return events


async def started_watch(kube: KubeSimulator, path: str, count: int) -> asyncio.Task[list[dict[str, Any]]]:
    task = asyncio.create_task(watch_events(kube, path, count))
    loop = asyncio.get_running_loop()
    end = loop.time() + 5
    while not any(kube.store.tables[key].watchers for key in kube.store.tables) and loop.time() < end:
        await asyncio.sleep(0.005)
    return task


async def test_a_watch_streams_added_modified_and_deleted_events(api: Request, kube: KubeSimulator) -> None:
    start = kube.store.rv
    task = await started_watch(kube, f"{CONFIGMAPS}?watch=1&resourceVersion={start}", 3)

    created = (await api("POST", CONFIGMAPS, json={"metadata": {"name": "w"}, "data": {"a": "1"}})).json
    await api("PUT", f"{CONFIGMAPS}/w", json={**created, "data": {"a": "2"}})
    await api("DELETE", f"{CONFIGMAPS}/w")
    events = await task

    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1]["object"]["data"] == {"a": "2"}
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and len(set(versions)) == 3


async def test_a_watch_without_resource_version_starts_with_the_current_objects(
    api: Request, kube: KubeSimulator
) -> None:
    await api("POST", CONFIGMAPS, json={"metadata": {"name": "existing"}})

    events = await watch_events(kube, f"{CONFIGMAPS}?watch=true", 1)

    assert events[0]["type"] == "ADDED"
    assert events[0]["object"]["metadata"]["name"] == "existing"


async def test_a_label_selected_watch_sees_objects_enter_and_leave_its_view(
    api: Request, kube: KubeSimulator
) -> None:
    start = kube.store.rv
    task = await started_watch(kube, f"{CONFIGMAPS}?watch=1&labelSelector=app%3Dx&resourceVersion={start}", 2)

    created = (await api("POST", CONFIGMAPS, json={"metadata": {"name": "m"}})).json
    labelled = (
        await api(
            "PUT",
            f"{CONFIGMAPS}/m",
            json={**created, "metadata": {**created["metadata"], "labels": {"app": "x"}}},
        )
    ).json
    await api("PUT", f"{CONFIGMAPS}/m", json={**labelled, "metadata": {**labelled["metadata"], "labels": {}}})
    events = await task

    assert [e["type"] for e in events] == ["ADDED", "DELETED"]


async def test_a_watch_resumes_from_a_resource_version_in_the_history(
    api: Request, kube: KubeSimulator
) -> None:
    first = (await api("POST", CONFIGMAPS, json={"metadata": {"name": "one"}})).json
    await api("POST", CONFIGMAPS, json={"metadata": {"name": "two"}})

    events = await watch_events(
        kube, f"{CONFIGMAPS}?watch=1&resourceVersion={first['metadata']['resourceVersion']}", 1
    )

    assert [e["object"]["metadata"]["name"] for e in events] == ["two"]


async def test_a_watch_from_a_compacted_resource_version_gets_410_expired(
    api: Request, kube: KubeSimulator
) -> None:
    kube.store.history_size = 3
    for index in range(6):
        await api("POST", CONFIGMAPS, json={"metadata": {"name": f"c{index}"}})

    events = await watch_events(kube, f"{CONFIGMAPS}?watch=1&resourceVersion=1", 1)

    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410
    assert events[0]["object"]["reason"] == "Expired"
    assert events[0]["object"]["message"].startswith("too old resource version: 1 (")


async def test_bookmarks_arrive_when_allowed(kube: KubeSimulator) -> None:
    events = await watch_events(
        kube, f"{CONFIGMAPS}?watch=1&allowWatchBookmarks=true&resourceVersion={kube.store.rv}", 1
    )

    assert events[0]["type"] == "BOOKMARK"
    assert events[0]["object"]["kind"] == "ConfigMap"
    assert events[0]["object"]["metadata"]["resourceVersion"] == str(kube.store.rv)


async def test_timeout_seconds_ends_the_watch(kube: KubeSimulator) -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()

    events = await watch_events(
        kube, f"{CONFIGMAPS}?watch=1&timeoutSeconds=1&resourceVersion={kube.store.rv}", 1
    )

    assert events == []
    assert 0.9 <= loop.time() - began < 3


async def test_many_watchers_share_one_serialized_frame(
    api: Request, kube: KubeSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = kube.store.rv
    tasks = [
        asyncio.create_task(watch_events(kube, f"{CONFIGMAPS}?watch=1&resourceVersion={start}", 1))
        for _ in range(5)
    ]
    loop = asyncio.get_running_loop()
    end = loop.time() + 5
    while sum(len(t.watchers) for t in kube.store.tables.values()) < 5 and loop.time() < end:
        await asyncio.sleep(0.005)
    frames: list[bytes] = []
    original = Watcher.push

    def spy(self: Watcher, frame: bytes | None) -> None:
        if frame is not None:
            frames.append(frame)
        original(self, frame)

    monkeypatch.setattr(Watcher, "push", spy)
    await api("POST", CONFIGMAPS, json={"metadata": {"name": "shared"}})
    results = await asyncio.gather(*tasks)

    assert all(r[0]["object"]["metadata"]["name"] == "shared" for r in results)
    assert len(frames) == 5
    assert all(frame is frames[0] for frame in frames)


async def test_a_watch_asking_for_tables_gets_one_row_tables(api: Request, kube: KubeSimulator) -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    await api("POST", CONFIGMAPS, json={"metadata": {"name": "tabled"}})
    connector = aiohttp.TCPConnector(ssl=kube.ca.client_ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(
            kube.url + f"{CONFIGMAPS}?watch=1",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Accept": accept},
        ) as response:
            event = orjson.loads(await asyncio.wait_for(response.content.readline(), 5))

    assert event["type"] == "ADDED"
    assert event["object"]["kind"] == "Table"
    assert [c["name"] for c in event["object"]["columnDefinitions"]] == ["Name", "Age"]
    assert event["object"]["rows"][0]["cells"][0] == "tabled"


async def test_send_initial_events_ends_the_initial_list_with_a_marked_bookmark(
    api: Request, kube: KubeSimulator
) -> None:
    await api("POST", CONFIGMAPS, json={"metadata": {"name": "listed"}})

    events = await watch_events(
        kube,
        f"{CONFIGMAPS}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
        "&resourceVersionMatch=NotOlderThan&resourceVersion=",
        2,
    )

    assert events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "listed"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
