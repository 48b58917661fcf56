"""What a borrower holds: a connection handle and its cursors.

Both are small explicit classes: every DB-API method is spelled out, nothing
is forwarded by ``__getattr__``. The underlying driver connection is reachable
through :attr:`PooledConnection.raw`, the documented escape hatch.

Transparent reopen lives in :meth:`PooledCursor.execute`: with failure
exception types configured, a statement that fails with one of them outside a
transaction is run again on a freshly connected replacement (LIVE-2); inside a
transaction the error surfaces and the connection is marked broken, so it is
closed when given back (LIVE-3).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from types import CodeType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, final

from ._errors import ConnectionReleased, PoolMisuse
from ._records import ConnRecord

if TYPE_CHECKING:
    from ._pool import Pool

#: A statement's parameters, in any DB-API paramstyle.
Params = Sequence[Any] | Mapping[str, Any]

#: A handle class: ``PooledConnection`` or a front door's subclass.
Handle = TypeVar("Handle", bound="PooledConnection")

#: What ``checked_out_at`` says of a checkout that recorded no site.
UNRECORDED = (
    "an unrecorded line (checkout sites are recorded while ResourceWarning is shown: "
    "python -X dev or -W default::ResourceWarning)"
)


@final
class SiteRecording:
    """Whether checkouts record their site: only while a ``ResourceWarning`` could be shown.

    A handle's checkout site (:attr:`PooledConnection.checked_out_at`) is
    there for the ``ResourceWarning`` of a handle dropped without
    ``close()``, and for the messages of a handle used after its release.
    Recording it (``sys._getframe`` and two frame attributes) costs CPython
    3.11 a tenth of a checkout, and Python ignores ``ResourceWarning`` by
    default. So a checkout records its site only while the warning filters
    could show that warning: under ``python -X dev``, ``-W default``,
    ``PYTHONWARNINGS=default``, pytest and unittest.

    Each pool keeps one. A checkout only compares ``warnings.filters`` with
    the list the decision was read from (:attr:`filters`), so the decision
    is read when the pool is created, again whenever that list is replaced
    (``catch_warnings`` replaces it, and pytest and unittest use that), and
    when one of the pool's handles reports an unrecorded site. A change made
    in place to the same list (``warnings.simplefilter`` outside
    ``catch_warnings``) is seen at the next of these.

    Attributes:
        filters: the ``warnings.filters`` list the decision was read from.
        on: whether checkouts record their site.
    """

    __slots__ = ("filters", "on")

    def __init__(self) -> None:
        """Read the filters in force now."""
        self.filters: Sequence[Any] = ()
        self.on = True
        self.read(warnings.filters)

    def read(self, filters: Sequence[Any]) -> None:
        """Decide from ``filters`` as ``warnings.warn`` would, erring towards recording.

        The first filter for ``ResourceWarning`` (or a base class) decides:
        an unconditional ``ignore`` says no, any other action yes; an
        ``ignore`` limited to some messages, modules or lines may not apply,
        so the search goes on. No filter decides: ``warnings.defaultaction``.
        A malformed list (an entry that is not a 5-tuple with a class) says
        yes: a checkout must not fail on it (``warnings.warn`` would).
        """
        on = warnings.defaultaction != "ignore"  # type: ignore[attr-defined]  # not in the stubs
        try:
            for action, message, category, module, line in list(filters):
                if not issubclass(ResourceWarning, category):
                    continue
                if action != "ignore":
                    on = True
                    break
                if message is None and module is None and not line:
                    on = False
                    break
        except (TypeError, ValueError):  # not iterable, not 5 items, not a class
            on = True
        self.on = on  # first: a thread that sees the new list sees its decision too
        self.filters = filters


class PooledConnection:
    """A checked-out connection: use it, then :meth:`close` it to give it back.

    A handle dropped without ``close()`` is given back when it is garbage
    collected, with a ``ResourceWarning`` naming where it was checked out.

    The pool makes handles (``Pool.acquire()``), one object per checkout.
    The class has no ``__init__``: CPython 3.11 calls a Python ``__init__``
    from C (an argument tuple, a fresh interpreter loop), which would cost a
    sixth of a round trip, so ``cls()`` is an empty handle and
    :func:`new_handle` (or the pool's hot path, inline) sets its slots.

    Not final: a front door may subclass it, adding no slots and no
    ``__init__``, to give its handles their own names and methods
    (``DBUtilsConnection``); the pool then makes the subclass directly.
    """

    __slots__ = ("_code", "_lasti", "_pool", "_rec")  # no __weakref__: 8 bytes a checkout

    _rec: ConnRecord | None  # the connection; None once released
    _pool: Pool  # the pool it came from
    # The checkout site: the code object and the instruction offset in it (the
    # line is worked out only when needed: reading ``f_lineno`` would cost
    # more than the rest of a checkout); None and 0 if not recorded (SiteRecording).
    _code: CodeType | None
    _lasti: int

    #: What a released (or invalidated) handle raises: a subclass may name it.
    _released: ClassVar[type[ConnectionReleased]] = ConnectionReleased

    @property
    def checked_out_at(self) -> str:
        """Where the handle was checked out, as ``file:line``.

        Recorded only while a ``ResourceWarning`` could be shown (see
        :class:`SiteRecording`); else :data:`UNRECORDED`, which says how to
        have it recorded (and the filters are read again, so that the next
        checkouts follow them).
        """
        code, lasti = self._code, self._lasti
        if code is None:
            self._pool._sites.read(warnings.filters)
            return UNRECORDED
        line = next(
            (ln for start, end, ln in code.co_lines() if start <= lasti < end and ln is not None),
            code.co_firstlineno,
        )
        return f"{code.co_filename}:{line}"

    def _live(self) -> ConnRecord:
        """The connection, if this handle may still use it.

        Raises:
            ConnectionReleased: the handle was closed, or its connection invalidated.
        """
        rec = self._rec
        if rec is None:
            raise self._released(
                f"connection checked out at {self.checked_out_at} was already released"
            )
        if rec.gone:
            raise self._released(f"connection checked out at {self.checked_out_at} was invalidated")
        return rec

    def _failed(self, rec: ConnRecord, exc: BaseException) -> None:
        """Note a driver call that raised: a configured failure marks the connection broken."""
        failures = self._pool._failures
        if failures and isinstance(exc, failures) and not rec.detached:
            rec.broken = True

    # -- DB-API connection methods -------------------------------------------

    def cursor(self) -> PooledCursor:
        """A new cursor on this connection (its driver cursor opens at the first execute).

        Raises:
            ConnectionReleased: the handle was released.
        """
        self._live()
        return PooledCursor(self)

    def execute(self, sql: str, params: Params | None = None) -> PooledCursor:
        """Run one statement on a new cursor, as ``cursor().execute(sql, params)``.

        Returns:
            The cursor, ready to fetch from.

        Raises:
            ConnectionReleased: the handle was released.
            Exception: the driver's error, if the statement failed and was not reopened.
        """
        return PooledCursor(self).execute(sql, params)

    def commit(self) -> None:
        """Commit the current transaction.

        Raises:
            ConnectionReleased: the handle was released.
            Exception: the driver's error; a configured failure marks the
                connection broken (closed when given back).
        """
        rec = self._live()
        try:
            rec.raw.commit()
        except BaseException as exc:
            self._failed(rec, exc)
            raise
        rec.txn = False
        rec.begun = False

    def rollback(self) -> None:
        """Roll back the current transaction.

        Raises:
            ConnectionReleased: the handle was released.
            Exception: the driver's error; a configured failure marks the
                connection broken (closed when given back).
        """
        rec = self._live()
        try:
            rec.raw.rollback()
        except BaseException as exc:
            self._failed(rec, exc)
            raise
        rec.txn = False
        rec.begun = False

    def begin(self) -> None:
        """Mark a transaction begun: transparent reopen is off until commit or rollback.

        No driver call: DB-API drivers begin transactions implicitly. Under
        ``ResetMode.ROLLBACK_IF_BEGUN`` the connection is rolled back on return.

        Raises:
            ConnectionReleased: the handle was released.
        """
        rec = self._live()
        if not rec.detached:
            rec.begun = True

    def close(self) -> None:
        """Give the connection back to the pool (a detached one is closed instead).

        Raises:
            ConnectionReleased: the handle was already released, or its
                connection was invalidated through another handle (EXCL-2).
            BaseException: a non-``Exception`` raised by the reset (the
                connection is closed and its slot freed first).
        """
        rec = self._rec
        if rec is None:
            raise self._released(
                f"connection checked out at {self.checked_out_at} was closed twice"
            )
        self._rec = None
        if rec.gone:
            raise self._released(f"connection checked out at {self.checked_out_at} was invalidated")
        self._pool._release(rec)

    def __enter__(self) -> PooledConnection:
        """The handle itself."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Give the connection back, unless it was released or invalidated already."""
        rec = self._rec
        if rec is not None:
            if rec.gone:
                self._rec = None
            else:
                self.close()

    def __del__(self) -> None:
        """Give back a handle dropped without ``close()``, with a ``ResourceWarning`` (DROP-1)."""
        rec = self._rec
        if rec is None or rec.gone:
            return
        self._rec = None
        try:
            self._pool._release(rec)
        finally:
            warnings.warn(
                f"connection checked out at {self.checked_out_at} was never closed; "
                "it was returned to the pool when garbage collected",
                ResourceWarning,
                stacklevel=1,
                source=self,
            )

    # -- pool operations -------------------------------------------------------

    def invalidate(self, soft: bool = False) -> None:
        """Retire the connection.

        Args:
            soft: False: close it now, free its slot, and end this handle
                (INV-1). True: mark it stale; it is retired at its next
                checkout and this handle keeps working (INV-2).

        Raises:
            ConnectionReleased: the handle was released.
            PoolMisuse: a hard invalidate of a connection shared with other holders.
        """
        rec = self._live()
        if soft:
            if not rec.detached:
                rec.stale = True
            return
        pool = self._pool
        pool._retire_now(rec)
        self._rec = None
        pool._discard_invalidated(rec)

    def detach(self) -> None:
        """Take the connection out of the pool: its slot frees, this handle keeps it (DET-1).

        Closing the handle afterwards closes the driver connection.

        Raises:
            ConnectionReleased: the handle was released.
            PoolMisuse: the connection is shared with other holders.
        """
        rec = self._live()
        if rec.detached:
            self._pool._fire("detach", rec.raw)
        else:
            self._pool._detach(rec)

    # -- introspection -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the handle was released (or its connection invalidated)."""
        rec = self._rec
        return rec is None or rec.gone

    @property
    def raw(self) -> Any:
        """The driver's connection: an escape hatch; the pool does not see what is done with it.

        Raises:
            ConnectionReleased: the handle was released.
        """
        return self._live().raw

    @property
    def info(self) -> dict[Any, Any]:
        """A dict for the user's notes, kept with the connection across checkouts.

        Raises:
            ConnectionReleased: the handle was released.
        """
        rec = self._live()
        info = rec.info
        if info is None:
            info = rec.info = {}
        return info

    @property
    def detached(self) -> bool:
        """Whether the connection was detached from the pool."""
        rec = self._rec
        return rec is not None and rec.detached

    def __repr__(self) -> str:
        state = "released" if self._rec is None else "open"
        return f"<PooledConnection {state}, checked out at {self.checked_out_at}>"


def new_handle(
    cls: type[Handle], pool: Pool, rec: ConnRecord, code: CodeType | None, lasti: int
) -> Handle:
    """A handle of class ``cls`` on a checked-out connection. Internal: use ``Pool.acquire()``.

    ``Pool.acquire``'s hot path does the same inline: keep the two in step.

    Args:
        cls: ``PooledConnection`` or a front door's subclass of it.
        pool: the pool it came from.
        rec: the connection.
        code: the code object that checked it out (None: not recorded).
        lasti: the instruction offset in ``code``.
    """
    handle = cls()
    handle._rec = rec
    handle._pool = pool
    handle._code = code
    handle._lasti = lasti
    return handle


class PooledCursor:
    """A cursor on a pooled connection; it reopens a lost connection where that is safe.

    The driver's cursor is opened at the first ``execute`` (and again on a
    reopened connection), so ``description`` is None and ``rowcount`` -1 before.
    Where the driver's connection has an ``execute()`` method (sqlite3,
    psycopg 3), that first statement runs through it.

    Not final: ``DBUtilsCursor`` adds DBUtils' context-manager use.
    """

    __slots__ = ("_arraysize", "_conn", "_cur", "_owner")

    def __init__(self, conn: PooledConnection) -> None:
        """A cursor on ``conn``. Internal: use ``PooledConnection.cursor()``."""
        self._conn = conn
        self._cur: Any = None
        self._owner: Any = None  # the driver connection _cur belongs to
        self._arraysize: int | None = None

    def _adopt(self, cur: Any, raw: Any) -> Any:
        if self._arraysize is not None:
            cur.arraysize = self._arraysize
        self._cur = cur
        self._owner = raw
        return cur

    def _run(self, rec: ConnRecord, sql: str, params: Any, many: bool) -> None:
        cur = self._cur
        raw = rec.raw
        if cur is None or self._owner is not raw:
            # A fresh driver cursor. Drivers with a connection-level execute()
            # (sqlite3, psycopg 3) open it and run the statement in one call, so
            # the statement is the first call a lost connection fails on.
            execute = None if many else getattr(raw, "execute", None)
            if execute is not None:
                self._adopt(execute(sql) if params is None else execute(sql, params), raw)
                return
            cur = self._adopt(raw.cursor(), raw)
        if many:
            cur.executemany(sql, params)
        elif params is None:
            cur.execute(sql)
        else:
            cur.execute(sql, params)

    def _statement(self, sql: str, params: Any, many: bool) -> PooledCursor:
        """Run a statement; the cases, in order:

        1. It succeeds: a transaction may be open now.
        2. It fails with something that is not a configured failure, or on a
           detached connection: the error surfaces.
        3. It fails inside a transaction: the connection is marked broken and
           the error surfaces.
        4. Outside a transaction: a replacement is connected (its connect error
           surfaces if it fails), the lost one closed, the statement run again.
        """
        conn = self._conn
        rec = conn._live()
        try:
            self._run(rec, sql, params, many)
        except BaseException as exc:
            failures = conn._pool._failures
            if not failures or not isinstance(exc, failures) or rec.detached:
                raise
            if rec.txn or rec.begun:
                rec.broken = True
                raise
            conn._pool._reopen(rec)
            try:
                self._run(rec, sql, params, many)
            except BaseException as again:
                conn._failed(rec, again)
                raise
        rec.txn = True
        return self

    def execute(self, sql: str, params: Params | None = None) -> PooledCursor:
        """Run one statement (``params`` omitted or None: the driver gets none).

        Returns:
            This cursor.

        Raises:
            ConnectionReleased: the handle was released.
            Exception: the driver's error, if not reopened transparently.
        """
        return self._statement(sql, params, many=False)

    def executemany(self, sql: str, seq_of_params: Sequence[Params]) -> PooledCursor:
        """Run one statement once per parameter set.

        Returns:
            This cursor.

        Raises:
            ConnectionReleased: the handle was released.
            Exception: the driver's error, if not reopened transparently.
        """
        return self._statement(sql, seq_of_params, many=True)

    def _result(self) -> tuple[ConnRecord, Any]:
        rec = self._conn._live()
        cur = self._cur
        if cur is None:
            raise PoolMisuse("no result to fetch: execute() was not called on this cursor")
        return rec, cur

    def fetchone(self) -> Any:
        """The next row, or None when the result is exhausted.

        Raises:
            ConnectionReleased: the handle was released.
            PoolMisuse: nothing was executed yet.
        """
        rec, cur = self._result()
        try:
            return cur.fetchone()
        except BaseException as exc:
            self._conn._failed(rec, exc)
            raise

    def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to ``size`` rows (default :attr:`arraysize`).

        Raises:
            ConnectionReleased: the handle was released.
            PoolMisuse: nothing was executed yet.
        """
        rec, cur = self._result()
        try:
            return list(cur.fetchmany(cur.arraysize if size is None else size))
        except BaseException as exc:
            self._conn._failed(rec, exc)
            raise

    def fetchall(self) -> list[Any]:
        """The remaining rows.

        Raises:
            ConnectionReleased: the handle was released.
            PoolMisuse: nothing was executed yet.
        """
        rec, cur = self._result()
        try:
            return list(cur.fetchall())
        except BaseException as exc:
            self._conn._failed(rec, exc)
            raise

    def close(self) -> None:
        """Close the driver's cursor, if one was opened. Always allowed."""
        cur, self._cur = self._cur, None
        if cur is not None:
            cur.close()

    def __iter__(self) -> Iterator[Any]:
        """Yield the remaining rows."""
        while (row := self.fetchone()) is not None:
            yield row

    @property
    def description(self) -> Any:
        """Column descriptions of the last result (PEP 249), or None."""
        cur = self._cur
        return None if cur is None else cur.description

    @property
    def rowcount(self) -> int:
        """Rows affected by the last statement, or -1 when unknown."""
        cur = self._cur
        return -1 if cur is None else int(cur.rowcount)

    @property
    def arraysize(self) -> int:
        """How many rows ``fetchmany()`` returns by default."""
        if self._cur is not None:
            return int(self._cur.arraysize)
        return 1 if self._arraysize is None else self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value
        if self._cur is not None:
            self._cur.arraysize = value
