"""Stress: our pool passes a bounded free run; broken copies of it are caught.

The runs are free-running threads, so their interleavings differ from run to
run; what is pinned is the verdict. Our pool must pass every run. Each mutant
widens its own race window (the bug lets go of the lock, or loses a
hand-off, where the real pool does not), and is asserted caught within a
generous number of runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from impl import _pool
from impl._records import Resolution
from spec._stress import (
    StressOptions,
    StressReport,
    WaitRecorder,
    _Run,
    engine_target,
    format_stress,
    make_target,
    run_stress,
    stress_json,
)

# 16 threads x 300 operations each; the first 400 checked for linearizability.
OPTIONS = StressOptions(threads=16, ops=16 * 300, seconds=60.0, seed=7, window=400, max_seconds=15)
# Mutants are caught by the continuous invariants and the end checks; a small
# linearizability window keeps each run short.
MUTANT_OPTIONS = StressOptions(threads=16, ops=16 * 300, seconds=60.0, window=150, max_seconds=5)
MUTANT_RUNS = 6


def test_our_pool_passes() -> None:
    """Our engine, 16 threads, with faults: no invariant broken, no leak, not unlinearizable."""
    report = run_stress(engine_target(), OPTIONS)
    assert not report.failed, format_stress(report)
    assert report.ops == OPTIONS.ops
    assert report.linear is not None
    assert report.linear.verdict != "violation"
    assert report.window >= 300
    assert report.fifo_checked
    # the run did meet faults and contention, or it proves little
    assert report.faults["connect refused"] > 0
    assert report.faults["connection killed"] > 0
    assert report.expected["acquire: connect_failed"] > 0


def test_the_cap_check_reads_one_snapshot_a_detach_cannot_split() -> None:
    """CAP-1 is judged on the open and detached sets read together, not a detach apart.

    Another worker may act whenever the run's guard is free: here, at the
    first such read, it detaches the one connection (its bookkeeping first,
    as a worker does) and connects a new one in the freed slot. Read apart,
    the check counted the new connection as open and the detached one not
    yet as detached: two open on a cap of one, a violation that never was.
    """
    run = _Run(engine_target(max_size=1), StressOptions(threads=1, ops=1), None)
    held = run.pool.acquire()
    others: list[Any] = []
    read_open = run.driver.open_connections

    def open_connections() -> frozenset[int]:
        if not run.guard.locked() and not others:  # the other worker's turn
            with run.guard:
                run.detached.add(0)
            held.detach()
            others.append(run.pool.acquire())
        return read_open()

    run.driver.open_connections = open_connections  # type: ignore[method-assign]
    run.took(0, 0)
    assert run.report.violations == []
    run.driver.open_connections = read_open  # type: ignore[method-assign]
    for handle in (*others, held):
        handle.close()
    run.pool.close()


def test_wait_recorder_follows_a_slot_reused_by_other_threads() -> None:
    """Each acquire is given its own wait's instants, though its slot's condition is reused.

    The engine reuses a finished wait's slot, condition included, for the
    next wait of any thread; here as it calls the seams, one thread at a
    time (each actor a single worker thread, the resolutions from this
    one). The recorder took a condition for its maker's: the next waiter
    on it was recorded as never waiting, and the maker's next acquire
    reported that waiter's hand-off as its own.
    """
    recorder = WaitRecorder()
    lock = recorder.lock()
    a, b, c = (ThreadPoolExecutor(max_workers=1) for _ in range(3))

    def on(actor: ThreadPoolExecutor, fn: Callable[[], Any]) -> Any:
        return actor.submit(fn).result()

    def queue_new() -> Any:  # _queue_locked with no spare slot: the clock, then a condition
        recorder.start()
        with lock:
            recorder.now()
            return recorder.condition(lock)

    def queue_reused() -> None:  # a spare slot: only the clock
        recorder.start()
        with lock:
            recorder.now()

    def block() -> None:  # the slot still unresolved: wait on its condition
        with lock:
            recorder.wait(cond, 0)

    def resolve() -> tuple[int, int]:  # when, at the earliest and latest, it notified
        with lock:
            before = time.monotonic_ns()
            cond.notify()
            return before, time.monotonic_ns()

    def served_then(waits: tuple[int | None, int | None], then: tuple[int, int]) -> bool:
        queued, served = waits
        return queued is not None and served is not None and then[0] <= served <= then[1]

    cond = on(a, queue_new)
    one = resolve()  # before a blocks: it never waits on its own
    first = on(a, recorder.waits)
    on(b, queue_reused)
    on(b, block)
    two = resolve()
    on(c, queue_reused)
    on(c, block)  # c holds the slot before b reads its instants
    on(a, recorder.start)  # a's next acquire takes an idle connection
    three = resolve()
    second, third, idle = on(b, recorder.waits), on(c, recorder.waits), on(a, recorder.waits)
    for actor in (a, b, c):
        actor.shutdown()
    assert served_then(first, one)
    assert served_then(second, two)
    assert served_then(third, three)
    assert idle == (None, None)


@pytest.mark.parametrize("name", ["poolspec-queuepool", "poolspec-pooleddb"])
def test_front_doors_pass(name: str) -> None:
    """Our front doors under the same stress break nothing either."""
    options = StressOptions(threads=16, ops=3000, seconds=60.0, seed=3, window=200, max_seconds=5)
    report = run_stress(make_target(name), options)
    assert not report.failed, format_stress(report)


def test_report_json_is_complete() -> None:
    """The JSON report carries the verdict, the counts and the linearizability result."""
    report = run_stress(engine_target(), StressOptions(threads=4, ops=200, window=100))
    data = stress_json(report)
    assert data["verdict"] == report.verdict
    assert data["ops"] == 200
    assert data["linearizability"]["window"] == report.window
    assert isinstance(data["fifo"], list)


def test_bad_options_name_the_value() -> None:
    """Options that cannot make a bounded run are refused, naming the value."""
    with pytest.raises(ValueError, match=r"threads must be in 1\.\.256, got 0"):
        StressOptions(threads=0)
    with pytest.raises(ValueError, match="stop by itself"):
        StressOptions(ops=None, seconds=None)
    with pytest.raises(ValueError, match="unknown stress target 'nope'"):
        make_target("nope")


# -- mutants ---------------------------------------------------------------------------


def cap_check_split(mp: pytest.MonkeyPatch) -> None:
    """CAP-1 bug: the room for a connect is checked, the lock let go, then the slot taken."""
    original = _pool.Pool._decide_locked

    def decide(self: Any, binding: Any, timeout: Any, deadline: Any, slot: Any) -> Any:
        room = self._max_size is None or self._open < self._max_size
        if not self._idle and not self._closed and room:
            self._lock.release()
            time.sleep(0.0002)  # sleep-ok: widens the mutant's race window
            self._lock.acquire()
            self._open += 1  # acts on the stale check
            return _pool._Action.CONNECT, None, slot
        return original(self, binding, timeout, deadline, slot)

    mp.setattr(_pool.Pool, "_decide_locked", decide)


def hand_off_to_timed_out_waiter(mp: pytest.MonkeyPatch) -> None:
    """WAIT-2/WAIT-5 bug: a waiter whose deadline passed drops the connection handed to it."""
    original = _pool.Pool._wait_locked

    def wait_locked(self: Any, slot: Any) -> Any:
        outcome = original(self, slot)
        late = slot.deadline is not None and self._clock.now() >= slot.deadline
        if outcome is Resolution.HANDOFF and late:
            slot.outcome = Resolution.TIMEOUT  # the handed connection is lost
            return Resolution.TIMEOUT
        return outcome

    mp.setattr(_pool.Pool, "_wait_locked", wait_locked)


MUTANTS: list[tuple[Callable[[pytest.MonkeyPatch], None], str]] = [
    (cap_check_split, "CAP-1"),
    (hand_off_to_timed_out_waiter, "leak"),
]


def _caught(report: StressReport) -> list[str]:
    found = list(report.violations)
    if report.leaks:
        found.append("leak")
    if report.linear is not None and report.linear.verdict == "violation":
        found.append("not linearizable")
    return found


@pytest.mark.parametrize(("mutate", "sign"), MUTANTS, ids=[m[0].__name__ for m in MUTANTS])
def test_mutant_caught(
    monkeypatch: pytest.MonkeyPatch, mutate: Callable[[pytest.MonkeyPatch], None], sign: str
) -> None:
    """A pool with a seeded race fails the stress run within a few runs, with the right sign."""
    mutate(monkeypatch)
    seen: list[str] = []
    for seed in range(MUTANT_RUNS):
        options = StressOptions(
            threads=MUTANT_OPTIONS.threads,
            ops=MUTANT_OPTIONS.ops,
            seconds=MUTANT_OPTIONS.seconds,
            seed=seed,
            window=MUTANT_OPTIONS.window,
            max_seconds=MUTANT_OPTIONS.max_seconds,
        )
        report = run_stress(engine_target(timeout=0.002), options)
        seen = _caught(report)
        if any(sign in s for s in seen):
            assert report.failed
            return
    pytest.fail(f"not caught in {MUTANT_RUNS} runs; last run found {seen}")
