"""Bulk calls: matching answers to items (pure), and batches under the client's limits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heymarket_async import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    BulkItem,
    BulkResult,
    BulkStatus,
    HeymarketClient,
    Hooks,
    InvalidResponseError,
    RetryPolicy,
    ServerError,
)
from heymarket_async._bulk import (
    contact_keys,
    failures_answer,
    match,
    may_have_written,
    phone_keys,
    reason_of,
    run_batches,
    settle,
    upsert_answer,
)
from heymarket_async._convert import StructureError
from heymarket_async.testing import FakeHeymarket, Fault
from tests._fakes import InstantSleep, ScaledTime
from tests._server import API_KEY, WireServer, json_reply


def _error(cls: type[Any], status: int) -> Any:
    return cls(status=status, method="POST", url="u")


class TestAnswers:
    @pytest.mark.parametrize("data", [None, "ok", "OK", "success", True])
    def test_words_and_empty_bodies_mean_all_applied(self, data: Any) -> None:
        assert failures_answer(data) == (None, [])

    @pytest.mark.parametrize("key", ["failed_contacts", "failed", "failures", "errors"])
    def test_failures_under_any_known_key(self, key: str) -> None:
        assert failures_answer({key: ["a"]}) == (None, ["a"])

    def test_a_bare_array_lists_the_failures(self) -> None:
        assert failures_answer([{"phone": "1"}]) == (None, [{"phone": "1"}])

    @pytest.mark.parametrize("data", ["nope", 42, {"failed": "x"}])
    def test_anything_else_does_not_fit(self, data: Any) -> None:
        with pytest.raises(StructureError):
            failures_answer(data)

    def test_upsert_structures_contacts_and_reads_failures(self) -> None:
        done, failed = upsert_answer({"contacts": [{"id": 1}], "failed_contacts": [{"x": 1}]})
        assert done is not None
        assert [c.id for c in done] == [1]
        assert failed == [{"x": 1}]

    def test_upsert_without_contacts_says_nothing_about_successes(self) -> None:
        assert upsert_answer({"failed_contacts": []}) == (None, [])

    @pytest.mark.parametrize("data", [[], "nope", {"contacts": {}}])
    def test_upsert_shapes_that_do_not_fit(self, data: Any) -> None:
        with pytest.raises(StructureError):
            upsert_answer(data)


class TestKeysAndReasons:
    def test_phone_keys_of_items_entries_and_bare_strings(self) -> None:
        assert phone_keys({"phone": "15105553344", "first": "A"}) == {"15105553344"}
        assert phone_keys({"contact": {"phone": "15105553344"}}) == {"15105553344"}
        assert phone_keys("15105553344") == {"15105553344"}
        assert phone_keys({"phone": True}) == set()

    def test_contact_keys_cover_uuid_and_channels(self) -> None:
        body = {
            "uuid": "u-1",
            "contact_channels": [{"channel_type": "email", "channel_id": "a@b.c"}],
        }
        assert contact_keys(body) == {"u-1", "a@b.c"}

    @pytest.mark.parametrize(
        ("entry", "reason"),
        [
            ({"error": "bad phone"}, "bad phone"),
            ({"message": "dup"}, "dup"),
            ({"errors": ["a", "b"]}, "['a', 'b']"),
            ({"phone": "1"}, None),
            ("15105553344", None),
        ],
    )
    def test_reason_of(self, entry: Any, reason: str | None) -> None:
        assert reason_of(entry) == reason

    @pytest.mark.parametrize(
        ("exc", "written"),
        [
            (_error(ServerError, 503), True),
            (_error(BadRequestError, 400), False),
            (APIConnectionError("x", maybe_applied=False), False),
            (APIConnectionError("x", maybe_applied=True), True),
            (InvalidResponseError("x", status=200, method="POST", url="u"), True),
        ],
    )
    def test_may_have_written(self, exc: Any, written: bool) -> None:
        assert may_have_written(exc) is written


class TestMatch:
    def test_each_entry_claims_the_first_free_item_with_its_key(self) -> None:
        claimed, unmatched = match([{"a"}, {"a"}, {"b"}], ["a", "a", "a", "c"], lambda e: {e})
        assert claimed == {0: "a", 1: "a"}
        assert unmatched == ["a", "c"]

    @given(st.lists(st.sampled_from("abcde"), max_size=12), st.lists(st.sampled_from("abcdef")))
    def test_every_entry_is_claimed_once_or_left_unmatched(
        self, items: list[str], entries: list[str]
    ) -> None:
        claimed, unmatched = match([{k} for k in items], entries, lambda e: {e})
        assert len(claimed) + len(unmatched) == len(entries)
        for i, entry in claimed.items():
            assert items[i] == entry
        # An entry is left over only when no free item shared its key.
        for entry in set(unmatched):
            free = [i for i, k in enumerate(items) if k == entry and i not in claimed]
            assert free == []


class TestSettle:
    def test_failures_fail_their_items_and_the_rest_succeed_with_offsets(self) -> None:
        bodies = [{"phone": "1"}, {"phone": "2"}, {"phone": "3"}]
        items, stray = settle(10, ["i1", "i2", "i3"], bodies, (None, [{"phone": "2"}]), phone_keys)
        assert stray == []
        assert [(i.index, i.input, i.status) for i in items] == [
            (10, "i1", BulkStatus.SUCCEEDED),
            (11, "i2", BulkStatus.FAILED),
            (12, "i3", BulkStatus.SUCCEEDED),
        ]

    def test_a_failure_matching_no_item_makes_the_others_unknown(self) -> None:
        bodies = [{"phone": "1"}, {"phone": "2"}]
        items, stray = settle(0, bodies, bodies, (None, [{"phone": "9"}]), phone_keys)
        assert stray == [{"phone": "9"}]
        assert {i.status for i in items} == {BulkStatus.UNKNOWN}

    def test_same_phone_twice_is_matched_once_each(self) -> None:
        bodies = [{"phone": "1"}, {"phone": "1"}]
        failed = [{"phone": "1", "error": "dup"}]
        items, _ = settle(0, bodies, bodies, (None, failed), phone_keys)
        assert [i.status for i in items] == [BulkStatus.FAILED, BulkStatus.SUCCEEDED]

    def test_leftover_results_are_not_paired_when_counts_differ(self) -> None:
        bodies = [{"uuid": "a"}, {"uuid": "b"}]
        items, _ = settle(0, bodies, bodies, (["x"], []), contact_keys)
        assert [i.result for i in items] == [None, None]
        assert all(i.ok for i in items)


class TestOddEntries:
    @pytest.mark.parametrize("channels", [5, "15105550000", {"channel_id": "x"}, [5, None]])
    @pytest.mark.parametrize("keys", [phone_keys, contact_keys])
    def test_odd_contact_channels_are_ignored(self, channels: Any, keys: Any) -> None:
        bodies = [{"phone": "15105550000"}]
        failed = [{"phone": "15105550000", "contact_channels": channels}]
        items, _ = settle(0, bodies, bodies, (None, failed), keys)
        assert [i.status for i in items] == [BulkStatus.FAILED]

    def test_settle_tolerates_an_odd_failure_entry(self) -> None:
        bodies = [{"phone": "15105550000"}, {"phone": "15105550001"}]
        answer = (None, [{"phone": "15105550000", "contact_channels": 5}])
        items, _ = settle(0, bodies, bodies, answer, phone_keys)
        assert [i.status for i in items] == [BulkStatus.FAILED, BulkStatus.SUCCEEDED]

    async def test_batch_create_reports_every_item_despite_an_odd_failure_entry(
        self, wire: WireServer
    ) -> None:
        wire.reply(
            json_reply("ok"),
            json_reply([{"phone": "15105550002", "contact_channels": 5}]),
        )
        async with HeymarketClient(
            API_KEY, base_url=wire.url, max_concurrency=1, retry=RetryPolicy.disabled()
        ) as hm:
            result = await hm.batch_create_contacts(
                [{"phone": f"1510555000{n}"} for n in range(4)], batch_size=2
            )
        assert [i.status for i in result] == [
            BulkStatus.SUCCEEDED,
            BulkStatus.SUCCEEDED,
            BulkStatus.FAILED,
            BulkStatus.SUCCEEDED,
        ]

    async def test_a_batch_whose_answer_cannot_be_matched_is_unknown_and_the_rest_kept(
        self,
    ) -> None:
        async def send(batch: list[Any]) -> Any:
            return None, [{"phone": b["phone"]} for b in batch if b["phone"] == "2"]

        def keys(entry: Any) -> Any:
            if entry["phone"] == "3":
                raise TypeError("an answer no one foresaw")
            return phone_keys(entry)

        bodies = [{"phone": str(n)} for n in range(6)]
        result = await run_batches(bodies, bodies, batch_size=2, workers=2, send=send, keys=keys)
        assert [i.status for i in result] == [
            BulkStatus.SUCCEEDED,
            BulkStatus.SUCCEEDED,
            BulkStatus.UNKNOWN,
            BulkStatus.UNKNOWN,
            BulkStatus.SUCCEEDED,
            BulkStatus.SUCCEEDED,
        ]
        reason = result.items[2].reason
        assert reason is not None
        assert "an answer no one foresaw" in reason


class TestBulkResult:
    def test_views_in_input_order(self) -> None:
        result: BulkResult[None] = BulkResult(
            items=(
                BulkItem(index=0, input="a", status=BulkStatus.FAILED),
                BulkItem(index=1, input="b", status=BulkStatus.SUCCEEDED),
                BulkItem(index=2, input="c", status=BulkStatus.UNKNOWN),
            ),
            batches=1,
        )
        assert len(result) == 3
        assert [i.input for i in result.failed] == ["a"]
        assert [i.input for i in result.succeeded] == ["b"]
        assert [i.input for i in result.unknown] == ["c"]
        assert not result.ok
        assert str(BulkStatus.UNKNOWN) == "unknown"

    def test_unmatched_failures_mean_not_ok(self) -> None:
        item = BulkItem(index=0, input="a", status=BulkStatus.SUCCEEDED)
        assert BulkResult(items=(item,)).ok
        assert not BulkResult(items=(item,), unmatched=("x",)).ok


class TestRunBatches:
    async def test_workers_never_exceed_the_cap_and_results_keep_input_order(self) -> None:
        running = 0
        peak = 0

        async def send(batch: list[Any]) -> Any:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            running -= 1
            return None, [b for b in batch if b["phone"].endswith("7")]

        bodies = [{"phone": str(n)} for n in range(40)]
        result = await run_batches(
            bodies, bodies, batch_size=3, workers=4, send=send, keys=phone_keys
        )
        assert peak == 4
        assert result.batches == 14
        assert [i.index for i in result] == list(range(40))
        assert [i.input["phone"] for i in result.failed] == ["7", "17", "27", "37"]

    @settings(max_examples=60, deadline=None)
    @given(
        n=st.integers(1, 60),
        batch_size=st.integers(1, 12),
        workers=st.integers(1, 6),
        data=st.data(),
    )
    def test_any_split_keeps_input_order_and_each_items_outcome(
        self, n: int, batch_size: int, workers: int, data: st.DataObject
    ) -> None:
        failing = data.draw(st.sets(st.integers(0, n - 1)))
        delays = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
        calls: list[list[Any]] = []

        async def send(batch: list[Any]) -> Any:
            calls.append(batch)
            # Batches finish in another order than they started.
            for _ in range(delays[batch[0]["n"]]):
                await asyncio.sleep(0)
            return None, [{"phone": b["phone"]} for b in batch if b["n"] in failing]

        bodies = [{"phone": str(i), "n": i} for i in range(n)]
        result = asyncio.run(
            run_batches(
                bodies, bodies, batch_size=batch_size, workers=workers, send=send, keys=phone_keys
            )
        )
        assert [i.index for i in result] == list(range(n))
        assert [i.input for i in result] == bodies
        assert {i.index for i in result.failed} == failing
        assert sorted(b["n"] for c in calls for b in c) == list(range(n)), "each item sent once"
        assert all(len(c) <= batch_size for c in calls)

    async def test_an_authentication_error_stops_the_batches_not_yet_sent(self) -> None:
        sent = []

        async def send(batch: list[Any]) -> Any:
            sent.append(batch)
            raise _error(AuthenticationError, 401)

        bodies = list(range(10))
        result = await run_batches(bodies, bodies, batch_size=2, workers=1, send=send, keys=set)
        assert len(sent) == 1
        assert {i.status for i in result} == {BulkStatus.FAILED}
        assert result.items[2].reason is not None
        assert result.items[2].reason.startswith("not sent")

    async def test_a_cancellation_stops_every_worker_and_propagates(self) -> None:
        started = asyncio.Event()
        cancelled = 0

        async def send(batch: list[Any]) -> Any:
            nonlocal cancelled
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled += 1
                raise

        bodies = list(range(10))
        task = asyncio.ensure_future(
            run_batches(bodies, bodies, batch_size=1, workers=3, send=send, keys=set)
        )
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cancelled == 3


PHONES = [f"1510555{n:04d}" for n in range(25)]


class TestOverTheEmulator:
    async def test_batch_create_applies_every_contact_under_the_concurrency_cap(self) -> None:
        async with FakeHeymarket(latency=0.002) as fake:
            hm = fake.client(max_concurrency=2)
            result = await hm.batch_create_contacts(
                [{"phone": p, "first": f"N{i}"} for i, p in enumerate(PHONES)], batch_size=4
            )
            assert result.ok
            assert result.batches == 7
            assert len(fake.requests_to("POST /v1/batch/contacts")) == 7
            assert fake.peak_in_flight == 2
            assert sorted(c["phone"] for c in fake.contacts.values()) == PHONES

    async def test_a_batch_that_failed_after_writing_is_unknown_and_never_resent(self) -> None:
        async with FakeHeymarket() as fake:
            fake.faults.add("POST /v1/batch/contacts", Fault.fail_after_write(500), on=[2])
            hm = fake.client(max_concurrency=1, retry=RetryPolicy(max_retries=3))
            hm._sleep = InstantSleep()
            result = await hm.batch_create_contacts([{"phone": p} for p in PHONES], batch_size=10)
            assert len(fake.requests_to("POST /v1/batch/contacts")) == 3
            statuses = [i.status for i in result]
            assert (
                statuses
                == [BulkStatus.SUCCEEDED] * 10
                + [BulkStatus.UNKNOWN] * 10
                + [BulkStatus.SUCCEEDED] * 5
            )
            assert isinstance(result.items[10].error, ServerError)
            assert "contacts may have been created" in "".join(result.items[10].error.__notes__)
            # It was applied: the emulator has all 25.
            assert len(fake.contacts) == 25

    async def test_a_refused_batch_is_failed_and_a_429_is_retried(self) -> None:
        async with FakeHeymarket() as fake:
            fake.faults.add("POST /v1/batch/contacts", Fault.status(400), on=[1])
            fake.faults.add("POST /v1/batch/contacts", Fault.rate_limited(), on=[2])
            hm = fake.client(max_concurrency=1, retry=RetryPolicy(max_retries=3))
            hm._sleep = InstantSleep()
            result = await hm.batch_create_contacts(
                [{"phone": p} for p in PHONES[:4]], batch_size=2
            )
            assert [i.status for i in result] == [BulkStatus.FAILED] * 2 + [
                BulkStatus.SUCCEEDED
            ] * 2
            assert isinstance(result.items[0].error, BadRequestError)
            assert len(fake.contacts) == 2

    async def test_v2_upsert_creates_updates_and_reports_failures_per_item(self) -> None:
        async with FakeHeymarket() as fake:
            existing = fake.add_contact(phone="15105550001", first="Old")
            hm = fake.client()
            items: list[dict[str, Any]] = [
                {"channels": [("phone", "15105550002")], "first": "New"},
                {"uuid": existing["uuid"], "first": "Renamed"},
                {"uuid": "00000000-0000-4000-8000-000000000000", "first": "Ghost"},
                {"channels": [("email", "e@example.com")]},
            ]
            result = await hm.v2.upsert_contacts(items, batch_size=3)
            assert [i.status for i in result] == [
                BulkStatus.SUCCEEDED,
                BulkStatus.SUCCEEDED,
                BulkStatus.FAILED,
                BulkStatus.SUCCEEDED,
            ]
            created, renamed, _, emailed = (i.result for i in result)
            assert created is not None
            assert created.phone == "15105550002"
            assert renamed is not None
            assert (renamed.first, renamed.uuid) == ("Renamed", existing["uuid"])
            assert emailed is not None
            assert emailed.email == "e@example.com"
            assert result.items[2].reason is not None
            assert "no contact with uuid" in result.items[2].reason
            assert len(fake.contacts) == 3

    async def test_v2_bulk_delete_removes_and_reports_unknown_uuids(self) -> None:
        async with FakeHeymarket() as fake:
            kept = fake.add_contact(phone="15105550001")
            gone = [fake.add_contact(phone=f"1510555000{n}")["uuid"] for n in range(2, 5)]
            ghost = "00000000-0000-4000-8000-000000000000"
            hm = fake.client()
            result = await hm.v2.delete_contacts([*gone, ghost], batch_size=2)
            assert [i.status for i in result] == [BulkStatus.SUCCEEDED] * 3 + [BulkStatus.FAILED]
            assert list(fake.contacts) == [kept["id"]]

    async def test_v2_bulk_delete_that_may_have_been_applied_is_unknown_and_not_resent(
        self,
    ) -> None:
        async with FakeHeymarket() as fake:
            uuids = [fake.add_contact(phone=f"1510555000{n}")["uuid"] for n in range(4)]
            # A 5xx after the write, not a dropped connection: aiohttp itself resends a PUT or
            # DELETE once when the connection drops, below the SDK's retry rules.
            fake.faults.add("DELETE /v2/contacts", Fault.fail_after_write(502), on=[1])
            hm = fake.client(max_concurrency=1, retry=RetryPolicy(max_retries=3))
            hm._sleep = InstantSleep()
            result = await hm.v2.delete_contacts(uuids, batch_size=2)
            assert [i.status for i in result] == [BulkStatus.UNKNOWN] * 2 + [
                BulkStatus.SUCCEEDED
            ] * 2
            assert len(fake.requests_to("DELETE /v2/contacts")) == 2
            error = result.items[0].error
            assert error is not None
            assert "contacts may have been deleted" in "".join(getattr(error, "__notes__", []))
            assert len(fake.contacts) == 0, "the dropped batch was applied"

    async def test_batches_go_through_the_clients_rate_limiter(self) -> None:
        async with FakeHeymarket() as fake:
            # 60 a minute is one a second; ScaledTime makes a second a millisecond. Send times
            # are read on the client's clock, in the hook the pipeline calls as it sends.
            time = ScaledTime(1000)
            sent: list[float] = []
            hooks = Hooks(on_request=lambda _: sent.append(time.clock()))
            hm = time.install(fake.client(max_concurrency=4, rate_limit=60, hooks=hooks))
            result = await hm.batch_create_contacts([{"phone": p} for p in PHONES], batch_size=5)
            assert result.ok
            assert len(sent) == 5
            # The first goes at once and each later one a slot (1 s) after the one before.
            assert max(sent) - min(sent) >= 4 - 0.1
            assert len(time.sleeps) >= 4
