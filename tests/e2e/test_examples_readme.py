"""``examples/README.md``'s commands, run as written: every seed example in one command.

The ``sh`` block of the README is executed by bash, line for line, in a folder
where ``examples`` is the repository's (so the relative paths and the ``sim.env``
the block writes stay out of the checkout), with the ``statewright`` of this
interpreter first on ``PATH``. Each ``statewright run`` must print one JSON
object of a SUCCEEDED execution; nothing printed may carry a secret.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Final

import anyio

from tests.e2e.support import EXAMPLES, assert_no_secrets, base_environment

README: Final = EXAMPLES / "README.md"
BLOCK_SECONDS: Final = 240.0


def sh_blocks(text: str) -> list[str]:
    """The bodies of the ```sh fenced blocks of a Markdown text."""
    return re.findall(r"^```sh\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def runs_of(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.startswith("statewright run ")]


def test_every_seed_example_has_one_command_in_the_readme() -> None:
    commands = [run for block in sh_blocks(README.read_text()) for run in runs_of(block)]
    named = {Path(command.split()[2]).name for command in commands}
    assert named == {path.name for path in (EXAMPLES / "seed").glob("*.json")}
    for command in commands:
        assert (EXAMPLES.parent / command.split()[2]).is_file(), command


async def run_block(block: str, folder: Path) -> subprocess.CompletedProcess[bytes]:
    """bash -e running ``block`` in ``folder``; its whole process group is killed if it outlives the block."""
    env = base_environment(folder)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    process = await anyio.open_process(
        ["bash", "-e", "-c", block], env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None and process.stderr is not None
        stdout, stderr = bytearray(), bytearray()

        async def drain(stream: anyio.abc.ByteReceiveStream, into: bytearray) -> None:
            async for chunk in stream:
                into.extend(chunk)

        with anyio.fail_after(BLOCK_SECONDS):
            async with anyio.create_task_group() as group:
                group.start_soon(drain, process.stdout, stdout)
                group.start_soon(drain, process.stderr, stderr)
            code = await process.wait()
        return subprocess.CompletedProcess(block, code, bytes(stdout), bytes(stderr))
    finally:
        # The simulator the block started in the background goes with it, whatever happened.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        with anyio.CancelScope(shield=True):
            await process.wait()
        await process.aclose()


async def test_the_readme_block_runs_all_ten_seed_examples_against_one_simulator(tmp_path: Path) -> None:
    (block,) = [block for block in sh_blocks(README.read_text()) if "statewright sim" in block]
    (tmp_path / "examples").symlink_to(EXAMPLES)

    done = await run_block(block, tmp_path)

    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr[-4000:]
    # The simulator in the background prints its banner to the same stdout: the runs' lines are the objects.
    results = [json.loads(line) for line in done.stdout.decode().splitlines() if line.startswith("{")]
    assert len(results) == len(runs_of(block)) == 10
    assert [result["status"] for result in results] == ["SUCCEEDED"] * 10, results
    outputs = dict(zip((Path(run.split()[2]).stem for run in runs_of(block)), results, strict=True))
    assert outputs["create-cluster"]["output"]["Cluster"]["Name"] == "MyCluster"
    assert outputs["add-aws-auth"]["output"]["StatusCode"] == 201
    assert outputs["run-job"]["output"]["status"]["succeeded"] == 1
    pods = outputs["list-job-pods"]["output"]["ResponseBody"]["items"]
    assert [pod["metadata"]["labels"]["job-name"] for pod in pods] == ["example-job"]
    assert outputs["delete-cluster"]["output"]["Cluster"]["Name"] == "demo"
    secret = re.search(r"AWS_SECRET_ACCESS_KEY=(\S+)", (tmp_path / "sim.env").read_text())
    assert secret is not None
    assert_no_secrets(done.stdout.decode() + stderr, secret.group(1).strip("'"))


async def test_describe_cluster_with_sim_runs_an_example_alone(tmp_path: Path) -> None:
    (command,) = [
        line for block in sh_blocks(README.read_text()) for line in runs_of(block) if "--sim" in line.split()
    ]
    (tmp_path / "examples").symlink_to(EXAMPLES)

    done = await run_block(command, tmp_path)

    assert done.returncode == 0, done.stderr.decode()[-4000:]
    result = json.loads(done.stdout)
    assert result["status"] == "SUCCEEDED"
    assert result["output"]["metadata"]["name"] == "example-job"
