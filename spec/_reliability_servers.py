"""The real servers of the reliability runs: how to reach them and what they report.

Each :class:`Target` knows how to open a driver connection carrying a run's
*marker* (PostgreSQL: the ``application_name``; MariaDB: a database created
for the run), and how to ask the server, from an administrative connection,
which sessions carry that marker and how to end one of them. Counting through
the marker keeps other people's sessions on a shared server out of the
figures.

sqlite3 has no server: its target counts through the recording driver.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, final

#: Seconds a connect may take before the server counts as unreachable.
CONNECT_TIMEOUT = 3


@final
@dataclass(frozen=True, slots=True)
class Session:
    """One server session carrying the marker, as the server sees it.

    Attributes:
        ident: what ends it (PostgreSQL backend pid, MariaDB thread id).
        busy: whether it runs a statement or holds a transaction open.
    """

    ident: int
    busy: bool


def new_marker() -> str:
    """A fresh marker for one run: lower-case letters, digits and underscores."""
    return f"poolspec_rel_{uuid.uuid4().hex[:10]}"


class Target:
    """A real server the reliability runs connect to (subclassed per server)."""

    name = "server"
    driver = ""

    def __init__(self, marker: str) -> None:
        """A target whose sessions carry ``marker``."""
        self.marker = marker

    @property
    def dbapi(self) -> Any:
        """The driver module (raises ImportError if it is missing)."""
        return importlib.import_module(self.driver)

    @property
    def failures(self) -> tuple[type[BaseException], ...]:
        """The driver errors that mean "the connection is lost"."""
        mod = self.dbapi
        return (mod.OperationalError, mod.InterfaceError)

    def connect(self) -> Any:
        """A new driver connection carrying the marker."""
        raise NotImplementedError

    def admin(self) -> Any:
        """A new autocommit connection for inspecting and ending sessions."""
        raise NotImplementedError

    def sessions(self, admin: Any) -> list[Session]:
        """The sessions carrying the marker, the admin connection excluded."""
        raise NotImplementedError

    def kill(self, admin: Any, ident: int) -> None:
        """End one session from the server side."""
        raise NotImplementedError

    def setup(self) -> None:
        """Prepare the server for the run (the marker's database...)."""

    def teardown(self) -> None:
        """Undo :meth:`setup`."""

    def unavailable(self) -> str | None:
        """Why the server cannot be used (None: it answers)."""
        try:
            mod = self.dbapi
        except ImportError as exc:
            return f"{self.name} needs the {self.driver} driver: {exc}"
        try:
            self.admin().close()
        except mod.Error as exc:
            return f"{self.name} not reachable: {exc}".strip()
        return None

    def query(self, admin: Any, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of ``sql`` on the admin connection."""
        cur = admin.cursor()
        try:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description is not None else []
        finally:
            cur.close()


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@final
class Postgres(Target):
    """PostgreSQL through psycopg 3; the marker is the ``application_name``."""

    name = "PostgreSQL"
    driver = "psycopg"

    def _params(self) -> dict[str, Any]:
        return {
            "host": _env("POOLSPEC_PG_HOST", "127.0.0.1"),
            "port": int(_env("POOLSPEC_PG_PORT", "5432")),
            "dbname": "test",
            "user": "postgres",
            "connect_timeout": CONNECT_TIMEOUT,
        }

    def connect(self) -> Any:
        """A new connection whose ``application_name`` is the marker."""
        return self.dbapi.connect(**self._params(), application_name=self.marker)

    def admin(self) -> Any:
        """An autocommit connection with another application name."""
        return self.dbapi.connect(
            **self._params(), application_name=f"{self.marker}_admin", autocommit=True
        )

    def sessions(self, admin: Any) -> list[Session]:
        """Backends whose ``application_name`` is the marker."""
        rows = self.query(
            admin,
            "SELECT pid, state FROM pg_stat_activity WHERE application_name = %s",
            (self.marker,),
        )
        return [Session(int(pid), state not in ("idle", None)) for pid, state in rows]

    def kill(self, admin: Any, ident: int) -> None:
        """``pg_terminate_backend(pid)``."""
        self.query(admin, "SELECT pg_terminate_backend(%s)", (ident,))


@final
class MariaDB(Target):
    """MariaDB through PyMySQL; the marker is a database created for the run."""

    name = "MariaDB"
    driver = "pymysql"

    def _params(self) -> dict[str, Any]:
        return {
            "host": _env("POOLSPEC_MARIADB_HOST", "127.0.0.1"),
            "port": int(_env("POOLSPEC_MARIADB_PORT", "3306")),
            "user": "root",
            "password": "",
            "connect_timeout": CONNECT_TIMEOUT,
        }

    def connect(self) -> Any:
        """A new connection whose current database is the marker's."""
        return self.dbapi.connect(**self._params(), database=self.marker)

    def admin(self) -> Any:
        """An autocommit connection to database ``test``."""
        return self.dbapi.connect(**self._params(), database="test", autocommit=True)

    def setup(self) -> None:
        """Create the marker's database."""
        admin = self.admin()
        try:
            self.query(admin, f"CREATE DATABASE IF NOT EXISTS {self.marker}")
        finally:
            admin.close()

    def teardown(self) -> None:
        """Drop the marker's database."""
        admin = self.admin()
        try:
            self.query(admin, f"DROP DATABASE IF EXISTS {self.marker}")
        finally:
            admin.close()

    def sessions(self, admin: Any) -> list[Session]:
        """Threads whose current database is the marker's."""
        rows = self.query(
            admin,
            "SELECT ID, COMMAND, TRX FROM (SELECT p.ID, p.COMMAND, "
            "(SELECT COUNT(*) FROM information_schema.INNODB_TRX t "
            "WHERE t.trx_mysql_thread_id = p.ID) AS TRX "
            "FROM information_schema.PROCESSLIST p WHERE p.DB = %s) s",
            (self.marker,),
        )
        return [Session(int(i), cmd != "Sleep" or int(trx) > 0) for i, cmd, trx in rows]

    def kill(self, admin: Any, ident: int) -> None:
        """``KILL id`` (an already gone thread is ignored)."""
        with contextlib.suppress(self.dbapi.Error):  # it ended meanwhile: goal reached
            self.query(admin, f"KILL {int(ident)}")


#: The server targets by key, for the command line and the tests.
TARGETS: dict[str, Callable[[str], Target]] = {"postgres": Postgres, "mariadb": MariaDB}


def pg_cluster_version() -> str:
    """The PostgreSQL cluster version directory under /etc/postgresql ("15")."""
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions:
        raise FileNotFoundError("no cluster under /etc/postgresql")
    return versions[-1]
