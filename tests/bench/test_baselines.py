"""Tests for the benchmark's baseline pools (bench/baselines.py): they must be correct pools.

A ratio to a broken baseline would mean nothing, so each baseline is checked
for exclusivity under real threads, its caps, and (the FIFO one) the order
in which waiters are served. Waits on real time are safety nets only, except
where a timeout is the behaviour under test (a few milliseconds).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from bench import baselines

#: Real seconds a test waits for a thread to get somewhere before it fails.
PATIENCE = 10.0


class Conn:
    """A connection that counts its calls and refuses to be used after close."""

    ids = itertools.count()

    def __init__(self) -> None:
        self.ident = next(Conn.ids)
        self.rollbacks = 0
        self.closed = False

    def rollback(self) -> None:
        assert not self.closed, "rollback on a closed connection"
        self.rollbacks += 1

    def close(self) -> None:
        assert not self.closed, "closed twice"
        self.closed = True


Pools = Callable[[Callable[[], Any]], Any]
POOLS: dict[str, Pools] = {
    "lock+deque": lambda c: baselines.LockDequePool(c, 2, 1, timeout=PATIENCE),
    "barging": lambda c: baselines.BargingPool(c, 2, 1, timeout=PATIENCE),
    "simplequeue": lambda c: baselines.SimpleQueuePool(c, 3, timeout=PATIENCE),
}


def _wait_until(predicate: Callable[[], bool]) -> None:
    """Block until ``predicate()`` holds (a safety net: fails after PATIENCE seconds)."""
    deadline = time.monotonic() + PATIENCE
    while not predicate():
        assert time.monotonic() < deadline, "the state was never reached"
        time.sleep(0.0005)  # sleep-ok: a poll interval; the state, not the time, decides


@pytest.mark.parametrize("name", list(POOLS))
def test_no_connection_is_held_twice(name: str) -> None:
    """Eight threads on a pool of 3 never share a connection, and stay under the cap."""
    made: list[Conn] = []
    pool = POOLS[name](lambda: made.append(Conn()) or made[-1])
    holders: dict[int, str] = {}
    guard = threading.Lock()
    problems: list[str] = []

    def work(me: str) -> None:
        for _ in range(300):
            conn = pool.get()
            with guard:
                if conn.ident in holders:
                    problems.append(f"{me} got {conn.ident} held by {holders[conn.ident]}")
                if conn.closed:
                    problems.append(f"{me} got closed connection {conn.ident}")
                holders[conn.ident] = me
                if len(holders) > 3:
                    problems.append(f"{len(holders)} connections out at once")
            time.sleep(0)  # sleep-ok: yields the GIL so the others run while it is held
            with guard:
                del holders[conn.ident]
            pool.put(conn)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PATIENCE)
    assert not any(t.is_alive() for t in threads)
    assert problems == []
    assert sum(not c.closed for c in made) <= 3
    assert sum(c.rollbacks for c in made) == 8 * 300
    pool.close()


def test_fifo_baseline_serves_waiters_in_arrival_order() -> None:
    """LockDequePool hands each returned connection to the oldest waiter (strict FIFO)."""
    pool = baselines.LockDequePool(Conn, 1, 0, timeout=PATIENCE)
    held = pool.get()
    served: list[str] = []
    threads = []
    for i in range(4):
        name = f"w{i}"

        def wait(name: str = name) -> None:
            conn = pool.get()
            served.append(name)
            pool.put(conn)

        t = threading.Thread(target=wait)
        t.start()
        threads.append(t)
        _wait_until(lambda i=i: len(pool._waiters) == i + 1)
    # a newcomer arriving after the return cannot overtake the queued waiters
    pool.put(held)
    late = pool.get()
    served.append("late")
    pool.put(late)
    for t in threads:
        t.join(PATIENCE)
    assert served[:4] == ["w0", "w1", "w2", "w3"]


def test_fifo_baseline_caps_and_closes_overflow() -> None:
    """LockDequePool opens at most size + overflow, keeps size idle and closes the rest."""
    made: list[Conn] = []
    pool = baselines.LockDequePool(lambda: made.append(Conn()) or made[-1], 1, 1, timeout=0.01)
    a, b = pool.get(), pool.get()
    with pytest.raises(baselines.ExhaustedError, match=r"no connection within 0\.01 s"):
        pool.get()
    assert len(pool._waiters) == 0  # the timed-out waiter left the line
    pool.put(a)
    pool.put(b)
    assert [c.closed for c in made] == [False, True]
    pool.close()
    assert all(c.closed for c in made)


def test_fifo_baseline_frees_the_slot_of_a_failed_connect() -> None:
    """A connect that fails gives its slot back."""

    def fail() -> Conn:
        raise OSError("refused")

    pool = baselines.LockDequePool(fail, 1)
    with pytest.raises(OSError, match="refused"):
        pool.get()
    assert pool._open == 0


def test_barging_baseline_caps_times_out_and_closes_overflow() -> None:
    """BargingPool refuses after its timeout at the cap, and closes what exceeds the idle cap."""
    made: list[Conn] = []
    pool = baselines.BargingPool(lambda: made.append(Conn()) or made[-1], 1, 1, timeout=0.01)
    a, b = pool.get(), pool.get()
    with pytest.raises(baselines.ExhaustedError):
        pool.get()
    pool.put(a)
    pool.put(b)
    assert [c.closed for c in made] == [False, True]
    assert pool.get() is a
    pool.put(a)
    pool.close()
    assert a.closed


def test_barging_baseline_frees_the_slot_of_a_failed_connect() -> None:
    """A connect that fails gives its slot back, so the next checkout may connect."""
    attempts = itertools.count()

    def flaky() -> Conn:
        if next(attempts) == 0:
            raise OSError("refused")
        return Conn()

    pool = baselines.BargingPool(flaky, 1)
    with pytest.raises(OSError, match="refused"):
        pool.get()
    pool.put(pool.get())


def test_handle_baseline_gives_back_on_close_and_on_drop() -> None:
    """The handle reference: close() gives the connection back once; a dropped handle too."""
    pool = baselines.LockDequeHandlePool(Conn, 1, 0, timeout=PATIENCE)
    handle = pool.checkout()
    conn = handle._conn
    handle.close()
    with pytest.raises(RuntimeError, match="closed twice"):
        handle.close()
    again = pool.checkout()
    assert again._conn is conn  # the one connection, back idle
    del again  # dropped unclosed: __del__ gives it back
    third = pool.checkout()
    assert third._conn is conn
    assert conn.rollbacks == 2
    third.close()
    pool.close()
    assert conn.closed


def test_simplequeue_baseline() -> None:
    """SimpleQueuePool opens its connections up front and times out when all are out."""
    pool = baselines.SimpleQueuePool(Conn, 1, timeout=0.01)
    conn = pool.get()
    with pytest.raises(baselines.ExhaustedError):
        pool.get()
    pool.put(conn)
    assert conn.rollbacks == 1
    pool.close()
    assert conn.closed


@pytest.mark.parametrize(
    "make",
    [
        lambda: baselines.LockDequePool(Conn, 0, 0),
        lambda: baselines.BargingPool(Conn, -1, 2),
        lambda: baselines.SimpleQueuePool(Conn, 0),
    ],
)
def test_baselines_refuse_bad_sizes(make: Callable[[], Any]) -> None:
    """A baseline with no room for a connection is refused, naming the sizes."""
    with pytest.raises(ValueError, match="need size"):
        make()
