"""A v1 tie group larger than a page, read through the v2 list: :func:`v1_tie_step`.

No v1 cursor passes a full page of one ``updated`` time; the v1 walk reads the rest of such a
group from ``POST /v2/contacts/list`` by offset and checks it against what the v1 pages gave.
Pure functions; the reasoning is in docs/pagination.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from heymarket_async._sansio import FIRST_INSTANT, format_timestamp
from heymarket_async.errors import PaginationError
from heymarket_async.pagination._positions import RawContact, V1Position
from heymarket_async.pagination._v1_step import parse_updated, updated_of

__all__ = [
    "V1TieStep",
    "contact_ids",
    "tie_check_request",
    "tie_request",
    "tie_scan",
    "v1_tie_step",
]

#: The v2 page size of a tie group's read.
TIE_PAGE: Final = 100
#: How far before a tie group its v2 read starts (the coarsest resolution a server may use).
TIE_MARGIN: Final = timedelta(seconds=1)
#: Stands for "no contact there" when the checked place is past the end of the list.
_NONE: Final = object()


def contact_ids(contacts: Iterable[RawContact]) -> frozenset[Any]:
    return frozenset([c.get("id") for c in contacts])


def tie_request(pos: V1Position) -> dict[str, Any]:
    """The v2 list body for the next page of a tie group's read.

    Oldest first, from one second before the group, so that the whole group is in the answer
    whether the v2 ``date`` filter is inclusive or not and whatever resolution it compares at.
    """
    assert pos.tie is not None
    body: dict[str, Any] = {"limit": TIE_PAGE, "page": pos.tie_page, "ascending": True}
    tie = parse_updated(pos.tie)
    if tie - FIRST_INSTANT >= TIE_MARGIN:
        # (In the first second RFC 3339 can write, there is no time before it: no filter.)
        body["date"] = format_timestamp(tie - TIE_MARGIN)
    return body


def tie_check_request(pos: V1Position) -> dict[str, Any]:
    """The v2 list body for the one contact that should end the page before ``pos.tie_page``
    (a ``limit`` of 1 makes ``page`` an offset)."""
    body = tie_request(pos)
    return {**body, "limit": 1, "page": pos.tie_page * TIE_PAGE - 1}


@attrs.frozen
class V1TieStep:
    """What one v2 page of a tie group's read yields (``index``: their places on the page)."""

    keep: list[RawContact]
    index: list[int]
    next: V1Position


@attrs.frozen
class TieScan:
    missing: set[Any]  # ids the v1 pages gave at the tie, not met on the v2 pages yet
    matched: int  # how many of those were met
    below: str | None  # the latest time below the tie met
    above: str | None  # the first time above it, where the read ends
    index: list[int]  # places of the group's contacts to hand out
    stop: int  # where the scan stopped: the place of ``above``, or the end


def tie_scan(pos: V1Position, data: list[RawContact], end: int) -> TieScan:
    """Go over ``data[pos.tie_skip:end]``, a page of a tie group's v2 read."""
    assert pos.tie is not None
    at = parse_updated(pos.tie)
    missing = set(pos.seen.get(pos.tie, ()))
    matched = pos.tie_matched
    below = pos.tie_below
    excl = pos.tie_excl
    index: list[int] = []
    for r in range(pos.tie_skip, end):
        c = data[r]
        value = updated_of(c)
        when = at if value == pos.tie else parse_updated(value)
        if when > at:
            # Even one dealt with before: it has changed since, and the group ends here.
            return TieScan(missing, matched, below, value, index, r)
        if excl and c.get("id") in excl:
            continue  # dealt with before the list moved up (or before a resume)
        if when < at:
            below = value
        else:
            cid = c.get("id")
            if cid is None:
                raise PaginationError(
                    f"the v2 list gave a contact without an id at {pos.tie!r}: the v1 walk "
                    "cannot tell which contacts of that tie group it has handed out",
                    cursor=pos.tie,
                )
            if cid in missing:
                missing.discard(cid)
                matched += 1
            else:
                index.append(r)
    return TieScan(missing, matched, below, None, index, end)


def v1_tie_step(
    pos: V1Position,
    data: list[RawContact],
    since: datetime | None = None,
    check: list[RawContact] | None = None,
) -> V1TieStep:
    """Decide what a v2 page of a tie group's read yields, and where the v1 walk goes after.

    The group's contacts the v1 pages gave (``seen``) are dropped, the others handed out.
    ``check`` is the answer to :func:`tie_check_request`, read after this page: if the page
    before no longer ends where it did, that page is read again. Raises
    :class:`PaginationError` when the two lists disagree (none of the group's v1 contacts on
    v2, a list not in ``updated`` order, or one that moved by a whole page).
    """
    assert pos.tie is not None
    back = _moved_up(pos, check)
    if back is not None:
        return V1TieStep([], [], back)
    # A page read again (no tie_prev past page 0) must still hold some of what it held.
    again = pos.tie_page > 0 and pos.tie_prev is None and bool(pos.tie_excl)
    if again and not any(c.get("id") in pos.tie_excl for c in data):
        raise PaginationError(
            f"the v2 list moved by a page or more while the tie group at {pos.tie!r} was read "
            "through it: the walk cannot tell which contacts it skipped",
            cursor=pos.tie,
        )
    scan = tie_scan(pos, data, len(data))
    keep = [data[r] for r in scan.index]
    index = scan.index
    if since is not None and parse_updated(pos.tie) <= since:
        keep, index = [], []
    if scan.above is not None:
        _check_order(pos, data, scan)
    elif len(data) >= TIE_PAGE:
        nxt = attrs.evolve(
            pos,
            tie_page=pos.tie_page + 1,
            tie_skip=0,
            tie_below=scan.below,
            tie_matched=scan.matched,
            seen={pos.tie: scan.missing},
            tie_prev=[c.get("id") for c in data],
            # Contacts dealt with before that this page no longer holds may be on the next.
            tie_excl=pos.tie_excl - contact_ids(data),
        )
        return V1TieStep(keep, index, nxt)
    return V1TieStep(keep, index, _past_group(pos, scan))


def _moved_up(pos: V1Position, check: list[RawContact] | None) -> V1Position | None:
    """Where to go when contacts before this page changed or went since the page before was
    read (``None``: they did not): the first contacts of this page are now at the end of that
    one, which is read again, dealing only with what it did not hold before."""
    if not (pos.tie_prev and pos.tie_page and check is not None):
        return None
    now_last = check[0].get("id") if check else _NONE
    if now_last == pos.tie_prev[-1]:
        return None
    return attrs.evolve(
        pos,
        tie_page=pos.tie_page - 1,
        tie_skip=0,
        tie_prev=None,
        tie_excl=pos.tie_excl.union(pos.tie_prev),
    )


def _check_order(pos: V1Position, data: list[RawContact], scan: TieScan) -> None:
    """Raise unless the page is in ``updated`` order past the group: the read ends at the first
    contact past it, which would skip the rest of the group should it come later still."""
    assert pos.tie is not None
    at = parse_updated(pos.tie)
    for c in data[scan.stop + 1 :]:
        if parse_updated(updated_of(c)) <= at:
            raise PaginationError(
                f"the v2 list is not in updated order around {pos.tie!r} ({c.get('id')!r} "
                f"at {updated_of(c)!r} comes after {scan.above!r}): the walk cannot read that "
                "tie group through it without risking a gap",
                cursor=pos.tie,
            )


def _past_group(pos: V1Position, scan: TieScan) -> V1Position:
    """Where the v1 walk goes once the group's read is over.

    An exclusive server gets the group's own time; an inclusive one the first time past it (on
    an oldest-first list the next one up, on a newest-first list the last one below or the
    read's start); one not known yet gets the group's time, remembering where to go should it
    send the group again.
    """
    if not scan.matched:
        raise PaginationError(
            f"the v2 list shows none of the {len(scan.missing)} contacts that the v1 list gave "
            f"at {pos.tie!r} (ids {sorted(scan.missing, key=repr)[:5]}...): the walk cannot "
            "go past that time without risking duplicates or a gap",
            cursor=pos.tie,
        )
    if pos.descending:
        past: str | None = scan.below or tie_request(pos)["date"]
    else:
        past = scan.above
    base = attrs.evolve(
        pos,
        seen={},
        tie=None,
        tie_page=0,
        tie_skip=0,
        tie_below=None,
        tie_matched=0,
        tie_prev=None,
        tie_excl=(),
        own_cursor=False,
    )
    if pos.inclusive:
        if past is None:
            return attrs.evolve(base, done=True)
        return attrs.evolve(base, cursor=past, own_cursor=True)
    if pos.inclusive is None:
        return attrs.evolve(base, cursor=pos.tie, resolved=pos.tie, resolved_next=past)
    return attrs.evolve(base, cursor=pos.tie)
