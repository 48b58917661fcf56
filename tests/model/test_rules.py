"""The rule predicates: each one holds on the model and fails on a state or step that breaks it."""

from __future__ import annotations

from dataclasses import replace

import pytest

import model
from model import (
    PREDICATES,
    Config,
    Conn,
    Effect,
    EffectKind,
    Hold,
    Kind,
    Op,
    OpKind,
    Outcome,
    Ping,
    ResetMode,
    State,
    Waiter,
    got,
)
from tests.model.helpers import run


def pred(name: str) -> model.Predicate:
    """The predicate registered under ``name``."""
    return next(p for p in PREDICATES if p.name == name)


def _state(**kw: object) -> State:
    base = {"conns": (), "idle": (), "holds": (None, None, None)}
    base.update(kw)
    return State(**base)  # type: ignore[arg-type]


# Each case: predicate name, config, a state that breaks the rule.
ALWAYS_BROKEN = [
    ("cap_hard", Config(max_size=1), _state(conns=(Conn(0), Conn(1)), idle=(0, 1))),  # CAP-1
    ("cap_idle", Config(max_size=3, idle_cap=1), _state(conns=(Conn(0), Conn(1)), idle=(0, 1))),  # CAP-2
    (
        "no_lost_wakeup",  # WAIT-3: a waiter while a connection sits idle
        Config(max_size=1),
        _state(conns=(Conn(0),), idle=(0,), waiting=(Waiter(1, None),)),
    ),
    (
        "waiter_bound",  # WAIT-6
        Config(max_size=1, max_waiters=1),
        _state(conns=(Conn(0),), holds=(Hold(0), None, None),
               waiting=(Waiter(1, None), Waiter(2, None))),
    ),
    (
        "exclusive",  # EXCL-1: two holders outside shared mode
        Config(max_size=2),
        _state(conns=(Conn(0),), holds=(Hold(0), Hold(0), None)),
    ),
    (
        "exclusive",  # EXCL-1: a held connection also idle
        Config(max_size=2),
        _state(conns=(Conn(0),), idle=(0,), holds=(Hold(0), None, None)),
    ),
    (
        "no_begun_transaction_idle",  # RESET-2
        Config(reset=ResetMode.ROLLBACK_IF_BEGUN),
        _state(conns=(Conn(0, begun=True, txn=True),), idle=(0,)),
    ),
    (
        "no_transaction_idle",  # RESET-3 (and RESET-4 under commit)
        Config(reset=ResetMode.COMMIT),
        _state(conns=(Conn(0, txn=True),), idle=(0,)),
    ),
    (
        "no_session_state_idle",  # RESET-5
        Config(reset=ResetMode.FULL),
        _state(conns=(Conn(0, dirty=True),), idle=(0,)),
    ),
    (
        "closed_is_empty",  # CLOSE-1
        Config(),
        _state(conns=(Conn(0),), idle=(0,), closed=True),
    ),
    (
        "stats_add_up",  # STAT-1: a waiter count the snapshot cannot reproduce is impossible,
        # so break the projection itself: an idle id with no open connection
        Config(),
        _state(conns=(), idle=(0,)),
    ),
]


@pytest.mark.parametrize(("name", "cfg", "state"), ALWAYS_BROKEN, ids=[c[0] for c in ALWAYS_BROKEN])
def test_always_predicate_catches_broken_state(name: str, cfg: Config, state: State) -> None:
    """Each always-predicate rejects a state that breaks its rule."""
    p = pred(name)
    assert p.kind is Kind.ALWAYS and p.applies(cfg)
    assert not p.check(cfg, state)


def test_always_predicates_hold_on_good_states() -> None:
    """Every always-predicate holds on the states a real program reaches (STAT-1, EXCL-1)."""
    cfg = Config(max_size=2, idle_cap=1, max_waiters=2)
    script = ["acquire(a0)", "acquire(a1)", "acquire(a2)", "release(a0)", "release(a2)"]
    for out in run(cfg, script):
        for p in PREDICATES:
            if p.kind is Kind.ALWAYS and p.applies(cfg):
                assert p.check(cfg, out.state), p.name


def _hand(state: State, op: Op, out: Outcome, name: str, cfg: Config) -> bool:
    return bool(pred(name).check(cfg, state, op, out))


def test_step_predicates_catch_broken_transitions() -> None:
    """Step predicates reject transitions that break RESET-4, RETIRE-1, LIVE-1, INV-1 and others."""
    held = _state(conns=(Conn(0, txn=True),), holds=(Hold(0), None, None))
    release = Op(OpKind.RELEASE, 0)
    # RESET-4: commit mode must not roll back on return
    bad = Outcome(replace(held, holds=(None, None, None), idle=(0,)), model.OK,
                  (Effect(EffectKind.ROLLBACK, 0),))
    assert not _hand(held, release, bad, "commit_on_return", Config(reset=ResetMode.COMMIT))
    # RETIRE-1: a used-up connection handed out
    idle = _state(conns=(Conn(0, uses=1),), idle=(0,))
    acquire = Op(OpKind.ACQUIRE, 0)
    handed = Outcome(replace(idle, idle=(), holds=(Hold(0), None, None)), got(0))
    assert not _hand(idle, acquire, handed, "max_usage_retired", Config(max_usage=1))
    # LIVE-1: a dead connection handed out under ping on checkout
    dead = _state(conns=(Conn(0, alive=False),), idle=(0,))
    handed_dead = Outcome(replace(dead, idle=(), holds=(Hold(0), None, None)), got(0))
    assert not _hand(dead, acquire, handed_dead, "no_dead_handed_out",
                     Config(ping=Ping.ON_CHECKOUT))
    # INV-1: invalidate that does not close
    inv = Op(OpKind.INVALIDATE, 0)
    kept = Outcome(replace(held, holds=(None, None, None)), model.OK)
    assert not _hand(held, inv, kept, "invalidate_closes", Config())
    # CAP-5: a connection vanishes from the accounting without a close
    vanished = Outcome(replace(held, conns=(), holds=(None, None, None)), model.OK)
    assert not _hand(held, release, vanished, "accounting", Config())
    # ORDER-1: FIFO must take the connection returned first
    two = _state(conns=(Conn(0), Conn(1)), idle=(0, 1))
    wrong = Outcome(replace(two, idle=(0,), holds=(Hold(1), None, None)), got(1))
    assert not _hand(two, acquire, wrong, "idle_order", Config())


def test_sometimes_witness_for_retirement() -> None:
    """RETIRE-4: the retirement witness fires on a checkout that retires and replaces."""
    cfg = Config(max_usage=1)
    outs = run(cfg, ["acquire(a0)", "release(a0)", "acquire(a0)"])
    before = outs[1].state
    assert pred("retirement_happens").check(cfg, before, Op(OpKind.ACQUIRE, 0), outs[2])
    assert not pred("retirement_happens").check(cfg, outs[0].state, Op(OpKind.RELEASE, 0), outs[1])


def test_events_follow_lifecycle() -> None:
    """EVENT-1: events name connect before checkout and checkin only on outermost release."""
    cfg = Config(per_thread=True)
    outs = run(cfg, ["acquire(a0)", "acquire(a0)", "release(a0)", "release(a0)"])
    init = model.initial(cfg, 3).state
    assert model.events(init, Op(OpKind.ACQUIRE, 0), outs[0]) == (("connect", 0), ("checkout", 0))
    assert model.events(outs[1].state, Op(OpKind.RELEASE, 0), outs[2]) == ()
    assert model.events(outs[2].state, Op(OpKind.RELEASE, 0), outs[3]) == (
        ("checkin", None), ("reset", 0))


def test_every_predicate_has_a_statement() -> None:
    """Every predicate carries a one-line statement of its rule (its docstring)."""
    for p in PREDICATES:
        assert (p.check.__doc__ or "").strip(), p.name
