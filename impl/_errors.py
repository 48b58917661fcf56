"""The pool's error tree: one root, one leaf per refusal, one branch for misuse.

Refusals are the implementation's side of the model's ``Refusal`` values; the
table in ``spec/`` maps one onto the other. ``PoolTimeout``, ``PoolExhausted``,
``PoolClosed`` and ``ConnectionReleased`` are not final: the front doors
subclass them under the names their users already catch (DBUtils'
``TooManyConnections``, pyqldb's ``SessionPoolEmptyError``...), so one
``except`` clause serves both spellings. Errors raised by the driver (a
refused connect, a lost connection) are never wrapped: they reach the caller as
the driver's own exception objects.
"""

from __future__ import annotations

from typing import final


class PoolError(Exception):
    """Root of every error the pool itself raises."""


class PoolTimeout(PoolError):  # noqa: N818 - the names are the spec's refusal table
    """A waiter's timeout expired before a connection was free (WAIT-2)."""


class PoolExhausted(PoolError):  # noqa: N818 - the names are the spec's refusal table
    """No connection was free and the pool does not wait (``block=False``, WAIT-1)."""


class PoolClosed(PoolError):  # noqa: N818 - the names are the spec's refusal table
    """The pool is closed: checkouts are refused, waiters are sent away (CLOSE-1, WAIT-4)."""


@final
class TooManyWaiters(PoolError):  # noqa: N818 - the names are the spec's refusal table
    """The waiting list is at ``max_waiters`` (WAIT-6)."""


class PoolMisuse(PoolError):  # noqa: N818 - the names are the spec's refusal table
    """The caller broke the pool's contract; the pool itself stays intact."""


class ConnectionReleased(PoolMisuse):
    """A handle was used or given back after it was released (EXCL-2, EXCL-3)."""


@final
class ForeignConnection(PoolMisuse):
    """A handle was given back to a pool it does not come from."""


@final
class PoolConfigError(PoolError, ValueError):
    """A configuration value, or a combination of them, is not allowed."""
