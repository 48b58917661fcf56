"""Nothing left behind after close(): threads, file descriptors, connections."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from spec._driver import RecordingDriver
from spec._reliability_hygiene import DOORS, Door, check_door


@pytest.mark.parametrize("door", DOORS, ids=lambda d: d[0])
def test_door_leaves_nothing(door: Door) -> None:
    """Connections of ended threads close (per-thread doors); nothing stays after close()."""
    result = check_door(door)
    assert result.problems == []
    assert result.open_after_close == 0
    if door[1]:
        assert result.connections_made == result.threads_used  # one per thread...
        assert result.open_after_threads_ended == 0  # ...closed once its thread ended


class _NaiveThreadLocalPool:
    """A per-thread pool that never notices ended threads (the leak the check must catch)."""

    def __init__(self, driver: RecordingDriver) -> None:
        self._driver = driver
        self._local = threading.local()
        self._all: list[Any] = []

    def connect(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._driver.connect()
            self._all.append(conn)
        return _Handle(conn)

    def close(self) -> None:
        """Closes nothing: the connections of ended threads are forgotten."""


class _Handle:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def cursor(self) -> Any:
        return self._conn.cursor()

    def close(self) -> None:
        """Keeps the thread's connection open for its next checkout."""


def test_the_check_catches_a_leaking_per_thread_pool() -> None:
    """A per-thread pool that keeps ended threads' connections is reported as leaking."""
    result = check_door(("naive", True, _NaiveThreadLocalPool))
    assert result.open_after_threads_ended == result.threads_used
    assert any("ended threads" in p for p in result.problems)
    assert any("after close()" in p for p in result.problems)
