"""``statewright run --cleanup execution``: what a failed execution created is deleted, and stderr says so."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from statewright.cli import main

DEFINITION = {
    "StartAt": "Cluster",
    "States": {
        "Cluster": {
            "Type": "Task",
            "Resource": "arn:aws:states:::eks:createCluster.sync",
            "Parameters": {
                "Name": "short-lived",
                "RoleArn": "arn:aws:iam::123456789012:role/cluster",
                "ResourcesVpcConfig": {"SubnetIds": ["subnet-1"]},
            },
            "ResultPath": None,
            "Next": "Broken",
        },
        "Broken": {"Type": "Fail", "Error": "Pipeline.Broken", "Cause": "on purpose"},
    },
}


def test_run_with_cleanup_execution_deletes_what_the_failed_execution_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(orjson.dumps(DEFINITION))
    history = tmp_path / "history.json"
    code = main(["run", str(path), "--sim", "--cleanup", "execution", "--history", str(history)])
    out, err = capsys.readouterr()
    assert code == 1
    assert orjson.loads(out)["error"] == "Pipeline.Broken"
    assert "cleanup: deleted cluster short-lived (deleted)" in err
    # The file has GetExecutionHistory's wire shape: the event is there, before the final one.
    events = orjson.loads(history.read_bytes())["events"]
    types = [e["type"] for e in events]
    assert types.count("ResourceDeleted") == 1
    assert types.index("ResourceDeleted") < types.index("ExecutionFailed") == len(types) - 1


def test_an_unknown_cleanup_policy_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(orjson.dumps(DEFINITION))
    with pytest.raises(SystemExit) as info:
        main(["run", str(path), "--cleanup", "sometimes"])
    assert info.value.code == 2
    assert "invalid choice: 'sometimes'" in capsys.readouterr().err
