"""runJob.sync's logs end to end (spec §4.1, §4.2): parsed or raw, and the LogParameters passed through.

The model runtime makes each container print its ``sim.statewright.io/log``
annotation (``.<container>`` targets one container), so the expected log is
known exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.stack import Simulators
from tests.e2e.support import cluster_parameters, condition_true, e2e_engine, model_job, only_log, single_task

RUN_JOB_SYNC = "arn:aws:states:::eks:runJob.sync"
THREE_LINES = "first line\nsecond line\nthird line\n"


def run_job(simulators: Simulators, job: dict[str, Any], log_options: dict[str, Any]) -> dict[str, Any]:
    """A one-state runJob.sync machine on the demo cluster."""
    return single_task(
        RUN_JOB_SYNC, {**cluster_parameters(simulators), "Job": job, "LogOptions": log_options}
    )


async def test_json_logs_are_parsed_unless_raw_logs_is_set(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    cases = {
        "parsed": ('{"pi": 3.14}', {"RetrieveLogs": True}),
        "raw": ('{"pi": 3.14}', {"RetrieveLogs": True, "RawLogs": True}),
        "text": ("not JSON at all", {"RetrieveLogs": True}),
        # The seed sample's 20 digits come back as a number (losing precision, as the spec warns).
        "digits": ('{ "pi": 3.14159265358979323846 }', {"RetrieveLogs": True}),
    }
    async with e2e_engine() as engine:
        started = {
            name: engine.start(run_job(simulators, model_job(name, log=log), options), {})
            for name, (log, options) in cases.items()
        }
        parsed, raw, text, digits = [await started[name].wait() for name in cases]

    for result in (parsed, raw, text, digits):
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        assert isinstance(result.output, dict)
        assert condition_true(result.output, "Complete")
    assert isinstance(parsed.output, dict)
    assert only_log(parsed.output) == {"pi": 3.14}
    assert isinstance(raw.output, dict)
    raw_log = only_log(raw.output)
    assert isinstance(raw_log, str)
    assert raw_log.strip() == '{"pi": 3.14}'
    assert isinstance(text.output, dict)
    assert only_log(text.output).strip() == "not JSON at all"
    assert isinstance(digits.output, dict)
    pi = only_log(digits.output)["pi"]
    assert isinstance(pi, float)
    assert 3.141592653589 < pi < 3.141592653590


async def test_log_parameters_tail_lines_and_limit_bytes_are_honoured(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    raw = {"RetrieveLogs": True, "RawLogs": True}
    async with e2e_engine() as engine:
        whole = await engine.run(run_job(simulators, model_job("whole", log=THREE_LINES), raw), {})
        tail = await engine.run(
            run_job(
                simulators,
                model_job("tail", log=THREE_LINES),
                {**raw, "LogParameters": {"tailLines": ["1"]}},
            ),
            {},
        )
        limited = await engine.run(
            run_job(
                simulators,
                model_job("limited", log=THREE_LINES),
                {**raw, "LogParameters": {"limitBytes": ["5"]}},
            ),
            {},
        )

    for result in (whole, tail, limited):
        assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert isinstance(whole.output, dict)
    assert only_log(whole.output) == THREE_LINES
    assert isinstance(tail.output, dict)
    assert only_log(tail.output) == "third line\n"
    assert isinstance(limited.output, dict)
    assert only_log(limited.output) == "first"


async def test_every_container_of_the_pod_gets_its_own_log(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    job = model_job("two-containers", log="shared")
    template = job["spec"]["template"]
    template["metadata"]["annotations"]["sim.statewright.io/log.side"] = '{"side": true}'
    template["spec"]["containers"].append({"name": "side", "image": "busybox", "command": ["true"]})
    async with e2e_engine() as engine:
        result = await engine.run(run_job(simulators, job, {"RetrieveLogs": True}), {})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert isinstance(result.output, dict)
    (pod,) = result.output["logs"]["pods"].values()
    assert pod == {"containers": {"main": {"log": "shared\n"}, "side": {"log": {"side": True}}}}


async def test_without_retrieve_logs_the_job_comes_back_without_logs(
    simulators: Simulators, sim_env: Mapping[str, str]
) -> None:
    async with e2e_engine() as engine:
        result = await engine.run(run_job(simulators, model_job("quiet", log="ignored"), {}), {})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert isinstance(result.output, dict)
    assert "logs" not in result.output
    assert condition_true(result.output, "Complete")
