"""The controlled scheduler on toy programs: replay, deadlocks, enumeration, virtual time."""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from spec._sched import (
    PCT,
    Drawn,
    ManagedLock,
    Outcome,
    PreemptionBounded,
    RandomWalk,
    Replay,
    Scheduler,
    SchedulerError,
    Strategy,
    substitute,
)


def counter(sched: Scheduler, *, locked: bool, threads: int = 2) -> dict[str, int]:
    """Threads that each add 1 to a shared counter, reading and writing at two points."""
    state = {"n": 0}
    lock = sched.lock()

    def body() -> None:
        if locked:
            lock.acquire()
        value = state["n"]
        sched.point("read")
        state["n"] = value + 1
        if locked:
            lock.release()

    for i in range(threads):
        sched.spawn(f"t{i}", body)
    return state


def run_counter(strategy: Strategy, *, locked: bool) -> tuple[Scheduler, int]:
    sched = Scheduler(strategy)
    state = counter(sched, locked=locked)
    assert sched.run() is Outcome.FINISHED
    return sched, state["n"]


def two_locks(sched: Scheduler) -> None:
    """The textbook deadlock: one thread takes A then B, the other B then A."""
    a, b = sched.lock(), sched.lock()

    def ab() -> None:
        with a, b:
            pass

    def ba() -> None:
        with b, a:
            pass

    sched.spawn("ab", ab)
    sched.spawn("ba", ba)


def two_points(sched: Scheduler) -> None:
    """Two threads of three steps each (start, x, y): C(6, 3) = 20 interleavings."""

    def body() -> None:
        sched.point("x")
        sched.point("y")

    sched.spawn("a", body)
    sched.spawn("b", body)


def enumerate_all(program: Callable[[Scheduler], None], bound: int) -> list[Scheduler]:
    explorer = PreemptionBounded(bound)
    runs = []
    while (nxt := explorer.next_strategy()) is not None:
        recording, cost = nxt
        sched = Scheduler(recording)
        program(sched)
        sched.run()
        explorer.done_with(recording, cost)
        runs.append(sched)
    return runs


def test_replay_reproduces_a_random_schedule_exactly() -> None:
    """A schedule's recorded choices replay the very same interleaving."""
    first, n = run_counter(RandomWalk(random.Random(7)), locked=False)
    again, m = run_counter(Replay(first.choices), locked=False)
    assert again.trace == first.trace
    assert again.choices == first.choices
    assert m == n


def test_same_seed_same_schedules() -> None:
    """Random walk and PCT are deterministic for a seed."""
    for make in (RandomWalk, lambda r: PCT(r, 3, 20)):
        a, _ = run_counter(make(random.Random(3)), locked=False)
        b, _ = run_counter(make(random.Random(3)), locked=False)
        assert a.trace == b.trace


def counts(*, locked: bool, bound: int) -> list[int]:
    """The counter's final value in every schedule within ``bound`` preemptions."""
    explorer = PreemptionBounded(bound)
    finals = []
    while (nxt := explorer.next_strategy()) is not None:
        recording, cost = nxt
        sched = Scheduler(recording)
        state = counter(sched, locked=locked)
        sched.run()
        explorer.done_with(recording, cost)
        finals.append(state["n"])
    return finals


def test_lost_update_found_and_absent_under_a_lock() -> None:
    """The unlocked counter loses an update with one preemption; the locked one never does."""
    assert set(counts(locked=False, bound=0)) == {2}
    assert 1 in counts(locked=False, bound=1)
    assert set(counts(locked=True, bound=3)) == {2}


def test_deadlock_detected_on_two_locks() -> None:
    """Taking two locks in opposite orders deadlocks with one preemption, never with none."""
    for run in enumerate_all(two_locks, bound=0):
        assert run.finding is None
    deadlocks = [run for run in enumerate_all(two_locks, bound=1) if run.finding is not None]
    assert deadlocks
    finding = deadlocks[0].finding
    assert finding is not None
    assert finding.rule == "DEADLOCK"
    assert "lock#1" in finding.message
    assert "lock#2" in finding.message


def test_self_deadlock_on_a_non_reentrant_lock() -> None:
    """A thread taking a lock it holds is a deadlock even while another sleeps on time."""
    sched = Scheduler(Replay([]))
    lock = sched.lock()

    def twice() -> None:
        with lock, lock:
            pass

    sched.spawn("twice", twice)
    sched.spawn("sleeper", lambda: sched.sleep(5))  # sleep-ok: the scheduler's virtual time
    assert sched.run() is Outcome.DEADLOCK
    assert sched.finding is not None
    assert "held by twice" in sched.finding.message


def test_exhaustive_counts_by_preemption_bound() -> None:
    """Two threads of three steps: 2, 6, 14, 18, 20 schedules within 0..4 preemptions."""
    counts = [len(enumerate_all(two_points, bound)) for bound in range(6)]
    assert counts == [2, 6, 14, 18, 20, 20]
    assert counts[-1] == math.comb(6, 3)  # every interleaving, each once
    traces = {
        tuple((s.thread, s.action) for s in run.trace) for run in enumerate_all(two_points, 4)
    }
    assert len(traces) == 20


def test_livelock_is_the_step_bound() -> None:
    """A thread that never ends is reported as a livelock at the step bound."""
    sched = Scheduler(Replay([]), max_steps=50)

    def spin() -> None:
        while True:
            sched.point("spin")

    sched.spawn("spin", spin)
    assert sched.run() is Outcome.LIVELOCK
    assert sched.finding is not None
    assert sched.finding.rule == "LIVELOCK"


def test_timed_wait_expires_only_in_virtual_time() -> None:
    """A wait with a timeout nobody notifies returns False when virtual time reaches it."""
    sched = Scheduler(Replay([]), time_choices=False)
    cond = sched.condition(sched.lock())
    seen: list[tuple[bool, float]] = []

    def waiter() -> None:
        with cond:
            seen.append((cond.wait(5.0), sched.now))

    sched.spawn("waiter", waiter)
    assert sched.run() is Outcome.FINISHED
    assert seen == [(False, 5.0)]


def test_notify_wakes_before_the_timeout() -> None:
    """A waiter notified before its deadline returns True and time does not move."""
    sched = Scheduler(Replay([]), time_choices=False)
    cond = sched.condition(sched.lock())
    seen: list[tuple[bool, float]] = []
    state = {"ready": False}

    def waiter() -> None:
        with cond:
            while not state["ready"]:
                seen.append((cond.wait(5.0), sched.now))

    def notifier() -> None:
        with cond:
            state["ready"] = True
            cond.notify()

    sched.spawn("waiter", waiter)
    sched.spawn("notifier", notifier)
    assert sched.run() is Outcome.FINISHED
    assert seen == [(True, 0.0)]


def test_unmanaged_thread_cannot_block() -> None:
    """Setup code outside the managed threads may take a free lock but never block on one."""
    sched = Scheduler(Replay([]))
    lock = sched.lock()
    assert lock.acquire()
    assert not lock.acquire(blocking=False)
    with pytest.raises(SchedulerError, match="does not manage"):
        lock.acquire()
    lock.release()


def test_replay_takes_choices_modulo_the_options() -> None:
    """Any list of non-negative integers is a valid schedule."""
    replay = Replay([5, 1])
    assert replay.choose(["a", "b"], True) == 1
    assert replay.choose(["a", "b", "c"], True) == 1
    assert replay.choose(["a", "b"], True) == 0


def test_bad_arguments_are_named() -> None:
    """Bad depths and bounds are refused with the value in the message."""
    with pytest.raises(ValueError, match="depth must be >= 1, got 0"):
        PCT(random.Random(0), 0)
    with pytest.raises(ValueError, match="bound must be >= 0, got -1"):
        PreemptionBounded(-1)
    with pytest.raises(ValueError, match="max_steps must be >= 1, got 0"):
        Scheduler(Replay([]), max_steps=0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_drawn_schedules_never_lose_a_locked_update(data: st.DataObject) -> None:
    """Hypothesis-drawn schedules of the locked counter always count to 2."""
    _, n = run_counter(Drawn(data), locked=True)
    assert n == 2


def test_hypothesis_finds_and_shrinks_a_lost_update() -> None:
    """Hypothesis finds a schedule list losing an update, shrinks it, and it replays."""
    schedule = find(
        st.lists(st.integers(0, 3), max_size=20),
        lambda choices: run_counter(Replay(choices), locked=False)[1] < 2,
        settings=settings(database=None, max_examples=500, derandomize=True),
    )
    assert len(schedule) <= 3
    assert run_counter(Replay(schedule), locked=False)[1] == 1


def test_substitute_patches_and_restores_sqlalchemy() -> None:
    """SQLAlchemy's queue builds managed primitives and reads virtual time inside the block."""
    queue = pytest.importorskip("sqlalchemy.util.queue")
    sched = Scheduler(Replay([]))
    sched.now = 42.0
    with substitute(sched):
        q = queue.Queue(2)
        assert isinstance(q.mutex, ManagedLock)
        assert queue._time() == 42.0
    assert queue.threading is threading
    assert not isinstance(queue.Queue(2).mutex, ManagedLock)


def test_substitute_patches_and_restores_dbutils() -> None:
    """DBUtils' ``from threading import Condition`` is replaced inside the block only."""
    pooled_db = pytest.importorskip("dbutils.pooled_db")
    sched = Scheduler(Replay([]))
    with substitute(sched):
        assert pooled_db.Condition == sched.condition
    assert pooled_db.Condition is threading.Condition
