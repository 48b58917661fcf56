"""The ``poolspec`` command.

* ``poolspec explore``: model-check the pure model on a bounded configuration.
* ``poolspec check [TARGET]``: check a pool against every rule in lockstep with
  the model; with no target, every front door of poolspec's own pool.

Exit status: 0 when everything checked holds, 1 when a rule fails, 2 on a
usage error. Progress goes to standard error, reports to standard output,
``--json FILE`` writes the same report for programs (``-`` for stdout).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

import model

from . import _race_cli, _reliability_cli, _stress_cli
from ._conformance import SHRINK_SECONDS, CheckReport, check
from ._profiles import OWN_PROFILES, PROFILES
from ._report import check_json, format_check, pytest_file, write_json
from ._thirdparty import BY_CLASS_NAME

_API_PROFILE = {
    "poolspec": "poolspec",
    "sqlalchemy": "sqlalchemy-queuepool",
    "dbutils": "dbutils-pooleddb",
    "plain": "plain",
}


class UsageError(Exception):
    """A bad command line: printed, exit status 2."""


def _parse_value(name: str, text: str) -> object:
    field = model.Config.__dataclass_fields__.get(name)
    if field is None:
        raise UsageError(f"unknown config parameter {name!r}")
    default = getattr(model.Config(), name)
    for enum in (model.Fairness, model.IdleOrder, model.ResetMode, model.Ping):
        if isinstance(default, enum):
            try:
                return enum(text.lower())
            except ValueError:
                choices = ", ".join(e.value for e in enum)
                raise UsageError(f"{name} must be one of {choices}, got {text!r}") from None
    if text.lower() == "none":
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{name} needs an int, true/false or none, got {text!r}") from None


def _config(settings: Sequence[str], base: model.Config) -> model.Config:
    values = {name: getattr(base, name) for name in model.Config.__dataclass_fields__}
    for item in settings:
        name, sep, text = item.partition("=")
        if not sep:
            raise UsageError(f"--set takes NAME=VALUE, got {item!r}")
        values[name.strip()] = _parse_value(name.strip(), text.strip())
    try:
        return model.Config(**values)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"bad configuration: {exc}") from None


def _explore(args: argparse.Namespace) -> int:
    default_config = getattr(model, "DEFAULT_CONFIG", model.Config(max_size=3, idle_cap=2))
    default_bounds = getattr(model, "DEFAULT_BOUNDS", model.Bounds())
    config = _config(args.set, model.Config() if args.plain else default_config)
    try:
        bounds = model.Bounds(
            actors=args.actors if args.actors is not None else default_bounds.actors,
            faults=args.faults if args.faults is not None else default_bounds.faults,
            ticks=args.ticks,
            misuse=args.misuse,
            max_states=args.max_states,
            max_seconds=args.max_seconds,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    def progress(report: model.Report) -> None:
        print(
            f"  ... {report.states:,} states, {report.transitions:,} transitions, "
            f"depth {report.depth}, {report.rate:,.0f} states/s",
            file=sys.stderr,
            flush=True,
        )

    print(f"exploring {_config_line(config)} with {bounds.actors} actors", file=sys.stderr)
    report = model.explore(config, bounds, progress=progress, progress_every=2.0)
    print(model.format_report(report))
    write_json(args.json, model.report_json(report))
    return 0 if report.ok else 1


def _config_line(config: model.Config) -> str:
    default = model.Config()
    parts = [
        f"{n}={getattr(getattr(config, n), 'value', getattr(config, n))}"
        for n in model.Config.__dataclass_fields__
        if getattr(config, n) != getattr(default, n) or n == "max_size"
    ]
    return ", ".join(parts)


def _resolve(target: str) -> Any:
    mod_name, sep, attr = target.partition(":")
    if not sep or not mod_name or not attr:
        raise UsageError(f"TARGET must be module:attribute, got {target!r}")
    try:
        module = importlib.import_module(mod_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {mod_name!r}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"{mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _detect_profile(factory: Any) -> str:
    """The profile for a pool class or factory: by its class, its name, then its API shape."""
    import impl

    if isinstance(factory, type) and issubclass(factory, impl.Pool):
        return "poolspec"
    module = getattr(factory, "__module__", "") or ""
    name = getattr(factory, "__name__", "")
    if module.split(".")[0] == "impl":
        for profile in OWN_PROFILES:
            if profile.removeprefix("poolspec-") == name.lower():
                return profile
    if name in BY_CLASS_NAME:
        return BY_CLASS_NAME[name]
    if hasattr(factory, "acquire") and hasattr(factory, "release"):
        return "plain"
    if hasattr(factory, "connect") and not hasattr(factory, "connection"):
        return "sqlalchemy-queuepool"
    if hasattr(factory, "connection"):
        return "dbutils-pooleddb"
    raise UsageError(
        f"cannot tell the API shape of {factory!r}: pass --api "
        f"({', '.join(_API_PROFILE)}) or --profile ({', '.join(PROFILES)})"
    )


def _check(args: argparse.Namespace) -> int:
    if args.examples < 1:
        raise UsageError(f"--examples must be >= 1, got {args.examples}")
    if args.steps < 1:
        raise UsageError(f"--steps must be >= 1, got {args.steps}")
    if not args.shrink_seconds >= 0:
        raise UsageError(f"--shrink-seconds must be >= 0, got {args.shrink_seconds}")
    targets: list[tuple[str, Any, str]] = []
    if args.target is None:
        for name in _OWN_FRONT_DOORS:
            targets.append((name, None, name))
    else:
        factory = _resolve(args.target)
        if args.profile is not None:
            profile = args.profile
        elif args.api is not None:
            profile = _API_PROFILE[args.api]
        else:
            profile = _detect_profile(factory)
        targets.append((args.target, factory, profile))
    if args.profile is not None and args.profile not in PROFILES:
        raise UsageError(f"unknown profile {args.profile!r}; known: {', '.join(PROFILES)}")

    reports: list[CheckReport] = []
    for shown, factory, profile in targets:
        print(f"checking {shown} (profile {profile})", file=sys.stderr, flush=True)
        report = check(
            profile,
            factory,
            target=shown,
            examples=args.examples,
            steps=args.steps,
            actors=args.actors,
            seed=args.seed,
            progress=lambda line: print(f"  ... {line}", file=sys.stderr, flush=True),
            real=not args.fake_driver,
            strict=args.strict,
            shrink_seconds=args.shrink_seconds,
        )
        reports.append(report)
        print(format_check(report))
        print()
        if args.pytest_dir is not None:
            _write_replays(args.pytest_dir, report, args.target)
    data = {
        "verdict": "fail" if any(r.failed for r in reports) else "pass",
        "targets": [check_json(r) for r in reports],
    }
    write_json(args.json, data)
    return 1 if data["verdict"] == "fail" else 0


def _write_replays(directory: str, report: CheckReport, target: str | None) -> None:
    import pathlib

    out = pathlib.Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for v in report.failed:
        path = (
            out / f"test_{report.profile.replace('-', '_')}_{v.rule.lower().replace('-', '_')}.py"
        )
        path.write_text(pytest_file(report, v, target), encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)


_OWN_FRONT_DOORS = OWN_PROFILES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="poolspec", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    ex = sub.add_parser("explore", help="model-check the pure model on a bounded configuration")
    ex.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a config parameter (repeatable), e.g. --set max_size=2 --set reset=full",
    )
    ex.add_argument(
        "--plain",
        action="store_true",
        help="start from the model's plain defaults, not the all-policies default",
    )
    ex.add_argument("--actors", type=int, default=None, help="actors (threads); default 3")
    ex.add_argument("--faults", type=int, default=None, help="faults allowed on a path; default 1")
    ex.add_argument("--ticks", type=int, default=None, help="ticks allowed on a path")
    ex.add_argument("--misuse", action="store_true", help="explore refused misuse too")
    ex.add_argument("--max-states", type=int, default=None, help="stop after this many states")
    ex.add_argument("--max-seconds", type=float, default=None, help="stop after this long")
    ex.add_argument("--json", metavar="FILE", help="write the report as JSON ('-': stdout)")
    ex.set_defaults(run=_explore)

    ck = sub.add_parser("check", help="check a pool against every rule, in lockstep with the model")
    ck.add_argument("target", nargs="?", help="module:attribute naming a pool class or factory")
    ck.add_argument("--api", choices=sorted(_API_PROFILE), help="the target's API shape")
    ck.add_argument("--profile", help=f"configuration profile: {', '.join(PROFILES)}")
    ck.add_argument("--examples", type=int, default=100, help="Hypothesis examples per round")
    ck.add_argument("--steps", type=int, default=25, help="operations per example")
    ck.add_argument("--actors", type=int, default=3, help="actor threads")
    ck.add_argument(
        "--seed", type=int, default=None, help="Hypothesis seed, for a reproducible run"
    )
    ck.add_argument(
        "--fake-driver",
        action="store_true",
        help="a fake DB-API driver instead of real sqlite3 connections",
    )
    ck.add_argument(
        "--shrink-seconds",
        type=float,
        default=SHRINK_SECONDS,
        help=f"most time spent shrinking each failure (default {SHRINK_SECONDS:.0f})",
    )
    ck.add_argument(
        "--strict",
        action="store_true",
        help="also draw what the profile steers around (its known divergences)",
    )
    ck.add_argument(
        "--pytest-dir",
        metavar="DIR",
        help="write each counterexample as a runnable pytest file into DIR",
    )
    ck.add_argument("--json", metavar="FILE", help="write the report as JSON ('-': stdout)")
    ck.set_defaults(run=_check)
    _race_cli.register(sub)
    _stress_cli.register(sub)
    _reliability_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else 2
    try:
        result: int = args.run(args)
    except UsageError as exc:
        print(f"poolspec: error: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
