"""Tests for the benchmark's memory measure (bench/bench_pools.py): it counts what a pool keeps."""

from __future__ import annotations

from typing import Any

from bench import bench_pools as bp


def _measure(keep: int) -> float:
    """The measure on a pool that keeps ``keep`` extra bytes per checked-out connection."""
    opened = [0]
    held: list[Any] = []

    def build() -> bp.Built:
        def get() -> Any:
            opened[0] += 1
            conn = bp.FakeConnection()
            held.append(bytearray(keep) if keep else None)
            return conn

        def put(conn: Any) -> None:
            held.pop()

        return get, put, lambda: None

    return bp.pool_bytes_per_connection(build, opened, 100)


def test_memory_measure_counts_what_the_pool_keeps() -> None:
    """Bytes kept per checkout are counted; the connections' own bytes are not."""
    kept = _measure(1000)
    assert 1000 <= kept <= 1000 + 120  # the bytearray's header, and the list slot
    assert abs(_measure(0)) <= 16  # only the list slot that records nothing


def test_memory_measure_on_the_baseline_and_ours() -> None:
    """The lock+deque baseline keeps nothing per connection out; our QueuePool keeps a little."""
    base = bp.measure_memory("baseline:lock+deque")["bytes_per_connection"]
    ours = bp.measure_memory("ours:QueuePool")["bytes_per_connection"]
    assert abs(base) <= 16
    assert 64 <= ours <= 1024  # a handle and a record: more than nothing, far less than a page
