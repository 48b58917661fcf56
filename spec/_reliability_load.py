"""Load runs with faults: killed connections, a restarted server, a soak.

Worker threads share one pool (``impl.Pool``, ping on checkout, transparent
reopen on the backend's "connection lost" errors, fewer connections than
threads so the pool is exhausted and waited on). Each worker alternates two
kinds of operation:

* plain: check out, ``SELECT 1``, give back. No transaction is open when the
  statement runs, so a lost connection must never reach the caller: the pool
  pings it at checkout or reopens it transparently. The errors allowed: a
  failed *connect* (the server is down, or the new session itself was killed
  while connecting: CONN-1 surfaces a connect error), and a replacement lost
  too before the statement ran again on it (the reopen retries once, LIVE-2).
  Anything else is counted as unexpected.
  A connection lost after the statement ran, while its rows are fetched (only
  the recording driver fails there; the real drivers buffer results), is
  inside the transaction the statement may have begun: it surfaces (LIVE-3)
  and counts with the errors in a transaction.
* transaction: check out, ``begin()``, insert part 1 of a token, wait a
  little, insert part 2, commit. A lost connection inside it must surface
  (counted as expected) and nothing may be retried behind the caller's back:
  at the end every token found in the table has both parts, and the tokens
  found lie between the commits that succeeded and those plus the commits
  whose outcome is in doubt.

Meanwhile a fault thread ends connections from the outside (the server's
``pg_terminate_backend`` / ``KILL``; on sqlite3 the recording driver's
``kill``, refused connects and failed pings), idle and busy ones. At the end
the backend's own count of connections must equal the pool's ``open``, and
after ``close()`` it must be zero: nothing leaked.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import impl

from ._driver import RecordingDriver
from ._reliability_servers import Postgres, Target, pg_cluster_version

#: Real seconds the checks wait at most for a server to catch up (a safety net).
SETTLE_SECONDS = 10.0


def progress(message: str) -> None:
    """One line of progress on standard error."""
    print(f"[reliability] {message}", file=sys.stderr, flush=True)


class Backend:
    """Where a load run's connections come from, and how faults reach them."""

    name = "backend"
    placeholder = "%s"
    failures: tuple[type[BaseException], ...] = ()

    def connect(self) -> Any:
        """A new driver connection."""
        raise NotImplementedError

    def count(self) -> int:
        """How many connections the backend itself sees open right now."""
        raise NotImplementedError

    def fault(self, rng: random.Random) -> str | None:
        """Inject one fault; returns its kind ("kill-idle", "kill-busy"...) or None."""
        raise NotImplementedError

    def sleep_sql(self) -> str | None:
        """A statement that holds a transaction open for a moment (None: none)."""
        return None

    def setup_sql(self, table: str) -> str:
        """The statement creating the token table."""
        return f"CREATE TABLE IF NOT EXISTS {table} (token BIGINT, part INT)"

    def admin_rows(self, sql: str) -> list[Any]:
        """Rows of a statement run on a fresh connection outside the pool."""
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(sql)
            rows = list(cur.fetchall()) if cur.description is not None else []
            cur.close()
            conn.commit()
            return rows
        finally:
            conn.close()

    def close(self) -> None:
        """Release what the backend holds (admin connections, files)."""


class ServerBackend(Backend):
    """A real server: faults are server-side kills of the marker's sessions."""

    def __init__(self, target: Target) -> None:
        """A backend on ``target`` (its marker isolates the run's sessions)."""
        self.target = target
        self.name = target.name
        self.failures = target.failures
        self._admin = target.admin()
        self._admin_lock = threading.Lock()

    def connect(self) -> Any:
        """A new connection carrying the marker."""
        return self.target.connect()

    def count(self) -> int:
        """Sessions carrying the marker."""
        with self._admin_lock:
            return len(self.target.sessions(self._admin))

    def fault(self, rng: random.Random) -> str | None:
        """Kill one random session carrying the marker."""
        with self._admin_lock:
            sessions = self.target.sessions(self._admin)
            if not sessions:
                return None
            victim = rng.choice(sessions)
            self.target.kill(self._admin, victim.ident)
        return "kill-busy" if victim.busy else "kill-idle"

    def sleep_sql(self) -> str | None:
        """pg_sleep / SLEEP for two milliseconds."""
        if isinstance(self.target, Postgres):
            return "SELECT pg_sleep(0.002)"
        return "SELECT SLEEP(0.002)"

    def close(self) -> None:
        """Close the admin connection."""
        with self._admin_lock:
            self._admin.close()


class SqliteBackend(Backend):
    """sqlite3 through the recording driver: faults are the driver's."""

    name = "sqlite3"
    placeholder = "?"

    def __init__(self) -> None:
        """A file database in a fresh temporary directory."""
        self._dir = tempfile.TemporaryDirectory(prefix="poolspec-rel-")
        path = self._path = os.path.join(self._dir.name, "soak.db")
        self.driver = RecordingDriver(
            sqlite3,
            connect_args=(path,),
            connect_kwargs={
                "check_same_thread": False,
                "isolation_level": "IMMEDIATE",
                "timeout": 30.0,
            },
        )
        self.failures = (self.driver.OperationalError, self.driver.InterfaceError)

    def connect(self) -> Any:
        """A new recorded sqlite3 connection to the run's file."""
        return self.driver.connect()

    def admin_rows(self, sql: str) -> list[Any]:
        """Rows of a statement on a plain sqlite3 connection (no fault reaches it, none counted)."""
        conn = sqlite3.connect(self._path, timeout=30.0)
        try:
            rows = list(conn.execute(sql).fetchall())
            conn.commit()
            return rows
        finally:
            conn.close()

    def count(self) -> int:
        """Connections the recording driver sees open."""
        return len(self.driver.open_connections())

    def fault(self, rng: random.Random) -> str | None:
        """Kill an open connection, refuse the next connect, or fail the next ping."""
        kind = rng.choice(("kill", "kill", "connect", "ping"))
        if kind == "connect":
            self.driver.fail_next_connects(1)
            return "refused-connect"
        if kind == "ping":
            self.driver.fail_next_pings(1)
            return "failed-ping"
        open_ids = sorted(self.driver.open_connections())
        if not open_ids:
            return None
        victim = rng.choice(open_ids)
        busy = self.driver.in_transaction(victim)
        self.driver.kill(victim)
        return "kill-busy" if busy else "kill-idle"

    def close(self) -> None:
        """Remove the temporary directory."""
        self._dir.cleanup()


@dataclass(slots=True)
class LoadResult:
    """What one load run did and saw."""

    backend: str
    threads: int
    max_size: int
    operations: int = 0
    plain_ok: int = 0
    transactions_ok: int = 0
    errors_in_transaction: int = 0
    errors_connect_failed: int = 0
    errors_second_fault: int = 0
    connect_error_samples: list[str] = field(default_factory=list)
    commits_in_doubt: int = 0
    unexpected: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    invariant_violations: list[str] = field(default_factory=list)
    tokens_found: int = 0
    tokens_torn: int = 0
    backend_open_at_end: int = -1
    pool_open_at_end: int = -1
    leaked_after_close: int = -1
    seconds: float = 0.0
    restart_seconds: float | None = None
    recovery_seconds: float | None = None

    @property
    def ok(self) -> bool:
        """Whether every guarantee held."""
        return (
            not self.unexpected
            and not self.invariant_violations
            and self.tokens_torn == 0
            and self.transactions_ok <= self.tokens_found
            and self.tokens_found <= self.transactions_ok + self.commits_in_doubt
            and self.backend_open_at_end == self.pool_open_at_end
            and self.leaked_after_close == 0
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``ok`` included)."""
        data = asdict(self)
        data["ok"] = self.ok
        data["faults_total"] = sum(self.faults.values())
        return data


_TAG = "_poolspec_connect_failure"


def _tagging(connect: Callable[[], Any]) -> Callable[[], Any]:
    """A creator that marks the exceptions of a failed connect."""

    def creator() -> Any:
        try:
            return connect()
        except Exception as exc:
            # an exception without a __dict__ stays untagged: counted unexpected
            with contextlib.suppress(AttributeError):
                setattr(exc, _TAG, True)
            raise

    return creator


def _is_connect_failure(exc: BaseException) -> bool:
    return bool(getattr(exc, _TAG, False))


@dataclass(slots=True)
class _Shared:
    """State shared by a run's threads, guarded by ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    next_token: int = 0
    first_success_after: float | None = None
    restart_done_at: float | None = None


class LoadRun:
    """One load run: workers, a fault thread, then the checks."""

    def __init__(
        self,
        backend: Backend,
        *,
        threads: int,
        ops_per_thread: int,
        faults: int,
        max_size: int | None = None,
        seed: int = 0,
        transaction_share: float = 0.3,
    ) -> None:
        """Describe a run; nothing starts until :meth:`run`."""
        self.backend = backend
        self.threads = threads
        self.ops_per_thread = ops_per_thread
        self.faults = faults
        self.max_size = max_size if max_size is not None else max(1, threads // 2)
        self.seed = seed
        self.transaction_share = transaction_share
        self.table = f"poolspec_rel_tokens_{os.getpid()}_{seed}_{random.randrange(1 << 30)}"
        self.result = LoadResult(backend.name, threads, self.max_size)
        self._shared = _Shared()
        self._done = threading.Event()
        self.pool: impl.Pool | None = None
        #: When set by a disturbance: workers go on past their count until it is set.
        self.hold: threading.Event | None = None

    # -- the run ---------------------------------------------------------------

    def run(self, disturb: Callable[[LoadRun], None] | None = None) -> LoadResult:
        """Run the workers and the fault thread (or ``disturb``), then check everything."""
        backend = self.backend
        backend.admin_rows(backend.setup_sql(self.table))
        pool = impl.Pool(
            _tagging(backend.connect),
            max_size=self.max_size,
            timeout=60.0,
            ping=impl.Ping.ON_CHECKOUT,
            failures=backend.failures,
            reset=impl.ResetMode.ROLLBACK,
        )
        self.pool = pool
        if disturb is None and self.faults > 0:
            self.hold = threading.Event()  # the workers go on until every fault is injected
        start = time.monotonic()
        workers = [
            threading.Thread(target=self._worker, args=(i,), name=f"rel-worker-{i}")
            for i in range(self.threads)
        ]
        monitor = threading.Thread(target=self._monitor, name="rel-monitor")
        side = threading.Thread(
            target=(lambda: disturb(self)) if disturb is not None else self._fault_loop,
            name="rel-faults",
        )
        try:
            for t in (*workers, monitor, side):
                t.start()
            for t in workers:
                t.join()
        finally:
            self._done.set()
            side.join()
            monitor.join()
        self.result.seconds = time.monotonic() - start
        try:
            self._final_checks(pool)
        finally:
            pool.close()
            self.result.leaked_after_close = self._settled(backend.count, 0)
            try:
                backend.admin_rows(f"DROP TABLE {self.table}")
            except Exception as exc:  # noqa: BLE001 - cleanup only; reported as a note
                progress(f"could not drop {self.table}: {exc}")
        return self.result

    def _settled(self, read: Callable[[], int], want: int) -> int:
        """``read()`` once it equals ``want``, or its last value after the safety net."""
        deadline = time.monotonic() + SETTLE_SECONDS
        value = read()
        while value != want and time.monotonic() < deadline:
            time.sleep(0.05)
            value = read()
        return value

    def _final_checks(self, pool: impl.Pool) -> None:
        result = self.result
        stats = pool.stats()
        if stats.in_use or stats.waiting:
            result.invariant_violations.append(f"after the run: {stats}")
        result.pool_open_at_end = stats.open
        result.backend_open_at_end = self._settled(self.backend.count, stats.open)
        rows = self.backend.admin_rows(
            f"SELECT token, COUNT(*), MIN(part), MAX(part) FROM {self.table} GROUP BY token"
        )
        result.tokens_found = len(rows)
        result.tokens_torn = sum(
            1 for _, n, lo, hi in rows if (int(n), int(lo), int(hi)) != (2, 1, 2)
        )

    # -- the threads -------------------------------------------------------------

    def _worker(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        pool = self.pool
        assert pool is not None
        hold = self.hold
        safety = time.monotonic() + 120.0
        done = 0
        while done < self.ops_per_thread or (
            hold is not None and not hold.is_set() and time.monotonic() < safety
        ):
            done += 1
            if rng.random() < self.transaction_share:
                self._transaction(pool, rng)
            else:
                self._plain(pool)

    def _note_success(self) -> None:
        shared = self._shared
        if shared.restart_done_at is not None and shared.first_success_after is None:
            with shared.lock:
                if shared.first_success_after is None:
                    shared.first_success_after = time.monotonic()
            if self.hold is not None:
                self.hold.set()

    def _count(self, attr: str) -> None:
        with self._shared.lock:
            setattr(self.result, attr, getattr(self.result, attr) + 1)
            self.result.operations += 1

    def _unexpected(self, what: str, exc: BaseException) -> None:
        where = traceback.extract_tb(exc.__traceback__)
        site = f" (in {' < '.join(f.name for f in reversed(where[-5:]))})" if where else ""
        with self._shared.lock:
            self.result.operations += 1
            if len(self.result.unexpected) < 20:
                self.result.unexpected.append(f"{what}: {type(exc).__name__}: {exc}{site}")
            else:
                self.result.unexpected.append("...")

    def _plain(self, pool: impl.Pool) -> None:
        reopened = ran = False
        try:
            with pool.acquire() as conn:
                before = conn.raw
                try:
                    cur = conn.execute("SELECT 1")
                except Exception:
                    reopened = conn.raw is not before
                    raise
                ran = True
                rows = cur.fetchall()
        except Exception as exc:  # noqa: BLE001 - every failure is classified and counted
            if _is_connect_failure(exc):
                self._connect_failed(exc)
            elif reopened and self._second_fault(exc):
                self._count("errors_second_fault")
            elif ran and isinstance(exc, self.backend.failures):
                # lost while fetching: the statement ran, so a transaction may be open (LIVE-3)
                self._count("errors_in_transaction")
            else:
                self._unexpected("plain SELECT 1 outside a transaction", exc)
            return
        if [tuple(r) for r in rows] != [(1,)]:
            self._unexpected("plain SELECT 1", AssertionError(f"it returned {rows!r}"))
            return
        self._count("plain_ok")
        self._note_success()

    def _connect_failed(self, exc: BaseException) -> None:
        self._count("errors_connect_failed")
        text = f"{type(exc).__name__}: {exc}".strip()[:160]
        samples = self.result.connect_error_samples
        with self._shared.lock:
            if text not in samples and len(samples) < 5:
                samples.append(text)

    def _second_fault(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a lost connection raised by the statement run again after a reopen.

        The transparent reopen (LIVE-2) runs a statement once more on a new
        connection (the caller checked the handle's connection changed); when
        that one is lost too, the second error surfaces, raised while the
        first was handled (its ``__context__``).
        """
        failures = self.backend.failures
        return isinstance(exc, failures) and isinstance(exc.__context__, failures)

    def _transaction(self, pool: impl.Pool, rng: random.Random) -> None:
        with self._shared.lock:
            self._shared.next_token += 1
            token = self._shared.next_token
        ph = self.backend.placeholder
        insert = f"INSERT INTO {self.table} (token, part) VALUES ({ph}, {ph})"
        sleep = self.backend.sleep_sql()
        committing = False
        try:
            with pool.acquire() as conn:
                conn.begin()
                cur = conn.cursor()
                cur.execute(insert, (token, 1))
                if sleep is not None and rng.random() < 0.5:
                    cur.execute(sleep)
                cur.execute(insert, (token, 2))
                committing = True
                conn.commit()
        except Exception as exc:  # noqa: BLE001 - every failure is classified and counted
            if _is_connect_failure(exc):
                self._connect_failed(exc)
            elif isinstance(exc, self.backend.failures):
                self._count("commits_in_doubt" if committing else "errors_in_transaction")
            else:
                self._unexpected("transaction", exc)
            return
        self._count("transactions_ok")
        self._note_success()

    def _fault_loop(self) -> None:
        rng = random.Random(self.seed)
        injected = 0
        # Spread the faults over the run: one every few operations' worth of real time.
        while injected < self.faults and not self._done.wait(rng.uniform(0.002, 0.01)):
            try:
                kind = self.backend.fault(rng)
            except Exception as exc:  # noqa: BLE001 - a failed kill is reported, not fatal
                progress(f"fault injection failed: {exc}")
                continue
            if kind is not None:
                injected += 1
                with self._shared.lock:
                    self.result.faults[kind] = self.result.faults.get(kind, 0) + 1
        if self.hold is not None:
            self.hold.set()

    def _monitor(self) -> None:
        """Check the pool's own invariants throughout the run (STAT-1, CAP-1)."""
        pool = self.pool
        assert pool is not None
        while not self._done.wait(0.01):
            s = pool.stats()
            problems = []
            if s.idle + s.in_use != s.open:
                problems.append("idle + in_use != open")
            if s.open > self.max_size:
                problems.append(f"open {s.open} > max_size {self.max_size}")
            if s.idle < 0 or s.in_use < 0 or s.waiting < 0:
                problems.append("a negative count")
            if problems and len(self.result.invariant_violations) < 20:
                with self._shared.lock:
                    self.result.invariant_violations.append(f"{'; '.join(problems)}: {s}")


def run_load(
    backend: Backend, *, threads: int, ops_per_thread: int, faults: int, seed: int = 0
) -> LoadResult:
    """One load run with ``faults`` faults spread over it."""
    return LoadRun(
        backend, threads=threads, ops_per_thread=ops_per_thread, faults=faults, seed=seed
    ).run()


def pg_restart_command() -> list[str]:
    """The command restarting the local PostgreSQL cluster."""
    return [
        "pg_ctlcluster",
        "--skip-systemctl-redirect",
        pg_cluster_version(),
        "main",
        "restart",
    ]


def ensure_pg_running() -> None:
    """Start the local PostgreSQL cluster if it is not running (after a failed restart)."""
    version = pg_cluster_version()
    status = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "status"],
        capture_output=True,
        check=False,
    )
    if status.returncode != 0:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            check=False,
        )


def run_restart(
    target: Postgres, *, threads: int, ops_per_thread: int, seed: int = 0
) -> LoadResult:
    """A load run during which the PostgreSQL server is restarted once.

    The restart starts once a quarter of the operations are done. Reported:
    how long the restart command took, and the recovery time: from the
    moment the command returned (the server accepts connections again) to
    the first operation that succeeded afterwards. The server is started
    again if anything fails.
    """
    backend = ServerBackend(target)
    total = threads * ops_per_thread

    def restart(run: LoadRun) -> None:
        while run.result.operations < total // 4 and not run._done.wait(0.01):
            pass
        if run._done.is_set():
            assert run.hold is not None
            run.hold.set()
            return
        progress("restarting PostgreSQL")
        begun = time.monotonic()
        try:
            proc = subprocess.run(pg_restart_command(), capture_output=True, check=False)
        finally:
            ensure_pg_running()
        ended = time.monotonic()
        if proc.returncode != 0:
            progress(f"restart failed: {proc.stderr.decode(errors='replace').strip()}")
        run.result.restart_seconds = ended - begun
        run.result.faults["server-restart"] = 1
        with run._shared.lock:
            run._shared.restart_done_at = ended
        # The backend's admin connection died with the server: open a new one.
        with backend._admin_lock:
            with contextlib.suppress(Exception):  # it is dead already
                backend._admin.close()
            backend._admin = target.admin()

    run = LoadRun(backend, threads=threads, ops_per_thread=ops_per_thread, faults=0, seed=seed)
    run.hold = threading.Event()  # the workers go on until one succeeded after the restart
    try:
        result = run.run(disturb=restart)
    finally:
        ensure_pg_running()
        backend.close()
    shared = run._shared
    if shared.restart_done_at is not None and shared.first_success_after is not None:
        result.recovery_seconds = max(0.0, shared.first_success_after - shared.restart_done_at)
    return result
