"""Nothing left behind: threads, file descriptors and connections after ``close()``.

Each front door is driven by a few short-lived threads (check out, run a
statement, give back, end, without calling ``end_thread``). Then:

1. per-thread doors (``SingletonThreadPool``, ``PersistentDB``, quasardb's
   ``SingletonPool``): once the threads ended, the pool's next operation
   closes their connections: none stays open;
2. after ``close()``: no connection is open (the recording driver's view, or
   the server's own view of the run's sessions), and the process has no more
   threads and file descriptors than before.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import impl

from ._driver import RecordingDriver


def open_fds() -> int:
    """How many file descriptors this process has open (Linux ``/proc/self/fd``)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except FileNotFoundError:
        return -1


@dataclass(slots=True)
class HygieneResult:
    """What one door left behind."""

    door: str
    threads_used: int
    connections_made: int
    open_after_threads_ended: int
    open_after_close: int
    extra_threads: int
    extra_fds: int
    problems: list[str] = field(default_factory=list)


#: A door: (name, whether it is per-thread, how to build it from a creator or module).
Door = tuple[str, bool, Callable[[RecordingDriver], Any]]

DOORS: tuple[Door, ...] = (
    ("impl.Pool", False, lambda d: impl.Pool(d.connect, max_size=3, timeout=10.0)),
    ("QueuePool", False, lambda d: impl.QueuePool(d.connect, pool_size=2, max_overflow=1)),
    ("NullPool", False, lambda d: impl.NullPool(d.connect)),
    ("SingletonThreadPool", True, lambda d: impl.SingletonThreadPool(d.connect, pool_size=10)),
    ("PooledDB", False, lambda d: impl.PooledDB(d, maxconnections=3, blocking=True)),
    ("PersistentDB", True, impl.PersistentDB),
    ("SessionPool", False, lambda d: impl.SessionPool(d, pool_limit=3)),
    ("quasardb SingletonPool", True, lambda d: impl.SingletonPool(d.connect)),
)


def _checkout(pool: Any) -> Any:
    for name in ("acquire", "connect", "connection", "get_session"):
        fn = getattr(pool, name, None)
        if fn is not None:
            return fn()
    raise TypeError(f"no checkout method on {pool!r}")


def _work(pool: Any, rounds: int) -> None:
    for _ in range(rounds):
        conn = _checkout(pool)
        try:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
        finally:
            conn.close()


def check_door(door: Door, *, threads: int = 4, rounds: int = 3) -> HygieneResult:
    """Drive one door from short-lived threads, then look for leftovers."""
    name, per_thread, build = door
    gc.collect()
    threads_before = threading.active_count()
    fds_before = open_fds()
    with tempfile.TemporaryDirectory(prefix="poolspec-hyg-") as tmp:
        driver = RecordingDriver(
            sqlite3,
            connect_args=(os.path.join(tmp, "h.db"),),
            connect_kwargs={"check_same_thread": False},
        )
        pool = build(driver)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                _work(pool, rounds)
            except BaseException as exc:  # noqa: BLE001 - reported as a problem below
                errors.append(exc)

        workers = [threading.Thread(target=run) for _ in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        del workers
        gc.collect()
        stats = getattr(pool, "stats", None)
        if callable(stats):
            stats()  # the pool's next operation: ended threads' connections close
        after_threads = len(driver.open_connections())
        pool.close()
        after_close = len(driver.open_connections())
        made = driver.connects
    gc.collect()
    result = HygieneResult(
        name,
        threads,
        made,
        after_threads,
        after_close,
        threading.active_count() - threads_before,
        open_fds() - fds_before if fds_before >= 0 else 0,
    )
    result.problems.extend(f"a worker failed: {exc!r}" for exc in errors)
    if per_thread and after_threads:
        result.problems.append(f"{after_threads} connection(s) of ended threads still open")
    if after_close:
        result.problems.append(f"{after_close} connection(s) open after close()")
    if result.extra_threads > 0:
        result.problems.append(f"{result.extra_threads} thread(s) left running")
    if result.extra_fds > 0:
        result.problems.append(f"{result.extra_fds} file descriptor(s) left open")
    return result


def check_all(on_door: Callable[[str], None] | None = None) -> list[HygieneResult]:
    """Every door in :data:`DOORS`."""
    results = []
    for door in DOORS:
        res = check_door(door)
        results.append(res)
        if on_door is not None:
            state = "clean" if not res.problems else "; ".join(res.problems)
            on_door(f"hygiene: {res.door}: {state}")
    return results
