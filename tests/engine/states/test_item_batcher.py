"""ItemBatcher as AWS defines it, in both query languages.

Invariant: each field the parser accepts takes effect — MaxItemsPerBatch(Path)
and MaxInputBytesPerBatch(Path) bound every batch, BatchInput sits beside
Items in each child's input — and any other field is refused with a problem
naming it.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine import Engine, InvalidDefinition, parse_definition
from engine.jsonvalue import dumps

PROCESSOR = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def _map(batcher: dict[str, Any], jsonata: bool = False, **fields: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemBatcher": batcher,
        "ItemProcessor": PROCESSOR,
        "End": True,
        **fields,
    }
    if jsonata:
        state.setdefault("Items", "{% $states.input.xs %}")
        return {"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": state}}
    state.setdefault("ItemsPath", "$.xs")
    return {"StartAt": "M", "States": {"M": state}}


async def _run(definition: dict[str, Any], value: Any) -> Any:
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(definition, value)
    assert result.status == "SUCCEEDED", result.cause
    return result.output


@pytest.mark.parametrize(
    ("batcher", "jsonata"),
    [
        ({"MaxItemsPerBatch": 2}, False),
        ({"MaxItemsPerBatchPath": "$.n"}, False),
        ({"MaxItemsPerBatch": 2}, True),
        ({"MaxItemsPerBatch": "{% $states.input.n %}"}, True),
    ],
)
async def test_max_items_per_batch_groups_the_items(batcher: dict[str, Any], jsonata: bool) -> None:
    output = await _run(_map(batcher, jsonata), {"xs": [1, 2, 3], "n": 2})
    assert output == [{"Items": [1, 2]}, {"Items": [3]}]


@pytest.mark.parametrize(
    ("batcher", "jsonata"),
    [
        ({"MaxInputBytesPerBatch": 20}, False),
        ({"MaxInputBytesPerBatchPath": "$.b"}, False),
        ({"MaxInputBytesPerBatch": "{% $states.input.b %}"}, True),
    ],
)
async def test_max_input_bytes_per_batch_bounds_each_child_input(
    batcher: dict[str, Any], jsonata: bool
) -> None:
    output = await _run(_map(batcher, jsonata), {"xs": [1, 2, 3, 4, 5], "b": 20})
    assert output == [{"Items": [1, 2, 3, 4]}, {"Items": [5]}]
    assert all(len(dumps(child)) <= 20 for child in output)


async def test_batch_input_sits_beside_items_and_item_selector_shapes_each_item() -> None:
    jsonpath = _map(
        {"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$.run"}}, ItemSelector={"v.$": "$$.Map.Item.Value"}
    )
    output = await _run(jsonpath, {"xs": [1, 2, 3], "run": "r1"})
    assert output == [
        {"Items": [{"v": 1}, {"v": 2}], "BatchInput": {"run": "r1"}},
        {"Items": [{"v": 3}], "BatchInput": {"run": "r1"}},
    ]
    jsonata = _map({"MaxItemsPerBatch": 3, "BatchInput": {"run": "{% $states.input.run %}"}}, True)
    assert await _run(jsonata, {"xs": [1, 2, 3], "run": "r2"}) == [
        {"Items": [1, 2, 3], "BatchInput": {"run": "r2"}}
    ]


@pytest.mark.parametrize(
    ("batcher", "jsonata", "where"),
    [
        ({"MaxItemsPerBatch": 2, "Bogus": 1}, False, "/States/M/ItemBatcher/Bogus"),
        ({"MaxItemsPerBatchPath": "$.n"}, True, "/States/M/ItemBatcher/MaxItemsPerBatchPath"),
        ({"BatchInput": {}}, False, "/States/M/ItemBatcher"),
        ({"MaxItemsPerBatch": 0}, False, "/States/M/ItemBatcher/MaxItemsPerBatch"),
        ({"MaxInputBytesPerBatch": 262_145}, False, "/States/M/ItemBatcher/MaxInputBytesPerBatch"),
        ({"MaxItemsPerBatch": 2, "MaxItemsPerBatchPath": "$.n"}, False, "/States/M/ItemBatcher"),
    ],
)
def test_fields_that_cannot_take_effect_are_refused(
    batcher: dict[str, Any], jsonata: bool, where: str
) -> None:
    with pytest.raises(InvalidDefinition) as info:
        parse_definition(_map(batcher, jsonata))
    assert where in [p.location for p in info.value.problems]


async def test_an_item_larger_than_the_byte_limit_fails_the_map() -> None:
    async with Engine(load_plugins=False) as engine:
        result = await engine.run(_map({"MaxInputBytesPerBatch": 15}), {"xs": ["a" * 50]})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
