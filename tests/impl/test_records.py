"""Tests for the engine's bookkeeping records (impl/_records.py)."""

from __future__ import annotations

import threading

from impl._records import ConnRecord, Resolution, WaitSlot


def test_wait_slot_accepts_one_resolution() -> None:
    """A wait slot takes the first resolution; set() returns False for any later one."""
    slot = WaitSlot(threading.Condition(threading.Lock()), 1.0, 3.5)
    assert slot.timeout == 2.5
    rec = ConnRecord(object(), 1, 0.0)
    with slot.cond:
        assert slot.set(Resolution.HANDOFF, rec)
        assert not slot.set(Resolution.TIMEOUT)
    assert slot.outcome is Resolution.HANDOFF
    assert slot.rec is rec


def test_wait_slot_without_deadline() -> None:
    """A slot with no deadline has no timeout."""
    slot = WaitSlot(threading.Condition(threading.Lock()), 0.0, None)
    assert slot.timeout is None
    assert slot.outcome is None


def test_new_record_is_held_and_fresh() -> None:
    """A new connection record is held once and carries no history."""
    rec = ConnRecord("raw", 7, 2.0)
    assert (rec.raw, rec.seq, rec.created, rec.holders, rec.uses) == ("raw", 7, 2.0, 1, 0)
    assert (rec.txn, rec.begun, rec.stale, rec.broken, rec.gone, rec.detached) == (False,) * 6
