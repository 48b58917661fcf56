"""A pyqldb-style session pool: permits, a timeout, and ``execute()`` with retries.

``SessionPool`` is a preset of the one engine (:class:`~impl.Pool`), after
pyqldb's ``PooledQldbDriver``:

1. ``pool_limit`` permits bound the sessions in use (engine ``max_size``);
   0 means no bound (pyqldb's 0 means "as many as the client allows", and
   there is no client limit here).
2. ``get_session()`` waits up to ``timeout`` seconds for a permit, then raises
   :class:`SessionPoolEmptyError` (a ``PoolTimeout``); ``timeout=0`` never
   waits; None waits forever. The oldest waiter is served first (FIFO),
   where pyqldb's semaphore serves any.
3. A session taken from the pool is pinged first (``Ping.ON_CHECKOUT``): a
   stale or dead one is discarded and a new one started in its place.
4. A failed session start gives its permit back (the engine frees the slot
   and serves the next waiter).
5. After ``close()``, ``get_session()`` raises :class:`DriverClosedError` (a
   ``PoolClosed``); so does a waiter when the pool closes under it.
6. A session given back is rolled back (``ResetMode.ROLLBACK``).

``execute(fn)`` runs ``fn(session)`` and commits, retrying up to
``retry_limit`` times, each on a session from the pool, when ``fn`` or the
commit raises one of the ``retriable`` exception types (by default the
creator module's ``OperationalError``, ``InterfaceError`` and
``InternalError``). The failed session is rolled back when given back, and a
dead one is discarded by that reset, so the retry never reuses it. Retries
follow one another at once (no backoff); errors from ``get_session()``
itself (a timeout, a refused connect) are not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, final

from ._config import Ping, PoolConfig
from ._edge import exception_types, failure_types, int_arg, seconds_arg
from ._errors import PoolClosed, PoolExhausted, PoolTimeout
from ._handle import PooledConnection
from ._pool import DBAPIModule, Pool, PoolStats
from ._seams import Clock, Sync

_log = logging.getLogger(__name__)

_T = TypeVar("_T")


@final
class SessionPoolEmptyError(PoolTimeout):
    """No session permit came free within the timeout (pyqldb's name)."""


@final
class DriverClosedError(PoolClosed):
    """The session pool is closed (pyqldb's name)."""


def _give_back(session: PooledConnection) -> None:
    """Give a session back unless ``fn`` already closed or invalidated it."""
    if not session.closed:
        session.close()


@final
class SessionPool:
    """A bounded pool of sessions (DB-API connections) with retrying ``execute()``."""

    __slots__ = ("_engine", "_retriable", "_retry_limit")

    def __init__(
        self,
        creator: Callable[[], Any] | DBAPIModule,
        pool_limit: int = 10,
        timeout: float | None = 30.0,
        retry_limit: int = 4,
        retriable: type[BaseException] | tuple[type[BaseException], ...] | None = None,
        *,
        clock: Clock | None = None,
        sync: Sync | None = None,
    ) -> None:
        """Create the pool; it starts no session yet.

        Args:
            creator: a zero-argument callable returning a connection, or a
                DB-API module (its ``connect()``).
            pool_limit: most sessions in use at once; 0: no limit.
            timeout: seconds ``get_session()`` waits for a permit; 0: no wait;
                None: forever.
            retry_limit: how many times ``execute()`` retries by default.
            retriable: exception type(s) ``execute()`` retries on; None: the
                creator module's OperationalError, InterfaceError, InternalError.
            clock: the engine's clock.
            sync: the engine's synchronisation factory.

        Raises:
            TypeError: an argument of the wrong type.
            PoolConfigError: (a ``ValueError``) ``pool_limit``, ``timeout`` or
                ``retry_limit`` is negative; the message names the value.
        """
        limit = int_arg("pool_limit", pool_limit, 0)
        wait = seconds_arg("timeout", timeout, zero=True)
        self._retry_limit = int_arg("retry_limit", retry_limit, 0)
        self._retriable = (
            failure_types(creator) if retriable is None else exception_types("retriable", retriable)
        )
        config = PoolConfig(
            max_size=limit or None,
            block=wait != 0,
            timeout=wait or None,
            ping=Ping.ON_CHECKOUT,
        )
        self._engine = Pool(creator, config, clock=clock, sync=sync)

    def _checkout(self, stacklevel: int) -> PooledConnection:
        try:
            return self._engine.acquire(stacklevel=stacklevel + 1)
        except (PoolTimeout, PoolExhausted) as exc:
            raise SessionPoolEmptyError(str(exc)) from exc
        except PoolClosed as exc:
            raise DriverClosedError(f"the session pool is closed: {exc}") from exc

    def get_session(self) -> PooledConnection:
        """Take a permit and a session: an idle one that answers a ping, or a new one.

        Returns:
            The session; close it (or leave a ``with`` block) to give it back.

        Raises:
            SessionPoolEmptyError: no permit came free within ``timeout``.
            DriverClosedError: the pool is closed.
            Exception: the driver's error starting a session (its permit is
                given back).
        """
        return self._checkout(2)

    def execute(self, fn: Callable[[PooledConnection], _T], retry_limit: int | None = None) -> _T:
        """Run ``fn(session)`` and commit, retrying on the retriable exception types.

        Args:
            fn: the work; it may run more than once, each time on a fresh
                transaction.
            retry_limit: retries allowed for this call; None: the pool's.

        Returns:
            What ``fn`` returned.

        Raises:
            TypeError: ``fn`` is not callable.
            PoolConfigError: a negative ``retry_limit``.
            SessionPoolEmptyError: no session within the timeout.
            DriverClosedError: the pool is closed.
            BaseException: what ``fn`` or the commit raised, when it is not
                retriable or the retries are spent (the session is given back
                first).
        """
        if not callable(fn):
            raise TypeError(f"execute() takes a callable fn(session), got {fn!r}")
        limit = self._retry_limit if retry_limit is None else int_arg("retry_limit", retry_limit, 0)
        retries = 0
        while True:
            session = self._checkout(2)
            try:
                result = fn(session)
                if not session.closed:  # fn may have closed or invalidated it
                    session.commit()
            except BaseException as exc:
                _give_back(session)
                if retries >= limit or not isinstance(exc, self._retriable):
                    raise
                retries += 1
                _log.info("execute: retry %d of %d after %r", retries, limit, exc)
                continue
            _give_back(session)
            return result

    def close(self) -> None:
        """Close the pool: idle sessions end now, sessions in use when given back."""
        self._engine.close()

    def stats(self) -> PoolStats:
        """The engine's statistics snapshot."""
        return self._engine.stats()

    @property
    def config(self) -> PoolConfig:
        """The engine configuration this pool was translated to."""
        return self._engine.config

    @property
    def retriable(self) -> tuple[type[BaseException], ...]:
        """The exception types ``execute()`` retries on."""
        return self._retriable

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._engine.closed

    def __enter__(self) -> SessionPool:
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
        return f"<SessionPool {self._engine!r}>"
