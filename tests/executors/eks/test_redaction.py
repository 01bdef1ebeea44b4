"""No credential in any log record, at DEBUG, of a run against the simulators in another process.

The session token is a recognizable string and the secret key the simulators' own; the run
creates a cluster-side Job (EKS bearer token minted from a presigned STS call)
and describes the cluster through botocore, whose DEBUG records carry the
signed headers. Every record any logger wrote is captured at the root.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.simproc import SimOptions, SimProcess
from engine import Engine, ExecutorRegistry
from executors.eks import EksExecutor, redact, register
from executors.eks.services import EksServices

pytestmark = pytest.mark.slow

SESSION = "IQoJb3JpZ2luX2VjRECOGNIZABLESESSIONTOKEN/x+y=="


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


async def test_debug_logs_of_a_run_hold_no_secret_key_session_token_or_bearer_token(
    captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SimProcess(SimOptions()) as sim:
        for key, value in sim.env.items():
            monkeypatch.setenv(key, value)
        secret = sim.env["AWS_SECRET_ACCESS_KEY"]  # the simulators check signatures: their own key
        monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION)
        services = EksServices.default()
        registry = ExecutorRegistry()
        register(registry, EksExecutor(services))
        cluster = sim.cluster
        definition = {
            "StartAt": "Describe",
            "States": {
                "Describe": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::eks:createCluster",
                    "Parameters": {
                        "Name": "logged", "RoleArn": "arn:aws:iam::123456789012:role/r",
                        "ResourcesVpcConfig": {"SubnetIds": ["subnet-1", "subnet-2"]},
                    },
                    "ResultPath": None,
                    "Next": "Run",
                },
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::eks:runJob.sync",
                    "Parameters": {
                        "ClusterName": cluster["name"], "CertificateAuthority": cluster["ca"],
                        "Endpoint": cluster["endpoint"],
                        "Job": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "logged"},
                                "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
                                         "containers": [{"name": "main", "image": "busybox"}]}}}},
                    },
                    "End": True,
                },
            },
        }  # fmt: skip
        async with Engine(load_plugins=False, registry=registry) as engine:
            result = await engine.start(engine.compile(definition), {}).wait()
    text = captured.getvalue()
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert "Sending http request" in text  # botocore's DEBUG records were captured
    assert secret not in text
    assert SESSION not in text
    assert "k8s-aws-v1." not in text.replace("k8s-aws-v1." + redact.REDACTED, "")


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="'\",}<>&"), min_size=8))
def test_a_security_token_header_value_never_survives_redaction(token: str) -> None:
    line = f"headers={{'X-Amz-Security-Token': b'{token}', 'Host': 'eks'}}"
    assert token not in redact.redact(line) or token in "'X-Amz-Security-Token': b', 'Host': 'eks'}"
