"""``python -m sim`` (behind ``statewright sim``) as a real process, used by boto3 and kubectl."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
START_TIMEOUT_SECONDS = 60


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        assert line.startswith("export ")
        key, _, value = line[len("export ") :].partition("=")
        values[key] = shlex.split(value)[0]
    return values


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not path.exists():
        assert process.poll() is None, f"the simulator exited early: {process.communicate()}"
        assert time.monotonic() < deadline, f"{path.name} was not written in time"
        time.sleep(0.1)


def test_sim_command_serves_boto3_and_kubectl_renews_the_token_and_exits_zero_on_sigint(
    tmp_path: Path,
) -> None:
    env_file, kubeconfig = tmp_path / "sim.env", tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "--env",
            str(env_file),
            "--kubeconfig",
            str(kubeconfig),
            "--token-refresh",
            "1",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(env_file, process)
        wait_for(kubeconfig, process)
        values = read_env_file(env_file)
        assert set(values) == {
            "AWS_ENDPOINT_URL_EKS",
            "AWS_ENDPOINT_URL_STS",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_CA_BUNDLE",
            "STATEWRIGHT_POLL",
        }
        assert values["STATEWRIGHT_POLL"] == "watch:0.1"
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"

        # A separate boto3 process configured only by the environment, verifying TLS with the bundle.
        client_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | values
        script = (
            "import boto3\n"
            "print(boto3.client('eks').list_clusters()['clusters'])\n"
            "print(boto3.client('sts').get_caller_identity()['Account'])\n"
        )
        listed = subprocess.run(
            [sys.executable, "-c", script], env=client_env, capture_output=True, text=True, timeout=60
        )
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines() == ["['demo']", "111122223333"]

        config = yaml.safe_load(kubeconfig.read_text())
        assert config["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")
        kubectl = shutil.which("kubectl")
        assert kubectl is not None, "kubectl is installed on these machines"
        namespaces = subprocess.run(
            [kubectl, "--kubeconfig", str(kubeconfig), "get", "ns", "-o", "name"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert namespaces.returncode == 0, namespaces.stderr
        assert "namespace/default" in namespaces.stdout.split()

        # The kubeconfig is rewritten with a fresh token while the simulators run.
        first_token = config["users"][0]["user"]["token"]
        deadline = time.monotonic() + 10
        while yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"] == first_token:
            assert time.monotonic() < deadline, "the kubeconfig token was not renewed"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "statewright simulators stopped" in stdout
    assert "certificateAuthority" not in stdout and "CA (base64):" in stdout


def test_sim_command_refuses_a_malformed_identity_with_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sim", "--identity", "not-an-identity"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ACCESS_KEY_ID=ARN" in result.stderr
    assert "Traceback" not in result.stderr


def test_sim_command_exits_zero_on_sigterm(tmp_path: Path) -> None:
    env_file = tmp_path / "sim.env"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "--env",
            str(env_file),
            "--timings",
            "realistic",
            "--time-factor",
            "0.5",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(env_file, process)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
