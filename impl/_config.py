"""The pool's policies: four enums and one frozen, validated configuration.

The enums repeat the model's member names and values on purpose: ``impl/``
never imports ``model/``, and the lockstep harness maps one onto the other by
value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import final

from ._errors import PoolConfigError


@final
class Fairness(Enum):
    """Which waiter a freed connection or slot goes to."""

    FIFO = "fifo"
    """Strict hand-off to the oldest waiter."""
    BARGING = "barging"
    """The connection goes idle and a waiter is woken; it competes with new arrivals."""


@final
class IdleOrder(Enum):
    """Which idle connection a checkout takes."""

    FIFO = "fifo"
    """The one given back longest ago."""
    LIFO = "lifo"
    """The one given back most recently."""


@final
class ResetMode(Enum):
    """What the pool does to a connection when its holder gives it back."""

    NONE = "none"
    """Nothing: the next borrower may inherit an open transaction."""
    ROLLBACK_IF_BEGUN = "rollback_if_begun"
    """Roll back only a transaction begun with ``begin()``."""
    ROLLBACK = "rollback"
    """Always roll back."""
    COMMIT = "commit"
    """Always commit."""
    FULL = "full"
    """The driver's own full reset, then the session statements again."""


@final
class Ping(Enum):
    """When the pool checks that a connection is alive."""

    NEVER = "never"
    ON_CHECKOUT = "on_checkout"
    """Before handing out a connection the pool already had."""


def _check_int(name: str, value: object, minimum: int, *, optional: bool) -> None:
    if value is None and optional:
        return
    # bool is an int subclass, and `max_size=True` is always a mistake.
    if not isinstance(value, int) or isinstance(value, bool):
        kind = "an int or None" if optional else "an int"
        raise TypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise PoolConfigError(f"{name} must be >= {minimum}, got {value!r}")


def _check_seconds(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(
            f"{name} must be a number of seconds or None, got {value!r} ({type(value).__name__})"
        )
    if not value > 0:  # also refuses NaN
        raise PoolConfigError(f"{name} must be > 0 seconds, got {value!r}")


def _check_type(name: str, value: object, kind: type) -> None:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise TypeError(f"{name} must be a {kind.__name__}, got {value!r} ({type(value).__name__})")


def _check_statements(name: str, value: object) -> None:
    if not isinstance(value, tuple) or not all(isinstance(s, str) for s in value):
        raise TypeError(f"{name} must be a tuple of str, got {value!r}")


def _check_failures(value: object) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(t, type) and issubclass(t, BaseException) for t in value
    ):
        raise TypeError(f"failures must be a tuple of exception classes, got {value!r}")


@final
@dataclass(frozen=True, slots=True)
class PoolConfig:
    """One pool's policies, validated when built.

    Attributes:
        max_size: hard cap on open connections (idle + in use); None: unlimited.
        idle_cap: most idle connections kept; one given back beyond it is
            closed. None: as many as ``max_size`` allows.
        min_idle: connections opened when the pool is created (prefill).
        block: when exhausted, wait (True) or refuse at once (False).
        timeout: seconds a waiter waits before it is refused; None: forever.
            Only with ``block=True`` (pass ``timeout=None`` with ``block=False``).
        fairness: which waiter gets a freed connection or slot.
        max_waiters: most threads waiting at once; None: unbounded.
        idle_order: which idle connection a checkout takes.
        per_thread: each thread keeps its own connection, and checkout is
            reentrant (only the outermost release resets).
        shared: at the cap, a checkout shares the in-use connection with the
            fewest holders instead of waiting.
        reset: what happens to a connection given back.
        session: statements run on every new, reopened or fully reset
            connection, then committed.
        max_usage: checkouts after which a connection is retired; None: never.
        max_lifetime: seconds after its connect at which a connection is
            retired at its next checkout; None: never.
        max_idle_time: seconds idle after which a connection is retired at its
            next checkout; None: never.
        ping: when liveness is checked.
        failures: exception types that mean "the connection is lost". A
            statement failing with one outside a transaction is run again on a
            reopened connection; inside one the error surfaces and the
            connection is replaced when given back. Empty: errors just surface.
        max_connecting: most connects in progress at once; None: unbounded.
        full_reset_sql: the statement a ``FULL`` reset runs when the driver's
            connection has no ``reset()`` method (psycopg and psycopg2
            connections use ``DISCARD ALL`` when this is None),
            after a rollback and outside a transaction block (in autocommit
            mode where the connection has a boolean ``autocommit``, else
            followed by a commit); with neither, a full reset closes and
            reopens the connection.

    Raises:
        TypeError: a value has the wrong type; the message names it.
        PoolConfigError: a value, or a combination, is not allowed (a
            ``ValueError``); the message names the values.
    """

    max_size: int | None = 5
    idle_cap: int | None = None
    min_idle: int = 0
    block: bool = True
    timeout: float | None = 30.0
    fairness: Fairness = Fairness.FIFO
    max_waiters: int | None = None
    idle_order: IdleOrder = IdleOrder.FIFO
    per_thread: bool = False
    shared: bool = False
    reset: ResetMode = ResetMode.ROLLBACK
    session: tuple[str, ...] = ()
    max_usage: int | None = None
    max_lifetime: float | None = None
    max_idle_time: float | None = None
    ping: Ping = Ping.NEVER
    failures: tuple[type[BaseException], ...] = ()
    max_connecting: int | None = None
    full_reset_sql: str | None = None

    def __post_init__(self) -> None:
        _check_int("max_size", self.max_size, 1, optional=True)
        _check_int("idle_cap", self.idle_cap, 0, optional=True)
        _check_int("min_idle", self.min_idle, 0, optional=False)
        _check_type("block", self.block, bool)
        _check_seconds("timeout", self.timeout)
        _check_type("fairness", self.fairness, Fairness)
        _check_int("max_waiters", self.max_waiters, 0, optional=True)
        _check_type("idle_order", self.idle_order, IdleOrder)
        _check_type("per_thread", self.per_thread, bool)
        _check_type("shared", self.shared, bool)
        _check_type("reset", self.reset, ResetMode)
        _check_statements("session", self.session)
        _check_int("max_usage", self.max_usage, 1, optional=True)
        _check_seconds("max_lifetime", self.max_lifetime)
        _check_seconds("max_idle_time", self.max_idle_time)
        _check_type("ping", self.ping, Ping)
        _check_failures(self.failures)
        _check_int("max_connecting", self.max_connecting, 1, optional=True)
        if self.full_reset_sql is not None:
            _check_type("full_reset_sql", self.full_reset_sql, str)
        if (
            self.max_size is not None
            and self.idle_cap is not None
            and self.idle_cap > self.max_size
        ):
            raise PoolConfigError(
                f"idle_cap must be <= max_size, got idle_cap={self.idle_cap} "
                f"with max_size={self.max_size}"
            )
        room = self.kept_idle
        if room is not None and self.min_idle > room:
            raise PoolConfigError(
                f"min_idle must be <= the idle connections kept ({room}), got {self.min_idle}"
            )
        if not self.block and self.timeout is not None:
            raise PoolConfigError(
                f"timeout applies only when block=True, got timeout={self.timeout} "
                "(pass timeout=None with block=False)"
            )
        if not self.block and self.max_waiters is not None:
            raise PoolConfigError(
                f"max_waiters applies only when block=True, got max_waiters={self.max_waiters}"
            )
        if self.per_thread and self.shared:
            raise PoolConfigError("per_thread and shared are exclusive, got both True")
        if self.per_thread and self.idle_cap is not None:
            raise PoolConfigError(
                f"idle_cap does not apply with per_thread=True (a thread keeps its "
                f"connection), got idle_cap={self.idle_cap}"
            )

    @property
    def kept_idle(self) -> int | None:
        """Most idle connections the pool keeps (None: unbounded)."""
        if self.idle_cap is None:
            return self.max_size
        return self.idle_cap
