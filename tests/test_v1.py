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
    BulkStatus,
    ConcurrentModificationError,
    ConflictError,
    Contact,
    ContactField,
    ContactRef,
    ContactStatus,
    ContactStatusValue,
    HeymarketClient,
    InvalidRequestError,
    InvalidResponseError,
    RetryPolicy,
    ServerError,
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
            # Text and numbers no JSON encoder can send: a lone surrogate, an int past 64 bits.
            (lambda hm: hm.create_contact("15105553344", first="bad \ud800 text"), "first"),
            (lambda hm: hm.create_contact("15105553344", assignee_id=2**64), "assignee_id"),
            (lambda hm: hm.create_contact("15105553344", tags=[2**64]), "tags[0]"),
            (lambda hm: hm.get_contact(2**63), "contact_id"),
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


# -- the rest of the v1 API ---------------------------------------------------------------------
# Heymarket's pages give no example bodies for these endpoints; the shapes below are the ones
# that /work/shared/heymarket-facts.md lists (status, set_status, fields, batch, tags).

STATUS_ANSWER = {"id": 98765, "phone": "15105553344", "unsubscribed": False, "blocked": True}


def _wire_fixture_client(wire: WireServer, **kwargs: Any) -> HeymarketClient:
    return HeymarketClient("test-key-0123456789abcdef", base_url=wire.url, **kwargs)


class TestGetContactStatus:
    async def test_by_id_posts_the_id_and_decodes_the_documented_fields(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply(STATUS_ANSWER))
        status = await client.get_contact_status(98765)
        assert status == ContactStatus(
            id=98765, phone="15105553344", unsubscribed=False, blocked=True
        )
        # The id as a string, as the docs show it for the sibling POST /v1/contact/get.
        assert_request(wire.last, "POST", "/v1/contact/status", body={"id": "98765"})

    async def test_by_phone_posts_the_normalized_phone(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply(STATUS_ANSWER))
        await client.get_contact_status(phone="+1 (510) 555-3344")
        assert_request(wire.last, "POST", "/v1/contact/status", body={"phone": "15105553344"})

    async def test_tolerates_text_ids_and_flags_and_missing_fields(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"id": "98765", "blocked": "true", "extra": 1}))
        status = await client.get_contact_status(98765)
        assert status == ContactStatus(id=98765, blocked=True)

    async def test_a_non_object_answer_is_an_invalid_response(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply("success"))
        with pytest.raises(InvalidResponseError, match="unexpected response shape"):
            await client.get_contact_status(98765)


class TestSetContactStatus:
    @pytest.mark.parametrize("status", list(ContactStatusValue))
    async def test_sends_each_documented_status(
        self, wire: WireServer, client: HeymarketClient, status: ContactStatusValue
    ) -> None:
        wire.reply(json_reply("success"))
        assert await client.set_contact_status(98765, status=status) is None
        assert_request(
            wire.last,
            "POST",
            "/v1/contact/set_status",
            body={"id": "98765", "status": status.value},
        )

    async def test_takes_the_status_as_a_string_and_the_contact_by_phone(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply("success"))
        await client.set_contact_status(phone="15105553344", status="unsubscribed")
        assert wire.last.json == {"phone": "15105553344", "status": "unsubscribed"}

    def test_the_enum_holds_exactly_the_five_documented_statuses(self) -> None:
        assert [s.value for s in ContactStatusValue] == [
            "active",
            "blocked",
            "unblocked",
            "subscribed",
            "unsubscribed",
        ]
        assert str(ContactStatusValue.BLOCKED) == "blocked"


class TestCreateContactFields:
    async def test_posts_titles_and_decodes_the_fields_answered(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"fields": [{"id": 789, "title": "Plan"}]}))
        fields = await client.create_contact_fields(["Plan"])
        assert fields == [ContactField(id=789, name="Plan")]
        assert_request(wire.last, "POST", "/v1/contacts/fields", body=[{"title": "Plan"}])

    @pytest.mark.parametrize("answer", ["ok", "success"])
    async def test_a_bare_word_answer_is_an_empty_list(
        self, wire: WireServer, client: HeymarketClient, answer: str
    ) -> None:
        wire.reply(json_reply(answer))
        assert await client.create_contact_fields(("Plan", "Renewal Date")) == []
        assert wire.last.json == [{"title": "Plan"}, {"title": "Renewal Date"}]

    @pytest.mark.parametrize("answer", ["failed", {"error": "title taken"}])
    async def test_an_answer_that_reads_as_an_error_is_an_invalid_response(
        self, wire: WireServer, client: HeymarketClient, answer: Any
    ) -> None:
        wire.reply(json_reply(answer))
        with pytest.raises(InvalidResponseError, match="may have been applied"):
            await client.create_contact_fields(["Plan"])


class TestBatchCreateContacts:
    async def test_sends_the_array_with_overwrite_and_ok_means_every_item_succeeded(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply("ok"))
        items = [
            {"phone": "+1 510 555 3344", "first": "Ada", "tags": [55]},
            {"phone": "447700900123"},
        ]
        result = await client.batch_create_contacts(items, overwrite=True)
        assert_request(
            wire.last,
            "POST",
            "/v1/batch/contacts",
            query="overwrite=true",
            body=[
                {"phone": "15105553344", "first": "Ada", "tags": [{"tag_id": 55}]},
                {"phone": "447700900123"},
            ],
        )
        assert result.ok
        assert result.batches == 1
        assert [(i.index, i.input, i.status) for i in result] == [
            (0, items[0], BulkStatus.SUCCEEDED),
            (1, items[1], BulkStatus.SUCCEEDED),
        ]

    async def test_failed_contacts_in_the_answer_are_matched_to_items_by_phone(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        failed = {"phone": "447700900123", "error": "invalid email"}
        wire.reply(json_reply([failed]))
        result = await client.batch_create_contacts(
            [{"phone": "15105553344"}, {"phone": "447700900123", "email": "x@y"}]
        )
        assert wire.last.query_string == "overwrite=false"
        assert [i.status for i in result] == [BulkStatus.SUCCEEDED, BulkStatus.FAILED]
        assert result.failed[0].reason == "invalid email"
        assert result.failed[0].detail == failed
        assert not result.ok

    async def test_large_inputs_go_in_batches_in_input_order(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        phones = [f"1510555{n:04d}" for n in range(5)]
        result = await client.batch_create_contacts([{"phone": p} for p in phones], batch_size=2)
        assert [[c["phone"] for c in r.json] for r in wire.requests] == [
            phones[0:2],
            phones[2:4],
            phones[4:],
        ]
        assert [i.index for i in result] == [0, 1, 2, 3, 4]
        assert result.batches == 3


TAG = {"id": 55, "name": "VIP", "color": "#ff0000", "created": "2026-05-07T12:00:00.000Z"}


class TestTags:
    async def test_create_posts_the_name_and_color_and_decodes_the_tag(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply(TAG))
        tag = await client.create_tag("VIP", color="#ff0000")
        assert tag == Tag(
            id=55,
            name="VIP",
            color="#ff0000",
            created=datetime(2026, 5, 7, 12, tzinfo=timezone.utc),
        )
        assert_request(wire.last, "POST", "/v1/tag", body={"name": "VIP", "color": "#ff0000"})

    @pytest.mark.parametrize("answer", [{"tag_id": 55}, {"tag": {"id": 55}}, 55, "55"])
    async def test_create_accepts_an_id_only_answer(
        self, wire: WireServer, client: HeymarketClient, answer: object
    ) -> None:
        wire.reply(json_reply(answer))
        assert (await client.create_tag("VIP")).id == 55
        assert wire.last.json == {"name": "VIP"}

    async def test_get_and_delete_address_the_tag_by_id(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply(TAG), json_reply("ok"))
        assert (await client.get_tag(Tag(id=55))).name == "VIP"
        assert_request(wire.last, "GET", "/v1/tag/55", has_body=False)
        assert await client.delete_tag(55) is None
        assert_request(wire.last, "DELETE", "/v1/tag/55", has_body=False)

    async def test_a_create_that_may_have_been_applied_says_a_tag_may_exist(
        self, wire: WireServer
    ) -> None:
        hm = _wire_fixture_client(wire, retry=RetryPolicy(max_retries=3, backoff_base=0.0))
        wire.reply(json_reply({"error": "boom"}, status=500))
        try:
            with pytest.raises(ServerError, match="may have been applied") as caught:
                await hm.create_tag("VIP")
        finally:
            await hm.close()
        assert len(wire.requests) == 1
        assert any("tag may have been created" in n for n in caught.value.__notes__)

    @pytest.mark.parametrize("shape", ["array", "object"])
    async def test_list_sends_the_date_cursor_and_reads_either_shape(
        self, wire: WireServer, client: HeymarketClient, shape: str
    ) -> None:
        wire.reply(json_reply([TAG] if shape == "array" else {"tags": [TAG]}))
        tags = await client.list_tags(date="2026-05-08T00:00:00.000Z")
        assert [t.id for t in tags] == [55]
        assert_request(wire.last, "POST", "/v1/tags", body={"date": "2026-05-08T00:00:00.000Z"})


READ_CONTACT = {
    "id": 98765,
    "phone": "15105553344",
    "first": "API",
    "last": "Contact",
    "display_name": "API Contact",
    "email": "help@heymarket.com",
    "custom": {"123": "Basic"},
    "tags": [{"tag_id": 55}],
    "assigned_user_id": 7,
    "is_opted_out": False,
    "rev": 4,
}


class TestPatchContact:
    async def test_reads_then_writes_the_current_fields_with_the_changes(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply(READ_CONTACT), json_reply({"id": 98765, "rev": 5, "uuid": "u"}))
        ref = await client.patch_contact(98765, email="new@example.com", custom={123: "Premium"})
        assert ref == ContactRef(id=98765, rev=5, uuid="u")
        get, put = wire.requests
        assert_request(get, "GET", "/v1/contact/98765", has_body=False)
        assert_request(
            put,
            "PUT",
            "/v1/contact/98765",
            query="overwrite=false",
            body={
                "phone": "15105553344",
                "first": "API",
                "last": "Contact",
                "display_name": "API Contact",
                "email": "new@example.com",
                "assignee_id": 7,
                "tags": [{"tag_id": 55}],
                "is_opted_out": False,
                "custom": {"123": "Premium"},
            },
        )

    async def test_a_rev_that_moved_by_more_than_one_is_a_concurrent_modification(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply(READ_CONTACT), json_reply({"id": 98765, "rev": 6}))
        with pytest.raises(ConcurrentModificationError) as caught:
            await client.patch_contact(98765, first="Jordan")
        exc = caught.value
        assert isinstance(exc, ConflictError)
        assert (exc.contact_id, exc.read_rev, exc.written_rev) == (98765, 4, 6)
        assert exc.before is not None
        assert exc.before.first == "API"
        assert exc.ref == ContactRef(id=98765, rev=6)
        assert "read at rev 4, the write made rev 6 (expected 5)" in str(exc)
        assert exc.url == f"{wire.url}/v1/contact/98765"

    async def test_without_a_rev_no_check_can_be_made(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        read = {k: v for k, v in READ_CONTACT.items() if k != "rev"}
        wire.reply(json_reply(read), json_reply({"id": 98765, "rev": 9}))
        assert (await client.patch_contact(98765, first="Jordan")).rev == 9

    async def test_a_write_that_may_have_been_applied_is_not_repeated(
        self, wire: WireServer
    ) -> None:
        hm = _wire_fixture_client(wire, retry=RetryPolicy(max_retries=3, backoff_base=0.0))
        wire.reply(json_reply(READ_CONTACT), json_reply({"error": "boom"}, status=503))
        try:
            with pytest.raises(ServerError, match="may have been applied") as caught:
                await hm.patch_contact(98765, first="Jordan")
        finally:
            await hm.close()
        assert [r.method for r in wire.requests] == ["GET", "PUT"]
        assert any("contact may have been updated" in n for n in caught.value.__notes__)

    async def test_a_contact_without_a_phone_needs_one_in_the_changes(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"id": 98765, "rev": 1}))
        with pytest.raises(InvalidRequestError, match="phone"):
            await client.patch_contact(98765, first="Jordan")
        assert len(wire.requests) == 1  # the read only


class TestNothingIsSentForBadInputToTheRest:
    @pytest.mark.parametrize(
        ("call", "field"),
        [
            (lambda hm: hm.get_contact_status(), "contact_id"),
            (lambda hm: hm.get_contact_status(1, phone="15105553344"), "contact_id"),
            (lambda hm: hm.set_contact_status(1, status="paused"), "status"),
            (lambda hm: hm.set_contact_status(status="blocked"), "contact_id"),
            (lambda hm: hm.create_contact_fields("Plan"), "titles"),
            (lambda hm: hm.create_contact_fields([]), "titles"),
            (lambda hm: hm.create_contact_fields(["Plan", 7]), "titles[1]"),
            (lambda hm: hm.create_contact_fields([" "]), "titles[0]"),
            (lambda hm: hm.batch_create_contacts([]), "contacts"),
            (lambda hm: hm.batch_create_contacts({"phone": "15105553344"}), "contacts"),
            (
                lambda hm: hm.batch_create_contacts(
                    [{"phone": "15105553344"}, {"phone": "15105553345", "tags": [1, 2, 3, 4, 5, 6]}]
                ),
                "contacts[1].tags",
            ),
            (lambda hm: hm.batch_create_contacts([{"first": "Ada"}]), "contacts[0].phone"),
            (lambda hm: hm.batch_create_contacts([{"phone": "1"}]), "contacts[0].phone"),
            (
                lambda hm: hm.batch_create_contacts([{"phone": "15105553344", "nick": "A"}]),
                "contacts[0]",
            ),
            (
                lambda hm: hm.batch_create_contacts([{"phone": "15105553344"}], batch_size=0),
                "batch_size",
            ),
            (
                # The batches before the bad item are not sent either.
                lambda hm: hm.batch_create_contacts(
                    [
                        *({"phone": f"1510555{n:04d}"} for n in range(3)),
                        {"phone": "15105550003", "first": "\udcff"},
                    ],
                    batch_size=2,
                ),
                "contacts[3].first",
            ),
            (lambda hm: hm.create_contact_fields(["Plan", "\ud800"]), "titles[1]"),
            (lambda hm: hm.create_tag(""), "name"),
            (lambda hm: hm.create_tag("VIP \ud800"), "name"),
            (lambda hm: hm.get_tag(2**64), "tag_id"),
            (lambda hm: hm.get_tag(0), "tag_id"),
            (lambda hm: hm.delete_tag("55"), "tag_id"),
            (lambda hm: hm.list_tags(date="yesterday"), "date"),
            (lambda hm: hm.patch_contact(98765), "changes"),
            (lambda hm: hm.patch_contact(98765, nickname="A"), "nickname"),
            (lambda hm: hm.patch_contact(98765, tags=[1, 2, 3, 4, 5, 6]), "tags"),
            (lambda hm: hm.patch_contact("98765", first="A"), "contact_id"),
        ],
    )
    async def test_raises_before_sending(
        self, wire: WireServer, client: HeymarketClient, call: Any, field: str
    ) -> None:
        with pytest.raises(InvalidRequestError) as caught:
            await call(client)
        assert caught.value.field == field
        assert wire.requests == []
