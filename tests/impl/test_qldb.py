"""Tests for the pyqldb-style session pool (impl/_qldb.py)."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import pytest

from impl import (
    DriverClosedError,
    ManualClock,
    Ping,
    PoolClosed,
    PooledConnection,
    PoolTimeout,
    ResetMode,
    SessionPool,
    SessionPoolEmptyError,
)
from spec._driver import RecordingDriver
from tests.impl.impl_support import PATIENCE, Worker, counts, log, park


def ident(conn: PooledConnection) -> int:
    """The recording driver's id of the connection behind a handle."""
    return int(conn.raw.id)


# -- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({}, {"max_size": 10, "block": True, "timeout": 30.0}),
        ({"pool_limit": 0}, {"max_size": None}),
        ({"pool_limit": 3}, {"max_size": 3}),
        ({"timeout": 0}, {"block": False, "timeout": None}),
        ({"timeout": None}, {"block": True, "timeout": None}),
        ({"timeout": 2}, {"block": True, "timeout": 2.0}),
    ],
)
def test_session_pool_translates(kwargs: dict[str, Any], fields: dict[str, Any]) -> None:
    """pool_limit and timeout become the engine's cap and wait; sessions are pinged on reuse."""
    pool = SessionPool(sqlite3.connect, **kwargs)
    for name, value in fields.items():
        assert getattr(pool.config, name) == value, name
    assert (pool.config.ping, pool.config.reset) == (Ping.ON_CHECKOUT, ResetMode.ROLLBACK)
    pool.close()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"pool_limit": -1}, ValueError, "pool_limit must be >= 0, got -1"),
        ({"timeout": -0.5}, ValueError, "timeout must be >= 0 seconds, got -0.5"),
        ({"retry_limit": -2}, ValueError, "retry_limit must be >= 0, got -2"),
        ({"pool_limit": "4"}, TypeError, "pool_limit must be an int, got '4'"),
        ({"timeout": True}, TypeError, "timeout must be a number of seconds or None, got True"),
        ({"retriable": [ValueError]}, TypeError, "retriable must be an exception class"),
    ],
)
def test_session_pool_refuses_bad_values(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Negative limits and timeouts are ValueErrors naming the value; wrong types TypeErrors."""
    with pytest.raises(error, match=message):
        SessionPool(sqlite3.connect, **kwargs)


def test_default_retriable_comes_from_the_module(lite: RecordingDriver) -> None:
    """retriable=None takes the creator module's lost-connection errors; a function has none."""
    by_module = SessionPool(lite)
    assert by_module.retriable == (lite.OperationalError, lite.InterfaceError, lite.InternalError)
    plain = SessionPool(lite.connect)
    assert plain.retriable == ()
    chosen = SessionPool(lite.connect, retriable=KeyError)
    assert chosen.retriable == (KeyError,)
    for pool in (by_module, plain, chosen):
        pool.close()


# -- permits ----------------------------------------------------------------------------------


def test_permits_bound_sessions_and_go_to_the_oldest_waiter(
    lite: RecordingDriver, clock: ManualClock
) -> None:
    """With every permit taken a get_session() waits; a session given back goes to it."""
    pool = SessionPool(lite.connect, pool_limit=2, timeout=None, clock=clock)
    both = threading.Barrier(3)
    leave = [threading.Event(), threading.Event()]

    def hold(i: int) -> int:
        session = pool.get_session()
        got = ident(session)
        both.wait(PATIENCE)
        assert leave[i].wait(PATIENCE)
        session.close()
        return got

    holders = [Worker(lambda i=i: hold(i), f"holder{i}").start() for i in range(2)]
    both.wait(PATIENCE)
    assert counts(pool) == (0, 2, 0, 2)
    third = park(clock, pool.get_session, "third")
    assert counts(pool) == (0, 2, 1, 2)
    leave[0].set()
    first_id = holders[0].join()
    handed = third.join()
    assert ident(handed) == first_id  # the session itself, handed over
    handed.close()
    leave[1].set()
    holders[1].join()
    assert lite.connects == 2
    pool.close()


def test_permits_hold_under_contention(lite: RecordingDriver) -> None:
    """Many threads at once never hold more sessions than pool_limit, nor open more."""
    limit, threads, rounds = 3, 8, 25
    pool = SessionPool(lite.connect, pool_limit=limit, timeout=None)
    start = threading.Barrier(threads)
    guard = threading.Lock()
    in_use = [0, 0]  # now, most

    def work() -> None:
        start.wait(PATIENCE)
        for _ in range(rounds):
            session = pool.get_session()
            with guard:
                in_use[0] += 1
                in_use[1] = max(in_use[1], in_use[0])
            session.cursor().execute("SELECT 1")
            with guard:
                in_use[0] -= 1
            session.close()

    workers = [Worker(work, f"w{i}").start() for i in range(threads)]
    for w in workers:
        w.join()
    assert 1 <= in_use[1] <= limit
    assert lite.connects <= limit
    stats = pool.stats()
    assert (stats.in_use, stats.waiting, stats.open) == (0, 0, lite.connects)
    pool.close()


def test_timeout_raises_session_pool_empty(lite: RecordingDriver, clock: ManualClock) -> None:
    """No permit within timeout: SessionPoolEmptyError, a PoolTimeout; timeout=0 never waits."""
    pool = SessionPool(lite.connect, pool_limit=1, timeout=2, clock=clock)
    held = pool.get_session()
    waiter = park(clock, pool.get_session)
    clock.advance(2)
    with pytest.raises(SessionPoolEmptyError, match=r"no connection within 2\.00 s") as err:
        waiter.join()
    assert isinstance(err.value, PoolTimeout)
    held.close()
    pool.close()
    eager = SessionPool(lite.connect, pool_limit=1, timeout=0)
    held = eager.get_session()
    with pytest.raises(SessionPoolEmptyError, match="1 of 1 in use"):
        eager.get_session()
    held.close()
    eager.close()


def test_closed_pool_raises_driver_closed(lite: RecordingDriver, clock: ManualClock) -> None:
    """After close(), get_session() and waiters get DriverClosedError, a PoolClosed."""
    pool = SessionPool(lite.connect, pool_limit=1, timeout=None, clock=clock)
    held = pool.get_session()
    waiter = park(clock, pool.get_session)
    pool.close()
    with pytest.raises(DriverClosedError, match="the session pool is closed") as err:
        waiter.join()
    assert isinstance(err.value, PoolClosed)
    with pytest.raises(DriverClosedError):
        pool.get_session()
    held.close()
    assert counts(pool) == (0, 0, 0, 0)
    with SessionPool(lite.connect) as scoped:
        scoped.get_session().close()
    assert scoped.closed


def test_stale_session_discarded_on_reuse(lite: RecordingDriver) -> None:
    """A session that died in the pool fails its ping and is replaced before it is handed out."""
    pool = SessionPool(lite.connect, pool_limit=1)
    pool.get_session().close()
    lite.kill(0)
    lite.drain()
    with pool.get_session() as session:
        assert ident(session) == 1
    assert log(lite) == ["ping0!", "close0", "connect1", "rollback1"]
    pool.close()


def test_failed_create_gives_the_permit_back(lite: RecordingDriver) -> None:
    """A session start that fails returns its permit: the next get_session() gets one."""
    pool = SessionPool(lite.connect, pool_limit=1, timeout=0)
    lite.fail_next_connects(1)
    with pytest.raises(lite.OperationalError):
        pool.get_session()
    assert counts(pool) == (0, 0, 0, 0)
    with pool.get_session() as session:
        assert ident(session) == 0
    pool.close()


# -- execute ------------------------------------------------------------------------------


def test_execute_runs_and_commits(lite: RecordingDriver) -> None:
    """execute() runs fn on a session, commits, gives the session back, returns fn's result."""
    pool = SessionPool(lite.connect)
    assert pool.execute(lambda s: s.cursor().execute("SELECT 4").fetchone()) == (4,)
    assert log(lite) == ["connect0", "execute0", "commit0", "rollback0"]
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_execute_retries_retriable_errors(lite: RecordingDriver) -> None:
    """A retriable error reruns fn, up to retry_limit times, on a session from the pool."""
    pool = SessionPool(lite, retry_limit=4)
    attempts: list[int] = []

    def flaky(session: PooledConnection) -> str:
        attempts.append(ident(session))
        if len(attempts) < 3:
            raise lite.OperationalError("database is locked")
        return "done"

    assert pool.execute(flaky) == "done"
    assert attempts == [0, 0, 0]  # rolled back and reused: the session was fine
    attempts.clear()

    def failing(session: PooledConnection) -> None:
        attempts.append(ident(session))
        raise lite.InterfaceError("gone")

    with pytest.raises(lite.InterfaceError):
        pool.execute(failing, retry_limit=2)
    assert len(attempts) == 3
    attempts.clear()
    with pytest.raises(lite.InterfaceError):
        pool.execute(failing)
    assert len(attempts) == 5
    attempts.clear()
    with pytest.raises(lite.InterfaceError):
        pool.execute(failing, retry_limit=0)
    assert len(attempts) == 1
    with pytest.raises(ValueError, match="retry_limit must be >= 0, got -1"):
        pool.execute(failing, retry_limit=-1)
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_execute_does_not_retry_other_errors(lite: RecordingDriver) -> None:
    """An error outside retriable surfaces at once, after its work is rolled back."""
    pool = SessionPool(lite)
    attempts: list[int] = []

    def broken(session: PooledConnection) -> None:
        attempts.append(1)
        session.cursor().execute("CREATE TABLE t (x)")
        raise KeyError("bug")

    with pytest.raises(KeyError):
        pool.execute(broken)
    assert attempts == [1]
    assert log(lite) == ["connect0", "execute0", "rollback0"]
    pool.close()


def test_execute_replaces_a_dead_session(lite: RecordingDriver) -> None:
    """A session that died under fn fails its reset and is discarded; the retry gets a new one."""
    pool = SessionPool(lite)
    used: list[int] = []

    def first_dies(session: PooledConnection) -> int:
        used.append(ident(session))
        if len(used) == 1:
            lite.kill(ident(session))
            session.cursor().execute("SELECT 1")  # raises OperationalError: the session died
        return len(used)

    assert pool.execute(first_dies) == 2
    assert used == [0, 1]
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_execute_lets_fn_close_its_session(lite: RecordingDriver) -> None:
    """fn may close or invalidate its session itself; execute() then gives nothing back."""
    pool = SessionPool(lite.connect)
    assert pool.execute(lambda s: s.invalidate()) is None
    assert counts(pool) == (0, 0, 0, 0)
    pool.close()
