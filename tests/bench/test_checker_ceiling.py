"""Tests for the model checker benchmark's ceiling mode (bench/bench_checker.py --ceiling).

Nothing here asserts a speed: the layers only have to measure the same state
space the checker explores, and report positive figures.
"""

from __future__ import annotations

import pytest

from bench import bench_checker as bc


def test_the_model_alone_layer_runs_over_exactly_the_states_the_checker_explores() -> None:
    """The plain search of the ceiling finds the checker's states, and every layer has a rate."""
    layers = bc.run_ceiling("cap2-idle1")
    assert set(layers) == {"checker", "checker without predicates", "model alone"}
    states = {row["states"] for row in layers.values()}
    assert states == {4830}  # the count pinned in tests/model/test_checker.py
    assert layers["checker"]["transitions"] == layers["checker without predicates"]["transitions"]
    # the checker skips twins' operations, the model-alone layer lists every enabled one
    assert layers["model alone"]["transitions"] >= layers["checker"]["transitions"]
    for row in layers.values():
        assert row["states_per_s"] > 0
        assert row["cpu_seconds"] > 0


def test_the_ceiling_names_an_unknown_case(capsys: pytest.CaptureFixture[str]) -> None:
    """Asking for a case that does not exist is refused with exit status 2, naming it."""
    with pytest.raises(SystemExit) as exited:
        bc.main(["--ceiling", "no-such-case"])
    assert exited.value.code == 2
    assert "no-such-case" in capsys.readouterr().err
