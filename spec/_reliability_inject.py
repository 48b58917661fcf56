"""A ``BaseException`` at every point of acquire, release, connect, reset and ping.

A fixed scenario (two checkouts, a third that waits and is handed a
connection, a reset on return, a ping at checkout, an invalidate, a
transparent reopen) runs against ``impl.Pool`` with every seam wrapped: the
creator, the driver connection's methods, the :class:`~impl.Clock` and the
:class:`~impl.Sync` (its lock and conditions). Each wrapped call is an
*injection point*, counted per kind. A first run counts nothing but the
calls; then, for each kind and each ``k`` from 1 on, the scenario runs again
with :class:`Injected` (a ``BaseException``, like ``KeyboardInterrupt``)
raised at the ``k``-th call of that kind, until a run no longer reaches a
``k``-th call.

Where the exception is raised:

* creator, driver calls (except ``close``), ``Clock.now``/``wait``, a lock's
  ``acquire``, a condition's ``wait``: *before* the call (it did not happen).
* the driver's ``close``, a lock's ``release``, a condition's ``notify``:
  *after* the call (it happened, then the interrupt arrived). After a lock
  release this is an interrupt between two statements of the pool, once it
  decided under its lock: what it decided must still be placed.

After each run, with injection off, every handle still held is given back
and the verdict is taken: the waiter thread is not left asleep; nothing is
in use or waiting; every driver connection still open is one the pool
counts (none lost), and the pool counts none that is not open; the pool can
still hand out ``max_size`` connections at once (no slot or connect permit
lost); after ``close()`` no driver connection is open.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import impl

from ._driver import RecordingDriver

#: Real seconds a waiter waits at most for its hand-off (a safety net: a lost
#: slot, permit or wake-up shows as a timeout instead of a hang).
SAFETY_SECONDS = 2.0

#: Real seconds the final capacity check waits: a correct pool has free
#: capacity then and never waits at all, so any wait means a lost slot.
CAPACITY_SECONDS = 0.25

#: The kinds of injection point.
POINTS = (
    "creator",
    "cursor",
    "execute",
    "commit",
    "rollback",
    "reset",
    "ping",
    "close",
    "clock.now",
    "clock.wait",
    "lock.acquire",
    "lock.release",
    "cond.wait",
    "cond.notify",
)


#: The kinds whose every point is guaranteed to lose nothing: all of them. A
#: failing call (connect, a driver call, reading the clock, an interrupted wait
#: or lock acquisition), and an interrupt arriving right *after* a lock release
#: or a notify, i.e. between two statements of the pool: what was decided under
#: the lock is still placed (handed out, put back, closed, or its slot freed).
GUARANTEED = POINTS


class Injected(BaseException):
    """The injected interrupt."""


class Trigger:
    """Counts the calls at each point while armed; raises at the ``k``-th of one point."""

    def __init__(self, point: str | None = None, k: int = 0, site: str | None = None) -> None:
        """Raise at the ``k``-th call of ``point`` (None: only count).

        Args:
            point: the kind of call to raise at.
            k: which call of that kind (1: the first).
            site: count only the calls made from this ``impl`` function (a
                targeted injection, for regression tests).
        """
        self.point = point
        self.k = k
        self.site = site
        self.counts: dict[str, int] = dict.fromkeys(POINTS, 0)
        self.fired = False
        #: The innermost ``impl`` function that made the call that raised.
        self.where = ""
        self._local = threading.local()
        self._guard = threading.Lock()

    @property
    def armed(self) -> bool:
        """Whether calls made by the current thread count."""
        return bool(getattr(self._local, "armed", False))

    @armed.setter
    def armed(self, value: bool) -> None:
        self._local.armed = value

    def hit(self, point: str) -> None:
        """Count a call at ``point``; raise :class:`Injected` if it is the chosen one."""
        if not self.armed:
            return
        if self.site is not None and point == self.point and self.site not in _impl_functions():
            return
        with self._guard:
            self.counts[point] += 1
            fire = point == self.point and self.counts[point] == self.k and not self.fired
            if fire:
                self.fired = True
        if fire:
            self.where = _impl_frame()
            raise Injected(f"{point} #{self.k}")


def _impl_frame() -> str:
    """``file:line (function)`` of the innermost frame in ``impl/`` on the stack."""
    for frame in reversed(traceback.extract_stack()):
        if f"{os.sep}impl{os.sep}" in frame.filename:
            return f"impl/{os.path.basename(frame.filename)}:{frame.lineno} ({frame.name})"
    return "outside impl"


def _impl_functions() -> set[str]:
    """The names of the ``impl/`` functions on the stack."""
    return {
        frame.name
        for frame in traceback.extract_stack()
        if f"{os.sep}impl{os.sep}" in frame.filename
    }


class _Cursor:
    def __init__(self, cur: Any, trigger: Trigger) -> None:
        self._cur = cur
        self._trigger = trigger
        self.arraysize = 1

    def execute(self, sql: str, params: Any = ()) -> _Cursor:
        self._trigger.hit("execute")
        self._cur.execute(sql, params)
        return self

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> Any:
        return self._cur.fetchall()

    def close(self) -> None:
        self._cur.close()

    @property
    def description(self) -> Any:
        return self._cur.description

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)


class _Conn:
    """A recording connection whose every method is an injection point."""

    def __init__(self, raw: Any, trigger: Trigger) -> None:
        self.raw = raw
        self._trigger = trigger

    def cursor(self) -> _Cursor:
        self._trigger.hit("cursor")
        return _Cursor(self.raw.cursor(), self._trigger)

    def execute(self, sql: str, params: Any = ()) -> _Cursor:
        self._trigger.hit("execute")
        return _Cursor(self.raw.execute(sql, params), self._trigger)

    def commit(self) -> None:
        self._trigger.hit("commit")
        self.raw.commit()

    def rollback(self) -> None:
        self._trigger.hit("rollback")
        self.raw.rollback()

    def reset(self) -> None:
        self._trigger.hit("reset")
        self.raw.reset()

    def ping(self) -> None:
        self._trigger.hit("ping")
        self.raw.ping()

    def close(self) -> None:
        self.raw.close()
        self._trigger.hit("close")


class _Lock:
    def __init__(self, trigger: Trigger) -> None:
        self.real = threading.Lock()
        self._trigger = trigger

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        self._trigger.hit("lock.acquire")
        return self.real.acquire(blocking, timeout)

    def release(self) -> None:
        self.real.release()
        self._trigger.hit("lock.release")

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class _Cond:
    def __init__(self, lock: _Lock, trigger: Trigger) -> None:
        self.real = threading.Condition(lock.real)
        self._lock = lock
        self._trigger = trigger

    def wait(self, timeout: float | None = None) -> bool:
        self._trigger.hit("cond.wait")
        return self.real.wait(timeout)

    def notify(self, n: int = 1) -> None:
        self.real.notify(n)
        self._trigger.hit("cond.notify")

    def notify_all(self) -> None:
        self.real.notify_all()
        self._trigger.hit("cond.notify")

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._lock.__exit__()


class _Sync:
    def __init__(self, trigger: Trigger) -> None:
        self._trigger = trigger

    def lock(self) -> Any:
        return _Lock(self._trigger)

    def condition(self, lock: Any) -> Any:
        return _Cond(lock, self._trigger)


class _Clock:
    def __init__(self, trigger: Trigger) -> None:
        self._trigger = trigger

    def now(self) -> float:
        self._trigger.hit("clock.now")
        return time.monotonic()

    def wait(self, cond: Any, timeout: float | None) -> None:
        self._trigger.hit("clock.wait")
        cond.wait(timeout)


@dataclass(slots=True)
class RunVerdict:
    """What one scenario run left behind (empty ``problems``: nothing)."""

    point: str | None
    k: int
    fired: bool
    where: str
    surfaced: int
    problems: list[str] = field(default_factory=list)


def _wait_until(cond: Callable[[], bool]) -> bool:
    """Poll ``cond`` until true or the safety net expires (nothing here measures time)."""
    deadline = time.monotonic() + SAFETY_SECONDS
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def run_scenario(trigger: Trigger, reset: impl.ResetMode) -> RunVerdict:
    """Run the scenario once with ``trigger`` armed, then take the verdict."""
    driver = RecordingDriver(None)
    conns: list[_Conn] = []

    def creator() -> _Conn:
        trigger.hit("creator")
        conn = _Conn(driver.connect(), trigger)
        conns.append(conn)
        return conn

    max_size = 2
    pool = impl.Pool(
        creator,
        max_size=max_size,
        ping=impl.Ping.ON_CHECKOUT,
        reset=reset,
        failures=(driver.OperationalError,),
        max_connecting=1,
        timeout=SAFETY_SECONDS,  # a lost slot, permit or wake-up shows as a timeout
        clock=_Clock(trigger),
        sync=_Sync(trigger),
    )
    surfaced = 0
    timeouts: list[str] = []
    held: list[impl.PooledConnection] = []
    waiter_done = threading.Event()

    def step(fn: Callable[[], object]) -> object:
        nonlocal surfaced
        try:
            return fn()
        except Injected:
            surfaced += 1
        except impl.PoolTimeout as exc:
            timeouts.append(str(exc))
        return None

    def acquire() -> impl.PooledConnection | None:
        got = step(pool.acquire)
        if isinstance(got, impl.PooledConnection):
            held.append(got)
            return got
        return None

    def use(conn: impl.PooledConnection | None, sql: str = "SELECT 1") -> None:
        if conn is not None:
            step(lambda: conn.execute(sql).fetchall())

    def give_back(conn: impl.PooledConnection | None) -> None:
        if conn is not None:
            step(conn.close)

    def waiter() -> None:
        trigger.armed = True
        try:
            c = acquire()
            use(c)
            give_back(c)
        finally:
            waiter_done.set()

    trigger.armed = True
    a = acquire()
    b = acquire()
    thread = threading.Thread(target=waiter, name="inject-waiter")
    thread.start()
    trigger.armed = False
    _wait_until(lambda: pool.stats().waiting == 1 or waiter_done.is_set())
    trigger.armed = True
    use(a)
    give_back(a)
    trigger.armed = False
    # handed over: the waiter finishes; not handed over: it still waits
    _wait_until(lambda: waiter_done.is_set() or pool.stats().waiting == 1)
    trigger.armed = True
    use(b, "INSERT INTO t VALUES (1)")
    give_back(b)
    d = acquire()
    if d is not None:
        step(d.invalidate)
    e = acquire()
    if e is not None and not e.closed:
        raw = e.raw
        if isinstance(raw, _Conn):
            driver.kill(raw.raw.id)
        use(e)
        give_back(e)
    trigger.armed = False
    verdict = _verdict(pool, driver, held, thread, trigger, surfaced, max_size)
    verdict.problems.extend(f"a checkout timed out: {t}" for t in timeouts)
    return verdict


def _verdict(
    pool: impl.Pool,
    driver: RecordingDriver,
    held: list[impl.PooledConnection],
    thread: threading.Thread,
    trigger: Trigger,
    surfaced: int,
    max_size: int,
) -> RunVerdict:
    """Give back what is held, then check nothing was lost."""
    verdict = RunVerdict(trigger.point, trigger.k, trigger.fired, trigger.where, surfaced)
    problems = verdict.problems
    for conn in held:
        if not conn.closed:
            with contextlib.suppress(impl.PoolError):  # invalidated meanwhile
                conn.close()
    thread.join(SAFETY_SECONDS)
    if thread.is_alive():
        problems.append("the waiter was left asleep")
        pool.close()
        thread.join(SAFETY_SECONDS)
        return verdict
    stats = pool.stats()
    if stats.in_use or stats.waiting:
        problems.append(f"after every handle was given back: {stats}")
    driver_open = len(driver.open_connections())
    if driver_open != stats.open:
        problems.append(f"{driver_open} driver connections open but the pool counts {stats.open}")
    got: list[impl.PooledConnection] = []
    try:
        for _ in range(max_size):
            got.append(pool.acquire(timeout=CAPACITY_SECONDS))
    except impl.PoolTimeout:
        problems.append(f"only {len(got)} of {max_size} connections could be checked out")
    for conn in got:
        conn.close()
    pool.close()
    if driver.open_connections():
        problems.append(f"{len(driver.open_connections())} driver connections open after close()")
    return verdict


@dataclass(slots=True)
class InjectionReport:
    """Every injection run of one reset mode."""

    reset: str
    points: dict[str, int]
    runs: int = 0
    surfaced: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no run lost anything."""
        return not self.failures


def enumerate_injections(
    reset: impl.ResetMode = impl.ResetMode.ROLLBACK,
    on_point: Callable[[str], None] | None = None,
) -> InjectionReport:
    """Inject at every point the scenario reaches, each ``k`` in turn, and check each run."""
    baseline = Trigger()
    clean = run_scenario(baseline, reset)
    report = InjectionReport(reset.value, {})
    if clean.problems:
        report.failures.append(f"without injection: {'; '.join(clean.problems)}")
    for point in POINTS:
        k = 0
        while True:
            k += 1
            trigger = Trigger(point, k)
            verdict = run_scenario(trigger, reset)
            if not trigger.fired:
                break
            report.runs += 1
            report.surfaced += verdict.surfaced
            if verdict.problems:
                report.failures.append(
                    f"{point} #{k} at {verdict.where}: {'; '.join(verdict.problems)}"
                )
            if k > 500:
                report.failures.append(f"{point}: more than 500 calls; stopped")
                break
        report.points[point] = k - 1
        if on_point is not None:
            on_point(f"injection {reset.value}: {point}: {k - 1} points")
    return report
