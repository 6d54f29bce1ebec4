"""Walking every tag: :class:`TagPager`, following the tag list's own ``date`` cursor."""

from __future__ import annotations

from typing import Any

from heymarket_async._convert import raw_tags, structure_tag
from heymarket_async.models import Tag
from heymarket_async.pagination._base import Fetch, Pager
from heymarket_async.pagination._cursor import RequestCap, learn_inclusive

__all__ = ["TagPager"]

Entry = tuple[Tag, str | None]


def _cursor_of(item: dict[str, Any]) -> str | None:
    value = item.get("updated", item.get("created"))
    return value if isinstance(value, str) and value else None


def _page(data: Any) -> list[Entry]:
    return [(structure_tag(item), _cursor_of(item)) for item in raw_tags(data)]


def _same(tag: Tag) -> Tag:
    return tag  # tags are structured with their page, in the request's parse


class TagPager(Pager[Tag, Tag]):
    """Every tag of the team, each once (``client.iter_tags()``): ``async for t in pager``.

    The next page is asked for with a tag's ``updated`` (or ``created``) time, byte for byte as
    the server sent it. The walk ends on an empty page, a page with no new tag, or a page whose
    last tag has no time; more tags than fit on a page sharing one time cannot all be reached
    (docs/pagination.md). ``pages()`` yields the tags a page at a time. Raises
    :class:`PaginationError` once it has sent three times the requests its tags need (plus a
    few), rather than follow a server that keeps answering with a tag or two at a time.
    """

    def __init__(self, list_tags: Fetch) -> None:
        super().__init__(_same)
        self._list = list_tags
        self._cursor: str | None = None
        self._inclusive: bool | None = None  # whether ``date`` lists the tags at that time again
        self._seen: set[int] = set()
        self._done = False
        self._cap = RequestCap("tag")
        self._page_len = 1  # the longest page so far: the list's page size, as far as it shows

    async def _fetch(self) -> list[Tag] | None:
        if self._done:
            return None
        cursor = self._cursor
        self._cap.spend(cursor)
        page = await self._list({} if cursor is None else {"date": cursor}, _page)
        if self._stopped():  # by aclose() from another task, meanwhile
            return None
        learned = False
        if page:
            inclusive = learn_inclusive(self._inclusive, cursor, page[0][1])
            learned = inclusive is True and self._inclusive is not True
            self._inclusive = inclusive
        fresh = []
        for tag, _ in page:
            if tag.id not in self._seen:
                self._seen.add(tag.id)
                fresh.append(tag)
        self._page_len = max(self._page_len, len(page))
        self._cap.earn(len(fresh) / self._page_len)
        if not fresh and not learned:
            # Nothing new, and not because an inclusive server sent the last page again.
            return None
        nxt = _next_cursor([time for _, time in page], self._inclusive)
        self._done = nxt is None or nxt == cursor
        self._cursor = nxt
        return fresh


def _next_cursor(times: list[str | None], inclusive: bool | None) -> str | None:
    """The ``date`` to send after a page whose tags have these times (``None``: the end).

    An inclusive server gets the last time; any other the last different time before it
    (given the last one, an exclusive server would skip the tags at that time that did not fit
    on the page). A page of one time gets that time.
    """
    if not times or times[-1] is None:
        return None
    last = times[-1]
    if inclusive:
        return last
    return next((t for t in reversed(times) if t is not None and t != last), last)
