"""The engine's bookkeeping: one record per connection, per thread, per waiter.

These are small mutable objects with ``__slots__``. Unless a field says
otherwise, it is read and written only under the pool's lock.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from enum import Enum
from typing import Any, Generic, Self, TypeVar, final, overload

from ._seams import ConditionLike, LockLike

_T = TypeVar("_T")


@final
class _Uncommon:
    """Where a :class:`ConnRecord` keeps the fields most connections never change.

    Made at the first write of a value other than the default, so a plain
    connection's record stays small (issue 7: pool memory per connection).
    """

    __slots__ = (
        "binding",
        "bound_idle",
        "broken",
        "closed",
        "created",
        "detached",
        "idle_since",
        "info",
        "stale",
    )

    def __init__(self) -> None:
        """Every field at its default."""
        self.binding: Binding | None = None
        self.bound_idle = False
        self.broken = False
        self.closed = False
        self.created = 0.0
        self.detached = False
        self.idle_since: float | None = None
        self.info: dict[Any, Any] | None = None
        self.stale = False


@final
class _UncommonField(Generic[_T]):
    """A ConnRecord attribute stored in its :class:`_Uncommon` part, default until written."""

    __slots__ = ("default", "name")

    def __init__(self, default: _T) -> None:
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, rec: None, owner: type) -> Self: ...

    @overload
    def __get__(self, rec: ConnRecord, owner: type) -> _T: ...

    def __get__(self, rec: ConnRecord | None, owner: type) -> _T | Self:
        if rec is None:
            return self
        uncommon = rec.uncommon
        if uncommon is None:
            return self.default
        value: _T = getattr(uncommon, self.name)
        return value

    def __set__(self, rec: ConnRecord, value: _T) -> None:
        uncommon = rec.uncommon
        if uncommon is None:
            if value == self.default:
                return
            uncommon = rec.uncommon = _Uncommon()
        setattr(uncommon, self.name, value)


@final
class ConnRecord:
    """One open connection the pool accounts for (or a detached one).

    Attributes:
        raw: the driver's connection; replaced in place by a transparent reopen.
        seq: connect order (a reopen takes a new one); shared mode's tie-break.
        uses: checkouts so far (counted only where ``max_usage`` needs it).
        holders: handles open on it (shared mode: holders; per-thread: depth).
        txn: uncommitted work may be pending (holder-written, no lock).
        begun: ``begin()`` was called (holder-written, no lock).
        gone: the pool no longer accounts for it; its handles are dead.
        uncommon: where the fields below live once one of them is written
            with a value other than its default; None: all at their defaults
            (the hot path reads this instead of ``stale``, ``detached`` and
            ``broken`` one by one).
        created: clock time of the connect (only kept with ``max_lifetime``).
        idle_since: clock time it went idle (only kept with ``max_idle_time``);
            None while checked out.
        bound_idle: per-thread mode: bound to its thread, not checked out.
        stale: soft-invalidated: retired at its next checkout.
        broken: a configured failure hit it inside a transaction (holder-written).
        closed: the pool closed ``raw`` (guards against a second close).
        detached: it left the accounting; its handles keep working.
        binding: the thread binding that owns it (per-thread mode).
        info: the user's dict, kept as long as the connection.
    """

    __slots__ = ("begun", "gone", "holders", "raw", "seq", "txn", "uncommon", "uses")

    created = _UncommonField(0.0)
    idle_since: _UncommonField[float | None] = _UncommonField(None)
    bound_idle = _UncommonField(False)
    stale = _UncommonField(False)
    broken = _UncommonField(False)
    closed = _UncommonField(False)
    detached = _UncommonField(False)
    binding: _UncommonField[Binding | None] = _UncommonField(None)
    info: _UncommonField[dict[Any, Any] | None] = _UncommonField(None)

    def __init__(self, raw: Any, seq: int, created: float) -> None:
        """Record a new connection, held by its first holder."""
        self.raw = raw
        self.seq = seq
        self.uses = 0
        self.holders = 1
        self.txn = False
        self.begun = False
        self.gone = False
        self.uncommon: _Uncommon | None = None
        self.created = created  # noqa: PLE0237 - a descriptor on the class, not a slot


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
class Signal:
    """A waiter's wake-up on real time: a lock that stays held until someone notifies.

    With the default seams (``SystemClock`` and ``DefaultSync``) a waiter
    blocks on this instead of a condition on the pool lock: waking it costs
    one lock release, and it does not retake the pool lock to find out why.
    Its wait slot keeps it for every wait the slot serves; every wait ends
    with it held again (:meth:`rearm`).

    Attributes:
        notify: wake the waiter (called by whoever resolves its slot, pool lock held).
        block: ``block(True, timeout)`` is :meth:`wait` with a timeout, for
            the pool's hot path.
    """

    __slots__ = ("_lock", "block", "notify")

    def __init__(self, lock: LockLike) -> None:
        """A signal on ``lock`` (a fresh one from the ``Sync`` seam), which it takes now."""
        self._lock = lock
        lock.acquire()
        # the lock's own release and acquire: C calls, no Python frame on the hand-off path
        self.notify: Callable[[], None] = self._lock.release
        self.block: Callable[[bool, float], bool] = self._lock.acquire

    def wait(self, timeout: float | None) -> bool:
        """Block until notified or ``timeout`` real seconds (> 0; None: forever) pass.

        Returns:
            Whether it was notified (and is held again).
        """
        if timeout is None:
            return self._lock.acquire()
        return self._lock.acquire(True, timeout)

    def rearm(self) -> None:
        """Hold it again after a notification the waiter did not wait for (no-op if held)."""
        self._lock.acquire(False)


@final
class WaitSlot:
    """One waiter's place in line: what wakes it, and its resolution.

    When a wait is over (resolved, out of line, its waker held again) the
    waiter puts its slot on the pool's spares, and the next wait, of any
    thread, reuses it (the pool resets its fields when it queues it again),
    so a wait allocates nothing. A slot whose wait ended in an exception
    (a timeout, an interrupt) is not reused.

    Attributes:
        cond: what the waiter blocks on: its condition on the pool lock, or
            (default seams) its :class:`Signal`.
        deadline: clock time at which it gives up; None: never.
        start: clock time since which its wait is counted.
        timeout: how long it agreed to wait (for the refusal's message).
        outcome: how the wait ended; None while it waits.
        rec: the connection handed over (``HANDOFF``); None again once the
            waiter took it (or gave it back).
    """

    __slots__ = ("cond", "deadline", "outcome", "rec", "start", "timeout")

    def __init__(self, cond: ConditionLike | Signal, start: float, deadline: float | None) -> None:
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
