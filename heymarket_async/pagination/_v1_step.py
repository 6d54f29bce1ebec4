"""The v1 cursor walk's decision for one page, as a pure function: :func:`v1_step`.

The rules it follows (and why they never skip a contact, whatever the list's order and the
cursor's inclusivity) are in docs/pagination.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

import attrs

from heymarket_async._sansio import FIRST_INSTANT, format_timestamp, parse_timestamp
from heymarket_async.errors import PaginationError
from heymarket_async.pagination._positions import RawContact, V1Position, evolved

__all__ = [
    "TIE_MARGIN",
    "V1Step",
    "merge_seen",
    "parse_updated",
    "start_tie",
    "unseen",
    "updated_of",
    "v1_step",
]

#: How far before a tie group its v2 read starts (the coarsest resolution a server may use).
TIE_MARGIN: Final = timedelta(seconds=1)


class V1Step(NamedTuple):
    """What one v1 page means: the contacts to hand out (``new`` of them not seen before the
    ``since`` filter), and where the walk goes next (``next.tie`` set: a group too large for a
    v1 page, read through v2 next, see :func:`v1_tie_step`). ``set_aside``: the page answered
    a checked cursor without showing its group, so none of it was read (not a page that brought
    nothing new). A tuple: made once a page."""

    keep: list[RawContact]
    next: V1Position
    new: int
    set_aside: bool = False


def updated_of(contact: RawContact, why: str = "the v1 cursor cannot advance past it") -> str:
    """A contact's ``updated`` text, which the cursor is made of (``why``: what its absence
    stops, for the error)."""
    value = contact.get("updated")
    if type(value) is not str or not value:
        raise PaginationError(f"a contact without an updated time ({contact.get('id')!r}): {why}")
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
    page_size = max(pos.page_size, n)
    first = updated_of(page[0]) if n else None
    last = updated_of(page[-1]) if n else None
    full_tie = n >= page_size and first == last
    if (
        pos.check
        and not (full_tie and first == pos.cursor)
        and not _shows(page, pos.seen.get(pos.cursor or "", ()))
    ):
        # The cursor was the last page's last time, and the answer does not show the contacts
        # it gave there: the rest of that group may be behind the answer (a server comparing
        # finer than it writes). The guess that made the walk send that cursor is given up for
        # good (``inclusive`` False); the time before it is safe, or else v2.
        if pos.fallback is None:
            return V1Step([], _tie_at_cursor(pos), 0, set_aside=True)
        back = attrs.evolve(pos, cursor=pos.fallback, check=False, fallback=None, inclusive=False)
        return V1Step([], back, 0, set_aside=True)
    if first is None or last is None:
        return V1Step([], attrs.evolve(pos, done=True, seen={}), 0)
    if pos.resolved is not None and full_tie and _at(page[0], pos.resolved):
        return _past_resolved(pos)
    inclusive = pos.inclusive
    if inclusive is None and pos.cursor is not None and not pos.own_cursor:
        # Only a cursor copied from a contact can be compared byte for byte with the answer.
        # A guess, never trusted: it picks the cheaper cursor, which is then checked.
        inclusive = first == pos.cursor
    first_dt = parse_updated(first)
    last_dt = first_dt if last == first else parse_updated(last)
    descending = _learn_order(pos, first_dt, last_dt)
    keep = unseen(page, pos.seen)
    if pos.resolved is not None:
        # Read through v2 already, every one of them (ids kept would be the whole group).
        keep = [c for c in keep if not _at(c, pos.resolved)]
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
        "check": False,
        "fallback": None,
    }
    if done:
        learned["done"] = True
        learned["seen"] = {}
        return V1Step(keep, evolved(pos, learned), new)
    if jump:
        assert pos.since is not None
        learned["cursor"] = pos.since
        learned["own_cursor"] = True
        learned["seen"] = {}
        return V1Step(keep, evolved(pos, learned), new)
    if first == last:
        # A full page of one timestamp: a later cursor skips, an earlier one repeats.
        return V1Step(keep, _tie_found(pos, page, learned), new)
    return V1Step(keep, _next_cursor(pos, page, learned), new)


def _shows(page: list[RawContact], ids: Iterable[Any]) -> bool:
    """Whether ``page`` holds one of ``ids`` (those at the cursor's time come first)."""
    if not isinstance(ids, (set, frozenset)):
        ids = frozenset(ids)
    return any(c.get("id") in ids for c in page)


def _at(contact: RawContact, value: str) -> bool:
    """Whether ``contact`` was updated at ``value`` (the same text, or the same time written
    another way: ``value`` may come from the v2 list)."""
    text = contact.get("updated")
    if text == value:
        return True
    return type(text) is str and parse_updated(text) == parse_updated(value)


def _tie_found(pos: V1Position, page: list[RawContact], learned: dict[str, Any]) -> V1Position:
    """Where the walk goes after a full page of one time: the rest of that group, through v2."""
    tie = page[-1]["updated"]
    given = merge_seen({tie: pos.seen.get(tie, frozenset())}, page)
    return start_tie(evolved(pos, learned), tie, given)


def _tie_at_cursor(pos: V1Position) -> V1Position:
    """The cursor's group, read through v2 after an answer that may have skipped some of it.

    The guess that made the walk send that cursor is given up for good (``inclusive`` False).
    """
    assert pos.cursor is not None
    given = {pos.cursor: pos.seen.get(pos.cursor, frozenset())}
    nxt = attrs.evolve(pos, inclusive=False, check=False, fallback=None)
    return start_tie(nxt, pos.cursor, given)


def start_tie(pos: V1Position, tie: str, seen: Mapping[str, Iterable[Any]]) -> V1Position:
    """``pos`` at the start of a tie group's read at ``tie``; ``seen`` holds the ids there that
    the v1 pages gave."""
    return attrs.evolve(
        pos,
        seen=seen,
        tie=tie,
        tie_page=0,
        tie_below=None,
        tie_given=(),
        tie_count=0,
        tie_ids=(),
        tie_pass=0,
        tie_digest=None,
        resolved=None,
        resolved_next=None,
        check=False,
        fallback=None,
    )


def _past_resolved(pos: V1Position) -> V1Step:
    """The cursor sent after a tie group's read brought a whole page of that group again (an
    inclusive server): no v1 cursor passes it, so the group past it is read through v2 (and
    then the walk goes on from there)."""
    assert pos.resolved is not None
    if pos.resolved_next is not None:
        nxt = start_tie(attrs.evolve(pos, own_cursor=False), pos.resolved_next, {})
        return V1Step([], nxt, 0)
    done = attrs.evolve(pos, done=True, seen={}, resolved=None)
    if not pos.descending:
        return V1Step([], done, 0)  # the v2 read found nothing past the group: the end
    # Newest-first, and nothing in the second before the group: a cursor there passes it.
    at = parse_updated(pos.resolved)
    if at - FIRST_INSTANT < TIE_MARGIN:
        return V1Step([], done, 0)  # (no time before the first second RFC 3339 can write)
    before = at - TIE_MARGIN
    nxt = attrs.evolve(
        pos,
        cursor=format_timestamp(before),
        own_cursor=True,
        seen={},
        resolved=None,
        resolved_next=None,
        check=False,
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


def unseen(page: list[RawContact], seen: Mapping[str, frozenset[Any]]) -> list[RawContact]:
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

    Whatever the server's cursor does, the last different time before the page's last is safe:
    the answer starts at or before the first contact at the last time. The last time itself is
    sent instead when the server seemed inclusive (it costs fewer repeats) or when the last
    different time is the cursor just sent (the page held the cursor's group and one other);
    then the answer must show one of the ids at that time (``check``, see :func:`v1_step`).
    ``seen`` keeps the ids at the cursor's time and the last one only.
    """
    last = page[-1]["updated"]
    k = len(page) - 1
    while page[k].get("updated") == last:
        k -= 1
    before = updated_of(page[k])
    if before == pos.cursor and page[0].get("updated") != before:
        raise PaginationError(
            f"the v1 cursor {before!r} does not advance: the page holds that time again after "
            "others",
            cursor=before,
        )
    check = bool(learned["inclusive"]) or before == pos.cursor
    cursor = last if check else before
    if cursor == pos.cursor and not pos.own_cursor:
        raise PaginationError(
            f"the v1 cursor {cursor!r} does not advance: the same page would be asked for again",
            cursor=cursor,
        )
    while k >= 0 and page[k].get("updated") == before:
        k -= 1
    kept = {v: ids for v, ids in pos.seen.items() if v in (before, last)}
    seen = merge_seen(kept, page[k + 1 :])
    learned["check"] = check
    if check and before != pos.cursor:
        learned["fallback"] = before
    learned["cursor"] = cursor
    learned["own_cursor"] = False
    learned["seen"] = seen
    return evolved(pos, learned)
