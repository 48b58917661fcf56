"""The linearizability checker on hand-written histories: good ones pass, classic bugs do not."""

from __future__ import annotations

import json

import pytest

import model
from model import OK, OpKind, Refusal, got, refused
from spec._linear import (
    HistoryOp,
    check_fifo,
    check_history,
    format_result,
    history_from_json,
    history_json,
    prefix,
)

K = OpKind


def op(
    actor: int | None,
    kind: OpKind,
    invoked: int,
    returned: int | None,
    result: model.Result | None = OK,
    **extra: object,
) -> HistoryOp:
    return HistoryOp(actor, kind, invoked, returned, result, **extra)  # type: ignore[arg-type]


ONE = model.Config(max_size=1)
TWO = model.Config(max_size=2)


def test_wait_and_hand_off_is_linearizable() -> None:
    """A checkout that waits is completed by the release that hands it the connection."""
    history = [
        op(0, K.ACQUIRE, 0, 2, got(7)),
        op(1, K.ACQUIRE, 3, 10, got(7), queued=4, served=6),
        op(0, K.RELEASE, 5, 7),
        op(1, K.RELEASE, 11, 12),
    ]
    result = check_history(ONE, history)
    assert result.verdict == "ok", format_result(result)
    assert any("waits" in line for line in result.order)
    assert any("wakes a1" in line for line in result.order)


def test_overlapping_operations_find_their_order() -> None:
    """Calls that overlap are ordered as the results require, not as they were called."""
    history = [
        op(0, K.ACQUIRE, 0, 10, got(1)),
        op(1, K.ACQUIRE, 1, 3, got(0)),
        op(1, K.RELEASE, 4, 5),
        op(0, K.RELEASE, 11, 12),
        op(1, K.ACQUIRE, 13, 14, got(0)),
    ]
    # a1 connected first (driver #0), a0 second (driver #1), although a0 called first
    assert check_history(TWO, history).ok


def test_same_connection_to_two_holders_is_a_violation() -> None:
    """Two threads handed the same connection at overlapping times (EXCL-1) are reported."""
    history = [
        op(0, K.ACQUIRE, 0, 5, got(0)),
        op(1, K.ACQUIRE, 1, 6, got(0)),
        op(0, K.RELEASE, 7, 8),
        op(1, K.RELEASE, 7, 9),
    ]
    result = check_history(TWO, history)
    assert result.verdict == "violation"
    assert result.prefix_ops == 2
    text = format_result(result)
    assert "observed got driver #0" in text
    assert "the first 2 operations already are not" in text


def test_connection_while_the_pool_is_full_is_a_violation() -> None:
    """A connection handed out while the model says the pool is full (CAP-1) is reported."""
    history = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(1, K.ACQUIRE, 2, 3, got(1)),
        op(0, K.RELEASE, 4, 5),
        op(1, K.RELEASE, 6, 7),
    ]
    result = check_history(ONE, history)
    assert result.verdict == "violation"
    assert "the model makes it wait" in format_result(result)


def test_closed_connection_handed_out_is_a_violation() -> None:
    """After an invalidate closed it, handing the same connection out again is reported."""
    history = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(0, K.INVALIDATE, 2, 3),
        op(1, K.ACQUIRE, 4, 5, got(0)),
    ]
    assert check_history(ONE, history).verdict == "violation"
    # the same history with a fresh connection is fine
    fresh = [*history[:2], op(1, K.ACQUIRE, 4, 5, got(1))]
    assert check_history(ONE, fresh).ok


def test_release_of_a_dead_connection_closes_it() -> None:
    """A killed connection given back is closed, so the next checkout connects anew."""
    base = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(None, K.KILL, 2, 3, conn=0),
        op(0, K.WORK, 4, 5, refused(Refusal.CONNECTION_LOST)),
        op(0, K.RELEASE, 6, 7),
    ]
    assert check_history(ONE, [*base, op(1, K.ACQUIRE, 8, 9, got(1))]).ok
    # handing out the dead connection again, closed by the reset that failed, is a violation
    assert check_history(ONE, [*base, op(1, K.ACQUIRE, 8, 9, got(0))]).verdict == "violation"


def test_statement_failure_needs_a_kill() -> None:
    """A statement may fail with a lost connection only if the connection was killed."""
    history = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(0, K.WORK, 4, 5, refused(Refusal.CONNECTION_LOST)),
    ]
    assert check_history(ONE, history).verdict == "violation"
    killed = [*history, op(None, K.KILL, 2, 3, conn=0)]
    assert check_history(ONE, killed).ok


def test_connect_failure_needs_an_armed_fault() -> None:
    """A checkout refused with a failed connect needs a connect failure the history armed."""
    history = [op(0, K.ACQUIRE, 2, 3, refused(Refusal.CONNECT_FAILED))]
    assert check_history(ONE, history).verdict == "violation"
    armed = [op(None, K.FAIL_CONNECT, 0, 1), *history]
    assert check_history(ONE, armed).ok
    assert check_history(ONE, history, connect_failures=1).ok


def test_timeout_only_when_the_pool_is_full() -> None:
    """A checkout may time out while every connection is in use, not while one is idle."""
    busy = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(1, K.ACQUIRE, 2, 5, refused(Refusal.TIMEOUT)),
        op(0, K.RELEASE, 6, 7),
    ]
    assert check_history(ONE, busy).ok
    idle = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(0, K.RELEASE, 2, 3),
        op(1, K.ACQUIRE, 4, 5, refused(Refusal.TIMEOUT)),
    ]
    assert check_history(ONE, idle).verdict == "violation"


def test_timed_out_waiter_is_skipped_by_the_hand_off() -> None:
    """FIFO: a waiter that timed out is passed over; the next waiter gets the connection."""
    history = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(1, K.ACQUIRE, 2, 9, refused(Refusal.TIMEOUT)),
        op(2, K.ACQUIRE, 3, 10, got(0)),
        op(0, K.RELEASE, 6, 7),
    ]
    assert check_history(ONE, history).ok


def test_recorded_hand_off_instants_are_respected() -> None:
    """With the queuing and hand-off instants recorded, the hand-off must come from then."""
    history = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(2, K.ACQUIRE, 1, 2, got(1)),
        op(1, K.ACQUIRE, 2, 20, got(0), queued=3, served=8),
        op(0, K.RELEASE, 6, 9),
    ]
    assert check_history(TWO, history).ok
    # served at 8, but the only release that can hand it over ran from 12 to 13
    late = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(2, K.ACQUIRE, 1, 2, got(1)),
        op(1, K.ACQUIRE, 3, 20, got(0), queued=4, served=8),
        op(0, K.RELEASE, 12, 13),
    ]
    assert check_history(TWO, late).verdict == "violation"
    # without the recorded instants the same results are explained by a later hand-off
    unhinted = [*late[:2], op(1, K.ACQUIRE, 3, 20, got(0)), late[3]]
    assert check_history(TWO, unhinted).ok


def test_pending_operation_may_be_left_out() -> None:
    """An operation that never returned need not be linearized, nor its result matched."""
    history = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(1, K.ACQUIRE, 2, None, None),
        op(0, K.RELEASE, 3, 4),
        op(0, K.ACQUIRE, 5, 6, got(0)),
    ]
    assert check_history(ONE, history).ok


def test_pending_waiter_may_have_timed_out_at_the_cut() -> None:
    """A waiter pending at a prefix's cut may be refused with a timeout while parked.

    Distilled from a stress run (instants in microseconds from its start):
    a8's deadline had passed when a13's release expired it (its ``served``)
    and handed driver #16 to a15, the next waiter; a8's thread returned its
    timeout only after the cut at a15's return. Woken only by hand-offs, the
    pending a8 took driver #16 from a15, and the prefix was reported not
    linearizable although the whole history is.
    """
    config = model.Config(max_size=1, timeout=1)
    history = [
        op(13, K.ACQUIRE, 19_422, 19_500, got(16)),
        op(8, K.ACQUIRE, 20_681, 33_227, refused(Refusal.TIMEOUT), queued=20_682, served=31_117),
        op(15, K.ACQUIRE, 20_982, 31_622, got(16), queued=22_036, served=31_119),
        op(13, K.RELEASE, 31_101, 31_127),
    ]
    assert check_history(config, history, actors=16).ok
    cut = prefix(history, 31_622)
    assert cut[1].returned is None
    assert cut[1].served == 31_117
    result = check_history(config, cut, actors=16)
    assert result.verdict == "ok", format_result(result)
    assert any("(timeout) #1 a8 acquire" in line for line in result.order)
    # without a timeout in the configuration a waiter never gives up: the
    # release must hand driver #16 to a8, the oldest waiter
    forever = check_history(model.Config(max_size=1), cut, actors=16)
    assert forever.verdict == "violation"


def test_unexpected_error_matches_nothing() -> None:
    """An operation that raised something that is not a refusal is a violation."""
    history = [op(0, K.ACQUIRE, 0, 1, None, error="RuntimeError: boom")]
    result = check_history(ONE, history)
    assert result.verdict == "violation"
    assert "raised RuntimeError: boom" in format_result(result)


def test_small_budget_gives_unknown_not_ok() -> None:
    """A search cut short by its budget says unknown, never ok."""
    history = [op(a, K.ACQUIRE, a, 100, got(a)) for a in range(4)]
    history += [op(a, K.RELEASE, 101 + a, 200) for a in range(4)]
    config = model.Config(max_size=4)
    assert check_history(config, history).ok
    small = check_history(config, history, max_states=3)
    assert small.verdict == "unknown"
    assert "budget" in small.message


def test_prefix_cuts_returns_after_the_cut() -> None:
    """A prefix keeps the calls made by the cut; returns after it become pending."""
    history = [op(0, K.ACQUIRE, 0, 5, got(0), queued=1, served=4), op(1, K.ACQUIRE, 6, 7, got(1))]
    cut = prefix(history, 3)
    assert len(cut) == 1
    assert cut[0].returned is None
    assert cut[0].result is None
    assert cut[0].queued == 1
    assert cut[0].served is None


def test_prefix_of_a_prefix_is_the_earlier_prefix() -> None:
    """Cutting a history twice equals cutting it once at the earlier instant.

    An operation already pending in the first prefix kept its hand-off
    instant past the second cut, so the shorter prefix a violation is
    minimised to demanded a hand-off by a release it no longer holds.
    """
    history = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(1, K.ACQUIRE, 2, 20, got(0), queued=3, served=12),
        op(0, K.RELEASE, 11, 13),
    ]
    twice = prefix(prefix(history, 15), 10)
    assert twice == prefix(history, 10)
    assert twice[1].served is None
    assert check_history(ONE, twice).ok


def test_history_json_round_trip() -> None:
    """A history written as JSON reads back equal, with its configuration."""
    config = model.Config(max_size=3, fairness=model.Fairness.BARGING)
    history = [
        op(0, K.ACQUIRE, 0, 5, got(2), timeout=9, queued=1, served=4),
        op(None, K.KILL, 1, 2, conn=2),
        op(None, K.FAIL_CONNECT, 2, 3),
        op(1, K.ACQUIRE, 3, 4, refused(Refusal.TIMEOUT)),
        op(1, K.WORK, 5, None, None),
        op(2, K.ACQUIRE, 6, 7, None, error="ValueError: x"),
    ]
    text = json.dumps(history_json(config, history))
    back_config, back = history_from_json(json.loads(text))
    assert back_config == config
    assert back == history


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"actor": None, "kind": K.ACQUIRE, "invoked": 0, "returned": 1}, "needs an actor"),
        ({"actor": None, "kind": K.KILL, "invoked": 0, "returned": 1}, "conn=None"),
        ({"actor": 0, "kind": K.RELEASE, "invoked": 5, "returned": 1}, "returned at 1"),
        ({"actor": None, "kind": K.TICK, "invoked": 0, "returned": 1}, "no ticks"),
    ],
)
def test_bad_records_name_the_bad_value(kwargs: dict[str, object], needle: str) -> None:
    """A malformed history record is refused with a message naming the bad value."""
    with pytest.raises(ValueError, match=needle):
        HistoryOp(**kwargs)  # type: ignore[arg-type]


def test_time_based_retirement_is_refused() -> None:
    """Configurations whose retirement depends on ticks cannot be checked on a free run."""
    with pytest.raises(ValueError, match="max_lifetime=2"):
        check_history(model.Config(max_lifetime=2), [])


# -- FIFO fairness ------------------------------------------------------------------


def test_fifo_overtaking_is_reported() -> None:
    """A waiter queued before another was called must not be served after it."""
    history = [
        op(0, K.ACQUIRE, 0, 20, got(0), queued=1, served=15),
        op(1, K.ACQUIRE, 5, 12, got(0), queued=6, served=10),
    ]
    found = check_fifo(history)
    assert [(o.earlier, o.later) for o in found] == [(0, 1)]


def test_fifo_in_order_and_overlapping_calls_pass() -> None:
    """Serving waiters in queue order, or calls whose queuing order is unknown, is no overtaking."""
    in_order = [
        op(0, K.ACQUIRE, 0, 20, got(0), queued=1, served=8),
        op(1, K.ACQUIRE, 5, 12, got(0), queued=6, served=10),
    ]
    assert check_fifo(in_order) == ()
    unknown_queue = [
        op(0, K.ACQUIRE, 0, 20, got(0)),
        op(1, K.ACQUIRE, 5, 12, got(0)),
    ]
    assert check_fifo(unknown_queue) == ()


def test_fifo_timed_out_waiter_overtaken_before_its_deadline() -> None:
    """A waiter that timed out was overtaken if a later caller was served before its deadline."""
    early = [
        op(0, K.ACQUIRE, 0, 30, refused(Refusal.TIMEOUT), queued=1, timeout=20),
        op(1, K.ACQUIRE, 5, 12, got(0), queued=6, served=10),
    ]
    assert len(check_fifo(early)) == 1
    after_deadline = [
        op(0, K.ACQUIRE, 0, 30, refused(Refusal.TIMEOUT), queued=1, timeout=5),
        op(1, K.ACQUIRE, 5, 12, got(0), queued=6, served=10),
    ]
    assert check_fifo(after_deadline) == ()


# -- where the pool is correctly not atomic ---------------------------------------------


def test_slow_failing_connect_holds_its_slot() -> None:
    """A checkout whose connect fails late held its slot meanwhile; a waiter then gets it."""
    history = [
        op(None, K.FAIL_CONNECT, 0, 1),
        op(0, K.ACQUIRE, 2, 20, refused(Refusal.CONNECT_FAILED)),
        # queued at 4 because a0's connect had the only slot; served when it failed
        op(1, K.ACQUIRE, 3, 22, got(0), queued=4, served=18),
    ]
    assert check_history(ONE, history).ok
    # a newcomer connecting while the slot is held and a1 waits: a violation
    barged = [*history, op(2, K.ACQUIRE, 10, 11, got(1))]
    assert check_history(ONE, barged).verdict == "violation"


def test_waiter_whose_connect_fails_passes_its_slot_on_later() -> None:
    """A waiter served a freed slot fails its connect; the slot passes on from its thread."""
    history = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(None, K.FAIL_CONNECT, 2, 3),
        op(1, K.ACQUIRE, 4, 30, refused(Refusal.CONNECT_FAILED), queued=5, served=11),
        op(2, K.ACQUIRE, 6, 40, got(1), queued=7, served=28),
        op(0, K.INVALIDATE, 10, 12),
        # while a1 was still connecting, a3 queued behind the held slot
        op(3, K.ACQUIRE, 20, 50, got(2), queued=21, served=45),
        op(2, K.INVALIDATE, 41, 46),
    ]
    assert check_history(ONE, history).ok


def test_barging_waiter_may_lose_to_a_newcomer() -> None:
    """Under barging, a connection freed while a0 waits may go to a newcomer first."""
    barging = model.Config(max_size=1, fairness=model.Fairness.BARGING)
    history = [
        op(0, K.ACQUIRE, 0, 1, got(0)),
        op(1, K.ACQUIRE, 2, 20, got(0), queued=3),
        op(0, K.RELEASE, 4, 5),
        op(2, K.ACQUIRE, 6, 7, got(0)),
        op(2, K.RELEASE, 8, 9),
    ]
    assert check_history(barging, history).ok
    # FIFO promises the waiter the connection: the newcomer cannot have it
    assert check_history(ONE, history).verdict == "violation"
