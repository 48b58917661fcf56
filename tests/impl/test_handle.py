"""Tests for the connection handle and its cursor (impl/_handle.py)."""

from __future__ import annotations

import gc
import re
import sqlite3
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from impl import (
    ConnectionReleased,
    Pool,
    PooledConnection,
    PooledCursor,
    PoolMisuse,
    ResetMode,
)
from impl._handle import UNRECORDED, SiteRecording
from spec._driver import RecordingDriver
from tests.impl.impl_support import Script, counts, log, this_line


def ident(conn: PooledConnection) -> int:
    """The recording driver's id of the connection behind a handle."""
    return int(conn.raw.id)


# -- the DB-API surface ------------------------------------------------------------------


def test_cursor_api(sqlite_creator: Callable[[], sqlite3.Connection]) -> None:
    """The cursor runs statements and fetches rows like the driver's own."""
    pool = Pool(sqlite_creator, max_size=1)
    with pool.acquire() as conn:
        cur = conn.cursor()
        assert isinstance(cur, PooledCursor)
        assert cur.description is None
        assert cur.rowcount == -1
        assert cur.arraysize == 1
        cur.arraysize = 2
        cur.execute("CREATE TABLE t (x)")
        cur.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,), (4,)])
        assert cur.rowcount == 4
        assert cur.arraysize == 2
        cur.execute("SELECT x FROM t ORDER BY x")
        assert cur.description[0][0] == "x"
        assert cur.fetchone() == (1,)
        assert cur.fetchmany() == [(2,), (3,)]
        assert cur.fetchall() == [(4,)]
        cur.arraysize = 3
        assert cur.execute("SELECT x FROM t WHERE x > ?", (1,)).fetchmany() == [(2,), (3,), (4,)]
        assert list(conn.execute("SELECT x FROM t WHERE x < 3 ORDER BY x")) == [(1,), (2,)]
        assert conn.execute("SELECT :v", {"v": 7}).fetchone() == (7,)
        cur.close()
        cur.close()
        conn.commit()
    pool.close()


def test_fetch_before_execute_is_misuse(fake: RecordingDriver) -> None:
    """Fetching from a cursor that ran nothing raises PoolMisuse."""
    pool = Pool(fake)
    with pool.acquire() as conn:
        cur = conn.cursor()
        for fetch in (cur.fetchone, cur.fetchall, cur.fetchmany):
            with pytest.raises(PoolMisuse, match="execute\\(\\) was not called"):
                fetch()
    pool.close()


def test_use_after_release(fake: RecordingDriver) -> None:
    """Every use of a released handle or of its cursors raises ConnectionReleased (EXCL-3)."""
    pool = Pool(fake)
    conn = pool.acquire()
    cur = conn.execute("SELECT 1")
    conn.close()
    assert conn.closed
    for use in (
        conn.cursor,
        conn.commit,
        conn.rollback,
        conn.begin,
        conn.detach,
        conn.invalidate,
        lambda: conn.raw,
        lambda: conn.info,
        cur.fetchone,
        lambda: cur.execute("SELECT 1"),
    ):
        with pytest.raises(ConnectionReleased, match="was already released"):
            use()
    cur.close()  # always allowed
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_context_manager_and_repr(fake: RecordingDriver) -> None:
    """A handle used as a context manager is given back on exit, once."""
    pool = Pool(fake)
    with pool.acquire() as conn:
        assert not conn.closed
        assert repr(conn).startswith("<PooledConnection open, checked out at ")
        assert "test_handle.py:" in repr(conn)
        conn.close()  # closing inside the block is fine; exit does not close again
    assert conn.closed
    assert repr(conn).startswith("<PooledConnection released")
    pool.close()


def test_checkout_site_is_the_callers_line(fake: RecordingDriver) -> None:
    """A handle records the file and line that checked it out, through either spelling."""
    pool = Pool(fake, max_size=2)
    line = this_line()
    a = pool.acquire()
    b = pool.connection()
    assert a.checked_out_at == f"{__file__}:{line + 1}"
    assert b.checked_out_at == f"{__file__}:{line + 2}"
    a.close()
    b.close()
    pool.close()


def test_checkout_site_stacklevel(fake: RecordingDriver) -> None:
    """stacklevel=2 records the caller's caller, on the quick path and the general one."""
    pool = Pool(fake, max_size=2)

    def front_door() -> PooledConnection:
        return pool.acquire(stacklevel=2)

    line = this_line()
    fresh = front_door()  # general path: a connect
    assert fresh.checked_out_at == f"{__file__}:{line + 1}"
    fresh.close()
    idle = front_door()  # quick path: an idle connection
    assert idle.checked_out_at == f"{__file__}:{line + 4}"
    idle.close()
    pool.close()


def test_stacklevel_too_deep_takes_nothing(fake: RecordingDriver) -> None:
    """A stacklevel deeper than the stack is refused before a connection is taken."""
    pool = Pool(fake, max_size=1)
    pool.acquire().close()  # one idle: the hot path would take it
    with warnings.catch_warnings():
        warnings.simplefilter("default", ResourceWarning)  # sites are recorded
        with pytest.raises(ValueError, match="call stack is not deep enough"):
            pool.acquire(stacklevel=10_000)
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_no_site_while_resource_warnings_are_ignored(fake: RecordingDriver) -> None:
    """While ResourceWarning is ignored no checkout records its site; once shown, every one does."""
    pool = Pool(fake, max_size=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        fresh = pool.acquire()  # the general path: a connect
        assert fresh.checked_out_at == UNRECORDED
        assert "-W default::ResourceWarning" in repr(fresh)
        fresh.close()
        idle = pool.acquire()  # the hot path: an idle connection
        assert idle.checked_out_at == UNRECORDED
        del idle  # dropped: given back all the same, and nothing is shown
        assert counts(pool) == (1, 0, 0, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("default", ResourceWarning)
        line = this_line()
        conn = pool.acquire()
        assert conn.checked_out_at == f"{__file__}:{line + 1}"
        conn.close()
    pool.close()


def test_filters_changed_in_place_count_from_a_new_pool_or_a_report(fake: RecordingDriver) -> None:
    """A filter change made in place counts in a new pool, or once a pool reports no site."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        pool = Pool(fake, max_size=1)
        with pool.acquire() as conn:
            assert conn._code is None
        warnings.simplefilter("default", ResourceWarning)  # in place: the same list
        with pool.acquire() as conn:
            assert conn._code is None  # not seen yet...
            assert conn.checked_out_at == UNRECORDED  # ...but reporting that reads them again
        with pool.acquire() as conn:
            assert conn._code is not None
        warnings.simplefilter("ignore", ResourceWarning)  # in place again
        with pool.acquire() as conn:
            assert conn._code is not None  # still recorded: a cost, not a loss
        other = Pool(fake, max_size=1)  # a new pool reads them
        with pool.acquire() as conn, other.acquire() as mine:
            assert conn._code is not None
            assert mine._code is None
        other.close()
    pool.close()


@pytest.mark.parametrize(
    ("filters", "on"),
    [
        ([], True),  # no filter: the default action, "default"
        ([("ignore", None, ResourceWarning, None, 0)], False),
        ([("ignore", None, Warning, None, 0)], False),  # a base class
        ([("ignore", None, DeprecationWarning, None, 0)], True),  # another category
        ([("error", None, ResourceWarning, None, 0)], True),
        ([("default", None, Warning, None, 0), ("ignore", None, ResourceWarning, None, 0)], True),
        # an ignore for some messages, modules or lines only may not apply: the next decides
        ([("ignore", re.compile("x"), ResourceWarning, None, 0)], True),
        ([("ignore", None, ResourceWarning, re.compile("impl"), 0)], True),
        ([("ignore", None, ResourceWarning, None, 7), ("ignore", None, Warning, None, 0)], False),
    ],
)
def test_site_recording_reads_filters_as_warn_would(filters: list[Any], on: bool) -> None:
    """The first filter for ResourceWarning decides, unless it may not apply; else the default."""
    sites = SiteRecording()
    sites.read(filters)
    assert sites.on is on
    assert sites.filters is filters


def test_site_recording_with_ignore_as_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no filter for ResourceWarning, a default action of "ignore" records nothing."""
    monkeypatch.setattr(warnings, "defaultaction", "ignore")
    sites = SiteRecording()
    sites.read([("error", None, DeprecationWarning, None, 0)])
    assert not sites.on


def test_info_lives_with_the_connection(fake: RecordingDriver) -> None:
    """info is one dict per connection, kept across checkouts."""
    pool = Pool(fake, max_size=1)
    with pool.acquire() as conn:
        conn.info["tenant"] = 7
    with pool.acquire() as conn:
        assert conn.info == {"tenant": 7}
    pool.close()


def test_commit_and_rollback(lite: RecordingDriver) -> None:
    """commit() keeps work and rollback() undoes it, through the driver's calls."""
    pool = Pool(lite, max_size=1, reset=ResetMode.NONE)
    with pool.acquire() as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.execute("INSERT INTO t VALUES (1)")
        conn.rollback()
        conn.execute("INSERT INTO t VALUES (2)")
        conn.commit()
        assert conn.execute("SELECT x FROM t").fetchall() == [(2,)]
    pool.close()


# -- drop and garbage collection ----------------------------------------------------------


def test_dropped_handle_is_returned_with_a_warning(fake: RecordingDriver) -> None:
    """A handle dropped unclosed is returned as by close(), warning where it was checked out."""
    pool = Pool(fake, max_size=1)
    conn = pool.acquire()
    site = re.escape(conn.checked_out_at)
    conn.execute("INSERT INTO t VALUES (1)")
    fake.drain()
    with pytest.warns(ResourceWarning, match=rf"at {site} was never closed"):
        del conn  # reference counting frees it at once: the handle is in no cycle
    assert log(fake) == ["rollback0"]  # DROP-1: exactly what a release does
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_dropped_nested_handles_return_once(fake: RecordingDriver) -> None:
    """Per-thread: dropping every handle returns the connection once, with one reset."""
    pool = Pool(fake, max_size=1, per_thread=True)
    outer = pool.acquire()
    inner = pool.acquire()
    fake.drain()
    with pytest.warns(ResourceWarning):
        del inner, outer
    assert log(fake) == ["rollback0"]
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_handle_holds_no_cycle(fake: RecordingDriver) -> None:
    """A dropped handle is collected by reference counting alone (no cycle keeps it alive)."""
    pool = Pool(fake, max_size=1)
    gc.disable()
    try:
        with pytest.warns(ResourceWarning):
            pool.acquire().execute("SELECT 1")
    finally:
        gc.enable()
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


# -- transparent reopen and failures --------------------------------------------------------


def reopening(driver: RecordingDriver, **fields: object) -> Pool:
    """A pool treating the driver's OperationalError as a lost connection."""
    return Pool(driver, failures=(driver.OperationalError,), **fields)  # type: ignore[arg-type]


def test_reopen_outside_a_transaction(fake: RecordingDriver) -> None:
    """A statement on a lost connection outside a transaction reconnects and reruns (LIVE-2)."""
    pool = reopening(fake, max_size=1, session=("SET a",), max_usage=3)
    conn = pool.acquire()
    conn.info["k"] = 1
    fake.kill(0)
    fake.drain()
    cur = conn.execute("INSERT INTO t VALUES (1)")
    assert cur.fetchall() == []
    assert log(fake) == ["execute0!", "connect1", "execute1", "commit1", "close0", "execute1"]
    assert ident(conn) == 1
    assert conn.info == {}
    assert counts(pool) == (0, 1, 0, 1)
    conn.close()
    assert log(fake) == ["rollback1"]
    for _ in range(2):  # the checkout count carried over: 1 + 2 more is max_usage
        pool.acquire().close()
    with pool.acquire() as again:
        assert ident(again) == 2
    pool.close()


def test_reopened_cursor_follows_the_new_connection(fake: RecordingDriver) -> None:
    """A cursor made before a reopen runs its next statement on the new connection."""
    pool = reopening(fake, max_size=1)
    conn = pool.acquire()
    cur = conn.cursor()
    cur.execute("SELECT 1")
    conn.commit()
    fake.kill(0)
    conn.execute("SELECT 1")  # reopens through another cursor
    fake.drain()
    cur.execute("SELECT 1")
    assert log(fake) == ["execute1"]
    conn.close()
    pool.close()


def test_reopen_clears_a_soft_invalidation(fake: RecordingDriver) -> None:
    """A reopened connection is new: a soft invalidation of the lost one does not carry over."""
    pool = reopening(fake, max_size=1)
    conn = pool.acquire()
    conn.invalidate(soft=True)
    fake.kill(0)
    conn.execute("SELECT 1")
    conn.close()
    with pool.acquire() as again:
        assert ident(again) == 1
    pool.close()


def test_reopen_failure_surfaces_and_breaks(fake: RecordingDriver) -> None:
    """If the reopen's connect fails its error surfaces and the connection closes on return."""
    pool = reopening(fake, max_size=1)
    conn = pool.acquire()
    fake.kill(0)
    fake.fail_next_connects(1)
    fake.drain()
    with pytest.raises(fake.OperationalError, match="injected connect failure"):
        conn.execute("SELECT 1")
    conn.close()
    assert log(fake) == ["execute0!", "connect!", "close0"]
    assert counts(pool) == (0, 0, 0, 0)
    pool.close()


@pytest.mark.parametrize("how", ["statement", "begin"])
def test_error_inside_a_transaction_surfaces(fake: RecordingDriver, how: str) -> None:
    """Inside a transaction a lost connection's error surfaces; it closes on return (LIVE-3)."""
    pool = reopening(fake, max_size=1)
    conn = pool.acquire()
    if how == "statement":
        conn.execute("INSERT INTO t VALUES (1)")
    else:
        conn.begin()
    fake.kill(0)
    fake.drain()
    with pytest.raises(fake.OperationalError, match="was killed"):
        conn.execute("INSERT INTO t VALUES (2)")
    conn.close()
    assert log(fake) == ["execute0!", "close0"]
    assert counts(pool) == (0, 0, 0, 0)
    pool.close()


def test_commit_ends_the_transaction_for_reopen(fake: RecordingDriver) -> None:
    """After commit() a lost connection is again reopened transparently."""
    pool = reopening(fake, max_size=1)
    conn = pool.acquire()
    conn.begin()
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    fake.kill(0)
    conn.execute("SELECT 1")
    assert ident(conn) == 1
    conn.close()
    pool.close()


@pytest.mark.parametrize("call", ["commit", "rollback"])
def test_failed_commit_or_rollback_breaks(fake: RecordingDriver, call: str) -> None:
    """A commit or rollback failing with a configured failure surfaces and breaks the connection."""
    pool = reopening(fake, max_size=1)
    conn = pool.acquire()
    fake.kill(0)
    with pytest.raises(fake.OperationalError):
        getattr(conn, call)()
    fake.drain()
    conn.close()
    assert log(fake) == ["close0"]  # broken: no reset attempted
    pool.close()


def test_failed_fetch_breaks(fake: RecordingDriver) -> None:
    """A fetch failing with a configured failure breaks the connection."""
    pool = reopening(fake, max_size=1)
    conn = pool.acquire()
    cur = conn.execute("SELECT 1")
    fake.kill(0)
    for fetch in (cur.fetchone, cur.fetchall, cur.fetchmany):
        with pytest.raises(fake.OperationalError):
            fetch()
    fake.drain()
    conn.close()
    assert log(fake) == ["close0"]
    pool.close()


def test_rerun_failure_after_reopen_breaks() -> None:
    """A statement that fails again on the reopened connection surfaces and breaks it."""
    script = Script()
    lost = ConnectionError("lost")
    script.plan = [{"execute[UPDATE]": lost}, {"execute[UPDATE]": lost}]
    pool = Pool(script, max_size=1, failures=(ConnectionError,))
    conn = pool.acquire()
    with pytest.raises(ConnectionError):
        conn.execute("UPDATE")
    script.take()
    conn.close()
    assert script.take() == ["close c1"]
    pool.close()


def test_without_failures_errors_just_surface(lite: RecordingDriver) -> None:
    """With no failure types configured a driver error surfaces and marks nothing."""
    pool = Pool(lite, max_size=1)
    conn = pool.acquire()
    with pytest.raises(sqlite3.OperationalError, match="syntax error"):
        conn.execute("SELEC 1")
    lite.drain()
    conn.close()
    assert log(lite) == ["rollback0"]  # not broken: reset and kept
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_other_errors_do_not_reopen(lite: RecordingDriver) -> None:
    """An error that is not a configured failure surfaces without a reopen."""
    pool = Pool(lite, max_size=1, failures=(lite.InterfaceError,))
    conn = pool.acquire()
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("SELEC 1")
    assert ident(conn) == 0
    conn.close()
    pool.close()


# -- invalidate and detach --------------------------------------------------------------------


def test_hard_invalidate(fake: RecordingDriver) -> None:
    """A hard invalidate closes now, frees the slot and ends the handle (INV-1)."""
    pool = Pool(fake, max_size=1)
    conn = pool.acquire()
    fake.drain()
    conn.invalidate()
    assert log(fake) == ["close0"]
    assert conn.closed
    assert counts(pool) == (0, 0, 0, 0)
    with pytest.raises(ConnectionReleased):
        conn.close()
    with pool.acquire() as again:
        assert ident(again) == 1
    pool.close()


def test_nested_invalidate_ends_every_handle(fake: RecordingDriver) -> None:
    """Per-thread: invalidating through an inner handle ends the outer one too."""
    pool = Pool(fake, max_size=1, per_thread=True)
    with pool.acquire() as outer:
        inner = pool.acquire()
        inner.invalidate()
        assert outer.closed
        with pytest.raises(ConnectionReleased, match="was invalidated"):
            outer.execute("SELECT 1")
    assert counts(pool) == (0, 0, 0, 0)
    again = pool.acquire()
    stale = pool.acquire()
    stale.invalidate()
    with pytest.raises(ConnectionReleased, match="was invalidated"):
        again.close()
    del again  # an invalidated handle is not "never closed": no warning
    gc.collect()
    pool.close()


def test_detach(fake: RecordingDriver) -> None:
    """A detached connection leaves the accounting; the handle keeps it; close closes it (DET-1)."""
    pool = Pool(fake, max_size=1, block=False, timeout=None)
    conn = pool.acquire()
    conn.detach()
    conn.detach()  # already detached: nothing more
    assert conn.detached
    assert counts(pool) == (0, 0, 0, 0)
    other = pool.acquire()  # the slot is free
    fake.drain()
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.invalidate(soft=True)  # nothing to retire
    conn.close()
    assert log(fake) == ["execute0", "commit0", "close0"]
    other.close()
    assert pool.stats().closed == 0  # detached closes are not the pool's
    pool.close()


def test_detached_invalidate_closes(fake: RecordingDriver) -> None:
    """A hard invalidate of a detached connection closes it and ends the handle."""
    pool = Pool(fake, max_size=1)
    conn = pool.acquire()
    conn.detach()
    fake.drain()
    conn.invalidate()
    assert log(fake) == ["close0"]
    assert conn.closed
    pool.close()


def test_detached_errors_just_surface(fake: RecordingDriver) -> None:
    """On a detached connection a lost connection is not reopened."""
    pool = reopening(fake, max_size=1)
    conn = pool.acquire()
    conn.detach()
    fake.kill(0)
    with pytest.raises(fake.OperationalError):
        conn.execute("SELECT 1")
    with pytest.raises(fake.OperationalError):
        conn.commit()
    conn.close()
    pool.close()


def test_detach_in_per_thread_mode_unbinds(fake: RecordingDriver) -> None:
    """Per-thread: a detached connection is no longer the thread's; the next checkout connects."""
    pool = Pool(fake, max_size=1, per_thread=True)
    conn = pool.acquire()
    conn.detach()
    with pool.acquire() as again:
        assert ident(again) == 1
    conn.close()
    pool.close()


def test_reopen_after_a_failed_commit_keeps_the_new_connection(fake: RecordingDriver) -> None:
    """A failed commit marks the lost connection broken; its reopened successor is kept (LIVE-2)."""
    pool = Pool(fake, max_size=2, failures=(fake.OperationalError,))
    conn = pool.acquire()
    fake.kill(0)
    with pytest.raises(fake.OperationalError):
        conn.commit()
    conn.execute("SELECT 1")  # outside a transaction: reopened on connection 1
    assert conn.raw.id == 1
    fake.drain()
    conn.close()
    assert log(fake) == ["rollback1"]  # reset and kept, not closed as broken
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()
