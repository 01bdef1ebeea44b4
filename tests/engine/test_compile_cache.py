"""Engine.compile caches machines by content, bounded and safe against later changes.

Invariant: the same definition (dict or text) is parsed once per engine; a
dict changed after a run is compiled again and runs as changed, and the
earlier machine never sees the change; the cache holds at most
``COMPILED_CACHE_SIZE`` machines.
"""

from __future__ import annotations

import copy
from typing import Any

from engine import Engine
from engine.runtime.startup import COMPILED_CACHE_SIZE


def _definition(result: Any) -> dict[str, Any]:
    return {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": result, "End": True}}}


async def test_the_same_dict_compiles_to_the_same_machine_once() -> None:
    definition = _definition({"n": 1})
    async with Engine(load_plugins=False) as engine:
        first = engine.compile(definition)
        assert engine.compile(copy.deepcopy(definition)) is first
        assert engine.compile('{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}') is engine.compile(
            '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}'
        )


async def test_a_dict_changed_after_a_run_runs_as_changed_and_the_old_machine_is_untouched() -> None:
    definition = _definition({"n": 1})
    async with Engine(load_plugins=False) as engine:
        before = engine.compile(definition)
        assert (await engine.run(definition)).output == {"n": 1}
        definition["States"]["A"]["Result"]["n"] = 2
        assert (await engine.run(definition)).output == {"n": 2}
        assert before.states["A"].result == {"n": 1}  # type: ignore[attr-defined]
        assert before.raw["States"]["A"]["Result"] == {"n": 1}


async def test_the_cache_is_bounded() -> None:
    async with Engine(load_plugins=False) as engine:
        for i in range(COMPILED_CACHE_SIZE + 50):
            engine.compile(_definition(i))
        assert len(engine._compiled) == COMPILED_CACHE_SIZE
