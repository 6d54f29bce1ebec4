"""The pagination package's parts on their own: the shared cursor rule, the pager base through
``TagPager``, and the constructor contract (``Fetch`` functions, ``scrub=``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from heymarket_async import InvalidResponseError, TagPager, V1ContactPager, V2OffsetPager
from heymarket_async.pagination import Fetch
from heymarket_async.pagination._cursor import learn_inclusive


@pytest.mark.parametrize(
    ("known", "sent", "first", "expected"),
    [
        (None, None, "a", None),  # no cursor sent: nothing learned
        (False, None, "a", False),
        (None, "a", "a", True),  # answered at the cursor's own time: inclusive
        (False, "a", "a", True),
        (None, "a", "b", False),  # anything else makes an unknown server exclusive
        (None, "a", None, False),
        (True, "a", "b", True),  # ... but does not unlearn an inclusive one
        (False, "a", "b", False),
    ],
)
def test_learn_inclusive(
    known: bool | None, sent: str | None, first: str | None, expected: bool | None
) -> None:
    assert learn_inclusive(known, sent, first) is expected


def fetch_of(pages: list[Any], sent: list[dict[str, Any]]) -> Fetch:
    """A fetch answering with ``pages`` in turn (then empty pages), recording the bodies."""

    async def fetch(body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
        sent.append(body)
        return parse(pages[len(sent) - 1] if len(sent) <= len(pages) else [])

    return fetch


def tag(n: int, updated: str) -> dict[str, Any]:
    return {"id": n, "name": f"t{n}", "updated": updated}


class TestTagPager:
    async def test_sends_only_the_body_through_the_fetch(self) -> None:
        sent: list[dict[str, Any]] = []
        pages = [[tag(2, "2026-05-07T12:00:02Z"), tag(1, "2026-05-07T12:00:01Z")]]
        assert [t.id async for t in TagPager(fetch_of(pages, sent))] == [2, 1]
        assert sent == [{}, {"date": "2026-05-07T12:00:02Z"}]

    async def test_pages_and_aclose(self) -> None:
        sent: list[dict[str, Any]] = []
        pages = [[tag(3, "2026-05-07T12:00:03Z"), tag(2, "2026-05-07T12:00:02Z")]] * 3
        pager = TagPager(fetch_of(pages, sent))
        async with pager:
            assert [[t.id for t in p] async for p in pager.pages()] == [[3, 2]]
        # The repeat of :03 shows an inclusive server; the answer to :02 brings nothing new.
        assert [b.get("date") for b in sent] == [
            None,
            "2026-05-07T12:00:03Z",
            "2026-05-07T12:00:02Z",
        ]
        assert [t async for t in pager] == []
        assert len(sent) == 3  # closed: nothing more is sent

    async def test_aclose_from_another_task_during_a_request_hands_out_nothing_more(self) -> None:
        release = asyncio.Event()

        async def slow(body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
            await release.wait()
            return parse([tag(1, "2026-05-07T12:00:01Z")])

        pager = TagPager(slow)
        task = asyncio.ensure_future(pager.__anext__())
        await asyncio.sleep(0)
        await pager.aclose()
        release.set()
        with pytest.raises(StopAsyncIteration):
            await task


class TestScrub:
    @pytest.mark.parametrize("version", ["v1", "v2"])
    async def test_a_bad_contacts_text_goes_through_scrub(self, version: str) -> None:
        bad = {"id": 1, "updated": "2026-05-07T12:00:01Z", "contact_channels": "15105553344"}
        fetch = fetch_of([[bad]], [])
        scrub = lambda text: text.replace("15105553344", "<phone>")  # noqa: E731
        pager = (
            V1ContactPager(fetch, fetch, scrub=scrub)
            if version == "v1"
            else V2OffsetPager(fetch, scrub=scrub)
        )
        with pytest.raises(InvalidResponseError, match="contact_channels") as info:
            await pager.__anext__()
        assert "15105553344" not in str(info.value)
        assert "<phone>" in str(info.value)
        assert info.value.url == ("/v1/contacts" if version == "v1" else "/v2/contacts/list")
