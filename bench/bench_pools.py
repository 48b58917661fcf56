"""Benchmark: pool checkout + return round trips, poolspec's doors against the incumbents.

Usage::

    python bench/bench_pools.py [--quick] [--json FILE] [--write BENCHMARKS.md]
        [--scenario NAME ...] [--driver fake|sqlite3 ...] [--subject TEXT ...]
        [--rounds N] [--reps N] [--pairs N] [--scale X] [--no-memory] [--no-model]

Measures, side by side in one run, the round trips per second (check out a
connection, give it back) of poolspec's front doors and engine, SQLAlchemy's
and DBUtils' pools, psycopg_pool's ``ConnectionPool``, three minimal
baselines and the FIFO one handing out a handle (``bench/baselines.py``),
in four scenarios (1 thread; 8 threads on a cap of 5, so they wait; 8
threads with 5 idle + 10 overflow; 8 threads on a cap of 8), with cheap fake
connections and with real sqlite3 ones. Every
measurement runs in a fresh Python process; each process times ``--reps``
repetitions after one warm-up, and the cells are visited ``--rounds`` times
in turn, so load on the machine spreads over all of them. Reported: the
median over every repetition, the spread (min..max), and the ratio of the
median to the baseline's median in the same scenario, with the same driver,
in the same run.

One thread is timed by that thread's CPU time (other load on the machine
does not count); several threads by the wall clock, each round trip holding
its connection across ``time.sleep(0)`` so that the GIL goes to the other
threads while it is out (without that, a thread runs whole switch intervals
alone and nobody ever waits).

Each target's ratio is measured once more in pairs (``--pairs N``, default
8): the two pools of the target, each in a fresh process, one right after
the other, in alternating order, N times; the target is judged on the median
of the N ratios. This machine's speed drifts by a factor of two within
seconds (other tenants), so a ratio of two medians taken a minute apart can
err by more than the margins the targets ask for; adjacent runs share the
drift and their ratio keeps little of it.

Also: pool memory per checked-out connection (tracemalloc; fake
connections), and the model checker's and the lockstep harness's speed (by
calling ``bench/bench_checker.py`` and ``bench/bench_lockstep.py``).

Progress goes to stderr; the report to stdout, ``--json FILE`` and
``--write FILE`` (Markdown). This is a benchmark, not a test: it asserts
nothing about speed, and exits 0 unless a measurement could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import baselines  # noqa: E402 - the path above makes bench/ importable

# -- scenarios -----------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """How many threads run round trips, and the pool's sizes."""

    name: str
    title: str
    threads: int
    size: int  # idle connections kept (SQLAlchemy's pool_size)
    overflow: int  # more connections allowed beyond size, closed on return

    @property
    def cap(self) -> int:
        """Most connections open at once."""
        return self.size + self.overflow


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("1-thread", "1 thread (pool_size 5, max_overflow 10)", 1, 5, 10),
        Scenario("8-on-cap-5", "8 threads on a cap of 5 (they wait)", 8, 5, 0),
        Scenario("8-overflow", "8 threads, 5 idle + 10 overflow (overflow closed)", 8, 5, 10),
        Scenario("8-on-cap-8", "8 threads on a cap of 8 (no waiting)", 8, 8, 0),
    )
}
DRIVERS = ("fake", "sqlite3")
#: Round trips per repetition (all threads together), before ``--scale``.
OPS = {"1-thread": 30_000, "8-on-cap-5": 8_000, "8-overflow": 8_000, "8-on-cap-8": 10_000}
#: Seconds a waiter waits at most (a safety net: nobody should time out).
TIMEOUT = 20.0

# -- drivers -------------------------------------------------------------------------


class FakeError(Exception):
    """The fake driver's "connection lost" error."""


class FakeCursor:
    """A cursor that runs nothing."""

    __slots__ = ()

    def execute(self, sql: str, params: Any = None) -> FakeCursor:
        """Run nothing."""
        return self

    def fetchall(self) -> list[Any]:
        """No rows."""
        return []

    def close(self) -> None:
        """Nothing to close."""


class FakeConnection:
    """The cheapest connection that has what a pool calls: cursor, commit, rollback, close."""

    __slots__ = ()

    def cursor(self) -> FakeCursor:
        """A cursor that runs nothing."""
        return FakeCursor()

    def commit(self) -> None:
        """Nothing to commit."""

    def rollback(self) -> None:
        """Nothing to roll back."""

    def close(self) -> None:
        """Nothing to close."""


class FakeModule:
    """A DB-API module for DBUtils and poolspec's ``PooledDB`` (they read its attributes)."""

    __name__ = "fake"
    apilevel = "2.0"
    threadsafety = 2
    paramstyle = "qmark"
    Error = FakeError
    OperationalError = FakeError
    InterfaceError = FakeError
    InternalError = FakeError

    def __init__(self, connect: Callable[[], Any]) -> None:
        self.connect = connect


@dataclass
class Driver:
    """How a pool opens connections: a zero-argument callable, and a DB-API module."""

    name: str
    connect: Callable[[], Any]
    module: Any
    module_kwargs: dict[str, Any]
    opened: list[int]


def make_driver(name: str) -> Driver:
    """The fake driver or sqlite3 (in memory, usable from any thread), counting connects."""
    opened = [0]
    if name == "fake":

        def fake_connect() -> Any:
            opened[0] += 1
            return FakeConnection()

        return Driver(name, fake_connect, FakeModule(fake_connect), {}, opened)
    if name == "sqlite3":
        import sqlite3

        def sqlite_connect() -> Any:
            opened[0] += 1
            return sqlite3.connect(":memory:", check_same_thread=False)

        kwargs = {"database": ":memory:", "check_same_thread": False}
        return Driver(name, sqlite_connect, sqlite3, kwargs, opened)
    raise ValueError(f"unknown driver {name!r}; known: {', '.join(DRIVERS)}")


def psycopg_class(driver: Driver) -> type:
    """A connection class psycopg_pool accepts: ``connect()``, ``pgconn`` and the driver's calls.

    psycopg_pool reads ``pgconn.transaction_status`` to decide whether to roll
    back; the class reports IDLE, so the pool does not (as it would not for a
    real idle connection), and forwards ``rollback``/``close`` to the driver's
    connection.
    """
    from psycopg.pq import TransactionStatus

    class PgStatus:
        __slots__ = ()
        transaction_status = TransactionStatus.IDLE

    connect = driver.connect

    class PgLike:
        pgconn = PgStatus()
        closed = False

        def __init__(self) -> None:
            self._pool = None
            self._raw = connect()

        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> PgLike:
            return cls()

        def rollback(self) -> None:
            self._raw.rollback()

        def commit(self) -> None:
            self._raw.commit()

        def close(self) -> None:
            self.closed = True
            self._raw.close()

    return PgLike


# -- subjects ------------------------------------------------------------------------

#: What a subject's builder returns: check out, give back, close the pool.
Built = tuple[Callable[[], Any], Callable[[Any], None], Callable[[], None]]


def _handle_door(checkout: Callable[[], Any], close: Callable[[], None]) -> Built:
    """A door whose checkout returns a handle closed to give it back.

    The handle's own ``close`` function is looked up once, so the loop costs
    the same call for every door.
    """
    probe = checkout()
    give_back = type(probe).close
    give_back(probe)
    return checkout, give_back, close


def _ours_queuepool(s: Scenario, d: Driver) -> Built:
    import impl

    pool = impl.QueuePool(d.connect, pool_size=s.size, max_overflow=s.overflow, timeout=TIMEOUT)
    return _handle_door(pool.connect, pool.close)


def _ours_engine(fairness: str) -> Callable[[Scenario, Driver], Built]:
    def build(s: Scenario, d: Driver) -> Built:
        import impl

        pool = impl.Pool(
            d.connect,
            max_size=s.cap,
            idle_cap=s.size,
            timeout=TIMEOUT,
            fairness=impl.Fairness(fairness),
        )
        return _handle_door(pool.acquire, pool.close)

    return build


def _ours_pooleddb(s: Scenario, d: Driver) -> Built:
    import impl

    pool = impl.PooledDB(
        d.module,
        maxcached=s.size,
        maxconnections=s.cap,
        blocking=True,
        ping=0,
        timeout=TIMEOUT,
        **d.module_kwargs,
    )
    return _handle_door(pool.connection, pool.close)


def _ours_singleton(s: Scenario, d: Driver) -> Built:
    import impl

    pool = impl.SingletonThreadPool(d.connect, pool_size=s.cap, timeout=TIMEOUT)
    built = _handle_door(pool.connect, pool.close)
    pool.end_thread()  # the probe's connection: this thread does not take part
    return built


def _ours_nullpool(s: Scenario, d: Driver) -> Built:
    import impl

    pool = impl.NullPool(d.connect)
    return _handle_door(pool.connect, pool.close)


def _ours_persistent(s: Scenario, d: Driver) -> Built:
    import impl

    pool = impl.PersistentDB(d.module, ping=0, **d.module_kwargs)
    built = _handle_door(pool.connection, pool.close)
    pool.end_thread()  # the probe's connection: this thread does not take part
    return built


def _sa_queuepool(s: Scenario, d: Driver) -> Built:
    from sqlalchemy.pool import QueuePool

    pool = QueuePool(d.connect, pool_size=s.size, max_overflow=s.overflow, timeout=TIMEOUT)
    return _handle_door(pool.connect, pool.dispose)


def _sa_singleton(s: Scenario, d: Driver) -> Built:
    from sqlalchemy.pool import SingletonThreadPool

    pool = SingletonThreadPool(d.connect, pool_size=s.cap)
    return _handle_door(pool.connect, pool.dispose)


def _sa_nullpool(s: Scenario, d: Driver) -> Built:
    from sqlalchemy.pool import NullPool

    pool = NullPool(d.connect)
    return _handle_door(pool.connect, pool.dispose)


def _dbutils_pooleddb(s: Scenario, d: Driver) -> Built:
    from dbutils.pooled_db import PooledDB

    pool = PooledDB(
        d.module, 0, s.size, 0, s.cap, True, None, None, True, None, 0, **d.module_kwargs
    )
    return _handle_door(pool.connection, pool.close)


def _dbutils_persistent(s: Scenario, d: Driver) -> Built:
    from dbutils.persistent_db import PersistentDB

    pool = PersistentDB(d.module, ping=0, **d.module_kwargs)
    return _handle_door(pool.connection, lambda: None)  # it has no close()


def _psycopg_pool(s: Scenario, d: Driver) -> Built:
    from psycopg_pool import ConnectionPool

    pool: Any = ConnectionPool(
        "",
        connection_class=psycopg_class(d),
        min_size=s.size,
        max_size=s.cap,
        timeout=TIMEOUT,
        open=True,
    )
    pool.wait()
    return pool.getconn, pool.putconn, pool.close


def _baseline(kind: str) -> Callable[[Scenario, Driver], Built]:
    def build(s: Scenario, d: Driver) -> Built:
        pool: Any
        if kind == "lock+deque":
            pool = baselines.LockDequePool(d.connect, s.size, s.overflow, TIMEOUT)
        elif kind == "lock+deque+handle":
            handles = baselines.LockDequeHandlePool(d.connect, s.size, s.overflow, TIMEOUT)
            return _handle_door(handles.checkout, handles.close)
        elif kind == "barging":
            pool = baselines.BargingPool(d.connect, s.size, s.overflow, TIMEOUT)
        else:
            pool = baselines.SimpleQueuePool(d.connect, s.cap, TIMEOUT)
        return pool.get, pool.put, pool.close

    return build


@dataclass(frozen=True)
class Subject:
    """One pool the benchmark measures, and where it applies."""

    name: str
    build: Callable[[Scenario, Driver], Built]
    scenarios: tuple[str, ...]
    what: str


ALL = tuple(SCENARIOS)
CAPPED = ("1-thread", "8-on-cap-5", "8-overflow", "8-on-cap-8")
PER_THREAD = ("1-thread", "8-on-cap-8")

SUBJECTS = {
    s.name: s
    for s in (
        Subject("baseline:lock+deque", _baseline("lock+deque"), ALL,
                "threading.Lock + deque; waiters: FIFO hand-off, one lock each"),
        Subject("baseline:lock+deque+handle", _baseline("lock+deque+handle"),
                ("1-thread", "8-on-cap-5"),
                "lock+deque handing out a handle given back by close() or __del__ (DROP-1)"),
        Subject("baseline:barging", _baseline("barging"), ("8-on-cap-5",),
                "threading.Condition + deque; notify one, first to the lock wins"),
        Subject("baseline:SimpleQueue", _baseline("simplequeue"), ALL,
                "queue.SimpleQueue filled with size + overflow connections"),
        Subject("ours:QueuePool", _ours_queuepool, CAPPED,
                "impl.QueuePool: rollback on return, FIFO hand-off"),
        Subject("ours:Pool(fifo)", _ours_engine("fifo"), CAPPED,
                "impl.Pool, the engine: fairness=FIFO"),
        Subject("ours:Pool(barging)", _ours_engine("barging"), ("8-on-cap-5",),
                "impl.Pool, the engine: fairness=BARGING"),
        Subject("ours:PooledDB", _ours_pooleddb, CAPPED,
                "impl.PooledDB: blocking, ping=0, reset=True"),
        Subject("ours:SingletonThreadPool", _ours_singleton, PER_THREAD,
                "impl.SingletonThreadPool (pool_size = cap)"),
        Subject("ours:NullPool", _ours_nullpool, PER_THREAD,
                "impl.NullPool: a connect and a close per round trip"),
        Subject("ours:PersistentDB", _ours_persistent, PER_THREAD,
                "impl.PersistentDB: ping=0"),
        Subject("sqlalchemy:QueuePool", _sa_queuepool, CAPPED,
                "sqlalchemy.pool.QueuePool, defaults (reset: rollback)"),
        Subject("sqlalchemy:SingletonThreadPool", _sa_singleton, PER_THREAD,
                "sqlalchemy.pool.SingletonThreadPool (pool_size = cap)"),
        Subject("sqlalchemy:NullPool", _sa_nullpool, PER_THREAD,
                "sqlalchemy.pool.NullPool"),
        Subject("dbutils:PooledDB", _dbutils_pooleddb, CAPPED,
                "dbutils.pooled_db.PooledDB: blocking, ping=0, reset=True"),
        Subject("dbutils:PersistentDB", _dbutils_persistent, PER_THREAD,
                "dbutils.persistent_db.PersistentDB: ping=0"),
        Subject("psycopg_pool:ConnectionPool", _psycopg_pool, CAPPED,
                "psycopg_pool.ConnectionPool over a psycopg-like wrapper of the driver"),
    )
}  # fmt: skip

#: The reference of each scenario's ratios, and the second one shown for 8-on-cap-5.
REFERENCE = "baseline:lock+deque"
#: The FIFO baseline handing out handles: a reference row, not a target's.
HANDLE_REFERENCE = "baseline:lock+deque+handle"
BARGING_REFERENCE = "baseline:barging"

# -- one measurement (in a child process) --------------------------------------------


def _loop(get: Callable[[], Any], put: Callable[[Any], None], count: int) -> None:
    for _ in range(count):
        put(get())


def _loop_holding(get: Callable[[], Any], put: Callable[[Any], None], count: int) -> None:
    """Round trips that hold the connection across ``sleep(0)``, which lets the GIL go.

    Without it a thread would run whole switch intervals alone, checking out
    and giving back one connection, and the others would never wait.
    """
    pause = time.sleep
    for _ in range(count):
        conn = get()
        pause(0)
        put(conn)


def time_round_trips(built: Built, threads: int, ops: int, reps: int) -> dict[str, list[float]]:
    """Round trips per second, ``reps`` times after one warm-up, on ``threads`` threads.

    One thread: per second of that thread's CPU time, so that other load on
    the machine does not count. Several: per wall-clock second (waiting is
    part of what is measured). The threads are started once and run every
    repetition, so per-thread pools keep their connections and thread
    start-up is not timed.

    Returns:
        ``rates``: round trips per second, one per repetition; ``cpu_us``:
        CPU microseconds this process spent per round trip (all its threads),
        which other load on the machine inflates far less than the wall clock.

    Raises:
        RuntimeError: a thread's check-out or return raised (the message names it).
    """
    get, put, _ = built
    if threads == 1:
        # CPU time of this thread: time it spent descheduled by other load does not count
        _loop(get, put, max(1, ops // 10))
        rates = []
        for _ in range(reps):
            began = time.thread_time()
            _loop(get, put, ops)
            rates.append(ops / (time.thread_time() - began))
        return {"rates": rates, "cpu_us": [1e6 / r for r in rates]}
    each = max(1, ops // threads)
    start = threading.Barrier(threads + 1)
    done = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(reps + 1):
                start.wait()
                _loop_holding(get, put, each)
                done.wait()
        except threading.BrokenBarrierError:
            return
        except BaseException as exc:
            errors.append(exc)
            start.abort()
            done.abort()

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in workers:
        t.start()
    rates: list[float] = []
    cpu_us: list[float] = []
    try:
        for rep in range(reps + 1):
            start.wait()
            began, cpu = time.perf_counter(), time.process_time()
            done.wait()
            if rep:  # the first one warms up
                rates.append(each * threads / (time.perf_counter() - began))
                cpu_us.append((time.process_time() - cpu) * 1e6 / (each * threads))
    except threading.BrokenBarrierError:
        pass
    for t in workers:
        t.join(TIMEOUT)
    if errors:
        raise RuntimeError(f"a worker thread raised {errors[0]!r}") from errors[0]
    return {"rates": rates, "cpu_us": cpu_us}


def measure(subject: str, scenario: str, driver: str, ops: int, reps: int) -> dict[str, Any]:
    """One cell, in this process: build the pool, time it, close it."""
    s = SCENARIOS[scenario]
    built = SUBJECTS[subject].build(s, make_driver(driver))
    try:
        return time_round_trips(built, s.threads, ops, reps)
    finally:
        built[2]()


def pool_bytes_per_connection(build: Callable[[], Built], opened: list[int], count: int) -> float:
    """Bytes the pool allocates per checked-out connection, the connections' own excluded.

    Builds the pool, checks out (and returns) one connection to warm it up,
    then checks out ``count`` at once and measures with tracemalloc what was
    allocated meanwhile, minus what the connections opened meanwhile take.
    The fake connections' own size is measured the same way.
    """
    tracemalloc.start()
    try:
        holder: list[Any] = [None] * count
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            holder[i] = FakeConnection()
        own = (tracemalloc.get_traced_memory()[0] - before) / count
        del holder
        get, put, close = build()
        put(get())
        handles: list[Any] = [None] * count
        gc.collect()
        opened_before = opened[0]
        before = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            handles[i] = get()
        grown = tracemalloc.get_traced_memory()[0] - before
        new = opened[0] - opened_before
        for handle in handles:
            put(handle)
        close()
    finally:
        tracemalloc.stop()
    return (grown - new * own) / count


#: The subjects whose memory is measured.
MEMORY_SUBJECTS = (
    "baseline:lock+deque",
    "baseline:lock+deque+handle",
    "ours:QueuePool",
    "ours:Pool(fifo)",
    "ours:PooledDB",
    "sqlalchemy:QueuePool",
    "dbutils:PooledDB",
    "psycopg_pool:ConnectionPool",
)
MEMORY_COUNT = 200


def measure_memory(subject: str) -> dict[str, Any]:
    """Pool bytes per checked-out connection for one subject, fake connections, cap 200."""
    driver = make_driver("fake")
    s = Scenario("memory", "memory", 1, MEMORY_COUNT, 0)
    per = pool_bytes_per_connection(
        lambda: SUBJECTS[subject].build(s, driver), driver.opened, MEMORY_COUNT
    )
    return {"bytes_per_connection": per}


# -- the run (parent process) ---------------------------------------------------------


def _child(args: list[str], timeout: float = 300.0) -> dict[str, Any]:
    """Run this script in a fresh process; its last stdout line is the JSON result."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"exit status {done.returncode}: {tail}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def time_fresh(subject: str, scenario: str, driver: str, reps: int, scale: float) -> dict[str, Any]:
    """One cell timed in a fresh process (:func:`measure`), round trips scaled by ``scale``."""
    ops = max(SCENARIOS[scenario].threads, int(OPS[scenario] * scale))
    spec = {"kind": "time", "subject": subject, "scenario": scenario, "driver": driver,
            "ops": ops, "reps": reps}  # fmt: skip
    return _child(["--child", json.dumps(spec)])


def progress(message: str) -> None:
    """One line of progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def cells(scenarios: list[str], drivers: list[str], subjects: list[str]) -> list[tuple[str, ...]]:
    """Every (scenario, driver, subject) measured, in report order."""
    return [
        (sc, dr, su)
        for sc in scenarios
        for dr in drivers
        for su in subjects
        if sc in SUBJECTS[su].scenarios
    ]


def summarise(runs: dict[tuple[str, ...], dict[str, Any]]) -> list[dict[str, Any]]:
    """Median, spread and ratios to the baselines of each cell."""
    rows = []
    for (sc, dr, su), run in runs.items():
        rates = run["rates"]
        row: dict[str, Any] = {
            "scenario": sc,
            "driver": dr,
            "subject": su,
            "what": SUBJECTS[su].what,
            "rates": rates,
            "error": run.get("error"),
        }
        if rates:
            row["median"] = statistics.median(rates)
            row["min"] = min(rates)
            row["max"] = max(rates)
            row["us_per_round_trip"] = 1e6 / row["median"]
        if run.get("cpu_us"):
            row["cpu_us_per_round_trip"] = statistics.median(run["cpu_us"])
        rows.append(row)
    by_cell = {(r["scenario"], r["driver"], r["subject"]): r for r in rows}
    for row in rows:
        for key, ref in (("ratio", REFERENCE), ("ratio_barging", BARGING_REFERENCE)):
            base = by_cell.get((row["scenario"], row["driver"], ref), {})
            if base.get("median") and row.get("median"):
                row[key] = row["median"] / base["median"]
            if base.get("cpu_us_per_round_trip") and row.get("cpu_us_per_round_trip"):
                row[f"{key}_cpu"] = base["cpu_us_per_round_trip"] / row["cpu_us_per_round_trip"]
    return rows


#: The targets (issue 7): (label, scenario, driver, subject, against, at least).
TARGETS = (
    ("1 thread: ours:QueuePool >= 5x sqlalchemy:QueuePool",
     "1-thread", "fake", "ours:QueuePool", "sqlalchemy:QueuePool", 5.0),
    ("1 thread: ours:QueuePool >= 2x dbutils:PooledDB",
     "1-thread", "fake", "ours:QueuePool", "dbutils:PooledDB", 2.0),
    ("1 thread: ours:QueuePool >= 0.5x baseline:lock+deque",
     "1-thread", "fake", "ours:QueuePool", "baseline:lock+deque", 0.5),
    ("8 on cap 5, FIFO: ours:Pool(fifo) >= 1x baseline:lock+deque (FIFO hand-off)",
     "8-on-cap-5", "fake", "ours:Pool(fifo)", "baseline:lock+deque", 1.0),
    ("8 on cap 5, FIFO: ours:QueuePool >= 1x baseline:lock+deque (FIFO hand-off)",
     "8-on-cap-5", "fake", "ours:QueuePool", "baseline:lock+deque", 1.0),
    ("8 on cap 5, barging: ours:Pool(barging) >= 0.5x baseline:barging",
     "8-on-cap-5", "fake", "ours:Pool(barging)", "baseline:barging", 0.5),
)  # fmt: skip
MEMORY_TARGET = 200.0


def paired_ratio(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """The median over adjacent pairs of runs of (ours / theirs), by rate and by CPU time.

    Args:
        pairs: ``(ours, theirs)`` results of :func:`measure`, each pair run
            one right after the other.

    Returns:
        ``ratio`` (median of the pairs' rate ratios, None without a pair),
        ``ratios`` (each pair's), ``ratio_cpu`` (median of theirs / ours CPU
        time per round trip) and ``pairs`` (how many).
    """
    ratios = [
        statistics.median(mine["rates"]) / statistics.median(theirs["rates"])
        for mine, theirs in pairs
    ]
    cpu = [
        statistics.median(theirs["cpu_us"]) / statistics.median(mine["cpu_us"])
        for mine, theirs in pairs
    ]
    return {
        "ratio": statistics.median(ratios) if ratios else None,
        "ratios": ratios,
        "ratio_cpu": statistics.median(cpu) if cpu else None,
        "pairs": len(pairs),
    }


def check_targets(
    rows: list[dict[str, Any]],
    memory: dict[str, Any],
    paired: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Each target's ratio and whether it is met.

    A target measured in pairs (``paired``, by target label, from
    :func:`paired_ratio`) is judged on the median of its pairs; otherwise on
    the ratio of the two cells' medians in the run (also reported as
    ``cells_ratio`` beside a paired one).
    """
    by_cell = {(r["scenario"], r["driver"], r["subject"]): r for r in rows}
    verdicts = []
    for label, sc, dr, su, against, least in TARGETS:
        mine, theirs = by_cell.get((sc, dr, su), {}), by_cell.get((sc, dr, against), {})
        ratio = cpu = None
        if mine.get("median") and theirs.get("median"):
            ratio = mine["median"] / theirs["median"]
        if mine.get("cpu_us_per_round_trip") and theirs.get("cpu_us_per_round_trip"):
            cpu = theirs["cpu_us_per_round_trip"] / mine["cpu_us_per_round_trip"]
        verdict: dict[str, Any] = {"target": label, "at_least": least, "cells_ratio": ratio}
        pair = (paired or {}).get(label)
        if pair is not None and pair["ratio"] is not None:
            ratio, cpu = pair["ratio"], pair["ratio_cpu"]
            verdict["pairs"] = pair["pairs"]
            verdict["pair_ratios"] = pair["ratios"]
        verdict |= {
            "ratio": ratio,
            "ratio_cpu": cpu,
            "met": None if ratio is None else ratio >= least,
        }
        verdicts.append(verdict)
    for subject in ("ours:QueuePool", "ours:PooledDB"):
        per = memory.get(subject, {}).get("bytes_per_connection")
        verdicts.append(
            {
                "target": f"memory: {subject} <= {MEMORY_TARGET:.0f} bytes per connection out",
                "bytes": per,
                "at_most": MEMORY_TARGET,
                "met": None if per is None else per <= MEMORY_TARGET,
            }
        )
    return verdicts


def measure_pairs(
    subjects: list[str], scenarios: list[str], drivers: list[str], pairs: int, reps: int,
    scale: float,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Each target whose two pools are selected, measured in ``pairs`` adjacent runs.

    Returns:
        By target label: :func:`paired_ratio` of its pairs (targets whose
        runs failed are left out, and judged on the tables' medians).
    """
    found: dict[str, dict[str, Any]] = {}
    todo = [
        t for t in TARGETS
        if t[1] in scenarios and t[2] in drivers and t[3] in subjects and t[4] in subjects
    ]  # fmt: skip
    for n, (label, sc, dr, su, against, _) in enumerate(todo, 1):
        done: list[tuple[dict[str, Any], dict[str, Any]]] = []
        try:
            for i in range(pairs):
                order = (su, against) if i % 2 == 0 else (against, su)  # neither always first
                got = {subject: time_fresh(subject, sc, dr, reps, scale) for subject in order}
                done.append((got[su], got[against]))
        except (RuntimeError, subprocess.SubprocessError, ValueError) as exc:
            progress(f"[pairs {n}/{len(todo)}] {label}: FAILED: {exc}")
            continue
        if done:
            found[label] = paired_ratio(done)
            progress(f"[pairs {n}/{len(todo)}] {label}: {found[label]['ratio']:.2f}x")
    return found


def run_model_benches(quick: bool) -> dict[str, Any]:
    """The model checker's states/s and the lockstep harness's steps/s, via their scripts."""
    out: dict[str, Any] = {}
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_pools_{os.getpid()}.json"
    # the checker's case names: keep in step with bench_checker.CASES
    if quick:
        checker = ["--runs", "1", "--only", "cap2-idle1"]
        lockstep = ["--repeat", "1", "--programs", "10"]
    else:
        checker = ["--runs", "2", "--only", "cap2-idle1", "--only", "cap2-waiting-policies",
                   "--only", "per-thread"]  # fmt: skip
        lockstep = ["--repeat", "3"]
    for name, script, extra in (
        ("checker", "bench_checker.py", checker),
        ("lockstep", "bench_lockstep.py", lockstep),
    ):
        progress(f"[model] {script} {' '.join(extra)}")
        cmd = [sys.executable, str(HERE / script), *extra, "--json", str(tmp)]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, timeout=600)
            out[name] = json.loads(tmp.read_text(encoding="utf-8"))
        except (subprocess.SubprocessError, OSError, ValueError) as exc:
            out[name] = {"error": str(exc)}
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        out[name]["command"] = shlex.join(["python", f"bench/{script}", *extra])
    return out


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "not installed"


def machine() -> dict[str, Any]:
    """The CPU, Python and library versions the numbers were measured with."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import sqlite3

    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libraries": {
            "SQLAlchemy": _version("sqlalchemy"),
            "DBUtils": _version("dbutils"),
            "psycopg": _version("psycopg"),
            "psycopg-pool": _version("psycopg-pool"),
            "sqlite3 (SQLite)": sqlite3.sqlite_version,
        },
        "load_average": os.getloadavg(),
    }


# -- the report ----------------------------------------------------------------------


def _fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _handle_reference(rows: list[dict[str, Any]]) -> list[str]:
    """A paragraph on the handle reference's ratios (fake connections), if it ran."""
    found = {
        r["scenario"]: r["ratio"]
        for r in rows
        if r["subject"] == HANDLE_REFERENCE and r["driver"] == "fake" and r.get("ratio")
    }
    if not found:
        return []
    shown = "; ".join(f"{found[sc]:.2f}x on {sc}" for sc in SCENARIOS if sc in found)
    return [
        "",
        f"For reference, `{HANDLE_REFERENCE}` is `{REFERENCE}` handing out a handle "
        "that its `close()` or, when dropped unclosed, its `__del__` gives back: the "
        "least any pool that hands out objects and loses no dropped connection (SPEC "
        f"DROP-1) pays. With fake connections it runs at {shown} `{REFERENCE}` (the "
        "tables' medians).",
    ]


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown(result: dict[str, Any]) -> str:
    """The report as Markdown (BENCHMARKS.md)."""
    m = result["machine"]
    libs = ", ".join(f"{k} {v}" for k, v in m["libraries"].items())
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/bench_pools.py`; regenerate with:",
        "",
        "```sh",
        result["command"],
        "```",
        "",
        f"Measured {result['date']} on {m['cpu']} ({m['cpus']} CPUs), {m['python']}, "
        f"{m['platform']}; {libs}. Load average at the start: "
        f"{', '.join(f'{x:.2f}' for x in m['load_average'])}.",
        "",
        "Every measurement ran in a fresh Python process: one warm-up, then "
        f"{result['settings']['reps']} timed repetitions, each cell visited "
        f"{result['settings']['rounds']} time(s) in turn. Figures are round trips "
        "(check out + give back) per second: the median over all repetitions, the "
        "spread (min..max), and the ratio of the median to the baseline's median "
        f"(`{REFERENCE}`; in the 8-on-cap-5 scenario also to `{BARGING_REFERENCE}`) "
        "measured in the same run, same scenario, same driver. One thread: round trips "
        "per second of that thread's CPU time (`time.thread_time`), so other load on the "
        "machine does not count; several threads: per wall-clock second, each round trip "
        "holding its connection across a `time.sleep(0)` (which lets the GIL go, so the "
        "other threads run and, at the cap, wait); their tables also give the CPU time "
        "the process spent per round trip (all threads), which load from other processes "
        "inflates far less than the wall clock. On a busy machine trust the ratios more "
        "than the absolute figures.",
        "",
        "## Targets (issue 7)",
        "",
        "Each ratio is the median over pairs of fresh-process runs of the two pools, one "
        "right after the other in alternating order (with the spread over the pairs); the "
        "ratio of the tables' medians below, taken minutes apart, is given for comparison.",
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
    ]
    for v in result["targets"]:
        if "ratio" in v:
            shown = "-" if v["ratio"] is None else f"{v['ratio']:.2f}x"
            if v.get("pairs"):
                low, high = min(v["pair_ratios"]), max(v["pair_ratios"])
                shown += f", median of {v['pairs']} pairs ({low:.2f}..{high:.2f})"
            if v.get("ratio_cpu") is not None and "8 on cap 5" in v["target"]:
                shown += f"; by CPU per round trip: {v['ratio_cpu']:.2f}x"
            if v.get("pairs") and v.get("cells_ratio") is not None:
                shown += f"; tables' medians: {v['cells_ratio']:.2f}x"
        else:
            shown = "-" if v["bytes"] is None else f"{v['bytes']:.0f} bytes"
        met = {True: "yes", False: "**no**", None: "not measured"}[v["met"]]
        lines.append(f"| {v['target']} | {shown} | {met} |")
    rows = result["rows"]
    lines += _handle_reference(rows)
    for sc in SCENARIOS.values():
        for dr in DRIVERS:
            mine = [r for r in rows if r["scenario"] == sc.name and r["driver"] == dr]
            if not mine:
                continue
            barging = sc.name == "8-on-cap-5"
            threaded = sc.threads > 1
            lines += ["", f"## {sc.title}: {dr} connections", ""]
            head = "| pool | round trips/s | spread | us/round trip | x lock+deque |"
            rule = "| --- | ---: | ---: | ---: | ---: |"
            if barging:
                head += " x barging |"
                rule += " ---: |"
            if threaded:
                head += " CPU us/round trip | x lock+deque by CPU |"
                rule += " ---: | ---: |"
            lines += [head, rule]
            columns = head.count("|") - 1
            for r in mine:
                if r.get("median") is None:
                    gaps = " |" * (columns - 2)
                    lines.append(f"| {r['subject']} | failed: {r.get('error')} |{gaps}")
                    continue
                line = (
                    f"| {r['subject']} | {_fmt_rate(r['median'])} | "
                    f"{_fmt_rate(r['min'])}..{_fmt_rate(r['max'])} | "
                    f"{r['us_per_round_trip']:.2f} | {_fmt_ratio(r.get('ratio'))} |"
                )
                if barging:
                    line += f" {_fmt_ratio(r.get('ratio_barging'))} |"
                if threaded:
                    cpu = r.get("cpu_us_per_round_trip")
                    line += f" {'-' if cpu is None else f'{cpu:.2f}'} |"
                    line += f" {_fmt_ratio(r.get('ratio_cpu'))} |"
                lines.append(line)
    if result["memory"]:
        lines += [
            "",
            "## Memory per checked-out connection",
            "",
            f"tracemalloc: a pool with a cap of {MEMORY_COUNT} fake connections checks them "
            "all out; bytes allocated meanwhile, minus the connections' own, per connection.",
            "",
            "| pool | bytes per connection |",
            "| --- | ---: |",
        ]
        for name, got in result["memory"].items():
            per = got.get("bytes_per_connection")
            shown = f"failed: {got.get('error')}" if per is None else f"{per:.0f}"
            lines.append(f"| {name} | {shown} |")
    model = result.get("model") or {}
    if model:
        lines += ["", "## Model checker and lockstep harness", ""]
        checker = model.get("checker", {})
        lines.append(f"`{checker.get('command')}`:")
        lines.append("")
        if "results" in checker:
            lines += [
                "| case | states | states/s (median) | spread |",
                "| --- | ---: | ---: | ---: |",
            ]
            for c in checker["results"]:
                lines.append(
                    f"| {c['name']} | {c['states']:,} | {c['median_rate']:,.0f} | "
                    f"{c['min_rate']:,.0f}..{c['max_rate']:,.0f} |"
                )
        else:
            lines.append(f"failed: {checker.get('error')}")
        lockstep = model.get("lockstep", {})
        lines += ["", f"`{lockstep.get('command')}`:", ""]
        if "median_steps_per_s" in lockstep:
            lines.append(
                f"lockstep ({lockstep['driver']}): median {lockstep['median_steps_per_s']:,.0f} "
                f"steps/s (spread {lockstep['min_steps_per_s']:,.0f}.."
                f"{lockstep['max_steps_per_s']:,.0f}), {lockstep['programs']} programs of "
                f"{lockstep['steps_per_program']} steps."
            )
        else:
            lines.append(f"failed: {lockstep.get('error')}")
    lines += ["", "## The pools", "", "| pool | configured as |", "| --- | --- |"]
    lines += [f"| {s.name} | {s.what} |" for s in SUBJECTS.values()]
    lines += [
        "",
        "Fake connections: a class with `cursor/commit/rollback/close` doing nothing. "
        "sqlite3: `sqlite3.connect(':memory:', check_same_thread=False)`. psycopg_pool "
        "needs psycopg connections: it runs over a small class with psycopg's "
        "`connect()` classmethod and a `pgconn` that reports an idle transaction "
        "status, wrapping the driver's connection (so it never rolls back on return, "
        "as with an idle real connection).",
        "",
    ]
    return "\n".join(lines)


def text_report(result: dict[str, Any]) -> str:
    """A compact plain-text report for the terminal."""
    out = []
    for r in result["rows"]:
        if r.get("median") is None:
            out.append(
                f"{r['scenario']:<11}{r['driver']:<8}{r['subject']:<32} failed: {r['error']}"
            )
            continue
        extra = f"  x barging {r['ratio_barging']:.2f}" if "ratio_barging" in r else ""
        out.append(
            f"{r['scenario']:<11}{r['driver']:<8}{r['subject']:<32}"
            f"{r['median']:>12,.0f}/s  ({r['min']:,.0f}..{r['max']:,.0f})"
            f"  x lock+deque {_fmt_ratio(r.get('ratio'))}{extra}"
        )
    for name, got in result["memory"].items():
        per = got.get("bytes_per_connection")
        out.append(f"memory     {name:<40}{'failed' if per is None else f'{per:.0f} bytes'}")
    for v in result["targets"]:
        met = {True: "met", False: "NOT MET", None: "not measured"}[v["met"]]
        got = v.get("ratio", v.get("bytes"))
        out.append(f"target: {v['target']}: {'-' if got is None else f'{got:.2f}'} ({met})")
    return "\n".join(out)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, well under a minute")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--write", metavar="FILE", help="also write the Markdown report")
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    parser.add_argument("--driver", action="append", choices=list(DRIVERS))
    parser.add_argument("--subject", action="append", metavar="TEXT",
                        help="only subjects whose name contains TEXT (repeatable)")  # fmt: skip
    parser.add_argument("--rounds", type=int, help="fresh processes per cell (default 2; quick 1)")
    parser.add_argument("--reps", type=int, help="timed repetitions per process (default 3)")
    parser.add_argument(
        "--pairs", type=int, help="adjacent runs per target (default 8; quick 2; 0: none)"
    )
    parser.add_argument("--scale", type=float, help="multiply the round trips per repetition")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measure")
    parser.add_argument("--no-model", action="store_true", help="skip checker and lockstep")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("rounds", "reps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1, got {value}")
    if args.pairs is not None and args.pairs < 0:
        parser.error(f"--pairs must be >= 0, got {args.pairs}")
    if args.scale is not None and not args.scale > 0:
        parser.error(f"--scale must be > 0, got {args.scale}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 unless a measurement failed to run."""
    args = _parse(argv)
    if args.child:
        spec = json.loads(args.child)
        if spec["kind"] == "memory":
            print(json.dumps(measure_memory(spec["subject"])))
        else:
            print(json.dumps(measure(**{k: v for k, v in spec.items() if k != "kind"})))
        return 0
    began = time.perf_counter()
    rounds = args.rounds or (1 if args.quick else 2)
    reps = args.reps or (2 if args.quick else 3)
    scale = args.scale or (0.15 if args.quick else 1.0)
    scenarios = args.scenario or list(SCENARIOS)
    drivers = args.driver or list(DRIVERS)
    wanted = args.subject or [""]
    subjects = [s for s in SUBJECTS if any(w in s for w in wanted)]
    todo = cells(scenarios, drivers, subjects)
    info = machine()
    runs: dict[tuple[str, ...], dict[str, Any]] = {c: {"rates": []} for c in todo}
    total = len(todo) * rounds
    done = 0
    for rnd in range(rounds):
        # each round visits the cells in a different order, so no cell always runs last
        order = todo[rnd % len(todo) :] + todo[: rnd % len(todo)] if todo else []
        for sc, dr, su in order:
            done += 1
            try:
                got = time_fresh(su, sc, dr, reps, scale)
                runs[(sc, dr, su)]["rates"] += got["rates"]
                runs[(sc, dr, su)].setdefault("cpu_us", []).extend(got["cpu_us"])
                note = f"{statistics.median(got['rates']):,.0f}/s"
            except (RuntimeError, subprocess.SubprocessError, ValueError) as exc:
                runs[(sc, dr, su)]["error"] = str(exc)
                note = f"FAILED: {exc}"
            progress(f"[{done}/{total}] {sc} {dr} {su}: {note}")
    pairs = args.pairs if args.pairs is not None else (2 if args.quick else 8)
    paired = measure_pairs(subjects, scenarios, drivers, pairs, reps, scale)
    memory: dict[str, Any] = {}
    if not args.no_memory:
        for su in MEMORY_SUBJECTS:
            if su not in subjects:
                continue
            try:
                memory[su] = _child(["--child", json.dumps({"kind": "memory", "subject": su})])
                note = f"{memory[su]['bytes_per_connection']:.0f} bytes"
            except (RuntimeError, subprocess.SubprocessError, ValueError) as exc:
                memory[su] = {"error": str(exc)}
                note = f"FAILED: {exc}"
            progress(f"[memory] {su}: {note}")
    model = {} if args.no_model else run_model_benches(args.quick)
    rows = summarise(runs)
    command = shlex.join(
        ["python", "bench/bench_pools.py", *(argv if argv is not None else sys.argv[1:])]
    )
    result = {
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": info,
        "settings": {"rounds": rounds, "reps": reps, "pairs": pairs, "scale": scale, "ops": OPS},
        "rows": rows,
        "memory": memory,
        "targets": check_targets(rows, memory, paired),
        "model": model,
        "seconds": time.perf_counter() - began,
    }
    print(text_report(result))
    progress(f"done in {result['seconds']:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.write:
        Path(args.write).write_text(markdown(result), encoding="utf-8")
    failed = any(r.get("error") for r in rows) or any("error" in m for m in memory.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
