"""Walking every tag with ``iter_tags``: the ``date`` cursor, whatever the page size."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from heymarket_async import HeymarketClient, InvalidResponseError, TagPager
from heymarket_async.testing import FakeClock, FakeHeymarket
from tests._server import WireServer, json_reply

T0 = datetime(2026, 5, 7, 12, tzinfo=timezone.utc)


def _tag(n: int, updated: str | None = None) -> dict[str, Any]:
    tag: dict[str, Any] = {"id": n, "name": f"t{n}"}
    if updated is not None:
        tag["updated"] = updated
    return tag


class TestOverTheWire:
    async def test_sends_the_time_before_the_last_byte_for_byte_to_an_exclusive_server(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        # Given the last time (:02), an exclusive server would skip any other tag at :02 that
        # did not fit on the page; given the time before it, it restarts at them.
        wire.reply(
            json_reply([_tag(3, "2026-05-07T12:00:03.000Z"), _tag(2, "2026-05-07T12:00:02.000Z")]),
            json_reply([_tag(2, "2026-05-07T12:00:02.000Z"), _tag(1, "2026-05-07T12:00:01.000Z")]),
            json_reply([_tag(1, "2026-05-07T12:00:01.000Z")]),
        )
        pager = client.iter_tags()
        assert isinstance(pager, TagPager)
        assert [t.id async for t in pager] == [3, 2, 1]
        assert [r.json for r in wire.requests] == [
            {},
            {"date": "2026-05-07T12:00:03.000Z"},
            {"date": "2026-05-07T12:00:02.000Z"},
        ]

    async def test_an_inclusive_server_gets_the_last_time_once_it_has_shown_it_is_inclusive(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(
            json_reply([_tag(3, "2026-05-07T12:00:03Z"), _tag(2, "2026-05-07T12:00:02Z")]),
            # :03 answered with the tags at :03: nothing new, but the walk goes on.
            json_reply([_tag(3, "2026-05-07T12:00:03Z"), _tag(2, "2026-05-07T12:00:02Z")]),
            json_reply([_tag(2, "2026-05-07T12:00:02Z"), _tag(1, "2026-05-07T12:00:01Z")]),
            json_reply([_tag(1, "2026-05-07T12:00:01Z")]),
        )
        assert [t.id async for t in client.iter_tags()] == [3, 2, 1]
        assert [r.json.get("date") for r in wire.requests] == [
            None,
            "2026-05-07T12:00:03Z",
            "2026-05-07T12:00:02Z",
            "2026-05-07T12:00:01Z",
        ]

    async def test_a_page_with_nothing_new_ends_the_walk(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(
            json_reply([_tag(2, "2026-05-07T12:00:02Z"), _tag(1, "2026-05-07T12:00:01Z")]),
            json_reply([_tag(1, "2026-05-07T12:00:01Z")]),
        )
        assert [t.id async for t in client.iter_tags()] == [2, 1]
        assert len(wire.requests) == 2

    async def test_tags_without_times_are_one_page(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"tags": [_tag(1), _tag(2)]}))
        assert [t.id async for t in client.iter_tags()] == [1, 2]
        assert len(wire.requests) == 1

    async def test_pages_hand_out_each_tag_once(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(
            json_reply([_tag(2, "2026-05-07T12:00:02Z"), _tag(2, "2026-05-07T12:00:02Z")]),
            json_reply([]),
        )
        assert [[t.id for t in page] async for page in client.iter_tags().pages()] == [[2]]

    async def test_a_page_that_is_not_a_list_of_tags_is_an_invalid_response(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply(["not a tag"]))
        with pytest.raises(InvalidResponseError):
            [t async for t in client.iter_tags()]


class TestOverTheEmulator:
    @pytest.mark.parametrize("page_size", [1, 2, 7, 30])
    async def test_every_tag_once_newest_first(self, page_size: int) -> None:
        clock = FakeClock(T0, frozen=True)
        async with FakeHeymarket(clock=clock, tag_page_size=page_size) as fake:
            for n in range(1, 16):
                clock.set(T0 + timedelta(seconds=n))
                fake.add_tag(f"tag {n}")
            hm = fake.client()
            tags = [t async for t in hm.iter_tags()]
            assert [t.id for t in tags] == list(range(15, 0, -1))
            assert tags[0].updated == T0 + timedelta(seconds=15)
            # The page size is not documented, so a short page does not end the walk: one with
            # nothing new does, one request later. The emulator's cursor is exclusive, so each
            # page after the first starts again at the last tag of the one before (whose time
            # was not sent): it brings page_size - 1 new tags.
            pages = 15 if page_size == 1 else 1 + -(-(15 - page_size) // (page_size - 1))
            assert len(fake.requests_to("POST /v1/tags")) == pages + 1

    @pytest.mark.parametrize("page_size", [3, 4, 30])
    async def test_tags_sharing_a_time_across_a_page_boundary_all_come_out(
        self, page_size: int
    ) -> None:
        clock = FakeClock(T0, frozen=True)
        async with FakeHeymarket(clock=clock, tag_page_size=page_size) as fake:
            # Tags 1-3 share one time, 4 and 5 come later (a group larger than a page is the
            # documented limit of a time cursor).
            for n in (0, 0, 0, 1, 2):
                clock.set(T0 + timedelta(seconds=n))
                fake.add_tag(f"t{n}")
            hm = fake.client()
            assert sorted([t.id async for t in hm.iter_tags()]) == [1, 2, 3, 4, 5]

    async def test_nothing_is_sent_until_the_first_tag_is_asked_for(self) -> None:
        async with FakeHeymarket() as fake:
            hm = fake.client()
            pager = hm.iter_tags()
            assert fake.requests_to("POST /v1/tags") == []
            assert [t async for t in pager] == []
