"""The v1 cursor walk's decision for one page, as a pure function: :func:`v1_step`.

The rules it follows (and why they never skip a contact, whatever the list's order and the
cursor's inclusivity) are in docs/pagination.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from heymarket_async._sansio import parse_timestamp
from heymarket_async.errors import PaginationError
from heymarket_async.pagination._cursor import learn_inclusive
from heymarket_async.pagination._positions import RawContact, V1Position

__all__ = ["V1Step", "merge_seen", "parse_updated", "updated_of", "v1_step"]


@attrs.frozen
class V1Step:
    """What one v1 page means: the contacts to hand out (``new`` of them not seen before the
    ``since`` filter), and where the walk goes next (``next.tie`` set: a group too large for a
    v1 page, read through v2 next, see :func:`v1_tie_step`)."""

    keep: list[RawContact]
    next: V1Position
    new: int


def updated_of(contact: RawContact) -> str:
    """A contact's ``updated`` text, which the cursor is made of."""
    value = contact.get("updated")
    if type(value) is not str or not value:
        raise PaginationError(
            f"a contact without an updated time ({contact.get('id')!r}): the v1 cursor cannot "
            "advance past it"
        )
    return value


def parse_updated(value: str) -> datetime:
    try:
        return parse_timestamp(value)
    except ValueError:
        raise PaginationError(f"not an RFC 3339 updated time: {value!r}", cursor=value) from None


def merge_seen(
    seen: Mapping[str, frozenset[Any]], contacts: Iterable[RawContact]
) -> dict[str, Any]:
    """``seen`` with the ids of ``contacts`` added under their ``updated`` values."""
    out: dict[str, set[Any]] = {k: set(v) for k, v in seen.items()}
    for c in contacts:
        value = c.get("updated")
        if type(value) is str:
            out.setdefault(value, set()).add(c.get("id"))
    return out


def v1_step(pos: V1Position, page: list[RawContact], since: datetime | None = None) -> V1Step:
    """Decide what a v1 page, the answer to ``pos``, yields and which cursor to send next.

    No I/O. ``since`` drops the contacts updated at or before it. Raises
    :class:`PaginationError` for a page that answers a cursor with contacts from before it, or
    a cursor that would not advance, instead of looping.
    """
    n = len(page)
    if n == 0:
        return V1Step([], attrs.evolve(pos, done=True, seen={}), 0)
    first = updated_of(page[0])
    last = updated_of(page[-1])
    if pos.resolved is not None and first == pos.resolved:
        return _past_resolved(pos)
    # Only a cursor copied from a contact can be compared byte for byte with the answer.
    inclusive = learn_inclusive(pos.inclusive, None if pos.own_cursor else pos.cursor, first)
    first_dt = parse_updated(first)
    last_dt = first_dt if last == first else parse_updated(last)
    descending = _learn_order(pos, first_dt, last_dt)
    page_size = max(pos.page_size, n)
    keep = _unseen(page, pos.seen)
    new = len(keep)

    done = n < page_size
    jump = False
    if since is not None:
        if first_dt <= since or last_dt <= since:
            keep = [c for c in keep if parse_updated(updated_of(c)) > since]
        if last_dt <= since and not done:
            if descending:
                done = True
            elif pos.cursor is None:
                # Oldest-first (or not known yet): everything up to ``since`` can be skipped.
                jump = True

    # One evolve per page (this runs for every 30 contacts of a walk). A tie group read
    # through v2 is behind the walk once a page has not repeated it.
    learned: dict[str, Any] = {
        "descending": descending,
        "inclusive": inclusive,
        "page_size": page_size,
        "resolved": None,
        "resolved_next": None,
    }
    if done:
        return V1Step(keep, attrs.evolve(pos, **learned, done=True, seen={}), new)
    if jump:
        assert pos.since is not None
        nxt = attrs.evolve(pos, **learned, cursor=pos.since, own_cursor=True, seen={})
        return V1Step(keep, nxt, new)
    if first == last:
        # A full page of one timestamp: a later cursor skips, an earlier one repeats.
        return V1Step(keep, _tie_found(pos, page, learned), new)
    return V1Step(keep, _next_cursor(pos, page, learned), new)


def _tie_found(pos: V1Position, page: list[RawContact], learned: dict[str, Any]) -> V1Position:
    """Where the walk goes after a full page of one time: the rest of that group, through v2."""
    return attrs.evolve(
        pos,
        **learned,
        seen=merge_seen(pos.seen, page),
        tie=page[-1]["updated"],
        tie_page=0,
        tie_skip=0,
        tie_prev=None,
        tie_excl=(),
    )


def _past_resolved(pos: V1Position) -> V1Step:
    """An inclusive server sent again the tie group that was read through v2: go past it."""
    if pos.resolved_next is None:
        return V1Step([], attrs.evolve(pos, done=True, seen={}, inclusive=True), 0)
    nxt = attrs.evolve(
        pos,
        cursor=pos.resolved_next,
        own_cursor=True,
        inclusive=True,
        seen={},
        resolved=None,
        resolved_next=None,
    )
    return V1Step([], nxt, 0)


def _learn_order(pos: V1Position, first: datetime, last: datetime) -> bool | None:
    """Whether the list runs newest-first, after this page (``None``: not known yet)."""
    descending = pos.descending
    if first != last:
        descending = first > last
    if pos.cursor is not None:
        at = parse_updated(pos.cursor)
        if descending is None and first != at:
            # A page of one time still tells the order: it lies beyond the cursor.
            descending = first < at
        elif first > at if descending else first < at:
            raise PaginationError(
                f"the server answered the v1 cursor {pos.cursor!r} with contacts from before it",
                cursor=pos.cursor,
            )
    return descending


def _unseen(page: list[RawContact], seen: Mapping[str, frozenset[Any]]) -> list[RawContact]:
    """The page without what was handed out already: what a cursor sends again, or the first
    part of the page when resuming from a position saved in the middle of it."""
    if not seen:
        return page
    # One lookup clears the contacts at a time not in ``seen`` (nearly all of them).
    return [
        c for c in page if c.get("updated") not in seen or c.get("id") not in seen[c["updated"]]
    ]


def _next_cursor(pos: V1Position, page: list[RawContact], learned: dict[str, Any]) -> V1Position:
    """Where the walk goes after a full page of more than one time.

    An inclusive server gets the page's last time; any other the last different time before
    it (given the last, an exclusive server would skip what did not fit on the page). ``seen``
    keeps the ids at those two times only.
    """
    last = page[-1]["updated"]
    k = len(page) - 1
    while page[k].get("updated") == last:
        k -= 1
    if learned["inclusive"]:
        cursor = last
    else:
        cursor = updated_of(page[k])
        while k >= 0 and page[k].get("updated") == cursor:
            k -= 1
    if cursor == pos.cursor and not pos.own_cursor:
        raise PaginationError(
            f"the v1 cursor {cursor!r} does not advance: the same page would be asked for again",
            cursor=cursor,
        )
    kept = {v: ids for v, ids in pos.seen.items() if v in (cursor, last)}
    seen = merge_seen(kept, page[k + 1 :])
    return attrs.evolve(pos, **learned, cursor=cursor, own_cursor=False, seen=seen)
