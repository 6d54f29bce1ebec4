"""Walking every tag: :class:`TagPager`, following the tag list's own ``date`` cursor."""

from __future__ import annotations

from typing import Any

from heymarket_async import _validate as check
from heymarket_async._convert import raw_tags, structure_tag
from heymarket_async.pagination._base import Fetch, Pager, TagT
from heymarket_async.pagination._cursor import RequestCap, learn_inclusive

__all__ = ["TagPager"]

#: A tag of a page: what is handed out (a Tag, or the raw object), its id, its time.
Entry = tuple[Any, int, str | None]


def _cursor_of(item: dict[str, Any]) -> str | None:
    value = item.get("updated", item.get("created"))
    return value if isinstance(value, str) and value else None


def _page(data: Any) -> list[Entry]:
    out: list[Entry] = []
    for item in raw_tags(data):
        tag = structure_tag(item)
        out.append((tag, tag.id, _cursor_of(item)))
    return out


def _raw_page(data: Any) -> list[Entry]:
    # Structured all the same, for its id and to raise on a tag the typed walk would refuse.
    return [(item, structure_tag(item).id, _cursor_of(item)) for item in raw_tags(data)]


# The buffer holds the tags as they are handed out (made in the request's parse), so the base
# hands them out without a ``structure``.
class TagPager(Pager[TagT, TagT]):
    """Every tag of the team, each once (``client.iter_tags()``): ``async for t in pager``.

    The next page is asked for with a tag's ``updated`` (or ``created``) time, byte for byte as
    the server sent it. The walk ends on an empty page, a page with no new tag, or a page whose
    last tag has no time; more tags than fit on a page sharing one time cannot all be reached
    (docs/pagination.md). ``pages()`` yields the tags a page at a time. Raises
    :class:`PaginationError` once it has sent three times the requests its tags need (plus a
    few), rather than follow a server that keeps answering with a tag or two at a time.

    With ``raw=True`` (a ``TagPager[dict[str, Any]]``) each tag comes as the JSON object the API
    sent, not a :class:`Tag`; it is read (and refused) as the typed walk reads it all the same.
    """

    def __init__(self, list_tags: Fetch, *, raw: bool = False) -> None:
        super().__init__(None)
        self._parse = _raw_page if check.boolean(raw, "raw") else _page
        self._list = list_tags
        self._cursor: str | None = None
        self._inclusive: bool | None = None  # whether ``date`` lists the tags at that time again
        self._seen: set[int] = set()
        self._done = False
        self._cap = RequestCap("tag")
        self._page_len = 1  # the longest page so far: the list's page size, as far as it shows

    async def _fetch(self) -> list[TagT] | None:
        if self._done:
            return None
        cursor = self._cursor
        self._cap.spend(cursor)
        page = await self._list({} if cursor is None else {"date": cursor}, self._parse)
        if self._stopped():  # by aclose() from another task, meanwhile
            return None
        learned = False
        if page:
            inclusive = learn_inclusive(self._inclusive, cursor, page[0][2])
            learned = inclusive is True and self._inclusive is not True
            self._inclusive = inclusive
        fresh: list[TagT] = []
        for tag, tag_id, _ in page:
            if tag_id not in self._seen:
                self._seen.add(tag_id)
                fresh.append(tag)
        self._page_len = max(self._page_len, len(page))
        self._cap.earn(len(fresh) / self._page_len)
        if not fresh and not learned:
            # Nothing new, and not because an inclusive server sent the last page again.
            return None
        nxt = _next_cursor([time for _, _, time in page], self._inclusive)
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
