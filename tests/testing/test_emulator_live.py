"""The emulator's switches for paging on live data: cursor resolution, tie order, churn, hangs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _fake_http import Raw

from heymarket_async.testing import FakeHeymarket

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def ids(answer: Any) -> list[int]:
    return [c["id"] for c in answer]


class TestCursorResolution:
    @pytest.fixture
    def fake_options(self) -> dict[str, Any]:
        return {"cursor_resolution": "microseconds"}

    async def test_a_v2_cursor_means_its_exact_microsecond(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(10, step=0.0005)  # .000000, .000500, .001000, .001500 ...
        assert fake.contacts[3]["updated"] == fake.contacts[4]["updated"]
        cursor = fake.contacts[3]["updated"]
        assert cursor == "2025-01-01T00:00:00.001Z"
        answer = await raw("POST", "/v2/contacts/list", {"date": cursor, "ascending": True})
        assert ids(answer.json) == [4, 5, 6, 7, 8, 9, 10], "3 at .001000 out, 4 at .001500 in"
        count = await raw("POST", "/v1/contacts/count", {"date": cursor})
        assert count.json == "7"

    async def test_a_v1_cursor_means_its_exact_microsecond_both_ways(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(10, step=0.0005)
        cursor = "2025-01-01T00:00:00.002Z"  # contact 5 exactly, 6 half a millisecond later
        newest = await raw("POST", "/v1/contacts", {"date": cursor})
        assert ids(newest.json) == [4, 3, 2, 1]
        fake.v1_order = "oldest_first"
        oldest = await raw("POST", "/v1/contacts", {"date": cursor})
        assert ids(oldest.json) == [6, 7, 8, 9, 10]
        fake.v1_cursor_inclusive = True
        inclusive = await raw("POST", "/v1/contacts", {"date": cursor})
        assert ids(inclusive.json) == [5, 6, 7, 8, 9, 10]

    async def test_contacts_that_render_alike_do_not_tie(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        # Written in reverse id order within one millisecond: ordered by true time, not id.
        fake.add_contact(id=1, updated=T0 + timedelta(microseconds=900), phone="15105550001")
        fake.add_contact(id=2, updated=T0 + timedelta(microseconds=100), phone="15105550002")
        answer = await raw("POST", "/v2/contacts/list", {"ascending": True})
        assert ids(answer.json) == [2, 1]
        assert {c["updated"] for c in answer.json} == {"2025-01-01T00:00:00.000Z"}
        assert list(fake.contacts) == [2, 1]

    async def test_clock_writes_keep_their_microseconds(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.clock.freeze(T0)
        fake.clock.tick = 0.0004  # writes at .000000, .000400, .000800, .001200, .001600
        for i in range(5):
            fake.add_contact(phone=f"1510555000{i}")
        rendered = [c["updated"][-5:] for c in fake.contacts.values()]
        assert rendered == [".000Z", ".000Z", ".000Z", ".001Z", ".001Z"]
        count = await raw("POST", "/v1/contacts/count", {"date": "2025-01-01T00:00:00.000Z"})
        assert count.json == "4", "only the one at exactly .000000 is not after the cursor"


class TestRenderedResolution:
    async def test_the_default_ties_contacts_that_render_alike(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(10, step=0.0005)
        cursor = "2025-01-01T00:00:00.001Z"
        answer = await raw("POST", "/v2/contacts/list", {"date": cursor, "ascending": True})
        assert ids(answer.json) == [5, 6, 7, 8, 9, 10], "3 and 4 both at .001 and excluded"

    def test_an_unknown_resolution_is_refused(self) -> None:
        with pytest.raises(ValueError, match="cursor_resolution"):
            FakeHeymarket(cursor_resolution="nanoseconds")  # type: ignore[arg-type]
