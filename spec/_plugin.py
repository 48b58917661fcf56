"""The pytest plugin (entry point ``pytest11``), active wherever poolspec is installed.

It registers the ``stateful`` marker and two options; with them, poolspec's
shipped conformance suite checks any pool from anyone's test run::

    pytest -m stateful --pyargs spec.conformance_suite \\
        --poolspec-target sqlalchemy.pool:QueuePool [--poolspec-profile NAME]

Without ``--poolspec-target`` the suite checks poolspec's own pool.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--poolspec-target``, ``--poolspec-profile`` and ``--poolspec-examples``."""
    group = parser.getgroup("poolspec", "poolspec conformance")
    group.addoption(
        "--poolspec-target",
        default=None,
        metavar="MODULE:ATTR",
        help="pool class or factory to check in lockstep with the model",
    )
    group.addoption(
        "--poolspec-profile",
        default=None,
        metavar="NAME",
        help="configuration profile (default: detected from the target's API shape)",
    )
    group.addoption(
        "--poolspec-examples",
        default=50,
        type=int,
        metavar="N",
        help="Hypothesis examples for the conformance suite (default 50)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``stateful`` marker so suites using it pass ``--strict-markers``."""
    config.addinivalue_line(
        "markers", "stateful: lockstep conformance tests (model vs pool, Hypothesis state machines)"
    )


@pytest.fixture
def poolspec_target(request: pytest.FixtureRequest) -> tuple[str, Any]:
    """The profile name and pool factory chosen on the command line (our pool by default)."""
    from ._cli import UsageError, _detect_profile, _resolve
    from ._profiles import PROFILES

    target = request.config.getoption("--poolspec-target")
    profile = request.config.getoption("--poolspec-profile")
    if profile is not None and profile not in PROFILES:
        raise pytest.UsageError(
            f"unknown --poolspec-profile {profile!r}; known: {', '.join(PROFILES)}"
        )
    if target is None:
        return profile or "poolspec", None
    try:
        factory = _resolve(target)
        return profile or _detect_profile(factory), factory
    except UsageError as exc:
        raise pytest.UsageError(f"--poolspec-target: {exc}") from None
