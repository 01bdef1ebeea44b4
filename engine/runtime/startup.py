"""Starting an execution: its definition compiled once, its input and name checked, its record made.

Everything ``Engine.start``, ``submit`` and ``prepare`` do before an
execution runs, and what TestState does to run one state alone, goes
through here, so the rules live once: the input must be JSON within the
size limit (``{}`` when none is given, as on AWS), a caller-given name is
refused while the same state machine used it in the last 90 days
(``ExecutionNames``), and ARNs are formed from the engine's region and
account (``Origin``). ``CompiledDefinitions`` keeps machines by content, so
running the same definition in a loop parses it once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from engine.definition.model import StateMachine
from engine.definition.parse import parse_definition
from engine.errors import ExecutionAlreadyExists, InvalidInput
from engine.history import History
from engine.jsonvalue import JSON, JSONDecodeError, NotJSON, check_value, dumps, loads
from engine.registry import ExecutorRegistry
from engine.runtime.clock import Clock
from engine.runtime.record import ExecutionRecord, Position
from engine.size_guard import SizeGuard


class _NoInput:
    """``start``'s input when none is given: the execution's input is then ``{}``, as on AWS."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_INPUT"


NO_INPUT: Final[Any] = _NoInput()
"""No input given (``None`` is an input: JSON null)."""
NAME_RETENTION_SECONDS: Final = 90 * 24 * 3600
"""AWS refuses a name used by the same state machine within the last 90 days."""
COMPILED_CACHE_SIZE: Final = 256
"""How many compiled definitions an engine keeps (by content) for ``start``/``run`` with a dict or text."""
DEFAULT_NAME_MEMORY: Final = 100_000
"""How many given execution names the engine remembers at most (the oldest finished go first)."""


class CompiledDefinitions:
    """Definitions parsed and validated against one registry, kept by content, oldest dropped first."""

    def __init__(self, registry: ExecutorRegistry) -> None:
        self._registry = registry
        # Definition text -> compiled machine, oldest first, bounded by COMPILED_CACHE_SIZE.
        self._machines: dict[str | bytes, StateMachine] = {}

    def __len__(self) -> int:
        return len(self._machines)

    def compile(self, definition: str | bytes | Mapping[str, Any] | StateMachine) -> StateMachine:
        """The machine for ``definition`` (see ``Engine.compile``).

        Raises:
            InvalidDefinition: the definition is invalid.
        """
        if isinstance(definition, StateMachine):
            return definition
        if isinstance(definition, str | bytes):
            key: str | bytes = definition
            source: str | bytes = definition
        else:
            try:
                key = source = dumps(definition)
            except NotJSON:
                return parse_definition(definition, registry=self._registry)  # reports the problem
        cache = self._machines
        machine = cache.get(key)
        if machine is not None:
            return machine
        machine = parse_definition(source, registry=self._registry)
        if len(cache) >= COMPILED_CACHE_SIZE:
            del cache[next(iter(cache))]  # the oldest first
        cache[key] = machine
        return machine


class ExecutionNames:
    """The names callers gave executions, for AWS's 90-day uniqueness rule, bounded in number.

    Args:
        clock: where "now" comes from.
        memory: how many names are remembered at most (the oldest go first).
    """

    def __init__(self, clock: Clock, memory: int) -> None:
        self._clock = clock
        self.memory = memory
        # (state machine ARN, name) -> start time, oldest first.
        self._names: dict[tuple[str, str], float] = {}

    def __len__(self) -> int:
        return len(self._names)

    def name(
        self, name: str | None, new_id: Callable[[], str], state_machine_arn: str, *, express: bool
    ) -> str:
        """A new execution's name: ``name`` checked and claimed, or a fresh id when it is None.

        Raises:
            InvalidInput: the name is not 1 to 80 characters.
            ExecutionAlreadyExists: the state machine used the name within 90 days.
        """
        if name is None:
            return new_id()
        if not (1 <= len(name) <= 80):
            raise InvalidInput("execution names must be 1 to 80 characters")
        if not express:
            # Express executions may share a name: their ARNs end with a unique id.
            self.claim(state_machine_arn, name)
        return name

    def claim(self, state_machine_arn: str, name: str) -> None:
        """Refuse a name in use; remember it, forgetting the expired and the oldest beyond the bound.

        Raises:
            ExecutionAlreadyExists: the state machine used the name within 90 days.
        """
        names = self._names
        key = (state_machine_arn, name)
        now = self._clock.timestamp()
        expired = now - NAME_RETENTION_SECONDS
        if key in names and names[key] > expired:
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{name}'")
        names.pop(key, None)
        while names:
            oldest_key = next(iter(names))
            if names[oldest_key] > expired and len(names) < self.memory:
                break
            del names[oldest_key]
        names[key] = now

    def resumed(self, record: ExecutionRecord) -> None:
        """A stored execution runs here again: its name is taken since it started."""
        key = (record.state_machine_arn, record.name)
        self._names.pop(key, None)
        self._names[key] = record.start_time.timestamp()


def execution_input(input: JSON, input_json: str | bytes | None, guard: SizeGuard) -> JSON:
    """The input an execution starts with: ``input_json`` parsed, else ``input``, else ``{}``.

    Raises:
        InvalidInput: the input is not JSON or is over the size limit.
    """
    if input_json is not None:
        try:
            input = loads(input_json)
        except JSONDecodeError as exc:
            raise InvalidInput(f"execution input is not valid JSON: {exc}") from None
    elif input is NO_INPUT:
        input = {}
    else:
        try:
            check_value(input)
        except NotJSON as exc:
            raise InvalidInput(f"execution input is not JSON: {exc}") from None
    size = guard.over(input)
    if size is not None:
        raise InvalidInput(
            f"execution input is {size} bytes, over the {guard.limit}-byte limit (States.DataLimitExceeded)"
        )
    return input


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an engine's executions come from: the region and account in their ARNs."""

    region: str
    account: str

    def state_machine_arn(self, state_machine_name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{state_machine_name}"

    def execution_arn(self, state_machine_name: str, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:execution:{state_machine_name}:{name}"

    def express_arn(self, state_machine_name: str, name: str, run_id: str) -> str:
        # Express executions may share a name: their ARNs end with a unique id.
        return f"arn:aws:states:{self.region}:{self.account}:express:{state_machine_name}:{name}:{run_id}"

    def new_record(
        self,
        *,
        execution_arn: str,
        name: str,
        state_machine_name: str,
        input: JSON,
        start_time: datetime,
        start_at: str,
        history: History,
        role_arn: str,
        variables: dict[str, JSON] | None = None,
        state_machine_type: str = "STANDARD",
    ) -> ExecutionRecord:
        """A new execution's record, about to enter ``start_at`` with ``input``."""
        return ExecutionRecord(
            execution_arn=execution_arn,
            name=name,
            state_machine_arn=self.state_machine_arn(state_machine_name),
            state_machine_name=state_machine_name,
            input=input,
            start_time=start_time,
            role_arn=role_arn,
            position=Position(start_at, input),
            variables=variables if variables is not None else {},
            history=history,
            state_machine_type=state_machine_type,
        )
