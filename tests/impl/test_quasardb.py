"""Tests for the quasardb-style front door (impl/_quasardb.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from impl import (
    ConnectionReleased,
    ForeignConnection,
    PoolClosed,
    PooledConnection,
    PoolError,
    PoolMisuse,
    ResetMode,
    SingletonPool,
    initialize,
    instance,
    shutdown,
    with_conn,
)
from spec._driver import RecordingDriver
from tests.impl.impl_support import Worker, counts, log


def ident(conn: PooledConnection) -> int:
    """The recording driver's id of the connection behind a handle."""
    return int(conn.raw.id)


@pytest.fixture(autouse=True)
def no_global_pool() -> Iterator[None]:
    """Every test starts and ends without a global pool."""
    shutdown()
    yield
    shutdown()


# -- SingletonPool ----------------------------------------------------------------------------


def test_get_conn_or_connect_with_arguments(lite: RecordingDriver) -> None:
    """The pool connects with get_conn(), or with connect(**connect_args)."""
    seen: list[dict[str, Any]] = []

    def connect(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return lite.connect()

    by_args = SingletonPool(connect=connect, database="app.db", timeout=3)
    with by_args.connect() as conn:
        assert ident(conn) == 0
    assert seen == [{"database": "app.db", "timeout": 3}]
    by_args.close()
    by_callable = SingletonPool(lite.connect)
    with by_callable.connect() as conn:
        assert ident(conn) == 1
    by_callable.close()
    assert (by_callable.config.per_thread, by_callable.config.max_size) == (True, None)


def test_constructor_refusals() -> None:
    """Neither, both, or a non-callable connection source is a TypeError."""
    with pytest.raises(TypeError, match="needs get_conn, or connect="):
        SingletonPool()
    with pytest.raises(TypeError, match=r"either get_conn or connect=.*got both \(database\)"):
        SingletonPool(sqlite3.connect, database=":memory:")
    with pytest.raises(TypeError, match="got both \\(connect\\)"):
        SingletonPool(sqlite3.connect, connect=sqlite3.connect)
    with pytest.raises(TypeError, match="get_conn must be callable, got 3"):
        SingletonPool(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="connect must be callable, got 'x'"):
        SingletonPool(connect="x")  # type: ignore[arg-type]


def test_one_connection_per_thread(lite: RecordingDriver) -> None:
    """A thread gets its own connection back every time; another thread gets another one."""
    pool = SingletonPool(lite.connect)
    outer = pool.connect()
    with pool.connect() as inner:  # reentrant: the same connection
        assert inner.raw is outer.raw
    pool.release(outer)
    with pool.connect() as again:
        assert ident(again) == 0

    def other() -> int:
        with pool.connect() as conn:
            return ident(conn)

    assert Worker(other, "other").start().join() == 1
    assert log(lite) == ["connect0", "connect1"]  # never reset: ResetMode.NONE
    assert pool.config.reset is ResetMode.NONE
    pool.close()


def test_ended_thread_connection_is_closed(lite: RecordingDriver) -> None:
    """Unlike quasardb, the connection of a thread that ended is closed (at the next operation)."""
    pool = SingletonPool(lite.connect)

    def other() -> None:
        with pool.connect():
            pass

    Worker(other, "other").start().join()
    lite.drain()
    assert counts(pool) == (0, 0, 0, 0)
    assert log(lite) == ["close0"]
    with pool.connect():
        pass
    pool.end_thread()
    assert log(lite) == ["connect1", "close1"]
    pool.close()


def test_release_checks_its_handle(lite: RecordingDriver) -> None:
    """release() refuses a handle given back already, or one from another pool."""
    pool, other = SingletonPool(lite.connect), SingletonPool(lite.connect)
    conn = pool.connect()
    pool.release(conn)
    with pytest.raises(ConnectionReleased):
        pool.release(conn)
    foreign = other.connect()
    with pytest.raises(ForeignConnection):
        pool.release(foreign)
    other.release(foreign)
    with pool:
        pass
    assert pool.closed
    with pytest.raises(PoolClosed):
        pool.connect()
    other.close()


# -- the global instance ----------------------------------------------------------------------


def test_instance_before_initialize() -> None:
    """instance() before initialize() is a clear PoolError, not an AssertionError."""
    with pytest.raises(PoolMisuse, match="not initialized: call initialize\\(\\) first") as err:
        instance()
    assert isinstance(err.value, PoolError)
    assert not isinstance(err.value, AssertionError)


def test_initialize_replaces_and_shutdown_forgets(lite: RecordingDriver) -> None:
    """initialize() sets the instance and closes the one it replaces; shutdown() clears it."""
    first = initialize(lite.connect)
    assert instance() is first
    with first.connect():
        pass
    second = initialize(get_conn=lite.connect)
    assert instance() is second
    assert first.closed
    assert log(lite) == ["connect0", "close0"]
    with pytest.raises(TypeError):
        initialize(lite.connect, database="x")
    assert instance() is second  # a failed initialize keeps the pool it would replace
    shutdown()
    assert second.closed
    with pytest.raises(PoolMisuse):
        instance()


# -- with_conn ------------------------------------------------------------------------------


def test_with_conn_by_index(lite: RecordingDriver) -> None:
    """with_conn injects the connection as a positional argument: first by default, or at arg."""
    initialize(lite.connect)

    @with_conn
    def first(conn: PooledConnection, x: int) -> tuple[int, int]:
        return ident(conn), x

    @with_conn()
    def also_first(conn: PooledConnection) -> int:
        return ident(conn)

    @with_conn(arg=1)
    def second(x: int, conn: PooledConnection, y: int = 0) -> tuple[int, int, int]:
        """Documented."""
        return x, ident(conn), y

    assert first(7) == (0, 7)
    assert also_first() == 0
    assert second(5, y=6) == (5, 0, 6)
    assert second.__name__ == "second"
    assert second.__doc__ == "Documented."
    assert counts(instance()) == (1, 0, 0, 1)  # given back after each call
    with pytest.raises(TypeError, match="positional argument 1, but only 0 come before it"):
        second()
    assert counts(instance()) == (1, 0, 0, 1)


def test_with_conn_by_name(lite: RecordingDriver) -> None:
    """with_conn(arg="conn") injects the connection as that keyword argument."""
    initialize(lite.connect)

    @with_conn(arg="conn")
    def work(x: int, conn: PooledConnection | None = None) -> tuple[int, int]:
        assert conn is not None
        return x, ident(conn)

    assert work(3) == (3, 0)
    with pytest.raises(TypeError, match="injects conn=; do not pass it yourself"):
        work(3, conn=None)


def test_with_conn_gives_back_on_error(lite: RecordingDriver) -> None:
    """The connection is given back when the decorated function raises."""
    initialize(lite.connect)

    @with_conn
    def boom(conn: PooledConnection) -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        boom()
    assert counts(instance()) == (1, 0, 0, 1)


def test_with_conn_refusals() -> None:
    """A bad arg is refused when decorating; a call before initialize() raises PoolMisuse."""
    with pytest.raises(TypeError, match=r"arg must be an int index or a keyword name, got 1\.5"):
        with_conn(arg=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got True"):
        with_conn(arg=True)
    with pytest.raises(ValueError, match="positional index >= 0, got -1"):
        with_conn(arg=-1)
    with pytest.raises(ValueError, match="keyword name, got 'not a name'"):
        with_conn(arg="not a name")

    @with_conn
    def work(conn: PooledConnection) -> None:
        raise AssertionError("never called")

    with pytest.raises(PoolMisuse, match="not initialized"):
        work()


def test_with_conn_records_the_callers_site(lite: RecordingDriver) -> None:
    """The handle with_conn checks out names the decorated function's caller as its site."""
    initialize(lite.connect)
    sites: list[str] = []

    @with_conn
    def note(conn: PooledConnection) -> None:
        sites.append(conn.checked_out_at)

    note()
    assert sites[0].startswith(f"{__file__}:")
