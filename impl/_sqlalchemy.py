"""SQLAlchemy-style front doors: ``QueuePool`` and its siblings, and ``manage()``.

Each class is a preset of the one engine (:class:`~impl.Pool`): its
constructor translates SQLAlchemy's arguments into one
:class:`~impl.PoolConfig`, and ``connect()`` returns the engine's
:class:`~impl.PooledConnection` (``close``, ``invalidate(soft=)``, ``detach``,
``cursor``, ``commit``, ``rollback``; ``raw`` is the DB-API connection).

==================== ============================ ================== ==========================
class                max_size                     idle_cap           otherwise
==================== ============================ ================== ==========================
QueuePool            pool_size + max_overflow     pool_size          waits ``timeout`` s
                     (None if max_overflow=-1)    (None if 0)        (FIFO hand-off)
SingletonThreadPool  pool_size                    (per thread)       ``per_thread=True``
NullPool             None                         0                  every return closes
StaticPool           1                            (1)                ``shared=True``
AssertionPool        1                            (1)                ``block=False``
==================== ============================ ================== ==========================

Every class also takes, keyword-only: ``recycle`` (-1: never, else seconds ->
``max_lifetime``), ``pre_ping`` (-> ``Ping.ON_CHECKOUT``), ``reset_on_return``
(``"rollback"``/True -> ROLLBACK, ``"commit"`` -> COMMIT, None/False -> NONE,
or a :class:`~impl.ResetMode` such as FULL), ``full_reset_sql`` (for FULL),
``events`` (``{"checkout": fn}``; ``fn(engine_pool, dbapi_connection)``),
``clock`` and ``sync`` (the engine's seams).

``recreate()`` builds a new pool from the very same preset object (creator,
``PoolConfig``, listeners, clock), so no setting can be dropped on the way
(SQLAlchemy #5582 lost ``pre_ping`` by copying arguments by hand).

What differs from SQLAlchemy, on purpose:

1. ``QueuePool`` hands a freed connection to the oldest waiter (FIFO);
   SQLAlchemy's ``queue.Queue`` lets any waiter take it. ``timeout=None``
   waits forever; ``timeout=0`` is refused (pass a small positive number).
2. ``SingletonThreadPool`` never closes a connection another thread is
   using: a thread beyond ``pool_size`` waits up to ``timeout`` for a thread
   to end (or call ``end_thread()``); SQLAlchemy closes the oldest thread's
   connection instead. The connections of threads that ended are closed at
   the pool's next operation.
3. ``StaticPool`` resets its one connection when its last holder gives it
   back, not at every holder's return; a hard ``invalidate()`` while it is
   shared is refused (``PoolMisuse``; use ``invalidate(soft=True)``).
4. ``AssertionPool`` is exactly ``max_size=1, block=False``: the one
   connection is reused; while it is checked out another ``connect()``, from
   any thread, raises :class:`AssertionPoolError` (an ``AssertionError`` and
   a ``PoolMisuse``) naming where the first was checked out. A ``detach()``
   or hard ``invalidate()`` frees the slot: the next ``connect()`` opens a
   new connection.
5. Listeners are given as ``events={"checkin": fn}`` with poolspec's
   signature ``fn(engine_pool, dbapi_connection)``; there is no
   ``PoolListener`` class, ``echo``, ``logging_name`` or ``use_threadlocal``.
6. ``close()`` is an addition: it closes the pool for good (later
   ``connect()`` raises ``PoolClosed``); ``dispose()`` closes the idle
   connections and keeps the pool usable, as in SQLAlchemy.
7. ``manage()`` returns a new proxy per call (no module-level registry, so
   no ``clear_managers()``): keep the proxy you get.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Self, final

from ._config import IdleOrder, Ping, PoolConfig, ResetMode
from ._edge import bool_arg, int_arg, seconds_arg
from ._errors import PoolConfigError, PoolExhausted, PoolMisuse
from ._handle import PooledConnection
from ._pool import EVENTS, DBAPIModule, Listener, Pool, PoolStats
from ._seams import Clock, Sync

#: Listeners by event: one callable or a sequence of them per event name.
Events = Mapping[str, Listener | Sequence[Listener]]


@final
class AssertionPoolError(PoolMisuse, AssertionError):
    """``AssertionPool``: a second connection was asked for while one is checked out."""


@final
@dataclass(frozen=True, slots=True)
class _Preset:
    """Everything a SQLAlchemy-style pool is built from; ``recreate()`` reuses the object."""

    creator: Callable[[], Any] | DBAPIModule
    config: PoolConfig
    events: tuple[tuple[str, Listener], ...]
    clock: Clock | None
    sync: Sync | None


def _recycle(value: object) -> float | None:
    """SQLAlchemy's ``recycle``: -1 never, else seconds (-> ``max_lifetime``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"recycle must be -1 or a number of seconds, got {value!r} ({type(value).__name__})"
        )
    if value == -1:
        return None
    if not value > 0:  # also refuses NaN
        raise PoolConfigError(f"recycle must be -1 (never) or > 0 seconds, got {value!r}")
    return float(value)


def _reset_on_return(value: object) -> ResetMode:
    """SQLAlchemy's ``reset_on_return`` spellings, or a ``ResetMode`` as it is."""
    if isinstance(value, ResetMode):
        return value
    if value is True or (isinstance(value, str) and value == "rollback"):
        return ResetMode.ROLLBACK
    if isinstance(value, str) and value == "commit":
        return ResetMode.COMMIT
    if value is None or value is False:
        return ResetMode.NONE
    raise PoolConfigError(
        "reset_on_return must be 'rollback', 'commit', None, True, False or a ResetMode, "
        f"got {value!r}"
    )


def _listeners(events: Events | None) -> tuple[tuple[str, Listener], ...]:
    """``events`` as (event, listener) pairs, checked."""
    if events is None:
        return ()
    if not isinstance(events, Mapping):
        raise TypeError(f"events must be a mapping of event name to listeners, got {events!r}")
    pairs: list[tuple[str, Listener]] = []
    for event, given in events.items():
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; known: {', '.join(sorted(EVENTS))}")
        fns: Sequence[Listener] = (given,) if callable(given) else tuple(given)
        for fn in fns:
            if not callable(fn):
                raise TypeError(f"a listener for {event!r} must be callable, got {fn!r}")
            pairs.append((event, fn))
    return tuple(pairs)


def _preset(
    creator: Callable[[], Any],
    *,
    recycle: float,
    pre_ping: bool,
    reset_on_return: object,
    full_reset_sql: str | None,
    events: Events | None,
    clock: Clock | None,
    sync: Sync | None,
    **fields: Any,
) -> _Preset:
    """Translate the arguments every class takes, plus the class's own ``fields``."""
    config = PoolConfig(
        max_lifetime=_recycle(recycle),
        ping=Ping.ON_CHECKOUT if bool_arg("pre_ping", pre_ping) else Ping.NEVER,
        reset=_reset_on_return(reset_on_return),
        full_reset_sql=full_reset_sql,
        **fields,
    )
    return _Preset(creator, config, _listeners(events), clock, sync)


class _SQLAlchemyPool:
    """What every SQLAlchemy-style pool does; the final classes only translate arguments."""

    __slots__ = ("_engine", "_preset")

    _engine: Pool
    _preset: _Preset

    #: Check out a connection; close it (or leave a ``with`` block) to give it back.
    #:
    #: Raises ``PoolTimeout`` (QueuePool, SingletonThreadPool) when nothing
    #: came free within ``timeout``, ``PoolClosed`` after :meth:`close`,
    #: ``AssertionPoolError`` (AssertionPool) while a connection is checked
    #: out already, and the driver's error from a connect.
    connect: Callable[[], PooledConnection]

    def _start(self, preset: _Preset) -> None:
        """Build the engine from ``preset`` and subscribe its listeners (no driver call)."""
        engine = Pool(preset.creator, preset.config, clock=preset.clock, sync=preset.sync)
        for event, fn in preset.events:
            engine.add_listener(event, fn)
        self._preset = preset
        self._engine = engine

    @classmethod
    def _from_preset(cls, preset: _Preset) -> Self:
        pool = cls.__new__(cls)
        pool._start(preset)
        return pool

    def _checkout(self, stacklevel: int) -> PooledConnection:
        """Check out; ``stacklevel`` counts from the caller of this method."""
        return self._engine.acquire(stacklevel=stacklevel + 1)

    def dispose(self) -> None:
        """Close the idle connections; the pool stays usable, as SQLAlchemy's.

        Connections checked out now go back to the pool when closed; new
        ones are opened as needed.
        """
        self._engine.dispose()

    def close(self) -> None:
        """Close the pool for good: idle connections close, later ``connect()`` raises.

        Connections checked out now are closed when given back.
        """
        self._engine.close()

    def recreate(self) -> Self:
        """A new, empty pool of the same class built from the very same preset.

        The creator, the ``PoolConfig`` object, the listeners and the seams
        are those of this pool (``new.config is old.config``). This pool is
        left as it is: dispose or close it yourself.
        """
        return self._from_preset(self._preset)

    def status(self) -> str:
        """One line with the class name and the counts, for logs."""
        s = self._engine.stats()
        cap = self._preset.config.max_size
        return (
            f"{type(self).__name__}: {s.open} open of {'unlimited' if cap is None else cap}, "
            f"{s.idle} idle, {s.in_use} in use, {s.waiting} waiting"
        )

    def stats(self) -> PoolStats:
        """The engine's statistics snapshot."""
        return self._engine.stats()

    @property
    def config(self) -> PoolConfig:
        """The engine configuration this pool was translated to."""
        return self._preset.config

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._engine.closed

    def __repr__(self) -> str:
        return f"<{self.status()}>"


class _DirectDoor(_SQLAlchemyPool):
    """A pool whose ``connect`` is its engine's ``acquire`` itself, bound when it is built.

    No frame of ours runs between the caller and the engine, so a checkout
    costs what the engine's does (a method here cost a FIFO hand-off ~450
    CPU instructions more, ~3%), and the checkout site the engine records is
    the caller's. The engine's optional arguments come along:
    ``connect(timeout)`` waits at most ``timeout`` seconds instead of the
    configured time. Being an attribute of each pool, it is called on a pool
    (``pool.connect()``); ``QueuePool.connect`` is not a function.
    """

    __slots__ = ("connect",)

    def _start(self, preset: _Preset) -> None:
        super()._start(preset)
        self.connect = self._engine.acquire


@final
class QueuePool(_DirectDoor):
    """At most ``pool_size + max_overflow`` connections, ``pool_size`` of them kept idle.

    Connections beyond ``pool_size`` ("overflow") are closed when given back.
    At the cap a ``connect()`` waits up to ``timeout`` seconds, then raises
    ``PoolTimeout``.
    """

    __slots__ = ()

    def __init__(
        self,
        creator: Callable[[], Any],
        pool_size: int = 5,
        max_overflow: int = 10,
        timeout: float | None = 30.0,
        use_lifo: bool = False,
        *,
        recycle: float = -1,
        pre_ping: bool = False,
        reset_on_return: object = "rollback",
        full_reset_sql: str | None = None,
        events: Events | None = None,
        clock: Clock | None = None,
        sync: Sync | None = None,
    ) -> None:
        """Create the pool; it opens no connection yet.

        Args:
            creator: a zero-argument callable returning a DB-API connection.
            pool_size: connections kept idle; 0: no limit on idle ones.
            max_overflow: connections allowed beyond ``pool_size``; -1: no cap.
            timeout: seconds a ``connect()`` waits at the cap; None: forever.
            use_lifo: hand out the most recently returned idle connection.
            recycle: -1, or seconds after which a connection is replaced at checkout.
            pre_ping: check a connection the pool had before handing it out.
            reset_on_return: "rollback"/True, "commit", None/False, or a ResetMode.
            full_reset_sql: the statement of a ``ResetMode.FULL`` reset
                (``"DISCARD ALL"``), when the connection has no ``reset()``.
            events: listeners by event name.
            clock: the engine's clock (a ``ManualClock`` in tests).
            sync: the engine's synchronisation factory.

        Raises:
            TypeError: an argument of the wrong type.
            PoolConfigError: a value out of range, named in the message.
        """
        size = int_arg("pool_size", pool_size, 0)
        overflow = int_arg("max_overflow", max_overflow, -1)
        max_size = None if overflow == -1 else size + overflow
        if max_size == 0:
            raise PoolConfigError(
                "pool_size + max_overflow must be >= 1 (max_overflow=-1: no cap), "
                f"got pool_size={size} with max_overflow={overflow}"
            )
        self._start(
            _preset(
                creator,
                recycle=recycle,
                pre_ping=pre_ping,
                reset_on_return=reset_on_return,
                full_reset_sql=full_reset_sql,
                events=events,
                clock=clock,
                sync=sync,
                max_size=max_size,
                idle_cap=size or None,
                timeout=seconds_arg("timeout", timeout),
                idle_order=IdleOrder.LIFO if bool_arg("use_lifo", use_lifo) else IdleOrder.FIFO,
            )
        )

    def size(self) -> int:
        """``pool_size``: the idle connections kept (0: no limit)."""
        return self._preset.config.idle_cap or 0

    def checkedin(self) -> int:
        """Idle connections."""
        return self._engine.stats().idle

    def checkedout(self) -> int:
        """Connections checked out."""
        return self._engine.stats().in_use

    def overflow(self) -> int:
        """Open connections beyond ``pool_size`` (negative while fewer are open)."""
        return self._engine.stats().open - self.size()


@final
class SingletonThreadPool(_DirectDoor):
    """One connection per thread, for at most ``pool_size`` threads at once.

    A thread's repeated ``connect()`` returns handles on its own connection
    (reentrant); the connection stays with the thread when given back, and is
    closed when the thread ends (at the pool's next operation) or calls
    :meth:`end_thread`.
    """

    __slots__ = ()

    def __init__(
        self,
        creator: Callable[[], Any],
        pool_size: int = 5,
        *,
        timeout: float | None = 30.0,
        recycle: float = -1,
        pre_ping: bool = False,
        reset_on_return: object = "rollback",
        full_reset_sql: str | None = None,
        events: Events | None = None,
        clock: Clock | None = None,
        sync: Sync | None = None,
    ) -> None:
        """Create the pool; it opens no connection yet.

        Args:
            creator: a zero-argument callable returning a DB-API connection.
            pool_size: most threads holding a connection at once (>= 1).
            timeout: seconds a thread beyond ``pool_size`` waits; None: forever.
            recycle: -1, or seconds after which a connection is replaced at checkout.
            pre_ping: check the thread's connection before handing it out again.
            reset_on_return: "rollback"/True, "commit", None/False, or a ResetMode.
            full_reset_sql: the statement of a ``ResetMode.FULL`` reset.
            events: listeners by event name.
            clock: the engine's clock.
            sync: the engine's synchronisation factory.

        Raises:
            TypeError: an argument of the wrong type.
            PoolConfigError: a value out of range, named in the message.
        """
        self._start(
            _preset(
                creator,
                recycle=recycle,
                pre_ping=pre_ping,
                reset_on_return=reset_on_return,
                full_reset_sql=full_reset_sql,
                events=events,
                clock=clock,
                sync=sync,
                max_size=int_arg("pool_size", pool_size, 1),
                per_thread=True,
                timeout=seconds_arg("timeout", timeout),
            )
        )

    def end_thread(self) -> None:
        """Close the calling thread's connection now (call it before a thread ends).

        Raises:
            PoolMisuse: the thread still has its connection checked out.
        """
        self._engine.end_thread()


@final
class NullPool(_DirectDoor):
    """No pooling: every ``connect()`` opens a connection, every return closes it."""

    __slots__ = ()

    def __init__(
        self,
        creator: Callable[[], Any],
        *,
        recycle: float = -1,
        pre_ping: bool = False,
        reset_on_return: object = "rollback",
        full_reset_sql: str | None = None,
        events: Events | None = None,
        clock: Clock | None = None,
        sync: Sync | None = None,
    ) -> None:
        """Create the pool (``max_size=None, idle_cap=0``).

        Args:
            creator: a zero-argument callable returning a DB-API connection.
            recycle: accepted for symmetry; a connection is never reused anyway.
            pre_ping: accepted for symmetry; a connection is never reused anyway.
            reset_on_return: the reset run before the close on return.
            full_reset_sql: the statement of a ``ResetMode.FULL`` reset.
            events: listeners by event name.
            clock: the engine's clock.
            sync: the engine's synchronisation factory.

        Raises:
            TypeError: an argument of the wrong type.
            PoolConfigError: a value out of range, named in the message.
        """
        self._start(
            _preset(
                creator,
                recycle=recycle,
                pre_ping=pre_ping,
                reset_on_return=reset_on_return,
                full_reset_sql=full_reset_sql,
                events=events,
                clock=clock,
                sync=sync,
                max_size=None,
                idle_cap=0,
                timeout=None,  # no cap: nobody waits
            )
        )


@final
class StaticPool(_DirectDoor):
    """Exactly one connection, shared by every holder at once (``shared=True, max_size=1``).

    It is opened at the first ``connect()``, reset when its last holder gives
    it back, and kept. For an in-memory database used from several places.
    """

    __slots__ = ()

    def __init__(
        self,
        creator: Callable[[], Any],
        *,
        recycle: float = -1,
        pre_ping: bool = False,
        reset_on_return: object = "rollback",
        full_reset_sql: str | None = None,
        events: Events | None = None,
        clock: Clock | None = None,
        sync: Sync | None = None,
    ) -> None:
        """Create the pool; it opens no connection yet.

        Args:
            creator: a zero-argument callable returning a DB-API connection.
            recycle: -1, or seconds after which the connection is replaced at
                a checkout that finds it idle.
            pre_ping: check the connection when a checkout finds it idle.
            reset_on_return: the reset run when the last holder gives it back.
            full_reset_sql: the statement of a ``ResetMode.FULL`` reset.
            events: listeners by event name.
            clock: the engine's clock.
            sync: the engine's synchronisation factory.

        Raises:
            TypeError: an argument of the wrong type.
            PoolConfigError: a value out of range, named in the message.
        """
        self._start(
            _preset(
                creator,
                recycle=recycle,
                pre_ping=pre_ping,
                reset_on_return=reset_on_return,
                full_reset_sql=full_reset_sql,
                events=events,
                clock=clock,
                sync=sync,
                max_size=1,
                shared=True,
                timeout=None,  # at the cap a checkout shares: nobody waits
            )
        )


@final
class AssertionPool(_SQLAlchemyPool):
    """At most one connection checked out at a time; a second ``connect()`` is an error.

    Exactly ``max_size=1, block=False``: the engine's ``PoolExhausted`` is
    raised as :class:`AssertionPoolError`, naming where the connection in use
    was checked out. For tests that must use a single connection.
    """

    __slots__ = ("_holder_at",)

    _holder_at: str

    def __init__(
        self,
        creator: Callable[[], Any],
        *,
        recycle: float = -1,
        pre_ping: bool = False,
        reset_on_return: object = "rollback",
        full_reset_sql: str | None = None,
        events: Events | None = None,
        clock: Clock | None = None,
        sync: Sync | None = None,
    ) -> None:
        """Create the pool; it opens no connection yet.

        Args:
            creator: a zero-argument callable returning a DB-API connection.
            recycle: -1, or seconds after which the connection is replaced at checkout.
            pre_ping: check the connection before handing it out again.
            reset_on_return: "rollback"/True, "commit", None/False, or a ResetMode.
            full_reset_sql: the statement of a ``ResetMode.FULL`` reset.
            events: listeners by event name.
            clock: the engine's clock.
            sync: the engine's synchronisation factory.

        Raises:
            TypeError: an argument of the wrong type.
            PoolConfigError: a value out of range, named in the message.
        """
        self._start(
            _preset(
                creator,
                recycle=recycle,
                pre_ping=pre_ping,
                reset_on_return=reset_on_return,
                full_reset_sql=full_reset_sql,
                events=events,
                clock=clock,
                sync=sync,
                max_size=1,
                block=False,
                timeout=None,
            )
        )

    def _start(self, preset: _Preset) -> None:
        super()._start(preset)
        self._holder_at = ""

    def connect(self) -> PooledConnection:
        """Check out the connection; close it (or leave a ``with`` block) to give it back.

        Raises:
            AssertionPoolError: a connection is checked out already.
            PoolClosed: :meth:`close` was called.
            Exception: the driver's error from a connect.
        """
        return self._checkout(2)

    def _checkout(self, stacklevel: int) -> PooledConnection:
        try:
            conn = self._engine.acquire(stacklevel=stacklevel + 1)
        except PoolExhausted as exc:
            # Every checkout goes through here, and the pool refuses only while
            # the latest one holds the connection, so the latest site is the
            # holder's (diagnostics only: it may be given back concurrently).
            raise AssertionPoolError(
                "AssertionPool: a connection is already checked out (checked out at "
                f"{self._holder_at}); at most one may be checked out at a time"
            ) from exc
        # The site, not the handle: a dropped handle must still be collected.
        # Worked out here, not read from the handle, which records its site only
        # while a ResourceWarning could be shown: naming the holder is this pool's job.
        frame = sys._getframe(stacklevel)
        self._holder_at = f"{frame.f_code.co_filename}:{frame.f_lineno}"
        return conn


#: The classes ``manage()`` can build.
SQLAlchemyPool = QueuePool | SingletonThreadPool | NullPool | StaticPool | AssertionPool


def _never_connects() -> Any:
    raise PoolMisuse("manage()'s template pool never connects")


def _key(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Hashable:
    """The pool key of one set of connect arguments.

    Raises:
        TypeError: an argument is unhashable; the message names it.
    """
    key = (args, tuple(sorted(kwargs.items())))
    try:
        hash(key)
    except TypeError:
        named = [(f"argument {i}", v) for i, v in enumerate(args)]
        named += [(f"argument {k}=", v) for k, v in sorted(kwargs.items())]
        for name, value in named:
            try:
                hash(value)
            except TypeError:
                raise TypeError(
                    f"connect {name} is unhashable ({type(value).__name__}: {value!r}); "
                    "manage() keeps one pool per distinct set of connect arguments, so "
                    "they must be hashable"
                ) from None
        raise
    return key


@final
class DBProxy:
    """A DB-API module's ``connect()``, pooled: one pool per distinct set of connect arguments.

    Made by :func:`manage`. Only ``connect`` and the pool operations are
    offered; use the module itself for anything else.
    """

    __slots__ = ("_lock", "_module", "_poolclass", "_pools", "_preset")

    def __init__(self, module: DBAPIModule, poolclass: type[SQLAlchemyPool], preset: _Preset):
        """A proxy whose pools are ``poolclass`` built from ``preset``. Internal: use manage()."""
        self._module = module
        self._poolclass = poolclass
        self._preset = preset
        self._pools: dict[Hashable, SQLAlchemyPool] = {}
        self._lock = threading.Lock()

    def _pool_for(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> SQLAlchemyPool:
        key = _key(args, kwargs)
        with self._lock:  # decide: the pool for these arguments, made on first use
            pool = self._pools.get(key)
            if pool is None:
                # Building a pool makes no driver call (these presets never prefill).
                creator = functools.partial(self._module.connect, *args, **kwargs)
                pool = self._poolclass._from_preset(replace(self._preset, creator=creator))
                self._pools[key] = pool
        return pool

    def connect(self, *args: Any, **kwargs: Any) -> PooledConnection:
        """Check out a connection from the pool for these connect arguments.

        Args:
            *args: positional arguments for the module's ``connect``.
            **kwargs: keyword arguments for the module's ``connect``; their
                order does not matter.

        Raises:
            TypeError: an argument is unhashable.
            PoolError: the pool's refusal (``PoolTimeout``...).
            Exception: the driver's error from a connect.
        """
        return self._pool_for(args, kwargs)._checkout(2)

    def get_pool(self, *args: Any, **kwargs: Any) -> SQLAlchemyPool:
        """The pool for these connect arguments (made if needed).

        Raises:
            TypeError: an argument is unhashable.
        """
        return self._pool_for(args, kwargs)

    def dispose(self) -> None:
        """Dispose of every pool: their idle connections close; the pools stay usable."""
        with self._lock:  # decide: which pools to dispose of
            pools = list(self._pools.values())
        for pool in pools:
            pool.dispose()

    def close(self) -> None:
        """Close every pool and forget them; a later ``connect()`` starts new pools."""
        with self._lock:  # decide: the pools to close; the proxy starts afresh
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()

    @property
    def module(self) -> DBAPIModule:
        """The DB-API module proxied."""
        return self._module

    def __len__(self) -> int:
        """How many pools (distinct sets of connect arguments) there are."""
        with self._lock:  # decide: nothing; read the count
            return len(self._pools)

    def __repr__(self) -> str:
        name = getattr(self._module, "__name__", type(self._module).__name__)
        return f"<DBProxy of {name}: {len(self)} {self._poolclass.__name__}(s)>"


def manage(
    module: DBAPIModule, *, poolclass: type[SQLAlchemyPool] = QueuePool, **pool_args: Any
) -> DBProxy:
    """Pool a DB-API module's connections: one pool per distinct set of connect arguments.

    Args:
        module: a DB-API 2 module (its ``connect`` is called).
        poolclass: the pool class to use for each set of arguments.
        **pool_args: the pool class's arguments (``pool_size=2``...); they
            are checked now, once, and every pool shares the resulting
            ``PoolConfig``.

    Returns:
        The proxy; call its ``connect(*args, **kwargs)``.

    Raises:
        TypeError: ``module`` has no ``connect``, or a bad pool argument type.
        PoolConfigError: a bad pool argument value.
    """
    if not callable(getattr(module, "connect", None)):
        raise TypeError(f"module must be a DB-API module with connect(), got {module!r}")
    if poolclass not in (QueuePool, SingletonThreadPool, NullPool, StaticPool, AssertionPool):
        raise TypeError(f"poolclass must be one of the SQLAlchemy-style pools, got {poolclass!r}")
    template = poolclass(_never_connects, **pool_args)
    return DBProxy(module, poolclass, template._preset)
