"""The pagers against a small in-test model of the two list endpoints (no sockets).

The model is the four v1 behaviours the docs leave open (newest- or oldest-first, inclusive or
exclusive ``date``) and v2's page/limit/date/ascending, over a list of (id, updated) pairs. The
same walks run against the emulator over loopback in test_pagination_emulator.py.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heymarket_async import (
    HeymarketClient,
    InvalidRequestError,
    InvalidResponseError,
    PaginationError,
    RetryPolicy,
    ServerError,
    V1ContactPager,
    V1Position,
    V2OffsetPager,
    V2OffsetPosition,
    V2Position,
)
from heymarket_async._sansio import parse_timestamp
from heymarket_async.pagination._base import raw_page
from heymarket_async.pagination._ties import contact_ids, tie_request
from heymarket_async.pagination._v1_step import v1_step
from heymarket_async.pagination._v2_offset import _after
from heymarket_async.testing import FakeHeymarket, Fault, MockTransport
from tests._paging import assert_exactly_once, collect, ids_of
from tests._server import API_KEY, WireServer, json_reply

BASE = datetime(2026, 5, 7, 12, 0, 0, tzinfo=timezone.utc)
MODES = [
    pytest.param(desc, incl, id=f"{'newest' if desc else 'oldest'}-{'incl' if incl else 'excl'}")
    for desc in (True, False)
    for incl in (True, False)
]


def stamp(second: int) -> str:
    """A timestamp string in the server's own format (milliseconds, ``Z``)."""
    return (BASE + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def contacts_from_ticks(ticks: list[int]) -> list[dict[str, Any]]:
    """Contacts with ids 1..n; ``ticks[i]`` is contact i+1's updated second (ties allowed)."""
    return [{"id": i + 1, "updated": stamp(t), "first": f"c{i + 1}"} for i, t in enumerate(ticks)]


def ticks_with_ties(n: int, group: int) -> list[int]:
    """``n`` contacts in tie groups of ``group`` (the last group may be smaller)."""
    return [i // group for i in range(n)]


V1_LIST = "/v1/contacts"
V2_LIST = "/v2/contacts/list"


class Model:
    """The list endpoints over a static store, in one of the four v1 behaviours."""

    def __init__(
        self,
        contacts: list[dict[str, Any]],
        *,
        descending: bool = True,
        inclusive: bool = False,
        page_size: int = 30,
    ) -> None:
        self.contacts = contacts
        self.descending = descending
        self.inclusive = inclusive
        self.page_size = page_size
        self.v2_inclusive = False  # whether v2's ``date`` keeps contacts updated exactly then
        self.requests: list[dict[str, Any]] = []
        self.fail: Callable[[dict[str, Any]], Exception | None] = lambda body: None
        self.delay: Callable[[dict[str, Any]], float] = lambda body: 0.0
        self.in_flight = 0
        self.max_in_flight = 0

    def _sorted(self, descending: bool) -> list[dict[str, Any]]:
        key = lambda c: (parse_timestamp(c["updated"]), c["id"])  # noqa: E731
        return sorted(self.contacts, key=key, reverse=descending)

    def v1(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self._sorted(self.descending)
        if "date" in body:
            cut = parse_timestamp(body["date"])

            def after(c: dict[str, Any]) -> bool:
                u = parse_timestamp(c["updated"])
                if self.inclusive and u == cut:
                    return True
                return u < cut if self.descending else u > cut

            rows = [c for c in rows if after(c)]
        return [dict(c) for c in rows[: self.page_size]]

    def v2(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self._sorted(not body.get("ascending", False))
        if "date" in body:
            cut = parse_timestamp(body["date"])
            if self.v2_inclusive:
                rows = [c for c in rows if parse_timestamp(c["updated"]) >= cut]
            else:
                rows = [c for c in rows if parse_timestamp(c["updated"]) > cut]
        start = body["page"] * body["limit"]
        return [dict(c) for c in rows[start : start + body["limit"]]]

    async def list_v1(self, body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
        """The pagers' fetch for ``POST /v1/contacts``."""
        return await self._answer(V1_LIST, body, parse)

    async def list_v2(self, body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
        """The pagers' fetch for ``POST /v2/contacts/list``."""
        return await self._answer(V2_LIST, body, parse)

    async def _answer(self, path: str, body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
        body = dict(body)
        self.requests.append({"path": path, **body})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delay = self.delay(body)
            if delay:
                await asyncio.sleep(delay)
            error = self.fail(body)
            if error is not None:
                raise error
            data = self.v1(body) if path == V1_LIST else self.v2(body)
            return parse(data)
        finally:
            self.in_flight -= 1


def v1_pager(model: Model, **kwargs: Any) -> V1ContactPager:
    return V1ContactPager(model.list_v1, model.list_v2, **kwargs)


def v2_pager(model: Model, **kwargs: Any) -> V2OffsetPager:
    return V2OffsetPager(model.list_v2, **kwargs)


def server_error() -> ServerError:
    return ServerError(status=500, method="POST", url="/v2/contacts/list")


SIZES = [0, 1, 29, 30, 31, 60, 61, 2500]


class TestV1WalksEveryContactOnce:
    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    @pytest.mark.parametrize("n", SIZES)
    async def test_distinct_timestamps(self, descending: bool, inclusive: bool, n: int) -> None:
        model = Model(
            contacts_from_ticks(list(range(n))), descending=descending, inclusive=inclusive
        )
        got = await ids_of(v1_pager(model))
        assert_exactly_once(got, set(range(1, n + 1)))

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    @pytest.mark.parametrize("group", [2, 7, 15, 29])
    @pytest.mark.parametrize("n", [29, 30, 31, 60, 61, 200])
    async def test_tie_groups_across_page_boundaries(
        self, descending: bool, inclusive: bool, group: int, n: int
    ) -> None:
        model = Model(
            contacts_from_ticks(ticks_with_ties(n, group)),
            descending=descending,
            inclusive=inclusive,
        )
        got = await ids_of(v1_pager(model))
        assert_exactly_once(got, set(range(1, n + 1)))

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    async def test_the_cursor_is_the_servers_string_byte_for_byte(
        self, descending: bool, inclusive: bool
    ) -> None:
        contacts = contacts_from_ticks(list(range(45)))
        for c in contacts:  # a format that re-formatting a datetime would not reproduce
            c["updated"] = c["updated"].replace(".000Z", ".000000+00:00")
        model = Model(contacts, descending=descending, inclusive=inclusive)
        await ids_of(v1_pager(model))
        sent = [r["date"] for r in model.requests if "date" in r]
        assert sent
        assert all(s in {c["updated"] for c in contacts} for s in sent)

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    async def test_learns_whether_the_cursor_is_inclusive(
        self, descending: bool, inclusive: bool
    ) -> None:
        model = Model(
            contacts_from_ticks(list(range(100))), descending=descending, inclusive=inclusive
        )
        pager = v1_pager(model)
        await ids_of(pager)
        assert pager.position.inclusive is inclusive
        assert pager.position.descending is descending
        # An exclusive server costs one page per 29 contacts, an inclusive one per 30 - 1.
        assert len(model.requests) <= 100 // 28 + 2


def big_tie_ticks(before: int, group: int, after: int, descending: bool) -> list[int]:
    """``before`` distinct times, a ``group`` tied at one time, ``after`` distinct times, the
    group placed early in the walk's order (oldest on an oldest-first list and vice versa)."""
    ticks = list(range(before)) + [before] * group + list(range(before + 1, before + 1 + after))
    return [-t for t in ticks] if descending else ticks


class TestV1TieGroupLargerThanAPage:
    """No v1 cursor passes a group larger than a page: the rest of it is read through v2."""

    def test_a_group_in_the_first_second_is_read_without_a_date_filter(self) -> None:
        # No time before it can be written: no filter, rather than an OverflowError.
        first = tie_request(V1Position(tie="0001-01-01T00:00:00.500Z", tie_page=2))
        assert first == {"limit": 100, "page": 2, "ascending": True}
        later = tie_request(V1Position(tie="0001-01-01T00:00:01.500Z"))
        assert later["date"] == "0001-01-01T00:00:00.500000Z"

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    @pytest.mark.parametrize("v2_inclusive", [False, True])
    @pytest.mark.parametrize(
        ("before", "group", "after"),
        [(0, 30, 0), (0, 30, 10), (0, 250, 40), (10, 40, 10), (29, 31, 0), (5, 100, 70)],
    )
    async def test_every_contact_once(
        self,
        descending: bool,
        inclusive: bool,
        v2_inclusive: bool,
        before: int,
        group: int,
        after: int,
    ) -> None:
        ticks = big_tie_ticks(before, group, after, descending)
        model = Model(contacts_from_ticks(ticks), descending=descending, inclusive=inclusive)
        model.v2_inclusive = v2_inclusive
        got = await ids_of(v1_pager(model))
        assert_exactly_once(got, set(range(1, len(ticks) + 1)))
        # The v2 read starts one second before the group and reads only as far as it goes.
        v2 = [r for r in model.requests if r["path"] == "/v2/contacts/list" and "date" in r]
        tied = BASE + timedelta(seconds=-before if descending else before)
        dates = [parse_timestamp(r["date"]) for r in v2]
        assert dates[0] == tied - timedelta(seconds=1)
        if not inclusive:
            assert set(dates) == {dates[0]}
        # (An inclusive server answers the group's time with the group again: the group past
        # it is read through v2 too.)
        v2 = [r for r, d in zip(v2, dates, strict=True) if d == dates[0]]
        # A read of more than one page goes over the group twice (the second pass confirms
        # that the server's order among the group held still); each pass from page 0.
        pages = [r["page"] for r in v2]
        per_pass = pages.index(0, 1) if pages.count(0) > 1 else len(pages)
        assert per_pass <= group // 100 + 1
        assert pages == list(range(per_pass)) * (len(pages) // per_pass)
        assert len(pages) // per_pass == (1 if per_pass == 1 else 2)

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    async def test_two_big_groups_back_to_back(self, descending: bool, inclusive: bool) -> None:
        ticks = [0] * 45 + [1] * 130 + [2] * 3
        if descending:
            ticks = [-t for t in ticks]
        model = Model(contacts_from_ticks(ticks), descending=descending, inclusive=inclusive)
        assert_exactly_once(await ids_of(v1_pager(model)), set(range(1, 179)))

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    async def test_since_with_a_big_group(self, descending: bool, inclusive: bool) -> None:
        ticks = list(range(20)) + [20] * 70 + list(range(21, 60))
        model = Model(contacts_from_ticks(ticks), descending=descending, inclusive=inclusive)
        for cut in (10, 19, 20, 21):
            got = await ids_of(v1_pager(model, since=stamp(cut)))
            assert_exactly_once(got, {i + 1 for i, t in enumerate(ticks) if t > cut})

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    async def test_a_v2_list_that_disagrees_on_ids_raises_naming_the_timestamp(
        self, descending: bool, inclusive: bool
    ) -> None:
        ticks = big_tie_ticks(3, 50, 5, descending)
        model = Model(contacts_from_ticks(ticks), descending=descending, inclusive=inclusive)
        plain_v2 = model.v2
        model.v2 = lambda body: [  # type: ignore[method-assign]
            {**c, "id": c["id"] + 1000} for c in plain_v2(body)
        ]
        got: list[int] = []
        with pytest.raises(PaginationError) as info:
            await collect(v1_pager(model), got)
        tied = stamp(-3 if descending else 3)
        assert info.value.cursor == tied
        assert tied in str(info.value)
        assert len(got) == len(set(got))

    async def test_a_v2_list_not_in_updated_order_raises_rather_than_skip(self) -> None:
        # A v2 list that orders by the second only: within 12:00:01 it goes by id, so contacts
        # just after the group (ids 41-45) come in the middle of it. Reading on would end the
        # group at the first of them and never hand out ids 46-85.
        def at(ms: int) -> str:
            return (BASE + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

        contacts = [{"id": i, "updated": at(1500)} for i in [*range(1, 41), *range(46, 86)]]
        contacts += [{"id": i, "updated": at(1800)} for i in range(41, 46)]
        contacts += [{"id": 100 + i, "updated": at(3000 + i)} for i in range(5)]
        model = Model(contacts, descending=False)
        plain_v2 = model.v2

        def by_second(body: dict[str, Any]) -> list[dict[str, Any]]:
            rows = plain_v2({**body, "page": 0, "limit": len(contacts)})
            rows.sort(key=lambda c: (c["updated"][:19], c["id"]))
            start = body["page"] * body["limit"]
            return rows[start : start + body["limit"]]

        model.v2 = by_second  # type: ignore[method-assign]
        got: list[int] = []
        with pytest.raises(PaginationError, match="order") as info:
            await collect(v1_pager(model), got)
        assert info.value.cursor == at(1500)
        assert len(got) == len(set(got))

    async def test_a_v2_contact_without_an_id_raises(self) -> None:
        model = Model(contacts_from_ticks([0] * 40))
        plain_v2 = model.v2
        model.v2 = lambda body: [  # type: ignore[method-assign]
            {k: v for k, v in c.items() if k != "id"} for c in plain_v2(body)
        ]
        # Refused as the page is read (the client makes it an InvalidResponseError).
        with pytest.raises(TypeError, match="without an id"):
            await ids_of(v1_pager(model))

    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    @pytest.mark.parametrize("crash_after", [5, 30, 31, 60, 129, 130, 131, 200])
    async def test_resume_in_the_middle_of_the_v2_read(
        self, descending: bool, inclusive: bool, crash_after: int
    ) -> None:
        ticks = big_tie_ticks(5, 150, 60, descending)
        model = Model(contacts_from_ticks(ticks), descending=descending, inclusive=inclusive)
        first = v1_pager(model, max_items=crash_after)
        got = await ids_of(first)
        saved = first.position.to_json()
        rest = await ids_of(v1_pager(model, resume=saved))
        assert_exactly_once(got + rest, set(range(1, len(ticks) + 1)))


class TestV1TieGroupReadWhileItChanges:
    """The v2 read pages by offset: contacts that change or go move the rest of the list up."""

    def model(self, descending: bool) -> Model:
        # 5 contacts, a group of 250 at one time (ids 6-255), 5 more; v2 pages of the group's
        # read: ids 6-105, 106-205, 206-255.
        ticks = [0] * 5 + [1] * 250 + [2] * 5
        if descending:
            ticks = [-t for t in ticks]
        return Model(contacts_from_ticks(ticks), descending=descending)

    @staticmethod
    def change(model: Model, *ids: int) -> None:
        for c in model.contacts:
            if c["id"] in ids:
                c["updated"] = stamp(10)

    @pytest.mark.parametrize("descending", [True, False])
    @pytest.mark.parametrize("changed", [[50], [6, 7, 8], [105]])
    async def test_a_change_before_the_next_page_skips_nothing(
        self, descending: bool, changed: list[int]
    ) -> None:
        model = self.model(descending)
        plain_v2 = model.v2

        def v2(body: dict[str, Any]) -> list[dict[str, Any]]:
            if body.get("limit") == 100 and body["page"] == 1:
                self.change(model, *changed)  # once: later calls see it already done
            return plain_v2(body)

        model.v2 = v2  # type: ignore[method-assign]
        got = await ids_of(v1_pager(model))
        unchanged = set(range(1, 261)) - set(changed)
        assert unchanged <= set(got)
        assert {i for i, k in Counter(got).items() if k > 1} <= set(changed)

    @pytest.mark.parametrize("descending", [True, False])
    async def test_a_change_before_a_resume_in_the_middle_of_a_page_skips_nothing(
        self, descending: bool
    ) -> None:
        model = self.model(descending)
        whole = await ids_of(v1_pager(model))
        at = whole.index(106)  # the first contact handed out from the v2 page of ids 106-205
        first = v1_pager(model, max_items=at + 20)
        got = await ids_of(first)
        changed = got[at + 4]  # handed out already: the rest of that page moves up one
        self.change(model, changed)
        rest = await ids_of(v1_pager(model, resume=first.position.to_json()))
        assert set(range(1, 261)) <= set(got + rest)
        assert {i for i, k in Counter(got + rest).items() if k > 1} <= {changed}


class TestV1Since:
    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    @pytest.mark.parametrize("cut", [-1, 0, 14, 29, 30, 59, 100, 149, 150])
    async def test_yields_exactly_the_contacts_updated_after(
        self, descending: bool, inclusive: bool, cut: int
    ) -> None:
        ticks = ticks_with_ties(300, 2)  # 150 seconds, two contacts each
        model = Model(contacts_from_ticks(ticks), descending=descending, inclusive=inclusive)
        since = BASE + timedelta(seconds=cut)
        got = await ids_of(v1_pager(model, since=since))
        assert_exactly_once(got, {i + 1 for i, t in enumerate(ticks) if t > cut})

    async def test_newest_first_stops_once_past_since(self) -> None:
        model = Model(contacts_from_ticks(list(range(3000))), descending=True)
        got = await ids_of(v1_pager(model, since=stamp(2950)))
        assert sorted(got) == list(range(2952, 3001))
        assert len(model.requests) <= 3

    async def test_oldest_first_jumps_to_since(self) -> None:
        model = Model(contacts_from_ticks(list(range(3000))), descending=False)
        got = await ids_of(v1_pager(model, since=stamp(2950)))
        assert sorted(got) == list(range(2952, 3001))
        assert model.requests[1]["date"] == stamp(2950)
        assert len(model.requests) <= 4

    async def test_since_as_a_string_or_an_aware_datetime(self) -> None:
        model = Model(contacts_from_ticks(list(range(50))))
        a = await ids_of(v1_pager(model, since=stamp(20)))
        b = await ids_of(v1_pager(model, since=BASE + timedelta(seconds=20)))
        assert sorted(a) == sorted(b) == list(range(22, 51))

    def test_a_naive_datetime_is_rejected_before_anything_is_sent(self) -> None:
        with pytest.raises(InvalidRequestError, match="since"):
            v1_pager(Model([]), since=datetime(2026, 1, 1))


class TestMaxItems:
    @pytest.mark.parametrize("cap", [0, 1, 29, 30, 31, 45])
    async def test_v1_caps_the_total_and_sends_no_more_requests(self, cap: int) -> None:
        model = Model(contacts_from_ticks(list(range(100))))
        got = await ids_of(v1_pager(model, max_items=cap))
        assert len(got) == cap == len(set(got))
        # The first page brings 30 new contacts, the next ones 29 (one is sent again).
        assert len(model.requests) == (0 if cap == 0 else 1 + max(0, -(-(cap - 30) // 29)))

    @pytest.mark.parametrize("cap", [0, 1, 10, 11, 25])
    async def test_v2_caps_the_total_and_requests_only_the_pages_it_needs(self, cap: int) -> None:
        model = Model(contacts_from_ticks(list(range(100))))
        got = await ids_of(v2_pager(model, page_size=10, max_items=cap, prefetch=4))
        assert got == list(range(1, cap + 1))
        assert len(model.requests) == -(-cap // 10)

    async def test_pages_respect_the_cap(self) -> None:
        model = Model(contacts_from_ticks(list(range(100))))
        sizes = [len(p) async for p in v2_pager(model, page_size=30, max_items=70).pages()]
        assert sizes == [30, 30, 10]


class TestV2Walk:
    @pytest.mark.parametrize("ascending", [True, False])
    @pytest.mark.parametrize("prefetch", [0, 2])
    @pytest.mark.parametrize("n", SIZES)
    async def test_every_contact_once_in_server_order(
        self, ascending: bool, prefetch: int, n: int
    ) -> None:
        ticks = ticks_with_ties(n, 3)
        model = Model(contacts_from_ticks(ticks))
        got = await ids_of(v2_pager(model, page_size=30, ascending=ascending, prefetch=prefetch))
        assert got == [c["id"] for c in model._sorted(not ascending)]

    async def test_sends_page_limit_date_and_ascending(self) -> None:
        model = Model(contacts_from_ticks(list(range(25))))
        since = stamp(4)
        got = await ids_of(v2_pager(model, page_size=10, since=since, prefetch=0))
        assert got == list(range(6, 26))
        assert model.requests == [
            {
                "path": "/v2/contacts/list",
                "limit": 10,
                "page": p,
                "ascending": True,
                "date": stamp(4),
            }
            for p in range(3)
        ]

    @pytest.mark.parametrize("ascending", [True, False])
    @pytest.mark.parametrize("cap", [None, 12])
    async def test_since_is_exclusive_even_when_the_date_filter_is_not(
        self, ascending: bool, cap: int | None
    ) -> None:
        # The docs say "updated after"; the tie group read already copes with a v2 ``date``
        # that keeps contacts updated exactly then, and so must ``since`` here (SPEC 3).
        ticks = [t // 3 for t in range(30)]  # three contacts a second, 0..9
        model = Model(contacts_from_ticks(ticks))
        model.v2_inclusive = True
        pager = v2_pager(model, page_size=4, since=stamp(2), ascending=ascending, max_items=cap)
        got = await ids_of(pager)
        after = [c["id"] for c in model._sorted(not ascending) if c["id"] > 9]
        assert got == after[:cap]
        rest = await ids_of(v2_pager(model, resume=pager.position))
        assert got + rest == after

    @pytest.mark.parametrize(
        ("updated", "kept"),
        [(stamp(3), True), (stamp(2), False), (stamp(1), False), (None, True), ("soon", True)],
    )
    def test_since_keeps_what_it_cannot_judge(self, updated: str | None, kept: bool) -> None:
        contact = {"id": 1} if updated is None else {"id": 1, "updated": updated}
        assert _after(contact, parse_timestamp(stamp(2))) is kept

    @pytest.mark.parametrize("n", [0, 7])
    async def test_a_walk_of_one_page_sends_one_request(self, n: int) -> None:
        # Pages are fetched ahead once the first one is full: an incremental sync (``since``)
        # that finds a few changes costs one request of the 500 a minute, not 1 + prefetch.
        model = Model(contacts_from_ticks(list(range(n))))
        got = await ids_of(v2_pager(model, page_size=10, prefetch=4))
        assert got == list(range(1, n + 1))
        assert [r["page"] for r in model.requests] == [0]

    async def test_prefetch_runs_pages_concurrently(self) -> None:
        model = Model(contacts_from_ticks(list(range(100))))
        model.delay = lambda body: 0.002
        got = await ids_of(v2_pager(model, page_size=10, prefetch=3))
        assert got == list(range(1, 101))
        assert model.max_in_flight == 4

    async def test_a_failed_page_fails_the_walk_without_gap_or_duplicate(self) -> None:
        model = Model(contacts_from_ticks(list(range(100))))
        model.fail = lambda body: server_error() if body["page"] == 3 else None
        pager = v2_pager(model, page_size=10, prefetch=3)
        got: list[int] = []
        with pytest.raises(ServerError):
            await collect(pager, got)
        assert got == list(range(1, 31))
        assert pager.position == V2OffsetPosition(page=3, skip=0, page_size=10)
        model.fail = lambda body: None
        rest = await ids_of(v2_pager(model, resume=pager.position))
        assert got + rest == list(range(1, 101))

    async def test_a_failure_beyond_the_last_page_is_not_an_error(self) -> None:
        model = Model(contacts_from_ticks(list(range(25))))
        model.fail = lambda body: server_error() if body["page"] >= 3 else None
        model.delay = lambda body: 0.001
        got = await ids_of(v2_pager(model, page_size=10, prefetch=4))
        assert got == list(range(1, 26))

    def test_arguments_are_checked_when_the_pager_is_made(self) -> None:
        list_v2 = Model([]).list_v2
        for kwargs in ({"page_size": 0}, {"page_size": 101}, {"prefetch": -1}, {"prefetch": 9}):
            with pytest.raises(InvalidRequestError):
                V2OffsetPager(list_v2, **kwargs)
        with pytest.raises(InvalidRequestError, match="max_items"):
            V2OffsetPager(list_v2, max_items=-1)


class TestStopping:
    """``break``, ``aclose()``, an error in the body or a cancellation: nothing left running."""

    def model(self) -> Model:
        model = Model(contacts_from_ticks(list(range(200))))
        # The first page comes at once, the pages fetched ahead of it take a while.
        model.delay = lambda body: 0.02 if body.get("page") else 0.0
        return model

    @staticmethod
    def others() -> set[asyncio.Task[Any]]:
        return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    async def test_aclose_cancels_and_awaits_the_pages_fetched_ahead(self) -> None:
        model = self.model()
        pager = v2_pager(model, page_size=10, prefetch=4)
        async for _ in pager:
            break
        assert self.others()
        await pager.aclose()
        assert not self.others()
        sent = len(model.requests)
        assert [c async for c in pager] == []
        await asyncio.sleep(0.005)
        assert len(model.requests) == sent

    async def test_async_with_closes(self) -> None:
        model = self.model()
        async with v2_pager(model, page_size=10, prefetch=4) as pager:
            async for _ in pager:
                break
        assert not self.others()

    async def test_a_bare_break_cancels_the_pages_fetched_ahead(self) -> None:
        model = self.model()
        async for _ in v2_pager(model, page_size=10, prefetch=4):
            break
        gc.collect()
        await asyncio.sleep(0)
        assert not self.others()
        sent = len(model.requests)
        await asyncio.sleep(0.005)
        assert len(model.requests) == sent

    async def test_an_exception_in_the_loop_body(self) -> None:
        model = self.model()
        pager = v2_pager(model, page_size=10, prefetch=4)

        async def body() -> None:
            async with pager:
                async for _ in pager:
                    raise KeyError("boom")

        with pytest.raises(KeyError):
            await body()
        assert not self.others()

    async def test_cancelling_the_consuming_task(self) -> None:
        model = self.model()
        model.delay = lambda body: 0.05 if body["page"] else 0.0
        pager = v2_pager(model, page_size=10, prefetch=4)

        async def consume() -> None:
            async for _ in pager:
                pass

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.01)
        assert model.in_flight == 5
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert model.in_flight == 0
        assert self.others() == set()
        sent = len(model.requests)
        assert [c async for c in pager] == []
        assert len(model.requests) == sent

    async def test_a_cancellation_while_the_pages_ahead_stop_keeps_the_last_page(self) -> None:
        # The last (short) page has come; the walk is cancelled while it stops the page
        # fetched beyond it. The position must still point at that last page, not past it.
        model = Model(contacts_from_ticks(list(range(15))))
        ahead, stopping, release = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def list_v2(body: dict[str, Any], parse: Callable[[Any], Any]) -> Any:
            if body["page"] == 1:
                await ahead.wait()
            if body["page"] == 2:
                ahead.set()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    stopping.set()
                    await release.wait()  # a page that takes a while to stop
                    raise
            return await model.list_v2(body, parse)

        pager = V2OffsetPager(list_v2, page_size=10, prefetch=1)
        got: list[int] = []
        task = asyncio.ensure_future(collect(pager, got))
        await stopping.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        assert got == list(range(1, 11))
        assert pager.position == V2OffsetPosition(page=1, page_size=10)
        assert await ids_of(v2_pager(model, resume=pager.position)) == list(range(11, 16))
        assert not self.others()

    async def test_v1_break_sends_nothing_more(self) -> None:
        model = self.model()
        pager = v1_pager(model)
        async for _ in pager:
            break
        assert len(model.requests) == 1
        await pager.aclose()
        assert [c async for c in pager] == []
        assert len(model.requests) == 1


class TestPositions:
    @pytest.mark.parametrize(("descending", "inclusive"), MODES)
    @pytest.mark.parametrize("crash_after", [0, 1, 28, 29, 30, 57, 58, 59, 130])
    async def test_v1_resume_after_a_crash_at_any_contact(
        self, descending: bool, inclusive: bool, crash_after: int
    ) -> None:
        ticks = ticks_with_ties(150, 4)
        model = Model(contacts_from_ticks(ticks), descending=descending, inclusive=inclusive)
        pager = v1_pager(model)
        got: list[int] = []
        saved = pager.position.to_json()
        async for c in pager:
            if len(got) == crash_after:
                break
            got.append(c.id)  # type: ignore[arg-type]
            saved = pager.position.to_json()
        rest = await ids_of(v1_pager(model, resume=saved))
        assert_exactly_once(got + rest, set(range(1, 151)))

    @pytest.mark.parametrize("crash_after", [0, 1, 9, 10, 11, 95])
    async def test_v2_resume_after_a_crash_at_any_contact(self, crash_after: int) -> None:
        model = Model(contacts_from_ticks(list(range(100))))
        pager = v2_pager(model, page_size=10, ascending=False)
        got: list[int] = []
        saved = pager.position.to_dict()
        async for c in pager:
            if len(got) == crash_after:
                break
            got.append(c.id)  # type: ignore[arg-type]
            saved = pager.position.to_dict()
        await pager.aclose()
        rest = await ids_of(v2_pager(model, resume=json.loads(json.dumps(saved))))
        assert got + rest == list(range(100, 0, -1))

    async def test_position_after_every_page(self) -> None:
        model = Model(contacts_from_ticks(list(range(70))))
        pager = v1_pager(model)
        got: list[int] = []
        async for page in pager.pages():
            got += [c.id for c in page]  # type: ignore[misc]
            rest = await ids_of(v1_pager(model, resume=pager.position))
            assert_exactly_once(got + rest, set(range(1, 71)))

    async def test_a_finished_walk_resumes_to_nothing(self) -> None:
        model = Model(contacts_from_ticks(list(range(20))))
        v1 = v1_pager(model)
        v2 = v2_pager(model, page_size=10)
        await ids_of(v1)
        await ids_of(v2)
        assert v1.position.done
        assert v2.position.done
        sent = len(model.requests)
        assert await ids_of(v1_pager(model, resume=v1.position)) == []
        assert await ids_of(v2_pager(model, resume=v2.position)) == []
        assert len(model.requests) == sent

    @pytest.mark.parametrize(
        "load", [V1Position.from_json, V2OffsetPosition.from_json, V2Position.from_json]
    )
    def test_a_position_nested_too_deep_is_an_invalid_request(self, load: Any) -> None:
        with pytest.raises(InvalidRequestError, match="not a JSON position"):
            load("[" * 100_000)

    async def test_a_walk_resumed_from_a_too_deep_position_is_refused_before_sending(
        self,
    ) -> None:
        async with HeymarketClient("k", transport=MockTransport(lambda _: 1 / 0)) as hm:
            for walk in (hm.iter_contacts, hm.v2.iter_contacts, hm.v2.iter_contacts_by_offset):
                with pytest.raises(InvalidRequestError, match="not a JSON position"):
                    walk(resume="[" * 100_000)

    def test_positions_round_trip_through_json(self) -> None:
        v1 = V1Position(cursor=stamp(3), seen={stamp(3): [4, 5]}, since=stamp(0), inclusive=True)
        v2 = V2OffsetPosition(page=3, skip=7, page_size=50, since=stamp(1), ascending=False)
        assert V1Position.from_json(v1.to_json()) == v1
        assert V2OffsetPosition.from_json(v2.to_json()) == v2
        assert V1Position.from_dict(json.loads(v1.to_json())) == v1
        reading = V1Position(
            tie=stamp(3), tie_given=[7, 8, None], tie_pass=1, tie_digest="3:ab", check=True
        )
        assert V1Position.from_json(reading.to_json()) == reading
        # Where an earlier version stood in a tie group's read, by place: refused.
        with pytest.raises(InvalidRequestError, match="earlier version"):
            V1Position.from_json(V1Position(tie=stamp(3), tie_excl=[9, 4]).to_json())

    @pytest.mark.parametrize(
        "bad",
        ["nope", "[]", '{"kind": "v2", "format": 1}', '{"kind": "v1", "format": 1, "cursor": 5}'],
    )
    def test_a_bad_position_is_an_invalid_request(self, bad: str) -> None:
        with pytest.raises(InvalidRequestError, match="resume"):
            v1_pager(Model([]), resume=bad)

    def test_a_position_of_the_other_walk_is_refused(self) -> None:
        model = Model([])
        with pytest.raises(InvalidRequestError, match="V1Position"):
            V1ContactPager(model.list_v1, model.list_v2, resume=V2OffsetPosition())  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError, match="resume"):
            v2_pager(Model([]), resume=V1Position().to_json())
        with pytest.raises(InvalidRequestError, match="resume"):
            V2OffsetPager(Model([]).list_v2, resume=42)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "change",
        [
            {"inclusive": "yes"},
            {"seen": {"x": 5}},
            {"tie": 3},
            {"page_size": 0},
            {"tie_prev": 5},
            {"tie_excl": "7"},
            # Times are sent as they are: they must read as times.
            {"cursor": "yesterday"},
            {"tie": "noon", "tie_page": 1},
            {"tie_below": "2025-13-01T00:00:00Z"},
            {"resolved": "x"},
            {"resolved_next": ""},
            # Ids are dict keys and set members of the walk: strings, integers or nulls.
            {"seen": {"2025-01-01T00:00:00.000Z": [[1]]}},
            {"seen": {"2025-01-01T00:00:00.000Z": [1.5]}},
            {"tie_prev": [{"a": 1}]},
            {"tie_excl": [[7]]},
        ],
    )
    def test_a_tampered_v1_position_is_refused(self, change: dict[str, Any]) -> None:
        data = {**V1Position().to_dict(), **change}
        with pytest.raises(InvalidRequestError, match="resume"):
            V1Position.from_dict(data)

    def test_since_must_match_the_resumed_walk(self) -> None:
        pos = V1Position(since=stamp(1))
        with pytest.raises(InvalidRequestError, match="since"):
            v1_pager(Model([]), resume=pos, since=stamp(2))
        with pytest.raises(InvalidRequestError, match="since"):
            v2_pager(Model([]), resume=V2OffsetPosition(since=stamp(1)), since=stamp(2))
        # The same since again is fine.
        v2_pager(Model([]), resume=V2OffsetPosition(since=stamp(1)), since=stamp(1))


class TestBadPages:
    def test_a_page_must_be_an_array_of_objects(self) -> None:
        with pytest.raises(TypeError, match="array"):
            raw_page({"contacts": []})
        with pytest.raises(TypeError, match="objects"):
            raw_page([1, 2])
        with pytest.raises(TypeError, match="objects, got list"):
            raw_page([{"id": 1, "updated": stamp(1)}, [{"id": 2}]])
        # After a contact without a time, too (and a dict subclass is no contact).
        for bad in ([1], None, "x", type("D", (dict,), {})(id=2, updated=stamp(2))):
            with pytest.raises(TypeError, match="expected contact objects"):
                raw_page([{"id": 1}, bad])

    @pytest.mark.parametrize(
        "bad",
        [
            {"id": [7]},
            {"id": 1.5},
            {"id": True},  # equal to 1 in a set: never taken for an integer id
            {"updated": {"t": 1}},
            {"updated": 1.5},
            {"updated": False},
            {"updated": [stamp(2)]},
        ],
    )
    def test_ids_and_times_must_be_strings_or_integers(self, bad: dict[str, Any]) -> None:
        with pytest.raises(TypeError, match="id or updated"):
            raw_page([{"id": 1, "updated": stamp(1)}, {"id": 7, "updated": stamp(2), **bad}])
        with pytest.raises(TypeError, match="id or updated"):  # after a contact without a time
            raw_page([{"id": 1}, {"id": 7, "updated": stamp(2), **bad}])
        fine = [{"id": 3}, {"id": "7", "updated": None}, {"id": 7, "updated": 1700000000}]
        assert raw_page(fine) == fine

    @pytest.mark.parametrize("first", [True, False])
    @pytest.mark.parametrize("no_id", [{}, {"id": None}])
    def test_a_contact_without_an_id_is_refused(self, no_id: dict[str, Any], first: bool) -> None:
        # The walks tell contacts apart by id: two without one, at one time, would be taken for
        # one contact read twice, and the second lost.
        page = [{"id": 1, "updated": stamp(1)}, {"updated": stamp(2), **no_id}]
        with pytest.raises(TypeError, match="a contact without an id"):
            raw_page(page[::-1] if first else page)

    @pytest.mark.parametrize("version", ["v1", "v2"])
    @pytest.mark.parametrize("log_pii", [False, True])
    async def test_a_bad_contacts_phone_is_masked_in_the_error_unless_log_pii(
        self, wire: WireServer, version: str, log_pii: bool
    ) -> None:
        bad = {"id": 2, "updated": stamp(3), "contact_channels": [{"channel_id": "15105553344"}]}
        wire.reply(json_reply([{"id": 1, "updated": stamp(2)}, bad]))
        async with HeymarketClient(
            API_KEY, base_url=wire.url, retry=RetryPolicy.disabled(), log_pii=log_pii
        ) as hm:
            pager = hm.iter_contacts() if version == "v1" else hm.v2.iter_contacts()
            with pytest.raises(InvalidResponseError, match="contact_channels") as info:
                await ids_of(pager)
        assert ("15105553344" in str(info.value)) is log_pii

    @pytest.mark.parametrize("bad", [{"id": [30]}, {"updated": {"t": 1}}])
    async def test_an_id_or_time_that_cannot_be_a_key_is_an_invalid_response(
        self, wire: WireServer, client: HeymarketClient, bad: dict[str, Any]
    ) -> None:
        # At the end of a full page: the walk's bookkeeping would hash it for the cursor.
        page = [{"id": i, "updated": stamp(60 - i)} for i in range(1, 30)]
        wire.reply(json_reply([*page, {"id": 30, "updated": stamp(1), **bad}]))
        with pytest.raises(InvalidResponseError, match="id or updated"):
            await ids_of(client.iter_contacts())

    @pytest.mark.parametrize("version", ["v1", "v2"])
    async def test_a_non_object_after_a_contact_without_an_id_is_an_invalid_response(
        self, wire: WireServer, client: HeymarketClient, version: str
    ) -> None:
        wire.reply(json_reply([{"id": 1}, "not a contact"]))
        pager = client.iter_contacts(raw=True) if version == "v1" else client.v2.iter_contacts()
        with pytest.raises(InvalidResponseError, match="expected contact objects, got str"):
            await ids_of(pager)

    async def test_a_page_that_is_not_an_array_is_an_invalid_response(self) -> None:
        async with FakeHeymarket() as fake:
            fake.seed(5)
            fake.faults.add("POST /v1/contacts", Fault.not_json())
            async with fake.client(retry=RetryPolicy.disabled()) as hm:
                with pytest.raises(InvalidResponseError):
                    await ids_of(hm.iter_contacts())

    async def test_a_contact_without_updated_cannot_make_a_cursor(self) -> None:
        contacts = contacts_from_ticks(list(range(40)))
        model = Model(contacts, descending=False)
        model.v1 = lambda body: [{"id": 1}] * 30  # type: ignore[method-assign]
        with pytest.raises(PaginationError, match="updated"):
            await ids_of(v1_pager(model))

    @pytest.mark.parametrize("descending", [True, False])
    async def test_a_server_that_ignores_the_cursor_is_caught_without_duplicates(
        self, descending: bool
    ) -> None:
        model = Model(contacts_from_ticks(list(range(100))), descending=descending)
        plain_v1 = model.v1
        model.v1 = lambda body: plain_v1({})  # type: ignore[method-assign]
        got: list[int] = []
        with pytest.raises(PaginationError, match="cursor"):
            await collect(v1_pager(model), got)
        assert len(got) == len(set(got)) == 30
        assert len(model.requests) == 2

    async def test_a_malformed_contact_is_an_invalid_response(self) -> None:
        model = Model([{"id": "x", "updated": stamp(1)}])
        with pytest.raises(InvalidResponseError, match="id"):
            await ids_of(v1_pager(model))

    @pytest.mark.parametrize("version", ["v1", "v2"])
    async def test_pages_hand_out_the_contacts_before_a_malformed_one(self, version: str) -> None:
        # The position after the error must not claim the good contacts of that page: a walk
        # resumed from it would skip them. Like one by one, only the bad contact is passed.
        contacts = contacts_from_ticks(list(range(40)))
        contacts[4]["id"] = "x"
        model = Model(contacts, descending=False)
        pager = v1_pager(model) if version == "v1" else v2_pager(model, page_size=30, prefetch=0)
        batches = pager.pages()
        assert [c.id for c in await batches.__anext__()] == [1, 2, 3, 4]
        with pytest.raises(InvalidResponseError, match="id"):
            await batches.__anext__()
        saved = pager.position.to_json()
        rest = await ids_of(
            v1_pager(model, resume=saved) if version == "v1" else v2_pager(model, resume=saved)
        )
        assert_exactly_once(rest, set(range(6, 41)))


class TestContactIds:
    def test_the_ids_of_a_page_a_missing_one_as_none(self) -> None:
        assert contact_ids([{"id": 1}, {"id": "a"}, {"id": 1}]) == {1, "a"}
        assert contact_ids([{"id": 1}, {"first": "no id"}, {"id": None}]) == {1, None}
        assert contact_ids([]) == frozenset()


class TestV1Step:
    """The pure per-page decision, without an event loop."""

    def test_an_exclusive_or_unknown_server_gets_the_last_distinct_earlier_value(self) -> None:
        page = contacts_from_ticks([0] * 10 + [1] * 10 + [2] * 10)
        step = v1_step(V1Position(), page)
        assert step.next.cursor == stamp(1)
        assert dict(step.next.seen) == {stamp(1): set(range(11, 21)), stamp(2): set(range(21, 31))}

    def test_an_inclusive_server_gets_the_last_value(self) -> None:
        page = contacts_from_ticks([1] * 10 + [2] * 20)
        step = v1_step(V1Position(cursor=stamp(1), seen={stamp(1): range(1, 11)}), page)
        assert step.next.inclusive is True
        assert step.next.cursor == stamp(2)
        assert [c["id"] for c in step.keep] == list(range(11, 31))

    def test_a_cursor_that_would_not_advance_raises(self) -> None:
        # A page out of order whose last earlier value is the cursor just sent.
        page = contacts_from_ticks([6] * 10 + [5] + [7] * 19)
        pos = V1Position(cursor=stamp(5), descending=False, inclusive=False)
        with pytest.raises(PaginationError, match="does not advance") as info:
            v1_step(pos, page)
        assert info.value.cursor == stamp(5)

    @pytest.mark.parametrize("fallback", [stamp(1), None])
    def test_an_answer_to_a_checked_cursor_without_its_group_is_set_aside(
        self, fallback: str | None
    ) -> None:
        # Sent stamp(2) checked, having seen 21..30 there: an empty answer and one of only
        # later contacts (new ones) both fail the check. Neither is read, and neither is a
        # page that brought nothing new (the pager's stall count leaves them out).
        seen = {stamp(1): range(11, 21), stamp(2): range(21, 31)}
        pos = V1Position(
            cursor=stamp(2), seen=seen, check=True, fallback=fallback, descending=False
        )
        for page in ([], contacts_from_ticks([0] * 30 + [3] * 30)[30:]):
            step = v1_step(pos, page)
            assert (step.keep, step.new, step.set_aside) == ([], 0, True)
            if fallback is None:
                assert step.next.tie == stamp(2)
            else:
                assert (step.next.cursor, step.next.check) == (fallback, False)
        # An answer that shows the group is read as usual.
        page = contacts_from_ticks([0] * 25 + [2] * 5 + [3] * 3)[25:]
        step = v1_step(pos, page)
        assert ([c["id"] for c in step.keep], step.set_aside) == ([31, 32, 33], False)

    def test_contacts_from_before_the_cursor_are_refused(self) -> None:
        page = contacts_from_ticks(list(range(30)))
        first = v1_step(V1Position(), page)
        with pytest.raises(PaginationError, match="before it"):
            v1_step(first.next, page)


# -- property test: random sizes and tie patterns, all four modes --------------------------------


@st.composite
def tie_patterns(draw: st.DrawFn) -> list[int]:
    """Mostly groups below a page, some larger (read through v2)."""
    groups = draw(st.lists(st.integers(1, 29) | st.integers(30, 120), max_size=12))
    ticks: list[int] = []
    for t, size in enumerate(groups):
        ticks += [t] * size
    return ticks


class TestV1Property:
    @settings(max_examples=60, deadline=None)
    @given(
        ticks=tie_patterns(),
        descending=st.booleans(),
        inclusive=st.booleans(),
        since=st.none() | st.integers(-1, 12),
    )
    async def test_yields_the_store_exactly_once(
        self, ticks: list[int], descending: bool, inclusive: bool, since: int | None
    ) -> None:
        model = Model(contacts_from_ticks(ticks), descending=descending, inclusive=inclusive)
        pager = v1_pager(model, since=None if since is None else stamp(since))
        got = await ids_of(pager)
        expected = {i + 1 for i, t in enumerate(ticks) if since is None or t > since}
        assert_exactly_once(got, expected)

    @settings(max_examples=60, deadline=None)
    @given(
        ticks=tie_patterns(),
        descending=st.booleans(),
        inclusive=st.booleans(),
        stops=st.lists(st.integers(0, 70), max_size=6),
    )
    async def test_crashes_and_resumes_anywhere(
        self, ticks: list[int], descending: bool, inclusive: bool, stops: list[int]
    ) -> None:
        model = Model(contacts_from_ticks(ticks), descending=descending, inclusive=inclusive)
        got: list[int] = []
        position: str | None = None
        for stop in [*stops, None]:
            pager = v1_pager(model, max_items=stop, resume=position)
            got += await ids_of(pager)
            position = pager.position.to_json()
        assert_exactly_once(got, set(range(1, len(ticks) + 1)))


class TestV2AcloseWhileTheLastPageStopsThePagesAhead:
    """aclose() from another task while the walk, on its last page, stops the pages ahead."""

    @staticmethod
    async def race() -> tuple[list[int], list[asyncio.Task[Any]]]:
        ahead: list[asyncio.Task[Any]] = []

        async def list_v2(body: dict[str, Any], parse: Any) -> Any:
            page = body["page"]
            if page == 0:
                return parse([{"id": 1}, {"id": 2}])  # full
            if page == 1:
                await asyncio.sleep(0.01)
                return parse([{"id": 3}])  # short: the last page
            task = asyncio.current_task()
            assert task is not None
            ahead.append(task)
            try:  # a page ahead, a little slow to stop
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                await asyncio.sleep(0.05)
                raise

        pager = V2OffsetPager(list_v2, page_size=2, prefetch=2)
        assert [(await pager.__anext__()).id for _ in range(2)] == [1, 2]
        closed: list[bool] = []
        running: list[asyncio.Task[Any]] = []

        async def close_soon() -> None:
            await asyncio.sleep(0.03)  # page 1 is back; the walk is stopping pages 2 and 3
            await pager.aclose()
            closed.append(True)
            running.extend(t for t in ahead if not t.done())

        closer = asyncio.ensure_future(close_soon())
        after: list[int] = []
        try:
            async for c in pager:
                if closed:
                    after.append(c.id)  # type: ignore[arg-type]
        finally:
            await closer
        return after, running

    async def test_no_contact_comes_out_after_aclose_returned(self) -> None:
        after, _ = await self.race()
        assert after == []

    async def test_aclose_returns_once_the_pages_ahead_have_stopped(self) -> None:
        _, running = await self.race()
        assert running == []


class TestEvolved:
    """``evolved`` is ``attrs.evolve`` for the walks' positions, done faster."""

    def test_it_changes_what_is_given_converts_it_and_keeps_the_rest(self) -> None:
        import attrs

        from heymarket_async.pagination._positions import V1Position, evolved

        pos = V1Position(cursor=stamp(1), seen={stamp(1): [1, 2]}, descending=True, tie_ids=[3])
        changes: dict[str, Any] = {"cursor": stamp(2), "seen": {stamp(2): {4}}, "check": True}
        got = evolved(pos, dict(changes))
        assert got == attrs.evolve(pos, **changes)
        assert got.seen == {stamp(2): frozenset({4})}
        assert type(got.seen[stamp(2)]) is frozenset  # the converter ran
        assert (got.descending, got.tie_ids, got.page_size) == (True, frozenset({3}), 30)
        assert pos.cursor == stamp(1)  # the original is untouched
        with pytest.raises(TypeError, match="no_such_field"):
            evolved(pos, {"no_such_field": 1})

    def test_every_field_alone_as_attrs_evolve_does(self) -> None:
        import attrs

        from heymarket_async.pagination._positions import V1Position, evolved

        pos = V1Position(cursor=stamp(1), seen={stamp(1): [1]}, tie=stamp(3), tie_ids=[3])
        samples: dict[type, Any] = {str: stamp(2), int: 7, bool: True}
        for field in attrs.fields(V1Position):
            if field.name == "seen":
                value: Any = {stamp(2): [5, 6]}
            elif field.name in ("tie_prev", "tie_excl", "tie_given", "tie_ids"):
                value = [8, 9]  # converted: to a tuple or a frozenset
            else:
                value = samples[type(field.default) if field.default is not None else str]
            got = evolved(pos, {field.name: value})
            want = attrs.evolve(pos, **{field.name: value})
            assert got == want, field.name
            assert type(getattr(got, field.name)) is type(getattr(want, field.name))
            assert vars(got) == vars(want)  # nothing more, nothing less
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            got.cursor = None  # type: ignore[misc]  # still frozen

    def test_positions_made_by_it_pickle_and_save_as_any_other(self) -> None:
        import pickle

        from heymarket_async.pagination._keyset import Slice, V2Position
        from heymarket_async.pagination._positions import V1Position, evolved

        v1 = evolved(V1Position(cursor=stamp(1)), {"seen": {stamp(2): [7]}, "check": True})
        v2 = evolved(V2Position(), {"slices": [evolved(Slice(), {"cursor": stamp(1), "seen": {}})]})
        for pos in (v1, v2):
            assert pickle.loads(pickle.dumps(pos)) == pos
            assert type(pos).from_json(pos.to_json()) == pos
        assert type(v2.slices) is tuple  # the converter ran on what changed
