"""The polling benchmarks' code path, run tiny so it cannot rot (nothing here is timed).

A three-Job runJob.sync run and a one-cluster EKS run go through the same
functions as the real benchmarks: simulator process, counted sessions, the
engine, the records and the plots. The assertions are about shape and
bookkeeping (every execution completed, every request counted), never speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from benchmarks import eks_polling, plot, polling
from benchmarks.polling import CompressedAwsPolicy, RunConfig, build_policy, kube_request_kind
from executors.eks.polling import AwsPollPolicy

CONTRACT_FIELDS = (
    "policy", "jobs", "completed", "failed", "p50_s", "p95_s", "p99_s", "max_s", "requests_per_job",
    "requests_per_s", "cpu_s", "rss_peak_mb", "bytes_per_waiting_execution", "wall_s", "requests_by_kind",
)  # fmt: skip


@pytest.fixture
def restored_environ() -> Iterator[None]:
    """The runs set the simulator's AWS variables in this process; put the environment back."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_compressed_aws_policy_divides_every_delay_of_the_aws_schedule() -> None:
    aws = AwsPollPolicy().delays()
    compressed = CompressedAwsPolicy(60).delays()
    assert [next(compressed) for _ in range(16)] == [next(aws) / 60 for _ in range(16)]
    assert build_policy("aws").name == "aws/60"
    assert build_policy("aws/10").name == "aws/10"


def test_a_bad_policy_spec_is_rejected_with_a_message() -> None:
    with pytest.raises(ValueError, match="aws/F"):
        build_policy("aws/fast")
    with pytest.raises(ValueError, match="unknown poll policy"):
        build_policy("sometimes")


def test_request_kinds_name_the_kubernetes_calls_a_wait_makes() -> None:
    jobs = "/apis/batch/v1/namespaces/default/jobs"
    assert kube_request_kind("POST", jobs, {}) == "create_job"
    assert kube_request_kind("GET", f"{jobs}/j-1", {}) == "get_job"
    assert kube_request_kind("GET", jobs, {"labelSelector": "a=b"}) == "list_jobs"
    assert kube_request_kind("GET", jobs, {"watch": "1"}) == "watch_jobs"
    assert kube_request_kind("GET", "/api/v1/namespaces/default/pods/p/log", {}) == "read_log"
    assert kube_request_kind("DELETE", f"{jobs}/j-1", {}) == "delete_job"


def test_the_max_mode_stops_at_a_failure_an_unfinished_execution_or_a_slow_p99() -> None:
    fine = {"failed": 0, "unfinished": 0, "p99_s": 1.0}
    assert not polling.degraded(fine, 5.0)
    assert polling.degraded({**fine, "failed": 1}, 5.0)
    assert polling.degraded({**fine, "unfinished": 2}, 5.0)
    assert polling.degraded({**fine, "p99_s": 5.5}, 5.0)


def test_the_median_table_has_one_row_per_policy_and_n_with_medians_over_runs() -> None:
    runs = [
        {"name": "polling.runJob", "policy": "watch", "jobs": 10, "completed": 10, "p50_s": value}
        for value in (0.1, 0.3, 0.2)
    ]
    table = plot.median_table([*runs, {**runs[0], "faults": True}]).splitlines()
    assert table[0].startswith("| benchmark | policy | N | runs | completed | p50_s |")
    assert table[2] == "| polling.runJob | watch | 10 | 3 | 10/10 | 0.2 |"
    assert table[3] == "| polling.runJob | watch +faults | 10 | 1 | 10/10 | 0.1 |"


def test_the_command_line_refuses_bad_numbers_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        polling.main(["--jobs", "0", "--policy", "fixed:1"])
    assert stopped.value.code == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err


async def test_a_tiny_run_job_run_completes_every_execution_and_plots(
    tmp_path: Path, restored_environ: None
) -> None:
    config = RunConfig(3, "fixed:0.2", seed=7, min_seconds=0.2, max_seconds=0.4, pin=False, timeout=60)
    record = await polling.run_job_benchmark(config)
    for field in CONTRACT_FIELDS:
        assert field in record, field
    assert (record["completed"], record["failed"], record["unfinished"]) == (3, 0, 0)
    assert record["latency_samples"] == 3
    assert record["requests_by_kind"]["create_job"] == 3
    assert record["requests_by_kind"]["get_job"] >= 3
    assert record["requests"] == sum(record["requests_by_kind"].values())
    assert 0 <= record["p50_s"] <= record["p99_s"] <= record["max_s"]

    results = tmp_path / "run.jsonl"
    results.write_bytes(orjson.dumps(record) + b"\n" + orjson.dumps({"name": "not-polling"}) + b"\n")
    pngs = plot.plot_file(results)
    assert len(pngs) == 6
    assert all(png.exists() and png.stat().st_size > 0 for png in pngs)


async def test_a_tiny_kill_server_run_reports_every_execution_ended_right(restored_environ: None) -> None:
    config = RunConfig(
        20, "watch", seed=5, min_seconds=0.5, max_seconds=2.0, pin=False, timeout=90, kill_server=True
    )
    record = await polling.run_job_benchmark(config)
    assert (record["right"], record["wrong"], record["still_waiting"]) == (20, 0, 0), record["wrong_errors"]
    assert record["kill_server"] is True
    assert set(record["errors"]) <= {"EKS.404"}  # Jobs the restarted server no longer has


async def test_the_memory_probe_measures_with_every_execution_waiting(restored_environ: None) -> None:
    # A 0.6 s settle and a 1.2 s steady window (5 s by default): two polls of each execution, enough for the kinds.
    config = RunConfig(
        3, "fixed:0.5", seed=3, pin=False, timeout=60, hold=True, settle_seconds=0.6, steady_seconds=1.2
    )
    record = await polling.memory_probe(config)
    assert (record["waiting"], record["ended_early"]) == (3, 0)
    assert record["memory_method"] == "rss_delta_all_waiting"
    assert isinstance(record["bytes_per_waiting_execution"], int)
    assert set(record["steady_requests_by_kind"]) <= {"get_job"}


async def test_a_tiny_eks_run_waits_on_a_cluster_then_its_node_groups(restored_environ: None) -> None:
    config = eks_polling.EksConfig(
        RunConfig(2, "fixed:0.2", pin=False, timeout=60), clusters=1, time_factor=0.001
    )
    clusters, nodegroups = await eks_polling.eks_benchmark(config)
    assert (clusters["completed"], nodegroups["completed"]) == (1, 2)
    assert clusters["requests_by_kind"]["CreateCluster"] == 1
    assert nodegroups["requests_by_kind"]["CreateNodegroup"] == 2
    assert nodegroups["requests_by_kind"]["DescribeNodegroup"] >= 2
    assert nodegroups["latency_samples"] == 2


def test_plot_reports_a_results_file_that_is_not_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    assert plot.main([str(broken)]) == 2
    assert "broken.jsonl:1" in capsys.readouterr().err


def test_eks_polling_command_runs_each_configuration_in_a_child(tmp_path: Path) -> None:
    # The parent re-runs itself with --single and the arguments of benchmarks.polling.child_argv.
    out = tmp_path / "eks.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.eks_polling", "--jobs", "2", "--policy", "fixed:0.5",
         "--time-factor", "0.001", "--clusters", "1", "--no-pin", "--out", str(out)],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["name"], r["completed"]) for r in records] == [
        ("eks_polling.createCluster", 1),
        ("eks_polling.createNodegroup", 2),
    ]
