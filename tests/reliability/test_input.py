"""Wrong types and values at every front door: a clear error naming the value, no leak."""

from __future__ import annotations

import pytest

import impl
from spec._driver import RecordingDriver
from spec._reliability_input import CASES, check_value, run_case


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.door}-{c.param}")
def test_invalid_values_are_refused_clearly(case: object) -> None:
    """Hypothesis-drawn invalid values are refused naming their repr, leaking nothing."""
    result = run_case(case, examples=12)  # type: ignore[arg-type]
    assert result.tried > 0
    assert result.problems == []


def test_every_front_door_is_covered() -> None:
    """The cases cover the engine and each family of front doors."""
    doors = {c.door.split(".")[0].split(" ")[0] for c in CASES}
    for door in (
        "impl",
        "QueuePool",
        "SingletonThreadPool",
        "NullPool",
        "StaticPool",
        "AssertionPool",
        "PooledDB",
        "PersistentDB",
        "SessionPool",
        "quasardb",
    ):
        assert door in doors, door


@pytest.mark.parametrize(
    ("door", "param", "value"),
    [
        ("impl.Pool.acquire", "timeout", b"1"),
        ("impl.Pool.acquire", "timeout", True),
        ("impl.Pool.add_listener", "event", ["checkout"]),
        ("impl.Pool.add_listener", "fn", 3),
        ("impl.Pool.release", "conn", None),
        ("PooledDB", "setsession", b"SET x"),
        ("SessionPool.execute", "fn", "not callable"),
        ("quasardb SingletonPool.release", "conn", object()),
    ],
)
def test_fixed_refusals(door: str, param: str, value: object) -> None:
    """Regression: values that once raised an unclear error or were accepted are refused by name."""
    (case,) = [c for c in CASES if c.door == door and c.param == param]
    assert check_value(case, value) is None


def test_pool_usable_after_refused_call() -> None:
    """A method that refused a value leaves the pool working."""
    driver = RecordingDriver(None)
    pool = impl.Pool(driver.connect, max_size=1)
    with pytest.raises(TypeError, match="b'x'"):
        pool.acquire(timeout=b"x")  # type: ignore[arg-type]
    with pool.acquire() as conn:
        conn.execute("SELECT 1")
    pool.close()
    assert not driver.open_connections()
