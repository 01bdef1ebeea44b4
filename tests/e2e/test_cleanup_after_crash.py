"""A worker SIGKILLed in the middle of a cleanup: the next worker finishes it, and the history says it once.

Real processes all through: the simulators in a process of their own with
EKS's realistic timings scaled down (``benchmarks.simproc``; one per test
function, shared by its SQLite and PostgreSQL cases: each case leaves it as it
found it, and checks so first), ``statewright
start`` and ``statewright worker --cleanup execution`` on a real SQLite file
or a real PostgreSQL database. The first worker runs an execution that
creates and then fails, and is SIGKILLed while its cleanup waits; a second
worker takes the execution from the store, deletes what the ledger still
holds, and records the end. Nothing may be left in the simulator, every
resource may be reported deleted exactly once, and the execution's own end
must come last, once. The command-line processes are forked from one that
imported the command line once (``tests.e2e.crash_worker``): each is still a
process of its own, SIGKILLed or SIGTERMed, without an interpreter start-up
(about a second each, not what is under test).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import aioboto3
import anyio
import pytest
import pytest_asyncio

from benchmarks.simproc import SimOptions, SimProcess
from engine.history import HistoryEvent
from engine.store import open_store
from tests.e2e.crash_worker import Forked, ForkServer, fork_server
from tests.e2e.support import REPO, base_environment

# The module's loop: the shared simulator processes are its children.
pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

ROLE: Final = "arn:aws:iam::123456789012:role/cluster"
POD_ROLE: Final = "arn:aws:iam::123456789012:role/pods"
POLL: Final = "fixed:0.2"
LEASE_SECONDS: Final = "2"
"""A dead worker's PostgreSQL lease lapses this soon, so the next one may claim its execution."""


def failing_after(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A definition running ``states`` in order, then failing with ``Pipeline.Broken``."""
    names = [name for name, _ in states]
    out: dict[str, Any] = {"StartAt": names[0], "States": {}}
    for i, (name, state) in enumerate(states):
        out["States"][name] = {**state, "ResultPath": None, "Next": names[i + 1] if i + 1 < len(names) else "Broken"}
    out["States"]["Broken"] = {"Type": "Fail", "Error": "Pipeline.Broken", "Cause": "on purpose"}
    return out


#: A cluster asked for (request-response: the execution goes on while it is CREATING), then a failure.
CLUSTER_THEN_FAIL: Final = failing_after(
    (
        "Cluster",
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::eks:createCluster",
            "Parameters": {"Name": "crashed", "RoleArn": ROLE, "ResourcesVpcConfig": {"SubnetIds": ["subnet-1"]}},
        },
    )
)


def profile(name: str) -> tuple[str, dict[str, Any]]:
    return (
        name,
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::eks:createFargateProfile.sync",
            "Parameters": {
                "ClusterName": "demo",
                "FargateProfileName": name,
                "PodExecutionRoleArn": POD_ROLE,
                "Selectors": [{"Namespace": name}],
            },
        },
    )


#: Two Fargate profiles on the ready cluster: EKS deletes one at a time, so the cleanup has two steps.
TWO_PROFILES_THEN_FAIL: Final = failing_after(profile("first"), profile("second"))


def sim_process(time_factor: float) -> SimProcess:
    return SimProcess(SimOptions(timings="realistic", time_factor=time_factor, kube_servers=False))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def creating_sim() -> AsyncIterator[SimProcess]:
    """Cluster create 4.2 s, delete 1.5 s."""
    async with sim_process(0.005) as sim:
        yield sim


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def profiles_sim() -> AsyncIterator[SimProcess]:
    """Fargate profile create and delete 3.6 s each."""
    async with sim_process(0.03) as sim:
        yield sim


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


class Stage:
    """The simulator process, the env file the workers read, and the store, for one test."""

    def __init__(self, sim: SimProcess, folder: Path, store: str) -> None:
        self.server: ForkServer | None = None
        self.sim = sim
        self.folder = folder
        self.store = store
        self.env = base_environment(folder)
        # The simulators' own hint is AWS's cadence for realistic timings; the workers look more often.
        self.env_file = folder / "sim.env"
        values = {**sim.env, "STATEWRIGHT_POLL": POLL}
        self.env_file.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items()))
        self.workers = 0

    async def cli(self, *argv: str) -> Any:
        assert self.server is not None
        out, err = self.folder / "cli.out", self.folder / "cli.err"
        out.write_text("")
        done = await self.server.start(argv, out, err)
        with anyio.fail_after(60):
            assert await done.wait() == 0, err.read_text()
        return json.loads(out.read_text()) if out.read_text().strip() else None

    async def worker(self) -> tuple[Forked, Path]:
        assert self.server is not None
        log = self.folder / f"worker{self.workers}.log"
        self.workers += 1
        argv = ["worker", "--store", self.store, "--sim-env", str(self.env_file), "--cleanup", "execution"]
        if self.store.startswith("postgresql"):
            argv += ["--lease-seconds", LEASE_SECONDS]
        return await self.server.start(argv, Path(os.devnull), log), log

    async def history(self, arn: str) -> list[HistoryEvent]:
        store = open_store(self.store, create=False)
        await store.open()
        try:
            return await store.history(arn)
        finally:
            await store.close()

    async def status(self, arn: str) -> str:
        store = open_store(self.store, create=False)
        await store.open()
        try:
            found = await store.get_execution(arn)
            assert found is not None
            return found.status
        finally:
            await store.close()

    async def eks_left(self) -> list[str]:
        """Every cluster but ``demo``, and every Fargate profile and node group of any cluster."""
        saved = dict(os.environ)
        os.environ.update(self.sim.env)
        try:
            async with aioboto3.Session().client("eks") as eks:
                clusters = (await eks.list_clusters())["clusters"]
                left = [c for c in clusters if c != "demo"]
                for c in clusters:
                    left += [f"profile {p}" for p in (await eks.list_fargate_profiles(clusterName=c))["fargateProfileNames"]]
                    left += [f"nodegroup {n}" for n in (await eks.list_nodegroups(clusterName=c))["nodegroups"]]
                return left
        finally:
            os.environ.clear()
            os.environ.update(saved)


@asynccontextmanager
async def stage(sim: SimProcess, tmp_path: Path, store: str) -> AsyncIterator[Stage]:
    staged = Stage(sim, tmp_path, store)
    assert await staged.eks_left() == [], "left in the shared simulators by an earlier case"
    # Leaving kills the process still running, if any.
    async with fork_server(staged.env, REPO) as staged.server:
        yield staged


async def until(what: str, ready: Callable[[], Any], *, within: float = 90.0) -> None:
    with anyio.move_on_after(within) as scope:
        while not await ready():
            await anyio.sleep(0.1)
    assert not scope.cancelled_caught, f"waited {within} s for {what}"


async def crash_during_cleanup(
    staged: Stage, definition: dict[str, Any], killed_when: Callable[[Path, str], Any]
) -> str:
    """Start the execution, run it in a worker that is SIGKILLed once ``killed_when(log, arn)``; its ARN."""
    path = staged.folder / "pipeline.json"
    path.write_text(json.dumps(definition))
    started = await staged.cli("start", str(path), "--name", "crash", "--store", staged.store)
    arn = str(started["executionArn"])
    first, log = await staged.worker()
    await until("the cleanup to be under way", lambda: killed_when(log, arn))
    first.send_signal(signal.SIGKILL)
    with anyio.fail_after(30):
        assert await first.wait() == -signal.SIGKILL
    assert await staged.status(arn) == "RUNNING", log.read_text()
    return arn


async def finish_in_a_new_worker(staged: Stage, arn: str) -> list[HistoryEvent]:
    second, log = await staged.worker()

    async def ended() -> bool:
        return await staged.status(arn) != "RUNNING"

    await until("the second worker to end the execution", ended)
    second.send_signal(signal.SIGTERM)
    with anyio.fail_after(30):
        assert await second.wait() == 0, log.read_text()
    return await staged.history(arn)


def deleted(events: list[HistoryEvent]) -> list[tuple[str, str]]:
    return [
        (str(e.details["resource"]), str(e.details["outcome"]))
        for e in events
        if e.type == "ResourceDeleted" and e.details
    ]


def assert_failed_last_once(events: list[HistoryEvent]) -> None:
    types = [e.type for e in events]
    assert "ResourceNotDeleted" not in types, types
    assert types.count("ExecutionFailed") == 1 and types[-1] == "ExecutionFailed", types
    failed = events[-1].details or {}
    assert (failed.get("error"), failed.get("cause")) == ("Pipeline.Broken", "on purpose")
    assert max(i for i, t in enumerate(types) if t == "ResourceDeleted") < len(types) - 1


async def test_a_cleanup_killed_while_the_cluster_is_creating_is_finished_by_the_next_worker(
    creating_sim: SimProcess, tmp_path: Path, store_url: str
) -> None:
    """Cluster create 4.2 s, delete 1.5 s: the first worker dies waiting out CREATING."""

    async def waiting_out_creating(log: Path, arn: str) -> bool:
        if "cleanup: waiting for cluster crashed: CREATING" not in log.read_text():
            return False
        # The failure, the ledger and the decided end are in one commit: wait until it is made.
        return any(e.type == "FailStateEntered" for e in await staged.history(arn))

    async with stage(creating_sim, tmp_path, store_url) as staged:
        arn = await crash_during_cleanup(staged, CLUSTER_THEN_FAIL, waiting_out_creating)
        assert await staged.eks_left() == ["crashed"]
        events = await finish_in_a_new_worker(staged, arn)
        assert await staged.eks_left() == []
    assert deleted(events) == [("cluster crashed", "deleted")]
    assert_failed_last_once(events)


async def test_a_cleanup_killed_between_two_deletions_records_each_deletion_once(
    profiles_sim: SimProcess, tmp_path: Path, store_url: str
) -> None:
    """Fargate profile create and delete 3.6 s each, one deleting at a time: killed after the first is gone."""

    async def first_deleted_and_committed(log: Path, arn: str) -> bool:
        if "cleanup: deleted Fargate profile" not in log.read_text():
            return False
        return any(e.type == "ResourceDeleted" for e in await staged.history(arn))

    async with stage(profiles_sim, tmp_path, store_url) as staged:
        arn = await crash_during_cleanup(staged, TWO_PROFILES_THEN_FAIL, first_deleted_and_committed)
        before = deleted(await staged.history(arn))
        assert len(before) == 1 and before[0][1] == "deleted", before
        assert len(await staged.eks_left()) == 1
        events = await finish_in_a_new_worker(staged, arn)
        assert await staged.eks_left() == []
    resources = sorted(resource for resource, _ in deleted(events))
    assert resources == ["Fargate profile demo/first", "Fargate profile demo/second"], deleted(events)
    assert {outcome for _, outcome in deleted(events)} == {"deleted"}
    assert_failed_last_once(events)
