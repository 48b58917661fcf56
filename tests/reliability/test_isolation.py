"""The isolation matrix: what the next borrower inherits, per reset mode, pinned per server."""

from __future__ import annotations

import pytest

from spec._reliability_isolation import KINDS, MODES, server_matrix, sqlite_matrix
from spec._reliability_servers import MariaDB, Postgres, new_marker


def _expected(*, server: bool) -> dict[str, dict[str, str]]:
    """The matrix observed on every server: only ``full`` clears session state."""
    rows = {
        "transaction": ("leaks", "leaks", "cleared", "cleared", "cleared"),
        "begun transaction": ("leaks", "cleared", "cleared", "cleared", "cleared"),
        "uncommitted rows": ("leaks", "leaks", "cleared", "committed", "cleared"),
        "SET variable": ("leaks", "leaks", "leaks", "leaks", "cleared"),
        "temporary table": ("leaks", "leaks", "leaks", "leaks", "cleared"),
        "prepared statement": ("leaks", "leaks", "leaks", "leaks", "cleared"),
        "advisory lock": ("leaks", "leaks", "leaks", "leaks", "cleared"),
    }
    if not server:
        rows["prepared statement"] = ("n/a",) * 5
        rows["advisory lock"] = ("n/a",) * 5
    return {kind: dict(zip(MODES, rows[kind], strict=True)) for kind in KINDS}


def test_sqlite_matrix_is_pinned() -> None:
    """On sqlite3 transactions end under rollback/commit/full; PRAGMAs, temp tables under full."""
    assert sqlite_matrix(new_marker()) == _expected(server=False)


@pytest.mark.server
def test_postgres_matrix_is_pinned(pg_target: Postgres) -> None:
    """On PostgreSQL only `full` (DISCARD ALL) clears SET, temp tables, statements, locks."""
    assert server_matrix(pg_target, pg_target.marker) == _expected(server=True)


@pytest.mark.server
def test_mariadb_matrix_is_pinned(maria_target: MariaDB) -> None:
    """On MariaDB only `full` (a reconnect) clears variables, temp tables, statements, locks."""
    assert server_matrix(maria_target, maria_target.marker) == _expected(server=True)


def test_full_mode_leaves_nothing_on_sqlite() -> None:
    """The full reset mode's column is all `cleared` where a kind applies."""
    matrix = sqlite_matrix(new_marker())
    assert {row["full"] for row in matrix.values()} <= {"cleared", "n/a"}
    assert {row["none"] for row in matrix.values()} == {"leaks", "n/a"}
