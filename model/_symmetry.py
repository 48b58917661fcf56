"""Symmetry reduction: one key for all states equal up to renaming.

Actors are interchangeable threads and connection ids are mere names, so two
states that differ only by a permutation of actors and a renaming of
connections behave alike. ``canonical_key`` maps both to the same key:

1. each actor gets a signature from what it holds (depth, detached, lost, the
   held connection's attributes and how many share it) and its place in the
   waiting list; actors are ordered by signature;
2. connections are renamed in order of first appearance: idle ones in idle
   order, then those held, by actor in that order;
3. the key lists the renamed connections, idle list, holds and waiting list,
   plus the pool-wide flags.

Ties between actors with equal signatures are broken by the original order;
that can leave two symmetric states with different keys (less reduction), but
never gives two different states the same key, so the reduction is sound.
Outside shared mode such a tie never matters: tied actors hold distinct
connections with equal attributes, and renaming gives them equal entries.

``twins`` finds the same symmetry inside one state: actors that a renaming
swaps without changing the state. Their operations lead to states equal up to
renaming, so the checker explores one of them (see ``_checker``).
"""

from __future__ import annotations

from collections.abc import Hashable
from operator import attrgetter

from ._config import Config
from ._state import Conn, State

_conn_sig = attrgetter(
    "alive", "txn", "begun", "dirty", "uses", "age", "idle_for", "stale", "broken"
)
"""A connection's attributes without its id (a tuple; C-speed ``attrgetter``)."""

_NO_CONN: tuple[()] = ()


def canonical_key(state: State) -> Hashable:
    """A hashable key equal for states equal up to renaming actors and connections."""
    sigs: dict[int, tuple[object, ...]] = {c.id: _conn_sig(c) for c in state.conns}
    holds = state.holds
    waiting = state.waiting
    wait_pos = {w.actor: i for i, w in enumerate(waiting)} if waiting else {}
    sharing: dict[int, int] = {}
    for h in holds:
        if h is not None and h.depth > 0 and not h.detached:
            sharing[h.conn] = sharing.get(h.conn, 0) + 1

    signatures: list[tuple[object, ...]] = []
    for actor, h in enumerate(holds):
        pos = wait_pos.get(actor, -1)
        if h is None:
            signatures.append((pos, -1))
        else:
            cid = h.conn
            signatures.append(
                (pos, h.depth, h.detached, h.lost, sigs.get(cid, _NO_CONN), sharing.get(cid, 0))
            )
    order = sorted(range(len(holds)), key=signatures.__getitem__)

    rename: dict[int, int] = {}
    for cid in state.idle:
        rename[cid] = len(rename)
    for actor in order:
        h = holds[actor]
        if h is not None and h.conn not in rename:
            rename[h.conn] = len(rename)
    for cid in sigs:
        if cid not in rename:
            rename[cid] = len(rename)
    key_holds = tuple(
        None if (h := holds[a]) is None else (rename[h.conn], h.depth, h.detached, h.lost)
        for a in order
    )
    if waiting:
        actor_rename = {a: i for i, a in enumerate(order)}
        key_waiting: tuple[tuple[int, int | None], ...] = tuple(
            (actor_rename[w.actor], w.remaining) for w in waiting
        )
    else:
        key_waiting = ()
    return (
        tuple(sorted((rename[cid], *sig) for cid, sig in sigs.items())),
        tuple(rename[i] for i in state.idle),
        key_holds,
        key_waiting,
        state.closed,
        state.connect_failures,
        state.ping_failures,
    )


Renaming = dict[int | None, int]
"""Actor (or connection) to its representative; keyed by ``int | None`` to take ``Op`` fields."""


def twins(config: Config, state: State) -> tuple[Renaming, Renaming]:
    """Actors (and their connections) that one renaming swaps leaving ``state`` unchanged.

    Actors ``a < b`` are twins when neither waits and either both hold
    nothing, or they hold distinct connections with equal depth and
    ``detached`` flag, each connection held by nobody else and not idle, both
    open with equal attributes or both detached. Swapping ``a`` with ``b`` and
    their connections then maps the state to itself (up to the order of
    ``conns``, which nothing reads). Shared mode is left out: there a checkout
    picks among connections by id, so renaming them is not a symmetry.

    Returns:
        ``(actors, conns)``: each twin actor, and each of its connections,
        mapped to its representative (the lowest actor of its class and that
        actor's connection). Actors and connections without a twin are absent.
    """
    if config.shared or len(state.holds) < 2:
        return {}, {}
    waiting = {w.actor for w in state.waiting}
    idle = set(state.idle)
    conns: dict[int, Conn] = {c.id: c for c in state.conns}
    held: dict[int, int] = {}
    for h in state.holds:
        if h is not None:
            held[h.conn] = held.get(h.conn, 0) + 1
    first: dict[Hashable, int] = {}
    actor_map: Renaming = {}
    conn_map: Renaming = {}
    for actor, h in enumerate(state.holds):
        if actor in waiting:
            continue
        cls: Hashable
        if h is None:
            cls = None
        else:
            cid = h.conn
            if held[cid] != 1 or cid in idle or (cid in conns) == h.detached:
                continue  # not a plain hold: no twin (and never a wrong one)
            c = conns.get(cid)
            cls = (h.depth, h.detached, h.lost, None if c is None else _conn_sig(c))
        rep = first.setdefault(cls, actor)
        if rep != actor:
            actor_map[actor] = rep
            rep_hold = state.holds[rep]
            if h is not None and rep_hold is not None and not h.detached:
                conn_map[h.conn] = rep_hold.conn
    return actor_map, conn_map
