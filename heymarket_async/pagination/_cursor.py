"""What the time-cursor walks (v1 contacts, tags) share: reading a cursor's answer, and the cap
on the requests a walk may send."""

from __future__ import annotations

from typing import Final

from heymarket_async.errors import PaginationError

__all__ = ["RequestCap", "learn_inclusive"]


def learn_inclusive(known: bool | None, sent: str | None, first: str | None) -> bool | None:
    """Whether the ``date`` cursor is inclusive, after a non-empty page answered ``sent``.

    ``known`` is what earlier pages showed; ``first`` is the page's first time, byte for byte.
    A page that starts at the cursor's own time shows an inclusive server; any other page
    makes a server not known yet exclusive. ``sent=None`` (no cursor, or one not copied from
    the server) shows nothing.
    """
    if sent is None:
        return known
    if first == sent:
        return True
    return False if known is None else known


class RequestCap:
    """No walk sends requests forever: at most :attr:`FACTOR` times the requests an honest
    walk needs for what was handed out so far, plus :attr:`ALLOWANCE`.

    The walk calls :meth:`spend` before each request and :meth:`earn` with the honest cost of
    what it hands out (a page's worth of items is one request).
    """

    FACTOR: Final = 3
    ALLOWANCE: Final = 20

    def __init__(self, walk: str) -> None:
        self._walk = walk
        self.sent = 0
        self._earned = 0.0

    def earn(self, requests: float) -> None:
        self._earned += requests

    def spend(self, cursor: str | None = None) -> None:
        """Count one more request, or raise :class:`PaginationError` if it is one too many."""
        if self.sent >= self.ALLOWANCE + self.FACTOR * self._earned:
            raise PaginationError(
                f"the {self._walk} walk has sent {self.sent} requests for what a walk of "
                f"{self._earned:.1f} requests hands out: the server keeps answering with what "
                "was handed out already",
                cursor=cursor,
            )
        self.sent += 1
