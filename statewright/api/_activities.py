"""Activities: CreateActivity, DescribeActivity, ListActivities, DeleteActivity, GetActivityTask.

An activity is a queue of tasks that workers poll. A Task state whose
Resource is an activity ARN runs through ``ActivityExecutor``: it issues a
task token (``engine.callbacks.TaskTokens``, the same tokens as
``.waitForTaskToken``), queues the token with the Task's input on the
activity, saves the token as its handle and waits for SendTaskSuccess /
SendTaskFailure, parked when the engine allows. A worker's GetActivityTask
takes the oldest queued task whose Task still waits, long-polling up to 60
seconds as AWS does. The execution's history has AWS's activity events:
``ActivityScheduled``, ``ActivityStarted`` (with the ``workerName``, when a
worker takes the task), then ``ActivitySucceeded``, ``ActivityFailed`` or
``ActivityTimedOut``.

With a durable store the activities themselves (name, creation date, tags)
are kept in the store, so a restarted server serves the same ones; their
queues are not: a Task resumed after a restart queues its task again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import anyio

from engine import JSON, Engine, ExecutorCall, ExecutorContext, IntegrationPattern, StatesError
from engine.callbacks import TaskTokens
from engine.jsonvalue import dumps_str
from engine.store import Store, StoreError
from statewright.api._arns import check_name, parse_arn
from statewright.api._errors import ApiError, store_failure
from statewright.api._paging import make_token, page_size, read_token

POLL_SECONDS: Final = 60.0
"""GetActivityTask answers with no task after this long, as AWS does."""
_HANDLE_KEY: Final = "taskToken"


@dataclass(slots=True)
class _Queued:
    token: str
    input: str
    ctx: ExecutorContext


@dataclass(slots=True)
class ActivityEntry:
    arn: str
    name: str
    created: datetime
    tags: dict[str, str] = field(default_factory=dict)
    queue: deque[_Queued] = field(default_factory=deque)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class Activities:
    """The activities of one server, and the executor that runs activity Tasks."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._tokens: TaskTokens = engine.task_tokens
        self._by_arn: dict[str, ActivityEntry] = {}
        store = engine.store
        self._store: Store | None = store if store is not None and store.durable else None
        self.prefix = f"arn:aws:states:{engine.region}:{engine.account}:activity:"
        self.poll_seconds = POLL_SECONDS
        engine.registry.register_prefix(
            self.prefix, ActivityExecutor(self), patterns=(IntegrationPattern.REQUEST_RESPONSE,)
        )

    def get(self, arn: str) -> ActivityEntry:
        parse_arn(arn, "activity")
        entry = self._by_arn.get(arn)
        if entry is None:
            raise ApiError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
        return entry

    def find(self, arn: str) -> ActivityEntry | None:
        return self._by_arn.get(arn)

    async def restore(self) -> int:
        """Serve the activities a durable store holds, with their tags; returns how many."""
        if self._store is None:
            return 0
        count = 0
        token: str | None = None
        while True:
            page = await self._store.list_activities(next_token=token)
            for stored in page.items:
                tags = await self._store.list_tags(stored.arn)
                entry = self._by_arn.get(stored.arn)
                if entry is None:
                    self._by_arn[stored.arn] = ActivityEntry(stored.arn, stored.name, stored.creation_date, tags)
                else:
                    # Served already for a Task the engine resumed on entry: it is the stored one.
                    entry.created, entry.tags = stored.creation_date, tags
                count += 1
            token = page.next_token
            if token is None:
                return count

    # -- operations -------------------------------------------------------------------
    async def create(self, params: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
        name: str = params["name"]
        check_name(name)
        if params.get("encryptionConfiguration") not in (None, {"type": "AWS_OWNED_KEY"}):
            raise ApiError("ValidationException", "Only AWS_OWNED_KEY encryption is supported for activities")
        arn = self.prefix + name
        entry = self._by_arn.get(arn)
        if entry is None:
            created = self._engine.clock.now()
            if self._store is not None:
                try:
                    created = (await self._store.put_activity(arn, name, creation_date=created)).creation_date
                    if tags:
                        await self._store.tag_resource(arn, tags)
                except StoreError as exc:
                    raise store_failure(exc) from None
            entry = self._by_arn.setdefault(arn, ActivityEntry(arn, name, created, tags))
        return {"activityArn": arn, "creationDate": entry.created}

    def describe(self, params: dict[str, Any]) -> dict[str, Any]:
        entry = self.get(params["activityArn"])
        return {"activityArn": entry.arn, "name": entry.name, "creationDate": entry.created}

    def list(self, params: dict[str, Any]) -> dict[str, Any]:
        start = read_token(params.get("nextToken"), "ListActivities") or 0
        size = page_size(params)
        entries = list(self._by_arn.values())
        out: dict[str, Any] = {
            "activities": [
                {"activityArn": e.arn, "name": e.name, "creationDate": e.created}
                for e in entries[start : start + size]
            ]
        }
        if start + size < len(entries):
            out["nextToken"] = make_token("ListActivities", start + size)
        return out

    async def delete(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["activityArn"]
        parse_arn(arn, "activity")
        if self._store is not None:
            try:
                await self._store.delete_activity(arn)
            except StoreError as exc:
                raise store_failure(exc) from None
        self._by_arn.pop(arn, None)
        return {}

    async def get_task(self, params: dict[str, Any]) -> dict[str, Any]:
        """GetActivityTask: the oldest waiting task, or no token after up to 60 s."""
        entry = self.get(params["activityArn"])
        worker = params.get("workerName")
        with anyio.move_on_after(self.poll_seconds):
            while True:
                task = self._take(entry)
                if task is not None:
                    details: dict[str, JSON] = {}
                    if worker is not None:
                        details["workerName"] = worker
                    task.ctx.emit("ActivityStarted", details)
                    return {"taskToken": task.token, "input": task.input}
                entry.arrived.clear()
                await entry.arrived.wait()
        return {}

    def _take(self, entry: ActivityEntry) -> _Queued | None:
        while entry.queue:
            task = entry.queue.popleft()
            if self._tokens.execution_of(task.token) is not None:
                return task
        return None

    def enqueue(
        self, arn: str, token: str, input_text: str, ctx: ExecutorContext, *, resumed: bool = False
    ) -> None:
        entry = self._by_arn.get(arn)
        if entry is None and resumed:
            # A Task resumed from a durable store after a restart, before the stored activities are
            # served (or waiting on one deleted since): the one it waits on is served for its workers.
            name = arn[len(self.prefix) :]
            entry = self._by_arn[arn] = ActivityEntry(arn, name, self._engine.clock.now())
        if entry is None:
            raise StatesError("States.Runtime", f"Activity Does Not Exist: '{arn}'")
        entry.queue.append(_Queued(token, input_text, ctx))
        entry.arrived.set()


class ActivityExecutor:
    """Runs Task states whose Resource is an activity ARN: queue the input, wait for a worker's answer."""

    history_events: Final = "Activity"
    """The engine records this executor's Tasks as ActivityScheduled / ActivitySucceeded / …, as AWS does."""

    def __init__(self, activities: Activities) -> None:
        self._activities = activities

    async def run(self, call: ExecutorCall, ctx: ExecutorContext) -> JSON:
        tokens = self._activities._tokens
        handle = ctx.handle
        input_text = dumps_str(call.parameters)
        if isinstance(handle, dict) and isinstance(handle.get(_HANDLE_KEY), str):
            # Run again after parking (still queued or taken), or resumed after a restart
            # (the queue was lost with the process: queue the same task again).
            token = str(handle[_HANDLE_KEY])
            if tokens.execution_of(token) is None:
                tokens.issue(ctx.execution_arn, token)
                self._activities.enqueue(call.resource, token, input_text, ctx, resumed=True)
        else:
            token = tokens.issue(ctx.execution_arn)
            self._activities.enqueue(call.resource, token, input_text, ctx)
            ctx.save_handle({_HANDLE_KEY: token})
        return await tokens.wait(token, ctx)


__all__ = ["Activities", "ActivityEntry", "ActivityExecutor"]
