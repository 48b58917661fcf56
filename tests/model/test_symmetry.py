"""Symmetry: canonical keys, and twin actors whose operations the checker explores once."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import pytest

from model import (
    PREDICATES,
    Bounds,
    Config,
    Fairness,
    Kind,
    Op,
    OpKind,
    Outcome,
    Ping,
    Report,
    ResetMode,
    State,
    canonical_key,
    enabled,
    explore,
    initial,
    step,
)
from model._symmetry import twins

CONFIGS = [
    Config(max_size=2, idle_cap=1),
    Config(max_size=2, fairness=Fairness.BARGING, timeout=1),
    Config(max_size=2, per_thread=True),
    Config(
        max_size=2, idle_cap=1, reset=ResetMode.FULL, session_setup=True, max_usage=1,
        max_lifetime=1, ping=Ping.ON_CHECKOUT, reopen=True,
    ),
    Config(max_size=2, shared=True),
]


def _states(config: Config, actors: int, limit: int) -> Iterator[State]:
    """Up to ``limit`` reachable states, breadth first, one per canonical key."""
    first = initial(config, actors).state
    seen = {canonical_key(first)}
    queue = deque([first])
    count = 0
    while queue and count < limit:
        state = queue.popleft()
        count += 1
        yield state
        for op in enabled(config, state):
            for out in step(config, state, op):
                key = canonical_key(out.state)
                if key not in seen:
                    seen.add(key)
                    queue.append(out.state)


def _verdicts(config: Config, before: State, op: Op, out: Outcome) -> tuple[bool, ...]:
    return tuple(
        bool(p.check(config, before, op, out))
        for p in PREDICATES
        if p.kind in (Kind.STEP, Kind.SOMETIMES) and p.applies(config)
    )


@pytest.mark.parametrize("config", CONFIGS, ids=range(len(CONFIGS)))
def test_twin_operations_are_renamings(config: Config) -> None:
    """A twin's op reaches the canonical state its representative's does, same verdicts."""
    pairs = 0
    for state in _states(config, 3, 600):
        actors, conns = twins(config, state)
        if config.shared:  # ids order the sharing: no symmetry claimed
            assert not actors
            assert not conns
        for op in enabled(config, state):
            rep = Op(op.kind, actors.get(op.actor, op.actor), conns.get(op.conn, op.conn))
            if rep == op:
                continue
            assert rep in enabled(config, state)
            mine, theirs = step(config, state, op), step(config, state, rep)
            assert len(mine) == len(theirs)
            for a, b in zip(mine, theirs, strict=True):
                assert canonical_key(a.state) == canonical_key(b.state), (state, op)
                assert a.result.status is b.result.status
                assert _verdicts(config, state, op, a) == _verdicts(config, state, rep, b)
            pairs += 1
    assert pairs or config.shared  # the check above was not vacuous


def test_free_actors_are_twins_and_waiters_are_not() -> None:
    """Actors holding nothing are twins; a waiting actor has no twin; distinct conns map across."""
    cfg = Config(max_size=1)
    s = initial(cfg, 3).state
    assert twins(cfg, s) == ({1: 0, 2: 0}, {})
    s = step(cfg, s, Op(OpKind.ACQUIRE, 0))[0].state
    s = step(cfg, s, Op(OpKind.ACQUIRE, 1))[0].state  # a1 waits
    assert twins(cfg, s) == ({}, {})
    cfg2 = Config(max_size=2)
    s2 = initial(cfg2, 2).state
    s2 = step(cfg2, s2, Op(OpKind.ACQUIRE, 0))[0].state
    s2 = step(cfg2, s2, Op(OpKind.ACQUIRE, 1))[0].state
    assert twins(cfg2, s2) == ({1: 0}, {1: 0})
    s2 = step(cfg2, s2, Op(OpKind.BEGIN, 1))[0].state  # now their connections differ
    assert twins(cfg2, s2) == ({}, {})


def _summary(report: Report) -> tuple[object, ...]:
    violations = [(v.rule, v.predicate, len(v.trace)) for v in report.violations]
    return (
        report.states, report.depth, report.complete, report.witnessed, report.unwitnessed,
        violations,
    )


def _agree(config: Config, bounds: Bounds) -> None:
    once = explore(config, bounds, stop_at_first=False)
    every = explore(config, bounds, stop_at_first=False, twins_once=False)
    assert _summary(once) == _summary(every), (config, bounds)
    assert once.transitions <= every.transitions


@pytest.mark.parametrize(
    "config", [CONFIGS[0], CONFIGS[1], CONFIGS[4]], ids=["cap2", "barging", "shared"]
)
def test_explore_with_and_without_twins_agree(config: Config) -> None:
    """Exploring twins once finds the same states, depths, witnesses and violations."""
    _agree(config, Bounds(actors=3, faults=0))
    _agree(config, Bounds(actors=2, faults=1, misuse=True))


@pytest.mark.long
@pytest.mark.parametrize("config", CONFIGS, ids=range(len(CONFIGS)))
def test_explore_with_and_without_twins_agree_with_faults(config: Config) -> None:
    """Same as above with three actors and a fault: per-thread, policies and shared included."""
    _agree(config, Bounds(actors=3, faults=1))
