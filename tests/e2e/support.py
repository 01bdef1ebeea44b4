"""Helpers of the end-to-end tests: engine + EKS executors + simulators, together.

Every test here drives the public API exactly as a user does: it points boto3's
standard configuration at the simulators (``Simulators.env()`` through
``monkeypatch.setenv``, before any Engine exists, since the EKS executors read
it when they are built), then runs a definition with ``statewright.Engine``
whose executors come from the entry points. Nothing reaches into the
executors; the simulators are only used to set the scene (failure rules,
identities) and to look at the result from the other side.

Engines are opened inside each test (``async with e2e_engine(): ...``) rather
than as fixtures: an Engine owns an anyio task group, which must be left by the
task that entered it.

``FastForwardClock`` lets the seed pipeline's Retry intervals (30 s, then 60 s)
pass in a few milliseconds without touching the definition: sleeps of a second
or more advance the clock instead of the wall; the 0.1 s polls stay real, so
the simulators' lifecycles (which run on real time) are still observed.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import aioboto3
import anyio
import pytest

from engine.runtime.clock import SystemClock
from sim.stack import Simulators
from statewright import Engine, ExecutionResult

REPO: Final = Path(__file__).resolve().parents[2]
EXAMPLES: Final = REPO / "examples"
SEED: Final = EXAMPLES / "seed"
#: The poll policy of every ``.sync`` wait in these tests.
POLL: Final = "fixed:0.1"
#: An identity the simulators know (it can sign requests) but that no aws-auth maps.
OUTSIDER_KEY: Final = "AKIAE2EOUTSIDER00001"
OUTSIDER_ARN: Final = "arn:aws:iam::111122223333:role/e2e-outsider"

#: The states the seed pipeline enters when everything works.
HAPPY_PATH: Final = [
    "Create cluster",
    "Create node group",
    "Read aws-auth",
    "Map role into aws-auth",
    "Run pi job",
    "Check pi",
    "List job pods",
    "Delete job",
    "Delete node group",
    "Delete cluster",
    "Done?",
    "Done",
]

_AWS_VARS: Final = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_EKS",
    "AWS_ENDPOINT_URL_STS",
    "AWS_CA_BUNDLE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def load_json(path: Path) -> Any:
    """A JSON file of the repository."""
    return json.loads(path.read_text(encoding="utf-8"))


def seed_example(name: str) -> dict[str, Any]:
    """``examples/seed/<name>.json`` as a dict."""
    loaded: dict[str, Any] = load_json(SEED / f"{name}.json")
    return loaded


def base_environment(home: Path) -> dict[str, str]:
    """This process's environment without any AWS setting (profiles, files, metadata, keys)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        {
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": str(home),
            "PYTHONPATH": str(REPO),
        }
    )
    return env


def isolate_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Forget the machine's AWS configuration (profiles, files, instance metadata)."""
    for name in _AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@asynccontextmanager
async def e2e_engine(**kwargs: Any) -> AsyncIterator[Engine]:
    """An Engine with the entry-point executors and the fast poll policy."""
    options: dict[str, object] = {"poll_policy": POLL}
    options.update(kwargs.pop("executor_options", {}))
    async with Engine(executor_options=options, **kwargs) as engine:
        yield engine


async def run(definition: Mapping[str, Any], input_value: Any, **engine_kwargs: Any) -> ExecutionResult:
    """One execution on a fresh Engine (fresh executors, so they read the current environment)."""
    async with e2e_engine(**engine_kwargs) as engine:
        return await engine.run(dict(definition), input_value)


def cluster_input(simulators: Simulators, name: str = "demo") -> dict[str, Any]:
    """The seed examples' input: ``{"cluster": {"Name", "Endpoint", "CertificateAuthority"}}`` (base64 CA)."""
    doc = simulators.eks.describe_cluster(name)
    return {
        "cluster": {
            "Name": name,
            "Endpoint": doc["endpoint"],
            "CertificateAuthority": doc["certificateAuthority"]["data"],
        }
    }


def cluster_parameters(simulators: Simulators, name: str = "demo") -> dict[str, Any]:
    """ClusterName, Endpoint and CertificateAuthority of an ACTIVE cluster, as runJob/call take them."""
    cluster = cluster_input(simulators, name)["cluster"]
    return {
        "ClusterName": cluster["Name"],
        "Endpoint": cluster["Endpoint"],
        "CertificateAuthority": cluster["CertificateAuthority"],
    }


def single_task(resource: str, parameters: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """A one-state machine running ``resource`` with ``parameters`` (extra Task fields in ``fields``)."""
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "Parameters": dict(parameters)}
    state.update(fields)
    if "Next" not in state:
        state["End"] = True
    return {"StartAt": "Task", "States": {"Task": state}}


def model_job(
    name: str,
    *,
    log: str | None = None,
    seconds: str = "0.1",
    exit_code: str | None = None,
    container: str = "main",
) -> dict[str, Any]:
    """A batch/v1 Job whose single container the model runtime runs as the annotations say."""
    annotations = {"sim.statewright.io/seconds": seconds}
    if log is not None:
        annotations["sim.statewright.io/log"] = log
    if exit_code is not None:
        annotations["sim.statewright.io/exit-code"] = exit_code
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": annotations},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": container, "image": "busybox", "command": ["true"]}],
                },
            },
        },
    }


def condition_true(job: Mapping[str, Any], kind: str) -> bool:
    """Whether the Job's ``status.conditions`` holds ``kind`` (Complete/Failed) with status "True"."""
    conditions = job.get("status", {}).get("conditions", [])
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def only_log(job: Mapping[str, Any], container: str = "main") -> Any:
    """The ``log`` of ``container`` in the Job's single pod (asserting there is exactly one pod)."""
    pods = job["logs"]["pods"]
    assert len(pods) == 1, f"expected one pod, got {sorted(pods)}"
    (pod,) = pods.values()
    entry = pod["containers"][container]
    assert "log" in entry, f"no log for {container}: {entry}"
    return entry["log"]


@asynccontextmanager
async def eks_client() -> AsyncIterator[Any]:
    """An aioboto3 EKS client on boto3's standard configuration (the simulators under ``sim_env``)."""
    async with aioboto3.Session().client("eks") as client:
        yield client


async def cluster_gone(name: str) -> bool:
    """Whether DescribeCluster answers ResourceNotFoundException for ``name``."""
    async with eks_client() as client:
        try:
            await client.describe_cluster(name=name)
        except client.exceptions.ResourceNotFoundException:
            return True
    return False


class FastForwardClock(SystemClock):
    """Real time, except that sleeps of ``threshold`` seconds or more are skipped over.

    A long sleep lasts ``real_seconds`` on the wall and moves this clock's
    readings forward by the rest, so Retry intervals and Wait states pass
    quickly while the clock stays consistent (history times, deadlines).
    """

    def __init__(self, threshold: float = 1.0, real_seconds: float = 0.01) -> None:
        self.threshold = threshold
        self.real_seconds = real_seconds
        self.skipped = 0.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        return super().timestamp() + self.skipped

    def monotonic(self) -> float:
        return super().monotonic() + self.skipped

    async def sleep(self, seconds: float) -> None:
        if seconds >= self.threshold:
            self.skipped += seconds - self.real_seconds
            await anyio.sleep(self.real_seconds)
        else:
            await anyio.sleep(max(0.0, seconds))

    async def sleep_until(self, deadline: float) -> None:
        await self.sleep(deadline - self.monotonic())


def assert_no_secrets(text: str, secret_access_key: str) -> None:
    """No EKS bearer token, presigned STS URL or secret key in ``text`` (output, history, logs)."""
    assert "k8s-aws-v1." not in text, "an EKS bearer token leaked"
    assert "X-Amz-Signature" not in text, "a presigned URL leaked"
    assert secret_access_key not in text, "the secret access key leaked"


def result_text(result: ExecutionResult) -> str:
    """The result and its whole history as AWS renders them, as one string."""
    return json.dumps({"result": result.to_json(), "history": result.history.to_aws()})
