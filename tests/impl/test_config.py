"""Tests for the pool's configuration (impl/_config.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from impl import Fairness, IdleOrder, Ping, PoolConfig, PoolConfigError, ResetMode


def test_defaults() -> None:
    """The defaults are the documented ones: 5 connections, waiting 30 s, rollback on return."""
    config = PoolConfig()
    assert config.max_size == 5
    assert config.idle_cap is None
    assert config.block is True
    assert config.timeout == 30.0
    assert config.fairness is Fairness.FIFO
    assert config.idle_order is IdleOrder.FIFO
    assert config.reset is ResetMode.ROLLBACK
    assert config.ping is Ping.NEVER
    assert config.failures == ()
    assert config.kept_idle == 5


def test_frozen() -> None:
    """A configuration cannot be changed once built."""
    config = PoolConfig()
    with pytest.raises(AttributeError):
        config.max_size = 3  # type: ignore[misc]


def test_enums_carry_the_model_values() -> None:
    """The enums use the model's member names and values, so the harness maps them by value."""
    assert [m.value for m in ResetMode] == [
        "none",
        "rollback_if_begun",
        "rollback",
        "commit",
        "full",
    ]
    assert [m.value for m in Fairness] == ["fifo", "barging"]
    assert [m.value for m in IdleOrder] == ["fifo", "lifo"]
    assert [m.value for m in Ping] == ["never", "on_checkout"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_size": 0}, "max_size must be >= 1, got 0"),
        ({"max_size": -2}, "max_size must be >= 1, got -2"),
        ({"idle_cap": -1}, "idle_cap must be >= 0, got -1"),
        ({"min_idle": -1}, "min_idle must be >= 0, got -1"),
        ({"max_waiters": -1}, "max_waiters must be >= 0, got -1"),
        ({"max_usage": 0}, "max_usage must be >= 1, got 0"),
        ({"max_connecting": 0}, "max_connecting must be >= 1, got 0"),
        ({"timeout": 0}, "timeout must be > 0 seconds, got 0"),
        ({"timeout": -1.5}, "timeout must be > 0 seconds, got -1.5"),
        ({"timeout": float("nan")}, "timeout must be > 0 seconds, got nan"),
        ({"max_lifetime": 0.0}, "max_lifetime must be > 0 seconds, got 0.0"),
        ({"max_idle_time": -3}, "max_idle_time must be > 0 seconds, got -3"),
        ({"max_size": 2, "idle_cap": 3}, "idle_cap must be <= max_size, got idle_cap=3"),
        ({"max_size": 2, "min_idle": 3}, "min_idle must be <= the idle connections kept (2)"),
        ({"idle_cap": 1, "min_idle": 2}, "min_idle must be <= the idle connections kept (1)"),
        ({"block": False}, "timeout applies only when block=True, got timeout=30.0"),
        (
            {"block": False, "timeout": None, "max_waiters": 1},
            "max_waiters applies only when block=True, got max_waiters=1",
        ),
        ({"per_thread": True, "shared": True}, "per_thread and shared are exclusive"),
        ({"per_thread": True, "idle_cap": 1}, "idle_cap does not apply with per_thread=True"),
    ],
)
def test_bad_values_are_named(fields: dict[str, Any], message: str) -> None:
    """A bad value or combination raises PoolConfigError (a ValueError) naming it."""
    with pytest.raises(PoolConfigError, match="^" + _escape(message)):
        PoolConfig(**fields)
    assert issubclass(PoolConfigError, ValueError)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_size": True}, "max_size must be an int or None, got True (bool)"),
        ({"max_size": 2.0}, "max_size must be an int or None, got 2.0 (float)"),
        ({"min_idle": None}, "min_idle must be an int, got None (NoneType)"),
        ({"block": 1}, "block must be a bool, got 1 (int)"),
        ({"timeout": "5"}, "timeout must be a number of seconds or None, got '5' (str)"),
        ({"timeout": True}, "timeout must be a number of seconds or None, got True (bool)"),
        ({"fairness": "fifo"}, "fairness must be a Fairness, got 'fifo' (str)"),
        ({"idle_order": "lifo"}, "idle_order must be a IdleOrder, got 'lifo' (str)"),
        ({"reset": "rollback"}, "reset must be a ResetMode, got 'rollback' (str)"),
        ({"ping": True}, "ping must be a Ping, got True (bool)"),
        ({"session": ["SET a"]}, "session must be a tuple of str, got ['SET a']"),
        ({"session": ("SET a", 1)}, "session must be a tuple of str, got ('SET a', 1)"),
        ({"failures": (ValueError, "x")}, "failures must be a tuple of exception classes"),
        ({"failures": ValueError}, "failures must be a tuple of exception classes"),
        ({"full_reset_sql": 1}, "full_reset_sql must be a str, got 1 (int)"),
        ({"per_thread": None}, "per_thread must be a bool, got None (NoneType)"),
    ],
)
def test_bad_types_are_named(fields: dict[str, Any], message: str) -> None:
    """A value of the wrong type raises TypeError naming the parameter and the value."""
    with pytest.raises(TypeError, match="^" + _escape(message)):
        PoolConfig(**fields)


def test_unlimited_and_optional_limits() -> None:
    """None means unlimited for every limit, and the idle cap then follows max_size."""
    config = PoolConfig(
        max_size=None,
        max_waiters=None,
        max_usage=None,
        max_connecting=None,
        timeout=None,
        max_lifetime=None,
        max_idle_time=None,
    )
    assert config.kept_idle is None
    assert PoolConfig(max_size=4, idle_cap=1).kept_idle == 1
    assert PoolConfig(max_size=None, idle_cap=2, min_idle=2).kept_idle == 2


def test_non_blocking_needs_no_timeout() -> None:
    """block=False is accepted with timeout=None, and max_waiters=0 with block=True."""
    assert PoolConfig(block=False, timeout=None).block is False
    assert PoolConfig(max_waiters=0).max_waiters == 0


def _escape(text: str) -> str:
    return re.escape(text)
