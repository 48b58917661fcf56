"""Broken copies of our pool are found by the scheduler within a stated budget; ours is not.

Each mutant (``tests/race/mutants.py``) is applied with ``monkeypatch`` for
the duration of one test. With a fixed seed the search is deterministic, so
the budget is a bound on a fixed number (listed in spec/CONCURRENCY.md;
``python -m tests.race.mutants`` prints them).
"""

from __future__ import annotations

import pytest

from spec._race import SCENARIOS, OurTarget, explore

from .mutants import BUDGETS, DEPTHS, MUTANTS, SEED, Mutant

pytestmark = pytest.mark.stateful

CASES = [(m, strategy) for m in MUTANTS for strategy in DEPTHS]
IDS = [f"{m.name}-{strategy}" for m, strategy in CASES]


@pytest.mark.parametrize(("mutant", "strategy"), CASES, ids=IDS)
def test_mutant_found_within_budget(
    monkeypatch: pytest.MonkeyPatch, mutant: Mutant, strategy: str
) -> None:
    """The strategy finds the seeded race within its budget, under the rule the bug breaks."""
    mutant.apply(monkeypatch)
    budget = BUDGETS[strategy]
    report = explore(
        SCENARIOS[mutant.scenario],
        OurTarget(),
        strategy=strategy,
        depth=DEPTHS[strategy],
        schedules=budget,
        seed=SEED,
    )
    assert report.failure is not None, f"not found in {report.schedules} schedules"
    assert report.failure.finding is not None
    assert report.failure.finding.rule in mutant.rules, report.failure.format_trace()


@pytest.mark.parametrize(("mutant", "strategy"), CASES, ids=IDS)
def test_real_pool_passes_the_same_runs(mutant: Mutant, strategy: str) -> None:
    """The unbroken pool passes the very schedules (same seed, same budget) the mutant fails."""
    budget = BUDGETS[strategy]
    report = explore(
        SCENARIOS[mutant.scenario],
        OurTarget(),
        strategy=strategy,
        depth=DEPTHS[strategy],
        schedules=budget,
        seed=SEED,
    )
    assert report.failure is None, report.failure and report.failure.format_trace()
    assert report.schedules == budget or report.exhausted


def test_hypothesis_shrinks_a_failing_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis finds a schedule list exposing the lost notify, shrinks it, and it replays."""
    from hypothesis import find, settings
    from hypothesis import strategies as st

    from spec._race import replay

    from .mutants import lost_notify

    lost_notify(monkeypatch)
    scenario, target = SCENARIOS["handoff"], OurTarget()
    schedule = find(
        st.lists(st.integers(0, 3), max_size=40),
        lambda choices: replay(scenario, target, choices).failed,
        settings=settings(database=None, max_examples=1000, derandomize=True),
    )
    again = replay(scenario, target, schedule)
    assert again.finding is not None
    assert again.finding.rule == "WAIT-3"
    assert sum(1 for c in schedule if c) <= 4  # shrunk to a few deviations from the default
