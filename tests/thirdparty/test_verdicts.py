"""poolspec check on SQLAlchemy's and DBUtils' pools: the verdicts CONFORMANCE.md reports, pinned.

Each run is short and seeded (no shrinking, so it is quick): the set of
failing rules must be exactly the pinned one. A new release that starts or
stops breaking a rule fails here, and CONFORMANCE.md must follow. The
divergences themselves are replayed one by one in test_known_divergences.py.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from spec import check
from spec._cli import _detect_profile, main
from spec._thirdparty import load

pytestmark = pytest.mark.stateful

pytest.importorskip("sqlalchemy.pool", reason="SQLAlchemy is not installed")
pytest.importorskip("dbutils.pooled_db", reason="DBUtils is not installed")

SEED = 7
EXAMPLES = 40

PINNED: dict[str, set[str]] = {
    # every divergence it has is one the profile steers around (CONFORMANCE.md)
    "sqlalchemy-queuepool": set(),
    "sqlalchemy-singletonthreadpool": set(),
    "sqlalchemy-nullpool": set(),
    "sqlalchemy-assertionpool": set(),
    # resets the shared connection under its other holders, pings it for each,
    # reconnects a soft-invalidated one in use
    "sqlalchemy-staticpool": {"CAP-1", "CAP-5", "INV-2", "LIVE-1"},
    # its divergences (reconnect in place when a reset or commit fails, a dead
    # connection handed out when it cannot reconnect) are steered around
    "dbutils-pooleddb": set(),
    # as PooledDB, and: pings on every reentrant checkout, rolls back at every
    # close, leaves a finished thread's connection open
    "dbutils-persistentdb": {"AFF-2", "AFF-3", "CAP-5", "LIVE-1", "LIVE-3", "RESET-2"},
}


@pytest.mark.parametrize("profile", sorted(PINNED))
def test_verdict_is_pinned(profile: str) -> None:
    report = check(profile, examples=EXAMPLES, steps=20, seed=SEED, shrink=False)
    failed = {v.rule for v in report.failed}
    assert failed == PINNED[profile], "\n".join(v.divergence for v in report.failed)
    assert report.examples >= EXAMPLES


@pytest.mark.parametrize(
    ("target", "profile"),
    [
        ("sqlalchemy.pool:QueuePool", "sqlalchemy-queuepool"),
        ("sqlalchemy.pool:SingletonThreadPool", "sqlalchemy-singletonthreadpool"),
        ("sqlalchemy.pool:NullPool", "sqlalchemy-nullpool"),
        ("sqlalchemy.pool:StaticPool", "sqlalchemy-staticpool"),
        ("sqlalchemy.pool:AssertionPool", "sqlalchemy-assertionpool"),
        ("dbutils.pooled_db:PooledDB", "dbutils-pooleddb"),
        ("dbutils.persistent_db:PersistentDB", "dbutils-persistentdb"),
        ("impl:QueuePool", "poolspec-queuepool"),
        ("impl:Pool", "poolspec"),
    ],
)
def test_profile_is_detected(target: str, profile: str) -> None:
    assert _detect_profile(load(target)) == profile


def test_a_look_alike_is_detected_by_its_name_and_shape() -> None:
    import sqlalchemy.pool

    class QueuePool(sqlalchemy.pool.QueuePool):
        """A fork living in someone else's module."""

    class MyPool:
        def connect(self) -> Any:
            raise NotImplementedError

    assert _detect_profile(QueuePool) == "sqlalchemy-queuepool"
    assert _detect_profile(MyPool) == "sqlalchemy-queuepool"


def test_check_lists_what_it_steered_around_and_strict_draws_it(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sa.json"
    argv = ["check", "sqlalchemy.pool:QueuePool", "--examples", "3", "--steps", "6"]
    main([*argv, "--seed", "1", "--json", str(out)])
    printed = capsys.readouterr().out
    assert "known divergences steered around (--strict draws them):" in printed
    assert "CAP-1: QueuePool.dispose() with connections checked out" in printed
    avoided = json.loads(out.read_text())["targets"][0]["avoided"]
    assert [line.split(":")[0] for line in avoided] == ["CAP-1", "ORDER-1", "DET-1"]
    main([*argv, "--seed", "1", "--strict", "--json", str(out)])
    assert "steered around" not in capsys.readouterr().out
    assert json.loads(out.read_text())["targets"][0]["avoided"] == []
