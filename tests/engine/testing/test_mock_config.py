"""The mock configuration file: AWS's format accepted as written, every problem reported with its location."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import parse_definition
from engine.testing import InvalidMockConfig, MockConfig, parse_mock_config

DATA = Path(__file__).parent / "data"


def _problems(raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidMockConfig) as info:
        parse_mock_config(raw)
    return {p.location: p.code for p in info.value.problems}


def test_aws_example_file_loads_as_written() -> None:
    config = MockConfig.load(DATA / "MockConfigFile.json")
    case = config.test_case("LambdaSQSIntegration", "RetryPath")
    retry = case.states["LambdaState"]
    assert [retry.outcome(i).error for i in range(3)] == [  # type: ignore[union-attr]
        "Lambda.ResourceNotReadyException",
        "Lambda.TimeoutException",
        "Lambda.TimeoutException",
    ]
    assert retry.outcome(3).result == {
        "StatusCode": 200,
        "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"},
    }  # type: ignore[union-attr]
    assert retry.outcome(4) is None
    assert set(config.test_case("LambdaSQSIntegration", "HybridPath").states) == {"LambdaState"}


def test_json_text_and_parsed_objects_load_like_files() -> None:
    text = (DATA / "MockConfigFile.json").read_text()
    assert set(MockConfig.load(text).state_machines) == {"LambdaSQSIntegration"}
    assert set(MockConfig.load(orjson.loads(text)).responses) >= {"MockedLambdaRetry"}


def test_every_problem_is_reported_at_once_with_its_location() -> None:
    raw = {
        "StateMachines": {
            "M": {"TestCases": {"T": {"A": "Missing", "B": "Gappy", "C": "Ok"}}, "Extra": 1},
        },
        "MockedResponses": {
            "Gappy": {"0": {"Return": 1}, "2": {"Return": 2}},
            "Overlap": {"0-2": {"Return": 1}, "2": {"Return": 2}},
            "NoError": {"0": {"Throw": {"Cause": "c"}}},
            "Both": {"0": {"Return": 1, "Throw": {"Error": "E"}}},
            "BadKey": {"zero": {"Return": 1}},
            "Backwards": {"3-1": {"Return": 1}},
            "Ok": {"0": {"Return": None}},
        },
        "Unknown": True,
    }
    assert _problems(raw) == {
        "/Unknown": "UNKNOWN_FIELD",
        "/StateMachines/M/Extra": "UNKNOWN_FIELD",
        "/StateMachines/M/TestCases/T/A": "UNKNOWN_RESPONSE",
        "/StateMachines/M/TestCases/T/B": "UNKNOWN_RESPONSE",
        "/MockedResponses/Gappy/2": "MISSING_INVOCATIONS",
        "/MockedResponses/Overlap/2": "OVERLAPPING_INVOCATIONS",
        "/MockedResponses/NoError/0/Throw/Error": "MISSING_FIELD",
        "/MockedResponses/Both/0": "RETURN_OR_THROW",
        "/MockedResponses/BadKey/zero": "INVALID_INVOCATION_KEY",
        "/MockedResponses/Backwards/3-1": "INVALID_INVOCATION_KEY",
    }


def test_a_response_must_start_at_invocation_zero() -> None:
    problems = _problems({"StateMachines": {}, "MockedResponses": {"R": {"1": {"Return": 1}}}})
    assert problems == {"/MockedResponses/R/1": "MISSING_INVOCATIONS"}


def test_the_message_of_the_error_lists_each_problem() -> None:
    with pytest.raises(InvalidMockConfig) as info:
        parse_mock_config({"StateMachines": {}, "MockedResponses": {"R": {"0": {"Throw": {}}}}})
    assert "/MockedResponses/R/0/Throw/Error" in str(info.value)
    assert "1 problem(s)" in str(info.value)


def test_missing_files_and_bad_json_are_reported_not_raised_raw(tmp_path: Path) -> None:
    with pytest.raises(InvalidMockConfig, match="cannot read mock configuration"):
        MockConfig.load(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidMockConfig, match="not valid JSON"):
        MockConfig.load(bad)


def test_unknown_state_names_and_non_task_states_are_reported_against_the_definition() -> None:
    config = MockConfig.load(
        {
            "StateMachines": {"M": {"TestCases": {"T": {"Nope": "R", "P": "R", "Inner": "R"}}}},
            "MockedResponses": {"R": {"0": {"Return": {}}}},
        }
    )
    machine = parse_definition(
        {
            "StartAt": "P",
            "States": {
                "P": {"Type": "Pass", "Next": "M"},
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "Inner",
                        "States": {
                            "Inner": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::sqs:sendMessage",
                                "End": True,
                            }
                        },
                    },
                    "End": True,
                },
            },
        }
    )
    problems = {p.location: p.code for p in config.test_case("M", "T").check(machine)}
    assert problems == {
        "/StateMachines/M/TestCases/T/Nope": "UNKNOWN_STATE",
        "/StateMachines/M/TestCases/T/P": "NOT_A_TASK",
    }


def test_asking_for_an_unknown_machine_or_test_case_names_what_exists() -> None:
    config = MockConfig.load(DATA / "MockConfigFile.json")
    with pytest.raises(InvalidMockConfig, match="'HappyPath'"):
        config.test_case("LambdaSQSIntegration", "SadPath")
    with pytest.raises(InvalidMockConfig, match="'LambdaSQSIntegration'"):
        config.test_case("Other", "HappyPath")


# -- properties -----------------------------------------------------------------

_segments = st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(_segments, st.data())
def test_contiguous_keys_always_parse_and_answer_each_invocation(
    lengths: list[int], data: st.DataObject
) -> None:
    """Keys that tile 0..n-1 (singles and ranges, in any order) parse; invocation i gets its key's outcome."""
    entries: dict[str, Any] = {}
    start = 0
    owner: list[int] = []
    for i, n in enumerate(lengths):
        key = str(start) if n == 1 else f"{start}-{start + n - 1}"
        entries[key] = (
            {"Return": i} if data.draw(st.booleans()) else {"Throw": {"Error": f"E{i}", "Cause": "c"}}
        )
        owner.extend([i] * n)
        start += n
    keys = data.draw(st.permutations(list(entries)))
    response = parse_mock_config(
        {"StateMachines": {}, "MockedResponses": {"R": {k: entries[k] for k in keys}}}
    ).responses["R"]
    for invocation, i in enumerate(owner):
        outcome = response.outcome(invocation)
        assert outcome is not None
        assert outcome.result == i or outcome.error == f"E{i}"
    assert response.outcome(len(owner)) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 4)), min_size=1, max_size=6))
def test_keys_with_gaps_or_overlaps_are_always_refused(spans: list[tuple[int, int]]) -> None:
    """Any set of keys that does not tile 0..n-1 exactly is refused with a located problem."""
    entries = {(str(s) if w == 0 else f"{s}-{s + w}"): {"Return": 1} for s, w in spans}
    covered: list[int] = []
    for key in entries:
        a, _, b = key.partition("-")
        covered.extend(range(int(a), int(b or a) + 1))
    tiles = sorted(covered) == list(range(len(covered)))
    raw = {"StateMachines": {}, "MockedResponses": {"R": entries}}
    if tiles:
        assert parse_mock_config(raw).responses["R"].invocations == len(covered)
    else:
        problems = _problems(raw)
        assert problems and all(loc.startswith("/MockedResponses/R/") for loc in problems)
        assert set(problems.values()) <= {"MISSING_INVOCATIONS", "OVERLAPPING_INVOCATIONS"}


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_arbitrary_json_either_parses_or_raises_invalid_mock_config(raw: Any) -> None:
    """The parser never crashes: any JSON value is a MockConfig or an InvalidMockConfig with problems."""
    try:
        parse_mock_config(raw)
    except InvalidMockConfig as exc:
        assert exc.problems


_names = st.sets(st.sampled_from(["A", "B", "C", "D", "E", "F"]), max_size=6)


@settings(max_examples=100, deadline=None)
@given(_names, _names, _names)
def test_a_test_case_is_refused_exactly_for_the_states_the_definition_lacks_or_cannot_mock(
    tasks: set[str], passes: set[str], mocked: set[str]
) -> None:
    """Mocked names that are not states get UNKNOWN_STATE, names of non-Task states NOT_A_TASK, Task names pass."""
    passes = passes - tasks
    names = sorted(tasks | passes) or ["A"]
    states: dict[str, Any] = {}
    for i, name in enumerate(names):
        nxt: dict[str, Any] = {"Next": names[i + 1]} if i + 1 < len(names) else {"End": True}
        if name in tasks:
            states[name] = {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", **nxt}
        else:
            states[name] = {"Type": "Pass", **nxt}
    machine = parse_definition({"StartAt": names[0], "States": states})
    config = MockConfig.load(
        {
            "StateMachines": {"M": {"TestCases": {"T": dict.fromkeys(mocked, "R")}}},
            "MockedResponses": {"R": {"0": {"Return": 1}}},
        }
    )
    problems = {p.location.rsplit("/", 1)[-1]: p.code for p in config.test_case("M", "T").check(machine)}
    expected = {n: ("NOT_A_TASK" if n in states else "UNKNOWN_STATE") for n in mocked if n not in tasks}
    assert problems == expected
