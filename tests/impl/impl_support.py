"""Helpers shared by the pool's tests: call logs, thread workers, scripted connections."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from impl import ManualClock, Pool
from spec._driver import CallKind, RecordingDriver

#: Real seconds a test waits for a thread to get somewhere before it fails (never slept).
PATIENCE = 10.0


def log(driver: RecordingDriver) -> list[str]:
    """The calls logged since the last drain, as ``kind`` + connection id (+ ``!`` if it raised).

    Cursor openings are left out: they carry no meaning of their own here.
    """
    return [
        f"{c.kind.value}{'' if c.conn is None else c.conn}{'' if c.ok else '!'}"
        for c in driver.drain()
        if c.kind is not CallKind.CURSOR
    ]


def this_line() -> int:
    """The line the caller is at: a checkout on the next line is recorded at this + 1."""
    return sys._getframe(1).f_lineno


def counts(pool: Pool) -> tuple[int, int, int, int]:
    """(idle, in_use, waiting, open) from the pool's statistics."""
    s = pool.stats()
    assert s.idle + s.in_use == s.open
    return s.idle, s.in_use, s.waiting, s.open


class Worker:
    """Runs one call in its own thread and keeps its result or its exception."""

    def __init__(self, fn: Callable[[], Any], name: str = "worker") -> None:
        self.fn = fn
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()

    def start(self) -> Worker:
        self.thread.start()
        return self

    def join(self) -> Any:
        """Wait for the call to end; return its result (or re-raise its exception)."""
        assert self.done.wait(PATIENCE), f"{self.thread.name} did not finish"
        self.thread.join(PATIENCE)
        if self.error is not None:
            raise self.error
        return self.result


def park(clock: ManualClock, fn: Callable[[], Any], name: str = "waiter") -> Worker:
    """Start ``fn`` in a thread and return once one more thread is parked in the clock."""
    before = clock.parked
    worker = Worker(fn, name).start()
    assert clock.wait_parked(before + 1, PATIENCE), f"{name} never parked"
    return worker


class Raw:
    """A scripted DB-API connection: logs calls; each method may be told to raise."""

    def __init__(self, name: str, journal: list[str], **raises: BaseException) -> None:
        self.name = name
        self.journal = journal
        self.raises = raises
        self.closed = False

    def _call(self, what: str) -> None:
        self.journal.append(f"{what} {self.name}")
        exc = self.raises.get(what)
        if exc is not None:
            raise exc

    def cursor(self) -> RawCursor:
        self._call("cursor")
        return RawCursor(self)

    def commit(self) -> None:
        self._call("commit")

    def rollback(self) -> None:
        self._call("rollback")

    def close(self) -> None:
        self.closed = True
        self._call("close")


class PingingRaw(Raw):
    """A scripted connection with a ``ping()`` method."""

    def ping(self) -> None:
        self._call("ping")


class ResettingRaw(Raw):
    """A scripted connection with a ``reset()`` method."""

    def reset(self) -> None:
        self._call("reset")


class AutocommitRaw(Raw):
    """A scripted connection with a boolean ``autocommit`` attribute (as psycopg's)."""

    def __init__(self, name: str, journal: list[str], **raises: BaseException) -> None:
        super().__init__(name, journal, **raises)
        self._autocommit = False

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._call(f"autocommit={value}")
        self._autocommit = value


class RawCursor:
    """The scripted connection's cursor: logs each statement."""

    arraysize = 1
    description = None
    rowcount = -1

    def __init__(self, conn: Raw) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Any = None) -> None:
        self.conn._call(f"execute[{sql}]")

    def fetchall(self) -> list[Any]:
        return []

    def close(self) -> None:
        pass


class Script:
    """A creator of scripted connections named c0, c1...; ``plan`` scripts the next ones."""

    def __init__(self, kind: type[Raw] = Raw) -> None:
        self.kind = kind
        self.journal: list[str] = []
        self.made: list[Raw] = []
        self.plan: list[dict[str, BaseException]] = []
        self.connect_errors: list[BaseException] = []

    def __call__(self) -> Raw:
        if self.connect_errors:
            self.journal.append("connect failed")
            raise self.connect_errors.pop(0)
        raises = self.plan.pop(0) if self.plan else {}
        raw = self.kind(f"c{len(self.made)}", self.journal, **raises)
        self.made.append(raw)
        self.journal.append(f"connect {raw.name}")
        return raw

    def take(self) -> list[str]:
        """The journal so far, emptied."""
        taken = list(self.journal)
        self.journal.clear()
        return taken


def terminate(admin: Any, pid: int) -> None:
    """End a PostgreSQL backend from an autocommit connection, waiting (server side) until gone."""
    row = admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()
    assert row == (True,), f"backend {pid} was not terminated"


def backend_pid(conn: Any) -> int:
    """The PostgreSQL backend pid behind a pooled handle (its transaction is left open)."""
    row = conn.cursor().execute("SELECT pg_backend_pid()").fetchone()
    return int(row[0])


def show(conn: Any, setting: str) -> str:
    """A PostgreSQL setting's value as seen through a pooled handle."""
    row = conn.cursor().execute(f"SHOW {setting}").fetchone()
    return str(row[0])
