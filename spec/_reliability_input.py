"""Wrong types and values at every front door: a clear error, no leak, a usable pool.

For each parameter of each front door's constructor (and of the engine's
methods), Hypothesis draws values that parameter must refuse: any value,
filtered through the parameter's own notion of valid. Each one must be
refused with a ``TypeError``, a ``ValueError`` or a ``PoolError`` whose
message contains ``repr(value)``; no driver connection may stay open; and a
pool whose method refused a value must still hand out and take back a
connection.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import impl

from ._driver import RecordingDriver

#: Exceptions that count as a clear refusal (their message must name the value).
CLEAR = (TypeError, ValueError, impl.PoolError)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _int_at_least(low: int, *, none: bool = False) -> Callable[[object], bool]:
    return lambda v: (none and v is None) or (_is_int(v) and int(v) >= low)  # type: ignore[call-overload]


def _int_between(low: int, high: int) -> Callable[[object], bool]:
    return lambda v: _is_int(v) and low <= int(v) <= high  # type: ignore[call-overload]


def _seconds(*, zero: bool = False, none: bool = True) -> Callable[[object], bool]:
    def ok(v: object) -> bool:
        if v is None:
            return none
        if not _is_num(v) or math.isnan(float(v)):  # type: ignore[arg-type]
            return False
        return float(v) >= 0 if zero else float(v) > 0  # type: ignore[arg-type]

    return ok


def _instance(*kinds: type) -> Callable[[object], bool]:
    return lambda v: isinstance(v, kinds)


def _exc_types(v: object) -> bool:
    if isinstance(v, type) and issubclass(v, BaseException):
        return True
    return isinstance(v, tuple) and all(
        isinstance(t, type) and issubclass(t, BaseException) for t in v
    )


def _str_seq(v: object) -> bool:
    return isinstance(v, list | tuple) and all(isinstance(s, str) for s in v)


def _in(*values: object) -> Callable[[object], bool]:
    return lambda v: any(v is x or (type(v) is type(x) and v == x) for x in values)


#: Values of every shape; each parameter keeps the ones it must refuse.
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.binary(max_size=4),
    st.lists(st.integers(min_value=-3, max_value=3), max_size=3),
    st.tuples(st.integers(min_value=0, max_value=3)),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=10),
    st.sampled_from([object, ValueError, impl.Fairness.FIFO, impl.ResetMode.NONE, len]),
)


@dataclass(frozen=True, slots=True)
class Case:
    """One parameter of one door: how to pass it a value, and which values are valid."""

    door: str
    param: str
    valid: Callable[[object], bool]
    call: Callable[[RecordingDriver, Any], object]
    #: Whether ``call`` works on a pool built before (the pool must stay usable).
    method: bool = False


def _engine(driver: RecordingDriver) -> impl.Pool:
    return impl.Pool(driver.connect, max_size=2, timeout=5.0)


def _config_case(name: str, valid: Callable[[object], bool]) -> Case:
    return Case(
        "impl.Pool / PoolConfig", name, valid, lambda d, v: impl.Pool(d.connect, **{name: v})
    )


def _keyword(
    door: Callable[..., object], name: str, *, use_connect: bool = False
) -> Callable[[RecordingDriver, Any], object]:
    """Build ``door`` on the driver (or its ``connect``) with ``name=value``."""

    def call(driver: RecordingDriver, value: Any) -> object:
        creator: object = driver.connect if use_connect else driver
        return door(creator, **{name: value})

    return call


def _cases() -> list[Case]:
    cases = [
        _config_case("max_size", _int_at_least(1, none=True)),
        _config_case("idle_cap", lambda v: v is None or _int_between(0, 5)(v)),
        _config_case("min_idle", _int_between(0, 5)),
        _config_case("block", _instance(bool)),
        _config_case("timeout", _seconds()),
        _config_case("fairness", _instance(impl.Fairness)),
        _config_case("max_waiters", _int_at_least(0, none=True)),
        _config_case("idle_order", _instance(impl.IdleOrder)),
        _config_case("per_thread", _instance(bool)),
        _config_case("shared", _instance(bool)),
        _config_case("reset", _instance(impl.ResetMode)),
        _config_case("session", lambda v: isinstance(v, tuple) and _str_seq(v)),
        _config_case("max_usage", _int_at_least(1, none=True)),
        _config_case("max_lifetime", _seconds()),
        _config_case("max_idle_time", _seconds()),
        _config_case("ping", _instance(impl.Ping)),
        _config_case("failures", lambda v: isinstance(v, tuple) and _exc_types(v)),
        _config_case("max_connecting", _int_at_least(1, none=True)),
        _config_case("full_reset_sql", lambda v: v is None or isinstance(v, str)),
        Case(
            "impl.Pool",
            "creator",
            callable,
            lambda d, v: impl.Pool(v),
        ),
        Case(
            "impl.Pool.acquire",
            "timeout",
            _seconds(),
            lambda d, v: _engine_call(d, lambda p: p.acquire(timeout=v).close()),
            method=True,
        ),
        Case(
            "impl.Pool.add_listener",
            "event",
            lambda v: isinstance(v, str) and v in impl.EVENTS,
            lambda d, v: _engine_call(d, lambda p: p.add_listener(v, lambda *a: None)),
            method=True,
        ),
        Case(
            "impl.Pool.add_listener",
            "fn",
            callable,
            lambda d, v: _engine_call(d, lambda p: p.add_listener("checkout", v)),
            method=True,
        ),
        Case(
            "impl.Pool.release",
            "conn",
            lambda v: isinstance(v, impl.PooledConnection),
            lambda d, v: _engine_call(d, lambda p: p.release(v)),
            method=True,
        ),
    ]
    qp = [
        ("pool_size", _int_at_least(0)),
        ("max_overflow", _int_at_least(-1)),
        ("timeout", _seconds()),
        ("use_lifo", _instance(bool)),
        ("recycle", lambda v: _in(-1)(v) or (_seconds(none=False)(v))),
        ("pre_ping", _instance(bool)),
        ("reset_on_return", _in("rollback", "commit", None, True, False, *impl.ResetMode)),
        ("full_reset_sql", lambda v: v is None or isinstance(v, str)),
    ]
    for name, valid in qp:
        cases.append(
            Case("QueuePool", name, valid, _keyword(impl.QueuePool, name, use_connect=True))
        )
    for name, valid in qp[4:]:
        for door in (impl.SingletonThreadPool, impl.NullPool, impl.StaticPool, impl.AssertionPool):
            cases.append(
                Case(
                    door.__name__,
                    name,
                    valid,
                    _keyword(door, name, use_connect=True),
                )
            )
    cases.append(
        Case(
            "SingletonThreadPool",
            "pool_size",
            _int_at_least(1),
            lambda d, v: impl.SingletonThreadPool(d.connect, pool_size=v),
        )
    )
    counts = ("mincached", "maxcached", "maxshared", "maxconnections", "maxusage")
    pdb: list[tuple[str, Callable[[object], bool]]] = [
        (n, _int_at_least(0, none=True)) for n in counts
    ]
    pdb += [
        ("blocking", _instance(bool)),
        ("setsession", lambda v: v is None or _str_seq(v)),
        ("reset", _in(True, False, None, 0, 1, 2, *impl.ResetMode)),
        ("failures", lambda v: v is None or _exc_types(v)),
        ("ping", lambda v: v is None or (isinstance(v, int) and 0 <= v <= 7)),
    ]
    for name, valid in pdb:
        cases.append(Case("PooledDB", name, valid, _keyword(impl.PooledDB, name)))
        if name in ("maxusage", "setsession", "failures", "ping"):
            cases.append(
                Case(
                    "PersistentDB",
                    name,
                    valid,
                    _keyword(impl.PersistentDB, name),
                )
            )
    cases.append(
        Case(
            "PersistentDB",
            "closeable",
            _instance(bool),
            lambda d, v: impl.PersistentDB(d, closeable=v),
        )
    )
    qldb: list[tuple[str, Callable[[object], bool]]] = [
        ("pool_limit", _int_at_least(0)),
        ("timeout", _seconds(zero=True)),
        ("retry_limit", _int_at_least(0)),
        ("retriable", lambda v: v is None or _exc_types(v)),
    ]
    for name, valid in qldb:
        cases.append(Case("SessionPool", name, valid, _keyword(impl.SessionPool, name)))
    cases.append(
        Case(
            "SessionPool.execute",
            "fn",
            callable,
            lambda d, v: _qldb_call(d, lambda p: p.execute(v)),
            method=True,
        )
    )
    cases.append(
        Case(
            "quasardb SingletonPool",
            "get_conn",
            lambda v: v is None or callable(v),
            lambda d, v: impl.SingletonPool(v),
        )
    )
    cases.append(
        Case(
            "quasardb SingletonPool.release",
            "conn",
            lambda v: isinstance(v, impl.PooledConnection),
            lambda d, v: _quasar_call(d, lambda p: p.release(v)),
            method=True,
        )
    )
    return cases


def _engine_call(driver: RecordingDriver, fn: Callable[[impl.Pool], object]) -> object:
    """Call ``fn`` on a fresh pool; on refusal check the pool still works, then re-raise."""
    pool = _engine(driver)
    try:
        return fn(pool)
    except BaseException:
        pool.acquire().close()  # still usable
        raise
    finally:
        pool.close()


def _qldb_call(driver: RecordingDriver, fn: Callable[[impl.SessionPool], object]) -> object:
    pool = impl.SessionPool(driver, pool_limit=2, timeout=5.0)
    try:
        return fn(pool)
    except BaseException:
        pool.get_session().close()
        raise
    finally:
        pool.close()


def _quasar_call(driver: RecordingDriver, fn: Callable[[impl.SingletonPool], object]) -> object:
    pool = impl.SingletonPool(driver.connect)
    try:
        return fn(pool)
    except BaseException:
        pool.connect().close()
        raise
    finally:
        pool.close()


#: Every case, in report order.
CASES = tuple(_cases())


def check_value(case: Case, value: object) -> str | None:
    """Pass ``value`` to the case's door; the problem seen, or None."""
    driver = RecordingDriver(None)
    problem: str | None = None
    try:
        made = case.call(driver, value)
    except CLEAR as exc:
        if repr(value) not in str(exc):
            problem = f"{type(exc).__name__} does not name {value!r}: {exc}"
    except Exception as exc:  # noqa: BLE001 - any other error is the finding itself
        problem = f"unclear {type(exc).__name__} for {value!r}: {exc}"
    else:
        problem = f"accepted {value!r}"
        close = getattr(made, "close", None)
        if callable(close) and not case.method:
            close()
    if driver.open_connections():
        extra = f"{len(driver.open_connections())} connection(s) left open"
        problem = f"{problem}; {extra}" if problem else f"{extra} after {value!r}"
    return problem


@dataclass(slots=True)
class CaseResult:
    """What one parameter's examples showed."""

    door: str
    param: str
    tried: int = 0
    problems: list[str] = field(default_factory=list)


def run_case(case: Case, examples: int, seed: int = 0) -> CaseResult:
    """Try ``examples`` invalid values on one parameter (Hypothesis, derandomised)."""
    result = CaseResult(case.door, case.param)

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(ANY_VALUE.filter(lambda v: not case.valid(v)))
    def probe(value: object) -> None:
        result.tried += 1
        problem = check_value(case, value)
        if problem is not None and len(result.problems) < 5:
            result.problems.append(problem)

    probe()
    return result


def run_all(examples: int, on_case: Callable[[str], None] | None = None) -> list[CaseResult]:
    """Every case with ``examples`` values each."""
    results = []
    for case in CASES:
        res = run_case(case, examples)
        results.append(res)
        if on_case is not None:
            state = "ok" if not res.problems else f"{len(res.problems)} problem(s)"
            on_case(f"bad input: {case.door}({case.param}=...): {res.tried} tried, {state}")
    return results
