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

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

import model

from ._adapters import Adapter, Profile
from ._driver import RecordingDriver
from ._lockstep import Lockstep, LockstepFailure
from ._profiles import PROFILES
from ._thirdparty import load, narrow, patch_time


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


# Every step draws an int from this one range and takes ``ops[i % len(ops)]``:
# the draw's constraints never depend on what the pool did, so a pool that
# behaves differently on a replay makes a failure flaky, never the data.
_OP_CHOICES = 64


def draw_op(data: st.DataObject, ops: list[model.Op]) -> model.Op:
    """Draw one of the enabled operations (shrinking towards the first)."""
    return ops[data.draw(st.integers(0, _OP_CHOICES - 1), label="op") % len(ops)]


def _driver(real: bool) -> RecordingDriver:
    return RecordingDriver(sqlite3 if real else None)


def _clock(profile: Profile) -> Any:
    if not profile.manual_clock:
        return None
    import impl

    return impl.ManualClock()


def resolve(profile: Profile, factory: Any) -> tuple[Profile, Any]:
    """The factory to build (the profile's default when None), and the profile narrowed to it."""
    if factory is None and profile.default:
        factory = load(profile.default)
    if factory is None:
        return profile, None
    return narrow(profile, factory), factory


def start(
    profile: Profile, factory: Any, config: model.Config, actors: int, *, real: bool = True
) -> Lockstep:
    """Build the pool for ``config`` around a fresh recording driver and wrap it in lockstep."""
    if factory is None and profile.default:
        factory = load(profile.default)
    driver = _driver(real)
    clock = _clock(profile)
    restore = patch_time(factory, clock) if profile.virtual_time else None
    try:
        pool = profile.build(factory, config, driver, clock)
    except BaseException:
        if restore is not None:
            restore()
        raise
    lockstep = Lockstep(
        config,
        pool,
        profile.adapter,
        driver,
        actors,
        clock,
        lenient_release=profile.lenient_release,
        avoid=profile.avoid,
    )
    if restore is not None:
        lockstep.cleanups.append(restore)
    return lockstep


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
    prof, factory = resolve(PROFILES[profile] if isinstance(profile, str) else profile, factory)

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
            self.lockstep.apply(draw_op(data, self.lockstep.enabled()))

        def teardown(self) -> None:
            if self.lockstep is not None:
                self.lockstep.teardown()

    PoolLockstep.__name__ = f"Lockstep_{prof.name.replace('-', '_')}"
    return PoolLockstep


def run_conformance(
    factory: Any = None,
    *,
    adapter: Adapter | None = None,
    profile: Profile | str = "poolspec",
    settings: settings | None = None,
    actors: int = 3,
    real: bool = True,
) -> None:
    """Run the lockstep state machine against ``factory``'s pool; raise on the first divergence.

    Args:
        factory: the pool class or factory (None: the profile's default).
        adapter: how to drive the pool, when not the profile's own (any
            object with ``Adapter``'s methods).
        profile: which configurations to draw and how to build the pool.
        settings: Hypothesis settings (default: 50 programs of 30 steps).
        actors: how many actor threads.
        real: real sqlite3 connections under the recording driver (else a fake).

    Raises:
        LockstepFailure: the pool broke a rule; the message names the rule and
            lists the shortest program Hypothesis found.
    """
    if adapter is not None:
        profile = replace(
            PROFILES[profile] if isinstance(profile, str) else profile, adapter=adapter
        )
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
    avoided: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[RuleVerdict]:
        """The rules that failed."""
        return [v for v in self.verdicts if v.status == "fail"]

    @property
    def verdict(self) -> str:
        """``pass`` when every applicable rule passes, else ``fail``."""
        return "fail" if self.failed else "pass"


#: How long one failure is shrunk at most, in seconds. Each attempt runs real
#: threads (a lost wake-up takes a second to see), so Hypothesis' own limit of
#: five minutes per failure would make a check of a buggy pool take half an hour.
SHRINK_SECONDS = 60.0


@contextlib.contextmanager
def _shrink_budget(seconds: float) -> Iterator[None]:
    """Cap Hypothesis' shrinking time for the duration of a round.

    Hypothesis reads the limit from a module constant each time it starts
    shrinking; there is no setting for it. If a release moves it, the budget
    is simply Hypothesis' own.
    """
    from hypothesis.internal.conjecture import engine

    old = getattr(engine, "MAX_SHRINKING_SECONDS", None)
    if old is None:
        yield
        return
    engine.MAX_SHRINKING_SECONDS = seconds  # type: ignore[assignment]
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = old


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
    shrink_seconds: float = SHRINK_SECONDS,
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
                op = draw_op(data, lockstep.enabled())
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
        with _shrink_budget(shrink_seconds):
            program()
    except LockstepFailure as failure:
        return failure
    except hypothesis.errors.FlakyFailure as flaky:
        # the failure did not come back when replayed: a race in the pool, or
        # a timing the harness could not pin down; report it, marked so
        found = [e for e in flaky.exceptions if isinstance(e, LockstepFailure)]
        if not found:
            raise
        found[0].flaky = True
        return found[0]
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
    rounds: int = 8,
    progress: Callable[[str], None] | None = None,
    real: bool = True,
    shrink: bool = True,
    strict: bool = False,
    shrink_seconds: float = SHRINK_SECONDS,
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
        strict: draw the operations the profile steers around too (its known
            divergences then fail their rules).
        shrink_seconds: the most time spent shrinking each failure.
    """
    prof, factory = resolve(PROFILES[profile] if isinstance(profile, str) else profile, factory)
    if strict:
        prof = replace(prof, avoid=())
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
            shrink_seconds=shrink_seconds,
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
        avoided=[f"{a.rule}: {a.why}" for a in prof.avoid],
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
            text = str(failure.divergence)
            if failure.flaky:
                text += " [flaky: the program did not fail again when replayed]"
            verdicts.append(RuleVerdict(rule_id, "fail", text, failure.config, failure.steps))
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
