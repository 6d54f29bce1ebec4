"""The v1 tag endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, overload

from heymarket_async import _validate as check
from heymarket_async._convert import raw_tags, structure_tag
from heymarket_async._sansio import Endpoint, Safety
from heymarket_async.models import UNSET, Tag, UnsetType
from heymarket_async.pagination import TagPager
from heymarket_async.resources._base import Resource, ignore

CREATE = Endpoint("POST", "/v1/tag", Safety.ONCE, effect="tag may have been created")
GET = Endpoint("GET", "/v1/tag/{id}", Safety.READ)
DELETE = Endpoint("DELETE", "/v1/tag/{id}", Safety.IDEMPOTENT, gone_is_done=True)
LIST = Endpoint("POST", "/v1/tags", Safety.READ)


class V1Tags(Resource):
    """The team's tags."""

    async def create_tag(self, name: str, *, color: str | None | UnsetType = UNSET) -> Tag:
        """Create a tag (``POST /v1/tag``); never sent twice, like a contact create."""
        return await self._call(CREATE.request(json=check.tag_body(name, color)), structure_tag)

    async def get_tag(self, tag_id: int) -> Tag:
        """The tag with this id (``GET /v1/tag/{id}``); :class:`NotFoundError` if none."""
        return await self._call(GET.request(id=check.tag_id(tag_id)), structure_tag)

    async def delete_tag(self, tag_id: int) -> None:
        """Delete a tag (``DELETE /v1/tag/{id}``)."""
        await self._call(DELETE.request(id=check.tag_id(tag_id)), ignore)

    async def list_tags(self, *, date: datetime | str | None = None) -> list[Tag]:
        """One page of the team's tags (``POST /v1/tags``); ``date`` is the list's cursor.

        To walk them all, use :meth:`iter_tags`.
        """
        body = {} if date is None else {"date": check.timestamp(date, "date")}
        return await self._call(LIST.request(json=body), _structure_tag_page)

    @overload
    def iter_tags(self, *, raw: Literal[False] = False) -> TagPager[Tag]: ...

    @overload
    def iter_tags(self, *, raw: Literal[True]) -> TagPager[dict[str, Any]]: ...

    @overload
    def iter_tags(self, *, raw: bool) -> TagPager[Tag] | TagPager[dict[str, Any]]: ...

    def iter_tags(self, *, raw: bool = False) -> TagPager[Any]:
        """Every tag, page by page through the ``date`` cursor: ``async for t in hm.iter_tags()``.

        See :class:`TagPager` for how the cursor is followed; nothing is sent until the first
        tag is asked for. ``raw=True`` hands out each tag as the JSON object the API sent (a
        ``dict``) instead of a :class:`Tag`.
        """
        return TagPager(self._fetch(LIST), raw=raw)


def _structure_tag_page(data: Any) -> list[Tag]:
    return [structure_tag(item) for item in raw_tags(data)]
