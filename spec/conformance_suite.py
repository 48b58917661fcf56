"""poolspec's conformance suite, shipped for anyone's test run (see ``spec._plugin``).

Run it against a pool with
``pytest -m stateful --pyargs spec.conformance_suite --poolspec-target module:attr``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from ._conformance import run_conformance


@pytest.mark.stateful
def test_pool_keeps_every_rule(
    poolspec_target: tuple[str, Any], request: pytest.FixtureRequest
) -> None:
    """The target pool agrees with the model step for step on every drawn program."""
    profile, factory = poolspec_target
    examples = int(request.config.getoption("--poolspec-examples"))
    run_conformance(
        factory,
        profile=profile,
        settings=settings(
            max_examples=examples,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
