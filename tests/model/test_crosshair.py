"""CrossHair on the model's contracts (model/_contracts.py): examples, CI run, self-test, deep run.

The CI run gives each searched entry point a small CPU budget; the self-test
shows that the very same command reports a deliberately broken transition,
so an exit status of 0 means something. The deep runs (``--run-long``) give
each condition a minute or more, expect the bounded proofs to be exhausted,
and must find a bug three operations deep. spec/CROSSHAIR.md records the
measured times and what was and was not reached.
"""

from __future__ import annotations

import inspect
import itertools
import os
import re
import subprocess
import sys
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import (
    PREDICATES,
    Config,
    Effect,
    EffectKind,
    Fairness,
    IdleOrder,
    Kind,
    Op,
    OpKind,
    Outcome,
    Ping,
    Refusal,
    ResetMode,
    State,
    Status,
    step,
)
from model import _contracts as contracts
from model._contracts import (
    PROOFS,
    SEARCHES,
    Run,
    invariants_hold,
    prove_capacity,
    prove_per_thread,
    prove_shared,
    run,
    run_capacity,
    run_per_thread,
    run_reset,
    run_retirement,
    run_shared,
    step_holds,
    violations,
)
from tests.model.helpers import op as parse_op

ROOT = Path(__file__).resolve().parents[2]

FAST_BUDGET = 6.0
"""CPU seconds per condition in CI: five searches, about 35 s in all with the self-test."""

DEEP_BUDGET = 60.0
"""CPU seconds per condition in the deep runs (the three-step bug needs about 40)."""

PROOF_BUDGET = 120.0
"""CPU seconds per proof; they are exhausted in 27 to 58 here and stop there."""

Entry = Callable[..., Run]


# -- driving the entry points with concrete values ----------------------------------------


def choices_for(entry: Entry, args: Sequence[object], script: Sequence[str]) -> list[int]:
    """The program that makes ``entry(*args, program)`` take exactly the ops of ``script``.

    A ``#n`` suffix (``release(a0)#1``) picks the outcome of index ``n``
    where the op has several (barging).
    """
    choices: list[int] = []
    for text in script:
        name, _, nth = text.partition("#")
        want = parse_op(name)
        for k in range(256):
            taken = entry(*args, [*choices, k]).steps[-1]
            if taken.op != want:
                continue
            outs = step(entry(*args, choices).config, taken.before, want)
            if taken.outcome == outs[int(nth or 0)]:
                choices.append(k)
                break
        else:
            raise AssertionError(f"{text} is not enabled after {script[: len(choices)]}")
    return choices


def drive(entry: Entry, args: Sequence[object], script: Sequence[str]) -> Run:
    """Run ``script`` through ``entry`` and check that the run took exactly those ops."""
    result = entry(*args, choices_for(entry, args, script))
    assert [str(t.op) for t in result.steps] == [s.partition("#")[0] for s in script]
    return result


def last(result: Run) -> Outcome:
    """The outcome of the run's last step."""
    return result.steps[-1].outcome


def test_capacity_timeout_example() -> None:
    """CAP-1, WAIT-2, WAIT-3: at a cap of one the second checkout waits, and times out on a tick."""
    args = (1, None, True, 1, None, Fairness.FIFO, IdleOrder.FIFO)
    result = drive(run_capacity, args, ["acquire(a0)", "acquire(a1)", "tick()"])
    assert result.steps[1].outcome.result.status is Status.WAIT
    assert [w.result.refusal for w in last(result).wakeups] == [Refusal.TIMEOUT]
    assert violations(result) == ()


def test_capacity_overflow_example() -> None:
    """CAP-2: with an idle cap of zero a returned connection is closed."""
    args = (2, 0, True, None, None, Fairness.FIFO, IdleOrder.FIFO)
    result = drive(run_capacity, args, ["acquire(a0)", "release(a0)"])
    assert Effect(EffectKind.CLOSE, 0) in last(result).effects
    assert last(result).state.conns == ()
    assert violations(result) == ()


def test_capacity_barging_outcome_is_chosen() -> None:
    """WAIT-5: under barging a program int also picks which waiter a release serves."""
    args = (1, None, True, None, None, Fairness.BARGING, IdleOrder.LIFO)
    script = ["acquire(a0)", "acquire(a1)", "acquire(a2)", "release(a0)#1"]
    result = drive(run_capacity, args, script)
    assert [str(w) for w in last(result).wakeups] == ["a2 got c0"]
    assert violations(result) == ()


def test_capacity_no_block_example() -> None:
    """WAIT-1, CONN-1: a pool that does not wait refuses at once; a connect error surfaces."""
    args = (1, None, False, None, None, Fairness.FIFO, IdleOrder.FIFO)
    result = drive(run_capacity, args, ["fail_connect()", "acquire(a0)", "acquire(a1)"])
    assert result.steps[1].outcome.result.refusal is Refusal.CONNECT_FAILED
    assert last(result).result.conn == 0  # the failed connect took no slot
    again = drive(run_capacity, args, ["acquire(a0)", "acquire(a1)"])
    assert last(again).result.refusal is Refusal.EXHAUSTED
    assert violations(result) == violations(again) == ()


def test_reset_none_and_misuse_example() -> None:
    """RESET-1, EXCL-2: reset mode none leaves a transaction idle; releasing nothing is refused."""
    args = (ResetMode.NONE, False, True)
    result = drive(run_reset, args, ["release(a1)", "acquire(a0)", "work(a0)", "release(a0)"])
    assert result.steps[0].outcome.result.refusal is Refusal.NOT_HELD
    assert last(result).effects == ()
    assert last(result).state.conn(0).txn
    assert violations(result) == ()


def test_reset_full_example() -> None:
    """RESET-5, SETUP-1: a full reset clears session state and runs the session statements again."""
    args = (ResetMode.FULL, True, False)
    result = drive(run_reset, args, ["acquire(a0)", "set_session(a0)", "release(a0)"])
    assert [str(e) for e in last(result).effects] == ["reset(c0)", "setup(c0)"]
    assert not last(result).state.conn(0).dirty
    assert violations(result) == ()


def test_retirement_example() -> None:
    """RETIRE-1, CAP-3: a connection used up is closed at checkout and replaced."""
    args = (1, None, None, Ping.NEVER, False)
    result = drive(run_retirement, args, ["acquire(a0)", "release(a0)", "acquire(a1)"])
    assert result.start.state.idle == (0,)
    assert [str(e) for e in last(result).effects] == ["close(c0)", "connect(c1)"]
    assert violations(result) == ()


def test_ping_and_reopen_example() -> None:
    """LIVE-1, LIVE-2: a killed idle connection fails its ping; a killed held one is reopened."""
    args = (None, None, None, Ping.ON_CHECKOUT, True)
    pinged = drive(run_retirement, args, ["kill(c0)", "acquire(a0)"])
    assert [str(e) for e in last(pinged).effects] == ["ping(c0)", "close(c0)", "connect(c1)"]
    reopened = drive(run_retirement, args, ["acquire(a0)", "kill(c0)", "work(a0)"])
    assert last(reopened).result.status is Status.OK
    assert violations(pinged) == violations(reopened) == ()


def test_per_thread_example() -> None:
    """AFF-1..3: nested checkouts make no calls; a thread keeps its connection until it ends."""
    args = (1, ResetMode.ROLLBACK, False)
    script = ["acquire(a0)", "acquire(a0)", "release(a0)", "release(a0)", "acquire(a0)"]
    result = drive(run_per_thread, args, script)
    assert result.steps[1].outcome.effects == result.steps[2].outcome.effects == ()
    assert last(result).result.conn == 0
    ended = drive(run_per_thread, args, ["acquire(a0)", "release(a0)", "end_thread(a0)"])
    assert last(ended).state.conns == ()
    assert violations(result) == violations(ended) == ()


def test_shared_example() -> None:
    """EXCL-4: at the cap a checkout shares the connection in use."""
    result = drive(run_shared, (1,), ["acquire(a0)", "acquire(a1)"])
    assert last(result).result.conn == 0
    assert last(result).state.holders(0) == (0, 1)
    assert violations(result) == ()


def test_proof_entry_points_examples() -> None:
    """CAP-1, CAP-2, AFF-1, EXCL-4: the bounded-proof entry points run programs of two steps."""
    assert violations(drive(prove_capacity, (1, 0), ["acquire(a0)", "release(a0)"])) == ()
    assert violations(drive(prove_per_thread, (1,), ["acquire(a0)", "acquire(a1)"])) == ()
    assert violations(drive(prove_shared, (1,), ["acquire(a0)", "acquire(a1)"])) == ()


def test_every_choice_is_legal() -> None:
    """CAP-1 and the rest: any int, negative or huge, names an enabled op: no program is invalid."""
    for k in (-7, -1, 0, 1, 5, 10**9):
        result = run_capacity(1, None, True, None, None, Fairness.BARGING, IdleOrder.FIFO, [k] * 4)
        assert len(result.steps) == 4
        assert violations(result) == ()


# -- the helpers the postconditions use --------------------------------------------------


def _no_idle_cap(config: Config, state: State, op: Op) -> tuple[Outcome, ...]:
    """``model.step`` with the idle cap dropped (breaks CAP-2)."""
    return step(Config(max_size=config.max_size), state, op)


def test_violations_name_the_rule_and_step() -> None:
    """CAP-2: a broken transition is reported with its rule, predicate, step and op."""
    config = Config(max_size=2, idle_cap=0)
    broken = run(config, [0, 0], step_fn=_no_idle_cap)
    assert [str(t.op) for t in broken.steps] == ["acquire(a0)", "release(a0)"]
    assert violations(broken) == ("CAP-2 cap_idle @ 2 release(a0)",)
    assert not invariants_hold(config, last(broken).state)
    assert "CAP-2 cap_idle" in repr(broken)
    assert violations(run(config, [0, 0])) == ()


def test_step_holds_sees_a_broken_step() -> None:
    """RESET-3: a step handing out a connection with uncommitted work breaks the STEP predicate."""
    config = Config(max_size=1)
    fine = run(config, choices_for(lambda c: run(config, c), (), ["acquire(a0)", "work(a0)"]))
    t = fine.steps[-1]
    assert step_holds(config, t.before, t.op, t.outcome)
    # a0 gives its connection back without the rollback, and a1 gets it dirty
    dirty = t.outcome.state
    given_back = State(dirty.conns, (0,), (None, None, None))
    taken = step(config, given_back, Op(OpKind.ACQUIRE, 1))[0]
    assert not step_holds(config, given_back, Op(OpKind.ACQUIRE, 1), taken)


# -- preconditions: what CrossHair may choose is always a valid configuration -------------


def _domain(hint: Any) -> list[object]:
    """Candidate values for a parameter, a little wider than any ``pre:`` bound."""
    if hint is int:
        return list(range(-1, 5))
    if hint == int | None:
        return [None, *range(-1, 5)]
    if hint is bool:
        return [False, True]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return list(hint)
    raise AssertionError(f"no domain for {hint!r}")


def preconditions(entry: Entry) -> list[str]:
    """The ``pre:`` expressions of an entry point's docstring."""
    lines = (entry.__doc__ or "").splitlines()
    return [ln.strip()[len("pre:") :].strip() for ln in lines if ln.strip().startswith("pre:")]


def admitted(entry: Entry) -> Iterator[tuple[object, ...]]:
    """Each argument tuple (but ``choices``) from ``_domain`` that the ``pre:`` lines admit."""
    hints = typing.get_type_hints(entry)
    names = [n for n in inspect.signature(entry).parameters if n != "choices"]
    pres = preconditions(entry)
    for values in itertools.product(*(_domain(hints[n]) for n in names)):
        scope = {**dict(zip(names, values, strict=True)), "choices": []}
        if all(eval(p, vars(contracts), scope) for p in pres):  # our own docstrings' pre: lines
            yield values


@pytest.mark.parametrize("entry", SEARCHES + PROOFS, ids=lambda e: e.__name__)
def test_preconditions_admit_only_valid_configs(entry: Entry) -> None:
    """CAP-1, CAP-2, WAIT-1, WAIT-6: every input the ``pre:`` lines admit makes a valid Config."""
    assert any("len(choices)" in p for p in preconditions(entry))
    runs = [entry(*values, [0, 1, 2, 3]) for values in admitted(entry)]  # raises if invalid
    assert runs


def test_searches_reach_every_rule() -> None:
    """Every ALWAYS, STEP and INITIAL predicate (CAP-4, EXCL-4 too) applies in some search."""
    applicable = {
        p.name
        for entry in SEARCHES
        for values in admitted(entry)
        for p in PREDICATES
        if p.kind in (Kind.ALWAYS, Kind.STEP, Kind.INITIAL) and p.applies(entry(*values, []).config)
    }
    wanted = {p.name for p in PREDICATES if p.kind in (Kind.ALWAYS, Kind.STEP, Kind.INITIAL)}
    assert wanted - applicable == set()


def test_every_contract_is_checked() -> None:
    """Every rule: each function of model/_contracts.py with a ``post:`` is a search or a proof."""
    contracted = {
        name
        for name, fn in vars(contracts).items()
        if inspect.isfunction(fn)
        and fn.__module__ == contracts.__name__
        and any(ln.strip().startswith("post:") for ln in (fn.__doc__ or "").splitlines())
    }
    assert contracted == {e.__name__ for e in SEARCHES + PROOFS}


# -- concrete random programs (Hypothesis): the same postcondition, sampled -----------------

_program = st.lists(st.integers(min_value=-(2**20), max_value=2**20), max_size=4)
_small = st.integers(min_value=1, max_value=2)
_opt12 = st.none() | _small


@st.composite
def _capacity_args(draw: st.DrawFn) -> tuple[object, ...]:
    max_size = draw(_opt12)
    block = draw(st.booleans())
    return (
        max_size,
        draw(st.none() | st.integers(0, 2 if max_size is None else max_size)),
        block,
        draw(_opt12) if block else None,
        draw(st.none() | st.integers(0, 2)) if block else None,
        draw(st.sampled_from(Fairness)),
        draw(st.sampled_from(IdleOrder)),
    )


ARGS: dict[str, st.SearchStrategy[tuple[object, ...]]] = {
    "run_capacity": _capacity_args(),
    "run_reset": st.tuples(st.sampled_from(ResetMode), st.booleans(), st.booleans()),
    "run_retirement": st.tuples(_opt12, _opt12, _opt12, st.sampled_from(Ping), st.booleans()),
    "run_per_thread": st.tuples(_small, st.sampled_from(ResetMode), st.booleans()),
    "run_shared": st.tuples(_small),
}


@pytest.mark.parametrize("entry", SEARCHES, ids=lambda e: e.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_postcondition_on_random_programs(entry: Entry, data: st.DataObject) -> None:
    """CAP-*, WAIT-*, RESET-*, RETIRE-*, LIVE-*, AFF-*: the postcondition holds on samples."""
    args = data.draw(ARGS[entry.__name__])
    result = entry(*args, data.draw(_program))
    assert violations(result) == ()


# -- running CrossHair ------------------------------------------------------------------

_ANALYZING = re.compile(r"Begin analyze calltree\s+(\w+)")
_FINISHED = re.compile(
    r"(Exhausted|Aborted) calltree search with (\w+) .*Number of iterations:\s+(\d+)"
)
_INFO = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<level>info|error): (?P<text>.*)$")


@dataclass
class Analysis:
    """What CrossHair's verbose log says about one entry point."""

    iterations: int = 0
    confirmed_paths: int = 0
    exhausted: bool = False
    status: str = ""


@dataclass
class Checked:
    """One ``crosshair check`` run: exit status, report lines, per-function analysis, wall time."""

    returncode: int
    stdout: str
    seconds: float
    analyses: dict[str, Analysis] = field(default_factory=dict)

    def lines(self, level: str) -> list[tuple[str, int, str]]:
        """(file, line, text) of each report line at ``level`` (``info`` or ``error``)."""
        found = []
        for text in self.stdout.splitlines():
            m = _INFO.match(text)
            if m and m["level"] == level:
                found.append((m["file"], int(m["line"]), m["text"]))
        return found


def _parse_log(log: str) -> dict[str, Analysis]:
    analyses: dict[str, Analysis] = {}
    current: Analysis | None = None
    for text in log.splitlines():
        if (m := _ANALYZING.search(text)) is not None:
            current = analyses.setdefault(m[1], Analysis())
        elif current is None:
            continue
        elif "Postcondition confirmed." in text:
            current.confirmed_paths += 1
        elif (m := _FINISHED.search(text)) is not None:
            current.exhausted = m[1] == "Exhausted"
            current.status = m[2]
            current.iterations = int(m[3])
    return analyses


def crosshair(targets: Sequence[str], budget: float, workdir: Path, *extra_path: Path) -> Checked:
    """Run ``crosshair check`` on ``targets`` with ``budget`` CPU seconds per condition.

    The verbose log (CrossHair's ``-v``, several MB) goes to a file in
    ``workdir`` and is parsed for iteration and path counts.
    """
    command = [
        sys.executable, "-m", "crosshair", "check",
        "--analysis_kind=PEP316",
        f"--per_condition_timeout={budget}",
        "--report_all",
        "-v",
        *targets,
    ]  # fmt: skip
    path = [str(p) for p in (*extra_path, ROOT)]
    if os.environ.get("PYTHONPATH"):
        path.append(os.environ["PYTHONPATH"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    log = workdir / "crosshair.log"
    start = time.perf_counter()
    with log.open("w") as err:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=60 + 3 * budget * max(1, len(targets)),
            check=False,
        )
    seconds = time.perf_counter() - start
    return Checked(done.returncode, done.stdout, seconds, _parse_log(log.read_text()))


def _post_line(entry: Callable[..., Any]) -> int:
    """The line of the entry point's ``post:`` (where CrossHair reports on it)."""
    lines, first = inspect.getsourcelines(entry)
    return next(first + i for i, ln in enumerate(lines) if ln.strip().startswith("post:"))


def _targets(entries: Sequence[Callable[..., Any]]) -> list[str]:
    return [f"{e.__module__}.{e.__qualname__}" for e in entries]


def _assert_analysed(checked: Checked, entries: Sequence[Callable[..., Any]]) -> None:
    """Each entry point got exactly one report line, at its ``post:``, and real paths were run."""
    info = checked.lines("info")
    assert sorted(line for _, line, _ in info) == sorted(_post_line(e) for e in entries), info
    for e in entries:
        analysis = checked.analyses.get(e.__name__)
        assert analysis is not None, f"{e.__name__} was not analysed: {checked.stdout}"
        assert analysis.confirmed_paths >= 2, (e.__name__, analysis)
        assert analysis.status in ("CONFIRMED", "UNKNOWN"), (e.__name__, analysis)


def test_crosshair_fast(tmp_path: Path) -> None:
    """CrossHair finds no counterexample to any STEP or ALWAYS rule within the CI budget.

    Rules: CAP-1..5, WAIT-1..6, EXCL-1..4, ORDER-1, RESET-1..5, SETUP-1, RETIRE-1..3,
    INV-1..2, LIVE-1..3, AFF-1..3, DET-1, DROP-1, CONN-1, CLOSE-1..3, STAT-1, EVENT-1.
    """
    checked = crosshair(_targets(SEARCHES), FAST_BUDGET, tmp_path)
    assert checked.returncode == 0, checked.stdout
    assert checked.lines("error") == []
    _assert_analysed(checked, SEARCHES)


BROKEN_STEPS = '''\
"""Deliberately broken transitions for the CrossHair self-test (tests/model/test_crosshair.py)."""

from __future__ import annotations

from dataclasses import replace

from model import Config, Fairness, IdleOrder, Op, OpKind, Outcome, State, Status, step
from model._contracts import Run, capacity_config, run, violations


def _idle_and_held(config: Config, state: State, op: Op) -> tuple[Outcome, ...]:
    """model.step, except that a checkout leaves the connection idle too (breaks EXCL-1)."""
    outs = step(config, state, op)
    if op.kind is not OpKind.ACQUIRE:
        return outs
    return tuple(
        replace(o, state=replace(o.state, idle=(*o.state.idle, o.result.conn)))
        if o.result.status is Status.GOT and o.result.conn not in o.state.idle
        else o
        for o in outs
    )


def _no_idle_cap(config: Config, state: State, op: Op) -> tuple[Outcome, ...]:
    """model.step with the idle cap dropped: a return beyond it stays idle (breaks CAP-2)."""
    return step(replace(config, idle_cap=None), state, op)


def _lost_wakeup(config: Config, state: State, op: Op) -> tuple[Outcome, ...]:
    """model.step, except that a release never serves a waiter (breaks WAIT-3)."""
    if op.kind is OpKind.RELEASE and state.waiting:
        outs = step(config, replace(state, waiting=()), op)
        return tuple(replace(o, state=replace(o.state, waiting=state.waiting)) for o in outs)
    return step(config, state, op)
'''

BROKEN_ENTRY = '''

def {name}(
    max_size: int,
    idle_cap: int | None,
    block: bool,
    timeout: int | None,
    max_waiters: int | None,
    fairness: Fairness,
    idle_order: IdleOrder,
    choices: list[int],
) -> Run:
    """run_capacity's contract, over {step}.

{contract}
    """
    config = capacity_config(max_size, idle_cap, block, timeout, max_waiters, fairness, idle_order)
    return run(config, choices, faults=True, step_fn={step})
'''

BROKEN = {
    "broken_checkout": ("_idle_and_held", "EXCL-1"),  # one step deep
    "broken_idle_cap": ("_no_idle_cap", "CAP-2"),  # two steps deep
    "broken_wakeup": ("_lost_wakeup", "WAIT-3"),  # three steps deep, and a cap of one
}
"""Each broken entry point: its mutated step, and the rule CrossHair must name."""


def broken_module() -> str:
    """The text of the broken module: run_capacity's very ``pre:``/``post:`` lines, bad steps."""
    doc = (run_capacity.__doc__ or "").splitlines()
    contract = "\n".join(ln for ln in doc if ln.strip().startswith(("pre:", "post:")))
    entries = (
        BROKEN_ENTRY.format(name=name, step=fn, contract=contract)
        for name, (fn, _) in BROKEN.items()
    )
    return BROKEN_STEPS + "".join(entries)


def _broken(tmp_path: Path) -> Path:
    """Write the broken module into its own directory (put on the subprocess's PYTHONPATH)."""
    where = tmp_path / "broken"
    where.mkdir()
    (where / "broken_contracts.py").write_text(broken_module())
    return where


def _assert_refuted(checked: Checked, functions: Sequence[str]) -> None:
    """CrossHair exited 1 with one counterexample per function, each naming its broken rule."""
    assert checked.returncode == 1, checked.stdout
    errors = checked.lines("error")
    assert len(errors) == len(functions), checked.stdout
    for function in functions:
        _, rule = BROKEN[function]
        found = [text for path, _, text in errors if f"calling {function}(" in text]
        assert len(found) == 1, checked.stdout
        assert rule in found[0], found[0]
        assert all(path.endswith("broken_contracts.py") for path, _, _ in errors), errors
        assert checked.analyses[function].status == "REFUTED", checked.analyses


def test_crosshair_catches_a_broken_contract(tmp_path: Path) -> None:
    """EXCL-1: the CI command reports a checkout that leaves its connection idle (one step deep)."""
    target = ["broken_contracts.broken_checkout"]
    checked = crosshair(target, FAST_BUDGET, tmp_path, _broken(tmp_path))
    _assert_refuted(checked, ["broken_checkout"])


@pytest.mark.long
def test_crosshair_deep_searches(tmp_path: Path) -> None:
    """CAP-*, WAIT-*, EXCL-*, RESET-*, RETIRE-*, LIVE-*, AFF-*: a minute per search finds no bug."""
    checked = crosshair(_targets(SEARCHES), DEEP_BUDGET, tmp_path)
    assert checked.returncode == 0, checked.stdout
    assert checked.lines("error") == []
    _assert_analysed(checked, SEARCHES)


@pytest.mark.long
def test_crosshair_proofs_exhausted(tmp_path: Path) -> None:
    """CAP-*, EXCL-*, AFF-* and the rest: every program of two ops is checked on every path."""
    checked = crosshair(_targets(PROOFS), PROOF_BUDGET, tmp_path)
    assert checked.returncode == 0, checked.stdout
    _assert_analysed(checked, PROOFS)
    for entry in PROOFS:
        analysis = checked.analyses[entry.__name__]
        assert analysis.exhausted, (entry.__name__, analysis)
        assert analysis.status == "CONFIRMED", (entry.__name__, analysis)
    reported = {line: text for _, line, text in checked.lines("info")}
    assert all(reported[_post_line(e)] == "Confirmed over all paths." for e in PROOFS)


@pytest.mark.long
def test_crosshair_finds_deeper_bugs(tmp_path: Path) -> None:
    """CAP-2, WAIT-3: a minute finds a dropped idle cap (two ops deep), a lost wake-up (three)."""
    functions = ["broken_idle_cap", "broken_wakeup"]
    targets = [f"broken_contracts.{f}" for f in functions]
    checked = crosshair(targets, DEEP_BUDGET, tmp_path, _broken(tmp_path))
    _assert_refuted(checked, functions)
