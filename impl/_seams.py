"""The two seams through which the pool blocks: time and synchronisation.

Nothing in the engine calls ``time.monotonic()`` or builds a ``threading``
primitive itself. It asks a :class:`Clock` for the time and to wait, and a
:class:`Sync` for its lock and conditions. The defaults cost nothing on the hot
path (:class:`DefaultSync` hands out ``threading.Lock`` and
``threading.Condition`` unchanged); tests swap in :class:`ManualClock`, whose
time moves only when told, and a race scheduler can swap in its own
primitives.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Protocol, final


class LockLike(Protocol):
    """What the pool needs from its lock (``threading.Lock`` fits)."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool:
        """Take the lock."""
        ...

    def release(self) -> None:
        """Give the lock back."""
        ...

    def __enter__(self) -> bool:
        """Take the lock."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        """Give the lock back."""
        ...


class ConditionLike(Protocol):
    """What the pool needs from a condition on its lock (``threading.Condition`` fits)."""

    def wait(self, timeout: float | None = ...) -> bool:
        """Release the lock, block until notified or ``timeout`` real seconds pass, retake it."""
        ...

    def notify(self, n: int = ...) -> None:
        """Wake up to ``n`` threads waiting on this condition."""
        ...

    def notify_all(self) -> None:
        """Wake every thread waiting on this condition."""
        ...

    def __enter__(self) -> bool:
        """Take the underlying lock."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        """Give the underlying lock back."""
        ...


class Clock(Protocol):
    """Where the pool reads the time and how it waits for some of it to pass."""

    def now(self) -> float:
        """The current time in seconds; only differences mean anything."""
        ...

    def wait(self, cond: ConditionLike, timeout: float | None) -> None:
        """Wait on ``cond`` (whose lock the caller holds) for at most ``timeout`` of this time.

        May return early (a notification, or a spurious wake-up): callers
        re-check their state and their deadline in a loop.

        Args:
            cond: the condition to wait on; its lock is held on entry and on return.
            timeout: the most of this clock's seconds to wait; None: until notified.
        """
        ...


class Sync(Protocol):
    """The factory for the pool's synchronisation primitives."""

    def lock(self) -> LockLike:
        """A new non-reentrant lock."""
        ...

    def condition(self, lock: LockLike) -> ConditionLike:
        """A new condition variable bound to ``lock``."""
        ...


@final
class SystemClock:
    """Real time: ``time.monotonic()``, and ``Condition.wait(timeout)``."""

    __slots__ = ()

    #: The monotonic clock's reading, in seconds: ``time.monotonic`` itself, so
    #: a reading on the pool's hot path runs no Python frame.
    now = staticmethod(time.monotonic)

    def wait(self, cond: ConditionLike, timeout: float | None) -> None:
        """Wait on ``cond`` for at most ``timeout`` real seconds (None: until notified)."""
        cond.wait(timeout)


@final
class DefaultSync:
    """``threading.Lock`` and ``threading.Condition``, handed out unchanged."""

    __slots__ = ()

    def lock(self) -> LockLike:
        """A new ``threading.Lock``."""
        return threading.Lock()

    def condition(self, lock: LockLike) -> ConditionLike:
        """A new ``threading.Condition`` on ``lock``."""
        return threading.Condition(lock)  # type: ignore[arg-type]


@final
class ManualClock:
    """A clock whose time moves only when :meth:`advance` is called (for tests).

    :meth:`wait` blocks with no real timeout: only a notification or an
    :meth:`advance` wakes it, and the waiter then re-checks its deadline. A wait
    with a timeout returns at once if the time moved since the calling thread
    last read :meth:`now`, so an advance between a waiter's deadline check and
    its wait is never lost.
    """

    __slots__ = ("_guard", "_now", "_parked", "_parked_changed", "_seen", "_waited")

    def __init__(self, start: float = 0.0) -> None:
        """Start the clock at ``start`` seconds.

        Raises:
            TypeError: ``start`` is not a number.
        """
        if not isinstance(start, int | float) or isinstance(start, bool):
            raise TypeError(f"start must be a number, got {start!r}")
        # The clock is a seam itself, so it may use threading directly.
        self._guard = threading.Lock()
        self._parked_changed = threading.Condition(self._guard)
        self._now = float(start)
        self._seen = threading.local()
        self._waited: dict[int, tuple[ConditionLike, int]] = {}
        self._parked = 0

    def now(self) -> float:
        """The current manual time, in seconds."""
        with self._guard:
            self._seen.value = self._now
            return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every thread blocked in :meth:`wait`.

        Args:
            seconds: how far to move, >= 0.

        Raises:
            ValueError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        with self._guard:
            self._now += seconds
            conds = [cond for cond, _ in self._waited.values()]
        # Outside the guard: a waiter takes the guard while holding its condition's lock.
        for cond in conds:
            with cond:
                cond.notify_all()

    def wait(self, cond: ConditionLike, timeout: float | None) -> None:
        """Wait on ``cond`` until notified or until an :meth:`advance` (no real timeout).

        Args:
            cond: the condition to wait on; its lock is held on entry and on return.
            timeout: the most of this clock's seconds to wait; <= 0 returns at once.
        """
        with self._guard:
            if timeout is not None and (
                timeout <= 0 or getattr(self._seen, "value", None) != self._now
            ):
                return  # time moved since the caller computed its timeout: re-check
            key = id(cond)
            _, count = self._waited.get(key, (cond, 0))
            self._waited[key] = (cond, count + 1)
            self._parked += 1
            self._parked_changed.notify_all()
        try:
            cond.wait()
        finally:
            with self._guard:
                _, count = self._waited[key]
                if count == 1:
                    del self._waited[key]
                else:
                    self._waited[key] = (cond, count - 1)
                self._parked -= 1
                self._parked_changed.notify_all()

    @property
    def parked(self) -> int:
        """How many threads are blocked in :meth:`wait` right now."""
        with self._guard:
            return self._parked

    def wait_parked(self, count: int, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` threads are blocked in :meth:`wait`.

        A test helper: once it returns True, the next call into the pool
        serialises after those threads released the pool's lock.

        Args:
            count: how many parked threads to wait for.
            timeout: real seconds to wait at most, a safety net against a hung test.

        Returns:
            Whether ``count`` threads were parked before ``timeout``.
        """
        with self._parked_changed:
            return self._parked_changed.wait_for(lambda: self._parked >= count, timeout)
