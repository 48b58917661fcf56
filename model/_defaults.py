"""The default configuration the model checker explores, and its bounds.

The issue asks for "three actors and a pool of two plus one overflow, all
policies on": SQLAlchemy's ``QueuePool(pool_size=2, max_overflow=1)`` is a
hard cap of three connections of which two are kept idle, so
``max_size=3, idle_cap=2``. Every other policy takes a non-default value where
it has one:

* ``min_idle=1``: one connection opened at creation (CAP-3);
* ``timeout=1``: waiters give up after one tick (WAIT-2);
* ``idle_order=LIFO``: the most recently returned idle connection goes out
  first (ORDER-1; FIFO is the default);
* ``reset=FULL`` with ``session_setup``: the driver's full reset, then the
  session statements again (RESET-5, SETUP-1);
* ``max_usage=1``, ``max_lifetime=1``, ``max_idle_time=1``: retirement by
  use, age and idle time (RETIRE-1..4). One is the smallest threshold that
  still retires: each clock is then "fresh" or "due", which keeps the state
  space finite and small; larger thresholds only add intermediate ages;
* ``ping=ON_CHECKOUT`` and ``reopen``: dead connections are found at checkout
  (LIVE-1) and reopened or replaced (LIVE-2, LIVE-3).

Left at their defaults: ``block=True`` and FIFO fairness (the defaults are
the policies), ``max_waiters`` (see below), and the two modes that exclude
others, ``per_thread`` (no idle cap) and ``shared`` (no reopen); the pinned
tests explore those.

With three actors and room for three connections nobody ever waits: an actor
that asks holds nothing, so at most two connections are in use and there is
always an idle one or a free slot. The WAIT rules therefore hold vacuously
here and ``timeout`` changes nothing (the report lists the waiting witnesses
as never seen); the benchmark's smaller configurations, with a cap of two,
cover waiting.

``DEFAULT_BOUNDS`` allow one fault per path (a failed connect, a killed
connection or a failed ping) and unbounded ticks (ages are clipped at their
thresholds, so the space is finite).
"""

from __future__ import annotations

from ._checker import Bounds
from ._config import Config, IdleOrder, Ping, ResetMode

DEFAULT_CONFIG = Config(
    max_size=3,
    idle_cap=2,
    min_idle=1,
    timeout=1,
    idle_order=IdleOrder.LIFO,
    reset=ResetMode.FULL,
    session_setup=True,
    max_usage=1,
    max_lifetime=1,
    max_idle_time=1,
    ping=Ping.ON_CHECKOUT,
    reopen=True,
)
"""Three connections, two kept idle, every policy on (see the module docstring)."""

DEFAULT_BOUNDS = Bounds(actors=3, faults=1)
"""Three actors, one fault per path, ticks unbounded."""
