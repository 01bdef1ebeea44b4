"""The EKS executor options: checked once when the engine is built, resolved once per resource and state."""

from __future__ import annotations

from typing import Any

import pytest

from engine import Engine, ExecutorRegistry
from executors.eks import EksExecutor, options, register
from executors.eks.options import EksOptions
from executors.eks.polling import FixedPollPolicy
from executors.eks.ratelimit import DEFAULT_BURST, DEFAULT_QPS
from tests.support.eks import StaticTokens, services_with

RUN_JOB = "arn:aws:states:::eks:runJob.sync"
# Every field computed, so the definition passes its checks and the call fails at run time,
# after the options were resolved, without any request.
MACHINE: dict[str, Any] = {
    "StartAt": "Run",
    "States": {
        "Run": {
            "Type": "Task",
            "Resource": RUN_JOB,
            "Parameters": {"ClusterName.$": "$.c", "CertificateAuthority.$": "$.c", "Endpoint.$": "$.c", "Job.$": "$.c"},
            "End": True,
        }
    },
}


def eks_engine(**kwargs: Any) -> tuple[Engine, EksExecutor]:
    executor = EksExecutor(services_with(StaticTokens()))
    registry = ExecutorRegistry()
    register(registry, executor)
    return Engine(registry=registry, **kwargs), executor


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"executor_options": {"eks_kube_qsp": 5}}, "eks_kube_qsp"),
        ({"resource_options": {RUN_JOB: {"eks_timestamp_fromat": "iso8601"}}}, "eks_timestamp_fromat"),
        ({"state_options": {"Run": {"eks_cancel_on_abrot": False}}}, "eks_cancel_on_abrot"),
    ],
)
def test_a_misspelt_eks_option_stops_the_engine_at_construction(given: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=f"unknown executor option '{named}'"):
        eks_engine(**given)


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"executor_options": {"poll_policy": "sometimes"}}, "unknown poll policy 'sometimes'"),
        ({"executor_options": {"eks_kube_qps": -1}}, "eks_kube_qps"),
        ({"executor_options": {"eks_kube_burst": 2.5}}, "eks_kube_burst"),
        ({"executor_options": {"cleanup": "always"}}, "'cleanup' must be one of never, aborted-task, execution"),
        ({"executor_options": {"cleanup_timeout_seconds": 0}}, "cleanup_timeout_seconds"),
        ({"state_options": {"Run": {"eks_sdk_metadata": "yes"}}}, "eks_sdk_metadata"),
        ({"resource_options": {RUN_JOB: {"eks_timestamp_format": "rfc822"}}}, "eks_timestamp_format"),
        ({"state_options": {"Run": {"poll_policy": 42}}}, "PollPolicy or a spec string"),
    ],
)
def test_a_bad_option_value_stops_the_engine_at_construction_naming_the_option(
    given: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        eks_engine(**given)


def test_the_rate_limit_is_engine_wide_set_once_and_refused_per_state() -> None:
    _, executor = eks_engine(executor_options={"eks_kube_qps": 7, "eks_kube_burst": 3})
    assert executor.services.rate_limits.settings == (7.0, 3)
    with pytest.raises(ValueError, match="'eks_kube_qps' holds for the whole engine"):
        eks_engine(state_options={"Run": {"eks_kube_qps": 9}})
    _, untouched = eks_engine(executor_options={"poll_policy": "fixed:1"})
    assert untouched.services.rate_limits.settings == (DEFAULT_QPS, DEFAULT_BURST)


def test_options_of_other_executors_are_left_to_them() -> None:
    eks_engine(executor_options={"other": 1, "poll": "fast"})


def test_the_options_object_holds_every_option_typed() -> None:
    parsed = EksOptions.parse({
        "poll_policy": "fixed:2", "eks_kube_qps": 5, "cleanup": "execution", "cleanup_timeout_seconds": 60,
        "eks_sdk_metadata": False, "eks_timestamp_format": "iso8601", "durable_store": True,
    })  # fmt: skip
    assert parsed.poll_policy == FixedPollPolicy(2.0)
    assert parsed.rate_limits == (5.0, DEFAULT_BURST)
    assert (parsed.cleanup, parsed.cleanup_timeout_seconds) == ("execution", 60.0)
    assert (parsed.sdk_metadata, parsed.timestamp_format, parsed.durable_store) == (False, "iso8601", True)
    assert EksOptions.parse({"eks_cancel_on_abort": False}).cleanup == "never"


async def test_the_poll_policy_is_parsed_once_however_many_tasks_run(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real = options.parse_poll_policy

    def counting(spec: str) -> Any:
        parsed.append(spec)
        return real(spec)

    monkeypatch.setattr(options, "parse_poll_policy", counting)
    engine, executor = eks_engine(executor_options={"poll_policy": "fixed:0.5"})
    async with engine:
        for _ in range(20):
            result = await engine.run(MACHINE, {"c": 5})
            assert result.status == "FAILED" and result.error == "States.Runtime"
    await executor.aclose()
    # Once when the engine checked its options, once when the state's merged options were first seen.
    assert parsed == ["fixed:0.5", "fixed:0.5"]
