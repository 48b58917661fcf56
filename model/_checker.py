"""A breadth-first explicit-state model checker for the pool model.

It explores every state reachable from a new pool under a bounded
configuration (actors, fault and tick budgets), deduplicating states after
symmetry reduction, and:

1. checks every ``ALWAYS`` predicate in every state and every ``STEP``
   predicate on every transition; the first violation found is one of the
   shallowest, and its trace is the shortest path to it;
2. records which ``SOMETIMES`` predicates were witnessed;
3. checks ``EVENTUALLY`` obligations on the finished graph: every state with a
   waiter must reach a state with no waiter without closing the pool (a lost
   wake-up or a deadlock leaves a waiter that nothing but ``close`` can ever
   serve, expire or refuse).

Traces are replayed on unreduced states, so the actors and connections in a
printed trace keep their names from the first step to the last.

What keeps it fast, and why each is sound:

1. Dispatch. A ``STEP`` or ``SOMETIMES`` predicate may declare the op kinds it
   looks at (``ops``) and a cheap guard (``when``: something handed out, a
   waiter woken, a driver call made); both restate the predicate's own first
   test, so skipping the call where they rule it out skips only a vacuous
   ``True``. The predicates that apply are grouped per op kind once, and a
   transition on which several fail reports them in registry order, as if
   each had been called in turn. ``tests/model`` checks every declaration
   against the predicate's code on real and doctored transitions.
2. Twins (``twins_once``, on by default). Two actors that a renaming of
   actors and connections swaps without changing the state (both idle, or
   both holding equal connections; ``_symmetry.twins``) are twins: an
   operation of one and the same operation of the other are renamings of
   each other, so they reach states with the same canonical key and every
   predicate, which reads names only as identities, gives them the same
   verdict. Only the first of them in ``enabled`` order is explored, so the
   states are found in the same order and the states, depths, witnesses and
   violations are those of the full exploration; only ``Report.transitions``
   counts fewer. This is the state symmetry reduction, applied within one
   state; it is off in shared mode, where a checkout picks by connection id.
3. Caching. A transition that returns its very state object (a refusal, a
   no-op) leads back to its node; a successor state met before, unreduced,
   is looked up by value (in a table per remaining fault and tick budget)
   before it is canonicalised (nine in ten are).
4. The cyclic garbage collector is paused while exploring (``explore``).
5. Cheap values. The model itself avoids the two slowest things CPython 3.11
   does on every transition: it dispatches on op kinds through tables rather
   than chains of ``OpKind.X`` reads (each goes through
   ``EnumType.__getattr__``), its enums hash in C (``_enum.FastEnum``), and
   the ops ``enabled`` lists and the results and driver calls ``step``
   returns are shared immutable values rather than new frozen dataclasses
   (each field of which is set through ``object.__setattr__``).
   ``tests/model/test_fast_paths.py`` compares each with its plain spelling.

No partial-order reduction is made: every state reachable under the bounds
is visited, every ``ALWAYS`` predicate runs on it and every ``STEP``
predicate on each transition out of it, up to the symmetries above.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ._config import Config
from ._rules import Guard, Kind, Predicate, by_kind
from ._state import FAULT_OPS, Op, OpKind, Outcome, State
from ._symmetry import canonical_key, twins
from ._transitions import enabled, initial, step


@dataclass(frozen=True, slots=True)
class Bounds:
    """What bounds the exploration.

    Attributes:
        actors: how many actors (threads) use the pool.
        faults: fault operations allowed on any one path (None: unbounded).
        ticks: ticks allowed on any one path (None: unbounded; ages and
            timeouts are clipped at their thresholds, so the space is finite).
        misuse: explore refused misuse (release of nothing, use after release).
        max_depth: reentrant checkouts per thread (per-thread mode).
        max_states: stop after this many distinct states (None: no limit).
        max_seconds: stop after this long (None: no limit).
    """

    actors: int = 3
    faults: int | None = 1
    ticks: int | None = None
    misuse: bool = False
    max_depth: int = 2
    max_states: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("actors", "max_depth"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        for name in ("faults", "ticks", "max_states"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise ValueError(f"{name} must be an int >= 0 or None, got {value!r}")
        if self.max_seconds is not None and (
            not isinstance(self.max_seconds, int | float) or self.max_seconds <= 0
        ):
            raise ValueError(f"max_seconds must be a positive number, got {self.max_seconds!r}")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a trace, as a person reads it."""

    op: Op
    outcome: Outcome

    def describe(self) -> str:
        """One line: the op, its result, driver calls and wake-ups."""
        parts = [f"{self.op} -> {self.outcome.result}"]
        if self.outcome.effects:
            parts.append("calls " + ", ".join(map(str, self.outcome.effects)))
        if self.outcome.wakeups:
            parts.append("wakes " + ", ".join(map(str, self.outcome.wakeups)))
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Violation:
    """A predicate that failed, with the shortest trace that shows it."""

    rule: str
    predicate: str
    kind: str
    doc: str
    trace: tuple[Step, ...]
    state: State


@dataclass(slots=True)
class Report:
    """What one exploration found."""

    config: Config
    bounds: Bounds
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    complete: bool = True
    stopped_by: str | None = None
    violations: list[Violation] = field(default_factory=list)
    witnessed: dict[str, int] = field(default_factory=dict)
    unwitnessed: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Distinct states per second."""
        return self.states / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """No violation found (an incomplete run proves only what it reached)."""
        return not self.violations


@dataclass(slots=True)
class _Node:
    state: State
    key: Hashable
    parent: int
    op: Op | None
    depth: int
    faults: int | None
    ticks: int | None


Progress = Callable[[Report], None]


def _doc(p: Predicate) -> str:
    doc = p.check.__doc__ or p.name
    return doc.strip().splitlines()[0]


def explore(
    config: Config,
    bounds: Bounds | None = None,
    *,
    progress: Progress | None = None,
    progress_every: float = 1.0,
    stop_at_first: bool = True,
    predicates: tuple[Predicate, ...] | None = None,
    twins_once: bool = True,
) -> Report:
    """Explore the model's reachable states under ``config`` and ``bounds``.

    Every ``ALWAYS`` predicate is checked in every state explored and every
    ``STEP`` predicate on every transition out of it, except where the
    predicate's own ``ops`` / ``when`` declaration says it is vacuous.

    Args:
        config: the pool's policies.
        bounds: the exploration's bounds (defaults: 3 actors, 1 fault).
        progress: called about every ``progress_every`` seconds with the report so far.
        progress_every: seconds between progress calls.
        stop_at_first: stop at the first violation (its trace is a shortest one).
        predicates: the predicates to check (default: all that apply).
        twins_once: explore the operations of twin actors (``_symmetry.twins``)
            once: their transitions are renamings of each other, so they
            reach the same states and every predicate gives them the same
            verdict. The states, depths, witnesses and violations found are
            the same either way; only ``Report.transitions`` counts fewer.

    Returns:
        The report: counts, violations with traces, ``SOMETIMES`` coverage.
    """
    with _collector_paused():
        return _explore(
            config,
            bounds or Bounds(),
            progress,
            progress_every,
            stop_at_first,
            predicates,
            twins_once,
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, restoring it after.

    Exploring allocates millions of small immutable objects and keeps most of
    them; each automatic collection then walks the whole growing graph, which
    costs over a tenth of the run. Nothing here makes reference cycles, so
    reference counting frees all the garbage anyway.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _explore(
    config: Config,
    bounds: Bounds,
    progress: Progress | None,
    progress_every: float,
    stop_at_first: bool,
    predicates: tuple[Predicate, ...] | None,
    twins_once: bool,
) -> Report:
    report = Report(config, bounds)
    chosen = (
        predicates
        if predicates is not None
        else tuple(p for kind in Kind for p in by_kind(kind, config))
    )
    always = [p for p in chosen if p.kind is Kind.ALWAYS and p.applies(config)]
    steps = [p for p in chosen if p.kind is Kind.STEP and p.applies(config)]
    sometimes = [p for p in chosen if p.kind is Kind.SOMETIMES and p.applies(config)]
    eventually = [p for p in chosen if p.kind is Kind.EVENTUALLY and p.applies(config)]
    initial_checks = [p for p in chosen if p.kind is Kind.INITIAL and p.applies(config)]
    rank = {p: n for n, p in enumerate(steps)}
    plan = _plan(steps, sometimes)  # rebuilt without each SOMETIMES once witnessed
    transitions = 0

    start = time.perf_counter()
    last_progress = start
    first = initial(config, bounds.actors)
    for p in initial_checks:
        if not p.check(config, first):
            report.violations.append(
                Violation(p.rule, p.name, p.kind.value, _doc(p), (), first.state)
            )

    first_key = _key(first.state, bounds.faults, bounds.ticks)
    nodes: list[_Node] = [_Node(first.state, first_key, -1, None, 0, bounds.faults, bounds.ticks)]
    index: dict[Hashable, int] = {first_key: 0}
    # The states met so far, unreduced, with their node, one table per
    # remaining (faults, ticks) budget: nine successors in ten are met again
    # exactly, and hashing a state is far cheaper than canonicalising it.
    # Equal states have equal keys, so this only caches.
    seen: dict[tuple[int | None, int | None], dict[State, int]] = {
        (bounds.faults, bounds.ticks): {first.state: 0}
    }
    edges: list[list[int]] = [[]]
    witnessed: dict[str, int] = {}
    queue: deque[int] = deque([0])
    report.states = 1
    timed = bounds.max_seconds is not None or progress is not None
    close_kind = OpKind.CLOSE

    def fail(p: Predicate, at: int, extra: tuple[Op, Outcome] | None) -> None:
        if report.violations and stop_at_first:
            return
        trace = _trace(config, bounds, nodes, at, extra)
        state = extra[1].state if extra else nodes[at].state
        report.violations.append(Violation(p.rule, p.name, p.kind.value, _doc(p), trace, state))

    while queue:
        if report.violations and stop_at_first:
            break
        i = queue.popleft()
        node = nodes[i]
        state = node.state
        depth = node.depth + 1
        report.depth = node.depth  # breadth first: depths never decrease
        for p in always:
            if not p.check(config, state):
                fail(p, i, None)
        if report.violations and stop_at_first:
            break
        succs = edges[i]
        twin_actors, twin_conns = twins(config, state) if twins_once else ({}, {})
        done: set[tuple[OpKind, int | None, int | None]] = set()
        node_faults, node_ticks = node.faults, node.ticks
        seen_here = seen.setdefault((node_faults, node_ticks), {})
        for op in enabled(
            config, state, faults=node_faults != 0, misuse=bounds.misuse, max_depth=bounds.max_depth
        ):
            kind = op.kind
            is_fault, is_tick, checks, witnesses = plan[kind]
            faults, ticks, seen_next = node_faults, node_ticks, seen_here
            if is_tick and ticks is not None:
                if ticks == 0:
                    continue
                ticks -= 1
                seen_next = seen.setdefault((faults, ticks), {})
            if is_fault and faults is not None:
                faults -= 1
                seen_next = seen.setdefault((faults, ticks), {})
            if twin_actors:
                # one op per class of twins: the others are its renamings
                rep = (kind, twin_actors.get(op.actor, op.actor), twin_conns.get(op.conn, op.conn))
                if rep in done:
                    continue
                done.add(rep)
            for out in step(config, state, op):
                transitions += 1
                failed: list[Predicate] | None = None
                for when, group in checks:
                    if when is None or when(op, out):
                        for p in group:
                            if not p.check(config, state, op, out):
                                failed = [*(failed or ()), p]
                if failed:
                    for p in sorted(failed, key=rank.__getitem__):  # in registry order
                        fail(p, i, (op, out))
                for when, group in witnesses:
                    if when is None or when(op, out):
                        for p in group:
                            if p.name not in witnessed and p.check(config, state, op, out):
                                witnessed[p.name] = i
                                unseen = [q for q in sometimes if q.name not in witnessed]
                                plan = _plan(steps, unseen)
                new_state = out.state
                if new_state is state and seen_next is seen_here:
                    j = i  # a refusal or no-op returns the very same state
                else:
                    found = seen_next.get(new_state)
                    if found is None:
                        key = _key(new_state, faults, ticks)
                        found = index.get(key)
                        if found is None:
                            found = len(nodes)
                            index[key] = found
                            nodes.append(_Node(new_state, key, i, op, depth, faults, ticks))
                            edges.append([])
                            queue.append(found)
                        seen_next[new_state] = found
                    j = found
                if kind is not close_kind:
                    # closing refuses every waiter: no escape that counts for WAIT-7
                    succs.append(j)
        report.states = len(nodes)
        report.transitions = transitions
        if bounds.max_states is not None and len(nodes) >= bounds.max_states:
            report.complete, report.stopped_by = False, f"state budget {bounds.max_states}"
            break
        if timed:
            now = time.perf_counter()
            if bounds.max_seconds is not None and now - start >= bounds.max_seconds:
                report.complete, report.stopped_by = False, f"time budget {bounds.max_seconds}s"
                break
            if progress is not None and now - last_progress >= progress_every:
                report.seconds = now - start
                progress(report)
                last_progress = now
    else:
        report.transitions = transitions
        if eventually and not report.violations:
            stuck = _stuck(nodes, edges)
            if stuck is not None:
                for p in eventually:
                    fail(p, stuck, None)
    if report.violations and queue:
        report.complete = False
        report.stopped_by = report.stopped_by or "first violation"
    report.seconds = time.perf_counter() - start
    report.witnessed = {name: nodes[i].depth for name, i in witnessed.items()}
    report.unwitnessed = [p.name for p in sometimes if p.name not in witnessed]
    return report


Checks = tuple[tuple[Guard | None, tuple[Predicate, ...]], ...]


def _checks(kind: OpKind, preds: list[Predicate]) -> Checks:
    """The predicates that look at ``kind``, grouped by guard (in registry order within one)."""
    groups: dict[Guard | None, list[Predicate]] = {}
    for p in preds:
        if p.ops is None or kind in p.ops:
            groups.setdefault(p.when, []).append(p)
    return tuple((when, tuple(group)) for when, group in groups.items())


def _plan(
    steps: list[Predicate], sometimes: list[Predicate]
) -> dict[OpKind, tuple[bool, bool, Checks, Checks]]:
    """Per op kind: (spends a fault, spends a tick, STEP checks, SOMETIMES checks)."""
    return {
        k: (k in FAULT_OPS, k is OpKind.TICK, _checks(k, steps), _checks(k, sometimes))
        for k in OpKind
    }


def _key(state: State, faults: int | None, ticks: int | None) -> Hashable:
    return (canonical_key(state), faults, ticks)


def _stuck(nodes: list[_Node], edges: list[list[int]]) -> int | None:
    """A shallowest state with waiters from which no state without waiters is reachable."""
    reverse: list[list[int]] = [[] for _ in nodes]
    for i, succs in enumerate(edges):
        for j in succs:
            reverse[j].append(i)
    good = [not n.state.waiting for n in nodes]
    queue = deque(i for i, ok in enumerate(good) if ok)
    while queue:
        j = queue.popleft()
        for i in reverse[j]:
            if not good[i]:
                good[i] = True
                queue.append(i)
    bad = [i for i, ok in enumerate(good) if not ok]
    return min(bad, key=lambda i: nodes[i].depth) if bad else None


def _trace(
    config: Config,
    bounds: Bounds,
    nodes: list[_Node],
    at: int,
    extra: tuple[Op, Outcome] | None,
) -> tuple[Step, ...]:
    """The path to node ``at`` (plus ``extra``), replayed with stable names."""
    path: list[int] = []
    while at > 0:
        path.append(at)
        at = nodes[at].parent
    path.reverse()
    state = initial(config, bounds.actors).state
    faults, ticks = bounds.faults, bounds.ticks
    trace: list[Step] = []
    for j in path:
        target = nodes[j].key
        found = _replay_one(config, bounds, state, faults, ticks, target)
        if found is None:  # pragma: no cover - the graph came from these very functions
            raise AssertionError("trace replay lost its way")
        op, out, faults, ticks = found
        trace.append(Step(op, out))
        state = out.state
    if extra is not None:
        # ``extra`` was computed on the reduced state: redo it on the replayed one
        target = _key(extra[1].state, None, None)
        for op in enabled(config, state, misuse=True, max_depth=bounds.max_depth):
            for out in step(config, state, op):
                if op.kind is extra[0].kind and _key(out.state, None, None) == target:
                    trace.append(Step(op, out))
                    return tuple(trace)
        trace.append(Step(extra[0], extra[1]))
    return tuple(trace)


def _replay_one(
    config: Config,
    bounds: Bounds,
    state: State,
    faults: int | None,
    ticks: int | None,
    target: Hashable,
) -> tuple[Op, Outcome, int | None, int | None] | None:
    for op in enabled(config, state, misuse=bounds.misuse, max_depth=bounds.max_depth):
        f = faults - 1 if op.kind in FAULT_OPS and faults is not None else faults
        t = ticks - 1 if op.kind is OpKind.TICK and ticks is not None else ticks
        for out in step(config, state, op):
            if _key(out.state, f, t) == target:
                return op, out, f, t
    return None


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON-able data."""

    def step_json(s: Step) -> dict[str, Any]:
        return {
            "op": str(s.op),
            "result": str(s.outcome.result),
            "calls": [str(e) for e in s.outcome.effects],
            "wakeups": [str(w) for w in s.outcome.wakeups],
        }

    return {
        "config": {
            f: _plain(getattr(report.config, f)) for f in report.config.__dataclass_fields__
        },
        "bounds": {f: getattr(report.bounds, f) for f in report.bounds.__dataclass_fields__},
        "states": report.states,
        "transitions": report.transitions,
        "depth": report.depth,
        "seconds": round(report.seconds, 3),
        "rate": round(report.rate, 1),
        "complete": report.complete,
        "stopped_by": report.stopped_by,
        "ok": report.ok,
        "violations": [
            {
                "rule": v.rule,
                "predicate": v.predicate,
                "kind": v.kind,
                "statement": v.doc,
                "trace": [step_json(s) for s in v.trace],
            }
            for v in report.violations
        ],
        "sometimes_witnessed": report.witnessed,
        "sometimes_unwitnessed": report.unwitnessed,
    }


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def format_report(report: Report) -> str:
    """The report as text for a person."""
    lines = [
        f"explored {report.states} states, {report.transitions} transitions, "
        f"depth {report.depth}, in {report.seconds:.2f} s ({report.rate:,.0f} states/s)"
        + ("" if report.complete else f" - incomplete: stopped by {report.stopped_by}"),
    ]
    if report.ok:
        lines.append("no violation: every applicable always/step/eventually rule holds")
    for v in report.violations:
        lines.append(f"VIOLATION {v.rule} ({v.kind}, {v.predicate}): {v.doc}")
        if not v.trace:
            lines.append("  in the initial state")
        for n, s in enumerate(v.trace, 1):
            lines.append(f"  {n:>2}. {s.describe()}")
    if report.unwitnessed:
        lines.append("never witnessed (sometimes): " + ", ".join(report.unwitnessed))
    return "\n".join(lines)
