"""``poolspec reliability``: run the reliability checks; write ``RELIABILITY.md``.

Exit status: 0 when every guarantee held (skipped servers aside), 1 otherwise.
Progress goes to standard error; ``--json FILE`` writes the report for
programs (``-``: standard output); ``--write FILE`` writes the markdown report.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _run(args: argparse.Namespace) -> int:
    from ._reliability import markdown, run

    report = run(quick=args.quick)
    text = markdown(report)
    if args.json is not None:
        data = json.dumps(report, indent=2, default=str)
        if args.json == "-":
            print(data)
        else:
            with open(args.json, "w", encoding="utf-8") as fh:
                fh.write(data + "\n")
            print(f"wrote {args.json}", file=sys.stderr)
    if args.write is not None:
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"wrote {args.write}", file=sys.stderr)
    if args.json != "-":
        print(text)
    ok: bool = report["ok"]
    return 0 if ok else 1


def register(subparsers: Any) -> None:
    """Add the ``reliability`` subcommand to ``poolspec``'s subparsers."""
    rel = subparsers.add_parser(
        "reliability",
        help="kill, restart, interrupt and misuse the pool on real servers; report the figures",
    )
    rel.add_argument("--quick", action="store_true", help="short runs (the CI size)")
    rel.add_argument("--json", metavar="FILE", help="write the report as JSON ('-': stdout)")
    rel.add_argument("--write", metavar="FILE", help="write the markdown report (RELIABILITY.md)")
    rel.set_defaults(run=_run)
