"""The public surfaces, pinned: adding or removing a name must be a deliberate change here.

Like httpx's ``tests/test_exported_members.py``: ``__all__`` is the supported
API whatever the module layout, so it is compared with a literal set, and
every listed name must really be importable.
"""

from __future__ import annotations

import sys
import types

import pytest

import engine
import executors
import statewright

ENGINE = {
    "Clock",
    "DEFAULT_LIMIT_BYTES",
    "DataLimitExceeded",
    "Engine",
    "Execution",
    "ExecutionAlreadyExists",
    "ExecutionCleaner",
    "ExecutionDoesNotExist",
    "ExecutionEnd",
    "ExecutionRecord",
    "ExecutionResult",
    "Executor",
    "ExecutorCall",
    "ExecutorContext",
    "ExecutorRegistry",
    "GeneratedPolicy",
    "History",
    "HistoryEvent",
    "InMemoryStore",
    "IntegrationPattern",
    "InvalidDefinition",
    "InvalidInput",
    "InvalidMockConfig",
    "JSON",
    "LoopClock",
    "MockConfig",
    "ParameterChecker",
    "Parked",
    "ParameterProblem",
    "ParameterReading",
    "PolicyProvider",
    "PolicyStatement",
    "PolicyTarget",
    "Position",
    "Problem",
    "SizeGuard",
    "StateMachine",
    "StatesError",
    "StatewrightError",
    "StaticParameters",
    "Store",
    "SystemClock",
    "TestStateResult",
    "TestStateValidation",
    "TaskFailed",
    "UncoveredTask",
    "UnknownResource",
    "parse_definition",
    "parse_resource",
    "policy_for",
}

STATEWRIGHT = {
    "CallableExecutor",
    "Engine",
    "Execution",
    "ExecutionResult",
    "ExecutorCall",
    "ExecutorContext",
    "ExecutorRegistry",
    "InMemoryStore",
    "IntegrationPattern",
    "InvalidDefinition",
    "InvalidInput",
    "InvalidMockConfig",
    "LambdaExecutor",
    "LoopClock",
    "MockConfig",
    "StatesError",
    "SystemClock",
    "TestStateResult",
    "TestStateValidation",
    "lambda_executor",
    "parse_definition",
    "policy_for",
}

EXECUTORS = {
    "AwsPollPolicy",
    "EksExecutor",
    "EksServices",
    "ExponentialPollPolicy",
    "FixedPollPolicy",
    "KubeConnections",
    "PollPolicy",
    "RESOURCE_PATTERNS",
    "TokenProvider",
    "TransientEksError",
    "eks_api_errors",
    "kube_connection_errors",
    "kube_http_error",
    "parse_poll_policy",
    "policy_for",
    "poll_policy_names",
    "poll_until",
    "register",
    "register_poll_policy",
    "ssl_context_for_ca",
    "task_failed",
}


@pytest.mark.parametrize(
    ("module", "expected"),
    [(engine, ENGINE), (statewright, STATEWRIGHT), (executors, EXECUTORS)],
    ids=["engine", "statewright", "executors"],
)
def test_all_lists_exactly_the_supported_names(module: types.ModuleType, expected: set[str]) -> None:
    assert set(module.__all__) == expected
    assert len(module.__all__) == len(expected), "__all__ lists a name twice"


@pytest.mark.parametrize(
    "module", [engine, statewright, executors], ids=["engine", "statewright", "executors"]
)
def test_every_exported_name_exists(module: types.ModuleType) -> None:
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def test_statewright_re_exports_the_engine_objects_themselves() -> None:
    for name in STATEWRIGHT & ENGINE:
        assert getattr(statewright, name) is getattr(engine, name), name


def test_executors_re_exports_the_objects_its_modules_define() -> None:
    """Each name is the object its home module (``executors.eks`` or below) defines, not a copy or a wrapper."""
    for name in executors.__all__:
        value = getattr(executors, name)
        home = sys.modules[getattr(value, "__module__", "executors.eks")]
        assert home.__name__.startswith("executors."), (name, home.__name__)
        assert getattr(home, name) is value, name
