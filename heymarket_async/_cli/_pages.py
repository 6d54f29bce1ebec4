"""The SDK's pagers, seen as the exporter's ``PageSource``: pages, a position, aclose."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from heymarket_async import HeymarketClient

__all__ = ["open_pages"]

#: v2 pages as large as the API allows: requests per contact is an export's throughput.
V2_PAGE_SIZE = 100
#: The ``updated`` range is read in this many parts at once, which hides the latency of each
#: request (four requests in flight keep pace with 500 a minute up to about 450 ms each).
V2_SLICES = 4


class _Position(Protocol):
    def to_dict(self) -> Any: ...


class _Pager(Protocol):
    """What the exporter uses of a pager, typed or raw."""

    @property
    def position(self) -> _Position: ...

    def pages(self) -> AsyncIterator[Sequence[Any]]: ...

    async def aclose(self) -> None: ...


class _PagerSource:
    def __init__(self, pager: _Pager) -> None:
        self._pager = pager

    def pages(self) -> AsyncIterator[Sequence[Any]]:
        return self._pager.pages()

    def position(self) -> _Position:
        return self._pager.position

    async def aclose(self) -> None:
        await self._pager.aclose()


def open_pages(
    client: HeymarketClient, api: str, since: datetime | None, position: Any, *, raw: bool
) -> _PagerSource:
    """A v1 (``updated`` cursor, pages of 30) or v2 (keyset, pages of 100, four parts) walk.

    ``raw``: pages of the API's objects as it sent them (``dict``), else typed ``Contact``.
    ``position`` is what an earlier walk's ``position().to_dict()`` gave, or ``None``; a raw
    and a typed walk save the same positions.
    """
    if api == "v1":
        return _PagerSource(client.iter_contacts(raw=raw, since=since, resume=position))
    return _PagerSource(
        client.v2.iter_contacts(
            raw=raw, since=since, page_size=V2_PAGE_SIZE, slices=V2_SLICES, resume=position
        )
    )
