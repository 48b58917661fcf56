"""Helpers for driving the model step by step in tests."""

from __future__ import annotations

from collections.abc import Sequence

from model import Config, Effect, EffectKind, Op, OpKind, Outcome, State, initial, step


def op(text: str) -> Op:
    """Parse ``acquire(a0)``, ``kill(c1)`` or ``tick()`` into an ``Op``."""
    name, _, arg = text.partition("(")
    arg = arg.rstrip(")")
    kind = OpKind(name)
    if arg.startswith("a"):
        return Op(kind, actor=int(arg[1:]))
    if arg.startswith("c"):
        return Op(kind, conn=int(arg[1:]))
    return Op(kind)


def run(config: Config, script: Sequence[str], actors: int = 3) -> list[Outcome]:
    """Apply each op of ``script`` in turn; each must have exactly one outcome."""
    state: State = initial(config, actors).state
    outs = []
    for text in script:
        found = step(config, state, op(text))
        assert len(found) == 1, f"{text} has {len(found)} outcomes"
        outs.append(found[0])
        state = found[0].state
    return outs


def calls(out: Outcome) -> list[str]:
    """The outcome's driver calls as short strings (``connect(c0)``)."""
    return [str(e) for e in out.effects]


def fx(kind: EffectKind, conn: int | None) -> Effect:
    """Shorthand for an effect."""
    return Effect(kind, conn)
