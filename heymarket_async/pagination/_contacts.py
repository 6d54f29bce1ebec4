"""Walking every contact: the v1 ``updated`` cursor and the v2 page/limit listing.

Two pagers, each an async iterator of :class:`Contact` with a ``.pages()`` view, a resumable
``.position`` and ``aclose()``:

- :class:`V1ContactPager` (``client.iter_contacts()``) follows ``POST /v1/contacts``. Heymarket's
  docs say neither whether that list runs newest-first or oldest-first nor whether the ``date``
  cursor is inclusive, so the walk is built to be exact in all four cases: it learns the cursor
  semantics from the answers, sends cursors that never skip a contact, and drops by id the
  contacts that a cursor sends twice. A tie group larger than a page, which no v1 cursor can
  pass, is read through the v2 list. The per-page decisions are the pure functions
  :func:`v1_step` and :func:`v1_tie_step`, tested without an event loop.
- :class:`V2ContactPager` (``client.v2.iter_contacts()``) follows ``POST /v2/contacts/list``
  page by page, fetching a few pages ahead concurrently.

Both hold at most a few pages in memory, structure a contact only when it is handed out, and
send no request once stopped (``break`` plus garbage collection, ``aclose()``, ``async with``,
an exception or a cancellation).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Final, Protocol, TypeVar

import attrs

from heymarket_async import _validate as check
from heymarket_async._convert import StructureError, structure_contact
from heymarket_async._redact import mask
from heymarket_async._sansio import (
    FIRST_INSTANT,
    format_timestamp,
    parse_timestamp,
)
from heymarket_async.errors import InvalidRequestError, InvalidResponseError, PaginationError
from heymarket_async.models import Contact

__all__ = [
    "V1ContactPager",
    "V1Position",
    "V2ContactPager",
    "V2Position",
    "v1_step",
    "v1_tie_step",
]

RawContact = dict[str, Any]
T = TypeVar("T")


class Fetch(Protocol):
    """One list request of a walk: send ``body`` to the list endpoint, parse the answer."""

    def __call__(self, body: dict[str, Any], parse: Callable[[Any], T], /) -> Awaitable[T]: ...


V2_LIST: Final = "/v2/contacts/list"
#: The documented v1 page size: a shorter page ends the walk.
V1_PAGE_SIZE: Final = 30
#: The most pages a v2 walk may fetch ahead of the one being consumed.
MAX_PREFETCH: Final = 8
_FORMAT: Final = 1


#: What an ``id`` or ``updated`` value may be: the walks use them as dict keys and set members.
_KEY_TYPES: Final = frozenset([int, str, type(None)])


def _object_page(data: Any) -> list[RawContact]:
    """A page as the raw JSON objects: checked to be an array of objects, structured later.

    What the v2 walk reads: it only hands contacts out, and structuring checks their fields.
    """
    if not isinstance(data, list):
        raise TypeError(f"expected an array of contacts, got {type(data).__name__}")
    for item in data:
        if type(item) is not dict:
            raise TypeError(f"expected contact objects, got {type(item).__name__}")
    return data


def _raw_page(data: Any) -> list[RawContact]:
    """:func:`_object_page`, with each ``id`` and ``updated`` checked too (a string, an integer
    or nothing): the v1 walk's bookkeeping hashes them before a contact is structured."""
    page = _object_page(data)
    for item in page:
        if type(item.get("id")) not in _KEY_TYPES or type(item.get("updated")) not in _KEY_TYPES:
            raise TypeError(
                f"a contact's id or updated is not a string or an integer: {item!r:.200}"
            )
    return page


def _bad_resume(why: str) -> InvalidRequestError:
    return InvalidRequestError("resume", why)


def _load(value: Mapping[str, Any] | str, kind: str) -> Mapping[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _bad_resume("not a JSON position") from None
    if not isinstance(value, Mapping):
        raise _bad_resume(f"expected a position object, got {type(value).__name__}")
    if value.get("kind") != kind or value.get("format") != _FORMAT:
        raise _bad_resume(f"not a {kind} position of format {_FORMAT}: {value!r:.200}")
    return value


def _opt_bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise _bad_resume(f"{key} must be a bool or null")
    return value


def _opt_since(data: Mapping[str, Any]) -> str | None:
    value = data.get("since")
    return None if value is None else check.timestamp(value, "resume.since")


def _since_text(since: datetime | str | None) -> str | None:
    return None if since is None else check.timestamp(since, "since")


def _max_items(value: int | None) -> int | None:
    return None if value is None else check.bounded_int(value, "max_items", 0)


# -- positions --------------------------------------------------------------------------------


def _freeze_seen(value: Mapping[str, Iterable[Any]]) -> Mapping[str, frozenset[Any]]:
    return {k: frozenset(v) for k, v in value.items()}


def _opt_tuple(value: Iterable[Any] | None) -> tuple[Any, ...] | None:
    return None if value is None else tuple(value)


def _ids(contacts: Iterable[RawContact]) -> frozenset[Any]:
    return frozenset([c.get("id") for c in contacts])


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _bad_resume(f"{key} must be a string or null")
    return value


def _opt_time(data: Mapping[str, Any], key: str) -> str | None:
    """A server's ``updated`` value kept in a position: sent as it is, so it must read as one."""
    value = _opt_str(data, key)
    if value is not None:
        try:
            parse_timestamp(value)
        except ValueError:
            why = f"{key} must be an RFC 3339 time or null, got {value!r:.100}"
            raise _bad_resume(why) from None
    return value


def _id_list(value: Any, key: str) -> list[Any]:
    """Contact ids as a position stores them: a list of strings, integers or nulls."""
    if not isinstance(value, list) or any(type(v) not in _KEY_TYPES for v in value):
        raise _bad_resume(f"{key} must be a list of contact ids")
    return value


@attrs.frozen(kw_only=True)
class V1Position:
    """Where a v1 walk stands: enough to resume it in another process after a crash.

    ``cursor`` is the ``date`` to send next, exactly as the server wrote it (``None`` before the
    first page); ``seen`` maps ``updated`` values at that boundary to the ids already handed out
    there, so the contacts a cursor sends again are dropped; ``since`` is the walk's lower bound.
    ``descending`` (the list runs newest-first) and ``inclusive`` (a cursor returns the
    contacts at that time again) are what the walk learned about the server.

    ``tie`` and the fields after it describe a tie group too large for v1 pages that is being
    read through the v2 list (see :class:`V1ContactPager`). Treat a position as opaque: save it
    with :meth:`to_json` and pass it back as ``resume=``.
    """

    cursor: str | None = None
    seen: Mapping[str, frozenset[Any]] = attrs.field(factory=dict, converter=_freeze_seen)
    since: str | None = None
    descending: bool | None = None
    inclusive: bool | None = None
    #: True when ``cursor`` is the SDK's own time (``since``, or just before a tie group), not
    #: a server ``updated`` value, so the answer says nothing about inclusivity.
    own_cursor: bool = False
    page_size: int = V1_PAGE_SIZE
    done: bool = False
    #: The ``updated`` value of a tie group being read through the v2 list.
    tie: str | None = None
    #: Where that v2 read stands: page number and contacts of it already dealt with.
    tie_page: int = 0
    tie_skip: int = 0
    #: The latest ``updated`` value below ``tie`` that the v2 read met.
    tie_below: str | None = None
    #: How many of the contacts at ``tie`` that v1 gave the v2 read has met.
    tie_matched: int = 0
    #: The ids of the v2 page before ``tie_page``, as read: its last one must still end it
    #: when ``tie_page`` comes, or the list has moved up (see :func:`v1_tie_step`).
    tie_prev: tuple[Any, ...] | None = attrs.field(default=None, converter=_opt_tuple)
    #: Ids of ``tie_page`` dealt with already, when it is read again after the list moved up.
    tie_excl: frozenset[Any] = attrs.field(default=frozenset(), converter=frozenset)
    #: A tie group read through v2; its contacts are dropped if a cursor sends them again.
    resolved: str | None = None
    #: Where to go past ``resolved`` if the server turns out to be inclusive (``None``: the end).
    resolved_next: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``seen`` as lists of ids)."""
        data: dict[str, Any] = {"kind": "v1", "format": _FORMAT}
        for field in attrs.fields(V1Position):
            data[field.name] = getattr(self, field.name)
        data["seen"] = {k: sorted(v, key=repr) for k, v in self.seen.items()}
        data["tie_prev"] = None if self.tie_prev is None else list(self.tie_prev)
        data["tie_excl"] = sorted(self.tie_excl, key=repr)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> V1Position:
        """The position that :meth:`to_dict` (or :meth:`to_json`) wrote.

        Raises :class:`InvalidRequestError` (field ``resume``) for anything else.
        """
        data = _load(data, "v1")
        seen = data.get("seen") or {}
        if not isinstance(seen, Mapping) or not all(isinstance(k, str) for k in seen):
            raise _bad_resume("seen must map timestamps to lists of ids")
        for ids in seen.values():
            _id_list(ids, "seen")
        tie_prev = data.get("tie_prev")
        if tie_prev is not None:
            _id_list(tie_prev, "tie_prev")
        tie_excl = _id_list(data.get("tie_excl") or [], "tie_excl")
        return cls(
            cursor=_opt_time(data, "cursor"),
            seen=seen,
            since=_opt_since(data),
            descending=_opt_bool(data, "descending"),
            inclusive=_opt_bool(data, "inclusive"),
            own_cursor=bool(data.get("own_cursor", False)),
            page_size=check.bounded_int(data.get("page_size", V1_PAGE_SIZE), "resume.page_size", 1),
            done=bool(data.get("done", False)),
            tie=_opt_time(data, "tie"),
            tie_page=check.bounded_int(data.get("tie_page", 0), "resume.tie_page", 0),
            tie_skip=check.bounded_int(data.get("tie_skip", 0), "resume.tie_skip", 0),
            tie_below=_opt_time(data, "tie_below"),
            tie_matched=check.bounded_int(data.get("tie_matched", 0), "resume.tie_matched", 0),
            tie_prev=tie_prev,
            tie_excl=tie_excl,
            resolved=_opt_time(data, "resolved"),
            resolved_next=_opt_time(data, "resolved_next"),
        )

    def to_json(self) -> str:
        """The position as compact JSON, to store and resume from with :meth:`from_json`."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> V1Position:
        """The position that :meth:`to_json` wrote."""
        return cls.from_dict(text)


@attrs.frozen(kw_only=True)
class V2Position:
    """Where a v2 walk stands: the next ``page`` to read and how many of its contacts to ``skip``.

    ``page_size``, ``since`` and ``ascending`` are the walk's parameters: a page number means
    nothing without them, so a resumed walk takes them from here.
    """

    page: int = 0
    skip: int = 0
    page_size: int = 100
    since: str | None = None
    ascending: bool = True
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": "v2",
            "format": _FORMAT,
            "page": self.page,
            "skip": self.skip,
            "page_size": self.page_size,
            "since": self.since,
            "ascending": self.ascending,
            "done": self.done,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> V2Position:
        """The position that :meth:`to_dict` (or :meth:`to_json`) wrote.

        Raises :class:`InvalidRequestError` (field ``resume``) for anything else.
        """
        data = _load(data, "v2")
        ascending = _opt_bool(data, "ascending")
        return cls(
            page=check.bounded_int(data.get("page", 0), "resume.page", 0),
            skip=check.bounded_int(data.get("skip", 0), "resume.skip", 0),
            page_size=check.bounded_int(
                data.get("page_size", 100), "resume.page_size", 1, check.V2_MAX_LIMIT
            ),
            since=_opt_since(data),
            ascending=True if ascending is None else ascending,
            done=bool(data.get("done", False)),
        )

    def to_json(self) -> str:
        """The position as compact JSON, to store and resume from with :meth:`from_json`."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> V2Position:
        """The position that :meth:`to_json` wrote."""
        return cls.from_dict(text)


def _resumed(
    value: V1Position | V2Position | Mapping[str, Any] | str,
    cls: type[V1Position] | type[V2Position],
    since: str | None,
) -> Any:
    """The position a walk resumes from; a ``since`` given again must be the walk's own."""
    if isinstance(value, cls):
        pos: V1Position | V2Position = value
    elif isinstance(value, (V1Position, V2Position)):
        raise _bad_resume(f"expected a {cls.__name__}, got a {type(value).__name__}")
    elif isinstance(value, (str, Mapping)):
        pos = cls.from_dict(value)
    else:
        raise _bad_resume(f"expected a {cls.__name__}, a dict or a JSON string")
    if since is not None and since != pos.since:
        raise InvalidRequestError("since", "differs from the since of the resumed walk")
    return pos


# -- v1: the pure step ------------------------------------------------------------------------


@attrs.frozen
class V1Step:
    """What one v1 page means: the contacts to hand out, and where the walk goes next.

    ``stuck`` is set (to the ``updated`` value) when the page is a full page of one timestamp:
    no v1 cursor can move past such a group without skipping contacts or reading the same page
    again, so ``next.tie`` says to read the rest of it through v2 (:func:`v1_tie_step`).
    """

    keep: list[RawContact]
    next: V1Position
    new: int
    stuck: str | None = None


def _updated(contact: RawContact) -> str:
    value = contact.get("updated")
    if type(value) is not str or not value:
        raise PaginationError(
            f"a contact without an updated time ({contact.get('id')!r}): the v1 cursor cannot "
            "advance past it"
        )
    return value


def _parse(value: str) -> datetime:
    try:
        return parse_timestamp(value)
    except ValueError:
        raise PaginationError(f"not an RFC 3339 updated time: {value!r}", cursor=value) from None


def v1_step(pos: V1Position, page: list[RawContact], since: datetime | None = None) -> V1Step:
    """Decide what a v1 page yields and which cursor to send next. No I/O.

    The cursor rules, for a page whose last ``updated`` value is ``L`` and whose last different
    value is ``P``:

    - An inclusive server (one that answered a cursor ``C`` with contacts at ``C``) gets ``L``:
      the next page starts at the first contact at ``L``; those already seen are dropped.
    - Otherwise (exclusive or not known yet) the server gets ``P``, never ``L``: an exclusive
      server given ``L`` would skip the contacts at ``L`` that did not fit on the page, while
      given ``P`` it restarts at the first contact at ``L``, and an inclusive one at ``P``.
    - ``seen`` keeps the ids at ``P`` and ``L`` only, so memory stays at a page or two.

    - The order (newest- or oldest-first) is read off the pages; a page that answers a cursor
      with contacts from before it, or a cursor that would not change, raises
      :class:`PaginationError` instead of looping.

    ``since`` (when the walk has one) drops contacts updated at or before it. On an oldest-first
    list the first page jumps to ``since`` as a cursor; on a newest-first list the walk ends on
    the first page that reaches it.
    """
    n = len(page)
    if n == 0:
        return V1Step([], attrs.evolve(pos, done=True, seen={}), 0)
    seen = pos.seen
    first = _updated(page[0])
    last = _updated(page[-1])
    if pos.resolved is not None and first == pos.resolved:
        # An inclusive server sent again the tie group that was read through v2.
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

    inclusive = pos.inclusive
    if pos.cursor is not None and not pos.own_cursor:
        # Only a cursor copied from a contact can be compared byte for byte with the answer.
        if first == pos.cursor:
            inclusive = True
        elif inclusive is None:
            inclusive = False
    descending = pos.descending
    first_dt = _parse(first)
    last_dt = first_dt if last == first else _parse(last)
    if first_dt != last_dt:
        descending = first_dt > last_dt
    if pos.cursor is not None:
        at = _parse(pos.cursor)
        if descending is None and first_dt != at:
            # A page of one time still tells the order: it lies beyond the cursor.
            descending = first_dt < at
        elif first_dt > at if descending else first_dt < at:
            raise PaginationError(
                f"the server answered the v1 cursor {pos.cursor!r} with contacts from before it",
                cursor=pos.cursor,
            )
    page_size = max(pos.page_size, n)

    # Drop what was handed out already: what a cursor sends again (the page's first times), or
    # the first part of the page when resuming from a position saved in the middle of it.
    keep = page
    if seen:
        # One lookup clears the contacts at a time not in ``seen`` (nearly all of them).
        keep = [
            c for c in page if c.get("updated") not in seen or c.get("id") not in seen[c["updated"]]
        ]
    new = len(keep)

    done = n < page_size
    jump = False
    if since is not None:
        if first_dt <= since or last_dt <= since:
            keep = [c for c in keep if _parse(_updated(c)) > since]
        if last_dt <= since and not done:
            if descending:
                done = True
            elif pos.cursor is None:
                # Oldest-first (or not known yet): everything up to ``since`` can be skipped.
                jump = True

    # What every next position takes from this page (one evolve per page: this runs for every
    # 30 contacts of a walk). A tie group read through v2 is behind the walk once a page has
    # not repeated it.
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
        # A full page of one timestamp: a later cursor skips, an earlier one repeats. The
        # rest of the group is read through the v2 list (see v1_tie_step).
        tie = attrs.evolve(
            pos,
            **learned,
            seen=_merge(seen, page),
            tie=last,
            tie_page=0,
            tie_skip=0,
            tie_prev=None,
            tie_excl=(),
        )
        return V1Step(keep, tie, new, stuck=last)

    k = n - 1
    while page[k].get("updated") == last:
        k -= 1
    if inclusive:
        cursor = last
    else:
        cursor = _updated(page[k])
        while k >= 0 and page[k].get("updated") == cursor:
            k -= 1
    boundary = page[k + 1 :]
    nxt_seen = {v: ids for v, ids in seen.items() if v in (cursor, last)}
    nxt = attrs.evolve(
        pos, **learned, cursor=cursor, own_cursor=False, seen=_merge(nxt_seen, boundary)
    )
    if cursor == pos.cursor and not pos.own_cursor:
        raise PaginationError(
            f"the v1 cursor {cursor!r} does not advance: the same page would be asked for again",
            cursor=cursor,
        )
    return V1Step(keep, nxt, new)


def _merge(seen: Mapping[str, frozenset[Any]], contacts: Iterable[RawContact]) -> dict[str, Any]:
    out: dict[str, set[Any]] = {k: set(v) for k, v in seen.items()}
    for c in contacts:
        value = c.get("updated")
        if type(value) is str:
            out.setdefault(value, set()).add(c.get("id"))
    return out


# -- v1: a tie group larger than a page, read through the v2 list ---------------------------

#: The v2 page size of a tie group's read.
TIE_PAGE: Final = 100
#: How far before a tie group its v2 read starts (the coarsest resolution a server may use).
TIE_MARGIN: Final = timedelta(seconds=1)


def tie_request(pos: V1Position) -> dict[str, Any]:
    """The ``POST /v2/contacts/list`` body for the next page of a tie group's read.

    Oldest first, from one second before the group: the v2 ``date`` filter keeps contacts
    updated after it, so the whole group is in the answer whether the filter is inclusive or
    not and whatever the resolution the server compares at; the few contacts in that second
    before the group are passed over.
    """
    assert pos.tie is not None
    body: dict[str, Any] = {"limit": TIE_PAGE, "page": pos.tie_page, "ascending": True}
    tie = _parse(pos.tie)
    if tie - FIRST_INSTANT >= TIE_MARGIN:
        # (In the first second RFC 3339 can write, there is no time before it: no filter.)
        body["date"] = format_timestamp(tie - TIE_MARGIN)
    return body


def tie_check_request(pos: V1Position) -> dict[str, Any]:
    """The ``POST /v2/contacts/list`` body for the one contact that should end the page before
    ``pos.tie_page`` (a ``limit`` of 1 makes ``page`` an offset)."""
    body = tie_request(pos)
    return {**body, "limit": 1, "page": pos.tie_page * TIE_PAGE - 1}


@attrs.frozen
class V1TieStep:
    """What one v2 page of a tie group's read yields (``index``: their places on the page)."""

    keep: list[RawContact]
    index: list[int]
    next: V1Position


@attrs.frozen
class _TieScan:
    missing: set[Any]  # ids the v1 pages gave at the tie, not met on the v2 pages yet
    matched: int  # how many of those were met
    below: str | None  # the latest time below the tie met
    above: str | None  # the first time above it, where the read ends
    index: list[int]  # places of the group's contacts to hand out
    stop: int  # where the scan stopped: the place of ``above``, or the end


def _tie_scan(pos: V1Position, data: list[RawContact], end: int) -> _TieScan:
    """Go over ``data[pos.tie_skip:end]``, a page of a tie group's v2 read."""
    assert pos.tie is not None
    at = _parse(pos.tie)
    missing = set(pos.seen.get(pos.tie, ()))
    matched = pos.tie_matched
    below = pos.tie_below
    excl = pos.tie_excl
    index: list[int] = []
    for r in range(pos.tie_skip, end):
        c = data[r]
        value = _updated(c)
        when = at if value == pos.tie else _parse(value)
        if when > at:
            # Even one dealt with before: it has changed since, and the group ends here.
            return _TieScan(missing, matched, below, value, index, r)
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
    return _TieScan(missing, matched, below, None, index, end)


def v1_tie_step(
    pos: V1Position,
    data: list[RawContact],
    since: datetime | None = None,
    check: list[RawContact] | None = None,
) -> V1TieStep:
    """Decide what a v2 page of a tie group's read yields, and where the v1 walk goes after.

    The group's contacts that the v1 pages already gave (``seen``) are dropped; the others
    are handed out. Once past the group, the v1 walk resumes beyond it: an exclusive server
    gets the group's own time; an inclusive one the first time past it (read on the v2 pages:
    the next one up on an oldest-first list; on a newest-first list the last one below, or the
    read's start when there is none).

    ``check`` is the one contact now at the place that ended the page before (read after this
    page, see :func:`tie_check_request`). If it is not the one that ended it, contacts before
    this page changed or went and the list moved up: the first contacts of this page are now
    on the page before, which is read again, dealing only with what it did not hold.

    Raises :class:`PaginationError` when the v2 list shows none of the group's contacts that
    the v1 list gave: then the two lists do not agree on ids or times, and going on could give
    contacts twice or skip them. Some of them missing is fine: they changed since (and so left
    the group), and were handed out already. Also raises when a page shows a contact at or
    before the group after one past it (a list not in ``updated`` order, where ending the read
    at the first contact past the group could skip the rest of it).
    """
    assert pos.tie is not None
    if pos.tie_prev and pos.tie_page and check is not None:
        now_last = check[0].get("id") if check else _NONE
        if now_last != pos.tie_prev[-1]:
            # Contacts before this page changed or went since the page before was read: the
            # list moved up, and the first contacts of this page are now at the end of that
            # one. Read it again, dealing only with what it did not hold before.
            back = attrs.evolve(
                pos,
                tie_page=pos.tie_page - 1,
                tie_skip=0,
                tie_prev=None,
                tie_excl=pos.tie_excl.union(pos.tie_prev),
            )
            return V1TieStep([], [], back)
    # A page read again (no tie_prev past page 0) must still hold some of what it held.
    again = pos.tie_page > 0 and pos.tie_prev is None and bool(pos.tie_excl)
    if again and not any(c.get("id") in pos.tie_excl for c in data):
        raise PaginationError(
            f"the v2 list moved by a page or more while the tie group at {pos.tie!r} was read "
            "through it: the walk cannot tell which contacts it skipped",
            cursor=pos.tie,
        )
    scan = _tie_scan(pos, data, len(data))
    keep = [data[r] for r in scan.index]
    index = scan.index
    if since is not None and _parse(pos.tie) <= since:
        keep, index = [], []
    below, above = scan.below, scan.above
    if above is not None:
        # The read ends at the first contact past the group, which is sound only on a list in
        # ``updated`` order: a contact at or before the group after it means the rest of the
        # group may come later still, and stopping would skip it.
        at = _parse(pos.tie)
        for c in data[scan.stop + 1 :]:
            if _parse(_updated(c)) <= at:
                raise PaginationError(
                    f"the v2 list is not in updated order around {pos.tie!r} ({c.get('id')!r} "
                    f"at {_updated(c)!r} comes after {above!r}): the walk cannot read that "
                    "tie group through it without risking a gap",
                    cursor=pos.tie,
                )
    if above is None and len(data) >= TIE_PAGE:
        nxt = attrs.evolve(
            pos,
            tie_page=pos.tie_page + 1,
            tie_skip=0,
            tie_below=below,
            tie_matched=scan.matched,
            seen={pos.tie: scan.missing},
            tie_prev=[c.get("id") for c in data],
            # Contacts dealt with before that this page no longer holds may be on the next.
            tie_excl=pos.tie_excl - _ids(data),
        )
        return V1TieStep(keep, index, nxt)
    if not scan.matched:
        raise PaginationError(
            f"the v2 list shows none of the {len(scan.missing)} contacts that the v1 list gave "
            f"at {pos.tie!r} (ids {sorted(scan.missing, key=repr)[:5]}...): the walk cannot "
            "go past that time without risking duplicates or a gap",
            cursor=pos.tie,
        )
    if pos.descending:
        past: str | None = below or tie_request(pos)["date"]
    else:
        past = above
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
            return V1TieStep(keep, index, attrs.evolve(base, done=True))
        return V1TieStep(keep, index, attrs.evolve(base, cursor=past, own_cursor=True))
    if pos.inclusive is None:
        # Send the group's time: an exclusive server goes on past it; an inclusive one sends the
        # group again, which tells the walk to go to ``past`` instead.
        nxt = attrs.evolve(base, cursor=pos.tie, resolved=pos.tie, resolved_next=past)
        return V1TieStep(keep, index, nxt)
    return V1TieStep(keep, index, attrs.evolve(base, cursor=pos.tie))


# -- the pagers -------------------------------------------------------------------------------

PagerT = TypeVar("PagerT", bound="_Pager")


class _Pages:
    """``pager.pages()``: the same walk, a list of contacts at a time."""

    def __init__(self, pager: _Pager) -> None:
        self._pager = pager

    def __aiter__(self) -> _Pages:
        return self

    async def __anext__(self) -> list[Contact]:
        return await self._pager._next_batch()

    async def aclose(self) -> None:
        await self._pager.aclose()


class _Pager:
    """What both pagers share: the buffer of raw contacts, ``max_items``, closing."""

    _path: str = ""
    #: How a bad contact's text shows in the error: the client sets its own (its secrets, and
    #: phones and emails unless ``log_pii``); phones and emails are masked by default.

    def __init__(self, max_items: int | None, scrub: Callable[[str], str]) -> None:
        self._scrub = scrub
        self._buf: list[RawContact] = []  # the page being handed out, cut to max_items
        self._avail = 0  # how many contacts that page had before the cut
        self._i = 0  # how many of them were handed out
        self._left = max_items  # contacts still allowed out, or None for no cap
        self._closed = False

    def __aiter__(self: PagerT) -> PagerT:
        return self

    async def __anext__(self) -> Contact:
        i = self._i
        if i >= len(self._buf):
            await self._refill()
            i = 0
        self._i = i + 1
        try:
            return structure_contact(self._buf[i])
        except StructureError as exc:
            raise self._bad_contact(exc) from exc

    def pages(self) -> _Pages:
        """An async iterator of ``list[Contact]``: the rest of the walk, a page at a time.

        When contacts were already taken one by one, the first list is the rest of that page.
        ``max_items`` still applies, and ``position`` is valid after every list.
        """
        return _Pages(self)

    async def _next_batch(self) -> list[Contact]:
        if self._i >= len(self._buf):
            await self._refill()
        i = self._i
        raw = self._buf[i:] if i else self._buf
        try:
            batch = [structure_contact(c) for c in raw]
        except StructureError:
            # Hand out the contacts before the bad one; the next call raises for it (and passes
            # it, as __anext__ does), so that ``position`` never covers contacts not handed out.
            batch = []
            for c in raw:
                try:
                    batch.append(structure_contact(c))
                except StructureError as exc:
                    if batch:
                        break
                    self._i = i + 1
                    raise self._bad_contact(exc) from exc
        self._i = i + len(batch)
        return batch

    def _bad_contact(self, exc: StructureError) -> InvalidResponseError:
        return InvalidResponseError(
            f"unexpected contact in a page: {self._scrub(str(exc))}",
            status=200,
            method="POST",
            url=self._path,
        )

    async def _refill(self) -> None:
        """Load the next non-empty page into the buffer, or raise ``StopAsyncIteration``."""
        while True:
            if self._closed or self._left == 0:
                await self.aclose()
                raise StopAsyncIteration
            try:
                page = await self._fetch()
            except BaseException:
                # An error or a cancellation ends the walk: cancel whatever runs ahead.
                await self.aclose()
                raise
            if page is None:
                await self.aclose()
                raise StopAsyncIteration
            self._buf = page
            self._avail = len(page)
            self._i = 0
            if self._left is not None:
                if len(page) > self._left:
                    self._buf = page[: self._left]
                self._left -= len(self._buf)
            if page:
                return

    async def _fetch(self) -> list[RawContact] | None:
        """The next page's contacts to hand out (maybe none), or ``None`` at the end."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Stop the walk: no request goes out after this, and nothing is left running."""
        self._stop()

    def _stopped(self) -> bool:
        # Whether the walk was closed: after an ``await``, maybe by aclose() from another task.
        return self._closed

    def _stop(self) -> None:
        self._closed = True
        # Nothing more comes out; the cut buffer still tells ``position`` where the walk was.
        del self._buf[self._i :]

    async def __aenter__(self: PagerT) -> PagerT:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class V1ContactPager(_Pager):
    """Every contact through ``POST /v1/contacts`` (``client.iter_contacts()``), exactly once.

    ``async for contact in client.iter_contacts(): ...``, or for batches
    ``async for page in client.iter_contacts().pages(): ...``. ``max_items`` caps how many come
    out; ``since`` keeps only the contacts updated after it.

    On unchanging data every contact comes out exactly once whatever the list's order and the
    cursor's inclusivity (see :func:`v1_step`). When a whole page of contacts share one
    ``updated`` time, no v1 cursor can pass them without skipping some (a bulk import does
    that): the rest of that group is read from ``POST /v2/contacts/list``, filtered to the
    second before it and checked against what the v1 pages gave (:func:`v1_tie_step`); those
    contacts come in v2's shape (with ``uuid`` and ``contact_channels``). If the two lists
    disagree, :class:`PaginationError` names the timestamp (in ``cursor``) rather than risk a
    gap; so does a server that answers a cursor with the same page again.

    ``position`` is valid after every contact handed out: save ``position.to_json()`` and pass it
    back as ``client.iter_contacts(resume=...)`` to carry on where the walk stopped::

        async with client.iter_contacts(resume=load_saved_or_none()) as pager:
            async for page in pager.pages():
                write(page)
                save(pager.position.to_json())  # after a crash, resume from here

    Leave the walk with ``async with`` (or ``aclose()``) to stop it at once; a bare ``break``
    leaves nothing running either, since the v1 walk requests one page at a time.

    Contacts changed during a walk: on an oldest-first list a changed contact moves to the end,
    so every contact comes out at least once and a changed one may come out twice (old and new);
    on a newest-first list a contact changed before the walk reaches it moves behind the walk
    and is missed. The v2 read of a tie group pages by offset, where a contact that changes or
    goes moves the ones behind it up a place: after each of its pages but the first, one more
    request checks that the page before still ends where it did, and reads that page again if
    not, so no contact is skipped (one that moved the list by a whole page raises
    :class:`PaginationError`).
    """

    _path = "/v1/contacts"

    def __init__(
        self,
        list_v1: Fetch,
        list_v2: Fetch,
        *,
        scrub: Callable[[str], str] = mask,
        since: datetime | str | None = None,
        max_items: int | None = None,
        resume: V1Position | Mapping[str, Any] | str | None = None,
        page_size: int = V1_PAGE_SIZE,
    ) -> None:
        super().__init__(_max_items(max_items), scrub)
        self._list_v1 = list_v1
        self._list_v2 = list_v2
        since_text = _since_text(since)
        if resume is not None:
            pos: V1Position = _resumed(resume, V1Position, since_text)
        else:
            pos = V1Position(since=since_text, page_size=page_size)
        self._since = None if pos.since is None else parse_timestamp(pos.since)
        self._page_pos = pos  # the position that fetched the buffered page
        self._next_pos = pos  # where the walk goes after the buffered page
        # For a page of a tie group's v2 read: the raw page and the places of what it yields.
        self._tie_data: list[RawContact] = []
        self._tie_index: list[int] = []
        self._stalls = 0

    @property
    def position(self) -> V1Position:
        """Where to resume from: just after the last contact handed out."""
        i = self._i
        if i >= self._avail:
            return self._next_pos
        page_pos = self._page_pos
        if page_pos.tie is not None:
            data = self._tie_data
            end = self._tie_index[i - 1] + 1 if i else page_pos.tie_skip
            scan = _tie_scan(page_pos, data, end)
            # What was dealt with by id, not by place: should the list move up before the
            # walk resumes, the page read again starts earlier, and a count would skip.
            return attrs.evolve(
                page_pos,
                tie_skip=0,
                tie_excl=page_pos.tie_excl | _ids(data[:end]),
                tie_below=scan.below,
                tie_matched=scan.matched,
                seen={page_pos.tie: scan.missing},
            )
        return attrs.evolve(
            self._next_pos,
            cursor=page_pos.cursor,
            own_cursor=page_pos.own_cursor,
            seen=_merge(page_pos.seen, self._buf[:i]),
            done=False,
            tie=None,
            resolved=page_pos.resolved,
            resolved_next=page_pos.resolved_next,
        )

    async def _fetch(self) -> list[RawContact] | None:
        pos = self._next_pos
        if pos.done:
            return None
        if pos.tie is not None:
            return await self._fetch_tie(pos)
        body = {} if pos.cursor is None else {"date": pos.cursor}
        page = await self._read(self._list_v1, body)
        if page is None:
            return None
        step = v1_step(pos, page, self._since)
        self._stalls = 0 if step.new else self._stalls + 1
        if self._stalls > 2:
            raise PaginationError(
                f"the v1 cursor {pos.cursor!r} does not advance: three pages with no new contact",
                cursor=pos.cursor,
            )
        self._page_pos = pos
        self._next_pos = step.next
        return step.keep

    async def _read(self, fetch: Fetch, body: dict[str, Any]) -> list[RawContact] | None:
        """One request of the walk: its page, or ``None`` if the walk was closed meanwhile (by
        ``aclose()`` from another task): then the walk stays where it was, nothing is handed
        out and no further request goes."""
        page: list[RawContact] = await fetch(body, _raw_page)
        return None if self._closed else page

    async def _fetch_tie(self, pos: V1Position) -> list[RawContact] | None:
        """A page of a tie group's read through the v2 list (see :func:`v1_tie_step`).

        ``None`` when the walk was closed (from another task) during one of its requests.
        """
        if pos.descending is None and pos.cursor is None:
            # The first page was the group: which end of the list is it? The oldest contact
            # says (if it is in the group, the list runs oldest-first, or it is all one group).
            # (After a cursor, a page of one time is enough to tell, see v1_step.)
            body = {"limit": 1, "page": 0, "ascending": True}
            oldest = await self._read(self._list_v2, body)
            if oldest is None:
                return None
            descending = bool(oldest) and _parse(_updated(oldest[0])) < _parse(pos.tie or "")
            pos = self._next_pos = attrs.evolve(pos, descending=descending)
        data = await self._read(self._list_v2, tie_request(pos))
        if data is None:
            return None
        recheck = None
        if pos.tie_prev and pos.tie_page:
            # After the page: a list that moved up before or while it was read shows here.
            recheck = await self._read(self._list_v2, tie_check_request(pos))
            if recheck is None:
                return None
        step = v1_tie_step(pos, data, self._since, recheck)
        self._page_pos = pos
        self._next_pos = step.next
        self._tie_data = data
        self._tie_index = step.index
        return step.keep


class V2ContactPager(_Pager):
    """Every contact through ``POST /v2/contacts/list`` (``client.v2.iter_contacts()``).

    Pages ``0, 1, 2...`` of ``page_size`` contacts (the API's ``limit``), in the server's order,
    until the first short page. ``max_items`` caps how many come out; ``since`` is sent as the
    API's ``date`` filter (updated after it), and contacts the server returns at or before it
    all the same are left out. Once the first page has come back full, ``prefetch`` pages
    beyond the one being read are requested concurrently (within the client's
    ``max_concurrency``) and handed out in order, so a walk of one page costs one request; a
    page that fails after its retries fails the walk with that error, and ``position`` still
    points just after the last contact handed out.

    ``position`` is valid after every contact handed out (see :class:`V2Position`); resume with
    ``client.v2.iter_contacts(resume=position.to_json())``.

    Leave the walk with ``async with`` (or ``aclose()``): the pages requested ahead are
    cancelled and awaited there. A bare ``break`` cancels them when the pager is dropped (at
    once in CPython) but cannot wait for them.

    Offset paging does not tolerate changes during the walk: a contact changed, created or
    deleted while the walk runs shifts the contacts behind it by one place, so a contact the walk
    has not reached can be skipped or come out twice. For at-least-once on live data, use the
    v1 walk on an oldest-first server.
    """

    _path = "/v2/contacts/list"

    def __init__(
        self,
        list_v2: Fetch,
        *,
        scrub: Callable[[str], str] = mask,
        since: datetime | str | None = None,
        page_size: int = 100,
        ascending: bool = True,
        max_items: int | None = None,
        prefetch: int = 2,
        resume: V2Position | Mapping[str, Any] | str | None = None,
    ) -> None:
        super().__init__(_max_items(max_items), scrub)
        self._list = list_v2
        self._prefetch = check.bounded_int(prefetch, "prefetch", 0, MAX_PREFETCH)
        since_text = _since_text(since)
        if resume is not None:
            pos: V2Position = _resumed(resume, V2Position, since_text)
        else:
            pos = V2Position(
                page_size=check.bounded_int(page_size, "page_size", 1, check.V2_MAX_LIMIT),
                since=since_text,
                ascending=check.boolean(ascending, "ascending"),
            )
        # ``_pos`` is the buffered page (``skip`` = contacts left out at its front).
        self._pos = pos
        self._since = None if pos.since is None else parse_timestamp(pos.since)
        self._started = False
        self._done = pos.done  # the buffered page was the last one
        self._next_page = pos.page  # the first page not yet requested
        self._tasks: collections.deque[asyncio.Task[list[RawContact]]] = collections.deque()
        self._last_page: int | None = None  # the last page max_items can need
        self._limit_pages()

    @property
    def position(self) -> V2Position:
        """Where to resume from: just after the last contact handed out."""
        pos = self._pos
        if not self._started:
            return pos
        if self._i < self._avail:
            return attrs.evolve(pos, skip=pos.skip + self._i)
        return attrs.evolve(pos, page=pos.page + 1, skip=0, done=self._done)

    def _limit_pages(self) -> None:
        """Set the last page ``max_items`` can need, counted from the buffered page."""
        if self._left is not None:
            pos = self._pos
            self._last_page = pos.page + (pos.skip + self._left - 1) // pos.page_size

    def _body(self, page: int) -> dict[str, Any]:
        pos = self._pos
        body: dict[str, Any] = {"limit": pos.page_size, "page": page, "ascending": pos.ascending}
        if pos.since is not None:
            body["date"] = pos.since
        return body

    def _schedule(self, ahead: int) -> None:
        """Keep ``ahead`` pages requested, within what the walk can need."""
        while len(self._tasks) < ahead and not self._closed:
            page = self._next_page
            if self._last_page is not None and page > self._last_page:
                return
            task = asyncio.ensure_future(self._list(self._body(page), _object_page))
            task.add_done_callback(_retrieve)
            self._tasks.append(task)
            self._next_page = page + 1

    async def _fetch(self) -> list[RawContact] | None:
        if self._done:
            return None
        # The next page and ``prefetch`` more; only the first page until one has come back
        # full, so that a walk of one page (most ``since`` syncs) costs one request.
        self._schedule(self._prefetch + 1 if self._started else 1)
        if not self._tasks:
            return None
        # The task stays queued while awaited, so that a cancellation here cancels it in aclose.
        try:
            page = await self._tasks[0]
        except asyncio.CancelledError:
            # aclose() from another task cancels the page awaited here: that ends the walk, it
            # does not cancel the task iterating (unless that task is being cancelled too).
            if self._closed and not _cancelling():
                return None
            raise
        if self._closed:
            return None
        self._tasks.popleft()
        last = len(page) < self._pos.page_size
        since = self._since
        end = len(page)
        if since is not None and not self._pos.ascending:
            # Should ``date`` keep contacts updated at ``since`` (or compare coarser), they end
            # a newest-first list, and the walk with them.
            while end and not _after(page[end - 1], since):
                end -= 1
            last = last or end < len(page)
        if last:
            # Before the position moves onto this page: a cancellation while the pages ahead
            # stop must leave it pointing at the page, not past the end of the walk.
            await self._cancel()
            if self._stopped():  # by aclose() from another task, meanwhile
                return None
        if self._started:
            self._pos = attrs.evolve(self._pos, page=self._pos.page + 1, skip=0)
        self._started = True
        self._done = last
        skip = self._pos.skip
        if since is not None and self._pos.ascending:
            # ... and they lead an oldest-first list: left out like a resumed walk's ``skip``.
            lead = skip
            while lead < end and not _after(page[lead], since):
                lead += 1
            if lead != skip:
                skip = lead
                self._pos = attrs.evolve(self._pos, skip=skip)
                self._limit_pages()
        if not last:
            self._schedule(self._prefetch)  # fetched while this page is handed out
        return page[skip:end] if skip or end < len(page) else page

    async def _cancel(self) -> None:
        # The tasks stay queued until they have stopped, so that an aclose() from another
        # task meanwhile waits for them too.
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            with contextlib.suppress(ValueError):  # taken out by the other caller
                self._tasks.remove(task)

    async def aclose(self) -> None:
        """Stop the walk: pages requested ahead are cancelled and awaited; no request follows."""
        self._stop()
        await self._cancel()

    def __del__(self) -> None:
        # A bare ``break`` drops the pager without aclose(): cancel what it requested ahead now.
        for task in getattr(self, "_tasks", ()):
            if not task.done():
                with contextlib.suppress(RuntimeError):  # the loop is already closed
                    task.cancel()


def _after(contact: RawContact, since: datetime) -> bool:
    """Whether a v2 contact was updated after ``since`` (one that cannot tell is kept)."""
    value = contact.get("updated")
    if type(value) is not str:
        return True
    try:
        return parse_timestamp(value) > since
    except ValueError:
        return True


#: Stands for "no contact there" when the checked place is past the end of the list.
_NONE: Final = object()


def _cancelling() -> bool:
    """Whether the running task is being cancelled (Python 3.11+; 3.10 cannot tell: False)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is not None and cancelling() > 0


def _retrieve(task: asyncio.Task[Any]) -> None:
    # A page fetched ahead and never reached must not log "exception was never retrieved".
    if not task.cancelled():
        task.exception()
