"""``statewright policy FILE``: the document on stdout, uncovered Tasks and problems on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from statewright.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _write(tmp_path: Path, content: Any) -> str:
    path = tmp_path / "m.json"
    path.write_bytes(orjson.dumps(content))
    return str(path)


def test_policy_prints_the_document_with_the_given_region_and_account(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "policy",
            str(EXAMPLES / "seed" / "delete-cluster.json"),
            "--region",
            "sa-east-1",
            "--account",
            "444455556666",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    document = orjson.loads(out)
    assert document["Version"] == "2012-10-17"
    resources = [
        r
        for s in document["Statement"]
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    assert resources and all(r.startswith("arn:aws:eks:sa-east-1:444455556666:cluster/") for r in resources)
    assert err == ""


def test_the_region_defaults_to_aws_region_and_the_account_to_star(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    assert main(["policy", str(EXAMPLES / "eks-pipeline.json")]) == 0
    out = capsys.readouterr().out
    assert "arn:aws:eks:eu-north-1:*:cluster/*" in out


def test_a_task_no_executor_can_describe_is_listed_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = {
        "StartAt": "F",
        "States": {
            "F": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f"},
                "End": True,
            }
        },
    }
    assert main(["policy", _write(tmp_path, definition)]) == 0
    out, err = capsys.readouterr()
    assert orjson.loads(out)["Statement"] == []
    assert "not covered: /States/F (arn:aws:states:::lambda:invoke)" in err


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--account", "12"], "12-digit"),
        (["--region", "Mars"], "Region"),
        (["--cleanup", "always"], "invalid choice"),
    ],
)
def test_bad_options_exit_2_without_a_traceback(
    args: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) if args[0] == "--cleanup" else _no_exit():
        code = main(["policy", str(EXAMPLES / "eks-pipeline.json"), *args])
        assert code == 2
    err = capsys.readouterr().err
    assert complaint in err
    assert "Traceback" not in err


def test_an_invalid_definition_lists_its_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", _write(tmp_path, {"StartAt": "X", "States": {}})]) == 2
    assert "invalid state machine definition" in capsys.readouterr().err


class _no_exit:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
