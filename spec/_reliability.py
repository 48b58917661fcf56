"""``poolspec reliability``: every reliability run, and the ``RELIABILITY.md`` report.

The runs (each in its own module):

* load with killed connections on PostgreSQL and MariaDB, and a soak with
  faults on sqlite3 and the servers (``_reliability_load``);
* a PostgreSQL restart in the middle of a load run (``_reliability_load``);
* the isolation matrix, per reset mode, leftover and server
  (``_reliability_isolation``);
* a ``BaseException`` at every seam call (``_reliability_inject``);
* wrong input at every front door (``_reliability_input``);
* leftovers after ``close()`` (``_reliability_hygiene``).

A server that cannot be reached is reported as skipped, with the reason,
never as passing. :func:`run` returns a JSON-ready dict; :func:`markdown`
renders it for people.
"""

from __future__ import annotations

import datetime
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import impl

from . import _reliability_hygiene as hygiene
from . import _reliability_inject as inject
from . import _reliability_input as bad_input
from . import _reliability_isolation as isolation
from ._reliability_load import (
    ServerBackend,
    SqliteBackend,
    progress,
    run_load,
    run_restart,
)
from ._reliability_servers import MariaDB, Postgres, Target, new_marker


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big each run is."""

    load_threads: int
    load_ops: int
    load_faults: int
    soak_threads: int
    soak_ops: int
    soak_faults: int
    restart_threads: int
    restart_ops: int
    input_examples: int


QUICK = Sizes(6, 100, 20, 8, 250, 60, 4, 100, 20)
FULL = Sizes(12, 800, 200, 16, 1500, 600, 8, 400, 120)


def _server(
    make: Callable[[str], Target], fn: Callable[[Target], dict[str, Any]]
) -> dict[str, Any]:
    """Run ``fn`` on a fresh target, or report why the server was skipped."""
    target = make(new_marker())
    reason = target.unavailable()
    if reason is not None:
        progress(f"skipped: {reason}")
        return {"skipped": reason}
    target.setup()
    try:
        return fn(target)
    finally:
        target.teardown()


def _load_on(target: Target, threads: int, ops: int, faults: int) -> dict[str, Any]:
    backend = ServerBackend(target)
    try:
        return run_load(backend, threads=threads, ops_per_thread=ops, faults=faults).as_dict()
    finally:
        backend.close()


def run_loads(sizes: Sizes) -> dict[str, Any]:
    """Killed connections under load (servers) and the soak (sqlite3, servers)."""
    out: dict[str, Any] = {}
    progress("soak on sqlite3 (recording driver faults)")
    sqlite = SqliteBackend()
    try:
        out["sqlite3 soak"] = run_load(
            sqlite,
            threads=sizes.soak_threads,
            ops_per_thread=sizes.soak_ops,
            faults=sizes.soak_faults,
        ).as_dict()
    finally:
        sqlite.close()
    for key, make in (("PostgreSQL", Postgres), ("MariaDB", MariaDB)):
        progress(f"killed connections under load on {key}")
        out[f"{key} kills"] = _server(
            make, lambda t: _load_on(t, sizes.load_threads, sizes.load_ops, sizes.load_faults)
        )
        progress(f"soak on {key}")
        out[f"{key} soak"] = _server(
            make, lambda t: _load_on(t, sizes.soak_threads, sizes.soak_ops, sizes.soak_faults)
        )
    return out


def run_restart_section(sizes: Sizes) -> dict[str, Any]:
    """The PostgreSQL restart run."""
    progress("PostgreSQL restart under load")

    def go(target: Target) -> dict[str, Any]:
        assert isinstance(target, Postgres)
        return run_restart(
            target, threads=sizes.restart_threads, ops_per_thread=sizes.restart_ops
        ).as_dict()

    return _server(Postgres, go)


def run_isolation() -> dict[str, Any]:
    """The isolation matrix on each server."""
    progress("isolation matrix on sqlite3")
    out: dict[str, Any] = {"sqlite3": isolation.sqlite_matrix(new_marker())}
    for key, make in (("PostgreSQL", Postgres), ("MariaDB", MariaDB)):
        progress(f"isolation matrix on {key}")
        out[key] = _server(make, lambda t: dict(isolation.server_matrix(t, t.marker)))
    return out


def run_injection() -> dict[str, Any]:
    """Injected ``BaseException`` at every seam call, for two reset modes."""
    out: dict[str, Any] = {}
    for mode in (impl.ResetMode.ROLLBACK, impl.ResetMode.FULL):
        progress(f"BaseException injection, reset={mode.value}")
        rep = inject.enumerate_injections(mode, progress)
        out[mode.value] = {
            "points": rep.points,
            "runs": rep.runs,
            "surfaced": rep.surfaced,
            "failures": rep.failures,
            "guaranteed_failures": [
                f for f in rep.failures if f.split(" #")[0] in inject.GUARANTEED
            ],
        }
    return out


def run_input(sizes: Sizes) -> dict[str, Any]:
    """Wrong input at every front door."""
    progress("bad input at every front door")
    results = bad_input.run_all(sizes.input_examples, progress)
    return {
        "parameters": len(results),
        "cases": sum(r.tried for r in results),
        "problems": {f"{r.door}({r.param})": r.problems for r in results if r.problems},
    }


def run_hygiene() -> dict[str, Any]:
    """Leftovers after ``close()``, per front door."""
    progress("resource hygiene per front door")
    return {r.door: asdict(r) for r in hygiene.check_all(progress)}


def run(quick: bool = False) -> dict[str, Any]:
    """Every run; a JSON-ready report."""
    sizes = QUICK if quick else FULL
    started = time.monotonic()
    report: dict[str, Any] = {
        "generated": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "poolspec reliability" + (" --quick" if quick else ""),
        "python": platform.python_version(),
        "sizes": asdict(sizes),
    }
    report["load"] = run_loads(sizes)
    report["restart"] = run_restart_section(sizes)
    report["isolation"] = run_isolation()
    report["injection"] = run_injection()
    report["input"] = run_input(sizes)
    report["hygiene"] = run_hygiene()
    report["seconds"] = round(time.monotonic() - started, 1)
    report["ok"] = verdict(report)
    return report


def verdict(report: dict[str, Any]) -> bool:
    """Whether every guarantee held (skipped parts do not count as passing or failing)."""
    loads = [v for v in report["load"].values() if "skipped" not in v]
    if "skipped" not in report["restart"]:
        loads.append(report["restart"])
    if not all(v["ok"] for v in loads):
        return False
    if any(v["guaranteed_failures"] for v in report["injection"].values()):
        return False
    if report["input"]["problems"]:
        return False
    return not any(v["problems"] for v in report["hygiene"].values())


# -- the markdown report -------------------------------------------------------------


def _load_rows(load: dict[str, Any]) -> list[str]:
    rows = [
        "| run | threads / max_size | operations | faults injected | errors in a transaction "
        "(expected) | commits in doubt | connect failed | replacement lost too "
        "| unexpected errors | torn transactions | open at end: server / pool | leaked after "
        "close | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in load.items():
        if "skipped" in r:
            rows.append(f"| {name} | skipped: {r['skipped']} |" + " |" * 11)
            continue
        faults = ", ".join(f"{k} {v}" for k, v in sorted(r["faults"].items())) or "none"
        rows.append(
            f"| {name} | {r['threads']} / {r['max_size']} | {r['operations']} | "
            f"{r['faults_total']} ({faults}) | {r['errors_in_transaction']} | "
            f"{r['commits_in_doubt']} | {r['errors_connect_failed']} | "
            f"{r['errors_second_fault']} | {len(r['unexpected'])} | "
            f"{r['tokens_torn']} | {r['backend_open_at_end']} / {r['pool_open_at_end']} | "
            f"{r['leaked_after_close']} | {'held' if r['ok'] else 'FAILED'} |"
        )
    return rows


def _matrix_rows(name: str, matrix: dict[str, Any]) -> list[str]:
    if "skipped" in matrix:
        return [f"**{name}**: skipped: {matrix['skipped']}", ""]
    modes = isolation.MODES
    rows = [
        f"**{name}**",
        "",
        "| leftover | " + " | ".join(f"`{m}`" for m in modes) + " |",
        "| --- |" + " --- |" * len(modes),
    ]
    for kind, row in matrix.items():
        rows.append(f"| {kind} | " + " | ".join(row[m] for m in modes) + " |")
    rows.append("")
    return rows


def markdown(report: dict[str, Any]) -> str:
    """``RELIABILITY.md`` from a report."""
    out = [
        "# Reliability figures",
        "",
        f"Produced by `{report['command']}` on {report['generated']} (Python "
        f"{report['python']}, {report['seconds']} s). Rerun it to refresh this file: "
        "`poolspec reliability [--quick] [--json FILE] [--write RELIABILITY.md]`. "
        "A server that could not be reached is marked skipped, with the reason.",
        "",
        f"**Overall: {'every guarantee held' if report['ok'] else 'SOME GUARANTEES FAILED'}.**",
        "",
        "## Killed connections, restart and soak",
        "",
        "Worker threads share one `impl.Pool` with fewer connections than threads "
        "(`ping=on_checkout`, the driver's lost-connection errors as `failures`, "
        "`reset=rollback`). Plain operations (`SELECT 1` outside a transaction) must never "
        "see an error except a failed connect or a replacement lost too (below); transactions "
        "(`begin()`, two inserts, commit) must surface a lost connection and never be "
        "retried behind the caller's back (a *torn* transaction would be one committed "
        "with only one of its two rows). Faults: server-side `pg_terminate_backend` / "
        "`KILL` of the run's idle and busy sessions (found by `application_name` / "
        "database marker), a PostgreSQL restart, and on sqlite3 the recording driver's "
        "killed connections, refused connects and failed pings. At the end the server's "
        "own count of the run's sessions must equal the pool's `open`, and be 0 after "
        "`close()`. A connection lost after `SELECT 1` ran, while its row was fetched (only "
        "the recording driver fails there), counts as an error in a transaction: the "
        "statement may have begun one (LIVE-3). *Connect failed*: a connect the operation "
        "needed raised (CONN-1: its error reaches the caller): the server was down, or the "
        "fault thread killed the new session during its handshake (samples of the "
        "messages are in the JSON report). "
        "*Replacement lost too*: a plain statement whose connection was lost, "
        "reopened (the handle's connection changed), and whose replacement was killed "
        "before the statement ran again; the transparent reopen retries once (LIVE-2), so "
        "this second error surfaces by design. *Commits in doubt*: the connection was lost "
        "during `commit()`; the tokens found must lie between the commits that succeeded "
        "and those plus the ones in doubt.",
        "",
        *_load_rows({**report["load"], "PostgreSQL restart": report["restart"]}),
        "",
    ]
    restart = report["restart"]
    if "skipped" not in restart and restart.get("restart_seconds") is not None:
        recovery = restart.get("recovery_seconds")
        rec_text = "none succeeded" if recovery is None else f"{recovery * 1000:.1f} ms"
        out += [
            f"PostgreSQL restart: the restart command took {restart['restart_seconds']:.2f} s; "
            f"first successful operation after it returned: {rec_text} later.",
            "",
        ]
    out += [
        "## Isolation between borrowers",
        "",
        "A pool of one connection; borrower A leaves something behind and gives the "
        "connection back; borrower B checks it out and looks. `leaks`: B sees it; "
        "`cleared`: it is gone; `committed`: A's uncommitted rows were made permanent. "
        "Session-state leftovers are committed by A first. See `spec/SPEC.md`, RESET, "
        '"Observed on real servers".',
        "",
    ]
    for name, matrix in report["isolation"].items():
        out += _matrix_rows(name, matrix)
    out += [
        "## BaseException at every seam call",
        "",
        "A fixed scenario (two checkouts, a waiter handed a connection, a reset, a ping, "
        "an invalidate, a transparent reopen; `max_connecting=1`) runs once per injection "
        "point, with `Injected(BaseException)` raised at the k-th call of one kind, k = 1, "
        "2, ... until the scenario no longer reaches it. After each run nothing may be "
        "lost: no waiter asleep, nothing in use, the driver's open connections equal the "
        "pool's count, `max_size` connections can be checked out, none open after "
        "`close()`. Guaranteed kinds: "
        + ", ".join(f"`{p}`" for p in inject.GUARANTEED)
        + ". `lock.release` and `cond.notify` raise right *after* the call: an interrupt "
        "arriving between two statements of the pool, once it has decided under its lock; "
        "what it decided is still placed (handed out, put back, closed, or its slot freed) "
        "before the interrupt goes on. Paths this scenario does not take (the hot path of "
        "a pool without a checkout gate, per-thread and shared modes, `close()`, "
        "`dispose()`, `end_thread()`, detached handles, prefill) are covered site by site "
        "by `tests/reliability/test_injection.py`."
        + "".join(
            f" Not guaranteed (enumerated and reported): `{p}`."
            for p in inject.POINTS
            if p not in inject.GUARANTEED
        ),
        "",
        "| reset | kind | points | runs that lost something |",
        "| --- | --- | --- | --- |",
    ]
    for mode, rep in report["injection"].items():
        for point, count in rep["points"].items():
            lost = [f for f in rep["failures"] if f.startswith(f"{point} #")]
            out.append(f"| {mode} | `{point}` | {count} | {len(lost)} |")
    out.append("")
    for mode, rep in report["injection"].items():
        total = sum(rep["points"].values())
        out.append(
            f"- reset `{mode}`: {total} injection points, {rep['runs']} runs, "
            f"{len(rep['failures'])} lost something "
            f"({len(rep['guaranteed_failures'])} in guaranteed kinds)."
        )
        out += [f"  - {f}" for f in rep["failures"][:40]]
    inp = report["input"]
    out += [
        "",
        "## Wrong input at every front door",
        "",
        f"{inp['cases']} Hypothesis-generated invalid values over {inp['parameters']} "
        "parameters (constructors of `impl.Pool`/`PoolConfig`, the SQLAlchemy-style, "
        "DBUtils-style, QLDB and quasardb doors, and the engine's methods). Each must be "
        "refused with a TypeError/ValueError/PoolError whose message contains the value's "
        "repr, leave no connection open, and leave the pool usable.",
        "",
    ]
    if inp["problems"]:
        for name, problems in inp["problems"].items():
            out.append(f"- {name}: " + "; ".join(problems))
    else:
        out.append("Every value was refused clearly; nothing leaked.")
    out += [
        "",
        "## Nothing left behind",
        "",
        "Four short-lived threads per door check out, run a statement and give back "
        "(per-thread doors: without `end_thread`). Counted: connections still open once "
        "the threads ended (per-thread doors must have closed them), after `close()`, and "
        "threads and file descriptors beyond those before.",
        "",
        "| door | connections made | open after threads ended | open after close | "
        "extra threads | extra fds | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, h in report["hygiene"].items():
        state = "clean" if not h["problems"] else "; ".join(h["problems"])
        out.append(
            f"| {name} | {h['connections_made']} | {h['open_after_threads_ended']} | "
            f"{h['open_after_close']} | {h['extra_threads']} | {h['extra_fds']} | {state} |"
        )
    out.append("")
    return "\n".join(out)
