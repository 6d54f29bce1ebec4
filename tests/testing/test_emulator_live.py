"""The emulator's switches for paging on live data: cursor resolution, tie order, churn, hangs."""

from __future__ import annotations

import asyncio
import io
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _fake_http import Raw

from heymarket_async import APITimeoutError, HeymarketClient, RetryPolicy
from heymarket_async.testing import FakeHeymarket, Fault, _serve

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


class TestChurn:
    async def test_updates_move_contacts_to_the_end_before_each_list_answer(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(50)
        before = {i: fake.contacts[i] for i in range(1, 51)}
        fake.churn(updates=3)
        answer = (await raw("POST", "/v2/contacts/list", {"ascending": True, "limit": 100})).json
        assert [c.kind for c in fake.changes] == ["update"] * 3
        moved = [c.id for c in fake.changes]
        assert len(set(moved)) == 3
        assert sorted(ids(answer)[-3:]) == sorted(moved), "the 3 updated contacts come last"
        assert len(answer) == 50
        for change in fake.changes:
            assert change.request == 1
            now = fake.contacts[change.id]
            assert (now["rev"], now["updated"], now["uuid"]) == (
                change.rev,
                change.updated,
                change.uuid,
            )
            assert now["rev"] == before[change.id]["rev"] + 1
            assert now["first"] != before[change.id]["first"]
            assert now["phone"] == before[change.id]["phone"]
        await raw("POST", "/v1/contacts", {})
        assert [c.request for c in fake.changes] == [1, 1, 1, 2, 2, 2], "v1 lists too"

    async def test_written_contacts_change_too(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.add_contact(phone="15105550001", first="Ann", last="Lee", updated=T0)
        fake.churn(updates=1)
        await raw("POST", "/v1/contacts", {})
        contact = fake.contacts[1]
        assert (contact["rev"], contact["display_name"]) == (2, f"{contact['first']} Lee")
        assert contact["first"] != "Ann"
        assert fake.changes[0].updated == contact["updated"] != "2025-01-01T00:00:00.000Z"

    async def test_creates_and_deletes_change_the_count(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(20)
        fake.churn(creates=2, deletes=1)
        answer = (await raw("POST", "/v2/contacts/list", {"limit": 100})).json
        assert len(answer) == len(fake.contacts) == 21
        created = [c.id for c in fake.changes if c.kind == "create"]
        deleted = [c for c in fake.changes if c.kind == "delete"]
        assert created == [21, 22]
        assert len(deleted) == 1
        assert (deleted[0].updated, deleted[0].rev) == (None, None)
        assert deleted[0].id not in fake.contacts
        assert set(created) <= set(ids(answer)), "created before the answer"
        assert {c["id"]: c["rev"] for c in answer}[21] == 1

    async def test_other_routes_are_not_churned_unless_named(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(20)
        fake.churn(updates=1)
        await raw("POST", "/v1/contacts/count", {})
        await raw("GET", "/v1/contact/1")
        assert fake.changes == []
        fake.churn(updates=1, routes=["POST /v1/contacts/count"])
        await raw("POST", "/v1/contacts/count", {})
        await raw("POST", "/v1/contacts", {})
        assert [c.request for c in fake.changes] == [1]

    async def test_stop_after_and_stopping(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(20)
        fake.churn(updates=2, stop_after=2)
        for _ in range(4):
            await raw("POST", "/v1/contacts", {})
        assert [c.request for c in fake.changes] == [1, 1, 2, 2]
        fake.churn(updates=1)
        await raw("POST", "/v1/contacts", {})
        fake.churn()
        await raw("POST", "/v1/contacts", {})
        assert len(fake.changes) == 5, "a new churn counts from 1; churn() stops it"
        assert fake.changes[-1].request == 1

    async def test_a_seed_makes_the_same_changes(self, raw: Raw) -> None:
        async def run(seed: int) -> list[tuple[str, int]]:
            async with FakeHeymarket() as fake:
                fake.seed(1000)
                fake.churn(updates=3, deletes=2, creates=1, seed=seed)
                for _ in range(3):
                    await raw.session.post(
                        fake.url + "/v1/contacts", json={}, headers={"Authorization": "Bearer test"}
                    )
                return [(c.kind, c.id) for c in fake.changes]

        assert await run(1) == await run(1)
        assert await run(1) != await run(2)

    @pytest.mark.parametrize("value", [-1, 1.5, True])
    def test_bad_counts_are_refused(self, fake: FakeHeymarket, value: Any) -> None:
        with pytest.raises(ValueError, match="updates"):
            fake.churn(updates=value)

    async def test_an_unknown_route_is_refused(self, fake: FakeHeymarket) -> None:
        with pytest.raises(ValueError, match="unknown route"):
            fake.churn(updates=1, routes=["contacts"])

    async def test_a_walk_of_20000_with_10_updates_per_page_is_cheap(
        self, fake: FakeHeymarket
    ) -> None:
        fake.seed(20_000)
        fake.churn(updates=10)
        started = time.process_time()
        async with fake.client() as hm:
            walked = [c.id async for c in hm.v2.iter_contacts(page_size=100)]
        assert len(walked) >= 20_000 - 10 * 210
        pages = len(fake.requests_to("POST /v2/contacts/list"))
        assert len(fake.changes) == 10 * pages
        assert time.process_time() - started < 30, "seconds of CPU, far above the ~1 s it takes"
        last: dict[int, Any] = {}
        for change in fake.changes:
            last[change.id] = change
        for contact_id, change in last.items():
            contact = fake.contacts[contact_id]
            assert (contact["rev"], contact["updated"]) == (change.rev, change.updated)

    async def test_a_rate_updates_with_real_time_until_stopped(self) -> None:
        async with FakeHeymarket() as fake:
            fake.seed(100)
            fake.churn(rate_per_second=2000)
            await asyncio.sleep(0.05)
            assert fake.changes, "some updates were made"
            assert {c.request for c in fake.changes} == {None}
            assert {c.kind for c in fake.changes} == {"update"}
            fake.churn()
            await asyncio.sleep(0.02)
            stopped = len(fake.changes)
            await asyncio.sleep(0.02)
            assert len(fake.changes) == stopped
            fake.churn(rate_per_second=1000)
            task = fake._churn_task
        assert task is not None
        assert task.done(), "closing the fake stops it"

    def test_a_rate_needs_a_running_loop(self) -> None:
        with pytest.raises(RuntimeError):
            FakeHeymarket().churn(rate_per_second=1)


def reference(fake: FakeHeymarket, *, ascending: bool, reverse_ties: bool) -> list[int]:
    """Every contact in list order, each tie group reversed if asked (default resolution)."""
    groups: dict[str, list[int]] = {}
    for contact_id, contact in fake.contacts.items():  # (updated, id) order
        groups.setdefault(contact["updated"], []).append(contact_id)
    out: list[int] = []
    for members in groups.values() if ascending else reversed(groups.values()):
        ordered = members if ascending else members[::-1]
        out += ordered[::-1] if reverse_ties else ordered
    return out


class TestTieOrderReversed:
    @pytest.fixture
    def fake_options(self) -> dict[str, Any]:
        return {"tie_order": "reversed"}

    async def test_consecutive_requests_order_a_tie_group_both_ways(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(10, tie_group_size=10)
        body = {"ascending": True, "limit": 100}
        orders = [ids((await raw("POST", "/v2/contacts/list", body)).json) for _ in range(3)]
        assert orders == [list(range(1, 11)), list(range(10, 0, -1)), list(range(1, 11))]
        newest = ids((await raw("POST", "/v2/contacts/list", {"limit": 100})).json)
        assert newest == list(range(1, 11)), "request 4 reverses the newest-first order"
        assert fake.list_requests == 4

    async def test_offsets_slice_the_order_of_their_request(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(10, tie_group_size=10)
        body = {"ascending": True, "limit": 3, "page": 1}
        first = ids((await raw("POST", "/v2/contacts/list", body)).json)
        second = ids((await raw("POST", "/v2/contacts/list", body)).json)
        assert (first, second) == ([4, 5, 6], [7, 6, 5])

    async def test_v1_and_v2_count_requests_together(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(10, tie_group_size=10)
        fake.v1_page_size = 3
        v1 = ids((await raw("POST", "/v1/contacts", {})).json)
        v2 = ids((await raw("POST", "/v2/contacts/list", {"limit": 3})).json)
        v1_again = ids((await raw("POST", "/v1/contacts", {})).json)
        assert (v1, v2, v1_again) == ([10, 9, 8], [1, 2, 3], [10, 9, 8])
        fake.v1_order = "oldest_first"
        assert ids((await raw("POST", "/v1/contacts", {})).json) == [10, 9, 8]
        cursor = "2024-12-31T00:00:00.000Z"
        assert ids((await raw("POST", "/v1/contacts", {"date": cursor})).json) == [1, 2, 3]

    @pytest.mark.parametrize("ascending", [True, False])
    async def test_every_page_is_a_slice_of_its_request_s_order(
        self, raw: Raw, fake: FakeHeymarket, ascending: bool
    ) -> None:
        fake.seed(60, tie_group_size=[1, 4, 2, 7])
        fake.add_contact(updated=T0 + timedelta(seconds=2), phone="15105550001")  # joins a group
        for limit in (1, 3, 5):
            for page in range(70 // limit):
                body = {"ascending": ascending, "limit": limit, "page": page}
                got = ids((await raw("POST", "/v2/contacts/list", body)).json)
                order = reference(
                    fake, ascending=ascending, reverse_ties=fake.list_requests % 2 == 0
                )
                assert got == order[page * limit : (page + 1) * limit], (limit, page)


class TestTieOrderShuffled:
    async def orders(self, seed: int, requests: int = 4) -> list[list[int]]:
        async with FakeHeymarket(tie_order="shuffled", seed=seed) as fake:
            fake.seed(3)
            fake.seed(10, tie_group_size=10, start=T0 + timedelta(days=1))
            fake.seed(3, start=T0 + timedelta(days=2))
            out = []
            async with fake.client() as hm:
                for _ in range(requests):
                    page = await hm.v2.list_contacts(limit=100, ascending=True)
                    out.append([c.id for c in page])
            return out

    async def test_each_request_permutes_each_group_reproducibly(self) -> None:
        orders = await self.orders(seed=1)
        for order in orders:
            assert order[:3] == [1, 2, 3]
            assert order[-3:] == [14, 15, 16]
            assert sorted(order[3:13]) == list(range(4, 14))
        assert len({tuple(o) for o in orders}) == 4, "each request has its own order"
        assert await self.orders(seed=1) == orders
        assert await self.orders(seed=2) != orders

    def test_pages_of_one_order_cover_a_huge_group_once(self) -> None:
        from heymarket_async.testing._ties import reorder_for

        fake = FakeHeymarket()
        fake.seed(20_000, tie_group_size=20_000)
        reorder = reorder_for("shuffled", 7, 0)
        started = time.process_time()
        pages = [
            fake.store.v2_page(None, limit=100, page=p, ascending=True, reorder=reorder)
            for p in range(200)
        ]
        assert time.process_time() - started < 5, "no page sorts the whole group"
        walked = [i for page in pages for i in page]
        assert sorted(walked) == list(range(1, 20_001))
        assert walked != sorted(walked)
        descending = [
            i
            for p in range(200)
            for i in fake.store.v2_page(None, limit=100, page=p, ascending=False, reorder=reorder)
        ]
        assert sorted(descending) == list(range(1, 20_001))

    def test_an_unknown_tie_order_is_refused(self) -> None:
        with pytest.raises(ValueError, match="tie_order"):
            FakeHeymarket(tie_order="random")  # type: ignore[arg-type]


class TestHang:
    async def test_the_third_list_request_hangs_until_the_client_gives_up(self) -> None:
        fake = FakeHeymarket()
        await fake.start()
        try:
            fake.seed(100)
            fake.churn(updates=1)
            fake.faults.add("POST /v2/contacts/list", Fault.hang(), on=[3])
            retry = RetryPolicy(attempt_timeout=0.05, backoff_base=0.0)
            async with fake.client(retry=retry) as hm:
                pager = hm.v2.iter_contacts(page_size=10)
                walked = [c.id async for c in pager]
            assert len(walked) >= 90
            answered = [(r.number, r.status) for r in fake.requests_to("POST /v2/contacts/list")]
            assert answered[2] == (3, None), "no answer"
            assert fake.requests_to("POST /v2/contacts/list")[2].fault == Fault.hang()
            assert answered[3] == (4, 200), "the client retried"
            assert fake.in_flight == 1, "the server side still waits"
            assert {c.request for c in fake.changes} == set(range(1, len(answered) + 1))
            assert fake.list_requests == len(answered) - 1, "the hung one reached no endpoint"
        finally:
            started = time.monotonic()
            await fake.close()
        assert time.monotonic() - started < 1.0
        assert fake.in_flight == 0
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == {asyncio.current_task()}, "closing leaves no task behind"

    async def test_without_retries_the_walk_times_out(self, fake: FakeHeymarket) -> None:
        fake.seed(100)
        fake.faults.add("POST /v2/contacts/list", Fault.hang(), on=[3])
        async with fake.client(retry=RetryPolicy.disabled(), timeout=0.05) as hm:
            pager = hm.v2.iter_contacts(page_size=10)
            with pytest.raises(APITimeoutError):
                _ = [c.id async for c in pager]
        assert len(fake.requests_to("POST /v2/contacts/list")) == 3


class TestCommandLine:
    async def test_the_sandbox_takes_the_live_switches(self) -> None:
        out = io.StringIO()
        stop = asyncio.Event()
        argv = ["--port", "0", "--contacts", "50", "--tie-group-size", "50"]
        argv += ["--tie-order", "reversed", "--cursor-resolution", "microseconds"]
        # Slow enough that a busy machine does not change all 50 (about 1 s at 200 a second)
        # between the two requests, fast enough that the 20 ms wait changes some.
        argv += ["--churn-per-second", "200"]
        task = asyncio.create_task(_serve.serve(_serve.build_parser().parse_args(argv), out, stop))
        for _ in range(500):
            if "listening" in out.getvalue():
                break
            await asyncio.sleep(0.002)
        url = out.getvalue().split()[4]
        try:
            async with HeymarketClient(api_key="test", base_url=url) as hm:
                await asyncio.sleep(0.02)
                first = await hm.v2.list_contacts(limit=100, ascending=True)
                second = await hm.v2.list_contacts(limit=100, ascending=True)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        assert len(first) == len(second) == 50
        assert [c for c in second if c.updated > T0], "some contacts were updated"
        tied = [[c.id for c in page if c.updated == T0] for page in (first, second)]
        assert len(tied[1]) > 1
        assert tied[0] == sorted(tied[0]), "the first request orders ties by id"
        assert tied[1] == sorted(tied[1], reverse=True), "the second one reverses them"

    @pytest.mark.parametrize("value", ["-1", "nan", "fast"])
    def test_a_bad_rate_is_refused(self, value: str) -> None:
        with pytest.raises(SystemExit):
            _serve.build_parser().parse_args(["--churn-per-second", value])
