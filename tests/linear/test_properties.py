"""Properties of the linearizability checker, on histories generated from the model itself."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model
from model import OK, OpKind, Status, got
from spec._linear import HistoryOp, check_history

CONFIGS = (
    model.Config(max_size=1),
    model.Config(max_size=2, idle_cap=1),
    model.Config(max_size=2, fairness=model.Fairness.BARGING),
    model.Config(max_size=2, block=False),
    model.Config(max_size=2, reopen=True),
    model.Config(max_size=3, idle_order=model.IdleOrder.LIFO, reset=model.ResetMode.NONE),
)
# Time is not a free run's: ticks have no place in a history; pings are not armed.
SKIPPED = frozenset({OpKind.TICK, OpKind.FAIL_PING})


@st.composite
def sequential_runs(draw: st.DrawFn) -> tuple[model.Config, list[HistoryOp]]:
    """A run of the model, one operation at a time, recorded with non-overlapping times.

    Each operation takes [t, t + 1]; an acquire that waits returns when the
    operation that wakes it does. Model connection ids are renamed at random,
    as a driver would number them.
    """
    config = draw(st.sampled_from(CONFIGS))
    actors = draw(st.integers(1, 4))
    state = model.initial(config, actors).state
    rename = draw(st.permutations(range(64)))
    history: list[HistoryOp] = []
    parked: dict[int, tuple[int, int]] = {}  # actor -> (index in history, invoked)
    t = 0

    def seen(result: model.Result) -> model.Result:
        if result.status is Status.GOT:
            assert result.conn is not None
            return got(rename[result.conn])
        return result

    for _ in range(draw(st.integers(0, 25))):
        choices = [o for o in model.enabled(config, state) if o.kind not in SKIPPED]
        if not choices:
            break
        op = draw(st.sampled_from(choices))
        out = draw(st.sampled_from(model.step(config, state, op)))
        state = out.state
        if op.kind is OpKind.KILL:
            assert op.conn is not None
            history.append(HistoryOp(None, op.kind, t, t + 1, OK, conn=rename[op.conn]))
        elif out.result.status is Status.WAIT:
            assert op.actor is not None
            parked[op.actor] = (len(history), t)
            history.append(HistoryOp(op.actor, op.kind, t, None, None))
        else:
            history.append(HistoryOp(op.actor, op.kind, t, t + 1, seen(out.result)))
        for wakeup in out.wakeups:
            index, invoked = parked.pop(wakeup.actor)
            history[index] = HistoryOp(
                wakeup.actor, OpKind.ACQUIRE, invoked, t + 1, seen(wakeup.result)
            )
        t += 2
    return config, history


@settings(max_examples=150, deadline=None)
@given(sequential_runs())
def test_model_runs_are_linearizable(run: tuple[model.Config, list[HistoryOp]]) -> None:
    """Whatever the model does one step at a time, with times that say so, is linearizable."""
    config, history = run
    result = check_history(config, history, max_seconds=None)
    assert result.ok, "\n".join(result.stuck)


@st.composite
def shuffled_double_checkouts(draw: st.DrawFn) -> list[HistoryOp]:
    """Two threads both handed driver connection #c, at times shuffled at random.

    Both checkouts return before either holder gives the connection back, in
    whatever order and overlap the draw makes.
    """
    conn = draw(st.integers(0, 9))
    times = sorted(draw(st.lists(st.integers(0, 1000), min_size=8, max_size=8, unique=True)))
    calls = draw(st.permutations(times[:2]))
    returns = draw(st.permutations(times[2:4]))
    gives = draw(st.permutations(times[4:6]))
    ends = draw(st.permutations(times[6:8]))
    actors = draw(st.permutations([0, 1]))
    history = [
        HistoryOp(actors[k], OpKind.ACQUIRE, calls[k], returns[k], got(conn)) for k in (0, 1)
    ]
    history += [HistoryOp(actors[k], OpKind.RELEASE, gives[k], ends[k], OK) for k in (0, 1)]
    return draw(st.permutations(history))


@settings(max_examples=100, deadline=None)
@given(shuffled_double_checkouts(), st.sampled_from([2, 3, None]))
def test_shuffled_bad_history_stays_a_violation(history: list[HistoryOp], cap: int | None) -> None:
    """Two holders of one connection at once is a violation, however the times are shuffled."""
    result = check_history(model.Config(max_size=cap), history, max_seconds=None)
    assert result.verdict == "violation"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"max_size={c.max_size}")
def test_empty_history_is_linearizable(config: model.Config) -> None:
    """Nothing happened: trivially linearizable under every configuration."""
    assert check_history(config, []).ok
