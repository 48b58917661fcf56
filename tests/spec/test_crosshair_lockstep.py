"""The lockstep step under CrossHair (spec/_crosshair_lockstep.py): examples, CI run, self-test.

The CI run searches each entry point for a few CPU seconds per condition and
must report no divergence, with real symbolic paths confirmed (a run that fell
back to concrete execution, or ignored every path, confirms none). The
self-test gives the same command a pool whose idle cap is ignored and must get
back a counterexample naming CAP-2: an exit status of 0 means something.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import impl
import model
from spec import LockstepFailure
from spec._adapters import OurAdapter
from spec._crosshair_lockstep import (
    ENTRY_POINTS,
    lockstep_capacity,
    lockstep_reset,
    lockstep_retirement,
    run_inline,
)
from spec._driver import RecordingDriver
from spec._lockstep import Lockstep
from spec._profiles import build_ours
from tests.model.test_crosshair import FAST_BUDGET, crosshair

pytestmark = pytest.mark.stateful


def test_inline_runs_a_program_on_the_calling_thread() -> None:
    # choices index the enabled operations: acquire is first, release first once held
    steps = lockstep_capacity(1, 0, False, 0, 0, 0, 0, 0)
    assert steps[0].startswith("acquire(a0) -> got c0")
    assert steps[1].startswith("release(a0)")
    assert len(steps) == 5


def test_every_entry_point_agrees_on_a_sweep_of_programs() -> None:
    for choices in [(0, 0, 0, 0, 0), (1, 2, 3, 4, 5), (7, 3, 9, 1, 0), (12, 11, 10, 9, 8)]:
        for max_size, idle_cap in [(1, -1), (2, 0), (3, 1)]:
            assert len(lockstep_capacity(max_size, idle_cap, True, *choices)) == 5
        for reset in range(5):
            assert len(lockstep_reset(reset, reset % 2 == 0, *choices)) == 5
        assert len(lockstep_retirement(1, 1, True, True, *choices[:4])) == 4


class _IdleCapIgnored(impl.Pool):
    """CAP-2 bug: connections given back beyond the idle cap are kept."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._kept_idle = None


def test_inline_run_reports_a_broken_pool() -> None:
    config = model.Config(max_size=1, idle_cap=0)
    with pytest.raises(LockstepFailure) as caught:
        run_inline(config, [0, 0], _IdleCapIgnored)
    assert caught.value.divergence.rule == "CAP-2"


def test_inline_lockstep_takes_one_actor_only() -> None:
    config = model.Config(max_size=1)
    driver = RecordingDriver(None)
    pool = build_ours(None, config, driver, impl.ManualClock())
    with pytest.raises(ValueError, match="actors=2"):
        Lockstep(config, pool, OurAdapter(), driver, 2, None, inline=True)
    pool.close()


def test_crosshair_lockstep_fast(tmp_path: Path) -> None:
    """No divergence within the CI budget, and each entry point confirmed real paths."""
    targets = [f"{e.__module__}.{e.__qualname__}" for e in ENTRY_POINTS]
    checked = crosshair(targets, FAST_BUDGET, tmp_path)
    assert checked.returncode == 0, checked.stdout
    assert checked.lines("error") == []
    for entry in ENTRY_POINTS:
        analysis = checked.analyses.get(entry.__name__)
        assert analysis is not None, f"{entry.__name__} was not analysed: {checked.stdout}"
        assert analysis.confirmed_paths >= 2, (entry.__name__, analysis)


BROKEN = '''\
"""A pool whose idle cap is ignored, under the lockstep CrossHair entry point's contract."""
import impl
import model
from spec._crosshair_lockstep import run_inline


class IdleCapIgnored(impl.Pool):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._kept_idle = None


def broken_idle_cap(max_size: int, idle_cap: int, p0: int, p1: int, p2: int, p3: int) -> list:
    """
    pre: 1 <= max_size <= 3
    pre: 0 <= idle_cap < max_size
    pre: min(p0, p1, p2, p3) >= 0
    post: len(__return__) == 4
    """
    config = model.Config(max_size=max_size, idle_cap=idle_cap)
    return run_inline(config, (p0, p1, p2, p3), IdleCapIgnored)
'''


def test_crosshair_lockstep_catches_a_broken_pool(tmp_path: Path) -> None:
    """CAP-2: the same command reports a pool that keeps connections beyond its idle cap."""
    where = tmp_path / "broken"
    where.mkdir()
    (where / "broken_lockstep.py").write_text(BROKEN)
    checked = crosshair(["broken_lockstep.broken_idle_cap"], 10 * FAST_BUDGET, tmp_path, where)
    assert checked.returncode == 1, checked.stdout
    errors = checked.lines("error")
    assert len(errors) == 1, checked.stdout
    assert "LockstepFailure: CAP-2" in errors[0][2], errors
    assert checked.analyses["broken_idle_cap"].status == "REFUTED", checked.analyses
