"""Tests for the recording DB-API 2 driver (spec/_driver.py)."""

from __future__ import annotations

import sqlite3
import sys
import threading
import types
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from spec._driver import (
    Call,
    CallKind,
    PendingFaults,
    RecordingConnection,
    RecordingDriver,
)
from spec._driver import DatabaseError as FakeDatabaseError
from spec._driver import Error as FakeError
from spec._driver import InterfaceError as FakeInterfaceError
from spec._driver import OperationalError as FakeOperationalError
from spec._driver import Warning as FakeWarning

# sqlite3 has PRAGMA, not SET; both dirty the tracked session.
SESSION_STATEMENT = {"fake": "SET search_path TO other", "sqlite3": "PRAGMA foreign_keys = ON"}


@pytest.fixture
def fake() -> Iterator[RecordingDriver]:
    """A driver in fake mode."""
    driver = RecordingDriver(None)
    yield driver
    driver.close_all()


@pytest.fixture
def lite() -> Iterator[RecordingDriver]:
    """A driver wrapping sqlite3; every connection is closed at teardown."""
    driver = RecordingDriver()
    yield driver
    driver.close_all()


@pytest.fixture(params=["fake", "sqlite3"])
def driver(request: pytest.FixtureRequest) -> Iterator[RecordingDriver]:
    """A driver in each mode; every connection is closed at teardown."""
    made = RecordingDriver(None if request.param == "fake" else sqlite3)
    yield made
    made.close_all()


def mode(driver: RecordingDriver) -> str:
    return "fake" if driver.wrapped is None else "sqlite3"


def shared_memory_uri() -> str:
    # A named in-memory database that every connection in this process can
    # open; ":memory:" would give each connection its own database.
    return f"file:driver-{uuid.uuid4().hex}?mode=memory&cache=shared"


def kinds(calls: tuple[Call, ...]) -> list[tuple[CallKind, int | None, bool]]:
    return [(c.kind, c.conn, c.ok) for c in calls]


def count_rows(conn: RecordingConnection) -> int:
    row = conn.execute("SELECT count(*) FROM t").fetchone()
    assert row is not None
    return int(row[0])


# --- Module attributes ---


def test_fake_mode_module_attributes() -> None:
    """Fake mode reports DB-API 2.0, threadsafety 1, qmark, and the module's own exceptions."""
    driver = RecordingDriver(None)
    assert (driver.apilevel, driver.threadsafety, driver.paramstyle) == ("2.0", 1, "qmark")
    assert driver.OperationalError is FakeOperationalError
    assert driver.Warning is FakeWarning
    assert driver.Error is FakeError


def test_fake_exception_hierarchy_follows_pep_249() -> None:
    """The fake exceptions nest as PEP 249 prescribes."""
    driver = RecordingDriver(None)
    for leaf in (
        driver.DataError,
        driver.OperationalError,
        driver.IntegrityError,
        driver.InternalError,
        driver.ProgrammingError,
        driver.NotSupportedError,
    ):
        assert issubclass(leaf, driver.DatabaseError)
    assert issubclass(driver.DatabaseError, driver.Error)
    assert issubclass(driver.InterfaceError, driver.Error)
    assert not issubclass(driver.InterfaceError, driver.DatabaseError)
    assert not issubclass(driver.Warning, driver.Error)
    assert not issubclass(driver.OperationalError, sqlite3.Error)


def test_sqlite_mode_uses_sqlite_exceptions_and_threadsafety_one() -> None:
    """Wrapping sqlite3 exposes sqlite3's exception classes and reports threadsafety 1."""
    driver = RecordingDriver()
    assert driver.wrapped is sqlite3
    assert driver.threadsafety == 1
    assert driver.paramstyle == sqlite3.paramstyle
    assert driver.OperationalError is sqlite3.OperationalError
    assert driver.InterfaceError is sqlite3.InterfaceError
    assert driver.NotSupportedError is sqlite3.NotSupportedError


def test_threadsafety_override() -> None:
    """An explicit threadsafety overrides the default."""
    assert RecordingDriver(threadsafety=3).threadsafety == 3


def test_other_wrapped_module_supplies_threadsafety_and_paramstyle() -> None:
    """A wrapped module other than sqlite3 supplies the default threadsafety and paramstyle."""
    module = types.ModuleType("otherdb")
    for name in (
        "Warning",
        "Error",
        "InterfaceError",
        "DatabaseError",
        "DataError",
        "OperationalError",
        "IntegrityError",
        "InternalError",
        "ProgrammingError",
        "NotSupportedError",
    ):
        setattr(module, name, getattr(sqlite3, name))
    setattr(module, "threadsafety", 2)  # noqa: B010 - ModuleType has no such attribute statically
    setattr(module, "paramstyle", "format")  # noqa: B010 - same
    driver = RecordingDriver(module)
    assert (driver.threadsafety, driver.paramstyle) == (2, "format")


def test_rejects_module_without_dbapi_exceptions() -> None:
    """Wrapping a module that lacks the PEP 249 exceptions is a TypeError naming the class."""
    with pytest.raises(TypeError, match="'Warning'"):
        RecordingDriver(types.ModuleType("notadb"))


def test_rejects_bad_threadsafety() -> None:
    """A threadsafety outside 0..3 is refused with the value in the message."""
    with pytest.raises(ValueError, match="not 7"):
        RecordingDriver(None, threadsafety=7)


# --- Connect, ids and the log ---


def test_connect_assigns_ids_in_order_and_logs(driver: RecordingDriver) -> None:
    """Connections get ids 0, 1, 2 in connect order, each logged as a successful CONNECT."""
    conns = [driver.connect() for _ in range(3)]
    assert [c.id for c in conns] == [0, 1, 2]
    calls = driver.calls()
    assert kinds(calls) == [(CallKind.CONNECT, i, True) for i in range(3)]
    assert [c.seq for c in calls] == [0, 1, 2]
    assert {c.thread for c in calls} == {threading.get_ident()}
    assert all(c.statement is None for c in calls)
    assert driver.connects == 3
    assert driver.open_connections() == frozenset({0, 1, 2})
    assert driver.connection(1) is conns[1]


def test_connection_lookup_of_unknown_id_raises() -> None:
    """Looking up an id no connect produced raises KeyError."""
    driver = RecordingDriver(None)
    driver.connect()
    with pytest.raises(KeyError, match="no connection 1"):
        driver.connection(1)
    with pytest.raises(KeyError):
        driver.kill(-1)


def test_cursor_and_execute_are_logged_with_statement(driver: RecordingDriver) -> None:
    """CURSOR and EXECUTE calls carry the connection id, and EXECUTE the statement."""
    conn = driver.connect()
    mark = driver.mark()
    conn.cursor().execute("SELECT 1")
    calls = driver.calls_since(mark)
    assert kinds(calls) == [(CallKind.CURSOR, 0, True), (CallKind.EXECUTE, 0, True)]
    assert [c.statement for c in calls] == [None, "SELECT 1"]


def test_connection_execute_logs_one_execute_and_returns_rows(driver: RecordingDriver) -> None:
    """connection.execute() logs a single EXECUTE and returns a cursor holding the result."""
    conn = driver.connect()
    mark = driver.mark()
    assert conn.execute("SELECT 1").fetchall() == [(1,)]
    assert kinds(driver.calls_since(mark)) == [(CallKind.EXECUTE, 0, True)]


def test_executemany_logs_one_execute(driver: RecordingDriver) -> None:
    """executemany() is one EXECUTE in the log, and runs every parameter set for real."""
    conn = driver.connect()
    conn.execute("CREATE TABLE t (x INTEGER)")
    cur = conn.cursor()
    mark = driver.mark()
    cur.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
    calls = driver.calls_since(mark)
    assert kinds(calls) == [(CallKind.EXECUTE, 0, True)]
    assert calls[0].statement == "INSERT INTO t VALUES (?)"
    if driver.wrapped is not None:
        assert count_rows(conn) == 3


def test_fake_cursor_returns_empty_results_except_select_one() -> None:
    """In fake mode only SELECT 1 returns a row; every other statement returns nothing."""
    driver = RecordingDriver(None)
    cur = driver.connect().cursor()
    cur.execute("SELECT * FROM anything")
    assert (cur.fetchall(), cur.fetchone(), cur.description, cur.rowcount) == ([], None, None, -1)
    cur.execute(" select 1; ")
    assert cur.description is not None
    assert cur.fetchone() == (1,)
    assert cur.fetchone() is None
    assert list(cur.execute("SELECT 1")) == [(1,)]
    cur.arraysize = 5
    assert cur.execute("SELECT 1").fetchmany() == [(1,)]
    assert cur.arraysize == 5


def test_sqlite_cursor_forwards_to_real_database(lite: RecordingDriver) -> None:
    """Wrapping sqlite3, statements run for real and fetches return the real rows."""
    conn = lite.connect()
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (x INTEGER)")
    cur.execute("INSERT INTO t VALUES (?)", (7,))
    assert cur.rowcount == 1
    cur.execute("INSERT INTO t VALUES (:x)", {"x": 8})
    cur.execute("SELECT x FROM t ORDER BY x")
    assert cur.description[0][0] == "x"
    assert cur.fetchmany(1) == [(7,)]
    assert list(cur) == [(8,)]
    cur.close()


def test_failed_statement_is_logged_not_ok_and_changes_no_state(lite: RecordingDriver) -> None:
    """A statement the real database rejects is logged ok=False and leaves the session alone."""
    conn = lite.connect()
    mark = lite.mark()
    with pytest.raises(sqlite3.OperationalError):
        conn.cursor().execute("INSERT INTO missing VALUES (1)")
    calls = lite.calls_since(mark)
    assert kinds(calls) == [(CallKind.CURSOR, 0, True), (CallKind.EXECUTE, 0, False)]
    assert calls[1].statement == "INSERT INTO missing VALUES (1)"
    assert not conn.in_transaction


# --- Real transactions underneath ---


def test_rollback_really_discards_rows_on_sqlite(lite: RecordingDriver) -> None:
    """A row inserted then rolled back is gone for another connection; a committed one is not."""
    uri = shared_memory_uri()
    writer = lite.connect(uri, uri=True)
    reader = lite.connect(uri, uri=True)
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.commit()
    writer.execute("INSERT INTO t VALUES (1)")
    writer.rollback()
    assert count_rows(reader) == 0
    writer.execute("INSERT INTO t VALUES (2)")
    writer.commit()
    assert count_rows(reader) == 1


def test_reset_rolls_back_real_transaction(lite: RecordingDriver) -> None:
    """reset() on a wrapped sqlite3 connection rolls back the open transaction underneath."""
    conn = lite.connect()
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.commit()
    conn.execute("INSERT INTO t VALUES (1)")
    conn.reset()
    assert count_rows(conn) == 0


def test_close_releases_real_connection_and_its_transaction(lite: RecordingDriver) -> None:
    """Closing a connection mid-transaction closes the real one, which rolls back and unlocks."""
    uri = shared_memory_uri()
    writer = lite.connect(uri, uri=True)
    reader = lite.connect(uri, uri=True)
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.commit()
    writer.execute("INSERT INTO t VALUES (1)")
    # While the writer's transaction is open, the shared cache locks the table.
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        count_rows(reader)
    writer.close()
    assert count_rows(reader) == 0


def test_kill_keeps_real_connection_until_closed(lite: RecordingDriver) -> None:
    """A killed connection holds its real transaction until the pool closes it."""
    uri = shared_memory_uri()
    victim = lite.connect(uri, uri=True)
    reader = lite.connect(uri, uri=True)
    victim.execute("CREATE TABLE t (x INTEGER)")
    victim.commit()
    victim.execute("INSERT INTO t VALUES (1)")
    lite.kill(victim.id)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        count_rows(reader)
    victim.close()
    assert count_rows(reader) == 0


def test_connect_with_arguments_keeps_default_keywords(lite: RecordingDriver) -> None:
    """connect() with arguments still gets check_same_thread=False, so other threads may use it."""
    conn = lite.connect(shared_memory_uri(), uri=True)
    main = threading.get_ident()
    seen: list[int] = []

    def use() -> None:
        seen.append(threading.get_ident())
        conn.execute("SELECT 1").fetchall()

    worker = threading.Thread(target=use)
    worker.start()
    worker.join()
    assert lite.calls()[-1].ok
    assert lite.calls()[-1].thread == seen[0]
    assert conn.thread_ids == frozenset({main, seen[0]})
    assert conn.last_thread == seen[0]


def test_real_connect_failure_is_logged_without_an_id(lite: RecordingDriver) -> None:
    """A connect the real module refuses is logged ok=False with no id, and ids stay dense."""
    with pytest.raises(sqlite3.OperationalError):
        lite.connect("file:/nonexistent-dir/x.db?mode=ro", uri=True)
    conn = lite.connect()
    assert conn.id == 0
    assert kinds(lite.calls()) == [(CallKind.CONNECT, None, False), (CallKind.CONNECT, 0, True)]
    assert (lite.connects, lite.failed_connects) == (1, 1)


# --- Fault injection ---


def test_fail_next_connects(driver: RecordingDriver) -> None:
    """The next n connects raise the driver's OperationalError, get no id, and are logged."""
    driver.fail_next_connects(2)
    assert driver.pending_faults() == PendingFaults(connect_failures=2, ping_failures=0)
    for _ in range(2):
        with pytest.raises(driver.OperationalError, match="injected"):
            driver.connect()
    assert driver.connect().id == 0
    assert kinds(driver.calls()) == [
        (CallKind.CONNECT, None, False),
        (CallKind.CONNECT, None, False),
        (CallKind.CONNECT, 0, True),
    ]
    assert driver.pending_faults() == PendingFaults(0, 0)
    assert (driver.connects, driver.failed_connects) == (1, 2)


def test_injected_connect_failure_is_the_wrapped_modules_error(lite: RecordingDriver) -> None:
    """When wrapping sqlite3, an injected connect failure is a sqlite3.OperationalError."""
    lite.fail_next_connects()
    with pytest.raises(sqlite3.OperationalError):
        lite.connect()


def test_negative_fault_counts_are_refused() -> None:
    """Arming a negative number of faults is a ValueError."""
    driver = RecordingDriver(None)
    with pytest.raises(ValueError, match="-1"):
        driver.fail_next_connects(-1)
    with pytest.raises(ValueError, match="-2"):
        driver.fail_next_pings(-2)


def test_kill_idle_connection(driver: RecordingDriver) -> None:
    """After kill(), every call but close() raises OperationalError, logged ok=False."""
    conn = driver.connect()
    driver.kill(conn.id)
    assert not conn.alive
    mark = driver.mark()
    for call in (conn.cursor, conn.commit, conn.rollback, conn.ping, conn.reset):
        with pytest.raises(driver.OperationalError, match="killed"):
            call()
    with pytest.raises(driver.OperationalError):
        conn.execute("SELECT 1")
    assert driver.open_connections() == frozenset({0})
    conn.close()
    assert kinds(driver.calls_since(mark)) == [
        (CallKind.CURSOR, 0, False),
        (CallKind.COMMIT, 0, False),
        (CallKind.ROLLBACK, 0, False),
        (CallKind.PING, 0, False),
        (CallKind.RESET, 0, False),
        (CallKind.EXECUTE, 0, False),
        (CallKind.CLOSE, 0, True),
    ]
    assert driver.open_connections() == frozenset()
    assert conn.closed


def test_kill_after_cursor_created(driver: RecordingDriver) -> None:
    """A cursor opened before kill() raises OperationalError on use, yet can still be closed."""
    conn = driver.connect()
    cur = conn.cursor()
    cur.execute("SELECT 1")
    driver.kill(conn.id)
    mark = driver.mark()
    with pytest.raises(driver.OperationalError):
        cur.execute("SELECT 1")
    with pytest.raises(driver.OperationalError):
        cur.executemany("SELECT ?", [(1,)])
    for fetch in (cur.fetchone, cur.fetchmany, cur.fetchall):
        with pytest.raises(driver.OperationalError):
            fetch()
    cur.close()
    calls = driver.calls_since(mark)
    assert kinds(calls) == [(CallKind.EXECUTE, 0, False), (CallKind.EXECUTE, 0, False)]
    assert calls[0].statement == "SELECT 1"


def test_kill_leaves_other_connections_alive(driver: RecordingDriver) -> None:
    """Killing one connection leaves the others usable."""
    first, second = driver.connect(), driver.connect()
    driver.kill(first.id)
    second.ping()
    assert second.alive
    assert not first.alive


def test_fail_next_pings(driver: RecordingDriver) -> None:
    """The next n pings on a live connection raise OperationalError; then pings succeed again."""
    conn = driver.connect()
    driver.fail_next_pings(2)
    assert driver.pending_faults() == PendingFaults(0, 2)
    mark = driver.mark()
    for _ in range(2):
        with pytest.raises(driver.OperationalError, match="injected ping failure"):
            conn.ping()
    conn.ping()
    assert kinds(driver.calls_since(mark)) == [
        (CallKind.PING, 0, False),
        (CallKind.PING, 0, False),
        (CallKind.PING, 0, True),
    ]
    assert conn.alive
    assert driver.pending_faults() == PendingFaults(0, 0)


def test_ping_fails_on_dead_connection_without_armed_failures(driver: RecordingDriver) -> None:
    """A ping on a killed connection fails even when no ping failure is armed."""
    conn = driver.connect()
    conn.ping()
    driver.kill(conn.id)
    with pytest.raises(driver.OperationalError, match="killed"):
        conn.ping()


# --- Session tracking ---


def test_transaction_and_session_tracking(driver: RecordingDriver) -> None:
    """Writes and BEGIN open a transaction, commit/rollback end it, SET/PRAGMA dirty the session."""
    conn = driver.connect()
    conn.execute("CREATE TABLE t (x INTEGER)")
    assert conn.in_transaction
    conn.commit()
    assert not conn.in_transaction
    conn.execute("SELECT 1")
    assert not conn.in_transaction
    assert not conn.session_dirty
    conn.execute("INSERT INTO t VALUES (1)")
    assert driver.in_transaction(conn.id)
    conn.rollback()
    assert not driver.in_transaction(conn.id)
    conn.execute("BEGIN")
    assert conn.in_transaction
    conn.execute("COMMIT")
    assert not conn.in_transaction
    conn.execute(SESSION_STATEMENT[mode(driver)])
    assert driver.session_dirty(conn.id)
    assert not conn.in_transaction


def test_rollback_keeps_session_state_and_reset_clears_both(driver: RecordingDriver) -> None:
    """rollback() leaves session state dirty (it leaks to the next borrower); reset() clears all."""
    conn = driver.connect()
    conn.execute(SESSION_STATEMENT[mode(driver)])
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.rollback()
    assert conn.session_dirty
    conn.execute("INSERT INTO t VALUES (1)")
    mark = driver.mark()
    conn.reset()
    assert kinds(driver.calls_since(mark)) == [(CallKind.RESET, 0, True)]
    assert not conn.session_dirty
    assert not conn.in_transaction


def test_set_is_recognised_case_insensitively() -> None:
    """A lower-case `set` statement dirties the session and opens no transaction."""
    conn = RecordingDriver(None).connect()
    conn.cursor().execute("  set statement_timeout = 5")
    assert conn.session_dirty
    assert not conn.in_transaction


def test_rollback_to_savepoint_keeps_transaction_open() -> None:
    """ROLLBACK TO a savepoint leaves the transaction open, unlike a plain ROLLBACK."""
    conn = RecordingDriver(None).connect()
    conn.execute("SAVEPOINT s")
    conn.execute("ROLLBACK TO SAVEPOINT s")
    assert conn.in_transaction
    conn.execute("ROLLBACK")
    assert not conn.in_transaction


# --- Closed connections and cursors ---


def test_closed_connection_refuses_use_and_double_close_is_logged(
    driver: RecordingDriver,
) -> None:
    """Using a closed connection raises InterfaceError; a second close is a logged no-op."""
    conn = driver.connect()
    conn.execute(SESSION_STATEMENT[mode(driver)])
    conn.close()
    assert conn.closed
    assert not conn.session_dirty
    mark = driver.mark()
    for call in (conn.cursor, conn.commit, conn.rollback, conn.ping, conn.reset):
        with pytest.raises(driver.InterfaceError, match="closed"):
            call()
    conn.close()
    assert kinds(driver.calls_since(mark)) == [
        (CallKind.CURSOR, 0, False),
        (CallKind.COMMIT, 0, False),
        (CallKind.ROLLBACK, 0, False),
        (CallKind.PING, 0, False),
        (CallKind.RESET, 0, False),
        (CallKind.CLOSE, 0, True),
    ]
    assert driver.closes == 1
    assert driver.open_connections() == frozenset()


def test_closing_does_not_consume_armed_ping_failure() -> None:
    """A ping on a closed connection fails as closed and leaves armed ping failures in place."""
    driver = RecordingDriver(None)
    conn = driver.connect()
    conn.close()
    driver.fail_next_pings()
    with pytest.raises(FakeInterfaceError):
        conn.ping()
    assert driver.pending_faults().ping_failures == 1


def test_cursor_of_closed_connection_refuses_use(driver: RecordingDriver) -> None:
    """A cursor whose connection was closed raises InterfaceError, and can still be closed."""
    conn = driver.connect()
    cur = conn.cursor()
    conn.close()
    with pytest.raises(driver.InterfaceError):
        cur.execute("SELECT 1")
    with pytest.raises(driver.InterfaceError):
        cur.fetchall()
    cur.close()
    assert driver.calls()[-1].kind is CallKind.EXECUTE
    assert not driver.calls()[-1].ok


def test_closed_cursor_refuses_use(driver: RecordingDriver) -> None:
    """A closed cursor raises InterfaceError while its connection stays usable."""
    conn = driver.connect()
    cur = conn.cursor()
    cur.close()
    cur.close()
    with pytest.raises(driver.InterfaceError, match="cursor"):
        cur.execute("SELECT 1")
    with pytest.raises(driver.InterfaceError):
        cur.fetchone()
    conn.ping()


def test_close_all_closes_open_connections_only(driver: RecordingDriver) -> None:
    """close_all() closes and logs exactly the connections still open."""
    conns = [driver.connect() for _ in range(3)]
    conns[1].close()
    mark = driver.mark()
    assert driver.close_all() == 2
    assert kinds(driver.calls_since(mark)) == [
        (CallKind.CLOSE, 0, True),
        (CallKind.CLOSE, 2, True),
    ]
    assert all(c.closed for c in conns)


# --- The log: concurrency, marks and draining ---


def test_log_is_exact_under_concurrent_use() -> None:
    """Threads logging at once lose no call, and seqs and ids stay dense and unique."""
    driver = RecordingDriver(None)
    threads, rounds = 8, 1000
    barrier = threading.Barrier(threads)
    idents: list[int] = []
    # Switch threads as often as possible, to give races every chance.
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def work() -> None:
        idents.append(threading.get_ident())
        barrier.wait()
        for _ in range(rounds):
            conn = driver.connect()
            conn.cursor().execute("UPDATE t SET x = 1")
            conn.close()

    try:
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(old_interval)

    calls = driver.calls()
    assert len(calls) == threads * rounds * 4
    assert [c.seq for c in calls] == list(range(len(calls)))
    connect_ids = [c.conn for c in calls if c.kind is CallKind.CONNECT]
    assert connect_ids == list(range(threads * rounds))
    assert Counter(c.thread for c in calls) == dict.fromkeys(idents, rounds * 4)
    assert all(c.ok for c in calls)
    assert driver.closes == threads * rounds
    assert driver.open_connections() == frozenset()


def test_mark_and_calls_since() -> None:
    """calls_since(mark) returns exactly the calls logged after mark() was taken."""
    driver = RecordingDriver(None)
    conn = driver.connect()
    mark = driver.mark()
    assert mark == 1
    assert driver.calls_since(mark) == ()
    conn.ping()
    conn.commit()
    assert kinds(driver.calls_since(mark)) == [(CallKind.PING, 0, True), (CallKind.COMMIT, 0, True)]
    assert driver.calls_since(0) == driver.calls()
    with pytest.raises(ValueError, match="mark 4"):
        driver.calls_since(4)
    with pytest.raises(ValueError, match="mark -1"):
        driver.calls_since(-1)


def test_drain_returns_and_forgets_calls() -> None:
    """drain() returns the calls so far and forgets them, while seqs keep counting."""
    driver = RecordingDriver(None)
    conn = driver.connect()
    conn.ping()
    before_drain = driver.mark()
    drained = driver.drain()
    assert kinds(drained) == [(CallKind.CONNECT, 0, True), (CallKind.PING, 0, True)]
    assert driver.calls() == ()
    assert driver.drain() == ()
    conn.rollback()
    assert [c.seq for c in driver.calls()] == [2]
    assert driver.calls_since(0) == driver.calls()
    assert driver.calls_since(before_drain) == driver.calls()
    assert driver.calls_since(3) == ()


def test_exceptions_are_catchable_as_base_classes() -> None:
    """An injected failure in fake mode is caught as DatabaseError and Error."""
    driver = RecordingDriver(None)
    driver.fail_next_connects()
    with pytest.raises(FakeDatabaseError):
        driver.connect()
    driver.fail_next_connects()
    with pytest.raises(FakeError):
        driver.connect()
