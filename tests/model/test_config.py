"""Configuration validation: every invalid configuration is refused, naming the value."""

from __future__ import annotations

import pytest

from model import Config, Fairness, IdleOrder, Ping, ResetMode


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"max_size": 0}, ValueError, "max_size must be >= 1, got 0"),
        ({"max_size": -3}, ValueError, "max_size must be >= 1, got -3"),
        ({"max_size": 2.5}, TypeError, "max_size must be an int or None, got 2.5"),
        ({"max_size": True}, TypeError, "max_size must be an int or None, got True"),
        ({"idle_cap": -1}, ValueError, "idle_cap must be >= 0, got -1"),
        ({"idle_cap": 3}, ValueError, "idle_cap must be <= max_size, got idle_cap=3"),
        ({"min_idle": -1}, ValueError, "min_idle must be >= 0, got -1"),
        ({"min_idle": None}, TypeError, "min_idle must be an int, got None"),
        ({"min_idle": 3}, ValueError, "min_idle must be <= the idle connections kept (2), got 3"),
        ({"block": 1}, TypeError, "block must be a bool, got 1"),
        ({"timeout": 0}, ValueError, "timeout must be >= 1, got 0"),
        ({"timeout": "5"}, TypeError, "timeout must be an int or None, got '5'"),
        ({"block": False, "timeout": 2}, ValueError, "timeout applies only when block=True"),
        ({"block": False, "max_waiters": 1}, ValueError, "max_waiters applies only when block"),
        ({"max_waiters": -1}, ValueError, "max_waiters must be >= 0, got -1"),
        ({"fairness": "fifo"}, TypeError, "fairness must be a Fairness, got 'fifo'"),
        ({"idle_order": "lifo"}, TypeError, "idle_order must be a IdleOrder, got 'lifo'"),
        ({"reset": True}, TypeError, "reset must be a ResetMode, got True"),
        ({"ping": 1}, TypeError, "ping must be a Ping, got 1"),
        ({"per_thread": True, "shared": True}, ValueError, "per_thread and shared are exclusive"),
        ({"per_thread": True, "idle_cap": 1}, ValueError, "idle_cap does not apply"),
        ({"shared": True, "reopen": True}, ValueError, "reopen is not supported with shared"),
        ({"max_usage": 0}, ValueError, "max_usage must be >= 1, got 0"),
        ({"max_lifetime": 0}, ValueError, "max_lifetime must be >= 1, got 0"),
        ({"max_idle_time": -2}, ValueError, "max_idle_time must be >= 1, got -2"),
        ({"session_setup": "yes"}, TypeError, "session_setup must be a bool, got 'yes'"),
        ({"reopen": None}, TypeError, "reopen must be a bool, got None"),
    ],
)
def test_invalid_configuration_names_the_value(
    kwargs: dict[str, object], error: type[Exception], needle: str
) -> None:
    """Each invalid parameter raises the right error type with the parameter and value named."""
    with pytest.raises(error) as info:
        Config(**kwargs)  # type: ignore[arg-type]
    assert needle in str(info.value)


def test_valid_configurations_build() -> None:
    """Every policy value combines with the others where the contract allows it."""
    for fairness in Fairness:
        for order in IdleOrder:
            for reset in ResetMode:
                for ping in Ping:
                    cfg = Config(
                        max_size=3, idle_cap=1, fairness=fairness, idle_order=order,
                        reset=reset, ping=ping, timeout=2, max_waiters=1,
                    )
                    assert cfg.kept_idle == 1
    assert Config(max_size=None).kept_idle is None
    assert Config(max_size=4).kept_idle == 4
    assert Config(max_size=None, idle_cap=0).kept_idle == 0


def test_timed_only_when_time_matters() -> None:
    """A configuration is timed exactly when a timeout, lifetime or idle time is set."""
    assert not Config().timed
    assert Config(timeout=1).timed
    assert Config(max_lifetime=1).timed
    assert Config(max_idle_time=1).timed
    assert not Config(max_usage=1).timed
