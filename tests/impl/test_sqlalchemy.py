"""Tests for the SQLAlchemy-style front doors (impl/_sqlalchemy.py)."""

from __future__ import annotations

import re
import sqlite3
import threading
import types
import warnings
from typing import Any

import pytest

from impl import (
    AssertionPool,
    AssertionPoolError,
    DBProxy,
    IdleOrder,
    ManualClock,
    NullPool,
    Ping,
    Pool,
    PoolClosed,
    PoolConfigError,
    PooledConnection,
    PoolMisuse,
    PoolTimeout,
    QueuePool,
    ResetMode,
    SingletonThreadPool,
    StaticPool,
    manage,
)
from spec._driver import RecordingDriver
from tests.impl.impl_support import (
    PATIENCE,
    Worker,
    backend_pid,
    counts,
    log,
    park,
    show,
    terminate,
    this_line,
)
from tests.servers import ServerConnect


def ident(conn: PooledConnection) -> int:
    """The recording driver's id of the connection behind a handle."""
    return int(conn.raw.id)


# -- translating SQLAlchemy's arguments ---------------------------------------------------


def test_queuepool_defaults() -> None:
    """QueuePool's defaults are pool_size 5 kept idle, 15 at most, 30 s, FIFO, rollback."""
    pool = QueuePool(sqlite3.connect)
    c = pool.config
    assert (c.max_size, c.idle_cap, c.timeout, c.block) == (15, 5, 30.0, True)
    assert (c.idle_order, c.reset, c.ping, c.max_lifetime) == (
        IdleOrder.FIFO,
        ResetMode.ROLLBACK,
        Ping.NEVER,
        None,
    )
    assert pool.size() == 5
    pool.close()


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"pool_size": 2, "max_overflow": 3}, {"max_size": 5, "idle_cap": 2}),
        ({"pool_size": 2, "max_overflow": -1}, {"max_size": None, "idle_cap": 2}),
        ({"pool_size": 0, "max_overflow": 3}, {"max_size": 3, "idle_cap": None}),
        ({"pool_size": 0, "max_overflow": -1}, {"max_size": None, "idle_cap": None}),
        ({"timeout": None}, {"timeout": None}),
        ({"timeout": 2}, {"timeout": 2.0}),
        ({"use_lifo": True}, {"idle_order": IdleOrder.LIFO}),
        ({"recycle": -1}, {"max_lifetime": None}),
        ({"recycle": 3600}, {"max_lifetime": 3600.0}),
        ({"pre_ping": True}, {"ping": Ping.ON_CHECKOUT}),
        ({"reset_on_return": "rollback"}, {"reset": ResetMode.ROLLBACK}),
        ({"reset_on_return": True}, {"reset": ResetMode.ROLLBACK}),
        ({"reset_on_return": "commit"}, {"reset": ResetMode.COMMIT}),
        ({"reset_on_return": None}, {"reset": ResetMode.NONE}),
        ({"reset_on_return": False}, {"reset": ResetMode.NONE}),
        (
            {"reset_on_return": ResetMode.FULL, "full_reset_sql": "DISCARD ALL"},
            {"reset": ResetMode.FULL, "full_reset_sql": "DISCARD ALL"},
        ),
    ],
)
def test_queuepool_translates(kwargs: dict[str, Any], fields: dict[str, Any]) -> None:
    """Each SQLAlchemy spelling becomes the engine setting it means."""
    pool = QueuePool(sqlite3.connect, **kwargs)
    for name, value in fields.items():
        assert getattr(pool.config, name) == value, name
    pool.close()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"pool_size": -1}, PoolConfigError, "pool_size must be >= 0, got -1"),
        ({"max_overflow": -2}, PoolConfigError, "max_overflow must be >= -1, got -2"),
        (
            {"pool_size": 0, "max_overflow": 0},
            PoolConfigError,
            "got pool_size=0 with max_overflow=0",
        ),
        ({"pool_size": 2.5}, TypeError, "pool_size must be an int, got 2.5"),
        ({"timeout": 0}, PoolConfigError, "timeout must be > 0 seconds, got 0"),
        ({"timeout": "30"}, TypeError, "timeout must be a number of seconds or None, got '30'"),
        ({"recycle": 0}, PoolConfigError, "recycle must be -1 \\(never\\) or > 0 seconds, got 0"),
        ({"recycle": -5}, PoolConfigError, "got -5"),
        ({"recycle": None}, TypeError, "recycle must be -1 or a number of seconds, got None"),
        ({"pre_ping": "yes"}, TypeError, "pre_ping must be a bool, got 'yes'"),
        ({"use_lifo": 1}, TypeError, "use_lifo must be a bool, got 1"),
        ({"reset_on_return": "rollback_all"}, PoolConfigError, "got 'rollback_all'"),
        ({"reset_on_return": 1}, PoolConfigError, "got 1"),
        ({"events": {"checkot": print}}, ValueError, "unknown event 'checkot'"),
        ({"events": {"checkout": [print, 3]}}, TypeError, "must be callable, got 3"),
        ({"events": [print]}, TypeError, "events must be a mapping"),
    ],
)
def test_queuepool_refuses_bad_values(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    """A bad argument is refused when the pool is built, naming the value."""
    with pytest.raises(error, match=message):
        QueuePool(sqlite3.connect, **kwargs)


def test_other_pools_translate() -> None:
    """SingletonThreadPool, NullPool, StaticPool and AssertionPool are the documented presets."""
    single = SingletonThreadPool(sqlite3.connect, pool_size=3, timeout=None, pre_ping=True)
    null = NullPool(sqlite3.connect, reset_on_return="commit")
    static = StaticPool(sqlite3.connect, recycle=10)
    assertion = AssertionPool(sqlite3.connect)
    c = single.config
    assert (c.max_size, c.per_thread, c.timeout, c.ping) == (3, True, None, Ping.ON_CHECKOUT)
    c = null.config
    assert (c.max_size, c.idle_cap, c.reset) == (None, 0, ResetMode.COMMIT)
    c = static.config
    assert (c.max_size, c.shared, c.max_lifetime) == (1, True, 10.0)
    c = assertion.config
    assert (c.max_size, c.block, c.timeout) == (1, False, None)
    with pytest.raises(PoolConfigError, match="pool_size must be >= 1, got 0"):
        SingletonThreadPool(sqlite3.connect, pool_size=0)
    for pool in (single, null, static, assertion):
        pool.close()


# -- QueuePool ------------------------------------------------------------------------------


def test_queuepool_overflow_closed_on_return(lite: RecordingDriver) -> None:
    """Connections beyond pool_size are closed when given back; pool_size of them stay idle."""
    pool = QueuePool(lite.connect, pool_size=1, max_overflow=1)
    first, second = pool.connect(), pool.connect()
    assert pool.checkedout() == 2
    assert pool.overflow() == 1
    first.close()
    second.close()
    assert log(lite) == ["connect0", "connect1", "rollback0", "rollback1", "close1"]
    assert (pool.checkedin(), pool.checkedout(), pool.overflow()) == (1, 0, 0)
    assert pool.status() == "QueuePool: 1 open of 2, 1 idle, 0 in use, 0 waiting"
    pool.close()


def test_queuepool_waits_then_times_out(lite: RecordingDriver, clock: ManualClock) -> None:
    """At the cap connect() waits, by the pool's clock, up to timeout, then raises PoolTimeout."""
    pool = QueuePool(lite.connect, pool_size=1, max_overflow=0, timeout=2, clock=clock)
    held = pool.connect()
    waiter = park(clock, pool.connect)
    assert pool.status() == "QueuePool: 1 open of 1, 0 idle, 1 in use, 1 waiting"
    clock.advance(2)
    with pytest.raises(PoolTimeout, match=r"no connection within 2\.00 s"):
        waiter.join()
    second = park(clock, pool.connect)
    held.close()
    handed = second.join()
    assert handed.raw is lite.connection(0)
    handed.close()
    pool.close()


def test_queuepool_lifo(lite: RecordingDriver) -> None:
    """use_lifo hands out the connection given back most recently."""
    pool = QueuePool(lite.connect, pool_size=2, use_lifo=True)
    first, second = pool.connect(), pool.connect()
    first.close()
    second.close()
    with pool.connect() as again:
        assert ident(again) == 1
    pool.close()


def test_queuepool_pre_ping_replaces_a_dead_connection(lite: RecordingDriver) -> None:
    """pre_ping pings a connection the pool had; a dead one is replaced before it is handed out."""
    pool = QueuePool(lite.connect, pool_size=1, pre_ping=True)
    pool.connect().close()
    lite.kill(0)
    lite.drain()
    with pool.connect() as conn:
        assert ident(conn) == 1
    assert log(lite) == ["ping0!", "close0", "connect1", "rollback1"]
    pool.close()


def test_queuepool_recycle_by_the_pool_clock(lite: RecordingDriver, clock: ManualClock) -> None:
    """recycle replaces a connection older than it at checkout, by the injected clock."""
    pool = QueuePool(lite.connect, pool_size=1, recycle=10, clock=clock)
    pool.connect().close()
    clock.advance(9)
    with pool.connect() as conn:
        assert ident(conn) == 0
    clock.advance(1)
    with pool.connect() as conn:
        assert ident(conn) == 1
    pool.close()


def test_dispose_keeps_the_pool_usable_and_close_refuses(lite: RecordingDriver) -> None:
    """dispose() closes idle connections and the pool goes on; close() refuses later connects."""
    pool = QueuePool(lite.connect, pool_size=2)
    held = pool.connect()
    pool.connect().close()
    lite.drain()
    pool.dispose()
    assert log(lite) == ["close1"]
    held.close()
    with pool.connect() as conn:
        assert ident(conn) == 0
    pool.close()
    assert pool.closed
    with pytest.raises(PoolClosed):
        pool.connect()


def test_events_reach_listeners(lite: RecordingDriver) -> None:
    """Listeners given as events= are called with the engine pool and the DB-API connection."""
    seen: list[tuple[str, int]] = []

    def note(event: str) -> Any:
        return lambda engine, raw: seen.append((event, raw.id))

    pool = QueuePool(
        lite.connect,
        pool_size=1,
        events={"connect": note("connect"), "checkout": [note("checkout")], "checkin": ()},
    )
    pool.connect().close()
    assert seen == [("connect", 0), ("checkout", 0)]
    pool.close()


def test_recreate_keeps_every_setting(lite: RecordingDriver, clock: ManualClock) -> None:
    """recreate() builds a new pool from the same preset: config, creator, listeners, clock."""
    checkouts: list[int] = []
    pool = QueuePool(
        lite.connect,
        pool_size=1,
        max_overflow=0,
        timeout=3,
        use_lifo=True,
        recycle=50,
        pre_ping=True,
        reset_on_return="commit",
        events={"checkout": lambda engine, raw: checkouts.append(raw.id)},
        clock=clock,
    )
    pool.connect().close()
    twin = pool.recreate()
    assert type(twin) is QueuePool
    assert twin is not pool
    assert twin.config is pool.config
    assert twin.status() == "QueuePool: 0 open of 1, 0 idle, 0 in use, 0 waiting"
    held = twin.connect()
    assert ident(held) == 1  # a new pool: its own connections, by the same creator
    assert checkouts == [0, 1]
    waiter = park(clock, twin.connect)  # the same manual clock times the wait
    clock.advance(3)
    with pytest.raises(PoolTimeout, match=r"within 3\.00 s"):
        waiter.join()
    lite.drain()
    held.close()
    assert log(lite) == ["commit1"]
    pool.close()
    twin.close()


@pytest.mark.parametrize("cls", [SingletonThreadPool, NullPool, StaticPool, AssertionPool])
def test_recreate_every_class(cls: Any, lite: RecordingDriver) -> None:
    """Every class recreates itself with the same configuration object."""
    pool = cls(lite.connect, pre_ping=True, reset_on_return=None)
    twin = pool.recreate()
    assert type(twin) is cls
    assert twin.config is pool.config
    with twin.connect() as conn:
        assert ident(conn) == 0
    pool.close()
    twin.close()


# -- SingletonThreadPool --------------------------------------------------------------------


def test_singleton_thread_pool_one_connection_per_thread(
    lite: RecordingDriver, clock: ManualClock
) -> None:
    """Each thread keeps its own connection; a thread beyond pool_size waits, then times out."""
    pool = SingletonThreadPool(lite.connect, pool_size=2, timeout=1, clock=clock)
    outer = pool.connect()
    inner = pool.connect()  # reentrant: the same connection
    assert inner.raw is outer.raw
    inner.close()
    outer.close()
    bound = threading.Event()
    leave = threading.Event()

    def keep() -> int:
        with pool.connect() as conn:
            got = ident(conn)
        bound.set()
        assert leave.wait(PATIENCE)
        return got

    other = Worker(keep, "other").start()
    assert bound.wait(PATIENCE)
    third = park(clock, pool.connect, "third")
    clock.advance(1)
    with pytest.raises(PoolTimeout):
        third.join()
    leave.set()
    assert other.join() == 1
    with pool.connect() as again:  # this thread still has its own connection
        assert ident(again) == 0
    assert counts(pool) == (1, 0, 0, 1)  # the ended thread's connection was closed
    pool.end_thread()
    assert counts(pool) == (0, 0, 0, 0)
    pool.close()


# -- NullPool, StaticPool, AssertionPool -------------------------------------------------------


def test_nullpool_closes_every_connection(lite: RecordingDriver) -> None:
    """NullPool opens a connection per connect() and closes it, after the reset, on return."""
    pool = NullPool(lite.connect)
    first, second = pool.connect(), pool.connect()
    first.close()
    second.close()
    assert log(lite) == ["connect0", "connect1", "rollback0", "close0", "rollback1", "close1"]
    assert counts(pool) == (0, 0, 0, 0)
    assert pool.status() == "NullPool: 0 open of unlimited, 0 idle, 0 in use, 0 waiting"
    pool.close()


def test_staticpool_shares_its_one_connection(lite: RecordingDriver) -> None:
    """StaticPool gives every holder the one connection, reset once the last holder is done."""
    pool = StaticPool(lite.connect)
    first, second = pool.connect(), pool.connect()
    assert first.raw is second.raw
    with pytest.raises(PoolMisuse, match="shared by 2 holders"):
        first.invalidate()
    first.close()
    assert log(lite) == ["connect0"]
    second.close()
    assert log(lite) == ["rollback0"]
    with pool.connect() as again:
        assert ident(again) == 0
    pool.close()


def test_assertionpool_refuses_a_second_checkout(lite: RecordingDriver) -> None:
    """A second connect() while one is out raises AssertionPoolError naming the first's site."""
    pool = AssertionPool(lite.connect)
    held = pool.connect()
    with pytest.raises(AssertionPoolError, match=f"checked out at {held.checked_out_at}") as err:
        pool.connect()
    assert isinstance(err.value, AssertionError)
    assert isinstance(err.value, PoolMisuse)
    other = Worker(pool.connect, "other").start()
    with pytest.raises(AssertionError, match="at most one may be checked out at a time"):
        other.join()
    held.close()
    with pool.connect() as again:  # the one connection, reused
        assert ident(again) == 0
    detached = pool.connect()
    detached.detach()  # frees the slot: the next connect opens a new connection
    with pool.connect() as fresh:
        assert ident(fresh) == 1
    detached.close()
    pool.close()


def test_assertionpool_names_the_holder_with_sites_unrecorded(lite: RecordingDriver) -> None:
    """AssertionPool names the holder's line even while handles record no site."""
    pool = AssertionPool(lite.connect)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        line = this_line()
        held = pool.connect()
        site = re.escape(f"(checked out at {__file__}:{line + 1})")
        with pytest.raises(AssertionPoolError, match=site):
            pool.connect()
        held.close()
    pool.close()


def test_assertionpool_refusal_keeps_no_handle_alive(lite: RecordingDriver) -> None:
    """The refusal's traceback holds no reference to the handle in use: a dropped one returns."""
    pool = AssertionPool(lite.connect)
    box = [pool.connect()]
    with pytest.raises(AssertionPoolError) as err:
        pool.connect()
    assert err.value.__traceback__ is not None
    with pytest.warns(ResourceWarning, match="was never closed"):
        box.clear()  # the only reference, unless the error's traceback holds one
    assert log(lite) == ["connect0", "rollback0"]
    with pool.connect() as again:
        assert ident(again) == 0
    pool.close()


# -- manage() ---------------------------------------------------------------------------------


def _module(driver: RecordingDriver) -> Any:
    """A DB-API module whose connect() records its arguments and opens a recorded connection."""
    module = types.ModuleType("fakedb")
    module.apilevel = "2.0"  # type: ignore[attr-defined]
    module.calls = []  # type: ignore[attr-defined]

    def connect(*args: Any, **kwargs: Any) -> Any:
        module.calls.append((args, kwargs))  # type: ignore[attr-defined]
        return driver.connect()

    module.connect = connect  # type: ignore[attr-defined]
    return module


def test_manage_keeps_one_pool_per_set_of_arguments(lite: RecordingDriver) -> None:
    """manage() pools by connect arguments: same ones share a pool, kwargs order does not matter."""
    module = _module(lite)
    proxy = manage(module, pool_size=1, max_overflow=0)
    assert isinstance(proxy, DBProxy)
    assert proxy.module is module
    with proxy.connect("a.db", timeout=5, uri=True) as conn:
        assert ident(conn) == 0
    with proxy.connect("a.db", uri=True, timeout=5) as conn:  # same key: the idle connection
        assert ident(conn) == 0
    with proxy.connect("b.db") as conn:
        assert ident(conn) == 1
    assert module.calls == [(("a.db",), {"timeout": 5, "uri": True}), (("b.db",), {})]
    assert len(proxy) == 2
    first = proxy.get_pool("a.db", timeout=5, uri=True)
    assert first is proxy.get_pool("a.db", uri=True, timeout=5)
    assert first.config is proxy.get_pool("b.db").config  # one checked PoolConfig for all
    assert first.status() == "QueuePool: 1 open of 1, 1 idle, 0 in use, 0 waiting"
    lite.drain()
    proxy.dispose()
    assert sorted(log(lite)) == ["close0", "close1"]
    assert len(proxy) == 2
    proxy.close()
    assert len(proxy) == 0
    assert first.closed
    with proxy.connect("a.db", timeout=5, uri=True) as conn:  # a fresh pool
        assert ident(conn) == 2
    proxy.close()


def test_manage_refuses_unhashable_arguments(lite: RecordingDriver) -> None:
    """An unhashable connect argument is refused with a TypeError naming it."""
    proxy = manage(_module(lite))
    with pytest.raises(TypeError, match="connect argument 1 is unhashable \\(list: \\[1, 2\\]\\)"):
        proxy.connect("a.db", [1, 2])
    with pytest.raises(TypeError, match="connect argument opts= is unhashable \\(dict"):
        proxy.connect("a.db", opts={"x": 1})
    assert len(proxy) == 0
    proxy.close()


def test_manage_checks_its_arguments_at_once(lite: RecordingDriver) -> None:
    """manage() refuses a module without connect(), a foreign poolclass and bad pool arguments."""
    with pytest.raises(TypeError, match="must be a DB-API module with connect"):
        manage(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="poolclass must be one of"):
        manage(_module(lite), poolclass=Pool)  # type: ignore[arg-type]
    with pytest.raises(PoolConfigError, match="pool_size must be >= 0, got -3"):
        manage(_module(lite), pool_size=-3)


def test_manage_with_another_poolclass(lite: RecordingDriver) -> None:
    """poolclass picks the class each set of arguments gets; its refusals reach the caller."""
    proxy = manage(_module(lite), poolclass=AssertionPool)
    held = proxy.connect("x")
    with pytest.raises(AssertionPoolError):
        proxy.connect("x")
    with proxy.connect("y") as other:
        assert ident(other) == 1
    held.close()
    assert repr(proxy) == "<DBProxy of fakedb: 2 AssertionPool(s)>"
    proxy.close()


# -- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.server
def test_postgres_full_reset_leaves_no_session_state(postgres: ServerConnect) -> None:
    """QueuePool with ResetMode.FULL and DISCARD ALL hands the same backend over with SET undone."""
    pool = QueuePool(
        postgres,
        pool_size=1,
        max_overflow=0,
        reset_on_return=ResetMode.FULL,
        full_reset_sql="DISCARD ALL",
    )
    with pool.connect() as conn:
        default = show(conn, "work_mem")
        pid = backend_pid(conn)
        conn.execute("SET work_mem = '7MB'")
        conn.commit()
        assert show(conn, "work_mem") == "7MB"
    with pool.connect() as conn:
        assert backend_pid(conn) == pid  # the same session, reset rather than reopened
        assert show(conn, "work_mem") == default
        assert conn.raw.autocommit is False  # the reset's autocommit switch was undone
    pool.close()


@pytest.mark.server
def test_postgres_rollback_reset_lets_a_committed_set_leak(postgres: ServerConnect) -> None:
    """With the default rollback reset a committed SET reaches the next borrower: FULL is needed."""
    pool = QueuePool(postgres, pool_size=1, max_overflow=0)
    with pool.connect() as conn:
        conn.execute("SET work_mem = '7MB'")
        conn.commit()
    with pool.connect() as conn:
        assert show(conn, "work_mem") == "7MB"
    pool.close()


@pytest.mark.server
def test_postgres_pre_ping_replaces_a_terminated_backend(
    postgres: ServerConnect, postgres_admin: Any
) -> None:
    """pre_ping finds a backend the server terminated and hands out a new session instead."""
    pool = QueuePool(postgres, pool_size=1, max_overflow=0, pre_ping=True)
    with pool.connect() as conn:
        pid = backend_pid(conn)
    terminate(postgres_admin, pid)
    with pool.connect() as conn:
        assert backend_pid(conn) != pid
    stats = pool.stats()
    assert (stats.open, stats.created, stats.closed) == (1, 2, 1)
    pool.close()


@pytest.mark.server
def test_postgres_full_reset_uses_discard_all_by_itself(postgres: ServerConnect) -> None:
    """RESET-5: on psycopg a FULL reset is DISCARD ALL with no full_reset_sql: same backend, SET undone."""
    pool = QueuePool(postgres, pool_size=1, max_overflow=0, reset_on_return=ResetMode.FULL)
    with pool.connect() as conn:
        default = show(conn, "work_mem")
        pid = backend_pid(conn)
        conn.execute("SET work_mem = '7MB'")
        conn.commit()
    with pool.connect() as conn:
        assert backend_pid(conn) == pid  # reset in place, not closed and reopened
        assert show(conn, "work_mem") == default
    pool.close()
