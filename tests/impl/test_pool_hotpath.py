"""Tests for the engine's hot paths (impl/_pool.py, impl/_records.py; issue 7).

With the default seams (``SystemClock``, ``DefaultSync``) a waiter blocks on
its thread's :class:`~impl._records.Signal`, not on a condition. These tests
drive that wait deterministically: ``Signal.wait`` (and ``Signal.block``, its
inline form) is wrapped so that the event a test needs (a return, an
invalidate, a close...) happens while the checkout is queued, from the
waiting thread itself, before it blocks. Real time is only waited on where a
timeout is the behaviour under test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from impl import (
    DBUtilsConnection,
    DefaultSync,
    Fairness,
    ManualClock,
    Pool,
    PoolClosed,
    PooledConnection,
    PoolTimeout,
    SystemClock,
)
from impl._records import ConnRecord, Signal
from spec._driver import RecordingDriver
from tests.impl.impl_support import Worker, counts, log, this_line


def _while_queued(
    monkeypatch: pytest.MonkeyPatch, action: Callable[[], Any], result: bool | None = None
) -> list[float | None]:
    """Make the next ``Signal.wait`` run ``action`` first; ``result`` (if given) replaces the wait.

    The hot path waits with a timeout through ``Signal.block`` (the lock's
    own acquire); signals made from here on send that through
    ``Signal.wait`` too, whichever wrapper it is at the time.

    Returns:
        The timeouts the waits were called with.
    """
    real = Signal.wait
    real_init = Signal.__init__

    def init(self: Signal, lock: Any) -> None:
        real_init(self, lock)
        self.block = lambda _blocking, timeout: Signal.wait(self, timeout)

    monkeypatch.setattr(Signal, "__init__", init)
    timeouts: list[float | None] = []

    def wait(self: Signal, timeout: float | None) -> bool:
        timeouts.append(timeout)
        if len(timeouts) == 1:
            action()
            if result is not None:
                return result
        return real(self, timeout)

    monkeypatch.setattr(Signal, "wait", wait)
    return timeouts


def test_default_seams_wait_on_a_signal(fake: RecordingDriver) -> None:
    """With the default seams a pool's waiters block on a Signal; with any other seam, not."""
    assert Pool(fake.connect)._native
    assert Pool(fake.connect, clock=SystemClock(), sync=DefaultSync())._native
    assert not Pool(fake.connect, clock=ManualClock())._native


def test_hand_off_to_a_waiting_thread(
    fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection given back goes straight to the thread waiting on its signal (WAIT-5)."""
    pool = Pool(fake.connect, max_size=1, timeout=None)
    held = pool.acquire()
    queued = threading.Event()
    _while_queued(monkeypatch, queued.set)
    waiter = Worker(pool.acquire, "waiter").start()
    assert queued.wait(10.0)
    held.close()
    got = waiter.join()
    assert counts(pool) == (0, 1, 0, 1)
    got.close()
    assert log(fake) == ["connect0", "rollback0", "rollback0"]
    pool.close()


def test_hot_path_handles_are_whole(fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    """Handles made by hand, not by ``__init__`` (a connect, idle, handed over), are whole."""
    # the pool calls cls() and sets the slots: no handle class may have an __init__
    assert PooledConnection.__init__ is object.__init__
    assert DBUtilsConnection.__init__ is object.__init__
    pool = Pool(fake.connect, max_size=1, timeout=None)
    line = this_line()
    made = pool.acquire()  # the general path: a connect, through new_handle
    made.close()
    idle = pool.acquire()  # the hot path: an idle connection
    _while_queued(monkeypatch, idle.close)
    handed = pool.acquire()  # the hot path: queued, then handed the one given back
    for offset, conn in ((1, made), (3, idle), (5, handed)):
        assert type(conn) is PooledConnection
        assert {name: getattr(conn, name) is not None for name in PooledConnection.__slots__} == {
            "_code": True, "_lasti": True, "_pool": True, "_rec": conn is handed
        }  # fmt: skip
        assert conn.checked_out_at == f"{__file__}:{line + offset}"
    handed.close()
    assert counts(pool) == (1, 0, 0, 1)
    pool.close()


def test_hand_off_as_the_deadline_passes(
    fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiter whose wait timed out just as it was handed a connection keeps the connection."""
    pool = Pool(fake.connect, max_size=1, timeout=5.0)
    held = pool.acquire()
    timeouts = _while_queued(monkeypatch, held.close, result=False)
    again = pool.acquire()  # queued: the return happens, then the wait "times out"
    assert timeouts[0] is not None
    assert 0 < timeouts[0] <= 5.0
    assert counts(pool) == (0, 1, 0, 1)
    assert pool.stats().timeouts == 0
    again.close()
    # the signal was held again: the next wait blocks until told, as a fresh one
    nxt = pool.acquire()
    timeouts = _while_queued(monkeypatch, nxt.close)
    last = pool.acquire()
    assert len(timeouts) == 1
    last.close()
    pool.close()


def test_waiting_forever(fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    """With timeout=None the wait has no deadline and ends when the connection is handed over."""
    pool = Pool(fake.connect, max_size=1, timeout=None)
    held = pool.acquire()
    timeouts = _while_queued(monkeypatch, held.close)
    with pool.acquire():
        assert timeouts == [None]
    pool.close()


def test_real_timeout(fake: RecordingDriver) -> None:
    """A waiter nobody serves is refused when its (real, short) timeout passes (WAIT-2)."""
    pool = Pool(fake.connect, max_size=1, timeout=0.05)
    held = pool.acquire()
    with pytest.raises(
        PoolTimeout, match=r"no connection within 0\.05 s: 1 of 1 in use, 0 waiting"
    ):
        pool.acquire()
    assert pool.stats().timeouts == 1
    assert counts(pool) == (0, 1, 0, 1)
    held.close()
    pool.close()


def test_deadline_already_passed(fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    """A general-path waiter whose deadline passed before it could block is refused at once."""
    ticks = iter(range(0, 10_000, 100))
    monkeypatch.setattr(SystemClock, "now", lambda self: float(next(ticks)))
    pool = Pool(fake.connect, max_size=1, timeout=1.0)
    held = pool.acquire()
    timeouts = _while_queued(monkeypatch, lambda: None)
    with pytest.raises(PoolTimeout):
        pool.acquire(timeout=1.0)  # an explicit timeout: the general path
    assert timeouts == []  # never blocked
    held.close()
    pool.close()


def test_hot_path_blocks_for_the_whole_timeout_without_reading_the_clock(
    fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot path blocks for the slot's whole timeout: it was queued just now.

    The clock here jumps 100 s at every reading, so a reading between the
    queueing and the block would say the deadline had passed; the hot path
    takes none, and its wait is as long as the configured timeout.
    """
    ticks = iter(range(0, 10_000, 100))
    monkeypatch.setattr(SystemClock, "now", lambda self: float(next(ticks)))
    pool = Pool(fake.connect, max_size=1, timeout=1.0)
    held = pool.acquire()
    timeouts = _while_queued(monkeypatch, lambda: None, result=False)  # the wait times out
    with pytest.raises(PoolTimeout, match=r"no connection within 1\.00 s"):
        pool.acquire()
    assert timeouts == [1.0]
    assert pool.stats().timeouts == 1
    assert counts(pool) == (0, 1, 0, 1)
    held.close()
    pool.close()


def test_interrupted_waiter_leaves_the_line(
    fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiter interrupted before a hand-off leaves the line; the next wait works.

    The interrupted wait's slot is not kept for reuse: only a wait that
    ended normally leaves its slot to the next one.
    """

    def interrupt() -> None:
        raise KeyboardInterrupt

    pool = Pool(fake.connect, max_size=1, timeout=None)
    held = pool.acquire()
    _while_queued(monkeypatch, interrupt)
    with pytest.raises(KeyboardInterrupt):
        pool.acquire()
    assert counts(pool) == (0, 1, 0, 1)
    assert pool._spare == []
    timeouts = _while_queued(monkeypatch, held.close)
    with pool.acquire():
        assert timeouts == [None]
    pool.close()


def test_a_finished_wait_leaves_its_slot_to_the_next_wait_of_any_thread(
    fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wait served by a hand-off leaves its slot (and signal) for the next wait to reuse.

    A worker thread waits first and is served; this thread's wait after it
    queues the very same slot, so a wait allocates nothing once a slot is spare.
    """
    pool = Pool(fake.connect, max_size=1, timeout=None)
    held = pool.acquire()
    slots: list[Any] = []

    def hand_over() -> None:  # in the waiting thread, while it is in line
        slots.append(pool._waiters[0])
        held.close()

    _while_queued(monkeypatch, hand_over)
    worker = threading.Thread(target=lambda: pool.acquire().close())
    worker.start()
    worker.join()
    assert len(slots) == 1
    assert pool._spare == slots
    again = pool.acquire()

    def hand_over_again() -> None:
        slots.append(pool._waiters[0])
        again.close()

    _while_queued(monkeypatch, hand_over_again)
    with pool.acquire():
        assert slots[1] is slots[0]
        assert pool._spare == [slots[0]]  # back already: its wait is over
    pool.close()


def test_a_timed_out_wait_leaves_no_slot(
    fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wait that ended in PoolTimeout does not offer its slot for reuse."""
    pool = Pool(fake.connect, max_size=1, timeout=1.0)
    held = pool.acquire()
    _while_queued(monkeypatch, lambda: None, result=False)  # the wait times out
    with pytest.raises(PoolTimeout):
        pool.acquire()
    assert pool._spare == []
    held.close()
    pool.close()


def test_interrupted_after_the_hand_off(
    fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiter interrupted after a connection was handed to it gives the connection back."""
    pool = Pool(fake.connect, max_size=1, timeout=None)
    held = pool.acquire()

    def return_then_interrupt() -> None:
        held.close()
        raise KeyboardInterrupt

    _while_queued(monkeypatch, return_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        pool.acquire()
    assert counts(pool) == (1, 0, 0, 1)  # back in the pool, idle
    monkeypatch.undo()
    with pool.acquire():  # and the signal was held again: a fresh wait would block
        pass
    pool.close()


def test_freed_slot_goes_to_the_waiter(
    fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slot freed while a checkout waits is handed over: the waiter connects in it (CAP-1)."""
    pool = Pool(fake.connect, max_size=1, timeout=None)
    held = pool.acquire()
    _while_queued(monkeypatch, held.invalidate)
    with pool.acquire() as fresh:
        assert counts(pool) == (0, 1, 0, 1)
        assert fresh.raw is not None
    assert log(fake) == ["connect0", "close0", "connect1", "rollback1"]
    pool.close()


def test_barging_waiter_competes_again(
    fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Barging: a woken waiter decides again and takes the connection that went idle."""
    pool = Pool(fake.connect, max_size=1, timeout=None, fairness=Fairness.BARGING)
    held = pool.acquire()
    _while_queued(monkeypatch, held.close)
    with pool.acquire():
        assert counts(pool) == (0, 1, 0, 1)
    pool.close()


def test_closed_while_waiting(fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    """A waiter is refused with PoolClosed when the pool closes while it waits (WAIT-4)."""
    pool = Pool(fake.connect, max_size=1, timeout=None)
    held = pool.acquire()
    _while_queued(monkeypatch, pool.close)
    with pytest.raises(PoolClosed, match="closed while waiting"):
        pool.acquire()
    held.close()
    assert counts(pool) == (0, 0, 0, 0)


def test_stale_connection_handed_over_is_replaced(
    fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A soft-invalidated connection handed to a waiter is retired and replaced (INV-2).

    The waiter's slot is offered for reuse once: a slot on the spares twice
    would be queued by two waits at once.
    """
    pool = Pool(fake.connect, max_size=1, timeout=None)
    held = pool.acquire()
    held.invalidate(soft=True)
    _while_queued(monkeypatch, held.close)
    with pool.acquire():
        pass
    assert log(fake) == ["connect0", "rollback0", "close0", "connect1", "rollback1"]
    assert len(pool._spare) == 1
    pool.close()


def test_pool_closed_during_the_reset_on_return(fake: RecordingDriver) -> None:
    """A pool closed while a returned connection is being reset closes that connection (CLOSE-2)."""
    holder: list[Pool] = []

    class ClosesThePool:
        def rollback(self) -> None:
            holder[0].close()

        def close(self) -> None:
            closed.append(True)

    closed: list[bool] = []
    pool = Pool(ClosesThePool, max_size=2)
    holder.append(pool)
    pool.acquire().close()
    assert closed == [True]
    assert counts(pool) == (0, 0, 0, 0)


def test_uncommon_fields_cost_nothing_until_written() -> None:
    """A record keeps its rarely-set fields apart, made only when one gets a non-default value."""
    rec = ConnRecord("raw", 1, 0.0)
    assert rec.uncommon is None
    rec.stale = False
    rec.idle_since = None
    assert rec.uncommon is None
    assert (rec.created, rec.idle_since, rec.info, rec.binding) == (0.0, None, None, None)
    rec.info = {"k": 1}
    assert rec.uncommon is not None
    assert rec.info == {"k": 1}
    assert (rec.stale, rec.detached, rec.broken, rec.closed, rec.bound_idle) == (False,) * 5
    field = ConnRecord.__dict__["stale"]
    assert field.__get__(None, ConnRecord) is field
    timed = ConnRecord("raw", 2, 12.5)
    assert timed.created == 12.5


def test_signal_wait_and_rearm() -> None:
    """A signal is held until notified; a wait then succeeds once; rearm holds it again."""
    signal = Signal(threading.Lock())
    assert not signal.wait(0.001)
    signal.notify()
    assert signal.wait(None)
    signal.notify()
    signal.rearm()
    assert not signal.wait(0.001)
    signal.rearm()  # already held: nothing happens
    assert not signal.wait(0.001)


class _InterruptibleLock:
    """A lock whose next ``acquire``, once armed, raises KeyboardInterrupt (an interrupt)."""

    def __init__(self) -> None:
        self.real = threading.Lock()
        self.armed = False

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt
        return self.real.acquire(blocking, timeout)

    def release(self) -> None:
        self.real.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def test_interrupted_while_locking_after_the_deadline(
    fake: RecordingDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiter interrupted while it locks to leave the line after its deadline still leaves it."""
    pool = Pool(fake.connect, max_size=1, timeout=5.0)
    lock = _InterruptibleLock()
    pool._lock = lock  # type: ignore[assignment]
    held = pool.acquire()

    def arm() -> None:
        lock.armed = True

    _while_queued(monkeypatch, arm, result=False)  # the wait "times out"
    with pytest.raises(KeyboardInterrupt):
        pool.acquire()
    assert counts(pool) == (0, 1, 0, 1)
    monkeypatch.undo()
    held.close()
    with pool.acquire():  # the pool, and this thread's signal, still work
        assert counts(pool) == (0, 1, 0, 1)
    pool.close()
