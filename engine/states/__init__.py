"""The state types' semantics: one module per ASL state type, dispatched through one table.

- ``pass_``, ``choice``, ``succeed``, ``fail``: the plain states, plain
  function calls (no coroutine per transition);
- ``wait``, ``task``, ``map_``, ``parallel``: the states that await;
- ``retry_catch``: Retry and Catch for Task, Map and Parallel;
- ``io``: a state's I/O (InputPath … OutputPath, Arguments … Output, Assign),
  written once for JSONPath and once for JSONata;
- ``runner``: the ``Runner`` protocol, what a state type sees of the
  interpreter (``engine.runtime.execution.Interpreter`` implements it).

``SYNC_STATES`` and ``ASYNC_STATES`` map a state's ``Type`` to its function
``(runner, state, position, variables) -> (output, next state or None)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from engine.definition.model import State
from engine.jsonvalue import JSON
from engine.runtime.record import Position
from engine.states import choice, fail, map_, parallel, pass_, succeed, task, wait
from engine.states.runner import Runner, Variables

SyncState = Callable[[Runner, State, Position, Variables], tuple[JSON, str | None]]
AsyncState = Callable[[Runner, State, Position, Variables], Awaitable[tuple[JSON, str | None]]]

SYNC_STATES: Final[Mapping[str, SyncState]] = {
    "Pass": pass_.run,
    "Choice": choice.run,
    "Succeed": succeed.run,
    "Fail": fail.run,
}
ASYNC_STATES: Final[Mapping[str, AsyncState]] = {
    "Task": task.run,
    "Wait": wait.run,
    "Map": map_.run,
    "Parallel": parallel.run,
}
