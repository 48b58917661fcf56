"""Linearizability: is a concurrent history explained by the model, one operation at a time?

A history is what threads observed while they used a pool at the same time:
for each operation, who ran it, when it was called and when it returned, and
what it returned (:class:`HistoryOp`). It is linearizable when every
operation can be given one instant inside its own interval such that running
the operations one by one in that order, through ``model.step``, gives every
observed result. :func:`check_history` searches for such an order the way
Wing and Gong's algorithm does (and Porcupine and Knossos after it): depth
first, always choosing next an operation called before every pending
operation returned, and remembering the configurations already tried, so a
search that meets the same linearized set, model state and renaming again
stops there.

The choices this module makes, in order:

1. **Connection names.** The history names connections by the recording
   driver's ids, the model by its own. The search carries a partial bijection
   between the two and extends it when a result first shows a connection; a
   result that would make one driver connection two model connections, or the
   reverse, rules that branch out.
2. **Blocking checkouts.** An acquire the model answers with ``WAIT`` is
   *parked*: it is linearized as a queued call, and it completes only when a
   later operation's outcome wakes it (``Outcome.wakeups``), at that
   operation's instant; the wake-up's result must match what the acquire
   returned. Until then it counts as pending, so nothing called after it
   returned can be linearized first: a parked acquire never woken before its
   return is a dead end, exactly like an operation that cannot be placed.
   Where the recorder knows them exactly (``HistoryOp.queued`` and
   ``served``, taken inside the pool's own critical sections), the acquire
   is linearized by its queuing instant, and its wake-up comes at its
   hand-off instant, from an operation running then, after everything that
   ended before: this is what keeps the search small with many waiters.
3. **Timeouts.** The model's time moves in ticks; a free run has no ticks.
   A waiter whose acquire was observed to time out may be refused with
   ``TIMEOUT`` at any instant while it is parked (WAIT-2): an environment move
   of the search, tried when nothing else can come first, or just before a
   step that would hand the waiter something. Nothing else about time is
   checked here, so configurations whose retirement depends on time
   (``max_lifetime``, ``max_idle_time``) are refused.
4. **Faults.** A ``KILL`` of a driver connection takes effect for the model
   at some instant after it was called, not necessarily before it returned:
   the driver marks the connection dead inside the call, but a pool
   operation in flight may have made its driver call on that connection just
   before (a return resets outside the pool's lock, then places the
   connection under it), and the model's operations are atomic. A kill that
   a later result depends on (a statement that failed) must still come
   first, since the model can explain that result no other way. Armed
   connect and ping failures are not placed in time: a pool may connect in a
   freed slot on the waiter's thread, after the operation that freed it, so
   the instant at which the model spends a failure need not lie inside the
   arming call. Any step that connects (or pings) may spend armed failures,
   at most as many in all as the history's ``FAIL_CONNECT``/``FAIL_PING``
   records (or the counts passed in); a spent failure shows in some result.
5. **Barging.** Under ``Fairness.BARGING`` a woken waiter competes with
   newcomers, so besides the model's outcomes the search allows a freed
   connection to go idle while actors wait, and a parked waiter to take an
   idle connection or a free slot at any instant (its retry).
6. **Pending operations.** An operation that never returned may be left out
   or linearized with any result. For an acquire parked in the model, "any
   result" includes the timeout of 3. (when the configuration has one): a
   history cut at an instant (:func:`prefix`) leaves pending a waiter whose
   deadline passed and whose wait another thread already resolved with a
   timeout (its recorded ``served``) as it handed the connection to the next
   waiter, while the waiter's own thread returned only after the cut. Woken
   only by the model's hand-offs, such a waiter would take the connection
   the next waiter was observed to get.
7. **Connects in flight.** A pool connects outside its lock, in a slot it
   reserved first: while the connect runs, the slot is taken for everyone
   else, and when it fails the slot passes to the oldest waiter (or frees).
   The model's checkout connects atomically. So a checkout observed to fail
   its connect may also be linearized as taking its slot, failing, and
   holding the slot until it is passed on; and when a waiter served with a
   freed slot fails its connect, the model's passing of that slot on to the
   next waiter may come later, from the failed waiter's thread. While such a
   slot is held, every operation sees the pool one slot smaller, and the
   slot goes to the oldest waiter at that waiter's recorded hand-off.
8. **Budget.** The search counts the configurations it visits and the
   seconds it runs; exceeding either gives ``unknown``, never ``ok``.

A violation is reported readably: the deepest linearization the search
reached and, for each operation that could have come next, why the model
rules it out; and the shortest prefix of the history (cut at a return) that is
already not linearizable.

FIFO hand-off is not a linearizability property; :func:`check_fifo` checks it
separately on the same histories.
"""

from __future__ import annotations

import bisect
import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import model
from model import Fairness, Op, OpKind, Outcome, Refusal, Result, State, Status

# Operations that name an actor (model.ACTOR_OPS); the rest are pool-wide or faults.
_POOL_KINDS = frozenset({OpKind.CLOSE, OpKind.DISPOSE})
_ENV_KINDS = frozenset({OpKind.FAIL_CONNECT, OpKind.FAIL_PING})
_NEVER = float("inf")

DEFAULT_MAX_STATES = 200_000
DEFAULT_MAX_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class HistoryOp:
    """One operation of a concurrent history, as a thread observed it.

    Times are integers on one clock: a race scheduler's logical clock, or
    ``time.monotonic_ns()`` in a free run. Only their order matters here.

    Attributes:
        actor: the thread (0, 1, ...) for client operations by an actor;
            None for pool-wide operations (``CLOSE``, ``DISPOSE``) and faults.
        kind: the operation, in the model's vocabulary.
        invoked: when it was called.
        returned: when it returned; None if it never did.
        result: what it returned, with connections named by the driver's ids
            (``model.got(3)`` is driver connection #3), ``model.OK``, or
            ``model.refused(...)``; None if it never returned, or raised
            something that is not a refusal (see ``error``).
        conn: the driver connection a ``KILL`` drops.
        timeout: the acquire's timeout, on the history's clock (None: the
            pool's default or forever); used by :func:`check_fifo`.
        queued: when the pool queued this acquire, if known exactly (None:
            unknown, or it did not wait). Recorded inside the pool's critical
            section that queued it, so :func:`check_history` linearizes the
            acquire as a wait at that instant.
        served: when the pool resolved its wait (a hand-off, a permit to
            connect, a refusal), if known exactly, from inside the critical
            section that resolved it: the operation that woke it is then
            linearized before anything called after this instant.
        error: an exception that is not a refusal, described; such an
            operation matches no outcome of the model.
    """

    actor: int | None
    kind: OpKind
    invoked: int
    returned: int | None
    result: Result | None = None
    conn: int | None = None
    timeout: int | None = None
    queued: int | None = None
    served: int | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.kind in model.ACTOR_OPS and (self.actor is None or self.actor < 0):
            raise ValueError(f"{self.kind.value} needs an actor >= 0, got {self.actor!r}")
        if self.kind is OpKind.KILL and self.conn is None:
            raise ValueError("kill needs the driver connection it drops, got conn=None")
        if self.kind is OpKind.TICK:
            raise ValueError("a free-running history has no ticks; got a tick operation")
        if self.returned is not None and self.returned < self.invoked:
            raise ValueError(
                f"{self.kind.value} returned at {self.returned}, before it was "
                f"invoked at {self.invoked}"
            )


@dataclass(frozen=True, slots=True)
class LinearResult:
    """The verdict of :func:`check_history`.

    Attributes:
        verdict: ``"ok"`` (a linearization exists), ``"violation"`` (none
            exists), or ``"unknown"`` (the budget ran out first).
        visited: configurations the search visited.
        seconds: how long the search took.
        order: for ``ok``, one linearization, as readable lines.
        stuck: for ``violation`` and ``unknown``, where the deepest branch of
            the search stopped and why, as readable lines.
        prefix_ops: for ``violation``, how many operations (by invocation) the
            shortest non-linearizable prefix holds; None if not minimised.
        message: one line saying what was found.
    """

    verdict: str
    visited: int
    seconds: float
    order: tuple[str, ...] = ()
    stuck: tuple[str, ...] = ()
    prefix_ops: int | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        """Whether a linearization was found."""
        return self.verdict == "ok"


# -- the search ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    done: int  # bit i: operation i is complete (linearized, and woken if it waited)
    parked: int  # bit i: operation i is linearized as a queued acquire, not yet woken
    state: State
    pairs: frozenset[tuple[int, int]]  # (model connection, driver connection)
    connect_budget: int
    ping_budget: int

    def key(self) -> tuple[Any, ...]:
        return (
            self.done,
            self.parked,
            self.state,
            self.pairs,
            self.connect_budget,
            self.ping_budget,
        )


@dataclass(slots=True)
class _Trail:
    """A persistent list of the moves that led to a node (newest first)."""

    line: str
    parent: _Trail | None

    def lines(self) -> list[str]:
        out: list[str] = []
        node: _Trail | None = self
        while node is not None:
            out.append(node.line)
            node = node.parent
        return out[::-1]


class _BudgetError(Exception):
    """The search ran out of states or seconds."""


@dataclass
class _Search:
    config: model.Config
    ops: tuple[HistoryOp, ...]
    labels: tuple[str, ...]
    max_states: int
    deadline: float
    visited: int = 0
    seen: set[tuple[Any, ...]] = field(default_factory=set)
    deepest: tuple[int, _Node | None, _Trail | None] = (-1, None, None)
    need: int = 0  # bits of the operations that must complete (they returned)
    starts: tuple[float, ...] = ()  # earliest instant of each operation
    returns: tuple[float, ...] = ()  # latest instant it completes by
    ends: tuple[float, ...] = ()  # when it returned (infinity: never)
    queued: tuple[float, ...] = ()  # when it must be linearized (as a wait) by
    before: tuple[int, ...] = ()  # per recorded hand-off: the operations over by then

    def run(self, start: _Node) -> tuple[_Node, _Trail | None] | None:
        stack: list[tuple[_Node, _Trail | None]] = [(start, None)]
        while stack:
            node, trail = stack.pop()
            key = node.key()
            if key in self.seen:
                continue
            self.seen.add(key)
            self.visited += 1
            if self.visited > self.max_states or (
                self.visited % 256 == 0 and time.monotonic() > self.deadline
            ):
                raise _BudgetError
            if node.done & self.need == self.need:
                return node, trail
            depth = bin(node.done).count("1")
            if depth > self.deepest[0]:
                self.deepest = (depth, node, trail)
            children = list(self.moves(node, trail))
            stack.extend(reversed(children))
        return None

    # -- which operations may come next ----------------------------------------

    def horizon(self, node: _Node) -> tuple[int, float, int, float]:
        """The first incomplete operation, the earliest return among incomplete
        operations with its index, and the next earliest return.

        Operations are sorted by invocation and return no earlier than they
        were called, so the scan stops once calls come after both returns.
        """
        done, parked = node.done, node.parked
        low = (~done & (done + 1)).bit_length() - 1
        first, first_i, second = _NEVER, -1, _NEVER
        starts, returns, queued = self.starts, self.returns, self.queued
        for i in range(low, len(starts)):
            if starts[i] >= second:
                break
            if done >> i & 1:
                continue
            # a recorded queuing is exact: the acquire is linearized by then
            ret = returns[i] if parked >> i & 1 else queued[i]
            if ret < first:
                first, first_i, second = ret, i, first
            elif ret < second:
                second = ret
        return low, first, first_i, second

    def candidates(self, node: _Node) -> list[int]:
        low, first, first_i, second = self.horizon(node)
        busy = node.done | node.parked
        out = []
        starts = self.starts
        for i in range(low, len(starts)):
            if busy >> i & 1:
                continue
            limit = second if i == first_i else first
            if starts[i] >= limit:
                break  # ops are sorted by start
            out.append(i)
        return out

    # -- moves -----------------------------------------------------------------

    def moves(self, node: _Node, trail: _Trail | None) -> Iterator[tuple[_Node, _Trail | None]]:
        # earliest deadline first: an operation that may still end much later
        # (a long call, often one that was preempted) is tried late
        for i in sorted(self.candidates(node), key=self.returns.__getitem__):
            for child, line in self.apply(node, i):
                yield child, _Trail(line, trail)
        yield from ((c, _Trail(line, trail)) for c, line in self.environment(node))

    def environment(self, node: _Node) -> Iterator[tuple[_Node, str]]:
        """Moves no operation makes: a waiter's timeout, a barging waiter's retry.

        A timeout is offered only once the waiter is the operation that bounds
        what may come next; earlier, it matters only if a step would hand the
        waiter something, and :meth:`apply` then expires it just before.
        """
        _, _, first_i, _ = self.horizon(node)
        for i in _bits(node.parked):
            if i == first_i and self.may_time_out(i) and self.in_time(node, i):
                yield self.expire(node, (i,)), f"(timeout) {self.labels[i]}: refused: timeout"
            if self.config.fairness is Fairness.BARGING:
                yield from self.retry(node, i)
        state = node.state
        if _held(state) and not state.waiting:
            yield replace(node, state=_free_slot(state)), "(a slot held by a failed connect frees)"
        if _held(state) and state.waiting and self.config.fairness is Fairness.FIFO:
            oldest = self.parked_of(node, state.waiting[0].actor)
            # with its instant recorded, a hand-off can only come once everything
            # that ended before it is linearized: when the waiter bounds what is next
            if oldest is not None and (oldest == first_i or self.ops[oldest].served is None):
                yield from self.retry(node, oldest, held=True)

    def may_time_out(self, i: int) -> bool:
        """Whether acquire ``i`` may be refused with a timeout while parked: it was
        observed to be, or it never returned (6. above) and waiters have a timeout."""
        op = self.ops[i]
        if op.result == _TIMED_OUT:
            return True
        return (
            op.kind is OpKind.ACQUIRE
            and op.returned is None
            and op.error is None
            and self.config.timeout is not None
        )

    def expire(self, node: _Node, indices: Iterable[int]) -> _Node:
        """The node with these parked waiters refused with a timeout (WAIT-2)."""
        actors = {self.ops[i].actor for i in indices}
        state = node.state
        waiting = tuple(w for w in state.waiting if w.actor not in actors)
        node = replace(node, state=replace(state, waiting=waiting))
        for i in indices:
            node = _complete(node, i)
        return node

    def retry(self, node: _Node, i: int, *, held: bool = False) -> Iterator[tuple[_Node, str]]:
        """A parked waiter takes an idle connection or a free slot now.

        Under barging, any waiter may, at any instant (its retry after a
        wake-up). Under FIFO, the oldest waiter does when a slot held after a
        failed connect is passed on (``held``, 7. above): if its own connect
        fails too, the slot stays held, to be passed on again.
        """
        actor = self.ops[i].actor
        assert actor is not None
        state = _free_slot(node.state) if held else node.state
        cap = self.config.max_size
        if not state.idle and (cap is not None and len(state.conns) >= cap):
            return
        if not self.in_time(node, i):
            return
        waiting = tuple(w for w in state.waiting if w.actor != actor)
        free = replace(node, state=replace(state, waiting=waiting), parked=node.parked & ~(1 << i))
        for out, pairs, budget, _ in self.outcomes(free, i, plain=True):
            if out.result.status is Status.WAIT:
                continue
            matched = _match(out.result, self.ops[i], pairs)
            if matched is None:
                continue
            after = out.state
            if held and out.result == _CONNECT_FAILED:
                after = _hold_slot(after)
            child = replace(
                node, state=after, pairs=matched, connect_budget=budget[0], ping_budget=budget[1]
            )
            yield _complete(child, i), f"(retry) {self.labels[i]}: {_show(out.result, matched)}"

    def apply(self, node: _Node, i: int) -> Iterator[tuple[_Node, str]]:
        """Linearize operation ``i`` now: every outcome that matches what was observed.

        If an outcome would hand something to a waiter that may time out (it
        was observed to, or never returned), the same step is also tried with
        that waiter timed out just before it.
        """
        yield from self.reserve(node, i)
        expired: tuple[int, ...] = ()
        base = node
        for _ in range(len(self.ops)):
            late: list[int] = []
            for child, line, woke in self.apply_on(base, i):
                late.extend(w for w in woke if self.may_time_out(w) and w not in expired)
                if child is not None:
                    prelude = "".join(f"(timeout) {self.labels[w]}; " for w in expired)
                    yield child, prelude + line
            if not late:
                return
            expired = (*expired, *dict.fromkeys(late))
            base = self.expire(node, expired)

    def reserve(self, node: _Node, i: int) -> Iterator[tuple[_Node, str]]:
        """A checkout that failed to connect, holding its slot until it failed (7. above)."""
        op = self.ops[i]
        if op.kind is not OpKind.ACQUIRE or op.result != _CONNECT_FAILED:
            return
        state = node.state
        if not node.connect_budget or state.connect_failures or op.actor is None:
            return
        if state.waiter(op.actor) is not None:
            return
        armed = replace(state, connect_failures=1)
        for out, _ in self.step(armed, Op(OpKind.ACQUIRE, op.actor)):
            if out.result != _CONNECT_FAILED or out.state.connect_failures:
                continue
            child = replace(
                node, state=_hold_slot(out.state), connect_budget=node.connect_budget - 1
            )
            yield _complete(child, i), f"{self.labels[i]}: takes a slot, its connect fails later"

    def apply_on(self, node: _Node, i: int) -> Iterator[tuple[_Node | None, str, tuple[int, ...]]]:
        """The children of linearizing ``i`` at ``node``, and the waiters each step wakes."""
        op = self.ops[i]
        for out, pairs, budget, held in self.outcomes(node, i):
            woke = tuple(j for w in out.wakeups if (j := self.parked_of(node, w.actor)) is not None)
            start = replace(node, connect_budget=budget[0], ping_budget=budget[1])
            after = _hold_slot(out.state) if held else out.state
            if out.result.status is Status.WAIT and op.kind is OpKind.ACQUIRE:
                child = replace(start, state=after, pairs=pairs, parked=node.parked | 1 << i)
                line = f"{self.labels[i]}: waits"
            else:
                matched = _match(out.result, op, pairs)
                if matched is None:
                    yield None, "", woke
                    continue
                child = _complete(replace(start, state=after, pairs=matched), i)
                line = f"{self.labels[i]}: {_show(out.result, matched)}"
            woken = self.wake(child, out, i)
            if woken is None:
                yield None, "", woke
                continue
            yield woken, line + _show_wakeups(out, woken.pairs), woke

    def outcomes(
        self, node: _Node, i: int, *, plain: bool = False
    ) -> Iterator[tuple[Outcome, frozenset[tuple[int, int]], tuple[int, int], int]]:
        """The model's outcomes of operation ``i`` in this node: each with the renaming
        it needs, the failure budgets left (it may spend armed failures, 4. above),
        and how many freed slots it leaves held (7. above)."""
        op = self.ops[i]
        state = node.state
        budget = (node.connect_budget, node.ping_budget)
        if op.kind is OpKind.KILL:
            assert op.conn is not None
            for out, pairs in self.kill(node, op.conn):
                yield out, pairs, budget, 0
            return
        if op.actor is not None and state.waiter(op.actor) is not None:
            return  # the actor's previous acquire is still parked
        mop = Op(op.kind, op.actor)
        outs = self.step(state, mop, plain=plain)
        for out, held in outs:
            yield out, node.pairs, budget, held
        plain_outs = [out for out, _ in outs]
        if not state.connect_failures and node.connect_budget and _spends(plain_outs, _CONNECTS):
            for k in range(1, node.connect_budget + 1):
                armed = replace(state, connect_failures=k)
                spent = [
                    (out, held)
                    for out, held in self.step(armed, mop, plain=plain)
                    if not out.state.connect_failures
                ]
                if not spent:
                    break
                for out, held in spent:
                    yield out, node.pairs, (node.connect_budget - k, node.ping_budget), held
        if not state.ping_failures and node.ping_budget and _spends(plain_outs, _PINGS):
            armed = replace(state, ping_failures=1)
            for out, held in self.step(armed, mop, plain=plain):
                if not out.state.ping_failures:
                    yield out, node.pairs, (node.connect_budget, node.ping_budget - 1), held

    def step(self, state: State, mop: Op, *, plain: bool = False) -> list[tuple[Outcome, int]]:
        """``model.step``, plus the relaxations of 5. and 7. above; [] if not enabled.

        Returns:
            Each outcome, with how many freed slots it leaves held by a waiter
            whose connect failed (7. above).
        """
        config = self.config
        try:
            outs = [(out, 0) for out in model.step(config, state, mop)]
        except ValueError:
            return []  # not enabled here: some other order must explain it
        if plain or not state.waiting or mop.kind not in _HANDS_OFF:
            return outs
        if config.fairness is Fairness.BARGING:
            # the woken waiter may lose to a newcomer; the connection goes idle
            with contextlib.suppress(ValueError):
                for out in model.step(config, replace(state, waiting=()), mop):
                    kept_waiting = replace(out.state, waiting=state.waiting)
                    outs.append((replace(out, state=kept_waiting, wakeups=()), 0))
            return outs
        for out, _ in list(outs):
            cut = _first_failed_connect(out)
            if cut is None:
                continue
            # the waiter whose connect failed holds its slot, and passes it on
            # later from its own thread
            head, rest = state.waiting[: cut + 1], state.waiting[cut + 1 :]
            try:
                short = model.step(config, replace(state, waiting=head), mop)
            except ValueError:
                continue
            for alt in short:
                waiting = (*alt.state.waiting, *rest)
                outs.append((replace(alt, state=replace(alt.state, waiting=waiting)), 1))
        return outs

    def kill(
        self, node: _Node, driver_conn: int
    ) -> Iterator[tuple[Outcome, frozenset[tuple[int, int]]]]:
        """A dropped driver connection: the model connection it names, or none it still has."""
        state = node.state
        mapped = _model_of(node.pairs, driver_conn)
        if mapped is not None:
            if state.has_conn(mapped):
                yield from ((o, node.pairs) for o in model.step(self.config, state, _kill(mapped)))
            else:
                yield model.Outcome(state, model.OK), node.pairs
            return
        # not yet seen in any result: any open model connection not yet named,
        # or one the model already closed (the kill then changes nothing)
        named = {m for m, _ in node.pairs}
        for conn in state.conns:
            if conn.id >= 0 and conn.id not in named:
                pairs = node.pairs | {(conn.id, driver_conn)}
                for out in model.step(self.config, state, _kill(conn.id)):
                    yield out, pairs
        yield model.Outcome(state, model.OK), node.pairs

    def wake(self, node: _Node, out: Outcome, waker: int | None = None) -> _Node | None:
        """Complete the parked acquires an outcome wakes, if their results match.

        A wake-up whose instant was recorded (``served``) must come from an
        operation running at that instant, after everything that ended before it.
        """
        for wakeup in out.wakeups:
            index = self.parked_of(node, wakeup.actor)
            if index is None:
                return None
            if not self.in_time(node, index, waker):
                return None
            pairs = _match(wakeup.result, self.ops[index], node.pairs)
            if pairs is None:
                return None
            node = _complete(replace(node, pairs=pairs), index)
        return node

    def in_time(self, node: _Node, index: int, waker: int | None = None) -> bool:
        """Whether waiter ``index`` may be resolved now (by ``waker``, if an operation)."""
        served = self.ops[index].served
        if served is None or self.ops[index].kind is not OpKind.ACQUIRE:
            return True
        if waker is not None and self.ends[waker] < served:
            return False
        before = self.before[index]
        return node.done & before == before

    def parked_of(self, node: _Node, actor: int) -> int | None:
        for i in _bits(node.parked):
            if self.ops[i].actor == actor:
                return i
        return None

    # -- explaining a dead end ----------------------------------------------------

    def explain(self, node: _Node) -> list[str]:
        """Why each operation that could come next at ``node`` cannot."""
        lines = []
        for i in self.candidates(node):
            op = self.ops[i]
            reasons = []
            if op.actor is not None and node.state.waiter(op.actor) is not None:
                reasons.append("its actor is still parked in an acquire")
            else:
                for out, pairs, _, _ in self.outcomes(node, i):
                    if out.result.status is Status.WAIT and op.kind is OpKind.ACQUIRE:
                        reasons.append(
                            "the model makes it wait, and no later step wakes it in time"
                        )
                        continue
                    if _match(out.result, op, pairs) is None:
                        reasons.append(
                            f"the model says {_show(out.result, pairs)}, observed {_observed(op)}"
                        )
                        continue
                    child = _complete(replace(node, state=out.state), i)
                    if self.wake(child, out, i) is None:
                        reasons.append(
                            f"its wake-ups{_show_wakeups(out, pairs)} do not match what those "
                            "waiters observed"
                        )
                        continue
                    reasons.append("possible, but every continuation fails later")
                if not reasons:
                    reasons.append("the model does not allow it here")
            lines.append(f"  next {self.labels[i]}? {'; '.join(dict.fromkeys(reasons))}")
        for i in _bits(node.parked):
            if self.returns[i] != _NEVER:
                lines.append(
                    f"  parked {self.labels[i]} must be woken with {_observed(self.ops[i])}"
                )
        return lines


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


_TIMED_OUT = model.refused(Refusal.TIMEOUT)
_CONNECT_FAILED = model.refused(Refusal.CONNECT_FAILED)
_CONNECTS = frozenset({model.EffectKind.CONNECT, model.EffectKind.CONNECT_FAILED})
_PINGS = frozenset({model.EffectKind.PING})


def _spends(outs: Iterable[Outcome], kinds: frozenset[model.EffectKind]) -> bool:
    """Whether any of these outcomes makes a driver call of these kinds."""
    return any(e.kind in kinds for out in outs for e in out.effects)


def _held(state: State) -> int:
    """How many slots are held for a failed connect (placeholder connections, 7. above)."""
    return sum(c.id < 0 for c in state.conns)


def _hold_slot(state: State) -> State:
    """The state with one more slot held: a placeholder connection, never idle or handed out."""
    placeholder = model.Conn(
        min((c.id for c in state.conns), default=0) - 1 if _held(state) else -1
    )
    return replace(state, conns=(*state.conns, placeholder))


def _free_slot(state: State) -> State:
    """The state with one held slot freed."""
    lowest = min(c.id for c in state.conns)
    return replace(state, conns=tuple(c for c in state.conns if c.id != lowest))


def _first_failed_connect(out: Outcome) -> int | None:
    """The position of the first waiter refused a failed connect, if any."""
    for k, wakeup in enumerate(out.wakeups):
        if wakeup.result == _CONNECT_FAILED:
            return k
    return None


def _kill(cid: int) -> Op:
    return Op(OpKind.KILL, conn=cid)


def _bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _complete(node: _Node, i: int) -> _Node:
    return replace(node, done=node.done | 1 << i, parked=node.parked & ~(1 << i))


def _model_of(pairs: frozenset[tuple[int, int]], driver_conn: int) -> int | None:
    for m, d in pairs:
        if d == driver_conn:
            return m
    return None


def _driver_of(pairs: frozenset[tuple[int, int]], model_conn: int) -> int | None:
    for m, d in pairs:
        if m == model_conn:
            return d
    return None


def _match(
    result: Result, op: HistoryOp, pairs: frozenset[tuple[int, int]]
) -> frozenset[tuple[int, int]] | None:
    """The renaming under which the model's result is what was observed, or None."""
    if op.error is not None:
        return None
    seen = op.result
    if seen is None:
        return pairs if op.returned is None else None
    if result.status is not seen.status or result.refusal is not seen.refusal:
        return None
    if result.status is not Status.GOT:
        return pairs
    assert result.conn is not None
    assert seen.conn is not None
    have_driver = _driver_of(pairs, result.conn)
    have_model = _model_of(pairs, seen.conn)
    if have_driver is None and have_model is None:
        return pairs | {(result.conn, seen.conn)}
    if have_driver == seen.conn and have_model == result.conn:
        return pairs
    return None


def _show(result: Result, pairs: frozenset[tuple[int, int]]) -> str:
    if result.status is Status.GOT and result.conn is not None:
        driver = _driver_of(pairs, result.conn)
        where = f"driver #{driver}" if driver is not None else "a connection not seen yet"
        return f"got model c{result.conn} ({where})"
    return str(result)


def _show_wakeups(out: Outcome, pairs: frozenset[tuple[int, int]]) -> str:
    if not out.wakeups:
        return ""
    return "; wakes " + ", ".join(f"a{w.actor} {_show(w.result, pairs)}" for w in out.wakeups)


def _observed(op: HistoryOp) -> str:
    if op.error is not None:
        return f"raised {op.error}"
    if op.result is None:
        return "no return"
    if op.result.status is Status.GOT:
        return f"got driver #{op.result.conn}"
    return str(op.result)


def label(op: HistoryOp, index: int, origin: int = 0) -> str:
    """A one-line description of a history operation, times relative to ``origin``."""
    who = f"a{op.actor} " if op.actor is not None else ""
    what = op.kind.value if op.kind is not OpKind.KILL else f"kill(driver #{op.conn})"
    end = "..." if op.returned is None else str(op.returned - origin)
    return f"#{index} {who}{what} [{op.invoked - origin}, {end}] -> {_observed(op)}"


# -- the public entry point ---------------------------------------------------------


def _validate_config(config: model.Config) -> None:
    if config.max_lifetime is not None or config.max_idle_time is not None:
        raise ValueError(
            "retirement by time cannot be checked on a free-running history: got "
            f"max_lifetime={config.max_lifetime}, max_idle_time={config.max_idle_time}"
        )


def check_history(
    config: model.Config,
    history: Sequence[HistoryOp],
    *,
    actors: int | None = None,
    connect_failures: int | None = None,
    ping_failures: int | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
    minimise: bool = True,
) -> LinearResult:
    """Check that a concurrent history is linearizable with the model as its specification.

    Args:
        config: the pool's policies, as the model's configuration.
        history: the operations, in any order.
        actors: how many actors the model has (default: the highest actor + 1).
        connect_failures: how many connect failures the environment may arm
            (default: the history's ``FAIL_CONNECT`` records).
        ping_failures: likewise for pings (default: its ``FAIL_PING`` records).
        max_states: the most search configurations to visit.
        max_seconds: the most seconds to search (None: no limit).
        minimise: on a violation, also find the shortest non-linearizable prefix.

    Returns:
        The verdict; ``unknown`` when the budget ran out before an answer.

    Raises:
        ValueError: a bad argument or history (the message names the value).
    """
    if max_states < 1:
        raise ValueError(f"max_states must be >= 1, got {max_states}")
    if max_seconds is not None and max_seconds <= 0:
        raise ValueError(f"max_seconds must be > 0 or None, got {max_seconds}")
    _validate_config(config)
    started = time.monotonic()
    deadline = _NEVER if max_seconds is None else started + max_seconds
    result = _search(config, history, actors, connect_failures, ping_failures, max_states, deadline)
    if result.verdict == "violation" and minimise:
        prefix = _shortest_prefix(
            config, history, actors, connect_failures, ping_failures, max_states, deadline
        )
        if prefix is not None:
            count, short = prefix
            result = replace(
                short,
                prefix_ops=count,
                visited=result.visited + short.visited,
                message=f"{result.message}; the first {count} operations already are not",
            )
    return replace(result, seconds=time.monotonic() - started)


def _search(
    config: model.Config,
    history: Sequence[HistoryOp],
    actors: int | None,
    connect_failures: int | None,
    ping_failures: int | None,
    max_states: int,
    deadline: float,
) -> LinearResult:
    ops = tuple(sorted(history, key=lambda o: (_start(o), o.returned or 0)))
    for op in ops:
        if op.kind in _POOL_KINDS and op.actor is not None:
            raise ValueError(f"{op.kind.value} is pool-wide, got actor={op.actor}")
    timed = tuple(o for o in ops if o.kind not in _ENV_KINDS)
    if connect_failures is None:
        connect_failures = sum(o.kind is OpKind.FAIL_CONNECT for o in ops)
    if ping_failures is None:
        ping_failures = sum(o.kind is OpKind.FAIL_PING for o in ops)
    seen_actors = [o.actor for o in timed if o.actor is not None]
    count = actors if actors is not None else max(seen_actors, default=0) + 1
    if seen_actors and max(seen_actors) >= count:
        raise ValueError(f"actors={count} is too few for actor a{max(seen_actors)}")
    origin = min((o.invoked for o in timed), default=0)
    start_out = model.initial(config, count)
    # prefill connections: the first min_idle driver connections, in order
    pairs = frozenset((c.id, c.id) for c in start_out.state.conns)
    start = _Node(0, 0, start_out.state, pairs, connect_failures, ping_failures)
    search = _Search(
        config=config,
        ops=timed,
        labels=tuple(label(o, i, origin) for i, o in enumerate(timed)),
        max_states=max_states,
        deadline=deadline,
    )
    search.starts = tuple(float(_start(o)) for o in timed)
    search.returns = tuple(_end(o) for o in timed)
    search.ends = tuple(_end(o, served=False) for o in timed)
    search.queued = tuple(
        float(o.queued) if o.kind is OpKind.ACQUIRE and o.queued is not None else search.returns[i]
        for i, o in enumerate(timed)
    )
    search.need = sum(1 << i for i, end in enumerate(search.ends) if end != _NEVER)
    search.before = _over_by(search.returns, [o.served for o in timed])
    # An acquire seen to queue is not forced to wait in the model: while a
    # pool connects in a reserved slot, the slot is taken for others, a state
    # the model's atomic acquire never shows (see 7. above).
    try:
        found = search.run(start)
    except _BudgetError:
        return LinearResult(
            "unknown",
            search.visited,
            0.0,
            stuck=_stuck_lines(search),
            message=(
                f"unknown: the search budget ran out after {search.visited:,} states "
                f"({len(timed)} operations)"
            ),
        )
    if found is not None:
        _, trail = found
        return LinearResult(
            "ok",
            search.visited,
            0.0,
            order=tuple(trail.lines() if trail is not None else ()),
            message=f"linearizable: {len(timed)} operations, {search.visited:,} states",
        )
    return LinearResult(
        "violation",
        search.visited,
        0.0,
        stuck=_stuck_lines(search),
        message=f"not linearizable: {len(timed)} operations, {search.visited:,} states searched",
    )


def _over_by(returns: Sequence[float], instants: Sequence[int | None]) -> tuple[int, ...]:
    """For each instant, the bits of the operations completed before it (0 for None)."""
    order = sorted(range(len(returns)), key=lambda i: returns[i])
    ends = [returns[i] for i in order]
    masks = [0]
    for i in order:
        masks.append(masks[-1] | 1 << i)
    return tuple(0 if t is None else masks[bisect.bisect_left(ends, t)] for t in instants)


def _start(op: HistoryOp) -> int:
    """The earliest instant the operation may take effect: its queuing, if recorded exactly."""
    if op.kind is OpKind.ACQUIRE and op.queued is not None:
        return op.queued
    return op.invoked


def _end(op: HistoryOp, *, served: bool = True) -> float:
    """The instant by which the operation has taken effect (infinity: no bound).

    A recorded hand-off (``served``) is exact; a kill takes effect for the
    model at some instant after its call (see 4. above).
    """
    if op.kind is OpKind.KILL:
        return _NEVER
    end = _NEVER if op.returned is None else float(op.returned)
    if served and op.kind is OpKind.ACQUIRE and op.served is not None:
        return min(float(op.served), end)
    return end


def _stuck_lines(search: _Search) -> tuple[str, ...]:
    depth, node, trail = search.deepest
    if node is None:
        return ()
    lines = [f"the deepest linearization found places {depth} of {len(search.ops)} operations:"]
    lines.extend(f"  {line}" for line in (trail.lines() if trail is not None else []))
    lines.append("and there it is stuck:")
    lines.extend(search.explain(node))
    return tuple(lines)


def prefix(history: Sequence[HistoryOp], cut: int) -> list[HistoryOp]:
    """The history as it stood at time ``cut``: later calls dropped, later returns pending.

    An operation pending at the cut keeps only the instants (``queued``,
    ``served``) recorded by then, also one already pending in ``history``, so
    a prefix of a prefix is the prefix at the earlier cut (as
    :func:`check_history` cuts one when it minimises a violation).
    """
    out = []
    for op in history:
        if op.invoked > cut:
            continue
        if op.returned is None or op.returned > cut:
            queued = op.queued if op.queued is not None and op.queued <= cut else None
            served = op.served if op.served is not None and op.served <= cut else None
            out.append(
                replace(op, returned=None, result=None, error=None, queued=queued, served=served)
            )
        else:
            out.append(op)
    return out


def _shortest_prefix(
    config: model.Config,
    history: Sequence[HistoryOp],
    actors: int | None,
    connect_failures: int | None,
    ping_failures: int | None,
    max_states: int,
    deadline: float,
) -> tuple[int, LinearResult] | None:
    """Binary search on the cut time for the shortest prefix that is not linearizable."""
    cuts = sorted({op.returned for op in history if op.returned is not None})
    lo, hi = 0, len(cuts) - 1
    best: tuple[int, LinearResult] | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        part = prefix(history, cuts[mid])
        res = _search(config, part, actors, connect_failures, ping_failures, max_states, deadline)
        if res.verdict == "unknown":
            return best
        if res.verdict == "violation":
            best = (sum(o.kind not in _ENV_KINDS for o in part), res)
            hi = mid - 1
        else:
            lo = mid + 1
    return best


def format_result(result: LinearResult) -> str:
    """The verdict as text for a person."""
    lines = [f"linearizability: {result.verdict} ({result.message}, {result.seconds:.2f} s)"]
    lines.extend(result.stuck)
    return "\n".join(lines)


# -- FIFO fairness -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overtaking:
    """A FIFO violation: ``later`` was served while ``earlier``, queued before it, was not."""

    earlier: int
    later: int
    why: str


def check_fifo(history: Sequence[HistoryOp]) -> tuple[Overtaking, ...]:
    """The overtakings in a history of a pool that promises FIFO hand-off (WAIT-4).

    Definition. Acquire A is *overtaken* by acquire B (another actor) when

    1. A was surely queued before B was called: ``A.queued`` is known and
       ``A.queued < B.invoked`` (overlapping calls are not ordered: which of
       two concurrent callers queued first is the pool's choice); and
    2. B got a connection, and B was surely served before A could have been:
       B's hand-off happened at ``B.served`` if known, else at the latest at
       ``B.returned``. A's wait was resolved at ``A.served`` if known (a
       hand-off, a permit to connect, a refusal); if unknown: A got a
       connection at some unknown time (assumed as early as its call, so never
       counted), or was refused with a timeout and may have left the line at
       its deadline ``A.queued + A.timeout``, or was never served.

    Only what the history proves is reported: with unknown ``queued`` or
    ``served`` times the check is weaker, never wrong.
    """
    ops = list(history)
    acquires = [i for i, o in enumerate(ops) if o.kind is OpKind.ACQUIRE]
    got = [i for i in acquires if _got(ops[i])]
    found: list[Overtaking] = []
    for a in acquires:
        first = ops[a]
        if first.queued is None:
            continue
        a_served = _served_at(first)
        for b in got:
            second = ops[b]
            if b == a or second.actor == first.actor or not first.queued < second.invoked:
                continue
            b_served = second.served if second.served is not None else second.returned
            assert b_served is not None
            if b_served < a_served:
                found.append(
                    Overtaking(
                        a,
                        b,
                        f"a{first.actor} queued at {first.queued}, a{second.actor} called at "
                        f"{second.invoked} and was served by {b_served}, a{first.actor} "
                        f"{'at ' + str(first.served) if first.served is not None else 'not'}",
                    )
                )
    return tuple(found)


def _got(op: HistoryOp) -> bool:
    return op.result is not None and op.result.status is Status.GOT


def _served_at(op: HistoryOp) -> float:
    """The earliest the pool can have resolved this acquire's wait."""
    if op.served is not None:
        return float(op.served)  # recorded by the pool's seam, whatever came of it
    if _got(op):
        return float(op.invoked)  # served at an unknown time: assume as early as possible
    if op.result == model.refused(Refusal.TIMEOUT) and op.timeout is not None:
        assert op.queued is not None
        return float(op.queued + op.timeout)  # it may have left the line at its deadline
    return _NEVER


# -- JSON --------------------------------------------------------------------------------


def op_json(op: HistoryOp) -> dict[str, Any]:
    """One history operation as JSON-ready data."""
    data: dict[str, Any] = {"kind": op.kind.value, "invoked": op.invoked, "returned": op.returned}
    if op.actor is not None:
        data["actor"] = op.actor
    if op.result is not None:
        data["result"] = op.result.status.value
        if op.result.conn is not None:
            data["conn"] = op.result.conn
        if op.result.refusal is not None:
            data["refusal"] = op.result.refusal.value
    for name in ("timeout", "queued", "served", "error"):
        value = getattr(op, name)
        if value is not None:
            data[name] = value
    if op.kind is OpKind.KILL:
        data["conn"] = op.conn
    return data


def op_from_json(data: dict[str, Any]) -> HistoryOp:
    """Read one operation written by :func:`op_json`.

    Raises:
        ValueError: an unknown kind, status or refusal, or a missing field.
    """
    try:
        kind = OpKind(data["kind"])
        result: Result | None = None
        if "result" in data:
            status = Status(data["result"])
            if status is Status.GOT:
                result = model.got(int(data["conn"]))
            elif status is Status.REFUSED:
                result = model.refused(Refusal(data["refusal"]))
            else:
                result = Result(status)
        return HistoryOp(
            actor=data.get("actor"),
            kind=kind,
            invoked=int(data["invoked"]),
            returned=None if data.get("returned") is None else int(data["returned"]),
            result=result,
            conn=int(data["conn"]) if kind is OpKind.KILL else None,
            timeout=data.get("timeout"),
            queued=data.get("queued"),
            served=data.get("served"),
            error=data.get("error"),
        )
    except KeyError as exc:
        raise ValueError(f"history operation {data!r} lacks field {exc}") from None


def history_json(config: model.Config, history: Iterable[HistoryOp]) -> dict[str, Any]:
    """A history and the configuration it is checked against, as JSON-ready data."""
    cfg = {
        name: getattr(getattr(config, name), "value", getattr(config, name))
        for name in model.Config.__dataclass_fields__
    }
    return {"config": cfg, "history": [op_json(o) for o in history]}


def history_from_json(data: dict[str, Any]) -> tuple[model.Config, list[HistoryOp]]:
    """Read what :func:`history_json` wrote.

    Raises:
        ValueError: a bad configuration or operation.
    """
    raw = dict(data.get("config", {}))
    enums = {
        "fairness": model.Fairness,
        "idle_order": model.IdleOrder,
        "reset": model.ResetMode,
        "ping": model.Ping,
    }
    for name, enum in enums.items():
        if name in raw:
            raw[name] = enum(raw[name])
    try:
        config = model.Config(**raw)
    except TypeError as exc:
        raise ValueError(f"bad configuration {raw!r}: {exc}") from None
    return config, [op_from_json(o) for o in data.get("history", [])]
