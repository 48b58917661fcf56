"""What the front doors share: reading a legacy value, finding a driver's failures.

The front doors (``_sqlalchemy``, ``_dbutils``, ``_qldb``, ``_quasardb``) are
presets of the one engine. Each translates its users' spellings into a
:class:`~impl.PoolConfig` at its own edge; these helpers keep the refusals
worded alike ("<name> must be ..., got <value>").
"""

from __future__ import annotations

from typing import Any

from ._errors import PoolConfigError

#: The DB-API exception classes that mean "the connection is lost", looked up
#: by name on a driver module (DBUtils' default failover set).
FAILURE_NAMES = ("OperationalError", "InterfaceError", "InternalError")


def int_arg(name: str, value: object, minimum: int) -> int:
    """``value`` as an int of at least ``minimum``.

    Raises:
        TypeError: not an int (a bool is refused too).
        PoolConfigError: below ``minimum``; the message names the value.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise PoolConfigError(f"{name} must be >= {minimum}, got {value!r}")
    return value


def bool_arg(name: str, value: object) -> bool:
    """``value`` if it is a bool.

    Raises:
        TypeError: not a bool; the message names the value.
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r} ({type(value).__name__})")
    return value


def seconds_arg(name: str, value: object, *, zero: bool = False) -> float | None:
    """``value`` as seconds (None passes through).

    Args:
        name: the argument's name, for the message.
        value: the value given.
        zero: whether 0 is allowed (the caller gives it a meaning).

    Raises:
        TypeError: not a number or None.
        PoolConfigError: negative, NaN, or 0 when not allowed.
    """
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(
            f"{name} must be a number of seconds or None, got {value!r} ({type(value).__name__})"
        )
    if not (value >= 0 if zero else value > 0):  # also refuses NaN
        bound = ">= 0" if zero else "> 0"
        raise PoolConfigError(f"{name} must be {bound} seconds, got {value!r}")
    return float(value)


def driver_module(creator: object) -> Any:
    """The DB-API module behind a creator: itself if it has ``connect``, else its ``dbapi``.

    Returns:
        The module, or None when it cannot be found (a plain function).
    """
    if callable(getattr(creator, "connect", None)):
        return creator
    dbapi = getattr(creator, "dbapi", None)
    if dbapi is not None and callable(getattr(dbapi, "connect", None)):
        return dbapi
    return None


def failure_types(creator: object) -> tuple[type[BaseException], ...]:
    """The creator's driver's ``OperationalError``, ``InterfaceError`` and ``InternalError``.

    Looked up on the creator if it is a DB-API module, else on its ``dbapi``
    attribute; the classes that exist are returned, in that order.

    Returns:
        The exception classes found; empty when no driver module is found.
    """
    module = driver_module(creator)
    if module is None:
        return ()
    found: list[type[BaseException]] = []
    for name in FAILURE_NAMES:
        kind = getattr(module, name, None)
        if isinstance(kind, type) and issubclass(kind, BaseException):
            found.append(kind)
    return tuple(found)


def exception_types(name: str, value: object) -> tuple[type[BaseException], ...]:
    """One exception class or a tuple of them, as a tuple.

    Raises:
        TypeError: anything else; the message names the value.
    """
    if isinstance(value, type) and issubclass(value, BaseException):
        return (value,)
    if isinstance(value, tuple) and all(
        isinstance(t, type) and issubclass(t, BaseException) for t in value
    ):
        return value
    raise TypeError(f"{name} must be an exception class or a tuple of them, got {value!r}")
