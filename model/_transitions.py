"""One pure function per operation, and the list of enabled operations.

Each operation takes ``(config, state, ...)`` and returns an ``Outcome``: the
new state, the caller's result, the driver calls the pool must make, and the
waiters it resolved. Nothing here mutates a state; the small lists that
collect effects and wake-ups live only for one call.

The helpers below share one vocabulary:

1. ``_connect`` opens a connection, or fails if a connect failure is armed.
2. ``_validate`` is the checkout-time gate: a connection due for retirement
   (stale, used up, too old, idle too long) or failing its ping is closed and
   a new one opened in its slot.
3. ``_hand`` gives a connection to an actor.
4. ``_give`` places a connection freed by its holder: the chosen waiter gets
   it, else it goes idle, else (beyond the idle cap) it is closed.
5. ``_slot_freed`` serves the chosen waiter when a connection left the pool:
   the waiter connects in the freed slot; if that connect fails, the waiter is
   refused with the connect error and the next waiter tries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache

from ._config import Config, Fairness, IdleOrder, Ping, ResetMode
from ._state import (
    OK,
    WAIT,
    Conn,
    Effect,
    EffectKind,
    Hold,
    Op,
    OpKind,
    Outcome,
    Refusal,
    Result,
    State,
    Status,
    Waiter,
    Wakeup,
    closing,
    effect,
    got,
    refused,
    with_clocks,
    with_conn,
    with_faults,
    with_health,
    with_hold,
    with_pool,
    with_txn,
    with_waiting,
)

Effects = list[Effect]
Wakeups = list[Wakeup]


def initial(config: Config, actors: int) -> Outcome:
    """The pool just created: ``min_idle`` connections opened (CAP-3).

    Args:
        config: the pool's policies.
        actors: how many actors (threads) will use it.

    Raises:
        ValueError: ``actors`` is not positive.
    """
    if not isinstance(actors, int) or isinstance(actors, bool) or actors < 1:
        raise ValueError(f"actors must be a positive int, got {actors!r}")
    fx: Effects = []
    state = State(conns=(), idle=(), holds=(None,) * actors)
    for _ in range(config.min_idle):
        state, cid = _connect(config, state, fx)
        assert cid is not None  # no connect failure is armed at creation
        state = with_pool(state, state.conns, (*state.idle, cid))
    return Outcome(state, OK, tuple(fx))


# -- helpers ---------------------------------------------------------------


def _has_room(config: Config, state: State) -> bool:
    return config.max_size is None or len(state.conns) < config.max_size


def _remove(state: State, cid: int) -> State:
    idle = state.idle
    if cid in idle:
        idle = tuple(i for i in idle if i != cid)
    return with_pool(state, tuple(c for c in state.conns if c.id != cid), idle)


def _connect(config: Config, state: State, fx: Effects) -> tuple[State, int | None]:
    """Open a new connection (CONNECT, then SETUP if configured), or fail."""
    if state.connect_failures:
        fx.append(effect(EffectKind.CONNECT_FAILED, None))
        return with_faults(state, state.connect_failures - 1, state.ping_failures), None
    cid = state.next_id
    fx.append(effect(EffectKind.CONNECT, cid))
    if config.session_setup:
        fx.append(effect(EffectKind.SETUP, cid))
    opened = State(
        (*state.conns, Conn(cid)), state.idle, state.holds, state.waiting,
        state.closed, state.connect_failures, state.ping_failures, cid + 1,
    )  # fmt: skip
    return opened, cid


def retire_due(config: Config, conn: Conn) -> bool:
    """Whether a connection must not be handed out again (RETIRE-1..4)."""
    return (
        conn.stale
        or (config.max_usage is not None and conn.uses >= config.max_usage)
        or (config.max_lifetime is not None and conn.age >= config.max_lifetime)
        or (config.max_idle_time is not None and conn.idle_for >= config.max_idle_time)
    )


def _validate(config: Config, state: State, cid: int, fx: Effects) -> tuple[State, int | None]:
    """The checkout gate: the id to hand out, or None if its replacement failed."""
    conn = state.conn(cid)
    if not retire_due(config, conn):
        if config.ping is not Ping.ON_CHECKOUT:
            return state, cid
        fx.append(effect(EffectKind.PING, cid))
        if state.ping_failures:
            # an armed ping failure is spent by the next ping, dead or alive
            state = with_faults(state, state.connect_failures, state.ping_failures - 1)
        elif conn.alive:
            return state, cid
    fx.append(effect(EffectKind.CLOSE, cid))
    return _connect(config, _remove(state, cid), fx)


def _hand(config: Config, state: State, actor: int, cid: int) -> State:
    conn = state.conn(cid)
    uses = conn.uses if config.max_usage is None else min(conn.uses + 1, config.max_usage)
    state = with_conn(state, with_clocks(conn, uses, conn.age, 0))
    return with_hold(state, actor, Hold(cid))


def _checkout(
    config: Config, state: State, actor: int, cid: int, fx: Effects
) -> tuple[State, Result]:
    """Validate a connection the pool already has and hand it to ``actor``."""
    state, cid_or_none = _validate(config, state, cid, fx)
    if cid_or_none is None:
        return state, refused(Refusal.CONNECT_FAILED)
    return _hand(config, state, actor, cid_or_none), got(cid_or_none)


def _pick(config: Config, state: State, prefer: int | None) -> Waiter:
    """The waiter served next: the oldest, or under barging any (``prefer``)."""
    if prefer is not None and config.fairness is Fairness.BARGING:
        found = state.waiter(prefer)
        if found is not None:
            return found
    return state.waiting[0]


def _unwait(state: State, waiter: Waiter) -> State:
    return with_waiting(state, tuple(w for w in state.waiting if w is not waiter))


def _slot_freed(
    config: Config, state: State, fx: Effects, wk: Wakeups, prefer: int | None
) -> State:
    """A connection left the accounting: the chosen waiter connects in its slot."""
    while state.waiting and not state.closed and _has_room(config, state):
        waiter = _pick(config, state, prefer)
        prefer = None
        state = _unwait(state, waiter)
        state, cid = _connect(config, state, fx)
        if cid is None:
            # CONN-1: the error reaches this waiter; the slot is free again
            wk.append(Wakeup(waiter.actor, refused(Refusal.CONNECT_FAILED)))
            continue
        state = _hand(config, state, waiter.actor, cid)
        wk.append(Wakeup(waiter.actor, got(cid)))
    return state


def _give(
    config: Config, state: State, cid: int, fx: Effects, wk: Wakeups, prefer: int | None
) -> State:
    """Place a connection its holder gave back (already reset)."""
    if state.waiting:
        waiter = _pick(config, state, prefer)
        state = _unwait(state, waiter)
        state, result = _checkout(config, state, waiter.actor, cid, fx)
        wk.append(Wakeup(waiter.actor, result))
        if result.status is Status.REFUSED:
            state = _slot_freed(config, state, fx, wk, None)
        return state
    kept = config.kept_idle
    if kept is not None and len(state.idle) >= kept:
        fx.append(effect(EffectKind.CLOSE, cid))  # CAP-2: overflow closed on return
        return _remove(state, cid)
    return with_pool(state, state.conns, (*state.idle, cid))


_RESET_CALL = {
    ResetMode.ROLLBACK_IF_BEGUN: EffectKind.ROLLBACK,
    ResetMode.ROLLBACK: EffectKind.ROLLBACK,
    ResetMode.COMMIT: EffectKind.COMMIT,
    ResetMode.FULL: EffectKind.RESET,
}


def _reset(config: Config, state: State, cid: int, fx: Effects) -> tuple[State, bool]:
    """Reset on return (RESET-1..5); False if the reset call failed (dead connection)."""
    conn = state.conn(cid)
    mode = config.reset
    if mode is ResetMode.NONE or (mode is ResetMode.ROLLBACK_IF_BEGUN and not conn.begun):
        return state, True
    fx.append(effect(_RESET_CALL[mode], cid))
    if not conn.alive:
        return state, False
    if mode is ResetMode.FULL:
        if config.session_setup:
            fx.append(effect(EffectKind.SETUP, cid))
        return with_conn(state, with_txn(conn, False, False, False)), True
    return with_conn(state, with_txn(conn, False, False, conn.dirty)), True


def _return(
    config: Config, state: State, actor: int, cid: int, fx: Effects, wk: Wakeups, prefer: int | None
) -> State:
    """The outermost release of ``cid`` by ``actor``, whose hold is already updated."""
    if not state.closed and not state.conn(cid).broken:
        state, ok = _reset(config, state, cid, fx)
        if ok:
            if config.per_thread:
                return state  # AFF-1: the connection stays bound to its thread
            return _give(config, state, cid, fx, wk, prefer)
    # CLOSE-2 (closed pool), LIVE-3 (broken), or a reset that failed
    fx.append(effect(EffectKind.CLOSE, cid))
    state = _remove(state, cid)
    if config.per_thread:
        state = with_hold(state, actor, None)
    return _slot_freed(config, state, fx, wk, prefer)


def _broke(conn: Conn) -> Conn:
    return with_health(conn, conn.alive, conn.stale, True)


def _outcome(state: State, result: Result, fx: Effects, wk: Wakeups | None = None) -> Outcome:
    return Outcome(state, result, tuple(fx), tuple(wk) if wk else ())


def _not_held(state: State) -> Outcome:
    return Outcome(state, refused(Refusal.NOT_HELD))


def _precondition(op: str, why: str) -> ValueError:
    return ValueError(f"{op} is not enabled here: {why}")


# -- client operations -----------------------------------------------------


def acquire(config: Config, state: State, actor: int, prefer: int | None = None) -> Outcome:
    """Check out a connection for ``actor``; see SPEC.md CAP, WAIT, ORDER, AFF, RETIRE, LIVE.

    Raises:
        ValueError: the actor waits already, or holds a connection outside
            per-thread mode (the model gives each actor one handle).
    """
    del prefer  # a checkout hands nothing to waiters
    if state.waiter(actor) is not None:
        raise _precondition(f"acquire(a{actor})", "the actor is waiting")
    if state.closed:
        return Outcome(state, refused(Refusal.CLOSED))
    hold = state.holds[actor]
    fx: Effects = []
    wk: Wakeups = []
    if hold is not None:
        if hold.detached or not config.per_thread:
            raise _precondition(f"acquire(a{actor})", "the actor holds a connection")
        if hold.depth > 0:
            # AFF-2: reentrant checkout returns the same connection, no calls
            deeper = Hold(hold.conn, hold.depth + 1, hold.detached)
            return Outcome(with_hold(state, actor, deeper), got(hold.conn))
        state, result = _checkout(config, state, actor, hold.conn, fx)
        if result.status is Status.REFUSED:
            state = _slot_freed(config, with_hold(state, actor, None), fx, wk, None)
        return _outcome(state, result, fx, wk)
    if state.idle:
        take = state.idle[0] if config.idle_order is IdleOrder.FIFO else state.idle[-1]
        state = with_pool(state, state.conns, tuple(i for i in state.idle if i != take))
        state, result = _checkout(config, state, actor, take, fx)
        return _outcome(state, result, fx)
    if _has_room(config, state):
        state, cid = _connect(config, state, fx)
        if cid is None:
            return _outcome(state, refused(Refusal.CONNECT_FAILED), fx)
        return _outcome(_hand(config, state, actor, cid), got(cid), fx)
    if config.shared:
        in_use = [c.id for c in state.conns]
        if in_use:
            # EXCL-4: share the least shared connection, the oldest among equals
            cid = min(in_use, key=lambda i: (len(state.holders(i)), i))
            return Outcome(_hand(config, state, actor, cid), got(cid))
    if not config.block:
        return Outcome(state, refused(Refusal.EXHAUSTED))
    if config.max_waiters is not None and len(state.waiting) >= config.max_waiters:
        return Outcome(state, refused(Refusal.TOO_MANY_WAITERS))
    state = with_waiting(state, (*state.waiting, Waiter(actor, config.timeout)))
    return Outcome(state, WAIT)


def _held(state: State, actor: int) -> Hold | None:
    hold = state.holds[actor]
    if hold is None or (hold.depth == 0 and not hold.detached):
        return None
    return hold


def release(config: Config, state: State, actor: int, prefer: int | None = None) -> Outcome:
    """Give back the actor's connection; EXCL-2 refuses a release of nothing."""
    hold = _held(state, actor)
    if hold is None:
        return _not_held(state)
    fx: Effects = []
    wk: Wakeups = []
    if hold.detached:
        fx.append(effect(EffectKind.CLOSE, hold.conn))  # DET-1: closing a detached one closes it
        return _outcome(with_hold(state, actor, None), OK, fx)
    if config.per_thread and hold.depth > 1:
        return Outcome(with_hold(state, actor, Hold(hold.conn, hold.depth - 1, hold.detached)), OK)
    others = len(state.holders(hold.conn)) - 1
    kept = Hold(hold.conn, 0, hold.detached) if config.per_thread else None
    state = with_hold(state, actor, kept)
    if others:
        return Outcome(state, OK)  # a shared connection stays with its other holders
    state = _return(config, state, actor, hold.conn, fx, wk, prefer)
    return _outcome(state, OK, fx, wk)


def drop(config: Config, state: State, actor: int, prefer: int | None = None) -> Outcome:
    """The holder dropped its handle without closing it: returned as by release (DROP-1)."""
    hold = _held(state, actor)
    if hold is None:
        raise _precondition(f"drop(a{actor})", "the actor holds nothing")
    if hold.depth > 1:
        state = with_hold(state, actor, replace(hold, depth=1))
    return release(config, state, actor, prefer)


def invalidate(config: Config, state: State, actor: int, prefer: int | None = None) -> Outcome:
    """Hard invalidate: close the actor's connection now and free its slot (INV-1)."""
    hold = _held(state, actor)
    if hold is None:
        return _not_held(state)
    fx: Effects = [effect(EffectKind.CLOSE, hold.conn)]
    wk: Wakeups = []
    state = with_hold(state, actor, None)
    if hold.detached:
        return _outcome(state, OK, fx)
    if len(state.holders(hold.conn)) > 0:
        raise _precondition(f"invalidate(a{actor})", "the connection is shared")
    state = _slot_freed(config, _remove(state, hold.conn), fx, wk, prefer)
    return _outcome(state, OK, fx, wk)


def soft_invalidate(config: Config, state: State, actor: int) -> Outcome:
    """Soft invalidate: the connection is retired at its next checkout (INV-2)."""
    del config
    hold = _held(state, actor)
    if hold is None:
        return _not_held(state)
    if hold.detached:
        return Outcome(state, OK)
    conn = state.conn(hold.conn)
    return Outcome(with_conn(state, with_health(conn, conn.alive, True, conn.broken)), OK)


def detach(config: Config, state: State, actor: int, prefer: int | None = None) -> Outcome:
    """The connection leaves the pool's accounting; its slot frees (DET-1)."""
    hold = _held(state, actor)
    if hold is None:
        return _not_held(state)
    if hold.detached:
        return Outcome(state, OK)
    if len(state.holders(hold.conn)) > 1:
        raise _precondition(f"detach(a{actor})", "the connection is shared")
    if hold.depth > 1:
        # one connection, several handles: which of them would leave with it?
        raise _precondition(f"detach(a{actor})", "the thread has nested checkouts")
    fx: Effects = []
    wk: Wakeups = []
    lost = not state.conn(hold.conn).alive
    state = with_hold(_remove(state, hold.conn), actor, Hold(hold.conn, 1, True, lost))
    state = _slot_freed(config, state, fx, wk, prefer)
    return _outcome(state, OK, fx, wk)


def begin(config: Config, state: State, actor: int) -> Outcome:
    """Begin a transaction explicitly: transparent reopen is suspended until it ends."""
    del config
    hold = _held(state, actor)
    if hold is None:
        return _not_held(state)
    if hold.detached:
        return Outcome(state, OK)
    conn = state.conn(hold.conn)
    return Outcome(with_conn(state, with_txn(conn, conn.txn, True, conn.dirty)), OK)


def _statement(config: Config, state: State, actor: int, session: bool) -> Outcome:
    """Run a write (``session=False``) or a ``SET`` (``session=True``) on the held connection."""
    hold = _held(state, actor)
    if hold is None:
        return _not_held(state)
    fx: Effects = []
    if hold.detached:
        fx.append(effect(EffectKind.EXECUTE, hold.conn))
        return _outcome(state, refused(Refusal.CONNECTION_LOST) if hold.lost else OK, fx)
    conn = state.conn(hold.conn)
    fx.append(effect(EffectKind.EXECUTE, conn.id))
    if conn.alive:
        # any statement may open a transaction (DB-API drivers begin implicitly)
        done = with_txn(conn, True, conn.begun, conn.dirty or session)
        return _outcome(with_conn(state, done), OK, fx)
    if not config.reopen:
        return _outcome(state, refused(Refusal.CONNECTION_LOST), fx)  # no failure types: surfaces
    if conn.txn or conn.begun:
        # LIVE-3: inside a transaction the error surfaces; replaced when given back
        return _outcome(with_conn(state, _broke(conn)), refused(Refusal.CONNECTION_LOST), fx)
    # LIVE-2: outside a transaction, reopen in place and run the statement again
    state, cid = _connect(config, state, fx)
    if cid is None:
        return _outcome(with_conn(state, _broke(conn)), refused(Refusal.CONNECTION_LOST), fx)
    fx.append(effect(EffectKind.CLOSE, conn.id))
    fresh = replace(state.conn(cid), uses=conn.uses, txn=True, dirty=session)
    state = with_conn(_remove(state, conn.id), fresh)
    fx.append(effect(EffectKind.EXECUTE, cid))
    return _outcome(with_hold(state, actor, replace(hold, conn=cid)), OK, fx)


def work(config: Config, state: State, actor: int) -> Outcome:
    """Execute a write statement on the held connection: a transaction is now open."""
    return _statement(config, state, actor, session=False)


def set_session(config: Config, state: State, actor: int) -> Outcome:
    """Change session state (``SET ...``) on the held connection."""
    return _statement(config, state, actor, session=True)


def _finish(config: Config, state: State, actor: int, kind: EffectKind) -> Outcome:
    hold = _held(state, actor)
    if hold is None:
        return _not_held(state)
    fx: Effects = [effect(kind, hold.conn)]
    if hold.detached:
        return _outcome(state, refused(Refusal.CONNECTION_LOST) if hold.lost else OK, fx)
    conn = state.conn(hold.conn)
    if conn.alive:
        return _outcome(with_conn(state, with_txn(conn, False, False, conn.dirty)), OK, fx)
    if config.reopen:
        conn = _broke(conn)
    return _outcome(with_conn(state, conn), refused(Refusal.CONNECTION_LOST), fx)


def commit(config: Config, state: State, actor: int) -> Outcome:
    """Commit on the held connection; a dead one surfaces the error."""
    return _finish(config, state, actor, EffectKind.COMMIT)


def rollback(config: Config, state: State, actor: int) -> Outcome:
    """Roll back on the held connection; a dead one surfaces the error."""
    return _finish(config, state, actor, EffectKind.ROLLBACK)


def end_thread(config: Config, state: State, actor: int, prefer: int | None = None) -> Outcome:
    """The actor's thread ended: its bound connection is closed (AFF-3).

    Raises:
        ValueError: not per-thread mode, or the thread has it checked out.
    """
    hold = state.holds[actor]
    if not config.per_thread or hold is None or hold.depth != 0 or hold.detached:
        raise _precondition(f"end_thread(a{actor})", "no idle connection bound to the thread")
    fx: Effects = [effect(EffectKind.CLOSE, hold.conn)]
    wk: Wakeups = []
    state = with_hold(_remove(state, hold.conn), actor, None)
    state = _slot_freed(config, state, fx, wk, prefer)
    return _outcome(state, OK, fx, wk)


def _close_idle(config: Config, state: State, fx: Effects) -> State:
    for cid in state.idle:
        fx.append(effect(EffectKind.CLOSE, cid))
        state = _remove(state, cid)
    if config.per_thread:
        for actor, hold in enumerate(state.holds):
            if hold is not None and hold.depth == 0:
                fx.append(effect(EffectKind.CLOSE, hold.conn))
                state = with_hold(_remove(state, hold.conn), actor, None)
    return state


def close(config: Config, state: State, prefer: int | None = None) -> Outcome:
    """Close the pool: idle closed, waiters refused, later checkouts refused (CLOSE-1)."""
    del prefer
    if state.closed:
        return Outcome(state, OK)
    fx: Effects = []
    wk = [Wakeup(w.actor, refused(Refusal.CLOSED)) for w in state.waiting]
    state = _close_idle(config, closing(state), fx)
    return _outcome(state, OK, fx, wk)


def dispose(config: Config, state: State, prefer: int | None = None) -> Outcome:
    """Close the idle connections; the pool stays usable and keeps its cap (CLOSE-3)."""
    if state.closed:
        return Outcome(state, OK)
    fx: Effects = []
    wk: Wakeups = []
    before = len(state.conns)
    state = _close_idle(config, state, fx)
    if len(state.conns) < before:
        state = _slot_freed(config, state, fx, wk, prefer)
    return _outcome(state, OK, fx, wk)


# -- time and faults -------------------------------------------------------


def tick(config: Config, state: State) -> Outcome:
    """One tick passes: connections age, waiters with a timeout come closer to it."""
    idle = set(state.idle) | set(state.bound_idle())
    lifetime, idle_time = config.max_lifetime, config.max_idle_time
    conns = state.conns
    if lifetime is not None or idle_time is not None:
        conns = tuple(
            with_clocks(
                c,
                c.uses,
                c.age if lifetime is None else min(c.age + 1, lifetime),
                (
                    c.idle_for
                    if idle_time is None or c.id not in idle
                    else min(c.idle_for + 1, idle_time)
                ),
            )
            for c in conns
        )
    waiting: list[Waiter] = []
    wk: Wakeups = []
    for w in state.waiting:
        if w.remaining is None:
            waiting.append(w)
        elif w.remaining <= 1:
            wk.append(Wakeup(w.actor, refused(Refusal.TIMEOUT)))  # WAIT-2
        else:
            waiting.append(Waiter(w.actor, w.remaining - 1))
    state = State(
        conns, state.idle, state.holds, tuple(waiting),
        state.closed, state.connect_failures, state.ping_failures, state.next_id,
    )  # fmt: skip
    return _outcome(state, OK, [], wk)


def fail_connect(config: Config, state: State) -> Outcome:
    """Fault: the next connect fails."""
    del config
    return Outcome(with_faults(state, state.connect_failures + 1, state.ping_failures), OK)


def kill(config: Config, state: State, cid: int) -> Outcome:
    """Fault: the server drops connection ``cid`` (idle or in use)."""
    del config
    conn = state.conn(cid)
    return Outcome(with_conn(state, with_health(conn, False, conn.stale, conn.broken)), OK)


def fail_ping(config: Config, state: State) -> Outcome:
    """Fault: the next ping fails, even on a live connection."""
    del config
    return Outcome(with_faults(state, state.connect_failures, state.ping_failures + 1), OK)


# -- dispatch --------------------------------------------------------------
#
# ``step`` and ``enabled`` run on every transition the model checker explores,
# and two costs dominate there on CPython 3.11: reading an enum member
# (``OpKind.TICK`` goes through ``EnumType.__getattr__``, several times slower
# than a plain attribute) and building a frozen dataclass (each field is set
# through ``object.__setattr__``). So ``step`` dispatches with one dict lookup,
# and ``enabled`` hands out ``Op`` values built once per shape (immutable
# values: sharing them is invisible).

_HANDS_OFF = frozenset(
    {
        OpKind.RELEASE,
        OpKind.DROP,
        OpKind.INVALIDATE,
        OpKind.DETACH,
        OpKind.END_THREAD,
        OpKind.DISPOSE,
    }
)

PoolHandler = Callable[[Config, State, Op, "int | None"], Outcome]
ActorHandler = Callable[[Config, State, int, "int | None"], Outcome]

# The handlers name the transition functions, which are looked up in this
# module when called: a test that patches one (the seeded bugs) is obeyed.
_POOL_HANDLERS: dict[OpKind, PoolHandler] = {
    OpKind.TICK: lambda config, state, op, prefer: tick(config, state),
    OpKind.CLOSE: lambda config, state, op, prefer: close(config, state),
    OpKind.DISPOSE: lambda config, state, op, prefer: dispose(config, state, prefer),
    OpKind.FAIL_CONNECT: lambda config, state, op, prefer: fail_connect(config, state),
    OpKind.FAIL_PING: lambda config, state, op, prefer: fail_ping(config, state),
    OpKind.KILL: lambda config, state, op, prefer: _kill_op(config, state, op),
}
_ACTOR_HANDLERS: dict[OpKind, ActorHandler] = {
    OpKind.ACQUIRE: lambda config, state, actor, prefer: acquire(config, state, actor),
    OpKind.SOFT_INVALIDATE: lambda config, state, actor, prefer: soft_invalidate(
        config, state, actor
    ),
    OpKind.BEGIN: lambda config, state, actor, prefer: begin(config, state, actor),
    OpKind.WORK: lambda config, state, actor, prefer: work(config, state, actor),
    OpKind.SET_SESSION: lambda config, state, actor, prefer: set_session(config, state, actor),
    OpKind.COMMIT: lambda config, state, actor, prefer: commit(config, state, actor),
    OpKind.ROLLBACK: lambda config, state, actor, prefer: rollback(config, state, actor),
    # the lambdas below only delay the lookup (see above): PLW0108 does not apply
    OpKind.RELEASE: lambda c, s, a, p: release(c, s, a, p),  # noqa: PLW0108
    OpKind.DROP: lambda c, s, a, p: drop(c, s, a, p),  # noqa: PLW0108
    OpKind.INVALIDATE: lambda c, s, a, p: invalidate(c, s, a, p),  # noqa: PLW0108
    OpKind.DETACH: lambda c, s, a, p: detach(c, s, a, p),  # noqa: PLW0108
    OpKind.END_THREAD: lambda c, s, a, p: end_thread(c, s, a, p),  # noqa: PLW0108
}


def _kill_op(config: Config, state: State, op: Op) -> Outcome:
    if op.conn is None:
        raise ValueError(f"{op} needs a connection")
    return kill(config, state, op.conn)


def _apply(config: Config, state: State, op: Op, prefer: int | None) -> Outcome:
    pool_op = _POOL_HANDLERS.get(op.kind)
    if pool_op is not None:
        return pool_op(config, state, op, prefer)
    actor = op.actor
    if actor is None or not 0 <= actor < len(state.holds):
        raise ValueError(f"{op} needs an actor in 0..{len(state.holds) - 1}")
    if state.waiting and state.waiter(actor) is not None:
        raise _precondition(str(op), "the actor is waiting")
    return _ACTOR_HANDLERS[op.kind](config, state, actor, prefer)


def step(config: Config, state: State, op: Op) -> tuple[Outcome, ...]:
    """Every allowed outcome of ``op`` in ``state``, in a deterministic order.

    Under FIFO fairness there is exactly one. Under barging, an operation that
    frees a connection or a slot while several actors wait may serve any of
    them: one outcome per waiter, oldest first, duplicates removed.

    Raises:
        ValueError: ``op`` is not enabled in ``state``.
    """
    if len(state.waiting) > 1 and config.fairness is Fairness.BARGING and op.kind in _HANDS_OFF:
        seen: list[Outcome] = []
        for w in state.waiting:
            out = _apply(config, state, op, w.actor)
            if out not in seen:
                seen.append(out)
        return tuple(seen)
    return (_apply(config, state, op, None),)


@cache
def _free_ops(actor: int, bound: bool, misuse: bool) -> tuple[Op, ...]:
    """What an actor that has nothing checked out may do (``bound``: per-thread, keeps one)."""
    ops = [Op(OpKind.ACQUIRE, actor)]
    if bound:
        ops.append(Op(OpKind.END_THREAD, actor))
    if misuse:
        ops.append(Op(OpKind.RELEASE, actor))
        ops.append(Op(OpKind.WORK, actor))
    return tuple(ops)


@cache
def _holder_ops(
    actor: int, detached: bool, reenter: bool, exclusive: bool, single: bool
) -> tuple[Op, ...]:
    """What an actor holding a connection may do.

    Args:
        actor: who.
        detached: the connection left the pool.
        reenter: a reentrant checkout is allowed (per-thread, below ``max_depth``).
        exclusive: nobody else holds the connection.
        single: one checkout deep, pooled (so it may be detached).
    """
    ops = [Op(OpKind.ACQUIRE, actor)] if reenter else []
    ops.append(Op(OpKind.RELEASE, actor))
    ops.append(Op(OpKind.DROP, actor))
    if exclusive:
        ops.append(Op(OpKind.INVALIDATE, actor))
        if single:
            ops.append(Op(OpKind.DETACH, actor))
    if not detached:
        ops.append(Op(OpKind.SOFT_INVALIDATE, actor))
        ops.append(Op(OpKind.BEGIN, actor))
    ops.append(Op(OpKind.WORK, actor))
    ops.append(Op(OpKind.SET_SESSION, actor))
    ops.append(Op(OpKind.COMMIT, actor))
    ops.append(Op(OpKind.ROLLBACK, actor))
    return tuple(ops)


@cache
def _pool_ops(open_: bool, timed: bool, fail_connect: bool) -> tuple[Op, ...]:
    """The pool-wide ops: close and dispose while open, tick, a connect failure."""
    ops = [Op(OpKind.CLOSE), Op(OpKind.DISPOSE)] if open_ else []
    if timed:
        ops.append(Op(OpKind.TICK))
    if fail_connect:
        ops.append(Op(OpKind.FAIL_CONNECT))
    return tuple(ops)


@cache
def _kill(cid: int) -> Op:
    return Op(OpKind.KILL, conn=cid)


_FAIL_PING = Op(OpKind.FAIL_PING)


def enabled(
    config: Config, state: State, *, faults: bool = True, misuse: bool = False, max_depth: int = 2
) -> tuple[Op, ...]:
    """The operations that may happen next, in a deterministic order.

    Args:
        config: the pool's policies.
        state: the current state.
        faults: include the fault operations (fail a connect, kill, fail a ping).
        misuse: include releases and uses by actors that hold nothing (refused).
        max_depth: bound on reentrant checkouts per thread (per-thread mode).
    """
    ops: list[Op] = []
    waiting = state.waiting
    per_thread = config.per_thread
    for actor, hold in enumerate(state.holds):
        if waiting and state.waiter(actor) is not None:
            continue  # a blocked thread does nothing until it is served
        if hold is None or (hold.depth == 0 and not hold.detached):
            ops += _free_ops(actor, hold is not None and per_thread, misuse)
            continue
        detached = hold.detached
        ops += _holder_ops(
            actor,
            detached,
            reenter=per_thread and not detached and hold.depth < max_depth,
            exclusive=detached or len(state.holders(hold.conn)) <= 1,
            single=not detached and hold.depth == 1,
        )
    ops += _pool_ops(not state.closed, config.timed, faults and not state.connect_failures)
    if faults:
        ops.extend(_kill(c.id) for c in state.conns if c.alive)
        if config.ping is Ping.ON_CHECKOUT and not state.ping_failures:
            ops.append(_FAIL_PING)
    return tuple(ops)
