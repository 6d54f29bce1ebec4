"""A v1 tie group larger than a page, read through the v2 list: :func:`v1_tie_step`.

No v1 cursor passes a full page of one ``updated`` time; the v1 walk reads the rest of such a
group from ``POST /v2/contacts/list`` by offset and checks it against what the v1 pages gave.
Pure functions; the reasoning is in docs/pagination.md.
"""

from __future__ import annotations

import hashlib
import operator
from datetime import datetime
from typing import Any, Final

import attrs

from heymarket_async._sansio import FIRST_INSTANT, format_timestamp
from heymarket_async.errors import PaginationError
from heymarket_async.pagination._positions import RawContact, V1Position
from heymarket_async.pagination._v1_step import TIE_MARGIN, parse_updated, updated_of

__all__ = [
    "V1TieStep",
    "contact_ids",
    "restart_pass",
    "tie_request",
    "v1_tie_step",
]

_ID: Final = operator.itemgetter("id")
#: The v2 page size of a tie group's read.
TIE_PAGE: Final = 100
#: Passes over a tie group before the read gives up: two in a row must agree.
MAX_PASSES: Final = 4


def contact_ids(contacts: list[RawContact]) -> frozenset[Any]:
    """The contacts' ids (``None`` for a contact without one)."""
    try:
        return frozenset(map(_ID, contacts))  # (a quarter faster than .get, once a page)
    except KeyError:
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


def restart_pass(pos: V1Position, given: frozenset[Any]) -> V1Position:
    """``pos`` at the start of its pass over the tie group, ``given`` handed out: where a saved
    position resumes (places on a v2 page mean nothing once the list has moved)."""
    return attrs.evolve(pos, tie_page=0, tie_below=None, tie_count=0, tie_ids=(), tie_given=given)


@attrs.frozen
class V1TieStep:
    """What one v2 page of a tie group's read yields (``index``: their places on the page)."""

    keep: list[RawContact]
    index: list[int]
    next: V1Position


@attrs.frozen
class TieScan:
    ids: set[Any]  # the ids at the tie met in this pass
    count: int  # how many places at the tie this pass met (more than ``ids``: a repeat)
    below: str | None  # the latest time below the tie met
    above: str | None  # the first time above it, where the pass ends
    index: list[int]  # places of the group's contacts to hand out
    stop: int  # where the scan stopped: the place of ``above``, or the end


def tie_scan(pos: V1Position, data: list[RawContact]) -> TieScan:
    """Go over ``data``, a page of a tie group's v2 read."""
    assert pos.tie is not None
    at = parse_updated(pos.tie)
    handed = pos.seen.get(pos.tie, frozenset())
    given = pos.tie_given
    ids = set(pos.tie_ids)
    count = pos.tie_count
    below = pos.tie_below
    index: list[int] = []
    fresh: set[Any] = set()
    for r, c in enumerate(data):
        value = updated_of(c)
        when = at if value == pos.tie else parse_updated(value)
        if when > at:
            # Even one dealt with before: it has changed since, and the group ends here.
            return TieScan(ids, count, below, value, index, r)
        if when < at:
            below = value
            continue
        cid = c.get("id")
        if cid is None:
            raise PaginationError(
                f"the v2 list gave a contact without an id at {pos.tie!r}: the v1 walk "
                "cannot tell which contacts of that tie group it has handed out",
                cursor=pos.tie,
            )
        count += 1
        ids.add(cid)
        if cid not in handed and cid not in given and cid not in fresh:
            fresh.add(cid)
            index.append(r)
    return TieScan(ids, count, below, None, index, len(data))


def v1_tie_step(
    pos: V1Position, data: list[RawContact], since: datetime | None = None
) -> V1TieStep:
    """Decide what a v2 page of a tie group's read yields, and where the v1 walk goes after.

    The read goes over the group by offset, from page 0 to the first contact past it (a pass),
    and hands out each id once: not those the v1 pages gave (``seen``), nor those an earlier
    pass gave. A server's order among contacts of one time may change between requests, and
    a contact that changes moves the others up a place: a pass is complete when it held no id
    twice (so it missed none) and, unless it was a single request, when the pass before held
    the same ids. Raises :class:`PaginationError` after :data:`MAX_PASSES` passes that do not
    agree, or when the two lists disagree (none of the group's v1 contacts on v2, or a list
    not in ``updated`` order).
    """
    assert pos.tie is not None
    scan = tie_scan(pos, data)
    keep = [data[r] for r in scan.index]
    index = scan.index
    given: frozenset[Any] = pos.tie_given.union([c.get("id") for c in keep])
    if since is not None and parse_updated(pos.tie) <= since:
        keep, index = [], []
    if scan.above is not None:
        _check_order(pos, data, scan)
    elif len(data) >= TIE_PAGE and scan.count == len(scan.ids):
        nxt = attrs.evolve(
            pos,
            tie_page=pos.tie_page + 1,
            tie_below=scan.below,
            tie_count=scan.count,
            tie_ids=scan.ids,
            tie_given=given,
        )
        return V1TieStep(keep, index, nxt)
    # The pass ends: past the group, at the end of the list, or at an id met twice.
    return V1TieStep(keep, index, _end_pass(pos, scan, given))


def _digest(ids: set[Any]) -> str:
    text = "\n".join(sorted(repr(i) for i in ids))
    return f"{len(ids)}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def _end_pass(pos: V1Position, scan: TieScan, given: frozenset[Any]) -> V1Position:
    assert pos.tie is not None
    whole = scan.count == len(scan.ids)  # no id twice, so none missed
    digest = _digest(scan.ids) if whole else None
    if whole and (pos.tie_page == 0 or digest == pos.tie_digest):
        handed = pos.seen.get(pos.tie, frozenset())
        if handed and handed.isdisjoint(scan.ids):
            raise PaginationError(
                f"the v2 list shows none of the {len(handed)} contacts that the v1 list gave "
                f"at {pos.tie!r} (ids {sorted(handed, key=repr)[:5]}...): the walk cannot go "
                "past that time without risking duplicates or a gap",
                cursor=pos.tie,
            )
        return _past_group(pos, scan)
    passes = pos.tie_pass + 1
    if passes >= MAX_PASSES:
        seen_ids = len(given.union(pos.seen.get(pos.tie, ())))
        raise PaginationError(
            f"the v2 list does not hold still at {pos.tie!r}: {passes} reads of the contacts "
            f"updated then did not agree (the last met {scan.count} places holding "
            f"{len(scan.ids)} distinct ids; {seen_ids} handed out in all, each once), so some "
            "may be missing: the server's order among contacts of one time changes between "
            "requests, or the group changed while it was read",
            cursor=pos.tie,
        )
    nxt = restart_pass(pos, given)
    return attrs.evolve(nxt, tie_pass=passes, tie_digest=digest)


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
    """Where the v1 walk goes once the group's read is complete: its own time again, with the
    group's contacts dropped from the answer by time (``resolved``). Should that answer be a
    whole page of the group (an inclusive server), the group past it is read through v2 next
    (``resolved_next``: on an oldest-first list the first time above, on a newest-first list
    the last one below)."""
    return attrs.evolve(
        pos,
        cursor=pos.tie,
        own_cursor=False,
        check=False,
        fallback=None,
        seen={},
        tie=None,
        tie_page=0,
        tie_below=None,
        tie_given=(),
        tie_count=0,
        tie_ids=(),
        tie_pass=0,
        tie_digest=None,
        resolved=pos.tie,
        resolved_next=scan.below if pos.descending else scan.above,
    )
