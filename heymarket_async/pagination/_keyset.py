"""The v2 keyset walk's decisions, as pure functions: :func:`keyset_step` and :func:`tie_step`.

A slice of the walk sends ``{"ascending": true, "date": cursor}`` and reads what comes after
the cursor. A contact that changes moves after every cursor (its ``updated`` becomes now), never
before one, so each contact that does not change is read at least once however the team
changes meanwhile. The boundary follows the v1 cursor's rules: the cursor is a time the server
sent, the ids handed out at the cursor's time and at the page's last time are remembered and
dropped when sent again, and the walk never relies on the cursor being exclusive (a server may
render milliseconds and compare microseconds). A full page of one time is a tie group, read by
offset and verified (:func:`tie_step`). The reasoning is in docs/pagination.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from heymarket_async import _validate as check
from heymarket_async._sansio import parse_timestamp
from heymarket_async.errors import PaginationError
from heymarket_async.pagination._positions import (
    RawContact,
    bad_resume,
    evolved,
    freeze_seen,
    load_position,
    saved_ids,
    saved_time,
)
from heymarket_async.pagination._v1_step import merge_seen, parse_updated, unseen
from heymarket_async.pagination._v1_step import updated_of as v1_updated_of

__all__ = ["MAX_PASSES", "Slice", "V2Position", "keyset_step", "resume_point", "tie_step"]

_SLACK: Final = timedelta(seconds=1)
_NO_TIME: Final = (
    "the keyset walk cannot place it; iter_contacts_by_offset() reads the server's order as it is"
)
#: How many times a tie group is read before the walk gives up on it.
MAX_PASSES: Final = 4
_FORMAT: Final = 2


def _saved_digest(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 64:
        raise bad_resume("a tie group's digest must be a short string")
    return value


def _digest(prev: str, ids: list[Any]) -> str:
    """``prev`` extended with ``ids`` in order: stable across processes (a saved position)."""
    return hashlib.blake2b(f"{prev}|{ids!r}".encode(), digest_size=16).hexdigest()


def _slices(value: Iterable[Slice]) -> tuple[Slice, ...]:
    return tuple(value)


# Without slots, as V2Position: :func:`evolved` copies its ``__dict__`` (once a page).
@attrs.frozen(kw_only=True, slots=False)
class Slice:
    """Where one slice of a keyset walk stands (the whole walk is one slice unless split).

    ``cursor`` is the ``date`` sent (a time the server sent, ``since``, or a slice's lower
    boundary); contacts at or before ``floor`` belong to an earlier slice or before ``since``;
    the slice ends at the first contact after ``stop`` (``None``: the end of the list).
    ``seen`` maps times at or after the cursor to the ids handed out there. ``tie`` and the
    fields after it follow a tie group's read (:func:`tie_step`).
    """

    cursor: str | None = None
    floor: str | None = None
    stop: str | None = None
    seen: Mapping[str, frozenset[Any]] = attrs.field(factory=dict, converter=freeze_seen)
    done: bool = False
    #: The last slice reached the end while others still ran: it reads again once they end.
    waiting: bool = False
    tie: str | None = None
    tie_start: int = 0
    tie_pass: int = 0
    tie_page: int = 0
    tie_ids: frozenset[Any] = attrs.field(default=frozenset(), converter=frozenset)
    tie_places: int = 0
    #: A digest of the ids this pass read, in order (every contact from ``tie_start`` on, the
    #: group's and those before it), and the one of the pass before (``None``: no pass yet).
    tie_digest: str = ""
    tie_prev: str | None = None
    #: A trusted pass left the group at the start of a page (held here): the page before is
    #: read again to see that nothing after the group moved onto it (see :func:`_confirm`).
    tie_confirm: bool = False
    tie_hold: tuple[RawContact, ...] = attrs.field(default=(), eq=False, repr=False)

    def body(self, limit: int) -> dict[str, Any]:
        """The ``POST /v2/contacts/list`` body of this slice's next request."""
        page = 0 if self.tie is None else self.tie_page
        body: dict[str, Any] = {"limit": limit, "page": page, "ascending": True}
        if self.cursor is not None:
            body["date"] = self.cursor
        return body

    def to_dict(self) -> dict[str, Any]:
        if self.tie_confirm:
            # Saved as the start of the trusted pass, which a resumed walk reads again.
            return restart_pass(self).to_dict()
        data = attrs.asdict(self, recurse=False)
        del data["tie_confirm"], data["tie_hold"]
        data["seen"] = {k: sorted(v, key=repr) for k, v in self.seen.items()}
        data["tie_ids"] = sorted(self.tie_ids, key=repr)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Slice:
        if not isinstance(data, Mapping):
            raise bad_resume("each slice must be an object")
        seen = data.get("seen") or {}
        if not isinstance(seen, Mapping) or not all(isinstance(k, str) for k in seen):
            raise bad_resume("seen must map timestamps to lists of ids")
        prev = data.get("tie_prev")
        return cls(
            cursor=saved_time(data, "cursor"),
            floor=saved_time(data, "floor"),
            stop=saved_time(data, "stop"),
            seen={k: saved_ids(v, "seen") for k, v in seen.items()},
            done=bool(data.get("done", False)),
            waiting=bool(data.get("waiting", False)),
            tie=saved_time(data, "tie"),
            tie_start=check.bounded_int(data.get("tie_start", 0), "resume.tie_start", 0),
            tie_pass=check.bounded_int(data.get("tie_pass", 0), "resume.tie_pass", 0),
            tie_page=check.bounded_int(data.get("tie_page", 0), "resume.tie_page", 0),
            tie_ids=saved_ids(data.get("tie_ids") or [], "tie_ids"),
            tie_places=check.bounded_int(data.get("tie_places", 0), "resume.tie_places", 0),
            tie_digest=_saved_digest(data.get("tie_digest") or ""),
            tie_prev=None if prev is None else _saved_digest(prev),
        )


@attrs.frozen(kw_only=True, slots=False)
class V2Position:
    """Where a v2 keyset walk stands: enough to resume it in another process after a crash.

    One :class:`Slice` per part of the ``updated`` range (one unless the walk was split with
    ``slices=``); ``planned`` is false until a split walk has chosen its boundaries. A walk that
    ended can be resumed too: it then reads what changed since (an incremental export). Treat it
    as opaque: save :meth:`to_json` and pass it back as ``resume=``.
    """

    since: str | None = None
    page_size: int = 100
    slices: tuple[Slice, ...] = attrs.field(default=(Slice(),), converter=_slices)
    planned: bool = True

    @property
    def done(self) -> bool:
        """Whether every slice has reached the end of its part."""
        return all(s.done for s in self.slices)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": "v2",
            "format": _FORMAT,
            "since": self.since,
            "page_size": self.page_size,
            "planned": self.planned,
            "slices": [s.to_dict() for s in self.slices],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> V2Position:
        """The position that :meth:`to_dict` (or :meth:`to_json`) wrote.

        Raises :class:`InvalidRequestError` (field ``resume``) for anything else, such as the
        position of an offset walk (resume that with ``iter_contacts_by_offset``).
        """
        data = load_position(data, "v2", _FORMAT)
        slices = data.get("slices")
        if not isinstance(slices, list) or not slices:
            raise bad_resume("slices must be a non-empty list")
        since = data.get("since")
        return cls(
            since=None if since is None else check.timestamp(since, "resume.since"),
            page_size=check.bounded_int(
                data.get("page_size", 100), "resume.page_size", 1, check.V2_MAX_LIMIT
            ),
            slices=[Slice.from_dict(s) for s in slices],
            planned=bool(data.get("planned", True)),
        )

    def to_json(self) -> str:
        """The position as compact JSON, to store and resume from with :meth:`from_json`."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> V2Position:
        """The position that :meth:`to_json` wrote."""
        return cls.from_dict(text)


def updated_of(contact: RawContact) -> str:
    """A contact's ``updated`` text, which the keyset cursor is made of."""
    return v1_updated_of(contact, _NO_TIME)


def _after(value: str, bound: datetime) -> bool:
    return parse_updated(value) > bound


def _at_or_after(contact: RawContact, at: datetime) -> bool:
    value = updated_of(contact)
    return parse_updated(value) >= at


def _first_after(page: list[RawContact], lo: int, bound: datetime) -> int:
    """The first place in ``page[lo:]`` (in ``updated`` order) after ``bound``."""
    hi = len(page)
    while lo < hi:
        mid = (lo + hi) // 2
        if _after(updated_of(page[mid]), bound):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _check_order(s: Slice, first: str, last: str) -> tuple[datetime, datetime]:
    first_at = parse_updated(first)
    last_at = first_at if last == first else parse_updated(last)
    if last_at < first_at:
        raise PaginationError(
            f"the v2 list is not in updated order ({first!r} comes before {last!r} on one "
            "page of an ascending list): the keyset walk cannot read it without risking a gap; "
            "iter_contacts_by_offset() reads the server's order as it is",
            cursor=s.cursor,
        )
    # A second of slack: a cursor finer than the server writes (a ``since`` in microseconds)
    # brings back contacts written at its second, or millisecond, but later in truth.
    if s.cursor is not None and first_at + _SLACK <= parse_updated(s.cursor):
        raise PaginationError(
            f"the server answered the v2 date {s.cursor!r} with contacts from before it "
            f"({first!r})",
            cursor=s.cursor,
        )
    return first_at, last_at


def keyset_step(s: Slice, page: list[RawContact], limit: int) -> tuple[list[RawContact], Slice]:
    """What a page, the answer to ``s.body(limit)`` outside a tie group, yields, and the slice's
    next state. No I/O; raises :class:`PaginationError` for an answer that breaks the walk's
    assumptions (not in ``updated`` order, or from before the cursor)."""
    if not page:
        return [], attrs.evolve(s, done=True)
    _check_order(s, updated_of(page[0]), updated_of(page[-1]))
    return _advance(s, page, 0, limit, s.cursor, 0)


def _advance(
    s: Slice, page: list[RawContact], lo: int, limit: int, after: str | None, tie_start: int
) -> tuple[list[RawContact], Slice]:
    """The contacts of ``page[lo:]`` to hand out and where the slice goes next, when everything
    before ``lo`` (and at or before ``after``) is dealt with."""
    if s.floor is not None and lo < len(page):
        floor_at = parse_updated(s.floor)
        if parse_updated(updated_of(page[lo])) <= floor_at:
            lo = _first_after(page, lo, floor_at)
    end = len(page)
    done = end < limit
    if s.stop is not None and _after(updated_of(page[-1]), parse_updated(s.stop)):
        end = _first_after(page, lo, parse_updated(s.stop))
        done = True
    part = page[lo:end] if lo or end < len(page) else page
    keep = _unseen_in_order(part, s.seen)
    if done:
        return keep, _ended(s, page, keep)
    # A full page: the next cursor is the last time before the page's last one, so that the
    # rest of the last time's contacts come next whether the server's ``date`` is inclusive,
    # exclusive, or compares finer than it writes.
    boundary = _boundary(s, page, lo, after)
    if boundary is not None:
        before, seen = boundary
        floor = s.floor
        if floor is not None and parse_updated(before) >= parse_updated(floor):
            floor = None
        return keep, evolved(s, {"cursor": before, "floor": floor, "seen": seen})
    last = page[-1]["updated"]
    # No time on the page past ``after`` but its last, which may go on beyond it: a tie group,
    # read by offset under the cursor from this page (tie_step), a request earlier if the group
    # may have begun on the page before.
    tie = attrs.evolve(
        s,
        tie=last,
        tie_start=tie_start,
        tie_pass=1,
        tie_page=tie_start,
        tie_ids=(),
        tie_places=0,
        tie_digest="",
        tie_prev=None,
    )
    return tie_step(tie, page, limit)


def _unseen_in_order(
    page: list[RawContact], seen: Mapping[str, frozenset[Any]]
) -> list[RawContact]:
    """:func:`unseen` for a page in ``updated`` order, looking at its head only.

    ``seen`` holds the times of the last page's boundary (the cursor's and the last one), at or
    before anything new: in a page in order, the contacts at those times come first. Past them,
    a contact later than every time in ``seen`` ends the search; anything else (a time between
    them, a page out of order, a time that does not parse) gets the whole page searched.
    """
    if not seen:
        return page
    n = len(page)
    k = 0
    while k < n and page[k].get("updated") in seen:
        k += 1
    if k < n:
        value = page[k].get("updated")
        try:
            if type(value) is not str or parse_timestamp(value) <= max(map(parse_timestamp, seen)):
                return unseen(page, seen)
        except ValueError:
            return unseen(page, seen)
    if not k:
        return page
    return [c for c in page[:k] if c.get("id") not in seen[c["updated"]]] + page[k:]


def _ended(s: Slice, page: list[RawContact], keep: list[RawContact]) -> Slice:
    """The slice after its last page. ``cursor`` and ``seen`` keep the boundary as after a full
    page (the time before the last one, and the ids at both), so that the walk resumed later
    (an incremental export, or the last slice's catch-up) reads what changed since, even at the
    last time's own millisecond."""
    if not page:
        return attrs.evolve(s, done=True)
    if s.stop is not None and _after(updated_of(page[-1]), parse_updated(s.stop)):
        return attrs.evolve(s, done=True, seen={})
    boundary = _boundary(s, page, 0, s.cursor)
    if boundary is not None:
        before, seen = boundary
        return attrs.evolve(s, cursor=before, seen=seen, done=True)
    return attrs.evolve(s, seen=merge_seen(s.seen, page), done=True)


def _boundary(
    s: Slice, page: list[RawContact], lo: int, after: str | None
) -> tuple[str, dict[str, Any]] | None:
    """The cursor after ``page``: its last time before its last one, if that lies in
    ``page[lo:]`` and after ``after``, with the ids at both times (``None``: there is none)."""
    last = page[-1]["updated"]
    k = len(page) - 1
    while k >= lo and page[k].get("updated") == last:
        k -= 1
    if k < lo:
        return None
    before: str = page[k]["updated"]
    if after is not None and parse_updated(before) <= parse_updated(after):
        return None
    while k >= 0 and page[k].get("updated") == before:
        k -= 1
    kept = {t: ids for t, ids in s.seen.items() if t in (before, last)}
    return before, merge_seen(kept, page[k + 1 :])


def tie_step(s: Slice, page: list[RawContact], limit: int) -> tuple[list[RawContact], Slice]:
    """What a page of a tie group's read yields, and the slice's next state.

    The group (``s.tie``) is read by offset under the cursor from page ``tie_start``, a pass
    at a time; its members are handed out once each. A pass is trusted when no id came twice
    in it (a tie order that changed between requests does that, and then others were missed)
    and it found the same ids as the pass before (members that change during a pass move out of
    the group and shift the others, which can hide one). The walk then goes on from the page
    where the trusted pass left the group, never from the group's own time (which a server
    comparing finer than it writes, or an inclusive one, would send again). After
    :data:`MAX_PASSES` passes without trust, :class:`PaginationError`.
    """
    assert s.tie is not None
    if s.tie_confirm:
        return _confirm(s, page, limit)
    tie = s.tie
    at = parse_updated(tie)
    if s.tie_page == s.tie_start and s.tie_start and (not page or _at_or_after(page[0], at)):
        # The pass starts with the group (or past it): some of it may lie on the page before.
        start = s.tie_start - 1
        return [], attrs.evolve(
            s, tie_start=start, tie_page=start, tie_ids=(), tie_places=0, tie_digest=""
        )
    handed = set(s.seen.get(tie, ()))
    ids = set(s.tie_ids)
    places = s.tie_places
    keep: list[RawContact] = []
    floor = None if s.floor is None else parse_updated(s.floor)
    hand_out = floor is None or at > floor
    stop_at: int | None = None
    for r, c in enumerate(page):
        value = updated_of(c)
        when = at if value == tie else parse_updated(value)
        if when > at:
            stop_at = r
            break
        if when < at:
            # Between the cursor and the group: handed out unless it was already.
            if (floor is None or when > floor) and c.get("id") not in s.seen.get(value, ()):
                keep.append(c)
            continue
        cid = c.get("id")
        places += 1
        ids.add(cid)
        if hand_out and cid not in handed:
            handed.add(cid)
            keep.append(c)
    seen = merge_seen(s.seen, [c for c in keep if c.get("updated") != tie])
    seen[tie] = handed
    read = page if stop_at is None else page[:stop_at]
    digest = _digest(s.tie_digest, [s.tie_page, *[c.get("id") for c in read]])
    if stop_at is None and len(page) >= limit:
        nxt = attrs.evolve(
            s,
            seen=seen,
            tie_page=s.tie_page + 1,
            tie_ids=ids,
            tie_places=places,
            tie_digest=digest,
        )
        return keep, nxt
    # Trusted: no id twice, and the same contacts in the same places as the pass before, so
    # that nothing moved up the list during this pass (a contact that changes leaves its place
    # and shifts those after it, which would hide one at a page's edge).
    if not (places == len(ids) and digest == s.tie_prev):
        if s.tie_pass >= MAX_PASSES:
            why = "ids came twice in one read" if places != len(ids) else "the reads disagree"
            raise PaginationError(
                f"the v2 list's order among the {len(handed)}+ contacts updated at {tie!r} is "
                f"not stable between requests ({why} after {s.tie_pass} reads; the last found "
                f"{len(ids)} ids at {places} places): the walk cannot tell that it read them all",
                cursor=tie,
            )
        nxt = attrs.evolve(
            s,
            seen=seen,
            tie_pass=s.tie_pass + 1,
            tie_page=s.tie_start,
            tie_ids=(),
            tie_places=0,
            tie_digest="",
            tie_prev=digest,
        )
        return keep, nxt
    if s.tie_page > s.tie_start and (stop_at == 0 or not page):
        # The page starts past the group, or is empty: something after the group may have
        # moved onto the page before since it was read (a member changed). Read it again.
        nxt = attrs.evolve(
            s, seen=seen, tie_confirm=True, tie_hold=tuple(page), tie_page=s.tie_page - 1
        )
        return keep, nxt
    base = _past_group(attrs.evolve(s, seen=seen))
    if stop_at is None:
        # The list ended with the group.
        return keep, _ended(base, page, keep)
    more, nxt = _advance(base, page, stop_at, limit, tie, s.tie_page)
    return keep + more, nxt


def _past_group(s: Slice) -> Slice:
    return attrs.evolve(
        s,
        tie=None,
        tie_start=0,
        tie_pass=0,
        tie_page=0,
        tie_ids=(),
        tie_places=0,
        tie_digest="",
        tie_prev=None,
        tie_confirm=False,
        tie_hold=(),
    )


def _confirm(s: Slice, page: list[RawContact], limit: int) -> tuple[list[RawContact], Slice]:
    """The page before the one where a trusted pass left the group (``tie_hold``), read again.

    Contacts only move up the list (a contact that changes leaves its place for the end), so if
    this page still holds nothing after the group, the held page began with the first contact
    after it when it was read, and the walk goes on from there. If this page now holds such
    contacts, the walk goes on from the first of them; if it begins with one, from the page
    before again.
    """
    assert s.tie is not None
    tie = s.tie
    at = parse_updated(tie)
    base = _past_group(s)
    r = _first_after(page, 0, at) if page else 0
    if r == 0 and s.tie_page > 0:
        return [], attrs.evolve(s, tie_page=s.tie_page - 1, tie_hold=tuple(page))
    if 0 < r < len(page) or (r == 0 and page):
        return _advance(base, page, r, limit, tie, s.tie_page)
    held = list(s.tie_hold)
    if len(held) >= limit:
        return _advance(base, held, 0, limit, tie, s.tie_page + 1)
    # The held page ended the list when it was read, before this request: what changed since
    # is after it. Hand out what it holds, then read once more from past the group when the
    # held page has a time to start from.
    if not held:
        return [], attrs.evolve(base, done=True)
    keep, nxt = _advance(base, held, 0, limit, tie, s.tie_page + 1)
    if s.stop is not None and _after(updated_of(held[-1]), parse_updated(s.stop)):
        return keep, nxt  # the slice ends at its upper boundary: the next one reads on
    if nxt.cursor == base.cursor:
        # Nothing past the group but one time: no time the server wrote excludes the group
        # (an inclusive server, or one comparing finer than it writes, would send it all again),
        # so the walk ends on the held page. A contact changed between that page's read and
        # this request is not read (docs/pagination.md, the limits on live data).
        return keep, nxt
    return keep, attrs.evolve(nxt, done=False)


def restart_pass(s: Slice) -> Slice:
    """A tie group's read as at the start of its current pass."""
    return attrs.evolve(
        s,
        tie_page=s.tie_start,
        tie_ids=(),
        tie_places=0,
        tie_digest="",
        tie_confirm=False,
        tie_hold=(),
    )


def step(s: Slice, page: list[RawContact], limit: int) -> tuple[list[RawContact], Slice]:
    """:func:`tie_step` inside a tie group, :func:`keyset_step` outside one."""
    return (tie_step if s.tie is not None else keyset_step)(s, page, limit)


def resume_point(before: Slice, handed: list[RawContact]) -> Slice:
    """Where a slice resumes after ``handed``, the first contacts of the page read from
    ``before``: that page again, without them (a tie group's read starts its pass again)."""
    if not handed:
        return before
    seen = merge_seen(before.seen, handed)
    if before.tie is not None:
        return restart_pass(attrs.evolve(before, seen=seen))
    return attrs.evolve(before, seen=seen)
