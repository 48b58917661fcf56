"""Profiles of third-party pools: SQLAlchemy's and DBUtils' classes, built as users build them.

Each builder spells a model configuration in the pool's own constructor
arguments, passing only the keywords the factory accepts: a look-alike or an
older release that lacks ``use_lifo`` or ``pre_ping`` is simply drawn only the
model's default for that parameter (``narrow``).

Two things a user's setup supplies are supplied here too:

* SQLAlchemy reads the wall clock (``time.time()``) for ``recycle`` and
  invalidation. For the length of a run, the modules that define the pool
  class read the harness's manual clock instead (``patch_time``), so a model
  tick is a second of the pool's time and recycling can be checked.
* SQLAlchemy's ``pre_ping`` needs a dialect. ``PingDialect`` pings through
  the DB-API connection's ``ping()`` and reports a failed ping as a
  disconnection of that one connection. (SQLAlchemy's own dialects report it
  as "invalidate the whole pool": every connection older than the failure is
  recycled at its next checkout, a documented design choice the model does
  not make; see CONFORMANCE.md.)
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
import time
import types
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import model

from ._adapters import (
    SETUP_SQL,
    Avoid,
    Builder,
    DBUtilsAdapter,
    PlainAdapter,
    Profile,
    SQLAlchemyAdapter,
)
from ._driver import RecordingDriver
from ._lockstep import held_conn

F = model.Fairness
O = model.IdleOrder  # noqa: E741 - short aliases keep the tables readable
R = model.ResetMode
P = model.Ping
K = model.OpKind

# Long enough never to expire during a lockstep run of a pool that waits on real time.
REAL_TIMEOUT = 30.0
# More threads than any run has actors: SingletonThreadPool never closes one in use.
SINGLETON_POOL_SIZE = 8


def load(target: str) -> Any:
    """The object ``module:attribute`` names.

    Raises:
        ValueError: ``target`` is not of the form ``module:attribute``.
        ImportError: the module cannot be imported.
        AttributeError: the module has no such attribute.
    """
    mod_name, sep, attr = target.partition(":")
    if not sep or not mod_name or not attr:
        raise ValueError(f"a target is module:attribute, got {target!r}")
    obj: Any = importlib.import_module(mod_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


# -- what a factory accepts ----------------------------------------------------------


def accepted_keywords(factory: Any) -> frozenset[str] | None:
    """The keyword arguments ``factory`` takes, following ``**kw`` up a class's bases.

    SQLAlchemy's pool classes pass ``**kw`` on to ``Pool.__init__``; DBUtils'
    pass ``**kwargs`` to the DB-API ``connect()``, and their base is
    ``object``, so only the named parameters count. None: not knowable (a
    builtin, or a callable without a signature).
    """
    names: set[str] = set()
    chain: list[Any] = []
    if isinstance(factory, type):
        chain = [vars(c)["__init__"] for c in factory.__mro__ if "__init__" in vars(c)]
        chain = [fn for fn in chain if fn is not object.__init__]
    else:
        chain = [factory]
    for fn in chain:
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            return None
        names.update(
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
        )
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return frozenset(names)


def narrow(profile: Profile, factory: Any) -> Profile:
    """The profile with each parameter ``factory`` cannot express pinned to the model's default.

    Raises:
        ValueError: no configuration of the profile is left (the factory lacks
            a keyword every configuration needs).
    """
    accepted = accepted_keywords(factory)
    if accepted is None or not profile.keywords:
        return profile
    missing = {param for param, kw in profile.keywords.items() if kw not in accepted}
    if not missing:
        return profile
    default = model.Config()
    tables = []
    for table in profile.configs:
        narrowed = dict(table)
        for param in missing & set(table):
            keep = tuple(v for v in table[param] if v == getattr(default, param))
            if not keep:
                break
            narrowed[param] = keep
        else:
            tables.append(narrowed)
    if not tables:
        raise ValueError(
            f"{factory!r} lacks the keywords {sorted(profile.keywords[m] for m in missing)} "
            f"that every configuration of profile {profile.name!r} needs"
        )
    return replace(profile, configs=tuple(tables))


def _call(factory: Any, *args: Any, optional: dict[str, Any], **required: Any) -> Any:
    """Call ``factory``, dropping the optional keywords it does not take."""
    accepted = accepted_keywords(factory)
    kwargs = dict(required)
    for name, value in optional.items():
        if accepted is None or name in accepted:
            kwargs[name] = value
    return factory(*args, **kwargs)


# -- the pool's wall clock ---------------------------------------------------------


class _ClockTime(types.ModuleType):
    """A stand-in for the ``time`` module whose ``time()`` and ``monotonic()`` read a manual clock.

    Each reading adds a microsecond, as real time would between two calls:
    pools compare "invalidated at" with "connected at" strictly.
    """

    def __init__(self, clock: Any) -> None:
        super().__init__("time")
        self._clock = clock
        self._calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def time(self) -> float:
        self._calls += 1
        return float(self._clock.now()) + self._calls * 1e-6

    monotonic = time


def patch_time(factory: Any, clock: Any) -> Callable[[], None]:
    """Make the modules defining ``factory`` (and its bases) read ``clock``; returns the undo.

    Only a module global bound to the ``time`` module itself, or to
    ``time.time`` / ``time.monotonic`` (``from time import time``), is swapped.
    """
    shim = _ClockTime(clock)
    classes = factory.__mro__ if isinstance(factory, type) else (factory,)
    modules = {getattr(c, "__module__", None) for c in classes} - {None, "builtins"}
    undo: list[tuple[dict[str, Any], str, Any]] = []
    for name in modules:
        module = sys.modules.get(str(name))
        if module is None:
            continue
        space = vars(module)
        for key, value in list(space.items()):
            if value is time:
                undo.append((space, key, value))
                space[key] = shim
            elif value is time.time or value is time.monotonic:
                undo.append((space, key, value))
                space[key] = shim.time

    def restore() -> None:
        for space, key, value in undo:
            space[key] = value

    return restore


# -- SQLAlchemy ----------------------------------------------------------------------


class PingDialect:
    """The part of a SQLAlchemy dialect a pool uses, with a ping through ``ping()``.

    Args:
        driver: the recording driver (its ``Error`` is what a failed ping raises).
        disconnection: the exception class that makes the pool reconnect one
            connection (``sqlalchemy.exc.DisconnectionError``).
    """

    is_async = False
    has_terminate = False

    def __init__(self, driver: RecordingDriver, disconnection: type[Exception]) -> None:
        self._error = driver.Error
        self._disconnection = disconnection

    def do_rollback(self, dbapi_connection: Any) -> None:
        dbapi_connection.rollback()

    def do_commit(self, dbapi_connection: Any) -> None:
        dbapi_connection.commit()

    def do_terminate(self, dbapi_connection: Any) -> None:
        dbapi_connection.close()

    def do_close(self, dbapi_connection: Any) -> None:
        dbapi_connection.close()

    def do_ping(self, dbapi_connection: Any) -> bool:
        dbapi_connection.ping()
        return True

    def _do_ping_w_event(self, dbapi_connection: Any) -> bool:
        try:
            return self.do_ping(dbapi_connection)
        except self._error as exc:
            raise self._disconnection(f"ping failed: {exc}") from exc

    def get_driver_connection(self, connection: Any) -> Any:
        return connection


def _disconnection_error(factory: Any) -> type[Exception]:
    """``DisconnectionError`` as the factory's module sees it (a look-alike may bring its own)."""
    module = sys.modules.get(getattr(factory, "__module__", ""), None)
    exc_module = getattr(module, "exc", None)
    found = getattr(exc_module, "DisconnectionError", None)
    if isinstance(found, type) and issubclass(found, Exception):
        return found
    from sqlalchemy.exc import DisconnectionError

    return DisconnectionError


_SA_RESET: dict[model.ResetMode, object] = {
    R.ROLLBACK: "rollback",
    R.COMMIT: "commit",
    R.NONE: None,
}


def _sqlalchemy_optional(c: model.Config, driver: RecordingDriver, factory: Any) -> dict[str, Any]:
    """Keywords every SQLAlchemy pool class takes, for a non-default policy only."""
    optional: dict[str, Any] = {"reset_on_return": _SA_RESET[c.reset]}
    if c.max_lifetime is not None:
        # SQLAlchemy recycles when age > recycle; the model when age >= max_lifetime ticks
        optional["recycle"] = c.max_lifetime - 0.5
    if c.ping is P.ON_CHECKOUT:
        optional["pre_ping"] = True
        optional["dialect"] = PingDialect(driver, _disconnection_error(factory))
    return optional


def _quiet_sqlalchemy() -> None:
    # SQLAlchemy logs every reset that fails on a killed connection; the
    # harness reports what matters, so keep its log quiet.
    logging.getLogger("sqlalchemy.pool").setLevel(logging.CRITICAL)


def _quiet(pool: Any) -> Any:
    """Quiet the pool's own logger too (a subclass elsewhere logs under its own name)."""
    logger = getattr(pool, "logger", None)
    logger = getattr(logger, "logger", logger)  # SQLAlchemy's InstanceLogger wraps one
    name = getattr(logger, "name", None)
    if isinstance(name, str) and not name.startswith("sqlalchemy."):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return pool


def build_sa_queuepool(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """``QueuePool``: pool_size is the idle cap, max_overflow the rest of the cap."""
    del clock
    _quiet_sqlalchemy()
    assert c.max_size is not None
    pool_size = c.kept_idle if c.kept_idle is not None else c.max_size
    optional = _sqlalchemy_optional(c, driver, factory)
    if c.idle_order is O.LIFO:
        optional["use_lifo"] = True
    return _quiet(
        _call(
            factory,
            driver.connect,
            pool_size=pool_size,
            max_overflow=c.max_size - pool_size,
            timeout=REAL_TIMEOUT,
            optional=optional,
        )
    )


def build_sa_singletonthreadpool(
    factory: Any, c: model.Config, driver: RecordingDriver, clock: Any
) -> Any:
    """``SingletonThreadPool``: one connection per thread, no cap (pool_size is not one).

    pool_size is how many threads' connections it keeps before closing the
    oldest, even while in use (a known divergence, replayed in
    tests/thirdparty); it is set above the number of actors, so that the
    other rules can be checked.
    """
    del clock
    _quiet_sqlalchemy()
    optional = _sqlalchemy_optional(c, driver, factory)
    return _quiet(_call(factory, driver.connect, pool_size=SINGLETON_POOL_SIZE, optional=optional))


def build_sa_plain(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """``NullPool``, ``StaticPool``, ``AssertionPool``: the creator and the common keywords."""
    del clock
    _quiet_sqlalchemy()
    return _quiet(_call(factory, driver.connect, optional=_sqlalchemy_optional(c, driver, factory)))


def _checked_out(c: model.Config, s: model.State, op: model.Op) -> bool:
    del c, op
    return any(h is not None and not h.detached for h in s.holds)


def _beside_others(c: model.Config, s: model.State, op: model.Op) -> bool:
    if c.max_size == 1:
        return False
    # a checkout gate that cannot replace what it closed (ping, recycle, soft
    # invalidation, then a failed connect) leaves an empty record too
    if op.kind is K.FAIL_CONNECT:
        gated = c.ping is P.ON_CHECKOUT or c.max_lifetime is not None
        return gated or any(conn.stale for conn in s.conns)
    if op.kind is K.SOFT_INVALIDATE:
        return s.connect_failures > 0
    return True


def _detached(c: model.Config, s: model.State, op: model.Op) -> bool:
    del c
    hold = s.holds[op.actor] if op.actor is not None else None
    if hold is None or not hold.detached:
        return False
    conn = held_conn(s, op)
    return op.kind is not K.RELEASE or conn is None or not conn.alive


_SA_DISPOSE = Avoid(
    "CAP-1",
    frozenset({K.DISPOSE}),
    _checked_out,
    "QueuePool.dispose() with connections checked out resets the overflow count, so the pool "
    "can then exceed its cap (a known bug; CONN-1 follows from it)",
)
_SA_DISPOSE_IN_USE = Avoid(
    "CLOSE-3",
    frozenset({K.DISPOSE}),
    _checked_out,
    "dispose() closes connections that are checked out, under their holders (documented in "
    "SPEC.md CLOSE-3)",
)
_SA_EMPTY_RECORD = Avoid(
    "ORDER-1",
    frozenset({K.INVALIDATE, K.DETACH, K.KILL, K.FAIL_CONNECT, K.SOFT_INVALIDATE}),
    _beside_others,
    "QueuePool keeps the record of a connection it lost (invalidated, detached, dead when "
    "reset, not replaced at checkout) in its idle queue and reconnects it when taken: it "
    "holds a place among idle connections, so a live idle connection waits while it is "
    "reconnected, and an overflow connection is closed on return (CAP-2) (design); drawn "
    "only in pools of one connection, where nothing else can be idle",
)
_SA_DETACHED = Avoid(
    "DET-1",
    frozenset({K.DROP, K.INVALIDATE, K.SOFT_INVALIDATE, K.RELEASE}),
    _detached,
    "a detached connection is the caller's: SQLAlchemy closes it neither when its proxy is "
    "garbage-collected nor when it is invalidated (design), nor when it is given back dead "
    "(its failed rollback skips the close: a leak)",
)


_SA_KEYWORDS = {
    "reset": "reset_on_return",
    "max_lifetime": "recycle",
    "ping": "pre_ping",
}
_SA_NOTES = (
    "Waiting has a real 30 s timeout that never expires in a run; the wall clock is the "
    "harness's manual clock; pre_ping uses a dialect that reconnects the one connection "
    "whose ping failed; giving a proxy back twice is silently accepted (documented), so "
    "a second close must do nothing."
)

_SA_RESETS = (R.ROLLBACK, R.COMMIT, R.NONE)
_SA_PING = (P.NEVER, P.ON_CHECKOUT)


def _sa_profile(
    cls: str,
    build: Builder,
    shape: dict[str, tuple[Any, ...]],
    retire: dict[str, tuple[Any, ...]],
    avoid: tuple[Avoid, ...],
    *,
    keywords: dict[str, str] = _SA_KEYWORDS,
    notes: str = "",
) -> Profile:
    """A profile of one of SQLAlchemy's pool classes: what they all share, and what differs.

    Args:
        cls: the class name in ``sqlalchemy.pool``.
        build: the builder.
        shape: the parameters that give the class its shape (cap, idle cap...).
        retire: the recycle and ping values drawn.
        avoid: its known divergences.
        keywords: the constructor keywords non-default values need.
        notes: what this class's profile adds to the common notes.
    """
    return Profile(
        name=f"sqlalchemy-{cls.lower()}",
        adapter=SQLAlchemyAdapter(),
        build=build,
        manual_clock=True,
        virtual_time=True,
        lenient_release=True,
        default=f"sqlalchemy.pool:{cls}",
        keywords=keywords,
        avoid=avoid,
        configs=({**shape, "reset": _SA_RESETS, **retire},),
        notes=f"{_SA_NOTES} {notes}".strip(),
    )


SA_QUEUEPOOL = _sa_profile(
    "QueuePool",
    build_sa_queuepool,
    {
        "max_size": (1, 2, 3),
        "idle_cap": (None, 1),
        "fairness": (F.BARGING,),
        "idle_order": (O.FIFO, O.LIFO),
    },
    {"max_lifetime": (None, 1, 2), "ping": _SA_PING},
    (_SA_DISPOSE, _SA_EMPTY_RECORD, _SA_DETACHED),
    keywords={**_SA_KEYWORDS, "idle_order": "use_lifo"},
)
SA_SINGLETONTHREADPOOL = _sa_profile(
    "SingletonThreadPool",
    build_sa_singletonthreadpool,
    {"max_size": (None,), "per_thread": (True,)},
    {"max_lifetime": (None, 1, 2), "ping": _SA_PING},
    (_SA_DETACHED, _SA_DISPOSE_IN_USE),
    notes=f"pool_size={SINGLETON_POOL_SIZE}, above the number of actors.",
)
SA_NULLPOOL = _sa_profile(
    "NullPool",
    build_sa_plain,
    {"max_size": (None,), "idle_cap": (0,)},
    {},
    (_SA_DETACHED,),
)
SA_STATICPOOL = _sa_profile(
    "StaticPool",
    build_sa_plain,
    {"max_size": (1,), "shared": (True,)},
    {"max_lifetime": (None, 1), "ping": _SA_PING},
    (_SA_DETACHED, _SA_DISPOSE_IN_USE),
)
SA_ASSERTIONPOOL = _sa_profile(
    "AssertionPool",
    build_sa_plain,
    {"max_size": (1,), "block": (False,)},
    {"max_lifetime": (None, 1), "ping": _SA_PING},
    (_SA_DETACHED, _SA_DISPOSE_IN_USE),
    notes="A second checkout's AssertionError is the model's EXHAUSTED refusal.",
)


# -- DBUtils -------------------------------------------------------------------------


def build_dbutils_pooleddb(
    factory: Any, c: model.Config, driver: RecordingDriver, clock: Any
) -> Any:
    """``PooledDB``: 0 means unlimited, reset is a flag, ping a bit mask; dedicated only."""
    del clock
    return _call(
        factory,
        driver,
        mincached=c.min_idle,
        maxcached=0 if c.idle_cap is None else c.idle_cap,
        maxshared=0,
        maxconnections=0 if c.max_size is None else c.max_size,
        blocking=c.block,
        failures=(driver.OperationalError,),
        optional={
            "setsession": [SETUP_SQL] if c.session_setup else None,
            "reset": c.reset is R.ROLLBACK,
            "ping": 1 if c.ping is P.ON_CHECKOUT else 0,
        },
    )


def build_dbutils_persistentdb(
    factory: Any, c: model.Config, driver: RecordingDriver, clock: Any
) -> Any:
    """``PersistentDB``: one connection per thread, kept when its handle closes."""
    del clock
    return _call(
        factory,
        driver,
        closeable=False,
        failures=(driver.OperationalError,),
        optional={
            "setsession": [SETUP_SQL] if c.session_setup else None,
            "ping": 1 if c.ping is P.ON_CHECKOUT else 0,
        },
    )


def _held_dead(c: model.Config, s: model.State, op: model.Op) -> bool:
    del c
    conn = held_conn(s, op)
    return conn is not None and not conn.alive


def _held_dead_in_transaction(c: model.Config, s: model.State, op: model.Op) -> bool:
    del c
    conn = held_conn(s, op)
    if conn is None or conn.alive:
        return False
    # a commit or rollback is the end of a transaction, begun or not
    return op.kind in (K.COMMIT, K.ROLLBACK) or conn.txn or conn.begun


def _gate_cannot_replace(c: model.Config, s: model.State, op: model.Op) -> bool:
    del op
    if c.ping is not P.ON_CHECKOUT or not s.connect_failures:
        return False
    return bool(s.ping_failures) or any(not s.conn(i).alive for i in s.idle)


_DBUTILS_DEAD_RETURN = Avoid(
    "CAP-5",
    frozenset({K.RELEASE, K.DROP}),
    _held_dead,
    "a dead connection given back is reconnected in place instead of closed, its slot kept; "
    "if that reconnect fails, the dead connection is never closed (design, with a leak)",
)
_DBUTILS_REOPEN_IN_TRANSACTION = Avoid(
    "LIVE-3",
    frozenset({K.WORK, K.SET_SESSION, K.COMMIT, K.ROLLBACK}),
    _held_dead_in_transaction,
    "a commit or rollback, or a statement inside a transaction, that fails on a lost "
    "connection makes it reopen at once (the error still reaches the caller) (design)",
)
_DBUTILS_DEAD_HANDOUT = Avoid(
    "LIVE-1",
    frozenset({K.ACQUIRE}),
    _gate_cannot_replace,
    "a connection whose ping fails is handed out anyway, dead, when its reconnect fails (a bug)",
)
_DBUTILS_AVOID = (_DBUTILS_DEAD_RETURN, _DBUTILS_REOPEN_IN_TRANSACTION, _DBUTILS_DEAD_HANDOUT)

_DBUTILS_KEYWORDS = {"session_setup": "setsession", "ping": "ping"}

DBUTILS_POOLEDDB = Profile(
    name="dbutils-pooleddb",
    adapter=DBUtilsAdapter(),
    build=build_dbutils_pooleddb,
    lenient_release=True,
    avoid=_DBUTILS_AVOID,
    default="dbutils.pooled_db:PooledDB",
    keywords={**_DBUTILS_KEYWORDS, "reset": "reset"},
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
        "timeout, so neither is drawn; maxshared=0 (dedicated connections only). close() of "
        "the pool is the spec's dispose(); a second close() of a handle does nothing, as "
        "sqlite3's own."
    ),
)


class PersistentDBAdapter(DBUtilsAdapter):
    """``PersistentDB``: no ``close()`` of the pool; a thread's connection ends with the thread."""

    name = "dbutils-persistent"
    supports = frozenset({K.BEGIN, K.DROP, K.END_THREAD})


DBUTILS_PERSISTENTDB = Profile(
    name="dbutils-persistentdb",
    adapter=PersistentDBAdapter(),
    build=build_dbutils_persistentdb,
    lenient_release=True,
    default="dbutils.persistent_db:PersistentDB",
    keywords=_DBUTILS_KEYWORDS,
    configs=(
        {
            "max_size": (None,),
            "per_thread": (True,),
            "reset": (R.ROLLBACK_IF_BEGUN,),
            "session_setup": (False, True),
            "ping": (P.NEVER, P.ON_CHECKOUT),
            "reopen": (True,),
        },
    ),
    notes=(
        "closeable=False, as PersistentDB's users run it: close() keeps the thread's "
        "connection; maxusage counts statements, so it is not drawn."
    ),
)

# -- the plain shape ------------------------------------------------------------------


def build_plain(factory: Any, c: model.Config, driver: RecordingDriver, clock: Any) -> Any:
    """A pool of the plain shape: ``factory(creator, max_size=N)``, plus what else it takes."""
    del clock
    if factory is None:
        raise ValueError("the plain profile needs a pool class or factory (module:attribute)")
    return _call(
        factory,
        driver.connect,
        max_size=c.max_size,
        optional={"timeout": REAL_TIMEOUT},
    )


PLAIN = Profile(
    name="plain",
    adapter=PlainAdapter(),
    build=build_plain,
    configs=({"max_size": (1, 2, 3), "fairness": (F.BARGING,)},),
    notes=(
        "Any pool built as factory(creator, max_size=N) with acquire(), release(conn) and "
        "close(): it must block when exhausted and roll back on return (the common "
        "contract); for other policies write a Profile of your own. A pool that hands out "
        "raw connections cannot refuse their use after release (EXCL-3) nor tell a stale "
        "release from the next holder's (EXCL-2), and cannot see a "
        "connection dropped without release(), so drops are not drawn."
    ),
)

THIRD_PARTY_PROFILES: tuple[Profile, ...] = (
    PLAIN,
    SA_QUEUEPOOL,
    SA_SINGLETONTHREADPOOL,
    SA_NULLPOOL,
    SA_STATICPOOL,
    SA_ASSERTIONPOOL,
    DBUTILS_POOLEDDB,
    DBUTILS_PERSISTENTDB,
)

#: A pool class's name -> the profile of that shape (for ``poolspec check`` to detect).
BY_CLASS_NAME: dict[str, str] = {
    "QueuePool": "sqlalchemy-queuepool",
    "SingletonThreadPool": "sqlalchemy-singletonthreadpool",
    "NullPool": "sqlalchemy-nullpool",
    "StaticPool": "sqlalchemy-staticpool",
    "AssertionPool": "sqlalchemy-assertionpool",
    "PooledDB": "dbutils-pooleddb",
    "PersistentDB": "dbutils-persistentdb",
}
