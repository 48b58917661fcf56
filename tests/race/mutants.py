"""Deliberately broken copies of our pool, each a race the scheduler must find.

Each mutant patches one method of ``impl.Pool`` (with ``monkeypatch``, for
the duration of a test) the way a real concurrency bug of that kind would
look, at the place in ``impl/_pool.py`` where it would really live.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from impl import _pool
from impl._records import Resolution


def unlocked_check_then_act(mp: pytest.MonkeyPatch) -> None:
    """CAP-1 bug: the slot check and the open-count increment are two lock holds."""
    original = _pool.Pool._decide_locked

    def decide(self: Any, binding: Any, timeout: Any, deadline: Any, slot: Any) -> Any:
        if not self._closed and not self._idle and self._open < self._max_size:
            # the check passed; the lock is dropped before acting on it
            self._lock.release()
            self._lock.acquire()
            self._open += 1
            return _pool._Action.CONNECT, None, slot
        return original(self, binding, timeout, deadline, slot)

    mp.setattr(_pool.Pool, "_decide_locked", decide)


def lost_notify(mp: pytest.MonkeyPatch) -> None:
    """WAIT-3 bug: the waiter checks its slot and starts waiting in two lock holds."""

    def wait_locked(self: Any, slot: Any) -> Resolution:
        clock = self._clock
        while slot.outcome is None:
            # the check is done; a notify sent before the wait below is lost
            self._lock.release()
            self._lock.acquire()
            deadline = slot.deadline
            if deadline is None:
                clock.wait(slot.cond, None)
                continue
            now = clock.now()
            if now >= deadline:
                if slot.outcome is None:
                    self._waiters.remove(slot)
                    self._resolve_locked(slot, Resolution.TIMEOUT, now)
                break
            clock.wait(slot.cond, deadline - now)
        outcome: Resolution = slot.outcome
        return outcome

    mp.setattr(_pool.Pool, "_wait_locked", wait_locked)


def handoff_to_timed_out(mp: pytest.MonkeyPatch) -> None:
    """CAP-5 bug: a waiter past its deadline times out even though a connection was handed to it."""

    def wait_locked(self: Any, slot: Any) -> Resolution:
        clock = self._clock
        while True:
            deadline = slot.deadline
            now = clock.now()
            if deadline is not None and now >= deadline:
                # the deadline is checked before the outcome: a hand-off that
                # landed meanwhile is dropped, and its connection with it
                if slot in self._waiters:
                    self._waiters.remove(slot)
                slot.outcome = Resolution.TIMEOUT
                self._timeouts += 1
                return Resolution.TIMEOUT
            if slot.outcome is not None:
                outcome: Resolution = slot.outcome
                return outcome
            clock.wait(slot.cond, None if deadline is None else deadline - now)

    mp.setattr(_pool.Pool, "_wait_locked", wait_locked)


def slot_kept_on_base_exception(mp: pytest.MonkeyPatch) -> None:
    """CONN-1 / CAP-5 bug: a connect that raises a BaseException keeps its slot."""

    def connect_in_slot(self: Any, deadline: Any, binding: Any) -> Any:
        try:
            return self._open_record(deadline)
        except Exception:  # only Exception: a KeyboardInterrupt skips the give-back
            with self._lock:
                self._open -= 1
                self._serve_locked()
            raise

    mp.setattr(_pool.Pool, "_connect_in_slot", connect_in_slot)


def reset_under_lock(mp: pytest.MonkeyPatch) -> None:
    """DEADLOCK bug: the reset on return (and its listener) runs while the pool lock is held."""

    def release(self: Any, rec: Any) -> None:
        with self._lock:  # decide and reset in one critical section
            rec.holders -= 1
            ok = not self._closed and self._reset(rec)
            doomed = self._give_locked(rec) if ok else rec
        if doomed is not None:
            self._discard(doomed)

    mp.setattr(_pool.Pool, "_release", release)


@dataclass(frozen=True)
class Mutant:
    """A broken pool, the scenario that exposes it, and the rules its failure may show."""

    name: str
    apply: Callable[[pytest.MonkeyPatch], None]
    scenario: str
    rules: frozenset[str]


SEED = 1
PCT_DEPTH = 4
BOUND = 2

#: strategy -> depth argument of ``explore``
DEPTHS = {"random": 1, "pct": PCT_DEPTH, "exhaustive": BOUND}

#: strategy -> the most schedules it may take to find any mutant (seed ``SEED``).
#: The exhaustive budget covers every schedule within ``BOUND`` preemptions of
#: the scenarios used (438 to 582 schedules at the time of writing), so its
#: verdict does not hang on the order of the search.
BUDGETS = {"random": 100, "pct": 150, "exhaustive": 600}

MUTANTS = [
    Mutant(
        "unlocked-check-then-act",
        unlocked_check_then_act,
        "handoff",
        frozenset({"CAP-1"}),
    ),
    Mutant(
        "lost-notify",
        lost_notify,
        "handoff",
        frozenset({"WAIT-3"}),
    ),
    Mutant(
        "handoff-to-timed-out",
        handoff_to_timed_out,
        "handoff",
        frozenset({"CAP-5"}),
    ),
    Mutant(
        "slot-kept-on-base-exception",
        slot_kept_on_base_exception,
        "interrupted-connect",
        # the leaked slot starves the other thread (WAIT-3) or shows in the end accounting
        frozenset({"CAP-5", "WAIT-3"}),
    ),
    Mutant(
        "reset-under-lock",
        reset_under_lock,
        "reset-listener",
        frozenset({"DEADLOCK"}),
    ),
]


def main() -> None:
    """Print the mutant table of spec/CONCURRENCY.md (schedules each strategy needed)."""
    from spec._race import SCENARIOS, explore, target_for

    print(
        f"| mutant | scenario | rule broken | random | pct (depth {PCT_DEPTH}) "
        f"| exhaustive (bound {BOUND}) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for m in MUTANTS:
        cells = []
        rule = "?"
        for strategy, depth in DEPTHS.items():
            mp = pytest.MonkeyPatch()
            m.apply(mp)
            try:
                report = explore(
                    SCENARIOS[m.scenario],
                    target_for("poolspec"),
                    strategy=strategy,
                    depth=depth,
                    schedules=2000,
                    seed=SEED,
                )
            finally:
                mp.undo()
            if report.failure is not None and report.failure.finding is not None:
                rule = report.failure.finding.rule
                cells.append(f"{report.schedules} ({rule})")
            else:
                cells.append(f"not found in {report.schedules}")
        print(
            f"| {m.name} | {m.scenario} | {', '.join(sorted(m.rules))} | "
            + " | ".join(cells)
            + " |"
        )


if __name__ == "__main__":
    main()
