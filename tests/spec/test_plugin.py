"""The pytest plugin: the shipped conformance suite runs against a target named on the command line."""

from __future__ import annotations

import subprocess
import sys


def _suite(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "stateful",
           "--pyargs", "spec.conformance_suite", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)


def test_suite_checks_a_named_front_door() -> None:
    """--poolspec-target picks the pool; the detected profile is the front door's own."""
    done = _suite("--poolspec-target", "impl:QueuePool", "--poolspec-examples", "5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_bad_target_is_a_usage_error() -> None:
    """A target that does not resolve stops the run with a usage error naming it."""
    done = _suite("--poolspec-target", "no_such_module_xyz:Pool")
    assert done.returncode != 0
    assert "cannot import 'no_such_module_xyz'" in done.stdout + done.stderr


def test_unknown_profile_is_a_usage_error() -> None:
    """An unknown profile name is refused, listing the known ones."""
    done = _suite("--poolspec-profile", "nope")
    assert done.returncode != 0
    assert "unknown --poolspec-profile 'nope'" in done.stdout + done.stderr
