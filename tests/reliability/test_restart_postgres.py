"""A PostgreSQL restart in the middle of a load run (restarts the shared server: schedule it).

This file restarts the local cluster with ``pg_ctlcluster``; other tests using
PostgreSQL at the same moment will see their connections dropped. The
server is started again if anything fails.
"""

from __future__ import annotations

import shutil

import pytest

from spec._reliability_load import ensure_pg_running, run_restart
from spec._reliability_servers import Postgres
from tests.servers import unavailable


@pytest.mark.server
def test_postgres_restart_under_load(pg_target: Postgres) -> None:
    """Through a restart: no unexpected error, nothing torn or leaked, and the pool recovers."""
    if shutil.which("pg_ctlcluster") is None:
        unavailable("the restart test needs pg_ctlcluster (a local Debian PostgreSQL cluster)")
    try:
        result = run_restart(pg_target, threads=4, ops_per_thread=60, seed=5)
    finally:
        ensure_pg_running()
    data = result.as_dict()
    assert result.faults.get("server-restart") == 1, data
    assert data["unexpected"] == [], data
    assert result.tokens_torn == 0, data
    assert result.backend_open_at_end == result.pool_open_at_end, data
    assert result.leaked_after_close == 0, data
    assert result.recovery_seconds is not None, data
    assert result.ok, data
