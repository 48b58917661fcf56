"""Contract-carrying entry points for CrossHair (``crosshair check --analysis_kind=PEP316``).

A ``State`` built by CrossHair from arbitrary symbolic field values is almost
never one the pool can reach (idle ids that name no connection, holds of
closed ones...), so the contracts here do not quantify over states. Each
entry point takes a few small ints, bools, enums and optional ints (all
symbolic under CrossHair) that pick a configuration of one policy family and
a program, runs the program from the pool as created, and promises in its
postcondition that every rule that applies held on the way:

* pre: the inputs name a valid ``Config`` and a short program;
* post: ``violations(run) == ()``: every applicable ``INITIAL`` and ``ALWAYS``
  predicate holds on the pool as created, and along the run every applicable
  ``STEP`` predicate holds on each transition and every ``ALWAYS`` predicate
  in the state it reaches. Each transition taken thus carries the contract
  "pre: the invariants hold; post: they still hold and the step keeps every
  STEP rule", for every state CrossHair can reach from the start.

A program is a list of ints. Each int picks the next operation among the
``enabled`` ones and, where an operation has several allowed outcomes
(barging), which outcome follows: ``ops[choice % len(ops)]``, then
``outs[(choice // len(ops)) % len(outs)]``. Every int therefore names a legal
step, and CrossHair's symbolic ints range over all programs of that length.

The entry points, by policy family. CrossHair searches these and cannot
exhaust them (programs of up to four operations):

1. ``run_capacity``: hard cap, idle cap, blocking, timeouts, waiter bound,
   fairness and idle order (CAP-*, WAIT-*, EXCL-*, ORDER-1, CONN-1, CLOSE-*).
2. ``run_reset``: the five reset modes with and without session setup, under
   transactions, ``SET`` statements and misuse (RESET-*, SETUP-1, EXCL-2/3).
3. ``run_retirement``: usage, lifetime and idle-time retirement, ping on
   checkout and transparent reopen, with faults (RETIRE-*, INV-*, LIVE-*,
   CONN-1).
4. ``run_per_thread``: thread affinity and reentrant checkout (AFF-*).
5. ``run_shared``: shared connections at the cap (EXCL-4).

And these, with programs of up to two operations, CrossHair exhausts within
a per-condition timeout of a minute ("Confirmed over all paths"): a proof
for their bounds (``prove_capacity``, ``prove_per_thread``, ``prove_shared``).
``spec/CROSSHAIR.md`` records what each run proved and what it did not reach.

Nothing here has a contract except these entry points: CrossHair treats a
contracted function that another one calls as a black box it assumes
correct, so a contract on a helper would hide the helper's body from the
analysis of its callers.

Threads: this module starts none and hands nothing to one. CrossHair's
symbolic values exist only inside the analysing thread; code that ever needs
to pass a value derived from these inputs to another thread must first make
it concrete with ``crosshair.realize`` (a no-op on plain values).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._config import Config, Fairness, IdleOrder, Ping, ResetMode
from ._rules import PREDICATES, Kind, Predicate
from ._state import Op, Outcome, State
from ._transitions import enabled, initial, step

StepFn = Callable[[Config, State, Op], tuple[Outcome, ...]]
"""The shape of ``model.step``: every allowed outcome of an operation."""

ACTORS = 3
"""Actors unless an entry point says otherwise: with a cap of one or two, enough for waiters."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One step of a run: the state before it, the operation and its chosen outcome."""

    before: State
    op: Op
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Run:
    """A program run from the pool as created.

    Attributes:
        config: the pool's policies.
        start: the pool as created (``initial``).
        steps: the transitions taken, in order.
    """

    config: Config
    start: Outcome
    steps: tuple[Transition, ...]

    def __repr__(self) -> str:
        # CrossHair prints the return value of a counterexample: keep it short.
        ops = ", ".join(str(t.op) for t in self.steps)
        return f"Run([{ops}], broken={list(violations(self))})"


# -- the predicates, by kind ------------------------------------------------------


def _applying(kind: Kind, config: Config) -> tuple[Predicate, ...]:
    return tuple(p for p in PREDICATES if p.kind is kind and p.applies(config))


def invariants_hold(config: Config, state: State) -> bool:
    """Whether every ``ALWAYS`` predicate that applies under ``config`` holds in ``state``."""
    return all(p.check(config, state) for p in _applying(Kind.ALWAYS, config))


def step_holds(config: Config, before: State, op: Op, out: Outcome) -> bool:
    """Whether every ``STEP`` predicate that applies under ``config`` holds on this transition.

    Every predicate is called, whatever its ``ops`` and ``when`` declarations
    promise, so a wrong promise cannot hide a violation here.
    """
    return all(p.check(config, before, op, out) for p in _applying(Kind.STEP, config))


def violations(run: Run) -> tuple[str, ...]:
    """Each predicate broken on ``run``, as ``RULE name @ where`` (empty: none).

    ``where`` is ``start`` for the pool as created, else the 1-based step and
    its operation.
    """
    config = run.config
    found: list[str] = []
    found.extend(
        f"{p.rule} {p.name} @ start"
        for p in _applying(Kind.INITIAL, config)
        if not p.check(config, run.start)
    )
    always = _applying(Kind.ALWAYS, config)
    steps = _applying(Kind.STEP, config)
    found.extend(
        f"{p.rule} {p.name} @ start" for p in always if not p.check(config, run.start.state)
    )
    for n, t in enumerate(run.steps, 1):
        where = f"@ {n} {t.op}"
        found.extend(
            f"{p.rule} {p.name} {where}"
            for p in steps
            if not p.check(config, t.before, t.op, t.outcome)
        )
        found.extend(
            f"{p.rule} {p.name} {where}" for p in always if not p.check(config, t.outcome.state)
        )
    return tuple(found)


# -- running a program --------------------------------------------------------------


def run(
    config: Config,
    choices: Sequence[int],
    *,
    actors: int = ACTORS,
    faults: bool = False,
    misuse: bool = False,
    max_depth: int = 2,
    step_fn: StepFn = step,
) -> Run:
    """Run the program ``choices`` from the pool as created (no contract: see the module doc).

    Args:
        config: the pool's policies.
        choices: one int per step; each picks an enabled operation and an
            outcome of it (see the module docstring). Negative ints count as
            their remainder, like Python's ``%``.
        actors: how many actors use the pool.
        faults: fault operations (fail a connect, kill, fail a ping) may be picked.
        misuse: releases and uses by actors that hold nothing may be picked.
        max_depth: bound on reentrant checkouts per thread (per-thread mode).
        step_fn: the transition function (``model.step``; a test substitutes a
            broken one to show that CrossHair reports it).

    Returns:
        The run: the pool as created and every transition taken.
    """
    start = initial(config, actors)
    state = start.state
    taken: list[Transition] = []
    for choice in choices:
        ops = enabled(config, state, faults=faults, misuse=misuse, max_depth=max_depth)
        op = ops[choice % len(ops)]
        outs = step_fn(config, state, op)
        out = outs[(choice // len(ops)) % len(outs)]
        taken.append(Transition(state, op, out))
        state = out.state
    return Run(config, start, tuple(taken))


# -- the entry points CrossHair checks -------------------------------------------------
#
# CrossHair makes the enum and Optional parameters symbolic too: one analysis
# covers every configuration the ``pre:`` lines admit.


def capacity_config(
    max_size: int | None,
    idle_cap: int | None,
    block: bool,
    timeout: int | None,
    max_waiters: int | None,
    fairness: Fairness,
    idle_order: IdleOrder,
) -> Config:
    """The configuration ``run_capacity`` checks (shared with the CrossHair self-test)."""
    return Config(
        max_size=max_size,
        idle_cap=idle_cap,
        block=block,
        timeout=timeout,
        max_waiters=max_waiters,
        fairness=fairness,
        idle_order=idle_order,
    )


def run_capacity(
    max_size: int | None,
    idle_cap: int | None,
    block: bool,
    timeout: int | None,
    max_waiters: int | None,
    fairness: Fairness,
    idle_order: IdleOrder,
    choices: list[int],
) -> Run:
    """Capacity and waiting: any short program keeps CAP, WAIT, EXCL, ORDER, CONN and CLOSE.

    pre: max_size is None or 1 <= max_size <= 2
    pre: idle_cap is None or 0 <= idle_cap <= (2 if max_size is None else max_size)
    pre: timeout is None or (block and 1 <= timeout <= 2)
    pre: max_waiters is None or (block and 0 <= max_waiters <= 2)
    pre: len(choices) <= 4
    post: violations(__return__) == ()

    Args:
        max_size: the hard cap (CAP-1); None: unlimited (CAP-4).
        idle_cap: idle connections kept (CAP-2); None: up to the cap.
        block: wait when exhausted (WAIT-1).
        timeout: ticks a waiter waits (WAIT-2); None: forever.
        max_waiters: bound on the waiting list (WAIT-6); None: unbounded.
        fairness: which waiter is served (WAIT-5).
        idle_order: which idle connection goes out (ORDER-1).
        choices: the program (see the module docstring), three actors, faults included.

    Returns:
        The run, for the postcondition.
    """
    config = capacity_config(max_size, idle_cap, block, timeout, max_waiters, fairness, idle_order)
    return run(config, choices, faults=True)


def run_reset(reset: ResetMode, session_setup: bool, misuse: bool, choices: list[int]) -> Run:
    """Reset on return: any short program keeps RESET, SETUP, EXCL-2/3 and EVENT-1.

    pre: len(choices) <= 4
    post: violations(__return__) == ()

    Args:
        reset: what a return does (RESET-1..5).
        session_setup: session statements on every new or fully reset connection (SETUP-1).
        misuse: releases and uses of nothing may be picked (EXCL-2, EXCL-3).
        choices: the program (see the module docstring), two actors, no faults.

    Returns:
        The run, for the postcondition.
    """
    config = Config(max_size=2, reset=reset, session_setup=session_setup)
    return run(config, choices, actors=2, misuse=misuse)


def run_retirement(
    max_usage: int | None,
    max_lifetime: int | None,
    max_idle_time: int | None,
    ping: Ping,
    reopen: bool,
    choices: list[int],
) -> Run:
    """Retirement, ping and reopen under faults: any short program keeps RETIRE, INV, LIVE, CONN.

    pre: max_usage is None or 1 <= max_usage <= 2
    pre: max_lifetime is None or 1 <= max_lifetime <= 2
    pre: max_idle_time is None or 1 <= max_idle_time <= 2
    pre: len(choices) <= 4
    post: violations(__return__) == ()

    Args:
        max_usage: checkouts before retirement (RETIRE-1); None: never.
        max_lifetime: ticks after connect before retirement (RETIRE-2); None: never.
        max_idle_time: ticks idle before retirement (RETIRE-3); None: never.
        ping: when liveness is checked (LIVE-1).
        reopen: failure exceptions configured: reopen or replace (LIVE-2, LIVE-3).
        choices: the program (see the module docstring), two actors, one
            connection opened at creation (CAP-3), faults included.

    Returns:
        The run, for the postcondition.
    """
    config = Config(
        max_size=2,
        min_idle=1,
        max_usage=max_usage,
        max_lifetime=max_lifetime,
        max_idle_time=max_idle_time,
        ping=ping,
        reopen=reopen,
    )
    return run(config, choices, actors=2, faults=True)


def run_per_thread(max_size: int, reset: ResetMode, reopen: bool, choices: list[int]) -> Run:
    """Thread affinity: any short program keeps AFF-1..3 with the capacity and reset rules.

    pre: 1 <= max_size <= 2
    pre: len(choices) <= 4
    post: violations(__return__) == ()

    Args:
        max_size: the hard cap (CAP-1).
        reset: what the outermost release does (RESET-*, AFF-2).
        reopen: failure exceptions configured (LIVE-2, LIVE-3).
        choices: the program (see the module docstring), three actors, faults
            included, two nested checkouts at most.

    Returns:
        The run, for the postcondition.
    """
    config = Config(max_size=max_size, per_thread=True, reset=reset, reopen=reopen)
    return run(config, choices, faults=True)


def run_shared(max_size: int, choices: list[int]) -> Run:
    """Shared mode: any short program shares only at the cap (EXCL-4) and keeps CAP and CLOSE.

    pre: 1 <= max_size <= 2
    pre: len(choices) <= 4
    post: violations(__return__) == ()

    Args:
        max_size: the hard cap (CAP-1).
        choices: the program (see the module docstring), three actors, faults included.

    Returns:
        The run, for the postcondition.
    """
    return run(Config(max_size=max_size, shared=True), choices, faults=True)


# -- bounded proofs: small enough for CrossHair to exhaust every path ---------------


def prove_capacity(max_size: int, idle_cap: int | None, choices: list[int]) -> Run:
    """Every program of two operations keeps every applicable rule (exhaustible).

    CrossHair reports "Confirmed over all paths" for this one within its deep
    budget: a proof for these bounds, not a search.

    pre: 1 <= max_size <= 2
    pre: idle_cap is None or 0 <= idle_cap <= max_size
    pre: len(choices) <= 2
    post: violations(__return__) == ()

    Args:
        max_size: the hard cap (CAP-1).
        idle_cap: idle connections kept (CAP-2); None: up to the cap.
        choices: the program (see the module docstring), three actors, no faults.

    Returns:
        The run, for the postcondition.
    """
    return run(Config(max_size=max_size, idle_cap=idle_cap), choices)


def prove_per_thread(max_size: int, choices: list[int]) -> Run:
    """Every program of two operations in per-thread mode keeps every applicable rule (exhaustible).

    pre: 1 <= max_size <= 2
    pre: len(choices) <= 2
    post: violations(__return__) == ()

    Args:
        max_size: the hard cap (CAP-1).
        choices: the program (see the module docstring), three actors, no faults.

    Returns:
        The run, for the postcondition.
    """
    return run(Config(max_size=max_size, per_thread=True), choices)


def prove_shared(max_size: int, choices: list[int]) -> Run:
    """Every program of two operations in shared mode keeps every applicable rule (exhaustible).

    pre: 1 <= max_size <= 2
    pre: len(choices) <= 2
    post: violations(__return__) == ()

    Args:
        max_size: the hard cap (CAP-1).
        choices: the program (see the module docstring), three actors, faults included.

    Returns:
        The run, for the postcondition.
    """
    return run(Config(max_size=max_size, shared=True), choices, faults=True)


SEARCHES: tuple[Callable[..., Run], ...] = (
    run_capacity,
    run_reset,
    run_retirement,
    run_per_thread,
    run_shared,
)
"""Entry points whose programs CrossHair searches but cannot exhaust."""

PROOFS: tuple[Callable[..., Run], ...] = (prove_capacity, prove_per_thread, prove_shared)
"""Entry points CrossHair exhausts (every path) within a per-condition timeout of 60 s."""
