"""Each divergence CONFORMANCE.md reports for a third-party pool, replayed and pinned.

A replay applies the counterexample's operations in lockstep with the model
(``spec.replay``), whatever the profile steers around, and must fail under the
rule CONFORMANCE.md names. Should a new release change its behaviour, the
test fails and CONFORMANCE.md must be updated with it. The programs the
profiles accept as documented design choices (a second close doing nothing,
recycling by the harness's clock) replay cleanly.
"""

from __future__ import annotations

import pytest

import model
from model import Config, Fairness, IdleOrder, Ping
from spec import LockstepFailure, replay

pytestmark = pytest.mark.stateful

pytest.importorskip("sqlalchemy.pool", reason="SQLAlchemy is not installed")
pytest.importorskip("dbutils.pooled_db", reason="DBUtils is not installed")

B = Fairness.BARGING

DIVERGENCES = [
    # SQLAlchemy QueuePool
    (
        "sqlalchemy-queuepool",
        "CAP-1",
        Config(max_size=1, fairness=B),
        ["acquire(a1)", "dispose()", "acquire(a0)"],
    ),
    (
        "sqlalchemy-queuepool",
        "ORDER-1",
        Config(max_size=2, fairness=B),
        ["acquire(a0)", "acquire(a1)", "invalidate(a0)", "release(a1)", "acquire(a0)"],
    ),
    (
        "sqlalchemy-queuepool",
        "ORDER-1",
        Config(max_size=2, fairness=B, idle_order=IdleOrder.LIFO),
        [
            "acquire(a0)",
            "release(a0)",
            "acquire(a1)",
            "acquire(a0)",
            "release(a1)",
            "invalidate(a0)",
            "acquire(a0)",
        ],
    ),
    (
        "sqlalchemy-queuepool",
        "CAP-2",
        Config(max_size=2, idle_cap=1, fairness=B),
        ["acquire(a1)", "acquire(a0)", "detach(a0)", "release(a1)"],
    ),
    (
        "sqlalchemy-queuepool",
        "DET-1",
        Config(max_size=1, fairness=B),
        ["acquire(a0)", "detach(a0)", "drop(a0)"],
    ),
    # DBUtils PooledDB
    (
        "dbutils-pooleddb",
        "CAP-5",
        Config(max_size=1, fairness=B, reopen=True),
        ["acquire(a0)", "kill(c0)", "release(a0)"],
    ),
    (
        "dbutils-pooleddb",
        "LIVE-1",
        Config(max_size=2, min_idle=1, fairness=B, ping=Ping.ON_CHECKOUT, reopen=True),
        ["kill(c0)", "fail_connect()", "acquire(a0)"],
    ),
    (
        "dbutils-pooleddb",
        "LIVE-3",
        Config(max_size=1, fairness=B, reopen=True),
        ["acquire(a0)", "kill(c0)", "commit(a0)"],
    ),
    # DBUtils PersistentDB
    (
        "dbutils-persistentdb",
        "AFF-2",
        Config(
            max_size=None,
            per_thread=True,
            ping=Ping.ON_CHECKOUT,
            reopen=True,
            reset=model.ResetMode.ROLLBACK_IF_BEGUN,
        ),
        ["acquire(a0)", "acquire(a0)"],
    ),
    (
        "dbutils-persistentdb",
        "AFF-3",
        Config(
            max_size=None, per_thread=True, reopen=True, reset=model.ResetMode.ROLLBACK_IF_BEGUN
        ),
        ["acquire(a0)", "release(a0)", "end_thread(a0)"],
    ),
    (
        "dbutils-persistentdb",
        "LIVE-3",
        Config(
            max_size=None, per_thread=True, reopen=True, reset=model.ResetMode.ROLLBACK_IF_BEGUN
        ),
        ["acquire(a0)", "kill(c0)", "commit(a0)"],
    ),
    (
        "dbutils-persistentdb",
        "RESET-2",
        Config(
            max_size=None, per_thread=True, reopen=True, reset=model.ResetMode.ROLLBACK_IF_BEGUN
        ),
        ["acquire(a0)", "begin(a0)", "drop(a0)"],
    ),
    (
        "dbutils-persistentdb",
        "RESET-2",
        Config(
            max_size=None, per_thread=True, reopen=True, reset=model.ResetMode.ROLLBACK_IF_BEGUN
        ),
        ["acquire(a2)", "acquire(a2)", "begin(a2)", "release(a2)"],
    ),
    # SQLAlchemy StaticPool
    (
        "sqlalchemy-staticpool",
        "RESET-3",
        Config(max_size=1, shared=True),
        ["acquire(a0)", "acquire(a1)", "release(a0)"],
    ),
    (
        "sqlalchemy-staticpool",
        "CAP-1",
        Config(max_size=1, shared=True, ping=Ping.ON_CHECKOUT),
        ["acquire(a1)", "soft_invalidate(a1)", "acquire(a0)"],
    ),
]


def test_singletonthreadpool_closes_a_connection_in_use_beyond_pool_size() -> None:
    """SingletonThreadPool's pool_size is no cap: it closes another thread's connection in use."""
    import threading

    from sqlalchemy.pool import SingletonThreadPool

    from spec import CallKind, RecordingDriver

    driver = RecordingDriver(None)
    pool = SingletonThreadPool(driver.connect, pool_size=1)
    first = pool.connect()  # this thread's connection, held
    done = threading.Event()

    def other() -> None:
        second = pool.connect()
        second.close()
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(5)
    assert done.is_set()
    closed = {c.conn for c in driver.calls_since(0) if c.kind is CallKind.CLOSE}
    held = first.dbapi_connection
    assert held is not None
    assert held.id in closed  # closed under its holder
    first.close()
    pool.dispose()
    driver.close_all()


@pytest.mark.parametrize(
    ("profile", "rule", "config", "ops"),
    DIVERGENCES,
    ids=[f"{p}-{r}-{i}" for i, (p, r, _, _) in enumerate(DIVERGENCES)],
)
def test_known_divergence_replays(profile: str, rule: str, config: Config, ops: list[str]) -> None:
    with pytest.raises(LockstepFailure) as caught:
        replay(profile, config, ops)
    assert caught.value.divergence.rule == rule, str(caught.value)
    assert len(caught.value.steps) == len(ops)  # it diverges at the last step, not before


ACCEPTED = [
    # a second close() of a proxy or handle is silently accepted, and does nothing
    (
        "sqlalchemy-queuepool",
        Config(max_size=1, fairness=B),
        ["acquire(a0)", "release(a0)", "release(a0)", "acquire(a1)"],
    ),
    (
        "dbutils-pooleddb",
        Config(max_size=1, fairness=B, reopen=True),
        ["acquire(a0)", "release(a0)", "release(a0)", "acquire(a1)"],
    ),
    # in a pool of one, invalidate and detach free the slot for a waiter
    (
        "sqlalchemy-queuepool",
        Config(max_size=1, fairness=B),
        ["acquire(a0)", "acquire(a1)", "invalidate(a0)", "acquire(a2)", "release(a1)"],
    ),
    (
        "sqlalchemy-queuepool",
        Config(max_size=1, fairness=B),
        ["acquire(a0)", "acquire(a1)", "detach(a0)", "release(a0)", "release(a1)"],
    ),
    # DBUtils' close() is the spec's dispose(): idle closed, the pool usable
    (
        "dbutils-pooleddb",
        Config(max_size=2, fairness=B, reopen=True),
        ["acquire(a0)", "acquire(a1)", "release(a0)", "dispose()", "release(a1)", "acquire(a2)"],
    ),
]


@pytest.mark.parametrize(("profile", "config", "ops"), ACCEPTED)
def test_design_choices_the_profiles_accept(profile: str, config: Config, ops: list[str]) -> None:
    replay(profile, config, ops)
