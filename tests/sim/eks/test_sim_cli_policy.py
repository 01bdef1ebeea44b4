"""``statewright sim --policy FILE``: a real process whose EKS refuses what the policy does not allow."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.sim.eks.test_sim_cli import REPO, read_env_file, wait_for

DESCRIBE_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "arn:aws:eks:*:*:cluster/demo"}
    ],
}


def test_sim_with_a_policy_allows_what_it_grants_and_refuses_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_file, env_file = tmp_path / "policy.json", tmp_path / "sim.env"
    policy_file.write_text(json.dumps(DESCRIBE_ONLY))
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "--env", str(env_file), "--policy", str(policy_file)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(env_file, process)
        env = read_env_file(env_file)
        for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        eks = boto3.client("eks")
        assert eks.describe_cluster(name="demo")["cluster"]["status"] == "ACTIVE"
        with pytest.raises(ClientError) as info:
            eks.list_clusters()
        error = info.value.response["Error"]
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert error["Code"] == "AccessDeniedException"
        assert "is not authorized to perform: eks:ListClusters on resource: *" in error["Message"]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_sim_refuses_a_policy_it_cannot_evaluate_with_a_clear_error(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(
        json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}]})
    )
    result = subprocess.run(
        [sys.executable, "-m", "sim", "--policy", str(policy_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "identity-based policies have no Principal" in result.stderr
    assert "Traceback" not in result.stderr


def test_sim_refuses_a_token_ttl_sts_would_not_honour() -> None:
    for value in ("0", "901"):
        result = subprocess.run(
            [sys.executable, "-m", "sim", "--token-ttl", value],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert "--token-ttl must be more than 0 and at most 900 seconds" in result.stderr
