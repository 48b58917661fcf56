"""Profiles: which model configurations a pool can express, and how to build it from one.

A profile's ``configs`` lists, per model parameter, the values worth drawing
for that pool; Hypothesis draws one value per parameter and keeps the
combinations the model accepts. Parameters a pool cannot express are pinned
to the one value it has (``fairness`` of a pool built on ``queue.Queue`` is
barging: it never promised strict FIFO).
"""

from __future__ import annotations

from typing import Any

import model

from ._adapters import SETUP_SQL, OurAdapter, Profile, seconds
from ._driver import RecordingDriver

F = model.Fairness
O = model.IdleOrder  # noqa: E741 - short aliases keep the tables readable
R = model.ResetMode
P = model.Ping


def build_ours(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """Build ``impl.Pool`` (or a class with its constructor) from a model configuration."""
    import impl

    cls = impl.Pool if factory is None else factory
    return cls(
        driver.connect,
        max_size=c.max_size,
        idle_cap=c.idle_cap,
        min_idle=c.min_idle,
        block=c.block,
        timeout=seconds(c.timeout),
        fairness=impl.Fairness(c.fairness.value),
        max_waiters=c.max_waiters,
        idle_order=impl.IdleOrder(c.idle_order.value),
        per_thread=c.per_thread,
        shared=c.shared,
        reset=impl.ResetMode(c.reset.value),
        session=(SETUP_SQL,) if c.session_setup else (),
        max_usage=c.max_usage,
        max_lifetime=seconds(c.max_lifetime),
        max_idle_time=seconds(c.max_idle_time),
        ping=impl.Ping(c.ping.value),
        failures=(driver.OperationalError,) if c.reopen else (),
        clock=clock,
    )


OURS = Profile(
    name="poolspec",
    adapter=OurAdapter(),
    build=build_ours,
    manual_clock=True,
    configs=(
        {
            "max_size": (1, 2, 3, None),
            "idle_cap": (None, 0, 1),
            "min_idle": (0, 1),
            "block": (True, False),
            "timeout": (None, 1, 2),
            "fairness": (F.FIFO, F.BARGING),
            "max_waiters": (None, 1),
            "idle_order": (O.FIFO, O.LIFO),
            "per_thread": (False, True),
            "shared": (False, True),
            "reset": tuple(R),
            "session_setup": (False, True),
            "max_usage": (None, 1, 2),
            "max_lifetime": (None, 1, 2),
            "max_idle_time": (None, 1),
            "ping": (P.NEVER, P.ON_CHECKOUT),
            "reopen": (False, True),
        },
    ),
)


def _all_profiles() -> dict[str, Profile]:
    from ._frontdoor_profiles import FRONT_DOOR_PROFILES
    from ._thirdparty import THIRD_PARTY_PROFILES

    return {p.name: p for p in (OURS, *FRONT_DOOR_PROFILES, *THIRD_PARTY_PROFILES)}


PROFILES: dict[str, Profile] = _all_profiles()
# Our engine and each of its front doors: what ``poolspec check`` checks by default.
OWN_PROFILES: tuple[str, ...] = tuple(n for n in PROFILES if n.startswith("poolspec"))
