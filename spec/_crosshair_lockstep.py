"""The lockstep step under CrossHair: model and our pool, one actor, nothing that blocks.

``crosshair check --analysis_kind=PEP316 spec._crosshair_lockstep`` searches
these entry points. Each takes a few small ints (symbolic under CrossHair)
that pick a configuration and a program, builds ``impl.Pool`` on the fake
recording driver, and runs the program in lockstep with the model; its
contract promises that no step diverges (a ``LockstepFailure`` is a
counterexample, naming the rule broken).

Threads: the lockstep runs inline (``Lockstep(..., inline=True)``): its one
actor's operations run on the analysing thread, so no symbolic value reaches
another thread. With one actor that holds at most one connection nothing ever
waits, so nothing blocks. Operations that need the garbage collector or a
new thread (dropping a handle, ending a thread) are not drawn.

A program is a list of ints; each picks ``ops[choice % len(ops)]`` among the
operations enabled at that point, so every int names a legal step and the
symbolic ints range over all programs of that length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import model

from ._adapters import OurAdapter
from ._driver import RecordingDriver
from ._lockstep import Lockstep
from ._profiles import build_ours

_NOT_DRAWN = frozenset({model.OpKind.DROP, model.OpKind.END_THREAD})
_RESETS = tuple(model.ResetMode)


def run_inline(config: model.Config, program: Sequence[int], factory: Any = None) -> list[str]:
    """Run ``program`` on the model and on ``factory``'s pool in lockstep; return the steps.

    Raises:
        LockstepFailure: the pool diverged from the model.
    """
    import impl

    driver = RecordingDriver(None)
    clock = impl.ManualClock()
    pool = build_ours(factory, config, driver, clock)
    lockstep = Lockstep(config, pool, OurAdapter(), driver, 1, clock, inline=True)
    try:
        for choice in program:
            ops = [op for op in lockstep.enabled() if op.kind not in _NOT_DRAWN]
            lockstep.apply(ops[choice % len(ops)])
    finally:
        lockstep.teardown()
    return lockstep.steps


def lockstep_capacity(
    max_size: int, idle_cap: int, lifo: bool, p0: int, p1: int, p2: int, p3: int, p4: int
) -> list[str]:
    """Caps, idle order, faults, invalidate, detach, close: the pool agrees with the model.

    pre: 1 <= max_size <= 3
    pre: -1 <= idle_cap <= max_size
    pre: min(p0, p1, p2, p3, p4) >= 0
    post: len(__return__) == 5
    """
    config = model.Config(
        max_size=max_size,
        idle_cap=None if idle_cap < 0 else idle_cap,
        idle_order=model.IdleOrder.LIFO if lifo else model.IdleOrder.FIFO,
    )
    return run_inline(config, (p0, p1, p2, p3, p4))


def lockstep_reset(
    reset: int, setup: bool, p0: int, p1: int, p2: int, p3: int, p4: int
) -> list[str]:
    """The five reset modes, with and without session statements, under misuse.

    pre: 0 <= reset < 5
    pre: min(p0, p1, p2, p3, p4) >= 0
    post: len(__return__) == 5
    """
    config = model.Config(max_size=1, reset=_RESETS[reset], session_setup=setup)
    return run_inline(config, (p0, p1, p2, p3, p4))


def lockstep_retirement(
    max_usage: int, lifetime: int, ping: bool, reopen: bool, p0: int, p1: int, p2: int, p3: int
) -> list[str]:
    """Usage and lifetime retirement, ping on checkout, transparent reopen, with faults.

    pre: 0 <= max_usage <= 2
    pre: 0 <= lifetime <= 2
    pre: min(p0, p1, p2, p3) >= 0
    post: len(__return__) == 4
    """
    config = model.Config(
        max_size=2,
        max_usage=max_usage or None,
        max_lifetime=lifetime or None,
        ping=model.Ping.ON_CHECKOUT if ping else model.Ping.NEVER,
        reopen=reopen,
    )
    return run_inline(config, (p0, p1, p2, p3))


#: The entry points CI searches.
ENTRY_POINTS = (lockstep_capacity, lockstep_reset, lockstep_retirement)
