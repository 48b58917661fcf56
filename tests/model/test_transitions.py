"""The model's operations, case by case, with the rule each case pins."""

from __future__ import annotations

import pytest

from model import (
    OK,
    WAIT,
    Config,
    Fairness,
    IdleOrder,
    Op,
    OpKind,
    Ping,
    Refusal,
    ResetMode,
    Status,
    enabled,
    got,
    initial,
    refused,
    stats,
    step,
)

from tests.model.helpers import calls, run


def test_prefill_opens_min_idle() -> None:
    """CAP-3: a new pool opens min_idle connections, all idle, with their session setup."""
    out = initial(Config(max_size=3, min_idle=2, session_setup=True), 2)
    assert calls(out) == ["connect(c0)", "setup(c0)", "connect(c1)", "setup(c1)"]
    assert out.state.idle == (0, 1)


def test_initial_needs_actors() -> None:
    """The model refuses a pool with no actors."""
    with pytest.raises(ValueError, match="actors must be a positive int, got 0"):
        initial(Config(), 0)


def test_acquire_connects_then_reuses() -> None:
    """A checkout opens a connection when none is idle and reuses an idle one after."""
    outs = run(Config(), ["acquire(a0)", "release(a0)", "acquire(a1)"])
    assert outs[0].result == got(0) and calls(outs[0]) == ["connect(c0)"]
    assert calls(outs[1]) == ["rollback(c0)"]  # RESET-3: default reset is rollback
    assert outs[2].result == got(0) and calls(outs[2]) == []


def test_hard_cap_makes_waiters() -> None:
    """CAP-1, WAIT-3: at the cap a checkout waits; a release hands the connection over."""
    outs = run(Config(max_size=1), ["acquire(a0)", "acquire(a1)", "release(a0)"])
    assert outs[1].result == WAIT
    assert [str(w) for w in outs[2].wakeups] == ["a1 got c0"]
    assert stats(outs[2].state).in_use == 1 and not outs[2].state.waiting


def test_raise_at_once() -> None:
    """WAIT-1: a pool that does not block refuses at once when exhausted."""
    outs = run(Config(max_size=1, block=False), ["acquire(a0)", "acquire(a1)"])
    assert outs[1].result == refused(Refusal.EXHAUSTED)


def test_unlimited_never_waits() -> None:
    """CAP-4: with no cap every checkout gets a connection."""
    outs = run(Config(max_size=None), ["acquire(a0)", "acquire(a1)", "acquire(a2)"])
    assert [o.result for o in outs] == [got(0), got(1), got(2)]


def test_timeout_expires_on_the_tick() -> None:
    """WAIT-2: a waiter is refused with timeout exactly when its ticks run out."""
    outs = run(Config(max_size=1, timeout=2), ["acquire(a0)", "acquire(a1)", "tick()", "tick()"])
    assert outs[2].wakeups == ()
    assert [str(w) for w in outs[3].wakeups] == ["a1 refused: timeout"]


def test_waiter_bound() -> None:
    """WAIT-6: beyond max_waiters a checkout is refused instead of waiting."""
    outs = run(Config(max_size=1, max_waiters=1), ["acquire(a0)", "acquire(a1)", "acquire(a2)"])
    assert outs[1].result == WAIT
    assert outs[2].result == refused(Refusal.TOO_MANY_WAITERS)


def test_close_refuses_waiters_and_later_checkouts() -> None:
    """WAIT-4, CLOSE-1, CLOSE-2: close refuses waiters; a return afterwards closes the connection."""
    cfg = Config(max_size=1)
    outs = run(cfg, ["acquire(a0)", "acquire(a1)", "close()", "release(a0)", "acquire(a2)"])
    assert [str(w) for w in outs[2].wakeups] == ["a1 refused: closed"]
    assert calls(outs[3]) == ["close(c0)"]
    assert outs[4].result == refused(Refusal.CLOSED)
    assert outs[4].state.conns == ()


def test_fifo_handoff_serves_the_oldest() -> None:
    """WAIT-5: under FIFO a freed connection goes to the oldest waiter."""
    outs = run(Config(max_size=1), ["acquire(a0)", "acquire(a2)", "acquire(a1)", "release(a0)"])
    assert [str(w) for w in outs[3].wakeups] == ["a2 got c0"]


def test_barging_allows_any_waiter() -> None:
    """WAIT-5: under barging the model allows each waiter to be the one served."""
    cfg = Config(max_size=1, fairness=Fairness.BARGING)
    outs = run(cfg, ["acquire(a0)", "acquire(a2)", "acquire(a1)"])
    served = step(cfg, outs[-1].state, Op(OpKind.RELEASE, 0))
    assert sorted(str(o.wakeups[0]) for o in served) == ["a1 got c0", "a2 got c0"]


def test_idle_order_fifo_and_lifo() -> None:
    """ORDER-1: FIFO takes the connection given back longest ago, LIFO the latest."""
    script = ["acquire(a0)", "acquire(a1)", "release(a0)", "release(a1)", "acquire(a2)"]
    assert run(Config(), script)[-1].result == got(0)
    assert run(Config(idle_order=IdleOrder.LIFO), script)[-1].result == got(1)


def test_overflow_closed_on_return() -> None:
    """CAP-2: a connection returned beyond the idle cap is closed."""
    script = ["acquire(a0)", "acquire(a1)", "release(a0)", "release(a1)"]
    outs = run(Config(max_size=2, idle_cap=1), script)
    assert calls(outs[3]) == ["rollback(c1)", "close(c1)"]
    assert outs[3].state.idle == (0,)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (ResetMode.NONE, []),
        (ResetMode.ROLLBACK_IF_BEGUN, []),
        (ResetMode.ROLLBACK, ["rollback(c0)"]),
        (ResetMode.COMMIT, ["commit(c0)"]),
        (ResetMode.FULL, ["reset(c0)", "setup(c0)"]),
    ],
)
def test_reset_modes(mode: ResetMode, expected: list[str]) -> None:
    """RESET-1..5: each reset mode makes its calls on return of a connection with work on it."""
    cfg = Config(reset=mode, session_setup=True)
    outs = run(cfg, ["acquire(a0)", "work(a0)", "release(a0)"])
    assert calls(outs[2]) == expected
    conn = outs[2].state.conn(0)
    assert conn.txn == (mode in (ResetMode.NONE, ResetMode.ROLLBACK_IF_BEGUN))


def test_rollback_if_begun_rolls_back_begun_only() -> None:
    """RESET-2: reset mode rollback_if_begun rolls back a transaction begun with begin()."""
    cfg = Config(reset=ResetMode.ROLLBACK_IF_BEGUN)
    outs = run(cfg, ["acquire(a0)", "begin(a0)", "work(a0)", "release(a0)"])
    assert calls(outs[3]) == ["rollback(c0)"]
    assert not outs[3].state.conn(0).begun


def test_rollback_keeps_session_state() -> None:
    """RESET-3, RESET-5: rollback leaves SET state for the next borrower; full reset clears it."""
    script = ["acquire(a0)", "set_session(a0)", "release(a0)"]
    assert run(Config(), script)[-1].state.conn(0).dirty
    assert not run(Config(reset=ResetMode.FULL), script)[-1].state.conn(0).dirty


def test_session_setup_on_every_connect() -> None:
    """SETUP-1: every new connection runs the session statements right after its connect."""
    outs = run(Config(session_setup=True), ["acquire(a0)", "acquire(a1)"])
    assert calls(outs[1]) == ["connect(c1)", "setup(c1)"]


@pytest.mark.parametrize(
    ("cfg", "script"),
    [
        (Config(max_usage=1), ["acquire(a0)", "release(a0)", "acquire(a0)"]),
        (Config(max_lifetime=1), ["acquire(a0)", "release(a0)", "tick()", "acquire(a0)"]),
        (Config(max_idle_time=1), ["acquire(a0)", "release(a0)", "tick()", "acquire(a0)"]),
        (Config(), ["acquire(a0)", "soft_invalidate(a0)", "release(a0)", "acquire(a0)"]),
    ],
    ids=["RETIRE-1 usage", "RETIRE-2 lifetime", "RETIRE-3 idle time", "INV-2 soft"],
)
def test_retired_connection_replaced_at_checkout(cfg: Config, script: list[str]) -> None:
    """RETIRE-1..4, INV-2: a connection due for retirement is closed and replaced at checkout."""
    last = run(cfg, script)[-1]
    assert calls(last) == ["close(c0)", "connect(c1)"]
    assert last.result == got(1)


def test_lifetime_counts_from_connect_idle_time_from_return() -> None:
    """RETIRE-2, RETIRE-3: age grows from connect; idle time only while idle."""
    cfg = Config(max_lifetime=3, max_idle_time=3)
    outs = run(cfg, ["acquire(a0)", "tick()", "release(a0)", "tick()"])
    conn = outs[-1].state.conn(0)
    assert (conn.age, conn.idle_for) == (2, 1)


def test_ping_replaces_dead_connection() -> None:
    """LIVE-1: with ping on checkout a dead idle connection is replaced, never handed out."""
    cfg = Config(ping=Ping.ON_CHECKOUT)
    last = run(cfg, ["acquire(a0)", "release(a0)", "kill(c0)", "acquire(a1)"])[-1]
    assert calls(last) == ["ping(c0)", "close(c0)", "connect(c1)"]
    assert last.result == got(1)


def test_armed_ping_failure_replaces_live_connection() -> None:
    """LIVE-1: a failed ping counts as dead even on a live connection."""
    cfg = Config(ping=Ping.ON_CHECKOUT)
    last = run(cfg, ["acquire(a0)", "release(a0)", "fail_ping()", "acquire(a1)"])[-1]
    assert calls(last) == ["ping(c0)", "close(c0)", "connect(c1)"]
    assert last.state.ping_failures == 0


def test_without_ping_dead_connection_is_handed_out() -> None:
    """LIVE-1: with ping never a dead idle connection is handed out, and its use fails."""
    outs = run(Config(), ["acquire(a0)", "release(a0)", "kill(c0)", "acquire(a1)", "work(a1)"])
    assert outs[3].result == got(0)
    assert outs[4].result == refused(Refusal.CONNECTION_LOST)


def test_reopen_outside_transaction() -> None:
    """LIVE-2: outside a transaction a lost connection is reopened and the statement re-run."""
    cfg = Config(reopen=True, session_setup=True)
    last = run(cfg, ["acquire(a0)", "kill(c0)", "work(a0)"])[-1]
    assert last.result == OK
    assert calls(last) == ["execute(c0)", "connect(c1)", "setup(c1)", "close(c0)", "execute(c1)"]
    assert last.state.holds[0] is not None and last.state.holds[0].conn == 1


def test_error_inside_transaction_then_replaced() -> None:
    """LIVE-3: inside a transaction the error surfaces; the connection is closed when returned."""
    cfg = Config(reopen=True)
    outs = run(cfg, ["acquire(a0)", "work(a0)", "kill(c0)", "work(a0)", "release(a0)"])
    assert outs[3].result == refused(Refusal.CONNECTION_LOST)
    assert calls(outs[3]) == ["execute(c0)"]
    assert calls(outs[4]) == ["close(c0)"]
    assert outs[4].state.conns == ()


def test_begin_suspends_reopen() -> None:
    """LIVE-3: after begin() even the first statement's loss surfaces."""
    outs = run(Config(reopen=True), ["acquire(a0)", "begin(a0)", "kill(c0)", "work(a0)"])
    assert outs[-1].result == refused(Refusal.CONNECTION_LOST)


def test_failed_reset_closes() -> None:
    """CAP-5: a reset that fails on a dead connection closes it and frees the slot."""
    outs = run(Config(max_size=1), ["acquire(a0)", "acquire(a1)", "kill(c0)", "release(a0)"])
    assert calls(outs[3]) == ["rollback(c0)", "close(c0)", "connect(c1)"]
    assert [str(w) for w in outs[3].wakeups] == ["a1 got c1"]


def test_invalidate_frees_slot_for_waiter() -> None:
    """INV-1: a hard invalidate closes the connection and a waiter connects in its slot."""
    outs = run(Config(max_size=1), ["acquire(a0)", "acquire(a1)", "invalidate(a0)"])
    assert calls(outs[2]) == ["close(c0)", "connect(c1)"]
    assert [str(w) for w in outs[2].wakeups] == ["a1 got c1"]


def test_detach_frees_slot_and_keeps_connection() -> None:
    """DET-1: a detached connection leaves the accounting; closing it closes it."""
    outs = run(Config(max_size=1), ["acquire(a0)", "detach(a0)", "acquire(a1)", "release(a0)"])
    assert outs[2].result == got(1)
    assert calls(outs[3]) == ["close(c0)"]
    assert [c.id for c in outs[3].state.conns] == [1]


def test_drop_returns_like_release() -> None:
    """DROP-1: dropping a handle returns the connection as a release does."""
    a = run(Config(), ["acquire(a0)", "work(a0)", "drop(a0)"])[-1]
    b = run(Config(), ["acquire(a0)", "work(a0)", "release(a0)"])[-1]
    assert a == b


def test_connect_failure_reaches_caller_and_frees_slot() -> None:
    """CONN-1: a failed connect refuses its caller and leaves the slot free."""
    outs = run(Config(max_size=1), ["fail_connect()", "acquire(a0)", "acquire(a1)"])
    assert outs[1].result == refused(Refusal.CONNECT_FAILED)
    assert outs[2].result == got(0)


def test_connect_failure_for_waiter_wakes_next() -> None:
    """CONN-1: when a waiter's connect fails, the next waiter is woken to try."""
    script = ["acquire(a0)", "acquire(a1)", "acquire(a2)", "fail_connect()", "invalidate(a0)"]
    last = run(Config(max_size=1), script)[-1]
    assert [str(w) for w in last.wakeups] == ["a1 refused: connect_failed", "a2 got c1"]


def test_dispose_closes_idle_keeps_pool() -> None:
    """CLOSE-3: dispose closes idle connections; checked-out ones stay counted against the cap."""
    cfg = Config(max_size=2)
    outs = run(cfg, ["acquire(a0)", "acquire(a1)", "release(a1)", "dispose()", "acquire(a2)"])
    assert calls(outs[3]) == ["close(c1)"]
    assert outs[4].result == got(2)
    assert len(outs[4].state.conns) == 2


def test_per_thread_reentrant() -> None:
    """AFF-1, AFF-2: a thread gets its own connection back; only the outermost release resets."""
    cfg = Config(per_thread=True)
    outs = run(cfg, ["acquire(a0)", "acquire(a0)", "release(a0)", "release(a0)", "acquire(a0)"])
    assert outs[1].result == got(0) and calls(outs[1]) == []
    assert calls(outs[2]) == []
    assert calls(outs[3]) == ["rollback(c0)"]
    assert outs[4].result == got(0)
    assert stats(outs[3].state).idle == 1


def test_ended_thread_connection_closed() -> None:
    """AFF-3: the connection of a thread that ended is closed and its slot serves a waiter."""
    cfg = Config(per_thread=True, max_size=1)
    outs = run(cfg, ["acquire(a0)", "release(a0)", "acquire(a1)", "end_thread(a0)"])
    assert outs[2].result == WAIT
    assert calls(outs[3]) == ["close(c0)", "connect(c1)"]
    assert [str(w) for w in outs[3].wakeups] == ["a1 got c1"]


def test_shared_mode_shares_least_shared() -> None:
    """EXCL-4: when full, shared mode shares the least shared connection; last release resets."""
    cfg = Config(max_size=2, shared=True)
    outs = run(cfg, ["acquire(a0)", "acquire(a1)", "acquire(a2)", "release(a0)", "release(a2)"])
    assert outs[2].result == got(0)
    assert calls(outs[3]) == []
    assert calls(outs[4]) == ["rollback(c0)"]


def test_misuse_is_refused_and_changes_nothing() -> None:
    """EXCL-2, EXCL-3: release or use of what the actor does not hold is refused, state intact."""
    outs = run(Config(), ["acquire(a0)", "release(a0)", "release(a0)", "work(a0)"])
    assert outs[2].result == refused(Refusal.NOT_HELD)
    assert outs[2].state == outs[1].state and outs[2].effects == ()
    assert outs[3].result == refused(Refusal.NOT_HELD)


def test_preconditions_refuse_disabled_ops() -> None:
    """An op that is not enabled raises ValueError naming it."""
    cfg = Config(max_size=1)
    state = run(cfg, ["acquire(a0)", "acquire(a1)"])[-1].state
    with pytest.raises(ValueError, match=r"acquire\(a1\) is not enabled here: the actor is waiting"):
        step(cfg, state, Op(OpKind.ACQUIRE, 1))
    with pytest.raises(ValueError, match="holds a connection"):
        step(cfg, state, Op(OpKind.ACQUIRE, 0))
    with pytest.raises(ValueError, match="needs an actor"):
        step(cfg, state, Op(OpKind.RELEASE, 7))


def test_enabled_is_deterministic_and_excludes_waiters() -> None:
    """enabled() lists the same ops in the same order and none for a waiting actor."""
    cfg = Config(max_size=1, timeout=1)
    state = run(cfg, ["acquire(a0)", "acquire(a1)"])[-1].state
    ops = enabled(cfg, state)
    assert ops == enabled(cfg, state)
    assert all(o.actor != 1 for o in ops)
    assert Op(OpKind.TICK) in ops and Op(OpKind.KILL, conn=0) in ops
    assert Op(OpKind.FAIL_PING) not in ops  # no ping policy: nothing to fail


def test_step_outcomes_are_values() -> None:
    """Operations never mutate their input state."""
    cfg = Config()
    state = initial(cfg, 2).state
    before = repr(state)
    out = step(cfg, state, Op(OpKind.ACQUIRE, 0))[0]
    assert repr(state) == before and out.state != state
    assert out.result.status is Status.GOT
