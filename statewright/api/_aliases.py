"""State machine aliases: Create, Describe, List, Update and DeleteStateMachineAlias.

An alias names one or two versions of one state machine with weights that
add up to 100 (``routingConfiguration``); its ARN is the machine's with
``:NAME``. StartExecution on an alias ARN picks one of its versions by
weight (with the engine's seeded random numbers) and the execution records
both ARNs. Creating an alias that exists with the same routing and
description answers it again; with another, it is ``ConflictException``, as
on AWS. A machine has at most ``MAX_ALIASES``. With a durable store an alias
is written before the answer as a state machine row of its own ARN (the
definition of its first version, the routing, description and dates as
settings), and it goes with its machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from engine import Engine
from engine.jsonvalue import JSON
from engine.store import StoredStateMachine
from statewright.api._arns import parse_arn
from statewright.api._errors import ApiError, invalid_arn
from statewright.api._paging import make_token, page_size, read_token
from statewright.api._state_machines import StateMachineEntry, StateMachines
from statewright.api._versions import VersionEntry, Versions, split_version

MAX_ALIASES: Final = 100
"""AWS's quota of aliases per state machine."""
_ALIAS_NAME: Final = re.compile(r"^(?=.*[a-zA-Z_\-.])[a-zA-Z0-9_\-.]{1,80}$")


@dataclass(slots=True)
class AliasEntry:
    """One alias: its versions by weight."""

    arn: str
    machine_arn: str
    name: str
    routing: list[tuple[str, int]]
    description: str | None
    created: datetime
    updated: datetime | None = None
    definition: str = field(default="", repr=False)


def split_alias(arn: str) -> tuple[str, str] | None:
    """``(machine ARN, alias name)`` of an alias ARN, None for anything else that names a state machine."""
    head, sep, tail = arn.rpartition(":")
    if arn.count(":") == 7 and sep and not tail.isdigit():
        parse_arn(head, "stateMachine")
        if not _ALIAS_NAME.match(tail):
            raise invalid_arn(arn, "Invalid ARN format")
        return head, tail
    return None


class Aliases:
    """The aliases of one server's state machines."""

    def __init__(self, engine: Engine, machines: StateMachines, versions: Versions) -> None:
        self._engine = engine
        self._machines = machines
        self._versions = versions
        self._by_arn: dict[str, AliasEntry] = {}

    def restore(self, stored: StoredStateMachine) -> bool:
        """Take a stored row that is an alias (False: it is not one)."""
        machine_arn, name = stored.arn.rsplit(":", 1)
        if name.isdigit():
            return False  # a version
        settings = stored.settings
        routing = settings.get("routingConfiguration")
        if self._machines.find(machine_arn) is None or not isinstance(routing, list):
            return True
        description = settings.get("description")
        updated = settings.get("updateDate")
        self._by_arn[stored.arn] = AliasEntry(
            stored.arn,
            machine_arn,
            name,
            [(str(r["stateMachineVersionArn"]), int(r["weight"])) for r in routing if isinstance(r, dict)],
            description if isinstance(description, str) else None,
            stored.creation_date,
            datetime.fromtimestamp(updated, UTC) if isinstance(updated, int | float) else None,
            stored.definition,
        )
        return True

    def get(self, arn: str) -> AliasEntry:
        """The alias ``arn`` names.

        Raises:
            ApiError: InvalidArn, ResourceNotFound.
        """
        if split_alias(arn) is None:
            raise invalid_arn(arn, "Invalid ARN format: not a state machine alias")
        found = self._by_arn.get(arn)
        if found is None or self._machines.find(found.machine_arn) is None:
            raise ApiError("ResourceNotFound", f"Resource not found: '{arn}'", resourceName=arn)
        return found

    def routed(self) -> set[str]:
        """The versions some alias routes to (they cannot be deleted)."""
        return {version for alias in self._by_arn.values() for version, _ in alias.routing}

    def pick(self, arn: str) -> VersionEntry:
        """The version an execution started on the alias runs, chosen by weight."""
        alias = self.get(arn)
        draw = self._engine.rng.random() * 100
        for version, weight in alias.routing:
            if draw < weight:
                return self._versions.get(version)
            draw -= weight
        return self._versions.get(alias.routing[-1][0])

    # -- operations ----------------------------------------------------------------
    def _routing(self, config: list[dict[str, Any]]) -> tuple[StateMachineEntry, list[tuple[str, int]]]:
        routing = [(str(r["stateMachineVersionArn"]), int(r["weight"])) for r in config]
        machines = set()
        for version, _ in routing:
            split = split_version(version)
            if split is None:
                raise ApiError(
                    "ValidationException", f"Routing configuration must name versions: '{version}'"
                )
            machines.add(split[0])
        if len(machines) != 1:
            raise ApiError(
                "ValidationException", "Routing configuration must contain versions of one state machine"
            )
        if len({v for v, _ in routing}) != len(routing):
            raise ApiError(
                "ValidationException", "Routing configuration must contain distinct state machine versions"
            )
        if sum(w for _, w in routing) != 100:
            raise ApiError("ValidationException", "Sum of routing configuration weights must be equal to 100")
        sm = self._machines.get(machines.pop())
        if sm.deleting:
            raise ApiError("StateMachineDeleting", f"State Machine is being deleted: '{sm.arn}'")
        for version, _ in routing:
            if self._versions.find(version) is None:
                raise ApiError("ResourceNotFound", f"Resource not found: '{version}'", resourceName=version)
        return sm, routing

    async def _persist(self, sm: StateMachineEntry, alias: AliasEntry) -> None:
        if self._machines.store is None:
            return
        settings: dict[str, JSON] = {
            "routingConfiguration": [{"stateMachineVersionArn": v, "weight": w} for v, w in alias.routing],
            "description": alias.description,
            "updateDate": alias.updated.timestamp() if alias.updated is not None else None,
        }
        # The row carries its first version's definition and role.
        first = self._versions.get(alias.routing[0][0]).revision
        await self._machines.put_qualified(alias.arn, sm, first, settings, alias.created)

    async def create(self, params: dict[str, Any]) -> dict[str, Any]:
        name: str = params["name"]
        if not _ALIAS_NAME.match(name):
            raise ApiError("InvalidName", f"Invalid Name: '{name}'")
        sm, routing = self._routing(params["routingConfiguration"])
        arn = f"{sm.arn}:{name}"
        existing = self._by_arn.get(arn)
        description = params.get("description")
        if existing is not None:
            if existing.routing == routing and existing.description == description:
                return {"stateMachineAliasArn": arn, "creationDate": existing.created}
            raise ApiError("ConflictException", f"Alias {arn} already exists with a different configuration")
        if len(self.of(sm.arn)) >= MAX_ALIASES:
            raise ApiError(
                "ServiceQuotaExceededException",
                f"Cannot create more than {MAX_ALIASES} aliases of '{sm.arn}'",
            )
        alias = AliasEntry(arn, sm.arn, name, routing, description, self._machines.now())
        await self._persist(sm, alias)
        self._by_arn[arn] = alias
        return {"stateMachineAliasArn": arn, "creationDate": alias.created}

    def describe(self, params: dict[str, Any]) -> dict[str, Any]:
        alias = self.get(params["stateMachineAliasArn"])
        return {
            "stateMachineAliasArn": alias.arn,
            "name": alias.name,
            "description": alias.description,
            "routingConfiguration": [{"stateMachineVersionArn": v, "weight": w} for v, w in alias.routing],
            "creationDate": alias.created,
            "updateDate": alias.updated or alias.created,
        }

    def of(self, machine_arn: str) -> list[AliasEntry]:
        """A machine's aliases, by name."""
        return sorted(
            (a for a in self._by_arn.values() if a.machine_arn == machine_arn), key=lambda a: a.name
        )

    def list(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["stateMachineArn"]
        if split_version(arn) is not None or split_alias(arn) is not None:
            raise invalid_arn(arn, "Resource type not valid in this context: stateMachine version or alias")
        sm = self._machines.get(arn)
        if sm.deleting:
            raise ApiError("StateMachineDeleting", f"State Machine is being deleted: '{sm.arn}'")
        listing = f"ListStateMachineAliases/{arn}"
        start = read_token(params.get("nextToken"), listing) or 0
        size = page_size(params)
        aliases = self.of(arn)
        out: dict[str, Any] = {
            "stateMachineAliases": [
                {"stateMachineAliasArn": a.arn, "creationDate": a.created}
                for a in aliases[start : start + size]
            ]
        }
        if start + size < len(aliases):
            out["nextToken"] = make_token(listing, start + size)
        return out

    async def update(self, params: dict[str, Any]) -> dict[str, Any]:
        alias = self.get(params["stateMachineAliasArn"])
        config = params.get("routingConfiguration")
        if config is None and params.get("description") is None:
            raise ApiError(
                "ValidationException", "Either the description or the RoutingConfiguration must be specified"
            )
        sm = self._machines.get(alias.machine_arn)
        if sm.deleting:
            raise ApiError("StateMachineDeleting", f"State Machine is being deleted: '{sm.arn}'")
        routing = alias.routing
        if config is not None:
            target, routing = self._routing(config)
            if target.arn != alias.machine_arn:
                raise ApiError(
                    "ValidationException", "Routing configuration must name versions of the alias's machine"
                )
        description = params.get("description", alias.description)
        changed = AliasEntry(
            alias.arn,
            alias.machine_arn,
            alias.name,
            routing,
            description,
            alias.created,
            self._machines.now(),
        )
        await self._persist(sm, changed)
        self._by_arn[alias.arn] = changed
        return {"updateDate": changed.updated}

    async def delete(self, params: dict[str, Any]) -> dict[str, Any]:
        alias = self.get(params["stateMachineAliasArn"])
        await self.drop(alias.arn)
        return {}

    async def drop(self, arn: str) -> None:
        await self._machines.delete_qualified(arn)
        self._by_arn.pop(arn, None)

    async def drop_of(self, machine_arn: str) -> None:
        """Drop a deleted machine's aliases, in the store too."""
        for alias in self.of(machine_arn):
            await self.drop(alias.arn)


__all__ = ["MAX_ALIASES", "AliasEntry", "Aliases", "split_alias"]
