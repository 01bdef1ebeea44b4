"""How a history keeps its events: five cells of one flat list, no object per event for the GC."""

from __future__ import annotations

import copy
import gc
import pickle
from typing import Any

import orjson

from engine import Engine, ExecutorRegistry, History


def _chain(n: int) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(n):
        st: dict[str, Any] = {"Type": "Pass", "Parameters": {"i": i, "v.$": "$.v"}, "ResultPath": "$.last"}
        st.update({"End": True} if i == n - 1 else {"Next": f"S{i + 1}"})
        states[f"S{i}"] = st
    return {"StartAt": "S0", "States": states}


async def _run_chain(n: int, executions: int) -> tuple[list[Any], float]:
    """Run ``executions`` chains of ``n`` Pass states; return the results and the GC allocations per transition."""
    async with Engine(registry=ExecutorRegistry(), seed=1) as engine:
        await engine.run(_chain(n), {"v": -1})  # the definition compiled, caches warm
        gc.collect()
        gc.disable()
        try:
            before = gc.get_count()[0]
            handles = [engine.start(_chain(n), {"v": k}) for k in range(executions)]
            results = [await h.wait() for h in handles]
            allocated = gc.get_count()[0] - before
        finally:
            gc.enable()
    return results, allocated / (n * executions)


async def test_a_pass_chain_leaves_no_object_per_event_for_the_garbage_collector() -> None:
    # Before: a tuple per event stayed alive with the history (4.55 collector-tracked objects per
    # transition here); now a transition leaves its output and its Parameters' result only.
    results, per_transition = await _run_chain(60, 200)
    assert all(r.status == "SUCCEEDED" for r in results)
    assert per_transition < 3.0, per_transition


async def test_state_events_read_back_as_recorded() -> None:
    results, _ = await _run_chain(3, 1)
    events = [(e.type, e.details) for e in results[0].history]
    assert events[1:7] == [
        ("PassStateEntered", {"name": "S0", "input": {"v": 0}}),
        ("PassStateExited", {"name": "S0", "output": {"v": 0, "last": {"i": 0, "v": 0}}}),
        ("PassStateEntered", {"name": "S1", "input": {"v": 0, "last": {"i": 0, "v": 0}}}),
        ("PassStateExited", {"name": "S1", "output": {"v": 0, "last": {"i": 1, "v": 0}}}),
        ("PassStateEntered", {"name": "S2", "input": {"v": 0, "last": {"i": 1, "v": 0}}}),
        ("PassStateExited", {"name": "S2", "output": {"v": 0, "last": {"i": 2, "v": 0}}}),
    ]
    aws = results[0].history.to_aws()
    assert aws[3]["stateEnteredEventDetails"]["input"] == '{"v":0,"last":{"i":0,"v":0}}'


def test_a_history_copies_pickles_and_encodes_as_one_flat_array() -> None:
    h = History()
    h.append("ExecutionStarted", 0.5, {"input": {"v": 1}, "roleArn": "r"})
    out = {"v": 1, "n": 2}
    h.state_event("PassStateExited", 1.0, "A", out)
    h.state_event("PassStateEntered", 2.0, "B", out)
    expected = [(e.type, e.details) for e in h]
    assert expected[1][1] == {"name": "A", "output": {"v": 1, "n": 2}}
    for other in (copy.deepcopy(h), copy.copy(h), pickle.loads(pickle.dumps(h))):
        assert [(e.type, e.details) for e in other] == expected
    first, data = h.encode_after(0)
    assert orjson.loads(data)[:6] == [
        "ExecutionStarted",
        0.5,
        None,
        {"input": {"v": 1}, "roleArn": "r"},
        None,
        "PassStateExited",
    ]
    assert [(e.type, e.details) for e in History.decode(first, data)] == expected


def test_a_stored_batch_of_one_array_per_event_still_reads_back() -> None:
    # What stores written before the array was flat hold.
    data = orjson.dumps(
        [["PassStateEntered", 1.0, "A", {"v": 1}, None], ["PassStateExited", 2.0, "A", {"v": 2}, None]]
    )
    events = History.decode(5, data)
    assert [(e.id, e.previous_event_id, e.details) for e in events] == [
        (5, 4, {"name": "A", "input": {"v": 1}}),
        (6, 5, {"name": "A", "output": {"v": 2}}),
    ]
