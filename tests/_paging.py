"""Helpers shared by the paging tests: drain a walk, and check it gave every id exactly once."""

from __future__ import annotations

from collections import Counter

from heymarket_async import V1ContactPager, V2ContactPager


async def ids_of(pager: V1ContactPager | V2ContactPager) -> list[int]:
    return [c.id async for c in pager]  # type: ignore[misc]


async def collect(pager: V1ContactPager | V2ContactPager, into: list[int]) -> None:
    """Walk ``pager`` into ``into``, so a test can see what came out before an error."""
    async for c in pager:
        into.append(c.id)  # type: ignore[arg-type]


def assert_exactly_once(got: list[int], expected: set[int]) -> None:
    dupes = sorted(i for i, k in Counter(got).items() if k > 1)
    assert not dupes, f"duplicates: {dupes[:10]}"
    assert set(got) == expected, f"missing: {sorted(expected - set(got))[:10]}"
