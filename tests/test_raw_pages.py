"""Raw walks (``raw=True``): every walk hands out the API's own objects, untouched, with the
typed walk's bookkeeping: the same contacts in the same order, the same requests, positions,
``max_items``, ``pages()`` and closing.

The typed and raw walks run side by side on twin servers (same data, same seed), so any
difference in what they hand out or send is the raw path's doing. The servers are the models
of the other paging tests (``test_v1_live.Server``: milliseconds written, microseconds compared,
unstable tie orders, tie groups larger than a page; ``_live.LiveList`` for the keyset walk;
``test_pagination.Model`` for the offset walk) and the emulator over loopback.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heymarket_async import (
    Contact,
    InvalidRequestError,
    PaginationError,
    TagPager,
    V1ContactPager,
    V2ContactPager,
    V2OffsetPager,
)
from heymarket_async._convert import structure_contact
from heymarket_async._sansio.response import ItemTexts
from heymarket_async.pagination import Fetch
from heymarket_async.testing import FakeHeymarket
from tests._live import MS, LiveList, spaced
from tests._paging import assert_exactly_once
from tests.conftest import MypyStrict
from tests.test_pagination import Model, contacts_from_ticks
from tests.test_v1_live import Server, ms_groups

AnyPager = V1ContactPager[Any] | V2ContactPager[Any] | V2OffsetPager[Any] | TagPager[Any]

#: A key the SDK has no field for, and values of every JSON kind.
UNKNOWN = {"loyalty": {"tier": "gold", "points": [1, 2.5, None, True]}, "zz_flag": False}


async def drain(
    pager: AnyPager, *, by_pages: bool = False, into: list[Any] | None = None
) -> list[Any]:
    out: list[Any] = [] if into is None else into
    async with pager:
        if by_pages:
            async for page in pager.pages():
                out.extend(page)
        else:
            async for item in pager:
                out.append(item)
    return out


class Recorder:
    """Wraps a pager's fetches: keeps every object the server's answers held (the decoded JSON,
    before the walk saw it) and a deep copy of each, to show the raw items are those objects,
    unchanged."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.copies: list[dict[str, Any]] = []
        self.bodies: list[dict[str, Any]] = []

    def wrap(self, fetch: Callable[..., Any]) -> Fetch:
        async def recorded(body: dict[str, Any], parse: Callable[[Any], Any], /) -> Any:
            self.bodies.append(dict(body))

            def keep(data: Any) -> Any:
                objects = [d for d in data if isinstance(d, dict)]
                self.sent += objects
                self.copies += copy.deepcopy(objects)
                return parse(data)

            return await fetch(body, keep)

        return recorded

    def assert_untouched_originals(self, items: list[dict[str, Any]]) -> None:
        originals = {id(d) for d in self.sent}
        assert all(id(d) in originals for d in items), "a raw item is not the decoded object"
        assert self.sent == self.copies, "the walk changed an object the server sent"


async def outcome(pager: AnyPager, *, by_pages: bool) -> tuple[list[Any], str | None]:
    """What a walk handed out, and the error that ended it (a walk may refuse a server, say
    one whose tie order is unstable: then both walks must refuse it alike)."""
    out: list[Any] = []
    try:
        await drain(pager, by_pages=by_pages, into=out)
    except PaginationError as exc:
        return out, str(exc)
    return out, None


def typed_ids(items: list[Contact]) -> list[Any]:
    return [c.id for c in items]


def raw_ids(items: list[dict[str, Any]]) -> list[Any]:
    return [d["id"] for d in items]


def assert_same_contacts(typed: list[Contact], raw: list[dict[str, Any]]) -> None:
    assert raw_ids(raw) == typed_ids(typed)
    # Each raw object is the one the typed walk structured.
    assert [structure_contact(d) for d in raw] == typed


# -- v1 -------------------------------------------------------------------------------------------


def v1_twins(times: list[int], **server: Any) -> tuple[Server, Server]:
    return Server(times, **server), Server(times, **server)


def v1_pager(server: Server, recorder: Recorder | None = None, **kwargs: Any) -> Any:
    if recorder is None:
        return V1ContactPager(server.list_v1, server.list_v2, **kwargs)
    return V1ContactPager(recorder.wrap(server.list_v1), recorder.wrap(server.list_v2), **kwargs)


class TestV1SameWalk:
    @settings(max_examples=120, deadline=None)
    @given(
        times=ms_groups(),
        descending=st.booleans(),
        inclusive=st.booleans(),
        tie_order=st.sampled_from(["stable", "reversed", "shuffled"]),
        by_pages=st.booleans(),
        max_items=st.none() | st.integers(0, 200),
    )
    async def test_raw_and_typed_hand_out_the_same_contacts_and_send_the_same_requests(
        self,
        times: list[int],
        descending: bool,
        inclusive: bool,
        tie_order: str,
        by_pages: bool,
        max_items: int | None,
    ) -> None:
        # ms_groups makes groups larger than a page too: read through the v2 list.
        typed_server, raw_server = v1_twins(
            times, descending=descending, inclusive=inclusive, tie_order=tie_order, seed=7
        )
        recorder = Recorder()
        typed, typed_error = await outcome(
            v1_pager(typed_server, max_items=max_items), by_pages=by_pages
        )
        raw, raw_error = await outcome(
            v1_pager(raw_server, recorder, max_items=max_items, raw=True), by_pages=by_pages
        )
        assert_same_contacts(typed, raw)
        assert raw_error == typed_error
        assert raw_server.requests == typed_server.requests
        recorder.assert_untouched_originals(raw)
        if raw_error is None and max_items is None:
            assert_exactly_once(raw_ids(raw), raw_server.ids)
        elif raw_error is None:
            assert len(raw) == min(max_items or 0, len(times))

    @pytest.mark.parametrize("descending", [True, False])
    @pytest.mark.parametrize("inclusive", [True, False])
    async def test_a_tie_group_larger_than_a_page_comes_in_v2_shape_untouched(
        self, descending: bool, inclusive: bool
    ) -> None:
        times = [5_000] * 3 + [9_000] * 75 + [12_000] * 4  # 75 share one microsecond
        typed_server, raw_server = v1_twins(times, descending=descending, inclusive=inclusive)
        recorder = Recorder()
        typed = await drain(v1_pager(typed_server))
        raw = await drain(v1_pager(raw_server, recorder, raw=True))
        assert any(r["path"] == "v2" for r in raw_server.requests)
        assert_same_contacts(typed, raw)
        recorder.assert_untouched_originals(raw)


# -- v2 keyset ------------------------------------------------------------------------------------


def keyset_pager(model: LiveList, recorder: Recorder | None = None, **kwargs: Any) -> Any:
    if recorder is None:
        return V2ContactPager(model.list_v2, count=model.count, **kwargs)
    return V2ContactPager(recorder.wrap(model.list_v2), count=recorder.wrap(model.count), **kwargs)


def churning(model: LiveList, every: int) -> None:
    """Change a contact before every ``every``-th request (chosen from the request's number,
    so twin models change alike)."""

    def before(n: int) -> None:
        if every and n % every == 0:
            ids = sorted(model.contacts)
            if ids:
                model.update(ids[(n * 7) % len(ids)])

    model.before = before


class TestV2KeysetSameWalk:
    @settings(max_examples=80, deadline=None)
    @given(
        pattern=st.lists(st.integers(1, 130), min_size=1, max_size=5),
        n=st.integers(0, 500),
        step=st.sampled_from([300, 1000, 2000]),
        inclusive=st.booleans(),
        micro=st.booleans(),
        tie_order=st.sampled_from(["stable", "reversed", "shuffled"]),
        page_size=st.sampled_from([1, 7, 30, 100]),
        slices=st.integers(1, 4),
        churn=st.sampled_from([0, 3]),
        by_pages=st.booleans(),
    )
    async def test_raw_and_typed_hand_out_the_same_contacts_and_send_the_same_requests(
        self,
        pattern: list[int],
        n: int,
        step: int,
        inclusive: bool,
        micro: bool,
        tie_order: str,
        page_size: int,
        slices: int,
        churn: int,
        by_pages: bool,
    ) -> None:
        times = spaced(n, pattern, step)
        models = [
            LiveList(times, inclusive=inclusive, micro=micro, tie_order=tie_order, seed=3)
            for _ in range(2)
        ]
        for model in models:
            churning(model, churn)
        recorder = Recorder()
        typed, typed_error = await outcome(
            keyset_pager(models[0], page_size=page_size, slices=slices), by_pages=by_pages
        )
        raw, raw_error = await outcome(
            keyset_pager(models[1], recorder, page_size=page_size, slices=slices, raw=True),
            by_pages=by_pages,
        )
        assert_same_contacts(typed, raw)
        assert raw_error == typed_error
        assert models[1].requests == models[0].requests
        assert models[1].contacts == models[0].contacts  # the same changes, at the same requests
        recorder.assert_untouched_originals(raw)
        if not churn and raw_error is None:
            assert sorted(raw_ids(raw)) == sorted(models[1].contacts)


# -- v2 offset ------------------------------------------------------------------------------------


class TestV2OffsetSameWalk:
    @settings(max_examples=80, deadline=None)
    @given(
        ticks=st.lists(st.integers(0, 40), max_size=400),
        ascending=st.booleans(),
        page_size=st.sampled_from([1, 7, 30, 100]),
        prefetch=st.integers(0, 3),
        max_items=st.none() | st.integers(0, 300),
        by_pages=st.booleans(),
    )
    async def test_raw_and_typed_hand_out_the_same_contacts(
        self,
        ticks: list[int],
        ascending: bool,
        page_size: int,
        prefetch: int,
        max_items: int | None,
        by_pages: bool,
    ) -> None:
        kwargs: dict[str, Any] = {
            "page_size": page_size,
            "ascending": ascending,
            "prefetch": prefetch,
            "max_items": max_items,
        }
        typed_model = Model(contacts_from_ticks(ticks))
        raw_model = Model(contacts_from_ticks(ticks))
        recorder = Recorder()
        typed = await drain(V2OffsetPager(typed_model.list_v2, **kwargs), by_pages=by_pages)
        raw_pager = V2OffsetPager(recorder.wrap(raw_model.list_v2), raw=True, **kwargs)
        raw = await drain(raw_pager, by_pages=by_pages)
        assert_same_contacts(typed, raw)
        assert raw_model.requests == typed_model.requests
        recorder.assert_untouched_originals(raw)
        expected = len(ticks) if max_items is None else min(max_items, len(ticks))
        assert len(raw) == expected


# -- over loopback, against the emulator ----------------------------------------------------------

V1_MODES = [
    pytest.param(order, incl, ties, id=f"{order}-{'incl' if incl else 'excl'}-{ties}")
    for order in ("newest_first", "oldest_first")
    for incl in (True, False)
    for ties in ("stable", "shuffled")
]


def twin_fakes(**options: Any) -> tuple[FakeHeymarket, FakeHeymarket]:
    return FakeHeymarket(seed=5, **options), FakeHeymarket(seed=5, **options)


async def walk_both(
    options: dict[str, Any], groups: list[int], walk: Callable[[Any, bool], AnyPager]
) -> tuple[list[Any], list[Any]]:
    """The typed walk on one emulator and the raw walk on its twin: ``walk(client, raw)``."""
    out: list[list[Any]] = []
    for raw, fake in enumerate(twin_fakes(**options)):
        async with fake:
            fake.seed(sum(groups), tie_group_size=groups)
            async with fake.client() as hm:
                out.append(await drain(walk(hm, bool(raw))))
    return out[0], out[1]


#: Tie groups for the emulator; those of 45 and 31 are larger than a v1 page (read through v2).
GROUPS = [1, 1, 3, 45, 2, 31, 1, 7]


class TestOverLoopback:
    @pytest.mark.parametrize(("order", "inclusive", "ties"), V1_MODES)
    async def test_v1_raw_and_typed_give_the_same_ids_in_every_mode(
        self, order: str, inclusive: bool, ties: str
    ) -> None:
        options = {"v1_order": order, "v1_cursor_inclusive": inclusive, "tie_order": ties}
        typed, raw = await walk_both(options, GROUPS * 4, lambda hm, raw: hm.iter_contacts(raw=raw))
        assert_same_contacts(typed, raw)
        assert len(raw) == sum(GROUPS) * 4

    @pytest.mark.parametrize("slices", [1, 3])
    async def test_v2_keyset_raw_and_typed_give_the_same_ids(self, slices: int) -> None:
        typed, raw = await walk_both(
            {"tie_order": "stable"},
            GROUPS * 8,
            lambda hm, raw: hm.v2.iter_contacts(page_size=20, slices=slices, raw=raw),
        )
        # Split walks hand out pages in the order they arrive, which two runs need not share.
        if slices == 1:
            assert_same_contacts(typed, raw)
        assert sorted(raw_ids(raw)) == sorted(typed_ids(typed))
        assert_exactly_once(raw_ids(raw), set(range(1, sum(GROUPS) * 8 + 1)))

    @pytest.mark.parametrize("ascending", [True, False])
    async def test_v2_offset_raw_and_typed_give_the_same_ids(self, ascending: bool) -> None:
        typed, raw = await walk_both(
            {},
            GROUPS * 4,
            lambda hm, raw: hm.v2.iter_contacts_by_offset(ascending=ascending, raw=raw),
        )
        assert_same_contacts(typed, raw)

    @pytest.mark.parametrize(
        "walk",
        [
            pytest.param(lambda hm: hm.iter_contacts(raw=True), id="v1"),
            pytest.param(lambda hm: hm.v2.iter_contacts(raw=True, page_size=7), id="v2-keyset"),
            pytest.param(lambda hm: hm.v2.iter_contacts(raw=True, slices=2), id="v2-slices"),
            pytest.param(
                lambda hm: hm.v2.iter_contacts_by_offset(raw=True, page_size=7), id="v2-offset"
            ),
        ],
    )
    async def test_raw_items_are_the_api_objects_every_key_kept(
        self, walk: Callable[[Any], AnyPager]
    ) -> None:
        async with FakeHeymarket() as fake:
            fake.seed(150)
            odd = fake.add_contact(phone="15105550100", first="Ada", **UNKNOWN)
            fake.add_contact(phone="15105550101", tags=[{"tag_id": 61}], custom={"123": "x"})
            async with fake.client() as hm:
                raw = await drain(walk(hm))
            assert raw == [fake.contacts[d["id"]] for d in raw]  # every key, every value
            assert sorted(raw_ids(raw)) == sorted(fake.contacts)
            (got,) = [d for d in raw if d["id"] == odd["id"]]
            assert got == odd
            assert {k: got[k] for k in UNKNOWN} == UNKNOWN
            assert type(got["updated"]) is str  # as sent, not a datetime


# -- positions, max_items, pages(), closing --------------------------------------------------------


class TestRawPositions:
    @settings(max_examples=40, deadline=None)
    @given(
        times=ms_groups(),
        descending=st.booleans(),
        inclusive=st.booleans(),
        stops=st.lists(st.integers(0, 70), max_size=5),
        typed_turns=st.lists(st.booleans(), min_size=6, max_size=6),
    )
    async def test_v1_resume_round_trip_mixing_raw_and_typed_walks(
        self,
        times: list[int],
        descending: bool,
        inclusive: bool,
        stops: list[int],
        typed_turns: list[bool],
    ) -> None:
        # A position saved by a raw walk resumes a typed one and the other way round.
        server = Server(times, descending=descending, inclusive=inclusive)
        got: list[Any] = []
        position: str | None = None
        for stop, typed in zip([*stops, None], typed_turns, strict=False):
            pager = v1_pager(server, max_items=stop, resume=position, raw=not typed)
            items = await drain(pager, by_pages=bool(stop and stop % 2))
            got += typed_ids(items) if typed else raw_ids(items)
            position = pager.position.to_json()
        if len(stops) < len(typed_turns):
            assert_exactly_once(got, server.ids)

    async def test_v1_position_after_each_raw_item_equals_the_typed_walks(self) -> None:
        times = [k * 700 for k in range(95)] + [80_000] * 40
        typed_server, raw_server = v1_twins(times, inclusive=True)
        typed_pager = v1_pager(typed_server)
        raw_pager = v1_pager(raw_server, raw=True)
        async with typed_pager, raw_pager:
            async for contact in typed_pager:
                item = await raw_pager.__anext__()
                assert item["id"] == contact.id
                assert raw_pager.position == typed_pager.position
            with pytest.raises(StopAsyncIteration):
                await raw_pager.__anext__()
        assert raw_pager.position == typed_pager.position

    async def test_v2_keyset_resume_from_a_raw_position(self) -> None:
        model = LiveList(spaced(300, [1, 4, 40], 500))
        first = keyset_pager(model, page_size=30, max_items=77, raw=True)
        head = await drain(first, by_pages=True)
        assert len(head) == 77
        saved = first.position.to_dict()
        rest = await drain(keyset_pager(model, page_size=30, resume=saved, raw=True))
        assert_exactly_once(raw_ids(head + rest), set(model.contacts))
        # The same saved position resumes a typed walk to the same contacts.
        typed_rest = await drain(keyset_pager(model, page_size=30, resume=saved))
        assert typed_ids(typed_rest) == raw_ids(rest)

    async def test_v2_offset_resume_from_a_raw_position(self) -> None:
        model = Model(contacts_from_ticks(list(range(250))))
        first = V2OffsetPager(model.list_v2, page_size=30, max_items=45, raw=True)
        head = await drain(first)
        rest = await drain(V2OffsetPager(model.list_v2, resume=first.position.to_json(), raw=True))
        assert raw_ids(head + rest) == list(range(1, 251))


class TestRawPages:
    async def test_pages_are_lists_of_the_api_objects_cut_to_max_items(self) -> None:
        async with FakeHeymarket() as fake:
            fake.seed(100)
            async with fake.client() as hm:
                pages = [p async for p in hm.iter_contacts(raw=True, max_items=70).pages()]
                typed = await drain(hm.iter_contacts(max_items=70))
        assert sum(map(len, pages)) == 70
        assert all(0 < len(p) <= 30 for p in pages)
        assert all(type(p) is list and d == fake.contacts[d["id"]] for p in pages for d in p)
        assert raw_ids([d for p in pages for d in p]) == typed_ids(typed)

    async def test_after_single_items_the_first_page_is_the_rest_of_the_page(self) -> None:
        model = Model(contacts_from_ticks(list(range(100))))
        pager = V2OffsetPager(model.list_v2, page_size=30, raw=True)
        async with pager:
            first = [await pager.__anext__() for _ in range(4)]
            pages = [p async for p in pager.pages()]
        assert [len(p) for p in pages] == [26, 30, 30, 10]
        assert raw_ids(first + [d for p in pages for d in p]) == list(range(1, 101))

    async def test_changing_a_page_list_does_not_move_the_walk(self) -> None:
        # The list handed out is the caller's; the walk's position is not read from it.
        times = list(range(0, 90_000, 1000))
        typed_server, raw_server = v1_twins(times)
        raw_pager = v1_pager(raw_server, raw=True, max_items=45)
        typed_pager = v1_pager(typed_server, max_items=45)
        async with raw_pager, typed_pager:
            async for page in raw_pager.pages():
                typed_page = await typed_pager.pages().__anext__()
                page.clear()
                assert raw_pager.position == typed_pager.position
                del typed_page


class TestKeptTexts:
    """The export's raw keyset walk that keeps each contact's JSON text as the API sent it."""

    @staticmethod
    async def pages_with_texts(hm: Any, **options: Any) -> list[list[Any]]:
        pager = hm.v2.iter_contacts(raw=True, **options)
        pager._keep_texts()
        async with pager:
            return [page async for page in pager.pages()]

    @staticmethod
    def assert_texts_are_the_contacts(pages: list[list[Any]]) -> None:
        for page in pages:
            assert type(page) is ItemTexts
            assert len(page.texts) == len(page)
            for item, text in zip(page, page.texts, strict=True):
                assert json.loads(text) == item
                assert b"\n" not in text

    @pytest.mark.parametrize("slices", [1, 3])
    async def test_each_page_holds_each_contacts_own_text_the_same_walk(self, slices: int) -> None:
        async with FakeHeymarket(tie_order="stable") as fake:
            fake.seed(sum(GROUPS) * 4, tie_group_size=GROUPS * 4)
            fake.add_contact(phone="15105550100", first="Zoë", **UNKNOWN)
            async with fake.client() as hm:
                pages = await self.pages_with_texts(hm, page_size=20, slices=slices)
                plain = await drain(hm.v2.iter_contacts(raw=True, page_size=20, slices=slices))
        self.assert_texts_are_the_contacts(pages)
        items = [d for p in pages for d in p]
        assert items == [fake.contacts[d["id"]] for d in items]
        assert_exactly_once(raw_ids(items), set(fake.contacts))
        if slices == 1:
            assert raw_ids(items) == raw_ids(plain)

    async def test_a_page_resumed_in_its_middle_keeps_the_texts_of_what_is_left(self) -> None:
        async with FakeHeymarket() as fake:
            fake.seed(60)
            async with fake.client() as hm:
                pager = hm.v2.iter_contacts(raw=True, page_size=25)
                async with pager:
                    first = [await pager.__anext__() for _ in range(10)]
                    where = pager.position
                pages = await self.pages_with_texts(hm, page_size=25, resume=where)
        self.assert_texts_are_the_contacts(pages)
        assert len(pages[0]) == 15  # the first page less the ten handed out: a subset
        assert raw_ids(first + [d for p in pages for d in p]) == sorted(fake.contacts)

    async def test_items_taken_one_by_one_leave_the_rest_of_the_page_with_its_texts(
        self,
    ) -> None:
        async with FakeHeymarket() as fake:
            fake.seed(30)
            async with fake.client() as hm:
                pager = hm.v2.iter_contacts(raw=True, page_size=20)
                pager._keep_texts()
                async with pager:
                    await pager.__anext__()
                    pages = [page async for page in pager.pages()]
        self.assert_texts_are_the_contacts(pages)
        assert [len(p) for p in pages] == [19, 10]

    @pytest.mark.parametrize("page_size", [1, 2, 3])
    @pytest.mark.parametrize("pattern", [[3, 1], [2, 1], [1, 3]])
    async def test_contacts_a_tie_group_held_from_the_page_before_keep_their_texts(
        self, page_size: int, pattern: list[int]
    ) -> None:
        """A tie group's read hands out contacts of the page before (held back, then read
        again past the group): they keep that page's texts, not encoded again."""
        team = LiveList(spaced(9, pattern, 2 * MS))

        async def list_v2(
            body: dict[str, Any], parse: Callable[[Any], Any], /, decode: Any = None
        ) -> Any:
            page = await team.list_v2(body, lambda data: data)
            return parse(decode(json.dumps(page, separators=(",", ":")).encode()))

        pager = V2ContactPager(list_v2, raw=True, page_size=page_size)
        pager._keep_texts()
        async with pager:
            pages = [page async for page in pager.pages()]
        self.assert_texts_are_the_contacts(pages)
        assert_exactly_once(raw_ids([d for p in pages for d in p]), set(range(1, 10)))

    async def test_a_typed_walk_ignores_it(self) -> None:
        async with FakeHeymarket() as fake:
            fake.seed(5)
            async with fake.client() as hm:
                pager = hm.v2.iter_contacts()
                pager._keep_texts()
                async with pager:
                    (page,) = [page async for page in pager.pages()]
        assert type(page) is list
        assert all(isinstance(c, Contact) for c in page)


class TestRawClosing:
    async def test_cancelling_the_task_of_a_raw_walk_ends_it(self) -> None:
        model = Model(contacts_from_ticks(list(range(300))))
        started = asyncio.Event()

        async def slow_list(body: dict[str, Any], parse: Callable[[Any], Any], /) -> Any:
            if body["page"] > 0:
                started.set()
                await asyncio.sleep(3600)  # cancelled long before
            return await model.list_v2(body, parse)

        pager = V2OffsetPager(slow_list, page_size=100, prefetch=0, raw=True)
        got: list[Any] = []
        task = asyncio.ensure_future(drain(pager, into=got))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert raw_ids(got) == list(range(1, 101))
        with pytest.raises(StopAsyncIteration):
            await pager.__anext__()
        assert len(model.requests) == 1
        assert pager.position.page == 1  # resumes with the page that never came

    async def test_aclose_stops_a_raw_walk_and_nothing_more_is_sent(self) -> None:
        server = Server(list(range(0, 200_000, 1000)))
        pager = v1_pager(server, raw=True)
        got = [await pager.__anext__() for _ in range(31)]
        sent = len(server.requests)
        await pager.aclose()
        with pytest.raises(StopAsyncIteration):
            await pager.__anext__()
        assert [p async for p in pager.pages()] == []
        assert len(server.requests) == sent == 2
        assert raw_ids(got) == list(range(1, 32))

    async def test_async_with_closes_a_split_keyset_walk(self) -> None:
        model = LiveList(spaced(2000, [1], 500))
        async with keyset_pager(model, page_size=50, slices=4, raw=True) as pager:
            item = await pager.__anext__()
            assert type(item) is dict
        sent = model.requests
        # The readers (the first slice's, and the planner's or the other slices') were cancelled
        # and awaited.
        assert len(pager._tasks) >= 2
        assert all(t.done() for t in pager._tasks.values())
        with pytest.raises(StopAsyncIteration):
            await pager.__anext__()
        assert model.requests == sent


# -- tags -----------------------------------------------------------------------------------------


class TestRawTags:
    @pytest.mark.parametrize("page_size", [2, 30])
    async def test_raw_tags_are_the_api_objects_in_the_typed_walks_order(
        self, page_size: int
    ) -> None:
        async with FakeHeymarket(tag_page_size=page_size) as fake:
            fake.clock.freeze()
            for k in range(7):
                fake.add_tag(f"t{k}", color="#00ff00" if k % 2 else None)
                fake.clock.advance(1.0)
            async with fake.client() as hm:
                typed = await drain(hm.iter_tags())
                raw = await drain(hm.iter_tags(raw=True), by_pages=True)
        assert [d["id"] for d in raw] == [t.id for t in typed]
        assert raw == [fake.tags.as_json(d["id"]) for d in raw]
        assert len(raw) == 7

    async def test_a_tag_without_an_id_is_refused_by_the_raw_walk_too(self) -> None:
        async def one_page(body: dict[str, Any], parse: Callable[[Any], Any], /) -> Any:
            return parse([{"name": "no id"}])

        with pytest.raises(Exception, match="without an id"):
            await drain(TagPager(one_page, raw=True))


class TestArguments:
    @pytest.mark.parametrize(
        "make",
        [
            lambda hm: hm.iter_contacts(raw=1),
            lambda hm: hm.v2.iter_contacts(raw="yes"),
            lambda hm: hm.v2.iter_contacts_by_offset(raw=None),
            lambda hm: hm.iter_tags(raw=0),
        ],
    )
    async def test_raw_must_be_a_bool(self, make: Callable[[Any], Any]) -> None:
        async with FakeHeymarket() as fake, fake.client() as hm:
            with pytest.raises(InvalidRequestError, match="raw"):
                make(hm)
            assert list(fake.requests) == []


TYPING_FILE = "tests/_typing_raw_pages.py"


class TestTyping:
    def test_mypy_strict_sees_raw_walks_as_dicts_and_typed_walks_as_models(
        self, mypy_strict: MypyStrict
    ) -> None:
        # tests/_typing_raw_pages.py holds assert_type() calls and lines that must be errors.
        done = mypy_strict(TYPING_FILE)
        assert done.returncode == 0, done.stdout + done.stderr
