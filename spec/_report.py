"""Reports for a person and for a program: a table per rule, JSON, and a replayable pytest file."""

from __future__ import annotations

import json
from typing import Any

import model

from ._conformance import CheckReport, RuleVerdict

_MARK = {"pass": "pass", "fail": "FAIL", "n/a": "n/a"}


def write_json(path: str | None, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path``: nothing for None, standard output for ``-``."""
    if path is None:
        return
    text = json.dumps(data, indent=2, default=str)
    if path == "-":
        print(text)
        return
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")


def format_check(report: CheckReport) -> str:
    """The check report as a table, one row per rule, failures with their counterexamples."""
    lines = [
        f"poolspec check: {report.target} (profile {report.profile}) - "
        f"{report.examples} examples in {report.seconds:.1f} s",
        "",
        f"{'rule':<9} {'verdict':<7} detail",
        f"{'-' * 9} {'-' * 7} {'-' * 50}",
    ]
    for v in report.verdicts:
        detail = v.divergence if v.status == "fail" else ""
        lines.append(f"{v.rule:<9} {_MARK[v.status]:<7} {detail}")
    for v in report.failed:
        lines.append("")
        lines.append(f"counterexample for {v.rule}: {v.divergence}")
        if v.config is not None:
            lines.append(f"  config: {config_text(v.config)}")
        for i, s in enumerate(v.steps, 1):
            lines.append(f"  {i:>2}. {s}")
    if report.avoided:
        lines.append("")
        lines.append("known divergences steered around (--strict draws them):")
        lines.extend(f"  {line}" for line in report.avoided)
    passed = sum(1 for v in report.verdicts if v.status == "pass")
    failed = len(report.failed)
    na = sum(1 for v in report.verdicts if v.status == "n/a")
    lines.append("")
    lines.append(
        f"verdict: {report.verdict.upper()} - "
        f"{passed} rules pass, {failed} fail, {na} not applicable"
    )
    return "\n".join(lines)


def config_text(config: model.Config) -> str:
    """The non-default fields of a configuration, as constructor arguments."""
    default = model.Config()
    parts = []
    for name in config.__dataclass_fields__:
        value = getattr(config, name)
        if value != getattr(default, name) or name == "max_size":
            parts.append(f"{name}={_py(value)}")
    return f"Config({', '.join(parts)})"


def _py(value: object) -> str:
    if isinstance(value, model.Fairness | model.IdleOrder | model.ResetMode | model.Ping):
        return f"model.{type(value).__name__}.{value.name}"
    return repr(value)


def check_json(report: CheckReport) -> dict[str, Any]:
    """The check report as plain JSON-able data."""
    return {
        "target": report.target,
        "profile": report.profile,
        "verdict": report.verdict,
        "examples": report.examples,
        "seconds": round(report.seconds, 2),
        "rules": [_verdict_json(v) for v in report.verdicts],
        "avoided": list(report.avoided),
    }


def _verdict_json(v: RuleVerdict) -> dict[str, Any]:
    data: dict[str, Any] = {"id": v.rule, "status": v.status}
    if v.status == "fail":
        data["divergence"] = v.divergence
        data["config"] = config_text(v.config) if v.config is not None else None
        data["steps"] = v.steps
    return data


def pytest_file(report: CheckReport, verdict: RuleVerdict, factory_ref: str | None) -> str:
    """A runnable pytest file that replays one counterexample."""
    ops = [s.split(" ", 1)[0] for s in verdict.steps]
    config = config_text(verdict.config) if verdict.config is not None else "Config()"
    factory_line = "factory = None"
    imports = ""
    if factory_ref:
        mod, _, attr = factory_ref.partition(":")
        imports = f"from {mod} import {attr}\n"
        factory_line = f"factory = {attr}"
    return (
        f'"""Replays poolspec\'s counterexample for {verdict.rule} on {report.target}."""\n\n'
        f"import model\n"
        f"from model import Config\n"
        f"from spec import replay\n"
        f"{imports}\n"
        f"{factory_line}\n\n\n"
        f"def test_{verdict.rule.lower().replace('-', '_')}_counterexample() -> None:\n"
        f'    """{verdict.divergence.split(":", 1)[0]}: the pool must agree with the model."""\n'
        f"    replay(\n"
        f"        {report.profile!r},\n"
        f"        {config},\n"
        f"        {ops!r},\n"
        f"        factory,\n"
        f"    )\n"
    )
