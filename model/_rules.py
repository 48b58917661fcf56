"""Every rule of ``spec/SPEC.md`` as named predicates, each citing its rule id.

Kinds:

* ``ALWAYS``: holds in every reachable state; ``check(config, state)``.
* ``STEP``: holds on every transition; ``check(config, before, op, outcome)``.
* ``INITIAL``: holds on the pool as created; ``check(config, outcome)``.
* ``SOMETIMES``: some reachable transition witnesses it (catches a model that
  never reaches the interesting states); ``check(config, before, op, outcome)``.
* ``EVENTUALLY``: from every reachable state, a state where it holds is
  reachable; the model checker evaluates it on the state graph. Its
  ``check(config, state)`` returns the set of pending obligations (actors
  waiting), each of which must be discharged on some path.

The same ALWAYS predicates run on states projected from a real pool by the
lockstep harness, so they read only what such a projection carries.

A ``STEP`` or ``SOMETIMES`` predicate that looks at a few op kinds only, or
only at transitions that hand out a connection, wake a waiter or call the
driver, says so in its registration (``ops=``, ``when=``) as well as in its
first test; the model checker uses that to skip calls that can only be
vacuous (see ``Predicate``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any

from ._config import Config, Fairness, IdleOrder, Ping, ResetMode
from ._enum import FastEnum
from ._state import (
    Effect,
    EffectKind,
    Op,
    OpKind,
    Outcome,
    Refusal,
    State,
    Status,
    effect,
    stats,
)
from ._transitions import retire_due, step

Guard = Callable[[Op, Outcome], bool]
"""A cheap test on a transition ``(op, outcome)``."""

# Enum members that the guards and the predicates checked on every transition
# read, looked up once: on CPython 3.11 reading ``OpKind.ACQUIRE`` goes through
# ``EnumType.__getattr__`` and costs several times a plain read, and the model
# checker makes millions of these calls.
_ACQUIRE = OpKind.ACQUIRE
_DETACH = OpKind.DETACH
_DISPOSE = OpKind.DISPOSE
_GOT = Status.GOT
_CONNECT = EffectKind.CONNECT
_CLOSE = EffectKind.CLOSE
_CONNECT_FAILED = EffectKind.CONNECT_FAILED
_conn_id = attrgetter("id")


class Kind(FastEnum):
    """How a predicate is evaluated."""

    ALWAYS = "always"
    STEP = "step"
    INITIAL = "initial"
    SOMETIMES = "sometimes"
    EVENTUALLY = "eventually"


@dataclass(frozen=True, slots=True)
class Predicate:
    """One named check of one rule.

    Attributes:
        name: unique, readable name (``cap_hard``).
        rule: the SPEC.md rule id it enforces (``CAP-1``).
        kind: how it is evaluated.
        check: the predicate; its signature depends on ``kind``.
        applies: whether it means anything under a configuration.
        ops: for ``STEP`` and ``SOMETIMES``, the op kinds it looks at (None:
            every kind). On a transition of any other kind a ``STEP``
            predicate holds and a ``SOMETIMES`` one is not witnessed, so a
            checker may skip the call; the predicate still says so itself.
        when: for ``STEP`` and ``SOMETIMES``, a cheap guard on the transition
            with the same promise: where it is False the check is vacuous
            (``hands_out``, ``wakes``, ``calls``). None: no guard.
    """

    name: str
    rule: str
    kind: Kind
    check: Callable[..., Any]
    applies: Callable[[Config], bool]
    ops: frozenset[OpKind] | None = None
    when: Guard | None = None


PREDICATES: list[Predicate] = []


def _always_applies(config: Config) -> bool:
    del config
    return True


def predicate(
    rule: str,
    kind: Kind,
    applies: Callable[[Config], bool] = _always_applies,
    *,
    ops: Iterable[OpKind] | None = None,
    when: Guard | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as a predicate of ``rule``.

    ``ops`` and ``when`` restate, for the checker's dispatch, the first test
    the predicate makes (see ``Predicate``); ``tests/model`` checks on every
    transition of several explorations that they promise nothing more.
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        kinds = None if ops is None else frozenset(ops)
        PREDICATES.append(Predicate(fn.__name__, rule, kind, fn, applies, kinds, when))
        return fn

    return register


# -- guards: cheap tests on a transition that many predicates start with -----


def hands_out(op: Op, out: Outcome) -> bool:
    """Whether the transition hands a connection to anyone (``handed`` is not empty)."""
    return bool(out.wakeups) or (op.kind is _ACQUIRE and out.result.status is _GOT)


def wakes(op: Op, out: Outcome) -> bool:
    """Whether the transition resolved a waiter."""
    del op
    return bool(out.wakeups)


def calls(op: Op, out: Outcome) -> bool:
    """Whether the transition made a driver call."""
    del op
    return bool(out.effects)


# -- helpers over outcomes ---------------------------------------------------


def handed(op: Op, out: Outcome) -> list[tuple[int, int]]:
    """(actor, connection) pairs handed out by this transition: the caller's first."""
    pairs: list[tuple[int, int]] = []
    r = out.result
    if op.kind is _ACQUIRE and r.status is _GOT and op.actor is not None and r.conn is not None:
        pairs.append((op.actor, r.conn))
    for w in out.wakeups:
        if w.result.status is _GOT and w.result.conn is not None:
            pairs.append((w.actor, w.result.conn))
    return pairs


def _fresh_checkouts(before: State, op: Op, out: Outcome) -> list[int]:
    """Connections the pool already had that this transition checked out anew.

    Those passed the checkout gate. Excluded: reentrant checkouts (the thread
    already had it out) and shared-mode joins of a connection in use.
    """
    found = []
    acquire = op.kind is _ACQUIRE
    for actor, cid in handed(op, out):
        hold = before.holds[actor]
        if acquire and hold is not None and hold.depth > 0 and actor == op.actor:
            continue
        if not before.has_conn(cid):
            continue  # a new connection: nothing to validate
        if acquire and before.holders(cid):
            continue
        found.append(cid)
    return found


_RETURNS = frozenset({OpKind.RELEASE, OpKind.DROP})
"""Ops that give a connection back."""
_STATEMENTS = frozenset({OpKind.WORK, OpKind.SET_SESSION})
"""Ops that run a statement on the held connection."""


def _idle_set(state: State) -> set[int]:
    return set(state.idle) | set(state.bound_idle())


def _ids(effects: tuple[Effect, ...], kind: EffectKind) -> set[int]:
    return {e.conn for e in effects if e.kind is kind and e.conn is not None}


def _has_room(config: Config, state: State) -> bool:
    return config.max_size is None or len(state.conns) < config.max_size


# -- CAP: capacity -----------------------------------------------------------


@predicate("CAP-1", Kind.ALWAYS, lambda c: c.max_size is not None)
def cap_hard(config: Config, state: State) -> bool:
    """Open connections (idle + in use) never exceed the hard cap."""
    return config.max_size is None or len(state.conns) <= config.max_size


@predicate("CAP-2", Kind.ALWAYS, lambda c: c.kept_idle is not None and not c.per_thread)
def cap_idle(config: Config, state: State) -> bool:
    """Idle connections never exceed the idle cap."""
    kept = config.kept_idle
    return kept is None or len(state.idle) <= kept


@predicate(
    "CAP-2",
    Kind.SOMETIMES,
    lambda c: c.kept_idle is not None and (c.max_size is None or c.kept_idle < c.max_size),
    ops={OpKind.RELEASE},
)
def overflow_closed(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A connection given back beyond the idle cap is closed."""
    del config
    return (
        op.kind is OpKind.RELEASE
        and op.actor is not None
        and (h := before.holds[op.actor]) is not None
        and not h.detached
        and Effect(EffectKind.CLOSE, h.conn) in out.effects
        and not before.conn(h.conn).broken
        and before.conn(h.conn).alive
        and not before.closed
    )


@predicate("CAP-3", Kind.INITIAL)
def prefilled(config: Config, out: Outcome) -> bool:
    """The pool opens ``min_idle`` connections when created, all idle."""
    return len(out.state.idle) == config.min_idle == len(out.state.conns)


@predicate("CAP-4", Kind.STEP, lambda c: c.max_size is None, ops={OpKind.ACQUIRE})
def unlimited_never_waits(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """With no hard cap a checkout never waits and is never refused as exhausted."""
    del config, before
    if op.kind is not OpKind.ACQUIRE:
        return True
    r = out.result
    return r.status is not Status.WAIT and r.refusal not in (
        Refusal.EXHAUSTED,
        Refusal.TOO_MANY_WAITERS,
    )


@predicate("CAP-5", Kind.STEP)
def accounting(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """The connections accounted for change only by connects, closes and detaches."""
    del config
    connected: set[int] = set()
    closed: set[int] = set()
    for e in out.effects:
        if e.conn is None:
            continue
        if e.kind is _CONNECT:
            connected.add(e.conn)
        elif e.kind is _CLOSE:
            closed.add(e.conn)
    after = out.state.conns
    if not connected and not closed and op.kind is not _DETACH:
        # the common case, spelled out: nothing may come or go
        return after is before.conns or set(map(_conn_id, after)) == set(
            map(_conn_id, before.conns)
        )
    detached = set()
    if op.kind is _DETACH and op.actor is not None:
        hold = out.state.holds[op.actor]
        if hold is not None and hold.detached:
            detached.add(hold.conn)
    old = set(map(_conn_id, before.conns))
    return set(map(_conn_id, after)) == (old | connected) - closed - detached


# -- WAIT: exhaustion and waiting ------------------------------------------------


@predicate("WAIT-1", Kind.STEP, lambda c: not c.block)
def raise_at_once(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A pool that does not wait refuses an exhausted checkout at once."""
    del config, before, op
    return out.result.status is not Status.WAIT


@predicate("WAIT-2", Kind.STEP, lambda c: c.block, when=wakes)
def timeout_only_when_due(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A waiter is refused with a timeout only when its timeout runs out on a tick."""
    del config
    for w in out.wakeups:
        if w.result.refusal is Refusal.TIMEOUT:
            was = before.waiter(w.actor)
            if op.kind is not OpKind.TICK or was is None or was.remaining != 1:
                return False
    return True


def _can_wait(c: Config) -> bool:
    return c.block and c.max_size is not None and not c.shared and c.max_waiters != 0


@predicate("WAIT-2", Kind.SOMETIMES, lambda c: _can_wait(c) and c.timeout is not None, when=wakes)
def timeout_happens(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Some waiter times out."""
    del config, before, op
    return any(w.result.refusal is Refusal.TIMEOUT for w in out.wakeups)


@predicate("WAIT-3", Kind.ALWAYS, lambda c: c.block)
def no_lost_wakeup(config: Config, state: State) -> bool:
    """No actor waits while a connection is idle, a slot is free or the pool is closed."""
    if not state.waiting:
        return True
    return not state.closed and not state.idle and not _has_room(config, state)


@predicate("WAIT-3", Kind.SOMETIMES, _can_wait, when=wakes)
def waiter_served(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Some waiter is handed a connection."""
    del config, before, op
    return any(w.result.status is Status.GOT for w in out.wakeups)


@predicate("WAIT-4", Kind.STEP, lambda c: c.block, ops={OpKind.CLOSE})
def close_refuses_waiters(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Closing the pool refuses every waiter with ``closed``."""
    del config
    if op.kind is not OpKind.CLOSE or before.closed:
        return True
    refused_closed = [w.actor for w in out.wakeups if w.result.refusal is Refusal.CLOSED]
    return not out.state.waiting and refused_closed == [w.actor for w in before.waiting]


@predicate("WAIT-5", Kind.STEP, lambda c: c.block and c.fairness is Fairness.FIFO, when=wakes)
def fifo_handoff(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Under FIFO fairness waiters are resolved oldest first."""
    del config
    if op.kind in (OpKind.TICK, OpKind.CLOSE):
        return True  # expiry and refusal follow each waiter's own deadline
    resolved = [w.actor for w in out.wakeups]
    order = [w.actor for w in before.waiting]
    return resolved == order[: len(resolved)]


@predicate("WAIT-6", Kind.ALWAYS, lambda c: c.max_waiters is not None)
def waiter_bound(config: Config, state: State) -> bool:
    """No more actors wait than the waiter bound."""
    return config.max_waiters is None or len(state.waiting) <= config.max_waiters


@predicate("WAIT-7", Kind.EVENTUALLY, lambda c: c.block)
def waiter_resolvable(config: Config, state: State) -> frozenset[int]:
    """Every waiter can still be served, expired or refused on some path."""
    del config
    return frozenset(w.actor for w in state.waiting)


# -- EXCL: exclusivity and misuse -------------------------------------------------


@predicate("EXCL-1", Kind.ALWAYS)
def exclusive(config: Config, state: State) -> bool:
    """Outside shared mode a connection has at most one holder, and idle ones none."""
    idle = _idle_set(state)
    seen: set[int] = set()
    for hold in state.holds:
        if hold is None or hold.detached or hold.depth == 0:
            continue
        if hold.conn in idle or (hold.conn in seen and not config.shared):
            return False
        seen.add(hold.conn)
    return True


def _unchanged_refusal(before: State, out: Outcome) -> bool:
    return (
        out.result.refusal is Refusal.NOT_HELD
        and out.state == before
        and not out.effects
        and not out.wakeups
    )


@predicate("EXCL-2", Kind.STEP, ops={OpKind.RELEASE})
def double_release_refused(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Releasing what the actor does not hold is refused and changes nothing."""
    del config
    if op.kind is not OpKind.RELEASE or op.actor is None:
        return True
    hold = before.holds[op.actor]
    if hold is not None and (hold.depth > 0 or hold.detached):
        return True
    return _unchanged_refusal(before, out)


_USES = frozenset({OpKind.WORK, OpKind.SET_SESSION, OpKind.COMMIT, OpKind.ROLLBACK, OpKind.BEGIN})


@predicate("EXCL-3", Kind.STEP, ops=_USES)
def use_after_release_refused(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Using a connection after releasing it is refused and changes nothing."""
    del config
    if op.kind not in _USES or op.actor is None:
        return True
    hold = before.holds[op.actor]
    if hold is not None and (hold.depth > 0 or hold.detached):
        return True
    return _unchanged_refusal(before, out)


@predicate("EXCL-4", Kind.STEP, lambda c: c.shared, ops={OpKind.ACQUIRE})
def share_only_when_full(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Shared mode shares a connection only when none is idle and no slot is free."""
    if op.kind is not OpKind.ACQUIRE or out.result.status is not Status.GOT:
        return True
    cid = out.result.conn
    if cid is None or not before.holders(cid):
        return True
    return not before.idle and not _has_room(config, before)


# -- ORDER: idle ordering ----------------------------------------------------------


@predicate("ORDER-1", Kind.STEP, lambda c: not c.per_thread and not c.shared, ops={OpKind.ACQUIRE})
def idle_order(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A checkout takes the idle connection its order names (FIFO: oldest return)."""
    if op.kind is not OpKind.ACQUIRE or not before.idle or out.result.status is not Status.GOT:
        return True
    expected = before.idle[0] if config.idle_order is IdleOrder.FIFO else before.idle[-1]
    return out.result.conn == expected or Effect(EffectKind.CLOSE, expected) in out.effects


# -- AFF: thread affinity -----------------------------------------------------------


@predicate("AFF-1", Kind.STEP, lambda c: c.per_thread, ops={OpKind.ACQUIRE})
def own_connection(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A thread with a connection bound to it gets that one back (or its replacement)."""
    del config
    if op.kind is not OpKind.ACQUIRE or op.actor is None or out.result.status is not Status.GOT:
        return True
    hold = before.holds[op.actor]
    if hold is None:
        return True
    return out.result.conn == hold.conn or Effect(EffectKind.CLOSE, hold.conn) in out.effects


@predicate("AFF-2", Kind.STEP, lambda c: c.per_thread, ops={OpKind.ACQUIRE, OpKind.RELEASE})
def reentrant(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A nested checkout or an inner release makes no driver call; only the outermost resets."""
    del config
    if op.actor is None or op.kind not in (OpKind.ACQUIRE, OpKind.RELEASE):
        return True
    hold = before.holds[op.actor]
    if hold is None or hold.detached:
        return True
    nested = hold.depth > 0 if op.kind is OpKind.ACQUIRE else hold.depth > 1
    return not nested or not out.effects


@predicate("AFF-3", Kind.STEP, lambda c: c.per_thread, ops={OpKind.END_THREAD})
def ended_thread_closed(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """The connection of a thread that ended is closed."""
    del config
    if op.kind is not OpKind.END_THREAD or op.actor is None:
        return True
    hold = before.holds[op.actor]
    return (
        hold is not None
        and Effect(EffectKind.CLOSE, hold.conn) in out.effects
        and not out.state.has_conn(hold.conn)
    )


# -- RESET: reset on return -----------------------------------------------------


def _reset_calls(out: Outcome) -> bool:
    return any(
        e.kind in (EffectKind.ROLLBACK, EffectKind.COMMIT, EffectKind.RESET) for e in out.effects
    )


@predicate("RESET-1", Kind.STEP, lambda c: c.reset is ResetMode.NONE, ops=_RETURNS)
def no_reset(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Reset mode ``none`` makes no reset call on return."""
    del config, before
    return op.kind not in _RETURNS or not _reset_calls(out)


@predicate("RESET-2", Kind.ALWAYS, lambda c: c.reset is not ResetMode.NONE)
def no_begun_transaction_idle(config: Config, state: State) -> bool:
    """No idle connection carries a transaction begun with ``begin()``."""
    del config
    idle = _idle_set(state)
    return not any(c.begun for c in state.conns if c.id in idle)


@predicate(
    "RESET-3",
    Kind.ALWAYS,
    lambda c: c.reset in (ResetMode.ROLLBACK, ResetMode.COMMIT, ResetMode.FULL),
)
def no_transaction_idle(config: Config, state: State) -> bool:
    """Under rollback, commit and full reset no idle connection carries uncommitted work."""
    del config
    idle = _idle_set(state)
    return not any(c.txn for c in state.conns if c.id in idle)


@predicate("RESET-4", Kind.STEP, lambda c: c.reset is ResetMode.COMMIT, ops=_RETURNS)
def commit_on_return(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Reset mode ``commit`` commits, never rolls back, on return."""
    del config, before
    if op.kind not in _RETURNS:
        return True
    return not any(e.kind in (EffectKind.ROLLBACK, EffectKind.RESET) for e in out.effects)


@predicate("RESET-5", Kind.ALWAYS, lambda c: c.reset is ResetMode.FULL)
def no_session_state_idle(config: Config, state: State) -> bool:
    """Under full reset no idle connection carries session state of a borrower."""
    del config
    idle = _idle_set(state)
    return not any(c.dirty for c in state.conns if c.id in idle)


def _handed_existing(before: State, op: Op, out: Outcome) -> list[int]:
    """Connections the pool already had, handed to a new borrower by this transition."""
    return [c for c in _fresh_checkouts(before, op, out) if out.state.has_conn(c)]


@predicate(
    "RESET-2",
    Kind.STEP,
    lambda c: c.reset is not ResetMode.NONE and not c.shared,
    when=hands_out,
)
def handed_without_begun_transaction(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """No borrower is handed a connection with a transaction another one began."""
    del config
    return not any(out.state.conn(c).begun for c in _handed_existing(before, op, out))


@predicate(
    "RESET-3",
    Kind.STEP,
    lambda c: c.reset in (ResetMode.ROLLBACK, ResetMode.COMMIT, ResetMode.FULL) and not c.shared,
    when=hands_out,
)
def handed_without_transaction(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Under rollback, commit and full reset no borrower inherits uncommitted work."""
    del config
    return not any(out.state.conn(c).txn for c in _handed_existing(before, op, out))


@predicate(
    "RESET-5", Kind.STEP, lambda c: c.reset is ResetMode.FULL and not c.shared, when=hands_out
)
def handed_without_session_state(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Under full reset no borrower inherits another's session state."""
    del config
    return not any(out.state.conn(c).dirty for c in _handed_existing(before, op, out))


# -- SETUP: session statements ----------------------------------------------------


_NEEDS_SETUP = frozenset({EffectKind.CONNECT, EffectKind.RESET})


@predicate("SETUP-1", Kind.STEP, lambda c: c.session_setup, when=calls)
def setup_every_connect(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Every new, reopened or fully reset connection runs the session statements next."""
    del config, before, op
    fx = out.effects
    for i, e in enumerate(fx):
        if e.kind not in _NEEDS_SETUP:
            continue
        after = fx[i + 1] if i + 1 < len(fx) else None
        # a reset that failed (dead connection) is followed by its close instead
        failed_reset = e.kind is EffectKind.RESET and after == effect(EffectKind.CLOSE, e.conn)
        if after != effect(EffectKind.SETUP, e.conn) and not failed_reset:
            return False
    return True


# -- RETIRE: retirement ---------------------------------------------------------


def _never_hands_out(
    test: Callable[[Config, State, int], bool], statement: str
) -> Callable[..., bool]:
    def check(config: Config, before: State, op: Op, out: Outcome) -> bool:
        return not any(test(config, before, cid) for cid in _fresh_checkouts(before, op, out))

    check.__doc__ = statement
    return check


def _used_up(config: Config, s: State, cid: int) -> bool:
    return config.max_usage is not None and s.conn(cid).uses >= config.max_usage


def _too_old(config: Config, s: State, cid: int) -> bool:
    return config.max_lifetime is not None and s.conn(cid).age >= config.max_lifetime


def _idle_too_long(config: Config, s: State, cid: int) -> bool:
    return config.max_idle_time is not None and s.conn(cid).idle_for >= config.max_idle_time


def _stale(config: Config, s: State, cid: int) -> bool:
    del config
    return s.conn(cid).stale


def _register(
    name: str, rule: str, kind: Kind, check: Callable[..., Any], applies: Callable[[Config], bool]
) -> None:
    # nothing handed out, nothing checked out anew: vacuous (see ``_fresh_checkouts``)
    PREDICATES.append(Predicate(name, rule, kind, check, applies, when=hands_out))


_register(
    "max_usage_retired",
    "RETIRE-1",
    Kind.STEP,
    _never_hands_out(
        _used_up, "A connection checked out max_usage times is never handed out again."
    ),
    lambda c: c.max_usage is not None,
)
_register(
    "max_lifetime_retired",
    "RETIRE-2",
    Kind.STEP,
    _never_hands_out(_too_old, "A connection older than max_lifetime is never handed out again."),
    lambda c: c.max_lifetime is not None,
)
_register(
    "max_idle_retired",
    "RETIRE-3",
    Kind.STEP,
    _never_hands_out(
        _idle_too_long, "A connection idle for max_idle_time is never handed out again."
    ),
    lambda c: c.max_idle_time is not None,
)
_register(
    "stale_retired",
    "INV-2",
    Kind.STEP,
    _never_hands_out(_stale, "A soft-invalidated connection is never handed out again."),
    _always_applies,
)


@predicate(
    "RETIRE-4",
    Kind.SOMETIMES,
    lambda c: c.max_usage is not None or c.max_lifetime is not None or c.max_idle_time is not None,
    ops={OpKind.ACQUIRE},
)
def retirement_happens(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Some checkout retires a connection and hands out its replacement."""
    return (
        any(
            retire_due(config, before.conn(cid)) and Effect(EffectKind.CLOSE, cid) in out.effects
            for cid in before.idle
        )
        and out.result.status is Status.GOT
        and op.kind is OpKind.ACQUIRE
    )


# -- LIVE: liveness checks and reopen -------------------------------------------


@predicate("LIVE-1", Kind.STEP, lambda c: c.ping is Ping.ON_CHECKOUT, when=hands_out)
def no_dead_handed_out(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """With ping on checkout no dead connection is handed out."""
    del config
    return all(out.state.conn(cid).alive for cid in _fresh_checkouts(before, op, out))


@predicate("LIVE-1", Kind.SOMETIMES, lambda c: c.ping is Ping.ON_CHECKOUT, when=calls)
def dead_replaced(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Some checkout finds a dead connection by ping and replaces it."""
    del config, op
    pinged = _ids(out.effects, EffectKind.PING)
    return any(before.has_conn(c) and not before.conn(c).alive for c in pinged) and bool(
        _ids(out.effects, EffectKind.CONNECT)
    )


def _dead_statement(before: State, op: Op) -> tuple[bool, bool]:
    """(the op runs a statement on a dead pooled connection, inside a transaction)."""
    if op.kind not in _STATEMENTS or op.actor is None:
        return False, False
    hold = before.holds[op.actor]
    if hold is None or hold.detached or hold.depth == 0:
        return False, False
    conn = before.conn(hold.conn)
    return not conn.alive, conn.txn or conn.begun


@predicate("LIVE-2", Kind.STEP, lambda c: c.reopen, ops=_STATEMENTS)
def reopen_outside_transaction(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Outside a transaction a lost connection is reopened and no error reaches the caller."""
    del config
    dead, inside = _dead_statement(before, op)
    if not dead or inside:
        return True
    if EffectKind.CONNECT_FAILED in {e.kind for e in out.effects}:
        return out.result.refusal is Refusal.CONNECTION_LOST
    return out.result.status is Status.OK


@predicate("LIVE-2", Kind.SOMETIMES, lambda c: c.reopen, ops=_STATEMENTS)
def reopen_happens(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Some statement on a lost connection is transparently reopened."""
    del config
    dead, inside = _dead_statement(before, op)
    return dead and not inside and out.result.status is Status.OK


@predicate("LIVE-3", Kind.STEP, lambda c: c.reopen, ops=_STATEMENTS)
def error_inside_transaction(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Inside a transaction a lost connection's error surfaces and nothing is retried."""
    del config
    dead, inside = _dead_statement(before, op)
    if not dead or not inside:
        return True
    return (
        out.result.refusal is Refusal.CONNECTION_LOST
        and not _ids(out.effects, EffectKind.CONNECT)
        and len([e for e in out.effects if e.kind is EffectKind.EXECUTE]) == 1
    )


@predicate("LIVE-3", Kind.STEP, lambda c: c.reopen, ops=_RETURNS)
def broken_replaced_on_return(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A connection that failed inside a transaction is closed when given back."""
    del config
    if op.kind not in _RETURNS or op.actor is None:
        return True
    hold = before.holds[op.actor]
    if hold is None or hold.detached or hold.depth != 1 or not before.has_conn(hold.conn):
        return True
    if not before.conn(hold.conn).broken or len(before.holders(hold.conn)) > 1:
        return True
    return Effect(EffectKind.CLOSE, hold.conn) in out.effects and not out.state.has_conn(hold.conn)


# -- INV, DET, DROP ---------------------------------------------------------------


@predicate("INV-1", Kind.STEP, ops={OpKind.INVALIDATE})
def invalidate_closes(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A hard invalidate closes the connection now and frees its slot."""
    del config
    if op.kind is not OpKind.INVALIDATE or op.actor is None:
        return True
    hold = before.holds[op.actor]
    if hold is None or (hold.depth == 0 and not hold.detached):
        return True
    return (
        Effect(EffectKind.CLOSE, hold.conn) in out.effects
        and not out.state.has_conn(hold.conn)
        and out.state.holds[op.actor] is None
    )


@predicate("DET-1", Kind.STEP, ops={OpKind.DETACH})
def detach_frees_slot(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A detached connection leaves the accounting without being closed; its holder keeps it."""
    del config
    if op.kind is not OpKind.DETACH or op.actor is None:
        return True
    hold = before.holds[op.actor]
    if hold is None or hold.detached or hold.depth == 0:
        return True
    after = out.state.holds[op.actor]
    return (
        not out.state.has_conn(hold.conn)
        and Effect(EffectKind.CLOSE, hold.conn) not in out.effects
        and after is not None
        and after.detached
        and after.conn == hold.conn
    )


@predicate("DROP-1", Kind.STEP, ops={OpKind.DROP})
def drop_returns(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A dropped handle is returned exactly as a release of it would be."""
    if op.kind is not OpKind.DROP or op.actor is None:
        return True
    hold = before.holds[op.actor]
    if hold is not None and hold.depth > 1:
        holds = list(before.holds)
        holds[op.actor] = replace(hold, depth=1)
        before = replace(before, holds=tuple(holds))
    return out in step(config, before, Op(OpKind.RELEASE, op.actor))


# -- CONN: connect failures ---------------------------------------------------------


@predicate("CONN-1", Kind.STEP)
def connect_error_reaches_caller(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Every failed connect's error reaches the caller that needed it."""
    del config, before
    failed = 0
    for e in out.effects:
        if e.kind is _CONNECT_FAILED:
            failed += 1
    if not failed and op.kind is not _DISPOSE:
        return True  # nothing failed, nothing to report
    told = sum(1 for w in out.wakeups if w.result.refusal is Refusal.CONNECT_FAILED)
    if out.result.refusal in (Refusal.CONNECT_FAILED, Refusal.CONNECTION_LOST):
        told += 1
    return told >= failed if op.kind is not OpKind.DISPOSE else told == failed


@predicate("CONN-1", Kind.SOMETIMES, when=calls)
def connect_fails(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Some connect fails and its error reaches a caller."""
    del config, before, op
    return any(e.kind is EffectKind.CONNECT_FAILED for e in out.effects)


# -- CLOSE: close and dispose -------------------------------------------------------


@predicate("CLOSE-1", Kind.ALWAYS)
def closed_is_empty(config: Config, state: State) -> bool:
    """A closed pool keeps no idle connection and no waiter."""
    del config
    return not state.closed or (not _idle_set(state) and not state.waiting)


@predicate("CLOSE-1", Kind.STEP, ops={OpKind.ACQUIRE})
def closed_refuses(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A closed pool refuses every checkout with ``closed``."""
    del config
    if op.kind is not OpKind.ACQUIRE or not before.closed:
        return True
    return out.result.refusal is Refusal.CLOSED and out.state == before


@predicate("CLOSE-2", Kind.STEP, ops=_RETURNS)
def closed_on_return(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """A connection given back to a closed pool is closed."""
    del config
    if op.kind not in _RETURNS or op.actor is None or not before.closed:
        return True
    hold = before.holds[op.actor]
    if hold is None or (hold.depth != 1 and not hold.detached):
        return True
    if not hold.detached and len(before.holders(hold.conn)) > 1:
        return True  # a shared connection stays with its other holders
    return Effect(EffectKind.CLOSE, hold.conn) in out.effects


@predicate("CLOSE-3", Kind.STEP, ops={OpKind.DISPOSE})
def dispose_keeps_open(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Dispose closes every idle connection and leaves the pool usable."""
    del config
    if op.kind is not OpKind.DISPOSE or before.closed:
        return True
    closed = _ids(out.effects, EffectKind.CLOSE)
    return _idle_set(before) <= closed and not out.state.closed


# -- STAT and EVENT -------------------------------------------------------------


@predicate("STAT-1", Kind.ALWAYS)
def stats_add_up(config: Config, state: State) -> bool:
    """The statistics snapshot adds up: idle + in use == open, waiting as listed."""
    del config
    s = stats(state)
    return (
        s.idle + s.in_use == s.open
        and s.idle >= 0
        and s.in_use >= 0
        and s.waiting == len(state.waiting)
    )


def events(before: State, op: Op, out: Outcome) -> tuple[tuple[str, int | None], ...]:
    """The events a pool fires for one transition, in order (EVENT-1).

    ``connect`` for each new connection, ``checkout`` for each hand-out,
    ``checkin`` when the op gives a connection back (outermost release only),
    ``reset`` for each reset call, ``invalidate`` / ``detach`` for those ops,
    ``close`` for each closed connection and ``pool_closed`` for a close of
    the pool.
    """
    found: list[tuple[str, int | None]] = []
    hold = before.holds[op.actor] if op.actor is not None else None
    outermost = hold is not None and (hold.detached or hold.depth == 1 or op.kind is OpKind.DROP)
    if op.kind in (OpKind.RELEASE, OpKind.DROP) and out.result.status is Status.OK and outermost:
        found.append(("checkin", None))
    if op.kind is OpKind.INVALIDATE and out.result.status is Status.OK:
        found.append(("invalidate", None))
    if op.kind is OpKind.DETACH and out.result.status is Status.OK:
        found.append(("detach", None))
    names = {
        EffectKind.CONNECT: "connect",
        EffectKind.CLOSE: "close",
        EffectKind.ROLLBACK: "reset",
        EffectKind.COMMIT: "reset",
        EffectKind.RESET: "reset",
    }
    client = op.kind in (OpKind.WORK, OpKind.SET_SESSION, OpKind.COMMIT, OpKind.ROLLBACK)
    for e in out.effects:
        name = names.get(e.kind)
        if name is not None and not (client and name == "reset"):
            found.append((name, e.conn))
    found.extend(("checkout", c) for _, c in handed(op, out))
    if op.kind is OpKind.CLOSE and out.result.status is Status.OK:
        found.append(("pool_closed", None))
    return tuple(found)


@predicate("EVENT-1", Kind.STEP, when=hands_out)
def events_ordered(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Each connection's events come in lifecycle order: connect before checkout, close last."""
    del config
    seen_close: set[int | None] = set()
    connected: set[int | None] = {c.id for c in before.conns}
    for name, cid in events(before, op, out):
        if cid is None:
            continue
        if name == "connect":
            connected.add(cid)
        elif name == "close":
            seen_close.add(cid)
        elif name == "checkout" and (cid in seen_close or cid not in connected):
            return False
    return True


# -- lookups ----------------------------------------------------------------


def rule_ids() -> tuple[str, ...]:
    """Every rule id some predicate cites, sorted."""
    return tuple(sorted({p.rule for p in PREDICATES}))


def by_kind(kind: Kind, config: Config) -> tuple[Predicate, ...]:
    """The predicates of one kind that apply under ``config``."""
    return tuple(p for p in PREDICATES if p.kind is kind and p.applies(config))
