"""One Step Functions service: the operations, by name, over one engine.

``StepFunctionsService`` owns the catalogs (state machines, executions,
activities), the callbacks and the tags (kept in a durable store too, when
the server runs on one), and maps each operation name of
botocore's model to the method that serves it. Requests reach it already
checked against the model (``_protocol``); answers leave it as plain
mappings that ``_protocol`` shapes. Operations the model has and this server
does not serve answer ``UnknownOperationException`` naming the
operation, never a silent success.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from engine import JSON, Engine, ExecutionRecord
from engine.store import StoreError
from statewright.api._activities import Activities
from statewright.api._aliases import Aliases
from statewright.api._arns import parse_arn
from statewright.api._callbacks import Callbacks
from statewright.api._errors import ApiError, invalid_arn, store_failure
from statewright.api._executions import Executions
from statewright.api._map_runs import MapRunIndex
from statewright.api._metrics import Metrics
from statewright.api._state_machines import StateMachines
from statewright.api._test_state import test_state
from statewright.api._versions import Versions, split_version

MAX_TAGS: Final = 50
_FINAL_EVENTS: Final = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}
)

Operation = Callable[[dict[str, Any]], Awaitable[Mapping[str, Any]] | Mapping[str, Any]]


def _tags_from(params: dict[str, Any]) -> dict[str, str]:
    tags = params.get("tags") or []
    if len(tags) > MAX_TAGS:
        raise ApiError("TooManyTags", f"Too many tags: at most {MAX_TAGS} per resource")
    return {t["key"]: t.get("value", "") for t in tags}


class StepFunctionsService:
    """The Step Functions operations over ``engine``.

    The engine must be created with ``on_event=service.on_event`` chained in
    (``statewright.api.serve`` does that) so executions' ends and metrics are seen.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.machines = StateMachines(engine)
        self.versions = Versions(self.machines)
        self.aliases = Aliases(engine, self.machines, self.versions)
        self.executions = Executions(engine, self.machines, self.versions, self.aliases)
        self.activities = Activities(engine)
        self.map_runs = MapRunIndex(engine)
        self.callbacks = Callbacks(engine.task_tokens)
        self.metrics = Metrics(engine.clock, self.waiting)
        self._operations: dict[str, Operation] = {
            "CreateStateMachine": self._create_state_machine,
            "DescribeStateMachine": self._describe_state_machine,
            "ListStateMachines": self.machines.list,
            "UpdateStateMachine": self._update_state_machine,
            "PublishStateMachineVersion": self.versions.publish_request,
            "ListStateMachineVersions": self.versions.list,
            "DeleteStateMachineVersion": lambda p: self.versions.delete(p, self.aliases.routed()),
            "CreateStateMachineAlias": self.aliases.create,
            "DescribeStateMachineAlias": self.aliases.describe,
            "ListStateMachineAliases": self.aliases.list,
            "UpdateStateMachineAlias": self.aliases.update,
            "DeleteStateMachineAlias": self.aliases.delete,
            "DeleteStateMachine": self._delete_state_machine,
            "ValidateStateMachineDefinition": self.machines.validate,
            "StartExecution": self.executions.start,
            "StartSyncExecution": self.executions.start_sync,
            "DescribeExecution": self._describe_execution,
            "DescribeStateMachineForExecution": self.executions.describe_machine,
            "ListExecutions": self._list_executions,
            "GetExecutionHistory": self._execution_history,
            "StopExecution": self.executions.stop,
            "RedriveExecution": self.executions.redrive,
            "DescribeMapRun": self.map_runs.describe,
            "ListMapRuns": self._list_map_runs,
            "UpdateMapRun": self.map_runs.update,
            "SendTaskSuccess": self.callbacks.success,
            "SendTaskFailure": self.callbacks.failure,
            "SendTaskHeartbeat": self.callbacks.heartbeat,
            "CreateActivity": lambda p: self.activities.create(p, _tags_from(p)),
            "DescribeActivity": self.activities.describe,
            "ListActivities": self.activities.list,
            "DeleteActivity": self.activities.delete,
            "GetActivityTask": self.activities.get_task,
            "TagResource": self._tag,
            "UntagResource": self._untag,
            "ListTagsForResource": self._list_tags,
            "TestState": lambda p: test_state(self.engine, p),
        }

    @property
    def operations(self) -> frozenset[str]:
        """The names of the operations served."""
        return frozenset(self._operations)

    async def call(self, operation: str, params: dict[str, Any]) -> Mapping[str, Any]:
        """Serve one checked request.

        Raises:
            ApiError: what AWS would answer.
        """
        fn = self._operations.get(operation)
        if fn is None:
            raise ApiError(
                "UnknownOperationException", f"The operation {operation} is not supported by statewright"
            )
        result = fn(params)
        if isinstance(result, Awaitable):
            return await result
        return result

    def waiting(self) -> int:
        """Executions whose Task waits: parked, or awaiting a task token."""
        parked = sum(1 for ex in self.executions.live() if ex.parked)
        return parked + self.engine.task_tokens.awaiting

    def on_event(self, record: ExecutionRecord, event_type: str, details: Mapping[str, JSON] | None) -> None:
        """Chained into the engine's ``on_event``: metrics, and the end of executions."""
        self.metrics.on_event(record, event_type, details)
        if event_type in _FINAL_EVENTS:
            sm = self.machines.find(record.state_machine_arn)
            if sm is not None and sm.deleting and self.executions.running_on(sm.arn) == 0:
                self.machines.forget(sm.arn)
                self.versions.forget_of(sm.arn)

    # -- map runs ---------------------------------------------------------------------
    async def _list_executions(self, params: dict[str, Any]) -> Mapping[str, Any]:
        if params.get("mapRunArn") is not None:
            if params.get("stateMachineArn") is not None:
                raise ApiError(
                    "ValidationException", "Specify either a mapRunArn or a stateMachineArn, not both"
                )
            return await self.map_runs.children(params)
        return await self.executions.list(params)

    async def _describe_execution(self, params: dict[str, Any]) -> Mapping[str, Any]:
        arn = params["executionArn"]
        if "/" in (arn.split(":") + [""] * 7)[6]:
            # A Map Run's child (execution:MACHINE/LABEL:UUID): no execution name has a "/".
            child = await self.map_runs.describe_child(arn)
            if child is not None:
                return child
        return await self.executions.describe(params)

    async def _execution_history(self, params: dict[str, Any]) -> Mapping[str, Any]:
        arn = params["executionArn"]
        if "/" in (arn.split(":") + [""] * 7)[6]:
            history = await self.map_runs.child_history(arn, params)
            if history is not None:
                return history
        return await self.executions.history(params)

    async def _list_map_runs(self, params: dict[str, Any]) -> Mapping[str, Any]:
        entry = await self.executions.get(params["executionArn"], "execution")
        return await self.map_runs.list(params, entry.record.execution_arn)

    # -- state machines, versions and tags ---------------------------------------------
    async def _create_state_machine(self, params: dict[str, Any]) -> Mapping[str, Any]:
        out = await self.machines.create(params, _tags_from(params))
        if params.get("publish"):
            sm = self.machines.get(out["stateMachineArn"])
            version = await self.versions.publish(sm, params.get("versionDescription"), None)
            out["stateMachineVersionArn"] = version.arn
        return out

    async def _update_state_machine(self, params: dict[str, Any]) -> Mapping[str, Any]:
        out = await self.machines.update(params)
        if params.get("publish"):
            sm = self.machines.get(params["stateMachineArn"])
            version = await self.versions.publish(sm, params.get("versionDescription"), None)
            out["stateMachineVersionArn"] = version.arn
        return out

    def _describe_state_machine(self, params: dict[str, Any]) -> Mapping[str, Any]:
        if split_version(params["stateMachineArn"]) is not None:
            return self.versions.describe(params["stateMachineArn"])
        return self.machines.describe(params)

    async def _delete_state_machine(self, params: dict[str, Any]) -> Mapping[str, Any]:
        arn = params["stateMachineArn"]
        if split_version(arn) is not None:
            raise invalid_arn(arn, "Use DeleteStateMachineVersion to delete a state machine version")
        if self.machines.find(arn) is not None:
            await self.aliases.drop_of(arn)  # at once: nothing may start on them any more
        out = await self.machines.delete(params, self.executions.running_on(arn))
        if self.machines.find(arn) is None:
            self.versions.forget_of(arn)  # gone with it (the store's rows went with the machine's)
        return out

    def _tagged(self, arn: str) -> dict[str, str]:
        parsed = parse_arn(arn, "stateMachine", "activity")
        entry = self.machines.find(arn) if parsed.kind == "stateMachine" else self.activities.find(arn)
        if entry is None:
            raise ApiError("ResourceNotFound", f"Resource not found: '{arn}'", resourceName=arn)
        return entry.tags

    async def _tag(self, params: dict[str, Any]) -> Mapping[str, Any]:
        arn = params["resourceArn"]
        tags = self._tagged(arn)
        new = _tags_from(params)
        if len(tags.keys() | new.keys()) > MAX_TAGS:
            raise ApiError("TooManyTags", f"Too many tags: at most {MAX_TAGS} per resource", resourceName=arn)
        store = self.machines.store
        if store is not None and new:
            try:
                await store.tag_resource(arn, new)
            except StoreError as exc:
                raise store_failure(exc) from None
        tags.update(new)
        return {}

    async def _untag(self, params: dict[str, Any]) -> Mapping[str, Any]:
        arn = params["resourceArn"]
        tags = self._tagged(arn)
        keys: list[str] = params["tagKeys"]
        store = self.machines.store
        if store is not None and keys:
            try:
                await store.untag_resource(arn, keys)
            except StoreError as exc:
                raise store_failure(exc) from None
        for key in keys:
            tags.pop(key, None)
        return {}

    def _list_tags(self, params: dict[str, Any]) -> Mapping[str, Any]:
        # AWS documents no order for the tags; ours is by key (code points, as Python sorts), so the
        # answer is the same before and after a restart, whatever order they were added or stored in.
        tags = self._tagged(params["resourceArn"])
        return {"tags": [{"key": k, "value": tags[k]} for k in sorted(tags)]}


__all__ = ["StepFunctionsService"]
