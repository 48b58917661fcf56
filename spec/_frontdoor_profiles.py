"""Profiles of poolspec's front doors: each one built from a model configuration.

The front doors (``impl.QueuePool``, ``impl.PooledDB``, ``impl.SessionPool``,
``impl.SingletonPool``...) are presets of poolspec's one engine, with the
signatures of the pools they replace. Each builder here spells a model
configuration the way that pool's users would (``max_overflow``,
``maxcached=0`` for "no limit", the ``ping`` bit mask, ``reset=True``...), so a
lockstep run checks the translation at the front door as well as the engine
behind it. ``configs`` pins every model parameter a front door cannot
express to the one value it has. Every front door takes the harness's manual
clock, so timeouts and ages tick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import model

from ._adapters import OPTIONAL_OPS, SETUP_SQL, OurAdapter, Profile, seconds
from ._driver import RecordingDriver

F = model.Fairness
O = model.IdleOrder  # noqa: E741 - short aliases keep the tables readable
R = model.ResetMode
P = model.Ping
K = model.OpKind


class FrontDoorAdapter(OurAdapter):
    """Drives a front door: its own checkout method, then the handle it returns.

    The handles are the engine's ``PooledConnection`` or, for the DBUtils
    doors, ``DBUtilsConnection``; both close to give back and offer
    ``cursor()``, ``commit()``, ``rollback()`` and ``begin()``, so everything
    but the checkout is the engine adapter's.

    Args:
        name: the adapter's name.
        checkout: the pool's checkout method (``connect``, ``connection``...).
        supports: the optional operations this front door offers.
    """

    def __init__(self, name: str, checkout: str, supports: frozenset[model.OpKind]) -> None:
        self.name = name
        self.supports = supports
        self.checkout = checkout

    def acquire(self, pool: Any) -> Any:
        checkout: Callable[[], Any] = getattr(pool, self.checkout)
        return checkout()

    def refusal(self, exc: BaseException, driver: RecordingDriver) -> model.Refusal | None:
        import impl

        # AssertionPool's refusal is a PoolMisuse by kind but "exhausted" by meaning
        if isinstance(exc, impl.AssertionPoolError):
            return model.Refusal.EXHAUSTED
        return super().refusal(exc, driver)


#: What the engine's handle offers (SQLAlchemy, pyqldb and quasardb doors).
_ENGINE_HANDLE_OPS = frozenset(
    {K.BEGIN, K.INVALIDATE, K.SOFT_INVALIDATE, K.DETACH, K.CLOSE, K.DROP, K.END_THREAD}
)

#: What a DBUtils handle offers: no invalidate or detach, as in DBUtils.
_DBUTILS_OPS = frozenset({K.BEGIN, K.CLOSE, K.DROP, K.END_THREAD})

_SQLALCHEMY_RESET: dict[model.ResetMode, object] = {
    R.ROLLBACK: "rollback",
    R.COMMIT: "commit",
    R.NONE: None,
}


def _sqlalchemy_common(c: model.Config, clock: Any) -> dict[str, Any]:
    """The arguments every SQLAlchemy-style class takes, in SQLAlchemy's spellings."""
    import impl

    return {
        "recycle": -1 if c.max_lifetime is None else c.max_lifetime,
        "pre_ping": c.ping is P.ON_CHECKOUT,
        "reset_on_return": _SQLALCHEMY_RESET.get(c.reset, impl.ResetMode(c.reset.value)),
        "clock": clock,
    }


def build_queuepool(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """``QueuePool``: pool_size is the idle cap, max_overflow the rest of the cap (-1: none)."""
    import impl

    cls = impl.QueuePool if factory is None else factory
    if c.max_size is None:
        pool_size, max_overflow = c.idle_cap or 0, -1
    else:
        pool_size = c.max_size if c.idle_cap is None else c.idle_cap
        max_overflow = c.max_size - pool_size
    return cls(
        driver.connect,
        pool_size=pool_size,
        max_overflow=max_overflow,
        timeout=seconds(c.timeout),
        use_lifo=c.idle_order is O.LIFO,
        **_sqlalchemy_common(c, clock),
    )


def build_singletonthreadpool(
    factory: Any, c: model.Config, driver: RecordingDriver, clock: Any
) -> Any:
    """``SingletonThreadPool``: one connection per thread, pool_size threads at once."""
    import impl

    cls = impl.SingletonThreadPool if factory is None else factory
    assert c.max_size is not None  # pinned by the profile: pool_size is a thread count
    return cls(
        driver.connect,
        pool_size=c.max_size,
        timeout=seconds(c.timeout),
        **_sqlalchemy_common(c, clock),
    )


def build_nullpool(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """``NullPool``: no cap, nothing kept idle."""
    import impl

    cls = impl.NullPool if factory is None else factory
    return cls(driver.connect, **_sqlalchemy_common(c, clock))


def build_staticpool(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """``StaticPool``: one connection shared by every holder."""
    import impl

    cls = impl.StaticPool if factory is None else factory
    return cls(driver.connect, **_sqlalchemy_common(c, clock))


def build_assertionpool(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """``AssertionPool``: one connection, a second checkout refused."""
    import impl

    cls = impl.AssertionPool if factory is None else factory
    return cls(driver.connect, **_sqlalchemy_common(c, clock))


_DBUTILS_RESET: dict[model.ResetMode, object] = {
    R.ROLLBACK: True,
    R.ROLLBACK_IF_BEGUN: False,
    R.FULL: 2,
}


def _dbutils_common(c: model.Config, driver: RecordingDriver) -> dict[str, Any]:
    """The arguments both DBUtils classes take, in DBUtils' legacy spellings."""
    return {
        "maxusage": 0 if c.max_usage is None else c.max_usage,
        "setsession": [SETUP_SQL] if c.session_setup else None,
        "failures": (driver.OperationalError,) if c.reopen else (),
        "ping": 1 if c.ping is P.ON_CHECKOUT else 0,
    }


def build_pooleddb(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """``PooledDB``: 0 means unlimited, reset is a flag, ping a bit mask; dedicated only."""
    import impl

    cls = impl.PooledDB if factory is None else factory
    return cls(
        driver,
        mincached=c.min_idle,
        maxcached=0 if c.idle_cap is None else c.idle_cap,
        maxshared=0,
        maxconnections=0 if c.max_size is None else c.max_size,
        blocking=c.block,
        reset=_DBUTILS_RESET[c.reset],
        timeout=seconds(c.timeout),
        clock=clock,
        **_dbutils_common(c, driver),
    )


def build_persistentdb(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """``PersistentDB``: one connection per thread, kept when its handle closes."""
    import impl

    cls = impl.PersistentDB if factory is None else factory
    return cls(driver, closeable=False, clock=clock, **_dbutils_common(c, driver))


def build_sessionpool(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """``SessionPool``: pool_limit permits (0: no limit), sessions pinged on reuse."""
    import impl

    cls = impl.SessionPool if factory is None else factory
    return cls(
        driver.connect,
        pool_limit=0 if c.max_size is None else c.max_size,
        timeout=seconds(c.timeout),
        clock=clock,
    )


def build_singletonpool(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """``SingletonPool``: one connection per thread, made by get_conn, never reset."""
    import impl

    del c
    cls = impl.SingletonPool if factory is None else factory
    return cls(driver.connect, clock=clock)


_SQLALCHEMY_RESETS = (R.ROLLBACK, R.COMMIT, R.NONE, R.FULL)

QUEUEPOOL = Profile(
    name="poolspec-queuepool",
    adapter=FrontDoorAdapter("poolspec-sqlalchemy", "connect", OPTIONAL_OPS),
    build=build_queuepool,
    manual_clock=True,
    configs=(
        {
            "max_size": (1, 2, 3, None),
            "idle_cap": (None, 1),
            "timeout": (None, 1, 2),
            "idle_order": (O.FIFO, O.LIFO),
            "reset": _SQLALCHEMY_RESETS,
            "max_lifetime": (None, 1, 2),
            "ping": (P.NEVER, P.ON_CHECKOUT),
        },
    ),
    notes=(
        "QueuePool always blocks and has no prefill, session statements, usage limit, idle "
        "time or transparent reopen; pool_size=0 means no idle limit, so idle_cap=0 is "
        "NullPool's."
    ),
)

SINGLETONTHREADPOOL = Profile(
    name="poolspec-singletonthreadpool",
    adapter=FrontDoorAdapter("poolspec-sqlalchemy", "connect", OPTIONAL_OPS),
    build=build_singletonthreadpool,
    manual_clock=True,
    configs=(
        {
            "max_size": (1, 2, 3),
            "per_thread": (True,),
            "timeout": (None, 1, 2),
            "reset": _SQLALCHEMY_RESETS,
            "max_lifetime": (None, 1, 2),
            "ping": (P.NEVER, P.ON_CHECKOUT),
        },
    ),
)

NULLPOOL = Profile(
    name="poolspec-nullpool",
    adapter=FrontDoorAdapter("poolspec-sqlalchemy", "connect", OPTIONAL_OPS),
    build=build_nullpool,
    manual_clock=True,
    configs=({"max_size": (None,), "idle_cap": (0,), "reset": _SQLALCHEMY_RESETS},),
)

STATICPOOL = Profile(
    name="poolspec-staticpool",
    adapter=FrontDoorAdapter("poolspec-sqlalchemy", "connect", OPTIONAL_OPS),
    build=build_staticpool,
    manual_clock=True,
    configs=(
        {
            "max_size": (1,),
            "shared": (True,),
            "reset": _SQLALCHEMY_RESETS,
            "max_lifetime": (None, 1),
            "ping": (P.NEVER, P.ON_CHECKOUT),
        },
    ),
)

ASSERTIONPOOL = Profile(
    name="poolspec-assertionpool",
    adapter=FrontDoorAdapter("poolspec-sqlalchemy", "connect", OPTIONAL_OPS),
    build=build_assertionpool,
    manual_clock=True,
    configs=(
        {
            "max_size": (1,),
            "block": (False,),
            "reset": _SQLALCHEMY_RESETS,
            "max_lifetime": (None, 1),
            "ping": (P.NEVER, P.ON_CHECKOUT),
        },
    ),
    notes="A second checkout's AssertionPoolError is the model's EXHAUSTED refusal.",
)

POOLEDDB = Profile(
    name="poolspec-pooleddb",
    adapter=FrontDoorAdapter("poolspec-dbutils", "connection", _DBUTILS_OPS),
    build=build_pooleddb,
    manual_clock=True,
    configs=(
        {
            "max_size": (1, 2, 3, None),
            "idle_cap": (None, 1, 2),
            "min_idle": (0, 1),
            "block": (True, False),
            "timeout": (None, 1, 2),
            "reset": (R.ROLLBACK, R.ROLLBACK_IF_BEGUN, R.FULL),
            "session_setup": (False, True),
            "max_usage": (None, 1, 2),
            "ping": (P.NEVER, P.ON_CHECKOUT),
            "reopen": (False, True),
        },
    ),
    notes=(
        "maxcached=0 means no idle limit, so idle_cap=0 is not drawn; maxshared=0 "
        "(dedicated connections: the model's shared mode has no dedicated checkouts); "
        "DBUtils handles cannot be invalidated or detached, and PooledDB has no dispose()."
    ),
)

PERSISTENTDB = Profile(
    name="poolspec-persistentdb",
    adapter=FrontDoorAdapter("poolspec-dbutils", "connection", _DBUTILS_OPS),
    build=build_persistentdb,
    manual_clock=True,
    configs=(
        {
            "max_size": (None,),
            "per_thread": (True,),
            "reset": (R.ROLLBACK_IF_BEGUN,),
            "session_setup": (False, True),
            "max_usage": (None, 1, 2),
            "ping": (P.NEVER, P.ON_CHECKOUT),
            "reopen": (False, True),
        },
    ),
)

SESSIONPOOL = Profile(
    name="poolspec-sessionpool",
    adapter=FrontDoorAdapter("poolspec-qldb", "get_session", _ENGINE_HANDLE_OPS),
    build=build_sessionpool,
    manual_clock=True,
    configs=(
        {
            "max_size": (1, 2, 3, None),
            "timeout": (None, 1, 2),
            "ping": (P.ON_CHECKOUT,),
        },
    ),
    notes=(
        "timeout=0 (no wait) raises SessionPoolEmptyError, a timeout by name, where the "
        "model says exhausted, so block=False is not drawn."
    ),
)

SINGLETONPOOL = Profile(
    name="poolspec-singletonpool",
    adapter=FrontDoorAdapter("poolspec-quasardb", "connect", _ENGINE_HANDLE_OPS),
    build=build_singletonpool,
    manual_clock=True,
    configs=({"max_size": (None,), "per_thread": (True,), "reset": (R.NONE,)},),
)

#: Every front door's profile, for the CLI and the conformance suite.
FRONT_DOOR_PROFILES: tuple[Profile, ...] = (
    QUEUEPOOL,
    SINGLETONTHREADPOOL,
    NULLPOOL,
    STATICPOOL,
    ASSERTIONPOOL,
    POOLEDDB,
    PERSISTENTDB,
    SESSIONPOOL,
    SINGLETONPOOL,
)
