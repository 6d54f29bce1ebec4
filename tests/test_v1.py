"""The v1 endpoints: exactly what goes over the wire, and what comes back.

Every answer is one of Heymarket's documented examples, served verbatim by a loopback server.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from heymarket_async import (
    UNASSIGN,
    Contact,
    ContactField,
    ContactRef,
    HeymarketClient,
    InvalidRequestError,
    InvalidResponseError,
    Tag,
)
from tests import _docs
from tests._server import WireServer, json_reply, text_reply
from tests._wirecheck import assert_request

DOCS_CONTACT = Contact(
    id=98765,
    display_name="API Contact",
    first="API",
    last="Contact",
    email="help@heymarket.com",
    phone="15105553344",
    is_opted_out=False,
)
DOCS_REF = ContactRef(id=98765, rev=1, uuid=_docs.DOCS_UUID)


class TestCreateContact:
    async def test_sends_the_documented_example_body_and_returns_the_documented_ref(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        ref = await client.create_contact(
            "15105553344",
            first="API",
            last="Contact",
            display_name="API Contact",
            email="help@heymarket.com",
            is_opted_out=False,
        )
        assert ref == DOCS_REF
        assert_request(wire.last, "POST", "/v1/contact", body=_docs_json(_docs.CREATE_V1_REQUEST))

    async def test_sends_only_the_phone_when_nothing_else_is_given(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        await client.create_contact("+1 (510) 555-3344")
        assert_request(wire.last, "POST", "/v1/contact", body={"phone": "15105553344"})

    async def test_sends_every_field_in_its_wire_form(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        await client.create_contact(
            "15105553344",
            first="Jordan",
            last="Rivera",
            display_name="Jordan R.",
            email="jordan.rivera@example.com",
            custom={123: "Premium", "456": date(2024, 1, 15), 789: 42},
            avatar="https://example.com/a.png",
            assignee_id=UNASSIGN,
            tags=[55, Tag(id=56, name="vip")],
            is_opted_out=True,
        )
        assert wire.last.json == {
            "phone": "15105553344",
            "first": "Jordan",
            "last": "Rivera",
            "display_name": "Jordan R.",
            "email": "jordan.rivera@example.com",
            "custom": {"123": "Premium", "456": "2024-01-15", "789": "42"},
            "avatar": "https://example.com/a.png",
            "assignee_id": -1,
            "tags": [{"tag_id": 55}, {"tag_id": 56}],
            "is_opted_out": True,
        }

    async def test_sends_none_as_an_explicit_null(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        await client.create_contact(
            "15105553344", email=None, custom=None, tags=None, assignee_id=None, is_opted_out=None
        )
        assert wire.last.json == {
            "phone": "15105553344",
            "email": None,
            "custom": None,
            "tags": None,
            "assignee_id": None,
            "is_opted_out": None,
        }

    async def test_accepts_a_create_answer_without_uuid(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"id": 98765, "rev": 1}))
        assert await client.create_contact("15105553344") == ContactRef(id=98765, rev=1)


class TestGetContact:
    async def test_gets_by_integer_id_and_decodes_the_documented_contact(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.GET_CONTACT_98765))
        contact = await client.get_contact(98765)
        assert contact == DOCS_CONTACT
        assert_request(wire.last, "GET", "/v1/contact/98765", has_body=False)


class TestGetContactByPhone:
    async def test_posts_the_normalized_phone(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.GET_CONTACT_98765))
        contact = await client.get_contact_by_phone("+1 510-555-3344")
        assert contact == DOCS_CONTACT
        assert_request(wire.last, "POST", "/v1/contact/get", body={"phone": "15105553344"})


class TestUpdateContact:
    async def test_sends_the_documented_update_with_overwrite_false_by_default(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        ref = await client.update_contact(
            98765, "15105553344", first="Jordan", custom={"123": "Premium", "456": "2024-01-15"}
        )
        assert ref == DOCS_REF
        assert_request(
            wire.last,
            "PUT",
            "/v1/contact/98765",
            query="overwrite=false",
            body=_docs_json(_docs.UPDATE_REQUEST),
        )

    async def test_sends_overwrite_true_when_asked(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        await client.update_contact(98765, "15105553344", custom={}, overwrite=True)
        assert_request(
            wire.last,
            "PUT",
            "/v1/contact/98765",
            query="overwrite=true",
            body={"phone": "15105553344", "custom": {}},
        )

    async def test_sends_every_optional_field_given(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        await client.update_contact(
            98765,
            "15105553344",
            first="A",
            last="B",
            display_name="C",
            email="d@example.com",
            avatar=None,
            assignee_id=7,
            tags=[1],
            is_opted_out=False,
        )
        assert wire.last.json == {
            "phone": "15105553344",
            "first": "A",
            "last": "B",
            "display_name": "C",
            "email": "d@example.com",
            "avatar": None,
            "assignee_id": 7,
            "tags": [{"tag_id": 1}],
            "is_opted_out": False,
        }


class TestDeleteContact:
    async def test_deletes_by_id_and_accepts_the_documented_ok(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply('"ok"'))
        assert await client.delete_contact(98765) is None
        assert_request(wire.last, "DELETE", "/v1/contact/98765", has_body=False)

    @pytest.mark.parametrize("body", [b"", b"{}", b'"success"'])
    async def test_accepts_any_json_or_an_empty_body(
        self, wire: WireServer, client: HeymarketClient, body: bytes
    ) -> None:
        wire.reply(text_reply(body.decode()))
        assert await client.delete_contact(1) is None


class TestListContacts:
    async def test_first_page_posts_an_empty_object(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply([]))
        assert await client.list_contacts() == []
        assert_request(wire.last, "POST", "/v1/contacts", body={})

    async def test_a_string_date_is_sent_exactly_as_given(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply([]))
        await client.list_contacts(date="2024-06-01T12:00:00Z")
        assert_request(wire.last, "POST", "/v1/contacts", body={"date": "2024-06-01T12:00:00Z"})
        wire.reply(json_reply([]))
        await client.list_contacts(date="2026-05-07T12:00:00.000+02:00")
        assert wire.last.json == {"date": "2026-05-07T12:00:00.000+02:00"}

    async def test_a_datetime_date_is_sent_in_utc_with_z(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply([]))
        paris = timezone(timedelta(hours=2))
        await client.list_contacts(date=datetime(2026, 4, 1, 2, 0, tzinfo=paris))
        assert wire.last.json == {"date": "2026-04-01T00:00:00Z"}

    async def test_decodes_a_bare_array_of_contacts(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        page = "[" + _docs.GET_CONTACT_98765 + ', {"id": 2, "updated": "2026-04-12T15:30:00Z"}]'
        wire.reply(text_reply(page))
        contacts = await client.list_contacts()
        assert contacts == [
            DOCS_CONTACT,
            Contact(id=2, updated=datetime(2026, 4, 12, 15, 30, tzinfo=timezone.utc)),
        ]

    async def test_an_object_instead_of_an_array_is_an_invalid_response(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"contacts": []}, **{"X-Request-Id": "rid-9"}))
        with pytest.raises(InvalidResponseError) as info:
            await client.list_contacts()
        assert info.value.status == 200
        assert info.value.request_id == "rid-9"
        assert info.value.text == '{"contacts": []}'


class TestCountContacts:
    async def test_posts_an_empty_object_and_decodes_the_documented_string(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.COUNT_RESPONSE))
        assert await client.count_contacts() == 1042
        assert_request(wire.last, "POST", "/v1/contacts/count", body={})

    async def test_since_is_sent_as_date(self, wire: WireServer, client: HeymarketClient) -> None:
        wire.reply(text_reply(_docs.COUNT_RESPONSE))
        since = datetime(2026, 4, 1, tzinfo=timezone.utc)
        assert await client.count_contacts(since=since) == 1042
        assert_request(
            wire.last, "POST", "/v1/contacts/count", body={"date": "2026-04-01T00:00:00Z"}
        )

    @pytest.mark.parametrize("body", ['"1042"', "1042", '{"count": 1042}', '{"count": "1042"}'])
    async def test_accepts_every_count_shape(
        self, wire: WireServer, client: HeymarketClient, body: str
    ) -> None:
        wire.reply(text_reply(body))
        assert await client.count_contacts() == 1042


class TestListContactFields:
    async def test_posts_without_a_body_and_decodes_the_documented_fields(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CONTACT_FIELDS_RESPONSE))
        fields = await client.list_contact_fields()
        assert fields == [
            ContactField(id=123, name="Plan"),
            ContactField(id=456, name="Renewal Date"),
        ]
        # The docs send no body; an empty JSON object keeps the content type honest.
        assert_request(wire.last, "POST", "/v1/contact-fields", body={})


class TestNothingIsSentForBadInput:
    """Every v1 method checks its input before building a request."""

    @pytest.mark.parametrize(
        ("call", "field"),
        [
            (lambda hm: hm.create_contact("5551234"), "phone"),
            (lambda hm: hm.create_contact("15105553344", tags=[1, 2, 3, 4, 5, 6]), "tags"),
            (lambda hm: hm.create_contact("15105553344", custom={"plan": "x"}), "custom"),
            (lambda hm: hm.create_contact("15105553344", first=5), "first"),
            (lambda hm: hm.create_contact("15105553344", is_opted_out="no"), "is_opted_out"),
            (lambda hm: hm.create_contact("15105553344", assignee_id=0), "assignee_id"),
            (lambda hm: hm.get_contact("98765"), "contact_id"),
            (lambda hm: hm.get_contact(uuid.UUID(_docs.DOCS_UUID)), "contact_id"),
            (lambda hm: hm.get_contact(0), "contact_id"),
            (lambda hm: hm.get_contact_by_phone("call me"), "phone"),
            (lambda hm: hm.update_contact(-1, "15105553344"), "contact_id"),
            (lambda hm: hm.update_contact(1, "15105553344", overwrite="yes"), "overwrite"),
            (lambda hm: hm.update_contact(1, "1510555334"), "phone"),
            (lambda hm: hm.delete_contact(True), "contact_id"),
            (lambda hm: hm.list_contacts(date=datetime(2026, 4, 1)), "date"),
            (lambda hm: hm.list_contacts(date="yesterday"), "date"),
            (lambda hm: hm.count_contacts(since=datetime(2026, 4, 1)), "since"),
            (lambda hm: hm.count_contacts(since=1712000000), "since"),
        ],
    )
    async def test_rejects_and_sends_nothing(
        self, wire: WireServer, client: HeymarketClient, call: Any, field: str
    ) -> None:
        with pytest.raises(InvalidRequestError) as info:
            await call(client)
        assert info.value.field == field
        assert wire.requests == []


def _docs_json(text: str) -> Any:
    import json

    return json.loads(text)
