"""Draw the polling benchmarks' figures from their JSON lines.

    python -m benchmarks.plot RESULTS.jsonl [MORE.jsonl …]
    python -m benchmarks.plot --table RESULTS.jsonl [MORE.jsonl …]   # medians as Markdown

For every benchmark name found in a file (``polling.runJob``,
``eks_polling.createCluster``, ``eks_polling.createNodegroup``), PNGs are saved
next to it, named ``<file stem>.<benchmark name>.<figure>.png``:

* ``latency`` — detection latency p50 / p95 / p99 / max by policy, against N;
* ``requests_per_job`` — API requests per job, stacked by kind, per (policy, N);
* ``requests_per_s`` — API requests per second sent, against N;
* ``cpu_rss`` — engine CPU seconds and peak RSS, against N;
* ``bytes_per_waiting`` — memory per waiting execution, against N;
* ``wall`` — wall time of the run, against N.

A figure whose field no record of a benchmark carries is not drawn (the memory
probe, ``polling.memory``, gets only ``bytes_per_waiting``).

A series is a policy, with `` +faults`` for fault runs; several runs of the
same series and N are drawn as their median. Lines of other benchmarks in the
file (those without ``policy`` and ``jobs``) are ignored.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import orjson
from matplotlib.axes import Axes

Record = Mapping[str, Any]
PERCENTILES: Final = (("p50_s", "-", "o"), ("p95_s", "--", "^"), ("p99_s", ":", "s"), ("max_s", "-.", "x"))


def load(path: Path) -> list[Record]:
    """The JSON-line records of a results file that describe a polling run.

    Raises:
        ValueError: a line is not JSON (with its line number).
    """
    records: list[Record] = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not a JSON line ({exc})") from None
        if isinstance(record, dict) and "policy" in record and "jobs" in record:
            records.append(record)
    return records


def series_name(record: Record) -> str:
    """The legend entry of a record: its policy, plus ``+faults`` / ``+tracemalloc`` where they apply."""
    traced = " +tracemalloc" if record.get("traced_bytes_per_waiting_execution") is not None else ""
    return f"{record['policy']}{' +faults' if record.get('faults') else ''}{traced}"


def by_series(
    records: Iterable[Record], value: Callable[[Record], float | None]
) -> dict[str, list[tuple[int, float]]]:
    """Series name → sorted (N, median value) points, skipping records without a value."""
    grouped: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        found = value(record)
        if found is not None:
            grouped[series_name(record)][int(record["jobs"])].append(float(found))
    return {
        name: sorted((n, statistics.median(values)) for n, values in points.items())
        for name, points in sorted(grouped.items())
    }


def _field(key: str) -> Callable[[Record], float | None]:
    def get(record: Record) -> float | None:
        value = record.get(key)
        return float(value) if isinstance(value, int | float) else None

    return get


def _axes_vs_n(ax: Axes, title: str, ylabel: str, *, log_y: bool = False) -> None:
    ax.set_title(title)
    ax.set_xlabel("concurrent executions N")
    ax.set_ylabel(ylabel)
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)


def _lines(ax: Axes, series: Mapping[str, list[tuple[int, float]]], **style: Any) -> None:
    for name, points in series.items():
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], label=name, **style)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency(records: list[Record], path: Path, title: str) -> Path:
    """Detection latency percentiles by policy against N (one panel per percentile)."""
    fig, axes = plt.subplots(1, len(PERCENTILES), figsize=(4.2 * len(PERCENTILES), 4.2), sharey=True)
    for ax, (key, _style, marker) in zip(axes, PERCENTILES, strict=True):
        _lines(ax, by_series(records, _field(key)), marker=marker)
        _axes_vs_n(ax, f"{title}: {key.removesuffix('_s')}", "seconds from finish to detection", log_y=True)
    axes[0].legend(fontsize=8)
    return _save(fig, path)


def plot_requests_per_job(records: list[Record], path: Path, title: str) -> Path:
    """API requests per job, stacked by kind, one bar per (policy, N)."""
    bars: dict[tuple[str, int], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    kinds: set[str] = set()
    for record in records:
        by_kind = record.get("requests_by_kind") or {}
        jobs = int(record["jobs"])
        for kind, count in by_kind.items():
            bars[(series_name(record), jobs)][kind].append(count / jobs)
            kinds.add(kind)
    labels = sorted(bars, key=lambda key: (key[0], key[1]))
    ordered_kinds = sorted(kinds)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(labels) + 2), 4.8))
    bottoms = [0.0] * len(labels)
    for kind in ordered_kinds:
        heights = [statistics.median(bars[label].get(kind, [0.0])) for label in labels]
        ax.bar(range(len(labels)), heights, bottom=bottoms, label=kind)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    ax.set_xticks(range(len(labels)), [f"{name}\nN={jobs}" for name, jobs in labels], rotation=60, fontsize=7)
    ax.set_ylabel("requests per job")
    ax.set_yscale("log" if bottoms and max(bottoms) > 50 * max(min(bottoms), 1e-9) else "linear")
    ax.set_title(f"{title}: API requests per job by kind")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)


def plot_single(records: list[Record], path: Path, title: str, key: str, ylabel: str, log_y: bool) -> Path:
    """One value against N, a line per series."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    _lines(ax, by_series(records, _field(key)), marker="o")
    _axes_vs_n(ax, title, ylabel, log_y=log_y)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_cpu_rss(records: list[Record], path: Path, title: str) -> Path:
    """Engine CPU seconds and peak RSS against N."""
    fig, (cpu, rss) = plt.subplots(1, 2, figsize=(11, 4.4))
    _lines(cpu, by_series(records, _field("cpu_s")), marker="o")
    _axes_vs_n(cpu, f"{title}: engine CPU", "CPU seconds", log_y=True)
    _lines(rss, by_series(records, _field("rss_peak_mb")), marker="o")
    _axes_vs_n(rss, f"{title}: engine peak RSS", "MiB")
    cpu.legend(fontsize=8)
    return _save(fig, path)


def plot_group(group: list[Record], name: str, stem: Path) -> list[Path]:
    """Every figure of one benchmark's records, saved as ``<stem>.<name>.<figure>.png``."""

    def out(figure: str) -> Path:
        return stem.parent / f"{stem.name}.{name}.{figure}.png"

    figures: list[tuple[str, Callable[[], Path]]] = [
        ("p50_s", lambda: plot_latency(group, out("latency"), name)),
        ("requests_by_kind", lambda: plot_requests_per_job(group, out("requests_per_job"), name)),
        (
            "requests_per_s",
            lambda: plot_single(
                group, out("requests_per_s"), f"{name}: API requests per second", "requests_per_s",
                "requests / s", True,
            ),
        ),
        ("cpu_s", lambda: plot_cpu_rss(group, out("cpu_rss"), name)),
        (
            "bytes_per_waiting_execution",
            lambda: plot_single(
                group, out("bytes_per_waiting"), f"{name}: memory per waiting execution",
                "bytes_per_waiting_execution", "bytes per execution in flight", True,
            ),
        ),
        ("wall_s", lambda: plot_single(group, out("wall"), f"{name}: wall time", "wall_s", "seconds", False)),
    ]  # fmt: skip
    # A figure is drawn only when some record carries its field (the memory probe
    # has no latency or wall time, for instance).
    return [draw() for key, draw in figures if any(key in record for record in group)]


def plot_file(path: Path) -> list[Path]:
    """Draw every figure for every benchmark in ``path``; return the PNG paths."""
    groups: dict[str, list[Record]] = defaultdict(list)
    for record in load(path):
        groups[str(record.get("name", "polling"))].append(record)
    written: list[Path] = []
    for name, group in sorted(groups.items()):
        written += plot_group(group, name, path.with_suffix(""))
    return written


TABLE_FIELDS: Final = (
    "p50_s", "p99_s", "max_s", "requests_per_job", "status_requests_per_job", "requests_per_s", "cpu_s",
    "rss_peak_mb", "bytes_per_waiting_execution", "wall_s",
)  # fmt: skip


def median_table(records: Iterable[Record]) -> str:
    """A Markdown table: one row per (benchmark, policy, faults, N), the median of each field over runs."""
    rows: dict[tuple[str, str, int], list[Record]] = defaultdict(list)
    for record in records:
        rows[(str(record.get("name", "")), series_name(record), int(record["jobs"]))].append(record)
    fields = [f for f in TABLE_FIELDS if any(f in r for group in rows.values() for r in group)]
    lines = [
        "| benchmark | policy | N | runs | completed | " + " | ".join(fields) + " |",
        "|---" * (len(fields) + 5) + "|",
    ]
    for (name, series, jobs), group in sorted(rows.items()):
        cells = []
        for key in fields:
            values = [float(r[key]) for r in group if isinstance(r.get(key), int | float)]
            cells.append(f"{statistics.median(values):.4g}" if values else "")
        done = [int(r["completed"]) for r in group if "completed" in r]
        completed = f"{min(done)}/{jobs}" if done else ""
        lines.append(
            f"| {name} | {series} | {jobs} | {len(group)} | {completed} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.plot``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plot", description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="JSON-lines files written by the benchmarks")
    parser.add_argument("--table", action="store_true", help="print a Markdown table of medians, no plots")
    args = parser.parse_args(argv)
    if args.table:
        try:
            print(median_table([r for path in args.results for r in load(path)]))
        except (OSError, ValueError) as exc:
            print(f"benchmarks.plot: {exc}", file=sys.stderr)
            return 2
        return 0
    for path in args.results:
        try:
            written = plot_file(path)
        except (OSError, ValueError) as exc:
            print(f"benchmarks.plot: {exc}", file=sys.stderr)
            return 2
        if not written:
            print(f"benchmarks.plot: {path} has no polling records", file=sys.stderr)
            return 2
        for png in written:
            print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
