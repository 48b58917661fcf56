"""Symmetry reduction: one key for all states equal up to renaming.

Actors are interchangeable threads and connection ids are mere names, so two
states that differ only by a permutation of actors and a renaming of
connections behave alike. ``canonical_key`` maps both to the same key:

1. each actor gets a signature from what it holds (depth, detached, the
   held connection's attributes and how many share it) and its place in the
   waiting list; actors are ordered by signature;
2. connections are renamed in order of first appearance: idle ones in idle
   order, then those held, by actor in that order;
3. the key lists the renamed connections, idle list, holds and waiting list,
   plus the pool-wide flags.

Ties between actors with equal signatures are broken by the original order;
that can leave two symmetric states with different keys (less reduction), but
never gives two different states the same key, so the reduction is sound.
"""

from __future__ import annotations

from collections.abc import Hashable

from ._state import Conn, State


def _conn_sig(c: Conn) -> tuple[bool, bool, bool, bool, int, int, int, bool, bool]:
    return (c.alive, c.txn, c.begun, c.dirty, c.uses, c.age, c.idle_for, c.stale, c.broken)


def canonical_key(state: State) -> Hashable:
    """A hashable key equal for states equal up to renaming actors and connections."""
    conns = {c.id: c for c in state.conns}
    holds = state.holds
    wait_pos = {w.actor: i for i, w in enumerate(state.waiting)}
    sharing: dict[int, int] = {}
    for h in holds:
        if h is not None and h.depth > 0 and not h.detached:
            sharing[h.conn] = sharing.get(h.conn, 0) + 1

    def signature(actor: int) -> tuple[object, ...]:
        h = holds[actor]
        pos = wait_pos.get(actor, -1)
        if h is None:
            return (pos, -1)
        c = conns.get(h.conn)
        return (
            pos,
            h.depth,
            h.detached,
            _conn_sig(c) if c is not None else (),
            sharing.get(h.conn, 0),
        )

    order = sorted(range(len(holds)), key=signature)
    rename: dict[int, int] = {}
    for cid in state.idle:
        rename[cid] = len(rename)
    for actor in order:
        h = holds[actor]
        if h is not None and h.conn not in rename:
            rename[h.conn] = len(rename)
    for cid in conns:
        if cid not in rename:
            rename[cid] = len(rename)
    actor_rename = {a: i for i, a in enumerate(order)}
    key_conns = tuple(sorted((rename[c.id], *_conn_sig(c)) for c in state.conns))
    key_holds = tuple(
        None if (h := holds[a]) is None else (rename[h.conn], h.depth, h.detached) for a in order
    )
    return (
        key_conns,
        tuple(rename[i] for i in state.idle),
        key_holds,
        tuple((actor_rename[w.actor], w.remaining) for w in state.waiting),
        state.closed,
        state.connect_failures,
        state.ping_failures,
    )
