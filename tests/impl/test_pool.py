"""Tests for the pool's engine (impl/_pool.py): checkout, return, waiting, policies."""

from __future__ import annotations

import logging
import sqlite3
import threading
import types
from collections.abc import Callable
from typing import Any

import pytest

from impl import (
    ConnectionReleased,
    Fairness,
    ForeignConnection,
    IdleOrder,
    ManualClock,
    Ping,
    Pool,
    PoolClosed,
    PoolConfig,
    PoolConfigError,
    PooledConnection,
    PoolExhausted,
    PoolMisuse,
    PoolTimeout,
    ResetMode,
    TooManyWaiters,
)
from spec._driver import RecordingDriver
from tests.impl.impl_support import (
    PATIENCE,
    AutocommitRaw,
    PingingRaw,
    Raw,
    ResettingRaw,
    Script,
    Worker,
    counts,
    log,
    park,
)


def ident(conn: PooledConnection) -> int:
    """The recording driver's id of the connection behind a handle."""
    return int(conn.raw.id)


# -- creating a pool --------------------------------------------------------------------


def test_config_fields_as_keywords(fake: RecordingDriver) -> None:
    """Keyword arguments build the configuration; config and fields together are refused."""
    pool = Pool(fake, max_size=3, reset=ResetMode.COMMIT)
    assert pool.config == PoolConfig(max_size=3, reset=ResetMode.COMMIT)
    assert Pool(fake, PoolConfig(max_size=2)).config.max_size == 2
    with pytest.raises(TypeError, match="not both: got config and max_size"):
        Pool(fake, PoolConfig(), max_size=2)
    with pytest.raises(TypeError, match="config must be a PoolConfig"):
        Pool(fake, {"max_size": 2})  # type: ignore[arg-type]


def test_module_creator_uses_connect_args(sqlite_creator: Callable[[], sqlite3.Connection]) -> None:
    """A DB-API module is called as connect(*connect_args, **connect_kwargs)."""
    del sqlite_creator
    pool = Pool(sqlite3, connect_args=(":memory:",), connect_kwargs={"check_same_thread": False})
    with pool.acquire() as conn:
        assert isinstance(conn.raw, sqlite3.Connection)
        assert conn.execute("SELECT 2").fetchone() == (2,)
    pool.close()
    assert counts(pool) == (0, 0, 0, 0)


def test_module_with_threadsafety_zero_needs_per_thread() -> None:
    """A module with threadsafety 0 is refused, naming it, unless per_thread=True."""
    module = types.ModuleType("legacydb")
    module.apilevel = "2.0"  # type: ignore[attr-defined]
    module.threadsafety = 0  # type: ignore[attr-defined]
    module.connect = lambda: Raw("c", [])  # type: ignore[attr-defined]
    with pytest.raises(PoolConfigError, match="'legacydb' has threadsafety 0"):
        Pool(module)  # type: ignore[arg-type]
    pool = Pool(module, per_thread=True)  # type: ignore[arg-type]
    with pool.acquire() as conn:
        assert isinstance(conn.raw, Raw)
    pool.close()


def test_bad_creators_are_refused() -> None:
    """A creator that is not callable, or connect_args with a callable, raise TypeError."""
    with pytest.raises(TypeError, match="creator must be a zero-argument callable"):
        Pool(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="only when creator is a DB-API module"):
        Pool(Script(), connect_args=("x",))


def test_prefill_opens_min_idle(fake: RecordingDriver) -> None:
    """min_idle connections are opened at creation, idle (CAP-3)."""
    pool = Pool(fake, max_size=3, min_idle=2)
    assert log(fake) == ["connect0", "connect1"]
    assert counts(pool) == (2, 0, 0, 2)
    pool.close()


def test_prefill_failure_closes_what_it_opened() -> None:
    """A prefill connect that fails closes the connections opened so far and raises."""
    script = Script()
    script.plan = [{}]
    boom = RuntimeError("server down")

    def creator() -> Raw:
        if len(script.made) == 1:
            script.connect_errors.append(boom)
        return script()

    with pytest.raises(RuntimeError, match="server down"):
        Pool(creator, max_size=3, min_idle=2)
    assert script.take() == ["connect c0", "connect failed", "close c0"]


def test_session_statements_on_connect(fake: RecordingDriver) -> None:
    """A new connection runs each session statement, then commits (SETUP-1)."""
    pool = Pool(fake, session=("SET a = 1", "SET b = 2"))
    conn = pool.acquire()
    assert log(fake) == ["connect0", "execute0", "execute0", "commit0"]
    assert [c.statement for c in fake.calls()] == []
    conn.close()
    pool.close()


# -- checkout ---------------------------------------------------------------------------


def test_new_connections_until_the_cap(fake: RecordingDriver) -> None:
    """Each checkout connects while under max_size; stats count them in use."""
    pool = Pool(fake, max_size=2)
    a, b = pool.acquire(), pool.acquire()
    assert (ident(a), ident(b)) == (0, 1)
    assert log(fake) == ["connect0", "connect1"]
    assert counts(pool) == (0, 2, 0, 2)
    a.close()
    b.close()
    assert log(fake) == ["rollback0", "rollback1"]
    assert counts(pool) == (2, 0, 0, 2)
    pool.close()


@pytest.mark.parametrize(("order", "expected"), [(IdleOrder.FIFO, 0), (IdleOrder.LIFO, 1)])
def test_idle_order(fake: RecordingDriver, order: IdleOrder, expected: int) -> None:
    """FIFO takes the connection given back longest ago, LIFO the latest (ORDER-1)."""
    pool = Pool(fake, max_size=2, idle_order=order)
    a, b = pool.acquire(), pool.acquire()
    a.close()
    b.close()
    fake.drain()
    conn = pool.acquire()
    assert ident(conn) == expected
    assert log(fake) == []
    conn.close()
    pool.close()


def test_unlimited_pool_never_waits(fake: RecordingDriver) -> None:
    """With max_size=None every checkout without an idle connection connects (CAP-4)."""
    pool = Pool(fake, max_size=None, timeout=None)
    held = [pool.acquire() for _ in range(8)]
    assert counts(pool) == (0, 8, 0, 8)
    for conn in held:
        conn.close()
    assert counts(pool) == (8, 0, 0, 8)
    pool.close()


def test_closed_pool_refuses_checkout(fake: RecordingDriver) -> None:
    """A closed pool refuses every checkout with PoolClosed (CLOSE-1)."""
    pool = Pool(fake)
    pool.close()
    assert pool.closed
    with pytest.raises(PoolClosed, match="the pool is closed"):
        pool.acquire()
    with pytest.raises(PoolClosed):
        pool.connection()


def test_exhausted_without_blocking(fake: RecordingDriver) -> None:
    """With block=False an exhausted pool refuses at once, naming the counts (WAIT-1)."""
    pool = Pool(fake, max_size=1, block=False, timeout=None)
    conn = pool.acquire()
    with pytest.raises(PoolExhausted, match=r"block=False: 1 of 1 in use"):
        pool.acquire()
    with pytest.raises(ValueError, match="timeout applies only when block=True"):
        pool.acquire(timeout=1.0)
    conn.close()
    pool.close()


def test_too_many_waiters(fake: RecordingDriver, clock: ManualClock) -> None:
    """A checkout that would exceed max_waiters is refused at once (WAIT-6)."""
    pool = Pool(fake, max_size=1, max_waiters=1, clock=clock)
    conn = pool.acquire()
    waiter = park(clock, pool.acquire)
    with pytest.raises(TooManyWaiters, match="1 threads wait already, max_waiters=1"):
        pool.acquire()
    conn.close()
    waiter.join().close()
    none = Pool(fake, max_size=1, max_waiters=0, clock=clock)
    held = none.acquire()
    with pytest.raises(TooManyWaiters, match="max_waiters=0"):
        none.acquire()
    held.close()
    pool.close()
    none.close()


def test_bad_timeout_argument(fake: RecordingDriver) -> None:
    """acquire() refuses a timeout that is not > 0."""
    pool = Pool(fake)
    with pytest.raises(ValueError, match="timeout must be > 0 seconds or None, got 0"):
        pool.acquire(timeout=0)
    pool.close()


# -- waiting ----------------------------------------------------------------------------


def test_timeout_exactly_at_deadline(fake: RecordingDriver, clock: ManualClock) -> None:
    """A waiter is refused exactly when the clock reaches its deadline, not before (WAIT-2)."""
    pool = Pool(fake, max_size=1, timeout=2.0, clock=clock)
    conn = pool.acquire()
    waiter = park(clock, pool.acquire)
    clock.advance(1.5)
    assert clock.wait_parked(1, PATIENCE)
    assert counts(pool) == (0, 1, 1, 1)
    clock.advance(0.5)
    message = r"^no connection within 2\.00 s: 1 of 1 in use, 0 waiting$"
    with pytest.raises(PoolTimeout, match=message):
        waiter.join()
    stats = pool.stats()
    assert (stats.waiting, stats.timeouts, stats.wait_time) == (0, 1, 2.0)
    conn.close()
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_per_call_timeout_overrides_config(fake: RecordingDriver, clock: ManualClock) -> None:
    """acquire(timeout=...) replaces the configured timeout; None waits until served."""
    pool = Pool(fake, max_size=1, timeout=100.0, clock=clock)
    conn = pool.acquire()
    short = park(clock, lambda: pool.acquire(timeout=1))
    clock.advance(1)
    with pytest.raises(PoolTimeout, match=r"within 1\.00 s"):
        short.join()
    forever = park(clock, lambda: pool.acquire(timeout=None))
    clock.advance(1000)
    assert clock.wait_parked(1, PATIENCE)
    conn.close()
    forever.join().close()
    pool.close()


def test_stats_refuses_overdue_waiters(fake: RecordingDriver, clock: ManualClock) -> None:
    """A waiter past its deadline is refused by the time stats() answers, and is never served."""
    pool = Pool(fake, max_size=1, timeout=1.0, clock=clock)
    conn = pool.acquire()
    waiter = park(clock, pool.acquire)
    clock.advance(1)
    assert pool.stats().waiting == 0
    assert pool.stats().timeouts == 1
    conn.close()
    with pytest.raises(PoolTimeout):
        waiter.join()
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_fifo_handoff_to_three_waiters_in_order(fake: RecordingDriver, clock: ManualClock) -> None:
    """Under FIFO fairness freed connections go to the waiters oldest first (WAIT-5)."""
    pool = Pool(fake, max_size=1, clock=clock)
    conn = pool.acquire()
    served: list[str] = []
    lock = threading.Lock()

    def wait_as(name: str) -> PooledConnection:
        got = pool.acquire()
        with lock:
            served.append(name)
        return got

    waiters = [park(clock, lambda n=name: wait_as(n), name) for name in ("w1", "w2", "w3")]
    assert counts(pool) == (0, 1, 3, 1)
    for i, waiter in enumerate(waiters):
        conn.close()
        conn = waiter.join()
        assert served == ["w1", "w2", "w3"][: i + 1]
        assert ident(conn) == 0
        assert clock.wait_parked(2 - i, PATIENCE)
        assert pool.stats().waiting == 2 - i
    conn.close()
    assert log(fake) == ["connect0", "rollback0", "rollback0", "rollback0", "rollback0"]
    assert pool.stats().wait_time == 0.0
    pool.close()


def test_waiter_runs_the_gate_in_its_own_thread(fake: RecordingDriver, clock: ManualClock) -> None:
    """A connection handed to a waiter is pinged by the waiter's thread, not the releaser's."""
    pool = Pool(fake, max_size=1, ping=Ping.ON_CHECKOUT, clock=clock)
    conn = pool.acquire()
    waiter = park(clock, pool.acquire)
    fake.drain()
    conn.close()
    got = waiter.join()
    calls = fake.drain()
    assert [(c.kind.value, c.conn) for c in calls] == [("rollback", 0), ("ping", 0)]
    assert calls[0].thread == threading.get_ident()
    assert calls[1].thread == waiter.thread.ident
    got.close()
    pool.close()


def test_close_refuses_waiters(fake: RecordingDriver, clock: ManualClock) -> None:
    """Closing the pool refuses every waiter with PoolClosed (WAIT-4)."""
    pool = Pool(fake, max_size=1, clock=clock)
    conn = pool.acquire()
    waiters = [park(clock, pool.acquire, f"w{i}") for i in range(2)]
    pool.close()
    for waiter in waiters:
        with pytest.raises(PoolClosed, match="closed while waiting"):
            waiter.join()
    assert pool.stats().waiting == 0
    fake.drain()
    conn.close()
    assert log(fake) == ["close0"]  # CLOSE-2: closed on return, no reset
    assert counts(pool) == (0, 0, 0, 0)


def test_connect_failure_wakes_the_next_waiter(fake: RecordingDriver, clock: ManualClock) -> None:
    """A waiter whose connect in a freed slot fails gets the error; the next waiter then tries."""
    pool = Pool(fake, max_size=1, clock=clock)
    conn = pool.acquire()
    first = park(clock, pool.acquire, "first")
    second = park(clock, pool.acquire, "second")
    fake.drain()
    fake.fail_next_connects(1)
    conn.invalidate()
    with pytest.raises(fake.OperationalError, match="injected connect failure"):
        first.join()
    got = second.join()
    assert ident(got) == 1
    assert log(fake) == ["close0", "connect!", "connect1"]
    stats = pool.stats()
    assert (stats.failed_connects, stats.created, stats.closed) == (1, 2, 1)
    got.close()
    pool.close()


def test_gate_failure_for_a_waiter_wakes_the_next(
    fake: RecordingDriver, clock: ManualClock
) -> None:
    """A waiter handed a stale connection whose replacement fails gets the error; the next tries."""
    pool = Pool(fake, max_size=1, clock=clock)
    conn = pool.acquire()
    first = park(clock, pool.acquire, "first")
    second = park(clock, pool.acquire, "second")
    conn.invalidate(soft=True)
    fake.drain()
    fake.fail_next_connects(1)
    conn.close()
    with pytest.raises(fake.OperationalError):
        first.join()
    got = second.join()
    assert ident(got) == 1
    assert log(fake) == ["rollback0", "close0", "connect!", "connect1"]
    got.close()
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


class _GatedCondition:
    """A condition whose wait, once woken, lets the lock go until a gate opens (a slow waker)."""

    def __init__(self, lock: Any, sync: _GatedSync) -> None:
        self._cond = threading.Condition(lock)
        self._lock = lock
        self._gate = sync.gate
        self._woken = sync.woken
        self._rewaited = sync.rewaited

    def wait(self, timeout: float | None = None) -> bool:
        if self._woken.is_set():
            self._rewaited.set()  # the lock is released as soon as the inner wait starts
        result = self._cond.wait(timeout)
        if not self._gate.is_set():
            self._lock.release()
            self._woken.set()
            self._gate.wait(PATIENCE)
            self._lock.acquire()
        return result

    def notify(self, n: int = 1) -> None:
        self._cond.notify(n)

    def notify_all(self) -> None:
        self._cond.notify_all()

    def __enter__(self) -> bool:
        return self._cond.__enter__()

    def __exit__(self, *args: Any) -> None:
        self._cond.__exit__(*args)


class _GatedSync:
    """Conditions that let a test run between a waiter's wake-up and its re-check."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.woken = threading.Event()
        self.rewaited = threading.Event()

    def lock(self) -> Any:
        return threading.Lock()

    def condition(self, lock: Any) -> Any:
        return _GatedCondition(lock, self)


def test_barging_new_arrival_can_take_a_freed_connection(fake: RecordingDriver) -> None:
    """Under barging a woken waiter competes: a new arrival may win; the waiter waits on."""
    sync = _GatedSync()
    clock = ManualClock()
    pool = Pool(fake, max_size=1, fairness=Fairness.BARGING, clock=clock, sync=sync)
    conn = pool.acquire()
    waiter = park(clock, pool.acquire)
    conn.close()  # goes idle; the waiter is woken but held at the gate
    assert sync.woken.wait(PATIENCE)
    assert counts(pool) == (1, 0, 0, 1)
    barger = pool.acquire()  # a new arrival takes it
    sync.gate.set()
    assert sync.rewaited.wait(PATIENCE)  # the waiter lost and waits again
    assert pool.stats().waiting == 1
    barger.close()
    got = waiter.join()
    assert ident(got) == 0
    got.close()
    pool.close()


def test_barging_waiter_gets_a_freed_connection(fake: RecordingDriver, clock: ManualClock) -> None:
    """Under barging a freed connection goes idle and a woken waiter takes it."""
    pool = Pool(fake, max_size=1, fairness=Fairness.BARGING, clock=clock)
    conn = pool.acquire()
    waiter = park(clock, pool.acquire)
    conn.close()
    got = waiter.join()
    assert ident(got) == 0
    assert counts(pool) == (0, 1, 0, 1)
    got.invalidate()
    pool.close()


def test_barging_freed_slot_wakes_a_waiter(fake: RecordingDriver, clock: ManualClock) -> None:
    """Under barging a freed slot wakes a waiter, which connects in it itself."""
    pool = Pool(fake, max_size=1, fairness=Fairness.BARGING, timeout=5.0, clock=clock)
    conn = pool.acquire()
    waiter = park(clock, pool.acquire)
    conn.invalidate()
    got = waiter.join()
    assert ident(got) == 1
    got.close()
    pool.close()


# -- return and reset -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "begin", "expected"),
    [
        (ResetMode.NONE, True, []),
        (ResetMode.ROLLBACK_IF_BEGUN, False, []),
        (ResetMode.ROLLBACK_IF_BEGUN, True, ["rollback0"]),
        (ResetMode.ROLLBACK, False, ["rollback0"]),
        (ResetMode.COMMIT, False, ["commit0"]),
        (ResetMode.FULL, False, ["reset0", "execute0", "commit0"]),
    ],
)
@pytest.mark.parametrize("listened", [False, True], ids=["hot-path", "general-path"])
def test_reset_modes(
    fake: RecordingDriver, mode: ResetMode, begin: bool, expected: list[str], listened: bool
) -> None:
    """Each reset mode makes exactly its calls on return (RESET-1..5), on either code path."""
    session = ("SET a = 1",) if mode is ResetMode.FULL else ()
    pool = Pool(fake, reset=mode, session=session)
    if listened:  # any listener routes checkout and return through the general path
        pool.add_listener("checkin", lambda p, raw: None)
    conn = pool.acquire()
    if begin:
        conn.begin()
    conn.execute("INSERT INTO t VALUES (1)")
    fake.drain()
    conn.close()
    assert log(fake) == expected
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_reset_mode_none_keeps_the_transaction(lite: RecordingDriver) -> None:
    """Reset mode none leaves uncommitted work to the next borrower."""
    pool = Pool(lite, reset=ResetMode.NONE, max_size=1)
    with pool.acquire() as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.execute("INSERT INTO t VALUES (1)")
    assert lite.in_transaction(0)
    with pool.acquire() as conn:
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    pool.close()


def test_rollback_on_return_undoes_work(lite: RecordingDriver) -> None:
    """Reset mode rollback undoes uncommitted work; committed session setup survives it."""
    pool = Pool(lite, max_size=1, session=("CREATE TABLE IF NOT EXISTS t (x)",))
    with pool.acquire() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
    assert not lite.in_transaction(0)
    with pool.acquire() as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    pool.close()


def test_full_reset_with_sql() -> None:
    """Without reset() a full reset rolls back, runs full_reset_sql, commits, then the session."""
    script = Script()
    pool = Pool(script, reset=ResetMode.FULL, full_reset_sql="DISCARD ALL", session=("SET a",))
    conn = pool.acquire()
    script.take()
    conn.close()
    assert script.take() == [
        "rollback c0",
        "cursor c0",
        "execute[DISCARD ALL] c0",
        "commit c0",
        "cursor c0",
        "execute[SET a] c0",
        "commit c0",
    ]
    pool.close()


def test_full_reset_sql_runs_in_autocommit() -> None:
    """With a boolean autocommit the reset statement runs in autocommit mode, then restores it."""
    script = Script(AutocommitRaw)
    pool = Pool(script, reset=ResetMode.FULL, full_reset_sql="DISCARD ALL", session=("SET a",))
    conn = pool.acquire()
    script.take()
    conn.close()
    assert script.take() == [
        "rollback c0",
        "autocommit=True c0",
        "cursor c0",
        "execute[DISCARD ALL] c0",
        "autocommit=False c0",
        "cursor c0",
        "execute[SET a] c0",
        "commit c0",
    ]
    pool.close()


def test_full_reset_sql_on_an_autocommit_connection() -> None:
    """A connection already in autocommit mode runs the reset statement as it is, with no commit."""
    script = Script(AutocommitRaw)
    pool = Pool(script, reset=ResetMode.FULL, full_reset_sql="DISCARD ALL")
    conn = pool.acquire()
    conn.raw.autocommit = True
    script.take()
    conn.close()
    assert script.take() == ["rollback c0", "cursor c0", "execute[DISCARD ALL] c0"]
    pool.close()


def test_full_reset_by_reset_method() -> None:
    """A connection with reset() is fully reset by it."""
    script = Script(ResettingRaw)
    pool = Pool(script, reset=ResetMode.FULL, full_reset_sql="DISCARD ALL")
    conn = pool.acquire()
    script.take()
    conn.close()
    assert script.take() == ["reset c0"]
    pool.close()


def test_full_reset_fallback_reopens() -> None:
    """Without reset() or full_reset_sql a full reset rolls back, closes and reconnects in place."""
    script = Script()
    pool = Pool(script, reset=ResetMode.FULL, max_size=1)
    conn = pool.acquire()
    conn.info["k"] = "v"
    script.take()
    conn.close()
    assert script.take() == ["rollback c0", "close c0", "connect c1"]
    stats = pool.stats()
    assert (stats.idle, stats.open, stats.created, stats.closed) == (1, 1, 2, 1)
    with pool.acquire() as again:
        assert again.raw is script.made[1]
        assert again.info == {}
    pool.close()


def test_full_reset_fallback_connect_failure_frees_the_slot() -> None:
    """A failed reconnect in the full-reset fallback frees the slot without a second close."""
    script = Script()
    pool = Pool(script, reset=ResetMode.FULL, max_size=1)
    conn = pool.acquire()
    script.take()
    script.connect_errors.append(RuntimeError("refused"))
    conn.close()
    assert script.take() == ["rollback c0", "close c0", "connect failed"]
    stats = pool.stats()
    assert (stats.open, stats.closed, stats.failed_connects) == (0, 1, 1)
    pool.close()


@pytest.mark.parametrize("listened", [False, True], ids=["hot-path", "general-path"])
def test_failed_reset_closes_and_frees_the_slot(fake: RecordingDriver, listened: bool) -> None:
    """A reset that raises (dead connection) closes it and frees its slot; close() succeeds."""
    pool = Pool(fake, max_size=1)
    if listened:
        pool.add_listener("checkout", lambda p, raw: None)
    conn = pool.acquire()
    fake.kill(0)
    fake.drain()
    conn.close()
    assert log(fake) == ["rollback0!", "close0"]
    assert counts(pool) == (0, 0, 0, 0)
    with pool.acquire() as again:
        assert ident(again) == 1
    pool.close()


def test_failed_reset_serves_a_waiter(fake: RecordingDriver, clock: ManualClock) -> None:
    """The slot freed by a failed reset goes to a waiter, which connects in it."""
    pool = Pool(fake, max_size=1, clock=clock)
    conn = pool.acquire()
    waiter = park(clock, pool.acquire)
    fake.kill(0)
    conn.close()
    got = waiter.join()
    assert ident(got) == 1
    got.close()
    pool.close()


def test_overflow_closed_beyond_idle_cap(fake: RecordingDriver) -> None:
    """A connection given back while idle_cap are idle is closed (CAP-2)."""
    pool = Pool(fake, max_size=3, idle_cap=1)
    a, b = pool.acquire(), pool.acquire()
    fake.drain()
    a.close()
    b.close()
    assert log(fake) == ["rollback0", "rollback1", "close1"]
    assert counts(pool) == (1, 0, 0, 1)
    zero = Pool(fake, max_size=1, idle_cap=0)
    zero.acquire().close()
    assert counts(zero) == (0, 0, 0, 0)
    pool.close()


# -- the checkout gate ------------------------------------------------------------------


def test_soft_invalidated_retired_at_checkout(fake: RecordingDriver) -> None:
    """A stale connection is closed and replaced at its next checkout (INV-2)."""
    pool = Pool(fake, max_size=1)
    conn = pool.acquire()
    conn.invalidate(soft=True)
    conn.execute("SELECT 1")  # the handle keeps working
    conn.close()
    fake.drain()
    with pool.acquire() as again:
        assert ident(again) == 1
    assert log(fake) == ["close0", "connect1", "rollback1"]
    pool.close()


def test_max_usage(fake: RecordingDriver) -> None:
    """A connection checked out max_usage times is retired at the next checkout (RETIRE-1)."""
    pool = Pool(fake, max_size=1, max_usage=2)
    for _ in range(2):
        with pool.acquire() as conn:
            assert ident(conn) == 0
    fake.drain()
    with pool.acquire() as conn:
        assert ident(conn) == 1
    assert log(fake) == ["close0", "connect1", "rollback1"]
    pool.close()


def test_max_lifetime(fake: RecordingDriver, clock: ManualClock) -> None:
    """A connection is retired at the first checkout once max_lifetime passed (RETIRE-2)."""
    pool = Pool(fake, max_size=1, max_lifetime=10, clock=clock)
    pool.acquire().close()
    clock.advance(9.5)
    with pool.acquire() as conn:
        assert ident(conn) == 0
    clock.advance(0.5)
    with pool.acquire() as conn:
        assert ident(conn) == 1
    pool.close()


def test_max_idle_time_counts_only_idle_time(fake: RecordingDriver, clock: ManualClock) -> None:
    """Idle time counts from the return; time checked out does not count (RETIRE-3)."""
    pool = Pool(fake, max_size=1, max_idle_time=5, clock=clock)
    conn = pool.acquire()
    clock.advance(100)
    conn.close()
    clock.advance(4)
    with pool.acquire() as conn:
        assert ident(conn) == 0
    clock.advance(5)
    with pool.acquire() as conn:
        assert ident(conn) == 1
    pool.close()


def test_prefilled_connection_idles_from_creation(
    fake: RecordingDriver, clock: ManualClock
) -> None:
    """A prefilled connection's idle time counts from its connect."""
    pool = Pool(fake, max_size=1, min_idle=1, max_idle_time=5, clock=clock)
    clock.advance(5)
    with pool.acquire() as conn:
        assert ident(conn) == 1
    pool.close()


def test_ping_success(fake: RecordingDriver) -> None:
    """With ping on checkout a connection the pool had is pinged and handed out (LIVE-1)."""
    pool = Pool(fake, max_size=1, ping=Ping.ON_CHECKOUT)
    pool.acquire().close()
    fake.drain()
    with pool.acquire() as conn:
        assert ident(conn) == 0
    assert log(fake) == ["ping0", "rollback0"]
    pool.close()


def test_ping_failure_replaces(fake: RecordingDriver) -> None:
    """A failed ping closes the connection and connects a replacement in its slot (LIVE-1)."""
    pool = Pool(fake, max_size=1, ping=Ping.ON_CHECKOUT)
    pool.acquire().close()
    fake.kill(0)
    fake.drain()
    with pool.acquire() as conn:
        assert ident(conn) == 1
    assert log(fake) == ["ping0!", "close0", "connect1", "rollback1"]
    fake.fail_next_pings(1)
    with pool.acquire() as conn:
        assert ident(conn) == 2
    pool.close()


def test_ping_by_select_without_ping_method() -> None:
    """A connection without ping() is pinged with SELECT 1 on a cursor."""
    script = Script()
    pool = Pool(script, ping=Ping.ON_CHECKOUT)
    pool.acquire().close()
    script.take()
    pool.acquire().close()
    assert script.take() == ["cursor c0", "execute[SELECT 1] c0", "rollback c0"]
    pool.close()


def test_replacement_failure_frees_the_slot(fake: RecordingDriver) -> None:
    """When the gate's replacement connect fails the caller gets the error and the slot frees."""
    pool = Pool(fake, max_size=1)
    conn = pool.acquire()
    conn.invalidate(soft=True)
    conn.close()
    fake.fail_next_connects(1)
    with pytest.raises(fake.OperationalError):
        pool.acquire()
    assert counts(pool) == (0, 0, 0, 0)
    with pool.acquire() as conn:
        assert ident(conn) == 1
    pool.close()


# -- BaseException gives back what it holds ---------------------------------------------


def test_interrupt_in_creator_gives_back_the_slot() -> None:
    """A KeyboardInterrupt from the creator frees the reserved slot."""
    script = Script()
    pool = Pool(script, max_size=1, block=False, timeout=None)
    script.connect_errors.append(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        pool.acquire()
    assert counts(pool) == (0, 0, 0, 0)
    assert pool.stats().failed_connects == 1
    pool.acquire().close()
    pool.close()


def test_interrupt_in_ping_gives_back_the_slot() -> None:
    """A KeyboardInterrupt from a ping closes the connection and frees its slot."""
    script = Script(PingingRaw)
    script.plan = [{"ping": KeyboardInterrupt()}]
    pool = Pool(script, max_size=1, ping=Ping.ON_CHECKOUT, block=False, timeout=None)
    pool.acquire().close()
    script.take()
    with pytest.raises(KeyboardInterrupt):
        pool.acquire()
    assert script.take() == ["ping c0", "close c0"]
    assert counts(pool) == (0, 0, 0, 0)
    with pool.acquire() as conn:
        assert conn.raw is script.made[1]
    pool.close()


@pytest.mark.parametrize("listened", [False, True], ids=["hot-path", "general-path"])
def test_interrupt_in_reset_gives_back_the_slot(clock: ManualClock, listened: bool) -> None:
    """A KeyboardInterrupt from the reset closes the connection, frees the slot, serves a waiter."""
    script = Script()
    script.plan = [{"rollback": KeyboardInterrupt()}]
    pool = Pool(script, max_size=1, clock=clock)
    if listened:
        pool.add_listener("checkin", lambda p, raw: None)
    conn = pool.acquire()
    waiter = park(clock, pool.acquire)
    with pytest.raises(KeyboardInterrupt):
        conn.close()
    got = waiter.join()
    assert got.raw is script.made[1]
    assert script.made[0].closed
    got.close()
    pool.close()


def test_interrupt_in_session_setup_closes_the_connection() -> None:
    """A KeyboardInterrupt from a session statement closes the new connection and frees its slot."""
    script = Script()
    script.plan = [{"execute[SET a]": KeyboardInterrupt()}]
    pool = Pool(script, max_size=1, session=("SET a",))
    with pytest.raises(KeyboardInterrupt):
        pool.acquire()
    assert script.made[0].closed
    assert counts(pool) == (0, 0, 0, 0)
    pool.close()


class _InterruptingClock:
    """A manual clock whose first wait raises KeyboardInterrupt (a Ctrl-C while waiting)."""

    def __init__(self) -> None:
        self.inner = ManualClock()
        self.armed = True

    def now(self) -> float:
        return self.inner.now()

    def wait(self, cond: Any, timeout: float | None) -> None:
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt
        self.inner.wait(cond, timeout)


def test_interrupt_while_waiting_leaves_the_line(fake: RecordingDriver) -> None:
    """A waiter interrupted while waiting leaves the line; nothing is handed to it later."""
    clock = _InterruptingClock()
    pool = Pool(fake, max_size=1, clock=clock)
    conn = pool.acquire()
    with pytest.raises(KeyboardInterrupt):
        pool.acquire()
    assert pool.stats().waiting == 0
    conn.close()
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_interrupt_in_checkout_listener_gives_back(fake: RecordingDriver) -> None:
    """A KeyboardInterrupt from a checkout listener gives the connection back."""
    pool = Pool(fake, max_size=1)

    def interrupt(pool: Pool, raw: Any) -> None:
        raise KeyboardInterrupt

    pool.add_listener("checkout", interrupt)
    with pytest.raises(KeyboardInterrupt):
        pool.acquire()
    assert counts(pool) == (1, 0, 0, 1)
    pool.remove_listener("checkout", interrupt)
    pool.acquire().close()
    pool.close()


# -- per-thread mode --------------------------------------------------------------------


def test_per_thread_reentrant(fake: RecordingDriver) -> None:
    """A nested checkout in the same thread shares the connection with no driver call (AFF-2)."""
    pool = Pool(fake, max_size=2, per_thread=True)
    checkins: list[int] = []
    pool.add_listener("checkin", lambda p, raw: checkins.append(raw.id))
    outer = pool.acquire()
    inner = pool.acquire()
    assert inner is not outer
    assert inner.raw is outer.raw
    assert log(fake) == ["connect0"]
    inner.close()
    assert log(fake) == []
    assert checkins == []  # EVENT-1: a nested release gives nothing back
    assert counts(pool) == (0, 1, 0, 1)
    outer.close()
    assert log(fake) == ["rollback0"]
    assert checkins == [0]  # EVENT-1: checkin only on the outermost release
    assert counts(pool) == (1, 0, 0, 1)  # AFF-1: bound to the thread, counted idle
    with pool.acquire() as again:
        assert ident(again) == 0
    pool.close()


def test_shared_checkin_per_holder(fake: RecordingDriver) -> None:
    """In shared mode each holder's release is a checkin; only the last one resets (EVENT-1)."""
    pool = Pool(fake, max_size=1, shared=True)
    checkins: list[int] = []
    pool.add_listener("checkin", lambda p, raw: checkins.append(raw.id))
    first = pool.acquire()
    second = pool.acquire()
    assert second.raw is first.raw
    first.close()
    assert checkins == [0]
    assert log(fake) == ["connect0"]
    second.close()
    assert checkins == [0, 0]
    assert log(fake) == ["rollback0"]
    pool.close()


def test_per_thread_each_thread_its_own(fake: RecordingDriver, clock: ManualClock) -> None:
    """Threads get their own connections; the cap counts bound ones, so a third thread waits."""
    pool = Pool(fake, max_size=2, per_thread=True, timeout=1.0, clock=clock)
    pool.acquire().close()
    bound = threading.Event()
    leave = threading.Event()

    def keep_bound() -> int:
        got = _acquire_and_close(pool)
        bound.set()
        assert leave.wait(PATIENCE)
        return got

    other = Worker(keep_bound, "other").start()
    assert bound.wait(PATIENCE)
    assert counts(pool) == (2, 0, 0, 2)  # both bound to a live thread, counted idle
    third = park(clock, pool.acquire, "third")
    clock.advance(1)
    with pytest.raises(PoolTimeout):
        third.join()
    leave.set()
    assert other.join() == 1
    with pool.acquire() as again:
        assert ident(again) == 0
    pool.close()


def _acquire_and_close(pool: Pool) -> int:
    """Check out, note the connection's id, give it back."""
    conn = pool.acquire()
    got = ident(conn)
    conn.close()
    return got


def test_end_thread(fake: RecordingDriver) -> None:
    """end_thread() closes the calling thread's bound connection; it refuses while checked out."""
    pool = Pool(fake, max_size=1, per_thread=True)
    pool.end_thread()  # nothing bound yet: nothing to do
    conn = pool.acquire()
    with pytest.raises(PoolMisuse, match="end_thread\\(\\) while this thread has its connection"):
        pool.end_thread()
    conn.close()
    fake.drain()
    pool.end_thread()
    assert log(fake) == ["close0"]
    assert counts(pool) == (0, 0, 0, 0)
    pool.end_thread()
    with pool.acquire() as again:
        assert ident(again) == 1
    pool.close()
    Pool(fake).end_thread()  # not per-thread: nothing to do


def test_end_thread_serves_a_waiter(fake: RecordingDriver, clock: ManualClock) -> None:
    """The slot freed by end_thread() goes to a waiting thread (AFF-3)."""
    pool = Pool(fake, max_size=1, per_thread=True, clock=clock)
    pool.acquire().close()
    waiter = park(clock, lambda: _acquire_and_close(pool))
    pool.end_thread()
    assert waiter.join() == 1
    pool.close()


def test_ended_thread_connection_closed(fake: RecordingDriver) -> None:
    """The connection bound to a thread that ended is closed at the pool's next operation."""
    pool = Pool(fake, max_size=1, per_thread=True, block=False, timeout=None)
    Worker(lambda: _acquire_and_close(pool)).start().join()
    fake.drain()
    assert counts(pool) == (0, 0, 0, 0)
    assert log(fake) == ["close0"]
    with pool.acquire() as conn:
        assert ident(conn) == 1
    pool.close()


def test_ended_thread_holding_its_connection(fake: RecordingDriver) -> None:
    """A thread that ended holding its connection has it closed when the handle is given back."""
    pool = Pool(fake, max_size=1, per_thread=True)
    handle = Worker(pool.acquire).start().join()
    assert counts(pool) == (0, 1, 0, 1)
    fake.drain()
    handle.close()
    assert log(fake) == ["rollback0", "close0"]
    assert counts(pool) == (0, 0, 0, 0)
    pool.close()


def test_dispose_closes_other_threads_bound_connections(
    fake: RecordingDriver, clock: ManualClock
) -> None:
    """dispose() closes connections bound to idle threads; a waiter gets the freed slot."""
    pool = Pool(fake, max_size=1, per_thread=True, clock=clock)
    pool.acquire().close()
    waiter = park(clock, lambda: _acquire_and_close(pool))
    pool.dispose()
    assert waiter.join() == 1
    with pool.acquire() as conn:  # this thread's connection was disposed of
        assert ident(conn) == 2
    pool.close()


def test_per_thread_gate_replaces_bound_connection(fake: RecordingDriver) -> None:
    """A thread's stale bound connection is replaced at its next checkout and stays bound."""
    pool = Pool(fake, max_size=1, per_thread=True)
    conn = pool.acquire()
    conn.invalidate(soft=True)
    conn.close()
    with pool.acquire() as again:
        assert ident(again) == 1
    assert counts(pool) == (1, 0, 0, 1)
    fake.fail_next_connects(1)
    with pool.acquire() as conn:
        conn.invalidate(soft=True)
    with pytest.raises(fake.OperationalError):
        pool.acquire()
    assert counts(pool) == (0, 0, 0, 0)
    pool.close()


def test_per_thread_close(fake: RecordingDriver) -> None:
    """close() in per-thread mode closes bound idle connections."""
    pool = Pool(fake, per_thread=True)
    pool.acquire().close()
    fake.drain()
    pool.close()
    assert log(fake) == ["close0"]
    assert counts(pool) == (0, 0, 0, 0)


# -- shared mode ------------------------------------------------------------------------


def test_shared_mode_shares_the_least_shared(fake: RecordingDriver) -> None:
    """At the cap, shared mode shares the connection with fewest holders, oldest first (EXCL-4)."""
    pool = Pool(fake, max_size=2, shared=True)
    a, b = pool.acquire(), pool.acquire()
    c = pool.acquire()
    d = pool.acquire()
    e = pool.acquire()
    assert [ident(h) for h in (a, b, c, d, e)] == [0, 1, 0, 1, 0]
    assert log(fake) == ["connect0", "connect1"]
    assert counts(pool) == (0, 2, 0, 2)
    a.close()
    c.close()
    assert log(fake) == []  # e still holds connection 0
    e.close()
    assert log(fake) == ["rollback0"]
    for h in (b, d):
        h.close()
    pool.close()


def test_shared_connection_cannot_be_invalidated_or_detached(fake: RecordingDriver) -> None:
    """A hard invalidate or a detach of a shared connection is refused; the pool is intact."""
    pool = Pool(fake, max_size=1, shared=True)
    a, b = pool.acquire(), pool.acquire()
    with pytest.raises(PoolMisuse, match="shared by 2 holders"):
        a.invalidate()
    with pytest.raises(PoolMisuse, match="shared by 2 holders"):
        a.detach()
    a.invalidate(soft=True)
    b.close()
    a.invalidate()
    assert counts(pool) == (0, 0, 0, 0)
    with pool.acquire() as c:
        c.detach()
        assert counts(pool) == (0, 0, 0, 0)
    pool.close()


# -- close and dispose ------------------------------------------------------------------


def test_close(fake: RecordingDriver) -> None:
    """close() closes idle connections; checked-out ones close on return (CLOSE-1, CLOSE-2)."""
    pool = Pool(fake, max_size=2)
    a, b = pool.acquire(), pool.acquire()
    a.close()
    fake.drain()
    pool.close()
    assert log(fake) == ["close0"]
    assert counts(pool) == (0, 1, 0, 1)
    pool.close()  # twice: nothing
    b.close()
    assert log(fake) == ["close1"]
    assert counts(pool) == (0, 0, 0, 0)
    stats = pool.stats()
    assert (stats.created, stats.closed) == (2, 2)


def test_pool_as_context_manager(fake: RecordingDriver) -> None:
    """A pool used as a context manager is closed on exit."""
    with Pool(fake) as pool:
        pool.acquire().close()
    assert pool.closed
    assert fake.open_connections() == frozenset()


def test_dispose_keeps_the_pool_usable(fake: RecordingDriver) -> None:
    """dispose() closes idle connections; the pool stays usable and keeps its cap (CLOSE-3)."""
    pool = Pool(fake, max_size=2, min_idle=2, block=False, timeout=None)
    held = pool.acquire()
    fake.drain()
    pool.dispose()
    assert log(fake) == ["close1"]
    assert counts(pool) == (0, 1, 0, 1)
    other = pool.acquire()
    with pytest.raises(PoolExhausted):
        pool.acquire()
    held.close()
    other.close()
    pool.close()
    pool.dispose()  # closed: nothing


# -- max_connecting ---------------------------------------------------------------------


def test_max_connecting_bounds_concurrent_connects(clock: ManualClock) -> None:
    """With max_connecting=1 a second connect waits until the first finished."""
    release = threading.Event()
    entered = threading.Event()
    script = Script()

    def slow() -> Raw:
        if not script.made:
            entered.set()
            assert release.wait(PATIENCE)
        return script()

    pool = Pool(slow, max_size=3, max_connecting=1, clock=clock)
    first = Worker(pool.acquire, "first").start()
    assert entered.wait(PATIENCE)
    second = park(clock, pool.acquire, "second")
    assert script.journal == []
    release.set()
    a, b = first.join(), second.join()
    assert script.take() == ["connect c0", "connect c1"]
    a.close()
    b.close()
    pool.close()


def test_max_connecting_wait_times_out(clock: ManualClock) -> None:
    """A checkout queued while a connect holds the last slot times out at its deadline."""
    release = threading.Event()
    entered = threading.Event()
    script = Script()

    def slow() -> Raw:
        if not script.made:
            entered.set()
            assert release.wait(PATIENCE)
        return script()

    pool = Pool(slow, max_size=1, max_connecting=1, timeout=2.0, clock=clock)
    first = Worker(pool.acquire, "first").start()
    assert entered.wait(PATIENCE)
    # max_size=1 is taken by the connect in progress: the second checkout waits in line
    second = park(clock, pool.acquire, "second")
    clock.advance(2)
    with pytest.raises(PoolTimeout):
        second.join()
    release.set()
    first.join().close()
    pool.close()


def test_max_connecting_timeout_frees_the_slot(clock: ManualClock) -> None:
    """A permit holder whose connect cannot start before its deadline frees its slot."""
    release = threading.Event()
    entered = threading.Event()
    script = Script()

    def slow() -> Raw:
        if len(script.made) == 1:
            entered.set()
            assert release.wait(PATIENCE)
        return script()

    pool = Pool(slow, max_size=3, max_connecting=1, timeout=2.0, clock=clock)
    held = pool.acquire()
    slow_one = Worker(lambda: pool.acquire(timeout=None), "slow").start()
    assert entered.wait(PATIENCE)
    waiter = park(clock, pool.acquire, "queued")  # has a slot, waits to start its connect
    clock.advance(2)
    with pytest.raises(PoolTimeout, match="max_connecting=1"):
        waiter.join()
    assert pool.stats().open == 2
    release.set()
    slow_one.join().close()
    held.close()
    assert counts(pool) == (2, 0, 0, 2)
    pool.close()


# -- events -----------------------------------------------------------------------------


def test_events_in_lifecycle_order(fake: RecordingDriver) -> None:
    """Listeners see each event in the model's order (EVENT-1), checkin on every release."""
    seen: list[tuple[str, int | None]] = []
    pool = Pool(fake, max_size=2)
    for event in ("connect", "checkout", "checkin", "reset", "invalidate", "detach", "close"):
        pool.add_listener(event, lambda p, raw, e=event: seen.append((e, raw.id)))
    pool.add_listener("pool_closed", lambda p, raw: seen.append(("pool_closed", raw)))
    pool.acquire().close()
    pool.acquire().invalidate()
    detached = pool.acquire()
    detached.detach()
    detached.close()
    pool.close()
    assert seen == [
        ("connect", 0),
        ("checkout", 0),
        ("checkin", 0),
        ("reset", 0),
        ("checkout", 0),
        ("invalidate", 0),
        ("close", 0),
        ("connect", 1),
        ("checkout", 1),
        ("detach", 1),
        ("checkin", 1),
        ("close", 1),
        ("pool_closed", None),
    ]


def test_listener_errors_are_logged_and_ignored(
    fake: RecordingDriver, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener raising an Exception is logged; the operation and the pool go on."""

    def broken(pool: Pool, raw: Any) -> None:
        raise RuntimeError("listener bug")

    pool = Pool(fake, max_size=1)
    pool.add_listener("checkin", broken)
    with caplog.at_level(logging.ERROR, logger="impl._pool"):
        pool.acquire().close()
    assert "listener bug" in caplog.text
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_listener_registration_errors(fake: RecordingDriver) -> None:
    """Unknown events and removing a listener that is not registered raise ValueError."""
    pool = Pool(fake)
    with pytest.raises(ValueError, match="unknown event 'open'"):
        pool.add_listener("open", lambda p, raw: None)
    with pytest.raises(ValueError, match="does not listen to 'close'"):
        pool.remove_listener("close", lambda p, raw: None)
    seen: list[str] = []

    def first(p: Pool, raw: Any) -> None:
        seen.append("first")

    def second(p: Pool, raw: Any) -> None:
        seen.append("second")

    pool.add_listener("checkout", first)
    pool.add_listener("checkout", second)
    pool.remove_listener("checkout", first)
    pool.acquire().close()
    assert seen == ["second"]
    pool.close()


# -- misuse and statistics --------------------------------------------------------------


def test_misuse_leaves_the_pool_intact(fake: RecordingDriver) -> None:
    """Double release, use after release and release into another pool are refused cleanly."""
    pool, other = Pool(fake, max_size=1), Pool(fake, max_size=1)
    conn = pool.acquire()
    with pytest.raises(ForeignConnection, match="belongs to another pool"):
        other.release(conn)
    pool.release(conn)
    with pytest.raises(ConnectionReleased, match="closed twice"):
        conn.close()
    with pytest.raises(ConnectionReleased, match="closed twice"):
        pool.release(conn)
    with pytest.raises(ConnectionReleased, match="already released"):
        conn.execute("SELECT 1")
    assert counts(pool) == (1, 0, 0, 1)
    assert counts(other) == (0, 0, 0, 0)
    with pool.acquire() as again:
        assert ident(again) == 0
    pool.close()
    other.close()


def test_stats_counters(fake: RecordingDriver, clock: ManualClock) -> None:
    """created, closed, failed_connects, timeouts and wait_time count what happened."""
    pool = Pool(fake, max_size=1, timeout=3.0, clock=clock)
    fake.fail_next_connects(1)
    with pytest.raises(fake.OperationalError):
        pool.acquire()
    conn = pool.acquire()
    waiter = park(clock, pool.acquire)
    clock.advance(1)
    assert clock.wait_parked(1, PATIENCE)
    conn.invalidate()
    waiter.join().close()
    stats = pool.stats()
    assert stats == type(stats)(
        idle=1,
        in_use=0,
        waiting=0,
        open=1,
        created=2,
        closed=1,
        timeouts=0,
        failed_connects=1,
        wait_time=1.0,
    )
    assert repr(pool) == "<Pool open: 1 open, max_size=1>"
    pool.close()


# -- rarer paths ------------------------------------------------------------------------


class _SilentClock:
    """Time that moves without waking anyone: a deadline passes unnoticed until checked."""

    def __init__(self) -> None:
        self.t = 0.0
        self.inner = ManualClock()

    def now(self) -> float:
        return self.t

    def wait(self, cond: Any, timeout: float | None) -> None:
        self.inner.wait(cond, None)  # only a notification wakes it


@pytest.mark.parametrize("fairness", [Fairness.FIFO, Fairness.BARGING])
@pytest.mark.parametrize("frees", ["release", "invalidate"])
def test_overdue_waiter_is_skipped(fake: RecordingDriver, fairness: Fairness, frees: str) -> None:
    """A waiter past its deadline is refused, never served, when a connection or slot frees."""
    clock = _SilentClock()
    pool = Pool(fake, max_size=1, timeout=1.0, fairness=fairness, clock=clock)
    conn = pool.acquire()
    late = park(clock.inner, pool.acquire, "late")
    clock.t = 1.0
    getattr(conn, "close" if frees == "release" else "invalidate")()
    with pytest.raises(PoolTimeout):
        late.join()
    stats = pool.stats()
    assert (stats.waiting, stats.timeouts) == (0, 1)
    pool.close()


def test_resolved_slot_in_line_is_skipped(fake: RecordingDriver) -> None:
    """A slot already resolved (its waiter gave up) is passed over: set() says False."""
    from impl._records import Resolution, WaitSlot

    clock = ManualClock()
    pool = Pool(fake, max_size=1, clock=clock)
    conn = pool.acquire()
    gone = WaitSlot(threading.Condition(pool._lock), 0.0, None)  # type: ignore[arg-type]
    gone.outcome = Resolution.ABANDONED
    pool._waiters.append(gone)
    conn.close()  # hand-off: the given-up slot refuses it; it goes idle
    assert counts(pool) == (1, 0, 0, 1)
    pool._waiters.append(gone)
    pool.acquire().invalidate()  # freed slot: the permit is refused too
    assert counts(pool) == (0, 0, 0, 0)
    pool.close()


class _InterruptAfterWake:
    """A manual clock whose waiter is interrupted right after its wait is resolved."""

    def __init__(self) -> None:
        self.inner = ManualClock()
        self.armed = True

    def now(self) -> float:
        return self.inner.now()

    def wait(self, cond: Any, timeout: float | None) -> None:
        self.inner.wait(cond, timeout)
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("fairness", "frees"),
    [(Fairness.FIFO, "release"), (Fairness.FIFO, "invalidate"), (Fairness.BARGING, "release")],
)
def test_interrupt_after_being_served_passes_it_on(
    fake: RecordingDriver, fairness: Fairness, frees: str
) -> None:
    """A waiter interrupted just after being served gives the connection or slot to the next."""
    clock = _InterruptAfterWake()
    pool = Pool(fake, max_size=1, fairness=fairness, clock=clock)
    conn = pool.acquire()
    first = park(clock.inner, pool.acquire, "first")
    second = park(clock.inner, pool.acquire, "second")
    getattr(conn, "close" if frees == "release" else "invalidate")()
    with pytest.raises(KeyboardInterrupt):
        first.join()
    got = second.join()
    assert ident(got) == (0 if frees == "release" else 1)
    got.close()
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_interrupt_after_handoff_to_closed_pool(fake: RecordingDriver) -> None:
    """A connection handed to a waiter interrupted after the pool closed is closed, not kept."""
    clock = _InterruptAfterWake()
    pool = Pool(fake, max_size=1, clock=clock)
    conn = pool.acquire()
    pool.add_listener("checkin", lambda p, raw: None)
    gate = threading.Event()
    entered = threading.Event()
    original = clock.wait

    def wait_then_hold(cond: Any, timeout: float | None) -> None:
        try:
            original(cond, timeout)
        finally:
            cond.__exit__(None, None, None)
            entered.set()
            assert gate.wait(PATIENCE)
            cond.__enter__()

    clock.wait = wait_then_hold  # type: ignore[method-assign]
    waiter = park(clock.inner, pool.acquire)
    conn.close()  # handed over; the waiter is interrupted and holds off the lock
    assert entered.wait(PATIENCE)
    pool.close()
    gate.set()
    with pytest.raises(KeyboardInterrupt):
        waiter.join()
    assert counts(pool) == (0, 0, 0, 0)
    assert fake.open_connections() == frozenset()


def test_handle_given_back_by_another_thread(clock: ManualClock) -> None:
    """Per-thread: a checkout while another thread is still giving this thread's connection back
    is refused as misuse."""
    release = threading.Event()
    entered = threading.Event()

    class SlowRollback(Raw):
        def rollback(self) -> None:
            entered.set()
            assert release.wait(PATIENCE)

    script = Script(SlowRollback)
    pool = Pool(script, max_size=1, per_thread=True, clock=clock)
    conn = pool.acquire()
    closer = Worker(conn.close, "closer").start()
    assert entered.wait(PATIENCE)
    with pytest.raises(PoolMisuse, match="being given back by another thread"):
        pool.acquire()
    release.set()
    closer.join()
    with pool.acquire() as again:
        assert again.raw is script.made[0]
    pool.close()


def test_interrupt_closing_a_retired_connection(clock: ManualClock) -> None:
    """A KeyboardInterrupt while the gate closes a retired connection frees its slot."""
    script = Script()
    script.plan = [{"close": KeyboardInterrupt()}]
    pool = Pool(script, max_size=1, clock=clock)
    conn = pool.acquire()
    waiter = park(clock, pool.acquire)
    conn.invalidate(soft=True)
    conn.close()
    with pytest.raises(KeyboardInterrupt):
        waiter.join()
    assert counts(pool) == (0, 0, 0, 0)
    with pool.acquire() as again:
        assert again.raw is script.made[1]
    pool.close()


def test_interrupt_closing_the_pool_still_closes_the_rest() -> None:
    """A KeyboardInterrupt closing one idle connection does not leave the others open."""
    script = Script()
    script.plan = [{"close": KeyboardInterrupt()}, {}]
    pool = Pool(script, max_size=2, min_idle=2)
    with pytest.raises(KeyboardInterrupt):
        pool.close()
    assert [raw.closed for raw in script.made] == [True, True]
    assert counts(pool) == (0, 0, 0, 0)


def test_close_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A driver error while closing a connection is logged; the slot frees all the same."""
    script = Script()
    script.plan = [{"close": RuntimeError("already gone")}]
    pool = Pool(script, max_size=1)
    with caplog.at_level(logging.INFO, logger="impl._pool"):
        pool.acquire().invalidate()
    assert "closing a connection failed" in caplog.text
    assert counts(pool) == (0, 0, 0, 0)
    pool.close()


def test_pool_closed_during_reset(fake: RecordingDriver) -> None:
    """A connection whose reset ran while the pool closed is closed, not kept idle (CLOSE-2)."""
    pool = Pool(fake, max_size=1)
    pool.add_listener("reset", lambda p, raw: p.close())
    conn = pool.acquire()
    fake.drain()
    conn.close()
    assert log(fake) == ["rollback0", "close0"]
    assert counts(pool) == (0, 0, 0, 0)


def test_sweeps_before_dispose_and_end_thread(fake: RecordingDriver) -> None:
    """dispose() and end_thread() first close the connections of threads that ended."""
    for operation in ("dispose", "end_thread"):
        pool = Pool(fake, max_size=2, per_thread=True)
        Worker(lambda p=pool: _acquire_and_close(p)).start().join()
        getattr(pool, operation)()
        assert pool.stats().closed == 1
        pool.close()


def test_nested_detached_handles_close_once(fake: RecordingDriver) -> None:
    """Per-thread: the handles of a detached connection close it once between them."""
    pool = Pool(fake, max_size=1, per_thread=True)
    outer = pool.acquire()
    inner = pool.acquire()
    inner.detach()
    fake.drain()
    inner.close()
    outer.close()
    assert log(fake) == ["close0"]
    pool.close()


def test_max_connecting_without_timeout(clock: ManualClock) -> None:
    """A connect queued behind max_connecting with no timeout waits until the slot is free."""
    release = threading.Event()
    entered = threading.Event()
    script = Script()

    def slow() -> Raw:
        if not script.made:
            entered.set()
            assert release.wait(PATIENCE)
        return script()

    pool = Pool(slow, max_size=2, max_connecting=1, timeout=None, clock=clock)
    first = Worker(pool.acquire, "first").start()
    assert entered.wait(PATIENCE)
    second = park(clock, pool.acquire, "second")
    release.set()
    first.join().close()
    second.join().close()
    pool.close()


def test_listeners_see_a_reopen(fake: RecordingDriver) -> None:
    """A transparent reopen fires connect for the new connection and close for the lost one."""
    seen: list[tuple[str, int]] = []
    pool = Pool(fake, max_size=1, failures=(fake.OperationalError,))
    for event in ("connect", "close", "checkin"):
        pool.add_listener(event, lambda p, raw, e=event: seen.append((e, raw.id)))
    pool.add_listener("checkin", lambda p, raw: None)
    conn = pool.acquire()
    fake.kill(0)
    conn.execute("SELECT 1")
    conn.close()
    assert seen == [("connect", 0), ("connect", 1), ("close", 0), ("checkin", 1)]
    pool.close()
