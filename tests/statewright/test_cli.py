"""The command line, run in-process: ``statewright run`` and ``statewright validate``.

``run`` prints exactly one JSON object (status, output, error, cause) on
stdout and exits 0 when SUCCEEDED, 1 for any other final status, 2 for an
invalid definition or input — with the problems on stderr and never a
traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from statewright.cli import main

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"got.$": "$"}, "End": True}}}
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad.Thing", "Cause": "it failed"}}}
INVALID = {
    "StartAt": "A",
    "States": {"A": {"Type": "Pass", "Next": "Nowhere", "Bogus": 1}, "B": {"Type": "Pass", "End": True}},
}


def _write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else orjson.dumps(content))
    return str(path)


def _one_json_object(out: str) -> dict[str, Any]:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line of JSON, got {out!r}"
    doc = orjson.loads(lines[0])
    assert isinstance(doc, dict)
    assert set(doc) == {"status", "output", "error", "cause"}
    return doc


def test_run_prints_one_json_object_and_exits_zero_on_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", _write(tmp_path, "m.json", PASS), "--input", '{"a": [1, 2]}', "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0
    assert _one_json_object(out) == {
        "status": "SUCCEEDED",
        "output": {"got": {"a": [1, 2]}},
        "error": None,
        "cause": None,
    }
    assert "Traceback" not in err


def test_run_reads_the_input_from_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    input_file = _write(tmp_path, "input.json", {"from": "file"})
    code = main(["run", _write(tmp_path, "m.json", PASS), "--input", f"@{input_file}", "-q"])
    assert code == 0
    assert _one_json_object(capsys.readouterr().out)["output"] == {"got": {"from": "file"}}


def test_run_without_input_uses_an_empty_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", _write(tmp_path, "m.json", PASS), "-q"]) == 0
    assert _one_json_object(capsys.readouterr().out)["output"] == {"got": {}}


def test_run_exits_one_when_the_execution_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", _write(tmp_path, "m.json", FAIL), "-q"])
    out, err = capsys.readouterr()
    assert code == 1
    assert _one_json_object(out) == {
        "status": "FAILED",
        "output": None,
        "error": "Bad.Thing",
        "cause": "it failed",
    }
    assert "Traceback" not in err


def test_run_shows_progress_on_stderr_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", _write(tmp_path, "m.json", PASS)])
    out, err = capsys.readouterr()
    assert code == 0
    _one_json_object(out)
    assert "Traceback" not in err


def test_run_writes_the_history_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "history.json"
    assert main(["run", _write(tmp_path, "m.json", PASS), "-q", "--history", str(history)]) == 0
    events = orjson.loads(history.read_bytes())["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_the_history_file_is_get_execution_history_s_wire_shape(tmp_path: Path) -> None:
    import botocore.session

    history = tmp_path / "history.json"
    assert main(["run", _write(tmp_path, "m.json", PASS), "-q", "--history", str(history)]) == 0
    body = orjson.loads(history.read_bytes())
    assert list(body) == ["events"]
    model = botocore.session.get_session().get_service_model("stepfunctions")
    event_shape = model.operation_model("GetExecutionHistory").output_shape.members["events"].member
    for event in body["events"]:
        assert isinstance(event["timestamp"], float)  # epoch seconds, as the API sends them
        assert set(event) <= set(event_shape.members)
        for key, details in event.items():
            if key.endswith("EventDetails"):
                assert set(details) <= set(event_shape.members[key].members)


def test_run_names_the_execution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"n.$": "$$.Execution.Name"}, "End": True}},
    }
    assert main(["run", _write(tmp_path, "m.json", definition), "-q", "--name", "nightly"]) == 0
    assert _one_json_object(capsys.readouterr().out)["output"] == {"n": "nightly"}


def test_an_invalid_definition_exits_two_with_every_problem_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "bad.json", INVALID)
    code = main(["run", path, "-q"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "/States/A/Next" in err and "MISSING_TARGET" in err
    assert "/States/A/Bogus" in err and "UNKNOWN_FIELD" in err
    assert "/States/B" in err and "UNREACHABLE_STATE" in err
    assert "Traceback" not in err


def test_malformed_definition_json_exits_two_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", _write(tmp_path, "bad.json", b'{"StartAt": '), "-q"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "INVALID_JSON" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("bad_input", ["{not json", "@/nonexistent/input.json"])
def test_bad_input_exits_two_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad_input: str
) -> None:
    code = main(["run", _write(tmp_path, "m.json", PASS), "--input", bad_input, "-q"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("statewright:")
    assert "Traceback" not in err


def test_input_over_the_size_limit_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = _write(tmp_path, "big.json", {"s": "x" * 262_200})
    code = main(["run", _write(tmp_path, "m.json", PASS), "--input", f"@{big}", "-q"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "Traceback" not in err


def test_a_missing_definition_file_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(tmp_path / "absent.json"), "-q"])
    _out, err = capsys.readouterr()
    assert code == 2
    assert "absent.json" in err
    assert "Traceback" not in err


def test_validate_accepts_a_valid_definition(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", _write(tmp_path, "m.json", PASS)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "valid" in out
    assert err == ""


def test_validate_lists_every_problem_and_exits_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", _write(tmp_path, "bad.json", INVALID)])
    _out, err = capsys.readouterr()
    assert code == 2
    assert "3 problems" in err
    for location in ("/States/A/Next", "/States/A/Bogus", "/States/B"):
        assert location in err
    assert "Traceback" not in err


def test_validate_checks_resources_against_the_installed_executors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::nope:act", "End": True}},
    }
    assert main(["validate", _write(tmp_path, "m.json", definition)]) == 2
    assert "UNKNOWN_RESOURCE" in capsys.readouterr().err


def test_an_unknown_command_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_run_on_uvloop_gives_the_same_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", _write(tmp_path, "m.json", PASS), "--input", '{"a": 1}', "--loop", "uvloop", "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert _one_json_object(out)["output"] == {"got": {"a": 1}}


PASS_TEXT = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}'


def test_run_reads_the_definition_from_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(PASS_TEXT))
    assert main(["run", "-", "--input", '{"a": 1}', "-q"]) == 0
    assert _one_json_object(capsys.readouterr().out)["output"] == {"a": 1}


def test_run_reads_the_input_from_standard_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('{"b": [1, 2]}'))
    assert main(["run", _write(tmp_path, "p.json", orjson.loads(PASS_TEXT)), "--input", "@-", "-q"]) == 0
    assert _one_json_object(capsys.readouterr().out)["output"] == {"b": [1, 2]}


def test_the_definition_and_the_input_cannot_both_come_from_standard_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-", "--input", "@-"]) == 2
    assert "standard input" in capsys.readouterr().err


def test_version_and_validate_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("statewright ")
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    text = capsys.readouterr().out
    assert "FILE" in text and "exit codes: 0 valid; 2 invalid" in text


def test_validate_says_one_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", _write(tmp_path, "p.json", orjson.loads(PASS_TEXT))]) == 0
    assert "(1 state, starts at 'A')" in capsys.readouterr().out


def test_a_deep_input_file_is_refused_with_exit_2_and_a_deep_but_valid_one_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = _write(tmp_path, "p.json", orjson.loads(PASS_TEXT))
    too_deep = tmp_path / "deep.json"
    too_deep.write_text("[" * 2000 + "]" * 2000)
    assert main(["run", definition, "--input", f"@{too_deep}", "-q"]) == 2
    ok = tmp_path / "ok.json"
    ok.write_text("[" * 300 + "]" * 300)
    assert main(["run", definition, "--input", f"@{ok}", "-q"]) == 0
    assert "internal error" not in capsys.readouterr().err
