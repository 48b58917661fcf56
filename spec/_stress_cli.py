"""The ``poolspec stress`` and ``poolspec linearize`` commands.

* ``poolspec stress [TARGET]``: many threads use one pool at random with
  faults; invariants, leaks, linearizability and FIFO hand-off are checked
  (``spec._stress``). TARGET is a name: ``poolspec`` (our engine, the
  default), one of our front doors (``poolspec-queuepool``...),
  ``sqlalchemy-queuepool`` or ``dbutils-pooleddb``.
* ``poolspec linearize HISTORY.json``: check a recorded history (as written
  by ``poolspec stress --history FILE``) against the model.

Exit status as for ``poolspec check``: 0 when nothing broke (an unknown
linearizability verdict is printed, and is not a failure), 1 when something
did, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._linear import check_fifo, check_history, format_result, history_from_json, history_json
from ._report import write_json
from ._stress import (
    StressOptions,
    format_stress,
    make_target,
    run_stress,
    stress_json,
    target_names,
)


class _UsageError(Exception):
    """A bad command line: printed, exit status 2."""


def register(subparsers: Any) -> None:
    """Add ``stress`` and ``linearize`` to the ``poolspec`` command's subparsers."""
    st = subparsers.add_parser(
        "stress", help="many threads use one pool at random, with faults; check what it did"
    )
    st.add_argument(
        "target",
        nargs="?",
        default="poolspec",
        help=f"the pool to stress (default poolspec): {', '.join(target_names())}",
    )
    st.add_argument("--threads", type=int, default=16, help="worker threads (default 16)")
    st.add_argument("--ops", type=int, default=None, help="stop after this many operations")
    st.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    st.add_argument(
        "--faults", type=float, default=0.02, help="chance that a step is a fault (default 0.02)"
    )
    st.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    st.add_argument(
        "--window",
        type=int,
        default=400,
        help="operations, from the start, checked for linearizability (0: none; default 400)",
    )
    st.add_argument(
        "--max-states",
        type=int,
        default=200_000,
        help="linearizability search budget in states (default 200000)",
    )
    st.add_argument(
        "--max-seconds",
        type=float,
        default=20.0,
        help="linearizability search budget in seconds (default 20)",
    )
    st.add_argument("--real-driver", action="store_true", help="wrap real sqlite3 connections")
    st.add_argument("--history", metavar="FILE", help="write the recorded history as JSON")
    st.add_argument("--json", metavar="FILE", help="write the report as JSON ('-': stdout)")
    st.set_defaults(run=_stress)

    li = subparsers.add_parser(
        "linearize", help="check a recorded history (JSON) for linearizability against the model"
    )
    li.add_argument("history", metavar="HISTORY.json", help="a history written by stress --history")
    li.add_argument("--actors", type=int, default=None, help="actors in the model (default: seen)")
    li.add_argument("--max-states", type=int, default=200_000, help="search budget in states")
    li.add_argument("--max-seconds", type=float, default=60.0, help="search budget in seconds")
    li.add_argument("--json", metavar="FILE", help="write the verdict as JSON ('-': stdout)")
    li.set_defaults(run=_linearize)


def _progress(line: str) -> None:
    print(f"  ... {line}", file=sys.stderr, flush=True)


def _stress(args: argparse.Namespace) -> int:
    try:
        return _run_stress(args)
    except _UsageError as exc:
        print(f"poolspec: error: {exc}", file=sys.stderr)
        return 2


def _run_stress(args: argparse.Namespace) -> int:
    ops, seconds = args.ops, args.seconds
    if ops is None and seconds is None:
        ops, seconds = 5000, 30.0
    try:
        target = make_target(args.target)
        options = StressOptions(
            threads=args.threads,
            ops=ops,
            seconds=seconds,
            faults=args.faults,
            seed=args.seed,
            window=args.window,
            max_states=args.max_states,
            max_seconds=args.max_seconds,
            real_driver=args.real_driver,
        )
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    bound = " and ".join(
        part
        for part in (
            None if ops is None else f"{ops:,} operations",
            None if seconds is None else f"{seconds:g} s",
        )
        if part
    )
    print(
        f"stressing {target.name} with {options.threads} threads for at most {bound} "
        f"(seed {options.seed}, faults {options.faults:g})",
        file=sys.stderr,
        flush=True,
    )
    report = run_stress(target, options, progress=_progress)
    print(format_stress(report))
    if args.history is not None:
        write_json(args.history, history_json(report.config, report.history))
        print(f"wrote the history to {args.history}", file=sys.stderr)
    write_json(args.json, stress_json(report))
    return 1 if report.failed else 0


def _linearize(args: argparse.Namespace) -> int:
    try:
        with open(args.history, encoding="utf-8") as fh:
            data = json.load(fh)
        config, history = history_from_json(data)
    except (OSError, ValueError) as exc:
        print(f"poolspec: error: cannot read {args.history!r}: {exc}", file=sys.stderr)
        return 2
    print(f"checking {len(history)} operations of {args.history}", file=sys.stderr, flush=True)
    try:
        result = check_history(
            config,
            history,
            actors=args.actors,
            max_states=args.max_states,
            max_seconds=args.max_seconds,
        )
    except ValueError as exc:
        print(f"poolspec: error: {exc}", file=sys.stderr)
        return 2
    print(format_result(result))
    overtakings = check_fifo(history) if config.fairness.value == "fifo" else ()
    if config.fairness.value == "fifo":
        print(f"FIFO hand-off: {len(overtakings)} overtakings")
        for o in overtakings[:10]:
            print(f"  {o.why}")
    write_json(
        args.json,
        {
            "verdict": result.verdict,
            "message": result.message,
            "visited": result.visited,
            "seconds": round(result.seconds, 3),
            "stuck": list(result.stuck),
            "overtakings": [o.why for o in overtakings],
        },
    )
    return 1 if result.verdict == "violation" or overtakings else 0
