"""poolspec's executable model of connection pool semantics.

The model is pure: configuration and state are frozen values, and each
operation is a function from a state to its allowed outcomes. Layout:

* ``_config``: the policy parameters (``Config``) and their enums.
* ``_state``: the state (``State``, ``Conn``, ``Hold``, ``Waiter``) and the
  vocabulary shared with the harness: operations (``Op``), results
  (``Result``, ``Refusal``), driver effects (``Effect``), wake-ups.
* ``_transitions``: one function per operation, ``step`` (all allowed
  outcomes of an operation) and ``enabled`` (what may happen next).
* ``_rules``: every rule of spec/SPEC.md as named predicates citing its id.
* ``_symmetry`` and ``_checker``: the breadth-first model checker.
* ``_defaults``: the configuration and bounds it explores by default.
"""

from ._checker import Bounds as Bounds
from ._checker import Report as Report
from ._checker import Step as Step
from ._checker import Violation as Violation
from ._checker import explore as explore
from ._checker import format_report as format_report
from ._checker import report_json as report_json
from ._config import Config as Config
from ._config import Fairness as Fairness
from ._config import IdleOrder as IdleOrder
from ._config import Ping as Ping
from ._config import ResetMode as ResetMode
from ._defaults import DEFAULT_BOUNDS as DEFAULT_BOUNDS
from ._defaults import DEFAULT_CONFIG as DEFAULT_CONFIG
from ._rules import PREDICATES as PREDICATES
from ._rules import Kind as Kind
from ._rules import Predicate as Predicate
from ._rules import by_kind as by_kind
from ._rules import events as events
from ._rules import rule_ids as rule_ids
from ._state import ACTOR_OPS as ACTOR_OPS
from ._state import FAULT_OPS as FAULT_OPS
from ._state import OK as OK
from ._state import WAIT as WAIT
from ._state import Conn as Conn
from ._state import Effect as Effect
from ._state import EffectKind as EffectKind
from ._state import Hold as Hold
from ._state import Op as Op
from ._state import OpKind as OpKind
from ._state import Outcome as Outcome
from ._state import Refusal as Refusal
from ._state import Result as Result
from ._state import State as State
from ._state import Stats as Stats
from ._state import Status as Status
from ._state import Waiter as Waiter
from ._state import Wakeup as Wakeup
from ._state import got as got
from ._state import refused as refused
from ._state import stats as stats
from ._symmetry import canonical_key as canonical_key
from ._transitions import enabled as enabled
from ._transitions import initial as initial
from ._transitions import step as step

__all__ = [
    "ACTOR_OPS",
    "DEFAULT_BOUNDS",
    "DEFAULT_CONFIG",
    "FAULT_OPS",
    "OK",
    "PREDICATES",
    "WAIT",
    "Bounds",
    "Config",
    "Conn",
    "Effect",
    "EffectKind",
    "Fairness",
    "Hold",
    "IdleOrder",
    "Kind",
    "Op",
    "OpKind",
    "Outcome",
    "Ping",
    "Predicate",
    "Refusal",
    "Report",
    "ResetMode",
    "Result",
    "State",
    "Stats",
    "Status",
    "Step",
    "Violation",
    "Waiter",
    "Wakeup",
    "by_kind",
    "canonical_key",
    "enabled",
    "events",
    "explore",
    "format_report",
    "got",
    "initial",
    "refused",
    "report_json",
    "rule_ids",
    "stats",
    "step",
]
