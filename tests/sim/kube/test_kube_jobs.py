"""The Job controller: pods, counts, conditions in Kubernetes ≥ 1.31 order, backoff, deadline, TTL."""

from __future__ import annotations

import asyncio

from kube_support import Request, job_condition, job_manifest, wait_for

from sim.kube import KubeSimulator
from sim.kube.jobs import INDEX_KEY, compress_indexes

JOBS = "/apis/batch/v1/namespaces/default/jobs"


def job(kube: KubeSimulator, name: str) -> dict:  # type: ignore[type-arg]
    return kube.store.get("batch", "jobs", "default", name) or {}


def pods_of(kube: KubeSimulator, name: str) -> list[dict]:  # type: ignore[type-arg]
    return [
        p
        for p in kube.store.objects("", "pods", "default")
        if p["metadata"]["labels"].get("job-name") == name
    ]


async def test_a_job_creates_a_labelled_owned_pod_and_completes(api: Request, kube: KubeSimulator) -> None:
    created = (await api("POST", JOBS, json=job_manifest("ok", seconds=0.05))).json
    uid = created["metadata"]["uid"]

    await wait_for(lambda: job_condition(kube, "ok", "Complete"))

    status = job(kube, "ok")["status"]
    assert [c["type"] for c in status["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert all(c["reason"] == "CompletionsReached" for c in status["conditions"])
    assert status["conditions"][1]["message"] == "Reached expected number of succeeded pods"
    assert status["succeeded"] == 1 and "failed" not in status and "active" not in status
    assert status["startTime"] and status["completionTime"]
    assert status["ready"] == 0 and status["terminating"] == 0
    [pod] = pods_of(kube, "ok")
    assert pod["metadata"]["labels"] == {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "ok",
        "controller-uid": uid,
        "job-name": "ok",
    }
    assert pod["metadata"]["ownerReferences"][0]["uid"] == uid
    assert pod["metadata"]["name"].startswith("ok-")
    assert pod["status"]["phase"] == "Succeeded"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0 and terminated["reason"] == "Completed"


async def test_a_running_job_reports_active_and_ready(api: Request, kube: KubeSimulator) -> None:
    await api("POST", JOBS, json=job_manifest("busy", seconds=30))

    await wait_for(lambda: job(kube, "busy").get("status", {}).get("ready") == 1)

    status = job(kube, "busy")["status"]
    assert status["active"] == 1
    assert "conditions" not in status
    assert pods_of(kube, "busy")[0]["status"]["phase"] == "Running"


async def test_a_job_whose_container_exits_non_zero_with_backoff_limit_zero_fails_with_backoff_limit_exceeded(
    api: Request, kube: KubeSimulator
) -> None:
    await api("POST", JOBS, json=job_manifest("bad", seconds=0.05, exit_code=3, backoff_limit=0))

    failed = await wait_for(lambda: job_condition(kube, "bad", "Failed"))

    status = job(kube, "bad")["status"]
    assert [c["type"] for c in status["conditions"]] == ["FailureTarget", "Failed"]
    assert failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert status["failed"] == 1
    assert "completionTime" not in status
    assert job_condition(kube, "bad", "Complete") is None
    [pod] = pods_of(kube, "bad")
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3


async def test_failed_pods_are_replaced_until_the_backoff_limit_is_passed(
    api: Request, kube: KubeSimulator
) -> None:
    await api("POST", JOBS, json=job_manifest("retry", seconds=0.02, exit_code=1, backoff_limit=2))

    await wait_for(lambda: job_condition(kube, "retry", "Failed"))

    assert job(kube, "retry")["status"]["failed"] == 3
    assert len(pods_of(kube, "retry")) == 3


async def test_a_job_past_its_active_deadline_fails_with_deadline_exceeded(
    api: Request, kube: KubeSimulator
) -> None:
    await api("POST", JOBS, json=job_manifest("slow", seconds=60, activeDeadlineSeconds=1))

    failed = await wait_for(lambda: job_condition(kube, "slow", "Failed"), timeout=5)

    assert failed["reason"] == "DeadlineExceeded"
    assert failed["message"] == "Job was active longer than specified deadline"
    status = job(kube, "slow")["status"]
    assert "active" not in status and status["terminating"] == 0
    assert status["failed"] == 1
    assert pods_of(kube, "slow") == []


async def test_completions_and_parallelism_run_pods_in_waves(api: Request, kube: KubeSimulator) -> None:
    await api("POST", JOBS, json=job_manifest("waves", seconds=0.1, completions=4, parallelism=2))

    await wait_for(lambda: job(kube, "waves").get("status", {}).get("active") == 2)
    await wait_for(lambda: job_condition(kube, "waves", "Complete"))

    assert job(kube, "waves")["status"]["succeeded"] == 4
    assert len(pods_of(kube, "waves")) == 4


async def test_ttl_seconds_after_finished_deletes_the_job_and_its_pods(
    api: Request, kube: KubeSimulator
) -> None:
    created = await api("POST", JOBS, json=job_manifest("short", seconds=0.02, ttlSecondsAfterFinished=0))
    assert created.status == 201 and created.json["spec"]["ttlSecondsAfterFinished"] == 0

    await wait_for(lambda: not job(kube, "short") and not pods_of(kube, "short"))


async def test_on_failure_restarts_the_container_in_place_and_counts_toward_the_backoff_limit(
    api: Request, kube: KubeSimulator
) -> None:
    await api(
        "POST",
        JOBS,
        json=job_manifest("flaky", seconds=0.02, exit_code=1, backoff_limit=1, restart_policy="OnFailure"),
    )

    failed = await wait_for(lambda: job_condition(kube, "flaky", "Failed"))

    assert failed["reason"] == "BackoffLimitExceeded"


async def test_a_defaulted_job_has_kubernetes_defaults(api: Request) -> None:
    created = (await api("POST", JOBS, json=job_manifest("defaults"))).json

    spec = created["spec"]
    assert spec["parallelism"] == 1 and spec["completions"] == 1
    assert spec["completionMode"] == "NonIndexed" and spec["suspend"] is False
    assert spec["selector"] == {
        "matchLabels": {"batch.kubernetes.io/controller-uid": created["metadata"]["uid"]}
    }
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] == 30
    assert created["metadata"]["labels"]["job-name"] == "defaults"


async def test_a_suspended_job_creates_no_pods(api: Request, kube: KubeSimulator) -> None:
    await api("POST", JOBS, json=job_manifest("paused", suspend=True))
    await asyncio.sleep(0.1)

    assert pods_of(kube, "paused") == []


async def test_ten_thousand_jobs_are_held_and_run_without_a_polling_loop(kube: KubeSimulator) -> None:
    jobs = kube.catalog.lookup("batch", "v1", "jobs")
    assert jobs is not None
    for index in range(10_000):
        kube.registry.create(jobs, "default", job_manifest(f"bulk-{index}", seconds=0.5))
    assert len(kube.store.objects("batch", "jobs", "default")) == 10_000

    await wait_for(
        lambda: all(job_condition(kube, f"bulk-{i}", "Complete") for i in (0, 5_000, 9_999)), timeout=60
    )

    pods = kube.store.table(kube.catalog.lookup("", "v1", "pods")).by_label  # type: ignore[arg-type]
    assert len(pods[("job-name", "bulk-9999")]) == 1


async def test_the_controller_records_events_that_describe_the_job(api: Request, kube: KubeSimulator) -> None:
    await api("POST", JOBS, json=job_manifest("told", seconds=0.02))
    await wait_for(lambda: job_condition(kube, "told", "Complete"))

    reply = await api("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dtold")

    reasons = [(e["type"], e["reason"]) for e in reply.json["items"]]
    assert sorted(reasons) == [("Normal", "Completed"), ("Normal", "SuccessfulCreate")]
    assert all(e["source"] == {"component": "job-controller"} for e in reply.json["items"])


async def test_an_indexed_job_runs_each_index_once_and_reports_completed_indexes(
    api: Request, kube: KubeSimulator
) -> None:
    await api(
        "POST",
        JOBS,
        json=job_manifest("idx", seconds=0.05, completionMode="Indexed", completions=3, parallelism=2),
    )

    await wait_for(lambda: job_condition(kube, "idx", "Complete"))

    status = job(kube, "idx")["status"]
    assert status["completedIndexes"] == "0-2"
    assert status["succeeded"] == 3
    pods = pods_of(kube, "idx")
    indexes = sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods)
    assert indexes == ["0", "1", "2"]
    assert all(p["metadata"]["name"].startswith(f"idx-{p['metadata']['labels'][INDEX_KEY]}-") for p in pods)
    env = pods[0]["spec"]["containers"][0]["env"]
    assert env[0]["name"] == "JOB_COMPLETION_INDEX"


def test_completed_indexes_are_compressed_into_ranges() -> None:
    assert compress_indexes({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert compress_indexes(set()) == ""


async def test_a_fail_job_pod_failure_policy_rule_fails_the_job_at_once(
    api: Request, kube: KubeSimulator
) -> None:
    policy = {
        "rules": [
            {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}}
        ]
    }
    await api(
        "POST",
        JOBS,
        json=job_manifest("policed", seconds=0.02, exit_code=42, backoff_limit=6, podFailurePolicy=policy),
    )

    failed = await wait_for(lambda: job_condition(kube, "policed", "Failed"))

    assert failed["reason"] == "PodFailurePolicy"
    assert failed["message"].startswith("Container main for pod default/policed-")
    assert failed["message"].endswith("failed with exit code 42 matching FailJob rule at index 0")
    assert job(kube, "policed")["status"]["failed"] == 1


async def test_an_ignore_rule_does_not_count_toward_the_backoff_limit(
    api: Request, kube: KubeSimulator
) -> None:
    policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [7]}}]}
    await api(
        "POST",
        JOBS,
        json=job_manifest("ignored", seconds=0.02, exit_code=7, backoff_limit=0, podFailurePolicy=policy),
    )

    await wait_for(lambda: len(pods_of(kube, "ignored")) >= 3)

    assert job_condition(kube, "ignored", "Failed") is None
    assert "failed" not in job(kube, "ignored")["status"]
    await api("DELETE", f"{JOBS}/ignored?propagationPolicy=Background")


async def test_a_pod_failure_policy_needs_restart_policy_never(api: Request) -> None:
    manifest = job_manifest(
        "onfail",
        restart_policy="OnFailure",
        podFailurePolicy={"rules": [{"action": "Count", "onExitCodes": {"operator": "In", "values": [1]}}]},
    )

    reply = await api("POST", JOBS, json=manifest)

    assert reply.status == 422
    assert 'only "Never" is supported when podFailurePolicy is specified' in reply.json["message"]


async def test_recorded_events_expire_after_the_event_ttl(api: Request, kube: KubeSimulator) -> None:
    assert kube.jobs is not None
    kube.jobs.event_ttl_seconds = 0.05
    await api("POST", JOBS, json=job_manifest("fleeting", seconds=0.01))
    await wait_for(lambda: job_condition(kube, "fleeting", "Complete"))

    await wait_for(lambda: kube.store.objects("", "events", "default") == [], timeout=3)
