"""The v2 keyset walk (``client.v2.iter_contacts()``) on unchanging and on live teams.

Against the model in tests/_live.py (every server behaviour the docs leave open, and changes
between any two requests) and against the emulator over loopback.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heymarket_async import (
    HeymarketClient,
    InvalidRequestError,
    PaginationError,
    TransportResponse,
    V2ContactPager,
    V2OffsetPosition,
    V2Position,
)
from heymarket_async._ratelimit import WIRE_TIME
from heymarket_async._sansio import parse_timestamp
from heymarket_async.pagination._keyset import _unseen_in_order
from heymarket_async.pagination._v1_step import unseen
from heymarket_async.pagination._v2_pager import auto_slices
from heymarket_async.testing import FakeHeymarket, MockTransport
from tests._fakes import FakeTime
from tests._live import MS, T0, LiveList, micros, spaced, text
from tests._paging import collect, ids_of

MODES = [
    pytest.param(False, False, id="exclusive"),
    pytest.param(True, False, id="inclusive"),
    pytest.param(False, True, id="exclusive-us"),
    pytest.param(True, True, id="inclusive-us"),
]


def pager(model: LiveList, **kwargs: Any) -> V2ContactPager:
    return V2ContactPager(model.list_v2, count=model.count, **kwargs)


def interleaved(model: LiveList, seed: int, **kwargs: Any) -> V2ContactPager:
    """A walk over ``model`` whose requests each let the loop turn 0-3 times first (chosen by
    ``seed``): the slices, and the first slice against the requests that split the walk,
    interleave in many orders."""
    rng = random.Random(seed)

    async def turns() -> None:
        for _ in range(rng.randrange(4)):
            await asyncio.sleep(0)

    async def list_v2(body: dict[str, Any], parse: Any, /) -> Any:
        await turns()
        return await model.list_v2(body, parse)

    async def count(body: dict[str, Any], parse: Any, /) -> Any:
        await turns()
        return await model.count(body, parse)

    return V2ContactPager(list_v2, count=count, **kwargs)


async def walk(p: V2ContactPager) -> list[dict[str, Any]]:
    """Every contact the walk hands out, as ``{"id", "updated", "rev"}``."""
    out = []
    async with p:
        async for c in p:
            out.append({"id": c.id, "updated": c.updated, "rev": c.rev})
    return out


def cap(contacts: int, page_size: int, slices: int = 1) -> int:
    """The most requests a walk may send for this many contacts (see _v2_pager)."""
    return 12 * (contacts // page_size + 1) + 16 + 4 * slices + slices


class TestUnchangingTeam:
    @pytest.mark.parametrize(("inclusive", "micro"), MODES)
    @pytest.mark.parametrize("pattern", [[1], [1, 1, 7], [3, 250, 1], [100], [99, 2], [101]])
    @pytest.mark.parametrize("slices", [1, 4])
    async def test_every_contact_exactly_once(
        self, inclusive: bool, micro: bool, pattern: list[int], slices: int
    ) -> None:
        # 300 µs apart: several contacts share a rendered millisecond, some at exactly .000.
        model = LiveList(spaced(1500, pattern, 300), inclusive=inclusive, micro=micro)
        got = await walk(pager(model, page_size=20 if slices == 1 else 100, slices=slices))
        assert sorted(c["id"] for c in got) == sorted(model.contacts)
        size = 20 if slices == 1 else 100
        assert model.requests <= cap(1500, size, slices)

    @pytest.mark.parametrize(("inclusive", "micro"), MODES)
    async def test_requests_per_contact_are_near_one_per_page(
        self, inclusive: bool, micro: bool
    ) -> None:
        model = LiveList(spaced(10_000, [1], 1500), inclusive=inclusive, micro=micro)
        got = await walk(pager(model))
        assert len(got) == 10_000
        # The page's last contact is read again (the cursor is the time before it): 1/99.
        assert model.requests <= 10_000 / 99 + 2

    @pytest.mark.parametrize(("inclusive", "micro"), MODES)
    @pytest.mark.parametrize("since_rank", [0, 1, 333, 999])
    async def test_since_yields_exactly_the_contacts_updated_after(
        self, inclusive: bool, micro: bool, since_rank: int
    ) -> None:
        model = LiveList(spaced(1000, [1, 3], 400), inclusive=inclusive, micro=micro)
        times = sorted(model.contacts.values())
        since = text(times[since_rank][0])
        want = {c for c, (us, _) in model.contacts.items() if text(us) > since}
        for slices in (1, 3):
            got = await walk(pager(model, since=since, page_size=30, slices=slices))
            assert sorted(c["id"] for c in got) == sorted(want)

    @given(
        pattern=st.lists(st.integers(1, 130), min_size=1, max_size=6),
        n=st.integers(0, 700),
        step=st.sampled_from([300, 500, 1000, 2000]),
        inclusive=st.booleans(),
        micro=st.booleans(),
        page_size=st.sampled_from([1, 2, 7, 30, 100]),
        slices=st.integers(1, 5),
    )
    @settings(max_examples=150, deadline=None)
    async def test_any_data_any_server(
        self,
        pattern: list[int],
        n: int,
        step: int,
        inclusive: bool,
        micro: bool,
        page_size: int,
        slices: int,
    ) -> None:
        model = LiveList(spaced(n, pattern, step), inclusive=inclusive, micro=micro)
        got = await walk(pager(model, page_size=page_size, slices=slices))
        assert sorted(c["id"] for c in got) == sorted(model.contacts)
        assert model.requests <= cap(n, page_size, slices)


class TestUnstableTieOrder:
    @pytest.mark.parametrize("order", ["reversed", "shuffled"])
    @pytest.mark.parametrize("pattern", [[250], [1, 250, 1], [120, 3]])
    @pytest.mark.parametrize("slices", [1, 3])
    async def test_exactly_once_or_pagination_error_never_a_duplicate_gap_or_loop(
        self, order: str, pattern: list[int], slices: int
    ) -> None:
        model = LiveList(spaced(1200, pattern, 5 * MS), tie_order=order, seed=3)
        got: list[int] = []
        p = pager(model, slices=slices)
        try:
            await collect(p, got)
        except PaginationError as exc:
            failed: PaginationError | None = exc
        else:
            failed = None
            assert sorted(got) == sorted(model.contacts)
        if failed is not None:
            assert "not stable between requests" in str(failed)
            assert failed.cursor is not None
        assert len(got) == len(set(got)), "never a duplicate"
        assert model.requests <= cap(len(got), 100, slices)

    async def test_a_stable_order_reads_a_big_group_twice_and_no_more(self) -> None:
        model = LiveList(spaced(1000, [1000], MS))
        got = await walk(pager(model))
        assert len(got) == 1000
        # Ten pages and the empty one after them, read twice (the walk's first request is
        # the first page of the first read), and the last page read again: nothing moved onto
        # it from after the group.
        assert model.requests == 23


class TestAServerThatRepeats:
    @pytest.mark.parametrize("slices", [1, 4])
    @pytest.mark.parametrize("stamp", ["fixed", "at the cursor"])
    async def test_a_full_page_of_contacts_already_read_stops_the_walk(
        self, slices: int, stamp: str
    ) -> None:
        sent: list[Any] = []

        async def handler(request: Any) -> TransportResponse:
            sent.append(request)
            if request.url.endswith("/v1/contacts/count"):
                return _json("5000")
            body = json.loads(request.body)
            at = body.get("date") if stamp == "at the cursor" else None
            # The same hundred contacts, every time: as they were, or all at the cursor's time.
            return _json([{"id": i, "updated": at or text(micros_at(i))} for i in range(100)])

        async with HeymarketClient("k", transport=MockTransport(handler)) as hm:
            pager = hm.v2.iter_contacts(slices=slices)
            with pytest.raises(PaginationError):
                await ids_of(pager)
        assert len(sent) <= cap(100, 100, slices)

    async def test_the_offset_walk_stops_on_a_page_it_read_before(self) -> None:
        page = [{"id": i, "updated": text(micros_at(i))} for i in range(100)]
        sent: list[Any] = []

        async def handler(request: Any) -> Any:
            sent.append(request)
            return _json(page)

        got: list[int] = []
        async with HeymarketClient("k", transport=MockTransport(handler)) as hm:
            pager = hm.v2.iter_contacts_by_offset(prefetch=0)
            with pytest.raises(PaginationError, match="same contacts"):
                await collect(pager, got)
        assert len(sent) == 2
        assert got == list(range(100))


def micros_at(i: int) -> int:
    return micros(T0) + i * 5 * MS


def _json(data: Any) -> TransportResponse:
    return TransportResponse.from_json(data)


class TestLiveTeam:
    """Contacts updated, created and deleted between the walk's requests."""

    @staticmethod
    def check_promise(model: LiveList, start: dict[int, tuple[int, int]], got: list[Any]) -> None:
        last_request = model.requests
        versions: dict[int, list[int]] = {}
        times: dict[int, set[Any]] = {}
        for c in got:
            versions.setdefault(c["id"], []).append(c["rev"])
            times.setdefault(c["id"], set()).add(c["updated"])
        for cid, (_, version) in start.items():
            if cid not in model.changed_at:
                # Existed for the whole walk, never touched: exactly once, as it was.
                assert versions.get(cid) == [version], cid
        for cid, (_, version) in model.contacts.items():
            changed = model.changed_at.get(cid, 0)
            if changed <= last_request:
                # Changed (or created) before the walk's last request was answered: read in its
                # last version (so at least once, and never only in a version older than that),
                # or in one with the same ``updated`` as the server writes it, which no client can
                # tell from the last (changed twice within a millisecond; docs/pagination.md).
                last_written = parse_timestamp(model.render(cid)["updated"])
                assert version in versions.get(cid, []) or last_written in times.get(cid, ()), (
                    cid,
                    changed,
                    last_request,
                )
        for cid, revs in versions.items():
            # A contact comes again only in a newer version.
            assert revs == sorted(set(revs)), (cid, revs)

    @given(
        schedule=st.lists(
            # Fewer changes per request than a page holds: a walk on a team that changes
            # faster than it reads never catches up (docs/pagination.md).
            st.tuples(st.integers(0, 5), st.integers(0, 2), st.integers(0, 2)),
            min_size=1,
            max_size=60,
        ),
        n=st.integers(0, 600),
        pattern=st.sampled_from([[1], [1, 2], [1, 1, 40], [150]]),
        inclusive=st.booleans(),
        micro=st.booleans(),
        page_size=st.sampled_from([10, 30, 100]),
        slices=st.integers(1, 4),
        seed=st.integers(0, 1000),
        turns=st.none() | st.integers(0, 1000),
    )
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    async def test_random_changes_keep_the_promise(
        self,
        schedule: list[tuple[int, int, int]],
        n: int,
        pattern: list[int],
        inclusive: bool,
        micro: bool,
        page_size: int,
        slices: int,
        seed: int,
        turns: int | None,
    ) -> None:
        model = LiveList(spaced(n, pattern, 700), inclusive=inclusive, micro=micro, seed=seed)
        start = dict(model.contacts)
        rng = model.rng

        def before(number: int) -> None:
            updates, creates, deletes = schedule[(number - 1) % len(schedule)]
            for _ in range(updates):
                if model.contacts:
                    model.update(rng.choice(list(model.contacts)))
            for _ in range(creates):
                model.create()
            for _ in range(deletes):
                if model.contacts:
                    model.delete(rng.choice(list(model.contacts)))

        model.before = before
        try:
            if turns is None:
                p = pager(model, page_size=page_size, slices=slices)
            else:
                p = interleaved(model, turns, page_size=page_size, slices=slices)
            got = await walk(p)
        except PaginationError as exc:
            # Only a tie group whose members keep changing while it is read may give up.
            failed: PaginationError | None = exc
        else:
            failed = None
            self.check_promise(model, start, got)
        if failed is not None:
            # Only a tie group larger than a page, whose members keep changing while it is read
            # (four reads that never agree), may end the walk: with an error, never a gap.
            assert "not stable between requests" in str(failed), failed
            assert max(pattern) > page_size
            assert any(sum(step) for step in schedule)

    @pytest.mark.parametrize("slices", [1, 4])
    async def test_20000_contacts_under_churn_lose_no_untouched_contact(self, slices: int) -> None:
        async with FakeHeymarket() as fake:
            fake.seed(20_000)
            fake.churn(updates=10, creates=1, deletes=1, seed=5)
            async with fake.client() as hm:
                got = [(c.id, c.rev) async for c in hm.v2.iter_contacts(slices=slices)]
            touched = {c.id for c in fake.changes}
            ids = Counter(i for i, _ in got)
            untouched = [i for i in range(1, 20_001) if i not in touched]
            assert len(untouched) > 15_000
            assert all(ids[i] == 1 for i in untouched)
            last = {c.id: c for c in fake.changes}
            final = set(got)
            lists = fake.requests_to("POST /v2/contacts/list")
            for cid, change in last.items():
                before_last = change.request is not None and change.request < len(lists)
                if change.kind != "delete" and before_last:
                    assert (cid, change.rev) in final, change

    async def test_the_offset_walk_loses_untouched_contacts_under_the_same_churn(self) -> None:
        # What the keyset walk fixes: the same team and churn, read by offset.
        async with FakeHeymarket() as fake:
            fake.seed(20_000)
            fake.churn(updates=10, creates=1, deletes=1, seed=5)
            async with fake.client() as hm:
                got = {c.id async for c in hm.v2.iter_contacts_by_offset(prefetch=0)}
            touched = {c.id for c in fake.changes}
            lost = [i for i in range(1, 20_001) if i not in touched and i not in got]
            assert lost


async def take(p: V2ContactPager[Any], cut: int) -> tuple[list[int], V2Position]:
    """The ids of the first ``cut`` contacts of walk ``p``, and its position then (closed)."""
    first = []
    async with p:
        async for c in p:
            first.append(c.id)
            if len(first) == cut:
                break
        return first, p.position


class TestResume:
    async def test_a_position_saved_anywhere_resumes_exactly_once(self) -> None:
        model = LiveList(spaced(700, [1, 1, 130, 2], 600), inclusive=True, micro=True)
        for cut in (1, 99, 100, 101, 250, 333, 650):
            first, saved = await take(pager(model, page_size=50, slices=3), cut)
            rest = await walk(pager(model, resume=saved.to_json()))
            ids = first + [c["id"] for c in rest]
            assert sorted(ids) == sorted(model.contacts), cut

    async def test_a_position_saved_while_the_walk_splits_resumes_exactly_once(self) -> None:
        # The first slice reads while the count and the boundary pages are out: pages it read
        # before its upper boundary was chosen are handed out after, and saved with it.
        model = LiveList(spaced(700, [1, 1, 130, 2], 600), inclusive=True, micro=True)
        split = 0
        for seed in range(12):
            for cut in (1, 49, 50, 51, 120, 250, 333, 650):
                first, saved = await take(interleaved(model, seed, page_size=50, slices=3), cut)
                split += len(saved.slices) > 1
                rest = await walk(pager(model, resume=saved.to_json()))
                ids = first + [c["id"] for c in rest]
                assert sorted(ids) == sorted(model.contacts), (seed, cut)
        assert split > 40  # most were saved split

    async def test_a_position_read_after_the_consumer_awaited_mid_page_resumes_exactly_once(
        self,
    ) -> None:
        # The consumer stops mid-page and awaits its own I/O: the planner chooses the first
        # slice's upper boundary meanwhile. The position read then must carry that boundary,
        # or the saved first slice overlaps the next one (found in review: 2,399 of 5,000 twice).
        model = LiveList(spaced(5000, [1], MS))
        gate = asyncio.Event()

        async def count(body: dict[str, Any], parse: Any, /) -> Any:
            await gate.wait()  # a slow count: the first slice reads before the split
            return await model.count(body, parse)

        async def list_v2(body: dict[str, Any], parse: Any, /) -> Any:
            await asyncio.sleep(0)
            return await model.list_v2(body, parse)

        p = V2ContactPager(list_v2, count=count, slices=2)
        first = []
        async with p:
            async for c in p:
                first.append(c.id)
                if len(first) == 10:
                    break
            gate.set()
            for _ in range(50):  # the consumer's own awaits
                await asyncio.sleep(0)
            saved = p.position
        assert len(saved.slices) == 2  # saved while split
        rest = [c.id async for c in V2ContactPager(model.list_v2, resume=saved.to_json())]
        ids = first + rest
        assert not [i for i, n in Counter(ids).items() if n > 1]
        assert sorted(ids) == sorted(model.contacts)

    async def test_a_finished_walk_resumes_as_a_read_of_what_changed(self) -> None:
        model = LiveList(spaced(500, [1, 3], 600), inclusive=True, micro=True)
        p = pager(model, slices=2)
        assert len(await walk(p)) == 500
        mark = p.position
        assert mark.done
        assert await walk(pager(model, resume=mark.to_json())) == []
        model.update(7)
        model.update(300)
        new = model.create()
        again = pager(model, resume=mark)
        got = await walk(again)
        assert sorted(c["id"] for c in got) == sorted([7, 300, new])
        assert await walk(pager(model, resume=again.position)) == []

    async def test_an_offset_position_is_refused_with_the_walk_to_use(self) -> None:
        with pytest.raises(InvalidRequestError, match="iter_contacts_by_offset"):
            pager(LiveList([]), resume=V2OffsetPosition(page=3))
        with pytest.raises(InvalidRequestError, match="iter_contacts_by_offset"):
            pager(LiveList([]), resume=V2OffsetPosition(page=3).to_json())

    def test_the_position_round_trips_through_json(self) -> None:
        pos = V2Position.from_json(
            json.dumps(
                {
                    "kind": "v2",
                    "format": 2,
                    "since": None,
                    "page_size": 50,
                    "planned": True,
                    "slices": [{"cursor": text(micros_at(3)), "seen": {text(micros_at(3)): [4]}}],
                }
            )
        )
        assert V2Position.from_json(pos.to_json()) == pos
        assert pos.slices[0].seen == {text(micros_at(3)): frozenset([4])}


class TestArguments:
    async def test_ascending_false_points_to_the_offset_walk(self) -> None:
        async with HeymarketClient("k", transport=MockTransport(_json)) as hm:
            with pytest.raises(InvalidRequestError, match="iter_contacts_by_offset"):
                hm.v2.iter_contacts(ascending=False)
            with pytest.raises(InvalidRequestError, match="slices"):
                hm.v2.iter_contacts(slices=17)
            with pytest.raises(InvalidRequestError, match="slices"):
                hm.v2.iter_contacts(slices=0)


class TestSplitting:
    """The first slice reads while the walk splits; each slice starts with its boundary page."""

    async def test_a_slice_reads_on_before_the_later_boundaries_come(self) -> None:
        model = LiveList(spaced(1000, [1], MS))
        gate = asyncio.Event()
        bounds: list[int] = []

        async def list_v2(body: dict[str, Any], parse: Any, /) -> Any:
            await asyncio.sleep(0)
            if body["page"] > 0 and "date" not in body:  # a boundary page, by offset
                bounds.append(body["page"])
                if len(bounds) == 2:
                    await gate.wait()  # the last boundary page is held back
            return await model.list_v2(body, parse)

        p = V2ContactPager(list_v2, count=model.count, slices=3)
        got: list[int] = []

        async def until_the_second_slice_reads_past_its_first_page() -> None:
            while True:
                got.append((await p.__anext__()).id)
                if len(bounds) == 2 and bounds[0] * 100 + 100 < got[-1] <= bounds[1] * 100:
                    return

        async with p:
            # (A guard against a hang only: the walk needs no time to pass.)
            await asyncio.wait_for(until_the_second_slice_reads_past_its_first_page(), 10)
            assert not gate.is_set()
            gate.set()
            got.extend([c.id async for c in p])
        # Exactly once; the held boundary came after the second slice had read past it, so it
        # was dropped: two slices.
        assert sorted(got) == list(range(1, 1001))
        assert len(p.position.slices) == 2

    async def test_a_boundary_page_is_its_slices_first_page(self) -> None:
        model = LiveList(spaced(1000, [1], MS))
        got = await walk(pager(model, slices=4))
        assert sorted(c["id"] for c in got) == list(range(1, 1001))
        # The count, ten pages of contacts, three boundary pages among them, each slice's last
        # page past its boundary, and the catch-up: no request only to find a boundary.
        assert model.requests <= 1 + 10 + 4 + 1


class TestAutoSlices:
    """``slices="auto"``: one part unpaced; on a paced client, rate x latency x 1.5 parts."""

    @pytest.mark.parametrize(
        ("pace", "latency", "k"),
        [
            (500 / 60, 0.05, 1),  # Heymarket's rate, a fast network: one part keeps up
            (500 / 60, 0.2, 3),
            (20.0, 0.2, 6),
            (20.0, 0.0, 1),
            (1000.0, 10.0, 16),  # never more than MAX_SLICES
        ],
    )
    def test_the_arithmetic(self, pace: float, latency: float, k: int) -> None:
        assert auto_slices(pace, latency) == k

    async def test_an_unpaced_walk_sends_no_count(self) -> None:
        model = LiveList(spaced(250, [1], MS))
        counts: list[int] = []

        async def count(body: dict[str, Any], parse: Any, /) -> Any:
            counts.append(1)
            return await model.count(body, parse)

        got = await walk(V2ContactPager(model.list_v2, count=count, slices="auto"))
        assert sorted(c["id"] for c in got) == list(range(1, 251))
        assert counts == []

    async def test_a_paced_walk_splits_by_the_latency_of_its_count(self) -> None:
        model = LiveList(spaced(1000, [1], MS))
        now = [0.0]

        async def slow_count(body: dict[str, Any], parse: Any, /) -> Any:
            now[0] += 0.2  # the count took 200 ms
            return await model.count(body, parse)

        async def list_v2(body: dict[str, Any], parse: Any, /) -> Any:
            await asyncio.sleep(0)  # the first slice reads while the count is out, a page a turn
            return await model.list_v2(body, parse)

        p = V2ContactPager(
            list_v2,
            count=slow_count,
            slices="auto",
            pace=500 / 60,
            clock=lambda: now[0],
        )
        got = await walk(p)
        assert sorted(c["id"] for c in got) == list(range(1, 1001))
        assert len(p.position.slices) == 3

    async def test_the_latency_is_the_counts_time_on_the_wire_not_its_wait(self) -> None:
        # The count waited 1.8 s for its turn behind other requests, then took 0.2 s: split by
        # 0.2 s (3 parts at Heymarket's rate), not by 2 s (MAX_SLICES).
        model = LiveList(spaced(3000, [1], MS))
        now = [0.0]

        async def paced_count(body: dict[str, Any], parse: Any, /) -> Any:
            now[0] += 2.0
            WIRE_TIME.set(0.2)  # as the client's pipeline does when the answer comes
            return await model.count(body, parse)

        async def list_v2(body: dict[str, Any], parse: Any, /) -> Any:
            await asyncio.sleep(0)
            return await model.list_v2(body, parse)

        p = V2ContactPager(
            list_v2, count=paced_count, slices="auto", pace=500 / 60, clock=lambda: now[0]
        )
        got = await walk(p)
        assert sorted(c["id"] for c in got) == list(range(1, 3001))
        assert len(p.position.slices) == 3
        assert WIRE_TIME.get() == -1.0  # set in the planner's task, not in this one

    async def test_the_client_sets_the_wire_time_of_each_answer(self) -> None:
        time = FakeTime()

        def handler(request: Any) -> TransportResponse:
            time.advance(0.25)  # the answer takes 250 ms
            return _json("42")

        # 60 a minute: the second call waits about a second for its turn.
        async with HeymarketClient("k", transport=MockTransport(handler), rate_limit=60) as hm:
            time.install(hm)
            await hm.count_contacts()
            assert WIRE_TIME.get() == pytest.approx(0.25)
            before = time.clock()
            await hm.count_contacts()
            assert time.clock() - before > 1.0
            assert WIRE_TIME.get() == pytest.approx(0.25)

    async def test_the_client_passes_its_pace(self) -> None:
        mock = MockTransport(_json)
        async with HeymarketClient("k", transport=mock) as hm:
            assert hm.v2.iter_contacts()._pace is None
        async with HeymarketClient("k", transport=mock, rate_limit=600) as hm:
            assert hm.v2.iter_contacts()._pace == 10.0


class TestStopping:
    async def test_aclose_stops_every_slice_and_leaves_no_task(self) -> None:
        async with FakeHeymarket(latency=0.01) as fake:
            fake.seed(3000)
            async with fake.client() as hm:
                p = hm.v2.iter_contacts(slices=4)
                async for _ in p:
                    break
                await p.aclose()
                await asyncio.sleep(0.05)  # what was on its way has arrived
                sent = len(fake.requests)
                await asyncio.sleep(0.1)
                assert len(fake.requests) == sent
                tasks = asyncio.all_tasks() - {asyncio.current_task()}
                assert not [t for t in tasks if "_run" in repr(t)]

    async def test_an_error_in_one_slice_ends_the_walk(self) -> None:
        model = LiveList(spaced(2000, [1], 700))
        calls = 0

        async def failing(body: dict[str, Any], parse: Any, /) -> Any:
            nonlocal calls
            calls += 1
            if calls == 9:
                raise RuntimeError("boom")
            return await model.list_v2(body, parse)

        p = V2ContactPager(failing, count=model.count, slices=4)
        with pytest.raises(RuntimeError, match="boom"):
            await walk(p)
        assert all(t.done() for t in p._tasks.values())


class TestCursorFinerThanTheServer:
    async def test_a_since_in_microseconds_is_not_taken_for_a_server_going_back(self) -> None:
        # The server writes milliseconds and compares microseconds: contacts written at the
        # since's millisecond but later in truth come back, and are left out as not after it.
        times = [micros(T0) + i * 300 for i in range(40)]
        model = LiveList(times, micro=True)
        since = "2026-01-01T00:00:00.001100Z"
        got = await walk(pager(model, since=since, page_size=7))
        after = parse_timestamp(since)
        want = {c for c, (us, _) in model.contacts.items() if parse_timestamp(text(us)) > after}
        assert sorted(c["id"] for c in got) == sorted(want)
        assert min(want) == 8  # 2.1 ms; 1.2, 1.5 and 1.8 ms are written .001Z

    async def test_a_server_that_goes_back_further_is_an_error(self) -> None:
        async def handler(request: Any) -> TransportResponse:
            return _json([{"id": i, "updated": text(micros_at(i))} for i in range(3)])

        async with HeymarketClient("k", transport=MockTransport(handler)) as hm:
            pager = hm.v2.iter_contacts(since="2027-01-01T00:00:00Z")
            with pytest.raises(PaginationError, match="from before it"):
                await ids_of(pager)


class TestReviewFindings:
    """Cases a review found by search; each failed before its fix."""

    async def test_contacts_ahead_of_a_group_changing_cannot_hide_a_member(self) -> None:
        # Page size 2: ids 1-4 at one time, 5-7 at a later one, then one each. Ids 1-3 (handed
        # out already) change while the second group is read, shifting it by one place each
        # time, so that two reads of it could miss id 5 alike.
        model = LiveList(spaced(11, [4, 3, 1, 1, 1, 1], 5 * MS))

        def before(number: int) -> None:
            if number in (9, 10, 13):
                model.update(min(c for c in range(1, 5) if c not in model.changed_at))

        model.before = before
        got = [c["id"] for c in await walk(pager(model, page_size=2))]
        untouched = [c for c in range(1, 12) if c not in model.changed_at]
        assert [c for c in untouched if got.count(c) != 1] == []

    @staticmethod
    def touch_same_ms(model: LiveList, cid: int) -> None:
        """Change ``cid`` to 0.4 ms after the newest contact: the same written millisecond."""
        newest = max(us for us, _ in model.contacts.values())
        _, version = model.contacts[cid]
        model.contacts[cid] = (newest + 400, version + 1)
        model.changed_at[cid] = model.requests + 1

    async def test_a_change_in_the_last_contacts_millisecond_is_read_by_the_next_walk(
        self,
    ) -> None:
        model = LiveList(spaced(300, [1], 5 * MS))  # exclusive, compares milliseconds
        p = pager(model)
        assert len(await walk(p)) == 300
        self.touch_same_ms(model, 17)
        again = await walk(pager(model, resume=p.position))
        assert [(c["id"], c["rev"]) for c in again] == [(17, 2)]

    async def test_aclose_from_another_task_ends_a_split_walks_reader(self) -> None:
        model = LiveList(spaced(2000, [1], 1000))

        async def slow(body: dict[str, Any], parse: Any, /) -> Any:
            await asyncio.sleep(0.01)
            return await model.list_v2(body, parse)

        p = V2ContactPager(slow, count=model.count, slices=4)
        got: list[int] = []
        some = asyncio.Event()

        async def read() -> None:
            async for c in p:
                got.append(c.id)
                if len(got) == 150:
                    some.set()

        reader = asyncio.create_task(read())
        await some.wait()
        await asyncio.sleep(0.005)  # the reader now awaits a page from another task's slices
        await p.aclose()
        await asyncio.wait_for(reader, 1)
        assert 150 <= len(got) < 2000


class TestUnseenInOrder:
    """The keyset step looks only at a page's head for what it handed out already."""

    @staticmethod
    def contact(cid: int, tick: int | None) -> dict[str, Any]:
        return {"id": cid, "updated": None if tick is None else text(micros(T0) + tick * MS)}

    @given(
        ticks=st.lists(st.integers(0, 6), max_size=12),
        seen_ticks=st.lists(st.integers(0, 6), min_size=1, max_size=2, unique=True),
        seen_ids=st.sets(st.integers(0, 12), max_size=8),
    )
    def test_a_page_in_order_gives_what_the_whole_search_gives(
        self, ticks: list[int], seen_ticks: list[int], seen_ids: set[int]
    ) -> None:
        page = [self.contact(i, t) for i, t in enumerate(sorted(ticks))]
        seen = {text(micros(T0) + t * MS): frozenset(seen_ids) for t in seen_ticks}
        assert _unseen_in_order(page, seen) == unseen(page, seen)

    @pytest.mark.parametrize(
        "ticks",
        [
            pytest.param([1, 0, 3, 1], id="an older time, then a seen one"),
            pytest.param([1, None, 1, 5], id="a contact without a time"),
        ],
    )
    def test_past_the_head_a_time_not_after_the_seen_ones_searches_the_whole_page(
        self, ticks: list[int | None]
    ) -> None:
        page = [self.contact(i, t) for i, t in enumerate(ticks)]
        seen = {text(micros(T0) + MS): frozenset({0, 1, 4, 3})}
        assert _unseen_in_order(page, seen) == unseen(page, seen)

    def test_a_time_that_does_not_parse_searches_the_whole_page(self) -> None:
        page = [self.contact(0, 1), {"id": 1, "updated": "soon"}, self.contact(2, 1)]
        seen = {text(micros(T0) + MS): frozenset({0, 2})}
        assert _unseen_in_order(page, seen) == unseen(page, seen) == [page[1]]

    def test_only_the_head_is_searched_when_the_rest_is_newer(self) -> None:
        # A page out of order past its head is not the keyset walk's to fix (_check_order
        # refuses what it can see): a seen contact there is not looked for.
        page = [self.contact(0, 1), self.contact(1, 5), self.contact(2, 1)]
        seen = {text(micros(T0) + MS): frozenset({0, 2})}
        assert _unseen_in_order(page, seen) == [page[1], page[2]]
        assert unseen(page, seen) == [page[1]]
