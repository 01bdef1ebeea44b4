"""The pytest plugin, exercised by real pytest runs (``pytester``, in subprocesses).

Each run is a fresh interpreter that finds the plugin through its ``pytest11``
entry point, as a user's project would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DATA = Path(__file__).parents[1] / "engine" / "testing" / "data"

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
statewright_mock_config = MockConfigFile.json
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    shutil.copy(DATA / "MockConfigFile.json", pytester.path / "MockConfigFile.json")
    shutil.copy(DATA / "LambdaSQSIntegration.json", pytester.path / "LambdaSQSIntegration.json")
    return pytester


def test_a_users_test_of_a_definition_is_a_few_lines(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_machine="""
        import time
        from pathlib import Path
        from statewright.testing import assert_states_visited

        DEFINITION = Path(__file__).with_name("LambdaSQSIntegration.json").read_text()

        async def test_retry_path(statewright_engine):
            started = time.monotonic()
            result = await statewright_engine.run(
                DEFINITION, {}, state_machine_name="LambdaSQSIntegration", test_case="RetryPath"
            )
            assert result.status == "SUCCEEDED"
            assert_states_visited(result, ["LambdaState", "SQSState"], exact=True)
            stamps = [e.timestamp for e in result.history if e.type == "TaskScheduled"]
            assert round(stamps[3] - stamps[0], 3) == 14.0   # 2 + 4 + 8 s of back-off, in virtual time
            assert time.monotonic() - started < 5

        async def test_wrong_order_fails(statewright_engine):
            result = await statewright_engine.run(
                DEFINITION, {}, state_machine_name="LambdaSQSIntegration", test_case="HappyPath"
            )
            assert_states_visited(result, ["SQSState", "LambdaState"])
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert "do not include ['SQSState', 'LambdaState'] in that order" in result.stdout.str()


def test_the_error_caught_assertion_names_what_happened(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_catch="""
        from statewright.testing import assert_error_caught

        DEFINITION = {
            "StartAt": "T",
            "States": {
                "T": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                      "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}], "End": True},
                "Handled": {"Type": "Pass", "End": True},
            },
        }
        CONFIG = {
            "StateMachines": {"M": {"TestCases": {"Boom": {"T": "Boom"}}}},
            "MockedResponses": {"Boom": {"0": {"Throw": {"Error": "SNS.Down", "Cause": "x"}}}},
        }

        import pytest

        @pytest.fixture
        def statewright_mock_config():
            return CONFIG

        async def test_caught(statewright_engine):
            result = await statewright_engine.run(DEFINITION, {}, state_machine_name="M", test_case="Boom")
            assert_error_caught(result, "T", "SNS.Down", next_state="Handled")

        async def test_not_that_error(statewright_engine):
            result = await statewright_engine.run(DEFINITION, {}, state_machine_name="M", test_case="Boom")
            assert_error_caught(result, "T", "SNS.Other")
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert "no SNS.Other was caught in state 'T' (errors caught there: ['SNS.Down']" in result.stdout.str()


def test_real_time_can_be_chosen_and_the_simulators_fixture_points_boto3_at_them(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_sims="""
        import os

        import pytest

        @pytest.fixture
        def statewright_virtual_time():
            return False

        async def test_simulators(statewright_simulators, statewright_engine):
            assert os.environ["AWS_ENDPOINT_URL_EKS"] == statewright_simulators.eks_url
            create = {"StartAt": "C", "States": {"C": {"Type": "Task",
                      "Resource": "arn:aws:states:::eks:createCluster",
                      "Parameters": {"Name": "from-test", "RoleArn": "arn:aws:iam::123456789012:role/R",
                                     "ResourcesVpcConfig": {"SubnetIds": ["subnet-1", "subnet-2"]}},
                      "End": True}}}
            result = await statewright_engine.run(create, {})
            assert result.status == "SUCCEEDED", result.cause
            assert result.output["Cluster"]["Name"] == "from-test"
            assert statewright_simulators.eks.cluster_status("from-test") is not None
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
