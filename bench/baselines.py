"""Minimal pools the benchmark measures everything else against.

They are as small as a correct pool can be, so a ratio to them says how much
a full pool's policies cost. Each resets a connection on return the way the
pools it is compared with do (a ``rollback()``), each keeps at most
``size`` connections idle and opens at most ``size + overflow``:

* :class:`LockDequePool`: one ``threading.Lock``, a ``deque`` of idle
  connections. When it is exhausted a checkout queues in a ``deque`` of
  waiters, each with its own lock, and a connection given back goes straight
  to the oldest waiter (strict FIFO hand-off): nobody can overtake a waiter.
* :class:`BargingPool`: one ``threading.Condition``. A connection given back
  goes idle and one waiter is notified; whoever takes the lock first takes
  the connection (a new arrival may overtake the waiter).
* :class:`SimpleQueuePool`: a ``queue.SimpleQueue`` filled with the
  connections up front; no overflow, no idle cap.

And one reference that is not a target's: :class:`LockDequeHandlePool`, the
FIFO baseline handing out a minimal :class:`Handle` instead of the bare
connection, given back by its ``close()`` or, when dropped unclosed, by its
``__del__``. A pool that must not lose a dropped connection (SPEC DROP-1)
pays at least that; its ratio to the bare baseline shows how much.

Not part of poolspec: only the benchmark and its tests use them.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any


class ExhaustedError(Exception):
    """A waiter's timeout expired before a connection came back."""


class _Waiter:
    """One thread queued for a connection: a lock it blocks on, and what it is handed."""

    __slots__ = ("conn", "signal")

    def __init__(self) -> None:
        self.signal = threading.Lock()
        self.signal.acquire()  # released by whoever hands a connection over
        self.conn: Any = None


class LockDequePool:
    """A lock, a deque of idle connections, and strict FIFO hand-off to waiters."""

    def __init__(
        self, creator: Callable[[], Any], size: int, overflow: int = 0, timeout: float = 30.0
    ) -> None:
        if size < 0 or overflow < 0 or size + overflow < 1:
            raise ValueError(f"need size + overflow >= 1, got size={size}, overflow={overflow}")
        self._creator = creator
        self._size = size
        self._cap = size + overflow
        self._timeout = timeout
        self._lock = threading.Lock()
        self._idle: deque[Any] = deque()
        self._waiters: deque[_Waiter] = deque()
        self._open = 0

    def get(self) -> Any:
        """Check out a connection: an idle one, a new one under the cap, or wait for one."""
        with self._lock:
            if self._idle:
                return self._idle.popleft()
            if self._open < self._cap:
                self._open += 1
                waiter = None
            else:
                waiter = _Waiter()
                self._waiters.append(waiter)
        if waiter is None:
            try:
                return self._creator()
            except BaseException:
                with self._lock:
                    self._open -= 1
                raise
        if waiter.signal.acquire(timeout=self._timeout):
            return waiter.conn
        with self._lock:
            if waiter.conn is None:  # nobody handed it one: leave the line
                self._waiters.remove(waiter)
                raise ExhaustedError(f"no connection within {self._timeout} s")
        return waiter.conn  # handed over just as the timeout expired

    def put(self, conn: Any) -> None:
        """Give a connection back: to the oldest waiter, else idle, else (overflow) close it."""
        conn.rollback()
        with self._lock:
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.conn = conn
                waiter.signal.release()
                return
            if len(self._idle) < self._size:
                self._idle.append(conn)
                return
            self._open -= 1
        conn.close()

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            doomed = list(self._idle)
            self._idle.clear()
            self._open -= len(doomed)
        for conn in doomed:
            conn.close()


class Handle:
    """A checked-out connection behind the least a handle can be: ``close()`` and ``__del__``."""

    __slots__ = ("_conn", "_pool")

    _conn: Any
    _pool: LockDequePool

    def close(self) -> None:
        """Give the connection back; a second close raises."""
        conn = self._conn
        if conn is None:
            raise RuntimeError("handle closed twice")
        self._conn = None
        self._pool.put(conn)

    def __del__(self) -> None:
        """Give back a handle dropped without ``close()``."""
        conn = self._conn
        if conn is not None:
            self._conn = None
            self._pool.put(conn)


class LockDequeHandlePool(LockDequePool):
    """:class:`LockDequePool` handing out a :class:`Handle`: close it to give it back."""

    def checkout(self) -> Handle:
        """Check out a connection (as :meth:`get`) behind a new handle."""
        handle = Handle()
        handle._conn = self.get()
        handle._pool = self
        return handle


class BargingPool:
    """A lock + condition pool: a returned connection goes idle and wakes one waiter."""

    def __init__(
        self, creator: Callable[[], Any], size: int, overflow: int = 0, timeout: float = 30.0
    ) -> None:
        if size < 0 or overflow < 0 or size + overflow < 1:
            raise ValueError(f"need size + overflow >= 1, got size={size}, overflow={overflow}")
        self._creator = creator
        self._size = size
        self._cap = size + overflow
        self._timeout = timeout
        self._cond = threading.Condition(threading.Lock())
        self._idle: deque[Any] = deque()
        self._open = 0

    def get(self) -> Any:
        """Check out a connection: an idle one, a new one under the cap, or wait and compete."""
        with self._cond:
            while not self._idle:
                if self._open < self._cap:
                    self._open += 1
                    break
                if (
                    not self._cond.wait(self._timeout)
                    and not self._idle
                    and (self._open >= self._cap)
                ):
                    raise ExhaustedError(f"no connection within {self._timeout} s")
            else:
                return self._idle.popleft()
        try:
            return self._creator()
        except BaseException:
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise

    def put(self, conn: Any) -> None:
        """Give a connection back: idle (waking one waiter), or beyond the idle cap closed."""
        conn.rollback()
        with self._cond:
            if len(self._idle) < self._size:
                self._idle.append(conn)
                self._cond.notify()
                return
            self._open -= 1
            self._cond.notify()  # a slot is free: a waiter may connect in it
        conn.close()

    def close(self) -> None:
        """Close the idle connections."""
        with self._cond:
            doomed = list(self._idle)
            self._idle.clear()
            self._open -= len(doomed)
        for conn in doomed:
            conn.close()


class SimpleQueuePool:
    """``queue.SimpleQueue`` holding ``size`` connections opened up front."""

    def __init__(self, creator: Callable[[], Any], size: int, timeout: float = 30.0) -> None:
        if size < 1:
            raise ValueError(f"need size >= 1, got {size}")
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._timeout = timeout
        self._size = size
        for _ in range(size):
            self._queue.put(creator())

    def get(self) -> Any:
        """Check out a connection, waiting for one if all are out."""
        try:
            return self._queue.get(timeout=self._timeout)
        except queue.Empty:
            raise ExhaustedError(f"no connection within {self._timeout} s") from None

    def put(self, conn: Any) -> None:
        """Roll back and give the connection back."""
        conn.rollback()
        self._queue.put(conn)

    def close(self) -> None:
        """Close the connections that are in the queue."""
        while True:
            try:
                conn = self._queue.get_nowait()
            except queue.Empty:
                return
            conn.close()
