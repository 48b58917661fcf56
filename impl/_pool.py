"""The pool: one lock, decisions under it, driver calls outside it.

Every locked section decides and returns (a connection to validate, a slot to
connect in, a connection to close, a waiter to wake); the caller then makes
the driver calls. Each section is labelled with what it decides. Every path
that holds a slot, a connection or a wait slot catches ``BaseException`` and
gives it back before re-raising; so does every section whose decision an
interrupt could strand right after it unlocks (or while it wakes a waiter):
what it decided is still placed (handed out, put back, closed, or its slot
freed) before the interrupt goes on.

The semantics are the model's (``model/_transitions.py``), operation by
operation:

1. Checkout: an idle connection (FIFO or LIFO), else a new one while under the
   cap, else (shared mode) the least shared one in use, else refuse or wait.
   A connection the pool already had passes the checkout gate first
   (:meth:`Pool._validate`): retired if due, else pinged if configured; a
   retired or failed one is closed and a replacement connected in its slot.
2. Return: closed pool or broken connection: close it. Else reset it; then
   per-thread mode keeps it bound to its thread, else the oldest waiter gets
   it (it runs the gate in its own thread), else it goes idle or, beyond the
   idle cap, is closed.
3. A freed slot (close, invalidate, detach, failed connect...) goes to the
   oldest waiter, which connects in it in its own thread; if that connect
   fails, its error reaches that waiter and the next waiter tries.

The hot path: a plain pool (one holder per connection, no checkout gate, no
listeners) checks out in :meth:`Pool.acquire` and takes connections back in
:meth:`Pool._release`, one short locked section each; a checkout that finds
the pool at its cap queues there too. Waiters block on their thread's
:class:`~impl._records.Signal` with the default seams (a lock whoever resolves
the slot releases: the woken thread needs no pool lock), else on a condition
from the ``Sync`` seam through the ``Clock`` seam, so manual clocks and the
race scheduler see every wait. A FIFO hand-off with the default seams stays on
the hot path end to end (issue 7): the return resolves the oldest waiter
itself, the waiter queues a spare :class:`~impl._records.WaitSlot` a finished
wait left (no allocation per wait) and blocks and wakes inline in
:meth:`Pool.acquire`.

Listeners are notifications: they run outside the lock, after the state they
describe is settled, and an ``Exception`` they raise is logged and ignored so
a faulty listener cannot corrupt the pool. A ``BaseException`` propagates,
after the pool gave back whatever the operation held.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
import threading
import warnings as _warnings
import weakref
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import CodeType, TracebackType
from typing import Any, Protocol, cast, final

from ._config import Fairness, IdleOrder, Ping, PoolConfig, ResetMode
from ._errors import (
    ForeignConnection,
    PoolClosed,
    PoolConfigError,
    PoolExhausted,
    PoolMisuse,
    PoolTimeout,
    TooManyWaiters,
)
from ._handle import PooledConnection, SiteRecording, new_handle
from ._records import Binding, ConnRecord, Resolution, Signal, ThreadToken, WaitSlot
from ._seams import Clock, ConditionLike, DefaultSync, Sync, SystemClock

_log = logging.getLogger(__name__)

#: A listener: called with the pool and the driver connection (None for ``pool_closed``).
Listener = Callable[["Pool", Any], object]

#: The events a listener may subscribe to.
EVENTS = frozenset(
    {"connect", "checkout", "checkin", "reset", "invalidate", "detach", "close", "pool_closed"}
)


class DBAPIModule(Protocol):
    """A DB-API 2 module, as far as the pool uses one."""

    @property
    def apilevel(self) -> str:
        """The DB-API level, ``"2.0"``."""
        ...

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        """Open a connection."""
        ...


@final
class _Default(Enum):
    """The sentinel for "use the configured timeout"."""

    TIMEOUT = "config default"


_DEFAULT = _Default.TIMEOUT


@final
class _Action(Enum):
    """What a checkout decided under the lock."""

    VALIDATE = "validate"  # a connection the pool had: run the gate
    CONNECT = "connect"  # a reserved slot: connect in it
    JOIN = "join"  # shared mode: join a connection in use
    REENTER = "reenter"  # per-thread mode: nested checkout
    WAIT = "wait"  # queued: wait for a resolution


#: Enum members the hot paths read, bound once: on CPython 3.11 reading a
#: member through its class (``Resolution.HANDOFF``) costs more than a lock round trip.
_HANDOFF = Resolution.HANDOFF
_TIMEOUT = Resolution.TIMEOUT
_PERMIT = Resolution.PERMIT
_RETRY = Resolution.RETRY
_VALIDATE = _Action.VALIDATE
_ROLLBACK = ResetMode.ROLLBACK


@final
@dataclass(frozen=True, slots=True)
class PoolStats:
    """A consistent snapshot of the pool's counters.

    Attributes:
        idle: connections idle (per-thread mode: bound to a thread that is not
            using them included).
        in_use: connections checked out (or being connected, validated,
            reset or closed for a checkout or a return).
        waiting: threads waiting for a connection.
        open: connections accounted for: ``idle + in_use``; detached ones are not.
        created: connects that succeeded (session statements included).
        closed: accounted-for connections the pool closed.
        timeouts: waiters refused because their timeout expired.
        failed_connects: connects (or their session statements) that raised.
        wait_time: total seconds waiters waited, by the pool's clock.
    """

    idle: int
    in_use: int
    waiting: int
    open: int
    created: int
    closed: int
    timeouts: int
    failed_connects: int
    wait_time: float


def _connector(
    creator: Callable[[], Any] | DBAPIModule,
    config: PoolConfig,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any] | None,
) -> Callable[[], Any]:
    """The zero-argument function that opens one driver connection."""
    if hasattr(creator, "connect") and hasattr(creator, "apilevel"):
        name = getattr(creator, "__name__", type(creator).__name__)
        if getattr(creator, "threadsafety", 1) == 0 and not config.per_thread:
            raise PoolConfigError(
                f"DB-API module {name!r} has threadsafety 0: its connections must not "
                "move between threads; use per_thread=True"
            )
        connect = creator.connect
        kw = dict(kwargs or {})
        return lambda: connect(*args, **kw)
    if not callable(creator):
        raise TypeError(
            f"creator must be a zero-argument callable or a DB-API module, got {creator!r}"
        )
    if args or kwargs:
        raise TypeError(
            "connect_args and connect_kwargs apply only when creator is a DB-API module"
        )
    return creator


@final
class Pool:
    """A thread-safe pool of DB-API 2 connections with the model's semantics.

    Use :meth:`acquire` (or :meth:`connection`) to check out a
    :class:`PooledConnection`; close it to give it back.
    """

    __slots__ = (
        "__weakref__",
        "_bindings",
        "_block",
        "_bound_idle",
        "_clock",
        "_closed",
        "_closed_count",
        "_config",
        "_connect",
        "_connect_cond",
        "_connecting",
        "_created",
        "_failed_connects",
        "_failures",
        "_fifo_fair",
        "_gated",
        "_handle",
        "_idle",
        "_kept_idle",
        "_lifo",
        "_listeners",
        "_local",
        "_lock",
        "_max_size",
        "_native",
        "_now",
        "_open",
        "_orphans",
        "_per_thread",
        "_queue_at",
        "_quick_back",
        "_quick_handoff",
        "_quick_out",
        "_quick_reset",
        "_seq",
        "_sharing",
        "_sites",
        "_spare",
        "_sync",
        "_timeouts",
        "_wait_time",
        "_waiters",
    )

    def __init__(
        self,
        creator: Callable[[], Any] | DBAPIModule,
        config: PoolConfig | None = None,
        *,
        clock: Clock | None = None,
        sync: Sync | None = None,
        connect_args: tuple[Any, ...] = (),
        connect_kwargs: Mapping[str, Any] | None = None,
        **config_fields: Any,
    ) -> None:
        """Create a pool and open its ``min_idle`` connections.

        Args:
            creator: a zero-argument callable returning a DB-API 2 connection,
                or a DB-API 2 module (``connect`` and ``apilevel``), whose
                ``connect(*connect_args, **connect_kwargs)`` is called.
            config: the policies; or pass them as keyword arguments instead.
            clock: where time is read and waited on (default: real time).
            sync: where the lock and conditions come from (default: threading).
            connect_args: positional arguments for a DB-API module's ``connect``.
            connect_kwargs: keyword arguments for a DB-API module's ``connect``.
            **config_fields: ``PoolConfig`` fields, when ``config`` is not given.

        Raises:
            TypeError: both ``config`` and config fields, a bad creator, or a
                config field of the wrong type.
            PoolConfigError: a bad config value, or a module with
                ``threadsafety == 0`` without ``per_thread=True``.
            Exception: the driver's error from a prefill connect (every
                connection opened so far is closed first).
        """
        if config is None:
            config = PoolConfig(**config_fields)
        elif config_fields:
            raise TypeError(
                f"pass either config or config fields, not both: got config and "
                f"{', '.join(sorted(config_fields))}"
            )
        elif not isinstance(config, PoolConfig):
            raise TypeError(f"config must be a PoolConfig, got {config!r}")
        self._connect = _connector(creator, config, connect_args, connect_kwargs)
        self._config = config
        self._clock: Clock = SystemClock() if clock is None else clock
        # the clock's reading, looked up once (every reading goes through it):
        # SystemClock's is time.monotonic itself
        self._now: Callable[[], float] = self._clock.now
        self._sync: Sync = DefaultSync() if sync is None else sync
        self._lock = self._sync.lock()
        # real time and threading's own primitives: waiters block on a Signal
        self._native = type(self._clock) is SystemClock and type(self._sync) is DefaultSync
        self._connect_cond = (
            None if config.max_connecting is None else self._sync.condition(self._lock)
        )
        # Policies read on the hot path, flattened.
        self._max_size = config.max_size
        self._kept_idle = config.kept_idle
        self._lifo = config.idle_order is IdleOrder.LIFO
        self._fifo_fair = config.fairness is Fairness.FIFO
        self._block = config.block
        self._per_thread = config.per_thread
        self._failures = config.failures
        # the handle class made per checkout; a front door may set a subclass (DBUtils)
        self._handle: type[PooledConnection] = PooledConnection
        # whether checkouts record their site (from the warning filters in force)
        self._sites = SiteRecording()
        self._gated = (
            config.ping is Ping.ON_CHECKOUT
            or config.max_usage is not None
            or config.max_lifetime is not None
            or config.max_idle_time is not None
        )
        # the hot return's reset: ROLLBACK or COMMIT (one call), else None (none, or not quick)
        self._quick_reset = (
            config.reset if config.reset in (ResetMode.ROLLBACK, ResetMode.COMMIT) else None
        )
        # State, guarded by the lock.
        self._idle: deque[ConnRecord] = deque()
        self._waiters: deque[WaitSlot] = deque()
        self._sharing: list[ConnRecord] | None = [] if config.shared else None
        self._bindings: set[Binding] = set()
        self._open = 0  # slots taken: idle + in use + connecting; detached excluded
        self._bound_idle = 0
        self._connecting = 0
        self._closed = False
        self._seq = 0
        self._created = 0
        self._closed_count = 0
        self._timeouts = 0
        self._failed_connects = 0
        self._wait_time = 0.0
        self._listeners: dict[str, tuple[Listener, ...]] = {}
        self._quick_out = self._quick_back = self._quick_handoff = False
        self._queue_at = sys.maxsize
        self._update_quick_locked()
        # Wait slots whose waits are over, for the next waits to reuse (no
        # allocation per wait); at most as many as ever waited at once.
        self._spare: list[WaitSlot] = []
        # Each thread's binding (per-thread mode); the bindings of ended threads.
        self._local = threading.local()
        self._orphans: deque[Binding] = deque()
        self._prefill(config.min_idle)

    def _update_quick_locked(self) -> None:
        """Decide whether checkouts and returns may take the hot path (lock held).

        The hot path (:meth:`acquire`, :meth:`_release`) serves an open pool
        without listeners whose connections have one holder each, no checkout
        gate and a reset of at most one call. Called when the listeners change
        and when the pool closes; the hot path reads the flags without the lock
        and re-checks under it what a concurrent change could break.
        """
        config = self._config
        plain = (
            not config.per_thread and not config.shared and not self._listeners and not self._closed
        )
        self._quick_out = plain and not self._gated
        # the hot path may also queue a checkout that finds this many open (the cap)
        queue = config.block and config.max_size is not None and config.max_waiters is None
        self._queue_at = config.max_size if queue and config.max_size is not None else sys.maxsize
        self._quick_back = plain and config.max_idle_time is None and config.reset in _QUICK_RESETS
        # the hot return may hand a connection to the oldest waiter itself (read
        # under the lock: it also says the pool is open)
        self._quick_handoff = self._native and self._fifo_fair and not self._closed

    def _prefill(self, count: int) -> None:
        """Open ``count`` idle connections (CAP-3); on failure close them and re-raise."""
        try:
            for _ in range(count):
                with self._lock:  # decide: a slot for one prefill connection
                    self._open += 1
                try:
                    rec = self._open_record(None)
                except BaseException:
                    with self._lock:  # decide: the slot frees again
                        self._open -= 1
                    raise
                rec.holders = 0
                try:
                    rec.idle_since = self._stamp_idle()
                finally:  # even when interrupted: close() below closes it
                    with self._lock:  # decide: it is idle
                        self._idle.append(rec)
        except BaseException:
            self.close()  # every connection opened so far is idle: it closes
            raise

    # -- public API ----------------------------------------------------------

    @property
    def config(self) -> PoolConfig:
        """The pool's policies."""
        return self._config

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def acquire(
        self, timeout: float | _Default | None = _DEFAULT, stacklevel: int = 1
    ) -> PooledConnection:
        """Check out a connection.

        Args:
            timeout: seconds to wait at most when exhausted (None: forever);
                default: the configured ``timeout``. Only with ``block=True``.
            stacklevel: whose frame the handle records as its checkout site
                (``checked_out_at``, named when a handle is dropped): 1 is the
                caller of ``acquire``; a front door passes 2 so the site is its
                own caller's, as ``warnings.warn`` does. The hot front doors
                pass it by position: a call with a keyword argument costs
                CPython 3.11 more than one without.

        Returns:
            A handle; close it (or use it as a context manager) to give it back.

        Raises:
            PoolClosed: the pool is closed, or was closed while waiting.
            PoolExhausted: nothing free and ``block=False``.
            TooManyWaiters: ``max_waiters`` threads wait already.
            PoolTimeout: nothing came free within the timeout.
            PoolMisuse: per-thread mode: this thread's connection is being
                given back by another thread right now.
            ValueError: a bad ``timeout``, or a ``stacklevel`` deeper than the
                stack (while sites are recorded).
            TypeError: a ``timeout`` that is not a number.
            Exception: the driver's error from a connect this checkout needed.
        """
        # The checkout site first, before anything is taken, and only while a
        # ResourceWarning could name it (SiteRecording): recording it costs a
        # tenth of a checkout, and Python ignores that warning by default.
        sites = self._sites
        filters = _warnings.filters
        if filters is not sites.filters:  # replaced (catch_warnings): read it
            sites.read(filters)
        if sites.on:
            frame = sys._getframe(stacklevel)
            code, lasti = frame.f_code, frame.f_lasti
        else:
            code, lasti = None, 0
        taken = slot = None
        if self._quick_out and timeout is _DEFAULT:
            # acquire/release rather than ``with``: half the cost on CPython 3.11
            lock = self._lock
            try:
                lock.acquire()  # decide: the idle connection to hand out, or queue at the cap
                try:
                    # no closed check: close() empties the idle deque, and nothing goes idle after
                    idle = self._idle
                    if idle:
                        taken = idle.pop() if self._lifo else idle.popleft()
                        taken.holders = 1  # its only holder; ``uses`` counts only with max_usage
                    elif self._open >= self._queue_at and not self._closed:
                        spare = self._spare
                        if not spare:
                            slot = self._queue_locked(self._config.timeout)
                        else:  # as _queue_locked does it: a finished wait's slot, reused
                            mine = spare.pop()
                            start = self._now()
                            wait_for = self._config.timeout
                            mine.start = start
                            mine.deadline = None if wait_for is None else start + wait_for
                            mine.timeout = wait_for
                            mine.outcome = None  # its rec: cleared by whoever took it
                            self._waiters.append(mine)
                            slot = mine  # queued: from here an interrupt takes it out of line
                finally:
                    lock.release()
            except BaseException:
                # interrupted right after unlocking: give back what was decided
                self._undo_checkout(_VALIDATE if taken is not None else _Action.WAIT, taken, slot)
                raise
            if slot is not None:
                # at the cap: wait in line; a hand-off is served here, the rest below
                if self._native:
                    # as _wait_signal does it, without its frame (nor Signal.wait's),
                    # and without reading the clock: the slot was queued just now,
                    # so its whole timeout is still ahead (it may expire a few
                    # microseconds late, never early)
                    try:
                        wait_for = slot.timeout
                        if wait_for is None:
                            slot.cond.wait(None)
                        elif not slot.cond.block(True, wait_for):  # type: ignore[union-attr]  # native: a Signal
                            self._expire_signal(slot)
                    except BaseException:
                        self._leave_signal(slot)
                        raise
                    outcome = slot.outcome
                    if outcome is _HANDOFF:  # handed to this thread: the tail below
                        taken = slot.rec  # not None: the tail below takes it
                        slot.rec = None
                    else:
                        resolved, taken = self._action_for(slot, outcome)
                else:
                    resolved, taken = self._await(slot)
                if taken is None:  # a slot to connect in, or (barging) a retry
                    return self._checkout(timeout, code, lasti, None, slot, resolved)
            # its holders: 1 (set above, or by a hand-off's giver); uncommon None: not stale
            if taken is not None and (taken.uncommon is None or not taken.stale):
                if slot is not None:  # its wait is over, nobody holds it: reusable
                    self._spare.append(slot)  # (else _checkout puts it back, once)
                # new_handle's work without its frame: an empty handle, then its slots
                handle = self._handle()
                handle._rec = taken
                handle._pool = self
                handle._code = code
                handle._lasti = lasti
                return handle
        return self._checkout(timeout, code, lasti, taken, slot)

    #: Check out a connection: the same as :meth:`acquire` (an alias, so the
    #: checkout site recorded is the caller's).
    connection = acquire

    def release(self, conn: PooledConnection) -> None:
        """Give back a connection: the same as ``conn.close()``, checking it comes from here.

        Raises:
            TypeError: ``conn`` is not a pooled connection handle.
            ForeignConnection: ``conn`` was checked out from another pool.
            ConnectionReleased: ``conn`` was already released.
        """
        if not isinstance(conn, PooledConnection):
            raise TypeError(f"release() takes a PooledConnection, got {conn!r}")
        if conn._pool is not self:
            raise ForeignConnection(f"{conn!r} belongs to another pool ({conn._pool!r})")
        conn.close()

    def stats(self) -> PoolStats:
        """A consistent snapshot of the counters; idle + in_use == open always (STAT-1).

        Housekeeping first: waiters past their deadline are refused, and the
        connections of threads that ended are closed (per-thread mode).
        """
        if self._orphans:
            self._sweep()
        with self._lock:  # decide: nothing; expire overdue waiters, read the counters
            if self._waiters:
                self._expire_locked(self._now())
            idle = len(self._idle) + self._bound_idle
            return PoolStats(
                idle=idle,
                in_use=self._open - idle,
                waiting=len(self._waiters),
                open=self._open,
                created=self._created,
                closed=self._closed_count,
                timeouts=self._timeouts,
                failed_connects=self._failed_connects,
                wait_time=self._wait_time,
            )

    def close(self) -> None:
        """Close the pool (CLOSE-1): idle connections close, waiters are refused.

        Later checkouts raise ``PoolClosed``; connections checked out now are
        closed when given back. Closing twice does nothing.
        """
        doomed: list[ConnRecord] = []
        try:
            with self._lock:  # decide: the pool is closed; which idle ones close; refuse waiters
                if self._closed:
                    return
                self._closed = True
                self._update_quick_locked()
                doomed = self._take_idle_locked()
                if self._waiters:
                    now = self._now()
                    waiters = list(self._waiters)
                    self._waiters.clear()
                    self._resolve_each_locked(waiters, Resolution.CLOSED, now)
        finally:  # even when interrupted right after unlocking
            self._orphans.clear()  # their bindings' connections close below or on return
            self._discard_all(doomed)
        if self._listeners:
            self._fire("pool_closed", None)

    def dispose(self) -> None:
        """Close the idle connections; the pool stays usable and keeps its cap (CLOSE-3).

        Freed slots go to waiters, which connect in them.
        """
        if self._orphans:
            self._sweep()
        doomed: list[ConnRecord] = []
        try:
            with self._lock:  # decide: which idle connections close
                if self._closed:
                    return
                doomed = self._take_idle_locked()
        finally:  # even when interrupted right after unlocking
            self._discard_all(doomed)

    def end_thread(self) -> None:
        """Per-thread mode: the calling thread gives up its bound connection, which closes (AFF-3).

        Call it when a thread is about to end; a thread that ends without it
        has its connection closed at the pool's next checkout, ``stats()``,
        ``dispose()`` or ``close()``. Does nothing outside per-thread mode or
        when the thread has no connection.

        Raises:
            PoolMisuse: the thread still has its connection checked out.
        """
        if not self._per_thread:
            return
        if self._orphans:
            self._sweep()
        binding: Binding | None = getattr(self._local, "binding", None)
        if binding is None:
            return
        doomed = None
        try:
            with self._lock:  # decide: the thread's idle bound connection closes
                rec = binding.rec
                if rec is None:
                    return
                if not rec.bound_idle:
                    raise PoolMisuse(
                        f"end_thread() while this thread has its connection checked out "
                        f"({rec.holders} handle(s) open)"
                    )
                self._unbind_idle_locked(rec)
                doomed = rec
        finally:  # even when interrupted right after unlocking
            if doomed is not None:
                self._discard(doomed)

    def add_listener(self, event: str, fn: Listener) -> None:
        """Call ``fn(pool, driver_connection)`` on ``event`` (``pool_closed``: connection None).

        Events: connect, checkout, checkin, reset, invalidate, detach, close,
        pool_closed. Listeners run outside the lock; an ``Exception`` they
        raise is logged and ignored.

        Raises:
            ValueError: an unknown event.
            TypeError: ``fn`` is not callable.
        """
        if not isinstance(event, str) or event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; known: {', '.join(sorted(EVENTS))}")
        if not callable(fn):
            raise TypeError(f"a listener must be callable, got {fn!r}")
        with self._lock:  # decide: the new listener list
            self._listeners[event] = (*self._listeners.get(event, ()), fn)
            self._update_quick_locked()

    def remove_listener(self, event: str, fn: Listener) -> None:
        """Stop calling ``fn`` on ``event``.

        Raises:
            ValueError: ``fn`` does not listen to ``event``.
        """
        with self._lock:  # decide: the shorter listener list
            fns = list(self._listeners.get(event, ()))
            if fn not in fns:
                raise ValueError(f"{fn!r} does not listen to {event!r}")
            fns.remove(fn)
            if fns:
                self._listeners[event] = tuple(fns)
            else:
                del self._listeners[event]
            self._update_quick_locked()

    def __enter__(self) -> Pool:
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
        return (
            f"<Pool {'closed' if self._closed else 'open'}: {self._open} open, "
            f"max_size={self._max_size}>"
        )

    # -- checkout ------------------------------------------------------------------

    def _checkout(
        self,
        timeout: float | _Default | None,
        code: CodeType | None,
        lasti: int,
        taken: ConnRecord | None = None,
        slot: WaitSlot | None = None,
        resolved: _Action | None = None,
    ) -> PooledConnection:
        """The general checkout, or the rest of one the hot path began.

        ``taken``: an idle or handed-over connection the hot path took.
        ``slot``: the wait slot the hot path queued the checkout in, and
        ``resolved`` what its wait came to: CONNECT (a slot to connect in) or
        WAIT (barging: decide again).
        """
        wait_for: float | None
        if timeout is _DEFAULT:
            wait_for = self._config.timeout
        else:
            wait_for = timeout
            if wait_for is not None:
                if not self._block:
                    raise ValueError(
                        f"timeout applies only when block=True, got timeout={wait_for}"
                    )
                if isinstance(wait_for, bool) or not isinstance(wait_for, int | float):
                    raise TypeError(
                        f"timeout must be a number of seconds or None, got {wait_for!r}"
                    )
                if not wait_for > 0:
                    raise ValueError(f"timeout must be > 0 seconds or None, got {wait_for!r}")
        binding = None
        if self._per_thread:
            if self._orphans:
                self._sweep()
            binding = self._binding()
        rec: ConnRecord | None = None
        deadline = None
        if self._connect_cond is not None and wait_for is not None and slot is None:
            # the whole checkout, a wait for a connect to start included, has one deadline
            deadline = self._now() + wait_for
        action: _Action
        while taken is None:
            if resolved is _Action.CONNECT:
                action = _Action.CONNECT
                break
            decided = None
            try:
                with self._lock:  # decide: reenter, validate one we had, connect, share, or queue
                    decided = self._decide_locked(binding, wait_for, deadline, slot)
            except BaseException:
                if decided is not None:  # interrupted right after unlocking: give it back
                    self._undo_checkout(*decided)
                raise
            action, rec, slot = decided
            if action is _Action.WAIT:
                assert slot is not None
                action, rec = self._await(slot)
                if action is _Action.WAIT:
                    continue  # barging: woken to compete; decide again
            break
        else:
            action, rec = _Action.VALIDATE, taken
        if slot is not None:
            deadline = slot.deadline
            # its wait is over (resolved, out of line, its signal held again) and
            # nothing below reads it: the next wait may reuse it
            self._spare.append(slot)
        if action is _Action.VALIDATE:
            assert rec is not None
            if rec.stale or self._gated:
                rec = self._validate(rec, deadline, binding)
            rec.uses += 1
        elif action is _Action.CONNECT:
            rec = self._connect_in_slot(deadline, binding)
            rec.uses = 1
        assert rec is not None
        if (binding is not None and binding.rec is not rec) or (
            self._sharing is not None and action is not _Action.JOIN
        ):
            try:
                self._bind(rec, binding)
            except BaseException:
                self._release(rec)  # bound even when interrupted: give it back
                raise
        handle = new_handle(self._handle, self, rec, code, lasti)
        if self._listeners:
            try:
                self._fire("checkout", rec.raw)
            except BaseException:
                handle.close()
                raise
        return handle

    def _decide_locked(
        self,
        binding: Binding | None,
        timeout: float | None,
        deadline: float | None,
        slot: WaitSlot | None,
    ) -> tuple[_Action, ConnRecord | None, WaitSlot | None]:
        """The checkout decision (lock held); the cases in order, as the model's ``acquire``."""
        if self._closed:
            raise PoolClosed("the pool is closed")
        if binding is not None and (rec := binding.rec) is not None:
            if rec.holders:
                rec.holders += 1  # AFF-2: nested checkout, no driver call
                return _Action.REENTER, rec, slot
            if not rec.bound_idle:
                raise PoolMisuse("this thread's connection is being given back by another thread")
            self._unbind_idle_locked(rec)
            rec.holders = 1
            return _Action.VALIDATE, rec, slot
        idle = self._idle
        if idle:
            rec = idle.pop() if self._lifo else idle.popleft()
            rec.holders = 1
            return _Action.VALIDATE, rec, slot
        max_size = self._max_size
        if max_size is None or self._open < max_size:
            self._open += 1
            return _Action.CONNECT, None, slot
        if self._sharing:
            # EXCL-4: share the least shared connection, the oldest among equals
            rec = min(self._sharing, key=_share_key)
            rec.holders += 1
            rec.uses += 1
            rec.idle_since = None
            return _Action.JOIN, rec, slot
        if not self._block:
            in_use = self._open - len(idle) - self._bound_idle
            raise PoolExhausted(
                f"no connection free and block=False: {in_use} of {max_size} in use"
            )
        if slot is None:
            limit = self._config.max_waiters
            if limit is not None and len(self._waiters) >= limit:
                raise TooManyWaiters(
                    f"{len(self._waiters)} threads wait already, max_waiters={limit}"
                )
            slot = self._queue_locked(timeout, deadline)
        else:
            # barging: a woken waiter that lost the race keeps its seniority
            slot.outcome = None
            self._waiters.appendleft(slot)
        return _Action.WAIT, None, slot

    def _undo_checkout(
        self, action: _Action, rec: ConnRecord | None, slot: WaitSlot | None
    ) -> None:
        """Give back what a checkout decided when an interrupt came right after the decision.

        The interrupt arrived once the lock was released, so the caller never
        uses what was decided: a connection taken goes back (to its thread, to
        the oldest waiter, or idle), a reserved slot frees for the next waiter,
        a queued wait leaves the line (giving back what it was handed
        meanwhile), a nested or shared hold ends. The caller re-raises the
        interrupt; a second one while locking here is dropped in its favour.
        """
        if rec is None and slot is None and action is not _Action.CONNECT:
            return  # nothing was decided
        give_back: list[ConnRecord] = []
        last_holder = False
        self._lock_anyway()
        try:  # decide: undo the checkout's decision
            if action is _Action.WAIT:
                assert slot is not None
                self._abandon_locked(slot, give_back)
            elif action is _Action.CONNECT:
                self._open -= 1
                self._serve_locked()
            else:
                assert rec is not None
                if action is _Action.VALIDATE:
                    rec.holders = 0
                    doomed = self._give_locked(rec)
                    if doomed is not None:
                        give_back.append(doomed)
                elif rec.holders > 1:  # JOIN, REENTER: the other holders keep it
                    rec.holders -= 1
                    if action is _Action.JOIN:
                        rec.uses -= 1
                else:
                    last_holder = True  # the others gave it back meanwhile
        finally:
            try:
                self._lock.release()
            finally:  # even when interrupted again right after unlocking
                self._discard_all(give_back)
        if last_holder:
            assert rec is not None
            self._release(rec)

    def _queue_locked(self, timeout: float | None, deadline: float | None = None) -> WaitSlot:
        """Queue the calling thread as the newest waiter (lock held); ``deadline`` wins if given."""
        start = self._now()
        if deadline is None and timeout is not None:
            deadline = start + timeout
        spare = self._spare
        if not spare:
            slot = WaitSlot(self._waker(), start, deadline)
        else:
            # a slot whose wait is over and that nobody holds: reuse it
            slot = spare.pop()
            slot.start = start
            slot.deadline = deadline
            slot.timeout = None if deadline is None else deadline - start
            slot.outcome = None
            slot.rec = None
        self._waiters.append(slot)
        return slot

    def _await(self, slot: WaitSlot) -> tuple[_Action, ConnRecord | None]:
        """Wait until the slot is resolved; translate the resolution into an action.

        Raises:
            PoolTimeout: its deadline passed.
            PoolClosed: the pool closed meanwhile.
        """
        if self._native:
            return self._action_for(slot, self._wait_signal(slot))
        # other seams: the slot's condition on the pool lock, waited on through the clock
        give_back: list[ConnRecord] = []
        try:
            try:
                self._lock.acquire()
            except BaseException:
                self._lock_anyway()  # interrupted while locking: leave the line first
                try:  # decide: give back what it was handed, or leave the line
                    self._abandon_locked(slot, give_back)
                finally:
                    self._lock.release()
                raise
            abandoned = False
            try:
                try:  # decide: wait for this slot's resolution; expire it when due
                    outcome = self._wait_locked(slot)
                except BaseException:
                    abandoned = True
                    self._abandon_locked(slot, give_back)
                    raise
                finally:
                    self._lock.release()
            except BaseException:
                if not abandoned:  # interrupted right after unlocking: leave the line
                    self._lock_anyway()
                    try:  # decide: give back what it was handed
                        self._abandon_locked(slot, give_back)
                    finally:
                        self._lock.release()
                raise
        finally:
            if give_back:
                self._discard_all(give_back)
        return self._action_for(slot, outcome)

    def _action_for(
        self, slot: WaitSlot, outcome: Resolution | None
    ) -> tuple[_Action, ConnRecord | None]:
        """What a resolved wait (``outcome`` set) means: validate, connect, or decide again.

        Raises:
            PoolTimeout: its deadline passed.
            PoolClosed: the pool closed meanwhile.
        """
        if outcome is _HANDOFF:
            rec = slot.rec
            slot.rec = None  # the connection is the caller's now, not the slot's
            return _VALIDATE, rec
        assert outcome is not None, "a wait ends resolved"
        if outcome is Resolution.PERMIT:
            return _Action.CONNECT, None
        if outcome is Resolution.RETRY:
            return _Action.WAIT, None
        if outcome is Resolution.TIMEOUT:
            with self._lock:  # decide: nothing; read the counts for the message
                in_use = self._open - len(self._idle) - self._bound_idle
                waiting = len(self._waiters)
            raise PoolTimeout(
                f"no connection within {slot.timeout or 0.0:.2f} s: {in_use} of "
                f"{self._max_size} in use, {waiting} waiting"
            )
        raise PoolClosed("the pool was closed while waiting for a connection")

    def _wait_signal(self, slot: WaitSlot) -> Resolution:
        """Default seams: block on the thread's signal, the pool lock free, until resolved.

        Whoever resolves the slot sets its outcome under the pool lock before
        it signals, so a woken waiter reads it without the lock. When the
        deadline passes first, the waiter takes the lock and leaves the line,
        unless it was resolved just then (:meth:`_expire_signal`). The hot
        checkout in :meth:`acquire` runs the same steps inline.
        """
        try:
            deadline = slot.deadline
            if deadline is None:
                slot.cond.wait(None)
            elif not (
                (remaining := deadline - self._now()) > 0 and slot.cond.wait(remaining)
            ):
                self._expire_signal(slot)
        except BaseException:
            self._leave_signal(slot)
            raise
        outcome = slot.outcome
        assert outcome is not None
        return outcome

    def _expire_signal(self, slot: WaitSlot) -> None:
        """The deadline passed before a notification: leave the line, unless resolved just now."""
        signal = slot.cond
        assert isinstance(signal, Signal)
        lock = self._lock
        lock.acquire()
        try:  # decide: out of time: leave the line, unless resolved just now
            if slot.outcome is None:
                self._waiters.remove(slot)
                self._resolve_locked(slot, _TIMEOUT, self._now())  # WAIT-2
            signal.rearm()  # the resolution signalled it: hold it again
        finally:
            lock.release()

    def _leave_signal(self, slot: WaitSlot) -> None:
        """A waiter on its signal was interrupted: leave the line, give back what it was handed.

        Takes the lock even if interrupted again while waiting for it; the
        caller re-raises the interrupt.
        """
        signal = slot.cond
        assert isinstance(signal, Signal)
        give_back: list[ConnRecord] = []
        lock = self._lock
        self._lock_anyway()  # interrupted, even while locking: leave the line first
        try:  # decide: give back what it was handed; the signal is held again
            self._abandon_locked(slot, give_back)
            signal.rearm()
        finally:
            try:
                lock.release()
            finally:  # even when interrupted again right after unlocking
                if give_back:
                    self._discard_all(give_back)

    def _wait_locked(self, slot: WaitSlot) -> Resolution:
        """Block (lock held) until someone resolves the slot or its deadline passes."""
        clock = self._clock
        cond = slot.cond
        assert not isinstance(cond, Signal)
        while slot.outcome is None:
            deadline = slot.deadline
            if deadline is None:
                clock.wait(cond, None)
                continue
            now = self._now()
            if now >= deadline:
                self._waiters.remove(slot)
                self._resolve_locked(slot, Resolution.TIMEOUT, now)  # WAIT-2
                break
            clock.wait(cond, deadline - now)
        outcome = slot.outcome
        assert outcome is not None
        return outcome

    def _abandon_locked(self, slot: WaitSlot, give_back: list[ConnRecord]) -> None:
        """A waiter leaves on its own exception: give back what it was handed (lock held)."""
        outcome = slot.outcome
        if outcome is None:
            slot.outcome = Resolution.ABANDONED
            self._waiters.remove(slot)
        elif outcome is Resolution.HANDOFF:
            rec = slot.rec
            assert rec is not None
            slot.rec = None  # the slot keeps no connection: it is given back below
            rec.holders = 0
            doomed = self._give_locked(rec)
            if doomed is not None:
                give_back.append(doomed)
        elif outcome is Resolution.PERMIT:
            self._open -= 1
            self._serve_locked()
        elif outcome is Resolution.RETRY:
            self._serve_locked()  # pass the wake-up on

    def _waker(self) -> ConditionLike | Signal:
        """What a new wait slot's waiter blocks on; the slot keeps it while it is reused.

        With the default seams a :class:`Signal`, else a condition on the pool
        lock from the ``Sync`` seam (waited on through the ``Clock`` seam).
        Building a ``threading.Condition`` costs more than the rest of a
        hand-off, hence the spare slots.
        """
        sync = self._sync
        return Signal(sync.lock()) if self._native else sync.condition(self._lock)

    def _binding(self) -> Binding:
        """The calling thread's binding, made on its first checkout."""
        local = self._local
        binding: Binding | None = getattr(local, "binding", None)
        if binding is not None:
            return binding
        binding = Binding()
        token = ThreadToken()
        orphans = self._orphans

        def thread_ended(_ref: object, binding: Binding = binding) -> None:
            orphans.append(binding)  # atomic; the pool sweeps it at its next operation

        binding.token_ref = weakref.ref(token, thread_ended)
        local.token = token
        local.binding = binding
        with self._lock:  # decide: the pool knows the thread's binding
            self._bindings.add(binding)
        return binding

    def _bind(self, rec: ConnRecord, binding: Binding | None) -> None:
        """Record a fresh checkout: bound to its thread, or shareable."""
        interrupt = self._lock_anyway()
        try:  # decide: the connection is bound to the thread / open to sharing
            if binding is not None:
                binding.rec = rec
                rec.binding = binding
            if self._sharing is not None:
                self._sharing.append(rec)
        finally:
            self._lock.release()
        if interrupt is not None:
            raise interrupt  # bound: the caller gives it back

    # -- the checkout gate and connects ----------------------------------------------

    def _retire_due(self, rec: ConnRecord) -> bool:
        """Whether the connection must not be handed out again (RETIRE-1..3, INV-2)."""
        if rec.stale:
            return True
        config = self._config
        if config.max_usage is not None and rec.uses >= config.max_usage:
            return True
        lifetime, idle_time = config.max_lifetime, config.max_idle_time
        if lifetime is None and idle_time is None:
            return False
        now = self._now()
        if lifetime is not None and now - rec.created >= lifetime:
            return True
        since = rec.idle_since
        return idle_time is not None and since is not None and now - since >= idle_time

    def _validate(
        self, rec: ConnRecord, deadline: float | None, binding: Binding | None
    ) -> ConnRecord:
        """The checkout gate: the connection to hand out, or its replacement in the same slot.

        Raises:
            Exception: the replacement's connect failed; the slot is free again.
        """
        try:
            if not self._retire_due(rec):
                if self._config.ping is not Ping.ON_CHECKOUT:
                    rec.idle_since = None
                    return rec
                try:
                    _ping(rec.raw)
                except Exception:  # noqa: BLE001 - drivers share no base class; any failure fails the ping
                    _log.debug("ping failed; replacing the connection", exc_info=True)
                else:
                    rec.idle_since = None
                    return rec
        except BaseException:
            # not a driver error (KeyboardInterrupt...): the connection is in doubt
            self._discard(rec)
            raise
        try:
            self._close_raw(rec)
        except BaseException:
            with self._lock:  # decide: the slot frees; the next waiter may use it
                self._forget_locked(rec)
                self._serve_locked()
            raise
        try:
            with self._lock:  # decide: the slot passes to the replacement
                self._closed_count += 1
                rec.gone = True
        except BaseException:
            if rec.gone:  # interrupted right after unlocking: the slot frees instead
                self._discard(rec)
            raise
        return self._connect_in_slot(deadline, binding)

    def _connect_in_slot(self, deadline: float | None, binding: Binding | None) -> ConnRecord:
        """Connect in a slot already reserved; on failure the slot frees (CONN-1).

        Raises:
            Exception: the driver's connect error, after the next waiter was
                given the slot.
        """
        try:
            return self._open_record(deadline)
        except BaseException:
            with self._lock:  # decide: the slot frees; the next waiter may use it
                self._open -= 1
                if binding is not None:
                    binding.rec = None
                self._serve_locked()
            raise

    def _open_record(self, deadline: float | None) -> ConnRecord:
        """A new connection (connect, then session statements), held by its first holder."""
        raw, seq = self._open_raw(deadline)
        return ConnRecord(raw, seq, self._stamp_created())

    def _open_raw(self, deadline: float | None) -> tuple[Any, int]:
        """Connect and run the session statements (SETUP-1); returns (connection, seq).

        Raises:
            PoolTimeout: ``max_connecting`` connects ran until ``deadline``.
            Exception: the driver's error; a connection opened is closed first.
        """
        cond = self._connect_cond
        if cond is not None:
            self._enter_connecting(cond, deadline)
        interrupt: BaseException | None = None
        try:
            try:
                raw = self._connect()
            except BaseException:
                with self._lock:  # decide: count the failure
                    self._failed_connects += 1
                raise
            try:
                if self._config.session:
                    _run_session(raw, self._config.session)
                if self._listeners:
                    self._fire("connect", raw)
            except BaseException:
                with self._lock:  # decide: count the failure
                    self._failed_connects += 1
                _close_quietly(raw)
                raise
        finally:
            if cond is not None:
                interrupt = self._leave_connecting(cond)
        if interrupt is not None:
            _close_quietly(raw)  # interrupted after the connect: the connection must not leak
            raise interrupt
        try:
            with self._lock:  # decide: the connection's sequence number
                self._created += 1
                self._seq += 1
                return raw, self._seq
        except BaseException:
            _close_quietly(raw)  # interrupted after the connect: the connection must not leak
            raise

    def _leave_connecting(self, cond: Any) -> BaseException | None:
        """Give back a connect permit and wake a queued connect; never loses the permit.

        An interrupt (a ``BaseException``) while taking the lock is caught and
        the lock taken again, so the permit is always given back.

        Returns:
            The interrupt caught, for the caller to raise once it holds nothing.
        """
        interrupt = self._lock_anyway()
        try:  # decide: one connect fewer in progress; wake a queued one
            self._connecting -= 1
            cond.notify()
        except BaseException as exc:  # noqa: BLE001 - returned to the caller, who raises it
            interrupt = interrupt or exc
        try:
            self._lock.release()
        except BaseException as exc:  # noqa: BLE001 - returned to the caller, who raises it
            interrupt = interrupt or exc
        return interrupt

    def _enter_connecting(self, cond: Any, deadline: float | None) -> None:
        """Wait until fewer than ``max_connecting`` connects are in progress."""
        limit = self._config.max_connecting
        assert limit is not None
        clock = self._clock
        entered = False
        self._lock.acquire()
        try:  # decide: may this connect start now, or wait for one to finish
            while self._connecting >= limit:
                if deadline is None:
                    clock.wait(cond, None)
                    continue
                now = self._now()
                if now >= deadline:
                    raise PoolTimeout(
                        f"no connect could start before the deadline: {self._connecting} "
                        f"connects in progress, max_connecting={limit}"
                    )
                clock.wait(cond, deadline - now)
            self._connecting += 1
            entered = True
        finally:
            try:
                self._lock.release()
            except BaseException:
                if entered:  # interrupted right after: the caller never got the permit
                    self._leave_connecting(cond)
                raise

    def _reopen(self, rec: ConnRecord) -> None:
        """LIVE-2: replace a lost connection in its slot: connect, then close the lost one.

        Raises:
            Exception: the replacement's connect error; the connection is
                marked broken (closed when given back).
        """
        try:
            raw, seq = self._open_raw(None)
        except BaseException:
            rec.broken = True
            raise
        lost = rec.raw
        created = self._stamp_created()
        interrupt = self._lock_anyway()  # the new connection must not be lost
        try:  # decide: the slot's connection is the new one
            rec.raw = raw
            rec.seq = seq
            rec.created = created
            rec.txn = False
            rec.stale = False  # a fresh connection: nothing to retire
            rec.broken = False  # what a failed call broke was the lost connection
            rec.info = None
            self._closed_count += 1
        finally:
            try:
                self._lock.release()
            except BaseException as exc:  # noqa: BLE001 - raised below, once the lost one closed
                interrupt = interrupt or exc
        _close_quietly(lost)
        if self._listeners:
            self._fire("close", lost)
        if interrupt is not None:
            raise interrupt

    # -- return ------------------------------------------------------------------------

    def _release(self, rec: ConnRecord) -> None:
        """One handle on ``rec`` is given back (the handle is already marked released)."""
        # uncommon None: neither detached nor broken, without reading them one by one
        if self._quick_back and (rec.uncommon is None or not (rec.detached or rec.broken)):
            rec.holders = 0  # its only holder: no lock needed
            reset = self._quick_reset
            if reset is not None:
                try:
                    # The method called by name, not through operator.methodcaller: CPython
                    # 3.11 runs a Python-level rollback (psycopg 3, pure-Python drivers)
                    # inline from here, but through a fresh interpreter loop from C code,
                    # which costs ~1k instructions, more than the lock round trip.
                    if reset is _ROLLBACK:
                        rec.raw.rollback()
                    else:
                        rec.raw.commit()
                except Exception:  # noqa: BLE001 - drivers share no base class; any failure is a dead connection
                    _log.info("reset on return failed; closing the connection", exc_info=True)
                    self._discard(rec)
                    return
                except BaseException:
                    self._discard(rec)
                    raise
                rec.txn = False
                rec.begun = False
            lock = self._lock
            # decide: idle, or to the oldest waiter, or (closed, overflow) close it
            try:
                lock.acquire()
            except BaseException:
                self._place_anyway(rec)  # interrupted while waiting: it must not be lost
                raise
            doomed_rec = None
            try:
                try:
                    waiters = self._waiters
                    if not waiters:
                        kept = self._kept_idle
                        # closed meanwhile: _give_locked says close it
                        if not self._closed and (kept is None or len(self._idle) < kept):
                            self._idle.append(rec)
                            return
                    elif self._quick_handoff:
                        # WAIT-5 as _give_locked does it, in the common case: the pool is
                        # open, the oldest waiter still waits and its deadline has not passed
                        slot = waiters[0]
                        now = self._now()
                        deadline = slot.deadline
                        if slot.outcome is None and (deadline is None or now < deadline):
                            waiters.popleft()
                            rec.holders = 1
                            slot.outcome = _HANDOFF
                            slot.rec = rec
                            slot.cond.notify()
                            self._wait_time += now - slot.start  # its wait ends here
                            return
                    doomed_rec = self._give_locked(rec)
                finally:
                    lock.release()
            except BaseException:
                if doomed_rec is not None:  # interrupted right after unlocking: close it first
                    self._discard(doomed_rec)
                raise
            if doomed_rec is not None:
                self._discard(doomed_rec)
            return
        if rec.detached:
            if self._listeners:
                self._fire("checkin", rec.raw)
            self._close_detached(rec)
            return
        try:
            self._lock.acquire()
        except BaseException:
            self._release(rec)  # interrupted while waiting: give it back first, then go on
            raise
        holders = -1
        try:
            try:  # decide: an inner release, or the outermost: close it or reset it
                holders = rec.holders - 1
                rec.holders = holders
                if not holders:
                    if self._sharing is not None:
                        self._sharing.remove(rec)
                    doomed = self._closed or rec.broken  # CLOSE-2, LIVE-3
            finally:
                self._lock.release()
        except BaseException:
            if not holders:  # interrupted right after unlocking: close it, free its slot
                self._discard(rec)
            raise
        if holders:
            # EVENT-1: a shared connection's holder gives its share back (a
            # checkin); a nested per-thread release gives nothing back (AFF-2)
            if self._listeners and not self._per_thread:
                self._fire("checkin", rec.raw)
            return  # AFF-2 nested / shared: the other holders keep it
        try:
            if self._listeners:
                self._fire("checkin", rec.raw)
            ok = not doomed and self._reset(rec)
        except BaseException:
            self._discard(rec)
            raise
        if not ok:
            self._discard(rec)
            return
        try:
            self._lock.acquire()
        except BaseException:
            self._place_anyway(rec)  # interrupted while waiting: it must not be lost
            raise
        doomed_rec = None
        try:
            try:  # decide: bound to its thread, to the oldest waiter, idle, or overflow
                doomed_rec = self._give_locked(rec)
            finally:
                self._lock.release()
        except BaseException:
            if doomed_rec is not None:  # interrupted right after unlocking: close it first
                self._discard(doomed_rec)
            raise
        if doomed_rec is not None:
            self._discard(doomed_rec)

    def _give_then_unlock(self, rec: ConnRecord) -> None:
        """Place a connection just reset (lock held), unlock, close it if it must be.

        An interrupt right after unlocking still lets the overflow close first.
        """
        doomed_rec = None
        try:
            try:  # decide: bound to its thread, to the oldest waiter, idle, or overflow
                doomed_rec = self._give_locked(rec)
            finally:
                self._lock.release()
        except BaseException:
            if doomed_rec is not None:  # interrupted right after unlocking: close it first
                self._discard(doomed_rec)
            raise
        if doomed_rec is not None:
            self._discard(doomed_rec)

    def _place_anyway(self, rec: ConnRecord) -> None:
        """Place a connection just reset although an interrupt came while locking to place it.

        The caller re-raises that interrupt; a second one while locking here
        is dropped in its favour.
        """
        self._lock_anyway()
        self._give_then_unlock(rec)

    def _reset(self, rec: ConnRecord) -> bool:
        """Reset on return (RESET-1..5); False if a reset call failed (the connection is dead)."""
        mode = self._config.reset
        raw = rec.raw
        try:
            if mode is ResetMode.ROLLBACK:
                raw.rollback()
            elif mode is ResetMode.NONE or (mode is ResetMode.ROLLBACK_IF_BEGUN and not rec.begun):
                return True
            elif mode is ResetMode.COMMIT:
                raw.commit()
            elif mode is ResetMode.ROLLBACK_IF_BEGUN:
                raw.rollback()
            else:
                self._full_reset(rec)
        except Exception:  # noqa: BLE001 - drivers share no base class; any failure is a dead connection
            _log.info("reset on return failed; closing the connection", exc_info=True)
            return False
        rec.txn = False
        rec.begun = False
        if self._listeners:
            self._fire("reset", rec.raw)
        return True

    def _full_reset(self, rec: ConnRecord) -> None:
        """The driver's full reset, then the session statements again.

        1. The connection has ``reset()``: call it.
        2. ``full_reset_sql`` is configured, or the driver is PostgreSQL's
           (psycopg 3 or psycopg2, whose own reset is ``DISCARD ALL``): roll
           back, then run it outside a transaction (:func:`_run_outside_transaction`).
        3. Neither: roll back, close, and connect a replacement in place.
        """
        raw = rec.raw
        reset = getattr(raw, "reset", None)
        sql = self._config.full_reset_sql
        if reset is None and sql is None and _is_postgres(raw):
            sql = "DISCARD ALL"
        if reset is None and sql is None:
            raw.rollback()
            self._close_raw(rec)
            with self._lock:  # decide: count the close; the slot waits for the replacement
                self._closed_count += 1
            new, seq = self._open_raw(None)
            created = self._stamp_created()
            with self._lock:  # decide: the slot's connection is the new one
                rec.raw, rec.seq, rec.created, rec.info = new, seq, created, None
                rec.closed = False
            return
        if reset is not None:
            reset()
        else:
            assert sql is not None
            raw.rollback()
            _run_outside_transaction(raw, sql)
        if self._config.session:
            _run_session(raw, self._config.session)

    def _give_locked(self, rec: ConnRecord) -> ConnRecord | None:
        """Place a connection just reset (lock held); returns it if it must be closed instead."""
        if self._closed:
            return rec  # CLOSE-2
        if self._per_thread:
            binding = rec.binding
            if binding is None or binding.dead or binding.rec is not rec:
                return rec
            rec.bound_idle = True  # AFF-1: it stays with its thread
            rec.idle_since = self._stamp_idle()
            self._bound_idle += 1
            return None
        waiters = self._waiters
        kept = self._kept_idle
        interrupt: BaseException | None = None
        # FIFO: the oldest waiter gets it; barging too when it could not stay idle
        # (beyond the idle cap it would be closed while a waiter needs one)
        if waiters and (self._fifo_fair or (kept is not None and len(self._idle) >= kept)):
            try:
                now = self._now()
            except BaseException as exc:  # noqa: BLE001 - raised once the connection is placed
                # the clock failed: hand over by seniority alone, so nothing is lost
                interrupt, now = exc, max(s.start for s in waiters)
            while waiters:
                slot = waiters.popleft()
                if slot.deadline is not None and now >= slot.deadline:
                    try:
                        self._resolve_locked(slot, Resolution.TIMEOUT, now)
                    except BaseException as exc:  # noqa: BLE001 - raised once the connection is placed
                        interrupt = interrupt or exc  # resolved all the same
                    continue
                rec.holders = 1
                if self._resolve_locked(slot, _HANDOFF, now, rec):
                    if interrupt is not None:
                        raise interrupt  # placed: the caller has nothing left to do
                    return None  # WAIT-5: the oldest waiter runs the gate in its thread
                rec.holders = 0
        if interrupt is not None:
            # every waiter had gone: idle (even beyond the idle cap, closed at a later
            # return), so the interrupt goes on and nothing is lost
            self._idle.append(rec)
            raise interrupt
        if kept is not None and len(self._idle) >= kept:
            return rec  # CAP-2: overflow closed on return
        rec.idle_since = self._stamp_idle()
        self._idle.append(rec)
        if waiters:
            self._wake_barging_locked(1)
        return None

    def _close_detached(self, rec: ConnRecord) -> None:
        """DET-1: closing a detached connection's handle closes the connection."""
        closing = False
        try:
            with self._lock:  # decide: whether this handle is the one that closes it
                if rec.closed:
                    return
                rec.closed = closing = True
        finally:  # even when interrupted right after unlocking
            if closing:
                _close_quietly(rec.raw)
        if self._listeners:
            self._fire("close", rec.raw)

    # -- slots freed and waiters served ---------------------------------------------------

    def _resolve_locked(
        self, slot: WaitSlot, outcome: Resolution, now: float, rec: ConnRecord | None = None
    ) -> bool:
        """Resolve a waiter taken off the line, counting its wait (lock held)."""
        if not slot.set(outcome, rec):
            return False
        self._wait_time += now - slot.start
        slot.start = now
        if outcome is _TIMEOUT:
            self._timeouts += 1
        return True

    def _resolve_each_locked(self, slots: list[WaitSlot], outcome: Resolution, now: float) -> None:
        """Resolve every slot (off the line); an interrupt while waking one waits for the rest.

        Raises:
            BaseException: the first interrupt raised while waking a waiter,
                once every slot is resolved.
        """
        interrupt: BaseException | None = None
        for slot in slots:
            try:
                self._resolve_locked(slot, outcome, now)
            except BaseException as exc:  # noqa: BLE001 - raised below, once all are resolved
                interrupt = interrupt or exc
        if interrupt is not None:
            raise interrupt

    def _expire_locked(self, now: float) -> None:
        """Refuse every waiter whose deadline has passed (WAIT-2; lock held)."""
        due = [s for s in self._waiters if s.deadline is not None and now >= s.deadline]
        for slot in due:
            self._waiters.remove(slot)
        self._resolve_each_locked(due, Resolution.TIMEOUT, now)

    def _serve_locked(self) -> None:
        """A slot freed: the oldest waiter connects in it (FIFO) or is woken (barging)."""
        waiters = self._waiters
        if not waiters or self._closed:
            return
        if not self._fifo_fair:
            self._wake_barging_locked(self._room_locked())
            return
        now = self._now()
        max_size = self._max_size
        interrupt: BaseException | None = None
        while waiters and (max_size is None or self._open < max_size):
            slot = waiters.popleft()
            if slot.deadline is not None and now >= slot.deadline:
                outcome = _TIMEOUT
            else:
                outcome = _PERMIT
                self._open += 1
            try:
                resolved = self._resolve_locked(slot, outcome, now)
            except BaseException as exc:  # noqa: BLE001 - raised below, once every slot is served
                interrupt, resolved = interrupt or exc, True  # resolved all the same
            if not resolved and outcome is _PERMIT:
                self._open -= 1
        if interrupt is not None:
            raise interrupt

    def _room_locked(self) -> int:
        """How many checkouts could succeed at once right now (barging wake-ups)."""
        assert self._max_size is not None  # without a cap nobody waits
        return len(self._idle) + max(0, self._max_size - self._open)

    def _wake_barging_locked(self, count: int) -> None:
        """Barging: wake up to ``count`` waiters to compete for what is free."""
        waiters = self._waiters
        now = self._now()
        interrupt: BaseException | None = None
        while waiters and count > 0:
            slot = waiters.popleft()
            outcome = _TIMEOUT if slot.deadline is not None and now >= slot.deadline else _RETRY
            try:
                resolved = self._resolve_locked(slot, outcome, now)
            except BaseException as exc:  # noqa: BLE001 - raised below, once enough are woken
                interrupt, resolved = interrupt or exc, True  # resolved all the same
            if resolved and outcome is _RETRY:
                count -= 1
        if interrupt is not None:
            raise interrupt

    def _forget_locked(self, rec: ConnRecord) -> None:
        """The connection leaves the accounting; its slot is free (lock held)."""
        rec.gone = True
        self._open -= 1
        binding = rec.binding
        if binding is not None and binding.rec is rec:
            binding.rec = None

    def _unbind_idle_locked(self, rec: ConnRecord) -> None:
        rec.bound_idle = False
        self._bound_idle -= 1

    def _take_idle_locked(self) -> list[ConnRecord]:
        """Take every idle connection, bound-idle ones included, for closing (lock held)."""
        doomed = list(self._idle)
        self._idle.clear()
        for binding in self._bindings:
            rec = binding.rec
            if rec is not None and rec.bound_idle:
                self._unbind_idle_locked(rec)
                doomed.append(rec)
        return doomed

    def _discard(self, rec: ConnRecord) -> None:
        """Close an accounted connection, then free its slot for the next waiter."""
        closed = False
        try:
            closed = self._close_raw(rec)
        finally:
            interrupt = self._lock_anyway()
            try:  # decide: the slot frees; the next waiter may use it
                self._closed_count += closed
                self._forget_locked(rec)
                self._serve_locked()
            finally:
                self._lock.release()
            if interrupt is not None:
                raise interrupt  # the slot is free: now the interrupt may go on

    def _lock_anyway(self) -> BaseException | None:
        """Take the lock even if an interrupt arrives while waiting for it.

        For sections that give back a slot or a permit: they must run. An
        interrupt (a ``BaseException``) raised by the lock's ``acquire`` is
        caught and the lock taken again (three tries at most).

        Returns:
            The interrupt caught, for the caller to raise once it gave back
            what it held; None if there was none.
        """
        interrupt: BaseException | None = None
        for _ in range(3):
            try:
                self._lock.acquire()
            except BaseException as exc:  # noqa: BLE001 - returned to the caller, who raises it
                interrupt = interrupt or exc
                continue
            return interrupt
        assert interrupt is not None
        raise interrupt

    def _discard_all(self, doomed: list[ConnRecord]) -> None:
        """Discard each connection; a BaseException from one still lets the rest close."""
        error: BaseException | None = None
        for rec in doomed:
            try:
                self._discard(rec)
            except BaseException as exc:  # noqa: BLE001 - re-raised below, after the rest closed
                error = error or exc
        if error is not None:
            raise error

    def _close_raw(self, rec: ConnRecord) -> bool:
        """Close the driver connection of ``rec`` unless already done; a driver error is logged.

        Returns:
            Whether this call closed it.
        """
        if rec.closed:
            return False
        rec.closed = True
        raw = rec.raw
        _close_quietly(raw)
        if self._listeners:
            self._fire("close", raw)
        return True

    # -- invalidate, detach, ended threads ---------------------------------------------------

    def _retire_now(self, rec: ConnRecord) -> None:
        """Decide a hard invalidate (INV-1); the caller then calls ``_discard_invalidated``.

        Raises:
            PoolMisuse: the connection is shared with other holders.
        """
        if rec.detached:
            return
        try:
            with self._lock:  # decide: the connection is done for every handle on it
                self._retire_locked(rec)
        except BaseException:
            if rec.gone:  # interrupted right after unlocking: close it, free its slot
                self._discard(rec)
            raise

    def _retire_locked(self, rec: ConnRecord) -> None:
        """The connection is done for every handle on it (lock held)."""
        if self._sharing is not None:
            if rec.holders > 1:
                raise PoolMisuse(
                    f"cannot invalidate a connection shared by {rec.holders} holders; "
                    "use invalidate(soft=True)"
                )
            self._sharing.remove(rec)
        rec.holders = 0
        rec.gone = True

    def _discard_invalidated(self, rec: ConnRecord) -> None:
        """Close a hard-invalidated connection and, unless detached, free its slot."""
        try:
            if self._listeners:
                self._fire("invalidate", rec.raw)
        finally:
            if rec.detached:
                self._close_detached(rec)
            else:
                self._discard(rec)

    def _detach(self, rec: ConnRecord) -> None:
        """DET-1: the connection leaves the accounting; its slot goes to the next waiter.

        Raises:
            PoolMisuse: the connection is shared with other holders.
        """
        with self._lock:  # decide: the connection leaves; its slot is free
            if self._sharing is not None:
                if rec.holders > 1:
                    raise PoolMisuse(f"cannot detach a connection shared by {rec.holders} holders")
                self._sharing.remove(rec)
            rec.detached = True
            self._open -= 1
            binding = rec.binding
            if binding is not None and binding.rec is rec:
                binding.rec = None
            rec.binding = None
            self._serve_locked()
        if self._listeners:
            self._fire("detach", rec.raw)

    def _sweep(self) -> None:
        """Close the idle connections bound to threads that ended (AFF-3)."""
        doomed: list[ConnRecord] = []
        try:
            with self._lock:  # decide: which ended threads' connections close now
                while self._orphans:
                    binding = self._orphans.popleft()
                    binding.dead = True
                    self._bindings.discard(binding)
                    rec = binding.rec
                    if rec is not None and rec.bound_idle:
                        self._unbind_idle_locked(rec)
                        doomed.append(rec)
        finally:  # even when interrupted right after unlocking
            self._discard_all(doomed)

    # -- events and small helpers ----------------------------------------------------------

    def _fire(self, event: str, raw: Any) -> None:
        """Call the event's listeners; an ``Exception`` from one is logged and ignored."""
        for fn in self._listeners.get(event, ()):
            try:
                fn(self, raw)
            except Exception:  # noqa: BLE001 - documented: a listener cannot break the pool
                _log.exception("listener %r for %r raised; ignored", fn, event)

    def _stamp_created(self) -> float:
        return self._now() if self._config.max_lifetime is not None else 0.0

    def _stamp_idle(self) -> float | None:
        return self._now() if self._config.max_idle_time is not None else None


#: The reset modes the hot path handles itself (one driver call or none); the
#: other modes take the general path.
_QUICK_RESETS = frozenset({ResetMode.ROLLBACK, ResetMode.COMMIT, ResetMode.NONE})


def _share_key(rec: ConnRecord) -> tuple[int, int]:
    return rec.holders, rec.seq


def _is_postgres(raw: Any) -> bool:
    """Whether ``raw`` is a psycopg (3) or psycopg2 connection (full reset: ``DISCARD ALL``)."""
    module = type(raw).__module__
    return module.startswith(("psycopg.", "psycopg2.")) or module in ("psycopg", "psycopg2")


@functools.cache
def _ping_takes_reconnect(kind: Hashable) -> bool:
    """Whether ``kind.ping`` has a ``reconnect`` parameter (PyMySQL; it once defaulted to True)."""
    try:
        ping: Callable[..., object] = kind.ping  # type: ignore[attr-defined]
        return "reconnect" in inspect.signature(ping).parameters
    except (TypeError, ValueError):
        return False


def _ping(raw: Any) -> None:
    """The driver's ``ping()`` if it has one, else ``SELECT 1`` on a cursor.

    A ping never reconnects behind the pool's back: that would skip the
    session statements and the accounting, so ``reconnect=False`` is passed
    where the driver takes it.
    """
    ping = getattr(raw, "ping", None)
    if ping is not None:
        if _ping_takes_reconnect(cast(Hashable, type(raw))):
            ping(reconnect=False)
        else:
            ping()
        return
    cur = raw.cursor()
    try:
        cur.execute("SELECT 1")
        cur.fetchall()
    finally:
        cur.close()


def _run_session(raw: Any, statements: tuple[str, ...]) -> None:
    """Run the session statements on one cursor, then commit so a rollback keeps them."""
    cur = raw.cursor()
    try:
        for sql in statements:
            cur.execute(sql)
    finally:
        cur.close()
    raw.commit()


def _run_outside_transaction(raw: Any, sql: str) -> None:
    """Run a reset statement such as ``DISCARD ALL`` outside a transaction block.

    Some statements refuse to run inside a transaction block (PostgreSQL's
    ``DISCARD ALL``), and DB-API drivers open one implicitly at the first
    statement. The cases:

    1. The connection has a boolean ``autocommit`` attribute, False
       (psycopg 3, psycopg2): set it True for the statement, then back to
       False, so no transaction is opened around it.
    2. It is True already: just run the statement.
    3. No such attribute (sqlite3 before 3.12, whose ``autocommit`` is not a
       bool, pymysql, whose ``autocommit`` is a method): run it, then commit.
    """
    autocommit = getattr(raw, "autocommit", None)
    toggle = autocommit is False
    if toggle:
        raw.autocommit = True
    try:
        cur = raw.cursor()
        try:
            cur.execute(sql)
        finally:
            cur.close()
    finally:
        if toggle:
            raw.autocommit = False
    if not isinstance(autocommit, bool):
        raw.commit()


def _close_quietly(raw: Any) -> None:
    """Close a driver connection; an ``Exception`` (already dead) is logged and ignored."""
    try:
        raw.close()
    except Exception:  # noqa: BLE001 - closing a dead connection may raise anything
        _log.info("closing a connection failed; it is dropped anyway", exc_info=True)
