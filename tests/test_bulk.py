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
    Keys,
    Matched,
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
from heymarket_async._convert import StructureError, structure_contact
from heymarket_async.models import Contact
from heymarket_async.testing import FakeHeymarket, Fault, install_clock
from tests._fakes import InstantSleep, ScaledTime
from tests._server import API_KEY, WireServer, json_reply

U_OLD = "e3e70682-c209-4cac-a29f-6fbed82c07cd"
U_NEW = "eb1167b3-67a9-4378-bc65-c1e582e2e662"


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

    @pytest.mark.parametrize(
        "data", [{"error": "quota exceeded"}, {"message": "try later"}, {"detail": "no"}]
    )
    def test_an_object_that_reads_as_an_error_is_no_all_done(self, data: Any) -> None:
        with pytest.raises(StructureError, match="reads as an error"):
            failures_answer(data)

    @pytest.mark.parametrize("data", [{}, {"status": "ok"}, {"deleted": 3}, {"error": None}])
    def test_an_object_without_failures_or_an_error_is_all_done(self, data: Any) -> None:
        assert failures_answer(data) == (None, [])

    def test_a_message_beside_the_contacts_is_only_a_remark(self) -> None:
        done, failed = upsert_answer({"contacts": [{"id": 1}], "message": "Saved"})
        assert done is not None
        assert [c.id for c in done] == [1]
        assert failed == []

    def test_a_failed_items_contact_is_not_given_to_another_item(self) -> None:
        # Item 0 is listed as failed and its (partly saved) contact as done; item 1 is in
        # neither list: unknown, never "succeeded" with item 0's contact.
        bodies = [
            {"contact_channels": [{"channel_type": "phone", "channel_id": f"1510555000{n}"}]}
            for n in (1, 2)
        ]
        saved = structure_contact(
            {"id": 1, "uuid": "00000000-0000-0000-0000-00000000000a", "phone": "15105550001"}
        )
        answer = ([saved], [{**bodies[0], "error": "tag 9 does not exist"}])
        items, _ = settle(0, bodies, bodies, answer, contact_keys)
        assert [i.status for i in items] == [BulkStatus.FAILED, BulkStatus.UNKNOWN]

    async def test_a_200_error_object_leaves_the_batch_unknown(self, wire: WireServer) -> None:
        wire.reply(json_reply({"error": "quota exceeded"}))
        async with HeymarketClient(API_KEY, base_url=wire.url, retry=RetryPolicy.disabled()) as hm:
            result = await hm.batch_create_contacts([{"phone": "15105550000"}])
        assert [i.status for i in result] == [BulkStatus.UNKNOWN]

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
        phone = Keys(frozenset({"15105553344"}))
        assert phone_keys({"phone": "15105553344", "first": "A"}) == phone
        assert phone_keys({"contact": {"phone": "15105553344"}}) == phone
        assert phone_keys("15105553344") == phone
        assert phone_keys({"phone": True}) == Keys(frozenset())

    def test_contact_keys_tell_the_uuid_from_the_channels(self) -> None:
        body = {
            "uuid": U_OLD.upper(),
            "phone": "15105553344",
            "contact_channels": [{"channel_type": "email", "channel_id": "a@b.c"}],
        }
        assert contact_keys(body) == Keys(frozenset({U_OLD}), frozenset({"15105553344", "a@b.c"}))
        assert contact_keys(U_OLD) == Keys(frozenset({U_OLD}))
        contact = structure_contact({"id": 1, "uuid": U_OLD, "email": "a@b.c"})
        assert contact_keys(contact) == Keys(frozenset({U_OLD}), frozenset({"a@b.c"}))

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


def _key(entry: str) -> Keys:
    """``"u:x"`` is known by the id ``x``, ``"c:x"`` by the channel ``x``."""
    kind, _, value = entry.partition(":")
    return Keys(frozenset({value})) if kind == "u" else Keys(frozenset(), frozenset({value}))


class TestMatch:
    def test_entries_are_grouped_under_every_item_they_may_belong_to(self) -> None:
        inputs = [_key("u:a"), _key("u:a"), _key("u:b"), _key("c:p")]
        matched = match(inputs, ["u:a", "u:a", "u:a", "u:c", "c:p", "u:p"], _key)
        assert matched.groups == {(0, 1): ["u:a", "u:a", "u:a"], (3,): ["c:p", "u:p"]}
        assert matched.stray == ["u:c"]

    def test_an_id_wins_over_a_channel_and_an_item_with_an_id_has_no_channel(self) -> None:
        with_id = Keys(frozenset({"a"}), frozenset({"p"}))
        without = _key("c:p")
        entry = Keys(frozenset({"a"}), frozenset({"p"}))
        assert match([with_id, without], [entry], lambda e: e).groups == {(0,): [entry]}
        other = Keys(frozenset({"z"}), frozenset({"p"}))
        assert match([with_id, without], [other], lambda e: e).groups == {(1,): [other]}

    def test_skipped_items_belong_to_no_entry(self) -> None:
        inputs = [_key("u:a"), _key("c:p")]
        entry = Keys(frozenset({"a"}), frozenset({"p"}))
        matched = match(inputs, [entry], lambda e: e, skip={0})
        # It speaks of the skipped item: not another's (by its channel), and no stray either,
        # which the in-order pairing would hand to an item the answer left out.
        assert matched == Matched({}, [])

    @given(
        st.lists(st.sampled_from(["u:a", "u:b", "c:p", "c:q"]), max_size=12),
        st.lists(st.sampled_from(["u:a", "u:b", "u:z", "c:p", "c:q", "c:r"])),
    )
    def test_every_entry_is_grouped_once_or_left_unmatched(
        self, items: list[str], entries: list[str]
    ) -> None:
        matched = match([_key(k) for k in items], entries, _key)
        assert sum(map(len, matched.groups.values())) + len(matched.stray) == len(entries)
        for owners, grouped in matched.groups.items():
            for entry in grouped:
                kind = entry[0]
                same = [i for i, k in enumerate(items) if k[2:] == entry[2:]]
                # An id names every item with that id; a channel only the items without one.
                assert list(owners) == same
                assert all(items[i][0] == kind for i in owners)
        for entry in matched.stray:
            assert entry[2:] not in {k[2:] for k in items}


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

    def test_same_phone_twice_with_one_failure_is_unknown_for_both(self) -> None:
        # The server more likely refused the second as a duplicate: calling the first failed
        # ("safe to resend") would be a guess, and a wrong one invites another duplicate.
        bodies = [{"phone": "1"}, {"phone": "1"}, {"phone": "2"}]
        failed = [{"phone": "1", "error": "dup"}]
        items, stray = settle(0, bodies, bodies, (None, failed), phone_keys)
        assert stray == []
        assert [i.status for i in items] == [
            BulkStatus.UNKNOWN,
            BulkStatus.UNKNOWN,
            BulkStatus.SUCCEEDED,
        ]

    def test_same_key_twice_with_as_many_failures_fails_both(self) -> None:
        bodies = [U_OLD, U_OLD]
        failed = [{"uuid": U_OLD, "error": "not found"}] * 2
        items, _ = settle(0, bodies, bodies, (None, failed), contact_keys)
        assert [(i.status, i.reason) for i in items] == [(BulkStatus.FAILED, "not found")] * 2

    def test_same_uuid_twice_gets_its_contacts_in_order(self) -> None:
        bodies = [{"uuid": U_OLD, "first": "A"}, {"uuid": U_OLD, "first": "B"}]
        done = [structure_contact({"id": 1, "uuid": U_OLD, "first": f}) for f in "AB"]
        items, _ = settle(0, bodies, bodies, (done, []), contact_keys)
        assert [(i.status, i.result) for i in items] == [
            (BulkStatus.SUCCEEDED, done[0]),
            (BulkStatus.SUCCEEDED, done[1]),
        ]

    def test_leftover_results_are_paired_in_order_when_counts_agree(self) -> None:
        bodies = [{"uuid": "a"}, {"uuid": "b"}]
        items, _ = settle(0, bodies, bodies, (["x", "y"], []), contact_keys)
        assert [(i.status, i.result) for i in items] == [
            (BulkStatus.SUCCEEDED, "x"),
            (BulkStatus.SUCCEEDED, "y"),
        ]

    def test_leftover_results_are_not_paired_when_counts_differ(self) -> None:
        bodies = [{"uuid": "a"}, {"uuid": "b"}]
        items, _ = settle(0, bodies, bodies, (["x"], []), contact_keys)
        assert [(i.status, i.result) for i in items] == [(BulkStatus.UNKNOWN, None)] * 2

    def test_an_item_a_listing_answer_leaves_out_is_unknown(self) -> None:
        # The answer lists what was done and what failed; an item in neither may have been
        # dropped, and calling it succeeded would hide that.
        bodies = [{"uuid": U_OLD}, {"uuid": U_NEW}]
        done = [structure_contact({"id": 1, "uuid": U_OLD})]
        items, _ = settle(0, bodies, bodies, (done, []), contact_keys)
        assert [i.status for i in items] == [BulkStatus.SUCCEEDED, BulkStatus.UNKNOWN]
        assert items[1].reason is not None
        assert "neither" in items[1].reason


class TestSettleByUuidFirst:
    """An item with a uuid is known by it alone; channels identify only the items without one."""

    BODIES: list[dict[str, Any]] = [  # noqa: RUF012
        {"uuid": U_OLD, "first": "X"},
        {"contact_channels": [{"channel_type": "phone", "channel_id": "15105550001"}]},
    ]

    @staticmethod
    def _contact(uuid: str, first: str) -> Contact:
        return structure_contact({"id": 1, "uuid": uuid, "phone": "15105550001", "first": first})

    def test_an_item_with_a_uuid_gets_the_contact_with_that_uuid(self) -> None:
        answer = ([self._contact(U_OLD, "X"), self._contact(U_NEW, "Y")], [])
        items, _ = settle(0, self.BODIES, self.BODIES, answer, contact_keys)
        assert [i.status for i in items] == [BulkStatus.SUCCEEDED] * 2
        assert [(i.result.uuid, i.result.first) for i in items if i.result] == [
            (U_OLD, "X"),
            (U_NEW, "Y"),
        ]

    def test_a_failure_naming_the_uuid_marks_that_item_not_its_neighbour(self) -> None:
        # The update by uuid failed (the entry names the uuid and the contact's phone); the new
        # contact with that phone was created. Reporting the create as failed would invite a
        # resend, and a duplicate.
        failed = [{"uuid": U_OLD, "phone": "15105550001", "error": "locked"}]
        answer = ([self._contact(U_NEW, "Y")], failed)
        items, stray = settle(0, self.BODIES, self.BODIES, answer, contact_keys)
        assert stray == []
        assert [i.status for i in items] == [BulkStatus.FAILED, BulkStatus.SUCCEEDED]
        assert items[0].reason == "locked"
        assert items[1].result is not None
        assert items[1].result.uuid == U_NEW

    def test_a_uuid_item_is_not_matched_by_a_channel(self) -> None:
        # The entry's uuid is not in the batch: only the item without a uuid may be its owner.
        failed = [{"uuid": U_NEW, "phone": "15105550001"}]
        bodies = [{"uuid": U_OLD, "phone": "15105550001"}, self.BODIES[1]]
        items, _ = settle(0, bodies, bodies, (None, failed), contact_keys)
        assert [i.status for i in items] == [BulkStatus.SUCCEEDED, BulkStatus.FAILED]

    def test_uuids_match_whatever_their_case(self) -> None:
        items, _ = settle(0, [U_OLD], [U_OLD], (None, [U_OLD.upper()]), contact_keys)
        assert [i.status for i in items] == [BulkStatus.FAILED]

    def test_a_failure_shared_by_items_without_a_uuid_makes_them_unknown(self) -> None:
        phone = {"channel_type": "phone", "channel_id": "15105550001"}
        email = {"channel_type": "email", "channel_id": "a@b.c"}
        bodies = [{"contact_channels": [phone]}, {"contact_channels": [phone, email]}]
        failed = [{"contact_channels": [phone], "error": "taken"}]
        items, stray = settle(0, bodies, bodies, (None, failed), contact_keys)
        assert stray == []
        assert [i.status for i in items] == [BulkStatus.UNKNOWN] * 2

    async def test_over_the_emulator(self) -> None:
        async with FakeHeymarket() as fake:
            old = fake.add_contact(phone="15105550001", first="Old")
            hm = fake.client()
            result = await hm.v2.upsert_contacts(
                [
                    {"uuid": old["uuid"], "first": "X"},
                    {"channels": [("phone", "15105550001")], "first": "Y"},
                ]
            )
            assert [i.status for i in result] == [BulkStatus.SUCCEEDED] * 2
            first, second = (i.result for i in result)
            assert first is not None
            assert second is not None
            assert (first.uuid, first.first) == (old["uuid"], "X")
            assert (second.uuid != old["uuid"], second.first) == (True, "Y")


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
        result = await run_batches(
            bodies, bodies, batch_size=2, workers=1, send=send, keys=phone_keys
        )
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
            run_batches(bodies, bodies, batch_size=1, workers=3, send=send, keys=phone_keys)
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
            install_clock(hm, sleep=InstantSleep())
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
            install_clock(hm, sleep=InstantSleep())
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

    async def test_v2_bulk_delete_of_one_uuid_twice_is_unknown_for_both(self) -> None:
        async with FakeHeymarket() as fake:
            uuid = fake.add_contact(phone="15105550001")["uuid"]
            hm = fake.client()
            result = await hm.v2.delete_contacts([uuid, uuid])
            # The second delete found nothing: neither occurrence is the failed one for sure.
            assert [i.status for i in result] == [BulkStatus.UNKNOWN] * 2
            assert result.unmatched == ()
            assert len(fake.contacts) == 0

    async def test_v2_bulk_delete_that_may_have_been_applied_is_unknown_and_not_resent(
        self,
    ) -> None:
        async with FakeHeymarket() as fake:
            uuids = [fake.add_contact(phone=f"1510555000{n}")["uuid"] for n in range(4)]
            # A 5xx after the write, not a dropped connection: aiohttp itself resends a PUT or
            # DELETE once when the connection drops, below the SDK's retry rules.
            fake.faults.add("DELETE /v2/contacts", Fault.fail_after_write(502), on=[1])
            hm = fake.client(max_concurrency=1, retry=RetryPolicy(max_retries=3))
            install_clock(hm, sleep=InstantSleep())
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
            # 60 a minute is one a second; ScaledTime makes a second 10 ms. Send times are read
            # on the client's clock, in the hook the pipeline calls as it sends.
            time = ScaledTime(100)
            sent: list[float] = []
            hooks = Hooks(on_request=lambda _: sent.append(time.clock()))
            hm = time.install(fake.client(max_concurrency=4, rate_limit=60, hooks=hooks))
            result = await hm.batch_create_contacts([{"phone": p} for p in PHONES], batch_size=5)
            assert result.ok
            assert len(sent) == 5
            # The first goes at once and each later one a slot (1 s) after the one before. (How
            # many sleeps that takes is the limiter's business: a task woken late may not need one.)
            assert max(sent) - min(sent) >= 4 - 0.1
            assert time.sleeps
