"""The executor registry: Resource ARNs parsed, looked up exactly or by prefix, plugins loaded."""

from __future__ import annotations

from typing import Any

import pytest

import engine.registry as registry_module
from engine import (
    Engine,
    ExecutorCall,
    ExecutorContext,
    ExecutorRegistry,
    IntegrationPattern,
    UnknownResource,
    parse_resource,
)
from executors.local import CallableExecutor, LambdaExecutor


async def _noop(call: ExecutorCall, ctx: ExecutorContext) -> Any:
    return None


@pytest.mark.parametrize(
    ("resource", "base", "service", "action", "pattern"),
    [
        (
            "arn:aws:states:::eks:runJob.sync",
            "arn:aws:states:::eks:runJob",
            "eks",
            "runJob",
            IntegrationPattern.SYNC,
        ),
        (
            "arn:aws:states:::eks:call",
            "arn:aws:states:::eks:call",
            "eks",
            "call",
            IntegrationPattern.REQUEST_RESPONSE,
        ),
        (
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "arn:aws:states:::lambda:invoke",
            "lambda",
            "invoke",
            IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        ),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "lambda",
            "function",
            IntegrationPattern.REQUEST_RESPONSE,
        ),
        ("not-an-arn", "not-an-arn", "", "", IntegrationPattern.REQUEST_RESPONSE),
    ],
)
def test_parse_resource_splits_base_service_action_and_pattern(
    resource: str, base: str, service: str, action: str, pattern: IntegrationPattern
) -> None:
    parsed = parse_resource(resource)
    assert (parsed.resource, parsed.base, parsed.service, parsed.action, parsed.pattern) == (
        resource,
        base,
        service,
        action,
        pattern,
    )


def test_the_pattern_suffixes_are_aws_names() -> None:
    assert [p.suffix for p in IntegrationPattern] == ["", ".sync", ".waitForTaskToken"]


def test_an_exact_registration_is_found_with_its_supported_patterns() -> None:
    reg = ExecutorRegistry()
    ex = CallableExecutor(_noop)
    reg.register(
        "arn:aws:states:::svc:act",
        ex,
        patterns=(IntegrationPattern.REQUEST_RESPONSE, IntegrationPattern.SYNC),
    )
    parsed, found = reg.lookup("arn:aws:states:::svc:act.sync")
    assert found.executor is ex
    assert parsed.pattern is IntegrationPattern.SYNC
    with pytest.raises(UnknownResource, match="waitForTaskToken"):
        reg.lookup("arn:aws:states:::svc:act.waitForTaskToken")


def test_an_unregistered_resource_is_unknown() -> None:
    with pytest.raises(UnknownResource, match="no executor"):
        ExecutorRegistry().lookup("arn:aws:states:::svc:act")


def test_exact_registrations_win_over_prefixes_and_longer_prefixes_win() -> None:
    reg = ExecutorRegistry()
    short, long, exact = CallableExecutor(_noop), CallableExecutor(_noop), CallableExecutor(_noop)
    reg.register_prefix("arn:aws:lambda:", short)
    reg.register_prefix("arn:aws:lambda:eu-west-1:", long)
    reg.register("arn:aws:lambda:eu-west-1:1:function:special", exact)
    assert reg.lookup("arn:aws:lambda:us-east-1:1:function:f")[1].executor is short
    assert reg.lookup("arn:aws:lambda:eu-west-1:1:function:f")[1].executor is long
    assert reg.lookup("arn:aws:lambda:eu-west-1:1:function:special")[1].executor is exact


def test_a_later_registration_replaces_an_earlier_one_and_unregister_forgets_it() -> None:
    reg = ExecutorRegistry()
    first, second = CallableExecutor(_noop), CallableExecutor(_noop)
    reg.register("arn:aws:states:::svc:act", first)
    reg.register("arn:aws:states:::svc:act", second)
    assert reg.lookup("arn:aws:states:::svc:act")[1].executor is second
    assert [r.base for r in reg] == ["arn:aws:states:::svc:act"]
    reg.unregister("arn:aws:states:::svc:act")
    reg.unregister("arn:aws:states:::never:registered")
    with pytest.raises(UnknownResource):
        reg.lookup("arn:aws:states:::svc:act")


def test_installed_plugins_register_the_local_lambda_and_eks_executors() -> None:
    reg = ExecutorRegistry()
    reg.load_entry_points()
    bases = {r.base for r in reg}
    assert "arn:aws:states:::lambda:invoke" in bases
    assert "arn:aws:states:::eks:runJob" in bases
    _, lam = reg.lookup("arn:aws:states:::lambda:invoke")
    assert isinstance(lam.executor, LambdaExecutor)
    parsed, _ = reg.lookup("arn:aws:states:::eks:runJob.sync")
    assert parsed.pattern is IntegrationPattern.SYNC


def test_a_plugin_that_fails_to_load_is_logged_and_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class EntryPoint:
        def __init__(self, name: str, hook: Any) -> None:
            self.name = name
            self._hook = hook

        def load(self) -> Any:
            return self._hook

    def broken(reg: ExecutorRegistry) -> None:
        raise ImportError("missing dependency")

    def working(reg: ExecutorRegistry) -> None:
        reg.register("arn:aws:states:::good:act", CallableExecutor(_noop))

    monkeypatch.setattr(
        registry_module,
        "entry_points",
        lambda group: [EntryPoint("broken", broken), EntryPoint("good", working)],
    )
    reg = ExecutorRegistry()
    reg.load_entry_points()
    assert [r.base for r in reg] == ["arn:aws:states:::good:act"]
    assert "broken" in caplog.text


async def test_an_engine_without_a_registry_loads_the_plugins() -> None:
    async with Engine() as engine:
        assert {r.base for r in engine.registry} >= {
            "arn:aws:states:::lambda:invoke",
            "arn:aws:states:::eks:call",
        }
    async with Engine(load_plugins=False) as bare:
        assert list(bare.registry) == []


async def test_an_engine_validates_resources_against_its_registry(harness: Any) -> None:
    harness.handle("arn:aws:states:::svc:act", _noop)
    async with harness.engine() as engine:
        machine = engine.compile(
            {
                "StartAt": "T",
                "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::svc:act", "End": True}},
            }
        )
        assert (await engine.run(machine, {})).status == "SUCCEEDED"


async def test_executor_options_merge_engine_then_resource_then_state() -> None:
    """Per-resource options override engine options; per-state options override both."""
    from engine import Engine, ExecutorRegistry

    seen: list[dict[str, object]] = []

    class Recorder:
        async def run(self, call: ExecutorCall, ctx: ExecutorContext) -> object:
            seen.append(dict(ctx.options))
            return {}

    registry = ExecutorRegistry()
    registry.register("arn:aws:states:::demo:act", Recorder())
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::demo:act", "Next": "B"},
            "B": {"Type": "Task", "Resource": "arn:aws:states:::demo:act", "End": True},
        },
    }
    async with Engine(
        registry=registry,
        executor_options={"poll_policy": "aws", "other": 1},
        resource_options={"arn:aws:states:::demo:act": {"poll_policy": "fixed:5"}},
        state_options={"B": {"poll_policy": "watch"}},
    ) as engine:
        result = await engine.run(definition, {})
    assert result.status == "SUCCEEDED"
    assert seen == [{"poll_policy": "fixed:5", "other": 1}, {"poll_policy": "watch", "other": 1}]
