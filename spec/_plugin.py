"""The pytest plugin: registers poolspec's markers wherever poolspec is installed."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``stateful`` marker so suites using it pass ``--strict-markers``."""
    config.addinivalue_line(
        "markers", "stateful: lockstep conformance tests (model vs pool, Hypothesis state machines)"
    )
