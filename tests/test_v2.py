"""The v2 endpoints on ``client.v2``: exactly what goes over the wire, and what comes back."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest

from heymarket_async import (
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
            (lambda hm: hm.v2.list_contacts(limit=0), "limit"),
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
