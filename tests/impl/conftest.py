"""Fixtures shared by the pool's tests: drivers, a clock, a sqlite3 creator, real servers."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

import pytest

from impl import ManualClock
from spec._driver import RecordingDriver

# The real servers' fixtures live in tests/servers.py so that any test package
# can import them; imported here, pytest finds them for every test in tests/impl.
from tests.servers import (  # noqa: F401 - fixtures, used by name
    mariadb,
    mariadb_admin,
    postgres,
    postgres_admin,
)


@pytest.fixture
def fake() -> Iterator[RecordingDriver]:
    """A recording driver in fake mode; every connection is closed at teardown."""
    driver = RecordingDriver(None)
    yield driver
    driver.close_all()


@pytest.fixture
def lite() -> Iterator[RecordingDriver]:
    """A recording driver wrapping sqlite3; every connection is closed at teardown."""
    driver = RecordingDriver()
    yield driver
    driver.close_all()


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at t=0."""
    return ManualClock()


@pytest.fixture
def sqlite_creator() -> Iterator[Callable[[], sqlite3.Connection]]:
    """A creator of real in-memory sqlite3 connections, all closed at teardown."""
    made: list[sqlite3.Connection] = []

    def create() -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        made.append(conn)
        return conn

    yield create
    for conn in made:
        conn.close()
