"""runJob pieces that need no API server: parameter checks, log parsing, pod selection, outcomes."""

from __future__ import annotations

import pytest

from engine.executor import IntegrationPattern, ParameterReading, StaticParameters
from executors.eks.jobs import JobRef, job_outcome, pod_selector
from executors.eks.run_job import LogOptions, check_parameters, parse_log


def test_definition_time_checks_report_each_problem_with_its_location() -> None:
    problems = check_parameters(
        IntegrationPattern.SYNC,
        StaticParameters(
            known={
                "ClusterName": 5,
                "Job": {"kind": "Job"},
                "LogOptions": {"RawLogs": 1, "RetrieveLogs.$": "$.x"},
                "Nope": True,
            },
            dynamic=frozenset({"Endpoint"}),
        ),
    )
    assert sorted(p.path for p in problems) == [
        ("CertificateAuthority",),
        ("ClusterName",),
        ("LogOptions", "RawLogs"),
        ("Nope",),
    ]
    assert check_parameters(IntegrationPattern.SYNC, StaticParameters(known={}, dynamic=None)) == []


def test_logs_are_parsed_only_when_the_whole_text_is_one_json_document() -> None:
    assert parse_log(' {"a": 1}\n') == {"a": 1}
    assert parse_log("3.14\n") == 3.14
    assert parse_log('{"a": 1}\n{"a": 2}\n') == '{"a": 1}\n{"a": 2}\n'
    assert parse_log("NaN") == "NaN"
    assert parse_log("") == ""
    assert parse_log("123456789012345678901234567890") == pytest.approx(1.2345678901234568e29)


def test_pods_are_selected_by_the_jobs_own_selector_then_its_uid() -> None:
    with_selector = {
        "metadata": {"name": "j", "uid": "u"},
        "spec": {
            "selector": {
                "matchLabels": {"batch.kubernetes.io/controller-uid": "u"},
                "matchExpressions": [
                    {"key": "k", "operator": "In", "values": ["a", "b"]},
                    {"key": "z", "operator": "DoesNotExist"},
                ],
            }
        },
    }
    assert pod_selector(with_selector) == "batch.kubernetes.io/controller-uid=u,k in (a,b),!z"
    assert pod_selector({"metadata": {"name": "j", "uid": "u"}}) == "controller-uid=u"
    assert pod_selector({"metadata": {"name": "j"}}) == "job-name=j"


def test_only_complete_or_failed_with_status_true_ends_the_wait() -> None:
    def with_conditions(*conditions: tuple[str, str]) -> dict[str, object]:
        return {"status": {"conditions": [{"type": t, "status": s} for t, s in conditions]}}

    assert job_outcome({}) is None
    assert job_outcome(with_conditions(("SuccessCriteriaMet", "True"))) is None
    assert job_outcome(with_conditions(("FailureTarget", "True"))) is None
    assert job_outcome(with_conditions(("Complete", "False"))) is None
    assert job_outcome(with_conditions(("SuccessCriteriaMet", "True"), ("Complete", "True"))) == "Complete"
    assert job_outcome(with_conditions(("FailureTarget", "True"), ("Failed", "True"))) == "Failed"


def test_a_handle_is_used_only_when_it_is_a_runjob_handle_of_the_same_pattern() -> None:
    ref = JobRef("default", "pi", "u-1")
    assert JobRef.from_handle(ref.handle("runJob.sync"), "runJob.sync") == ref
    assert JobRef.from_handle(ref.handle("runJob"), "runJob.sync") is None
    assert JobRef.from_handle({"resource": "runJob.sync", "name": 3}, "runJob.sync") is None
    assert JobRef.from_handle(None, "runJob.sync") is None


def test_log_options_default_to_no_logs() -> None:
    assert LogOptions.from_parameter(None) == LogOptions(retrieve=False, raw=False, parameters={})
    options = LogOptions.from_parameter({"RetrieveLogs": True, "LogParameters": {"tailLines": ["6"]}})
    assert options.retrieve and not options.raw and options.parameters == {"tailLines": ["6"]}


def test_a_literal_job_string_that_is_not_a_json_object_is_reported() -> None:
    problems = check_parameters(
        IntegrationPattern.REQUEST_RESPONSE,
        StaticParameters(
            known={
                "ClusterName": "c",
                "CertificateAuthority": "x",
                "Endpoint": "https://e",
                "Job": "apiVersion: v1",
            },
            dynamic=frozenset(),
        ),
    )
    assert [p.path for p in problems] == [("Job",)]
    assert (
        check_parameters(
            IntegrationPattern.SYNC,
            StaticParameters(
                known={
                    "ClusterName": "c",
                    "CertificateAuthority": "x",
                    "Endpoint": "https://e",
                    "Job": '{"kind": "Job"}',
                    "LogOptions": {"RetrieveLogs": "{% $x %}"},
                },
                dynamic=frozenset(),
                reading=ParameterReading.JSONATA,
            ),
        )
        == []
    )
