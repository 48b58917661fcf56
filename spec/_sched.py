"""A controlled scheduler for finding races in thread-based pools.

Real threads run the code under test, but only one of them runs at a time.
Each managed thread waits on its own private semaphore while it is not
scheduled; at every scheduling point it hands the baton back to the
controller (the thread that called :meth:`Scheduler.run`), which decides who
runs next. The scheduling points are the operations of the managed
primitives (every lock acquire and release, condition wait and notify) and
explicit :meth:`Scheduler.point` calls. Between two points a thread runs
alone, so the choices made at the points are the whole interleaving: a list
of small integers replays it exactly.

Time is virtual. :class:`ManagedClock` reads :attr:`Scheduler.now`, and a
timed wait expires only when the scheduler moves time forward: always when
no thread can run but one sleeps on time, and, when ``time_choices`` is on,
also as one more choice while threads could run (a thread can always be
delayed past someone's deadline on a real machine).

The cases the controller handles at each step:

1. Every thread finished: the run is over.
2. The step bound is reached: a livelock (or a run too long to call).
3. No thread can run and none sleeps on time: a deadlock.
4. No thread can run, one sleeps on time: time moves to the next deadline
   (a forced step: no choice is recorded). The ``on_quiescent`` hook sees
   this state first: every live thread is blocked.
5. Otherwise the strategy picks one of the options: option 0 is the thread
   that ran last if it can go on (so a choice of 0 is never a preemption),
   then the other runnable threads in creation order, then "advance time".

Third-party pools that build their own ``threading`` primitives are handled by
:func:`substitute`, which patches a module's globals (``threading``,
``Condition``, ``time``...) for the duration of a ``with`` block.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import random
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import Any, Protocol, final

#: Real seconds the controller waits for a thread to reach its next point: a
#: safety net against code that blocks on something the scheduler does not manage.
REAL_TIMEOUT = 20.0

#: The label of the "advance time" option in traces and option lists.
TIME = "time"


class SchedulerError(Exception):
    """The scheduler was misused (for example an unmanaged thread would block)."""


class _Abort(BaseException):
    """Raised in a managed thread whose run is being torn down (deadlock, livelock...)."""


@final
class _Status(Enum):
    NEW = "new"
    RUNNING = "running"
    DONE = "done"


@final
@dataclass(frozen=True, slots=True)
class TraceStep:
    """One scheduling decision: who ran, to do what, and where in the code.

    Attributes:
        step: the step number (the run's logical clock).
        thread: the thread's name, or ``"time"`` for a time advance.
        action: what the thread was about to do (``acquire lock#2``...).
        where: ``file:line (function)`` of the code that reached the point.
        chosen: whether this was a choice (several options) or forced.
    """

    step: int
    thread: str
    action: str
    where: str
    chosen: bool

    def __str__(self) -> str:
        mark = "*" if self.chosen else " "
        at = f"  at {self.where}" if self.where else ""
        return f"{self.step:4d}{mark} {self.thread:>8}: {self.action}{at}"


@final
class Outcome(Enum):
    """How a run ended."""

    FINISHED = "finished"
    DEADLOCK = "deadlock"
    LIVELOCK = "livelock"
    STUCK = "stuck"
    VIOLATION = "violation"


@dataclass(slots=True)
class Finding:
    """A broken rule, a deadlock or a livelock: what failed, and why.

    Attributes:
        rule: the rule id (``CAP-1``...), or ``DEADLOCK``, ``LIVELOCK``, ``STUCK``, ``ERROR``.
        message: a sentence naming the values involved.
    """

    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


class Strategy(Protocol):
    """Picks one option at each scheduling decision that has several."""

    def choose(self, options: Sequence[str], current_enabled: bool) -> int:
        """The index of the option to take.

        Args:
            options: labels (thread names, ``"time"``); option 0 is the
                thread that ran last when ``current_enabled``.
            current_enabled: whether option 0 continues the last thread.
        """
        ...


# -- the threads ---------------------------------------------------------------------


@final
class _Thread:
    """A managed thread: its baton, what it waits to do, and what it waits for."""

    __slots__ = (
        "action",
        "body",
        "cond",
        "deadline",
        "error",
        "index",
        "lock_wanted",
        "name",
        "notified",
        "real",
        "sem",
        "status",
        "where",
    )

    def __init__(self, name: str, index: int, body: Callable[[], object]) -> None:
        self.name = name
        self.index = index
        self.body = body
        self.sem = threading.Semaphore(0)
        self.status = _Status.NEW
        self.action = "start"
        self.where = ""
        self.lock_wanted: ManagedLock | None = None
        self.cond: ManagedCondition | None = None
        self.notified = False
        self.deadline: float | None = None
        self.error: BaseException | None = None
        self.real: threading.Thread | None = None


#: The owner of a lock taken by a thread the scheduler does not manage (setup code).
_OUTSIDE = _Thread("outside", -1, lambda: None)


# -- the scheduler ---------------------------------------------------------------------


@final
class Scheduler:
    """Runs managed threads one at a time, as the strategy chooses.

    Build the code under test with this scheduler's primitives
    (:meth:`sync`, :meth:`clock`, :func:`substitute`), :meth:`spawn` the
    threads, then :meth:`run`. A scheduler can run several phases: spawn
    more threads after a run and call :meth:`run` again.
    """

    def __init__(
        self,
        strategy: Strategy,
        *,
        max_steps: int = 5000,
        time_choices: bool = True,
        on_step: Callable[[], Finding | None] | None = None,
        on_quiescent: Callable[[], Finding | None] | None = None,
    ) -> None:
        """Create a scheduler.

        Args:
            strategy: picks among the options at each decision.
            max_steps: the step bound; reaching it is reported as a livelock.
            time_choices: offer "advance time" as a choice while threads can run.
            on_step: an invariant check run after every step; a Finding stops the run.
            on_quiescent: a check run when every live thread is blocked and time
                must advance; a Finding stops the run.

        Raises:
            ValueError: ``max_steps`` is below 1.
        """
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps!r}")
        self.strategy = strategy
        self.max_steps = max_steps
        self.time_choices = time_choices
        self.on_step = on_step
        self.on_quiescent = on_quiescent
        self.now = 0.0
        self.step = 0
        self.trace: list[TraceStep] = []
        self.choices: list[int] = []
        self.finding: Finding | None = None
        #: where each live thread was when a run stopped early (deadlock, violation...)
        self.stopped_at: list[str] = []
        self._threads: list[_Thread] = []
        self._by_ident: dict[int, _Thread] = {}
        self._ctl = threading.Semaphore(0)
        self._aborting = False
        self._inert = False
        self._count = 0

    # -- primitives ------------------------------------------------------------------

    def lock(self) -> ManagedLock:
        """A new managed non-reentrant lock."""
        self._count += 1
        return ManagedLock(self, reentrant=False, label=f"lock#{self._count}")

    def rlock(self) -> ManagedLock:
        """A new managed reentrant lock."""
        self._count += 1
        return ManagedLock(self, reentrant=True, label=f"rlock#{self._count}")

    def condition(self, lock: ManagedLock | None = None) -> ManagedCondition:
        """A new managed condition on ``lock`` (a new reentrant lock if None, as threading does).

        Raises:
            TypeError: ``lock`` is not a managed lock.
        """
        if lock is None:
            lock = self.rlock()
        if not isinstance(lock, ManagedLock):
            raise TypeError(f"a managed condition needs a managed lock, got {lock!r}")
        return ManagedCondition(self, lock)

    def sync(self) -> ManagedSync:
        """The ``Sync`` seam for ``impl.Pool(..., sync=...)``."""
        return ManagedSync(self)

    def clock(self) -> ManagedClock:
        """The ``Clock`` seam for ``impl.Pool(..., clock=...)``: virtual time."""
        return ManagedClock(self)

    # -- threads ---------------------------------------------------------------------

    def spawn(self, name: str, body: Callable[[], object]) -> None:
        """Add a thread that runs ``body`` at the next :meth:`run`.

        Raises:
            ValueError: a thread of that name exists, or the name is ``"time"``.
        """
        if name == TIME or any(t.name == name for t in self._threads):
            raise ValueError(f"thread name {name!r} is taken")
        self._threads.append(_Thread(name, len(self._threads), body))

    def current_name(self) -> str | None:
        """The name of the managed thread calling, or None outside the scheduler's threads."""
        t = self._current()
        return None if t is None else t.name

    def point(self, action: str, *, outer: int = 0) -> None:
        """An explicit scheduling point; does nothing outside a managed thread.

        Args:
            action: what the thread is about to do, for the trace.
            outer: how many callers up the trace's ``where`` is taken (1 for
                a wrapper: the site that called the wrapper).

        Raises:
            _Abort: the run is being torn down.
        """
        t = self._current()
        if t is not None:
            self._point(t, action, outer)

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of virtual time (a scheduling point; time moves only by the scheduler).

        Raises:
            SchedulerError: called outside a managed thread.
            ValueError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        t = self._current()
        if t is None:
            raise SchedulerError("sleep() outside a managed thread would block for real")
        t.deadline = self.now + seconds
        try:
            self._point(t, f"sleep {seconds:g} s (until t={t.deadline:g})")
        finally:
            t.deadline = None

    def _current(self) -> _Thread | None:
        return self._by_ident.get(threading.get_ident())

    # -- the run ---------------------------------------------------------------------

    def run(self) -> Outcome:
        """Run every thread spawned since the last run to its end, or to a finding.

        Returns:
            How the run ended; :attr:`finding` says why when it is not FINISHED.
        """
        threads = [t for t in self._threads if t.status is _Status.NEW]
        for t in threads:
            t.status = _Status.RUNNING
            real = threading.Thread(target=self._main, args=(t,), name=f"sched-{t.name}")
            real.daemon = True
            t.real = real
            real.start()
        outcome = self._loop(threads)
        if outcome is not Outcome.FINISHED:
            self.stopped_at = [
                f"{t.name}: {t.action}" + (f"  at {t.where}" if t.where else "")
                for t in threads
                if t.status is not _Status.DONE
            ]
            self._abort(threads)
        return outcome

    def _loop(self, threads: list[_Thread]) -> Outcome:
        current: _Thread | None = None
        while True:
            live = [t for t in threads if t.status is not _Status.DONE]
            if not live:
                return Outcome.FINISHED
            if self.step >= self.max_steps:
                self.finding = Finding(
                    "LIVELOCK", f"no end after {self.max_steps} steps (the step bound)"
                )
                return Outcome.LIVELOCK
            enabled = [t for t in live if self._enabled(t)]
            next_time = self._next_deadline(live)
            if not enabled:
                cycle = _lock_cycle(live)
                if next_time is None or cycle:
                    # a cycle of lock waits never untangles, whoever sleeps on time
                    stuck = cycle or live
                    self.finding = Finding("DEADLOCK", self._deadlock_message(stuck))
                    return Outcome.DEADLOCK
                if self.on_quiescent is not None:
                    finding = self.on_quiescent()
                    if finding is not None:
                        self.finding = finding
                        return Outcome.VIOLATION
                self._advance(next_time, chosen=False)
                continue
            current_enabled = current is not None and current in enabled
            if current_enabled:
                assert current is not None
                enabled.remove(current)
                enabled.insert(0, current)
            options: list[_Thread | None] = list(enabled)
            if self.time_choices and next_time is not None:
                options.append(None)
            index = 0
            if len(options) > 1:
                labels = [TIME if o is None else o.name for o in options]
                index = self.strategy.choose(labels, current_enabled)
                if not 0 <= index < len(options):
                    raise SchedulerError(
                        f"strategy chose option {index} of {len(options)}: {labels}"
                    )
                self.choices.append(index)
            chosen = options[index]
            if chosen is None:
                assert next_time is not None
                self._advance(next_time, chosen=True)
                continue
            self.trace.append(
                TraceStep(self.step, chosen.name, chosen.action, chosen.where, len(options) > 1)
            )
            self.step += 1
            if not self._resume(chosen):
                return Outcome.STUCK
            current = chosen
            if chosen.error is not None:
                error = chosen.error
                self.finding = Finding(
                    "ERROR", f"thread {chosen.name} raised {type(error).__name__}: {error}"
                )
                return Outcome.VIOLATION
            if self.on_step is not None:
                finding = self.on_step()
                if finding is not None:
                    self.finding = finding
                    return Outcome.VIOLATION

    def _enabled(self, t: _Thread) -> bool:
        lock = t.lock_wanted
        if lock is not None:
            return lock.owner is None or (lock.reentrant and lock.owner is t)
        if t.cond is not None or t.deadline is not None:
            return t.notified or (t.deadline is not None and t.deadline <= self.now)
        return True

    def _next_deadline(self, live: list[_Thread]) -> float | None:
        times = [
            t.deadline
            for t in live
            if t.deadline is not None and t.deadline > self.now and t.lock_wanted is None
        ]
        return min(times) if times else None

    def _advance(self, to: float, *, chosen: bool) -> None:
        self.trace.append(TraceStep(self.step, TIME, f"advance to t={to:g}", "", chosen))
        self.step += 1
        self.now = to

    def _deadlock_message(self, live: list[_Thread]) -> str:
        parts = []
        for t in live:
            if t.lock_wanted is not None:
                owner = t.lock_wanted.owner
                held = "nobody" if owner is None else owner.name
                what = f"wants {t.lock_wanted.label} (held by {held})"
            else:
                what = t.action
            parts.append(f"{t.name} {what} at {t.where or '?'}")
        return "no thread can go on: " + "; ".join(parts)

    def _resume(self, t: _Thread) -> bool:
        """Let ``t`` run to its next point; False if it did not get there in real time."""
        t.sem.release()
        if self._ctl.acquire(timeout=REAL_TIMEOUT):
            return True
        self.finding = Finding(
            "STUCK",
            f"thread {t.name} did not reach a scheduling point within {REAL_TIMEOUT:g} real "
            f"seconds after {t.action!r} at {t.where or '?'}: it blocks on something unmanaged",
        )
        return False

    def _main(self, t: _Thread) -> None:
        self._by_ident[threading.get_ident()] = t
        t.sem.acquire()
        try:
            if not self._aborting:
                t.body()
        except _Abort:
            pass
        except BaseException as exc:  # noqa: BLE001 - reported as the run's finding
            t.error = exc
        finally:
            del self._by_ident[threading.get_ident()]
            t.status = _Status.DONE
            t.action = "done"
            t.lock_wanted = None
            t.cond = None
            t.deadline = None
            self._ctl.release()

    def _point(self, t: _Thread, action: str, outer: int = 0) -> None:
        if self._aborting:
            raise _Abort
        t.action = action
        t.where = _site(outer)
        self._ctl.release()
        t.sem.acquire()
        if self._aborting:
            raise _Abort

    def _abort(self, threads: list[_Thread]) -> None:
        """Unblock every live thread with ``_Abort`` and wait for them to end."""
        self._aborting = True
        hook = sys.unraisablehook

        def quiet(unraisable: Any) -> None:
            # a finalizer (weakref callback, __del__) that runs while a thread
            # unwinds hits the abort too: that is the teardown, not an error
            if not isinstance(unraisable.exc_value, _Abort):
                hook(unraisable)

        sys.unraisablehook = quiet
        try:
            for t in threads:
                if t.status is not _Status.DONE:
                    t.sem.release()
                if t.real is not None:
                    t.real.join(REAL_TIMEOUT)
        finally:
            sys.unraisablehook = hook
        # the run is over: from now on the primitives neither block nor schedule
        self._inert = True


def _lock_cycle(live: list[_Thread]) -> list[_Thread]:
    """Threads waiting for each other's locks in a cycle (one thread: it wants its own lock)."""
    for start in live:
        path: list[_Thread] = []
        u: _Thread | None = start
        while u is not None and u.lock_wanted is not None and u not in path:
            path.append(u)
            u = u.lock_wanted.owner
        if u is not None and u in path:
            return path[path.index(u) :]
    return []


def _site(outer: int = 0) -> str:
    """``file:line (function)`` of the first frame outside this module and ``threading``.

    ``outer``: go that many more callers up from there.
    """
    frame = sys._getframe(2)
    skip = (__file__, threading.__file__)
    while frame is not None and frame.f_code.co_filename in skip:
        frame = frame.f_back  # type: ignore[assignment]
    for _ in range(outer):
        if frame is not None and frame.f_back is not None:
            frame = frame.f_back
    if frame is None:
        return ""
    return f"{_short(frame.f_code.co_filename)}:{frame.f_lineno} ({frame.f_code.co_name})"


@functools.cache
def _short(filename: str) -> str:
    """``filename`` from its top package down (``impl/_pool.py``, ``sqlalchemy/pool/impl.py``)."""
    directory, name = os.path.split(filename)
    parts = [name]
    while os.path.exists(os.path.join(directory, "__init__.py")):
        directory, package = os.path.split(directory)
        parts.append(package)
    return "/".join(reversed(parts))


# -- managed primitives --------------------------------------------------------------


@final
class ManagedLock:
    """A lock whose every acquire and release is a scheduling point.

    Used from a thread the scheduler does not manage (building a pool before
    the run, a finalizer), it takes and gives back at once, and raises
    :class:`SchedulerError` instead of blocking.
    """

    __slots__ = ("count", "label", "owner", "reentrant", "sched")

    def __init__(self, sched: Scheduler, *, reentrant: bool, label: str) -> None:
        """A free lock."""
        self.sched = sched
        self.reentrant = reentrant
        self.label = label
        self.owner: _Thread | None = None
        self.count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock (a scheduling point); a timeout on the lock itself is not modelled.

        Raises:
            SchedulerError: an unmanaged thread would block.
        """
        del timeout  # the pools never time out on their lock; blocking=True waits
        if self.sched._inert:
            return True
        t = self.sched._current()
        if t is None:
            return self._take_outside(blocking)
        if not blocking:
            self.sched._point(t, f"try {self.label}")
            if self.owner is None or (self.reentrant and self.owner is t):
                self._take(t)
                return True
            return False
        t.lock_wanted = self
        try:
            self.sched._point(t, f"acquire {self.label}")
        finally:
            t.lock_wanted = None
        self._take(t)
        return True

    def _take(self, t: _Thread) -> None:
        assert self.owner is None or (self.reentrant and self.owner is t)
        self.owner = t
        self.count += 1

    def _take_outside(self, blocking: bool) -> bool:
        if self.owner is None or (self.reentrant and self.owner is _OUTSIDE):
            self._take(_OUTSIDE)
            return True
        if not blocking:
            return False
        raise SchedulerError(
            f"a thread the scheduler does not manage would block on {self.label} "
            f"(held by {self.owner.name})"
        )

    def release(self) -> None:
        """Give the lock back, then a scheduling point (someone else may take it now).

        Raises:
            RuntimeError: the caller does not hold the lock.
        """
        if self.sched._inert:
            return
        t = self.sched._current()
        owner = t if t is not None else _OUTSIDE
        if self.owner is not owner:
            if self.sched._aborting:
                return
            raise RuntimeError(f"release of {self.label} by a thread that does not hold it")
        self.count -= 1
        if self.count == 0:
            self.owner = None
        if t is not None and not self.sched._aborting:
            self.sched._point(t, f"after release {self.label}")

    def locked(self) -> bool:
        """Whether some thread holds the lock."""
        return self.owner is not None

    def _release_save(self) -> tuple[_Thread | None, int]:
        """Give the lock back entirely, without a point (a condition wait does it)."""
        state = (self.owner, self.count)
        self.owner = None
        self.count = 0
        return state

    def _acquire_restore(self, state: tuple[_Thread | None, int]) -> None:
        self.owner, self.count = state

    def __enter__(self) -> bool:
        """Take the lock."""
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        """Give the lock back."""
        self.release()

    def __repr__(self) -> str:
        holder = "free" if self.owner is None else f"held by {self.owner.name}"
        return f"<ManagedLock {self.label} {holder}>"


@final
class ManagedCondition:
    """A condition variable on a managed lock; waits use virtual time.

    Waiters are woken in the order they started waiting, as CPython's
    ``threading.Condition`` does.
    """

    __slots__ = ("lock", "sched", "waiters")

    def __init__(self, sched: Scheduler, lock: ManagedLock) -> None:
        """A condition with no waiter."""
        self.sched = sched
        self.lock = lock
        self.waiters: deque[_Thread] = deque()

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait until notified or ``timeout`` virtual seconds pass, retake it.

        Returns:
            Whether it was notified (False: the timeout expired).

        Raises:
            SchedulerError: called outside a managed thread.
            RuntimeError: the caller does not hold the lock.
        """
        sched = self.sched
        if sched._inert:
            return False
        t = sched._current()
        if t is None:
            raise SchedulerError(f"wait on {self.lock.label} outside a managed thread")
        if self.lock.owner is not t:
            raise RuntimeError(f"wait on {self.lock.label} by a thread that does not hold it")
        saved = self.lock._release_save()
        t.cond = self
        t.notified = False
        t.deadline = None if timeout is None else sched.now + max(0.0, timeout)
        self.waiters.append(t)
        until = "" if t.deadline is None else f" until t={t.deadline:g}"
        try:
            sched._point(t, f"wait on {self.lock.label}{until}")
        finally:
            notified = t.notified
            if not notified and t in self.waiters:
                self.waiters.remove(t)
            t.cond = None
            t.deadline = None
            t.notified = False
        t.lock_wanted = self.lock
        try:
            sched._point(t, f"retake {self.lock.label} after {'notify' if notified else 'timeout'}")
        finally:
            t.lock_wanted = None
        self.lock._acquire_restore(saved)
        return notified

    def wait_for(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        """Wait until ``predicate()`` is true or ``timeout`` virtual seconds pass."""
        end = None if timeout is None else self.sched.now + timeout
        result = predicate()
        while not result:
            remaining = None if end is None else end - self.sched.now
            if remaining is not None and remaining <= 0:
                break
            self.wait(remaining)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake the ``n`` oldest waiters (a scheduling point first)."""
        if self.sched._inert:
            return
        t = self.sched._current()
        if t is not None:
            self.sched._point(t, f"notify on {self.lock.label} ({len(self.waiters)} waiting)")
        while self.waiters and n > 0:
            self.waiters.popleft().notified = True
            n -= 1

    def notify_all(self) -> None:
        """Wake every waiter."""
        self.notify(len(self.waiters))

    def __enter__(self) -> bool:
        """Take the lock."""
        return self.lock.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None:
        """Give the lock back."""
        self.lock.release()


@final
class ManagedSync:
    """The pool's ``Sync`` seam, handing out managed primitives."""

    __slots__ = ("sched",)

    def __init__(self, sched: Scheduler) -> None:
        """Primitives of ``sched``."""
        self.sched = sched

    def lock(self) -> ManagedLock:
        """A managed non-reentrant lock."""
        return self.sched.lock()

    def condition(self, lock: Any) -> ManagedCondition:
        """A managed condition on ``lock`` (a managed lock)."""
        return self.sched.condition(lock)


@final
class ManagedClock:
    """The pool's ``Clock`` seam: the scheduler's virtual time."""

    __slots__ = ("sched",)

    def __init__(self, sched: Scheduler) -> None:
        """Time of ``sched``."""
        self.sched = sched

    def now(self) -> float:
        """The virtual time, in seconds."""
        return self.sched.now

    def wait(self, cond: Any, timeout: float | None) -> None:
        """Wait on ``cond`` (a managed condition) for at most ``timeout`` virtual seconds."""
        cond.wait(timeout)


# -- substituting primitives in third-party modules ----------------------------------

#: The modules whose primitives :func:`substitute` replaces by default, and
#: what each uses (read from the installed sources):
#: ``sqlalchemy.util.queue``: ``threading.RLock``, ``threading.Condition`` and
#: ``from time import time as _time`` for its timeouts;
#: ``sqlalchemy.pool.impl``: ``threading.Lock`` (the overflow counter's lock);
#: ``sqlalchemy.pool.base``: ``time.time()`` (connection start times);
#: ``dbutils.pooled_db``: ``from threading import Condition``.
THIRD_PARTY_MODULES = (
    "sqlalchemy.util.queue",
    "sqlalchemy.pool.impl",
    "sqlalchemy.pool.base",
    "dbutils.pooled_db",
)


def _threading_shim(sched: Scheduler) -> types.ModuleType:
    """A copy of the ``threading`` module whose Lock, RLock and Condition are managed."""
    shim = types.ModuleType("threading", "threading, with the scheduler's primitives")
    shim.__dict__.update({k: v for k, v in vars(threading).items() if not k.startswith("__")})
    shim.Lock = sched.lock  # type: ignore[attr-defined]
    shim.RLock = sched.rlock  # type: ignore[attr-defined]
    shim.Condition = sched.condition  # type: ignore[attr-defined]
    return shim


def _time_shim(sched: Scheduler) -> types.ModuleType:
    """A copy of the ``time`` module whose clocks read the scheduler's virtual time."""
    shim = types.ModuleType("time", "time, reading the scheduler's virtual time")
    shim.__dict__.update({k: v for k, v in vars(time).items() if not k.startswith("__")})

    def now() -> float:
        return sched.now

    for name in ("time", "monotonic", "perf_counter"):
        setattr(shim, name, now)
    return shim


@contextlib.contextmanager
def substitute(sched: Scheduler, modules: Sequence[str] = THIRD_PARTY_MODULES) -> Iterator[None]:
    """Patch the globals of ``modules`` so the pools built inside use managed primitives.

    For each module that imports cleanly: a global ``threading`` becomes a
    copy whose ``Lock``, ``RLock`` and ``Condition`` are the scheduler's; a
    global ``time`` becomes a copy whose ``time``, ``monotonic`` and
    ``perf_counter`` read virtual time; globals bound to ``threading.Lock``,
    ``threading.RLock``, ``threading.Condition``, ``time.time`` or
    ``time.monotonic`` (``from threading import Condition``,
    ``from time import time as _time``) are replaced likewise. Everything is
    restored on exit. Modules that are not installed are skipped.
    """
    threading_shim = _threading_shim(sched)
    time_shim = _time_shim(sched)
    replacements: dict[object, object] = {
        threading.Lock: sched.lock,
        threading.RLock: sched.rlock,
        threading.Condition: sched.condition,
        time.time: time_shim.time,
        time.monotonic: time_shim.monotonic,
    }
    saved: list[tuple[types.ModuleType, str, object]] = []
    try:
        for name in modules:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            for attr, value in list(vars(module).items()):
                new: object | None = None
                if value is threading:
                    new = threading_shim
                elif value is time:
                    new = time_shim
                else:
                    with contextlib.suppress(TypeError):  # unhashable globals
                        new = replacements.get(value)
                if new is not None:
                    saved.append((module, attr, value))
                    setattr(module, attr, new)
        yield
    finally:
        for module, attr, value in reversed(saved):
            setattr(module, attr, value)


# -- strategies ----------------------------------------------------------------------


@final
class RandomWalk:
    """Uniformly random choices from a seeded generator."""

    __slots__ = ("rng",)

    def __init__(self, rng: random.Random) -> None:
        """Draw from ``rng``."""
        self.rng = rng

    def choose(self, options: Sequence[str], current_enabled: bool) -> int:
        """A uniformly random option."""
        return self.rng.randrange(len(options))


@final
class PCT:
    """Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010), with virtual time.

    Each thread gets a random distinct priority of at least ``depth``; the
    highest-priority runnable thread runs. At ``depth - 1`` change points,
    drawn uniformly among the first ``expected_steps`` decisions, the thread
    that just ran drops below every initial priority: to ``depth - 1`` at
    the first, ``depth - 2`` at the next, down to 1, so the thread delayed
    last is delayed most. A bug of depth ``d`` among ``n`` threads is found by one run
    with probability at least ``1 / (n * k ** (d - 1))``.

    Time is not a thread here: a real machine runs threads quickly next to
    pool timeouts, so time advances when nothing can run, and at a change
    point drawn (with even odds) as a "time" point rather than a demotion:
    there it advances once if some deadline is pending.
    """

    __slots__ = ("change_points", "decision", "depth", "priorities", "rng")

    def __init__(self, rng: random.Random, depth: int, expected_steps: int = 100) -> None:
        """A new schedule's priorities and change points.

        Raises:
            ValueError: ``depth`` below 1 or ``expected_steps`` below 1.
        """
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth!r}")
        if expected_steps < 1:
            raise ValueError(f"expected_steps must be >= 1, got {expected_steps!r}")
        self.rng = rng
        self.depth = depth
        self.priorities: dict[str, float] = {TIME: 0.0}
        points = rng.sample(range(1, expected_steps + 1), min(depth - 1, expected_steps))
        self.change_points = {
            p: (depth - 1 - i, rng.random() < 0.5) for i, p in enumerate(sorted(points))
        }
        self.decision = 0

    def _priority(self, label: str) -> float:
        if label not in self.priorities:
            # distinct, above every change-point priority (1 .. depth - 1)
            self.priorities[label] = self.depth + self.rng.random() * 1000
        return self.priorities[label]

    def choose(self, options: Sequence[str], current_enabled: bool) -> int:
        """The highest-priority option, after this decision's change point if it has one."""
        self.decision += 1
        point = self.change_points.get(self.decision)
        if point is not None:
            rank, advance_time = point
            if advance_time and TIME in options:
                return list(options).index(TIME)
            if current_enabled:
                self.priorities[options[0]] = rank
        return max(range(len(options)), key=lambda i: self._priority(options[i]))


@final
class Replay:
    """Replays a list of choices; past its end (or past an option count) it takes option 0.

    Each recorded index is taken modulo the number of options, so any list
    of non-negative integers is a valid schedule: Hypothesis can draw one and
    shrink it.
    """

    __slots__ = ("choices", "position")

    def __init__(self, choices: Sequence[int]) -> None:
        """Replay ``choices``."""
        self.choices = list(choices)
        self.position = 0

    def choose(self, options: Sequence[str], current_enabled: bool) -> int:
        """The next recorded choice (modulo the option count), else 0."""
        if self.position >= len(self.choices):
            return 0
        choice = self.choices[self.position] % len(options)
        self.position += 1
        return choice


@final
class Drawn:
    """Draws each choice from Hypothesis' ``st.data()``, so a failing schedule shrinks."""

    __slots__ = ("data", "integers")

    def __init__(self, data: Any) -> None:
        """Draw from ``data`` (a Hypothesis ``DataObject``)."""
        from hypothesis import strategies as st

        self.data = data
        self.integers = st.integers

    def choose(self, options: Sequence[str], current_enabled: bool) -> int:
        """An option index drawn by Hypothesis (shrinks toward 0: no preemption)."""
        index: int = self.data.draw(self.integers(0, len(options) - 1))
        return index


@dataclass(slots=True)
class _Decision:
    options: int
    current_enabled: bool


@final
class Recording:
    """Follows a prefix of choices, then the defaults, recording each decision."""

    __slots__ = ("decisions", "prefix")

    def __init__(self, prefix: Sequence[int]) -> None:
        self.prefix = list(prefix)
        self.decisions: list[_Decision] = []

    def choose(self, options: Sequence[str], current_enabled: bool) -> int:
        i = len(self.decisions)
        self.decisions.append(_Decision(len(options), current_enabled))
        if i < len(self.prefix):
            return self.prefix[i]
        return 0


@final
class PreemptionBounded:
    """Exhaustive exploration of the schedules with at most ``bound`` preemptions.

    Schedules are enumerated with 0 preemptions first, then 1, then 2...:
    each run follows a prefix of choices, then the default (keep running the
    same thread; when it cannot run, the first runnable one). Every decision
    past the prefix spawns one new prefix per alternative option; taking an
    alternative while the last thread could have gone on (or advancing time
    instead) costs one preemption. Each schedule is run exactly once.

    Use :meth:`next_strategy` for each run, then :meth:`done_with` on it.

    Attributes:
        bound: the most preemptions a schedule may have.
        queues: prefixes still to run, by preemption count.
    """

    __slots__ = ("bound", "queues")

    def __init__(self, bound: int) -> None:
        """Start with the one schedule of no preemption queued.

        Raises:
            ValueError: ``bound`` is negative.
        """
        if bound < 0:
            raise ValueError(f"bound must be >= 0, got {bound!r}")
        self.bound = bound
        self.queues: dict[int, deque[tuple[int, ...]]] = {0: deque([()])}

    def next_strategy(self) -> tuple[Recording, int] | None:
        """The strategy for the next schedule and its preemption count, or None when all ran."""
        for cost in sorted(self.queues):
            queue = self.queues[cost]
            if queue:
                return Recording(queue.popleft()), cost
        return None

    def remaining(self) -> int:
        """How many schedules are queued (0: every schedule within the bound ran)."""
        return sum(len(q) for q in self.queues.values())

    def done_with(self, recording: Recording, cost: int) -> None:
        """Queue the children of a schedule just run (its alternatives past the prefix)."""
        prefix = recording.prefix
        decisions = recording.decisions
        for i in range(len(prefix), len(decisions)):
            decision = decisions[i]
            extra = 1 if decision.current_enabled else 0
            if cost + extra > self.bound:
                continue
            base = tuple(prefix) + (0,) * (i - len(prefix))
            for j in range(1, decision.options):
                self.queues.setdefault(cost + extra, deque()).append((*base, j))
