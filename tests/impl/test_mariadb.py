"""The engine and its front doors on real MariaDB connections, through pymysql.

Every test runs against the server on 127.0.0.1:3306 (see ``tests/servers.py``
for the address, the skip and the CI rule) and is parametrized over the ways
in that can express its policy: the engine (``Pool``), ``QueuePool`` (no
session statements, no failover) and ``PooledDB``.

A full reset (``ResetMode.FULL``) on MariaDB through pymysql is the engine's
fallback: roll back, close, connect a replacement (and run the session
statements on it). pymysql's connection has no ``reset()``, and MariaDB has
no SQL statement to pass as ``full_reset_sql``: resetting a session is the
protocol command COM_RESET_CONNECTION, and ``RESET CONNECTION`` is a syntax
error in MariaDB 10.11 (pinned below).

A connection is ended server-side with ``KILL <id>`` from another connection;
pymysql's next call on it raises ``OperationalError`` (2013, "Lost connection
to MySQL server during query"), and a later one ``InterfaceError``.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import pytest

from impl import Ping, Pool, PooledDB, QueuePool, ResetMode
from tests.servers import ServerConnect

pytestmark = pytest.mark.server

#: The sql_mode the session statements set (the server's default is different).
SESSION_MODE = "ANSI_QUOTES"

#: The session statement of the tests that use one.
SET_MODE = f"SET SESSION sql_mode = '{SESSION_MODE}'"


# -- the ways in ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Door:
    """One way in to the engine, translating the tests' policies into its own spelling.

    Attributes:
        name: the test id.
        build: ``build(factory, size, session, reset, ping, failures)`` -> a pool.
        checkout: the pool's checkout method, called on the pool.
        sessions: whether it takes session statements.
        failover: whether it takes failure types (transparent reopen).
    """

    name: str
    build: Callable[..., Any]
    checkout: Callable[[Any], Any]
    sessions: bool
    failover: bool

    def __str__(self) -> str:
        return self.name

    def open(
        self,
        factory: ServerConnect,
        *,
        size: int = 1,
        session: tuple[str, ...] = (),
        reset: ResetMode = ResetMode.ROLLBACK,
        ping: bool = False,
        failures: tuple[type[BaseException], ...] = (),
    ) -> Any:
        """A pool of at most ``size`` connections with these policies."""
        assert self.sessions or not session, f"{self.name} takes no session statements"
        assert self.failover or not failures, f"{self.name} takes no failure types"
        return self.build(factory, size, session, reset, ping, failures)


def _engine(
    factory: ServerConnect,
    size: int,
    session: tuple[str, ...],
    reset: ResetMode,
    ping: bool,
    failures: tuple[type[BaseException], ...],
) -> Pool:
    return Pool(
        factory,
        max_size=size,
        session=session,
        reset=reset,
        ping=Ping.ON_CHECKOUT if ping else Ping.NEVER,
        failures=failures,
    )


def _queue(
    factory: ServerConnect,
    size: int,
    session: tuple[str, ...],
    reset: ResetMode,
    ping: bool,
    failures: tuple[type[BaseException], ...],
) -> QueuePool:
    return QueuePool(factory, pool_size=size, max_overflow=0, reset_on_return=reset, pre_ping=ping)


def _pooled(
    factory: ServerConnect,
    size: int,
    session: tuple[str, ...],
    reset: ResetMode,
    ping: bool,
    failures: tuple[type[BaseException], ...],
) -> PooledDB:
    return PooledDB(
        factory,
        maxconnections=size,
        setsession=list(session),
        reset=reset,
        failures=failures,
        ping=1 if ping else 0,
    )


ENGINE = Door("Pool", _engine, Pool.acquire, sessions=True, failover=True)
QUEUE = Door("QueuePool", _queue, operator.methodcaller("connect"), sessions=False, failover=False)
POOLED = Door("PooledDB", _pooled, PooledDB.connection, sessions=True, failover=True)

#: Every way in, and those that take failure types.
DOORS = (ENGINE, QUEUE, POOLED)
FAILOVER_DOORS = tuple(door for door in DOORS if door.failover)


# -- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def table(mariadb: ServerConnect) -> Iterator[str]:
    """An empty InnoDB table with a name unique to this run, dropped after the module."""
    name = f"poolspec_{uuid.uuid4().hex[:12]}"
    with closing(mariadb(autocommit=True)) as conn, conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {name} (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(40)) "
            "ENGINE=InnoDB"
        )
        try:
            yield name
        finally:
            cur.execute(f"DROP TABLE {name}")


@pytest.fixture(scope="module")
def failures(mariadb: ServerConnect) -> tuple[type[BaseException], ...]:
    """pymysql's lost-connection errors: what a transparent reopen retries on."""
    err = mariadb.dbapi.err
    return (err.OperationalError, err.InterfaceError)


def value(conn: Any, sql: str, params: Any = None) -> Any:
    """The first column of a statement's first row, run through a pooled handle."""
    cur = conn.cursor()
    try:
        cur.execute(sql, params)
        row = cur.fetchone()
    finally:
        cur.close()
    assert row is not None, f"{sql!r} returned no row"
    return row[0]


def run(conn: Any, sql: str, params: Any = None) -> None:
    """Run one statement through a pooled handle (or a driver connection)."""
    cur = conn.cursor()
    try:
        cur.execute(sql, params)
    finally:
        cur.close()


def connection_id(conn: Any) -> int:
    """The server's id for the session behind a handle (its transaction is left open)."""
    return int(value(conn, "SELECT CONNECTION_ID()"))


def sql_mode(conn: Any) -> str:
    """The session's sql_mode."""
    return str(value(conn, "SELECT @@SESSION.sql_mode"))


def rows(admin: Any, table: str) -> int:
    """The committed rows of ``table``, as another (autocommit) connection sees them."""
    return int(value(admin, f"SELECT COUNT(*) FROM {table}"))


def kill(admin: Any, cid: int) -> None:
    """End a session server-side; its socket is shut down before KILL returns."""
    run(admin, "KILL CONNECTION %s", (cid,))


def counts(pool: Any) -> tuple[int, int, int]:
    """(open, created, closed) from the pool's statistics."""
    s = pool.stats()
    return s.open, s.created, s.closed


def default_mode(admin: Any) -> str:
    """The sql_mode a new session starts with."""
    return str(value(admin, "SELECT @@GLOBAL.sql_mode"))


# -- checkout and return ----------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS, ids=str)
def test_rollback_reset_hides_an_uncommitted_insert(
    door: Door, mariadb: ServerConnect, mariadb_admin: Any, table: str
) -> None:
    """An uncommitted INSERT is seen by its borrower only, and is gone for the next one."""
    with closing(door.open(mariadb)) as pool:
        with door.checkout(pool) as conn:
            cid = connection_id(conn)
            run(conn, f"INSERT INTO {table} (note) VALUES (%s)", ("uncommitted",))
            assert value(conn, f"SELECT COUNT(*) FROM {table}") == 1
            assert rows(mariadb_admin, table) == 0
        with door.checkout(pool) as conn:
            assert connection_id(conn) == cid  # the same session, rolled back, not reopened
            assert value(conn, f"SELECT COUNT(*) FROM {table}") == 0
        assert rows(mariadb_admin, table) == 0
        assert counts(pool) == (1, 1, 0)


@pytest.mark.parametrize("door", [d for d in DOORS if d.sessions], ids=str)
def test_session_statements_run_on_every_new_connection(
    door: Door, mariadb: ServerConnect, mariadb_admin: Any
) -> None:
    """Each new connection gets the session's sql_mode, and keeps it across a rollback reset."""
    with closing(door.open(mariadb, size=2, session=(SET_MODE,))) as pool:
        with door.checkout(pool) as first, door.checkout(pool) as second:
            assert connection_id(first) != connection_id(second)
            assert sql_mode(first) == sql_mode(second) == SESSION_MODE
        with door.checkout(pool) as conn:
            assert sql_mode(conn) == SESSION_MODE
        assert counts(pool) == (2, 2, 0)
    assert sql_mode(mariadb_admin) == default_mode(mariadb_admin) != SESSION_MODE


@pytest.mark.parametrize("door", DOORS, ids=str)
def test_rollback_reset_lets_a_set_variable_leak(door: Door, mariadb: ServerConnect) -> None:
    """A rollback keeps session state: a user variable set by one borrower reaches the next."""
    with closing(door.open(mariadb)) as pool:
        with door.checkout(pool) as conn:
            run(conn, "SET @leak = 42")
        with door.checkout(pool) as conn:
            assert value(conn, "SELECT @leak") == 42


# -- full reset -----------------------------------------------------------------------------


def test_reset_connection_is_not_sql(mariadb: ServerConnect, mariadb_admin: Any) -> None:
    """MariaDB has no SQL full reset: RESET CONNECTION is a syntax error, so FULL reconnects."""
    with pytest.raises(mariadb.dbapi.err.ProgrammingError) as caught:
        run(mariadb_admin, "RESET CONNECTION")
    assert caught.value.args[0] == 1064  # ER_PARSE_ERROR
    assert not hasattr(mariadb_admin, "reset")  # and pymysql has no reset() either


@pytest.mark.parametrize("door", DOORS, ids=str)
def test_full_reset_reconnects_so_no_session_state_leaks(
    door: Door, mariadb: ServerConnect, mariadb_admin: Any, table: str
) -> None:
    """FULL falls back to rollback, close and reconnect: no variable, mode or row survives."""
    session = (SET_MODE,) if door.sessions else ()
    expected = SESSION_MODE if door.sessions else default_mode(mariadb_admin)
    with closing(door.open(mariadb, session=session, reset=ResetMode.FULL)) as pool:
        with door.checkout(pool) as conn:
            cid = connection_id(conn)
            run(conn, "SET @leak = 42")
            run(conn, "SET SESSION sql_mode = 'PIPES_AS_CONCAT'")
            run(conn, f"INSERT INTO {table} (note) VALUES (%s)", ("uncommitted",))
        with door.checkout(pool) as conn:
            assert connection_id(conn) != cid
            assert value(conn, "SELECT @leak") is None
            assert sql_mode(conn) == expected
            assert value(conn, f"SELECT COUNT(*) FROM {table}") == 0
        assert counts(pool) == (1, 3, 2)  # each of the two returns closed and reconnected
    assert rows(mariadb_admin, table) == 0


# -- lost connections -----------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS, ids=str)
def test_ping_on_checkout_replaces_a_killed_connection(
    door: Door, mariadb: ServerConnect, mariadb_admin: Any
) -> None:
    """The checkout ping finds a session the server killed and hands out a new one, set up."""
    session = (SET_MODE,) if door.sessions else ()
    with closing(door.open(mariadb, session=session, ping=True)) as pool:
        with door.checkout(pool) as conn:
            cid = connection_id(conn)
        kill(mariadb_admin, cid)
        with door.checkout(pool) as conn:
            assert connection_id(conn) != cid
            if door.sessions:
                assert sql_mode(conn) == SESSION_MODE
        assert counts(pool) == (1, 2, 1)


@pytest.mark.parametrize("door", FAILOVER_DOORS, ids=str)
def test_transparent_reopen_after_a_kill(
    door: Door,
    mariadb: ServerConnect,
    mariadb_admin: Any,
    failures: tuple[type[BaseException], ...],
) -> None:
    """Outside a transaction, a statement on a killed session reruns on a new, set-up one."""
    with closing(door.open(mariadb, session=(SET_MODE,), failures=failures)) as pool:
        with door.checkout(pool) as conn:
            cid = connection_id(conn)
            conn.commit()
            kill(mariadb_admin, cid)
            assert connection_id(conn) != cid
            assert sql_mode(conn) == SESSION_MODE
        assert counts(pool) == (1, 2, 1)


@pytest.mark.parametrize("door", FAILOVER_DOORS, ids=str)
def test_kill_inside_a_transaction_surfaces_the_error(
    door: Door,
    mariadb: ServerConnect,
    mariadb_admin: Any,
    table: str,
    failures: tuple[type[BaseException], ...],
) -> None:
    """Inside a transaction the lost connection's error surfaces; it is replaced after return."""
    with closing(door.open(mariadb, failures=failures)) as pool:
        with door.checkout(pool) as conn:
            cid = connection_id(conn)
            run(conn, f"INSERT INTO {table} (note) VALUES (%s)", ("killed",))
            kill(mariadb_admin, cid)
            with pytest.raises(mariadb.dbapi.err.OperationalError):
                connection_id(conn)
        assert counts(pool) == (0, 1, 1)  # broken: closed when given back
        assert rows(mariadb_admin, table) == 0  # the server rolled the insert back
        with door.checkout(pool) as conn:
            assert connection_id(conn) != cid
        assert counts(pool) == (1, 2, 1)


def test_pooleddb_finds_pymysql_failures_through_the_factory(mariadb: ServerConnect) -> None:
    """PooledDB(failures=None) takes pymysql's lost-connection errors from the factory's dbapi."""
    err = mariadb.dbapi.err
    with closing(PooledDB(mariadb)) as pool:
        assert pool.config.failures == (err.OperationalError, err.InterfaceError, err.InternalError)
        assert counts(pool) == (0, 0, 0)
