"""Executions: Start, StartSync, Describe, DescribeStateMachineForExecution, List, GetExecutionHistory, Stop, Redrive.

The engine runs every execution; this module keeps the index AWS's read
operations need: each execution's record (the engine's own
``ExecutionRecord``, updated in place as it runs), the revision of the state
machine it started with, its input as sent, its trace header and its redrive
date. Executions are listed newest first, as AWS lists them.

With a durable store (``serve --store sqlite:///PATH``) the store is the
truth: StartExecution and RedriveExecution commit the execution before
answering, and an execution this process has not seen (started before a
restart) is read back from the store — its record, definition and history
(its redrive date is its last ExecutionRedriven event's); ListExecutions and
GetExecutionHistory read the store's pages.

Idempotency follows AWS: StartExecution with the name and input of a
running Standard execution answers that execution; any other reuse of a name
is ``ExecutionAlreadyExists``. RedriveExecution with the ``clientToken`` of the
redrive that already happened answers that redrive again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import anyio

from engine import (
    Engine,
    Execution,
    ExecutionAlreadyExists,
    InvalidInput,
    InvalidMockConfig,
    StatewrightError,
)
from engine.jsonvalue import JSON, JSONDecodeError, dumps_str, loads
from engine.runtime.execution import RUNNING, SUCCEEDED, ExecutionRecord
from engine.runtime.redrive import ExecutionNotRedrivable, not_redrivable_reason
from engine.store import Store, StoreError
from statewright.api._aliases import Aliases, split_alias
from statewright.api._arns import check_name, parse_arn
from statewright.api._errors import ApiError, store_failure
from statewright.api._paging import make_token, page_size, read_token
from statewright.api._state_machines import (
    EXPRESS,
    STANDARD,
    Revision,
    StateMachineEntry,
    StateMachines,
    revision_settings,
    stored_revision,
)
from statewright.api._versions import Versions, split_version

STOP_WAIT_SECONDS: Final = 10.0
"""How long StopExecution waits for the execution's cleanup before answering."""
_DATA_KEYS: Final = ("input", "inputDetails", "output", "outputDetails", "parameters", "parametersDetails")
_INCLUDED: Final[dict[str, JSON]] = {"included": True}


@dataclass(slots=True)
class ExecutionEntry:
    """What the API knows of one execution beyond the engine's record."""

    seq: int
    record: ExecutionRecord
    machine: StateMachineEntry
    revision: Revision
    input_text: str
    trace_header: str | None
    handle: Execution | None
    redrive_date: datetime | None = None
    redrive_token: str | None = None


def _annotations(sm: StateMachineEntry, revision: Revision) -> dict[str, JSON]:
    """What an execution keeps of the revision it starts on beyond its definition and role."""
    out = revision_settings(revision)
    if out["updateDate"] is None:
        out["updateDate"] = sm.created.timestamp()  # DescribeStateMachineForExecution's, never updated
    return out


VERSION_ARN: Final = "stateMachineVersionArn"
"""The annotation naming the version an execution was started on."""
ALIAS_ARN: Final = "stateMachineAliasArn"
"""The annotation naming the alias an execution was started on."""


def _annotation(annotations: Mapping[str, JSON] | None, key: str) -> str | None:
    value = annotations.get(key) if annotations is not None else None
    return value if isinstance(value, str) else None


def _not_found(arn: str) -> ApiError:
    return ApiError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")


def _type_not_supported() -> ApiError:
    return ApiError(
        "StateMachineTypeNotSupported", "This operation is not supported by this type of state machine"
    )


class Executions:
    """The executions of one server."""

    def __init__(self, engine: Engine, machines: StateMachines, versions: Versions, aliases: Aliases) -> None:
        self._engine = engine
        self._machines = machines
        self._versions = versions
        self._aliases = aliases
        self._by_arn: dict[str, ExecutionEntry] = {}
        self._by_machine: dict[str, list[ExecutionEntry]] = {}
        self._seq = 0
        store = engine.store
        self._store: Store | None = store if store is not None and store.durable else None

    async def get(self, arn: str, *kinds: str) -> ExecutionEntry:
        parse_arn(arn, *(kinds or ("execution", "express")))
        entry = await self._find(arn)
        if entry is None:
            raise _not_found(arn)
        return entry

    async def restore(self) -> int:
        """Index the executions a durable store holds as RUNNING (the engine resumed them on entry).

        So that the waiting-executions gauge and StopExecution see them before anyone asks for
        them by ARN; finished ones are read back when asked for. Returns how many.
        """
        if self._store is None:
            return 0
        count = 0
        token: str | None = None
        while True:
            page = await self._store.list_executions(status=RUNNING, next_token=token)
            for stored in page.items:
                if await self._find(stored.execution_arn) is not None:
                    count += 1
            token = page.next_token
            if token is None:
                return count

    async def _find(self, arn: str) -> ExecutionEntry | None:
        entry = self._by_arn.get(arn)
        if entry is None and self._store is not None:
            entry = await self._load(arn)
        return entry

    async def _load(self, arn: str) -> ExecutionEntry | None:
        """An execution known only to the store (started before a restart)."""
        assert self._store is not None
        try:
            item = await self._store.load(arn)
        except StoreError:
            return None
        if item is None:
            return None
        live = self._engine.get(arn)
        record = live.record if live is not None else item.record
        try:
            machine = self._engine.compile(item.definition)
        except StatewrightError:
            return None
        # What it started with (kept since schema version 4; "stored" for an execution from before).
        revision = stored_revision(
            record.annotations or {}, item.definition, machine, record.role_arn, missing="stored"
        )
        sm = self._machines.find(record.state_machine_arn) or StateMachineEntry(
            arn=record.state_machine_arn,
            name=record.state_machine_name,
            type=record.state_machine_type,
            created=record.start_time,
            revision=revision,
        )
        entry = ExecutionEntry(
            seq=0,
            record=record,
            machine=sm,
            revision=revision,
            input_text=dumps_str(record.input),
            trace_header=None,
            handle=live,
            redrive_date=_last_redrive(item.record),  # the stored record has the whole history
        )
        self._by_arn[arn] = entry
        if record.status == RUNNING:
            self._by_machine.setdefault(record.state_machine_arn, []).append(entry)  # for running_on
        return entry

    def running_on(self, machine_arn: str) -> int:
        return sum(1 for e in self._by_machine.get(machine_arn, ()) if e.record.status == RUNNING)

    def live(self) -> list[Execution]:
        """Handles of the executions still running."""
        return [
            e.handle for e in self._by_arn.values() if e.record.status == RUNNING and e.handle is not None
        ]

    # -- starting -------------------------------------------------------------------
    def _target(self, arn: str) -> tuple[StateMachineEntry, Revision, dict[str, JSON]]:
        """What StartExecution's ``stateMachineArn`` starts: the machine, the revision, the version and alias."""
        alias = split_alias(arn)
        if alias is not None:
            version = self._aliases.pick(arn)
            return self._machines.get(alias[0]), version.revision, {VERSION_ARN: version.arn, ALIAS_ARN: arn}
        split = split_version(arn)
        if split is None:
            sm = self._machines.get(arn)
            return sm, sm.revision, {}
        version = self._versions.get(arn)
        return self._machines.get(split[0]), version.revision, {VERSION_ARN: version.arn}

    async def _launch(
        self, params: dict[str, Any], *, sync: bool
    ) -> tuple[Execution, StateMachineEntry, Revision, str]:
        # ``stateMachineArn#TestCase``: Step Functions Local's way to run a test case of the
        # server's mock configuration (its mocked Task states answer from it).
        sm_arn, _, test_case = str(params["stateMachineArn"]).partition("#")
        sm, revision, qualifiers = self._target(sm_arn)
        if sm.deleting:
            raise ApiError("StateMachineDeleting", f"State Machine is being deleted: '{sm.arn}'")
        if sync and sm.type != EXPRESS:
            raise _type_not_supported()
        input_text: str = params.get("input") or "{}"
        try:
            value = loads(input_text)
        except JSONDecodeError as exc:
            raise ApiError(
                "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'"
            ) from None
        name = params.get("name")
        if name is not None:
            check_name(name)
        annotations = _annotations(sm, revision)
        annotations.update(qualifiers)
        try:
            if test_case:
                ex = self._engine.start(
                    revision.machine.raw,
                    value,
                    name=name,
                    state_machine_name=sm.name,
                    state_machine_type=sm.type,
                    role_arn=revision.role_arn,
                    test_case=test_case,
                )
            elif self._store is not None and not sync:
                # Committed before the answer: a restart right after StartExecution loses nothing.
                # The definition as given is what is stored (DescribeStateMachineForExecution's).
                ex = await self._engine.submit(
                    revision.definition,
                    value,
                    name=name,
                    state_machine_name=sm.name,
                    state_machine_type=sm.type,
                    role_arn=revision.role_arn,
                    annotations=annotations,
                )
            else:
                ex = self._engine.start(
                    revision.machine,
                    value,
                    name=name,
                    state_machine_name=sm.name,
                    state_machine_type=sm.type,
                    role_arn=revision.role_arn,
                    annotations=annotations,
                )
        except StoreError as exc:
            raise store_failure(exc) from None
        except InvalidMockConfig as exc:
            raise ApiError("ValidationException", str(exc)) from None
        except InvalidInput as exc:
            raise ApiError("InvalidExecutionInput", str(exc)) from None
        except ExecutionAlreadyExists:
            raise ApiError(
                "ExecutionAlreadyExists", f"Execution Already Exists: '{self._execution_arn(sm, name or '')}'"
            ) from None
        return ex, sm, revision, input_text

    def _execution_arn(self, sm: StateMachineEntry, name: str) -> str:
        return f"arn:aws:states:{self._engine.region}:{self._engine.account}:execution:{sm.name}:{name}"

    async def start(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        if name is not None:
            sm = self._target(str(params["stateMachineArn"]).partition("#")[0])[0]
            existing = await self._find(self._execution_arn(sm, name)) if sm.type == STANDARD else None
            if existing is not None:
                # AWS: the same name and input while it runs is the same request, answered again.
                if existing.record.status == RUNNING and existing.input_text == (params.get("input") or "{}"):
                    return {
                        "executionArn": existing.record.execution_arn,
                        "startDate": existing.record.start_time,
                    }
                raise ApiError(
                    "ExecutionAlreadyExists", f"Execution Already Exists: '{existing.record.execution_arn}'"
                )
        ex, sm, revision, input_text = await self._launch(params, sync=False)
        self._seq += 1
        entry = ExecutionEntry(
            seq=self._seq,
            record=ex.record,
            machine=sm,
            revision=revision,
            input_text=input_text,
            trace_header=params.get("traceHeader"),
            handle=ex,
        )
        self._by_arn[ex.execution_arn] = entry
        self._by_machine.setdefault(sm.arn, []).append(entry)
        return {"executionArn": ex.execution_arn, "startDate": ex.record.start_time}

    async def start_sync(self, params: dict[str, Any]) -> dict[str, Any]:
        """StartSyncExecution: run an Express execution to its end; the result is the answer.

        Synchronous Express executions are not kept once answered, as on AWS
        (they cannot be described or listed).
        """
        ex, sm, _, input_text = await self._launch(params, sync=True)
        result = await ex.wait()
        r = ex.record
        out: dict[str, Any] = {
            "executionArn": r.execution_arn,
            "stateMachineArn": sm.arn,
            "name": r.name,
            "startDate": r.start_time,
            "stopDate": r.stop_time,
            "status": result.status,
            "input": input_text,
            "inputDetails": _INCLUDED,
            "traceHeader": params.get("traceHeader"),
            "error": r.error,
            "cause": r.cause,
        }
        if result.status == SUCCEEDED:
            out["output"] = dumps_str(r.output)
            out["outputDetails"] = _INCLUDED
        return out

    # -- reading ------------------------------------------------------------------------
    async def describe(self, params: dict[str, Any]) -> dict[str, Any]:
        entry = await self.get(params["executionArn"])
        r = entry.record
        out: dict[str, Any] = {
            "executionArn": r.execution_arn,
            "stateMachineArn": r.state_machine_arn,
            "name": r.name,
            "status": r.status,
            "startDate": r.start_time,
            "stopDate": r.stop_time,
            "input": entry.input_text,
            "inputDetails": _INCLUDED,
            "traceHeader": entry.trace_header,
            "error": r.error,
            "cause": r.cause,
            "stateMachineVersionArn": _annotation(r.annotations, VERSION_ARN),
            "stateMachineAliasArn": _annotation(r.annotations, ALIAS_ARN),
        }
        if r.status == SUCCEEDED:
            out["output"] = dumps_str(r.output)
            out["outputDetails"] = _INCLUDED
        if r.state_machine_type != EXPRESS:
            reason = not_redrivable_reason(r)
            out["redriveCount"] = r.redrive_count
            out["redriveDate"] = entry.redrive_date
            out["redriveStatus"] = "REDRIVABLE" if reason is None else "NOT_REDRIVABLE"
            out["redriveStatusReason"] = reason
        return out

    async def describe_machine(self, params: dict[str, Any]) -> dict[str, Any]:
        entry = await self.get(params["executionArn"])
        rev = entry.revision
        return {
            "stateMachineArn": entry.machine.arn,
            "name": entry.machine.name,
            "definition": rev.definition,
            "roleArn": rev.role_arn,
            "updateDate": rev.updated or entry.machine.created,
            "loggingConfiguration": rev.logging,
            "tracingConfiguration": rev.tracing,
            "revisionId": rev.revision_id,
            "encryptionConfiguration": rev.encryption,
        }

    async def list(self, params: dict[str, Any]) -> dict[str, Any]:
        sm_arn = params.get("stateMachineArn")
        if sm_arn is None:
            raise ApiError("ValidationException", "Must provide a StateMachine ARN or MapRun ARN")
        machine_arn, qualifier = self._qualified(sm_arn)
        sm = self._machines.get(machine_arn)
        if sm.type == EXPRESS:
            raise _type_not_supported()
        status = params.get("statusFilter")
        redrive = params.get("redriveFilter")
        if self._store is not None:
            return await self._list_stored(machine_arn, qualifier, status, redrive, params)
        listing = f"ListExecutions/{sm_arn}/{status}/{redrive}"
        below = read_token(params.get("nextToken"), listing)
        size = page_size(params)
        page: list[dict[str, Any]] = []
        more = False
        for entry in reversed(self._by_machine.get(machine_arn, [])):
            if below is not None and entry.seq >= below:
                continue
            r = entry.record
            if qualifier is not None and _annotation(r.annotations, qualifier[0]) != qualifier[1]:
                continue
            if status is not None and r.status != status:
                continue
            if redrive is not None and (r.redrive_count > 0) != (redrive == "REDRIVEN"):
                continue
            if len(page) == size:
                more = True
                break
            page.append(
                {
                    "executionArn": r.execution_arn,
                    "stateMachineArn": r.state_machine_arn,
                    "name": r.name,
                    "status": r.status,
                    "startDate": r.start_time,
                    "stopDate": r.stop_time,
                    "redriveCount": r.redrive_count,
                    "redriveDate": entry.redrive_date,
                    "stateMachineVersionArn": _annotation(r.annotations, VERSION_ARN),
                    "stateMachineAliasArn": _annotation(r.annotations, ALIAS_ARN),
                    "_seq": entry.seq,
                }
            )
        out: dict[str, Any] = {"executions": page}
        if more:
            out["nextToken"] = make_token(listing, page[-1]["_seq"])
        return out

    def _qualified(self, arn: str) -> tuple[str, tuple[str, str] | None]:
        """ListExecutions' machine, and the (annotation, ARN) its executions must have for a version or alias ARN.

        AWS lists the executions started through that version (an alias's included,
        whose version it picked) or that alias.

        Raises:
            ApiError: InvalidArn, StateMachineDoesNotExist (a version), ResourceNotFound (an alias).
        """
        alias = split_alias(arn)
        if alias is not None:
            self._aliases.get(arn)
            return alias[0], (ALIAS_ARN, arn)
        version = split_version(arn)
        if version is not None:
            self._versions.get(arn)
            return version[0], (VERSION_ARN, arn)
        return arn, None

    async def history(self, params: dict[str, Any]) -> dict[str, Any]:
        entry = await self.get(params["executionArn"])
        reverse = bool(params.get("reverseOrder"))
        include = params.get("includeExecutionData")
        include_data = True if include is None else bool(include)
        listing = f"GetExecutionHistory/{entry.record.execution_arn}/{reverse}"
        at = read_token(params.get("nextToken"), listing)
        size = page_size(params)
        if self._store is not None:
            return await self._history_stored(entry, listing, at, size, reverse, include_data)
        history = entry.record.history
        n = len(history)
        if reverse:
            first = n if at is None else min(at, n)
            ids = range(first, 0, -1)
        else:
            first = 1 if at is None else at
            ids = range(first, n + 1)
        chosen = ids[:size]
        events = [_render_event(history[i - 1], include_data) for i in chosen]
        out: dict[str, Any] = {"events": events}
        rest = ids[size:]
        if len(rest) > 0:
            out["nextToken"] = make_token(listing, rest[0])
        return out

    # -- changing ------------------------------------------------------------------------
    async def stop(self, params: dict[str, Any]) -> dict[str, Any]:
        entry = await self.get(params["executionArn"], "execution")
        r = entry.record
        handle = entry.handle
        if r.status == RUNNING and handle is not None:
            handle.stop(params.get("error"), params.get("cause"))
            # Answer once it has stopped (its Task cleaned up), within a bound.
            with anyio.move_on_after(STOP_WAIT_SECONDS):
                await handle.wait()
        return {"stopDate": r.stop_time or self._engine.clock.now()}

    async def redrive(self, params: dict[str, Any]) -> dict[str, Any]:
        entry = await self.get(params["executionArn"], "execution", "express")
        token = params.get("clientToken")
        if token is not None and token == entry.redrive_token and entry.redrive_date is not None:
            return {"redriveDate": entry.redrive_date}
        try:
            # On a durable store the redrive is committed before the answer (and runs the stored
            # record, which the entry follows from now on).
            ex = await self._engine.submit_redrive(entry.revision.machine, entry.record)
        except ExecutionNotRedrivable as exc:
            raise ApiError("ExecutionNotRedrivable", str(exc)) from None
        except StoreError as exc:
            raise store_failure(exc) from None
        entry.record = ex.record
        entry.handle = ex
        # The date its ExecutionRedriven event has: what a restarted server reads back.
        entry.redrive_date = _last_redrive(ex.record) or self._engine.clock.now()
        entry.redrive_token = token
        return {"redriveDate": entry.redrive_date}

    # -- a durable store's pages -----------------------------------------------------
    async def _list_stored(
        self,
        sm_arn: str,
        qualifier: tuple[str, str] | None,
        status: str | None,
        redrive: str | None,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        assert self._store is not None
        try:
            await self._store.flush()
            page = await self._store.list_executions(
                state_machine_arn=sm_arn,
                status=status,
                max_results=page_size(params),
                next_token=params.get("nextToken"),
            )
        except (StoreError, ValueError):
            raise ApiError("InvalidToken", f"Invalid Token: '{params.get('nextToken')}'") from None
        items: list[dict[str, Any]] = []
        for e in page.items:
            if qualifier is not None and _annotation(e.annotations, qualifier[0]) != qualifier[1]:
                continue  # (a page may hold fewer than maxResults, as AWS allows)
            known = self._by_arn.get(e.execution_arn)
            if known is None and e.redrive_count > 0 and e.redrive_date is None:
                # Redriven before the store kept the date: its history has it.
                known = await self._find(e.execution_arn)
            count = known.record.redrive_count if known is not None else e.redrive_count
            if redrive is not None and (count > 0) != (redrive == "REDRIVEN"):
                continue
            items.append(
                {
                    "executionArn": e.execution_arn,
                    "stateMachineArn": e.state_machine_arn,
                    "name": e.name,
                    "status": known.record.status if known is not None else e.status,
                    "startDate": e.start_date,
                    "stopDate": known.record.stop_time if known is not None else e.stop_date,
                    "redriveCount": count,
                    "redriveDate": known.redrive_date if known is not None else e.redrive_date,
                    "stateMachineVersionArn": _annotation(e.annotations, VERSION_ARN),
                    "stateMachineAliasArn": _annotation(e.annotations, ALIAS_ARN),
                }
            )
        return {"executions": items, "nextToken": page.next_token}

    async def _history_stored(
        self,
        entry: ExecutionEntry,
        listing: str,
        at: int | None,
        size: int,
        reverse: bool,
        include_data: bool,
    ) -> dict[str, Any]:
        assert self._store is not None
        arn = entry.record.execution_arn
        await self._store.flush()
        if reverse:
            after = at + 1 if at is not None else _NO_EVENT_ABOVE
            events = await self._store.history(arn, after=after, max_results=size + 1, reverse=True)
        else:
            after = at - 1 if at is not None else 0
            events = await self._store.history(arn, after=after, max_results=size + 1)
        out: dict[str, Any] = {"events": [_render_event(ev, include_data) for ev in events[:size]]}
        if len(events) > size:
            out["nextToken"] = make_token(listing, events[size].id)
        return out


_NO_EVENT_ABOVE: Final = 2**62


def _last_redrive(record: ExecutionRecord) -> datetime | None:
    """When a stored execution was last redriven (its last ExecutionRedriven event), or None."""
    if record.redrive_count == 0 or not record.history.complete:
        return None
    for ev in reversed(list(record.history)):
        if ev.type == "ExecutionRedriven":
            return datetime.fromtimestamp(ev.timestamp, UTC)
    return None


def _render_event(ev: Any, include_data: bool) -> dict[str, Any]:
    out: dict[str, Any] = ev.to_aws()
    out["timestamp"] = ev.timestamp
    if not include_data:
        for key, value in out.items():
            if key.endswith("EventDetails") and isinstance(value, dict):
                out[key] = {k: v for k, v in value.items() if k not in _DATA_KEYS}
    return out


__all__ = ["ExecutionEntry", "Executions"]
