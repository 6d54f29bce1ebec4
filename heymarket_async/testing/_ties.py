"""The order of contacts that tie on ``updated`` in list answers (``tie_order``).

A real server's ``ORDER BY updated LIMIT n OFFSET m`` without a tie-breaker may order a tie
group differently on every query. The emulator models that with a function per list request
that maps a contact's rank in its group (in the stable order, by id) to the rank answered
there, so a page, a slice of the reordered list, is computed without reordering more than the
contacts it holds, however large the group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal

from ._seed import mix

TieOrder = Literal["stable", "reversed", "shuffled"]
TIE_ORDERS: Final = ("stable", "reversed", "shuffled")

#: ``reorder(rank, size, group)``: the stable rank shown at ``rank`` in a group of ``size``
#: contacts tied at ``group`` (their compared time).
Reorder = Callable[[int, int, int], int]

_ROUNDS: Final = 4


def reorder_for(tie_order: str, request: int, seed: int) -> Reorder | None:
    """The reordering of list request ``request`` (from 1), or ``None`` for the stable order.

    ``"reversed"`` reverses every group on even requests; ``"shuffled"`` permutes every group
    at random, by ``seed``, ``request`` and the group's time, reproducibly.
    """
    if tie_order == "stable":
        return None
    if tie_order == "reversed":
        return None if request % 2 else _reverse
    key = mix(mix(seed) ^ request)

    def shuffled(rank: int, size: int, group: int) -> int:
        return permute(rank, size, mix(key ^ group))

    return shuffled


def _reverse(rank: int, size: int, group: int) -> int:
    return size - 1 - rank


def permute(i: int, n: int, key: int) -> int:
    """``i``'s image under the pseudo-random permutation of ``range(n)`` chosen by ``key``.

    A small Feistel network on the smallest even number of bits that holds ``n - 1``, walked
    until it lands inside ``range(n)`` (a bijection, fewer than 4 steps on average), so the
    permutation of a huge group costs nothing until a rank is asked for.
    """
    half = max(1, ((n - 1).bit_length() + 1) // 2)
    mask = (1 << half) - 1
    keys = [mix(key + r) for r in range(_ROUNDS)]
    x = i
    while True:
        left, right = x >> half, x & mask
        for k in keys:
            left, right = right, left ^ (mix(right ^ k) & mask)
        x = left << half | right
        if x < n:
            return x
