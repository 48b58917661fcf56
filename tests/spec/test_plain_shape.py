"""The plain shape: a hand-rolled pool with acquire(), release(conn) and close() is checked too."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from spec import check
from spec._cli import _detect_profile

pytestmark = pytest.mark.stateful


class HandRolledPool:
    """What many projects write: a lock, a deque of idle connections, a condition to wait on."""

    rollback_on_release = True

    def __init__(self, creator: Callable[[], Any], max_size: int = 5) -> None:
        self._creator = creator
        self._max = max_size
        self._idle: deque[Any] = deque()
        self._open = 0
        self._closed = False
        self._out: set[int] = set()
        self._cond = threading.Condition()

    def acquire(self) -> Any:
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("pool closed")
                if self._idle:
                    conn = self._idle.popleft()
                    self._out.add(id(conn))
                    return conn
                if self._open < self._max:
                    self._open += 1
                    break
                self._cond.wait()
        try:
            conn = self._creator()
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._out.add(id(conn))
        return conn

    def release(self, conn: Any) -> None:
        with self._cond:
            if id(conn) not in self._out:
                raise ValueError(f"{conn!r} is not checked out from this pool")
            self._out.discard(id(conn))
        if self.rollback_on_release:
            try:
                conn.rollback()
            except Exception:
                conn.close()  # a connection that cannot be reset is not kept
                with self._cond:
                    self._open -= 1
                    self._cond.notify()
                return
        with self._cond:
            if self._closed:
                self._open -= 1
                conn.close()
                return
            self._idle.append(conn)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = list(self._idle), deque()
            self._open -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            conn.close()


class NoRollbackPool(HandRolledPool):
    """The same, forgetting to roll back: the next borrower inherits the transaction."""

    rollback_on_release = False


def test_hand_rolled_pool_is_detected_as_plain_and_its_reset_bug_found() -> None:
    assert _detect_profile(HandRolledPool) == "plain"
    good = check("plain", HandRolledPool, examples=40, seed=2, shrink=False)
    broken = check("plain", NoRollbackPool, examples=40, seed=2, shrink=False)
    # a pool that hands out raw connections cannot refuse their use after release, nor
    # tell a stale release from the new holder's once the connection is handed out again
    assert {v.rule for v in good.failed} <= {"EXCL-2", "EXCL-3"}, [
        v.divergence for v in good.failed
    ]
    assert "RESET-3" in {v.rule for v in broken.failed}, [v.divergence for v in broken.failed]


def test_run_conformance_takes_an_adapter() -> None:
    """Anyone's suite can drive a pool with an adapter of its own; ours passes as a plain pool."""
    import hypothesis

    import impl
    from spec import PlainAdapter, run_conformance

    calls: list[str] = []

    class CountingAdapter(PlainAdapter):
        def acquire(self, pool: Any) -> Any:
            calls.append("acquire")
            return super().acquire(pool)

    quick = hypothesis.settings(
        max_examples=10, stateful_step_count=10, deadline=None, database=None, derandomize=True
    )
    run_conformance(impl.Pool, adapter=CountingAdapter(), profile="plain", settings=quick)
    assert "acquire" in calls
