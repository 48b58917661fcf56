"""The ``poolspec reliability`` command: wiring, skipped servers, the markdown report."""

from __future__ import annotations

from typing import Any

import pytest

from spec import _reliability
from spec._cli import _parser
from spec._reliability_servers import MariaDB, Postgres


def test_subcommand_is_wired() -> None:
    """`poolspec reliability --quick --json F --write F` parses into the reliability runner."""
    args = _parser().parse_args(["reliability", "--quick", "--json", "x", "--write", "y"])
    assert args.quick
    assert (args.json, args.write) == ("x", "y")
    assert args.run.__module__ == "spec._reliability_cli"


@pytest.mark.parametrize(
    ("make", "var"), [(Postgres, "POOLSPEC_PG_PORT"), (MariaDB, "POOLSPEC_MARIADB_PORT")]
)
def test_unreachable_server_is_skipped_with_reason(
    monkeypatch: pytest.MonkeyPatch, make: Any, var: str
) -> None:
    """A server that does not answer is reported skipped with the reason, and nothing runs."""
    monkeypatch.setenv(var, "1")  # nothing listens on port 1
    ran: list[object] = []
    section = _reliability._server(make, lambda t: ran.append(t) or {})
    assert ran == []
    assert "not reachable" in section["skipped"]


def _report(load_ok: bool) -> dict[str, Any]:
    load = {
        "threads": 2,
        "max_size": 1,
        "operations": 10,
        "faults": {"kill-idle": 1},
        "faults_total": 1,
        "errors_in_transaction": 0,
        "commits_in_doubt": 0,
        "errors_connect_failed": 0,
        "errors_second_fault": 0,
        "unexpected": [],
        "tokens_torn": 0,
        "backend_open_at_end": 1,
        "pool_open_at_end": 1,
        "leaked_after_close": 0,
        "ok": load_ok,
    }
    return {
        "command": "poolspec reliability --quick",
        "generated": "now",
        "python": "3",
        "seconds": 1.0,
        "load": {
            "sqlite3 soak": load,
            "PostgreSQL kills": {"skipped": "PostgreSQL not reachable: x"},
        },
        "restart": {"skipped": "PostgreSQL not reachable: x"},
        "isolation": {"MariaDB": {"skipped": "MariaDB not reachable: y"}},
        "injection": {},
        "input": {"cases": 3, "parameters": 1, "problems": {}},
        "hygiene": {},
    }


def test_skipped_parts_are_shown_and_do_not_pass_or_fail() -> None:
    """Skipped servers appear with their reason; the verdict follows only what ran."""
    report = _report(load_ok=True)
    text = _reliability.markdown({**report, "ok": _reliability.verdict(report)})
    assert "skipped: PostgreSQL not reachable: x" in text
    assert "**MariaDB**: skipped: MariaDB not reachable: y" in text
    assert _reliability.verdict(report)
    assert not _reliability.verdict(_report(load_ok=False))
