"""The command line against ``statewright sim``: the file ``--env`` writes is all a client needs.

``python -m statewright sim --env FILE --kubeconfig KFILE`` runs as a
subprocess; once FILE appears, its ``export`` lines become the environment of
``python -m statewright run ...`` subprocesses, which therefore reach the
simulators through boto3's standard configuration only (no ``--sim``). Each
run must print exactly one JSON object on stdout and exit 0 when the execution
SUCCEEDED, 1 otherwise. ``kubectl`` works with KFILE as is, and SIGINT stops
the simulators with exit status 0.
"""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import anyio
import yaml
from anyio.abc import Process

from tests.e2e.support import EXAMPLES, REPO, SEED, assert_no_secrets, base_environment

STARTUP_SECONDS: Final = 60.0
STOP_SECONDS: Final = 20.0


@dataclass
class SimProcess:
    """A running ``statewright sim`` and the environment its ``--env`` file gives."""

    process: Process
    env: dict[str, str]
    kubeconfig: Path


@dataclass
class RunOutcome:
    """What one ``statewright run`` printed and returned."""

    returncode: int
    result: dict[str, Any]
    stderr: str


def parse_env_file(text: str) -> dict[str, str]:
    """The variables of ``export K=V`` lines (shell-quoted values)."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if not words:
            continue
        assert words[0] == "export" and len(words) == 2, f"unexpected line in the env file: {line!r}"
        key, _, value = words[1].partition("=")
        env[key] = value
    return env


@asynccontextmanager
async def statewright_sim(tmp_path: Path) -> AsyncIterator[SimProcess]:
    """Start ``python -m statewright sim --env FILE --kubeconfig KFILE``; wait for FILE; stop it after."""
    env_file = tmp_path / "sim.env"
    kubeconfig = tmp_path / "kubeconfig"
    base = base_environment(tmp_path)
    command = [
        sys.executable, "-m", "statewright", "sim", "--env", str(env_file), "--kubeconfig", str(kubeconfig),
    ]  # fmt: skip
    process = await anyio.open_process(
        command, env=base, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        with anyio.fail_after(STARTUP_SECONDS):
            # Both files are written once the servers answer, one after the other: wait for both.
            while not (await anyio.Path(env_file).exists() and await anyio.Path(kubeconfig).exists()):
                if process.returncode is not None:
                    raise AssertionError(
                        f"statewright sim exited with {process.returncode} before writing its files"
                    )
                await anyio.sleep(0.05)
        env = {**base, **parse_env_file(await anyio.Path(env_file).read_text())}
        yield SimProcess(process=process, env=env, kubeconfig=kubeconfig)
    finally:
        if process.returncode is None:
            process.kill()
            with anyio.CancelScope(shield=True):
                await process.wait()
        await process.aclose()


async def statewright_run(
    env: Mapping[str, str], definition: Path, input_text: str, extra: Sequence[str] = ()
) -> RunOutcome:
    """``python -m statewright run DEFINITION --input INPUT --poll fixed:0.2``; stdout parsed as one JSON object."""
    command = [
        sys.executable, "-m", "statewright", "run", str(definition), "--input", input_text, "--poll", "fixed:0.2",
        *extra,
    ]  # fmt: skip
    done = await anyio.run_process(command, env=dict(env), cwd=REPO, check=False)
    stdout = done.stdout.decode()
    stderr = done.stderr.decode()
    try:
        result = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"stdout is not one JSON object ({exc}): {stdout!r}; stderr: {stderr}") from None
    assert isinstance(result, dict)
    assert set(result) == {"status", "output", "error", "cause"}, result
    assert_no_secrets(stdout + stderr, env["AWS_SECRET_ACCESS_KEY"])
    return RunOutcome(returncode=done.returncode, result=result, stderr=stderr)


async def stop(sim: SimProcess) -> int:
    """SIGINT, as Ctrl-C does; the exit status."""
    sim.process.send_signal(signal.SIGINT)
    with anyio.fail_after(STOP_SECONDS):
        return await sim.process.wait()


async def test_statewright_run_with_the_sim_env_creates_a_cluster_and_exits_1_when_it_fails(
    tmp_path: Path,
) -> None:
    async with statewright_sim(tmp_path) as sim:
        assert sim.env["AWS_ENDPOINT_URL_EKS"].startswith("https://127.0.0.1:")
        assert sim.env["AWS_ENDPOINT_URL_STS"].startswith("https://127.0.0.1:")
        assert Path(sim.env["AWS_CA_BUNDLE"]).is_file()

        created = await statewright_run(sim.env, SEED / "create-cluster.json", '{"name": "cli-cluster"}')
        assert created.returncode == 0, created.stderr
        assert created.result["status"] == "SUCCEEDED"
        assert created.result["error"] is None
        cluster = created.result["output"]["Cluster"]
        assert cluster["Name"] == "cli-cluster"
        assert cluster["Status"] == "ACTIVE"
        assert cluster["Endpoint"].startswith("https://127.0.0.1:")
        assert set(cluster["CertificateAuthority"]) == {"Data"}
        # Progress goes to stderr, never to stdout.
        assert "CreateCluster.sync" in created.stderr

        duplicate = await statewright_run(sim.env, SEED / "create-cluster.json", '{"name": "cli-cluster"}')
        assert duplicate.returncode == 1, duplicate.stderr
        assert duplicate.result["status"] == "FAILED"
        assert duplicate.result["output"] is None
        assert duplicate.result["error"] == "EKS.ResourceInUseException"
        assert "cli-cluster" in duplicate.result["cause"]

        kubectl = await anyio.run_process(
            ["kubectl", "--kubeconfig", str(sim.kubeconfig), "get", "ns", "-o", "name"],
            env=sim.env,
            check=False,
        )
        assert kubectl.returncode == 0, kubectl.stderr.decode()
        namespaces = kubectl.stdout.decode().split()
        assert "namespace/default" in namespaces
        assert "namespace/kube-system" in namespaces

        assert await stop(sim) == 0


async def test_every_example_runs_through_the_command_line_against_statewright_sim(tmp_path: Path) -> None:
    async with statewright_sim(tmp_path) as sim:
        outcomes: dict[str, RunOutcome] = {}

        async def run_example(name: str, definition: Path, input_text: str) -> None:
            outcomes[name] = await statewright_run(sim.env, definition, input_text)

        async def pipeline() -> None:
            await run_example(
                "pipeline", EXAMPLES / "eks-pipeline.json", f"@{EXAMPLES / 'eks-pipeline.input.json'}"
            )

        # The ready cluster, as the kubeconfig names it (create-cluster.json runs in the test above).
        kubeconfig = yaml.safe_load(await anyio.Path(sim.kubeconfig).read_text())
        (entry,) = kubeconfig["clusters"]
        assert entry["name"].endswith(":cluster/demo")
        given = json.dumps(
            {
                "cluster": {
                    "Name": "demo",
                    "Endpoint": entry["cluster"]["server"],
                    "CertificateAuthority": entry["cluster"]["certificate-authority-data"],
                }
            }
        )

        async def seeds() -> None:
            # Independent examples run side by side; each phase needs the previous one
            # (aws-auth is created by the seed before a node group would create it).
            for phase in (
                ("add-aws-auth", "run-job"),
                ("create-nodegroup", "create-fargate-profile", "list-job-pods"),
                ("delete-job", "delete-nodegroup", "delete-fargate-profile"),
                ("delete-cluster",),
            ):
                async with anyio.create_task_group() as group:
                    for name in phase:
                        group.start_soon(run_example, name, SEED / f"{name}.json", given)

        async with anyio.create_task_group() as group:
            group.start_soon(pipeline)
            group.start_soon(seeds)

        for name, outcome in outcomes.items():
            assert outcome.returncode == 0, f"{name}: {outcome.result} {outcome.stderr}"
            assert outcome.result["status"] == "SUCCEEDED", name
        assert len(outcomes) == 10

        out = {name: outcome.result["output"] for name, outcome in outcomes.items()}
        assert out["add-aws-auth"]["StatusCode"] == 201
        assert out["create-nodegroup"]["Nodegroup"]["Status"] == "ACTIVE"
        assert out["create-fargate-profile"]["FargateProfile"]["Status"] == "ACTIVE"
        job = out["run-job"]
        assert job["kind"] == "Job"
        assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])
        (pod_name,) = job["logs"]["pods"]
        listed = [item["metadata"]["name"] for item in out["list-job-pods"]["ResponseBody"]["items"]]
        assert listed == [pod_name]
        assert out["delete-job"]["StatusCode"] == 200
        assert out["delete-job"]["ResponseBody"]["metadata"]["name"] == "example-job"
        assert out["delete-nodegroup"]["Nodegroup"]["NodegroupName"] == "MyNodegroup"
        assert out["delete-fargate-profile"]["FargateProfile"]["FargateProfileName"] == "MyFargateProfile"
        assert out["delete-cluster"]["Cluster"]["Name"] == "demo"
        assert out["pipeline"]["logs"][0].startswith("3.14159265358979")

        assert await stop(sim) == 0
