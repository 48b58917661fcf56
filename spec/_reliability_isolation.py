"""What the next borrower inherits: the isolation matrix, per reset mode and server.

A pool of one connection (``max_size=1``), so the second borrower always gets
the first one's connection. For each reset mode and each kind of leftover,
borrower A leaves the leftover and gives the connection back; borrower B
checks it out and looks for it. The verdict of a cell:

* ``leaks``: B sees it.
* ``cleared``: B does not (and, for rows, nobody else does either).
* ``committed``: B does not inherit A's open transaction, but A's rows were
  made permanent (mode ``commit``).

The leftovers:

=================== ==========================================================
transaction         A wrote without ``begin()`` and gave back mid-transaction
begun transaction   the same after ``begin()``
uncommitted rows    the rows of that implicit transaction
SET variable        A changed a session setting (and committed)
temporary table     A created one (and committed)
prepared statement  A prepared one (PostgreSQL, MariaDB)
advisory lock       A took a session-level named/advisory lock (PostgreSQL, MariaDB)
=================== ==========================================================

sqlite3 has no server session: prepared statements and advisory locks do
not apply, its "SET variable" is a ``PRAGMA``.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
from collections.abc import Callable
from typing import Any

import impl

from ._reliability_servers import MariaDB, Postgres, Target

#: The kinds of leftover, in report order.
KINDS = (
    "transaction",
    "begun transaction",
    "uncommitted rows",
    "SET variable",
    "temporary table",
    "prepared statement",
    "advisory lock",
)

#: The reset modes, in report order.
MODES = tuple(m.value for m in impl.ResetMode)

#: A cell's value when a kind does not apply to a server.
NOT_APPLICABLE = "n/a"

Matrix = dict[str, dict[str, str]]  # kind -> mode -> verdict


def _one(conn: Any, sql: str, params: tuple[Any, ...] | None = None) -> Any:
    """The first column of the first row of ``sql`` on a pooled handle."""
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


class _Dialect:
    """How to leave and to look for each leftover on one server."""

    name = ""
    kinds: tuple[str, ...] = KINDS
    ph = "%s"

    def __init__(self, token: str) -> None:
        self.token = token
        self.table = f"{token}_rows"

    def connect(self) -> Any:
        raise NotImplementedError

    def in_transaction(self, conn: Any) -> bool:
        raise NotImplementedError

    def leave(self, kind: str, conn: Any, row: str) -> None:
        if kind in ("transaction", "uncommitted rows", "begun transaction"):
            if kind == "begun transaction":
                conn.begin()
            conn.execute(f"INSERT INTO {self.table} (tag) VALUES ({self.ph})", (row,))
            return
        self.leave_session(kind, conn)
        conn.commit()

    def leave_session(self, kind: str, conn: Any) -> None:
        raise NotImplementedError

    def sees_session(self, kind: str, conn: Any) -> bool:
        raise NotImplementedError

    def look(self, kind: str, conn: Any, row: str) -> str:
        if kind in ("transaction", "begun transaction"):
            return "leaks" if self.in_transaction(conn.raw) else "cleared"
        if kind == "uncommitted rows":
            sql = f"SELECT COUNT(*) FROM {self.table} WHERE tag = {self.ph}"
            mine = int(_one(conn, sql, (row,)))
            outside = self.outside(sql, (row,))
            if outside:
                return "committed"
            return "leaks" if mine else "cleared"
        return "leaks" if self.sees_session(kind, conn) else "cleared"

    def outside(self, sql: str, params: tuple[Any, ...]) -> int:
        """A count read on a separate connection (what everybody else sees)."""
        raw = self.connect()
        try:
            cur = raw.cursor()
            cur.execute(sql, params)
            value = int(cur.fetchone()[0])
            cur.close()
            raw.rollback()
            return value
        finally:
            raw.close()

    def admin(self, sql: str) -> None:
        raw = self.connect()
        try:
            cur = raw.cursor()
            cur.execute(sql)
            cur.close()
            raw.commit()
        finally:
            raw.close()

    def setup(self) -> None:
        self.admin(f"CREATE TABLE {self.table} (tag VARCHAR(100))")

    def teardown(self) -> None:
        self.admin(f"DROP TABLE IF EXISTS {self.table}")


class _PgDialect(_Dialect):
    name = "PostgreSQL"

    def __init__(self, token: str, target: Postgres) -> None:
        super().__init__(token)
        self.target = target
        self.key = random.randrange(1, 1 << 30)

    def connect(self) -> Any:
        return self.target.connect()

    def in_transaction(self, conn: Any) -> bool:
        return bool(conn.info.transaction_status != self.target.dbapi.pq.TransactionStatus.IDLE)

    def leave_session(self, kind: str, conn: Any) -> None:
        sql = {
            "SET variable": "SET work_mem = '1234kB'",
            "temporary table": f"CREATE TEMP TABLE {self.token}_tmp (x INT)",
            "prepared statement": f"PREPARE {self.token}_ps AS SELECT 1",
            "advisory lock": f"SELECT pg_advisory_lock({self.key})",
        }[kind]
        conn.execute(sql).close()

    def sees_session(self, kind: str, conn: Any) -> bool:
        if kind == "SET variable":
            return bool(_one(conn, "SHOW work_mem") == "1234kB")
        if kind == "temporary table":
            return _one(conn, f"SELECT to_regclass('pg_temp.{self.token}_tmp')") is not None
        if kind == "prepared statement":
            sql = "SELECT COUNT(*) FROM pg_prepared_statements WHERE name = %s"
            return bool(_one(conn, sql, (f"{self.token}_ps",)))
        sql = (
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = pg_backend_pid() AND objid = %s AND granted"
        )
        return bool(_one(conn, sql, (self.key,)))


class _MariaDialect(_Dialect):
    name = "MariaDB"

    def __init__(self, token: str, target: MariaDB) -> None:
        super().__init__(token)
        self.target = target

    def connect(self) -> Any:
        return self.target.connect()

    def in_transaction(self, conn: Any) -> bool:
        cur = conn.cursor()
        cur.execute("SELECT @@in_transaction")
        value = cur.fetchone()[0]
        cur.close()
        return bool(value)

    def setup(self) -> None:
        self.admin(f"CREATE TABLE {self.table} (tag VARCHAR(100)) ENGINE=InnoDB")

    def leave_session(self, kind: str, conn: Any) -> None:
        sql = {
            "SET variable": "SET @poolspec_leak = 42",
            "temporary table": f"CREATE TEMPORARY TABLE {self.token}_tmp (x INT)",
            "prepared statement": f"PREPARE {self.token}_ps FROM 'SELECT 1'",
            "advisory lock": f"SELECT GET_LOCK('{self.token}', 0)",
        }[kind]
        conn.execute(sql).close()

    def sees_session(self, kind: str, conn: Any) -> bool:
        if kind == "SET variable":
            return bool(_one(conn, "SELECT @poolspec_leak") == 42)
        if kind == "advisory lock":
            return bool(_one(conn, f"SELECT IS_USED_LOCK('{self.token}') = CONNECTION_ID()"))
        sql = {
            "temporary table": f"SELECT COUNT(*) FROM {self.token}_tmp",
            "prepared statement": f"EXECUTE {self.token}_ps",
        }[kind]
        try:
            conn.raw.cursor().execute(sql)
        except self.target.dbapi.Error:
            return False
        return True


class _SqliteDialect(_Dialect):
    name = "sqlite3"
    kinds = (
        "transaction",
        "begun transaction",
        "uncommitted rows",
        "SET variable",
        "temporary table",
    )
    ph = "?"

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self._dir = tempfile.TemporaryDirectory(prefix="poolspec-iso-")
        self.path = os.path.join(self._dir.name, "iso.db")

    def connect(self) -> Any:
        return sqlite3.connect(self.path, check_same_thread=False, isolation_level="DEFERRED")

    def in_transaction(self, conn: Any) -> bool:
        return bool(conn.in_transaction)

    def leave_session(self, kind: str, conn: Any) -> None:
        sql = {
            "SET variable": "PRAGMA cache_size = -1234",
            "temporary table": f"CREATE TEMP TABLE {self.token}_tmp (x)",
        }[kind]
        conn.execute(sql).close()

    def sees_session(self, kind: str, conn: Any) -> bool:
        if kind == "SET variable":
            return bool(_one(conn, "PRAGMA cache_size") == -1234)
        sql = "SELECT COUNT(*) FROM sqlite_temp_master WHERE name = ?"
        return bool(_one(conn, sql, (f"{self.token}_tmp",)))

    def teardown(self) -> None:
        self._dir.cleanup()


def _cell(dialect: _Dialect, mode: str, kind: str) -> str:
    """Borrower A leaves ``kind`` behind under ``mode``; what borrower B finds."""
    row = f"{mode}:{kind}"
    pool = impl.Pool(dialect.connect, max_size=1, reset=impl.ResetMode(mode), timeout=10.0)
    try:
        a = pool.acquire()
        try:
            dialect.leave(kind, a, row)
        finally:
            a.close()
        b = pool.acquire()
        try:
            return dialect.look(kind, b, row)
        finally:
            b.close()
    finally:
        pool.close()


def isolation_matrix(dialect: _Dialect, on_cell: Callable[[str], None] | None = None) -> Matrix:
    """Every cell for one server: kind -> mode -> verdict (``n/a`` where it does not apply)."""
    matrix: Matrix = {}
    dialect.setup()
    try:
        for kind in KINDS:
            row: dict[str, str] = {}
            for mode in MODES:
                if kind not in dialect.kinds:
                    row[mode] = NOT_APPLICABLE
                    continue
                row[mode] = _cell(dialect, mode, kind)
                if on_cell is not None:
                    on_cell(f"{dialect.name}: {kind} / {mode}: {row[mode]}")
            matrix[kind] = row
    finally:
        dialect.teardown()
    return matrix


def sqlite_matrix(token: str) -> Matrix:
    """The matrix on sqlite3 (a file database in a temporary directory)."""
    return isolation_matrix(_SqliteDialect(token))


def server_matrix(target: Target, token: str) -> Matrix:
    """The matrix on a real server reached through ``target`` (its marker labels the sessions)."""
    if isinstance(target, Postgres):
        return isolation_matrix(_PgDialect(token, target))
    if isinstance(target, MariaDB):
        return isolation_matrix(_MariaDialect(token, target))
    raise TypeError(f"no isolation dialect for {target!r}")
