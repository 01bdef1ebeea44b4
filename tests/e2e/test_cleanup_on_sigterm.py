"""A worker SIGTERMed in the middle of a long cleanup stops at once; the next worker finishes the cleanup.

Real processes all through, as in ``test_cleanup_after_crash``: the
simulators in a process of their own with EKS's realistic timings scaled
down, ``statewright start`` and ``statewright worker --cleanup execution`` on
a real SQLite file or a real PostgreSQL database. The execution asks for a
cluster (it stays ``CREATING`` for a while), creates a Fargate profile on a
ready cluster, then fails: its cleanup deletes the profile, then waits the
cluster's ``CREATING`` out to delete it. SIGTERM comes once the profile's
deletion is committed. The worker must exit 0 within a few seconds instead of
waiting the cleanup out, leaving the execution RUNNING with the cluster still
in its ledger; the next worker deletes the cluster, and the history reports
each resource deleted exactly once, with the execution's end last, once.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import anyio
import pytest
import pytest_asyncio

from benchmarks.simproc import SimProcess
from tests.e2e.test_cleanup_after_crash import (
    ROLE,
    Stage,
    assert_failed_last_once,
    deleted,
    failing_after,
    finish_in_a_new_worker,
    profile,
    sim_process,
    stage,
    until,
)

# The module's loop: the shared simulator process is its child.
pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

PROMPT_SECONDS: Final = 5.0
"""How soon a SIGTERMed worker must be gone (the cleanup it cut had about 15 s left)."""

#: A cluster asked for (request-response: still CREATING when the cleanup reaches it), a Fargate
#: profile on the ready cluster, then the failure.
CLUSTER_AND_PROFILE_THEN_FAIL: Final = failing_after(
    (
        "Cluster",
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::eks:createCluster",
            "Parameters": {
                "Name": "slow",
                "RoleArn": ROLE,
                "ResourcesVpcConfig": {"SubnetIds": ["subnet-1"]},
            },
        },
    ),
    profile("quick"),
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def slow_sim() -> AsyncIterator[SimProcess]:
    """Cluster create 16.8 s and delete 6 s, Fargate profile create and delete 2.4 s each."""
    async with sim_process(0.02) as sim:
        yield sim


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


async def _start(staged: Stage) -> str:
    path = staged.folder / "pipeline.json"
    path.write_text(json.dumps(CLUSTER_AND_PROFILE_THEN_FAIL))
    started: Any = await staged.cli("start", str(path), "--name", "termed", "--store", staged.store)
    return str(started["executionArn"])


async def test_sigterm_in_a_long_cleanup_exits_at_once_and_the_next_worker_deletes_the_rest_once(
    slow_sim: SimProcess, tmp_path: Path, store_url: str
) -> None:
    """The shared simulators' cluster is CREATING while the cleanup reaches it."""
    async with stage(slow_sim, tmp_path, store_url) as staged:
        arn = await _start(staged)
        first, log = await staged.worker()

        async def profile_deleted_and_waiting_for_the_cluster() -> bool:
            text = log.read_text()
            if "cleanup: deleted Fargate profile" not in text or "cluster slow: CREATING" not in text:
                return False
            return any(e.type == "ResourceDeleted" for e in await staged.history(arn))

        await until("the cleanup to wait for the cluster", profile_deleted_and_waiting_for_the_cluster)
        termed = time.monotonic()
        first.send_signal(signal.SIGTERM)
        with anyio.fail_after(60):
            code = await first.wait()
        took = time.monotonic() - termed
        assert code == 0, log.read_text()
        assert took < PROMPT_SECONDS, f"the worker took {took:.1f} s to stop: {log.read_text()}"
        assert "suspended 1 running execution(s)" in log.read_text()

        # The profile's deletion was committed; the cluster is still there and still noted.
        assert await staged.status(arn) == "RUNNING"
        before = deleted(await staged.history(arn))
        assert before == [("Fargate profile demo/quick", "deleted")], before
        assert await staged.eks_left() == ["slow"]

        events = await finish_in_a_new_worker(staged, arn)
        assert await staged.eks_left() == []
    assert deleted(events) == [("Fargate profile demo/quick", "deleted"), ("cluster slow", "deleted")]
    assert_failed_last_once(events)
