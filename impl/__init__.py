"""poolspec's pool: a threaded connection pool that behaves exactly like the model.

Layout:

* ``_config``: the policies (``PoolConfig``) and their enums.
* ``_errors``: the error tree, rooted at ``PoolError``.
* ``_seams``: the clock and the synchronisation factory every wait goes
  through (``SystemClock``, ``ManualClock``, ``DefaultSync``).
* ``_records``: the engine's bookkeeping (connections, thread bindings, wait slots).
* ``_pool``: the engine (``Pool``) and its statistics snapshot (``PoolStats``).
* ``_handle``: what a borrower holds (``PooledConnection``, ``PooledCursor``).

This package never imports ``model`` or ``spec``: the lockstep harness in
``spec`` compares the two, and must not compare the model with itself.
"""

from ._config import Fairness as Fairness
from ._config import IdleOrder as IdleOrder
from ._config import Ping as Ping
from ._config import PoolConfig as PoolConfig
from ._config import ResetMode as ResetMode
from ._errors import ConnectionReleased as ConnectionReleased
from ._errors import ForeignConnection as ForeignConnection
from ._errors import PoolClosed as PoolClosed
from ._errors import PoolConfigError as PoolConfigError
from ._errors import PoolError as PoolError
from ._errors import PoolExhausted as PoolExhausted
from ._errors import PoolMisuse as PoolMisuse
from ._errors import PoolTimeout as PoolTimeout
from ._errors import TooManyWaiters as TooManyWaiters
from ._handle import PooledConnection as PooledConnection
from ._handle import PooledCursor as PooledCursor
from ._pool import EVENTS as EVENTS
from ._pool import DBAPIModule as DBAPIModule
from ._pool import Listener as Listener
from ._pool import Pool as Pool
from ._pool import PoolStats as PoolStats
from ._seams import Clock as Clock
from ._seams import ConditionLike as ConditionLike
from ._seams import DefaultSync as DefaultSync
from ._seams import LockLike as LockLike
from ._seams import ManualClock as ManualClock
from ._seams import Sync as Sync
from ._seams import SystemClock as SystemClock

__all__ = [
    "EVENTS",
    "Clock",
    "ConditionLike",
    "ConnectionReleased",
    "DBAPIModule",
    "DefaultSync",
    "Fairness",
    "ForeignConnection",
    "IdleOrder",
    "Listener",
    "LockLike",
    "ManualClock",
    "Ping",
    "Pool",
    "PoolClosed",
    "PoolConfig",
    "PoolConfigError",
    "PoolError",
    "PoolExhausted",
    "PoolMisuse",
    "PoolStats",
    "PoolTimeout",
    "PooledConnection",
    "PooledCursor",
    "ResetMode",
    "Sync",
    "SystemClock",
    "TooManyWaiters",
]
