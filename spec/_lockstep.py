"""Lockstep: apply each operation to the model and to a real pool, and compare.

The harness observes the pool only through its public API (via an adapter)
and through the recording driver's log. For every operation it compares:

1. the caller's result (a handle, parked waiting, or a refusal);
2. the waiters resolved, and how;
3. the driver calls, per connection, in order (connection ids are matched
   as connects happen);
4. the statistics snapshot, where the pool has one;
5. the spec's invariants, evaluated on a state projected from what was
   observed (so a divergence is attributed to the rule it breaks).

Actors are real threads. An acquire the model says must wait is observed as
parked: the actor's thread blocks in a wait (seen in ``sys._current_frames``),
never guessed by sleeping.
"""

from __future__ import annotations

import gc
import queue
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import model
from model import Effect, EffectKind, Op, OpKind, Outcome, Refusal, Result, Status

from ._adapters import (
    OPTIONAL_OPS,
    SESSION_SQL,
    SETUP_SQL,
    TICK_SECONDS,
    WORK_SQL,
    Adapter,
    Avoid,
    drop,
)
from ._driver import Call, CallKind, RecordingDriver

# How long a pool may take to finish an operation or to park a thread, in
# real seconds. Only a broken pool comes near it: a healthy step takes
# microseconds. Waiting ends as soon as the thread finishes or parks.
SETTLE_SECONDS = 5.0
# How long a waiter the model says is woken may take to finish, and how long
# to watch for a waiter the model did not expect to move.
WAKE_SECONDS = 1.0
GRACE_SECONDS = 0.003
# A thread that stays in a wait this long, on end, is parked: it was not woken
# (a woken thread leaves its wait within a scheduler slice or two).
PARK_SECONDS = 0.15
_POLL = 0.0005
_TICK = threading.Event()  # never set: its wait() is a short pause between polls


class _Job:
    __slots__ = ("done", "error", "fn", "value")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


_STOP = _Job(lambda: None)


class Actor:
    """One model actor: a real thread that runs the jobs it is given, one at a time."""

    def __init__(self, index: int) -> None:
        self.index = index
        self._inbox: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.job: _Job | None = None
        self.thread = threading.Thread(
            target=self._loop, name=f"poolspec-actor-{index}", daemon=True
        )
        self.thread.start()

    def _loop(self) -> None:
        while True:
            job = self._inbox.get()
            if job is _STOP:
                return
            try:
                job.value = job.fn()
            except BaseException as exc:  # noqa: BLE001 - every outcome is reported to the harness
                job.error = exc
            finally:
                job.done.set()

    def submit(self, fn: Callable[[], Any]) -> _Job:
        """Run ``fn`` on this actor's thread."""
        job = _Job(fn)
        self.job = job
        self._inbox.put(job)
        return job

    def parked(self) -> bool:
        """Whether the running job is blocked in a wait (a condition, event or queue)."""
        job = self.job
        if job is None or job.done.is_set():
            return False
        frame = _top_frame(self.thread.ident or -1)
        if frame is None:
            return False
        code = frame.f_code
        return code.co_name in ("wait", "get", "acquire", "_wait_for_tstate_lock") and (
            code.co_filename.endswith(("threading.py", "queue.py", "_seams.py"))
        )

    def stays_parked(self, job: _Job, seconds: float) -> bool:
        """Whether the job stays parked for ``seconds`` on end (False as soon as it moves)."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            if job.done.wait(_POLL) or not self.parked():
                return False
        return True

    def stop(self) -> None:
        """End the thread once its current job finishes (a parked one is abandoned)."""
        self._inbox.put(_STOP)
        if not self.parked():
            self.thread.join(timeout=1.0)


def _top_frame(ident: int) -> Any:
    """The innermost frame of thread ``ident``, with the garbage collector held off.

    CPython 3.11's ``sys._current_frames()`` holds the runtime's thread-list
    lock while it builds its dict; a collection started by that allocation
    runs finalizers (a pool returning a dropped handle) that can block on the
    same lock, and the harness hangs for good (CPython gh-106883, seen here
    as a rare ``poolspec check`` that never finished).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return sys._current_frames().get(ident)
    finally:
        if enabled:
            gc.enable()


class InlineActor(Actor):
    """An actor that runs each job at once on the calling thread (no thread of its own).

    For runs where no operation can block (one actor holds at most one
    connection, so it never waits): CrossHair's symbolic values then never
    reach another thread.
    """

    def __init__(self, index: int) -> None:
        self.index = index
        self.job: _Job | None = None

    def submit(self, fn: Callable[[], Any]) -> _Job:
        """Run ``fn`` now, on this thread."""
        job = _Job(fn)
        self.job = job
        try:
            job.value = fn()
        except Exception as exc:  # noqa: BLE001 - every outcome is reported to the harness
            job.error = exc
        finally:
            job.done.set()
        return job

    def parked(self) -> bool:
        """Never: a job is done when ``submit`` returns."""
        return False

    def stop(self) -> None:
        """Nothing to stop."""


@dataclass
class Observed:
    """What the harness saw of one step.

    Attributes:
        result: the caller's result, in the model's terms.
        wakeups: waiters resolved during the step, in the model's terms.
        effects: driver calls, in the model's terms, with model connection ids.
        stats: the pool's statistics, if it has them.
        error: the exception behind a refusal, for the report.
    """

    result: Result
    wakeups: list[model.Wakeup] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    stats: model.Stats | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class Divergence:
    """The pool did something the model does not allow.

    Attributes:
        rule: the rule id it breaks.
        what: one line saying what differed.
        expected: what the model allows.
        observed: what the pool did.
    """

    rule: str
    what: str
    expected: str
    observed: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.what} (model: {self.expected}; pool: {self.observed})"


class LockstepFailure(AssertionError):  # noqa: N818 - pytest shows it as a failed assertion
    """A divergence between the model and the pool, with the steps that led to it."""

    def __init__(self, divergence: Divergence, steps: list[str]) -> None:
        self.divergence = divergence
        self.steps = list(steps)
        self.config: model.Config | None = None
        # True when replaying the program did not fail again (a race, or timing)
        self.flaky = False
        lines = [str(divergence), "steps:"] + [f"  {i}. {s}" for i, s in enumerate(steps, 1)]
        super().__init__("\n".join(lines))


class Lockstep:
    """Runs one pool beside the model, one operation at a time.

    Args:
        config: the model configuration (the pool was built from it).
        pool: the pool under test.
        adapter: how to drive it.
        driver: the recording driver the pool connects through.
        actors: how many actor threads.
        clock: a manual clock with ``advance(seconds)``, if the pool runs on one.
        lenient_release: a second release of the same handle may be silently
            accepted, doing nothing, where the model refuses it (a pool's
            documented design choice; anything it does is still compared).
        avoid: known divergences to steer around (``Avoid``: operations not
            drawn in some states).
        inline: run every operation on the calling thread (``InlineActor``);
            only for one actor, whose operations never block.
    """

    def __init__(
        self,
        config: model.Config,
        pool: Any,
        adapter: Adapter,
        driver: RecordingDriver,
        actors: int,
        clock: Any = None,
        *,
        lenient_release: bool = False,
        avoid: tuple[Avoid, ...] = (),
        inline: bool = False,
    ) -> None:
        self.config = config
        self.pool = pool
        self.adapter = adapter
        self.driver = driver
        self.clock = clock
        if inline and actors != 1:
            raise ValueError(f"an inline lockstep runs one actor, got actors={actors!r}")
        self._actor_class: type[Actor] = InlineActor if inline else Actor
        self.actors = [self._actor_class(i) for i in range(actors)]
        self.handles: list[list[Any]] = [[] for _ in range(actors)]
        self.stale: list[list[Any]] = [[] for _ in range(actors)]
        start = model.initial(config, actors)
        self.state = start.state
        self.steps: list[str] = []
        # model connection id <-> driver connection id, fixed at connect time
        self.to_driver: dict[int, int] = {}
        self.to_model: dict[int, int] = {}
        self._mark = 0
        self.pending: dict[int, _Job] = {}
        self.connects_failed = 0
        self._expect_wait = False
        self._wake_sets: list[frozenset[int]] = []
        self.teardown_errors: list[BaseException] = []
        self.lenient_release = lenient_release
        self.avoid = avoid
        # run last at teardown, in order (a profile's undo of what it patched)
        self.cleanups: list[Callable[[], None]] = []
        self._match_initial(start)

    # -- driving -----------------------------------------------------------

    def usable(self, op: Op) -> bool:
        """Whether the pool's adapter can perform ``op`` (misuse needs a stale handle)."""
        if op.kind in (OpKind.TICK,) and self.clock is None:
            return False
        if any(op.kind in a.ops and a.when(self.config, self.state, op) for a in self.avoid):
            return False
        if op.kind in OPTIONAL_OPS and op.kind not in self.adapter.supports:
            return False
        if op.actor is not None and not self._holds(op.actor) and op.kind is not OpKind.ACQUIRE:
            hold = self.state.holds[op.actor]
            bound = hold is not None and hold.depth == 0
            if op.kind is OpKind.END_THREAD:
                return bound
            return bool(self.stale[op.actor]) and not bound
        return True

    def _holds(self, actor: int) -> bool:
        hold = self.state.holds[actor]
        return hold is not None and (hold.depth > 0 or hold.detached)

    def enabled(self, *, faults: bool = True, misuse: bool = True) -> list[Op]:
        """The model's enabled operations that this pool can perform, in order."""
        ops = model.enabled(self.config, self.state, faults=faults, misuse=misuse)
        return [op for op in ops if self.usable(op)]

    def apply(self, op: Op) -> tuple[Outcome, Observed]:
        """Apply ``op`` to both sides and compare.

        Returns:
            The model outcome the pool matched, and what was observed.

        Raises:
            LockstepFailure: the pool did something no allowed outcome has.
        """
        self.steps.append(str(op))
        outcomes = model.step(self.config, self.state, op)
        before = self.state
        self._mark = self.driver.mark()
        self._expect_wait = bool(outcomes) and all(o.result.status is Status.WAIT for o in outcomes)
        self._wake_sets = [frozenset(w.actor for w in o.wakeups) for o in outcomes]
        observed = self._perform(op, outcomes)
        best: tuple[Outcome, Divergence | None] | None = None
        for out in outcomes:
            divergence = self._compare(before, op, out, observed)
            if divergence is None:
                best = (out, None)
                break
            if best is None:
                best = (out, divergence)
        assert best is not None
        out, divergence = best
        if divergence is not None:
            self.steps[-1] += f"  <- {divergence.what}"
            raise LockstepFailure(divergence, self.steps)
        self.steps[-1] = describe(op, out)
        self.state = out.state
        self.connects_failed += sum(e.kind is EffectKind.CONNECT_FAILED for e in out.effects)
        return out, observed

    def _perform(self, op: Op, outcomes: tuple[Outcome, ...]) -> Observed:
        kind = op.kind
        a = self.adapter
        pool = self.pool
        if op.actor is None:
            if kind is OpKind.CLOSE:
                return self._pool_wide(lambda: a.close(pool))
            if kind is OpKind.DISPOSE:
                return self._pool_wide(lambda: a.dispose(pool))
            if kind is OpKind.TICK:
                return self._pool_wide(lambda: self.clock.advance(TICK_SECONDS))
            if kind is OpKind.FAIL_CONNECT:
                self.driver.fail_next_connects(1)
            elif kind is OpKind.FAIL_PING:
                self.driver.fail_next_pings(1)
            elif kind is OpKind.KILL and op.conn is not None:
                self.driver.kill(self.to_driver[op.conn])
            return self._pool_wide(lambda: None)
        actor = op.actor
        box = self.handles[actor] or self.stale[actor]
        handle = box[-1] if box else None
        if kind is OpKind.ACQUIRE:
            return self._run(actor, lambda: a.acquire(pool), acquire=True)
        if kind is OpKind.RELEASE:
            return self._run(actor, lambda: a.release(pool, handle), gives_back="one")
        if kind is OpKind.DROP:
            self.stale[actor] = []  # a stale reference would keep the handle alive
            box = self.handles[actor]
            del handle
            return self._run(actor, lambda: drop(box), gives_back="drop")
        if kind is OpKind.INVALIDATE:
            return self._run(actor, lambda: a.invalidate(pool, handle, False), gives_back="all")
        if kind is OpKind.SOFT_INVALIDATE:
            return self._run(actor, lambda: a.invalidate(pool, handle, True))
        if kind is OpKind.DETACH:
            return self._run(actor, lambda: a.detach(handle))
        if kind is OpKind.BEGIN:
            return self._run(actor, lambda: a.begin(handle))
        if kind is OpKind.WORK:
            return self._run(actor, lambda: a.execute(handle, WORK_SQL))
        if kind is OpKind.SET_SESSION:
            return self._run(actor, lambda: a.execute(handle, SESSION_SQL))
        if kind is OpKind.COMMIT:
            return self._run(actor, lambda: a.commit(handle))
        if kind is OpKind.ROLLBACK:
            return self._run(actor, lambda: a.rollback(handle))
        if kind is OpKind.END_THREAD:
            return self._end_thread(actor)
        raise ValueError(f"unknown op {op}")

    def _pool_wide(self, fn: Callable[[], Any]) -> Observed:
        error: BaseException | None = None
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - reported as the step's refusal
            error = exc
        wakeups = self._settle()
        result = model.OK if error is None else self._refusal(error, use=False)
        return self._observe(result, wakeups, error)

    def _run(
        self, actor: int, fn: Callable[[], Any], *, acquire: bool = False, gives_back: str = ""
    ) -> Observed:
        held = [] if gives_back == "drop" else list(self.handles[actor])
        if gives_back == "all":
            # the op ends every checkout the actor has: keep one handle as stale,
            # for misuse later, and let the others go now (a drop needs that)
            self.handles[actor][:-1] = []
        job = self.actors[actor].submit(fn)
        self._wait_done_or_parked(actor, job)
        if not job.done.is_set():
            self.pending[actor] = job
            wakeups = self._settle(exclude=actor)
            return self._observe(model.WAIT, wakeups, None)
        wakeups = self._settle()
        if job.error is not None:
            return self._observe(self._refusal(job.error, use=not acquire), wakeups, job.error)
        if acquire:
            self.handles[actor].append(job.value)
            return self._observe(model.got(-1), wakeups, None)
        if gives_back and held:
            self.stale[actor] = [held[-1]]
            del self.handles[actor][-1:]
        return self._observe(model.OK, wakeups, None)

    def _end_thread(self, actor: int) -> Observed:
        old = self.actors[actor]
        job = old.submit(lambda: self.adapter.end_thread(self.pool))
        self._wait_done_or_parked(actor, job)
        old.stop()
        self.actors[actor] = self._actor_class(actor)
        gc.collect(0)  # the ended thread's locals, if a cycle holds them
        wakeups = self._settle()
        return self._observe(model.OK, wakeups, job.error)

    def _wait_done_or_parked(self, actor: int, job: _Job) -> None:
        """Wait until the job is done, or parked when it does not finish.

        A thread seen in a wait may only be passing through one (a lock, a
        connect bound), so it counts as parked only after staying parked for
        ``PARK_SECONDS`` on end; a thread that keeps running is given up to
        ``SETTLE_SECONDS``.
        """
        if job.done.wait(0.002):
            return
        patience = 0.002 if self._expect_wait else PARK_SECONDS
        deadline = time.monotonic() + SETTLE_SECONDS
        runner = self.actors[actor]
        while not job.done.wait(_POLL):
            if time.monotonic() > deadline:
                return
            if runner.parked() and runner.stays_parked(job, patience):
                return

    def _settle(self, exclude: int | None = None) -> list[tuple[int, _Job]]:
        """Wait for the waiters the model says this step resolves; return every one resolved.

        It waits until the resolved waiters match one of the model's allowed
        outcomes (or ``WAKE_SECONDS`` pass: a lost wake-up), then a short grace
        for waiters the model did not expect to move.
        """
        if not any(a != exclude for a in self.pending):
            return []  # nobody waits: nothing can be woken
        sets = [ws for ws in self._wake_sets if exclude not in ws] or [frozenset()]
        deadline = time.monotonic() + WAKE_SECONDS
        finished: list[tuple[int, _Job]] = []
        grace_until: float | None = None
        while True:
            for actor, job in list(self.pending.items()):
                if actor != exclude and job.done.is_set():
                    finished.append((actor, job))
                    del self.pending[actor]
            done = frozenset(a for a, _ in finished)
            now = time.monotonic()
            if grace_until is None and (
                any(ws <= done for ws in sets) or now > deadline or self._all_stay_parked(exclude)
            ):
                grace_until = now + GRACE_SECONDS
            if grace_until is not None and now >= grace_until:
                break
            _TICK.wait(_POLL)  # polls real threads' progress; no pool time passes
        for actor, job in finished:
            if job.error is None:
                self.handles[actor].append(job.value)
        return finished

    def _all_stay_parked(self, exclude: int | None) -> bool:
        """Whether every pending waiter stays parked for ``PARK_SECONDS``: nobody was woken."""
        waiting = [(a, j) for a, j in self.pending.items() if a != exclude and not j.done.is_set()]
        if not waiting or not all(self.actors[a].parked() for a, _ in waiting):
            return False
        until = time.monotonic() + PARK_SECONDS
        while time.monotonic() < until:
            for a, j in waiting:
                if j.done.is_set() or not self.actors[a].parked():
                    return False
            _TICK.wait(_POLL)
        return True

    def _refusal(self, exc: BaseException, *, use: bool) -> Result:
        refusal = self.adapter.refusal(exc, self.driver)
        if refusal is None:
            return Result(Status.REFUSED)  # an exception the contract has no place for
        if not use and refusal is Refusal.CONNECTION_LOST:
            refusal = Refusal.CONNECT_FAILED
        return model.refused(refusal)

    def _observe(
        self, result: Result, finished: list[tuple[int, _Job]], error: BaseException | None
    ) -> Observed:
        wakeups = []
        for actor, job in finished:
            if job.error is None:
                wakeups.append(model.Wakeup(actor, model.got(-1)))
            else:
                wakeups.append(model.Wakeup(actor, self._refusal(job.error, use=False)))
        calls = self.driver.calls_since(self._mark)
        stats = None
        try:
            stats = self.adapter.stats(self.pool)
        except Exception:  # noqa: BLE001 - a pool whose stats fail has none to compare
            stats = None
        return Observed(result, wakeups, _effects(calls), stats, error)

    # -- comparing ---------------------------------------------------------

    def _match_initial(self, start: Outcome) -> None:
        calls = self.driver.calls_since(0)
        self._mark = self.driver.mark()
        mapping = dict(self.to_driver)
        divergence = _match_effects(list(start.effects), _effects(calls), mapping)
        if divergence is not None:
            raise LockstepFailure(
                Divergence("CAP-3", "prefill differs", *divergence), ["(pool created)"]
            )
        self._commit_mapping(mapping)

    def _commit_mapping(self, mapping: dict[int, int]) -> None:
        self.to_driver = mapping
        self.to_model = {d: m for m, d in mapping.items()}

    def _compare(
        self, before: model.State, op: Op, out: Outcome, obs: Observed
    ) -> Divergence | None:
        """The first way the pool's step differs from this model outcome, or None.

        Checked in order of cause before symptom: the cap on the driver's own
        count, the caller's result, the waiters resolved, the driver calls,
        which connections were handed out, the statistics.
        """
        over = self._over_cap(out)
        if over is not None:
            return over
        expected = out.result
        if (
            self.lenient_release
            and op.kind is OpKind.RELEASE
            and expected == model.refused(Refusal.NOT_HELD)
            and obs.result.status is Status.OK
        ):
            expected = model.OK  # silently accepted; the calls must still match (none)
        if expected.status != obs.result.status or (
            expected.status is Status.REFUSED and expected.refusal != obs.result.refusal
        ):
            rule = attribute_result(self.config, before, op, out, obs.result, self.connects_failed)
            if _match_effects(list(out.effects), obs.effects, dict(self.to_driver)) is not None:
                # the calls differ too: a skipped checkout gate explains a different result
                by_calls = attribute_effects(self.config, before, op, out, obs, self.to_model)
                if by_calls in _GATE_RULES:
                    rule = by_calls
            return Divergence(
                rule,
                f"{op} result differs",
                str(expected),
                _describe_obs(obs.result, obs.error),
            )
        want_wakeups = {w.actor: w.result for w in out.wakeups}
        seen_wakeups = {w.actor: w.result for w in obs.wakeups}
        if set(want_wakeups) != set(seen_wakeups) or any(
            want_wakeups[a].status != seen_wakeups[a].status
            or want_wakeups[a].refusal != seen_wakeups[a].refusal
            for a in want_wakeups
        ):
            return Divergence(
                attribute_wakeups(self.config, before, op, out, seen_wakeups),
                f"{op} resolved other waiters",
                ", ".join(map(str, out.wakeups)) or "none",
                ", ".join(f"a{a} {r}" for a, r in sorted(seen_wakeups.items())) or "none",
            )
        mapping = dict(self.to_driver)
        found = _match_effects(list(out.effects), obs.effects, mapping)
        if found is not None:
            rule = attribute_effects(self.config, before, op, out, obs, self.to_model)
            if self._handed_other_idle(before, op, obs):
                rule = "ORDER-1"  # it took another idle connection, so its calls differ too
            return Divergence(rule, "driver calls differ", *found)
        # a handed-out connection is matched by its driver identity
        if expected.status is Status.GOT and expected.conn is not None:
            want = mapping.get(expected.conn)
            got_conn = self._handle_conn(op.actor)
            if got_conn is not None and want is not None and got_conn != want:
                return Divergence(
                    attribute_order(self.config, before, op),
                    f"{op} handed out another connection",
                    f"got c{expected.conn} (driver #{want})",
                    f"driver #{got_conn}",
                )
        for w in out.wakeups:
            if w.result.status is Status.GOT and w.result.conn is not None:
                want = mapping.get(w.result.conn)
                have = self._handle_conn(w.actor)
                if want is not None and have is not None and want != have:
                    return Divergence(
                        "WAIT-5",
                        f"a{w.actor} was handed another connection",
                        f"c{w.result.conn} (driver #{want})",
                        f"driver #{have}",
                    )
        if obs.stats is not None:
            want_stats = model.stats(out.state)
            if obs.stats != want_stats:
                failed = self.connects_failed + sum(
                    e.kind is EffectKind.CONNECT_FAILED for e in out.effects
                )
                leaked = failed and obs.stats.open > want_stats.open
                return Divergence(
                    # open counted for a connection that never came: a failed
                    # connect's slot was not given back
                    "CONN-1" if leaked else "STAT-1",
                    f"statistics after {op} differ",
                    str(want_stats),
                    str(obs.stats),
                )
        self._commit_mapping(mapping)
        return None

    def _over_cap(self, out: Outcome) -> Divergence | None:
        """CAP-1 judged on the driver's own count: open connections not detached."""
        cap = self.config.max_size
        if cap is None:
            return None
        detached = {
            self.to_driver.get(h.conn, -1) for h in out.state.holds if h is not None and h.detached
        }
        pooled = self.driver.open_connections() - detached
        if len(pooled) <= cap:
            return None
        return Divergence(
            "CAP-1",
            "more connections open than the hard cap",
            f"at most {cap} open",
            f"{len(pooled)} open: driver #{', #'.join(map(str, sorted(pooled)))}",
        )

    def _handed_other_idle(self, before: model.State, op: Op, obs: Observed) -> bool:
        """Whether a checkout handed out an idle connection other than the one its order names."""
        c = self.config
        if op.kind is not OpKind.ACQUIRE or obs.result.status is not Status.GOT:
            return False
        if not before.idle or c.per_thread or c.shared:
            return False
        handed = self._handle_conn(op.actor)
        got = self.to_model.get(handed) if handed is not None else None
        expected = before.idle[0] if c.idle_order is model.IdleOrder.FIFO else before.idle[-1]
        return got is not None and got in before.idle and got != expected

    def _handle_conn(self, actor: int | None) -> int | None:
        """The driver id of the connection the actor's handle uses, found via the driver log."""
        if actor is None or not self.handles[actor]:
            return None
        return _raw_id(self.handles[actor][-1])

    # -- teardown ----------------------------------------------------------

    def teardown(self) -> None:
        """Give back and close everything (``_teardown``), then run the cleanups."""
        try:
            self._teardown()
        finally:
            for cleanup in self.cleanups:
                cleanup()

    def _teardown(self) -> None:
        """Give back and close everything, from the pool's real state, never the model's.

        Handles the actors hold are released; a waiter served meanwhile gets
        its handle released too; then the pool is closed, which refuses any
        waiter left, and the actor threads stop.
        """
        for _ in range(len(self.actors) + 1):
            for actor, box in enumerate(self.handles):
                for handle in list(box):
                    job = self.actors[actor].submit(self._releaser(handle))
                    job.done.wait(SETTLE_SECONDS)
                    if job.error is not None:
                        self.teardown_errors.append(job.error)
                box.clear()
            self._collect_pending(WAKE_SECONDS / 10)
            if not any(self.handles):
                break
        try:
            self.adapter.close(self.pool)
        except Exception as exc:  # noqa: BLE001 - teardown of a broken pool must go on
            self.teardown_errors.append(exc)
        self._collect_pending(WAKE_SECONDS)
        for box in self.handles:
            for handle in box:
                try:
                    self.adapter.release(self.pool, handle)
                except Exception as exc:  # noqa: BLE001 - the pool is closed; keep going
                    self.teardown_errors.append(exc)
            box.clear()
        for thread in self.actors:
            thread.stop()
        self.stale = [[] for _ in self.actors]
        with warnings.catch_warnings():
            # a broken pool may leave handles behind; they must not warn in later tests
            warnings.simplefilter("ignore", ResourceWarning)
            self.pending.clear()
            self.stale = []
            self.handles = []
            gc.collect(0)
        self.driver.close_all()

    def _releaser(self, handle: Any) -> Callable[[], None]:
        def release() -> None:
            self.adapter.release(self.pool, handle)

        return release

    def _collect_pending(self, patience: float) -> None:
        """Move handles of waiters served by now into ``handles``."""
        if not self.pending:
            return  # (and no clock read: an inline run under CrossHair reads none)
        deadline = time.monotonic() + patience
        while self.pending and time.monotonic() < deadline:
            for actor, job in list(self.pending.items()):
                if job.done.is_set():
                    del self.pending[actor]
                    if job.error is None:
                        self.handles[actor].append(job.value)
            if self.pending and self._all_stay_parked(None):
                return  # nobody moves: a pool that wakes nobody on close is not waited for
            _TICK.wait(_POLL)


def _raw_id(handle: Any) -> int | None:
    """Find the recording connection behind a handle without knowing the pool's internals."""
    from ._driver import RecordingConnection

    for name in ("raw", "driver_connection", "dbapi_connection", "_con", "connection", "_conn"):
        inner = getattr(handle, name, None)
        for _ in range(4):
            if isinstance(inner, RecordingConnection):
                return inner.id
            if inner is None:
                break
            nxt = None
            for attr in ("dbapi_connection", "driver_connection", "_con", "_conn", "raw"):
                nxt = getattr(inner, attr, None)
                if nxt is not None:
                    break
            inner = nxt
    return None


def _effects(calls: tuple[Call, ...]) -> list[Effect]:
    """Driver calls in the model's terms (driver connection ids, mapped later)."""
    found: list[Effect] = []
    for call in calls:
        kind = call.kind
        if kind is CallKind.CONNECT:
            found.append(
                Effect(
                    EffectKind.CONNECT if call.ok else EffectKind.CONNECT_FAILED,
                    call.conn if call.ok else None,
                )
            )
        elif kind is CallKind.EXECUTE:
            sql = (call.statement or "").strip().upper()
            if sql == SETUP_SQL.upper():
                found.append(Effect(EffectKind.SETUP, call.conn))
            elif sql in ("SELECT 1", "SELECT 1;"):
                found.append(Effect(EffectKind.PING, call.conn))
            else:
                found.append(Effect(EffectKind.EXECUTE, call.conn))
        elif kind is CallKind.CURSOR:
            if not call.ok:
                # a statement on a dead connection may fail already at cursor()
                found.append(Effect(EffectKind.EXECUTE, call.conn))
            continue
        elif kind is CallKind.COMMIT and found and found[-1] == Effect(EffectKind.SETUP, call.conn):
            continue  # the commit that makes session statements stick is part of SETUP
        else:
            found.append(Effect(EffectKind(kind.value), call.conn))
    return found


_RESETS = frozenset({EffectKind.ROLLBACK, EffectKind.COMMIT, EffectKind.RESET})
_FRESH = frozenset({EffectKind.CONNECT, EffectKind.SETUP})


def _per_conn(effects: list[Effect]) -> dict[int | None, list[EffectKind]]:
    """Effects grouped per connection, in order.

    Calls that change nothing anyone can see are dropped, because pools
    differ on whether they bother: a reset right before the close of the same
    connection, and a rollback or a ping of a connection nobody has used since
    its connect (and session setup).
    """
    grouped: dict[int | None, list[EffectKind]] = {}
    for e in effects:
        calls = grouped.setdefault(e.conn, [])
        if e.kind is EffectKind.CLOSE and calls and calls[-1] in _RESETS:
            calls.pop()
        if e.kind in (EffectKind.ROLLBACK, EffectKind.PING) and calls and calls[-1] in _FRESH:
            continue  # nothing to roll back, or to doubt, on a connection nobody has used yet
        calls.append(e.kind)
    return grouped


def _match_effects(
    want: list[Effect], seen: list[Effect], mapping: dict[int, int]
) -> tuple[str, str] | None:
    """Match model effects to driver effects per connection; extend ``mapping`` with new ids.

    Returns:
        None when they match, else (expected, observed) descriptions.
    """
    new_model = [e.conn for e in want if e.kind is EffectKind.CONNECT and e.conn is not None]
    new_driver = [e.conn for e in seen if e.kind is EffectKind.CONNECT and e.conn is not None]
    if len(new_model) != len(new_driver):
        return _show(want, mapping), _show_driver(seen)
    for m, d in zip(new_model, new_driver, strict=True):
        mapping[m] = d
    translated = [
        Effect(e.kind, mapping.get(e.conn, -1000 - e.conn) if e.conn is not None else None)
        for e in want
    ]
    if _per_conn(translated) != _per_conn(seen):
        return _show(want, mapping), _show_driver(seen)
    return None


def _show(effects: list[Effect], mapping: dict[int, int]) -> str:
    if not effects:
        return "no driver calls"
    return ", ".join(
        f"{e.kind.value}(c{e.conn}=#{mapping.get(e.conn, '?')})"
        if e.conn is not None
        else e.kind.value
        for e in effects
    )


def _show_driver(effects: list[Effect]) -> str:
    if not effects:
        return "no driver calls"
    return ", ".join(
        f"{e.kind.value}(#{e.conn})" if e.conn is not None else e.kind.value for e in effects
    )


def _describe_obs(result: Result, error: BaseException | None) -> str:
    text = "got a connection" if result.status is Status.GOT else str(result)
    if error is not None:
        text += f" ({type(error).__name__}: {error})"
    return text


def describe(op: Op, out: Outcome) -> str:
    """One line for a step of a report."""
    parts = [f"{op} -> {out.result}"]
    if out.effects:
        parts.append("calls " + ", ".join(map(str, out.effects)))
    if out.wakeups:
        parts.append("wakes " + ", ".join(map(str, out.wakeups)))
    return "; ".join(parts)


# -- attribution: which rule a divergence breaks ---------------------------------

# Rules of the checkout gate: when the gate was skipped, the result differs as a symptom.
_GATE_RULES = frozenset({"LIVE-1", "RETIRE-1", "RETIRE-2", "RETIRE-3", "INV-2", "ORDER-1"})

_RESET_RULE = {
    model.ResetMode.NONE: "RESET-1",
    model.ResetMode.ROLLBACK_IF_BEGUN: "RESET-2",
    model.ResetMode.ROLLBACK: "RESET-3",
    model.ResetMode.COMMIT: "RESET-4",
    model.ResetMode.FULL: "RESET-5",
}


def held_conn(state: model.State, op: Op) -> model.Conn | None:
    """The connection ``op``'s actor holds, if it has one the pool still accounts for."""
    hold = state.holds[op.actor] if op.actor is not None else None
    if hold is None or not state.has_conn(hold.conn):
        return None
    return state.conn(hold.conn)


def _kinds(effects: list[Effect] | tuple[Effect, ...]) -> set[EffectKind]:
    return {e.kind for e in effects}


def attribute_effects(
    config: model.Config,
    before: model.State,
    op: Op,
    out: Outcome,
    obs: Observed,
    to_model: dict[int, int] | None = None,
) -> str:
    """The rule a difference in driver calls breaks, judged from what the model expected."""
    want = _kinds(out.effects)
    seen = _kinds(obs.effects)
    kind = op.kind
    if _took_other_idle(config, before, op, out.effects, obs, to_model or {}):
        return "ORDER-1"
    if before.closed and kind is OpKind.ACQUIRE:
        return "CLOSE-1"  # a closed pool opened or handed out a connection
    attempts = (EffectKind.CONNECT, EffectKind.CONNECT_FAILED)
    extra_connects = sum(e.kind in attempts for e in obs.effects) - sum(
        e.kind in attempts for e in out.effects
    )
    model_closes = sum(e.kind is EffectKind.CLOSE for e in out.effects)
    if (
        extra_connects > 0
        and kind not in _STATEMENTS  # a reopen in place: the LIVE rules below judge it
        and config.max_size is not None
        and len(before.conns) - model_closes >= config.max_size
        and not any(e.kind is EffectKind.CLOSE for e in obs.effects)
    ):
        return "CAP-1"  # a connect attempted with every slot taken
    lost = want - seen
    extra = seen - want
    if EffectKind.SETUP in lost | extra and EffectKind.CONNECT not in lost | extra:
        return "SETUP-1"
    if kind in (OpKind.RELEASE, OpKind.DROP, OpKind.INVALIDATE) and op.actor is not None:
        held = before.holds[op.actor]
        if held is not None and held.detached:
            return "DET-1"  # a detached connection is closed when its holder is done with it
    if kind in (OpKind.RELEASE, OpKind.DROP):
        if before.closed:
            return "CLOSE-2"  # given back to a closed pool: it must be closed, whatever else
        reset_calls = {EffectKind.ROLLBACK, EffectKind.COMMIT, EffectKind.RESET}
        conn = held_conn(before, op)  # not detached: that returned DET-1 above
        if (lost | extra) & reset_calls and (conn is None or conn.alive):
            return _RESET_RULE[config.reset]
        if conn is not None:
            if conn.broken:
                return "LIVE-3"
            if not conn.alive:
                return "CAP-5"
        if before.waiting or any(w.result.status is Status.GOT for w in out.wakeups):
            return _checkout_rule(config, before, out, lost | extra)
        if config.per_thread:
            return "AFF-2"
        return "CAP-2"
    if kind is OpKind.ACQUIRE:
        if config.per_thread and op.actor is not None and before.holds[op.actor] is not None:
            hold = before.holds[op.actor]
            if hold is not None and hold.depth > 0:
                return "AFF-2"
        return _checkout_rule(config, before, out, lost | extra)
    if kind in (OpKind.COMMIT, OpKind.ROLLBACK) and config.reopen:
        return "LIVE-3"  # a failed commit or rollback: the error surfaces, replaced on return
    if kind in (OpKind.WORK, OpKind.SET_SESSION, OpKind.COMMIT, OpKind.ROLLBACK):
        if config.reopen and (c := held_conn(before, op)) is not None:
            return "LIVE-3" if c.txn or c.begun else "LIVE-2"
        return "EXCL-3"
    table = {
        OpKind.INVALIDATE: "INV-1",
        OpKind.DETACH: "DET-1",
        OpKind.END_THREAD: "AFF-3",
        OpKind.CLOSE: "CLOSE-1",
        OpKind.DISPOSE: "CLOSE-3",
        OpKind.TICK: "WAIT-2",
    }
    return table.get(kind, "CAP-5")


_STATEMENTS = frozenset({OpKind.WORK, OpKind.SET_SESSION, OpKind.COMMIT, OpKind.ROLLBACK})


def _took_other_idle(
    config: model.Config,
    before: model.State,
    op: Op,
    want: tuple[Effect, ...],
    obs: Observed,
    to_model: dict[int, int],
) -> bool:
    """Whether a checkout touched an idle connection other than the one its order names."""
    if op.kind is not OpKind.ACQUIRE or not before.idle or config.per_thread or config.shared:
        return False
    expected = before.idle[0] if config.idle_order is model.IdleOrder.FIFO else before.idle[-1]
    touched = {to_model.get(e.conn, -1) for e in obs.effects if e.conn is not None}
    if touched & set(before.idle):
        return expected not in touched
    # no idle connection touched: a connect instead of taking the idle one named
    # (unless the model retires or replaces that one, which also connects)
    opened = any(e.kind in (EffectKind.CONNECT, EffectKind.CONNECT_FAILED) for e in obs.effects)
    model_connects = any(e.kind in (EffectKind.CONNECT, EffectKind.CONNECT_FAILED) for e in want)
    return opened and not model_connects


def _checkout_rule(
    config: model.Config, before: model.State, out: Outcome, differing: set[EffectKind]
) -> str:
    if EffectKind.PING in differing:
        return "LIVE-1"
    if EffectKind.CONNECT_FAILED in differing:
        return "CONN-1"
    if EffectKind.CLOSE in differing or EffectKind.CONNECT in differing:
        # which retirement reason applied to the connection the model retired?
        for e in out.effects:
            if e.kind is EffectKind.CLOSE and e.conn is not None and before.has_conn(e.conn):
                c = before.conn(e.conn)
                if c.stale:
                    return "INV-2"
                if config.max_usage is not None and c.uses >= config.max_usage:
                    return "RETIRE-1"
                if config.max_lifetime is not None and c.age >= config.max_lifetime:
                    return "RETIRE-2"
                if config.max_idle_time is not None and c.idle_for >= config.max_idle_time:
                    return "RETIRE-3"
                if not c.alive:
                    return "LIVE-1"
        if any(w.result.status is Status.GOT for w in out.wakeups):
            return "CONN-1" if EffectKind.CONNECT in differing else "WAIT-3"
        return "CAP-1"
    return "CAP-5"


def attribute_result(
    config: model.Config,
    before: model.State,
    op: Op,
    out: Outcome,
    seen: Result,
    connects_failed: int = 0,
) -> str:
    """The rule a different result breaks.

    ``connects_failed`` counts the failed connects so far: a pool that makes
    a caller wait with a slot free after a connect failed most likely never
    gave that connect's slot back (CONN-1).
    """
    want = out.result
    if op.kind is OpKind.ACQUIRE:
        if want.refusal is Refusal.CLOSED or seen.refusal is Refusal.CLOSED:
            return "CLOSE-1"
        if want.refusal is Refusal.CONNECT_FAILED or seen.refusal is Refusal.CONNECT_FAILED:
            gate = _kinds(out.effects)
            if want.refusal is Refusal.CONNECT_FAILED and EffectKind.CLOSE in gate:
                # the checkout gate closed a connection and could not replace it:
                # handing out anything else breaks the gate's rule, not the slot's
                return "LIVE-1" if EffectKind.PING in gate else "RETIRE-4"
            if want.status is Status.GOT and any(c.stale for c in before.conns):
                return "INV-2"  # it tried to replace a soft-invalidated connection still in use
            return "CONN-1"
        if want.refusal is Refusal.TOO_MANY_WAITERS or seen.refusal is Refusal.TOO_MANY_WAITERS:
            return "WAIT-6"
        if want.status is Status.WAIT or want.refusal is Refusal.EXHAUSTED:
            if seen.status is Status.GOT:
                return "EXCL-4" if config.shared else "CAP-1"
            return "WAIT-1"
        if want.status is Status.GOT:
            if config.per_thread and before.holds[op.actor or 0] is not None:
                return "AFF-1"
            if config.max_size is None:
                return "CAP-4"
            return "CONN-1" if connects_failed and seen.status is Status.WAIT else "WAIT-3"
    if want.refusal is Refusal.NOT_HELD or seen.refusal is Refusal.NOT_HELD:
        return "EXCL-2" if op.kind in (OpKind.RELEASE, OpKind.DROP) else "EXCL-3"
    if Refusal.CONNECTION_LOST in (want.refusal, seen.refusal):
        c = held_conn(before, op)
        return "LIVE-3" if c is not None and (c.txn or c.begun) else "LIVE-2"
    table = {
        OpKind.INVALIDATE: "INV-1",
        OpKind.DETACH: "DET-1",
        OpKind.CLOSE: "CLOSE-1",
        OpKind.DISPOSE: "CLOSE-3",
    }
    return table.get(op.kind, "EXCL-3")


def attribute_wakeups(
    config: model.Config,
    before: model.State,
    op: Op,
    out: Outcome,
    seen: dict[int, Result],
) -> str:
    """The rule a difference in resolved waiters breaks."""
    want = {w.actor: w.result for w in out.wakeups}
    if op.kind is OpKind.CLOSE:
        return "WAIT-4"
    if op.kind is OpKind.TICK:
        return "WAIT-2"
    missing = set(want) - set(seen)
    extra = set(seen) - set(want)
    conn = held_conn(before, op)
    if op.kind in (OpKind.RELEASE, OpKind.DROP) and conn is not None and not conn.alive:
        return "CAP-5"  # a dead connection given back must be closed and its slot passed on
    if any(r.refusal is Refusal.CONNECT_FAILED for r in want.values()):
        gate = _kinds(out.effects)
        if EffectKind.CLOSE in gate and EffectKind.PING in gate:
            return "LIVE-1"  # the waiter's connection failed its ping and was not replaced
        return "CONN-1"
    if missing and extra:
        return "WAIT-5"
    if missing:
        return "WAIT-3"
    if extra and config.max_size is not None:
        return "CAP-1"
    return "WAIT-3"


def attribute_order(config: model.Config, before: model.State, op: Op) -> str:
    """The rule handing out another connection breaks."""
    if config.per_thread:
        return "AFF-1"
    if config.shared and not before.idle:
        return "EXCL-4"
    return "ORDER-1"
