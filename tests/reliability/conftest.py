"""Fixtures of the reliability tests: server targets carrying a fresh marker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spec._reliability_servers import MariaDB, Postgres, new_marker
from tests.servers import mariadb, postgres

__all__ = ["maria_target", "mariadb", "pg_target", "postgres"]


@pytest.fixture
def pg_target(postgres: object) -> Postgres:
    """A PostgreSQL target whose sessions carry a fresh application_name marker."""
    return Postgres(new_marker())


@pytest.fixture
def maria_target(mariadb: object) -> Iterator[MariaDB]:
    """A MariaDB target whose sessions use a fresh database (created, then dropped)."""
    target = MariaDB(new_marker())
    target.setup()
    yield target
    target.teardown()
