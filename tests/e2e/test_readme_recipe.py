"""The README's recipe, exactly: ``statewright sim --env sim.env``, then ``. sim.env && statewright run``.

No ``--poll``: the env file carries ``STATEWRIGHT_POLL``, a poll policy suited
to the simulators' sub-second lifecycles, which ``statewright run`` takes as
its default, so the pipeline finishes in seconds instead of AWS's one look a
minute. Progress on stderr says what each ``.sync`` Task waits for and how.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import anyio

from tests.e2e.support import EXAMPLES, REPO
from tests.e2e.test_cli_with_sim_env import statewright_sim, stop

RECIPE_SECONDS = 60.0
"""Far above the ~5 s it takes here, far below the 244 s of AWS's cadence."""


async def test_the_readme_recipe_runs_the_pipeline_in_seconds_without_poll(tmp_path: Path) -> None:
    async with statewright_sim(tmp_path) as sim:
        assert sim.env["STATEWRIGHT_POLL"].startswith("watch:")
        started = time.monotonic()
        command = [
            sys.executable, "-m", "statewright", "run", str(EXAMPLES / "eks-pipeline.json"),
            "--input", f"@{EXAMPLES / 'eks-pipeline.input.json'}",
        ]  # fmt: skip
        with anyio.fail_after(RECIPE_SECONDS):
            done = await anyio.run_process(command, env=sim.env, cwd=REPO, check=False)
        took = time.monotonic() - started
        assert await stop(sim) == 0
    stderr = done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["status"] == "SUCCEEDED", stderr
    assert took < RECIPE_SECONDS
    policy = sim.env["STATEWRIGHT_POLL"]
    assert (
        f"Create cluster: waiting for cluster pipeline: CREATING (poll policy {policy}, next look in"
        in stderr
    )
    assert "Create node group: waiting for node group pipeline/workers: CREATING" in stderr
    assert "Run pi job: waiting for Job default/example-job: running (poll policy" in stderr
    assert "Delete cluster: waiting for cluster pipeline: DELETING" in stderr


async def test_a_bad_statewright_poll_is_a_usage_error_naming_the_variable(tmp_path: Path) -> None:
    definition = tmp_path / "m.json"
    definition.write_text(json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    env = {"PATH": "/usr/bin:/bin", "STATEWRIGHT_POLL": "sometimes"}

    done = await anyio.run_process(
        [sys.executable, "-m", "statewright", "run", str(definition)], env=env, cwd=REPO, check=False
    )
    assert done.returncode == 2
    assert "STATEWRIGHT_POLL: unknown poll policy 'sometimes'" in done.stderr.decode()
