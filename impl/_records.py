"""The engine's bookkeeping: one record per connection, per thread, per waiter.

These are small mutable objects with ``__slots__``. Unless a field says
otherwise, it is read and written only under the pool's lock.
"""

from __future__ import annotations

import weakref
from enum import Enum
from typing import Any, final

from ._seams import ConditionLike


@final
class ConnRecord:
    """One open connection the pool accounts for (or a detached one).

    Attributes:
        raw: the driver's connection; replaced in place by a transparent reopen.
        seq: connect order (a reopen takes a new one); shared mode's tie-break.
        created: clock time of the connect (only kept with ``max_lifetime``).
        idle_since: clock time it went idle (only kept with ``max_idle_time``);
            None while checked out.
        uses: checkouts so far.
        holders: handles open on it (shared mode: holders; per-thread: depth).
        bound_idle: per-thread mode: bound to its thread, not checked out.
        txn: uncommitted work may be pending (holder-written, no lock).
        begun: ``begin()`` was called (holder-written, no lock).
        stale: soft-invalidated: retired at its next checkout.
        broken: a configured failure hit it inside a transaction (holder-written).
        gone: the pool no longer accounts for it; its handles are dead.
        closed: the pool closed ``raw`` (guards against a second close).
        detached: it left the accounting; its handles keep working.
        binding: the thread binding that owns it (per-thread mode).
        info: the user's dict, kept as long as the connection.
    """

    __slots__ = (
        "begun",
        "binding",
        "bound_idle",
        "broken",
        "closed",
        "created",
        "detached",
        "gone",
        "holders",
        "idle_since",
        "info",
        "raw",
        "seq",
        "stale",
        "txn",
        "uses",
    )

    def __init__(self, raw: Any, seq: int, created: float) -> None:
        """Record a new connection, held by its first holder."""
        self.raw = raw
        self.seq = seq
        self.created = created
        self.idle_since: float | None = None
        self.uses = 0
        self.holders = 1
        self.bound_idle = False
        self.txn = False
        self.begun = False
        self.stale = False
        self.broken = False
        self.gone = False
        self.closed = False
        self.detached = False
        self.binding: Binding | None = None
        self.info: dict[Any, Any] | None = None


@final
class Binding:
    """One thread's claim on a connection (per-thread mode).

    The binding lives in the thread's ``threading.local``; a weak reference to
    a token stored beside it tells the pool when the thread ended.

    Attributes:
        rec: the connection bound to the thread, or None.
        dead: the thread ended; its connection is closed when free.
        token_ref: keeps the thread-end callback registered.
    """

    __slots__ = ("dead", "rec", "token_ref")

    def __init__(self) -> None:
        """A binding with no connection yet."""
        self.rec: ConnRecord | None = None
        self.dead = False
        self.token_ref: weakref.ref[ThreadToken] | None = None


@final
class ThreadToken:
    """Lives only in a thread's local storage: its death means the thread ended."""

    __slots__ = ("__weakref__",)


@final
class Resolution(Enum):
    """How a waiter's wait ended."""

    HANDOFF = "handoff"
    """A connection was handed over; the waiter runs the checkout gate on it."""
    PERMIT = "permit"
    """A slot was reserved for it; the waiter connects in it."""
    RETRY = "retry"
    """Barging: something may be free; the waiter competes for it."""
    CLOSED = "closed"
    """The pool closed."""
    TIMEOUT = "timeout"
    """Its deadline passed."""
    ABANDONED = "abandoned"
    """The waiter left on an exception of its own (KeyboardInterrupt)."""


@final
class WaitSlot:
    """One waiter's place in line: its own condition on the pool lock, and its resolution.

    Attributes:
        cond: the condition the waiter blocks on.
        deadline: clock time at which it gives up; None: never.
        start: clock time since which its wait is counted.
        timeout: how long it agreed to wait (for the refusal's message).
        outcome: how the wait ended; None while it waits.
        rec: the connection handed over (``HANDOFF``).
    """

    __slots__ = ("cond", "deadline", "outcome", "rec", "start", "timeout")

    def __init__(self, cond: ConditionLike, start: float, deadline: float | None) -> None:
        """A waiter that started waiting at ``start``."""
        self.cond = cond
        self.start = start
        self.deadline = deadline
        self.timeout = None if deadline is None else deadline - start
        self.outcome: Resolution | None = None
        self.rec: ConnRecord | None = None

    def set(self, outcome: Resolution, rec: ConnRecord | None = None) -> bool:
        """Resolve the wait and wake the waiter.

        Returns:
            False if the wait was already resolved (the waiter gave up): the
            caller keeps what it offered and tries the next waiter.
        """
        if self.outcome is not None:
            return False
        self.outcome = outcome
        self.rec = rec
        self.cond.notify()
        return True
