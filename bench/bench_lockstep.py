"""Benchmark: lockstep steps per second (model + real pool + recording driver + real threads).

Usage: python bench/bench_lockstep.py [--programs N] [--steps N] [--repeat N] [--fake] [--json FILE]

Runs random programs (seeded, so every repetition does the same work) on
poolspec's own pool in lockstep with the model, each repetition in a fresh
process, and prints steps per second (median and spread). Not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import subprocess
import sys
import time


def one_run(programs: int, steps: int, fake: bool) -> dict[str, float]:
    """Run the programs once in this process; return counts and seconds."""
    import model
    from spec._conformance import start
    from spec._lockstep import LockstepFailure
    from spec._profiles import OURS

    rng = random.Random(1234)
    tables = OURS.configs[0]
    done = failures = 0
    began = time.perf_counter()
    for _ in range(programs):
        while True:
            try:
                cfg = model.Config(**{k: rng.choice(v) for k, v in tables.items()})
                break
            except ValueError:
                continue
        lockstep = start(OURS, None, cfg, 3, real=not fake)
        try:
            for _ in range(steps):
                lockstep.apply(rng.choice(lockstep.enabled()))
                done += 1
        except LockstepFailure:
            failures += 1
        finally:
            lockstep.teardown()
    seconds = time.perf_counter() - began
    return {"steps": done, "seconds": seconds, "rate": done / seconds, "divergences": failures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=40)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fake", action="store_true", help="fake driver instead of sqlite3")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.programs, args.steps, args.fake)))
        return 0
    runs = []
    for i in range(args.repeat):
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--programs",
            str(args.programs),
            "--steps",
            str(args.steps),
        ] + (["--fake"] if args.fake else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        print(f"run {i + 1}/{args.repeat}: {runs[-1]['rate']:.0f} steps/s", file=sys.stderr)
    rates = [r["rate"] for r in runs]
    result = {
        "bench": "lockstep",
        "driver": "fake" if args.fake else "sqlite3",
        "programs": args.programs,
        "steps_per_program": args.steps,
        "median_steps_per_s": round(statistics.median(rates), 1),
        "min_steps_per_s": round(min(rates), 1),
        "max_steps_per_s": round(max(rates), 1),
        "divergences": [r["divergences"] for r in runs],
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": __import__("os").cpu_count(),
        },
    }
    print(
        f"lockstep ({result['driver']}): median {result['median_steps_per_s']:.0f} steps/s "
        f"(min {result['min_steps_per_s']:.0f}, max {result['max_steps_per_s']:.0f}) "
        f"over {args.repeat} fresh processes of {args.programs} programs x {args.steps} steps"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
