"""Walking every tag: ``POST /v1/tags`` and its own ``date`` cursor.

Heymarket documents the cursor but not the tag list's page size, order, or whether ``date``
is inclusive, so the walk assumes none of them. It hands out each tag once (by id) and sends
back times byte for byte as the server wrote them; like the v1 contact walk (``v1_step``), it
sends the page's last time only to a server known to be inclusive, and otherwise the time
before it, so that tags sharing the page's last time are not skipped by an exclusive server.
It stops on an empty page or on a page that brings no tag it has not seen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from heymarket_async._convert import raw_tags, structure_tag
from heymarket_async.models import Tag
from heymarket_async.pagination._contacts import Fetch

Entry = tuple[Tag, str | None]

__all__ = ["TagPager"]


def _cursor_of(item: dict[str, Any]) -> str | None:
    value = item.get("updated", item.get("created"))
    return value if isinstance(value, str) and value else None


def _page(data: Any) -> list[Entry]:
    return [(structure_tag(item), _cursor_of(item)) for item in raw_tags(data)]


class TagPager:
    """Every tag of the team (``client.iter_tags()``): ``async for tag in hm.iter_tags()``.

    Each tag comes out once. The next page is asked for with ``{"date": <a tag's updated (or
    created) time>}``, byte for byte as the server sent it: the page's last time if the server
    has shown that ``date`` is inclusive, otherwise the last different time before it (see
    :func:`_next_cursor`). The walk ends on an empty page, on a page with no new tag, or on a
    page whose last tag has no time (the list cannot be paged further). More tags than fit on
    one page sharing one timestamp cannot all be reached through a time cursor; the walk then
    ends after those it got. ``pages()`` yields the tags a page at a time.
    """

    def __init__(self, list_tags: Fetch) -> None:
        self._list = list_tags

    def __aiter__(self) -> AsyncIterator[Tag]:
        return self._tags()

    async def _tags(self) -> AsyncIterator[Tag]:
        async for page in self.pages():
            for tag in page:
                yield tag

    async def pages(self) -> AsyncIterator[list[Tag]]:
        """The tags a page at a time (each list holds only tags not yielded before)."""
        cursor: str | None = None
        inclusive: bool | None = None  # whether ``date`` lists the tags at that time again
        seen: set[int] = set()
        while True:
            body = {} if cursor is None else {"date": cursor}
            page: list[Entry] = await self._list(body, _page)
            learned = False
            if cursor is not None and page:
                if page[0][1] == cursor:
                    learned = inclusive is not True
                    inclusive = True
                elif inclusive is None:
                    inclusive = False
            fresh = []
            for tag, _ in page:
                if tag.id not in seen:
                    seen.add(tag.id)
                    fresh.append(tag)
            if fresh:
                yield fresh
            elif not learned:
                # Nothing new, and not because an inclusive server sent the last page again.
                return
            nxt = _next_cursor([time for _, time in page], inclusive)
            if nxt is None or nxt == cursor:
                return
            cursor = nxt


def _next_cursor(times: list[str | None], inclusive: bool | None) -> str | None:
    """The ``date`` to send after a page whose tags have these times (``None``: the end).

    An inclusive server gets the last time. Any other gets the last time before it: given the
    last one, an exclusive server would skip the tags at that time that did not fit on the
    page, while given the one before, it restarts at the first of them (an inclusive one a
    little earlier; the repeats are dropped by id). A page of one time gets that time.
    """
    if not times or times[-1] is None:
        return None
    last = times[-1]
    if inclusive:
        return last
    return next((t for t in reversed(times) if t is not None and t != last), last)
