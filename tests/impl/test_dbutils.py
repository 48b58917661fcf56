"""Tests for the DBUtils-style front doors (impl/_dbutils.py)."""

from __future__ import annotations

import re
import sqlite3
import sys
import types
from typing import Any

import pytest

from impl import (
    ConnectionReleased,
    DBUtilsConnection,
    DBUtilsCursor,
    InvalidConnection,
    InvalidConnectionError,
    ManualClock,
    NotSupportedError,
    PersistentDB,
    Ping,
    PoolClosed,
    PoolConfigError,
    PooledDB,
    PooledDBError,
    PoolError,
    PoolExhausted,
    Pool,
    PooledConnection,
    PoolTimeout,
    ResetMode,
    TooManyConnections,
    TooManyConnectionsError,
)
from spec._driver import RecordingDriver
from tests.impl.impl_support import Worker, backend_pid, counts, log, park, show, terminate
from tests.servers import ServerConnect


def ident(conn: DBUtilsConnection) -> int:
    """The recording driver's id of the connection behind a handle."""
    return int(conn.raw.id)


def _module(name: str, **attrs: Any) -> Any:
    """A stand-in DB-API module whose connect() records its arguments."""
    module = types.ModuleType(name)
    module.apilevel = "2.0"  # type: ignore[attr-defined]
    module.calls = []  # type: ignore[attr-defined]

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        module.calls.append((args, kwargs))  # type: ignore[attr-defined]
        return sqlite3.connect(":memory:", check_same_thread=False)

    module.connect = connect  # type: ignore[attr-defined]
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


# -- the names DBUtils users catch ----------------------------------------------------------


def test_dbutils_error_names() -> None:
    """DBUtils' error names exist, old spellings included, under poolspec's error tree."""
    assert TooManyConnections is TooManyConnectionsError
    assert InvalidConnection is InvalidConnectionError
    assert issubclass(TooManyConnectionsError, PoolExhausted)
    assert issubclass(InvalidConnectionError, ConnectionReleased)
    for kind in (TooManyConnectionsError, InvalidConnectionError, NotSupportedError):
        assert issubclass(kind, PooledDBError)
        assert issubclass(kind, PoolError)


# -- translating the legacy spellings ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({}, {"max_size": None, "idle_cap": None, "min_idle": 0, "block": False}),
        ({"maxcached": 0, "maxconnections": 0}, {"idle_cap": None, "max_size": None}),
        ({"maxcached": None, "maxconnections": None}, {"idle_cap": None, "max_size": None}),
        ({"mincached": None}, {"min_idle": 0}),
        ({"mincached": 2, "maxcached": 3, "maxconnections": 4}, {"min_idle": 2, "idle_cap": 3}),
        ({"maxconnections": 4}, {"max_size": 4}),
        ({"mincached": 3, "maxcached": 1}, {"min_idle": 3, "idle_cap": 3}),  # DBUtils raises it
        ({"maxcached": 5, "maxconnections": 2}, {"idle_cap": 5, "max_size": 5}),  # and this
        ({"blocking": True}, {"block": True, "timeout": None}),
        ({"blocking": True, "timeout": 2}, {"timeout": 2.0}),
        ({"maxusage": None}, {"max_usage": None}),
        ({"maxusage": 0}, {"max_usage": None}),
        ({"maxusage": 3}, {"max_usage": 3}),
        ({"setsession": ["SET a", "SET b"]}, {"session": ("SET a", "SET b")}),
        ({"setsession": None}, {"session": ()}),
        ({"reset": True}, {"reset": ResetMode.ROLLBACK}),
        ({"reset": 1}, {"reset": ResetMode.ROLLBACK}),
        ({"reset": False}, {"reset": ResetMode.ROLLBACK_IF_BEGUN}),
        ({"reset": 0}, {"reset": ResetMode.ROLLBACK_IF_BEGUN}),
        ({"reset": None}, {"reset": ResetMode.ROLLBACK_IF_BEGUN}),
        ({"reset": 2, "full_reset_sql": "DISCARD ALL"}, {"reset": ResetMode.FULL}),
        ({"reset": ResetMode.COMMIT}, {"reset": ResetMode.COMMIT}),
        ({"ping": 0}, {"ping": Ping.NEVER}),
        ({"ping": None}, {"ping": Ping.NEVER}),
        ({"ping": 1}, {"ping": Ping.ON_CHECKOUT}),
        ({"ping": 2}, {"ping": Ping.NEVER}),  # covered by transparent reopen
        ({"ping": 4}, {"ping": Ping.NEVER}),
        ({"ping": 7}, {"ping": Ping.ON_CHECKOUT}),
        ({"failures": ValueError}, {"failures": (ValueError,)}),
        ({"failures": (ValueError, KeyError)}, {"failures": (ValueError, KeyError)}),
        ({"failures": ()}, {"failures": ()}),
    ],
)
def test_pooleddb_translates(kwargs: dict[str, Any], fields: dict[str, Any]) -> None:
    """Each DBUtils spelling (0 means unlimited, bit masks, reset flags) is its engine value."""
    pool = PooledDB(lambda: sqlite3.connect(":memory:"), **kwargs)
    for name, value in fields.items():
        assert getattr(pool.config, name) == value, name
    pool.close()


def test_default_failures_come_from_the_module() -> None:
    """failures=None takes the module's (or creator.dbapi's) three lost-connection errors."""
    expected = (sqlite3.OperationalError, sqlite3.InterfaceError, sqlite3.InternalError)
    by_module = PooledDB(sqlite3, 0, 0, 0, 0, False, None, None, True, None, 1, ":memory:")
    assert by_module.config.failures == expected

    def creator() -> sqlite3.Connection:
        return sqlite3.connect(":memory:")

    creator.dbapi = sqlite3  # type: ignore[attr-defined]
    by_dbapi = PooledDB(creator)
    assert by_dbapi.config.failures == expected
    plain = PersistentDB(sqlite3.connect)
    assert plain.config.failures == ()  # no module to look in: no failover
    for pool in (by_module, by_dbapi, plain):
        pool.close()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"maxconnections": -1}, PoolConfigError, "maxconnections must be >= 0, got -1"),
        ({"maxcached": -2}, PoolConfigError, "maxcached must be >= 0, got -2"),
        ({"mincached": -1}, PoolConfigError, "mincached must be >= 0, got -1"),
        ({"maxusage": -1}, PoolConfigError, "maxusage must be >= 0, got -1"),
        ({"maxshared": 1.5}, TypeError, "maxshared must be an int, got 1.5"),
        ({"ping": 8}, PoolConfigError, "ping must be a bit mask from 0 to 7 .*got 8"),
        ({"ping": -1}, PoolConfigError, "got -1"),
        ({"ping": "1"}, TypeError, "ping must be an int bit mask, got '1'"),
        ({"reset": 3}, PoolConfigError, "reset must be True/1 .*got 3"),
        ({"reset": "rollback"}, PoolConfigError, "got 'rollback'"),
        ({"setsession": "SET a"}, TypeError, "list of SQL statements, got the str 'SET a'"),
        ({"setsession": ["SET a", 3]}, TypeError, "setsession statements must be str, got 3"),
        ({"setsession": 3}, TypeError, "setsession must be a list of SQL statements, got 3"),
        ({"failures": [ValueError]}, TypeError, "failures must be an exception class"),
        ({"failures": (ValueError, 3)}, TypeError, "failures must be an exception class"),
        ({"blocking": "yes"}, TypeError, "blocking must be a bool, got 'yes'"),
        ({"timeout": 2}, PoolConfigError, "timeout applies only when block=True"),
        ({"mincached": 3, "maxconnections": 2}, PoolConfigError, "min_idle must be <="),
    ],
)
def test_pooleddb_refuses_bad_values(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    """A bad argument is refused when the pool is built, naming the value."""
    with pytest.raises(error, match=message):
        PooledDB(sqlite3.connect, **kwargs)


def test_persistentdb_translates_and_refuses() -> None:
    """PersistentDB is per-thread, unbounded, rolls back begun work; bad values are named."""
    pool = PersistentDB(sqlite3.connect, 5, ["SET a"], ValueError, 3, True, object())
    c = pool.config
    assert (c.per_thread, c.max_size, c.reset) == (True, None, ResetMode.ROLLBACK_IF_BEGUN)
    assert (c.max_usage, c.session, c.failures, c.ping) == (
        5,
        ("SET a",),
        (ValueError,),
        Ping.ON_CHECKOUT,
    )
    pool.close()
    with pytest.raises(PoolConfigError, match=r"ping must be a bit mask from 0 to 7 .*got 9"):
        PersistentDB(sqlite3.connect, ping=9)
    with pytest.raises(TypeError, match="closeable must be a bool, got 1"):
        PersistentDB(sqlite3.connect, closeable=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="creator must be a DB-API module or a callable"):
        PersistentDB(42)


def test_threadsafety_zero_is_refused() -> None:
    """A module with threadsafety 0 (or none declared) is refused by name, by both pools."""
    unsafe = _module("legacydb", threadsafety=0)
    with pytest.raises(NotSupportedError, match=r"'legacydb' has threadsafety 0.*PooledDB"):
        PooledDB(unsafe)
    with pytest.raises(NotSupportedError, match=r"'legacydb' has threadsafety 0.*PersistentDB"):
        PersistentDB(unsafe)
    silent = _module("quietdb")
    with pytest.raises(NotSupportedError, match="'quietdb'"):
        PooledDB(silent)
    pool = PooledDB(_module("okdb", threadsafety=1))
    pool.close()


def test_creator_receives_the_connect_arguments() -> None:
    """A module's connect() and a plain callable both get *args and **kwargs."""
    module = _module("argsdb", threadsafety=1)
    pool = PooledDB(module, 0, 0, 0, 0, False, None, None, True, None, 1, "db", 5, user="me")
    with pool.connection():
        pass
    assert module.calls == [(("db", 5), {"user": "me"})]
    pool.close()
    seen: list[tuple[Any, ...]] = []

    def creator(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        seen.append((args, kwargs))
        return sqlite3.connect(":memory:")

    persist = PersistentDB(creator, None, None, None, 1, False, None, "x", flag=True)
    with persist.connection():
        pass
    assert seen == [(("x",), {"flag": True})]
    persist.close()


# -- PooledDB's behaviour ---------------------------------------------------------------------


def test_pooleddb_caps_refuse_or_wait(lite: RecordingDriver, clock: ManualClock) -> None:
    """At maxconnections: TooManyConnections without blocking; with it, a wait that may time out."""
    refusing = PooledDB(lite, maxconnections=1)
    held = refusing.connection()
    with pytest.raises(TooManyConnections, match="1 of 1 in use"):
        refusing.connection()
    held.close()
    refusing.close()
    waiting = PooledDB(lite, maxconnections=1, blocking=True, timeout=2, clock=clock)
    held = waiting.connection()
    waiter = park(clock, waiting.connection)
    clock.advance(2)
    with pytest.raises(PoolTimeout):
        waiter.join()
    second = park(clock, waiting.dedicated_connection)
    held.close()
    second.join().close()
    waiting.close()


def test_pooleddb_prefills_caches_and_runs_setsession(lite: RecordingDriver) -> None:
    """mincached opens connections at start with setsession; beyond maxcached they close."""
    pool = PooledDB(lite, mincached=1, maxcached=1, setsession=["PRAGMA cache_size = -100"], ping=0)
    assert log(lite) == ["connect0", "execute0", "commit0"]
    assert counts(pool) == (1, 0, 0, 1)
    first, second = pool.connection(), pool.connection()
    assert (ident(first), ident(second)) == (0, 1)
    first.close()
    second.close()
    assert log(lite) == ["connect1", "execute1", "commit1", "rollback0", "rollback1", "close1"]
    pool.close()


def test_pooleddb_reset_modes(lite: RecordingDriver) -> None:
    """reset=True always rolls back; reset=False only what begin() started."""
    always = PooledDB(lite, reset=True, ping=0)
    always.connection().close()
    assert log(lite) == ["connect0", "rollback0"]
    always.close()
    lite.drain()
    begun = PooledDB(lite, reset=False, ping=0)
    with begun.connection() as conn:
        conn.cursor().execute("SELECT 1")
    assert log(lite) == ["connect1", "execute1"]
    with begun.connection() as conn:
        conn.begin()
        conn.cursor().execute("CREATE TABLE t (x)")
    assert log(lite) == ["execute1", "rollback1"]
    begun.close()


def test_pooleddb_ping_on_checkout(lite: RecordingDriver) -> None:
    """ping=1 pings a connection the pool had; a dead one is replaced."""
    pool = PooledDB(lite, ping=1)
    pool.connection().close()
    lite.kill(0)
    lite.drain()
    with pool.connection() as conn:
        assert ident(conn) == 1
    assert log(lite) == ["ping0!", "close0", "connect1", "rollback1"]
    pool.close()


def test_pooleddb_transparent_reopen(lite: RecordingDriver) -> None:
    """With the module's failures, a statement on a lost connection outside a transaction reruns."""
    pool = PooledDB(lite, ping=0)
    with pool.connection() as conn:
        lite.kill(0)
        cur = conn.cursor().execute("SELECT 7")
        assert cur.fetchone() == (7,)
        assert ident(conn) == 1
    with pool.connection() as conn:
        conn.begin()
        lite.kill(1)
        with pytest.raises(lite.OperationalError):
            conn.cursor().execute("SELECT 7")
    assert counts(pool) == (0, 0, 0, 0)  # broken inside the transaction: closed on return
    pool.close()


def test_handles_after_close_raise_invalid_connection(lite: RecordingDriver) -> None:
    """Every use of a closed handle, or of its cursor, raises InvalidConnection."""
    pool = PooledDB(lite)
    conn = pool.connection()
    cur = conn.cursor().execute("SELECT 1")
    assert cur.fetchall() == [(1,)]
    conn.close()
    assert conn.closed
    for use in (conn.cursor, conn.commit, conn.rollback, conn.begin):
        with pytest.raises(InvalidConnection, match="already released"):
            use()
    with pytest.raises(InvalidConnection, match="closed twice"):
        conn.close()
    with pytest.raises(InvalidConnectionError):
        _ = conn.raw
    with pytest.raises(InvalidConnection):
        cur.execute("SELECT 1")
    with pytest.raises(InvalidConnection):
        cur.fetchone()
    cur.close()
    assert "closed" in repr(conn)
    pool.close()


def test_engine_extras_after_close_raise_invalid_connection(lite: RecordingDriver) -> None:
    """The engine's methods a DBUtils handle inherits raise DBUtils' name after close too."""
    pool = PooledDB(lite)
    conn = pool.connection()
    cur = conn.execute("SELECT 2")
    assert isinstance(cur, DBUtilsCursor)
    assert cur.fetchall() == [(2,)]
    conn.close()
    uses = (
        lambda: conn.execute("SELECT 1"),
        lambda: conn.invalidate(),
        lambda: conn.invalidate(soft=True),
        lambda: conn.detach(),
        lambda: conn.info,
    )
    for use in uses:
        with pytest.raises(InvalidConnection, match="already released"):
            use()
    with pytest.raises(InvalidConnection, match="already released"), cur:
        cur.fetchall()
    pool.close()


def test_invalidated_connection_raises_invalid_connection(lite: RecordingDriver) -> None:
    """A handle whose connection was invalidated raises InvalidConnection, and frees its slot."""
    pool = PooledDB(lite, maxconnections=1)
    conn = pool.connection()
    conn.invalidate()
    with pytest.raises(InvalidConnection):
        conn.cursor()
    with pytest.raises(InvalidConnection, match="closed twice"):
        conn.close()
    with pool.connection() as again:  # the slot is free
        assert ident(again) == 1
    pool.close()


def test_one_object_per_checkout(lite: RecordingDriver) -> None:
    """A DBUtils handle is the engine's handle itself, no bigger: the memory target's ground.

    BENCHMARKS.md checks the bytes per checked-out connection; this pins the
    reason they match the engine's: no wrapper object and no added slot.
    """
    pool = PooledDB(lite)
    persist = PersistentDB(lite, closeable=True)
    engine = Pool(lite)
    plain = engine.acquire()
    assert type(plain) is PooledConnection  # the engine's own doors are unchanged
    for conn in (pool.connection(), persist.connection(), pool.steady_connection()):
        assert isinstance(conn, DBUtilsConnection)
        assert isinstance(conn, PooledConnection)
        assert not hasattr(conn, "__dict__")
        assert sys.getsizeof(conn) == sys.getsizeof(plain)
        assert repr(conn).startswith("<DBUtilsConnection open, checked out at ")
        conn.close()
    plain.close()
    for closing in (pool.close, persist.close, engine.close):
        closing()


def test_dropped_handle_is_given_back_with_a_warning(lite: RecordingDriver) -> None:
    """A DBUtils handle dropped without close() is given back, with a ResourceWarning."""
    pool = PooledDB(lite)
    conn = pool.connection()
    site = re.escape(conn.checked_out_at)
    lite.drain()
    with pytest.warns(ResourceWarning, match=rf"at {site} was never closed"):
        del conn  # reference counting frees it at once: the handle is in no cycle
    assert log(lite) == ["rollback0"]
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_cursor_wrapper(lite: RecordingDriver) -> None:
    """The cursor offers DB-API's methods and attributes, by name."""
    pool = PooledDB(lite)
    with pool.connection() as conn, conn.cursor() as cur:
        assert cur.description is None
        assert cur.rowcount == -1
        cur.arraysize = 2
        cur.execute("CREATE TABLE t (x)")
        cur.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
        assert cur.execute("SELECT x FROM t ORDER BY x").fetchmany() == [(1,), (2,)]
        assert cur.arraysize == 2
        assert list(cur) == [(3,)]
        assert cur.description[0][0] == "x"
        conn.commit()
    pool.close()


def test_with_block_gives_back_once(lite: RecordingDriver) -> None:
    """Leaving a with block gives the connection back, even if it was closed inside."""
    pool = PooledDB(lite)
    with pool.connection() as conn:
        conn.close()
    with pool.connection() as conn:
        assert ident(conn) == 0
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()
    with pytest.raises(PoolClosed):
        pool.connection()


def test_steady_connection_is_unpooled(lite: RecordingDriver) -> None:
    """steady_connection() is outside the pool: setsession and reopen apply; close closes it."""
    pool = PooledDB(lite, maxconnections=1, setsession=["PRAGMA cache_size = -100"])
    held = pool.connection()
    steady = pool.steady_connection()  # not counted against maxconnections
    assert counts(pool) == (0, 1, 0, 1)
    lite.kill(ident(steady))
    assert steady.cursor().execute("SELECT 3").fetchone() == (3,)  # reopened transparently
    lite.drain()
    steady.close()
    assert log(lite) == ["rollback2", "close2"]
    held.close()
    pool.close()


def test_maxshared_shares_connections(clock: ManualClock) -> None:
    """With threadsafety >= 2, shareable requests share maxshared connections; dedicated do not."""
    driver = RecordingDriver(threadsafety=2)
    pool = PooledDB(driver, maxshared=1, maxconnections=1, blocking=True, clock=clock)
    assert pool.shared_config is not None
    assert (pool.shared_config.max_size, pool.shared_config.shared) == (1, True)
    assert pool.shared_config.failures == ()  # a shared connection is never reopened
    first, second = pool.connection(), pool.connection()
    assert first.raw is second.raw
    dedicated = pool.dedicated_connection()
    assert dedicated.raw is not first.raw
    waiter = park(clock, lambda: pool.connection(shareable=False))
    dedicated.close()
    waiter.join().close()
    first.close()
    second.close()
    pool.close()
    driver.close_all()


def test_maxshared_ignored_without_threadsafety_two(lite: RecordingDriver) -> None:
    """As in DBUtils, maxshared is ignored when the module's threadsafety is below 2."""
    pool = PooledDB(lite, maxshared=3)
    assert pool.shared_config is None
    first, second = pool.connection(), pool.connection()
    assert first.raw is not second.raw
    first.close()
    second.close()
    pool.close()


# -- PersistentDB ---------------------------------------------------------------------------


def test_persistentdb_keeps_the_connection_with_the_thread(lite: RecordingDriver) -> None:
    """close() gives the handle back; the thread's connection stays and comes back next time."""
    persist = PersistentDB(lite)
    first = persist.connection()
    nested = persist.dedicated_connection()
    assert nested.raw is first.raw
    nested.close()
    first.close()
    assert log(lite) == ["connect0"]  # nothing begun: no rollback, no close
    with pytest.raises(InvalidConnection):
        first.cursor()
    again = persist.connection()
    assert ident(again) == 0

    def other_thread() -> int:
        with persist.connection(shareable=True) as conn:
            return ident(conn)

    assert Worker(other_thread, "other").start().join() == 1  # another thread, another connection
    again.close()
    assert counts(persist) == (1, 0, 0, 1)  # the ended thread's connection was closed
    persist.end_thread()
    assert counts(persist) == (0, 0, 0, 0)
    persist.close()


def test_persistentdb_closeable(lite: RecordingDriver) -> None:
    """closeable=True closes the thread's connection when its outermost handle closes."""
    persist = PersistentDB(lite, closeable=True)
    outer = persist.connection()
    inner = persist.connection()
    inner.close()
    assert log(lite) == ["connect0"]
    outer.close()
    assert log(lite) == ["close0"]
    with persist.connection() as conn:
        assert ident(conn) == 1
    assert log(lite) == ["connect1", "close1"]
    with pytest.raises(InvalidConnection, match="closed twice"):
        conn.close()  # a second close does not end the thread's connection again
    held = persist.connection()
    steady = persist.steady_connection()
    steady.close()  # a steady connection is not the thread's: it closes only itself
    assert log(lite) == ["connect2", "connect3", "close3"]
    assert held.cursor().execute("SELECT 1").fetchone() == (1,)
    held.close()
    persist.close()


def test_persistentdb_rolls_back_begun_work(lite: RecordingDriver) -> None:
    """A transaction begun with begin() is rolled back when the outermost handle closes."""
    persist = PersistentDB(lite, ping=0)
    with persist.connection() as conn:
        conn.begin()
        conn.cursor().execute("CREATE TABLE t (x)")
    assert log(lite) == ["connect0", "execute0", "rollback0"]
    steady = persist.steady_connection()
    steady.close()
    assert log(lite) == ["connect1", "close1"]
    persist.close()


# -- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.server
def test_postgres_full_reset_leaves_no_session_state(postgres: ServerConnect) -> None:
    """PooledDB(reset=2) with DISCARD ALL hands the same backend over with SET undone."""
    # the module path: PooledDB passes the connect keyword arguments to pg.connect
    pg, params = postgres.dbapi, postgres.params
    pool = PooledDB(
        pg, 0, 1, 0, 1, False, None, None, 2, None, 1, full_reset_sql="DISCARD ALL", **params
    )
    assert pool.config.failures == (pg.OperationalError, pg.InterfaceError, pg.InternalError)
    with pool.connection() as conn:
        default = show(conn, "work_mem")
        pid = backend_pid(conn)
        conn.cursor().execute("SET work_mem = '9MB'")
        conn.commit()
    with pool.connection() as conn:
        assert backend_pid(conn) == pid
        assert show(conn, "work_mem") == default
    pool.close()


@pytest.mark.server
def test_postgres_transparent_reopen(postgres: ServerConnect, postgres_admin: Any) -> None:
    """A statement on a terminated backend, outside a transaction, reruns on a new session."""
    pool = PooledDB(postgres.dbapi, maxconnections=1, ping=0, **postgres.params)
    with pool.connection() as conn:
        pid = backend_pid(conn)
        conn.commit()
        terminate(postgres_admin, pid)
        assert backend_pid(conn) != pid
    stats = pool.stats()
    assert (stats.open, stats.created, stats.closed) == (1, 2, 1)
    pool.close()
