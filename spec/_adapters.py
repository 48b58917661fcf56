"""Adapters: how the harness drives a pool of one API shape, through its public API only.

An adapter is any object with the methods of ``Adapter``; nothing needs to
subclass anything. A profile (``Profile``) says how the spec's policy
parameters map to one pool's constructor arguments, which configurations that
pool can express, and builds the pool around the recording driver.

The harness runs ``acquire``, ``release`` and the per-connection operations
on the actor's own thread, and ``close``, ``dispose`` on its own thread.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import model

from ._driver import RecordingDriver

# Statements the harness runs through a borrowed connection. They are valid
# SQLite, and the recording driver classifies them (a write opens a
# transaction, PRAGMA changes session state).
WORK_SQL = "SAVEPOINT poolspec_work"
SESSION_SQL = "PRAGMA cache_size = -1999"
SETUP_SQL = "PRAGMA cache_size = -2001"

# One model tick is this many seconds on a pool's (manual) clock.
TICK_SECONDS = 1.0


def seconds(ticks: int | None) -> float | None:
    """A model duration in ticks as a pool's seconds (None stays None: no limit)."""
    return None if ticks is None else ticks * TICK_SECONDS


# Operations an adapter may or may not support, by the model's op kinds.
OPTIONAL_OPS = frozenset(
    {
        model.OpKind.BEGIN,
        model.OpKind.INVALIDATE,
        model.OpKind.SOFT_INVALIDATE,
        model.OpKind.DETACH,
        model.OpKind.DISPOSE,
        model.OpKind.END_THREAD,
        model.OpKind.CLOSE,
        model.OpKind.DROP,
    }
)


class Adapter(Protocol):
    """Drives one pool of a known API shape."""

    name: str
    supports: frozenset[model.OpKind]

    def acquire(self, pool: Any) -> Any:
        """Check out a connection handle; blocks while the pool makes the caller wait."""

    def release(self, pool: Any, handle: Any) -> None:
        """Give the handle back (``close()`` on most shapes)."""

    def execute(self, handle: Any, sql: str) -> None:
        """Run one statement through the handle."""

    def commit(self, handle: Any) -> None:
        """Commit through the handle."""

    def rollback(self, handle: Any) -> None:
        """Roll back through the handle."""

    def begin(self, handle: Any) -> None:
        """Begin a transaction explicitly (suspends transparent reopen)."""

    def invalidate(self, pool: Any, handle: Any, soft: bool) -> None:
        """Invalidate the handle's connection."""

    def detach(self, handle: Any) -> None:
        """Detach the handle's connection from the pool."""

    def close(self, pool: Any) -> None:
        """Close the pool: later checkouts are refused."""

    def dispose(self, pool: Any) -> None:
        """Close idle connections and keep the pool usable."""

    def end_thread(self, pool: Any) -> None:
        """Called on an actor's thread just before that thread ends."""

    def stats(self, pool: Any) -> model.Stats | None:
        """The pool's statistics projected to the model's, or None if it has none."""

    def refusal(self, exc: BaseException, driver: RecordingDriver) -> model.Refusal | None:
        """The model refusal an exception stands for (None: not a refusal)."""


def drop(handle_box: list[Any]) -> None:
    """Drop the only reference to a handle, as a borrower that forgot to close it does.

    Reference counting returns it at once in every pool checked here; a full
    ``gc.collect()`` would cost a tenth of a second per drop under Hypothesis,
    so only the youngest generation is collected, for a handle in a cycle.
    """
    with warnings.catch_warnings():
        # our pool warns naming where the dropped handle was checked out
        warnings.simplefilter("ignore", ResourceWarning)
        handle_box.clear()
        gc.collect(0)


def _driver_refusal(exc: BaseException, driver: RecordingDriver) -> model.Refusal | None:
    if isinstance(exc, driver.InterfaceError):
        return model.Refusal.NOT_HELD
    if isinstance(exc, driver.Error):
        return model.Refusal.CONNECTION_LOST
    return None


class HandleAdapter:
    """What most shapes share: the handle is a DB-API connection that closes to give back.

    A base for the adapters below (users need not subclass it: any object with
    ``Adapter``'s methods will do). The operations a shape lacks raise
    ``NotImplementedError``; its ``supports`` keeps the harness from asking.
    """

    name = "dbapi"
    supports: frozenset[model.OpKind] = frozenset({model.OpKind.DROP})

    def acquire(self, pool: Any) -> Any:
        raise NotImplementedError(f"{self.name}: no checkout method known")

    def release(self, pool: Any, handle: Any) -> None:
        del pool
        handle.close()

    def execute(self, handle: Any, sql: str) -> None:
        handle.cursor().execute(sql)

    def commit(self, handle: Any) -> None:
        handle.commit()

    def rollback(self, handle: Any) -> None:
        handle.rollback()

    def begin(self, handle: Any) -> None:
        handle.begin()

    def invalidate(self, pool: Any, handle: Any, soft: bool) -> None:
        del pool
        handle.invalidate(soft=soft)

    def detach(self, handle: Any) -> None:
        handle.detach()

    def close(self, pool: Any) -> None:
        pool.close()

    def dispose(self, pool: Any) -> None:
        pool.dispose()

    def end_thread(self, pool: Any) -> None:
        end = getattr(pool, "end_thread", None)
        if end is not None:
            end()

    def stats(self, pool: Any) -> model.Stats | None:
        del pool
        return None

    def refusal(self, exc: BaseException, driver: RecordingDriver) -> model.Refusal | None:
        return _driver_refusal(exc, driver)


class OurAdapter(HandleAdapter):
    """Drives poolspec's own pool (``impl.Pool`` and its front doors' handles)."""

    name = "poolspec"
    supports = OPTIONAL_OPS

    def acquire(self, pool: Any) -> Any:
        return pool.acquire()

    def stats(self, pool: Any) -> model.Stats | None:
        s = pool.stats()
        return model.Stats(idle=s.idle, in_use=s.in_use, waiting=s.waiting, open=s.open)

    def refusal(self, exc: BaseException, driver: RecordingDriver) -> model.Refusal | None:
        import impl

        table: list[tuple[type[BaseException], model.Refusal]] = [
            (impl.PoolTimeout, model.Refusal.TIMEOUT),
            (impl.PoolExhausted, model.Refusal.EXHAUSTED),
            (impl.PoolClosed, model.Refusal.CLOSED),
            (impl.TooManyWaiters, model.Refusal.TOO_MANY_WAITERS),
            (impl.PoolMisuse, model.Refusal.NOT_HELD),
        ]
        for kind, refusal in table:
            if isinstance(exc, kind):
                return refusal
        return _driver_refusal(exc, driver)


class PlainAdapter(HandleAdapter):
    """Drives the plain shape: ``pool.acquire()`` and ``pool.release(conn)``, ``pool.close()``.

    The connection handed out is used as a DB-API connection; errors of the
    pool itself are mapped by name (``...Timeout``, ``...Exhausted``/``Empty``,
    ``...Closed``), the rest as the driver's.
    """

    name = "plain"
    # a raw connection dropped without release() is invisible to such a pool
    supports = frozenset({model.OpKind.CLOSE})

    def acquire(self, pool: Any) -> Any:
        return pool.acquire()

    def release(self, pool: Any, handle: Any) -> None:
        pool.release(handle)

    def refusal(self, exc: BaseException, driver: RecordingDriver) -> model.Refusal | None:
        name = type(exc).__name__.lower()
        text = str(exc).lower()
        if "timeout" in name or "timed out" in text:
            return model.Refusal.TIMEOUT
        if "exhausted" in name or name == "empty" or "toomany" in name:
            return model.Refusal.EXHAUSTED
        if "closed" in name or ("pool" in text and "closed" in text):
            return model.Refusal.CLOSED
        if isinstance(exc, ValueError | TypeError) or "misuse" in name or "released" in name:
            return model.Refusal.NOT_HELD
        return _driver_refusal(exc, driver)


class SQLAlchemyAdapter(HandleAdapter):
    """Drives pools of SQLAlchemy's shape: ``connect()`` returns a proxy with ``close()``."""

    name = "sqlalchemy"
    supports = frozenset(
        {
            model.OpKind.INVALIDATE,
            model.OpKind.SOFT_INVALIDATE,
            model.OpKind.DETACH,
            model.OpKind.DISPOSE,
            model.OpKind.DROP,
        }
    )

    def acquire(self, pool: Any) -> Any:
        return pool.connect()

    def begin(self, handle: Any) -> None:
        raise NotImplementedError("SQLAlchemy's pool proxies have no begin()")

    def close(self, pool: Any) -> None:
        pool.dispose()  # SQLAlchemy pools have no close(); dispose() is the nearest

    def refusal(self, exc: BaseException, driver: RecordingDriver) -> model.Refusal | None:
        name = type(exc).__name__
        if name == "TimeoutError" and not isinstance(exc, TimeoutError):
            return model.Refusal.TIMEOUT  # sqlalchemy.exc.TimeoutError, not the builtin
        if name == "InvalidRequestError":
            return model.Refusal.NOT_HELD
        if isinstance(exc, AssertionError):
            # AssertionPool refuses a second checkout with an AssertionError that
            # says so; a bare one comes from using a proxy after closing it
            if "already checked out" in str(exc):
                return model.Refusal.EXHAUSTED
            return model.Refusal.NOT_HELD
        if isinstance(exc, AttributeError) and "'NoneType'" in str(exc):
            # a closed proxy has dropped its DB-API connection (EXCL-3 in CONFORMANCE.md)
            return model.Refusal.NOT_HELD
        return _driver_refusal(exc, driver)


class DBUtilsAdapter(HandleAdapter):
    """Drives pools of DBUtils' shape: ``connection()`` returns a handle with ``close()``.

    DBUtils' ``close()`` of a pool closes the idle connections and leaves the
    pool usable: the spec's ``dispose()``, so it is driven as that (the
    spec's ``close()``, which refuses later checkouts, has no DBUtils
    counterpart; teardown still calls ``close()`` to let go of everything).
    """

    name = "dbutils"
    supports = frozenset({model.OpKind.BEGIN, model.OpKind.DISPOSE, model.OpKind.DROP})

    def acquire(self, pool: Any) -> Any:
        return pool.connection()

    def invalidate(self, pool: Any, handle: Any, soft: bool) -> None:
        raise NotImplementedError("DBUtils handles cannot be invalidated")

    def detach(self, handle: Any) -> None:
        raise NotImplementedError("DBUtils handles cannot be detached")

    def dispose(self, pool: Any) -> None:
        pool.close()

    def refusal(self, exc: BaseException, driver: RecordingDriver) -> model.Refusal | None:
        name = type(exc).__name__
        if name in ("TooManyConnections", "TooManyConnectionsError"):
            return model.Refusal.EXHAUSTED
        if name in ("InvalidConnectionError", "InvalidConnection"):
            return model.Refusal.NOT_HELD
        return _driver_refusal(exc, driver)


Builder = Callable[[Any, model.Config, RecordingDriver, Any], Any]


@dataclass(frozen=True)
class Avoid:
    """A known divergence a profile steers around: these operations are not drawn when ``when``.

    Attributes:
        rule: the rule the pool is known to break this way.
        ops: the operations not drawn.
        when: ``(config, state, op) -> bool``: whether ``op`` is not drawn now.
        why: one line for the report: what the pool does, and whether it is a
            documented design choice or a known bug.
    """

    rule: str
    ops: frozenset[model.OpKind]
    when: Callable[[model.Config, model.State, model.Op], bool]
    why: str


@dataclass(frozen=True)
class Profile:
    """How one pool expresses the spec's policies.

    Attributes:
        name: the profile's name (``sqlalchemy-queuepool``).
        adapter: how to drive the pool built.
        build: ``(factory, config, driver, clock) -> pool``: builds the pool the
            way a user would, around the recording driver.
        configs: the model configurations this pool can express (a Hypothesis
            strategy is derived from these choices).
        manual_clock: the pool runs on the harness's manual clock, so ticks
            may be drawn.
        notes: what the profile leaves out and why.
        default: ``module:attribute`` of the pool built when no factory is given.
        keywords: per model parameter, the constructor keyword a pool needs to
            express any value but the model's default; a factory without that
            keyword (an older release, a look-alike) is drawn only the default.
        virtual_time: the pool reads the wall clock itself (``time.time()``),
            so the modules that define it read the harness's manual clock
            instead, for the length of a run.
        lenient_release: giving back a handle twice is silently accepted (a
            documented design choice): no refusal, and nothing may happen.
        avoid: known divergences the run steers around (not drawn), so that a
            pool's documented design choices and known bugs do not hide other
            bugs behind the same rule; ``strict`` runs draw them anyway.
    """

    name: str
    adapter: Adapter
    build: Builder
    configs: tuple[dict[str, tuple[Any, ...]], ...]
    manual_clock: bool = False
    notes: str = ""
    default: str = ""
    keywords: dict[str, str] = field(default_factory=dict)
    virtual_time: bool = False
    lenient_release: bool = False
    avoid: tuple[Avoid, ...] = ()
