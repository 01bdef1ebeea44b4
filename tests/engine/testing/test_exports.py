"""``engine.testing``'s surface, pinned like the packages' in ``tests/engine/test_exported_members.py``."""

from __future__ import annotations

import engine.testing

EXPECTED = {
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
}


def test_all_lists_exactly_the_supported_names() -> None:
    assert set(engine.testing.__all__) == EXPECTED
    assert len(engine.testing.__all__) == len(EXPECTED)
    assert all(hasattr(engine.testing, name) for name in engine.testing.__all__)
