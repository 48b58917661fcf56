"""The front doors with no PostgreSQL test elsewhere, each pinned on real psycopg 3 sessions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import impl
from impl import (
    AssertionPool,
    AssertionPoolError,
    NullPool,
    PersistentDB,
    ResetMode,
    SessionPool,
    SingletonPool,
    SingletonThreadPool,
    StaticPool,
)
from tests.impl.impl_support import PATIENCE, Worker, backend_pid, terminate
from tests.servers import ServerConnect

pytestmark = pytest.mark.server


def pids_of_two_threads(checkout: Callable[[], Any]) -> tuple[int, int]:
    """The backend pids two threads see while both hold a checkout at once."""
    both_hold = threading.Barrier(2, timeout=PATIENCE)

    def run() -> int:
        conn = checkout()
        pid = backend_pid(conn)
        both_hold.wait()  # neither gives back before the other has its own
        conn.close()
        return pid

    first, second = Worker(run, "first").start(), Worker(run, "second").start()
    return first.join(), second.join()


def backend_alive(admin: Any, pid: int) -> bool:
    """Whether pg_stat_activity still lists the backend ``pid``."""
    row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return bool(row[0])


def test_singleton_thread_pool_one_backend_per_thread(postgres: ServerConnect) -> None:
    """SingletonThreadPool: a thread's nested and later checkouts share one pid; threads differ."""
    pool = SingletonThreadPool(postgres, pool_size=3)  # this thread and two more
    outer = pool.connect()
    inner = pool.connect()
    pid = backend_pid(outer)
    assert backend_pid(inner) == pid
    inner.close()
    outer.close()
    with pool.connect() as again:
        assert backend_pid(again) == pid
    first, second = pids_of_two_threads(pool.connect)
    assert len({first, second}) == 2
    pool.close()


def test_persistentdb_one_backend_per_thread(postgres: ServerConnect) -> None:
    """PersistentDB: a thread's repeated connection() is one backend; another thread has its own."""
    persist = PersistentDB(postgres.dbapi, **postgres.params)
    with persist.connection() as conn:
        pid = backend_pid(conn)
        conn.commit()
    with persist.connection() as conn, persist.connection() as nested:
        assert backend_pid(conn) == pid
        assert backend_pid(nested) == pid
    first, second = pids_of_two_threads(persist.connection)
    assert len({first, second}) == 2
    persist.close()


def test_singletonpool_one_backend_per_thread(postgres: ServerConnect) -> None:
    """SingletonPool: a thread's nested and later connect() share one backend; threads differ."""
    pool = SingletonPool(postgres)
    with pool.connect() as conn, pool.connect() as nested:
        pid = backend_pid(conn)
        assert backend_pid(nested) == pid
    conn = pool.connect()
    assert backend_pid(conn) == pid
    pool.release(conn)
    first, second = pids_of_two_threads(pool.connect)
    assert len({first, second}) == 2
    pool.close()


def test_nullpool_closes_the_backend_on_return(
    postgres: ServerConnect, postgres_admin: Any
) -> None:
    """NullPool: every checkout is a new backend, and the returned one's session ends."""
    made: list[Any] = []

    def creator() -> Any:
        made.append(postgres())
        return made[-1]

    pool = NullPool(creator)
    with pool.connect() as conn:
        first = backend_pid(conn)
    assert made[0].closed
    with pool.connect() as conn:
        assert backend_pid(conn) != first
    # the server ends the backend after the client's goodbye: allow it a moment, never sleep
    deadline = time.monotonic() + PATIENCE
    while backend_alive(postgres_admin, first) and time.monotonic() < deadline:
        pass
    assert not backend_alive(postgres_admin, first)
    stats = pool.stats()
    assert (stats.open, stats.created, stats.closed) == (0, 2, 2)
    pool.close()


def test_staticpool_shares_one_backend(postgres: ServerConnect) -> None:
    """StaticPool: two holders at once use one backend, which is kept after both give it back."""
    pool = StaticPool(postgres)
    first = pool.connect()
    second = pool.connect()
    pid = backend_pid(first)
    assert backend_pid(second) == pid
    assert pool.stats().open == 1
    first.close()
    second.close()
    with pool.connect() as conn:
        assert backend_pid(conn) == pid
    pool.close()


def test_assertionpool_refuses_a_second_checkout(postgres: ServerConnect) -> None:
    """AssertionPool: a second connect() while one is out raises; after the return it is reused."""
    pool = AssertionPool(postgres)
    conn = pool.connect()
    pid = backend_pid(conn)
    with pytest.raises(AssertionPoolError):
        pool.connect()
    conn.close()
    with pool.connect() as again:
        assert backend_pid(again) == pid
    pool.close()


def test_sessionpool_execute_retries_after_the_backend_is_killed(
    postgres: ServerConnect, postgres_admin: Any
) -> None:
    """SessionPool.execute: work on a killed backend is retried once; the retry's result returns."""
    pool = SessionPool(postgres, pool_limit=1, timeout=None)
    seen: list[int] = []

    def work(session: Any) -> int:
        pid = backend_pid(session)
        seen.append(pid)
        if len(seen) == 1:
            terminate(postgres_admin, pid)
        return int(session.cursor().execute("SELECT pg_backend_pid()").fetchone()[0])

    result = pool.execute(work)
    assert len(seen) == 2
    assert result == seen[1] != seen[0]
    stats = pool.stats()
    assert (stats.open, stats.created, stats.closed) == (1, 2, 1)
    pool.close()


def test_engine_rollback_reset_drops_an_uncommitted_insert(postgres: ServerConnect) -> None:
    """impl.Pool(reset=ROLLBACK): an uncommitted INSERT into a TEMP table is rolled back."""
    pool = impl.Pool(postgres, max_size=1, timeout=None, reset=ResetMode.ROLLBACK)
    with pool.acquire() as conn:
        pid = backend_pid(conn)
        conn.cursor().execute("CREATE TEMP TABLE t (n int)")
        conn.commit()
        conn.cursor().execute("INSERT INTO t VALUES (1)")
    with pool.acquire() as conn:
        assert backend_pid(conn) == pid  # the same session: its TEMP table is still there
        assert conn.cursor().execute("SELECT count(*) FROM t").fetchone() == (0,)
    pool.close()
