"""The base of the model's enums: members hash in C.

``Enum.__hash__`` is a Python function (the hash of the member's name), and
the model checker hashes op kinds, effect kinds and results millions of times
(dict dispatch, ``kind in ops``, ``Effect`` in a tuple). Members are
singletons compared by identity, so hashing by identity agrees with equality
and costs a C call. Iteration order of a set of members is no less stable than
before: names hash differently in every process anyway (``PYTHONHASHSEED``).
"""

from __future__ import annotations

from enum import Enum


class FastEnum(Enum):
    """An ``Enum`` whose members hash by identity (see the module docstring)."""

    __hash__ = object.__hash__
