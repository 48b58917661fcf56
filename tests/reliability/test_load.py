"""Killed connections under concurrent load: plain work never fails, transactions surface it."""

from __future__ import annotations

from typing import Any

import pytest

import impl
from spec._reliability_load import ServerBackend, SqliteBackend, run_load
from spec._reliability_servers import MariaDB, Postgres, Target


def _assert_held(result: Any) -> None:
    data = result.as_dict()
    assert data["unexpected"] == [], data
    assert data["invariant_violations"] == [], data
    assert data["tokens_torn"] == 0, data
    assert result.transactions_ok <= result.tokens_found, data
    assert result.tokens_found <= result.transactions_ok + result.commits_in_doubt, data
    assert result.backend_open_at_end == result.pool_open_at_end, data
    assert result.leaked_after_close == 0, data
    assert result.ok


def _server_load(target: Target, faults: int) -> Any:
    backend = ServerBackend(target)
    try:
        return run_load(backend, threads=6, ops_per_thread=60, faults=faults, seed=1)
    finally:
        backend.close()


def test_sqlite_soak_short() -> None:
    """Under killed connections, refused connects and failed pings nothing leaks on sqlite3."""
    backend = SqliteBackend()
    try:
        result = run_load(backend, threads=6, ops_per_thread=150, faults=40, seed=2)
    finally:
        backend.close()
    _assert_held(result)
    assert sum(result.faults.values()) == 40
    assert result.plain_ok > 0
    assert result.transactions_ok > 0


@pytest.mark.server
def test_postgres_killed_connections(pg_target: Postgres) -> None:
    """pg_terminate_backend of idle and busy sessions: no error outside a transaction, no leak."""
    result = _server_load(pg_target, faults=15)
    _assert_held(result)
    assert sum(result.faults.values()) == 15


@pytest.mark.server
def test_mariadb_killed_connections(maria_target: MariaDB) -> None:
    """KILL of idle and busy sessions: no error outside a transaction, no leak."""
    result = _server_load(maria_target, faults=15)
    _assert_held(result)
    assert sum(result.faults.values()) == 15


def _killed_inside_transaction(target: Target) -> None:
    """Kill the session between two statements of a begun transaction, from the server side."""
    dbapi = target.dbapi
    failures = (dbapi.OperationalError, dbapi.InterfaceError)
    pool = impl.Pool(target.connect, max_size=1, ping=impl.Ping.ON_CHECKOUT, failures=failures)
    admin = target.admin()
    try:
        conn = pool.acquire()
        conn.begin()
        conn.execute("SELECT 1").fetchall()
        raw = conn.raw
        created = pool.stats().created
        (session,) = target.sessions(admin)
        target.kill(admin, session.ident)
        with pytest.raises(failures):
            conn.execute("SELECT 2").fetchall()
        assert conn.raw is raw, "the statement was retried on a new connection"
        assert pool.stats().created == created
        conn.close()  # broken: closed, not kept
        with pool.acquire() as again:  # the pool recovers
            assert again.raw is not raw
            assert again.execute("SELECT 3").fetchall()[0][0] == 3
    finally:
        pool.close()
        admin.close()


@pytest.mark.server
def test_postgres_error_inside_transaction_surfaces(pg_target: Postgres) -> None:
    """A session killed mid-transaction raises at the next statement; nothing is retried."""
    _killed_inside_transaction(pg_target)


@pytest.mark.server
def test_mariadb_error_inside_transaction_surfaces(maria_target: MariaDB) -> None:
    """A session killed mid-transaction raises at the next statement; nothing is retried."""
    _killed_inside_transaction(maria_target)


def _killed_while_idle(target: Target) -> None:
    """Every idle session killed: the next checkouts ping, replace, and never fail."""
    dbapi = target.dbapi
    pool = impl.Pool(
        target.connect,
        max_size=3,
        min_idle=3,
        ping=impl.Ping.ON_CHECKOUT,
        failures=(dbapi.OperationalError, dbapi.InterfaceError),
    )
    admin = target.admin()
    try:
        for session in target.sessions(admin):
            target.kill(admin, session.ident)
        held = [pool.acquire() for _ in range(3)]
        for conn in held:
            assert conn.execute("SELECT 1").fetchall()[0][0] == 1
            conn.close()
        assert pool.stats().open == 3
    finally:
        pool.close()
        admin.close()


@pytest.mark.server
def test_postgres_idle_killed_replaced(pg_target: Postgres) -> None:
    """Idle sessions terminated by the server are replaced at checkout without an error."""
    _killed_while_idle(pg_target)


@pytest.mark.server
def test_mariadb_idle_killed_replaced(maria_target: MariaDB) -> None:
    """Idle sessions killed by the server are replaced at checkout without an error."""
    _killed_while_idle(maria_target)


@pytest.mark.long
@pytest.mark.server
def test_postgres_soak_long(pg_target: Postgres) -> None:
    """A longer soak on PostgreSQL: thousands of operations, hundreds of kills, nothing leaked."""
    backend = ServerBackend(pg_target)
    try:
        result = run_load(backend, threads=12, ops_per_thread=600, faults=200, seed=3)
    finally:
        backend.close()
    _assert_held(result)


@pytest.mark.long
def test_sqlite_soak_long() -> None:
    """A longer soak on sqlite3: thousands of operations and faults, nothing leaked."""
    backend = SqliteBackend()
    try:
        result = run_load(backend, threads=16, ops_per_thread=1500, faults=600, seed=4)
    finally:
        backend.close()
    _assert_held(result)
