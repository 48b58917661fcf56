"""Race runs: scenarios of threads driving a pool under the controlled scheduler.

A :class:`Scenario` is a small program: a list of threads, each a list of
:class:`Op` (acquire, release, invalidate, kill the held connection, arm a
failing or interrupted connect, close the pool, sleep virtual time). A run
builds a fresh pool of the target around the recording driver (fake mode),
runs the scenario's threads under a :class:`~spec._sched.Scheduler`, and
checks the spec's invariants on what the driver and the borrowers see:

1. After every step: no more driver connections open than the cap (CAP-1),
   and a connection held by at most one borrower (EXCL-1); a checkout never
   returns a closed connection (CAP-5).
2. When every live thread is blocked and time must advance: no borrower
   waits in ``acquire`` while fewer than the cap are held (WAIT-3).
3. At the end: the pool's own counters add up to what the driver shows with
   nothing held (CAP-5, STAT-1); a probe thread can still check out the full
   cap (no slot leaked); closing the pool closes every connection (CLOSE-1).

Every run keeps its choices (a replayable schedule), a readable trace, and a
history of operations (invocation and response on the run's logical clock)
for a linearizability check.
"""

from __future__ import annotations

import contextlib
import logging
import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, final

from ._driver import RecordingConnection, RecordingDriver
from ._sched import (
    PCT,
    Finding,
    Outcome,
    PreemptionBounded,
    RandomWalk,
    Recording,
    Replay,
    Scheduler,
    Strategy,
    TraceStep,
    _Abort,
    substitute,
)

#: Strategy names, as the CLI spells them.
STRATEGIES = ("random", "pct", "exhaustive")


class ConnectInterrupted(BaseException):
    """A ``BaseException`` raised inside a connect, as an interrupt or a green-thread timeout."""


class UnsupportedError(Exception):
    """The target cannot run an operation of the scenario."""


# -- scenarios -----------------------------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class Op:
    """One operation of a scenario thread.

    Attributes:
        name: ``acquire``, ``release``, ``invalidate``, ``kill``,
            ``fail_next_connect``, ``interrupt_next_connect``, ``close_pool`` or ``sleep``.
        seconds: the virtual seconds of a ``sleep``.
    """

    name: str
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in OP_NAMES:
            raise ValueError(f"unknown op {self.name!r}; known: {', '.join(sorted(OP_NAMES))}")
        if self.seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {self.seconds!r}")

    def __str__(self) -> str:
        return f"sleep({self.seconds:g})" if self.name == "sleep" else self.name


OP_NAMES = frozenset(
    {
        "acquire",
        "release",
        "invalidate",
        "kill",
        "fail_next_connect",
        "interrupt_next_connect",
        "close_pool",
        "sleep",
    }
)

ACQUIRE = Op("acquire")
#: The result recorded for a release, invalidate or kill by a thread holding nothing.
NOTHING_HELD = "nothing held"
RELEASE = Op("release")


def sleep(seconds: float) -> Op:
    """A ``sleep`` of ``seconds`` virtual seconds."""
    return Op("sleep", seconds)


@final
@dataclass(frozen=True, slots=True)
class Scenario:
    """A small concurrent program against a pool.

    Attributes:
        name: how the CLI and the docs call it.
        description: one sentence: what race it sets up.
        threads: each thread's operations, in order; handles still held at
            a thread's end are released.
        max_size: the pool's cap.
        timeout: seconds every ``acquire`` waits at most (None: forever;
            pools without a timeout wait forever anyway).
        reset_listener: add a listener on ``reset`` that calls into the pool
            (``stats()``); only pools with such events run it.
        pool_options: more ``PoolConfig`` fields for poolspec's pool, by name
            (enum fields by their value: ``("fairness", "barging")``); the
            third-party targets skip such scenarios.
    """

    name: str
    description: str
    threads: tuple[tuple[Op, ...], ...]
    max_size: int = 1
    timeout: float | None = 1.0
    reset_listener: bool = False
    pool_options: tuple[tuple[str, str | int], ...] = ()

    def __post_init__(self) -> None:
        if not self.threads:
            raise ValueError(f"scenario {self.name!r} has no thread")
        if self.max_size < 1:
            raise ValueError(f"max_size must be >= 1, got {self.max_size!r}")

    def ops(self) -> frozenset[str]:
        """Every op name the scenario uses."""
        return frozenset(op.name for ops in self.threads for op in ops)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "handoff",
            "two threads, one slot: one waits (timeout 1 s) while the other gives back",
            ((ACQUIRE, RELEASE), (ACQUIRE, RELEASE)),
        ),
        Scenario(
            "contend",
            "three threads, two slots: two connect at once while the third waits",
            ((ACQUIRE, RELEASE),) * 3,
            max_size=2,
            timeout=5.0,
        ),
        Scenario(
            "failed-connect",
            "one thread holds a connection; another's connect fails while a third waits",
            (
                (ACQUIRE, sleep(10), RELEASE),
                (sleep(1), Op("fail_next_connect"), ACQUIRE, RELEASE),
                (sleep(1), ACQUIRE, RELEASE),
            ),
            max_size=2,
            timeout=5.0,
        ),
        Scenario(
            "interrupted-connect",
            "a connect raises a BaseException (an interrupt) while another thread checks out",
            ((Op("interrupt_next_connect"), ACQUIRE, RELEASE), (ACQUIRE, RELEASE)),
        ),
        Scenario(
            "reset-listener",
            "a listener on reset calls into the pool while two threads share one slot",
            ((ACQUIRE, RELEASE), (ACQUIRE, RELEASE)),
            reset_listener=True,
        ),
        Scenario(
            "barging",
            "three threads, one slot, barging wake-ups: woken waiters compete with newcomers",
            ((ACQUIRE, RELEASE),) * 3,
            timeout=2.0,
            pool_options=(("fairness", "barging"),),
        ),
        Scenario(
            "max-connecting",
            "one connect at a time (max_connecting=1): a failing connect while others queue",
            (
                (Op("fail_next_connect"), ACQUIRE, RELEASE),
                (ACQUIRE, RELEASE),
                (ACQUIRE, RELEASE),
            ),
            max_size=2,
            timeout=2.0,
            pool_options=(("max_connecting", 1),),
        ),
        Scenario(
            "invalidate-kill",
            "a killed connection is given back and another invalidated while a third waits",
            ((ACQUIRE, Op("kill"), RELEASE), (ACQUIRE, Op("invalidate")), (ACQUIRE, RELEASE)),
            max_size=2,
            timeout=2.0,
        ),
        Scenario(
            "close",
            "the pool is closed while one thread holds its only connection and another waits",
            ((ACQUIRE, RELEASE), (ACQUIRE, RELEASE), (Op("close_pool"),)),
            timeout=2.0,
        ),
    )
}


# -- targets -------------------------------------------------------------------------


class RaceTarget(Protocol):
    """How a race run builds and drives one kind of pool."""

    name: str

    def supports(self, scenario: Scenario) -> str | None:
        """None if the target can run ``scenario``, else why not."""

    def build(self, sched: Scheduler, driver: RecordingDriver, scenario: Scenario) -> Any:
        """A new pool of ``scenario.max_size`` around ``driver`` (primitives already managed)."""

    def acquire(self, pool: Any) -> Any:
        """Check out a handle (waits as configured)."""

    def release(self, pool: Any, handle: Any) -> None:
        """Give a handle back."""

    def invalidate(self, pool: Any, handle: Any) -> None:
        """Invalidate a handle's connection."""

    def raw(self, handle: Any) -> RecordingConnection:
        """The driver connection behind a handle."""

    def close(self, pool: Any) -> None:
        """Close the pool (or the nearest the pool has)."""

    def accounting(self, pool: Any, driver: RecordingDriver) -> list[str]:
        """What does not add up once nothing is held (empty: all accounted for)."""


@final
class OurTarget:
    """poolspec's own pool, ``impl.Pool``, on the scheduler's ``Clock`` and ``Sync`` seams."""

    name = "poolspec"

    def __init__(self, factory: Any = None) -> None:
        """Build ``factory`` (default ``impl.Pool``, looked up at build time so patches apply)."""
        self.factory = factory

    def supports(self, scenario: Scenario) -> str | None:
        """Every scenario runs."""
        del scenario
        return None

    def build(self, sched: Scheduler, driver: RecordingDriver, scenario: Scenario) -> Any:
        """An ``impl.Pool`` with the scheduler's clock and sync, and the scenario's options."""
        import impl

        enums: dict[str, Callable[[Any], Any]] = {
            "fairness": impl.Fairness,
            "idle_order": impl.IdleOrder,
            "reset": impl.ResetMode,
            "ping": impl.Ping,
        }
        options: dict[str, Any] = {
            name: enums[name](value) if name in enums else value
            for name, value in scenario.pool_options
        }
        factory = impl.Pool if self.factory is None else self.factory
        pool = factory(
            driver.connect,
            max_size=scenario.max_size,
            timeout=scenario.timeout,
            clock=sched.clock(),
            sync=sched.sync(),
            **options,
        )
        if scenario.reset_listener:
            pool.add_listener("reset", lambda p, raw: p.stats())
        return pool

    def acquire(self, pool: Any) -> Any:
        """``pool.acquire()``."""
        return pool.acquire()

    def release(self, pool: Any, handle: Any) -> None:
        """``handle.close()``."""
        del pool
        handle.close()

    def invalidate(self, pool: Any, handle: Any) -> None:
        """``handle.invalidate()``."""
        del pool
        handle.invalidate()

    def raw(self, handle: Any) -> RecordingConnection:
        """``handle.raw``."""
        raw: RecordingConnection = handle.raw
        return raw

    def close(self, pool: Any) -> None:
        """``pool.close()``."""
        pool.close()

    def accounting(self, pool: Any, driver: RecordingDriver) -> list[str]:
        """``stats()`` against the driver: nothing in use or waiting, open == driver's open."""
        s = pool.stats()
        problems = []
        if s.idle + s.in_use != s.open:
            problems.append(f"STAT-1: idle {s.idle} + in_use {s.in_use} != open {s.open}")
        if s.in_use or s.waiting:
            problems.append(
                f"CAP-5: {s.in_use} connection(s) in use and {s.waiting} waiting "
                "after every borrower gave back"
            )
        driver_open = len(driver.open_connections())
        if s.open != driver_open:
            problems.append(
                f"CAP-5: the pool accounts for {s.open} connection(s), the driver has "
                f"{driver_open} open"
            )
        return problems


@final
class SQLAlchemyTarget:
    """SQLAlchemy's ``QueuePool`` (pool_size 1, the rest of the cap as overflow)."""

    name = "sqlalchemy.pool:QueuePool"

    def __init__(self, factory: Any = None) -> None:
        """Build ``factory`` (default ``sqlalchemy.pool.QueuePool``)."""
        self.factory = factory

    def supports(self, scenario: Scenario) -> str | None:
        """Everything but a reset listener calling into the pool, or poolspec's options."""
        if scenario.reset_listener:
            return "the reset-listener scenario is written for poolspec's listener API"
        if scenario.pool_options:
            return "the scenario sets poolspec's own pool options"
        return None

    def build(self, sched: Scheduler, driver: RecordingDriver, scenario: Scenario) -> Any:
        """A ``QueuePool`` built inside :func:`substitute` (its queue's primitives are managed)."""
        del sched
        logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)
        factory = self.factory
        if factory is None:
            from sqlalchemy.pool import QueuePool

            factory = QueuePool
        return factory(
            driver.connect,
            pool_size=1,
            max_overflow=scenario.max_size - 1,
            timeout=scenario.timeout,
            reset_on_return="rollback",
        )

    def acquire(self, pool: Any) -> Any:
        """``pool.connect()``."""
        return pool.connect()

    def release(self, pool: Any, handle: Any) -> None:
        """``fairy.close()``."""
        del pool
        handle.close()

    def invalidate(self, pool: Any, handle: Any) -> None:
        """``fairy.invalidate()``."""
        del pool
        handle.invalidate()

    def raw(self, handle: Any) -> RecordingConnection:
        """``fairy.dbapi_connection``."""
        raw: RecordingConnection = handle.dbapi_connection
        return raw

    def close(self, pool: Any) -> None:
        """``pool.dispose()``: SQLAlchemy pools have no close."""
        pool.dispose()

    def accounting(self, pool: Any, driver: RecordingDriver) -> list[str]:
        """``checkedout()`` is 0 and ``checkedin()`` matches the driver's open connections."""
        problems = []
        if pool.checkedout() != 0:
            problems.append(
                f"CAP-5: checkedout() is {pool.checkedout()} after every borrower gave back "
                f"({pool.status()})"
            )
        # a record whose connection was invalidated stays queued with none, to
        # reconnect lazily: count the queued records that hold a connection
        queued = sum(1 for rec in pool._pool.queue if rec.dbapi_connection is not None)
        driver_open = len(driver.open_connections())
        if queued != driver_open:
            problems.append(
                f"CAP-5: {queued} connection(s) queued, the driver has {driver_open} open"
            )
        return problems


@final
class DBUtilsTarget:
    """DBUtils' ``PooledDB`` (blocking, dedicated connections, maxcached = maxconnections = cap)."""

    name = "dbutils.pooled_db:PooledDB"

    def __init__(self, factory: Any = None) -> None:
        """Build ``factory`` (default ``dbutils.pooled_db.PooledDB``)."""
        self.factory = factory

    def supports(self, scenario: Scenario) -> str | None:
        """No invalidate (DBUtils handles have none), no reset listener."""
        if "invalidate" in scenario.ops():
            return "DBUtils handles cannot be invalidated"
        if scenario.reset_listener:
            return "DBUtils has no listeners"
        if scenario.pool_options:
            return "the scenario sets poolspec's own pool options"
        return None

    def build(self, sched: Scheduler, driver: RecordingDriver, scenario: Scenario) -> Any:
        """A ``PooledDB`` built inside :func:`substitute` (its Condition is managed)."""
        del sched
        factory = self.factory
        if factory is None:
            from dbutils.pooled_db import PooledDB  # type: ignore[import-untyped]

            factory = PooledDB
        return factory(
            driver,
            mincached=0,
            maxcached=scenario.max_size,
            maxshared=0,
            maxconnections=scenario.max_size,
            blocking=True,
            reset=True,
            failures=(driver.OperationalError,),
        )

    def acquire(self, pool: Any) -> Any:
        """``pool.connection()`` (it waits without a timeout)."""
        return pool.connection()

    def release(self, pool: Any, handle: Any) -> None:
        """``handle.close()``."""
        del pool
        handle.close()

    def invalidate(self, pool: Any, handle: Any) -> None:
        """Not supported.

        Raises:
            UnsupportedError: always.
        """
        raise UnsupportedError("DBUtils handles cannot be invalidated")

    def raw(self, handle: Any) -> RecordingConnection:
        """The steady connection's driver connection."""
        raw: RecordingConnection = handle._con._con
        return raw

    def close(self, pool: Any) -> None:
        """``pool.close()``."""
        pool.close()

    def accounting(self, pool: Any, driver: RecordingDriver) -> list[str]:
        """Its in-use counter is 0 and its idle cache matches the driver's open connections."""
        problems = []
        if pool._connections != 0:
            problems.append(
                f"CAP-5: {pool._connections} connection(s) counted in use after every "
                "borrower gave back"
            )
        driver_open = len(driver.open_connections())
        if len(pool._idle_cache) != driver_open:
            problems.append(
                f"CAP-5: {len(pool._idle_cache)} idle, the driver has {driver_open} open"
            )
        return problems


#: The targets the CLI knows by name.
TARGETS: dict[str, Callable[[], RaceTarget]] = {
    "poolspec": OurTarget,
    "impl:Pool": OurTarget,
    "sqlalchemy.pool:QueuePool": SQLAlchemyTarget,
    "dbutils.pooled_db:PooledDB": DBUtilsTarget,
}


def target_for(name: str) -> RaceTarget:
    """The target called ``name``.

    Raises:
        ValueError: an unknown name.
    """
    make = TARGETS.get(name)
    if make is None:
        raise ValueError(f"unknown race target {name!r}; known: {', '.join(TARGETS)}")
    return make()


# -- one run ---------------------------------------------------------------------------


@dataclass(slots=True)
class HistoryEntry:
    """One operation as a borrower saw it, on the run's logical clock (scheduler steps).

    Attributes:
        thread: the scenario thread's name (``t0``...; ``probe`` for the final check).
        op: the operation's name.
        args: its arguments.
        invoked: the step at which it was called.
        responded: the step at which it returned or raised (None: it never did).
        result: what it returned: the driver connection id for ``acquire``.
        error: the exception's class name if it raised.
    """

    thread: str
    op: str
    args: tuple[object, ...]
    invoked: int
    responded: int | None = None
    result: object = None
    error: str | None = None

    def __str__(self) -> str:
        end = "…" if self.responded is None else str(self.responded)
        if self.responded is None:
            outcome = "(no response)"
        else:
            outcome = f"raised {self.error}" if self.error else f"-> {self.result!r}"
        args = ", ".join(map(repr, self.args))
        return f"[{self.invoked}..{end}] {self.thread} {self.op}({args}) {outcome}"


@dataclass(slots=True)
class RunResult:
    """One schedule of one scenario against one target.

    Attributes:
        scenario: the scenario's name.
        target: the target's name.
        choices: the schedule: replay it with ``Replay(choices)``.
        outcome: how the run ended.
        finding: what broke (None: nothing).
        trace: every scheduling step.
        history: every operation, for a linearizability check.
        stopped_at: where each thread still running was when the run stopped early.
    """

    scenario: str
    target: str
    choices: list[int]
    outcome: Outcome
    finding: Finding | None
    trace: list[TraceStep]
    history: list[HistoryEntry]
    stopped_at: list[str]

    @property
    def failed(self) -> bool:
        """Whether a rule broke (or the run deadlocked, livelocked or got stuck)."""
        return self.finding is not None

    def format_trace(self) -> str:
        """The interleaving, one step a line, then the history."""
        lines = [str(step) for step in self.trace]
        if self.finding is not None:
            lines.append(f"  => {self.outcome.value}: {self.finding}")
        if self.stopped_at:
            lines.append("threads still running, and what each waits to do:")
            lines.extend(f"  {where}" for where in self.stopped_at)
        lines.append("history:")
        lines.extend(f"  {entry}" for entry in self.history)
        return "\n".join(lines)


@final
class _Run:
    """The state of one run: the pool, the driver, who holds what, the history."""

    def __init__(self, scenario: Scenario, target: RaceTarget, sched: Scheduler) -> None:
        self.scenario = scenario
        self.target = target
        self.sched = sched
        self.driver = RecordingDriver(None)
        self.interrupts = 0
        self.holders: dict[int, str] = {}
        self.history: list[HistoryEntry] = []
        self.in_acquire: set[str] = set()
        self.closed = False
        self.pool: Any = None
        # every handle not given back, so an aborted thread's unwinding drops none
        self.live: dict[int, Any] = {}
        original = self.driver.connect

        def connect(*args: object, **kwargs: object) -> RecordingConnection:
            sched.point("connect (driver)", outer=1)
            if self.interrupts:
                self.interrupts -= 1
                raise ConnectInterrupted("interrupted inside connect")
            return original(*args, **kwargs)

        # an instance attribute: the pool sees a module whose connect yields first
        setattr(self.driver, "connect", connect)  # noqa: B010 - replacing a bound method on purpose

    # -- checks --

    def check_step(self) -> Finding | None:
        """CAP-1 on the driver's view (EXCL-1 is checked as checkouts return)."""
        open_now = len(self.driver.open_connections())
        if open_now > self.scenario.max_size:
            return Finding(
                "CAP-1",
                f"{open_now} driver connections open, above the cap of {self.scenario.max_size}",
            )
        return None

    def check_quiescent(self) -> Finding | None:
        """WAIT-3: nobody waits in acquire while fewer than the cap are held."""
        if not self.in_acquire:
            return None
        held = len(self.holders)
        if held < self.scenario.max_size:
            who = ", ".join(sorted(self.in_acquire))
            return Finding(
                "WAIT-3",
                f"{who} blocked in acquire at t={self.sched.now:g} while only {held} of "
                f"{self.scenario.max_size} connections are held: a lost wake-up",
            )
        return None

    # -- threads --

    def body(self, name: str, ops: Sequence[Op]) -> Callable[[], None]:
        def run() -> None:
            held: list[Any] = []
            for op in ops:
                self.sched.point(f"op {op}")
                self.do(name, op, held)
            while held:
                self.sched.point("op release (end of thread)")
                self.do(name, RELEASE, held)

        return run

    def do(self, thread: str, op: Op, held: list[Any]) -> None:
        """Run one op, record it, and check what a checkout returned."""
        args: tuple[object, ...] = (op.seconds,) if op.name == "sleep" else ()
        entry = HistoryEntry(thread, op.name, args, self.sched.step - 1)
        self.history.append(entry)
        try:
            entry.result = self._apply(thread, op, held)
        except _Abort:
            raise  # the run is torn down: the op never responded
        except BaseException as exc:  # noqa: BLE001 - the error is the op's recorded result
            entry.error = type(exc).__name__
        entry.responded = self.sched.step - 1
        self.in_acquire.discard(thread)

    def _apply(self, thread: str, op: Op, held: list[Any]) -> object:
        target, pool = self.target, self.pool
        name = op.name
        if name == "acquire":
            self.in_acquire.add(thread)
            handle = target.acquire(pool)
            self.in_acquire.discard(thread)
            held.append(handle)
            self.live[id(handle)] = handle
            raw = target.raw(handle)
            other = self.holders.get(raw.id)
            if other is not None:
                self.sched.finding = self.sched.finding or Finding(
                    "EXCL-1", f"connection {raw.id} handed to {thread} while {other} holds it"
                )
            if raw.closed:
                self.sched.finding = self.sched.finding or Finding(
                    "CAP-5", f"connection {raw.id} handed to {thread} already closed"
                )
            self.holders[raw.id] = thread
            return raw.id
        if name in ("release", "invalidate"):
            if not held:
                return NOTHING_HELD
            handle = held.pop()
            self.live.pop(id(handle), None)
            self.holders.pop(target.raw(handle).id, None)
            if name == "release":
                target.release(pool, handle)
            else:
                target.invalidate(pool, handle)
            return None
        if name == "kill":
            if not held:
                return NOTHING_HELD
            conn = target.raw(held[-1]).id
            self.driver.kill(conn)
            return conn
        if name == "fail_next_connect":
            self.driver.fail_next_connects(1)
        elif name == "interrupt_next_connect":
            self.interrupts += 1
        elif name == "close_pool":
            self.closed = True
            target.close(pool)
        elif name == "sleep":
            self.sched.sleep(op.seconds)
        return None

    def teardown(self) -> None:
        """Give back what the threads of a failed run still held (the primitives are inert now)."""
        handles = list(self.live.values())
        self.live.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for handle in handles:
                with contextlib.suppress(Exception):
                    self.target.release(self.pool, handle)

    def probe(self) -> None:
        """The end check, run as one more managed thread once the scenario's threads ended."""
        problems = self.target.accounting(self.pool, self.driver)
        if problems:
            rule, _, message = problems[0].partition(": ")
            self.sched.finding = Finding(rule, message)
            return
        if not self.closed:
            held: list[Any] = []
            # a fault armed but never used would fail the probe's connects: allow for them
            attempts = self.scenario.max_size + self.driver.pending_faults().connect_failures
            attempts += self.interrupts
            while len(held) < self.scenario.max_size and attempts > 0:
                attempts -= 1
                self.do("probe", ACQUIRE, held)
            got = len(held)
            while held:
                self.do("probe", RELEASE, held)
            if got < self.scenario.max_size:
                self.sched.finding = Finding(
                    "CAP-5",
                    f"after the run only {got} of {self.scenario.max_size} connections could "
                    "be checked out: a slot leaked",
                )
                return
        self.target.close(self.pool)
        still = sorted(self.driver.open_connections())
        if still:
            self.sched.finding = Finding(
                "CLOSE-1", f"connections {still} still open after the pool was closed"
            )


def run_schedule(
    scenario: Scenario,
    target: RaceTarget,
    strategy: Strategy,
    *,
    max_steps: int = 3000,
    time_choices: bool = True,
    linearize: bool = False,
) -> RunResult:
    """Run ``scenario`` against ``target`` once, choosing as ``strategy`` says.

    With ``linearize``, a run that broke nothing else has its history checked
    against the model too (``spec._linear.check_history``; our pool only, see
    :func:`linear_history`): a history no sequential run explains is a
    ``LINEAR`` finding.

    Raises:
        UnsupportedError: the target cannot run the scenario.
    """
    why = target.supports(scenario)
    if why is not None:
        raise UnsupportedError(f"{target.name} cannot run scenario {scenario.name!r}: {why}")
    sched = Scheduler(strategy, max_steps=max_steps, time_choices=time_choices)
    run = _Run(scenario, target, sched)
    sched.on_step = lambda: sched.finding or run.check_step()
    sched.on_quiescent = run.check_quiescent
    with substitute(sched):
        run.pool = target.build(sched, run.driver, scenario)
        for i, ops in enumerate(scenario.threads):
            sched.spawn(f"t{i}", run.body(f"t{i}", ops))
        outcome = sched.run()
        if outcome is Outcome.FINISHED and sched.finding is None:
            sched.spawn("probe", run.probe)
            outcome = sched.run()
            if outcome is Outcome.DEADLOCK and sched.finding is not None:
                sched.finding = Finding(
                    "CAP-5",
                    "the end probe could not check out the full cap and waits forever "
                    f"(a slot leaked): {sched.finding.message}",
                )
        run.teardown()
    result = RunResult(
        scenario.name,
        target.name,
        list(sched.choices),
        outcome,
        sched.finding,
        list(sched.trace),
        list(run.history),
        list(sched.stopped_at),
    )
    if linearize and result.finding is None:
        result.finding = _linear_finding(result, scenario)
    if result.finding is not None and result.outcome is Outcome.FINISHED:
        result.outcome = Outcome.VIOLATION
    return result


def _linear_finding(result: RunResult, scenario: Scenario) -> Finding | None:
    """A LINEAR finding if the run's history is not linearizable (None if it is, or n/a)."""
    translated = linear_history(result, scenario)
    if translated is None:
        return None
    from ._linear import check_history

    config, ops = translated
    verdict = check_history(config, ops)
    if verdict.verdict == "violation":
        return Finding("LINEAR", f"{verdict.message}; " + " / ".join(verdict.stuck))
    return None


# -- exploring many schedules ----------------------------------------------------------------


@dataclass(slots=True)
class RaceReport:
    """What exploring one scenario against one target found.

    Attributes:
        scenario: the scenario's name.
        target: the target's name.
        strategy: ``random``, ``pct`` or ``exhaustive``.
        seed: the seed (random and pct).
        depth: PCT's depth, or the preemption bound (exhaustive).
        schedules: how many schedules ran.
        failure: the first failing run (None: none failed).
        exhausted: exhaustive only: every schedule within the bound ran.
    """

    scenario: str
    target: str
    strategy: str
    seed: int
    depth: int
    schedules: int = 0
    failure: RunResult | None = None
    exhausted: bool = False

    @property
    def found(self) -> bool:
        """Whether a schedule failed."""
        return self.failure is not None


def explore(
    scenario: Scenario,
    target: RaceTarget,
    *,
    strategy: str = "random",
    depth: int = 2,
    schedules: int = 200,
    seed: int = 0,
    max_steps: int = 3000,
    linearize: bool = False,
    progress: Callable[[RaceReport], None] | None = None,
) -> RaceReport:
    """Run up to ``schedules`` schedules of ``scenario``; stop at the first failure.

    Args:
        scenario: what the threads do.
        target: the pool.
        strategy: ``random`` (uniform choices), ``pct`` (priorities with
            ``depth - 1`` change points) or ``exhaustive`` (every schedule
            with at most ``depth`` preemptions, fewest first).
        depth: PCT's bug depth, or the exhaustive preemption bound.
        schedules: the budget.
        seed: seeds random and pct (the exhaustive order is fixed).
        max_steps: the step bound of one run (livelock).
        linearize: also check each run's history against the model (our pool).
        progress: called after every schedule.

    Raises:
        ValueError: an unknown strategy, or a budget or depth out of range.
        UnsupportedError: the target cannot run the scenario.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if schedules < 1:
        raise ValueError(f"schedules must be >= 1, got {schedules!r}")
    if depth < (0 if strategy == "exhaustive" else 1):
        raise ValueError(f"depth must be >= 1 (>= 0 for exhaustive), got {depth!r}")
    report = RaceReport(scenario.name, target.name, strategy, seed, depth)
    rng = random.Random(seed)
    bounded = PreemptionBounded(depth) if strategy == "exhaustive" else None
    expected = 50
    while report.schedules < schedules:
        cost = 0
        recording: Recording | None = None
        chooser: Strategy
        if bounded is not None:
            nxt = bounded.next_strategy()
            if nxt is None:
                report.exhausted = True
                break
            recording, cost = nxt
            chooser = recording
        elif strategy == "pct":
            chooser = PCT(rng, depth, expected)
        else:
            chooser = RandomWalk(rng)
        result = run_schedule(scenario, target, chooser, max_steps=max_steps, linearize=linearize)
        report.schedules += 1
        expected = max(expected, len(result.choices))
        if bounded is not None and recording is not None:
            bounded.done_with(recording, cost)
        if progress is not None:
            progress(report)
        if result.failed:
            report.failure = result
            break
    else:
        report.exhausted = bounded is not None and bounded.remaining() == 0
    return report


def replay(scenario: Scenario, target: RaceTarget, choices: Sequence[int]) -> RunResult:
    """Run the schedule ``choices`` again (the choices of a :class:`RunResult`)."""
    return run_schedule(scenario, target, Replay(choices))


# -- histories for the linearizability checker ---------------------------------------------

#: How our pool's refusals (and the driver's connect error) map to the model's.
_REFUSALS = {
    "PoolTimeout": "timeout",
    "PoolClosed": "closed",
    "PoolExhausted": "exhausted",
    "TooManyWaiters": "too_many_waiters",
    "OperationalError": "connect_failed",
}


def linear_history(result: RunResult, scenario: Scenario) -> tuple[Any, list[Any]] | None:
    """The run's history for ``spec._linear.check_history``: (model config, operations).

    Only runs of our pool translate: its refusals map one to one onto the
    model's. Sleeps are not pool operations and are left out. The model
    lets an actor hold one connection at a time, so each checkout of the end
    probe (which holds the whole cap at once) is a new actor. None when the
    run cannot be put in the model's terms: another target, an interrupted
    connect (no model counterpart), or pool options other than ``fairness``.
    """
    import model

    from ._linear import HistoryOp

    if result.target != OurTarget.name or "interrupt_next_connect" in scenario.ops():
        return None
    fairness = model.Fairness.FIFO
    for name, value in scenario.pool_options:
        if name != "fairness":
            return None
        fairness = model.Fairness(value)
    config = model.Config(
        max_size=scenario.max_size,
        timeout=None if scenario.timeout is None else 1,
        fairness=fairness,
    )
    actors = {f"t{i}": i for i in range(len(scenario.threads))}
    next_actor = len(scenario.threads)
    probe_held: list[int] = []
    kinds = {
        "acquire": model.OpKind.ACQUIRE,
        "release": model.OpKind.RELEASE,
        "invalidate": model.OpKind.INVALIDATE,
        "kill": model.OpKind.KILL,
        "fail_next_connect": model.OpKind.FAIL_CONNECT,
        "close_pool": model.OpKind.CLOSE,
    }
    ops = []
    for entry in result.history:
        kind = kinds.get(entry.op)
        if kind is None or entry.result == NOTHING_HELD:
            continue  # a sleep, or a give-back by a thread that held nothing
        actor: int | None = None
        if kind in (model.OpKind.KILL, model.OpKind.FAIL_CONNECT, model.OpKind.CLOSE):
            pass  # pool-wide operations and faults have no actor
        elif entry.thread != "probe":
            actor = actors[entry.thread]
        elif kind is model.OpKind.ACQUIRE:
            actor, next_actor = next_actor, next_actor + 1
            if entry.error is None:
                probe_held.append(actor)
        else:
            actor = probe_held.pop()
        outcome: Any = None
        error = None
        if entry.responded is not None:
            if entry.error is not None:
                refusal = _REFUSALS.get(entry.error)
                if refusal is None:
                    error = entry.error
                else:
                    outcome = model.refused(model.Refusal(refusal))
            elif kind is model.OpKind.ACQUIRE:
                assert isinstance(entry.result, int)
                outcome = model.got(entry.result)
            else:
                outcome = model.OK
        conn = entry.result if kind is model.OpKind.KILL else None
        ops.append(
            HistoryOp(
                actor,
                kind,
                entry.invoked,
                entry.responded,
                outcome,
                conn=conn if isinstance(conn, int) else None,
                error=error,
            )
        )
    return config, ops
