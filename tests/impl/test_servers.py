"""The server fixtures' rule: an unreachable server skips its tests, and fails them in CI.

No server is needed: port 1 on 127.0.0.1 refuses connections at once.
"""

from __future__ import annotations

import pytest

from tests.servers import ServerConnect, in_ci, mariadb_connect, postgres_connect, require

#: Each test runs once per server.
BOTH = pytest.mark.parametrize(
    "factory", [mariadb_connect, postgres_connect], ids=["MariaDB", "PostgreSQL"]
)


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both servers pointed at a closed port, outside CI."""
    monkeypatch.setenv("POOLSPEC_MARIADB_PORT", "1")
    monkeypatch.setenv("POOLSPEC_PG_PORT", "1")
    monkeypatch.delenv("CI", raising=False)


@pytest.mark.parametrize(
    ("value", "ci"),
    [("true", True), ("1", True), ("TRUE", True), ("false", False), ("0", False), ("", False)],
)
def test_ci_is_a_true_value(monkeypatch: pytest.MonkeyPatch, value: str, ci: bool) -> None:
    """CI counts as set only when it holds a true value such as ``true`` or ``1``."""
    monkeypatch.setenv("CI", value)
    assert in_ci() is ci


@pytest.mark.usefixtures("nowhere")
@BOTH
def test_unreachable_server_skips_with_the_reason(factory: ServerConnect) -> None:
    """Outside CI an unreachable server skips, naming the server, its address and the error."""
    with pytest.raises(pytest.skip.Exception, match=r"not reachable on 127\.0\.0\.1:1: ") as out:
        require(factory)
    assert str(out.value).startswith(f"{factory.server} not reachable on 127.0.0.1:1: ")


@pytest.mark.usefixtures("nowhere")
@BOTH
def test_unreachable_server_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, factory: ServerConnect
) -> None:
    """With CI=true the same reason fails the test instead: in CI server tests must run."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as out:
        require(factory)
    assert str(out.value).startswith(f"{factory.server} not reachable on 127.0.0.1:1: ")


@pytest.mark.usefixtures("nowhere")
def test_missing_driver_skips() -> None:
    """A driver that is not installed skips the server's tests, naming the driver."""
    factory = ServerConnect("NoSQL", "poolspec_no_such_driver", "POOLSPEC_NOSQL", 1)
    with pytest.raises(pytest.skip.Exception, match="NoSQL tests need the poolspec_no_such_driver"):
        require(factory)


def test_address_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host and port variables override the defaults; a bad port names its variable."""
    monkeypatch.delenv("POOLSPEC_MARIADB_HOST", raising=False)
    monkeypatch.delenv("POOLSPEC_MARIADB_PORT", raising=False)
    assert mariadb_connect.address == "127.0.0.1:3306"
    monkeypatch.setenv("POOLSPEC_MARIADB_HOST", "db.invalid")
    monkeypatch.setenv("POOLSPEC_MARIADB_PORT", "3307")
    assert mariadb_connect.params["host"] == "db.invalid"
    assert mariadb_connect.params["port"] == 3307
    monkeypatch.setenv("POOLSPEC_MARIADB_PORT", "three")
    with pytest.raises(
        ValueError, match="POOLSPEC_MARIADB_PORT must be a port number, got 'three'"
    ):
        _ = mariadb_connect.port
