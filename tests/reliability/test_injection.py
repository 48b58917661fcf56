"""A BaseException at every seam call of acquire, release, connect, reset and ping loses nothing."""

from __future__ import annotations

import pytest

import impl
from spec._reliability_inject import GUARANTEED, Trigger, run_scenario

#: Every guaranteed kind loses nothing at any of its points.
CLEAN_KINDS = GUARANTEED


#: Driver calls the scenario never makes, per reset mode (the handle's first statement
#: goes through the connection's execute(); nothing commits; full calls reset()).
UNREACHED = {
    impl.ResetMode.ROLLBACK: {"cursor", "commit", "reset"},
    impl.ResetMode.FULL: {"cursor", "commit", "rollback"},
}


def _enumerate(kind: str, reset: impl.ResetMode, site: str | None = None) -> tuple[int, list[str]]:
    """Inject at the 1st, 2nd, ... call of ``kind`` (from ``site``) until none is reached."""
    failures = []
    k = 0
    while True:
        k += 1
        trigger = Trigger(kind, k, site=site)
        verdict = run_scenario(trigger, reset)
        if not trigger.fired:
            return k - 1, failures
        if verdict.problems:
            failures.append(f"#{k} at {verdict.where}: {verdict.problems}")


def test_clean_run_loses_nothing_and_reaches_every_seam() -> None:
    """Without injection the scenario passes its own verdict and calls each seam."""
    trigger = Trigger()
    verdict = run_scenario(trigger, impl.ResetMode.FULL)
    assert verdict.problems == []
    for kind in ("creator", "execute", "reset", "ping", "close", "clock.now", "lock.acquire"):
        assert trigger.counts[kind] > 0, kind


@pytest.mark.parametrize("kind", CLEAN_KINDS)
@pytest.mark.parametrize("reset", [impl.ResetMode.ROLLBACK, impl.ResetMode.FULL])
def test_every_point_of_kind_loses_nothing(kind: str, reset: impl.ResetMode) -> None:
    """Each k-th call of this kind raising a BaseException leaves no slot, permit or waiter lost."""
    points, failures = _enumerate(kind, reset)
    assert failures == []
    if kind not in UNREACHED[reset]:
        assert points > 0, f"the scenario never reached {kind}"


def test_clock_failure_while_handing_over_loses_nothing() -> None:
    """Regression: a clock that raises while a returned connection is handed to a waiter."""
    points, failures = _enumerate("clock.now", impl.ResetMode.ROLLBACK, "_give_locked")
    assert points > 0
    assert failures == []


@pytest.mark.parametrize("site", ["_leave_connecting", "_discard", "_reopen", "_release", "_await"])
@pytest.mark.parametrize("reset", [impl.ResetMode.ROLLBACK, impl.ResetMode.FULL])
def test_interrupted_lock_is_survived(site: str, reset: impl.ResetMode) -> None:
    """Regression: an interrupt while locking to give back a permit, slot or connection."""
    points, failures = _enumerate("lock.acquire", reset, site)
    assert points > 0, f"the scenario never took the lock in {site}"
    assert failures == []


def test_interrupt_after_connect_closes_the_connection() -> None:
    """Regression: an interrupt while giving back the connect permit closes the new connection."""
    points, failures = _enumerate("cond.notify", impl.ResetMode.ROLLBACK, "_leave_connecting")
    assert points > 0
    assert failures == []


@pytest.mark.parametrize("site", ["_reopen", "_leave_connecting", "_discard", "_enter_connecting"])
def test_interrupt_right_after_unlocking_in_repairs_loses_nothing(site: str) -> None:
    """Regression: an interrupt just after the lock is released in these repair paths."""
    points, failures = _enumerate("lock.release", impl.ResetMode.ROLLBACK, site)
    assert points > 0
    assert failures == []
