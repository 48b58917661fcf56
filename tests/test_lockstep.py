"""Lockstep conformance: our pool agrees with the model step for step (``pytest -m stateful``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

import model
from spec import LockstepFailure, machine, replay

pytestmark = pytest.mark.stateful

OurPoolLockstep = machine("poolspec", actors=3)
OurPoolLockstep.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# CAP, WAIT, EXCL, ORDER, AFF, RESET, SETUP, RETIRE, LIVE, INV, DET, DROP, CONN,
# CLOSE and STAT rules are all judged by this machine on every step.
TestOurPoolLockstep = OurPoolLockstep.TestCase


def test_replay_of_a_good_program_passes() -> None:
    """A replayed program that our pool follows runs to its end (WAIT-3, CAP-1)."""
    replay(
        "poolspec",
        model.Config(max_size=1, timeout=2),
        ["acquire(a0)", "acquire(a1)", "release(a0)", "release(a1)", "acquire(a2)"],
    )


def test_replay_detects_a_divergence() -> None:
    """Replaying against a pool built with other policies than the model's fails (CAP-2)."""
    import impl
    from spec._profiles import build_ours

    def no_idle_cap(factory: object, c: model.Config, driver: object, clock: object) -> object:
        # The pool keeps every returned connection while the model has idle_cap=1.
        return build_ours(None, model.Config(max_size=c.max_size), driver, clock)  # type: ignore[arg-type]

    from spec import OurAdapter, Profile

    broken = Profile("broken", OurAdapter(), no_idle_cap, ({},), manual_clock=True)
    with pytest.raises(LockstepFailure) as info:
        replay(
            broken,
            model.Config(max_size=2, idle_cap=1),
            ["acquire(a0)", "acquire(a1)", "release(a0)", "release(a1)"],
        )
    assert info.value.divergence.rule == "CAP-2"
    assert impl.Pool is not None


def test_barging_hands_a_connection_over_the_full_idle_cap() -> None:
    """WAIT-3: with no room idle, a connection given back goes to a waiter, not to close().

    A regression: the barging path closed it (idle cap full) and the waiter
    opened a new one, where the model hands it straight over.
    """
    replay(
        "poolspec",
        model.Config(
            max_size=1,
            idle_cap=0,
            fairness=model.Fairness.BARGING,
            reset=model.ResetMode.NONE,
            timeout=None,
        ),
        ["acquire(a0)", "acquire(a1)", "release(a0)"],
    )
