"""Pods and their logs: phases, log options, multi-container 400s, restarts, the process runtime."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator

import pytest
from kube_support import ADMIN_TOKEN, Request, job_condition, job_manifest, wait_for

from sim.kube import KubeSimulator

PODS = "/api/v1/namespaces/default/pods"


def pod(
    name: str,
    *,
    seconds: float = 0.05,
    log: str = "",
    exit_code: int = 0,
    restart_policy: str = "Never",
    containers: tuple[str, ...] = ("main",),
) -> dict[str, object]:
    annotations = {"sim.statewright.io/seconds": str(seconds), "sim.statewright.io/exit-code": str(exit_code)}
    if log:
        annotations["sim.statewright.io/log"] = log
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "restartPolicy": restart_policy,
            "containers": [{"name": c, "image": "busybox"} for c in containers],
        },
    }


def phase(kube: KubeSimulator, name: str) -> str:
    return str(((kube.store.get("", "pods", "default", name) or {}).get("status") or {}).get("phase"))


async def test_a_pod_goes_pending_running_succeeded(api: Request, kube: KubeSimulator) -> None:
    created = await api("POST", PODS, json=pod("p", seconds=0.2))
    assert created.json["status"]["phase"] == "Pending"

    await wait_for(lambda: phase(kube, "p") == "Running")
    running = kube.store.get("", "pods", "default", "p") or {}
    await wait_for(lambda: phase(kube, "p") == "Succeeded")

    assert running["spec"]["nodeName"]
    assert running["status"]["containerStatuses"][0]["ready"] is True
    assert "running" in running["status"]["containerStatuses"][0]["state"]


async def test_logs_honour_tail_lines_limit_bytes_and_timestamps(api: Request, kube: KubeSimulator) -> None:
    await api("POST", PODS, json=pod("l", log="one\ntwo\nthree\n"))
    await wait_for(lambda: phase(kube, "l") == "Succeeded")

    full = await api("GET", f"{PODS}/l/log")
    tail = await api("GET", f"{PODS}/l/log?tailLines=2")
    limited = await api("GET", f"{PODS}/l/log?limitBytes=5")
    stamped = await api("GET", f"{PODS}/l/log?timestamps=true&tailLines=1")
    recent = await api("GET", f"{PODS}/l/log?sinceSeconds=60")

    assert full.body == b"one\ntwo\nthree\n"
    assert full.headers["Content-Type"].startswith("text/plain")
    assert tail.body == b"two\nthree\n"
    assert limited.body == b"one\nt"
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n", stamped.body)
    assert recent.body == full.body


async def test_logs_since_time_read_an_rfc3339_time_with_its_offset(
    api: Request, kube: KubeSimulator
) -> None:
    await api("POST", PODS, json=pod("t", log="one\ntwo\n"))
    await wait_for(lambda: phase(kube, "t") == "Succeeded")
    written = time.time()

    def since(moment: float, offset_hours: int = 0) -> str:
        zone = dt.timezone(dt.timedelta(hours=offset_hours))
        text = dt.datetime.fromtimestamp(int(moment), zone).isoformat()
        return urllib.parse.quote(text.replace("+00:00", "Z"), safe="")

    before = await api("GET", f"{PODS}/t/log?sinceTime={since(written - 60)}")
    after = await api("GET", f"{PODS}/t/log?sinceTime={since(written + 60)}")
    # One minute before, written as local time two hours east of UTC: the offset counts.
    east = await api("GET", f"{PODS}/t/log?sinceTime={since(written - 60, offset_hours=2)}")
    garbage = await api("GET", f"{PODS}/t/log?sinceTime=yesterday")

    assert before.body == b"one\ntwo\n"
    assert after.body == b""
    assert east.body == b"one\ntwo\n"
    assert garbage.status == 400
    assert "invalid sinceTime 'yesterday'" in garbage.json["message"]


async def test_logs_of_a_pod_with_several_containers_need_a_container_name(
    api: Request, kube: KubeSimulator
) -> None:
    await api("POST", PODS, json=pod("multi", log="hi\n", containers=("a", "b")))
    await wait_for(lambda: phase(kube, "multi") == "Succeeded")

    unnamed = await api("GET", f"{PODS}/multi/log")
    named = await api("GET", f"{PODS}/multi/log?container=b")
    unknown = await api("GET", f"{PODS}/multi/log?container=c")

    assert unnamed.status == 400
    assert unnamed.json["message"] == "a container name must be specified for pod multi, choose one of: [a b]"
    assert named.body == b"hi\n"
    assert unknown.status == 400


async def test_previous_logs_come_from_the_restarted_container(api: Request, kube: KubeSimulator) -> None:
    await api(
        "POST",
        PODS,
        json=pod("crash", seconds=0.02, log="attempt\n", exit_code=1, restart_policy="OnFailure"),
    )

    await wait_for(
        lambda: (
            ((kube.store.get("", "pods", "default", "crash") or {}).get("status") or {})
            .get("containerStatuses", [{}])[0]
            .get("restartCount", 0)
            >= 1
        )
    )
    previous = await api("GET", f"{PODS}/crash/log?previous=true")
    status = (kube.store.get("", "pods", "default", "crash") or {})["status"]["containerStatuses"][0]

    assert previous.body == b"attempt\n"
    assert status["lastState"]["terminated"]["exitCode"] == 1


async def test_previous_logs_without_a_restart_are_400(api: Request, kube: KubeSimulator) -> None:
    await api("POST", PODS, json=pod("once"))
    await wait_for(lambda: phase(kube, "once") == "Succeeded")

    reply = await api("GET", f"{PODS}/once/log?previous=true")

    assert reply.status == 400


async def test_a_failing_container_fails_the_pod(api: Request, kube: KubeSimulator) -> None:
    await api("POST", PODS, json=pod("f", exit_code=2))

    await wait_for(lambda: phase(kube, "f") == "Failed")

    terminated = (kube.store.get("", "pods", "default", "f") or {})["status"]["containerStatuses"][0]["state"]
    assert terminated["terminated"]["exitCode"] == 2
    assert terminated["terminated"]["reason"] == "Error"


async def test_deleting_a_running_pod_terminates_it_gracefully(api: Request, kube: KubeSimulator) -> None:
    await api("POST", PODS, json=pod("g", seconds=60))
    await wait_for(lambda: phase(kube, "g") == "Running")

    reply = await api("DELETE", f"{PODS}/g")

    assert reply.status == 200
    assert reply.json["metadata"]["deletionTimestamp"]
    await wait_for(lambda: kube.store.get("", "pods", "default", "g") is None)


@pytest.fixture
async def process_kube() -> AsyncIterator[KubeSimulator]:
    async with KubeSimulator(
        static_tokens={ADMIN_TOKEN: "admin"},
        runtime="process",
        pod_startup_seconds=0.01,
        backoff_seconds=0.05,
    ) as simulator:
        yield simulator


async def test_the_process_runtime_runs_the_command_with_its_env_and_keeps_its_output(
    process_kube: KubeSimulator,
) -> None:
    kube = process_kube
    jobs = kube.catalog.lookup("batch", "v1", "jobs")
    assert jobs is not None
    manifest = job_manifest("proc")
    manifest["spec"]["template"]["spec"]["containers"] = [
        {  # type: ignore[index]
            "name": "main",
            "image": "python:3",
            "command": [sys.executable, "-c"],
            "args": ["import os, sys; print('hello', os.environ['GREETING']); sys.stderr.write('err\\n')"],
            "env": [{"name": "GREETING", "value": "world"}],
        }
    ]
    kube.registry.create(jobs, "default", manifest)

    await wait_for(lambda: job_condition(kube, "proc", "Complete"), timeout=15)

    [pod_obj] = kube.store.objects("", "pods", "default")
    assert kube.kubelet is not None
    log = kube.kubelet.read_log(pod_obj, None)
    assert b"hello world\n" in log and b"err\n" in log


async def test_the_process_runtime_reports_the_exit_code(process_kube: KubeSimulator) -> None:
    kube = process_kube
    jobs = kube.catalog.lookup("batch", "v1", "jobs")
    assert jobs is not None
    manifest = job_manifest("exit7", backoff_limit=0)
    manifest["spec"]["template"]["spec"]["containers"] = [
        {  # type: ignore[index]
            "name": "main",
            "image": "python:3",
            "command": [sys.executable, "-c", "raise SystemExit(7)"],
        }
    ]
    kube.registry.create(jobs, "default", manifest)

    failed = await wait_for(lambda: job_condition(kube, "exit7", "Failed"), timeout=15)

    [pod_obj] = kube.store.objects("", "pods", "default")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert pod_obj["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 7


async def test_the_process_runtime_stops_a_deleted_pod(process_kube: KubeSimulator) -> None:
    kube = process_kube
    pods = kube.catalog.lookup("", "v1", "pods")
    assert pods is not None
    kube.registry.create(
        pods,
        "default",
        {
            "metadata": {"name": "sleeper"},
            "spec": {
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {
                        "name": "main",
                        "image": "x",
                        "command": [sys.executable, "-c", "import time; time.sleep(60)"],
                    }
                ],
            },
        },
    )
    await wait_for(lambda: phase(kube, "sleeper") == "Running")

    kube.registry.delete(pods, "default", "sleeper")

    await wait_for(lambda: kube.store.get("", "pods", "default", "sleeper") is None, timeout=5)


async def test_following_a_log_streams_until_the_container_ends(api: Request, kube: KubeSimulator) -> None:
    await api("POST", PODS, json=pod("follow", seconds=0.4, log="first\n"))
    await wait_for(lambda: phase(kube, "follow") == "Running")
    loop = asyncio.get_running_loop()
    began = loop.time()

    reply = await api("GET", f"{PODS}/follow/log?follow=true")

    assert reply.body == b"first\n"
    assert loop.time() - began >= 0.2
    assert phase(kube, "follow") == "Succeeded"


def test_the_process_runtime_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        KubeSimulator(runtime="process", host="0.0.0.0")


async def test_a_bare_always_restarting_pod_without_a_run_time_keeps_running(
    api: Request, kube: KubeSimulator
) -> None:
    await api(
        "POST",
        PODS,
        json={
            "metadata": {"name": "server"},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
        },
    )
    await wait_for(lambda: phase(kube, "server") == "Running")

    await asyncio.sleep(1.2)

    status = (kube.store.get("", "pods", "default", "server") or {})["status"]
    assert status["phase"] == "Running"
    assert status["containerStatuses"][0]["restartCount"] == 0
