"""Broken copies of SQLAlchemy's QueuePool and DBUtils' PooledDB, one bug each.

Each class keeps its pool's public constructor and overrides one piece the way
a bug of that kind has looked in those projects' trackers: a slot not given
back after a failed connect, an idle cap ignored, an idle order reversed,
recycle or ping switched off, a reset skipped, dispose not closing idle
connections, a wake-up lost. They live outside the library's modules and
names, so ``poolspec check tests.thirdparty.buggy_pools:SlotLeakQueuePool``
must find them by their shape, as a user's fork would be.
"""

from __future__ import annotations

from typing import Any

from dbutils.pooled_db import PooledDB
from sqlalchemy.pool import QueuePool


class SlotLeakQueuePool(QueuePool):
    """CONN-1: the overflow counted for a connect that failed is never given back."""

    def _create_connection(self) -> Any:
        try:
            return super()._create_connection()
        except BaseException:
            self._overflow += 1  # cancels the _dec_overflow that follows: the slot leaks
            raise


class IdleCapQueuePool(QueuePool):
    """CAP-2: overflow connections are kept idle on return instead of closed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool.maxsize = 0  # sqlalchemy.util.queue: 0 means unbounded


class ReversedQueuePool(QueuePool):
    """ORDER-1: the idle order is the opposite of use_lifo."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool.use_lifo = not self._pool.use_lifo


class NoRecycleQueuePool(QueuePool):
    """RETIRE-2: recycle is accepted and then ignored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recycle = -1


class NoPingQueuePool(QueuePool):
    """LIVE-1: pre_ping is accepted and then ignored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pre_ping = False


class NoResetQueuePool(QueuePool):
    """RESET-3/RESET-4: nothing is rolled back or committed on return."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["reset_on_return"] = None
        super().__init__(*args, **kwargs)


class DisposeKeepsIdleQueuePool(QueuePool):
    """CLOSE-3: dispose() forgets its idle connections without closing them."""

    def dispose(self) -> None:
        while not self._pool.empty():
            self._pool.get(False)  # dropped, never closed
        self._overflow = 0 - self.size()


class LostWakeupQueuePool(QueuePool):
    """WAIT-3: a connection given back goes into the queue without waking a waiter."""

    def _do_return_conn(self, record: Any) -> None:
        queue = self._pool
        with queue.mutex:
            if queue.maxsize <= 0 or len(queue.queue) < queue.maxsize:
                queue._put(record)  # no not_empty.notify(): a waiter sleeps on
                return
        record.close()
        self._dec_overflow()


class IdleCapPooledDB(PooledDB):
    """CAP-2: maxcached is ignored: every connection given back is cached."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._maxcached = 0


class NoResetPooledDB(PooledDB):
    """RESET-3: connections are cached without a rollback."""

    def cache(self, con: Any) -> None:
        with self._lock:
            if not self._maxcached or len(self._idle_cache) < self._maxcached:
                self._idle_cache.append(con)  # no con._reset(): work survives
            else:
                con.close()
            self._connections -= 1
            self._lock.notify()


class ReversedPooledDB(PooledDB):
    """ORDER-1: idle connections are handed out newest first (DBUtils is FIFO)."""

    def connection(self, shareable: bool = True) -> Any:
        with self._lock:
            self._idle_cache.reverse()
            try:
                return super().connection(shareable)
            finally:
                self._idle_cache.reverse()


class SlotLeakPooledDB(PooledDB):
    """CONN-1: a connect that fails keeps the connection it was counted as."""

    def steady_connection(self) -> Any:
        try:
            return super().steady_connection()
        except Exception:
            with self._lock:
                self._connections += 1  # counted, never given back
            raise


#: Each broken pool and the rule it must fail.
BUGGY: dict[str, str] = {
    "SlotLeakQueuePool": "CONN-1",
    "IdleCapQueuePool": "CAP-2",
    "ReversedQueuePool": "ORDER-1",
    "NoRecycleQueuePool": "RETIRE-2",
    "NoPingQueuePool": "LIVE-1",
    "NoResetQueuePool": "RESET-*",
    "DisposeKeepsIdleQueuePool": "CLOSE-3",
    "LostWakeupQueuePool": "WAIT-3",
    "IdleCapPooledDB": "CAP-2",
    "NoResetPooledDB": "RESET-*",
    "ReversedPooledDB": "ORDER-1",
    "SlotLeakPooledDB": "CONN-1",
}


class InvalidateLeaksQueuePool(QueuePool):
    """INV-1: an invalidated connection is forgotten without being closed."""

    def _close_connection(self, connection: Any, *, terminate: bool = False) -> None:
        if terminate:
            return  # invalidation terminates: the connection is dropped, still open
        super()._close_connection(connection, terminate=terminate)


BUGGY["InvalidateLeaksQueuePool"] = "INV-1"
