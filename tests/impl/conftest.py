"""Fixtures shared by the pool's tests: drivers, a clock, a sqlite3 creator, PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from impl import ManualClock
from spec._driver import RecordingDriver


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


#: The PostgreSQL server the ``server`` tests use (trust auth).
PG_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres connect_timeout=3"


@pytest.fixture(scope="module")
def pg() -> Any:
    """The psycopg module, once a PostgreSQL server answers on 127.0.0.1:5432; else skip."""
    psycopg = pytest.importorskip("psycopg")
    try:
        probe = psycopg.connect(PG_DSN)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432: {exc}")
    probe.close()
    return psycopg


@pytest.fixture
def pg_admin(pg: Any) -> Iterator[Any]:
    """An autocommit PostgreSQL connection for inspecting and terminating other sessions."""
    conn = pg.connect(PG_DSN, autocommit=True)
    yield conn
    conn.close()
