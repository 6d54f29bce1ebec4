"""Walking every tag: ``POST /v1/tags`` and its own ``date`` cursor.

Heymarket documents the cursor but not the tag list's page size, order, or whether ``date``
is inclusive, so the walk assumes none of them: it sends back the last tag's time as the
server wrote it, hands out each tag once (by id), and stops on an empty page or a page that
brings no tag it has not seen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ._convert import raw_tags, structure_tag
from ._wire import Call, Request, Safety
from .models import Tag

Entry = tuple[Tag, str | None]

__all__ = ["TagPager"]


def _cursor_of(item: dict[str, Any]) -> str | None:
    value = item.get("updated", item.get("created"))
    return value if isinstance(value, str) and value else None


def _page(data: Any) -> list[Entry]:
    return [(structure_tag(item), _cursor_of(item)) for item in raw_tags(data)]


class TagPager:
    """Every tag of the team (``client.iter_tags()``): ``async for tag in hm.iter_tags()``.

    Each tag comes out once. The next page is asked for with ``{"date": <the last tag's
    updated (or created) time>}``, byte for byte as the server sent it; the walk ends on an
    empty page, on a page with no new tag, or on a page whose last tag has no time (the list
    cannot be paged further). More tags than fit on one page sharing one timestamp cannot all
    be reached through a time cursor; the walk then ends after those it got. ``pages()``
    yields the tags a page at a time.
    """

    def __init__(self, call: Call[Any]) -> None:
        self._call = call

    def __aiter__(self) -> AsyncIterator[Tag]:
        return self._tags()

    async def _tags(self) -> AsyncIterator[Tag]:
        async for page in self.pages():
            for tag in page:
                yield tag

    async def pages(self) -> AsyncIterator[list[Tag]]:
        """The tags a page at a time (each list holds only tags not yielded before)."""
        cursor: str | None = None
        seen: set[int] = set()
        while True:
            body = {} if cursor is None else {"date": cursor}
            page: list[Entry] = await self._call(
                Request("POST", "/v1/tags", Safety.READ, body), _page
            )
            fresh = []
            for tag, _ in page:
                if tag.id not in seen:
                    seen.add(tag.id)
                    fresh.append(tag)
            if not fresh:
                return
            yield fresh
            last = page[-1][1]
            if last is None or last == cursor:
                return
            cursor = last
