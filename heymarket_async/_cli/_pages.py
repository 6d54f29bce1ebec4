"""The SDK's pagers, seen as the exporter's ``PageSource``: pages, a position, aclose."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from heymarket_async import HeymarketClient
from heymarket_async.pagination import V2ContactPager

__all__ = ["open_pages"]

#: v2 pages as large as the API allows: requests per contact is an export's throughput.
V2_PAGE_SIZE = 100
#: Against a server the client does not pace (the emulator, a proxy with ``--rate-limit 0``),
#: the ``updated`` range is read in this many parts at once, which hides the latency of each
#: request. A paced client reads as many parts as its rate x the latency needs
#: (``slices="auto"``), unless ``--concurrency`` says.
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

    def keep_texts(self) -> None:
        """Pages of ``_sansio``'s ``ItemTexts``: each contact with its JSON text as the API
        sent it (the v2 keyset walk; the others give plain pages). The one private method of
        the SDK the command calls: no public walk hands out the API's bytes."""
        if isinstance(self._pager, V2ContactPager):
            self._pager._keep_texts()

    def pages(self) -> AsyncIterator[Sequence[Any]]:
        return self._pager.pages()

    def position(self) -> _Position:
        return self._pager.position

    async def aclose(self) -> None:
        await self._pager.aclose()


def open_pages(
    client: HeymarketClient,
    api: str,
    since: datetime | None,
    position: Any,
    *,
    raw: bool,
    concurrency: int | None = None,
) -> _PagerSource:
    """A v1 (``updated`` cursor, pages of 30) or v2 (keyset, pages of 100, in parts) walk.

    ``concurrency``: the v2 walk's parts read at once (``--concurrency``); by default as the
    client's rate and the latency need when it is paced, else :data:`V2_SLICES`.

    ``raw``: pages of the API's objects as it sent them (``dict``), else typed ``Contact``.
    ``position`` is what an earlier walk's ``position().to_dict()`` gave, or ``None``; a raw
    and a typed walk save the same positions.
    """
    if api == "v1":
        return _PagerSource(client.iter_contacts(raw=raw, since=since, resume=position))
    slices: int | Literal["auto"]
    if concurrency is not None:
        slices = concurrency
    else:
        slices = "auto" if client._pipeline.limiter is not None else V2_SLICES
    return _PagerSource(
        client.v2.iter_contacts(
            raw=raw, since=since, page_size=V2_PAGE_SIZE, slices=slices, resume=position
        )
    )
