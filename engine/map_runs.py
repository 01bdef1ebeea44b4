"""Map Runs: what a Distributed Map state's run is while it runs, and the registry that finds it.

A Distributed Map (``ItemProcessor.ProcessorConfig.Mode: DISTRIBUTED``) is a
Map Run on AWS, with an ARN of its own::

    arn:aws:states:REGION:ACCOUNT:mapRun:STATE_MACHINE_NAME/LABEL:UUID

(``LABEL`` is the state's ``Label``, its name when it has none). Its child
workflow executions are named by UUIDs too, with ARNs of the same shape
(``execution:STATE_MACHINE_NAME/LABEL:UUID``). Both UUIDs are derived from
what the execution's record keeps (the Map's Entered event id and attempt,
the item's index), so a resumed Map Run has the ARNs it had.

``MapRuns`` holds the runs of one engine by ARN. UpdateMapRun changes a
running one through ``MapRun.update``: its concurrency limiter takes the new
``maxConcurrency`` at once and its failure threshold is checked again, so the
change reaches the running Map and is not only stored. ``MapRuns.listener``
is told when a run starts, is resumed, is updated and ends (a server keeps
them in its store then).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

import anyio

from engine.jsonvalue import JSON

RUNNING: Final = "RUNNING"
SUCCEEDED: Final = "SUCCEEDED"
FAILED: Final = "FAILED"
ABORTED: Final = "ABORTED"
TIMED_OUT: Final = "TIMED_OUT"

_NAMESPACE: Final = uuid.UUID("5f0c8e52-3b7e-4a51-9c39-2d7f1b0e6a14")
"""uuid5 namespace of Map Run and child execution ids (any fixed value; it only has to stay)."""

COUNT_KEYS: Final = (
    "pending", "running", "succeeded", "failed", "timedOut", "aborted", "total",
    "resultsWritten", "failuresNotRedrivable", "pendingRedrive",
)  # fmt: skip
"""The fields of AWS's MapRunExecutionCounts and MapRunItemCounts."""


def map_run_arn(execution_arn: str, state_machine_name: str, label: str, seed: str) -> str:
    """A Map Run's ARN in AWS's shape; ``seed`` makes its UUID (the same seed, the same ARN)."""
    region, account = execution_arn.split(":")[3:5]
    run_id = uuid.uuid5(_NAMESPACE, f"{execution_arn}|{seed}")
    return f"arn:aws:states:{region}:{account}:mapRun:{state_machine_name}/{label}:{run_id}"


@dataclass(slots=True)
class Child:
    """One child workflow execution of a Map Run (an item, or a batch of items)."""

    index: int
    items: int
    start: float
    stop: float | None = None
    status: str = RUNNING
    input: str | None = None
    """Its input (JSON text), as DescribeExecution of the child answers it."""
    output: str | None = None
    """Its output (JSON text) once it succeeded."""
    error: str | None = None
    cause: str | None = None


@dataclass(slots=True, eq=False)
class MapRun:
    """A Map Run: its settings (which UpdateMapRun changes), its children and its end."""

    arn: str
    execution_arn: str
    state_machine_arn: str
    start: float
    max_concurrency: int
    tolerated_count: int | None
    tolerated_pct: float | None
    total: int
    """How many child executions it runs."""
    item_counts: list[int] = field(default_factory=list)
    """How many items each child has (1 each without ItemBatcher)."""
    status: str = RUNNING
    stop: float | None = None
    children: dict[int, Child] = field(default_factory=dict)
    limiter: anyio.CapacityLimiter | None = field(default=None, repr=False)
    taken: dict[int, Child] = field(default_factory=dict, repr=False)
    """A resumed run's children as its document had them, for those that start again later."""
    on_update: Callable[[], None] | None = field(default=None, repr=False)
    """Set by the running Map: checks its failure threshold again after an update."""

    @property
    def label(self) -> str:
        return self.arn.split(":")[6].partition("/")[2]

    def child_arn(self, index: int) -> str:
        """A child execution's ARN (``execution:STATE_MACHINE_NAME/LABEL:UUID``)."""
        head = self.arn.split(":")
        name = uuid.uuid5(_NAMESPACE, f"{self.arn}|{index}")
        return ":".join([*head[:5], "execution", head[6], str(name)])

    def child_machine_arn(self) -> str:
        """The ARN AWS gives a child's state machine (``stateMachine:STATE_MACHINE_NAME/LABEL``)."""
        head = self.arn.split(":")
        return ":".join([*head[:5], "stateMachine", head[6]])

    def tokens(self) -> float:
        """The limiter's size for ``max_concurrency`` (0: no limit)."""
        return self.max_concurrency if self.max_concurrency > 0 else math.inf

    def update(
        self, max_concurrency: int | None, tolerated_count: int | None, tolerated_pct: float | None
    ) -> None:
        """UpdateMapRun: the values given take effect at once in the running Map."""
        if max_concurrency is not None:
            self.max_concurrency = max_concurrency
            if self.limiter is not None:
                self.limiter.total_tokens = self.tokens()
        if tolerated_count is not None:
            self.tolerated_count = tolerated_count
        if tolerated_pct is not None:
            self.tolerated_pct = tolerated_pct
        if self.on_update is not None:
            self.on_update()

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """``(executionCounts, itemCounts)`` as AWS answers them."""
        executions = dict.fromkeys(COUNT_KEYS, 0)
        items = dict.fromkeys(COUNT_KEYS, 0)
        key = {RUNNING: "running", SUCCEEDED: "succeeded", FAILED: "failed", TIMED_OUT: "timedOut"}
        for child in self.children.values():
            k = key.get(child.status, "aborted")
            executions[k] += 1
            items[k] += child.items
        executions["total"] = self.total
        items["total"] = sum(self.item_counts) if self.item_counts else self.total
        executions["pending"] = self.total - len(self.children)
        items["pending"] = items["total"] - sum(c.items for c in self.children.values())
        if self.status in (ABORTED, FAILED):
            # A run that ended so starts nothing more: what never started is aborted with it.
            executions["aborted"] += executions["pending"]
            items["aborted"] += items["pending"]
            executions["pending"] = items["pending"] = 0
        return executions, items

    def to_json(self) -> dict[str, JSON]:
        """The run as a JSON document (what a store keeps)."""
        return {
            "mapRunArn": self.arn,
            "executionArn": self.execution_arn,
            "stateMachineArn": self.state_machine_arn,
            "start": self.start,
            "stop": self.stop,
            "status": self.status,
            "maxConcurrency": self.max_concurrency,
            "toleratedFailureCount": self.tolerated_count,
            "toleratedFailurePercentage": self.tolerated_pct,
            "total": self.total,
            "itemCounts": list(self.item_counts),
            "children": [
                [c.index, c.items, c.start, c.stop, c.status, c.input, c.output, c.error, c.cause]
                for c in self.children.values()
            ],
        }

    @classmethod
    def from_json(cls, doc: dict[str, JSON]) -> MapRun:
        """The inverse of ``to_json``.

        Raises:
            ValueError: not a Map Run document.
        """
        try:
            run = cls(
                arn=str(doc["mapRunArn"]),
                execution_arn=str(doc["executionArn"]),
                state_machine_arn=str(doc["stateMachineArn"]),
                start=_number(doc["start"]),
                max_concurrency=int(_number(doc["maxConcurrency"])),
                tolerated_count=_optional_int(doc.get("toleratedFailureCount")),
                tolerated_pct=_optional_number(doc.get("toleratedFailurePercentage")),
                total=int(_number(doc["total"])),
                item_counts=[int(_number(n)) for n in _list(doc.get("itemCounts"))],
                status=str(doc["status"]),
                stop=_optional_number(doc.get("stop")),
            )
            for row in _list(doc.get("children")):
                fields = _list(row)
                index, items, start, stop, status = fields[:5]
                # (Documents written before children kept their data have five fields.)
                data = [None if v is None else str(v) for v in fields[5:9]] + [None] * (9 - len(fields))
                child = Child(
                    int(_number(index)), int(_number(items)), _number(start), _optional_number(stop),
                    str(status), *data,
                )  # fmt: skip
                run.children[child.index] = child
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a Map Run document: {exc}") from None
        return run


def _number(value: JSON) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def _optional_number(value: JSON) -> float | None:
    return None if value is None else _number(value)


def _optional_int(value: JSON) -> int | None:
    return None if value is None else int(_number(value))


def _list(value: JSON) -> list[JSON]:
    if not isinstance(value, list):
        raise TypeError(f"{value!r} is not a list")
    return value


class MapRuns:
    """The Map Runs of one engine, by ARN (those that ended stay until ``forget``)."""

    def __init__(self) -> None:
        self._by_arn: dict[str, MapRun] = {}
        self.listener: Callable[[MapRun, str], None] | None = None
        """Told ``(run, "started" | "resumed" | "updated" | "ended")``."""
        self.persist: Callable[[MapRun], Awaitable[None]] | None = None
        """Awaited by ``end``: keeps the ended run before its Map state goes on (a server's store)."""

    def get(self, arn: str) -> MapRun | None:
        return self._by_arn.get(arn)

    def held(self) -> list[MapRun]:
        """Every run held."""
        return list(self._by_arn.values())

    def of(self, execution_arn: str) -> list[MapRun]:
        """An execution's Map Runs, in the order they started."""
        return sorted(
            (r for r in self._by_arn.values() if r.execution_arn == execution_arn), key=lambda r: r.start
        )

    def started(self, run: MapRun, *, resumed: bool) -> None:
        """Hold ``run`` (a resumed run replaces what was held under its ARN)."""
        self._by_arn[run.arn] = run
        self._tell(run, "resumed" if resumed else "started")

    def updated(self, run: MapRun) -> None:
        self._tell(run, "updated")

    def ended(self, run: MapRun, status: str, stop: float) -> None:
        run.status, run.stop = status, stop
        run.limiter = None
        run.on_update = None
        self._tell(run, "ended")

    async def end(self, run: MapRun, status: str, stop: float) -> None:
        """``ended``, and the end kept before the Map state exits.

        The Map's exit is committed with the execution after this returns, so no
        restart finds the execution past its Map and the run still RUNNING. It is
        shielded: a stopped execution's run is kept ABORTED while it unwinds.
        """
        self.ended(run, status, stop)
        if self.persist is not None:
            with anyio.CancelScope(shield=True):
                await self.persist(run)

    def forget(self, arn: str) -> None:
        self._by_arn.pop(arn, None)

    def _tell(self, run: MapRun, what: str) -> None:
        if self.listener is not None:
            self.listener(run, what)


__all__ = [
    "ABORTED",
    "COUNT_KEYS",
    "FAILED",
    "RUNNING",
    "SUCCEEDED",
    "TIMED_OUT",
    "Child",
    "MapRun",
    "MapRuns",
    "map_run_arn",
]
