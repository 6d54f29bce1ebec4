"""The v2 offset walk: :class:`V2OffsetPager`, page by page with a few pages fetched ahead."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from heymarket_async import _validate as check
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
from heymarket_async.pagination._positions import RawContact, V2OffsetPosition, resumed, since_text

__all__ = ["V2OffsetPager"]

#: The most pages a v2 walk may fetch ahead of the one being consumed.
MAX_PREFETCH: Final = 8


class V2OffsetPager(Pager[RawContact, ContactT]):
    """Every contact through the v2 page/limit list (``client.v2.iter_contacts_by_offset()``).

    Pages ``0, 1, 2...`` of ``page_size`` contacts in the server's order, until the first short
    page. ``max_items`` caps how many come out; ``since`` keeps the contacts updated after it.
    Once a page has come back full, ``prefetch`` pages beyond it are requested concurrently and
    handed out in order. ``position`` is valid after every contact handed out (resume with
    ``resume=position.to_json()``). ``aclose()`` (or ``async with``) cancels and awaits the pages
    requested ahead. Offset pages shift when contacts change during the walk: a contact updated
    behind the read offset moves to the end and a contact nobody touched can be skipped. Use it
    on a team that does not change meanwhile, or for the server's order as it is; the default
    walk, ``client.v2.iter_contacts()``, is a keyset walk that holds on live data
    (docs/pagination.md). With ``raw=True`` (a ``V2OffsetPager[dict[str, Any]]``) each contact
    comes as the JSON object the API sent, not a :class:`Contact`.
    """

    _error_url = "/v2/contacts/list"

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
        resume: V2OffsetPosition | Mapping[str, Any] | str | None = None,
        raw: bool = False,
    ) -> None:
        super().__init__(
            contact_structure(raw), scrub=scrub, max_items=checked_max_items(max_items)
        )
        self._list = list_v2
        self._prefetch = check.bounded_int(prefetch, "prefetch", 0, MAX_PREFETCH)
        since_at = since_text(since)
        if resume is not None:
            pos: V2OffsetPosition = resumed(resume, V2OffsetPosition, since_at)
        else:
            pos = V2OffsetPosition(
                page_size=check.bounded_int(page_size, "page_size", 1, check.V2_MAX_LIMIT),
                since=since_at,
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
        self._pages_seen: set[int] = set()  # a hash of each full page's ids
        self._limit_pages()

    @property
    def position(self) -> V2OffsetPosition:
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
            # raw_page: a contact without an id is refused here too, as by every walk.
            task = asyncio.ensure_future(self._list(self._body(page), raw_page))
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
        page = await self._first_task()
        if page is None:
            return None
        if len(page) >= self._pos.page_size:
            self._check_new(page)
        end, last = self._end_of(page)
        if last:
            # Before the position moves onto this page: a cancellation while the pages ahead
            # stop must leave it pointing at the page, not past the end of the walk.
            await self._cancel()
            if self._stopped():
                return None
        if self._started:
            self._pos = attrs.evolve(self._pos, page=self._pos.page + 1, skip=0)
        self._started = True
        self._done = last
        skip = self._skip_to_since(page, end)
        if not last:
            self._schedule(self._prefetch)  # fetched while this page is handed out
        return page[skip:end] if skip or end < len(page) else page

    def _check_new(self, page: list[RawContact]) -> None:
        """Raise if a full page holds exactly the contacts of an earlier one: a server that
        repeats itself would otherwise be paged forever (one number per page is kept)."""
        key = hash(frozenset([c.get("id") for c in page]))
        if key in self._pages_seen:
            raise PaginationError(
                f"the v2 list sent the same contacts on page {self._pos.page + self._started} "
                "as on an earlier page: the offset walk would never end",
            )
        self._pages_seen.add(key)

    async def _first_task(self) -> list[RawContact] | None:
        """The first page requested, once it has come (``None``: the walk was closed)."""
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
        return page

    def _end_of(self, page: list[RawContact]) -> tuple[int, bool]:
        """Where the page's contacts to hand out end, and whether it is the walk's last."""
        last = len(page) < self._pos.page_size
        since = self._since
        end = len(page)
        if since is not None and not self._pos.ascending:
            # Should ``date`` keep contacts updated at ``since`` (or compare coarser), they end
            # a newest-first list, and the walk with them.
            while end and not _after(page[end - 1], since):
                end -= 1
            last = last or end < len(page)
        return end, last

    def _skip_to_since(self, page: list[RawContact], end: int) -> int:
        """Where the page's contacts to hand out start (after a resumed walk's ``skip``)."""
        skip = self._pos.skip
        since = self._since
        if since is not None and self._pos.ascending:
            # ... and they lead an oldest-first list: left out like a resumed walk's ``skip``.
            lead = skip
            while lead < end and not _after(page[lead], since):
                lead += 1
            if lead != skip:
                skip = lead
                self._pos = attrs.evolve(self._pos, skip=skip)
                self._limit_pages()
        return skip

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


def _cancelling() -> bool:
    """Whether the running task is being cancelled (Python 3.11+; 3.10 cannot tell: False)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is not None and cancelling() > 0


def _retrieve(task: asyncio.Task[Any]) -> None:
    # A page fetched ahead and never reached must not log "exception was never retrieved".
    if not task.cancelled():
        task.exception()
