"""DBUtils-style front doors: ``PooledDB`` and ``PersistentDB``.

Both are presets of the one engine (:class:`~impl.Pool`), with DBUtils'
signatures, so that moving from ``dbutils.pooled_db`` takes a changed import.
DBUtils' legacy spellings are accepted here, and only here:

================ ==================================== ==================================
DBUtils          meaning                              engine
================ ==================================== ==================================
mincached        connections opened at start          ``min_idle`` (None: 0)
maxcached        idle connections kept; 0/None: all   ``idle_cap`` (0/None: None)
maxconnections   connections at most; 0/None: any     ``max_size`` (0/None: None)
blocking         wait at the cap instead of raising   ``block``
maxusage         uses before a reopen; 0/None: any    ``max_usage`` (0/None: None)
setsession       list of SQL statements               ``session`` (a tuple)
reset            True/1: always roll back,            ``ROLLBACK``,
                 False/0/None: roll back ``begin()``  ``ROLLBACK_IF_BEGUN``,
                 2 (PooledPg): complete reset         ``FULL``; or a ``ResetMode``
failures         exception class(es) of a lost        ``failures``; None: the creator
                 connection                           module's OperationalError,
                                                      InterfaceError, InternalError
ping             bit mask: 0 never, 1 at checkout,    bit 1 -> ``Ping.ON_CHECKOUT``;
                 2 at cursor(), 4 at execute()        bits 2 and 4: see below
================ ==================================== ==================================

DBUtils' own corrections are kept: ``maxcached`` below ``mincached`` is raised
to it, ``maxconnections`` below ``maxcached`` is raised to it. ``creator`` is
a DB-API module (then ``*args, **kwargs`` go to its ``connect``) or a callable
(then they go to it). Keyword-only additions, not passed on to ``connect``:
``timeout`` (seconds a blocked ``connection()`` waits; None: forever),
``full_reset_sql`` (for ``reset=2``), ``clock`` and ``sync``.

Ping bits 2 and 4 (check before ``cursor()`` / ``execute()``) need no ping in
the engine: with failure types configured, a statement that fails with one
of them outside a transaction is run again on a freshly opened connection
(transparent reopen), which is what those pings protect; inside a
transaction a ping could not save the transaction either. So ``ping=7`` is
``Ping.ON_CHECKOUT`` plus the reopen that ``failures`` gives.

``maxshared > 0`` (with a module of ``threadsafety >= 2``, as in DBUtils;
otherwise it is ignored, as in DBUtils): shareable requests (``connection()``,
the default) are served by a second engine in shared mode with
``max_size=maxshared``: up to ``maxshared`` connections are opened, then the
least shared one is handed out again. Dedicated requests
(``connection(False)``, ``dedicated_connection()``) come from the engine with
``maxconnections``; unlike DBUtils the two caps add up, and shared
connections are never reopened transparently (another holder's work would be
lost). A shared connection is reset when its last holder gives it back; use
a dedicated one for work inside ``begin()``.

Handles are :class:`DBUtilsConnection` objects: the engine's handle class
with DBUtils' error names, made by the engine itself (one object per
checkout). Using one after ``close()`` raises :class:`InvalidConnection`.
Other differences from DBUtils:

1. Closing a handle twice raises ``InvalidConnection`` (DBUtils ignores it).
2. ``maxusage`` counts checkouts, not statements.
3. ``PooledDB.close()`` closes the pool for good: later ``connection()``
   raises ``PoolClosed``.
4. ``failures=()`` means no failover (DBUtils treats it like None).
5. ``PersistentDB``: ``close()`` gives the handle back; the connection stays
   with the thread (``closeable=False``) and the next ``connection()`` in the
   thread returns it, but the closed handle itself is done. The connection of
   a thread that ended is closed at the pool's next operation, or at once by
   ``end_thread()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, final

from ._config import Ping, PoolConfig, ResetMode
from ._edge import bool_arg, exception_types, failure_types, int_arg
from ._errors import (
    ConnectionReleased,
    PoolConfigError,
    PoolError,
    PoolExhausted,
    PoolMisuse,
)
from ._handle import Params, PooledConnection, PooledCursor
from ._pool import _DEFAULT, Pool, PoolStats
from ._seams import Clock, Sync


class PooledDBError(PoolError):
    """Root of the errors with DBUtils' names."""


@final
class InvalidConnectionError(PooledDBError, ConnectionReleased):
    """A handle was used after it was closed (DBUtils' ``InvalidConnection``)."""


@final
class TooManyConnectionsError(PooledDBError, PoolExhausted):
    """``maxconnections`` are in use and ``blocking=False`` (DBUtils' ``TooManyConnections``)."""


@final
class NotSupportedError(PooledDBError):
    """The DB-API module cannot be pooled (``threadsafety`` 0)."""


#: DBUtils' older spellings of the same classes.
InvalidConnection = InvalidConnectionError
TooManyConnections = TooManyConnectionsError


@final
class DBUtilsCursor(PooledCursor):
    """A cursor on a :class:`DBUtilsConnection`: the engine's cursor, usable in ``with``.

    Used after its connection was closed, it raises :class:`InvalidConnection`
    (its connection's error for a released handle).
    """

    __slots__ = ()

    def execute(self, sql: str, params: Params | None = None) -> DBUtilsCursor:
        """Run one statement; a lost connection is reopened where that is safe.

        Returns:
            This cursor.

        Raises:
            InvalidConnection: the handle was closed.
            Exception: the driver's error, if not reopened transparently.
        """
        self._statement(sql, params, many=False)
        return self

    def executemany(self, sql: str, seq_of_params: Sequence[Params]) -> DBUtilsCursor:
        """Run one statement once per parameter set.

        Returns:
            This cursor.

        Raises:
            InvalidConnection: the handle was closed.
            Exception: the driver's error, if not reopened transparently.
        """
        self._statement(sql, seq_of_params, many=True)
        return self

    def __enter__(self) -> DBUtilsCursor:
        """The cursor itself."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the cursor."""
        self.close()


class DBUtilsConnection(PooledConnection):
    """A connection from ``PooledDB`` or ``PersistentDB``: close it to give it back.

    The engine's handle with DBUtils' names: the engine creates this subclass
    directly, so a checkout makes one object, not a wrapper around another.
    After ``close()`` every method raises :class:`InvalidConnection`.
    ``begin()`` marks a transaction: transparent reopen is suspended until
    ``commit()`` or ``rollback()``, and (``reset=False``) it is rolled back on
    return. ``cursor()`` gives a :class:`DBUtilsCursor`. The engine's extras
    (``execute()``, ``invalidate()``, ``detach()``, ``info``) work as on
    :class:`~impl.PooledConnection`.
    """

    __slots__ = ()

    _released = InvalidConnectionError

    def cursor(self) -> DBUtilsCursor:
        """A new cursor.

        Raises:
            InvalidConnection: the handle was closed.
        """
        self._live()
        return DBUtilsCursor(self)

    def execute(self, sql: str, params: Params | None = None) -> DBUtilsCursor:
        """Run one statement on a new cursor, as ``cursor().execute(sql, params)``.

        Raises:
            InvalidConnection: the handle was closed.
            Exception: the driver's error, if not reopened transparently.
        """
        return DBUtilsCursor(self).execute(sql, params)

    def __enter__(self) -> DBUtilsConnection:
        """The handle itself."""
        return self

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<DBUtilsConnection {state}, checked out at {self.checked_out_at}>"


@final
class _ThreadClosingConnection(DBUtilsConnection):
    """A ``PersistentDB(closeable=True)`` handle: closing it closes the thread's connection.

    The connection is closed when the thread's outermost handle closes; the
    thread's next ``connection()`` opens a new one.
    """

    __slots__ = ()

    def close(self) -> None:
        """Give the connection back, then close it unless an outer handle still holds it.

        Raises:
            InvalidConnection: the handle was closed already.
        """
        super().close()
        try:
            self._pool.end_thread()
        except PoolMisuse:
            # An outer handle in this thread still holds the connection:
            # it is closed when that one closes.
            return


def _engine(
    connect: Callable[[], Any],
    config: PoolConfig,
    clock: Clock | None,
    sync: Sync | None,
    handle: type[DBUtilsConnection] = DBUtilsConnection,
) -> Pool:
    """An engine whose checkouts make ``handle`` objects (DBUtils' names, one object each)."""
    engine = Pool(connect, config, clock=clock, sync=sync)
    engine._handle = handle
    return engine


# -- translating DBUtils' spellings ------------------------------------------------------


def _unlimited(name: str, value: object) -> int | None:
    """A DBUtils count where 0 or None means unlimited."""
    if value is None:
        return None
    return int_arg(name, value, 0) or None


def _count(name: str, value: object) -> int:
    """A DBUtils count where None means 0."""
    return 0 if value is None else int_arg(name, value, 0)


def _reset_mode(value: object) -> ResetMode:
    """DBUtils' ``reset``: True/1, False/0/None, 2 (PooledPg), or a ``ResetMode``."""
    if isinstance(value, ResetMode):
        return value
    if value is None or value is False or (type(value) is int and value == 0):
        return ResetMode.ROLLBACK_IF_BEGUN
    if value is True or (type(value) is int and value == 1):
        return ResetMode.ROLLBACK
    if type(value) is int and value == 2:
        return ResetMode.FULL
    raise PoolConfigError(
        "reset must be True/1 (always roll back), False/0/None (roll back what begin() "
        f"started), 2 (full reset) or a ResetMode, got {value!r}"
    )


def _ping_mode(value: object) -> Ping:
    """DBUtils' ``ping`` bit mask; bit 1 (at checkout) is the one the engine pings for."""
    if value is None:
        return Ping.NEVER
    if not isinstance(value, int):
        raise TypeError(f"ping must be an int bit mask, got {value!r} ({type(value).__name__})")
    if not 0 <= value <= 7:
        raise PoolConfigError(
            "ping must be a bit mask from 0 to 7 (1: at checkout, 2: at cursor(), "
            f"4: at execute()), got {value!r}"
        )
    return Ping.ON_CHECKOUT if value & 1 else Ping.NEVER


def _session(value: object) -> tuple[str, ...]:
    """DBUtils' ``setsession`` list as a tuple of statements."""
    if value is None:
        return ()
    if isinstance(value, str):
        raise TypeError(f"setsession must be a list of SQL statements, got the str {value!r}")
    if not isinstance(value, Sequence) or isinstance(value, bytes | bytearray):
        raise TypeError(f"setsession must be a list of SQL statements, got {value!r}")
    for sql in value:
        if not isinstance(sql, str):
            raise TypeError(f"setsession statements must be str, got {sql!r} in {value!r}")
    return tuple(value)


def _failures(value: object, creator: object) -> tuple[type[BaseException], ...]:
    """``failures``, or (None) the creator module's lost-connection errors."""
    if value is None:
        return failure_types(creator)
    return exception_types("failures", value)


def _threadsafety(creator: object) -> int:
    """The creator's DB-API ``threadsafety``, read the way DBUtils reads it."""
    for source in (creator, getattr(creator, "dbapi", None)):
        level = getattr(source, "threadsafety", None)
        if isinstance(level, int):
            return level
    # A module that does not say is assumed unsafe; a plain function is level 1.
    return 0 if callable(getattr(creator, "connect", None)) else 1


def _refuse_unsafe(creator: object, door: str) -> int:
    """The threadsafety level, if the creator may be pooled at all.

    Raises:
        NotSupportedError: threadsafety 0; the message names the module.
    """
    level = _threadsafety(creator)
    if level == 0:
        name = getattr(creator, "__name__", type(creator).__name__)
        raise NotSupportedError(
            f"DB-API module {name!r} has threadsafety 0 (threads may not share the module), "
            f"so {door} cannot use it"
        )
    return level


def _connector(creator: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[], Any]:
    """The zero-argument function opening one connection: module.connect or the creator."""
    connect = getattr(creator, "connect", None)
    if callable(connect):
        target: Callable[..., Any] = connect
    elif callable(creator):
        target = creator
    else:
        raise TypeError(
            f"creator must be a DB-API module or a callable returning connections, got {creator!r}"
        )
    return functools.partial(target, *args, **kwargs) if args or kwargs else target


def _unpooled(config: PoolConfig) -> PoolConfig:
    """The configuration of a steady, unpooled connection: closed when its handle closes."""
    return replace(
        config,
        max_size=1,
        idle_cap=0,
        min_idle=0,
        block=False,
        timeout=None,
        per_thread=False,
        shared=False,
        ping=Ping.NEVER,
    )


# -- the pools ---------------------------------------------------------------------------


@final
class PooledDB:
    """A pool of steady connections, shared between threads (DBUtils' ``PooledDB``).

    See the module's documentation for how each argument is translated.
    """

    __slots__ = ("_clock", "_connect", "_dedicated", "_shared", "_sync")

    def __init__(
        self,
        creator: Any,
        mincached: int | None = 0,
        maxcached: int | None = 0,
        maxshared: int | None = 0,
        maxconnections: int | None = 0,
        blocking: bool = False,
        maxusage: int | None = None,
        setsession: Sequence[str] | None = None,
        reset: object = True,
        failures: type[BaseException] | tuple[type[BaseException], ...] | None = None,
        ping: int | None = 1,
        *args: Any,
        timeout: float | None = None,
        full_reset_sql: str | None = None,
        clock: Clock | None = None,
        sync: Sync | None = None,
        **kwargs: Any,
    ) -> None:
        """Set up the pool and open ``mincached`` connections.

        Args:
            creator: a DB-API module, or a callable returning connections.
            mincached: connections opened now (None: 0).
            maxcached: idle connections kept (0/None: no limit).
            maxshared: connections shared between holders (0/None: none).
            maxconnections: connections at most (0/None: no limit).
            blocking: at the cap, wait (True) or raise ``TooManyConnections``.
            maxusage: checkouts after which a connection is reopened (0/None: never).
            setsession: SQL statements run on every new connection.
            reset: how a connection is reset when given back (see the module docs).
            failures: exception class(es) meaning "connection lost" (None: the module's).
            ping: the DBUtils ping bit mask (see the module docs).
            *args: positional arguments for the module's ``connect`` (or the callable).
            timeout: seconds a blocked ``connection()`` waits (None: forever).
            full_reset_sql: the statement of a full reset (``reset=2``) when the
                connection has no ``reset()`` (``"DISCARD ALL"``).
            clock: the engine's clock.
            sync: the engine's synchronisation factory.
            **kwargs: keyword arguments for the module's ``connect`` (or the callable).

        Raises:
            NotSupportedError: a module with threadsafety 0.
            TypeError: an argument of the wrong type.
            PoolConfigError: a value out of range, named in the message.
            Exception: the driver's error from an initial connect.
        """
        level = _refuse_unsafe(creator, "PooledDB")
        connect = _connector(creator, args, kwargs)
        low = _count("mincached", mincached)
        kept = _unlimited("maxcached", maxcached)
        shared = _unlimited("maxshared", maxshared)
        if level < 2:
            shared = None  # as DBUtils: connections of this module must not be shared
        cap = _unlimited("maxconnections", maxconnections)
        # DBUtils' own corrections, kept so that its users' settings mean the same.
        if kept is not None and kept < low:
            kept = low
        if cap is not None and kept is not None and cap < kept:
            cap = kept
        config = PoolConfig(
            max_size=cap,
            idle_cap=kept,
            min_idle=low,
            block=bool_arg("blocking", blocking),
            timeout=timeout,
            reset=_reset_mode(reset),
            session=_session(setsession),
            max_usage=_unlimited("maxusage", maxusage),
            ping=_ping_mode(ping),
            failures=_failures(failures, creator),
            full_reset_sql=full_reset_sql,
        )
        self._connect = connect
        self._clock = clock
        self._sync = sync
        self._shared: Pool | None = None
        if shared is not None:
            # shared connections are never reopened: the other holders' work would be lost
            shared_config = replace(
                config, max_size=shared, idle_cap=None, min_idle=0, shared=True, failures=()
            )
            self._shared = _engine(connect, shared_config, clock, sync)
        self._dedicated = _engine(connect, config, clock, sync)

    def _checkout(self, shareable: bool, stacklevel: int) -> DBUtilsConnection:
        engine = self._shared if shareable and self._shared is not None else self._dedicated
        try:
            # the engine makes DBUtilsConnection handles (_engine); no cast() call on the hot path
            return engine.acquire(stacklevel=stacklevel + 1)  # type: ignore[return-value]
        except PoolExhausted as exc:
            raise TooManyConnectionsError(str(exc)) from exc

    def connection(self, shareable: bool = True) -> DBUtilsConnection:
        """Check out a connection; close it to give it back.

        Args:
            shareable: with ``maxshared`` in effect, a shared connection may
                be handed out; False: a dedicated one.

        Raises:
            TooManyConnections: the cap is reached and ``blocking=False``.
            PoolTimeout: ``blocking=True`` with a ``timeout`` that expired.
            PoolClosed: the pool was closed.
            Exception: the driver's error from a connect.
        """
        # _checkout's work without its frame: one call fewer on the hot path
        engine = self._shared if shareable and self._shared is not None else self._dedicated
        try:
            return engine.acquire(_DEFAULT, 2)  # type: ignore[return-value]  # see _checkout
        except PoolExhausted as exc:
            raise TooManyConnectionsError(str(exc)) from exc

    def dedicated_connection(self) -> DBUtilsConnection:
        """A connection nobody else holds: ``connection(shareable=False)``."""
        return self._checkout(False, 2)

    def steady_connection(self) -> DBUtilsConnection:
        """An unpooled, "hardened" connection: session statements, failures and reset apply.

        Closing it closes the connection. It does not count against the pool.

        Raises:
            Exception: the driver's error from the connect.
        """
        engine = _engine(self._connect, _unpooled(self._dedicated.config), self._clock, self._sync)
        return engine.acquire(stacklevel=2)  # type: ignore[return-value]  # see _checkout

    def close(self) -> None:
        """Close the pool: idle connections close now, checked-out ones when given back."""
        if self._shared is not None:
            self._shared.close()
        self._dedicated.close()

    def stats(self) -> PoolStats:
        """The dedicated connections' statistics (the engine's snapshot)."""
        return self._dedicated.stats()

    @property
    def config(self) -> PoolConfig:
        """The engine configuration of the dedicated connections."""
        return self._dedicated.config

    @property
    def shared_config(self) -> PoolConfig | None:
        """The engine configuration of the shared connections, or None without sharing."""
        return None if self._shared is None else self._shared.config

    def __repr__(self) -> str:
        return f"<PooledDB {self._dedicated!r}>"


@final
class PersistentDB:
    """Thread-affine persistent connections (DBUtils' ``PersistentDB``).

    Each thread has its own connection (engine ``per_thread=True``, no cap):
    ``connection()`` returns a handle on it, reentrantly. Closing the handle
    gives it back: the connection is reset (rolled back if ``begin()`` was
    called) and stays with the thread, unless ``closeable=True``.
    """

    __slots__ = ("_clock", "_connect", "_engine", "_sync")

    def __init__(
        self,
        creator: Any,
        maxusage: int | None = None,
        setsession: Sequence[str] | None = None,
        failures: type[BaseException] | tuple[type[BaseException], ...] | None = None,
        ping: int | None = 1,
        closeable: bool = False,
        threadlocal: object = None,
        *args: Any,
        clock: Clock | None = None,
        sync: Sync | None = None,
        **kwargs: Any,
    ) -> None:
        """Set up the generator of persistent connections; it opens none yet.

        Args:
            creator: a DB-API module, or a callable returning connections.
            maxusage: checkouts after which the connection is reopened (0/None: never).
            setsession: SQL statements run on every new connection.
            failures: exception class(es) meaning "connection lost" (None: the module's).
            ping: the DBUtils ping bit mask (see the module docs).
            closeable: closing a thread's outermost handle closes its connection.
            threadlocal: accepted for compatibility and ignored (the engine
                keeps its own thread-local state).
            *args: positional arguments for the module's ``connect`` (or the callable).
            clock: the engine's clock.
            sync: the engine's synchronisation factory.
            **kwargs: keyword arguments for the module's ``connect`` (or the callable).

        Raises:
            NotSupportedError: a module with threadsafety 0.
            TypeError: an argument of the wrong type.
            PoolConfigError: a value out of range, named in the message.
        """
        del threadlocal
        _refuse_unsafe(creator, "PersistentDB")
        self._connect = _connector(creator, args, kwargs)
        ends_thread = bool_arg("closeable", closeable)
        self._clock = clock
        self._sync = sync
        config = PoolConfig(
            max_size=None,
            timeout=None,  # no cap: nobody waits
            per_thread=True,
            reset=ResetMode.ROLLBACK_IF_BEGUN,
            session=_session(setsession),
            max_usage=_unlimited("maxusage", maxusage),
            ping=_ping_mode(ping),
            failures=_failures(failures, creator),
        )
        handle = _ThreadClosingConnection if ends_thread else DBUtilsConnection
        self._engine = _engine(self._connect, config, clock, sync, handle)

    def _checkout(self, stacklevel: int) -> DBUtilsConnection:
        # the engine makes DBUtilsConnection handles (_engine); no cast() call on the hot path
        return self._engine.acquire(stacklevel=stacklevel + 1)  # type: ignore[return-value]

    def connection(self, shareable: bool = False) -> DBUtilsConnection:
        """A handle on this thread's connection (opened at the thread's first call).

        Args:
            shareable: accepted for compatibility with ``PooledDB``; a
                persistent connection is never shared with another thread.

        Raises:
            PoolClosed: the pool was closed.
            Exception: the driver's error from a connect.
        """
        del shareable
        return self._checkout(2)

    def dedicated_connection(self) -> DBUtilsConnection:
        """The same as ``connection()``."""
        return self._checkout(2)

    def steady_connection(self) -> DBUtilsConnection:
        """An unpooled, "hardened" connection, closed when its handle closes.

        Raises:
            Exception: the driver's error from the connect.
        """
        engine = _engine(self._connect, _unpooled(self._engine.config), self._clock, self._sync)
        return engine.acquire(stacklevel=2)  # type: ignore[return-value]  # see _checkout

    def end_thread(self) -> None:
        """Close the calling thread's connection now (call it before a thread ends).

        Raises:
            PoolMisuse: the thread still has its connection checked out.
        """
        self._engine.end_thread()

    def close(self) -> None:
        """Close every thread's idle connection; later ``connection()`` raises ``PoolClosed``."""
        self._engine.close()

    def stats(self) -> PoolStats:
        """The engine's statistics snapshot."""
        return self._engine.stats()

    @property
    def config(self) -> PoolConfig:
        """The engine configuration this generator was translated to."""
        return self._engine.config

    def __repr__(self) -> str:
        return f"<PersistentDB {self._engine!r}>"
