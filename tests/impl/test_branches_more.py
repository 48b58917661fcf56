"""Engine branches test_branches.py leaves: a waiter interrupted after its wait was resolved."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import impl
from spec._driver import RecordingDriver
from tests.impl.impl_support import PATIENCE, Worker, counts


class _InterruptAfterWake:
    """A manual clock whose wait raises KeyboardInterrupt once armed, after the wait returns."""

    def __init__(self) -> None:
        self.inner = impl.ManualClock()
        self.armed = threading.Event()

    def now(self) -> float:
        return self.inner.now()

    def wait(self, cond: Any, timeout: float | None) -> None:
        self.inner.wait(cond, timeout)
        if self.armed.is_set():
            raise KeyboardInterrupt  # a Ctrl-C landing just as the waiter was woken


def test_interrupt_after_close_resolved_the_wait(fake: RecordingDriver) -> None:
    """A waiter interrupted after close() refused it re-raises the interrupt and holds nothing."""
    clock = _InterruptAfterWake()
    pool = impl.Pool(fake.connect, max_size=1, timeout=None, clock=clock)
    conn = pool.acquire()
    waiter = Worker(pool.acquire, "waiter").start()
    assert clock.inner.wait_parked(1, PATIENCE), "the waiter never parked"
    clock.armed.set()
    pool.close()  # resolves the waiter CLOSED; its wake-up then raises
    with pytest.raises(KeyboardInterrupt):
        waiter.join()
    assert counts(pool) == (0, 1, 0, 1)  # nothing was handed to it, no slot was taken
    conn.close()
    assert counts(pool) == (0, 0, 0, 0)
