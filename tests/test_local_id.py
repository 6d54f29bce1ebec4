"""``local_id``: accepted on every create, sent as given, served back, and what makes a create
safe to retry.

Heymarket's contacts guide: "Use local_id as a stable client-side identifier when creating
contacts. This lets you reference the contact by your own ID and makes create-or-update
operations idempotent." So a create (or a batch of creates) carrying one is retried like an
idempotent write, unless ``RetryPolicy(retry_creates_with_local_id=False)``; without one, the
never-resend rule stays (tests/test_resilience_emulator.py::TestCreatesNeverDuplicate).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Final

import pytest

from heymarket_async import (
    APIConnectionError,
    BulkResult,
    BulkStatus,
    Contact,
    ContactRef,
    HeymarketClient,
    InvalidRequestError,
    RetryPolicy,
    ServerError,
)
from heymarket_async._convert import structure_contact
from heymarket_async._retry import READ_ATTEMPT_TIMEOUT, create_safety
from heymarket_async._sansio import Endpoint, Safety, TransportRequest, TransportResponse
from heymarket_async.resources.v1 import contacts as v1
from heymarket_async.resources.v2 import contacts as v2
from heymarket_async.testing import FakeHeymarket, Fault, MockTransport, install_clock
from tests import _docs
from tests._fakes import InstantSleep
from tests._server import API_KEY, WireServer, json_reply, text_reply
from tests._wirecheck import assert_request

PHONE: Final = "15105553344"

# -- inputs -------------------------------------------------------------------------------------


class TestInputs:
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (42, r"must be a str, not int: convert it first"),
            ("", "must not be empty"),
            ("   ", "must not be empty"),
            (b"crm-1", "must be a str, not bytes"),
            ("crm-\ud800", "no UTF-8 form"),
        ],
    )
    async def test_a_bad_local_id_is_refused_before_sending(
        self, wire: WireServer, client: HeymarketClient, value: Any, message: str
    ) -> None:
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: client.create_contact(PHONE, local_id=value),
            lambda: client.v2.create_contact([("phone", PHONE)], local_id=value),
        ]
        for call in calls:
            with pytest.raises(InvalidRequestError, match=message) as info:
                await call()
            assert info.value.field == "local_id"
        with pytest.raises(InvalidRequestError) as info:
            await client.batch_create_contacts(
                [{"phone": PHONE}, {"phone": PHONE, "local_id": value}]
            )
        assert info.value.field == "contacts[1].local_id"
        with pytest.raises(InvalidRequestError) as info:
            await client.v2.upsert_contacts([{"channels": [("phone", PHONE)], "local_id": value}])
        assert info.value.field == "contacts[0].local_id"
        assert wire.requests == []

    async def test_a_local_id_is_never_echoed_in_an_error(self, client: HeymarketClient) -> None:
        with pytest.raises(InvalidRequestError) as info:
            await client.create_contact(PHONE, local_id="\ud800jo@example.com")
        assert "jo@example.com" not in str(info.value)

    async def test_updates_do_not_take_it(self, client: HeymarketClient) -> None:
        # The docs name it for creates (and create-or-update): an update by id has its id.
        with pytest.raises(TypeError, match="local_id"):
            await client.update_contact(1, PHONE, local_id="crm-1")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="local_id"):
            await client.v2.update_contact(_docs.DOCS_UUID, local_id="x")  # type: ignore[call-arg]
        with pytest.raises(InvalidRequestError, match="not a contact field"):
            await client.patch_contact(1, local_id="crm-1")

    def test_the_policy_switch_is_a_bool(self) -> None:
        assert RetryPolicy().retry_creates_with_local_id is True
        with pytest.raises(InvalidRequestError, match="retry_creates_with_local_id"):
            RetryPolicy(retry_creates_with_local_id="no")  # type: ignore[arg-type]


# -- on the wire --------------------------------------------------------------------------------


class TestWire:
    async def test_v1_create_sends_it_as_given(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        await client.create_contact("+1 510 555 3344", local_id=" CRM-7 ", first="Ada")
        body = {"phone": PHONE, "local_id": " CRM-7 ", "first": "Ada"}
        assert_request(wire.last, "POST", "/v1/contact", body=body)

    async def test_v2_create_sends_it(self, wire: WireServer, client: HeymarketClient) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        await client.v2.create_contact([("phone", PHONE)], local_id="crm-7")
        channels = [{"channel_type": "phone", "channel_id": PHONE}]
        body = {"contact_channels": channels, "local_id": "crm-7"}
        assert_request(wire.last, "POST", "/v2/contact", body=body)

    async def test_none_leaves_it_out(self, wire: WireServer, client: HeymarketClient) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE), json_reply("ok"))
        await client.create_contact(PHONE, local_id=None)
        assert wire.last.json == {"phone": PHONE}
        await client.batch_create_contacts([{"phone": PHONE, "local_id": None}])
        assert wire.last.json == [{"phone": PHONE}]

    async def test_batch_create_sends_each_items_own(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply("ok"))
        items = [{"phone": PHONE, "local_id": "crm-1", "first": "Ada"}, {"phone": "447700900123"}]
        result = await client.batch_create_contacts(items)
        body = [{"phone": PHONE, "local_id": "crm-1", "first": "Ada"}, {"phone": "447700900123"}]
        assert_request(wire.last, "POST", "/v1/batch/contacts", query="overwrite=false", body=body)
        assert result.ok

    async def test_upsert_sends_each_items_own(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"contacts": [], "failed_contacts": []}))
        items = [
            {"channels": [("email", "a@example.com")], "local_id": "crm-1"},
            {"uuid": _docs.DOCS_UUID, "local_id": "crm-2", "first": "B"},
        ]
        await client.v2.upsert_contacts(items)
        email = [{"channel_type": "email", "channel_id": "a@example.com"}]
        body = {
            "contacts": [
                {"contact_channels": email, "local_id": "crm-1"},
                {"uuid": _docs.DOCS_UUID, "local_id": "crm-2", "first": "B"},
            ]
        }
        assert_request(wire.last, "POST", "/v2/contacts", body=body)

    async def test_a_retried_create_resends_the_same_body(self, wire: WireServer) -> None:
        wire.reply(json_reply({"error": "busy"}, status=503), text_reply(_docs.CREATE_RESPONSE))
        policy = RetryPolicy(max_retries=1, backoff_base=0)
        async with HeymarketClient(API_KEY, base_url=wire.url, retry=policy) as hm:
            await hm.create_contact(PHONE, local_id="crm-7")
        assert [r.json for r in wire.requests] == [{"phone": PHONE, "local_id": "crm-7"}] * 2

    def test_it_is_read_back_on_a_contact(self) -> None:
        assert structure_contact({"id": 1, "local_id": "crm-7"}).local_id == "crm-7"
        assert structure_contact({"id": 1, "local_id": 7}).local_id == "7"
        assert structure_contact({"id": 1}).local_id is None


# -- which requests may be resent (pure) ----------------------------------------------------------


class TestCreateSafety:
    def test_a_create_with_a_local_id_is_idempotent(self) -> None:
        assert (
            create_safety([{"phone": PHONE, "local_id": "a"}], RetryPolicy()) is Safety.IDEMPOTENT
        )

    def test_without_one_or_with_the_switch_off_it_keeps_its_endpoints(self) -> None:
        off = RetryPolicy(retry_creates_with_local_id=False)
        assert create_safety([{"phone": PHONE}], RetryPolicy()) is None
        assert create_safety([{"phone": PHONE, "local_id": "a"}], off) is None

    def test_a_batch_is_idempotent_only_when_every_item_has_one(self) -> None:
        keyed = {"phone": PHONE, "local_id": "a"}
        assert (
            create_safety([keyed, {**keyed, "local_id": "b"}], RetryPolicy()) is Safety.IDEMPOTENT
        )
        assert create_safety([keyed, {"phone": PHONE}], RetryPolicy()) is None
        assert create_safety([], RetryPolicy()) is None

    def test_a_request_may_only_relax_once_to_idempotent(self) -> None:
        request = v1.CREATE.request(json={}, safety=Safety.IDEMPOTENT)
        assert request.safety is Safety.IDEMPOTENT
        assert v1.CREATE.request(json={}).safety is Safety.ONCE
        assert v1.GET.request(id=1, safety=Safety.READ).safety is Safety.READ
        with pytest.raises(ValueError, match="cannot be sent as"):
            v1.GET.request(id=1, safety=Safety.ONCE)
        with pytest.raises(ValueError, match="cannot be sent as"):
            Endpoint("PUT", "/v1/x", Safety.IDEMPOTENT).request(safety=Safety.READ)
        with pytest.raises(ValueError, match="cannot be sent as"):
            v2.DELETE.request(id=_docs.DOCS_UUID, safety=Safety.ONCE)

    async def test_a_keyed_create_gets_the_attempt_timeout_of_an_idempotent_write(self) -> None:
        # Cut off after sending, it can be retried: so it is cut off, like a read; a create
        # sent once has the whole deadline (here none).
        timeouts: list[float | None] = []

        def handler(request: TransportRequest) -> TransportResponse:
            timeouts.append(request.timeout)
            return TransportResponse.from_json({"id": 1, "rev": 1})

        off = RetryPolicy(retry_creates_with_local_id=False)
        async with HeymarketClient(API_KEY, transport=MockTransport(handler), timeout=None) as hm:
            await hm.create_contact(PHONE, local_id="crm-7")
            await hm.v2.create_contact([("phone", PHONE)], local_id="crm-7")
            await hm.create_contact(PHONE)
            await hm.with_options(retry=off).create_contact(PHONE, local_id="crm-7")
        assert timeouts == [READ_ATTEMPT_TIMEOUT, READ_ATTEMPT_TIMEOUT, None, None]


# -- the emulator -------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeHeymarket]:
    async with FakeHeymarket() as server:
        yield server


def client(fake: FakeHeymarket, **kwargs: Any) -> HeymarketClient:
    kwargs.setdefault("retry", RetryPolicy(backoff_base=0, backoff_max=0))
    hm = fake.client(**kwargs)
    install_clock(hm, sleep=InstantSleep())
    return hm


class TestEmulator:
    async def test_a_v1_create_with_a_held_local_id_updates_that_contact(
        self, fake: FakeHeymarket
    ) -> None:
        async with client(fake) as hm:
            first = await hm.create_contact(PHONE, local_id="crm-7", first="Ada", custom={123: "A"})
            again = await hm.create_contact(PHONE, local_id="crm-7", last="L", custom={456: "B"})
            other = await hm.create_contact(PHONE, local_id="crm-8")
            contact = await hm.get_contact(first.id)
        assert (again.id, again.uuid, again.rev) == (first.id, first.uuid, 2)
        assert other.id != first.id
        assert len(fake.contacts) == 2
        assert (contact.first, contact.last, contact.local_id) == ("Ada", "L", "crm-7")
        assert contact.custom == {"123": "A", "456": "B"}

    async def test_a_v2_create_with_a_held_local_id_updates_that_contact(
        self, fake: FakeHeymarket
    ) -> None:
        async with client(fake) as hm:
            first = await hm.v2.create_contact([("phone", PHONE)], local_id="crm-7")
            again = await hm.v2.create_contact(
                [("phone", PHONE), ("email", "ada@example.com")], local_id="crm-7", first="Ada"
            )
            contact = await hm.v2.get_contact(first.uuid or "")
        assert (again.id, again.rev) == (first.id, 2)
        assert len(fake.contacts) == 1
        assert contact.first == "Ada"
        assert contact.local_id == "crm-7"
        assert [(c.channel_type, c.channel_id) for c in contact.contact_channels] == [
            ("phone", PHONE),
            ("email", "ada@example.com"),
        ]

    async def test_bulk_creates_with_held_local_ids_update_those_contacts(
        self, fake: FakeHeymarket
    ) -> None:
        held = fake.add_contact(phone=PHONE, local_id="crm-1")
        other = fake.add_contact(phone="15105550002", local_id="crm-2")
        async with client(fake) as hm:
            batch = await hm.batch_create_contacts(
                [
                    {"phone": "15105550001", "local_id": "crm-1", "first": "V1"},
                    {"phone": "15105550003", "local_id": "crm-3"},
                ]
            )
            upsert = await hm.v2.upsert_contacts(
                [
                    {"channels": [("email", "b@example.com")], "local_id": "crm-2", "last": "V2"},
                    {"uuid": held["uuid"], "local_id": "crm-2"},  # crm-2 is other's
                ]
            )
        assert batch.ok
        assert [i.status for i in upsert] == [BulkStatus.SUCCEEDED, BulkStatus.FAILED]
        assert upsert.items[0].result is not None
        assert upsert.items[0].result.id == other["id"]
        assert upsert.items[0].result.local_id == "crm-2"
        assert len(fake.contacts) == 3  # crm-1 and crm-2 updated, crm-3 created
        assert fake.contacts[held["id"]]["first"] == "V1"
        assert fake.contacts[held["id"]]["phone"] == "15105550001"
        assert fake.contacts[other["id"]]["last"] == "V2"

    async def test_walks_and_reads_show_the_local_id(self, fake: FakeHeymarket) -> None:
        fake.seed(40)  # more than a v1 page: the walk reads past the first
        async with client(fake) as hm:
            ref = await hm.create_contact(PHONE, local_id="crm-7")
            v1_walk = [c async for c in hm.iter_contacts()]
            v2_walk = [c async for c in hm.v2.iter_contacts()]
        for walk in (v1_walk, v2_walk):
            assert len(walk) == 41
            keyed = {c.id: c.local_id for c in walk if c.local_id is not None}
            assert keyed == {ref.id: "crm-7"}

    async def test_deleting_a_contact_frees_its_local_id(self, fake: FakeHeymarket) -> None:
        async with client(fake) as hm:
            first = await hm.create_contact(PHONE, local_id="crm-7")
            await hm.delete_contact(first.id)
            second = await hm.create_contact(PHONE, local_id="crm-7")
        assert second.id != first.id
        assert second.rev == 1


# -- retries ------------------------------------------------------------------------------------

CREATES: Final[Mapping[str, tuple[str, Callable[..., Awaitable[ContactRef]]]]] = {
    "v1": ("POST /v1/contact", lambda hm, **kw: hm.create_contact(PHONE, first="Jo", **kw)),
    "v2": (
        "POST /v2/contact",
        lambda hm, **kw: hm.v2.create_contact([("phone", PHONE)], first="Jo", **kw),
    ),
}
AFTER_WRITE: Final = {
    "drop-after-write": Fault.drop_after_write(),
    "500-after-write": Fault.fail_after_write(500),
}


class TestRetriedCreates:
    @pytest.mark.parametrize("api", sorted(CREATES))
    @pytest.mark.parametrize("fault", sorted(AFTER_WRITE))
    async def test_a_create_with_a_local_id_is_retried_and_makes_one_contact(
        self, fake: FakeHeymarket, api: str, fault: str
    ) -> None:
        route, create = CREATES[api]
        fake.faults.add(route, AFTER_WRITE[fault], times=1)
        async with client(fake) as hm:
            ref = await create(hm, local_id="crm-7")
        assert len(fake.requests_to(route)) == 2
        assert list(fake.contacts) == [ref.id]  # the first attempt's contact, updated
        assert ref.rev == 2
        assert fake.contacts[ref.id]["local_id"] == "crm-7"

    @pytest.mark.parametrize("api", sorted(CREATES))
    async def test_with_the_switch_off_it_is_sent_once(self, fake: FakeHeymarket, api: str) -> None:
        route, create = CREATES[api]
        fake.faults.add(route, Fault.drop_after_write(), times=1)
        off = RetryPolicy(retry_creates_with_local_id=False, backoff_base=0)
        async with client(fake, retry=off) as hm:
            with pytest.raises(APIConnectionError) as info:
                await create(hm, local_id="crm-7")
        assert str(info.value).endswith("(the write may have been applied)")
        assert info.value.maybe_applied
        assert len(fake.requests_to(route)) == 1
        assert len(fake.contacts) == 1

    @pytest.mark.parametrize("api", sorted(CREATES))
    async def test_a_view_with_the_switch_off_sends_it_once(
        self, fake: FakeHeymarket, api: str
    ) -> None:
        route, create = CREATES[api]
        fake.faults.add(route, Fault.fail_after_write(500), times=1)
        async with client(fake) as hm:
            view = hm.with_options(retry=RetryPolicy(retry_creates_with_local_id=False))
            with pytest.raises(ServerError, match="may have been applied"):
                await create(view, local_id="crm-7")
        assert len(fake.requests_to(route)) == 1

    @pytest.mark.parametrize("api", sorted(CREATES))
    async def test_without_a_local_id_it_is_still_sent_once(
        self, fake: FakeHeymarket, api: str
    ) -> None:
        route, create = CREATES[api]
        fake.faults.add(route, Fault.drop_after_write(), times=1)
        async with client(fake) as hm:
            with pytest.raises(APIConnectionError, match="may have been applied"):
                await create(hm)
        assert len(fake.requests_to(route)) == 1


BULK: Final[Mapping[str, tuple[str, Callable[..., Awaitable[BulkResult[Any]]]]]] = {
    "v1": (
        "POST /v1/batch/contacts",
        lambda hm, items, **kw: hm.batch_create_contacts(
            [{"phone": f"1510555{n:04d}", **item} for n, item in enumerate(items)], **kw
        ),
    ),
    "v2": (
        "POST /v2/contacts",
        lambda hm, items, **kw: hm.v2.upsert_contacts(
            [{"channels": [("phone", f"1510555{n:04d}")], **item} for n, item in enumerate(items)],
            **kw,
        ),
    ),
}


class TestRetriedBatches:
    @pytest.mark.parametrize("api", sorted(BULK))
    async def test_a_batch_whose_every_item_has_a_local_id_is_resent(
        self, fake: FakeHeymarket, api: str
    ) -> None:
        route, send = BULK[api]
        fake.faults.add(route, Fault.drop_after_write(), times=1)
        async with client(fake) as hm:
            result = await send(hm, [{"local_id": "a"}, {"local_id": "b"}])
        assert len(fake.requests_to(route)) == 2
        assert [i.status for i in result] == [BulkStatus.SUCCEEDED] * 2
        assert sorted(c["local_id"] for c in fake.contacts.values()) == ["a", "b"]

    @pytest.mark.parametrize("api", sorted(BULK))
    @pytest.mark.parametrize("case", ["one item without", "switch off"])
    async def test_otherwise_it_is_sent_once_and_unknown(
        self, fake: FakeHeymarket, api: str, case: str
    ) -> None:
        route, send = BULK[api]
        fake.faults.add(route, Fault.drop_after_write(), times=1)
        items: list[dict[str, str]] = [{"local_id": "a"}, {"local_id": "b"}]
        kwargs: dict[str, Any] = {}
        if case == "one item without":
            items[1] = {}
        else:
            kwargs["retry"] = RetryPolicy(retry_creates_with_local_id=False)
        async with client(fake, **kwargs) as hm:
            result = await send(hm, items)
        assert len(fake.requests_to(route)) == 1
        assert [i.status for i in result] == [BulkStatus.UNKNOWN] * 2
        assert len(fake.contacts) == 2  # applied once

    @pytest.mark.parametrize("api", sorted(BULK))
    async def test_each_batch_is_judged_by_its_own_items(
        self, fake: FakeHeymarket, api: str
    ) -> None:
        route, send = BULK[api]
        fake.faults.add(route, Fault.drop_after_write(), on=[1, 3])
        async with client(fake, max_concurrency=1) as hm:
            result = await send(hm, [{"local_id": "a"}, {"local_id": "b"}, {}], batch_size=2)
        # Batch 1 (a, b) dropped and resent; batch 2 (no local_id) dropped, not resent.
        assert len(fake.requests_to(route)) == 3
        assert [i.status for i in result] == [BulkStatus.SUCCEEDED] * 2 + [BulkStatus.UNKNOWN]
        assert len(fake.contacts) == 3


def test_contact_has_the_field() -> None:
    assert Contact(id=1, local_id="crm-7").local_id == "crm-7"
    assert Contact(id=1).local_id is None
