"""What mypy sees of raw and typed walks: checked by ``mypy --strict`` in
``test_raw_pages.py::TestTyping`` (never run; the ``assert_type`` calls are for the checker).

A ``# type: ignore[...]`` here marks a line that must be an error: ``--strict`` reports an
ignore that is not needed, so the check fails if the overloads stop refusing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from typing_extensions import assert_type

from heymarket_async import (
    Contact,
    HeymarketClient,
    Tag,
    TagPager,
    V1ContactPager,
    V1Position,
    V2ContactPager,
    V2OffsetPager,
    V2Position,
)

Raw = dict[str, Any]
T = TypeVar("T")


async def v1(hm: HeymarketClient, flag: bool) -> None:
    assert_type(hm.iter_contacts(), V1ContactPager[Contact])
    assert_type(hm.iter_contacts(raw=False), V1ContactPager[Contact])
    assert_type(hm.iter_contacts(raw=True), V1ContactPager[Raw])
    assert_type(hm.iter_contacts(raw=flag), V1ContactPager[Contact] | V1ContactPager[Raw])
    async with hm.iter_contacts(raw=True, max_items=5) as pager:
        assert_type(pager, V1ContactPager[Raw])
        async for item in pager:
            assert_type(item, Raw)
        async for page in pager.pages():
            assert_type(page, list[Raw])
        assert_type(pager.position, V1Position)
        assert_type(pager.position.to_dict(), dict[str, Any])
    async for contact in hm.iter_contacts():
        assert_type(contact, Contact)


async def v2(hm: HeymarketClient) -> None:
    assert_type(hm.v2.iter_contacts(), V2ContactPager[Contact])
    assert_type(hm.v2.iter_contacts(raw=True, slices=4), V2ContactPager[Raw])
    assert_type(hm.v2.iter_contacts_by_offset(), V2OffsetPager[Contact])
    assert_type(hm.v2.iter_contacts_by_offset(raw=True), V2OffsetPager[Raw])
    pager = hm.v2.iter_contacts(raw=True)
    async for page in pager.pages():
        assert_type(page, list[Raw])
    assert_type(pager.position, V2Position)


async def tags(hm: HeymarketClient) -> None:
    assert_type(hm.iter_tags(), TagPager[Tag])
    assert_type(hm.iter_tags(raw=True), TagPager[Raw])
    async for tag in hm.iter_tags():
        assert_type(tag, Tag)


async def annotations_written_before_raw_walks(hm: HeymarketClient) -> None:
    # A bare class name still means a typed walk.
    pager: V1ContactPager = hm.iter_contacts()
    async for contact in pager:
        assert_type(contact, Contact)
    v2_pager: V2ContactPager = hm.v2.iter_contacts()
    offset: V2OffsetPager = hm.v2.iter_contacts_by_offset()
    tag_pager: TagPager = hm.iter_tags()
    assert_type(v2_pager, V2ContactPager[Contact])
    assert_type(offset, V2OffsetPager[Contact])
    assert_type(tag_pager, TagPager[Tag])


async def mistakes(hm: HeymarketClient) -> None:
    wrong: V1ContactPager = hm.iter_contacts(raw=True)  # type: ignore[assignment]
    async for item in hm.iter_contacts(raw=True):
        print(item.first)  # type: ignore[attr-defined]
    async for contact in hm.v2.iter_contacts():
        print(contact["id"])  # type: ignore[index]
    del wrong


async def own_fetch(body: dict[str, Any], parse: Callable[[Any], T], /) -> T:
    """A list function of the user's, as docs/pagination.md writes one: it fits ``Fetch``."""
    return parse([])


def pagers_on_an_own_fetch() -> None:
    assert_type(V2ContactPager(own_fetch), V2ContactPager[Contact])
    assert_type(V2OffsetPager(own_fetch), V2OffsetPager[Contact])
    assert_type(V1ContactPager(own_fetch, own_fetch), V1ContactPager[Contact])
    assert_type(TagPager(own_fetch), TagPager[Tag])
