"""``poolspec race``: the report, the JSON, and the exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spec._cli import main

pytestmark = pytest.mark.stateful


def test_our_pool_nothing_found(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Exit 0, a line per scenario, progress on stderr, and the same verdict in JSON."""
    out = tmp_path / "race.json"
    code = main(
        ["race", "--scenario", "handoff", "--schedules", "50", "--seed", "3", "--json", str(out)]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "nothing found" in captured.out
    assert "handoff" in captured.out
    assert "racing poolspec" in captured.err
    assert "50 schedules" in captured.err
    data = json.loads(out.read_text())
    assert data["verdict"] == "not found"
    assert data["scenarios"][0]["schedules"] == 50


def test_linearize_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """--linearize checks each schedule's history too; our pool passes."""
    code = main(["race", "--scenario", "failed-connect", "--schedules", "10", "--linearize"])
    assert code == 0
    assert "nothing found" in capsys.readouterr().out


def test_sqlalchemy_found_with_trace(capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 1 and the trace of the first failing schedule, naming SQLAlchemy's code."""
    pytest.importorskip("sqlalchemy")
    code = main(
        [
            "race",
            "sqlalchemy.pool:QueuePool",
            "--scenario",
            "failed-connect",
            "--strategy",
            "pct",
            "--schedules",
            "50",
            "--seed",
            "1",
            "--json",
            "-",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "FOUND" in out
    assert "WAIT-3" in out
    assert "sqlalchemy/pool/impl.py" in out
    data = json.loads(out[out.index("{") :])
    scenario = data["scenarios"][0]
    assert scenario["finding"]["rule"] == "WAIT-3"
    assert scenario["choices"]
    assert scenario["history"]


def test_dbutils_exhaustive(capsys: pytest.CaptureFixture[str]) -> None:
    """DBUtils' PooledDB runs, and the exhaustive search says when it covered the bound."""
    pytest.importorskip("dbutils")
    code = main(
        [
            "race",
            "dbutils.pooled_db:PooledDB",
            "--scenario",
            "handoff",
            "--strategy",
            "exhaustive",
            "--depth",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "every schedule within the bound" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["race", "nosuchmodule:Pool"], "cannot import 'nosuchmodule'"),
        (["race", "nonsense"], "TARGET must be"),
        (["race", "--schedules", "0"], "--schedules must be >= 1, got 0"),
        (["race", "--strategy", "pct", "--depth", "0"], "--depth must be >= 1"),
        (
            ["race", "dbutils.pooled_db:PooledDB", "--scenario", "invalidate-kill"],
            "cannot be invalidated",
        ),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """A bad target, budget, depth or scenario exits 2 with the bad value named."""
    assert main(argv) == 2
    assert message in capsys.readouterr().err
