"""State machine versions: PublishStateMachineVersion, ListStateMachineVersions, DeleteStateMachineVersion.

A version is an immutable snapshot of one revision of a state machine,
numbered 1, 2, … per machine (a number is never given again, even after its
version is deleted), with its own ARN, the machine's with ``:N``::

    arn:aws:states:REGION:ACCOUNT:stateMachine:NAME:N

Publishing is idempotent as on AWS: a revision already published answers
its version again. ``revisionId`` publishes only if it is the current
revision (``ConflictException`` otherwise); a machine has at most
``MAX_VERSIONS`` (``ServiceQuotaExceededException``). With a durable store a
version is written before the answer as a state machine row of its own ARN
(its definition as given, role, the revision's settings, its number and
description), and the machine's settings keep the last number given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from engine.jsonvalue import JSON
from engine.store import StoredStateMachine
from statewright.api._arns import parse_arn
from statewright.api._errors import ApiError, invalid_arn
from statewright.api._paging import make_token, page_size, read_token
from statewright.api._state_machines import (
    Revision,
    StateMachineEntry,
    StateMachines,
    revision_settings,
    stored_revision,
)

MAX_VERSIONS: Final = 1000
"""AWS's quota of versions per state machine."""


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """One published version."""

    arn: str
    machine_arn: str
    number: int
    revision: Revision
    description: str | None
    created: datetime


def split_version(arn: str) -> tuple[str, int] | None:
    """``(machine ARN, number)`` of a version ARN, None for an unqualified state machine ARN.

    Raises:
        ApiError: InvalidArn (not a state machine ARN, or a qualifier that is no version number).
    """
    head, sep, tail = arn.rpartition(":")
    if arn.count(":") == 7 and sep:
        parse_arn(head, "stateMachine")
        if not tail.isdigit() or tail.startswith("0"):
            raise invalid_arn(arn, "Invalid ARN format")
        return head, int(tail)
    parse_arn(arn, "stateMachine")
    return None


class Versions:
    """The versions of one server's state machines."""

    def __init__(self, machines: StateMachines) -> None:
        self._machines = machines
        self._by_arn: dict[str, VersionEntry] = {}

    def restore(self, stored: StoredStateMachine) -> bool:
        """Take a stored row that is a version (False: it is not one)."""
        found = stored.arn.count(":") == 7 and stored.arn.rpartition(":")[2].isdigit()
        if not found:
            return False
        machine_arn, _, number = stored.arn.rpartition(":")
        machine = self._machines.compiled(stored.definition)
        if self._machines.find(machine_arn) is None or machine is None:
            return True  # its machine was deleted, or it cannot run here: nothing may start it
        description = stored.settings.get("description")
        revision = stored_revision(
            stored.settings, stored.definition, machine, stored.role_arn, missing="stored"
        )
        self._by_arn[stored.arn] = VersionEntry(
            stored.arn,
            machine_arn,
            int(number),
            revision,
            description if isinstance(description, str) else None,
            stored.creation_date,
        )
        return True

    def get(self, arn: str) -> VersionEntry:
        """The version ``arn`` names.

        Raises:
            ApiError: InvalidArn, StateMachineDoesNotExist.
        """
        split_version(arn)
        found = self._by_arn.get(arn)
        if found is None or self._machines.find(found.machine_arn) is None:
            raise ApiError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return found

    def restore_all(self, stored: list[StoredStateMachine]) -> int:
        """Take the versions ``StateMachines.restore`` held back; returns how many."""
        for row in stored:
            self.restore(row)
        return len(self._by_arn)

    def forget_of(self, machine_arn: str) -> None:
        """Drop a deleted machine's versions (the store drops their rows with the machine's)."""
        for version in self.of(machine_arn):
            del self._by_arn[version.arn]

    def find(self, arn: str) -> VersionEntry | None:
        return self._by_arn.get(arn)

    def of(self, machine_arn: str) -> list[VersionEntry]:
        """A machine's versions, newest first (as ListStateMachineVersions lists them)."""
        found = [v for v in self._by_arn.values() if v.machine_arn == machine_arn]
        return sorted(found, key=lambda v: v.number, reverse=True)

    # -- operations ----------------------------------------------------------------
    async def publish(
        self, sm: StateMachineEntry, description: str | None, revision_id: str | None
    ) -> VersionEntry:
        """Publish ``sm``'s current revision (or answer the version that has it).

        Raises:
            ApiError: StateMachineDeleting, ConflictException, ServiceQuotaExceededException.
        """
        if sm.deleting:
            raise ApiError("StateMachineDeleting", f"State Machine is being deleted: '{sm.arn}'")
        rev = sm.revision
        if revision_id is not None and revision_id != rev.revision_id:
            raise ApiError(
                "ConflictException",
                f"Failed to publish the State Machine version for revision {revision_id}. "
                f"The current State Machine revision is {rev.revision_id}.",
            )
        versions = self.of(sm.arn)
        for version in versions:
            if version.revision.revision_id == rev.revision_id:
                return version
        if len(versions) >= MAX_VERSIONS:
            raise ApiError(
                "ServiceQuotaExceededException",
                f"Cannot publish more than {MAX_VERSIONS} versions of State Machine '{sm.arn}'",
            )
        number = sm.last_version + 1
        version = VersionEntry(f"{sm.arn}:{number}", sm.arn, number, rev, description, self._machines.now())
        settings: dict[str, JSON] = {**revision_settings(rev), "version": number, "description": description}
        await self._machines.put_qualified(version.arn, sm, rev, settings, version.created)
        sm.last_version = number
        await self._machines.persist(sm)
        self._by_arn[version.arn] = version
        return version

    async def publish_request(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["stateMachineArn"]
        if split_version(arn) is not None:
            raise invalid_arn(arn, "Resource type not valid in this context: stateMachine version")
        sm = self._machines.get(arn)
        version = await self.publish(sm, params.get("description"), params.get("revisionId"))
        return {"creationDate": version.created, "stateMachineVersionArn": version.arn}

    def list(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["stateMachineArn"]
        if split_version(arn) is not None:
            raise invalid_arn(arn, "Resource type not valid in this context: stateMachine version")
        listing = f"ListStateMachineVersions/{arn}"
        start = read_token(params.get("nextToken"), listing) or 0
        size = page_size(params)
        versions = self.of(arn)
        page = versions[start : start + size]
        out: dict[str, Any] = {
            "stateMachineVersions": [
                {"stateMachineVersionArn": v.arn, "creationDate": v.created} for v in page
            ]
        }
        if start + size < len(versions):
            out["nextToken"] = make_token(listing, start + size)
        return out

    async def delete(self, params: dict[str, Any], routed: set[str]) -> dict[str, Any]:
        """DeleteStateMachineVersion; ``routed`` are the versions an alias routes to (ConflictException)."""
        arn = params["stateMachineVersionArn"]
        if split_version(arn) is None:
            raise invalid_arn(arn, "Invalid ARN format: not a state machine version")
        if arn not in self._by_arn:
            return {}  # as AWS: deleting what does not exist succeeds
        if arn in routed:
            raise ApiError(
                "ConflictException",
                f"Version to be deleted must not be referenced by an alias. Current list of aliases "
                f"referencing this version: {arn}",
            )
        await self.drop(arn)
        return {}

    async def drop(self, arn: str) -> None:
        await self._machines.delete_qualified(arn)
        self._by_arn.pop(arn, None)

    def describe(self, arn: str) -> dict[str, Any]:
        """DescribeStateMachine of a version ARN: the version's revision, its description and date."""
        version = self.get(arn)
        sm = self._machines.find(version.machine_arn)
        rev = version.revision
        return {
            "stateMachineArn": version.arn,
            "name": sm.name if sm is not None else version.machine_arn.rpartition(":")[2],
            "status": "ACTIVE",
            "definition": rev.definition,
            "roleArn": rev.role_arn,
            "type": sm.type if sm is not None else "STANDARD",
            "creationDate": version.created,
            "loggingConfiguration": rev.logging,
            "tracingConfiguration": rev.tracing,
            "revisionId": rev.revision_id,
            "description": version.description,
            "encryptionConfiguration": rev.encryption,
        }


__all__ = ["MAX_VERSIONS", "VersionEntry", "Versions", "split_version"]
