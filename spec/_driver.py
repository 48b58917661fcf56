"""The recording DB-API 2 driver: how the conformance harness watches a pool.

A pool under test is handed a :class:`RecordingDriver`, either as its DB-API
module or through a creator that calls ``driver.connect()``. The harness then
observes the pool only through the pool's public API and this driver: every
call the pool makes on a connection or cursor goes into one thread-safe log of
:class:`Call` records, and the driver tracks what a server would know about
each session (open or closed, alive or dropped, inside a transaction, carrying
``SET``/``PRAGMA`` state that would leak to the next borrower). Faults are
injected the way a server produces them: refused connects, dropped
connections, failed pings.

The driver runs in one of two modes:

1. Wrapping a real module (``sqlite3`` by default). Each call is forwarded to
   the real connection or cursor, so transactions really happen. The
   exception classes are the real module's, so a pool told to treat
   ``driver.OperationalError`` as a disconnect also catches the real errors.
2. Fake (``wrapped=None``). No database is touched; cursors return no rows,
   except that ``SELECT 1`` returns ``(1,)`` so ping-by-select works. This is
   fast enough for benchmarks and for running in lockstep with the model.

Session tracking is the same in both modes, and deliberately simple: see
:meth:`RecordingConnection.in_transaction` for the rules.
"""

from __future__ import annotations

import enum
import sqlite3
import sys
import threading
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar, final

_T = TypeVar("_T")

#: A statement's parameters, in any of the DB-API paramstyles.
Params = Sequence[Any] | Mapping[str, Any]

#: One result row. Connections made by this driver have no row factory.
Row = tuple[Any, ...]


# --- The exception tree used in fake mode (PEP 249 names and hierarchy) ---


class Warning(Exception):  # noqa: N818 - the name is fixed by PEP 249
    """Important warnings, such as data truncation (PEP 249)."""


class Error(Exception):
    """Root of the driver's errors (PEP 249)."""


class InterfaceError(Error):
    """Misuse of the driver itself, such as using a closed connection."""


class DatabaseError(Error):
    """Errors reported by the database."""


class DataError(DatabaseError):
    """Problems with the processed data, such as a value out of range."""


class OperationalError(DatabaseError):
    """Errors in the database's operation, such as a dropped connection."""


class IntegrityError(DatabaseError):
    """Relational integrity violations, such as a failed foreign key check."""


class InternalError(DatabaseError):
    """The database hit an internal error, such as an invalid cursor state."""


class ProgrammingError(DatabaseError):
    """Programming errors, such as a syntax error in a statement."""


class NotSupportedError(DatabaseError):
    """A method or database API the database does not support."""


_EXCEPTION_NAMES: Final = (
    "Warning",
    "Error",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
)


# --- The log ---


@enum.unique
class CallKind(enum.Enum):
    """What a logged call did."""

    CONNECT = "connect"
    CLOSE = "close"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    CURSOR = "cursor"
    EXECUTE = "execute"
    PING = "ping"
    RESET = "reset"


@dataclass(frozen=True, slots=True)
class Call:
    """One call a pool made on the driver, a connection or a cursor.

    Attributes:
        seq: Position in the driver's log; 0, 1, 2... in the order the calls
            finished, never reused (not even after :meth:`RecordingDriver.drain`).
        kind: What the call did.
        conn: The connection's id, or ``None`` for a connect that failed.
        thread: ``threading.get_ident()`` of the calling thread.
        ok: ``False`` when the call raised.
        statement: The SQL text, for ``EXECUTE`` calls only.
    """

    seq: int
    kind: CallKind
    conn: int | None
    thread: int
    ok: bool
    statement: str | None


@dataclass(frozen=True, slots=True)
class PendingFaults:
    """Injected faults armed but not yet triggered.

    Attributes:
        connect_failures: How many of the next ``connect()`` calls will fail.
        ping_failures: How many of the next ``ping()`` calls will fail.
    """

    connect_failures: int
    ping_failures: int


# --- What the driver needs from a real DB-API module's objects ---


class _RealCursor(Protocol):
    description: Any
    rowcount: int
    arraysize: int

    def execute(self, sql: str, params: Params = ..., /) -> object: ...

    def executemany(self, sql: str, seq_of_params: Any, /) -> object: ...

    def fetchone(self) -> Any: ...

    def fetchmany(self, size: int = ..., /) -> Any: ...

    def fetchall(self) -> Any: ...

    def close(self) -> None: ...


class _RealConnection(Protocol):
    def cursor(self) -> _RealCursor: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


# --- How a statement changes the tracked session ---


@enum.unique
class _Effect(enum.Enum):
    READ = "read"  # SELECT: leaves transaction and session alone
    SESSION = "session"  # SET / PRAGMA: session state that outlives rollback
    BEGIN = "begin"  # BEGIN, or any write: a transaction is open afterwards
    END = "end"  # COMMIT / END / ROLLBACK written as SQL


def _effect_of(sql: str) -> _Effect:
    """Classify a statement by its leading keyword.

    Args:
        sql: The statement text.

    Returns:
        How executing it changes the tracked session.
    """
    words = sql.replace(";", " ").upper().split()
    if not words or words[0] == "SELECT":
        return _Effect.READ
    if words[0] in ("SET", "PRAGMA"):
        return _Effect.SESSION
    if words[0] in ("COMMIT", "END"):
        return _Effect.END
    if words[0] == "ROLLBACK":
        # ROLLBACK TO SAVEPOINT undoes part of a transaction that stays open.
        return _Effect.BEGIN if "TO" in words else _Effect.END
    return _Effect.BEGIN


def _is_select_one(sql: str) -> bool:
    return " ".join(sql.replace(";", " ").upper().split()) == "SELECT 1"


def _exception_class(source: types.ModuleType, name: str) -> type[Exception]:
    cls = getattr(source, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        raise TypeError(
            f"module {source.__name__!r} has no exception class {name!r}; "
            "it is not a DB-API 2 module"
        )
    return cls


@final
class RecordingDriver:
    """A DB-API 2 module look-alike that logs every call and injects faults.

    Module attributes: ``apilevel``, ``threadsafety``, ``paramstyle`` and the
    ten PEP 249 exception classes (``driver.OperationalError`` and so on).
    Everything else is the harness's view: the log, the tracked state of each
    connection, and the fault switches. All methods are thread-safe.
    """

    apilevel: Final = "2.0"

    def __init__(
        self,
        wrapped: types.ModuleType | None = sqlite3,
        *,
        connect_args: tuple[object, ...] | None = None,
        connect_kwargs: Mapping[str, object] | None = None,
        threadsafety: int | None = None,
    ) -> None:
        """Create a driver.

        Args:
            wrapped: The real DB-API module to forward to, or ``None`` for
                fake mode.
            connect_args: Positional arguments for ``wrapped.connect()`` when
                ``connect()`` is called with no arguments. Defaults to
                ``(":memory:",)`` for sqlite3 and ``()`` otherwise.
            connect_kwargs: Keyword arguments for ``wrapped.connect()``; call
                keyword arguments override them. Defaults, for sqlite3, to
                ``check_same_thread=False`` (pools hand connections between
                threads) and ``isolation_level="DEFERRED"`` (writes open a
                transaction that ``rollback()`` undoes); ``{}`` otherwise.
            threadsafety: The DB-API level to report. Defaults to 1 in fake
                mode and for sqlite3 (whose reported level describes the
                SQLite library, not sharing connections between threads), and
                to the wrapped module's ``threadsafety`` otherwise.

        Raises:
            ValueError: ``threadsafety`` is not 0, 1, 2 or 3.
            TypeError: ``wrapped`` lacks one of the PEP 249 exception classes.
        """
        is_sqlite = wrapped is sqlite3
        if threadsafety is None:
            threadsafety = (
                1 if wrapped is None or is_sqlite else int(getattr(wrapped, "threadsafety", 1))
            )
        if threadsafety not in (0, 1, 2, 3):
            raise ValueError(f"threadsafety must be 0, 1, 2 or 3, not {threadsafety!r}")
        self.threadsafety: Final[int] = threadsafety
        self.paramstyle: Final[str] = (
            "qmark" if wrapped is None else str(getattr(wrapped, "paramstyle", "qmark"))
        )

        # In fake mode the exception classes are the ones defined above.
        source = wrapped if wrapped is not None else sys.modules[__name__]
        self.Warning: Final = _exception_class(source, "Warning")
        self.Error: Final = _exception_class(source, "Error")
        self.InterfaceError: Final = _exception_class(source, "InterfaceError")
        self.DatabaseError: Final = _exception_class(source, "DatabaseError")
        self.DataError: Final = _exception_class(source, "DataError")
        self.OperationalError: Final = _exception_class(source, "OperationalError")
        self.IntegrityError: Final = _exception_class(source, "IntegrityError")
        self.InternalError: Final = _exception_class(source, "InternalError")
        self.ProgrammingError: Final = _exception_class(source, "ProgrammingError")
        self.NotSupportedError: Final = _exception_class(source, "NotSupportedError")

        self._wrapped: Final = wrapped
        if connect_args is None:
            connect_args = (":memory:",) if is_sqlite else ()
        if connect_kwargs is None:
            connect_kwargs = (
                {"check_same_thread": False, "isolation_level": "DEFERRED"} if is_sqlite else {}
            )
        self._connect_args: Final = tuple(connect_args)
        self._connect_kwargs: Final = dict(connect_kwargs)

        # One lock guards the log, the counters, the faults and the tracked
        # state of every connection; calls into the real module run outside it.
        self._lock: Final = threading.Lock()
        self._log: list[Call] = []
        self._log_base = 0  # seq of self._log[0]: drain() drops a prefix
        self._next_seq = 0
        self._connections: list[RecordingConnection] = []
        self._open: set[int] = set()
        self._failed_connects = 0
        self._closes = 0
        self._connect_failures = 0
        self._ping_failures = 0

    # --- DB-API module interface ---

    def connect(self, *args: object, **kwargs: object) -> RecordingConnection:
        """Open a connection; logs ``CONNECT``.

        With no arguments the constructor's ``connect_args`` and
        ``connect_kwargs`` are used. With any argument, ``args`` replace
        ``connect_args`` and ``kwargs`` are laid over ``connect_kwargs``. In
        fake mode the arguments are ignored.

        Returns:
            The new connection; ids are 0, 1, 2... in the order connects
            succeed.

        Raises:
            OperationalError: An injected connect failure was armed, or the
                wrapped module's ``connect`` raised it.
        """
        with self._lock:
            # Decide whether this connect consumes an injected failure.
            inject = self._connect_failures > 0
            if inject:
                self._connect_failures -= 1
                self._failed_connects += 1
        if inject:
            self._append(CallKind.CONNECT, None, None, ok=False)
            raise self.OperationalError("injected connect failure: the server refused")

        real: _RealConnection | None = None
        if self._wrapped is not None:
            if args or kwargs:
                call_args, call_kwargs = args, {**self._connect_kwargs, **kwargs}
            else:
                call_args, call_kwargs = self._connect_args, self._connect_kwargs
            try:
                real = self._wrapped.connect(*call_args, **call_kwargs)
            except BaseException:
                with self._lock:
                    self._failed_connects += 1
                self._append(CallKind.CONNECT, None, None, ok=False)
                raise

        with self._lock:
            # Assign the id and log in one critical section, so ids follow
            # the log's order.
            conn = RecordingConnection(self, len(self._connections), real)
            self._connections.append(conn)
            self._open.add(conn.id)
            self._append_locked(CallKind.CONNECT, conn.id, None, ok=True)
        return conn

    # --- The log ---

    def calls(self) -> tuple[Call, ...]:
        """Return every call logged and not yet drained, oldest first."""
        with self._lock:
            return tuple(self._log)

    def drain(self) -> tuple[Call, ...]:
        """Return every call logged and not yet drained, and forget them."""
        with self._lock:
            drained = tuple(self._log)
            self._log.clear()
            self._log_base = self._next_seq
            return drained

    def mark(self) -> int:
        """Return the ``seq`` the next logged call will get, for :meth:`calls_since`."""
        with self._lock:
            return self._next_seq

    def calls_since(self, mark: int) -> tuple[Call, ...]:
        """Return the calls logged at or after ``mark`` and not yet drained.

        Args:
            mark: A value returned by :meth:`mark`.

        Returns:
            The calls with ``seq >= mark``, oldest first.

        Raises:
            ValueError: ``mark`` is negative or later than the next ``seq``.
        """
        with self._lock:
            if not 0 <= mark <= self._next_seq:
                raise ValueError(f"mark {mark} is not in 0..{self._next_seq}")
            return tuple(self._log[max(0, mark - self._log_base) :])

    # --- Fault injection ---

    def fail_next_connects(self, n: int = 1) -> None:
        """Make the next ``n`` ``connect()`` calls raise ``OperationalError``.

        Adds to failures already armed. A failed connect is logged as
        ``CONNECT`` with ``ok=False`` and ``conn=None``, and gets no id.

        Raises:
            ValueError: ``n`` is negative.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, not {n}")
        with self._lock:
            self._connect_failures += n

    def fail_next_pings(self, n: int = 1) -> None:
        """Make the next ``n`` ``ping()`` calls on open connections raise ``OperationalError``.

        Adds to failures already armed; the connection stays alive.

        Raises:
            ValueError: ``n`` is negative.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, not {n}")
        with self._lock:
            self._ping_failures += n

    def kill(self, conn_id: int) -> None:
        """Drop a connection, as a server that closed its socket would.

        Every later call on the connection or its cursors, except ``close()``,
        raises ``OperationalError`` and is logged with ``ok=False``. A wrapped
        real connection is released only when the pool closes it, so a pool
        that never closes dead connections shows up in
        :meth:`open_connections`.

        Raises:
            KeyError: No connection has this id.
        """
        conn = self.connection(conn_id)
        with self._lock:
            conn._dead = True

    def pending_faults(self) -> PendingFaults:
        """Return the injected connect and ping failures not yet triggered."""
        with self._lock:
            return PendingFaults(self._connect_failures, self._ping_failures)

    # --- Introspection ---

    @property
    def wrapped(self) -> types.ModuleType | None:
        """The real module calls are forwarded to, or ``None`` in fake mode."""
        return self._wrapped

    @property
    def connects(self) -> int:
        """How many connects succeeded (the next connection's id)."""
        with self._lock:
            return len(self._connections)

    @property
    def failed_connects(self) -> int:
        """How many connects raised, injected or real."""
        with self._lock:
            return self._failed_connects

    @property
    def closes(self) -> int:
        """How many connections were closed (repeated closes count once)."""
        with self._lock:
            return self._closes

    def open_connections(self) -> frozenset[int]:
        """Return the ids of connections not yet closed, alive or killed."""
        with self._lock:
            return frozenset(self._open)

    def connection(self, conn_id: int) -> RecordingConnection:
        """Return the connection with this id.

        Raises:
            KeyError: No connection has this id.
        """
        with self._lock:
            if not 0 <= conn_id < len(self._connections):
                raise KeyError(
                    f"no connection {conn_id}: {len(self._connections)} connected so far"
                )
            return self._connections[conn_id]

    def in_transaction(self, conn_id: int) -> bool:
        """Return whether connection ``conn_id`` is inside a transaction.

        Raises:
            KeyError: No connection has this id.
        """
        return self.connection(conn_id).in_transaction

    def session_dirty(self, conn_id: int) -> bool:
        """Return whether connection ``conn_id`` carries session state since its last reset.

        Raises:
            KeyError: No connection has this id.
        """
        return self.connection(conn_id).session_dirty

    def close_all(self) -> int:
        """Close every open connection, logging each ``CLOSE``; for test teardown.

        Returns:
            How many connections were open.
        """
        with self._lock:
            to_close = [self._connections[i] for i in sorted(self._open)]
        for conn in to_close:
            conn.close()
        return len(to_close)

    # --- Used by connections and cursors ---

    def _append_locked(
        self, kind: CallKind, conn_id: int | None, statement: str | None, *, ok: bool
    ) -> None:
        self._log.append(Call(self._next_seq, kind, conn_id, threading.get_ident(), ok, statement))
        self._next_seq += 1

    def _append(
        self, kind: CallKind, conn_id: int | None, statement: str | None, *, ok: bool
    ) -> None:
        with self._lock:
            self._append_locked(kind, conn_id, statement, ok=ok)

    def _record(
        self, kind: CallKind, conn_id: int, statement: str | None, action: Callable[[], _T]
    ) -> _T:
        """Run ``action`` and log it, with ``ok=False`` if it raised."""
        try:
            result = action()
        except BaseException:
            self._append(kind, conn_id, statement, ok=False)
            raise
        self._append(kind, conn_id, statement, ok=True)
        return result


@final
class RecordingConnection:
    """A DB-API 2 connection that logs its calls; made by :meth:`RecordingDriver.connect`.

    Using a closed connection raises the driver's ``InterfaceError``; using a
    killed one raises its ``OperationalError``. Either way the call is logged
    with ``ok=False``.
    """

    def __init__(self, driver: RecordingDriver, conn_id: int, real: _RealConnection | None) -> None:
        """Wrap a real connection (or none, in fake mode). Internal: use ``driver.connect()``."""
        self._driver: Final = driver
        self._lock: Final = driver._lock
        self._id: Final = conn_id
        self._real: Final = real
        # Guarded by the driver's lock.
        self._closed = False
        self._dead = False
        self._in_transaction = False
        self._session_dirty = False
        self._threads = {threading.get_ident()}
        self._last_thread = threading.get_ident()

    @property
    def id(self) -> int:
        """The connection's id: 0, 1, 2... in connect order."""
        return self._id

    # --- DB-API connection interface ---

    def cursor(self) -> RecordingCursor:
        """Open a cursor; logs ``CURSOR``."""

        def run() -> RecordingCursor:
            self._enter()
            return RecordingCursor(self, None if self._real is None else self._real.cursor())

        return self._driver._record(CallKind.CURSOR, self._id, None, run)

    def commit(self) -> None:
        """Commit the current transaction; logs ``COMMIT``."""

        def run() -> None:
            self._enter()
            if self._real is not None:
                self._real.commit()
            with self._lock:
                self._in_transaction = False

        self._driver._record(CallKind.COMMIT, self._id, None, run)

    def rollback(self) -> None:
        """Roll back the current transaction; logs ``ROLLBACK``.

        Session state (``SET``/``PRAGMA``) survives: that is what leaks to the
        next borrower of a pool that only rolls back.
        """

        def run() -> None:
            self._enter()
            if self._real is not None:
                self._real.rollback()
            with self._lock:
                self._in_transaction = False

        self._driver._record(CallKind.ROLLBACK, self._id, None, run)

    def close(self) -> None:
        """Close the connection; logs ``CLOSE``.

        Closing a closed connection is a no-op that is still logged with
        ``ok=True``, so a pool that closes twice shows in the log. Closing a
        killed connection succeeds and releases the real connection.
        """

        def run() -> None:
            with self._lock:
                # Decide whether this is the first close.
                self._note_thread()
                if self._closed:
                    return
                self._closed = True
                self._in_transaction = False
                self._session_dirty = False
                self._driver._open.discard(self._id)
                self._driver._closes += 1
            if self._real is not None:
                self._real.close()

        self._driver._record(CallKind.CLOSE, self._id, None, run)

    def ping(self) -> None:
        """Check the connection is alive; logs ``PING``.

        Each ping on an open connection consumes one armed ping failure, if
        any. On a wrapped module the ping runs ``SELECT 1``.

        Raises:
            OperationalError: The connection was killed, or a ping failure
                was armed.
            InterfaceError: The connection is closed.
        """

        def run() -> None:
            with self._lock:
                # Decide: closed, dead, injected failure, or a real round trip.
                self._note_thread()
                if self._closed:
                    raise self._driver.InterfaceError(f"connection {self._id} is closed")
                injected = self._driver._ping_failures > 0
                if injected:
                    self._driver._ping_failures -= 1
                dead = self._dead
            if dead:
                raise self._dead_error()
            if injected:
                raise self._driver.OperationalError(
                    f"injected ping failure on connection {self._id}"
                )
            if self._real is not None:
                real_cursor = self._real.cursor()
                try:
                    real_cursor.execute("SELECT 1")
                    real_cursor.fetchall()
                finally:
                    real_cursor.close()

        self._driver._record(CallKind.PING, self._id, None, run)

    def reset(self) -> None:
        """Reset the whole session; logs ``RESET``.

        Ends any transaction (a real rollback underneath) and clears session
        state.
        """

        def run() -> None:
            self._enter()
            if self._real is not None:
                self._real.rollback()
            with self._lock:
                self._in_transaction = False
                self._session_dirty = False

        self._driver._record(CallKind.RESET, self._id, None, run)

    def execute(self, sql: str, params: Params = ()) -> RecordingCursor:
        """Run a statement on a new cursor (as sqlite3 connections can); logs one ``EXECUTE``.

        Returns:
            The cursor, ready to fetch from.
        """

        def run() -> RecordingCursor:
            self._enter()
            cursor = RecordingCursor(self, None if self._real is None else self._real.cursor())
            cursor._run(sql, params, many=False)
            return cursor

        return self._driver._record(CallKind.EXECUTE, self._id, sql, run)

    # --- Tracked state ---

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has been called."""
        with self._lock:
            return self._closed

    @property
    def alive(self) -> bool:
        """Whether the connection has not been killed (a closed one may still be alive)."""
        with self._lock:
            return not self._dead

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open.

        The rules, the same in both modes, checked on each statement that
        succeeds:

        1. ``SELECT ...`` leaves it unchanged.
        2. ``SET ...`` and ``PRAGMA ...`` leave it unchanged (they dirty the
           session instead).
        3. ``COMMIT``, ``END`` and ``ROLLBACK`` (but not ``ROLLBACK TO``) end it.
        4. Anything else, ``BEGIN`` included, opens it.

        ``commit()``, ``rollback()``, ``reset()`` and ``close()`` end it.
        """
        with self._lock:
            return self._in_transaction

    @property
    def session_dirty(self) -> bool:
        """Whether a ``SET`` or ``PRAGMA`` ran since the last ``reset()``; rollback keeps it."""
        with self._lock:
            return self._session_dirty

    @property
    def thread_ids(self) -> frozenset[int]:
        """Every thread that connected or used this connection or its cursors."""
        with self._lock:
            return frozenset(self._threads)

    @property
    def last_thread(self) -> int:
        """The thread that used this connection or its cursors last."""
        with self._lock:
            return self._last_thread

    # --- Used by cursors ---

    def _note_thread(self) -> None:
        # Caller holds the driver's lock.
        ident = threading.get_ident()
        self._threads.add(ident)
        self._last_thread = ident

    def _dead_error(self) -> Exception:
        return self._driver.OperationalError(
            f"connection {self._id} was killed: server closed the connection unexpectedly"
        )

    def _enter(self) -> None:
        """Note the calling thread and refuse if the connection is closed or dead.

        Raises:
            InterfaceError: The connection is closed.
            OperationalError: The connection was killed.
        """
        with self._lock:
            self._note_thread()
            if self._closed:
                raise self._driver.InterfaceError(f"connection {self._id} is closed")
            if self._dead:
                raise self._dead_error()

    def _apply(self, sql: str) -> None:
        """Update the tracked session after ``sql`` ran successfully."""
        effect = _effect_of(sql)
        with self._lock:
            if effect is _Effect.SESSION:
                self._session_dirty = True
            elif effect is _Effect.BEGIN:
                self._in_transaction = True
            elif effect is _Effect.END:
                self._in_transaction = False


_SELECT_ONE_DESCRIPTION: Final = (("1", None, None, None, None, None, None),)


@final
class RecordingCursor:
    """A DB-API 2 cursor that logs its statements; made by :meth:`RecordingConnection.cursor`.

    Only ``execute`` and ``executemany`` are logged (as ``EXECUTE``). On a
    killed connection every method except ``close()`` raises
    ``OperationalError``; on a closed connection or cursor, ``InterfaceError``.
    """

    def __init__(self, connection: RecordingConnection, real: _RealCursor | None) -> None:
        """Wrap a real cursor (or none, in fake mode). Internal: use ``connection.cursor()``."""
        self._conn: Final = connection
        self._real: Final = real
        self._closed = False
        # Fake mode's result set; a cursor belongs to one thread at a time.
        self._rows: list[Row] = []
        self._description: tuple[tuple[object, ...], ...] | None = None
        self._arraysize = 1

    @property
    def connection(self) -> RecordingConnection:
        """The connection this cursor belongs to."""
        return self._conn

    def execute(self, sql: str, params: Params = ()) -> RecordingCursor:
        """Run a statement; logs ``EXECUTE``.

        Returns:
            This cursor, as sqlite3's does.
        """

        def run() -> RecordingCursor:
            self._run(sql, params, many=False)
            return self

        return self._conn._driver._record(CallKind.EXECUTE, self._conn.id, sql, run)

    def executemany(self, sql: str, seq_of_params: Sequence[Params]) -> RecordingCursor:
        """Run a statement once per parameter set; logs one ``EXECUTE``.

        Returns:
            This cursor.
        """

        def run() -> RecordingCursor:
            self._run(sql, seq_of_params, many=True)
            return self

        return self._conn._driver._record(CallKind.EXECUTE, self._conn.id, sql, run)

    def fetchone(self) -> Row | None:
        """Return the next row, or ``None`` when the result is exhausted."""
        self._enter()
        if self._real is not None:
            row: Row | None = self._real.fetchone()
            return row
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Row]:
        """Return up to ``size`` rows (default :attr:`arraysize`)."""
        self._enter()
        count = self.arraysize if size is None else size
        if self._real is not None:
            return list(self._real.fetchmany(count))
        taken, self._rows = self._rows[:count], self._rows[count:]
        return taken

    def fetchall(self) -> list[Row]:
        """Return the remaining rows."""
        self._enter()
        if self._real is not None:
            return list(self._real.fetchall())
        taken, self._rows = self._rows, []
        return taken

    def close(self) -> None:
        """Close the cursor; always allowed, never logged."""
        with self._conn._lock:
            self._conn._note_thread()
            already = self._closed
            self._closed = True
            conn_closed = self._conn._closed
        # A closed real connection already finalised its cursors (and sqlite3
        # raises if asked again).
        if self._real is not None and not already and not conn_closed:
            self._real.close()

    @property
    def description(self) -> Any:
        """Column descriptions of the last result (PEP 249 7-tuples), or ``None``."""
        if self._real is not None:
            return self._real.description
        return self._description

    @property
    def rowcount(self) -> int:
        """Rows affected by the last statement, or -1 when unknown (always, in fake mode)."""
        if self._real is not None:
            return int(self._real.rowcount)
        return -1

    @property
    def arraysize(self) -> int:
        """How many rows ``fetchmany()`` returns by default."""
        if self._real is not None:
            return int(self._real.arraysize)
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        if self._real is not None:
            self._real.arraysize = value
        else:
            self._arraysize = value

    def __iter__(self) -> Iterator[Row]:
        """Yield the remaining rows."""
        while (row := self.fetchone()) is not None:
            yield row

    def _enter(self) -> None:
        self._conn._enter()
        if self._closed:
            raise self._conn._driver.InterfaceError(
                f"cursor on connection {self._conn.id} is closed"
            )

    def _run(self, sql: str, params: Any, *, many: bool) -> None:
        """Execute without logging (the caller logs), then update the tracked session."""
        self._enter()
        if self._real is not None:
            if many:
                self._real.executemany(sql, params)
            else:
                self._real.execute(sql, params)
        elif not many and _is_select_one(sql):
            self._rows = [(1,)]
            self._description = _SELECT_ONE_DESCRIPTION
        else:
            self._rows = []
            self._description = None
        self._conn._apply(sql)
