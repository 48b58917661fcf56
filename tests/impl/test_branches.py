"""Engine paths the per-module tests do not reach on their own."""

from __future__ import annotations

import impl
from spec._driver import RecordingDriver


def test_begin_on_detached_handle_is_harmless() -> None:
    """begin() on a detached handle works and closing it closes the connection, with no reset."""
    driver = RecordingDriver(None)
    pool = impl.Pool(
        driver.connect, max_size=1, timeout=None, reset=impl.ResetMode.ROLLBACK_IF_BEGUN
    )
    handle = pool.acquire()
    handle.detach()
    handle.begin()
    handle.close()
    assert [c.kind.value for c in driver.calls()] == ["connect", "close"]
    assert pool.stats().open == 0
    pool.close()


def test_ping_never_asks_the_driver_to_reconnect() -> None:
    """LIVE-1: a driver ping with a reconnect parameter is called with reconnect=False."""
    seen: list[bool] = []

    class Raw:
        def ping(self, reconnect: bool = True) -> None:
            seen.append(reconnect)

        def rollback(self) -> None:
            pass

        def close(self) -> None:
            pass

    pool = impl.Pool(Raw, max_size=1, timeout=None, ping=impl.Ping.ON_CHECKOUT)
    pool.acquire().close()
    pool.acquire().close()
    assert seen == [False]
    pool.close()


def test_ping_without_a_readable_signature_is_called_plainly() -> None:
    """LIVE-1: a driver ping whose signature cannot be read is called with no arguments."""
    seen: list[str] = []

    class Pinger:
        __signature__ = "unreadable"  # inspect.signature raises TypeError on this

        def __call__(self) -> None:
            seen.append("ping")

    class Raw:
        ping = Pinger()

        def rollback(self) -> None:
            pass

        def close(self) -> None:
            pass

    pool = impl.Pool(Raw, max_size=1, timeout=None, ping=impl.Ping.ON_CHECKOUT)
    pool.acquire().close()
    pool.acquire().close()
    assert seen == ["ping"]
    pool.close()
