"""poolspec's contract, executable.

``SPEC.md`` beside this file states every rule in prose with its id. This
package holds what checks a pool against those rules:

* ``_driver``: the recording DB-API 2 driver, through which every pool under
  test connects, so that every call it makes is seen.
* ``_adapters`` and ``_profiles``: how to drive a pool of a known API shape,
  and how the spec's policy parameters map to its constructor.
* ``_lockstep``: applies each operation to the model and to the pool, and
  compares results, driver calls, waiters and statistics.
* ``_conformance``: Hypothesis draws configurations and programs; per-rule
  verdicts with shrunk counterexamples.
* ``_thirdparty``: profiles of SQLAlchemy's and DBUtils' pools.
* ``_crosshair_lockstep``: the lockstep step as CrossHair entry points.
* ``_sched`` and ``_race``: a controlled scheduler that explores interleavings
  (``poolspec race``); see CONCURRENCY.md.
* ``_linear`` and ``_stress``: linearizability of recorded histories against
  the model, and free-running stress (``poolspec stress``).
* ``_reliability*``: faults, restarts, isolation and bad input on real
  servers (``poolspec reliability``, RELIABILITY.md).
* ``_report`` and ``_cli``: the ``poolspec`` command and its reports.
* ``_plugin``: the pytest plugin.
"""

from ._adapters import SESSION_SQL as SESSION_SQL
from ._adapters import SETUP_SQL as SETUP_SQL
from ._adapters import WORK_SQL as WORK_SQL
from ._adapters import Adapter as Adapter
from ._adapters import Avoid as Avoid
from ._adapters import DBUtilsAdapter as DBUtilsAdapter
from ._adapters import OurAdapter as OurAdapter
from ._adapters import PlainAdapter as PlainAdapter
from ._adapters import Profile as Profile
from ._adapters import SQLAlchemyAdapter as SQLAlchemyAdapter
from ._conformance import CheckReport as CheckReport
from ._conformance import RuleVerdict as RuleVerdict
from ._conformance import check as check
from ._conformance import config_strategy as config_strategy
from ._conformance import machine as machine
from ._conformance import parse_op as parse_op
from ._conformance import replay as replay
from ._conformance import run_conformance as run_conformance
from ._driver import Call as Call
from ._driver import CallKind as CallKind
from ._driver import RecordingConnection as RecordingConnection
from ._driver import RecordingDriver as RecordingDriver
from ._linear import HistoryOp as HistoryOp
from ._linear import LinearResult as LinearResult
from ._linear import check_fifo as check_fifo
from ._linear import check_history as check_history
from ._lockstep import Divergence as Divergence
from ._lockstep import Lockstep as Lockstep
from ._lockstep import LockstepFailure as LockstepFailure
from ._profiles import PROFILES as PROFILES
from ._report import check_json as check_json
from ._report import format_check as format_check
from ._stress import StressOptions as StressOptions
from ._stress import StressReport as StressReport
from ._stress import run_stress as run_stress

__all__ = [
    "PROFILES",
    "SESSION_SQL",
    "SETUP_SQL",
    "WORK_SQL",
    "Adapter",
    "Avoid",
    "Call",
    "CallKind",
    "CheckReport",
    "DBUtilsAdapter",
    "Divergence",
    "HistoryOp",
    "LinearResult",
    "Lockstep",
    "LockstepFailure",
    "OurAdapter",
    "PlainAdapter",
    "Profile",
    "RecordingConnection",
    "RecordingDriver",
    "RuleVerdict",
    "SQLAlchemyAdapter",
    "StressOptions",
    "StressReport",
    "check",
    "check_fifo",
    "check_history",
    "check_json",
    "config_strategy",
    "format_check",
    "machine",
    "parse_op",
    "replay",
    "run_conformance",
    "run_stress",
]
