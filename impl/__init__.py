"""poolspec's pool: a threaded connection pool that behaves exactly like the model.

Layout:

* ``_config``: the policies (``PoolConfig``) and their enums.
* ``_errors``: the error tree, rooted at ``PoolError``.
* ``_seams``: the clock and the synchronisation factory every wait goes
  through (``SystemClock``, ``ManualClock``, ``DefaultSync``).
* ``_records``: the engine's bookkeeping (connections, thread bindings, wait slots).
* ``_pool``: the engine (``Pool``) and its statistics snapshot (``PoolStats``).
* ``_handle``: what a borrower holds (``PooledConnection``, ``PooledCursor``).

The front doors are presets of that one engine with the signatures of the
pools they replace; each translates its legacy spellings ("0 means
unlimited", ping bit masks, ``recycle=-1``) into a ``PoolConfig`` at its edge
and documents what it does differently:

* ``_sqlalchemy``: ``QueuePool``, ``SingletonThreadPool``, ``NullPool``,
  ``StaticPool``, ``AssertionPool`` and ``manage()``.
* ``_dbutils``: ``PooledDB`` and ``PersistentDB``, with DBUtils' error names.
* ``_qldb``: ``SessionPool``, after pyqldb's pooled driver.
* ``_quasardb``: ``SingletonPool``, ``initialize()``/``instance()`` and ``with_conn``.
* ``_edge``: what they share (argument checks, a driver's failure types).

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

# isort: split
# SQLAlchemy-style front door
from ._sqlalchemy import AssertionPool as AssertionPool
from ._sqlalchemy import AssertionPoolError as AssertionPoolError
from ._sqlalchemy import DBProxy as DBProxy
from ._sqlalchemy import NullPool as NullPool
from ._sqlalchemy import QueuePool as QueuePool
from ._sqlalchemy import SingletonThreadPool as SingletonThreadPool
from ._sqlalchemy import StaticPool as StaticPool
from ._sqlalchemy import manage as manage

# isort: split
# DBUtils-style front door
from ._dbutils import DBUtilsConnection as DBUtilsConnection
from ._dbutils import DBUtilsCursor as DBUtilsCursor
from ._dbutils import InvalidConnection as InvalidConnection
from ._dbutils import InvalidConnectionError as InvalidConnectionError
from ._dbutils import NotSupportedError as NotSupportedError
from ._dbutils import PersistentDB as PersistentDB
from ._dbutils import PooledDB as PooledDB
from ._dbutils import PooledDBError as PooledDBError
from ._dbutils import TooManyConnections as TooManyConnections
from ._dbutils import TooManyConnectionsError as TooManyConnectionsError

# isort: split
# pyqldb-style front door
from ._qldb import DriverClosedError as DriverClosedError
from ._qldb import SessionPool as SessionPool
from ._qldb import SessionPoolEmptyError as SessionPoolEmptyError

# isort: split
# quasardb-style front door
from ._quasardb import SingletonPool as SingletonPool
from ._quasardb import initialize as initialize
from ._quasardb import instance as instance
from ._quasardb import shutdown as shutdown
from ._quasardb import with_conn as with_conn

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

# SQLAlchemy-style front door
__all__ += [
    "AssertionPool",
    "AssertionPoolError",
    "DBProxy",
    "NullPool",
    "QueuePool",
    "SingletonThreadPool",
    "StaticPool",
    "manage",
]

# DBUtils-style front door
__all__ += [
    "DBUtilsConnection",
    "DBUtilsCursor",
    "InvalidConnection",
    "InvalidConnectionError",
    "NotSupportedError",
    "PersistentDB",
    "PooledDB",
    "PooledDBError",
    "TooManyConnections",
    "TooManyConnectionsError",
]

# pyqldb-style front door
__all__ += [
    "DriverClosedError",
    "SessionPool",
    "SessionPoolEmptyError",
]

# quasardb-style front door
__all__ += [
    "SingletonPool",
    "initialize",
    "instance",
    "shutdown",
    "with_conn",
]
