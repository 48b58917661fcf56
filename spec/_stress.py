"""Stress: many real threads use one pool at random, with faults, and nothing may break.

Unlike the lockstep harness, nothing here is scheduled: 16 to 64 threads run
as fast as they can for a bounded number of operations or seconds, each
doing random checkouts, statements, returns, invalidations and detaches,
while random faults land (a connect refused through the recording driver's
``fail_next_connects``, a connection dropped with ``kill``, a holder's work
raising inside a ``with`` block). It stops by itself.

What is checked:

1. Continuously, by the threads themselves through the recording driver's
   state: a connection is held by at most one holder (EXCL-1, unless the
   pool shares connections by configuration), no connection is handed out
   closed, and the connections open on the driver never exceed the cap
   (CAP-1; detached connections, which left the pool, are not counted).
2. At the end: after the pool is closed every connection the driver opened
   is closed (no leak); for our engine, its statistics add up (idle + in use
   = open, nothing open or waiting after close, its connect counts are the
   driver's).
3. Every error surfaced is classified: an expected refusal (a timeout, a
   failed connect, a statement on a dropped connection...) or unexpected.
4. Afterwards, the recorded history (``time.monotonic_ns()``) is checked for
   linearizability against the model (``spec._linear``): the whole history
   when small, else its first ``window`` operations (a prefix is checked
   from the pool's initial state, so the verdict is sound); ``unknown`` when
   the search budget runs out. For a pool that promises FIFO hand-off and is
   built with a recording ``Sync``, FIFO fairness is checked too.

Threads only ever wait on the pool; the run never sleeps to let time pass.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import model
from model import OpKind, Refusal

from ._adapters import WORK_SQL, Adapter, OurAdapter
from ._driver import RecordingDriver
from ._linear import (
    HistoryOp,
    LinearResult,
    Overtaking,
    check_fifo,
    check_history,
    format_result,
    prefix,
)
from ._lockstep import _raw_id

# How long, past the run's own bound, threads may take to finish: only a
# deadlocked pool comes near it.
JOIN_SECONDS = 30.0
# How many unexpected errors and invariant violations a report lists in full.
SHOWN = 10

Progress = Callable[[str], None]


class HolderError(Exception):
    """Raised inside a holder's ``with`` block: the work failed (an injected fault)."""


# -- targets ---------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A pool to stress: how to build it, how to drive it, and its model configuration.

    Attributes:
        name: the target's name (``poolspec``, ``sqlalchemy-queuepool``...).
        config: the model configuration the pool is built to, checked against.
        adapter: how to drive it (the lockstep harness's adapters).
        build: ``(driver, recorder) -> pool``; ``recorder`` is a
            :class:`WaitRecorder`, for pools that accept one as their ``Sync``
            and ``Clock``, else ignored.
        fifo: the pool promises FIFO hand-off and records its waits (through
            the recorder), so the fairness check applies.
    """

    name: str
    config: model.Config
    adapter: Adapter
    build: Callable[[RecordingDriver, Any], Any]
    fifo: bool = False


def engine_target(
    max_size: int = 4, timeout: float | None = 0.01, fairness: model.Fairness = model.Fairness.FIFO
) -> Target:
    """Our engine, ``impl.Pool``, built with a :class:`WaitRecorder` as its seams.

    Args:
        max_size: the cap.
        timeout: real seconds a waiter waits (None: forever).
        fairness: FIFO or barging hand-off.
    """
    import impl

    def build(driver: RecordingDriver, recorder: Any) -> Any:
        return impl.Pool(
            driver.connect,
            max_size=max_size,
            timeout=timeout,
            fairness=impl.Fairness(fairness.value),
            sync=recorder,
            clock=recorder,
        )

    config = model.Config(
        max_size=max_size, timeout=None if timeout is None else 1, fairness=fairness
    )
    return Target("poolspec", config, OurAdapter(), build, fifo=fairness is model.Fairness.FIFO)


def _profile_config(choices: dict[str, tuple[Any, ...]]) -> model.Config:
    """A configuration a profile can express: the model's default where allowed, the
    largest cap offered, no timeout (a tick would be a real second), no time-based retirement."""
    default = model.Config()
    values: dict[str, Any] = {}
    for name, options in choices.items():
        if name == "max_size":
            capped = [o for o in options if o is not None]
            values[name] = max(capped) if capped else None
        elif name in ("timeout", "max_lifetime", "max_idle_time") and None in options:
            values[name] = None
        elif getattr(default, name) in options:
            values[name] = getattr(default, name)
        else:
            values[name] = options[0]
    return model.Config(**values)


def profile_target(name: str) -> Target:
    """A target from a lockstep profile (our front doors, SQLAlchemy, DBUtils).

    Raises:
        ValueError: no profile has this name.
    """
    from ._profiles import PROFILES

    profile = PROFILES.get(name)
    if profile is None:
        raise ValueError(f"unknown stress target {name!r}; known: {', '.join(target_names())}")
    config = _profile_config(profile.configs[0])
    factory = None
    if profile.default:
        from ._thirdparty import load

        factory = load(profile.default)

    def build(driver: RecordingDriver, recorder: Any) -> Any:
        del recorder
        return profile.build(factory, config, driver, None)

    return Target(name, config, profile.adapter, build)


def target_names() -> list[str]:
    """Every target name :func:`make_target` knows."""
    from ._profiles import PROFILES

    return ["poolspec", *(n for n in PROFILES if n != "poolspec")]


def make_target(name: str) -> Target:
    """The target of this name (``poolspec`` is the engine with a :class:`WaitRecorder`).

    Raises:
        ValueError: an unknown name.
    """
    if name == "poolspec":
        return engine_target()
    return profile_target(name)


# -- recording the pool's waits ----------------------------------------------------------


class _RecordingCondition:
    """A ``threading.Condition`` that numbers its notifications and notes their instants.

    Notifications come from the pool's critical sections (the pool lock
    held); the last few are kept, as (number, instant).
    """

    # Far more than a slot is reused between a hand-off and its waiter reading
    # the instant; one no longer kept reads as unknown, never as another's.
    KEPT = 64

    def __init__(self, lock: Any, *, slot: bool) -> None:
        self._cond = threading.Condition(lock)
        self.slot = slot  # made for a wait slot, during an acquire (not the connect gate)
        self.count = 0  # notifications so far
        self.log: deque[tuple[int, int]] = deque(maxlen=self.KEPT)

    def wait(self, timeout: float | None = None) -> bool:
        return self._cond.wait(timeout)

    def notify(self, n: int = 1) -> None:
        self._note()
        self._cond.notify(n)

    def notify_all(self) -> None:
        self._note()
        self._cond.notify_all()

    def _note(self) -> None:
        self.count += 1
        self.log.append((self.count, time.monotonic_ns()))

    def instant(self, number: int) -> int | None:
        """When notification ``number`` came; None if not yet, or no longer kept."""
        return next((t for n, t in tuple(self.log) if n == number), None)

    def __enter__(self) -> bool:
        return self._cond.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._cond.__exit__(*exc)


class WaitRecorder:
    """The pool's ``Sync`` and ``Clock`` seams, noting when each acquire queued and was served.

    Both instants are taken inside the pool's critical sections, so they are
    exact linearization hints (see ``HistoryOp.queued``):

    * queued: our engine reads its clock under its lock when it queues a
      waiter (the start of its wait); the first clock read by the acquiring
      thread during an acquire that waited is that instant;
    * served: the engine resolves a wait under its lock and notifies the
      condition of the waiter's slot there, once; the first notification of
      that condition from when the acquire took the slot is that instant.

    The engine reuses a finished wait's slot, with its condition, for the
    next wait of any thread, so a condition is not a thread's, and its next
    holder may be resolved before this acquire reads its own instant. The
    acquire's slot is the one whose condition it made (a new slot: its first
    notification is this wait's) or blocked on (the notification after those
    made by then is this wait's: nobody resolves a wait twice). A waiter on
    a reused slot resolved before it blocked shows neither, and is recorded
    with neither instant (unknown, as if it had not waited: weaker, never
    wrong).

    Only for FIFO hand-off: a barging waiter may be notified, lose the race
    and queue again.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    # -- Sync --

    def lock(self) -> Any:
        """A plain ``threading.Lock``."""
        return threading.Lock()

    def condition(self, lock: Any) -> Any:
        """A recording condition on ``lock``; made during an acquire, the acquire's slot's."""
        watching = getattr(self._local, "watching", False)
        cond = _RecordingCondition(lock, slot=watching)
        if watching:
            self._local.cond, self._local.before = cond, 0
        return cond

    # -- Clock --

    def now(self) -> float:
        """Real monotonic time, noting the calling thread's first read during an acquire."""
        if getattr(self._local, "watching", False) and self._local.first is None:
            self._local.first = time.monotonic_ns()
        return time.monotonic()

    def wait(self, cond: Any, timeout: float | None) -> None:
        """Wait on ``cond`` for at most ``timeout`` real seconds, noting the acquire's slot.

        Called with the pool lock held, while the slot is unresolved.
        """
        local = self._local
        watched = getattr(local, "watching", False) and getattr(cond, "slot", False)
        if watched and local.cond is not cond:  # its first block in this acquire
            local.cond, local.before = cond, cond.count
        cond.wait(timeout)

    # -- the worker's side --

    def start(self) -> None:
        """Begin watching the calling thread (just before it calls acquire)."""
        self._local.watching = True
        self._local.first = None
        self._local.cond = None

    def waits(self) -> tuple[int | None, int | None]:
        """(queued, served) of the calling thread's acquire since :meth:`start`."""
        local = self._local
        local.watching = False
        cond: _RecordingCondition | None = getattr(local, "cond", None)
        first: int | None = getattr(local, "first", None)
        if cond is None or first is None:
            return None, None  # it never waited, or not on a slot it can tell
        return first, cond.instant(local.before + 1)


# -- the run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StressOptions:
    """How hard and how long to stress.

    Attributes:
        threads: worker threads (actors).
        ops: stop after this many operations in all (None: only ``seconds``).
        seconds: stop after this many seconds (None: only ``ops``).
        faults: the chance that a step is a fault rather than an operation.
        seed: the random seed (each thread draws from its own generator).
        window: how many operations, from the start, the linearizability
            check covers (0: none).
        max_states: the linearizability search budget, in states.
        max_seconds: the linearizability search budget, in seconds.
        real_driver: wrap real sqlite3 connections, not the fake driver.
        switch_interval: the interpreter's thread switch interval during the
            run, in seconds (``sys.setswitchinterval``; None: leave it). The
            default of 5 ms lets a thread run hundreds of pool operations
            before another runs; a short interval makes them interleave.
    """

    threads: int = 16
    ops: int | None = 2000
    seconds: float | None = 10.0
    faults: float = 0.02
    seed: int = 0
    window: int = 300
    max_states: int = 200_000
    max_seconds: float = 20.0
    real_driver: bool = False
    switch_interval: float | None = 1e-5

    def __post_init__(self) -> None:
        if not 1 <= self.threads <= 256:
            raise ValueError(f"threads must be in 1..256, got {self.threads}")
        if self.ops is None and self.seconds is None:
            raise ValueError("give ops or seconds (or both): a stress run must stop by itself")
        if self.ops is not None and self.ops < 1:
            raise ValueError(f"ops must be >= 1, got {self.ops}")
        if self.seconds is not None and self.seconds <= 0:
            raise ValueError(f"seconds must be > 0, got {self.seconds}")
        if not 0.0 <= self.faults <= 1.0:
            raise ValueError(f"faults must be a rate in 0..1, got {self.faults}")
        if self.window < 0:
            raise ValueError(f"window must be >= 0, got {self.window}")


@dataclass
class StressReport:
    """What a stress run found.

    Attributes:
        target: the target's name.
        config: the model configuration it was built to.
        threads: worker threads.
        ops: operations done (faults not included).
        seconds: how long the threads ran.
        faults: faults injected, by kind.
        expected: refusals surfaced, by refusal.
        unexpected: errors that are not refusals the operation may give.
        violations: invariant violations seen during or after the run.
        leaks: driver connections still open after the pool was closed.
        linear: the linearizability verdict, if checked.
        window: how many operations it covered.
        overtakings: FIFO violations, if the fairness check applied.
        fifo_checked: whether the fairness check applied.
        history: the recorded history.
    """

    target: str
    config: model.Config
    threads: int
    ops: int = 0
    seconds: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    expected: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    leaks: list[int] = field(default_factory=list)
    linear: LinearResult | None = None
    window: int = 0
    overtakings: tuple[Overtaking, ...] = ()
    fifo_checked: bool = False
    history: list[HistoryOp] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Whether anything broke (an unknown linearizability verdict is not a failure)."""
        return bool(
            self.unexpected
            or self.violations
            or self.leaks
            or self.overtakings
            or (self.linear is not None and self.linear.verdict == "violation")
        )

    @property
    def verdict(self) -> str:
        """``fail``, ``pass``, or ``pass (linearizability unknown)``."""
        if self.failed:
            return "fail"
        if self.linear is not None and self.linear.verdict == "unknown":
            return "pass (linearizability unknown)"
        return "pass"


# Refusals each operation may surface without anything being wrong.
_EXPECTED: dict[OpKind, frozenset[Refusal]] = {
    OpKind.ACQUIRE: frozenset(
        {
            Refusal.TIMEOUT,
            Refusal.EXHAUSTED,
            Refusal.CONNECT_FAILED,
            Refusal.TOO_MANY_WAITERS,
        }
    ),
    OpKind.WORK: frozenset({Refusal.CONNECTION_LOST}),
    OpKind.RELEASE: frozenset(),
    OpKind.INVALIDATE: frozenset(),
    OpKind.DETACH: frozenset(),
}


class _Run:
    """The shared state of one stress run."""

    def __init__(self, target: Target, options: StressOptions, progress: Progress | None) -> None:
        import sqlite3

        self.target = target
        self.options = options
        self.progress = progress
        self.driver = RecordingDriver(sqlite3 if options.real_driver else None)
        self.sync = WaitRecorder()
        self.pool = target.build(self.driver, self.sync)
        self.adapter = target.adapter
        self.report = StressReport(target.name, target.config, options.threads)
        self.guard = threading.Lock()  # guards everything below
        self.count = 0
        self.held: dict[int, int] = {}  # driver connection -> holder
        self.detached: set[int] = set()
        self.histories: list[list[HistoryOp]] = [[] for _ in range(options.threads)]
        self.stop_at = None if options.seconds is None else time.monotonic() + options.seconds

    # -- bookkeeping, under the guard ----------------------------------------------

    def next_op(self) -> bool:
        with self.guard:
            if self.options.ops is not None and self.count >= self.options.ops:
                return False
            self.count += 1
            if self.progress is not None and self.count % 1000 == 0:
                self.progress(f"{self.count:,} operations")
        return self.stop_at is None or time.monotonic() < self.stop_at

    def violation(self, text: str) -> None:
        with self.guard:
            self.report.violations.append(text)

    def surfaced(self, kind: OpKind, actor: int, exc: BaseException) -> Refusal | None:
        """Classify an exception: the expected refusal it is, or None (counted as unexpected)."""
        refusal = self.adapter.refusal(exc, self.driver)
        if kind is OpKind.ACQUIRE and refusal is Refusal.CONNECTION_LOST:
            refusal = Refusal.CONNECT_FAILED  # the driver's error from a connect
        with self.guard:
            if refusal is not None and refusal in _EXPECTED.get(kind, frozenset()):
                self.report.expected[f"{kind.value}: {refusal.value}"] += 1
                return refusal
            self.report.unexpected.append(f"a{actor} {kind.value}: {type(exc).__name__}: {exc}")
        return None

    def took(self, actor: int, conn: int) -> None:
        """An acquire returned ``conn``: the continuous invariants."""
        if self.driver.connection(conn).closed:
            self.violation(f"a{actor} was handed driver #{conn}, which is closed")
        with self.guard:
            other = self.held.get(conn)
            if other is not None and not self.target.config.shared:
                self.report.violations.append(
                    f"EXCL-1: a{actor} was handed driver #{conn} while a{other} holds it"
                )
            self.held[conn] = actor
        self.check_cap()

    def check_cap(self) -> None:
        """CAP-1 on one snapshot: the driver's open connections less the detached ones.

        Both are read under the guard, so no thread detaches or forgets a
        detached connection in between. Read apart, a detach and the connect
        in the slot it freed could fall between the two reads: the new
        connection counted as open, the detached one not yet as detached,
        one over the cap that never was. A connection enters ``detached``
        before its detach call and leaves it after it is closed, so the
        snapshot never counts a pooled connection as detached.
        """
        cap = self.target.config.max_size
        if cap is None:
            return
        with self.guard:
            open_now = self.driver.open_connections()
            detached = len(self.detached & open_now)
        if len(open_now) - detached > cap:
            self.violation(
                f"CAP-1: {len(open_now)} driver connections open "
                f"({detached} detached) with max_size={cap}"
            )

    def let_go(self, actor: int, conn: int | None) -> None:
        with self.guard:
            if conn is not None and self.held.get(conn) == actor:
                del self.held[conn]


class _Worker:
    """One actor: a thread doing random operations on the pool."""

    def __init__(self, run: _Run, actor: int) -> None:
        self.run = run
        self.actor = actor
        self.rng = random.Random(run.options.seed * 1_000_003 + actor)
        self.handle: Any = None
        self.conn: int | None = None
        self.detached = False
        self.history = run.histories[actor]
        self.thread = threading.Thread(
            target=self.main, name=f"poolspec-stress-{actor}", daemon=True
        )

    def main(self) -> None:
        run = self.run
        try:
            while run.next_op():
                if self.rng.random() < run.options.faults:
                    self.fault()
                elif self.handle is None:
                    self.acquire()
                else:
                    self.use()
            if self.handle is not None:
                self.release()
            run.adapter.end_thread(run.pool)
        except BaseException as exc:  # noqa: BLE001 - a crashed worker is reported, not lost
            with run.guard:
                run.report.unexpected.append(f"a{self.actor} crashed: {type(exc).__name__}: {exc}")

    def record(self, kind: OpKind, start: int, result: model.Result | None, **extra: Any) -> None:
        self.history.append(
            HistoryOp(
                self.actor if kind not in (OpKind.KILL, OpKind.FAIL_CONNECT) else None,
                kind,
                start,
                time.monotonic_ns(),
                result,
                **extra,
            )
        )

    # -- operations ----------------------------------------------------------------------

    def acquire(self) -> None:
        run = self.run
        run.sync.start()
        start = time.monotonic_ns()
        try:
            handle = run.adapter.acquire(run.pool)
        except Exception as exc:  # noqa: BLE001 - every refusal is classified
            end = time.monotonic_ns()
            queued, served = run.sync.waits()
            self.fail(OpKind.ACQUIRE, start, end, exc, queued=queued, served=served)
            return
        end = time.monotonic_ns()
        queued, served = run.sync.waits()
        conn = _raw_id(handle)
        if conn is None:
            run.violation(f"a{self.actor}: cannot find the driver connection behind {handle!r}")
            run.adapter.release(run.pool, handle)
            return
        self.handle, self.conn, self.detached = handle, conn, False
        timeout = self.timeout_ns()
        self.history.append(
            HistoryOp(
                self.actor,
                OpKind.ACQUIRE,
                start,
                end,
                model.got(conn),
                timeout=timeout,
                queued=queued,
                served=served,
            )
        )
        run.took(self.actor, conn)

    def timeout_ns(self) -> int | None:
        config = getattr(self.run.pool, "config", None)
        seconds = getattr(config, "timeout", None)
        return None if not isinstance(seconds, float | int) else int(seconds * 1e9)

    def fail(
        self,
        kind: OpKind,
        start: int,
        end: int,
        exc: BaseException,
        **extra: Any,
    ) -> None:
        run = self.run
        refusal = run.surfaced(kind, self.actor, exc)
        if refusal is not None:
            result: model.Result | None = model.refused(refusal)
            error = None
        else:
            result, error = None, f"{type(exc).__name__}: {exc}"
        if kind is OpKind.ACQUIRE:
            extra.setdefault("timeout", self.timeout_ns())
        self.history.append(HistoryOp(self.actor, kind, start, end, result, error=error, **extra))

    def use(self) -> None:
        supports = self.run.adapter.supports
        roll = self.rng.random()
        if roll < 0.45:
            self.release()
        elif roll < 0.75:
            self.work()
        elif roll < 0.85:
            self.raise_in_holder()
        elif roll < 0.93 and OpKind.INVALIDATE in supports and not self.detached:
            self.invalidate()
        elif OpKind.DETACH in supports and not self.detached and not self.run.target.config.shared:
            self.detach()
        else:
            self.work()

    def work(self) -> None:
        start = time.monotonic_ns()
        try:
            self.run.adapter.execute(self.handle, WORK_SQL)
        except Exception as exc:  # noqa: BLE001 - every refusal is classified
            self.fail(OpKind.WORK, start, time.monotonic_ns(), exc)
            return
        self.record(OpKind.WORK, start, model.OK)

    def _drop_hold(self) -> None:
        self.run.let_go(self.actor, self.conn)
        self.handle, self.conn, self.detached = None, None, False

    def release(self) -> None:
        run = self.run
        conn, detached = self.conn, self.detached
        handle = self.handle
        self._drop_hold()
        start = time.monotonic_ns()
        try:
            run.adapter.release(run.pool, handle)
        except Exception as exc:  # noqa: BLE001 - every refusal is classified
            self.fail(OpKind.RELEASE, start, time.monotonic_ns(), exc)
            return
        self.record(OpKind.RELEASE, start, model.OK)
        if detached and conn is not None:
            with run.guard:
                run.detached.discard(conn)

    def raise_in_holder(self) -> None:
        """The holder's work raises inside ``with handle:``; leaving the block gives it back."""
        run = self.run
        handle = self.handle
        if not hasattr(handle, "__exit__"):
            self.release()
            return
        self._drop_hold()
        start = time.monotonic_ns()
        try:
            with handle:
                _holder_work()
        except HolderError:
            pass
        except Exception as exc:  # noqa: BLE001 - every refusal is classified
            self.fail(OpKind.RELEASE, start, time.monotonic_ns(), exc)
            return
        with run.guard:
            run.report.faults["holder raised"] += 1
        self.record(OpKind.RELEASE, start, model.OK)

    def invalidate(self) -> None:
        run = self.run
        handle = self.handle
        self._drop_hold()
        start = time.monotonic_ns()
        try:
            run.adapter.invalidate(run.pool, handle, False)
        except Exception as exc:  # noqa: BLE001 - every refusal is classified
            self.fail(OpKind.INVALIDATE, start, time.monotonic_ns(), exc)
            return
        self.record(OpKind.INVALIDATE, start, model.OK)

    def detach(self) -> None:
        run = self.run
        assert self.conn is not None
        with run.guard:
            run.detached.add(self.conn)  # before the call: a kill never picks it after this
        start = time.monotonic_ns()
        try:
            run.adapter.detach(self.handle)
        except Exception as exc:  # noqa: BLE001 - every refusal is classified
            self.fail(OpKind.DETACH, start, time.monotonic_ns(), exc)
            return
        self.detached = True
        self.record(OpKind.DETACH, start, model.OK)

    # -- faults ----------------------------------------------------------------------------

    def fault(self) -> None:
        run = self.run
        start = time.monotonic_ns()
        if self.rng.random() < 0.5:
            run.driver.fail_next_connects(1)
            self.record(OpKind.FAIL_CONNECT, start, model.OK)
            with run.guard:
                run.report.faults["connect refused"] += 1
            return
        with run.guard:
            candidates = sorted(run.driver.open_connections() - run.detached)
        if not candidates:
            return
        victim = self.rng.choice(candidates)
        run.driver.kill(victim)
        self.record(OpKind.KILL, start, model.OK, conn=victim)
        with run.guard:
            run.report.faults["connection killed"] += 1


def run_stress(
    target: Target | str, options: StressOptions | None = None, progress: Progress | None = None
) -> StressReport:
    """Stress one pool with many threads, then check what it did.

    Args:
        target: a :class:`Target` or a target name (see :func:`target_names`).
        options: how hard and how long (defaults: ``StressOptions()``).
        progress: called with a line now and then (e.g. print to stderr).

    Returns:
        The report; ``report.failed`` says whether anything broke.

    Raises:
        ValueError: an unknown target name.
    """
    if isinstance(target, str):
        target = make_target(target)
    options = options or StressOptions()
    run = _Run(target, options, progress)
    report = run.report
    workers = [_Worker(run, a) for a in range(options.threads)]
    before = sys.getswitchinterval()
    if options.switch_interval is not None:
        sys.setswitchinterval(options.switch_interval)
    started = time.monotonic()
    limit = (options.seconds or 0.0) + JOIN_SECONDS
    try:
        for w in workers:
            w.thread.start()
        for w in workers:
            w.thread.join(max(0.0, started + limit - time.monotonic()))
    finally:
        sys.setswitchinterval(before)
    report.seconds = time.monotonic() - started
    stuck = [w.actor for w in workers if w.thread.is_alive()]
    if stuck:
        report.violations.append(
            f"threads still running {limit:.0f} s after the start (deadlock?): "
            + ", ".join(f"a{a}" for a in stuck)
        )
    report.ops = run.count
    report.history = sorted((op for h in run.histories for op in h), key=lambda o: o.invoked)
    if not stuck:
        _finish(run)
    _check_history(run, progress)
    return report


def _finish(run: _Run) -> None:
    """Close the pool; nothing may stay open, and our engine's statistics must add up."""
    import impl

    report, pool, driver = run.report, run.pool, run.driver
    stats = pool.stats() if isinstance(pool, impl.Pool) else None
    if stats is not None:
        if stats.idle + stats.in_use != stats.open:
            report.violations.append(f"STAT-1: idle + in_use != open in {stats}")
        if stats.waiting or stats.in_use:
            report.violations.append(f"after the run nothing is in use or waiting, got {stats}")
        if stats.created != driver.connects:
            report.violations.append(
                f"stats.created={stats.created} but the driver saw {driver.connects} connects"
            )
        if stats.failed_connects != driver.failed_connects:
            report.violations.append(
                f"stats.failed_connects={stats.failed_connects} but the driver saw "
                f"{driver.failed_connects} failed connects"
            )
    try:
        run.adapter.close(pool)
    except Exception as exc:  # noqa: BLE001 - reported, and the leak check still runs
        report.unexpected.append(f"closing the pool: {type(exc).__name__}: {exc}")
    report.leaks = sorted(driver.open_connections())
    if isinstance(pool, impl.Pool):
        after = pool.stats()
        if after.open:
            report.violations.append(f"CLOSE-1: {after.open} still open after close: {after}")
    driver.close_all()


def _check_history(run: _Run, progress: Progress | None) -> None:
    report, options = run.report, run.options
    history = report.history
    if options.window and history:
        window = history
        if len(history) > options.window:
            window = prefix(history, history[options.window - 1].invoked)
        report.window = len(window)
        if progress is not None:
            progress(f"checking linearizability of {len(window)} operations")
        report.linear = check_history(
            run.target.config,
            window,
            actors=options.threads,
            max_states=options.max_states,
            max_seconds=options.max_seconds,
        )
    if run.target.fifo:
        report.fifo_checked = True
        report.overtakings = check_fifo(history)


def _holder_work() -> None:
    raise HolderError("injected: the holder's work failed")


# -- the report --------------------------------------------------------------------------


def format_stress(report: StressReport) -> str:
    """The report as text for a person."""
    lines = [
        f"stress {report.target}: {report.verdict}",
        f"  {report.threads} threads, {report.ops:,} operations in {report.seconds:.2f} s",
        "  faults injected: " + (_counts(report.faults) or "none"),
        "  expected refusals: " + (_counts(report.expected) or "none"),
        f"  unexpected errors: {len(report.unexpected)}",
    ]
    lines.extend(f"    {e}" for e in report.unexpected[:SHOWN])
    lines.append(f"  invariant violations: {len(report.violations)}")
    lines.extend(f"    {v}" for v in report.violations[:SHOWN])
    lines.append(
        "  leaks after close: "
        + (", ".join(f"driver #{c}" for c in report.leaks) if report.leaks else "none")
    )
    if report.linear is None:
        lines.append("  linearizability: not checked")
    else:
        lines.append(f"  on the first {report.window} operations:")
        lines.extend("  " + line for line in format_result(report.linear).splitlines())
    if report.fifo_checked:
        lines.append(f"  FIFO hand-off: {len(report.overtakings)} overtakings")
        lines.extend(f"    {o.why}" for o in report.overtakings[:SHOWN])
    else:
        lines.append("  FIFO hand-off: not promised or not observable, not checked")
    return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {what}" for what, n in sorted(counter.items()))


def stress_json(report: StressReport) -> dict[str, Any]:
    """The report as JSON-ready data."""
    linear = report.linear
    return {
        "target": report.target,
        "verdict": report.verdict,
        "threads": report.threads,
        "ops": report.ops,
        "seconds": round(report.seconds, 3),
        "faults": dict(report.faults),
        "expected": dict(report.expected),
        "unexpected": report.unexpected,
        "violations": report.violations,
        "leaks": report.leaks,
        "linearizability": None
        if linear is None
        else {
            "verdict": linear.verdict,
            "window": report.window,
            "visited": linear.visited,
            "seconds": round(linear.seconds, 3),
            "message": linear.message,
            "stuck": list(linear.stuck),
        },
        "fifo": None
        if not report.fifo_checked
        else [{"earlier": o.earlier, "later": o.later, "why": o.why} for o in report.overtakings],
    }
