"""The model checker: pinned state counts, traces, reports, and seeded bugs it must find."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

import model
from model import Bounds, Config, Fairness, IdleOrder, Ping, ResetMode, explore, format_report
from model import _transitions as T  # the seeded bugs patch the model's helpers
from model._rules import calls
from model._state import Effect, EffectKind, State

# A change in any of these counts is a change in the semantics: explain it in the commit.
PINNED = [
    ("cap1-2actors", Config(max_size=1), Bounds(actors=2, faults=0), 94),
    ("cap2-idle1", Config(max_size=2, idle_cap=1), Bounds(actors=3, faults=1), 4830),
    ("cap1-timeout", Config(max_size=1, timeout=2), Bounds(actors=2, faults=1), 474),
    ("per-thread", Config(max_size=1, per_thread=True), Bounds(actors=2, faults=0), 178),
    (
        "policies",
        Config(
            max_size=1, reset=ResetMode.FULL, session_setup=True, ping=Ping.ON_CHECKOUT,
            reopen=True, max_usage=1,
        ),
        Bounds(actors=2, faults=1),
        562,
    ),
]


@pytest.mark.parametrize(("name", "cfg", "bounds", "count"), PINNED, ids=[p[0] for p in PINNED])
def test_pinned_state_counts(name: str, cfg: Config, bounds: Bounds, count: int) -> None:
    """The number of distinct states of small configurations is exactly as pinned."""
    report = explore(cfg, bounds)
    assert report.ok, format_report(report)
    assert report.complete
    assert report.states == count, f"{name}: {report.states} states, pinned {count}"


def test_symmetry_reduction_is_sound_and_shrinks() -> None:
    """Symmetric states share a key, so reduction explores fewer states than actors x states."""
    cfg = Config(max_size=2)
    s0 = model.initial(cfg, 2).state
    s_a0 = model.step(cfg, s0, model.Op(model.OpKind.ACQUIRE, 0))[0].state
    s_a1 = model.step(cfg, s0, model.Op(model.OpKind.ACQUIRE, 1))[0].state
    assert s_a0 != s_a1
    assert model.canonical_key(s_a0) == model.canonical_key(s_a1)
    both = model.step(cfg, s_a0, model.Op(model.OpKind.ACQUIRE, 1))[0].state
    assert model.canonical_key(both) != model.canonical_key(s_a0)


def test_every_sometimes_witnessed_on_rich_config() -> None:
    """On configurations with waiting, overflow, retirement and faults every sometimes occurs."""
    cfg = Config(max_size=1, timeout=1, max_usage=2, ping=Ping.ON_CHECKOUT, reopen=True)
    report = explore(cfg, Bounds(actors=2, faults=1))
    assert report.ok, format_report(report)
    assert report.unwitnessed == []
    assert "overflow_closed" not in report.witnessed  # no idle cap below the hard cap here
    report2 = explore(Config(max_size=2, idle_cap=1), Bounds(actors=2, faults=0))
    assert "overflow_closed" in report2.witnessed


def test_budget_stops_and_reports_incomplete() -> None:
    """A state budget stops the run and says so; progress is reported on long runs."""
    seen: list[int] = []
    report = explore(
        Config(max_size=2), Bounds(actors=3, max_states=50), progress=lambda r: seen.append(r.states),
        progress_every=0.0,
    )
    assert not report.complete and report.stopped_by == "state budget 50"
    assert report.states >= 50 and seen


def test_bounds_validation() -> None:
    """Bad bounds are refused naming the value."""
    with pytest.raises(ValueError, match="actors must be an int >= 1, got 0"):
        Bounds(actors=0)
    with pytest.raises(ValueError, match="faults must be an int >= 0 or None, got -1"):
        Bounds(faults=-1)
    with pytest.raises(ValueError, match="max_seconds must be a positive number"):
        Bounds(max_seconds=0)


# -- seeded bugs ---------------------------------------------------------------


def _lost_wakeup(orig: Callable[..., Any]) -> Callable[..., Any]:
    def give(config: Config, state: State, cid: int, fx: Any, wk: Any, prefer: Any) -> State:
        # BUG: the connection goes idle even when someone waits
        return replace(state, idle=(*state.idle, cid))

    return give


def _no_overflow_close(orig: Callable[..., Any]) -> Callable[..., Any]:
    def give(config: Config, state: State, cid: int, fx: Any, wk: Any, prefer: Any) -> State:
        if state.waiting:
            return orig(config, state, cid, fx, wk, prefer)
        return replace(state, idle=(*state.idle, cid))  # BUG: idle cap ignored

    return give


def _no_reset(orig: Callable[..., Any]) -> Callable[..., Any]:
    def reset(config: Config, state: State, cid: int, fx: Any) -> tuple[State, bool]:
        return state, True  # BUG: nothing reset on return

    return reset


def _leaky_connect(orig: Callable[..., Any]) -> Callable[..., Any]:
    def connect(config: Config, state: State, fx: Any) -> tuple[State, int | None]:
        if state.connect_failures:
            # BUG: the slot taken for the failed connect is never given back
            fx.append(Effect(EffectKind.CONNECT_FAILED, None))
            ghost = model.Conn(state.next_id)
            return replace(
                state, connect_failures=state.connect_failures - 1,
                conns=(*state.conns, ghost), next_id=state.next_id + 1,
            ), None
        return orig(config, state, fx)

    return connect


def _no_ping(orig: Callable[..., Any]) -> Callable[..., Any]:
    def validate(config: Config, state: State, cid: int, fx: Any) -> tuple[State, int | None]:
        return orig(replace(config, ping=Ping.NEVER), state, cid, fx)  # BUG: ping skipped

    return validate


def _no_retire(orig: Callable[..., Any]) -> Callable[..., Any]:
    def retire_due(config: Config, conn: model.Conn) -> bool:
        return conn.stale  # BUG: usage, lifetime and idle time ignored

    return retire_due


def _wrong_order(orig: Callable[..., Any]) -> Callable[..., Any]:
    def acquire(config: Config, state: State, actor: int, prefer: Any = None) -> Any:
        flipped = IdleOrder.LIFO if config.idle_order is IdleOrder.FIFO else IdleOrder.FIFO
        return orig(replace(config, idle_order=flipped), state, actor)  # BUG: order reversed

    return acquire


def _slot_kept_on_invalidate(orig: Callable[..., Any]) -> Callable[..., Any]:
    def slot_freed(config: Config, state: State, fx: Any, wk: Any, prefer: Any) -> State:
        return state  # BUG: nobody is told a slot freed up

    return slot_freed


def _close_forgets_waiters(orig: Callable[..., Any]) -> Callable[..., Any]:
    def close(config: Config, state: State, prefer: Any = None) -> Any:
        out = orig(config, replace(state, waiting=()))
        return replace(out, state=replace(out.state, waiting=state.waiting))  # BUG

    return close


def _unfair(orig: Callable[..., Any]) -> Callable[..., Any]:
    def pick(config: Config, state: State, prefer: Any) -> Any:
        return state.waiting[-1]  # BUG: newest waiter first

    return pick


SEEDED = [
    ("lost wake-up", "_give", _lost_wakeup, Config(max_size=1), "WAIT-3"),
    ("idle cap ignored", "_give", _no_overflow_close, Config(max_size=2, idle_cap=1), "CAP-2"),
    ("missing reset", "_reset", _no_reset, Config(max_size=1), "RESET-2"),
    ("slot leak on failed connect", "_connect", _leaky_connect, Config(max_size=1), "CAP-5"),
    ("ping skipped", "_validate", _no_ping, Config(max_size=1, ping=Ping.ON_CHECKOUT), "LIVE-1"),
    ("recycle ignored", "retire_due", _no_retire, Config(max_size=1, max_lifetime=1), "RETIRE-2"),
    ("usage ignored", "retire_due", _no_retire, Config(max_size=1, max_usage=1), "RETIRE-1"),
    ("idle order reversed", "acquire", _wrong_order, Config(max_size=2), "ORDER-1"),
    ("freed slot unannounced", "_slot_freed", _slot_kept_on_invalidate, Config(max_size=1), "WAIT-3"),
    ("close forgets waiters", "close", _close_forgets_waiters, Config(max_size=1), "WAIT-4"),
    ("unfair hand-off", "_pick", _unfair, Config(max_size=1, fairness=Fairness.FIFO), "WAIT-5"),
]


@pytest.fixture
def patch_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, Any], None]]:
    def apply(name: str, mutant: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        monkeypatch.setattr(T, name, mutant(getattr(T, name)))
        if name == "retire_due":
            import model._rules as R

            monkeypatch.setattr(R, "retire_due", getattr(T, name))

    yield apply


@pytest.mark.parametrize(
    ("bug", "target", "mutant", "cfg", "rule"), SEEDED, ids=[s[0] for s in SEEDED]
)
def test_checker_finds_seeded_bug(
    patch_model: Callable[[str, Any], None],
    bug: str,
    target: str,
    mutant: Callable[[Callable[..., Any]], Callable[..., Any]],
    cfg: Config,
    rule: str,
) -> None:
    """Each deliberately broken copy of the model is caught, under the rule it breaks."""
    assert explore(cfg, Bounds(actors=3, faults=1)).ok  # the real model passes first
    patch_model(target, mutant)
    report = explore(cfg, Bounds(actors=3, faults=1))
    assert not report.ok, f"{bug} not found"
    assert report.violations[0].rule == rule, format_report(report)
    assert report.violations[0].trace, "a violation comes with its trace"


def test_liveness_check_finds_stuck_waiter(patch_model: Callable[[str, Any], None]) -> None:
    """WAIT-7: with the always-check off, the graph check still finds a waiter nothing can serve."""
    patch_model("_give", _lost_wakeup)
    patch_model("_slot_freed", _slot_kept_on_invalidate)
    cfg = Config(max_size=1)
    only_eventually = tuple(p for p in model.PREDICATES if p.kind is model.Kind.EVENTUALLY)
    report = explore(cfg, Bounds(actors=2, faults=0), predicates=only_eventually)
    assert [v.rule for v in report.violations] == ["WAIT-7"]
    assert report.violations[0].state.waiting


def test_trace_is_shortest_and_readable(patch_model: Callable[[str, Any], None]) -> None:
    """A violation's trace is a shortest path, printed step by step and as JSON."""
    patch_model("_give", _lost_wakeup)
    report = explore(Config(max_size=1), Bounds(actors=2, faults=0))
    text = format_report(report)
    assert "VIOLATION WAIT-3" in text
    steps = [s.describe() for s in report.violations[0].trace]
    assert steps == [
        "acquire(a0) -> got c0; calls connect(c0)",
        "acquire(a1) -> wait",
        "release(a0) -> ok; calls rollback(c0)",
    ]
    data = model.report_json(report)
    json.dumps(data)
    assert data["violations"][0]["rule"] == "WAIT-3"
    assert [s["op"] for s in data["violations"][0]["trace"]] == [
        "acquire(a0)", "acquire(a1)", "release(a0)",
    ]


# -- the checker's dispatch and the default configuration ---------------------------

DISPATCH_CONFIGS = [
    Config(max_size=1, timeout=1, max_usage=1, ping=Ping.ON_CHECKOUT, reopen=True),
    Config(max_size=1, idle_cap=0, reset=ResetMode.FULL, session_setup=True, max_lifetime=1),
    Config(max_size=1, per_thread=True, reset=ResetMode.COMMIT, max_idle_time=1),
    Config(max_size=1, shared=True, reset=ResetMode.NONE),
    Config(max_size=None, idle_cap=0, reset=ResetMode.ROLLBACK_IF_BEGUN),
    Config(max_size=1, block=False, idle_order=IdleOrder.LIFO),
    Config(max_size=1, fairness=Fairness.BARGING, max_waiters=1, timeout=2),
]


def _all_transitions(
    cfg: Config, actors: int, limit: int = 1_500
) -> Iterator[tuple[State, model.Op, model.Outcome]]:
    """Transitions (misuse and faults included) out of reachable states, breadth first."""
    first = model.initial(cfg, actors).state
    seen = {model.canonical_key(first)}
    queue = deque([first])
    while queue and limit > 0:
        state = queue.popleft()
        limit -= 1
        for op in model.enabled(cfg, state, misuse=True):
            for out in model.step(cfg, state, op):
                yield state, op, out
                key = model.canonical_key(out.state)
                if key not in seen:
                    seen.add(key)
                    queue.append(out.state)


def _variants(op: model.Op, out: model.Outcome) -> Iterator[tuple[model.Op, model.Outcome]]:
    """The transition as it is, under every other op kind, and stripped of wake-ups or calls."""
    stripped = [
        out,
        replace(out, wakeups=()),
        replace(out, effects=()),
        replace(out, wakeups=(), effects=(), result=model.OK),
    ]
    for kind in model.OpKind:
        for o in stripped:
            yield model.Op(kind, op.actor, op.conn), o


@pytest.mark.parametrize("cfg", DISPATCH_CONFIGS, ids=range(len(DISPATCH_CONFIGS)))
def test_dispatch_declarations_promise_nothing_more(cfg: Config) -> None:
    """Where ``ops`` or ``when`` lets the checker skip a predicate, it holds (or witnesses nothing).

    The transitions are real ones, then the same under every op kind and with
    wake-ups or calls stripped: the declarations must follow from the
    predicates' code, not from what the model happens to do.
    """
    declared = [
        p for p in model.PREDICATES
        if p.kind in (model.Kind.STEP, model.Kind.SOMETIMES)
        and (p.ops is not None or p.when is not None)
    ]
    skipped = 0
    for n, (before, real_op, real_out) in enumerate(_all_transitions(cfg, 2)):
        variants = _variants(real_op, real_out) if n % 53 == 0 else iter([(real_op, real_out)])
        for op, out in variants:
            for p in declared:
                outside = (p.ops is not None and op.kind not in p.ops) or (
                    p.when is not None and not p.when(op, out)
                )
                if outside:
                    skipped += 1
                    verdict = p.check(cfg, before, op, out)
                    assert verdict is (p.kind is model.Kind.STEP), (p.name, str(op), out)
    assert skipped


def _never(config: Config, before: State, op: model.Op, out: model.Outcome) -> bool:
    """Never holds (a stand-in for a broken rule)."""
    return False


def test_step_failures_reported_in_predicate_order() -> None:
    """Failures on one transition are reported in the predicates' order, whatever their guards."""
    preds = tuple(
        model.Predicate(f"p{n}", f"X-{n}", model.Kind.STEP, _never, lambda c: True, when=when)
        for n, when in enumerate([None, calls, None])
    )
    report = explore(Config(max_size=1), Bounds(actors=1, faults=0), predicates=preds,
                     stop_at_first=False)
    first = report.violations[:3]
    assert [v.predicate for v in first] == ["p0", "p1", "p2"]
    assert len({tuple(s.describe() for s in v.trace) for v in first}) == 1
    shortest = explore(Config(max_size=1), Bounds(actors=1, faults=0), predicates=preds)
    assert [v.predicate for v in shortest.violations] == ["p0"]


# The default configuration's state count: a change is a change in the semantics.
DEFAULT_STATES = 172672


@pytest.mark.long
def test_default_config_explored_completely() -> None:
    """The default configuration is explored completely with no violation, its states as pinned."""
    report = explore(model.DEFAULT_CONFIG, model.DEFAULT_BOUNDS)
    assert report.ok, format_report(report)
    assert report.complete
    assert report.states == DEFAULT_STATES, f"{report.states} states, pinned {DEFAULT_STATES}"
    # nobody can wait with three actors and three slots (see model/_defaults.py)
    assert set(report.unwitnessed) == {"timeout_happens", "waiter_served"}
