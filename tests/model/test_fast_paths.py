"""The model's speed-ups agree with the plain code they replace.

``enabled`` hands out shared ``Op`` values built once per shape, ``step``
dispatches through a table, results and effects are shared values, and the
``accounting`` predicate (CAP-5) has a fast path for transitions that connect
and close nothing. Each is compared here with a plain spelling of the same
rule on every transition of several small explorations.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import replace

import pytest

import model
from model import Config, Fairness, IdleOrder, Op, OpKind, Ping, ResetMode, State, enabled
from model import _transitions as T
from model._rules import accounting
from model._state import (
    ACTOR_OPS,
    Effect,
    EffectKind,
    Outcome,
    Result,
    Status,
    effect,
    got,
    refused,
)

CONFIGS = [
    Config(max_size=1, timeout=1, max_usage=1, ping=Ping.ON_CHECKOUT, reopen=True),
    Config(max_size=2, idle_cap=1, reset=ResetMode.FULL, session_setup=True, max_lifetime=1),
    Config(max_size=1, per_thread=True, reset=ResetMode.COMMIT, max_idle_time=1),
    Config(max_size=1, shared=True, reset=ResetMode.NONE),
    Config(max_size=1, block=False, idle_order=IdleOrder.LIFO),
    Config(max_size=1, fairness=Fairness.BARGING, max_waiters=2, timeout=2),
]


def _plain_enabled(
    config: Config, state: State, *, faults: bool, misuse: bool, max_depth: int
) -> tuple[Op, ...]:
    """``enabled`` as it was first written: a fresh ``Op`` per entry, tests in line."""
    ops: list[Op] = []
    waiting = {w.actor for w in state.waiting}
    for actor, hold in enumerate(state.holds):
        if actor in waiting:
            continue
        held = hold is not None and (hold.depth > 0 or hold.detached)
        if not held:
            ops.append(Op(OpKind.ACQUIRE, actor))
            if hold is not None and config.per_thread:
                ops.append(Op(OpKind.END_THREAD, actor))
            if misuse:
                ops.append(Op(OpKind.RELEASE, actor))
                ops.append(Op(OpKind.WORK, actor))
            continue
        assert hold is not None
        if config.per_thread and not hold.detached and hold.depth < max_depth:
            ops.append(Op(OpKind.ACQUIRE, actor))
        ops.append(Op(OpKind.RELEASE, actor))
        ops.append(Op(OpKind.DROP, actor))
        shared_now = not hold.detached and len(state.holders(hold.conn)) > 1
        if not shared_now:
            ops.append(Op(OpKind.INVALIDATE, actor))
            if not hold.detached and hold.depth == 1:
                ops.append(Op(OpKind.DETACH, actor))
        if not hold.detached:
            ops.append(Op(OpKind.SOFT_INVALIDATE, actor))
            ops.append(Op(OpKind.BEGIN, actor))
        ops.append(Op(OpKind.WORK, actor))
        ops.append(Op(OpKind.SET_SESSION, actor))
        ops.append(Op(OpKind.COMMIT, actor))
        ops.append(Op(OpKind.ROLLBACK, actor))
    if not state.closed:
        ops.append(Op(OpKind.CLOSE))
        ops.append(Op(OpKind.DISPOSE))
    if config.timed:
        ops.append(Op(OpKind.TICK))
    if faults:
        if not state.connect_failures:
            ops.append(Op(OpKind.FAIL_CONNECT))
        ops.extend(Op(OpKind.KILL, conn=c.id) for c in state.conns if c.alive)
        if config.ping is Ping.ON_CHECKOUT and not state.ping_failures:
            ops.append(Op(OpKind.FAIL_PING))
    return tuple(ops)


def _reachable(config: Config, actors: int, limit: int = 600) -> Iterator[State]:
    """States reachable from a new pool (misuse and faults included), breadth first."""
    first = model.initial(config, actors).state
    seen = {model.canonical_key(first)}
    queue = deque([first])
    while queue and limit > 0:
        state = queue.popleft()
        limit -= 1
        yield state
        for op in enabled(config, state, misuse=True, max_depth=3):
            for out in model.step(config, state, op):
                key = model.canonical_key(out.state)
                if key not in seen:
                    seen.add(key)
                    queue.append(out.state)


@pytest.mark.parametrize("cfg", CONFIGS, ids=range(len(CONFIGS)))
def test_enabled_matches_plain_spelling(cfg: Config) -> None:
    """``enabled`` lists exactly the ops, in the order, of its plain spelling, for every option."""
    compared = 0
    for state in _reachable(cfg, 3):
        for faults in (True, False):
            for misuse in (True, False):
                for depth in (1, 2, 3):
                    fast = enabled(cfg, state, faults=faults, misuse=misuse, max_depth=depth)
                    plain = _plain_enabled(
                        cfg, state, faults=faults, misuse=misuse, max_depth=depth
                    )
                    assert fast == plain, (state, faults, misuse, depth)
                    compared += 1
    assert compared > 100


def test_dispatch_covers_every_op_kind_once() -> None:
    """Every op kind has exactly one handler: pool-wide or by an actor."""
    pool, actor = set(T._POOL_HANDLERS), set(T._ACTOR_HANDLERS)
    assert not pool & actor
    assert pool | actor == set(OpKind)
    assert actor == set(ACTOR_OPS)


def test_dispatch_calls_the_patched_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """``step`` finds each transition function by name when called, so a patched one runs."""
    cfg = Config(max_size=1)
    state = model.initial(cfg, 1).state
    marker = model.Outcome(state, refused(model.Refusal.CLOSED))
    for name, op in [("work", Op(OpKind.WORK, 0)), ("tick", Op(OpKind.TICK))]:
        monkeypatch.setattr(T, name, lambda *args, **kwargs: marker)
        assert model.step(cfg, state, op) == (marker,)


def test_shared_values_equal_fresh_ones() -> None:
    """``got``, ``refused`` and ``effect`` give values equal to fresh ones, one per argument."""
    assert got(3) == Result(Status.GOT, conn=3)
    assert got(3) is got(3)
    assert refused(model.Refusal.TIMEOUT) == Result(Status.REFUSED, refusal=model.Refusal.TIMEOUT)
    assert effect(EffectKind.CLOSE, 2) == Effect(EffectKind.CLOSE, 2)
    assert effect(EffectKind.CLOSE, 2) is effect(EffectKind.CLOSE, 2)
    assert effect(EffectKind.CONNECT_FAILED, None) != effect(EffectKind.CONNECT, None)


def _plain_accounting(before: State, op: Op, out: Outcome) -> bool:
    """CAP-5 spelled with sets only: the ids change by connects, closes and detaches."""
    connected = {e.conn for e in out.effects if e.kind is EffectKind.CONNECT and e.conn is not None}
    closed = {e.conn for e in out.effects if e.kind is EffectKind.CLOSE and e.conn is not None}
    detached = set()
    if op.kind is OpKind.DETACH and op.actor is not None:
        hold = out.state.holds[op.actor]
        if hold is not None and hold.detached:
            detached.add(hold.conn)
    old = {c.id for c in before.conns}
    return {c.id for c in out.state.conns} == (old | connected) - closed - detached


def _doctored(out: Outcome) -> Iterator[Outcome]:
    """The outcome, and copies whose connections were reordered, lost, or renamed silently."""
    yield out
    conns = out.state.conns
    if len(conns) > 1:
        yield replace(out, state=replace(out.state, conns=conns[::-1]))
    if conns:
        yield replace(out, state=replace(out.state, conns=conns[1:]))
        yield replace(out, state=replace(out.state, conns=(replace(conns[0], id=99), *conns[1:])))
    yield replace(out, state=replace(out.state, conns=(*conns, model.Conn(98))), effects=())


@pytest.mark.parametrize("cfg", CONFIGS, ids=range(len(CONFIGS)))
def test_accounting_fast_path_matches_sets(cfg: Config) -> None:
    """CAP-5's fast path agrees with the plain set comparison on real and doctored steps."""
    verdicts = set()
    for before in _reachable(cfg, 2, limit=300):
        for op in enabled(cfg, before, misuse=True):
            for real in model.step(cfg, before, op):
                for out in _doctored(real):
                    verdict = accounting(cfg, before, op, out)
                    assert verdict is _plain_accounting(before, op, out), (op, out)
                    verdicts.add(verdict)
    assert verdicts == {True, False}
