"""Profiles: which model configurations a pool can express, and how to build it from one.

A profile's ``configs`` lists, per model parameter, the values worth drawing
for that pool; Hypothesis draws one value per parameter and keeps the
combinations the model accepts. Parameters a pool cannot express are pinned
to the one value it has (``fairness`` of a pool built on ``queue.Queue`` is
barging: it never promised strict FIFO).
"""

from __future__ import annotations

import logging
from typing import Any

import model

from ._adapters import (
    SETUP_SQL,
    DBUtilsAdapter,
    OurAdapter,
    Profile,
    SQLAlchemyAdapter,
    seconds,
)
from ._driver import RecordingDriver

F = model.Fairness
O = model.IdleOrder  # noqa: E741 - short aliases keep the tables readable
R = model.ResetMode
P = model.Ping

# Long enough never to expire during a lockstep run of a pool on real time.
REAL_TIMEOUT = 30.0


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


def build_sqlalchemy_queuepool(
    factory: Any, c: model.Config, driver: RecordingDriver, clock: Any
) -> Any:
    """Build a ``QueuePool``-shaped pool: pool_size = idle cap, overflow = the rest of the cap."""
    del clock
    # SQLAlchemy logs every reset that fails on a killed connection; the
    # harness reports what matters, so keep its log quiet.
    logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)
    if factory is None:
        from sqlalchemy.pool import QueuePool

        factory = QueuePool
    assert c.max_size is not None
    pool_size = c.kept_idle if c.kept_idle is not None else c.max_size
    reset = {R.ROLLBACK: "rollback", R.COMMIT: "commit", R.NONE: None}[c.reset]
    return factory(
        driver.connect,
        pool_size=pool_size,
        max_overflow=c.max_size - pool_size,
        timeout=REAL_TIMEOUT,
        use_lifo=c.idle_order is O.LIFO,
        reset_on_return=reset,
    )


SQLALCHEMY_QUEUEPOOL = Profile(
    name="sqlalchemy-queuepool",
    adapter=SQLAlchemyAdapter(),
    build=build_sqlalchemy_queuepool,
    configs=(
        {
            "max_size": (1, 2, 3),
            "idle_cap": (None, 1),
            "fairness": (F.BARGING,),
            "idle_order": (O.FIFO, O.LIFO),
            "reset": (R.ROLLBACK, R.COMMIT, R.NONE),
        },
    ),
    notes=(
        "pre_ping needs a dialect and recycle reads the wall clock, so ping and "
        "retirement are not drawn; the timeout is a real 30 s that never expires."
    ),
)


def build_dbutils_pooleddb(
    factory: Any, c: model.Config, driver: RecordingDriver, clock: Any
) -> Any:
    """Build a ``PooledDB``-shaped pool, translating to its legacy spellings at this edge."""
    del clock
    if factory is None:
        from dbutils.pooled_db import PooledDB  # type: ignore[import-untyped]

        factory = PooledDB
    return factory(
        driver,
        mincached=c.min_idle,
        maxcached=0 if c.idle_cap is None else c.idle_cap,
        maxshared=0,
        maxconnections=0 if c.max_size is None else c.max_size,
        blocking=c.block,
        setsession=[SETUP_SQL] if c.session_setup else None,
        reset=c.reset is R.ROLLBACK,
        failures=(driver.OperationalError,),
        ping=1 if c.ping is P.ON_CHECKOUT else 0,
    )


DBUTILS_POOLEDDB = Profile(
    name="dbutils-pooleddb",
    adapter=DBUtilsAdapter(),
    build=build_dbutils_pooleddb,
    configs=(
        {
            "max_size": (1, 2, 3),
            "idle_cap": (None, 1),
            "min_idle": (0, 1),
            "block": (True, False),
            "fairness": (F.BARGING,),
            "reset": (R.ROLLBACK, R.ROLLBACK_IF_BEGUN),
            "session_setup": (False, True),
            "ping": (P.NEVER, P.ON_CHECKOUT),
            "reopen": (True,),
        },
    ),
    notes=(
        "DBUtils always has failure types (an empty tuple crashes its connect), so "
        "it always reopens; maxusage counts statements rather than checkouts, and waiting has no "
        "timeout, so neither is drawn; maxshared=0 (dedicated connections only)."
    ),
)


def _all_profiles() -> dict[str, Profile]:
    from ._frontdoor_profiles import FRONT_DOOR_PROFILES

    ours = (OURS, *FRONT_DOOR_PROFILES)
    return {p.name: p for p in (*ours, SQLALCHEMY_QUEUEPOOL, DBUTILS_POOLEDDB)}


PROFILES: dict[str, Profile] = _all_profiles()
# Our engine and each of its front doors: what ``poolspec check`` checks by default.
OWN_PROFILES: tuple[str, ...] = tuple(n for n in PROFILES if n.startswith("poolspec"))
