"""``statewright run --describe-cluster NAME``: the cluster's reference at ``$.cluster``, or a clear refusal.

Against the embedded simulators (``--sim``, whose cluster ``demo`` is ready): the
Pass state returns its input, so the output is exactly what the option put in.
A refusal is exit status 2 with one line on stderr, before any execution starts.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from statewright.cli import main
from tests.e2e.support import isolate_aws

ECHO: dict[str, Any] = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


@pytest.fixture
def echo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    isolate_aws(monkeypatch, tmp_path)
    path = tmp_path / "echo.json"
    path.write_text(json.dumps(ECHO))
    return str(path)


def test_describe_cluster_puts_name_endpoint_and_ca_at_cluster(
    echo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", echo, "--sim", "--describe-cluster", "demo", "--input", '{"keep": 1}', "-q"])

    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["output"]["keep"] == 1
    cluster = out["output"]["cluster"]
    assert set(cluster) == {"Name", "Endpoint", "CertificateAuthority"}
    assert cluster["Name"] == "demo"
    assert cluster["Endpoint"].startswith("https://127.0.0.1:")
    assert base64.b64decode(cluster["CertificateAuthority"]).startswith(b"-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--describe-cluster", "nope"], "--describe-cluster nope: EKS.ResourceNotFoundException"),
        (["--describe-cluster", "demo", "--input", "[1]"], "must then be a JSON object"),
        (["--describe-cluster", "demo", "--input", '{"cluster": {}}'], "already has a field cluster"),
    ],
)
def test_describe_cluster_refuses_with_exit_2_and_one_line(
    echo: str, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code = main(["run", echo, "--sim", "-q", *extra])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("statewright: ") and message in line
    assert "Traceback" not in captured.err


def test_a_reader_that_goes_away_is_not_an_internal_error(tmp_path: Path) -> None:
    big = {"StartAt": "Big", "States": {"Big": {"Type": "Pass", "Result": "x" * 200_000, "End": True}}}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(big))
    # head reads one byte and exits; the rest of the 200 KB result meets a closed pipe.
    done = subprocess.run(
        f"{sys.executable} -m statewright run {path} -q | head -c 1 >/dev/null; echo ${{PIPESTATUS[0]}} >&2",
        shell=True, executable="/bin/bash", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "141"
