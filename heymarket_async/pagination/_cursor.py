"""What the time-cursor walks (v1 contacts, tags) share: reading a cursor's answer."""

from __future__ import annotations

__all__ = ["learn_inclusive"]


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
