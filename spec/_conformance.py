"""Conformance runs: Hypothesis draws configurations and programs, the lockstep harness judges.

Two ways in:

* ``machine(profile, factory)`` returns a Hypothesis ``RuleBasedStateMachine``
  class for a pytest suite (``TestPool = machine(...).TestCase``), and
  ``run_conformance(factory, ...)`` runs it in place, for anyone's tests.
* ``check(profile, factory, ...)`` runs rounds of examples and returns a
  verdict per rule id: after a rule fails, later rounds stop any example at
  the point where that same rule diverges again, so that a second, different
  bug shows up as a failure of the rule it breaks.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

import model

from ._adapters import Profile
from ._driver import RecordingDriver
from ._lockstep import Lockstep, LockstepFailure
from ._profiles import PROFILES


def config_strategy(profile: Profile) -> st.SearchStrategy[model.Config]:
    """Model configurations within a profile: one value per listed parameter, valid ones kept."""

    def valid(kwargs: dict[str, Any]) -> bool:
        try:
            model.Config(**kwargs)
        except (TypeError, ValueError):
            return False
        return True

    options = [
        st.fixed_dictionaries({name: st.sampled_from(values) for name, values in table.items()})
        for table in profile.configs
    ]
    return st.one_of(options).filter(valid).map(lambda kw: model.Config(**kw))


def _driver(real: bool) -> RecordingDriver:
    return RecordingDriver(sqlite3 if real else None)


def _clock(profile: Profile) -> Any:
    if not profile.manual_clock:
        return None
    import impl

    return impl.ManualClock()


def start(
    profile: Profile, factory: Any, config: model.Config, actors: int, *, real: bool = True
) -> Lockstep:
    """Build the pool for ``config`` around a fresh recording driver and wrap it in lockstep."""
    driver = _driver(real)
    clock = _clock(profile)
    pool = profile.build(factory, config, driver, clock)
    return Lockstep(config, pool, profile.adapter, driver, actors, clock)


def machine(
    profile: Profile | str = "poolspec",
    factory: Any = None,
    *,
    actors: int = 3,
    real: bool = True,
) -> type[RuleBasedStateMachine]:
    """A Hypothesis state machine running ``factory``'s pool in lockstep with the model.

    Args:
        profile: a profile or its name (``poolspec``, ``sqlalchemy-queuepool``, ...).
        factory: the pool class or factory (None: the profile's default).
        actors: how many actor threads.
        real: real sqlite3 connections under the recording driver (else a fake).
    """
    prof = PROFILES[profile] if isinstance(profile, str) else profile

    class PoolLockstep(RuleBasedStateMachine):
        """Every step applies one enabled operation to the model and the pool, and compares."""

        def __init__(self) -> None:
            super().__init__()
            self.lockstep: Lockstep | None = None

        @initialize(config=config_strategy(prof))
        def build(self, config: model.Config) -> None:
            self.lockstep = start(prof, factory, config, actors, real=real)

        @rule(data=st.data())
        def step(self, data: st.DataObject) -> None:
            assert self.lockstep is not None
            ops = self.lockstep.enabled()
            op = data.draw(st.sampled_from(ops), label="op")
            self.lockstep.apply(op)

        def teardown(self) -> None:
            if self.lockstep is not None:
                self.lockstep.teardown()

    PoolLockstep.__name__ = f"Lockstep_{prof.name.replace('-', '_')}"
    return PoolLockstep


def run_conformance(
    factory: Any = None,
    *,
    profile: Profile | str = "poolspec",
    settings: settings | None = None,
    actors: int = 3,
    real: bool = True,
) -> None:
    """Run the lockstep state machine against ``factory``'s pool; raise on the first divergence.

    Raises:
        LockstepFailure: the pool broke a rule; the message names the rule and
            lists the shortest program Hypothesis found.
    """
    chosen = settings or hypothesis.settings(
        max_examples=50,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    run_state_machine_as_test(machine(profile, factory, actors=actors, real=real), settings=chosen)


# -- per-rule verdicts ------------------------------------------------------------


@dataclass
class RuleVerdict:
    """One rule's verdict in a check."""

    rule: str
    status: str  # "pass", "fail" or "n/a"
    divergence: str = ""
    config: model.Config | None = None
    steps: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    """The verdicts of one ``poolspec check`` run."""

    target: str
    profile: str
    examples: int
    seconds: float
    verdicts: list[RuleVerdict]

    @property
    def failed(self) -> list[RuleVerdict]:
        """The rules that failed."""
        return [v for v in self.verdicts if v.status == "fail"]

    @property
    def verdict(self) -> str:
        """``pass`` when every applicable rule passes, else ``fail``."""
        return "fail" if self.failed else "pass"


class _Known(Exception):  # noqa: N818 - internal signal, never escapes this module
    """A divergence of a rule that already failed: the example ends here."""


def _examples(
    prof: Profile,
    factory: Any,
    *,
    actors: int,
    steps: int,
    examples: int,
    seed: int | None,
    known: set[str],
    seen_configs: list[model.Config],
    progress: Callable[[int], None] | None,
    real: bool,
    shrink: bool = True,
) -> LockstepFailure | None:
    """Run one round; return the shrunk failure of a rule not yet known, or None."""
    counter = [0]

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        report_multiple_bugs=False,
        phases=tuple(Phase) if shrink else (Phase.explicit, Phase.reuse, Phase.generate),
    )
    @given(config=config_strategy(prof), data=st.data())
    def program(config: model.Config, data: st.DataObject) -> None:
        counter[0] += 1
        if progress is not None:
            progress(counter[0])
        seen_configs.append(config)
        try:
            lockstep = start(prof, factory, config, actors, real=real)
        except LockstepFailure as failure:
            failure.config = config
            if failure.divergence.rule in known:
                return
            raise
        try:
            for _ in range(steps):
                ops = lockstep.enabled()
                op = data.draw(st.sampled_from(ops), label="op")
                try:
                    lockstep.apply(op)
                except LockstepFailure as failure:
                    failure.config = config
                    if failure.divergence.rule in known:
                        raise _Known from None
                    raise
        except _Known:
            return
        finally:
            lockstep.teardown()

    if seed is not None:
        program = hypothesis.seed(seed)(program)
    try:
        program()
    except LockstepFailure as failure:
        return failure
    return None


def check(
    profile: Profile | str,
    factory: Any = None,
    *,
    target: str = "",
    examples: int = 100,
    steps: int = 25,
    actors: int = 3,
    seed: int | None = None,
    rounds: int = 6,
    progress: Callable[[str], None] | None = None,
    real: bool = True,
    shrink: bool = True,
) -> CheckReport:
    """Check a pool against every rule; a verdict per rule id, with counterexamples.

    Args:
        profile: which profile (configurations and builder) to use.
        factory: the pool class or factory (None: the profile's default).
        target: how the user named the target, for the report.
        examples: Hypothesis examples per round.
        steps: operations per example.
        actors: actor threads.
        seed: Hypothesis seed, for a reproducible run.
        rounds: most distinct failing rules to look for.
        progress: called with a line of progress now and then.
        real: real sqlite3 connections under the recording driver.
        shrink: shrink each failure to a minimal program (off: faster, longer traces).
    """
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    began = time.monotonic()
    known: set[str] = set()
    failures: list[LockstepFailure] = []
    configs: list[model.Config] = []
    for round_no in range(1, rounds + 1):

        def tick(n: int, round_no: int = round_no) -> None:
            if progress is not None and (n == 1 or n % 10 == 0):
                progress(f"round {round_no}: example {n}/{examples}")

        failure = _examples(
            prof,
            factory,
            actors=actors,
            steps=steps,
            examples=examples,
            seed=seed,
            known=known,
            seen_configs=configs,
            progress=tick,
            real=real,
            shrink=shrink,
        )
        if failure is None:
            break
        known.add(failure.divergence.rule)
        failures.append(failure)
        if progress is not None:
            progress(f"round {round_no}: {failure.divergence.rule} fails")
    return CheckReport(
        target=target or prof.name,
        profile=prof.name,
        examples=len(configs),
        seconds=time.monotonic() - began,
        verdicts=_verdicts(failures, configs),
    )


def _verdicts(
    failures: Iterable[LockstepFailure], configs: list[model.Config]
) -> list[RuleVerdict]:
    by_rule = {f.divergence.rule: f for f in failures}
    distinct = set(configs)
    verdicts = []
    for rule_id in model.rule_ids():
        failure = by_rule.get(rule_id)
        if failure is not None:
            verdicts.append(
                RuleVerdict(rule_id, "fail", str(failure.divergence), failure.config, failure.steps)
            )
            continue
        applies = any(p.applies(c) for p in model.PREDICATES if p.rule == rule_id for c in distinct)
        verdicts.append(RuleVerdict(rule_id, "pass" if applies else "n/a"))
    return verdicts


def replay(
    profile: Profile | str,
    config: model.Config,
    ops: Iterable[str],
    factory: Any = None,
    *,
    actors: int = 3,
    real: bool = True,
) -> None:
    """Replay a counterexample program step by step; raise ``LockstepFailure`` where it diverges."""
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    lockstep = start(prof, factory, config, actors, real=real)
    try:
        for text in ops:
            lockstep.apply(parse_op(text))
    finally:
        lockstep.teardown()


def parse_op(text: str) -> model.Op:
    """Parse ``acquire(a0)``, ``kill(c1)`` or ``tick()`` (the form reports print)."""
    head = text.split(" ", 1)[0]
    name, _, arg = head.partition("(")
    arg = arg.rstrip(")")
    kind = model.OpKind(name)
    if arg.startswith("a"):
        return model.Op(kind, actor=int(arg[1:]))
    if arg.startswith("c"):
        return model.Op(kind, conn=int(arg[1:]))
    return model.Op(kind)
