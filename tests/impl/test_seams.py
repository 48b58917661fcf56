"""Tests for the clock and synchronisation seams (impl/_seams.py)."""

from __future__ import annotations

import threading

import pytest

from impl import DefaultSync, ManualClock, SystemClock
from tests.impl.impl_support import PATIENCE, Worker


def test_system_clock_is_monotonic() -> None:
    """SystemClock reads a clock that never goes back."""
    clock = SystemClock()
    first = clock.now()
    assert clock.now() >= first


def test_system_clock_wait_returns_when_notified() -> None:
    """SystemClock.wait returns once the condition is notified."""
    sync = DefaultSync()
    lock = sync.lock()
    cond = sync.condition(lock)
    woke = threading.Event()
    started = threading.Event()

    def waiter() -> None:
        with cond:
            started.set()
            SystemClock().wait(cond, PATIENCE)
            woke.set()

    worker = Worker(waiter).start()
    assert started.wait(PATIENCE)
    with cond:  # the waiter released the lock inside wait()
        cond.notify_all()
    worker.join()
    assert woke.is_set()


def test_system_clock_wait_times_out() -> None:
    """SystemClock.wait with a tiny timeout returns without a notification."""
    cond = threading.Condition(threading.Lock())
    with cond:
        SystemClock().wait(cond, 0.001)


def test_default_sync_hands_out_threading_primitives() -> None:
    """DefaultSync returns a plain threading.Lock and a Condition on it."""
    sync = DefaultSync()
    lock = sync.lock()
    assert isinstance(lock, type(threading.Lock()))
    cond = sync.condition(lock)
    assert isinstance(cond, threading.Condition)


def test_manual_clock_moves_only_when_advanced() -> None:
    """ManualClock starts where told and moves only by advance()."""
    clock = ManualClock(5.0)
    assert clock.now() == 5.0
    assert clock.now() == 5.0
    clock.advance(1.5)
    assert clock.now() == 6.5
    clock.advance(0)
    assert clock.now() == 6.5


def test_manual_clock_refuses_bad_input() -> None:
    """ManualClock refuses a non-number start and a negative advance."""
    with pytest.raises(TypeError, match="start must be a number"):
        ManualClock("0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seconds must be >= 0, got -1"):
        ManualClock().advance(-1)


def test_manual_wait_blocks_until_advance() -> None:
    """A thread in ManualClock.wait stays parked until advance() wakes it."""
    clock = ManualClock()
    cond = threading.Condition(threading.Lock())
    seen: list[float] = []

    def waiter() -> None:
        with cond:
            now = clock.now()
            clock.wait(cond, 10.0)
            seen.append(clock.now() - now)

    worker = Worker(waiter).start()
    assert clock.wait_parked(1, PATIENCE)
    assert clock.parked == 1
    assert not seen
    clock.advance(3)
    worker.join()
    assert seen == [3.0]
    assert clock.parked == 0


def test_manual_wait_blocks_until_notified() -> None:
    """A thread in ManualClock.wait with no timeout wakes on a notification."""
    clock = ManualClock()
    cond = threading.Condition(threading.Lock())

    def waiter() -> None:
        with cond:
            clock.wait(cond, None)

    worker = Worker(waiter).start()
    assert clock.wait_parked(1, PATIENCE)
    with cond:
        cond.notify_all()
    worker.join()


def test_manual_wait_returns_at_once_if_time_moved() -> None:
    """A wait whose caller read the time before an advance returns at once (no lost advance)."""
    clock = ManualClock()
    cond = threading.Condition(threading.Lock())
    clock.now()
    clock.advance(1)
    with cond:
        clock.wait(cond, 5.0)  # would block forever if the advance were lost
    assert clock.parked == 0


def test_manual_wait_with_no_time_left_returns_at_once() -> None:
    """A wait with a timeout <= 0 returns at once."""
    clock = ManualClock()
    cond = threading.Condition(threading.Lock())
    clock.now()
    with cond:
        clock.wait(cond, 0.0)
        clock.wait(cond, -1.0)


def test_manual_clock_counts_waiters_on_one_condition() -> None:
    """Two threads waiting on one condition are both parked and both woken by advance()."""
    clock = ManualClock()
    cond = threading.Condition(threading.Lock())

    def waiter() -> None:
        with cond:
            clock.now()
            clock.wait(cond, 1.0)

    workers = [Worker(waiter).start() for _ in range(2)]
    assert clock.wait_parked(2, PATIENCE)
    clock.advance(1)
    for worker in workers:
        worker.join()
    assert clock.parked == 0


def test_wait_parked_gives_up() -> None:
    """wait_parked returns False when not enough threads park in time."""
    assert ManualClock().wait_parked(1, 0.01) is False
