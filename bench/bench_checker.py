"""Benchmark the model checker: distinct states per second on one core.

Usage::

    python bench/bench_checker.py [--runs N] [--only NAME ...] [--quick] [--json FILE]
    python bench/bench_checker.py --ceiling [CASE] [--json FILE]

Explores ``model.DEFAULT_CONFIG`` under ``model.DEFAULT_BOUNDS`` and a few
smaller configurations, each ``--runs`` times (default 3) in a fresh Python
process (so no run inherits a warm cache or a big heap from another), and
prints for each: distinct states, transitions, seconds and distinct states per
second (median, with the spread over the runs; also per second of this
process's CPU time, which other load on the machine does not inflate), plus
the machine it ran on.
``--json FILE`` writes the same as JSON. ``--quick`` leaves the default
configuration out (the small cases take seconds: a quick before/after check).

``--ceiling`` asks how fast any checker around this model could be on this
interpreter. On one case explored completely (default: the default
configuration, a few minutes; in a fresh process, on CPU time) it measures
three layers:

1. the checker as it is (every rule checked);
2. the same checker with no predicate at all (search, symmetry reduction,
   deduplication and the model's own work only);
3. the model alone: ``enabled`` once per state and ``step`` once per enabled
   operation, over exactly the states the checker explored, with no search,
   no deduplication and no rule around them.

Layer 3 bounds every exploration that visits each state and takes the
transitions the checker takes: its states per second are ``1 / (enabled +
transitions per state x step)``, with the checker's transitions per state.

This is a benchmark, not a test: it asserts nothing about speed. It does fail
(exit status 1) if a run finds a violation, stops before exploring
everything, or if two runs of one configuration disagree on the state count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model import (  # noqa: E402 - the path above makes the checkout importable
    DEFAULT_BOUNDS,
    DEFAULT_CONFIG,
    FAULT_OPS,
    Bounds,
    Config,
    IdleOrder,
    Ping,
    ResetMode,
    State,
    canonical_key,
    enabled,
    explore,
    initial,
    step,
)

CASES: dict[str, tuple[str, Config, Bounds]] = {
    "default": (
        "DEFAULT_CONFIG: 3 actors, max_size=3, idle_cap=2, all policies on, 1 fault",
        DEFAULT_CONFIG,
        DEFAULT_BOUNDS,
    ),
    "cap2-idle1": (
        "3 actors, max_size=2, idle_cap=1, default policies, 1 fault",
        Config(max_size=2, idle_cap=1),
        Bounds(actors=3, faults=1),
    ),
    "cap2-waiting-policies": (
        "3 actors, max_size=2, idle_cap=1, waiting with timeout, retirement, ping, reopen, 1 fault",
        Config(
            max_size=2,
            idle_cap=1,
            timeout=1,
            idle_order=IdleOrder.LIFO,
            reset=ResetMode.FULL,
            session_setup=True,
            max_usage=1,
            ping=Ping.ON_CHECKOUT,
            reopen=True,
        ),
        Bounds(actors=3, faults=1),
    ),
    "per-thread": (
        "3 actors, max_size=2, per-thread, 1 fault",
        Config(max_size=2, per_thread=True),
        Bounds(actors=3, faults=1),
    ),
}


def run_one(name: str) -> dict[str, Any]:
    """Explore one case once, in this process."""
    _, config, bounds = CASES[name]
    cpu = time.process_time()
    report = explore(config, bounds)
    cpu = time.process_time() - cpu
    return {
        "states": report.states,
        "transitions": report.transitions,
        "depth": report.depth,
        "seconds": report.seconds,
        "rate": report.rate,
        "cpu_seconds": cpu,
        "cpu_rate": report.states / cpu if cpu > 0 else 0.0,
        "complete": report.complete,
        "ok": report.ok,
    }


def _all_states(config: Config, bounds: Bounds) -> list[State]:
    """Every distinct state the checker explores under ``config`` and ``bounds``, breadth first.

    The checker's own search (symmetry-reduced, the same fault budget per
    path) without its caches and predicates: only the states matter here.
    """
    first = initial(config, bounds.actors).state
    seen = {(canonical_key(first), bounds.faults)}
    found: list[tuple[State, int | None]] = [(first, bounds.faults)]
    for state, left in found:  # grows while it is read: breadth first
        for op in enabled(config, state, faults=left != 0, max_depth=bounds.max_depth):
            spent = left - 1 if left is not None and op.kind in FAULT_OPS else left
            for out in step(config, state, op):
                key = (canonical_key(out.state), spent)
                if key not in seen:
                    seen.add(key)
                    found.append((out.state, spent))
    return [s for s, _ in found]


def run_ceiling(name: str) -> dict[str, Any]:
    """The three layers of ``--ceiling`` for one case, in this process, on CPU time."""
    _, config, bounds = CASES[name]
    layers: dict[str, Any] = {}
    for layer, predicates in (("checker", None), ("checker without predicates", ())):
        cpu = time.process_time()
        report = explore(config, bounds, predicates=predicates)
        cpu = time.process_time() - cpu
        if not report.complete:
            raise RuntimeError(f"{name}: the exploration stopped early ({report.stopped_by})")
        layers[layer] = {
            "states": report.states,
            "transitions": report.transitions,
            "transitions_per_state": report.transitions / report.states,
            "cpu_seconds": cpu,
            "states_per_s": report.states / cpu,
        }

    states = _all_states(config, bounds)
    if len(states) != layers["checker"]["states"]:
        raise RuntimeError(
            f"{name}: the plain search found {len(states)} states, the checker "
            f"{layers['checker']['states']}"
        )
    cpu = time.process_time()
    listed = [enabled(config, s, max_depth=bounds.max_depth) for s in states]
    enabled_cpu = time.process_time() - cpu
    pairs = [(s, op) for s, ops in zip(states, listed, strict=True) for op in ops]
    cpu = time.process_time()
    for s, op in pairs:
        step(config, s, op)
    step_cpu = time.process_time() - cpu
    enabled_us = enabled_cpu / len(states) * 1e6
    step_us = step_cpu / len(pairs) * 1e6
    # the transitions the checker takes per state (it skips twins' ops), at step's cost each
    taken = layers["checker"]["transitions_per_state"]
    layers["model alone"] = {
        "states": len(states),
        "transitions": len(pairs),
        "transitions_per_state": len(pairs) / len(states),
        "enabled_us_per_state": enabled_us,
        "step_us_per_transition": step_us,
        "cpu_seconds": enabled_cpu + step_cpu,
        "states_per_s": 1e6 / (enabled_us + taken * step_us),
    }
    return layers


def _fresh(*args: str) -> dict[str, Any]:
    """This script run with ``args`` in a fresh Python process: the JSON it prints."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_fresh(name: str) -> dict[str, Any]:
    """Explore one case once, in a fresh Python process."""
    return _fresh("--child", name)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
    }


def summarise(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and spread over the runs of one case."""
    title, config, bounds = CASES[name]
    seconds = [r["seconds"] for r in runs]
    rates = [r["rate"] for r in runs]
    cpu_rates = [r["cpu_rate"] for r in runs]
    return {
        "name": name,
        "title": title,
        "config": repr(config),
        "bounds": repr(bounds),
        "states": runs[0]["states"],
        "transitions": runs[0]["transitions"],
        "depth": runs[0]["depth"],
        "complete": all(r["complete"] for r in runs),
        "ok": all(r["ok"] for r in runs),
        "consistent": len({(r["states"], r["transitions"]) for r in runs}) == 1,
        "seconds": seconds,
        "rates": rates,
        "median_seconds": statistics.median(seconds),
        "median_rate": statistics.median(rates),
        "min_rate": min(rates),
        "max_rate": max(rates),
        "cpu_seconds": [r["cpu_seconds"] for r in runs],
        "median_cpu_rate": statistics.median(cpu_rates),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 if every run was complete, clean and consistent."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh-process runs per case")
    parser.add_argument("--only", action="append", choices=sorted(CASES), help="cases to run")
    parser.add_argument("--quick", action="store_true", help="leave the default configuration out")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--ceiling",
        nargs="?",
        const="default",
        choices=sorted(CASES),
        metavar="CASE",
        help="how fast any checker around this model could be on CASE (default: default)",
    )
    parser.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--child-ceiling", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.child)))
        return 0
    if args.child_ceiling:
        print(json.dumps(run_ceiling(args.child_ceiling)))
        return 0
    if args.ceiling is not None:
        return ceiling(args.ceiling, args.json)
    if args.runs < 1:
        parser.error(f"--runs must be >= 1, got {args.runs}")

    info = machine()
    print(
        f"machine: {info['platform']}, {info['processor']}, "
        f"{info['implementation']} {info['python']}, {info['cpu_count']} cpus (one used)"
    )
    print(f"{args.runs} fresh-process run(s) per case\n")
    header = (
        f"{'case':<24}{'states':>10}{'transitions':>13}{'seconds':>10}{'states/s':>11}"
        f"{'(cpu)':>9}  spread"
    )
    print(header)
    print("-" * (len(header) + 18))
    results = []
    names = args.only or [n for n in CASES if not (args.quick and n == "default")]
    for name in names:
        summary = summarise(name, [run_fresh(name) for _ in range(args.runs)])
        results.append(summary)
        flags = "" if summary["complete"] and summary["ok"] and summary["consistent"] else "  !"
        print(
            f"{name:<24}{summary['states']:>10,}{summary['transitions']:>13,}"
            f"{summary['median_seconds']:>10.2f}{summary['median_rate']:>11,.0f}"
            f"{summary['median_cpu_rate']:>9,.0f}"
            f"  {summary['min_rate']:,.0f}..{summary['max_rate']:,.0f}{flags}"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"machine": info, "runs": args.runs, "results": results}, indent=2) + "\n"
        )
    good = all(r["complete"] and r["ok"] and r["consistent"] for r in results)
    if not good:
        print("\n! a run was incomplete, found a violation, or runs disagreed on the counts")
    return 0 if good else 1


def ceiling(name: str, json_file: Path | None) -> int:
    """Print (and write) the ``--ceiling`` layers for one case, measured in a fresh process."""
    layers = _fresh("--child-ceiling", name)
    info = machine()
    print(
        f"machine: {info['platform']}, {info['processor']}, "
        f"{info['implementation']} {info['python']} (one core, CPU time)"
    )
    print(f"{name}: {CASES[name][0]}\n")
    header = f"{'layer':<28}{'states':>9}{'transitions':>13}{'per state':>11}{'cpu s':>8}"
    print(f"{header}{'states/s':>10}")
    for layer, row in layers.items():
        print(
            f"{layer:<28}{row['states']:>9,}{row['transitions']:>13,}"
            f"{row['transitions_per_state']:>11.1f}{row['cpu_seconds']:>8.2f}"
            f"{row['states_per_s']:>10,.0f}"
        )
    alone = layers["model alone"]
    print(
        f"\nmodel alone: step {alone['step_us_per_transition']:.2f} us per transition, enabled "
        f"{alone['enabled_us_per_state']:.2f} us per state; at the "
        f"{layers['checker']['transitions_per_state']:.1f} transitions per state the checker "
        f"takes, no search that visits every state and takes those transitions runs faster "
        f"than {alone['states_per_s']:,.0f} states/s on this interpreter"
    )
    if json_file:
        json_file.write_text(
            json.dumps({"machine": info, "case": name, "layers": layers}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
