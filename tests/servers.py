"""The real database servers of the ``server`` tests: where they are, how to connect, when to skip.

Two servers, each reached through a pure DB-API driver:

============ ========= ===================== =========================================
server       driver    default address       environment overrides
============ ========= ===================== =========================================
PostgreSQL   psycopg   127.0.0.1:5432        ``POOLSPEC_PG_HOST``, ``POOLSPEC_PG_PORT``
MariaDB      pymysql   127.0.0.1:3306        ``POOLSPEC_MARIADB_HOST``,
                                             ``POOLSPEC_MARIADB_PORT``
============ ========= ===================== =========================================

PostgreSQL is reached as user ``postgres`` (trust auth), MariaDB as ``root``
without a password; both in database ``test``.

``postgres_connect`` and ``mariadb_connect`` are connection factories: call
one for a new driver connection (keyword arguments override the connect
parameters: ``mariadb_connect(autocommit=True)``), or hand it to a pool as
its creator. They carry their driver module as ``dbapi``, where the DB-API
front doors look up a creator's failure types and ``threadsafety``.

The fixtures ``postgres`` and ``mariadb`` return that factory once the server
answers. When it does not (or its driver is missing) the test is skipped with
the reason ("MariaDB not reachable on 127.0.0.1:3306: <error>"), except when
the environment variable ``CI`` is true (``true``, ``1``, ``yes``, ``on``):
there server tests must run, so the same reason fails the test instead.
``postgres_admin`` and ``mariadb_admin`` are autocommit connections for
inspecting and ending other sessions, closed after the test.

The fixtures are plain module attributes: a test module (or a ``conftest``)
imports the ones it uses, ``from tests.servers import mariadb``, and pytest
finds them by name.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from types import MappingProxyType, ModuleType
from typing import Any, NoReturn, final

import pytest

#: Values of ``CI`` that mean "this is a CI run: unreachable servers are failures".
TRUE_VALUES = frozenset({"1", "true", "yes", "on"})

#: Seconds a connect may take before the server counts as unreachable.
CONNECT_TIMEOUT = 3


def in_ci() -> bool:
    """Whether the environment variable ``CI`` is set to a true value."""
    return os.environ.get("CI", "").strip().lower() in TRUE_VALUES


def unavailable(reason: str) -> NoReturn:
    """Skip the current test for ``reason``; in CI fail it instead, with the same reason.

    Raises:
        pytest.skip.Exception: ``CI`` is not true.
        pytest.fail.Exception: ``CI`` is true.
    """
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@final
class ServerConnect:
    """A connection factory for one server: ``factory(**overrides)`` opens a connection.

    It has no ``connect`` attribute on purpose: pools take an object with
    ``connect`` for a DB-API module. The address is read from the
    environment at each call, so a test may point it elsewhere.
    """

    __slots__ = ("_defaults", "_host_var", "_port_var", "driver", "server")

    def __init__(
        self,
        server: str,
        driver: str,
        env_prefix: str,
        port: int,
        **defaults: Any,
    ) -> None:
        """Describe a server.

        Args:
            server: its name in messages ("MariaDB").
            driver: the DB-API module's import name ("pymysql").
            env_prefix: the environment variables' prefix ("POOLSPEC_MARIADB").
            port: the default port (the default host is 127.0.0.1).
            **defaults: the driver's other connect parameters.
        """
        self.server = server
        self.driver = driver
        self._host_var = f"{env_prefix}_HOST"
        self._port_var = f"{env_prefix}_PORT"
        self._defaults = MappingProxyType({"port": port, **defaults})

    @property
    def host(self) -> str:
        """The server's host: the ``*_HOST`` variable, else 127.0.0.1."""
        return os.environ.get(self._host_var) or "127.0.0.1"

    @property
    def port(self) -> int:
        """The server's port: the ``*_PORT`` variable, else the default.

        Raises:
            ValueError: the variable is not an int; the message names it.
        """
        value = os.environ.get(self._port_var)
        if not value:
            return int(self._defaults["port"])
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{self._port_var} must be a port number, got {value!r}") from None

    @property
    def address(self) -> str:
        """``host:port``, for messages."""
        return f"{self.host}:{self.port}"

    @property
    def params(self) -> dict[str, Any]:
        """The keyword arguments of ``dbapi.connect`` (a fresh dict each time)."""
        return {**self._defaults, "host": self.host, "port": self.port}

    @property
    def dbapi(self) -> ModuleType:
        """The driver module.

        Raises:
            ImportError: the driver is not installed.
        """
        return importlib.import_module(self.driver)

    def __call__(self, **overrides: Any) -> Any:
        """A new driver connection; ``overrides`` replace connect parameters.

        Raises:
            ImportError: the driver is not installed.
            Exception: the driver's connect error.
        """
        return self.dbapi.connect(**{**self.params, **overrides})

    def __repr__(self) -> str:
        return f"<{self.server} via {self.driver} on {self.address}>"


#: PostgreSQL through psycopg 3 (trust auth).
postgres_connect = ServerConnect(
    "PostgreSQL",
    "psycopg",
    "POOLSPEC_PG",
    5432,
    dbname="test",
    user="postgres",
    connect_timeout=CONNECT_TIMEOUT,
)

#: MariaDB through pymysql (pure Python; ``root`` without a password).
mariadb_connect = ServerConnect(
    "MariaDB",
    "pymysql",
    "POOLSPEC_MARIADB",
    3306,
    user="root",
    password="",
    database="test",
    connect_timeout=CONNECT_TIMEOUT,
)


def require(factory: ServerConnect) -> ServerConnect:
    """``factory`` once its server answers a connect; else skip (CI: fail) with the reason.

    Raises:
        pytest.skip.Exception: the server or its driver is missing, ``CI`` not true.
        pytest.fail.Exception: the same, ``CI`` true.
    """
    try:
        dbapi = factory.dbapi
    except ImportError as exc:
        unavailable(f"{factory.server} tests need the {factory.driver} driver: {exc}")
    try:
        probe = factory()
    except dbapi.Error as exc:
        unavailable(f"{factory.server} not reachable on {factory.address}: {exc}")
    probe.close()
    return factory


@pytest.fixture(scope="session")
def postgres() -> ServerConnect:
    """The PostgreSQL connection factory, once the server answers; else skip (CI: fail)."""
    return require(postgres_connect)


@pytest.fixture(scope="session")
def mariadb() -> ServerConnect:
    """The MariaDB connection factory, once the server answers; else skip (CI: fail)."""
    return require(mariadb_connect)


@pytest.fixture
def postgres_admin(postgres: ServerConnect) -> Iterator[Any]:
    """An autocommit PostgreSQL connection for inspecting and terminating other sessions."""
    conn = postgres(autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def mariadb_admin(mariadb: ServerConnect) -> Iterator[Any]:
    """An autocommit MariaDB connection for inspecting and killing other sessions."""
    conn = mariadb(autocommit=True)
    yield conn
    conn.close()
