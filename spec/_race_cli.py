"""``poolspec race [TARGET]``: search thread interleavings of a pool for races.

Runs each scenario (or the one named) against the target under the
controlled scheduler, with the chosen strategy, until a schedule breaks a
rule or the budget is spent. Progress goes to standard error; the report
(found or not, the trace of the first failing schedule, the schedules tried)
to standard output; ``--json FILE`` writes it for programs (``-``: stdout).
Exit status: 0 nothing found, 1 a race found, 2 a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from ._race import (
    SCENARIOS,
    STRATEGIES,
    TARGETS,
    DBUtilsTarget,
    OurTarget,
    RaceReport,
    RaceTarget,
    SQLAlchemyTarget,
    explore,
)
from ._report import write_json

#: The default depth of each strategy: PCT's bug depth, the exhaustive preemption bound.
DEFAULT_DEPTH = {"random": 1, "pct": 3, "exhaustive": 2}


class _UsageError(Exception):
    """A bad command line: printed, exit status 2."""


def register(subparsers: Any) -> None:
    """Add the ``race`` command to the ``poolspec`` parser's subcommands."""
    race = subparsers.add_parser(
        "race",
        help="search thread interleavings for races with a controlled scheduler",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
    )
    race.add_argument(
        "target",
        nargs="?",
        default="poolspec",
        help=f"the pool: {', '.join(TARGETS)}, or module:attribute of one of those kinds "
        "(default: poolspec)",
    )
    race.add_argument("--strategy", choices=STRATEGIES, default="random")
    race.add_argument(
        "--depth",
        type=int,
        default=None,
        help="pct: the bug depth (change points + 1; default 3); "
        "exhaustive: the preemption bound (default 2)",
    )
    race.add_argument(
        "--schedules", type=int, default=200, help="schedules per scenario at most (default 200)"
    )
    race.add_argument("--seed", type=int, default=0, help="seed of random and pct (default 0)")
    race.add_argument(
        "--scenario",
        choices=sorted(SCENARIOS),
        help="run only this scenario (default: every scenario the target supports)",
    )
    race.add_argument(
        "--max-steps", type=int, default=3000, help="step bound of one schedule (livelock)"
    )
    race.add_argument(
        "--linearize",
        action="store_true",
        help="also check each schedule's history against the model (our pool only)",
    )
    race.add_argument("--json", metavar="FILE", help="write the report as JSON ('-': stdout)")
    race.set_defaults(run=_run)


def _target(name: str) -> RaceTarget:
    if name in TARGETS:
        target = TARGETS[name]()
        _check_installed(target)
        return target
    mod_name, sep, attr = name.partition(":")
    if not sep or not mod_name or not attr:
        raise _UsageError(
            f"TARGET must be one of {', '.join(TARGETS)} or module:attribute, got {name!r}"
        )
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as exc:
        raise _UsageError(f"cannot import {mod_name!r}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise _UsageError(f"{mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    import impl

    if isinstance(obj, type) and issubclass(obj, impl.Pool):
        return OurTarget(obj)
    if mod_name.startswith("sqlalchemy"):
        return SQLAlchemyTarget(obj)
    if mod_name.startswith("dbutils"):
        return DBUtilsTarget(obj)
    raise _UsageError(
        f"cannot race {name!r}: the scheduler knows impl.Pool, SQLAlchemy's QueuePool and "
        "DBUtils' PooledDB"
    )


def _check_installed(target: RaceTarget) -> None:
    module = None
    if isinstance(target, SQLAlchemyTarget):
        module = "sqlalchemy.pool"
    elif isinstance(target, DBUtilsTarget):
        module = "dbutils.pooled_db"
    if module is not None:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise _UsageError(f"target {target.name!r} needs {module!r}: {exc}") from None


def _run(args: argparse.Namespace) -> int:
    try:
        return _race(args)
    except _UsageError as exc:
        print(f"poolspec: error: {exc}", file=sys.stderr)
        return 2


def _race(args: argparse.Namespace) -> int:
    if args.schedules < 1:
        raise _UsageError(f"--schedules must be >= 1, got {args.schedules}")
    if args.max_steps < 1:
        raise _UsageError(f"--max-steps must be >= 1, got {args.max_steps}")
    depth = DEFAULT_DEPTH[args.strategy] if args.depth is None else args.depth
    if depth < (0 if args.strategy == "exhaustive" else 1):
        raise _UsageError(f"--depth must be >= 1 (>= 0 for exhaustive), got {depth}")
    target = _target(args.target)
    names = [args.scenario] if args.scenario else list(SCENARIOS)
    skipped: list[tuple[str, str]] = []
    reports: list[RaceReport] = []
    for name in names:
        scenario = SCENARIOS[name]
        why = target.supports(scenario)
        if why is not None:
            if args.scenario:
                raise _UsageError(f"{target.name} cannot run scenario {name!r}: {why}")
            skipped.append((name, why))
            continue
        print(f"racing {target.name}: scenario {name} ({args.strategy})", file=sys.stderr)

        def progress(report: RaceReport) -> None:
            if report.schedules % 50 == 0:
                print(f"  ... {report.schedules} schedules", file=sys.stderr, flush=True)

        reports.append(
            explore(
                scenario,
                target,
                strategy=args.strategy,
                depth=depth,
                schedules=args.schedules,
                seed=args.seed,
                max_steps=args.max_steps,
                linearize=args.linearize,
                progress=progress,
            )
        )
    print(format_race(target.name, args.strategy, depth, args.seed, reports, skipped))
    write_json(args.json, race_json(target.name, args.strategy, depth, args.seed, reports))
    return 1 if any(r.found for r in reports) else 0


def format_race(
    target: str,
    strategy: str,
    depth: int,
    seed: int,
    reports: list[RaceReport],
    skipped: Sequence[tuple[str, str]] = (),
) -> str:
    """The report a person reads: one line a scenario, then the first failing schedule's trace."""
    found = [r for r in reports if r.found]
    lines = [
        f"race {target}: strategy {strategy}, depth {depth}, seed {seed}: "
        + (f"FOUND in {len(found)} of {len(reports)} scenario(s)" if found else "nothing found"),
    ]
    for r in reports:
        if r.failure is not None and r.failure.finding is not None:
            verdict = f"FOUND after {r.schedules} schedule(s): {r.failure.finding}"
        else:
            complete = ", every schedule within the bound" if r.exhausted else ""
            verdict = f"not found in {r.schedules} schedule(s){complete}"
        lines.append(f"  {r.scenario:<20} {verdict}")
    for name, why in skipped:
        lines.append(f"  {name:<20} skipped: {why}")
    first = next((r.failure for r in found if r.failure is not None), None)
    if first is not None:
        lines.append("")
        lines.append(
            f"first failing schedule: scenario {first.scenario}, choices {first.choices} "
            "(* marks a choice)"
        )
        lines.append(first.format_trace())
    return "\n".join(lines)


def race_json(
    target: str, strategy: str, depth: int, seed: int, reports: list[RaceReport]
) -> dict[str, Any]:
    """The report for programs."""
    scenarios = []
    for r in reports:
        item: dict[str, Any] = {
            "scenario": r.scenario,
            "schedules": r.schedules,
            "found": r.found,
            "exhausted": r.exhausted,
        }
        failure = r.failure
        if failure is not None and failure.finding is not None:
            item["finding"] = {"rule": failure.finding.rule, "message": failure.finding.message}
            item["outcome"] = failure.outcome.value
            item["choices"] = failure.choices
            item["trace"] = [str(step) for step in failure.trace]
            item["history"] = [dataclasses.asdict(entry) for entry in failure.history]
            item["stopped_at"] = failure.stopped_at
        scenarios.append(item)
    return {
        "verdict": "found" if any(r.found for r in reports) else "not found",
        "target": target,
        "strategy": strategy,
        "depth": depth,
        "seed": seed,
        "scenarios": scenarios,
    }
