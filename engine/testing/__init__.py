"""Testing state machines: mocked service responses and TestState.

* ``_mock_config`` parses Step Functions Local's mock configuration file
  (``StateMachines`` → test cases → ``MockedResponses``) and reports every
  problem with its JSON location.
* ``_mocks`` runs an execution against one test case: mocked Task states
  answer from their responses, invocation by invocation; the rest run their
  real executors.
* ``_test_state`` is the TestState API: one state, run once, with what each
  input/output processing step made of the data.

``Engine(mock_config=...)``, ``Engine.start(..., test_case=...)`` and
``Engine.test_state(...)`` are the way in; the names below are for tools
built on them (the command line, the API server, the pytest plugin).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from engine.errors import Problem
from engine.testing._mock_config import (
    InvalidMockConfig,
    MockConfig,
    MockedOutcome,
    MockedResponse,
    MockTestCase,
    parse_mock_config,
    walk_states,
)
from engine.testing._mocks import MockedTask, MockSession, compile_with_mocks, unserved_tasks
from engine.testing._test_state import (
    FIELD_VALIDATION_MODES,
    INSPECTION_LEVELS,
    ResultModels,
    StateConfiguration,
    TestStateResult,
    TestStateValidation,
    run_test_state,
)


def mock_session(
    config: MockConfig | str | os.PathLike[str] | Mapping[str, Any] | None,
    state_machine: str,
    test_case: str | None,
    *,
    durable: bool = False,
) -> MockSession | None:
    """A new execution's session for ``test_case`` of ``state_machine`` (None without a test case).

    Raises:
        InvalidMockConfig: there is no mock configuration, or it has no such test case, or the
            execution would be kept in a ``durable`` store.
    """
    if test_case is None:
        return None
    if durable:
        # A stored record does not carry its test case: resumed, it would call real services.
        raise InvalidMockConfig(
            [
                Problem(
                    "",
                    "DURABLE_STORE",
                    "test cases run on an engine without a durable store (mocks are not stored)",
                )
            ]
        )
    if config is None:
        raise InvalidMockConfig(
            [
                Problem(
                    "",
                    "NO_MOCK_CONFIG",
                    f"test case '{test_case}' was asked for, but no mock configuration was given",
                )
            ]
        )
    return MockSession(MockConfig.load(config).test_case(state_machine, test_case))


def split_test_case(state_machine_arn: str) -> tuple[str, str | None]:
    """Split StartExecution's ``stateMachineArn#TestCase`` the way Step Functions Local reads it.

    ``arn:aws:states:us-east-1:123456789012:stateMachine:LambdaSQSIntegration#HappyPath`` →
    (``arn:...:stateMachine:LambdaSQSIntegration``, ``HappyPath``); an ARN without ``#`` → (the ARN, None).
    Pass the test case to ``Engine.start(..., test_case=...)`` with the machine's name.
    """
    arn, sep, test_case = state_machine_arn.partition("#")
    return arn, (test_case if sep else None)


__all__ = [
    "FIELD_VALIDATION_MODES",
    "INSPECTION_LEVELS",
    "InvalidMockConfig",
    "MockConfig",
    "MockSession",
    "MockTestCase",
    "MockedOutcome",
    "MockedResponse",
    "MockedTask",
    "ResultModels",
    "StateConfiguration",
    "TestStateResult",
    "TestStateValidation",
    "compile_with_mocks",
    "mock_session",
    "parse_mock_config",
    "run_test_state",
    "split_test_case",
    "unserved_tasks",
    "walk_states",
]
