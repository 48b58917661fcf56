"""Tests for what the front doors share (impl/_edge.py) and for their re-exports."""

from __future__ import annotations

import sqlite3
import types

import pytest

import impl
from impl._edge import (
    bool_arg,
    driver_module,
    exception_types,
    failure_types,
    int_arg,
    seconds_arg,
)


def test_argument_checks_name_the_value() -> None:
    """The shared checks accept good values and name a bad one in the message."""
    assert int_arg("n", 3, 0) == 3
    with pytest.raises(impl.PoolConfigError, match="n must be >= 1, got 0"):
        int_arg("n", 0, 1)
    with pytest.raises(TypeError, match="n must be an int, got False"):
        int_arg("n", False, 0)
    assert bool_arg("b", True) is True
    with pytest.raises(TypeError, match="b must be a bool, got 'no'"):
        bool_arg("b", "no")
    assert seconds_arg("t", None) is None
    assert seconds_arg("t", 2) == 2.0
    assert seconds_arg("t", 0, zero=True) == 0.0
    with pytest.raises(impl.PoolConfigError, match="t must be > 0 seconds, got 0"):
        seconds_arg("t", 0)
    with pytest.raises(impl.PoolConfigError, match="t must be >= 0 seconds, got nan"):
        seconds_arg("t", float("nan"), zero=True)


def test_failure_types_found_on_the_module_or_dbapi() -> None:
    """A driver's lost-connection errors are found on the module itself or on creator.dbapi."""
    three = (sqlite3.OperationalError, sqlite3.InterfaceError, sqlite3.InternalError)
    assert driver_module(sqlite3) is sqlite3
    assert failure_types(sqlite3) == three
    holder = types.SimpleNamespace(dbapi=sqlite3)
    assert driver_module(holder) is sqlite3
    assert failure_types(holder) == three
    assert failure_types(sqlite3.connect) == ()
    partial = types.SimpleNamespace(connect=sqlite3.connect, OperationalError=OSError)
    assert failure_types(partial) == (OSError,)


def test_exception_types() -> None:
    """One exception class or a tuple of them is accepted; anything else is a TypeError."""
    assert exception_types("e", KeyError) == (KeyError,)
    assert exception_types("e", (KeyError, OSError)) == (KeyError, OSError)
    with pytest.raises(TypeError, match="e must be an exception class or a tuple of them"):
        exception_types("e", "KeyError")


def test_front_doors_are_re_exported() -> None:
    """Every front door's public name is importable from impl and listed in __all__."""
    names = {
        "QueuePool",
        "SingletonThreadPool",
        "NullPool",
        "StaticPool",
        "AssertionPool",
        "AssertionPoolError",
        "DBProxy",
        "manage",
        "PooledDB",
        "PersistentDB",
        "DBUtilsConnection",
        "DBUtilsCursor",
        "PooledDBError",
        "InvalidConnection",
        "InvalidConnectionError",
        "TooManyConnections",
        "TooManyConnectionsError",
        "NotSupportedError",
        "SessionPool",
        "SessionPoolEmptyError",
        "DriverClosedError",
        "SingletonPool",
        "initialize",
        "instance",
        "shutdown",
        "with_conn",
    }
    assert names <= set(impl.__all__)
    assert len(impl.__all__) == len(set(impl.__all__))
    for name in impl.__all__:
        assert hasattr(impl, name), name
