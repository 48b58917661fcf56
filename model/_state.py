"""The pool's state, and the vocabulary of operations, results and effects.

A state is a value: frozen, slotted, hashable. Connections and actors are
small ints; the model checker renames both to a canonical order, so nothing
may depend on the numbers themselves beyond identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from operator import attrgetter

from ._enum import FastEnum


@dataclass(frozen=True, slots=True)
class Conn:
    """One open connection the pool accounts for.

    Attributes:
        id: the connection's identity.
        alive: False once the server dropped it (a fault); only a driver call
            finds that out.
        txn: uncommitted work is pending on it.
        begun: a transaction was begun explicitly with ``begin()``.
        dirty: the session state was changed by a borrower (``SET ...``).
        uses: checkouts so far, clipped at ``max_usage``.
        age: ticks since its connect, clipped at ``max_lifetime``.
        idle_for: ticks since it was last given back, clipped at ``max_idle_time``.
        stale: soft-invalidated: retired at its next checkout.
        broken: a driver call failed on it with a configured failure
            exception; it is replaced when given back.
    """

    id: int
    alive: bool = True
    txn: bool = False
    begun: bool = False
    dirty: bool = False
    uses: int = 0
    age: int = 0
    idle_for: int = 0
    stale: bool = False
    broken: bool = False


_conn_id = attrgetter("id")


@dataclass(frozen=True, slots=True)
class Hold:
    """What one actor holds.

    Attributes:
        conn: the connection's id.
        depth: nested checkouts (per-thread mode); 0 means the thread keeps the
            connection bound to it but has not checked it out.
        detached: the connection left the pool's accounting (``detach()``).
        lost: a detached connection that was already dead when it left: its
            statements fail (the pool no longer reopens or replaces it).
    """

    conn: int
    depth: int = 1
    detached: bool = False
    lost: bool = False


@dataclass(frozen=True, slots=True)
class Waiter:
    """An actor blocked in acquire, oldest first in ``State.waiting``.

    Attributes:
        actor: who waits.
        remaining: ticks left before it is refused; None: waits forever.
    """

    actor: int
    remaining: int | None


@dataclass(frozen=True, slots=True)
class State:
    """Everything the pool knows, plus the faults armed against it.

    Attributes:
        conns: every open connection the pool accounts for, by id.
        idle: ids of idle connections, the one given back longest ago first.
        holds: per actor, what it holds, or None.
        waiting: actors blocked in acquire, oldest first.
        closed: ``close()`` was called.
        connect_failures: the next this-many connects fail (armed fault).
        ping_failures: the next this-many pings fail (armed fault).
        next_id: the id the next connect gets.
    """

    conns: tuple[Conn, ...]
    idle: tuple[int, ...]
    holds: tuple[Hold | None, ...]
    waiting: tuple[Waiter, ...] = ()
    closed: bool = False
    connect_failures: int = 0
    ping_failures: int = 0
    next_id: int = 0

    def conn(self, cid: int) -> Conn:
        """The open connection with this id.

        Raises:
            KeyError: no open connection has this id.
        """
        for c in self.conns:
            if c.id == cid:
                return c
        raise KeyError(f"no open connection {cid}")

    def has_conn(self, cid: int) -> bool:
        """Whether the pool accounts for an open connection with this id."""
        return cid in map(_conn_id, self.conns)  # at C speed: runs on most transitions

    def waiter(self, actor: int) -> Waiter | None:
        """The actor's place in the waiting list, if it waits."""
        for w in self.waiting:
            if w.actor == actor:
                return w
        return None

    def holders(self, cid: int) -> tuple[int, ...]:
        """Actors that have this connection checked out (depth > 0, not detached)."""
        found: list[int] = []
        for a, h in enumerate(self.holds):
            if h is not None and h.conn == cid and h.depth > 0 and not h.detached:
                found.append(a)
        return tuple(found)

    def bound_idle(self) -> tuple[int, ...]:
        """Connections bound to a thread that is not using them (per-thread mode)."""
        return tuple(h.conn for h in self.holds if h is not None and h.depth == 0)


@dataclass(frozen=True, slots=True)
class Stats:
    """The statistics projection compared in lockstep with a pool's snapshot."""

    idle: int
    in_use: int
    waiting: int
    open: int


def stats(state: State) -> Stats:
    """The statistics snapshot of a state: idle + in_use == open always (STAT-1)."""
    idle = len(state.idle) + len(state.bound_idle())
    return Stats(
        idle=idle,
        in_use=len(state.conns) - idle,
        waiting=len(state.waiting),
        open=len(state.conns),
    )


class OpKind(FastEnum):
    """Every operation the model knows: client calls, time, and faults."""

    # client operations, by an actor
    ACQUIRE = "acquire"
    RELEASE = "release"
    DROP = "drop"
    INVALIDATE = "invalidate"
    SOFT_INVALIDATE = "soft_invalidate"
    DETACH = "detach"
    BEGIN = "begin"
    WORK = "work"
    SET_SESSION = "set_session"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    END_THREAD = "end_thread"
    # pool-wide client operations
    CLOSE = "close"
    DISPOSE = "dispose"
    # time
    TICK = "tick"
    # faults
    FAIL_CONNECT = "fail_connect"
    KILL = "kill"
    FAIL_PING = "fail_ping"


ACTOR_OPS = frozenset(
    {
        OpKind.ACQUIRE,
        OpKind.RELEASE,
        OpKind.DROP,
        OpKind.INVALIDATE,
        OpKind.SOFT_INVALIDATE,
        OpKind.DETACH,
        OpKind.BEGIN,
        OpKind.WORK,
        OpKind.SET_SESSION,
        OpKind.COMMIT,
        OpKind.ROLLBACK,
        OpKind.END_THREAD,
    }
)
FAULT_OPS = frozenset({OpKind.FAIL_CONNECT, OpKind.KILL, OpKind.FAIL_PING})


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: its kind and its argument (an actor or a connection).

    Attributes:
        kind: what happens.
        actor: who does it, for client operations by an actor.
        conn: which connection, for ``KILL``.
    """

    kind: OpKind
    actor: int | None = None
    conn: int | None = None

    def __str__(self) -> str:
        if self.actor is not None:
            return f"{self.kind.value}(a{self.actor})"
        if self.conn is not None:
            return f"{self.kind.value}(c{self.conn})"
        return f"{self.kind.value}()"


class Refusal(FastEnum):
    """Why an operation was refused; the implementation raises one exception per value."""

    EXHAUSTED = "exhausted"
    """No connection free and the pool does not wait."""
    TIMEOUT = "timeout"
    """A waiter's timeout expired."""
    CLOSED = "closed"
    """The pool is closed."""
    TOO_MANY_WAITERS = "too_many_waiters"
    """The waiting list is at its bound."""
    CONNECT_FAILED = "connect_failed"
    """The driver's connect raised; its error reaches the caller."""
    NOT_HELD = "not_held"
    """Misuse: release or use of a connection the actor does not hold."""
    CONNECTION_LOST = "connection_lost"
    """The driver call failed because the connection is dead; its error reaches the caller."""


class Status(FastEnum):
    """The shape of an observable result."""

    OK = "ok"
    GOT = "got"
    WAIT = "wait"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Result:
    """What the caller of one operation observes.

    Attributes:
        status: the shape of the result.
        conn: the connection handed out (``GOT``).
        refusal: why it was refused (``REFUSED``).
    """

    status: Status
    conn: int | None = None
    refusal: Refusal | None = None

    def __str__(self) -> str:
        if self.status is Status.GOT:
            return f"got c{self.conn}"
        if self.status is Status.REFUSED and self.refusal is not None:
            return f"refused: {self.refusal.value}"
        return str(self.status.value)


OK = Result(Status.OK)
WAIT = Result(Status.WAIT)


# Results and effects are built on every transition the model checker explores;
# these constructors hand out one shared value per argument instead (they are
# immutable, so sharing is invisible, and equal ones then compare by identity).


@cache
def got(cid: int) -> Result:
    """The result of a checkout that handed out connection ``cid``."""
    return Result(Status.GOT, conn=cid)


@cache
def refused(why: Refusal) -> Result:
    """The result of a refused operation."""
    return Result(Status.REFUSED, refusal=why)


class EffectKind(FastEnum):
    """A call the pool (or the client through its handle) makes on the driver."""

    CONNECT = "connect"
    CONNECT_FAILED = "connect_failed"
    SETUP = "setup"
    PING = "ping"
    EXECUTE = "execute"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    RESET = "reset"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Effect:
    """One driver call, on one connection (None for a failed connect)."""

    kind: EffectKind
    conn: int | None

    def __str__(self) -> str:
        return self.kind.value if self.conn is None else f"{self.kind.value}(c{self.conn})"


@cache
def effect(kind: EffectKind, conn: int | None) -> Effect:
    """The driver call ``kind`` on ``conn``, one shared value per pair (see ``got``)."""
    return Effect(kind, conn)


@dataclass(frozen=True, slots=True)
class Wakeup:
    """A waiter resolved by an operation: it got a connection, or was refused."""

    actor: int
    result: Result

    def __str__(self) -> str:
        return f"a{self.actor} {self.result}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One allowed outcome of an operation.

    Attributes:
        state: the state after it.
        result: what its caller observes.
        effects: the driver calls made, in order.
        wakeups: waiters it resolved, in order.
    """

    state: State
    result: Result
    effects: tuple[Effect, ...] = ()
    wakeups: tuple[Wakeup, ...] = ()


# -- changed copies ------------------------------------------------------------
#
# ``dataclasses.replace`` costs about three times a positional constructor
# call, and these run on every transition the model checker explores. Each
# helper spells the positional call out once, here, next to the fields. The
# connection helpers and ``with_conn`` hand back their argument itself when
# nothing changes, so the checker can tell an unchanged state by identity.


def with_txn(conn: Conn, txn: bool, begun: bool, dirty: bool) -> Conn:
    """The connection with its transaction and session flags set."""
    if txn is conn.txn and begun is conn.begun and dirty is conn.dirty:
        return conn
    return Conn(
        conn.id, conn.alive, txn, begun, dirty,
        conn.uses, conn.age, conn.idle_for, conn.stale, conn.broken,
    )  # fmt: skip


def with_clocks(conn: Conn, uses: int, age: int, idle_for: int) -> Conn:
    """The connection with its use count, age and idle time set."""
    if uses == conn.uses and age == conn.age and idle_for == conn.idle_for:
        return conn
    return Conn(
        conn.id, conn.alive, conn.txn, conn.begun, conn.dirty,
        uses, age, idle_for, conn.stale, conn.broken,
    )  # fmt: skip


def with_health(conn: Conn, alive: bool, stale: bool, broken: bool) -> Conn:
    """The connection with its liveness, staleness and brokenness set."""
    if alive is conn.alive and stale is conn.stale and broken is conn.broken:
        return conn
    return Conn(
        conn.id, alive, conn.txn, conn.begun, conn.dirty,
        conn.uses, conn.age, conn.idle_for, stale, broken,
    )  # fmt: skip


def with_conn(state: State, new: Conn) -> State:
    """The state with the connection of the same id replaced by ``new``."""
    conns = state.conns
    for i, c in enumerate(conns):
        if c.id == new.id:
            if c is new:
                return state
            return State(
                (*conns[:i], new, *conns[i + 1 :]), state.idle, state.holds, state.waiting,
                state.closed, state.connect_failures, state.ping_failures, state.next_id,
            )  # fmt: skip
    return state


def with_pool(state: State, conns: tuple[Conn, ...], idle: tuple[int, ...]) -> State:
    """The state with these connections, these idle."""
    return State(
        conns, idle, state.holds, state.waiting,
        state.closed, state.connect_failures, state.ping_failures, state.next_id,
    )  # fmt: skip


def with_hold(state: State, actor: int, hold: Hold | None) -> State:
    """The state with what ``actor`` holds set to ``hold``."""
    holds = state.holds
    return State(
        state.conns, state.idle, (*holds[:actor], hold, *holds[actor + 1 :]), state.waiting,
        state.closed, state.connect_failures, state.ping_failures, state.next_id,
    )  # fmt: skip


def with_waiting(state: State, waiting: tuple[Waiter, ...]) -> State:
    """The state with this waiting list."""
    return State(
        state.conns, state.idle, state.holds, waiting,
        state.closed, state.connect_failures, state.ping_failures, state.next_id,
    )  # fmt: skip


def with_faults(state: State, connect_failures: int, ping_failures: int) -> State:
    """The state with these connect and ping failures armed."""
    return State(
        state.conns, state.idle, state.holds, state.waiting,
        state.closed, connect_failures, ping_failures, state.next_id,
    )  # fmt: skip


def closing(state: State) -> State:
    """The state marked closed, nobody waiting any more."""
    return State(
        state.conns, state.idle, state.holds, (),
        True, state.connect_failures, state.ping_failures, state.next_id,
    )  # fmt: skip
