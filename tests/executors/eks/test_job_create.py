"""A runJob's create queued for a connection keeps little: no marked copy of its Job, no generator.

In a burst of starts thousands of creates queue for the few request slots of
one API server at once, and what each keeps while it queues is what the
process grows by (the allocator keeps that memory after the burst). The
marked Job (name, label, annotations) is made once a slot is held, and the
call's generator on its first draw, with the same values as before.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from engine.aio.random import LazyRandom
from engine.executor import ExecutorContext
from engine.jsonvalue import JSON
from executors.eks import create, recovery
from executors.eks.services import EksServices
from tests.support.eks import CountingKube

CTX = ExecutorContext(
    execution_arn="arn:aws:states:us-east-1:123456789012:execution:m:queued",
    execution_name="queued",
    state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:m",
    state_name="Run",
    entered_event_id=2,
)
MANIFEST: dict[str, JSON] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"generateName": "queued-"},
    "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}},
}


def hold_every_write_slot(services: EksServices, kube: CountingKube) -> int:
    """Take every slot of the API server's writes pool, as creates in flight would; returns how many."""
    slots = services.connections.request_slots(kube.url, kube.ca_b64)
    held = 0
    while slots.try_acquire():
        held += 1
    return held


def release(services: EksServices, kube: CountingKube, held: int) -> None:
    slots = services.connections.request_slots(kube.url, kube.ca_b64)
    for _ in range(held):
        slots.release()


def test_the_call_generator_draws_as_a_random_seeded_by_the_mark_and_holds_no_state_until_then() -> None:
    rng = create.call_rng("owner")
    assert isinstance(rng, LazyRandom)
    assert rng._rng is None  # no Mersenne Twister state (2.5 KB) for a create that never draws
    real = random.Random(hashlib.sha256(b"create|owner").digest())
    assert [rng.uniform(0.0, 1.0) for _ in range(3)] == [real.uniform(0.0, 1.0) for _ in range(3)]


def test_a_marked_job_is_made_once_and_is_the_manifest_marked_as_before() -> None:
    job = create.MarkedJob(CTX, MANIFEST, durable=True)
    made = job()
    assert job() is made
    expected = create.mark_job(CTX, MANIFEST, create.call_rng(recovery.call_id(CTX)), durable=True)
    assert made == expected
    assert job.name is not None and job.name.startswith("queued-") and job.name == expected["metadata"]["name"]
    assert MANIFEST["metadata"] == {"generateName": "queued-"}  # the Task's own value is not changed


async def test_a_create_body_made_by_a_function_is_made_only_once_a_request_slot_is_held(
    kube: CountingKube, services: EksServices
) -> None:
    client = services.new_kube_client("demo", kube.url, kube.ca_b64)
    made: list[str] = []

    def manifest() -> dict[str, JSON]:
        made.append("made")
        return {**MANIFEST, "metadata": {"name": "from-a-function"}}

    held = hold_every_write_slot(services, kube)
    assert held > 0
    async with anyio.create_task_group() as tg:
        created: list[dict[str, JSON]] = []

        async def go() -> None:
            created.append(await client.create_job("default", manifest))

        tg.start_soon(go)
        await anyio.sleep(0.05)
        assert made == []  # queued for a connection: nothing built yet
        release(services, kube, held)
    assert made == ["made"]
    assert created[0]["metadata"]["name"] == "from-a-function"


async def test_a_queued_create_marks_its_job_only_once_it_is_sent(
    kube: CountingKube, services: EksServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = services.new_kube_client("demo", kube.url, kube.ca_b64)
    marked: list[str] = []
    real_mark = create.mark_job

    def spy(ctx: ExecutorContext, manifest: Mapping[str, JSON], rng: random.Random, *, durable: bool) -> Any:
        marked.append(ctx.execution_name)
        return real_mark(ctx, manifest, rng, durable=durable)

    monkeypatch.setattr(create, "mark_job", spy)
    held = hold_every_write_slot(services, kube)
    async with anyio.create_task_group() as tg:
        created: list[dict[str, JSON]] = []

        async def go() -> None:
            created.append(await create.create_job(CTX, client, "default", MANIFEST, durable=True))

        tg.start_soon(go)
        await anyio.sleep(0.05)
        assert marked == []  # queued: the Task's manifest only, no marked copy
        release(services, kube, held)
    assert marked == ["queued"]
    job = created[0]
    assert str(job["metadata"]["name"]).startswith("queued-")
    assert recovery.is_own_job(CTX, job)
