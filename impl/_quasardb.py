"""A quasardb-style pool: one connection per thread, a global instance, ``with_conn``.

``SingletonPool`` is a preset of the one engine (:class:`~impl.Pool`) with
``per_thread=True`` and no cap: each thread gets its own connection, made by
``get_conn()`` or by ``connect(**connect_args)``, and keeps it. quasardb
calls ``quasardb.Cluster(**kwargs)``; this pool has no driver of its own, so
the connect function is given as the ``connect=`` keyword::

    pool = SingletonPool(connect=sqlite3.connect, database="app.db")
    pool = SingletonPool(get_conn=lambda: sqlite3.connect("app.db"))

``connect()`` returns the engine's :class:`~impl.PooledConnection`: use it in
a ``with`` block (which gives it back) or give it back with
``pool.release(conn)``; ``conn.raw`` is the connection ``get_conn`` made, for
the methods a DB-API handle does not have. A thread's repeated ``connect()``
hands out its one connection again (reentrant).

What differs from quasardb, on purpose:

1. The connection of a thread that ended is closed (at the pool's next
   operation, or at once with ``end_thread()``); quasardb keeps it open
   until ``close()``.
2. A connection is not reset when given back (``ResetMode.NONE``, as
   quasardb): its own thread gets it again. Nothing calls ``rollback()``, so
   any object with ``close()`` works as a connection.
3. ``instance()`` before ``initialize()`` raises ``PoolMisuse`` (a
   ``PoolError``), not an ``AssertionError``; a second ``initialize()`` closes
   the instance it replaces; ``shutdown()`` closes the instance and forgets it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, final, overload

from ._config import PoolConfig, ResetMode
from ._errors import PoolMisuse
from ._handle import PooledConnection
from ._pool import Pool, PoolStats
from ._seams import Clock, Sync

_R = TypeVar("_R")


@final
class SingletonPool:
    """One connection per thread, made on the thread's first ``connect()``."""

    __slots__ = ("_engine",)

    def __init__(
        self,
        get_conn: Callable[[], Any] | None = None,
        *,
        connect: Callable[..., Any] | None = None,
        clock: Clock | None = None,
        sync: Sync | None = None,
        **connect_args: Any,
    ) -> None:
        """Create the pool; it opens no connection yet.

        Args:
            get_conn: a zero-argument callable returning a new connection.
            connect: instead of ``get_conn``, a function called as
                ``connect(**connect_args)``.
            clock: the engine's clock.
            sync: the engine's synchronisation factory.
            **connect_args: keyword arguments for ``connect``.

        Raises:
            TypeError: neither or both of ``get_conn`` and ``connect``, a
                non-callable one, or ``connect_args`` with ``get_conn``.
        """
        if get_conn is None:
            if connect is None:
                raise TypeError("SingletonPool needs get_conn, or connect= with its arguments")
            if not callable(connect):
                raise TypeError(f"connect must be callable, got {connect!r}")
            get_conn = functools.partial(connect, **connect_args)
        elif connect is not None or connect_args:
            extra = ", ".join(sorted([*connect_args, *(["connect"] if connect else [])]))
            raise TypeError(
                f"pass either get_conn or connect= and its arguments, got both ({extra})"
            )
        elif not callable(get_conn):
            raise TypeError(f"get_conn must be callable, got {get_conn!r}")
        # no cap, so nobody waits; no reset, so any object with close() will do
        config = PoolConfig(max_size=None, timeout=None, per_thread=True, reset=ResetMode.NONE)
        self._engine = Pool(get_conn, config, clock=clock, sync=sync)

    def connect(self) -> PooledConnection:
        """A handle on this thread's connection; ``with`` it, or ``release()`` it.

        Raises:
            PoolClosed: the pool was closed.
            Exception: the error of the thread's first connect.
        """
        return self._engine.acquire(stacklevel=2)

    def release(self, conn: PooledConnection) -> None:
        """Give a handle back; the connection stays with its thread.

        Raises:
            ForeignConnection: ``conn`` comes from another pool.
            ConnectionReleased: ``conn`` was given back already.
        """
        self._engine.release(conn)

    def end_thread(self) -> None:
        """Close the calling thread's connection now (call it before a thread ends).

        Raises:
            PoolMisuse: the thread still has its connection checked out.
        """
        self._engine.end_thread()

    def close(self) -> None:
        """Close the pool: idle connections close now, those in use when given back."""
        self._engine.close()

    def stats(self) -> PoolStats:
        """The engine's statistics snapshot."""
        return self._engine.stats()

    @property
    def config(self) -> PoolConfig:
        """The engine configuration this pool was translated to."""
        return self._engine.config

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._engine.closed

    def __enter__(self) -> SingletonPool:
        """The pool itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the pool."""
        self.close()

    def __repr__(self) -> str:
        return f"<SingletonPool {self._engine!r}>"


# quasardb's API is a process-wide pool reached through initialize() and
# instance(); the house style avoids module-level singletons, so this one is
# the only one, guarded by a lock, and replaced or cleared only by these calls.
_instance_lock = threading.Lock()
_instance: SingletonPool | None = None


def initialize(*args: Any, **kwargs: Any) -> SingletonPool:
    """Create the global pool: ``SingletonPool(*args, **kwargs)``; a previous one is closed.

    Returns:
        The new global pool (also what ``instance()`` returns from now on).

    Raises:
        TypeError: bad ``SingletonPool`` arguments (the previous pool stays).
    """
    global _instance
    pool = SingletonPool(*args, **kwargs)
    with _instance_lock:  # decide: the new global pool; the old one to close
        old, _instance = _instance, pool
    if old is not None:
        old.close()
    return pool


def instance() -> SingletonPool:
    """The global pool made by :func:`initialize`.

    Raises:
        PoolMisuse: ``initialize()`` was not called (or ``shutdown()`` was).
    """
    with _instance_lock:  # decide: nothing; read the global pool
        pool = _instance
    if pool is None:
        raise PoolMisuse("the global connection pool is not initialized: call initialize() first")
    return pool


def shutdown() -> None:
    """Close the global pool and forget it; ``instance()`` raises until ``initialize()``."""
    global _instance
    with _instance_lock:  # decide: the global pool is gone
        old, _instance = _instance, None
    if old is not None:
        old.close()


def _check_arg(arg: object) -> int | str:
    if isinstance(arg, bool) or not isinstance(arg, int | str):
        raise TypeError(f"arg must be an int index or a keyword name, got {arg!r}")
    if isinstance(arg, int) and arg < 0:
        raise ValueError(f"arg must be a positional index >= 0, got {arg!r}")
    if isinstance(arg, str) and not arg.isidentifier():
        raise ValueError(f"arg must be a keyword name, got {arg!r}")
    return arg


def _inject(
    conn: PooledConnection, arg: int | str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The call's arguments with the connection placed at ``arg``."""
    if isinstance(arg, str):
        if arg in kwargs:
            raise TypeError(f"with_conn(arg={arg!r}) injects {arg}=; do not pass it yourself")
        return args, {**kwargs, arg: conn}
    if arg > len(args):
        raise TypeError(
            f"with_conn(arg={arg}) injects the connection as positional argument {arg}, "
            f"but only {len(args)} come before it"
        )
    return (*args[:arg], conn, *args[arg:]), kwargs


@overload
def with_conn(_fn: Callable[..., _R], *, arg: int | str = 0) -> Callable[..., _R]: ...


@overload
def with_conn(
    _fn: None = None, *, arg: int | str = 0
) -> Callable[[Callable[..., _R]], Callable[..., _R]]: ...


def with_conn(
    _fn: Callable[..., _R] | None = None, *, arg: int | str = 0
) -> Callable[..., _R] | Callable[[Callable[..., _R]], Callable[..., _R]]:
    """Decorate a function so that each call gets a connection from the global pool.

    ``@with_conn`` or ``@with_conn()`` injects it as the first positional
    argument; ``@with_conn(arg=2)`` at index 2; ``@with_conn(arg="conn")``
    as the keyword argument ``conn``. The connection is given back when the
    call returns or raises.

    Args:
        _fn: the function, when used as ``@with_conn`` without parentheses.
        arg: where to inject: a positional index, or a keyword name.

    Raises:
        TypeError: ``arg`` is neither an int nor a str (at decoration); at a
            call, too few positional arguments before the index, or the
            keyword passed explicitly.
        ValueError: a negative index or a name that is not an identifier.
        PoolMisuse: at a call, the global pool is not initialized.
    """
    where = _check_arg(arg)

    def decorate(fn: Callable[..., _R]) -> Callable[..., _R]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> _R:
            pool = instance()
            with pool._engine.acquire(stacklevel=2) as conn:
                call_args, call_kwargs = _inject(conn, where, args, kwargs)
                return fn(*call_args, **call_kwargs)

        return wrapper

    if _fn is None:
        return decorate
    return decorate(_fn)
