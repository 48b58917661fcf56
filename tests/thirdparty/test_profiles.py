"""Third-party profiles: accepted keywords, narrowing, the wall clock, the ping dialect."""

from __future__ import annotations

import sys
import time
import types
from dataclasses import replace
from typing import Any

import pytest

import impl
import model
from spec import replay
from spec._conformance import resolve, start
from spec._driver import RecordingDriver
from spec._profiles import PROFILES
from spec._thirdparty import (
    BY_CLASS_NAME,
    SA_QUEUEPOOL,
    PingDialect,
    accepted_keywords,
    narrow,
    patch_time,
)

sqlalchemy_pool = pytest.importorskip("sqlalchemy.pool", reason="SQLAlchemy is not installed")
pooled_db = pytest.importorskip("dbutils.pooled_db", reason="DBUtils is not installed")


def test_keywords_follow_kw_up_the_bases() -> None:
    kws = accepted_keywords(sqlalchemy_pool.QueuePool)
    assert kws is not None
    assert {"pool_size", "max_overflow", "use_lifo", "recycle", "pre_ping", "dialect"} <= kws


def test_keywords_stop_where_kwargs_go_to_the_driver() -> None:
    kws = accepted_keywords(pooled_db.PooledDB)
    assert kws is not None
    assert {"maxcached", "setsession", "ping", "reset"} <= kws
    assert "use_lifo" not in kws  # its **kwargs are the driver's connect() arguments


def test_keywords_of_a_plain_function() -> None:
    def make(creator: Any, *, size: int = 1, **extra: Any) -> None:
        del creator, size, extra

    assert accepted_keywords(make) == frozenset({"creator", "size"})


class OldQueuePool(sqlalchemy_pool.QueuePool):
    """A look-alike of an older release: no use_lifo, no pre_ping, no recycle."""

    def __init__(
        self,
        creator: Any,
        pool_size: int = 5,
        max_overflow: int = 10,
        timeout: float = 30.0,
        reset_on_return: Any = True,
    ) -> None:
        super().__init__(
            creator,
            pool_size=pool_size,
            max_overflow=max_overflow,
            timeout=timeout,
            reset_on_return=reset_on_return,
        )


def test_narrow_pins_what_the_factory_cannot_say() -> None:
    narrowed = narrow(SA_QUEUEPOOL, OldQueuePool)
    (table,) = narrowed.configs
    assert table["idle_order"] == (model.IdleOrder.FIFO,)
    assert table["max_lifetime"] == (None,)
    assert table["ping"] == (model.Ping.NEVER,)
    assert table["max_size"] == (1, 2, 3)  # untouched


def test_narrow_refuses_a_factory_that_can_express_nothing() -> None:
    def no_reset(creator: Any, pool_size: int = 1, max_overflow: int = 0) -> None:
        del creator, pool_size, max_overflow

    commit_only = replace(
        PROFILES["sqlalchemy-nullpool"], configs=({"reset": (model.ResetMode.COMMIT,)},)
    )
    with pytest.raises(ValueError, match="reset_on_return"):
        narrow(commit_only, no_reset)


def test_an_old_look_alike_runs_in_lockstep() -> None:
    prof, factory = resolve(SA_QUEUEPOOL, OldQueuePool)
    config = model.Config(max_size=2, idle_cap=1, fairness=model.Fairness.BARGING)
    replay(prof, config, ["acquire(a0)", "acquire(a1)", "release(a0)", "release(a1)"], factory)


def test_patch_time_swaps_the_module_clock_and_restores_it() -> None:
    module = types.ModuleType("poolspec_fake_pool")
    exec(
        "import time\nfrom time import monotonic\nclass Pool:\n    pass\n",
        module.__dict__,
    )
    sys.modules[module.__name__] = module
    module.Pool.__module__ = module.__name__
    clock = impl.ManualClock(100.0)
    try:
        restore = patch_time(module.Pool, clock)
        first = module.time.time()
        second = module.time.time()
        assert 100.0 < first < second < 100.001  # a microsecond per reading
        assert module.monotonic() > 100.0
        clock.advance(5)
        assert module.time.time() > 105.0
        assert module.time.sleep is time.sleep  # everything else is the real module
        restore()
        assert module.time is time
        assert module.monotonic is time.monotonic
    finally:
        del sys.modules[module.__name__]


def test_recycle_follows_the_manual_clock() -> None:
    config = model.Config(max_size=1, fairness=model.Fairness.BARGING, max_lifetime=1)
    # acquire, give back, a tick: the connection is one tick old and is recycled at checkout
    replay(SA_QUEUEPOOL, config, ["acquire(a0)", "release(a0)", "tick()", "acquire(a0)"])


def test_failed_ping_reconnects_that_connection() -> None:
    config = model.Config(max_size=1, fairness=model.Fairness.BARGING, ping=model.Ping.ON_CHECKOUT)
    replay(SA_QUEUEPOOL, config, ["acquire(a0)", "release(a0)", "fail_ping()", "acquire(a0)"])


def test_ping_dialect_turns_a_driver_error_into_a_disconnection() -> None:
    driver = RecordingDriver(None)
    conn = driver.connect()

    class Disconnected(Exception):
        pass

    dialect = PingDialect(driver, Disconnected)
    assert dialect._do_ping_w_event(conn) is True
    driver.fail_next_pings(1)
    with pytest.raises(Disconnected, match="ping failed"):
        dialect._do_ping_w_event(conn)
    conn.close()


def test_lockstep_restores_the_clock_at_teardown() -> None:
    import sqlalchemy.pool.base as base

    config = model.Config(max_size=1, fairness=model.Fairness.BARGING)
    lockstep = start(SA_QUEUEPOOL, None, config, 1)
    assert base.time is not time
    lockstep.teardown()
    assert base.time is time


def test_class_names_map_to_profiles() -> None:
    for name, profile in BY_CLASS_NAME.items():
        assert profile in PROFILES, name
        assert PROFILES[profile].default.endswith(f":{name}")
