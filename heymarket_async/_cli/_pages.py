"""The SDK's pagers, seen as the exporter's ``PageSource``: pages, a JSON position, aclose."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from heymarket_async import HeymarketClient
from heymarket_async.models import Contact
from heymarket_async.pagination import V1ContactPager, V2ContactPager

__all__ = ["open_pages"]

#: v2 pages as large as the API allows: requests per contact is an export's throughput.
V2_PAGE_SIZE = 100
#: The ``updated`` range is read in this many parts at once, which hides the latency of each
#: request (four requests in flight keep pace with 500 a minute up to about 450 ms each).
V2_SLICES = 4


class _PagerSource:
    def __init__(self, pager: V1ContactPager | V2ContactPager) -> None:
        self._pager = pager

    def pages(self) -> AsyncIterator[Sequence[Contact]]:
        return self._pager.pages()

    def position(self) -> Any:
        return self._pager.position.to_dict()

    async def aclose(self) -> None:
        await self._pager.aclose()


def open_pages(
    client: HeymarketClient, api: str, since: datetime | None, position: Any
) -> _PagerSource:
    """A v1 (``updated`` cursor, pages of 30) or v2 (keyset, pages of 100, four parts) walk.

    ``position`` is what an earlier walk's ``position().to_dict()`` gave, or ``None``.
    """
    if api == "v1":
        return _PagerSource(client.iter_contacts(since=since, resume=position))
    return _PagerSource(
        client.v2.iter_contacts(
            since=since, page_size=V2_PAGE_SIZE, slices=V2_SLICES, resume=position
        )
    )
