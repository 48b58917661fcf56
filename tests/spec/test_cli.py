"""The poolspec command: exit statuses, reports for people and for programs."""

from __future__ import annotations

import json
import pathlib

import pytest

from spec._cli import main


def test_explore_prints_report_and_json(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """explore checks a small configuration, prints counts and writes the same as JSON."""
    out = tmp_path / "explore.json"
    code = main(["explore", "--plain", "--set", "max_size=1", "--actors", "2", "--faults", "0",
                 "--json", str(out)])
    printed = capsys.readouterr()
    assert code == 0
    assert "explored 94 states" in printed.out
    assert "exploring max_size=1" in printed.err
    data = json.loads(out.read_text())
    assert data["states"] == 94 and data["ok"] is True and data["violations"] == []


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["explore", "--set", "max_size=zero"], "max_size needs an int"),
        (["explore", "--set", "nosuch=1"], "unknown config parameter 'nosuch'"),
        (["explore", "--set", "reset=sometimes"], "reset must be one of"),
        (["explore", "--plain", "--set", "max_size=0"], "max_size must be >= 1, got 0"),
        (["explore", "--actors", "0"], "actors must be an int >= 1, got 0"),
        (["check", "nomodule"], "TARGET must be module:attribute"),
        (["check", "no_such_module_xyz:Pool"], "cannot import 'no_such_module_xyz'"),
        (["check", "json:NoSuchThing"], "'json' has no attribute 'NoSuchThing'"),
        (["check", "json:dumps"], "cannot tell the API shape"),
        (["check", "--examples", "0"], "--examples must be >= 1, got 0"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad command line exits with status 2 and says what was wrong."""
    assert main(argv) == 2
    assert needle in capsys.readouterr().err


def test_unknown_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse errors also exit with status 2."""
    assert main(["check", "--no-such-flag"]) == 2
    capsys.readouterr()


def test_check_own_pool_passes(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check with no target checks our own pool: a row per rule, exit 0, the same in JSON."""
    out = tmp_path / "check.json"
    code = main(["check", "--examples", "8", "--steps", "12", "--seed", "3", "--json", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.out
    assert "verdict: PASS" in printed.out
    assert "CAP-1" in printed.out and "WAIT-3" in printed.out
    data = json.loads(out.read_text())
    assert data["verdict"] == "pass"
    rules = {r["id"]: r["status"] for r in data["targets"][0]["rules"]}
    assert rules["CAP-1"] == "pass"
    assert set(rules.values()) <= {"pass", "n/a"}
