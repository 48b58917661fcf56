"""Race runs of scenarios against our pool and the third-party pools."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spec._linear import check_history
from spec._race import (
    SCENARIOS,
    DBUtilsTarget,
    Op,
    OurTarget,
    Scenario,
    SQLAlchemyTarget,
    UnsupportedError,
    explore,
    linear_history,
    replay,
    run_schedule,
)
from spec._sched import Drawn, Outcome, Replay

pytestmark = pytest.mark.stateful


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_our_pool_passes_every_scenario(name: str) -> None:
    """Our pool breaks no rule in 40 random schedules of each scenario."""
    report = explore(SCENARIOS[name], OurTarget(), strategy="random", schedules=40, seed=0)
    assert report.failure is None, report.failure and report.failure.format_trace()
    assert report.schedules == 40


@pytest.mark.parametrize("name", ["handoff", "interrupted-connect", "reset-listener"])
def test_our_pool_passes_every_schedule_within_one_preemption(name: str) -> None:
    """Every schedule of the two-thread scenarios with at most one preemption passes."""
    report = explore(SCENARIOS[name], OurTarget(), strategy="exhaustive", depth=1, schedules=500)
    assert report.failure is None, report.failure and report.failure.format_trace()
    assert report.exhausted


def test_history_records_every_operation() -> None:
    """The run's history has one entry per op, invoked before it responded, with its result."""
    result = run_schedule(SCENARIOS["handoff"], OurTarget(), Replay([]))
    assert result.outcome is Outcome.FINISHED
    ops = [(e.thread, e.op) for e in result.history if e.thread != "probe"]
    assert sorted(ops) == [
        ("t0", "acquire"),
        ("t0", "release"),
        ("t1", "acquire"),
        ("t1", "release"),
    ]
    for entry in result.history:
        assert entry.responded is not None
        assert entry.invoked <= entry.responded
    acquired = [e.result for e in result.history if e.op == "acquire" and e.thread != "probe"]
    assert all(isinstance(conn, int) for conn in acquired)
    assert {e.thread for e in result.history} >= {"probe"}  # the end check's own checkouts
    # the trace says where in the pool each thread was scheduled
    assert any(step.where.startswith("impl/_pool.py:") for step in result.trace)


def test_waiter_timeout_is_virtual() -> None:
    """A waiter whose holder sleeps past its timeout gets PoolTimeout at virtual t=1."""
    scenario = Scenario(
        "sleepy-holder",
        "the holder sleeps 5 s, the waiter waits 1 s",
        ((Op("acquire"), Op("sleep", 5.0), Op("release")), (Op("sleep", 0.5), Op("acquire"))),
    )
    result = run_schedule(scenario, OurTarget(), Replay([]), time_choices=False)
    assert result.finding is None, result.format_trace()
    waiter = [e for e in result.history if e.thread == "t1" and e.op == "acquire"]
    assert waiter[0].error == "PoolTimeout"
    assert any(step.action == "advance to t=1.5" for step in result.trace)


def test_scenario_and_op_errors_name_the_value() -> None:
    """A bad op name, a negative sleep or an empty scenario is refused by name."""
    with pytest.raises(ValueError, match="unknown op 'grab'"):
        Op("grab")
    with pytest.raises(ValueError, match="seconds must be >= 0, got -1"):
        Op("sleep", -1)
    with pytest.raises(ValueError, match="scenario 'empty' has no thread"):
        Scenario("empty", "", ())
    with pytest.raises(ValueError, match="unknown strategy 'dfs'"):
        explore(SCENARIOS["handoff"], OurTarget(), strategy="dfs")


def test_sqlalchemy_misses_the_wakeup_after_a_failed_connect() -> None:
    """QueuePool: a waiter is not woken when another thread's overflow connect fails (WAIT-3)."""
    pytest.importorskip("sqlalchemy")
    report = explore(
        SCENARIOS["failed-connect"], SQLAlchemyTarget(), strategy="random", schedules=30, seed=1
    )
    failure = report.failure
    assert failure is not None
    assert failure.finding is not None
    assert failure.finding.rule == "WAIT-3"
    # the connect failed and its overflow slot came back without a notify
    assert any("_dec_overflow" in step.where for step in failure.trace)
    assert any(e.error == "OperationalError" for e in failure.history)
    again = replay(SCENARIOS["failed-connect"], SQLAlchemyTarget(), failure.choices)
    assert again.finding == failure.finding
    assert again.trace == failure.trace
    # our pool hands the freed slot to the waiter in the same runs
    ours = explore(
        SCENARIOS["failed-connect"], OurTarget(), strategy="random", schedules=30, seed=1
    )
    assert ours.failure is None


def test_sqlalchemy_dispose_with_a_connection_out_loses_count() -> None:
    """QueuePool.dispose() with a connection checked out resets its overflow (CLOSE-3)."""
    pytest.importorskip("sqlalchemy")
    report = explore(SCENARIOS["close"], SQLAlchemyTarget(), strategy="random", schedules=5)
    assert report.failure is not None
    assert report.failure.finding is not None
    assert report.failure.finding.rule in {"CAP-5", "CAP-1"}


@pytest.mark.parametrize("name", ["handoff", "contend", "failed-connect", "interrupted-connect"])
def test_dbutils_passes(name: str) -> None:
    """PooledDB (which connects under its lock) breaks no rule in 30 random schedules."""
    pytest.importorskip("dbutils")
    report = explore(SCENARIOS[name], DBUtilsTarget(), strategy="random", schedules=30, seed=1)
    assert report.failure is None, report.failure and report.failure.format_trace()


def test_unsupported_scenario_is_refused() -> None:
    """A target that lacks an op of the scenario refuses to run it, saying which."""
    with pytest.raises(UnsupportedError, match="cannot be invalidated"):
        run_schedule(SCENARIOS["invalidate-kill"], DBUtilsTarget(), Replay([]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_drawn_schedules_of_our_pool_break_nothing(data: st.DataObject) -> None:
    """Schedules drawn by Hypothesis (shrinkable on failure) break no rule of our pool."""
    result = run_schedule(SCENARIOS["failed-connect"], OurTarget(), Drawn(data))
    assert result.finding is None, result.format_trace()


def test_histories_of_our_pool_are_linearizable() -> None:
    """With linearize, every schedule's history is explained by the model (our pool)."""
    for name in ("handoff", "contend", "failed-connect", "invalidate-kill", "close", "barging"):
        report = explore(
            SCENARIOS[name], OurTarget(), strategy="random", schedules=15, seed=2, linearize=True
        )
        assert report.failure is None, report.failure and report.failure.format_trace()


def test_a_doctored_history_is_not_linearizable() -> None:
    """The translated history carries real results: a checkout's result changed breaks it."""
    scenario = SCENARIOS["contend"]
    result = run_schedule(scenario, OurTarget(), Replay([]))
    translated = linear_history(result, scenario)
    assert translated is not None
    config, ops = translated
    assert check_history(config, ops).verdict == "ok"
    # the second checkout claims a new connection although the first one was idle again
    first, second = [e for e in result.history if e.op == "acquire"][:2]
    assert first.result == second.result == 0
    second.result = 7
    translated = linear_history(result, scenario)
    assert translated is not None
    assert check_history(*translated).verdict == "violation"


def test_only_our_pool_translates() -> None:
    """Histories with an interrupted connect, or of another pool, have no model translation."""
    scenario = SCENARIOS["interrupted-connect"]
    assert linear_history(run_schedule(scenario, OurTarget(), Replay([])), scenario) is None
    pytest.importorskip("sqlalchemy")
    scenario = SCENARIOS["handoff"]
    assert linear_history(run_schedule(scenario, SQLAlchemyTarget(), Replay([])), scenario) is None
