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
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from ._config import Config
from ._rules import Kind, Predicate, by_kind
from ._state import FAULT_OPS, Op, OpKind, Outcome, State
from ._symmetry import canonical_key
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
) -> Report:
    """Explore the model's reachable states under ``config`` and ``bounds``.

    Args:
        config: the pool's policies.
        bounds: the exploration's bounds (defaults: 3 actors, 1 fault).
        progress: called about every ``progress_every`` seconds with the report so far.
        progress_every: seconds between progress calls.
        stop_at_first: stop at the first violation (its trace is a shortest one).
        predicates: the predicates to check (default: all that apply).

    Returns:
        The report: counts, violations with traces, ``SOMETIMES`` coverage.
    """
    bounds = bounds or Bounds()
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

    start = time.perf_counter()
    last_progress = start
    first = initial(config, bounds.actors)
    for p in initial_checks:
        if not p.check(config, first):
            report.violations.append(
                Violation(p.rule, p.name, p.kind.value, _doc(p), (), first.state)
            )

    nodes: list[_Node] = [_Node(first.state, -1, None, 0, bounds.faults, bounds.ticks)]
    index: dict[Hashable, int] = {_key(first.state, bounds.faults, bounds.ticks): 0}
    edges: list[list[int]] = [[]]
    witnessed: dict[str, int] = {}
    queue: deque[int] = deque([0])
    report.states = 1

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
        report.depth = max(report.depth, node.depth)
        for p in always:
            if not p.check(config, state):
                fail(p, i, None)
        if report.violations and stop_at_first:
            break
        for op in enabled(
            config, state, faults=node.faults != 0, misuse=bounds.misuse, max_depth=bounds.max_depth
        ):
            if op.kind is OpKind.TICK and node.ticks == 0:
                continue
            faults = node.faults
            if op.kind in FAULT_OPS and faults is not None:
                faults -= 1
            ticks = node.ticks
            if op.kind is OpKind.TICK and ticks is not None:
                ticks -= 1
            for out in step(config, state, op):
                report.transitions += 1
                for p in steps:
                    if not p.check(config, state, op, out):
                        fail(p, i, (op, out))
                for p in sometimes:
                    if p.name not in witnessed and p.check(config, state, op, out):
                        witnessed[p.name] = i
                key = _key(out.state, faults, ticks)
                j = index.get(key)
                if j is None:
                    j = len(nodes)
                    index[key] = j
                    nodes.append(_Node(out.state, i, op, node.depth + 1, faults, ticks))
                    edges.append([])
                    queue.append(j)
                if op.kind is not OpKind.CLOSE:
                    # closing refuses every waiter: no escape that counts for WAIT-7
                    edges[i].append(j)
        report.states = len(nodes)
        now = time.perf_counter()
        if bounds.max_states is not None and len(nodes) >= bounds.max_states:
            report.complete, report.stopped_by = False, f"state budget {bounds.max_states}"
            break
        if bounds.max_seconds is not None and now - start >= bounds.max_seconds:
            report.complete, report.stopped_by = False, f"time budget {bounds.max_seconds}s"
            break
        if progress is not None and now - last_progress >= progress_every:
            report.seconds = now - start
            progress(report)
            last_progress = now
    else:
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
        target = _key(nodes[j].state, nodes[j].faults, nodes[j].ticks)
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
