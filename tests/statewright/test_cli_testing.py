"""The command line's testing options: ``run --mock-config/--test-case/--state-machine/--virtual-time`` and ``test-state``."""

from __future__ import annotations

import itertools
import shutil
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from statewright.cli import main

DATA = Path(__file__).parents[1] / "engine" / "testing" / "data"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    definition = tmp_path / "LambdaSQSIntegration.json"
    shutil.copy(DATA / "LambdaSQSIntegration.json", definition)
    config = tmp_path / "MockConfigFile.json"
    shutil.copy(DATA / "MockConfigFile.json", config)
    return {"definition": str(definition), "config": str(config), "dir": str(tmp_path)}


def _out(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return orjson.loads(out), err


def test_run_with_a_test_case_uses_the_file_name_as_the_state_machine_name(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["run", files["definition"], "--mock-config", files["config"], "--test-case", "HappyPath", "-q"]
    )
    doc, _ = _out(capsys)
    assert code == 0
    assert doc["output"]["MessageId"] == "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"


def test_state_machine_names_the_machine_whatever_the_file_is_called(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "renamed.json"
    shutil.copy(files["definition"], other)
    assert main(["run", str(other), "--mock-config", files["config"], "--test-case", "HappyPath", "-q"]) == 2
    _, err = capsys.readouterr()
    assert "state machine 'renamed' has no test cases" in err
    code = main(
        [
            "run",
            str(other),
            "--state-machine",
            "LambdaSQSIntegration",
            "--mock-config",
            files["config"],
            "--test-case",
            "HappyPath",
            "-q",
        ]
    )
    assert code == 0


def test_virtual_time_skips_retry_back_off_and_keeps_real_timestamps(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "history.json"
    started = time.monotonic()
    code = main(
        [
            "run",
            files["definition"],
            "--mock-config",
            files["config"],
            "--test-case",
            "RetryPath",
            "--virtual-time",
            "--history",
            str(history),
            "-q",
        ]
    )
    elapsed = time.monotonic() - started
    assert code == 0
    assert elapsed < 5, "14 s of back-off must not take real time"
    events = orjson.loads(history.read_bytes())["events"]
    from datetime import UTC, datetime

    stamps = [
        datetime.fromtimestamp(e["timestamp"], UTC)
        for e in events
        if e["type"] == "TaskScheduled"
    ]
    gaps = [round((b - a).total_seconds(), 3) for a, b in itertools.pairwise(stamps[:4])]
    assert gaps == [2.0, 4.0, 8.0]
    assert abs(stamps[0].timestamp() - time.time()) < 60, "virtual time starts at the real time"


def test_an_hour_of_waits_finishes_at_once_with_virtual_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = {
        "StartAt": "W1",
        "States": {
            "W1": {"Type": "Wait", "Seconds": 1800, "Next": "W2"},
            "W2": {"Type": "Wait", "Seconds": 1800, "End": True},
        },
    }
    path = tmp_path / "waits.json"
    path.write_bytes(orjson.dumps(definition))
    history = tmp_path / "h.json"
    started = time.monotonic()
    assert main(["run", str(path), "--virtual-time", "--history", str(history), "-q"]) == 0
    assert time.monotonic() - started < 5
    events = orjson.loads(history.read_bytes())["events"]
    from datetime import UTC, datetime

    first, last = (
        datetime.fromtimestamp(e["timestamp"], UTC) for e in (events[0], events[-1])
    )
    assert round((last - first).total_seconds()) == 3600


def test_bad_testing_options_are_usage_errors(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", files["definition"], "--test-case", "HappyPath", "-q"]) == 2
    assert "go together" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(
        '{"StateMachines": {}, "MockedResponses": {"R": {"0": {"Throw": {}}, "2": {"Return": 1}}}}'
    )
    assert main(["run", files["definition"], "--mock-config", str(bad), "--test-case", "X", "-q"]) == 2
    err = capsys.readouterr().err
    assert (
        "/MockedResponses/R/0/Throw/Error" in err and "/MockedResponses/R/2" in err and "Traceback" not in err
    )
    code = main(
        ["run", files["definition"], "--mock-config", files["config"], "--test-case", "HybridPath", "-q"]
    )
    assert code == 2
    assert "/States/SQSState/Resource" in capsys.readouterr().err


def test_test_state_prints_the_testing_response(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    mock = orjson.dumps({"result": '{"Payload": {"ok": true}}', "fieldValidationMode": "NONE"}).decode()
    code = main(
        [
            "test-state",
            files["definition"],
            "--state",
            "LambdaState",
            "--input",
            '{"a": 1}',
            "--inspection-level",
            "DEBUG",
            "--mock",
            mock,
        ]
    )
    doc, _ = _out(capsys)
    assert code == 0
    assert doc["status"] == "SUCCEEDED" and doc["nextState"] == "SQSState"
    assert orjson.loads(doc["output"]) == {"Payload": {"ok": True}}
    assert orjson.loads(doc["inspectionData"]["afterParameters"]) == {
        "Payload": {"a": 1},
        "FunctionName": "HelloWorldFunction",
    }


def test_test_state_reports_retriable_errors_with_exit_code_one(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    mock = '{"errorOutput": {"error": "Lambda.TimeoutException", "cause": "slow"}}'
    assert main(["test-state", files["definition"], "--state", "LambdaState", "--mock", mock]) == 1
    doc, _ = _out(capsys)
    assert doc == {"status": "RETRIABLE", "error": "Lambda.TimeoutException", "cause": "slow"}


def test_test_state_checks_mocked_results_against_the_api_model(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    mock = '{"result": {"MessageId": 12}}'
    assert main(["test-state", files["definition"], "--state", "SQSState", "--mock", mock]) == 2
    assert "$.MessageId must be a string" in capsys.readouterr().err
    assert (
        main(
            [
                "test-state",
                files["definition"],
                "--state",
                "SQSState",
                "--mock",
                '{"result": {"MessageId": "m"}}',
            ]
        )
        == 0
    )


def test_test_state_refuses_bad_requests_without_a_traceback(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test-state", files["definition"], "--state", "Nope"]) == 2
    err = capsys.readouterr().err
    assert "no state named 'Nope'" in err and "Traceback" not in err
    assert main(["test-state", files["definition"], "--state", "SQSState"]) == 2
    assert "sqs:sendMessage" in capsys.readouterr().err


def test_validate_checks_every_test_case_of_the_mock_configuration(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", files["definition"], "--mock-config", files["config"]]) == 2
    err = capsys.readouterr().err
    assert "test case 'HybridPath'" in err and "/States/SQSState/Resource" in err
    assert "HappyPath" not in err
    config = orjson.loads(Path(files["config"]).read_bytes())
    del config["StateMachines"]["LambdaSQSIntegration"]["TestCases"]["HybridPath"]
    config["StateMachines"]["LambdaSQSIntegration"]["TestCases"]["Typo"] = {
        "LambdaStat": "MockedLambdaSuccess"
    }
    typo = tmp_path / "typo.json"
    typo.write_bytes(orjson.dumps(config))
    assert main(["validate", files["definition"], "--mock-config", str(typo)]) == 2
    err = capsys.readouterr().err
    assert "/StateMachines/LambdaSQSIntegration/TestCases/Typo/LambdaStat" in err and "UNKNOWN_STATE" in err
    del config["StateMachines"]["LambdaSQSIntegration"]["TestCases"]["Typo"]
    typo.write_bytes(orjson.dumps(config))
    assert main(["validate", files["definition"], "--mock-config", str(typo)]) == 0
    assert "valid for every test case" in capsys.readouterr().out


def test_test_state_takes_a_state_configuration(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    mock = '{"errorOutput": {"error": "Lambda.TimeoutException", "cause": "slow"}}'
    code = main(
        ["test-state", files["definition"], "--state", "LambdaState", "--mock", mock, "--inspection-level", "DEBUG",
         "--state-configuration", '{"retrierRetryCount": 1}']
    )  # fmt: skip
    doc, _ = _out(capsys)
    assert code == 1
    assert doc["inspectionData"]["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": 4}


def test_progress_shows_virtual_durations_under_virtual_time(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            files["definition"],
            "--mock-config",
            files["config"],
            "--test-case",
            "RetryPath",
            "--virtual-time",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 0
    assert "<- LambdaState in 14.00s" in err


def test_validate_lists_the_files_problems_and_the_test_cases_at_once(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = orjson.loads(Path(files["config"]).read_bytes())
    cases = config["StateMachines"]["LambdaSQSIntegration"]["TestCases"]
    cases["HappyPath"]["SQSState"] = "NoSuchResponse"
    cases["HappyPath"]["Ghost"] = "MockedSQSSuccess"
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps(config))
    assert main(["validate", files["definition"], "--mock-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"mock configuration {bad} (1 problem(s))" in err
    assert (
        "/StateMachines/LambdaSQSIntegration/TestCases/HappyPath/SQSState: " in err
        and "UNKNOWN_RESPONSE" in err
    )
    assert "/StateMachines/LambdaSQSIntegration/TestCases/HappyPath/Ghost: " in err and "UNKNOWN_STATE" in err
    assert "state 'SQSState' is not mocked by the test case" not in err.split("test case 'HybridPath'")[0]
