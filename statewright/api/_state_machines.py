"""State machines: CreateStateMachine, Describe, List, Update, Delete and ValidateStateMachineDefinition.

A state machine is kept with its definition text (returned as given), its
compiled ``engine.StateMachine`` (parsed and validated once, at create or
update) and a revision: each update makes a new ``revisionId``, and an
execution keeps the revision it started with (DescribeStateMachineForExecution).
With a durable store each create, update and delete is written to the store
before the answer (name, definition, type, role, the settings beyond the
definition with the revision, and the tags), and a server that starts on
that store serves the state machines it holds as they were. A state machine
deleted while executions run on it is DELETING until they end, as on AWS, and
stays so in the store across a restart; then it is gone. Definitions are validated by the engine's own validator against the
executors the server runs, so ``InvalidDefinition`` carries the same problems,
codes and JSON locations as ``statewright validate``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

from engine import Engine, InvalidDefinition, StateMachine, StatewrightError, parse_definition
from engine.jsonvalue import JSON
from engine.store import Store, StoredStateMachine, StoreError
from statewright.api._arns import check_name, is_role_arn, parse_arn
from statewright.api._errors import ApiError, store_failure
from statewright.api._paging import make_token, page_size, read_token

STANDARD: Final = "STANDARD"
EXPRESS: Final = "EXPRESS"
DELETING: Final = "DELETING"
DEFAULT_LOGGING: Final[dict[str, JSON]] = {"level": "OFF", "includeExecutionData": False}
DEFAULT_TRACING: Final[dict[str, JSON]] = {"enabled": False}
DIAGNOSTICS_MAX: Final = 100


@dataclass(frozen=True, slots=True)
class Revision:
    """One revision of a state machine: what an execution runs."""

    revision_id: str
    definition: str
    machine: StateMachine
    role_arn: str
    logging: dict[str, JSON]
    tracing: dict[str, JSON]
    encryption: dict[str, JSON] | None
    updated: datetime | None


@dataclass(slots=True)
class StateMachineEntry:
    """A state machine and its current revision."""

    arn: str
    name: str
    type: str
    created: datetime
    revision: Revision
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    deleting: bool = False
    last_version: int = 0
    """The number of the last version published (numbers are never given twice)."""


def revision_settings(revision: Revision) -> dict[str, JSON]:
    """What a revision is beyond its definition and role, as JSON (stored, and read by ``stored_revision``)."""
    return {
        "revisionId": revision.revision_id,
        "loggingConfiguration": revision.logging,
        "tracingConfiguration": revision.tracing,
        "encryptionConfiguration": revision.encryption,
        "updateDate": revision.updated.timestamp() if revision.updated is not None else None,
    }


def _settings(entry: StateMachineEntry) -> dict[str, JSON]:
    """What the store keeps of a state machine beyond its definition, type and role."""
    settings = revision_settings(entry.revision)
    if entry.last_version:
        settings["lastVersion"] = entry.last_version
    if entry.deleting:
        settings["status"] = DELETING  # kept until its last execution ends, across restarts
    return settings


def _object(settings: Mapping[str, JSON], key: str) -> dict[str, JSON] | None:
    value = settings.get(key)
    return dict(value) if isinstance(value, dict) else None


def stored_revision(
    settings: Mapping[str, JSON], definition: str, machine: StateMachine, role_arn: str, *, missing: str
) -> Revision:
    """A revision from ``revision_settings``' JSON; its id is ``missing`` if it was stored without one."""
    revision_id = settings.get("revisionId")
    updated = settings.get("updateDate")
    return Revision(
        revision_id=revision_id if isinstance(revision_id, str) else missing,
        definition=definition,
        machine=machine,
        role_arn=role_arn,
        logging=_object(settings, "loggingConfiguration") or dict(DEFAULT_LOGGING),
        tracing=_object(settings, "tracingConfiguration") or dict(DEFAULT_TRACING),
        encryption=_object(settings, "encryptionConfiguration"),
        updated=datetime.fromtimestamp(updated, UTC) if isinstance(updated, int | float) else None,
    )


def _count(value: JSON) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _problems_message(exc: InvalidDefinition) -> str:
    shown = "; ".join(f"{p.code}: {p.message} at {p.location or '/'}" for p in exc.problems)
    return f"Invalid State Machine Definition: '{shown}'"


class StateMachines:
    """The state machines of one server."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._by_arn: dict[str, StateMachineEntry] = {}
        self._lingering: dict[str, int] = {}  # forgotten here, still in the store as DELETING: last version
        self.held_versions: list[StoredStateMachine] = []
        """The versions ``restore`` read (rows of ``arn:N``), for the server's ``Versions``."""
        store = engine.store
        self._store: Store | None = store if store is not None and store.durable else None

    async def restore(self) -> int:
        """Serve the state machines a durable store holds; returns how many."""
        if self._store is None:
            return 0
        token: str | None = None
        while True:
            page = await self._store.list_state_machines(next_token=token)
            for stored in page.items:
                if stored.arn.count(":") == 7:
                    self.held_versions.append(stored)  # a version (``arn:N``): the versions' to take
                    continue
                machine = self.compiled(stored.definition)
                if machine is None:
                    continue  # an executor it needs is not installed here: nothing could run it
                revision = stored_revision(
                    stored.settings, stored.definition, machine, stored.role_arn, missing=str(uuid.uuid4())
                )
                self._by_arn[stored.arn] = StateMachineEntry(
                    arn=stored.arn,
                    name=stored.name,
                    type=stored.type,
                    created=stored.creation_date,
                    revision=revision,
                    tags=await self._store.list_tags(stored.arn),
                    deleting=stored.settings.get("status") == DELETING,
                    last_version=_count(stored.settings.get("lastVersion")),
                )
            token = page.next_token
            if token is None:
                return len(self._by_arn)

    async def drop_deleted(self, running_on: Callable[[str], int]) -> None:
        """Forget, in the store too, the machines deleted before a restart whose executions have all ended."""
        for entry in self.entries():
            if entry.deleting and running_on(entry.arn) == 0:
                del self._by_arn[entry.arn]
                await self._drop(entry.arn, entry.last_version)

    async def _drop(self, arn: str, last_version: int) -> None:
        """Forget the machine in the store, its versions with it (as AWS deletes them with it)."""
        self._lingering.pop(arn, None)
        if self._store is not None:
            try:
                for number in range(last_version, 0, -1):
                    await self._store.delete_state_machine(f"{arn}:{number}")
                await self._store.delete_state_machine(arn)
            except StoreError as exc:
                raise store_failure(exc) from None

    def compiled(self, definition: str) -> StateMachine | None:
        """A stored definition compiled, or None if this server cannot run it (an executor is missing)."""
        try:
            return self._engine.compile(definition)
        except StatewrightError:
            return None

    def now(self) -> datetime:
        return self._engine.clock.now()

    async def persist(self, entry: StateMachineEntry) -> None:
        """Write the machine to the durable store (nothing without one)."""
        if self._store is not None:
            await self._write_row(entry.arn, entry, entry.revision, _settings(entry), entry.created)

    @property
    def store(self) -> Store | None:
        """The durable store the state machines are kept in, or None (they live here only)."""
        return self._store

    async def put_qualified(
        self,
        arn: str,
        sm: StateMachineEntry,
        revision: Revision,
        settings: dict[str, JSON],
        created: datetime,
    ) -> None:
        """Write a version or alias of ``sm`` as a state machine row of its own ARN (nothing without a store).

        Raises:
            ApiError: InternalFailure, the store refused.
        """
        if self._store is not None:
            await self._write_row(arn, sm, revision, settings, created)

    async def _write_row(
        self, arn: str, sm: StateMachineEntry, revision: Revision, settings: dict[str, JSON], created: datetime
    ) -> None:
        assert self._store is not None
        try:
            await self._store.put_state_machine(
                arn,
                sm.name,
                revision.definition,
                type=sm.type,
                role_arn=revision.role_arn,
                settings=settings,
                creation_date=created,
            )
        except StoreError as exc:
            raise store_failure(exc) from None

    async def delete_qualified(self, arn: str) -> None:
        """Remove a version's or alias's row (nothing without a store).

        Raises:
            ApiError: InternalFailure, the store refused.
        """
        if self._store is None:
            return
        try:
            await self._store.delete_state_machine(arn)
        except StoreError as exc:
            raise store_failure(exc) from None

    # -- lookups ----------------------------------------------------------------
    def arn_for(self, name: str) -> str:
        return f"arn:aws:states:{self._engine.region}:{self._engine.account}:stateMachine:{name}"

    def get(self, arn: str) -> StateMachineEntry:
        """The state machine ``arn`` names (checked for shape first).

        Raises:
            ApiError: InvalidArn, StateMachineDoesNotExist.
        """
        parse_arn(arn, "stateMachine")
        entry = self._by_arn.get(arn)
        if entry is None:
            raise ApiError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return entry

    def find(self, arn: str) -> StateMachineEntry | None:
        return self._by_arn.get(arn)

    def forget(self, arn: str) -> None:
        """Drop a state machine marked for deletion once nothing runs on it.

        The store keeps it, marked DELETING, until its name is created again or the server
        starts next (``drop_deleted``): this is called from the engine's events, which cannot wait
        for a write, and what the store holds is read only at a start.
        """
        entry = self._by_arn.get(arn)
        if entry is not None and entry.deleting:
            del self._by_arn[arn]
            if self._store is not None:
                self._lingering[arn] = entry.last_version

    def entries(self) -> list[StateMachineEntry]:
        return list(self._by_arn.values())

    # -- operations --------------------------------------------------------------
    def _compile(self, definition: str, name: str) -> StateMachine:
        try:
            return self._engine.compile(definition)
        except InvalidDefinition as exc:
            mocks = self._engine.mock_config
            if mocks is None or name not in mocks.state_machines:
                raise ApiError("InvalidDefinition", _problems_message(exc)) from None
        # A machine of the mock configuration may use services nothing here serves (its test
        # cases mock them), as on Step Functions Local: only the definition itself is checked.
        try:
            return parse_definition(definition)
        except InvalidDefinition as exc:
            raise ApiError("InvalidDefinition", _problems_message(exc)) from None

    @staticmethod
    def _check_role(role_arn: str) -> None:
        if not is_role_arn(role_arn):
            raise ApiError("InvalidArn", f"Invalid Arn: 'Role ARN is not valid: {role_arn}'")

    @staticmethod
    def _check_versions(params: dict[str, Any]) -> None:
        # The server publishes the version once the create or update is made (``publish``).
        if params.get("versionDescription") is not None and not params.get("publish"):
            raise ApiError("ValidationException", "Version description can only be set when publish is true")

    async def create(self, params: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
        name: str = params["name"]
        check_name(name)
        self._check_role(params["roleArn"])
        self._check_versions(params)
        sm_type = params.get("type") or STANDARD
        definition: str = params["definition"]
        machine = self._compile(definition, name)
        arn = self.arn_for(name)
        existing = self._by_arn.get(arn)
        logging = params.get("loggingConfiguration") or dict(DEFAULT_LOGGING)
        tracing = params.get("tracingConfiguration") or dict(DEFAULT_TRACING)
        if existing is not None:
            rev = existing.revision
            # Same name, same definition, role and type: AWS answers with the existing machine.
            if (
                existing.deleting
                or rev.definition != definition
                or rev.role_arn != params["roleArn"]
                or existing.type != sm_type
            ):
                raise ApiError("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
            return {"stateMachineArn": arn, "creationDate": existing.created}
        if arn in self._lingering:
            # A new machine of that name starts with nothing of the old one.
            await self._drop(arn, self._lingering[arn])
        now = self._engine.clock.now()
        entry = StateMachineEntry(
            arn=arn,
            name=name,
            type=sm_type,
            created=now,
            revision=Revision(
                revision_id=str(uuid.uuid4()),
                definition=definition,
                machine=machine,
                role_arn=params["roleArn"],
                logging=logging,
                tracing=tracing,
                encryption=params.get("encryptionConfiguration"),
                updated=None,
            ),
            tags=tags,
        )
        await self.persist(entry)
        if tags and self._store is not None:
            try:
                await self._store.tag_resource(arn, tags)
            except StoreError as exc:
                raise store_failure(exc) from None
        self._by_arn[arn] = entry
        return {"stateMachineArn": arn, "creationDate": now}

    def describe(self, params: dict[str, Any]) -> dict[str, Any]:
        entry = self.get(params["stateMachineArn"])
        rev = entry.revision
        return {
            "stateMachineArn": entry.arn,
            "name": entry.name,
            "status": DELETING if entry.deleting else "ACTIVE",
            "definition": rev.definition,
            "roleArn": rev.role_arn,
            "type": entry.type,
            "creationDate": entry.created,
            "loggingConfiguration": rev.logging,
            "tracingConfiguration": rev.tracing,
            "revisionId": rev.revision_id,
            "description": entry.description,
            "encryptionConfiguration": rev.encryption,
        }

    def list(self, params: dict[str, Any]) -> dict[str, Any]:
        start = read_token(params.get("nextToken"), "ListStateMachines") or 0
        size = page_size(params)
        entries = self.entries()
        page = entries[start : start + size]
        out: dict[str, Any] = {
            "stateMachines": [
                {"stateMachineArn": e.arn, "name": e.name, "type": e.type, "creationDate": e.created}
                for e in page
            ]
        }
        if start + size < len(entries):
            out["nextToken"] = make_token("ListStateMachines", start + size)
        return out

    async def update(self, params: dict[str, Any]) -> dict[str, Any]:
        entry = self.get(params["stateMachineArn"])
        if entry.deleting:
            raise ApiError("StateMachineDeleting", f"State Machine is being deleted: '{entry.arn}'")
        self._check_versions(params)
        keys = (
            "definition",
            "roleArn",
            "loggingConfiguration",
            "tracingConfiguration",
            "encryptionConfiguration",
        )
        if all(params.get(k) is None for k in keys):
            raise ApiError(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, "
                "the EncryptionConfiguration or the TracingConfiguration must be specified",
            )
        rev = entry.revision
        changes: dict[str, Any] = {}
        if params.get("definition") is not None:
            changes["definition"] = params["definition"]
            changes["machine"] = self._compile(params["definition"], entry.name)
        if params.get("roleArn") is not None:
            self._check_role(params["roleArn"])
            changes["role_arn"] = params["roleArn"]
        if params.get("loggingConfiguration") is not None:
            changes["logging"] = params["loggingConfiguration"]
        if params.get("tracingConfiguration") is not None:
            changes["tracing"] = params["tracingConfiguration"]
        if params.get("encryptionConfiguration") is not None:
            changes["encryption"] = params["encryptionConfiguration"]
        now = self._engine.clock.now()
        revision = replace(rev, revision_id=str(uuid.uuid4()), updated=now, **changes)
        entry.revision = revision
        try:
            await self.persist(entry)
        except ApiError:
            entry.revision = rev  # not stored: not made either
            raise
        return {"updateDate": now, "revisionId": revision.revision_id}

    async def delete(self, params: dict[str, Any], running: int) -> dict[str, Any]:
        arn = params["stateMachineArn"]
        parse_arn(arn, "stateMachine")
        entry = self._by_arn.get(arn)
        if entry is None:
            return {}  # AWS: deleting what does not exist succeeds
        if running == 0:
            await self._drop(arn, entry.last_version)
            del self._by_arn[arn]
            return {}
        if not entry.deleting:
            entry.deleting = True
            try:
                await self.persist(entry)
            except ApiError:
                entry.deleting = False
                raise
        return {}

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """ValidateStateMachineDefinition: every problem as a diagnostic with code, message and location."""
        size = params.get("maxResults") or DIAGNOSTICS_MAX
        # ``severity`` picks the lowest severity returned (ERROR by default, or WARNING); the
        # validator reports only errors, which both include.
        try:
            self._engine.compile(params["definition"])
            problems = []
        except InvalidDefinition as exc:
            problems = exc.problems
        diagnostics = [
            {"severity": "ERROR", "code": p.code, "message": p.message, "location": p.location or "/"}
            for p in problems
        ]
        return {
            "result": "FAIL" if diagnostics else "OK",
            "diagnostics": diagnostics[:size],
            "truncated": len(diagnostics) > size,
        }


__all__ = [
    "EXPRESS",
    "STANDARD",
    "Revision",
    "StateMachineEntry",
    "StateMachines",
    "revision_settings",
    "stored_revision",
]
