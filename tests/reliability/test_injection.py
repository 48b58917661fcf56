"""A BaseException at every seam call of acquire, release, connect, reset and ping loses nothing."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import impl
from spec._driver import RecordingDriver
from spec._reliability_inject import (
    CAPACITY_SECONDS,
    GUARANTEED,
    SAFETY_SECONDS,
    Injected,
    Trigger,
    _Clock,
    _Sync,
    _wait_until,
    run_scenario,
)

#: Every guaranteed kind loses nothing at any of its points.
CLEAN_KINDS = GUARANTEED


#: Driver calls the scenario never makes, per reset mode (the handle's first statement
#: goes through the connection's execute(); nothing commits; full calls reset()).
UNREACHED = {
    impl.ResetMode.ROLLBACK: {"cursor", "commit", "reset"},
    impl.ResetMode.FULL: {"cursor", "commit", "rollback"},
}


def _enumerate(kind: str, reset: impl.ResetMode, site: str | None = None) -> tuple[int, list[str]]:
    """Inject at the 1st, 2nd, ... call of ``kind`` (from ``site``) until none is reached."""
    failures = []
    k = 0
    while True:
        k += 1
        trigger = Trigger(kind, k, site=site)
        verdict = run_scenario(trigger, reset)
        if not trigger.fired:
            return k - 1, failures
        if verdict.problems:
            failures.append(f"#{k} at {verdict.where}: {verdict.problems}")


def test_clean_run_loses_nothing_and_reaches_every_seam() -> None:
    """Without injection the scenario passes its own verdict and calls each seam."""
    trigger = Trigger()
    verdict = run_scenario(trigger, impl.ResetMode.FULL)
    assert verdict.problems == []
    for kind in ("creator", "execute", "reset", "ping", "close", "clock.now", "lock.acquire"):
        assert trigger.counts[kind] > 0, kind


@pytest.mark.parametrize("kind", CLEAN_KINDS)
@pytest.mark.parametrize("reset", [impl.ResetMode.ROLLBACK, impl.ResetMode.FULL])
def test_every_point_of_kind_loses_nothing(kind: str, reset: impl.ResetMode) -> None:
    """Each k-th call of this kind raising a BaseException leaves no slot, permit or waiter lost."""
    points, failures = _enumerate(kind, reset)
    assert failures == []
    if kind not in UNREACHED[reset]:
        assert points > 0, f"the scenario never reached {kind}"


def test_clock_failure_while_handing_over_loses_nothing() -> None:
    """Regression: a clock that raises while a returned connection is handed to a waiter."""
    points, failures = _enumerate("clock.now", impl.ResetMode.ROLLBACK, "_give_locked")
    assert points > 0
    assert failures == []


@pytest.mark.parametrize("site", ["_leave_connecting", "_discard", "_reopen", "_release", "_await"])
@pytest.mark.parametrize("reset", [impl.ResetMode.ROLLBACK, impl.ResetMode.FULL])
def test_interrupted_lock_is_survived(site: str, reset: impl.ResetMode) -> None:
    """Regression: an interrupt while locking to give back a permit, slot or connection."""
    points, failures = _enumerate("lock.acquire", reset, site)
    assert points > 0, f"the scenario never took the lock in {site}"
    assert failures == []


def test_interrupt_after_connect_closes_the_connection() -> None:
    """Regression: an interrupt while giving back the connect permit closes the new connection."""
    points, failures = _enumerate("cond.notify", impl.ResetMode.ROLLBACK, "_leave_connecting")
    assert points > 0
    assert failures == []


@pytest.mark.parametrize("site", ["_reopen", "_leave_connecting", "_discard", "_enter_connecting"])
def test_interrupt_right_after_unlocking_in_repairs_loses_nothing(site: str) -> None:
    """Regression: an interrupt just after the lock is released in these repair paths."""
    points, failures = _enumerate("lock.release", impl.ResetMode.ROLLBACK, site)
    assert points > 0
    assert failures == []


# -- an interrupt right after the pool unlocks, site by site --------------------------
#
# ``lock.release`` raises after the lock was released: the pool decided under the
# lock, then the interrupt arrives between two of its statements. Each test below
# targets the releases made from one site (``Trigger(site=...)``) and fails if what
# that site decided (a connection taken, a slot reserved, a wait queued, a hold
# taken, a connection to close) is not placed before the interrupt goes on.


@pytest.mark.parametrize("site", ["_checkout", "_await", "_release", "_retire_now"])
@pytest.mark.parametrize("reset", [impl.ResetMode.ROLLBACK, impl.ResetMode.FULL])
def test_interrupt_right_after_a_decision_in_the_scenario_loses_nothing(
    site: str, reset: impl.ResetMode
) -> None:
    """Regression: checkout decision, end of a wait, return, invalidate (the scenario's sites)."""
    points, failures = _enumerate("lock.release", reset, site)
    assert points > 0, f"the scenario never released the lock in {site}"
    assert failures == []


def _pool(trigger: Trigger, driver: RecordingDriver, **config: Any) -> impl.Pool:
    """A pool on the recording driver whose lock, conditions and clock go through ``trigger``."""
    return impl.Pool(driver.connect, clock=_Clock(trigger), sync=_Sync(trigger), **config)


def _every_release(site: str, run: Callable[[Trigger], None]) -> int:
    """Call ``run`` with an interrupt after the 1st, 2nd, ... lock release made in ``site``."""
    k = 0
    while True:
        k += 1
        trigger = Trigger("lock.release", k, site=site)
        run(trigger)
        if not trigger.fired:
            return k - 1


@contextlib.contextmanager
def _armed(trigger: Trigger) -> Iterator[None]:
    """Count (and inject at) the calls the current thread makes; an injected interrupt ends it."""
    trigger.armed = True
    try:
        yield
    except Injected:
        pass
    finally:
        trigger.armed = False


def _assert_intact(pool: impl.Pool, driver: RecordingDriver, trigger: Trigger) -> None:
    """Nothing in use or waiting; every open driver connection counted; full capacity; none left."""
    where = f"interrupt after lock.release #{trigger.k} at {trigger.where}"
    stats = pool.stats()
    assert (stats.in_use, stats.waiting) == (0, 0), f"{where}: {stats}"
    assert len(driver.open_connections()) == stats.open, f"{where}: {stats}"
    max_size = pool.config.max_size
    assert max_size is not None
    if not pool.config.per_thread and not pool.closed:
        held = [pool.acquire(timeout=CAPACITY_SECONDS) for _ in range(max_size)]
        for conn in held:
            conn.close()
    pool.close()
    assert not driver.open_connections(), f"{where}: left open after close()"


def test_interrupt_after_the_hot_checkout_puts_the_idle_connection_back() -> None:
    """Regression (``acquire``): the idle connection the hot path took is put back."""

    def run(trigger: Trigger) -> None:
        driver = RecordingDriver(None)
        pool = _pool(trigger, driver, max_size=2)
        pool.acquire().close()
        with _armed(trigger):
            pool.acquire().close()
        _assert_intact(pool, driver, trigger)

    assert _every_release("acquire", run) > 0


def test_interrupt_after_the_hot_checkout_queued_leaves_the_line() -> None:
    """Regression (``acquire``): a checkout the hot path queued at the cap leaves the line."""
    driver = RecordingDriver(None)
    trigger = Trigger("lock.release", 1, site="acquire")
    pool = _pool(trigger, driver, max_size=1)
    held = pool.acquire()
    with _armed(trigger):
        pool.acquire()  # at the cap: queued, then interrupted before it waits
    assert trigger.fired
    assert pool.stats().waiting == 0
    held.close()  # goes idle, not to a waiter that left
    _assert_intact(pool, driver, trigger)


def test_interrupt_after_the_hot_return_still_closes_the_overflow() -> None:
    """Regression (``_release``): a connection returned beyond the idle cap is still closed."""

    def run(trigger: Trigger) -> None:
        driver = RecordingDriver(None)
        pool = _pool(trigger, driver, max_size=2, idle_cap=1)
        a, b = pool.acquire(), pool.acquire()
        a.close()
        with _armed(trigger):
            b.close()  # beyond the idle cap: closed
        _assert_intact(pool, driver, trigger)

    assert _every_release("_release", run) > 0


@pytest.mark.parametrize("mode", ["per_thread", "shared"])
def test_interrupt_after_a_nested_or_shared_checkout_ends_the_hold(mode: str) -> None:
    """Regression (``_checkout``, REENTER and JOIN): the extra hold taken is given up."""

    def run(trigger: Trigger) -> None:
        driver = RecordingDriver(None)
        pool = _pool(trigger, driver, max_size=1, **{mode: True})
        outer = pool.acquire()
        with _armed(trigger):
            pool.acquire().close()
        outer.close()
        _assert_intact(pool, driver, trigger)

    assert _every_release("_checkout", run) > 0


@pytest.mark.parametrize("mode", ["per_thread", "shared"])
def test_interrupt_after_binding_gives_the_connection_back(mode: str) -> None:
    """Regression (``_bind``): a connection bound to its thread, or open to sharing, comes back."""

    def run(trigger: Trigger) -> None:
        driver = RecordingDriver(None)
        pool = _pool(trigger, driver, max_size=1, **{mode: True})
        with _armed(trigger):
            pool.acquire().close()
        _assert_intact(pool, driver, trigger)

    assert _every_release("_bind", run) > 0


def test_interrupt_after_retiring_at_checkout_frees_the_slot() -> None:
    """Regression (``_validate``): a connection retired at checkout frees its slot."""

    def run(trigger: Trigger) -> None:
        driver = RecordingDriver(None)
        pool = _pool(trigger, driver, max_size=1, max_usage=1)
        pool.acquire().close()
        with _armed(trigger):
            pool.acquire().close()  # used up: closed and replaced in its slot
        _assert_intact(pool, driver, trigger)

    assert _every_release("_validate", run) > 0


@pytest.mark.parametrize("site", ["close", "dispose"])
def test_interrupt_after_taking_the_idle_connections_still_closes_them(site: str) -> None:
    """Regression (``close``, ``dispose``): the idle connections taken are closed."""

    def run(trigger: Trigger) -> None:
        driver = RecordingDriver(None)
        pool = _pool(trigger, driver, max_size=2, min_idle=2)
        with _armed(trigger):
            getattr(pool, site)()
        if site == "close":
            assert not driver.open_connections(), f"interrupt at {trigger.where}"
        _assert_intact(pool, driver, trigger)

    assert _every_release(site, run) > 0


def test_interrupt_after_end_thread_still_closes_the_connection() -> None:
    """Regression (``end_thread``): the thread's connection, unbound, is closed."""

    def run(trigger: Trigger) -> None:
        driver = RecordingDriver(None)
        pool = _pool(trigger, driver, max_size=1, per_thread=True)
        pool.acquire().close()
        with _armed(trigger):
            pool.end_thread()
        assert pool.stats().open == 0, f"interrupt at {trigger.where}"
        _assert_intact(pool, driver, trigger)

    assert _every_release("end_thread", run) > 0


def test_interrupt_after_sweeping_ended_threads_still_closes_their_connections() -> None:
    """Regression (``_sweep``): the connections of ended threads, taken for closing, close."""

    def run(trigger: Trigger) -> None:
        driver = RecordingDriver(None)
        pool = _pool(trigger, driver, max_size=1, per_thread=True)
        thread = threading.Thread(target=lambda: pool.acquire().close())
        thread.start()
        thread.join(SAFETY_SECONDS)
        gc.collect()
        assert pool._orphans, "the ended thread's binding was not reported"
        with _armed(trigger):
            pool.dispose()  # sweeps first
        assert pool.stats().open == 0, f"interrupt at {trigger.where}"
        _assert_intact(pool, driver, trigger)

    assert _every_release("_sweep", run) > 0


def test_interrupt_after_closing_a_detached_handle_still_closes_it() -> None:
    """Regression (``_close_detached``): the detached connection is closed."""

    def run(trigger: Trigger) -> None:
        driver = RecordingDriver(None)
        pool = _pool(trigger, driver, max_size=1)
        conn = pool.acquire()
        conn.detach()
        with _armed(trigger):
            conn.close()
        assert not driver.open_connections(), f"interrupt at {trigger.where}"
        _assert_intact(pool, driver, trigger)

    assert _every_release("_close_detached", run) > 0


def test_interrupt_while_prefilling_leaves_no_connection_open() -> None:
    """Regression (``_prefill``): a constructor interrupted after a connect closes it."""

    def run(trigger: Trigger) -> None:
        driver = RecordingDriver(None)
        pool = None
        with _armed(trigger):
            pool = _pool(trigger, driver, max_size=2, min_idle=2)
        if pool is None:
            assert not driver.open_connections(), f"interrupt at {trigger.where}"
        else:
            _assert_intact(pool, driver, trigger)

    assert _every_release("_prefill", run) > 0


def test_interrupt_while_waking_waiters_at_close_still_refuses_every_waiter() -> None:
    """Regression (``close``, ``cond.notify``): interrupted after waking one, it wakes the rest."""
    driver = RecordingDriver(None)
    trigger = Trigger("cond.notify", 1, site="close")
    pool = _pool(trigger, driver, max_size=1, timeout=SAFETY_SECONDS)
    held = pool.acquire()
    outcomes: list[str] = []

    def wait() -> None:
        try:
            pool.acquire().close()
            outcomes.append("got a connection")
        except impl.PoolError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=wait) for _ in range(2)]
    for thread in threads:
        thread.start()
    assert _wait_until(lambda: pool.stats().waiting == 2)
    with _armed(trigger):
        pool.close()
    assert trigger.fired
    for thread in threads:
        thread.join(SAFETY_SECONDS * 2)
    assert outcomes == ["PoolClosed", "PoolClosed"]
    held.close()
    assert not driver.open_connections()
