"""Suite-wide options: long runs are opt-in."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--run-long`` for the long model-checking and CrossHair runs."""
    parser.addoption(
        "--run-long",
        action="store_true",
        default=False,
        help="run tests marked long (deep model checking, deep CrossHair)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``long`` unless ``--run-long`` is given, saying why."""
    if config.getoption("--run-long"):
        return
    skip = pytest.mark.skip(reason="long run: pass --run-long to include it")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)
