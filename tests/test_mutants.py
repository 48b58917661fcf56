"""Broken copies of our pool are caught by the lockstep check, each under the rule it breaks.

Each mutant patches one piece of ``impl.Pool`` for the duration of a test, the
way a real bug of that kind would look; the check (no shrinking, fixed seed)
must then report the rule that bug breaks. The real pool passes the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import impl
import model
from impl import _pool
from spec import check

pytestmark = pytest.mark.stateful


def _after_init(change: Callable[[Any], None]) -> Callable[..., None]:
    original = _pool.Pool.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        change(self)

    return init


def idle_cap_ignored(mp: pytest.MonkeyPatch) -> None:
    """CAP-2 bug: connections given back beyond the idle cap are kept."""

    def change(pool: Any) -> None:
        pool._kept_idle = None

    mp.setattr(_pool.Pool, "__init__", _after_init(change))


def reset_skipped(mp: pytest.MonkeyPatch) -> None:
    """RESET bug: no reset on return, whatever the mode (reported under the drawn mode's rule)."""

    def change(pool: Any) -> None:
        pool._quick_back = False  # the slow path is where _reset lives

    mp.setattr(_pool.Pool, "__init__", _after_init(change))
    mp.setattr(_pool.Pool, "_reset", lambda self, rec: True)


def lost_wakeup(mp: pytest.MonkeyPatch) -> None:
    """WAIT-3 bug: a connection given back goes idle, and no waiter is told."""

    def change(pool: Any) -> None:
        pool._fifo_fair = False

    mp.setattr(_pool.Pool, "__init__", _after_init(change))
    mp.setattr(_pool.Pool, "_wake_barging_locked", lambda self, count: None)


def slot_leak(mp: pytest.MonkeyPatch) -> None:
    """CONN-1 bug: the slot reserved for a connect that failed is never given back."""

    def connect_in_slot(self: Any, deadline: Any, binding: Any) -> Any:
        try:
            return self._open_record(deadline)
        except BaseException:
            if binding is not None:
                binding.rec = None
            raise

    mp.setattr(_pool.Pool, "_connect_in_slot", connect_in_slot)


def order_reversed(mp: pytest.MonkeyPatch) -> None:
    """ORDER-1 bug: the idle order is the opposite of the configured one."""

    def change(pool: Any) -> None:
        pool._lifo = not pool._lifo

    mp.setattr(_pool.Pool, "__init__", _after_init(change))


def no_ping(mp: pytest.MonkeyPatch) -> None:
    """LIVE-1 bug: the ping on checkout is never made."""
    original = impl.PoolConfig.__post_init__

    def post_init(self: Any) -> None:
        original(self)
        object.__setattr__(self, "ping", impl.Ping.NEVER)

    mp.setattr(impl.PoolConfig, "__post_init__", post_init)


MUTANTS = [
    (idle_cap_ignored, "CAP-2"),
    (reset_skipped, "RESET-*"),
    (lost_wakeup, "WAIT-3"),
    (slot_leak, "CONN-1"),
    (order_reversed, "ORDER-1"),
    (no_ping, "LIVE-1"),
]


# The rule a missing reset breaks, per reset mode.
RESET_RULE = {
    model.ResetMode.NONE: "RESET-1",
    model.ResetMode.ROLLBACK_IF_BEGUN: "RESET-2",
    model.ResetMode.ROLLBACK: "RESET-3",
    model.ResetMode.COMMIT: "RESET-4",
    model.ResetMode.FULL: "RESET-5",
}


def _first_failure(seed: int = 5) -> list[str]:
    """The rules failed by the first failing example (the reset rules named ``RESET-*``)."""
    report = check("poolspec", examples=150, steps=25, seed=seed, rounds=1, shrink=False)
    rules = []
    for v in report.failed:
        assert v.config is not None
        rules.append("RESET-*" if v.rule == RESET_RULE[v.config.reset] else v.rule)
    return rules


def test_real_pool_passes_the_same_run() -> None:
    """The unbroken pool passes the very run the mutants fail (so the failures are theirs)."""
    assert _first_failure() == []


@pytest.mark.parametrize(("mutate", "rule"), MUTANTS, ids=[m[1] for m in MUTANTS])
def test_mutant_caught_under_its_rule(
    monkeypatch: pytest.MonkeyPatch, mutate: Callable[[pytest.MonkeyPatch], None], rule: str
) -> None:
    """A pool with one seeded bug fails the check, and the rule reported is the one it breaks."""
    mutate(monkeypatch)
    assert _first_failure() == [rule]
