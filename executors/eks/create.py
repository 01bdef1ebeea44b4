"""Creating a runJob's Job exactly once, through throttling, server errors and dropped connections.

A POST that fails may or may not have created the Job, and trying again
blindly makes either a second Job (``generateName``) or an ``EKS.409`` for the
Job we created ourselves. So each failure is sorted first:

* **safe to send again** — nothing was created: a 429 (the server refused it
  before processing; wait its ``Retry-After``), a 503, or a connection that
  could not be made (refused, unreachable: the request never left);
* **ambiguous** — the request reached the server and the answer is lost or
  says nothing (a connection dropped after sending, a 500/502/504, a timeout):
  read the Job back by name and by its owner mark before creating again;
* anything else (400, 403, 404, 409 for a namesake, 422, TLS) fails the Task
  at once with the error AWS's integration gives.

Every Job is created with a fixed name and an owner mark, so a read-back is
exact: a ``generateName`` manifest gets its name here (the prefix plus five
characters of Kubernetes' alphabet, drawn from the call's seeded generator),
and the Job carries the call's mark of ``recovery`` (the execution ARN, the
Task state's Entered event id and the attempt as annotations; with a durable
store also the ``statewright.io/call`` label, put on the pod template when
the Job has no labels of its own so that Kubernetes still defaults the Job's
labels from the template: ``job-name``, ``controller-uid``, which users select
by), the same mark a resumed execution recognizes its Job by after a crash. A
Job with our name and our mark is ours (adopted, never a 409); one with our
name and another mark, or none, is a namesake (``EKS.409``, as AWS answers).

Retries back off with full jitter from a ``random.Random`` seeded by the
call's mark (the execution ARN comes from the engine's seeded id source), and sleep
on ``ctx.clock``, so virtual time and replays see the same schedule.

The first attempt holds one of the API server's write slots before anything is
built. In a burst of starts thousands of creates wait for the few slots at
once; an execution that may park (``ctx.park``) waits in the slots' line
without a task or stack of its own, and its Task runs again once a slot is
handed to it (the line stays in order; a parked call keeps only its place).
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, cast

import aiohttp
import anyio
import anyio.lowlevel

from engine.aio.random import LazyRandom
from engine.errors import StatesError
from engine.executor import ExecutorContext
from engine.jsonvalue import JSON, JSONDecodeError, dumps_str, loads
from executors.eks import recovery
from executors.eks.http1 import LeanHttpError, LeanTLSError
from executors.eks.kube import KubeClient
from executors.eks.ratelimit import MAX_RETRY_AFTER_SECONDS, RetryRule

log = logging.getLogger(__name__)

CREATE_MAX_ATTEMPTS: Final = 10
CREATE_BACKOFF_BASE_SECONDS: Final = 0.25
CREATE_BACKOFF_CAP_SECONDS: Final = 8.0
ONE_ATTEMPT: Final = RetryRule(max_attempts=1)
SAFE_STATUSES: Final = frozenset({"EKS.429", "EKS.503"})
AMBIGUOUS_STATUSES: Final = frozenset({"EKS.500", "EKS.502", "EKS.504"})
NAME_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
"""What kube-apiserver appends to a ``generateName`` (k8s.io/apimachinery ``rand.String``)."""
NAME_SUFFIX_LENGTH: Final = 5
MAX_NAME_LENGTH: Final = 63


def call_rng(owner: str) -> random.Random:
    """The call's generator, seeded by its mark (jitter and generated names).

    Made on its first draw (``LazyRandom``): most creates never draw, and thousands
    queue for a connection at once, each holding its generator (2.5 KB of state).
    """
    # A duck-typed stand-in for random.Random (see LazyRandom).
    return cast(random.Random, LazyRandom(hashlib.sha256(f"create|{owner}".encode()).digest()))


def mark_job(
    ctx: ExecutorContext, manifest: Mapping[str, JSON], rng: random.Random, *, durable: bool
) -> dict[str, JSON]:
    """The manifest with a fixed name and this call's mark (a copy; see ``recovery.mark_job``).

    With a durable store the mark is ``recovery``'s label and annotations; without
    one, the annotations only.
    """
    if durable:
        out = recovery.mark_job(ctx, dict(manifest))
    else:
        out = dict(manifest)
        meta = out.get("metadata")
        meta = dict(meta) if isinstance(meta, dict) else {}
        annotations = meta.get("annotations")
        annotations = dict(annotations) if isinstance(annotations, dict) else {}
        annotations.update(recovery.marks(ctx))
        meta["annotations"] = annotations
        out["metadata"] = meta
    meta = dict(out["metadata"])
    if not meta.get("name") and isinstance(meta.get("generateName"), str) and meta["generateName"]:
        prefix = str(meta["generateName"])[: MAX_NAME_LENGTH - NAME_SUFFIX_LENGTH]
        meta["name"] = prefix + "".join(rng.choice(NAME_ALPHABET) for _ in range(NAME_SUFFIX_LENGTH))
        del meta["generateName"]
    out["metadata"] = meta
    return out


class MarkedJob:
    """The Job a create sends: the manifest with the call's name and mark, made when first sent.

    Thousands of creates may queue for a connection at once (a burst of starts);
    until its request is sent, each keeps only the manifest it was given (its
    execution's own value), not a marked copy and a generator. Made once: every
    attempt sends the same Job, with the same generated name.

    Args:
        ctx: the call's context (its mark).
        manifest: the Job manifest as the Task gave it (not changed).
        durable: mark it for a durable store (see ``mark_job``).
    """

    __slots__ = ("_ctx", "_durable", "_job", "_manifest", "_rng")

    def __init__(self, ctx: ExecutorContext, manifest: Mapping[str, JSON], *, durable: bool) -> None:
        self._ctx = ctx
        self._manifest = manifest
        self._durable = durable
        self._job: dict[str, JSON] | None = None
        self._rng: random.Random | None = None

    @property
    def rng(self) -> random.Random:
        """The call's generator (``call_rng``): generated names and back-off jitter."""
        if self._rng is None:
            self._rng = call_rng(recovery.call_id(self._ctx))
        return self._rng

    def __call__(self) -> dict[str, JSON]:
        """The marked Job (``mark_job``), made on the first call."""
        if self._job is None:
            self._job = mark_job(self._ctx, self._manifest, self.rng, durable=self._durable)
        return self._job

    @property
    def name(self) -> str | None:
        """The Job's name (a ``generateName`` one drawn here), None when it has neither."""
        meta = self()["metadata"]
        return str(meta["name"]) if isinstance(meta, dict) and meta.get("name") else None


def sent_nothing(exc: StatesError) -> bool:
    """Whether a transport failure happened before the request left (the connection was never made)."""
    cause = exc.__cause__
    return isinstance(cause, aiohttp.ClientConnectorError) and not isinstance(
        cause, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError
    )


def broken_after_sending(exc: StatesError) -> bool:
    """Whether a transport failure may have come after the server received the request."""
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch | LeanTLSError):
        return False
    return isinstance(cause, aiohttp.ClientError | TimeoutError | LeanHttpError) and not sent_nothing(exc)


def retry_after(exc: StatesError) -> float | None:
    """``details.retryAfterSeconds`` of a Kubernetes 429 Status in the error's cause, if any."""
    try:
        cause = loads(exc.cause or "")
    except JSONDecodeError:
        return None
    body = cause.get("ResponseBody") if isinstance(cause, dict) else None
    details = body.get("details") if isinstance(body, dict) else None
    seconds = details.get("retryAfterSeconds") if isinstance(details, dict) else None
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        return min(float(seconds), MAX_RETRY_AFTER_SECONDS)
    return None


def backoff(attempt: int, rng: random.Random) -> float:
    """Full-jitter exponential backoff before try ``attempt + 1``."""
    ceiling = min(CREATE_BACKOFF_CAP_SECONDS, CREATE_BACKOFF_BASE_SECONDS * 2**attempt)
    return rng.uniform(0.0, ceiling)


async def read_back(client: KubeClient, ctx: ExecutorContext, namespace: str, name: str) -> dict[str, JSON] | None:
    """The Job ``name`` when it is this call's, None when there is none.

    Raises:
        StatesError: ``EKS.409`` when a Job that is not this call's has the name
            (as the create would have answered); the read's own error otherwise.
    """
    try:
        # One attempt: create_job's loop is the one that retries (nested, a dead server
        # cost five paced GETs per read-back, each create attempt).
        job = await client.get_job(namespace, name, retry=ONE_ATTEMPT)
    except StatesError as exc:
        if exc.error == "EKS.404":
            return None
        raise
    if recovery.is_own_job(ctx, job):
        return job
    raise Namesake("EKS.409", _already_exists(namespace, name))


class Namesake(StatesError):
    """``EKS.409``: the Job's name belongs to a Job that is not this call's."""


def _already_exists(namespace: str, name: str) -> str:
    body = {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f'jobs.batch "{name}" already exists', "reason": "AlreadyExists",
        "details": {"name": name, "group": "batch", "kind": "jobs"}, "code": 409,
    }  # fmt: skip
    return dumps_str({"ResponseBody": body, "StatusCode": 409, "StatusText": "Conflict"})


def call_key(ctx: ExecutorContext) -> tuple[str, int, int]:
    """What names a parked call in the write slots' line: the same when its Task runs again."""
    return (ctx.execution_arn, ctx.entered_event_id, ctx.attempt)


async def hold_write_slot(
    ctx: ExecutorContext, client: KubeClient, ready: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Hold one of the API server's write slots for a create; park in line while none is free.

    A slot handed over while the call was parked is taken first, before any
    await: its Task runs again for it, and nothing may come between. Otherwise
    a free slot is taken, or the execution parks in line when it may (the
    ``Parked`` raised ends its task), or waits in line with a future. A stop or
    timeout that lands in line ends the call here, holding nothing and having
    sent nothing.

    Args:
        ctx: the call's context (its key in the line, ``park``).
        client: the API server's client (``write_slots``).
        ready: awaited first (runJob.sync prepares its watch), with the slot when one was handed over.
    """
    slots = client.write_slots
    held = slots.claim(call_key(ctx))
    try:
        if ready is not None:
            await ready()
        if not held and not slots.try_acquire():
            park = ctx.park
            listen = slots.park(call_key(ctx)) if park is not None else None
            if park is not None and listen is not None:
                park(listen)  # raises Parked: the execution's task ends here, its place in line stays
            await slots.acquire()
        held = True
        await anyio.lowlevel.checkpoint_if_cancelled()
    except BaseException:
        if held:
            slots.release()
        raise


async def create_job(
    ctx: ExecutorContext,
    client: KubeClient,
    namespace: str,
    manifest: Mapping[str, JSON],
    *,
    durable: bool,
    ready: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, JSON]:
    """Create the Job once (see the module docstring) and return it as Kubernetes wrote it.

    ``durable``: the engine's store is durable (the ``durable_store`` option), so the
    Job carries ``recovery``'s label as well as its annotations. ``ready`` is awaited
    before the first attempt (see ``hold_write_slot``).

    Raises:
        StatesError: the create's error when it is not worth another try, or the
            last one after ``CREATE_MAX_ATTEMPTS``; ``EKS.409`` when the name
            belongs to a Job that is not this call's.
    """
    job = MarkedJob(ctx, manifest, durable=durable)
    await hold_write_slot(ctx, client, ready)
    held = True  # the first attempt's slot, handed to its request
    unsure = False  # an earlier attempt may have created it
    conflict: StatesError | None = None  # the create's own 409, said again for a namesake
    attempt = 0
    while True:
        try:
            name = job.name if unsure else None
            if name is not None:
                found = await read_back(client, ctx, namespace, name)
                if found is not None:
                    log.info("the Job %s/%s was created by an earlier attempt; using it", namespace, name)
                    return found
                unsure = False
            # Finished even when a stop lands meanwhile: a Job made but unanswered would be unknown
            # to the abort's delete and to the ledger (bounded by the client's timeouts).
            with anyio.CancelScope(shield=True):
                send_held, held = held, False
                return await client.create_job(namespace, job, retry=ONE_ATTEMPT, held=send_held)
        except Namesake:
            if conflict is not None:
                raise conflict from None
            raise
        except StatesError as exc:
            if exc.error == "EKS.409" and job.name is not None:
                # Taken: by an earlier attempt of this call (ours: use it) or by a namesake (EKS.409).
                unsure = True
                conflict = exc
                delay = 0.0
            elif exc.error in AMBIGUOUS_STATUSES or broken_after_sending(exc):
                unsure = True
                delay = backoff(attempt, job.rng)
            elif exc.error in SAFE_STATUSES or sent_nothing(exc):
                delay = (retry_after(exc) if exc.error == "EKS.429" else None) or backoff(attempt, job.rng)
            else:
                raise
            attempt += 1
            if attempt >= CREATE_MAX_ATTEMPTS:
                raise
            log.debug("creating Job %s/%s failed (%s); trying again in %.2fs", namespace, job.name, exc.error, delay)
        if delay > 0:
            await ctx.clock.sleep(delay)


__all__ = ["MarkedJob", "Namesake", "call_key", "create_job", "hold_write_slot", "mark_job", "read_back"]
