"""The v2 endpoints on ``client.v2``: exactly what goes over the wire, and what comes back."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest

from heymarket_async import (
    BulkStatus,
    Contact,
    ContactChannel,
    ContactRef,
    HeymarketClient,
    InvalidRequestError,
    InvalidResponseError,
    Tag,
)
from tests import _docs
from tests._server import WireServer, json_reply, text_reply
from tests._wirecheck import assert_request

DOCS_REF = ContactRef(id=98765, rev=1, uuid=_docs.DOCS_UUID)

V2_CONTACT = {
    "id": 98765,
    "uuid": _docs.DOCS_UUID,
    "first": "API",
    "contact_channels": [
        {"channel_type": "phone", "channel_id": "15105553344"},
        {"channel_type": "email", "channel_id": "help@heymarket.com"},
    ],
    "tags": [{"tag_id": 55}],
    "updated": "2026-05-07T12:00:00.000Z",
}
V2_MODEL = Contact(
    id=98765,
    uuid=_docs.DOCS_UUID,
    first="API",
    contact_channels=(
        ContactChannel(channel_type="phone", channel_id="15105553344"),
        ContactChannel(channel_type="email", channel_id="help@heymarket.com"),
    ),
    tags=(Tag(id=55),),
    updated=datetime(2026, 5, 7, 12, tzinfo=timezone.utc),
)


class TestGetContact:
    async def test_gets_by_the_documented_uuid(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply(V2_CONTACT))
        assert await client.v2.get_contact(_docs.DOCS_UUID) == V2_MODEL
        assert_request(wire.last, "GET", f"/v2/contact/{_docs.DOCS_UUID}", has_body=False)

    async def test_accepts_a_uuid_object_and_sends_the_canonical_form(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.GET_CONTACT_98765))
        await client.v2.get_contact(uuid.UUID(_docs.DOCS_UUID.upper()))  # type: ignore[arg-type]
        assert wire.last.path == f"/v2/contact/{_docs.DOCS_UUID}"


class TestCreateContact:
    async def test_sends_the_documented_example_body(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        ref = await client.v2.create_contact(
            [
                ("phone", "15105553344"),
                ContactChannel(channel_type="email", channel_id="help@heymarket.com"),
            ],
            first="API",
            last="Contact",
            display_name="API Contact",
        )
        assert ref == DOCS_REF
        assert_request(wire.last, "POST", "/v2/contact", body=json.loads(_docs.CREATE_V2_REQUEST))

    async def test_normalizes_phone_channels_and_sends_the_v1_fields(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        await client.v2.create_contact(
            [("phone", "+1 (510) 555-3344")], tags=[Tag(id=9)], custom={1: "x"}, assignee_id=3
        )
        assert wire.last.json == {
            "contact_channels": [{"channel_type": "phone", "channel_id": "15105553344"}],
            "custom": {"1": "x"},
            "assignee_id": 3,
            "tags": [{"tag_id": 9}],
        }


class TestListContacts:
    async def test_sends_the_defaults_explicitly(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply([V2_CONTACT]))
        assert await client.v2.list_contacts() == [V2_MODEL]
        assert_request(
            wire.last,
            "POST",
            "/v2/contacts/list",
            body={"limit": 30, "page": 0, "ascending": False},
        )

    async def test_sends_the_documented_example_body(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply([]))
        await client.v2.list_contacts(limit=50, page=0, ascending=True)
        assert wire.last.json == json.loads(_docs.LIST_V2_REQUEST)

    async def test_since_is_sent_as_date(self, wire: WireServer, client: HeymarketClient) -> None:
        wire.reply(json_reply([]))
        await client.v2.list_contacts(limit=100, page=3, since="2026-04-01T00:00:00.5+00:00")
        assert wire.last.json == {
            "limit": 100,
            "page": 3,
            "ascending": False,
            "date": "2026-04-01T00:00:00.5+00:00",
        }


class TestSearchContacts:
    async def test_without_channel_type_lets_the_server_infer_it(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply([V2_CONTACT]))
        found = await client.v2.search_contacts("+1 (415) 555-1234", "help@heymarket.com")
        assert found == [V2_MODEL]
        assert_request(
            wire.last,
            "POST",
            "/v2/contacts/search",
            body={"contact_channels": [{"channel_ids": ["14155551234", "help@heymarket.com"]}]},
        )

    async def test_with_channel_type_sends_it(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply([]))
        assert await client.v2.search_contacts("14155551234", channel_type="phone") == []
        assert wire.last.json == {
            "contact_channels": [{"channel_type": "phone", "channel_ids": ["14155551234"]}]
        }

    async def test_sends_other_channel_ids_as_given(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply([]))
        await client.v2.search_contacts("fb-user-12345", channel_type="facebook")
        assert wire.last.json == {
            "contact_channels": [{"channel_type": "facebook", "channel_ids": ["fb-user-12345"]}]
        }


class TestAddChannel:
    async def test_posts_the_channel_and_decodes_the_channels(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply(V2_CONTACT["contact_channels"]))
        channels = await client.v2.add_channel(_docs.DOCS_UUID, "phone", "+1 510 555 3344")
        assert channels == list(V2_MODEL.contact_channels)
        assert_request(
            wire.last,
            "POST",
            f"/v2/contact/{_docs.DOCS_UUID}/channel",
            body={"channel_type": "phone", "channel_id": "15105553344"},
        )

    @pytest.mark.parametrize("answer", [V2_CONTACT, {"channels": V2_CONTACT["contact_channels"]}])
    async def test_accepts_the_channels_inside_an_object(
        self, wire: WireServer, client: HeymarketClient, answer: Any
    ) -> None:
        wire.reply(json_reply(answer))
        channels = await client.v2.add_channel(_docs.DOCS_UUID, "email", "help@heymarket.com")
        assert channels == list(V2_MODEL.contact_channels)

    async def test_an_empty_answer_is_no_channels(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(""))
        assert await client.v2.add_channel(_docs.DOCS_UUID, "email", "a@example.com") == []

    async def test_a_channel_without_its_id_is_an_invalid_response(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply([{"channel_type": "phone"}]))
        with pytest.raises(InvalidResponseError):
            await client.v2.add_channel(_docs.DOCS_UUID, "email", "a@example.com")


class TestNothingIsSentForBadInput:
    @pytest.mark.parametrize(
        ("call", "field"),
        [
            (lambda hm: hm.v2.get_contact(98765), "contact_uuid"),
            (lambda hm: hm.v2.get_contact("98765"), "contact_uuid"),
            (lambda hm: hm.v2.get_contact(None), "contact_uuid"),
            (lambda hm: hm.v2.create_contact([]), "channels"),
            (lambda hm: hm.v2.create_contact(("phone", "15105553344")), "channels[0]"),
            (lambda hm: hm.v2.create_contact([("phone", "555")]), "channels[0].channel_id"),
            (lambda hm: hm.v2.create_contact([("Phone!", "1")]), "channels[0].channel_type"),
            (lambda hm: hm.v2.create_contact([("email", "nobody")]), "channels[0].channel_id"),
            (lambda hm: hm.v2.create_contact([("sms", "  ")]), "channels[0].channel_id"),
            (lambda hm: hm.v2.create_contact("15105553344"), "channels"),
            (lambda hm: hm.v2.create_contact([("phone", "15105553344")], tags=[0]), "tags[0]"),
            (lambda hm: hm.v2.create_contact([("sms", "\ud800")]), "channels[0].channel_id"),
            (lambda hm: hm.v2.create_contact([("phone", "15105553344")], last="\ud800"), "last"),
            (lambda hm: hm.v2.create_contact([("phone", "15105553344")], tags=[2**63]), "tags[0]"),
            (lambda hm: hm.v2.list_contacts(limit=0), "limit"),
            (lambda hm: hm.v2.list_contacts(page=2**64), "page"),
            (lambda hm: hm.v2.search_contacts("a@b.c", "\ud800"), "values[1]"),
            (lambda hm: hm.v2.list_contacts(limit=101), "limit"),
            (lambda hm: hm.v2.list_contacts(limit=True), "limit"),
            (lambda hm: hm.v2.list_contacts(page=-1), "page"),
            (lambda hm: hm.v2.list_contacts(ascending=1), "ascending"),
            (lambda hm: hm.v2.list_contacts(since=datetime(2026, 1, 1)), "since"),
            (lambda hm: hm.v2.search_contacts(), "values"),
            (lambda hm: hm.v2.search_contacts(""), "values[0]"),
            (lambda hm: hm.v2.search_contacts(15105553344), "values[0]"),
            (lambda hm: hm.v2.search_contacts("+1 555"), "values[0]"),
            (lambda hm: hm.v2.search_contacts("x@y.z", channel_type="phone"), "values[0]"),
            (lambda hm: hm.v2.search_contacts("x", channel_type="E-Mail"), "channel_type"),
            (lambda hm: hm.v2.add_channel(1, "phone", "15105553344"), "contact_uuid"),
            (lambda hm: hm.v2.add_channel(_docs.DOCS_UUID, "", "x"), "channel_type"),
            (lambda hm: hm.v2.add_channel(_docs.DOCS_UUID, "phone", "12"), "channel_id"),
        ],
    )
    async def test_rejects_and_sends_nothing(
        self, wire: WireServer, client: HeymarketClient, call: Any, field: str
    ) -> None:
        with pytest.raises(InvalidRequestError) as info:
            await call(client)
        assert info.value.field == field
        assert wire.requests == []


# -- the rest of the v2 API ---------------------------------------------------------------------
# No example bodies are published for these; the shapes are those of heymarket-facts.md.

OTHER_UUID = "b2c3d4e5-f6a7-8901-bcde-f12345678901"


class TestUpdateContact:
    async def test_puts_only_the_given_fields_and_returns_the_whole_contact(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply(V2_CONTACT))
        contact = await client.v2.update_contact(
            uuid.UUID(_docs.DOCS_UUID), first="API", custom={123: "Premium"}, tags=[55]
        )
        assert contact == V2_MODEL
        assert_request(
            wire.last,
            "PUT",
            f"/v2/contact/{_docs.DOCS_UUID}",
            body={"first": "API", "custom": {"123": "Premium"}, "tags": [{"tag_id": 55}]},
        )


class TestDeleteContact:
    async def test_deletes_by_uuid(self, wire: WireServer, client: HeymarketClient) -> None:
        wire.reply(json_reply("ok"))
        assert await client.v2.delete_contact(_docs.DOCS_UUID) is None
        assert_request(wire.last, "DELETE", f"/v2/contact/{_docs.DOCS_UUID}", has_body=False)


class TestUpdateChannel:
    async def test_puts_the_channel_and_returns_the_channels(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply(V2_CONTACT["contact_channels"]))
        channels = await client.v2.update_channel(_docs.DOCS_UUID, "phone", "+1 510 555 3344")
        assert channels == list(V2_MODEL.contact_channels)
        assert_request(
            wire.last,
            "PUT",
            f"/v2/contact/{_docs.DOCS_UUID}/channel",
            body={"channel_type": "phone", "channel_id": "15105553344"},
        )


class TestUpsertContacts:
    async def test_posts_contacts_and_matches_answers_and_failures_to_items(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        failed = {"contact_channels": [{"channel_type": "email", "channel_id": "x@y.z"}]}
        wire.reply(
            json_reply({"contacts": [V2_CONTACT], "failed_contacts": [{**failed, "error": "dup"}]})
        )
        items = [
            {"channels": [("email", "x@y.z")]},
            {"uuid": _docs.DOCS_UUID, "first": "API"},
        ]
        result = await client.v2.upsert_contacts(items)
        assert_request(
            wire.last,
            "POST",
            "/v2/contacts",
            body={
                "contacts": [
                    {"contact_channels": [{"channel_type": "email", "channel_id": "x@y.z"}]},
                    {"uuid": _docs.DOCS_UUID, "first": "API"},
                ]
            },
        )
        assert [i.status for i in result] == [BulkStatus.FAILED, BulkStatus.SUCCEEDED]
        assert result.items[0].reason == "dup"
        assert result.items[1].result == V2_MODEL

    async def test_a_contact_answered_with_unknown_keys_is_paired_in_order(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        # The answer's channel was normalized by the server: no key matches, but one item and
        # one contact are left, so they belong together.
        answered = {**V2_CONTACT, "contact_channels": [], "uuid": OTHER_UUID}
        wire.reply(json_reply({"contacts": [answered], "failed_contacts": []}))
        result = await client.v2.upsert_contacts([{"channels": [("email", "Help@X.com")]}])
        assert result.items[0].status is BulkStatus.SUCCEEDED
        assert result.items[0].result is not None
        assert result.items[0].result.uuid == OTHER_UUID

    async def test_a_contact_that_does_not_fit_is_an_unknown_batch(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"contacts": [{"id": "not a number"}]}))
        result = await client.v2.upsert_contacts([{"channels": [("phone", "15105553344")]}])
        assert result.items[0].status is BulkStatus.UNKNOWN
        assert isinstance(result.items[0].error, InvalidResponseError)


class TestDeleteContacts:
    async def test_sends_the_uuids_in_a_json_body_and_reads_failures(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"failed_contacts": [OTHER_UUID]}))
        result = await client.v2.delete_contacts([_docs.DOCS_UUID, uuid.UUID(OTHER_UUID)])
        assert_request(
            wire.last, "DELETE", "/v2/contacts", body={"contacts": [_docs.DOCS_UUID, OTHER_UUID]}
        )
        assert [i.status for i in result] == [BulkStatus.SUCCEEDED, BulkStatus.FAILED]


class TestNothingIsSentForBadInputToTheRest:
    @pytest.mark.parametrize(
        ("call", "field"),
        [
            (lambda hm: hm.v2.update_contact(98765, first="A"), "contact_uuid"),
            (lambda hm: hm.v2.update_contact(_docs.DOCS_UUID), "fields"),
            (lambda hm: hm.v2.update_contact(_docs.DOCS_UUID, tags=range(6)), "tags"),
            (lambda hm: hm.v2.delete_contact("nope"), "contact_uuid"),
            (lambda hm: hm.v2.update_channel(_docs.DOCS_UUID, "phone", "12"), "channel_id"),
            (lambda hm: hm.v2.upsert_contacts([]), "contacts"),
            (lambda hm: hm.v2.upsert_contacts([{"first": "A"}]), "contacts[0].channels"),
            (lambda hm: hm.v2.upsert_contacts([{"uuid": 5}]), "contacts[0].contact_uuid"),
            (
                lambda hm: hm.v2.upsert_contacts([{"channels": [("phone", "15105553344")]}, "x"]),
                "contacts[1]",
            ),
            (
                # The batches before the bad item are not sent either.
                lambda hm: hm.v2.upsert_contacts(
                    [{"channels": [("sms", f"id{n}")]} for n in range(3)]
                    + [{"uuid": _docs.DOCS_UUID, "first": "\ud800"}],
                    batch_size=2,
                ),
                "contacts[3].first",
            ),
            (lambda hm: hm.v2.delete_contacts([]), "contact_uuids"),
            (lambda hm: hm.v2.delete_contacts([_docs.DOCS_UUID, 42]), "contact_uuids[1]"),
            (lambda hm: hm.v2.delete_contacts([_docs.DOCS_UUID], batch_size=1001), "batch_size"),
        ],
    )
    async def test_raises_before_sending(
        self, wire: WireServer, client: HeymarketClient, call: Any, field: str
    ) -> None:
        with pytest.raises(InvalidRequestError) as caught:
            await call(client)
        assert caught.value.field == field
        assert wire.requests == []
