"""The v1 contact walk: :class:`V1ContactPager`, the I/O around :func:`v1_step` and
:func:`v1_tie_step`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from heymarket_async._redact import mask
from heymarket_async._sansio import parse_timestamp
from heymarket_async.errors import PaginationError
from heymarket_async.pagination._base import (
    ContactT,
    Fetch,
    Pager,
    checked_max_items,
    contact_structure,
    raw_page,
)
from heymarket_async.pagination._cursor import RequestCap
from heymarket_async.pagination._positions import (
    V1_PAGE_SIZE,
    RawContact,
    V1Position,
    resumed,
    since_text,
)
from heymarket_async.pagination._ties import contact_ids, restart_pass, tie_request, v1_tie_step
from heymarket_async.pagination._v1_step import merge_seen, parse_updated, updated_of, v1_step

__all__ = ["V1ContactPager"]


class V1ContactPager(Pager[RawContact, ContactT]):
    """Every contact through the v1 ``updated`` cursor (``client.iter_contacts()``).

    Exactly once on unchanging data, whatever the list's order and the cursor's inclusivity; a
    tie group larger than a page is read through the v2 list (those contacts come in v2's
    shape). ``max_items`` caps how many come out; ``since`` keeps the contacts updated after it.
    Raises :class:`PaginationError` rather than risk a gap. ``position`` is valid after every
    contact handed out::

        async with client.iter_contacts(resume=load_saved_or_none()) as pager:
            async for page in pager.pages():
                write(page)
                save(pager.position.to_json())  # after a crash, resume from here

    ``aclose()`` (or ``async with``) stops the walk at once. A ``V1ContactPager[Contact]`` (a
    bare ``V1ContactPager``) hands out :class:`Contact` objects; made with ``raw=True``, a
    ``V1ContactPager[dict[str, Any]]`` hands out each contact's JSON object as the API sent it,
    with the same bookkeeping. Contacts changed during a walk, the reasoning behind the cursor
    and raw walks: docs/pagination.md.
    """

    _error_url = "/v1/contacts"

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
        raw: bool = False,
    ) -> None:
        super().__init__(
            contact_structure(raw), scrub=scrub, max_items=checked_max_items(max_items)
        )
        self._list_v1 = list_v1
        self._list_v2 = list_v2
        since_at = since_text(since)
        if resume is not None:
            pos: V1Position = resumed(resume, V1Position, since_at)
        else:
            pos = V1Position(since=since_at, page_size=page_size)
        self._since = None if pos.since is None else parse_timestamp(pos.since)
        self._page_pos = pos  # the position that fetched the buffered page
        self._next_pos = pos  # where the walk goes after the buffered page
        # For a page of a tie group's v2 read: the raw page and the places of what it yields.
        self._tie_data: list[RawContact] = []
        self._tie_index: list[int] = []
        self._stalls = 0
        self._cap = RequestCap("v1 contact")
        self._last_ids: frozenset[Any] = frozenset()  # the ids of the last v1 page handed out

    @property
    def position(self) -> V1Position:
        """Where to resume from: just after the last contact handed out."""
        i = self._i
        page_pos = self._page_pos
        if i >= self._avail:
            nxt = self._next_pos
            return nxt if nxt.tie is None else restart_pass(nxt, nxt.tie_given)
        if page_pos.tie is not None:
            # A tie group's read resumes at the start of its pass, by id: should the list
            # move before the walk resumes, places on a page would skip or repeat.
            handed = [self._tie_data[r] for r in self._tie_index[:i]]
            return restart_pass(page_pos, page_pos.tie_given | contact_ids(handed))
        return attrs.evolve(
            self._next_pos,
            cursor=page_pos.cursor,
            own_cursor=page_pos.own_cursor,
            check=page_pos.check,
            fallback=page_pos.fallback,
            seen=merge_seen(page_pos.seen, self._buf[:i]),
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
        # Contacts the page before held too earn nothing: a server resending the same ones at
        # ever later times would otherwise keep the walk going for ever.
        last = self._last_ids
        self._last_ids = ids = contact_ids(step.keep)
        self._cap.earn(len(ids - last) / V1_PAGE_SIZE)
        if not step.set_aside:
            # A page set aside by the check was not read: it says nothing of progress. A walk
            # that ends at a checked cursor may meet two (the cursor, and again after the
            # fallback's page, which repeats), before the group is read through v2.
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
        self._cap.spend(body.get("date"))
        page = await fetch(body, raw_page)
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
            tie = pos.tie or ""
            descending = bool(oldest) and parse_updated(updated_of(oldest[0])) < parse_updated(tie)
            pos = self._next_pos = attrs.evolve(pos, descending=descending)
        data = await self._read(self._list_v2, tie_request(pos))
        if data is None:
            return None
        step = v1_tie_step(pos, data, self._since)
        if pos.tie_pass < 2:
            self._cap.earn(1)  # an honest read takes two passes (one, when a page holds it)
        if step.next.tie is None:
            self._stalls = 0  # the group is behind the walk
        self._page_pos = pos
        self._next_pos = step.next
        self._tie_data = data
        self._tie_index = step.index
        return step.keep
