"""The pool's policy parameters, validated once.

Every knob on which the known pools differ is a parameter here, with the value
each of them takes named in ``spec/SPEC.md``. Times are whole ticks: the model
has no clock, only the ``tick`` operation.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._enum import FastEnum


class Fairness(FastEnum):
    """Which waiter a freed connection or slot goes to."""

    FIFO = "fifo"
    """Strict hand-off to the oldest waiter (psycopg_pool, our default)."""
    BARGING = "barging"
    """Any waiter may get it (queue.Queue / threading.Condition based pools)."""


class IdleOrder(FastEnum):
    """Which idle connection a checkout takes."""

    FIFO = "fifo"
    """The one returned longest ago (SQLAlchemy QueuePool default, DBUtils)."""
    LIFO = "lifo"
    """The one returned most recently (SQLAlchemy ``use_lifo=True``)."""


class ResetMode(FastEnum):
    """What the pool does to a connection when its holder gives it back."""

    NONE = "none"
    """Nothing: the next borrower may inherit an open transaction."""
    ROLLBACK_IF_BEGUN = "rollback_if_begun"
    """Roll back only a transaction begun with ``begin()`` (DBUtils ``reset=False``)."""
    ROLLBACK = "rollback"
    """Always roll back (SQLAlchemy default, DBUtils ``reset=True``)."""
    COMMIT = "commit"
    """Always commit (SQLAlchemy ``reset_on_return='commit'``)."""
    FULL = "full"
    """The driver's own full reset (``DISCARD ALL``), then the session statements again."""


class Ping(FastEnum):
    """When the pool checks that a connection is alive."""

    NEVER = "never"
    ON_CHECKOUT = "on_checkout"
    """Before handing a connection out (SQLAlchemy ``pre_ping``, DBUtils ping bit 1)."""


def _check_int(name: str, value: object, minimum: int, *, optional: bool) -> None:
    if value is None and optional:
        return
    # bool is an int subclass, and `max_size=True` is always a mistake.
    if not isinstance(value, int) or isinstance(value, bool):
        kind = "an int or None" if optional else "an int"
        raise TypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")


def _check_type(name: str, value: object, kind: type) -> None:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise TypeError(f"{name} must be a {kind.__name__}, got {value!r} ({type(value).__name__})")


@dataclass(frozen=True, slots=True)
class Config:
    """One pool's policies.

    Attributes:
        max_size: hard cap on open connections (idle + in use); None: unlimited.
        idle_cap: most idle connections kept; a connection returned beyond it is
            closed ("overflow"). None: as many as ``max_size`` allows.
        min_idle: connections opened when the pool is created (prefill).
        block: when exhausted, wait (True) or refuse at once (False).
        timeout: ticks a waiter waits before it is refused; None: forever.
        fairness: which waiter gets a freed connection or slot.
        max_waiters: most actors waiting at once; None: unbounded.
        idle_order: which idle connection a checkout takes.
        per_thread: thread affinity: each actor keeps its own connection, and
            checkout is reentrant (only the outermost release resets).
        shared: when every slot is taken, a checkout shares the least shared
            connection in use instead of waiting (StaticPool, DBUtils maxshared).
        reset: what happens to a connection given back.
        session_setup: session statements are configured and run on every new,
            reopened or fully reset connection.
        max_usage: checkouts after which a connection is retired; None: never.
        max_lifetime: ticks after its connect at which a connection is retired
            at its next checkout (recycle); None: never.
        max_idle_time: ticks idle after which a connection is retired at its
            next checkout; None: never.
        ping: when liveness is checked.
        reopen: failure exceptions are configured: a connection lost outside a
            transaction is reopened transparently, one lost inside a transaction
            is replaced when given back.
    """

    max_size: int | None = 2
    idle_cap: int | None = None
    min_idle: int = 0
    block: bool = True
    timeout: int | None = None
    fairness: Fairness = Fairness.FIFO
    max_waiters: int | None = None
    idle_order: IdleOrder = IdleOrder.FIFO
    per_thread: bool = False
    shared: bool = False
    reset: ResetMode = ResetMode.ROLLBACK
    session_setup: bool = False
    max_usage: int | None = None
    max_lifetime: int | None = None
    max_idle_time: int | None = None
    ping: Ping = Ping.NEVER
    reopen: bool = False

    def __post_init__(self) -> None:
        _check_int("max_size", self.max_size, 1, optional=True)
        _check_int("idle_cap", self.idle_cap, 0, optional=True)
        _check_int("min_idle", self.min_idle, 0, optional=False)
        _check_type("block", self.block, bool)
        _check_int("timeout", self.timeout, 1, optional=True)
        _check_type("fairness", self.fairness, Fairness)
        _check_int("max_waiters", self.max_waiters, 0, optional=True)
        _check_type("idle_order", self.idle_order, IdleOrder)
        _check_type("per_thread", self.per_thread, bool)
        _check_type("shared", self.shared, bool)
        _check_type("reset", self.reset, ResetMode)
        _check_type("session_setup", self.session_setup, bool)
        _check_int("max_usage", self.max_usage, 1, optional=True)
        _check_int("max_lifetime", self.max_lifetime, 1, optional=True)
        _check_int("max_idle_time", self.max_idle_time, 1, optional=True)
        _check_type("ping", self.ping, Ping)
        _check_type("reopen", self.reopen, bool)
        if (
            self.max_size is not None
            and self.idle_cap is not None
            and self.idle_cap > self.max_size
        ):
            raise ValueError(
                f"idle_cap must be <= max_size, got idle_cap={self.idle_cap} "
                f"with max_size={self.max_size}"
            )
        room = self.kept_idle
        if room is not None and self.min_idle > room:
            raise ValueError(
                f"min_idle must be <= the idle connections kept ({room}), got {self.min_idle}"
            )
        if not self.block and self.timeout is not None:
            raise ValueError(f"timeout applies only when block=True, got timeout={self.timeout}")
        if not self.block and self.max_waiters is not None:
            raise ValueError(
                f"max_waiters applies only when block=True, got max_waiters={self.max_waiters}"
            )
        if self.per_thread and self.shared:
            raise ValueError("per_thread and shared are exclusive, got both True")
        if self.shared and self.reopen:
            # a transparent reopen would move one holder of a shared connection
            # to a new one and strand the others on the connection it closed
            raise ValueError("reopen is not supported with shared=True, got both True")
        if self.per_thread and self.idle_cap is not None:
            raise ValueError(
                f"idle_cap does not apply with per_thread=True (a thread keeps its "
                f"connection), got idle_cap={self.idle_cap}"
            )

    @property
    def kept_idle(self) -> int | None:
        """Most idle connections the pool keeps (None: unbounded)."""
        if self.idle_cap is None:
            return self.max_size
        return self.idle_cap

    @property
    def timed(self) -> bool:
        """Whether the passing of time changes anything under this configuration."""
        return (
            self.timeout is not None
            or self.max_lifetime is not None
            or self.max_idle_time is not None
        )
