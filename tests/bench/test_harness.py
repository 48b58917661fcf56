"""Tests for the benchmark harness (bench/bench_pools.py): it runs, and its output is well formed.

No test here asserts anything about speed: the figures only have to exist,
be positive, and be reported where they belong.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import bench_pools as bp

ROOT = Path(__file__).resolve().parents[2]


def test_every_subject_builds_and_round_trips_in_every_scenario_it_claims() -> None:
    """Each subject measures a few round trips with fake connections (sqlite3 for one)."""
    for name, subject in bp.SUBJECTS.items():
        for scenario in subject.scenarios:
            got = bp.measure(name, scenario, "fake", ops=16, reps=1)
            assert len(got["rates"]) == 1, (name, scenario)
            assert got["rates"][0] > 0
    got = bp.measure("ours:QueuePool", "8-overflow", "sqlite3", ops=16, reps=2)
    assert len(got["rates"]) == 2


def test_a_failing_worker_is_reported() -> None:
    """A round trip that raises in a worker thread is reported, naming the error."""

    def get() -> Any:
        raise OSError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        bp.time_round_trips((get, lambda c: None, lambda: None), 2, 8, 1)


def test_summary_ratios_and_targets() -> None:
    """Medians, spreads and ratios come from the runs; targets compare the right cells."""
    runs: dict[tuple[str, ...], dict[str, Any]] = {
        ("1-thread", "fake", "baseline:lock+deque"): {"rates": [100.0, 300.0, 200.0]},
        ("1-thread", "fake", "ours:QueuePool"): {"rates": [100.0, 120.0]},
        ("1-thread", "fake", "sqlalchemy:QueuePool"): {"rates": [10.0]},
        ("1-thread", "fake", "dbutils:PooledDB"): {"rates": [], "error": "boom"},
        ("8-on-cap-5", "fake", "baseline:barging"): {"rates": [50.0]},
        ("8-on-cap-5", "fake", "ours:Pool(barging)"): {"rates": [20.0]},
    }
    rows = {(r["scenario"], r["subject"]): r for r in bp.summarise(runs)}
    base = rows[("1-thread", "baseline:lock+deque")]
    assert (base["median"], base["min"], base["max"], base["ratio"]) == (200.0, 100.0, 300.0, 1.0)
    assert rows[("1-thread", "ours:QueuePool")]["ratio"] == pytest.approx(110 / 200)
    assert "median" not in rows[("1-thread", "dbutils:PooledDB")]
    assert rows[("8-on-cap-5", "ours:Pool(barging)")]["ratio_barging"] == pytest.approx(0.4)
    targets = {t["target"]: t for t in bp.check_targets(list(rows.values()), {})}
    sa = next(t for k, t in targets.items() if "5x sqlalchemy" in k)
    assert sa["ratio"] == pytest.approx(11.0)
    assert sa["met"] is True
    dbu = next(t for k, t in targets.items() if "2x dbutils" in k)
    assert dbu["met"] is None  # not measured: the cell failed
    barging = next(t for k, t in targets.items() if "0.5x baseline:barging" in k)
    assert barging["met"] is False
    memory = next(t for k, t in targets.items() if k.startswith("memory: ours:QueuePool"))
    assert memory["met"] is None


def test_a_target_measured_in_pairs_is_judged_on_the_median_of_its_pairs() -> None:
    """Paired runs override the tables' medians; the pair ratios and the cells' ratio are kept."""
    runs: dict[tuple[str, ...], dict[str, Any]] = {
        ("8-on-cap-5", "fake", "baseline:lock+deque"): {"rates": [100.0], "cpu_us": [40.0]},
        ("8-on-cap-5", "fake", "ours:QueuePool"): {"rates": [50.0], "cpu_us": [80.0]},
    }
    rows = bp.summarise(runs)

    def run(rate: float, cpu: float) -> dict[str, Any]:
        return {"rates": [rate, rate * 3, rate * 2], "cpu_us": [cpu, cpu, cpu * 9]}

    # three pairs: the machine's speed drifts between them, the ratios do not much
    pairs = [(run(110, 40), run(100, 44)), (run(30, 30), run(25, 33)), (run(190, 20), run(200, 20))]
    paired = bp.paired_ratio(pairs)
    assert paired["ratios"] == pytest.approx([1.1, 1.2, 0.95])
    assert paired["ratio"] == pytest.approx(1.1)
    assert paired["ratio_cpu"] == pytest.approx(1.1)
    assert paired["pairs"] == 3
    label = next(t[0] for t in bp.TARGETS if "ours:QueuePool >= 1x" in t[0])
    targets = {t["target"]: t for t in bp.check_targets(rows, {}, {label: paired})}
    judged = targets[label]
    assert judged["ratio"] == pytest.approx(1.1)
    assert judged["met"] is True  # on the pairs, though the tables' medians say 0.5x
    assert judged["cells_ratio"] == pytest.approx(0.5)
    assert judged["pairs"] == 3
    engine = next(v for k, v in targets.items() if "ours:Pool(fifo) >= 1x" in k)
    assert "pairs" not in engine  # not paired: judged on the tables (here: not measured)
    assert engine["met"] is None
    assert bp.paired_ratio([])["ratio"] is None
    text = bp.markdown(
        {
            "command": "python bench/bench_pools.py",
            "date": "today",
            "machine": {"cpu": "a CPU", "cpus": 2, "python": "CPython 3.11", "platform": "Linux",
                        "libraries": {}, "load_average": (0.5, 0.5, 0.5)},
            "settings": {"rounds": 1, "reps": 1, "pairs": 3},
            "rows": rows,
            "memory": {},
            "targets": list(targets.values()),
            "model": {},
        }
    )  # fmt: skip
    assert "1.10x, median of 3 pairs (0.95..1.20)" in text
    assert "tables' medians: 0.50x" in text


def test_tiny_run_writes_json_and_markdown(tmp_path: Path) -> None:
    """A tiny run in fresh processes writes a JSON report and a Markdown one, progress on stderr."""
    out_json, out_md = tmp_path / "bench.json", tmp_path / "BENCHMARKS.md"
    args = [
        "--quick", "--rounds", "1", "--reps", "1", "--scale", "0.01",
        "--scenario", "1-thread", "--scenario", "8-on-cap-5", "--driver", "fake",
        "--subject", "baseline:lock", "--subject", "baseline:barging",
        "--subject", "ours:QueuePool", "--subject", "ours:Pool(barging)",
        "--pairs", "1", "--no-model", "--json", str(out_json), "--write", str(out_md),
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_pools.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "[1/" in done.stderr  # progress
    result = json.loads(out_json.read_text(encoding="utf-8"))
    assert set(result) >= {"command", "machine", "rows", "memory", "targets", "settings"}
    assert result["machine"]["python"].startswith("CPython 3.")
    assert {"SQLAlchemy", "DBUtils", "psycopg-pool"} <= set(result["machine"]["libraries"])
    cells = {(r["scenario"], r["subject"]) for r in result["rows"]}
    assert cells == {
        ("1-thread", "baseline:lock+deque"),
        ("1-thread", "baseline:lock+deque+handle"),
        ("1-thread", "ours:QueuePool"),
        ("8-on-cap-5", "baseline:lock+deque"),
        ("8-on-cap-5", "baseline:lock+deque+handle"),
        ("8-on-cap-5", "baseline:barging"),
        ("8-on-cap-5", "ours:QueuePool"),
        ("8-on-cap-5", "ours:Pool(barging)"),
    }
    for row in result["rows"]:
        assert row["error"] is None
        assert row["median"] > 0
        assert row["min"] <= row["median"] <= row["max"]
        assert row["ratio"] > 0
    assert set(result["memory"]) == {
        "baseline:lock+deque",
        "baseline:lock+deque+handle",
        "ours:QueuePool",
    }
    assert any(t["met"] is not None for t in result["targets"])
    # every target whose two pools ran was measured in one pair as well
    paired = {t["target"] for t in result["targets"] if t.get("pairs") == 1}
    assert paired == {
        "1 thread: ours:QueuePool >= 0.5x baseline:lock+deque",
        "8 on cap 5, FIFO: ours:QueuePool >= 1x baseline:lock+deque (FIFO hand-off)",
        "8 on cap 5, barging: ours:Pool(barging) >= 0.5x baseline:barging",
    }
    assert "[pairs 1/3]" in done.stderr
    text = out_md.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks")
    assert "python bench/bench_pools.py --quick" in text
    assert "## 8 threads on a cap of 5 (they wait): fake connections" in text
    assert "| ours:Pool(barging) |" in text
    assert "## Memory per checked-out connection" in text


def test_markdown_reports_failures_and_the_model_benchmarks() -> None:
    """The Markdown report names a failed cell, and shows checker and lockstep figures."""
    rows = bp.summarise(
        {
            ("8-on-cap-5", "fake", "baseline:lock+deque"): {"rates": [2.0]},
            ("8-on-cap-5", "fake", "ours:QueuePool"): {"rates": [], "error": "timed out"},
        }
    )
    result = {
        "command": "python bench/bench_pools.py",
        "date": "today",
        "machine": {
            "cpu": "a CPU",
            "cpus": 2,
            "python": "CPython 3.11",
            "platform": "Linux",
            "libraries": {"SQLAlchemy": "2"},
            "load_average": (0.5, 0.5, 0.5),
        },
        "settings": {"rounds": 1, "reps": 1},
        "rows": rows,
        "memory": {"ours:QueuePool": {"error": "no memory"}},
        "targets": bp.check_targets(rows, {}),
        "model": {
            "checker": {
                "command": "python bench/bench_checker.py",
                "results": [
                    {"name": "x", "states": 10, "median_rate": 5.0}
                    | {"min_rate": 4.0, "max_rate": 6.0}
                ],
            },
            "lockstep": {"command": "python bench/bench_lockstep.py", "error": "crashed"},
        },
    }
    text = bp.markdown(result)
    assert "failed: timed out" in text
    assert "failed: no memory" in text
    assert "| x | 10 | 5 | 4..6 |" in text
    assert "failed: crashed" in text
    assert "failed" in bp.text_report(result)
    assert "For reference" not in text  # the handle reference did not run: no paragraph


def test_markdown_gives_the_handle_reference_its_ratio() -> None:
    """When the handle reference ran, the targets section says how it fares against the baseline."""
    rows = bp.summarise(
        {
            ("8-on-cap-5", "fake", "baseline:lock+deque"): {"rates": [4.0]},
            ("8-on-cap-5", "fake", "baseline:lock+deque+handle"): {"rates": [3.0]},
            ("1-thread", "fake", "baseline:lock+deque"): {"rates": [10.0]},
            ("1-thread", "fake", "baseline:lock+deque+handle"): {"rates": [5.0]},
        }
    )
    text = "\n".join(bp._handle_reference(rows))
    assert "0.50x on 1-thread; 0.75x on 8-on-cap-5 `baseline:lock+deque`" in text
    assert "DROP-1" in text


def test_model_benchmarks_run_through_their_scripts() -> None:
    """The checker and lockstep benchmarks are called as they are, and their figures read back."""
    got = bp.run_model_benches(quick=True)
    assert "error" not in got["checker"], got["checker"]
    assert got["checker"]["results"]
    assert all(case["median_rate"] > 0 for case in got["checker"]["results"])
    assert got["lockstep"]["median_steps_per_s"] > 0
    assert got["lockstep"]["command"].startswith("python bench/bench_lockstep.py")
