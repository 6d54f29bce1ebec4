"""Inputs as the Heymarket docs write them (issue 14): the wire shapes are accepted wherever the
friendly ones are, with the same checks and the same normalization.

The docs write a channel as ``{"channel_type": "phone", "channel_id": "15105553344"}``, a tag as
``{"tag_id": 55}``, and a v2 create's channels under ``contact_channels``; JSON gives a pair as a
list. The friendly shapes (``ContactChannel``, ``("phone", "...")`` tuples, ints, ``Tag``) are
tested in test_validate.py and keep working.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from heymarket_async import BulkStatus, ContactChannel, HeymarketClient, InvalidRequestError, Tag
from heymarket_async import _validate as check
from tests import _docs
from tests._server import WireServer, json_reply, text_reply
from tests._wirecheck import assert_request

# 01-manage-contacts-guide: the body of the "Create a contact" example, verbatim.
GUIDE_CREATE_V1 = """{
    "phone": "15105553344",
    "first": "Jordan",
    "last": "Rivera",
    "email": "jordan.rivera@example.com",
    "tags": [{"tag_id": 55}, {"tag_id": 56}]
  }"""

PHONE = {"channel_type": "phone", "channel_id": "15105553344"}


def _field_of(fn: Any) -> str:
    with pytest.raises(InvalidRequestError) as info:
        fn()
    return info.value.field


class TestChannelShapes:
    def test_a_docs_channel_object_is_a_channel(self) -> None:
        assert check.channels([PHONE, {"channel_type": "email", "channel_id": " a@b.c "}]) == [
            PHONE,
            {"channel_type": "email", "channel_id": "a@b.c"},
        ]

    def test_a_docs_channel_is_normalized_like_a_pair(self) -> None:
        written = {"channel_type": "phone", "channel_id": "+1 (510) 555-3344"}
        assert check.channels([written]) == check.channels([("phone", "+1 (510) 555-3344")])

    def test_a_json_decoded_pair_is_a_pair(self) -> None:
        decoded = json.loads('[["phone", "+1 510 555 3344"], ["email", "a@b.c"]]')
        assert check.channels(decoded) == [PHONE, {"channel_type": "email", "channel_id": "a@b.c"}]

    def test_every_shape_mixes_in_one_list(self) -> None:
        shapes: list[Any] = [
            ("phone", "15105553344"),
            ["phone", "15105553344"],
            ContactChannel(channel_type="phone", channel_id="15105553344"),
            dict(PHONE),
        ]
        assert check.channels(shapes) == [PHONE] * 4

    @pytest.mark.parametrize(
        ("bad", "field"),
        [
            ([{"channel_type": "phone"}], "channels[0].channel_id"),
            ([{"channel_id": "15105553344"}], "channels[0].channel_type"),
            ([{**PHONE, "primary": True}], "channels[0]"),
            ([{"channel_type": "phone", "channel_id": "555-1234"}], "channels[0].channel_id"),
            ([{"channel_type": "Phone", "channel_id": "15105553344"}], "channels[0].channel_type"),
            ([["phone", "15105553344", "x"]], "channels[0]"),
            ([["phone"]], "channels[0]"),
            ([{"phone": "15105553344"}], "channels[0]"),
        ],
    )
    def test_a_bad_docs_channel_is_refused_naming_the_item(self, bad: object, field: str) -> None:
        assert _field_of(lambda: check.channels(bad)) == field

    def test_an_unknown_key_that_is_an_email_is_masked(self) -> None:
        with pytest.raises(InvalidRequestError) as info:
            check.channels([{**PHONE, "jordan.rivera@example.com": "x"}])
        assert "jordan.rivera" not in str(info.value)


class TestTagShapes:
    def test_a_docs_tag_object_is_a_tag(self) -> None:
        assert check.tags([{"tag_id": 55}, 56, Tag(id=57)]) == [
            {"tag_id": 55},
            {"tag_id": 56},
            {"tag_id": 57},
        ]

    @pytest.mark.parametrize(
        ("bad", "field"),
        [
            ([{"tag_id": 0}], "tags[0]"),
            ([{"tag_id": "55"}], "tags[0]"),
            ([{"tag_id": True}], "tags[0]"),
            ([{"id": 55}], "tags[0]"),
            ([{"tag_id": 55, "name": "VIP"}], "tags[0]"),
            ([{"tag_id": n} for n in range(1, 7)], "tags"),
        ],
    )
    def test_a_bad_docs_tag_is_refused_like_a_bad_id(self, bad: object, field: str) -> None:
        assert _field_of(lambda: check.tags(bad)) == field


class TestBulkItemShapes:
    def test_an_upsert_item_may_key_its_channels_contact_channels(self) -> None:
        item = {"contact_channels": [PHONE], "first": "A", "tags": [{"tag_id": 5}]}
        assert check.v2_bulk_item(item, 0) == {
            "contact_channels": [PHONE],
            "first": "A",
            "tags": [{"tag_id": 5}],
        }

    def test_channels_and_contact_channels_together_are_refused(self) -> None:
        item = {"channels": [PHONE], "contact_channels": [PHONE]}
        assert _field_of(lambda: check.v2_bulk_item(item, 3)) == "contacts[3].contact_channels"

    def test_a_bad_channel_under_contact_channels_names_that_key(self) -> None:
        item = {"contact_channels": [{"channel_type": "phone", "channel_id": "12"}]}
        field = _field_of(lambda: check.v2_bulk_item(item, 1))
        assert field == "contacts[1].contact_channels[0].channel_id"

    def test_a_v1_batch_item_takes_docs_tags(self) -> None:
        item = json.loads(GUIDE_CREATE_V1)
        assert check.v1_batch_item(item, 0)["tags"] == [{"tag_id": 55}, {"tag_id": 56}]


class TestOverTheWire:
    async def test_the_v2_docs_example_body_goes_as_keywords_and_is_sent_as_it_is(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        body = json.loads(_docs.CREATE_V2_REQUEST)
        await client.v2.create_contact(**body)
        assert_request(wire.last, "POST", "/v2/contact", body=body)

    async def test_docs_channels_go_positionally_too(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        await client.v2.create_contact([{"channel_type": "phone", "channel_id": "+15105553344"}])
        assert wire.last.json == {"contact_channels": [PHONE]}

    @pytest.mark.parametrize(
        ("call", "field"),
        [
            (
                lambda hm: hm.v2.create_contact([PHONE], contact_channels=[PHONE]),
                "contact_channels",
            ),
            (lambda hm: hm.v2.create_contact(), "channels"),
            (lambda hm: hm.v2.create_contact(contact_channels=[]), "contact_channels"),
            (
                lambda hm: hm.v2.create_contact(contact_channels=[{"channel_type": "phone"}]),
                "contact_channels[0].channel_id",
            ),
        ],
    )
    async def test_bad_channels_send_nothing(
        self, wire: WireServer, client: HeymarketClient, call: Any, field: str
    ) -> None:
        with pytest.raises(InvalidRequestError) as info:
            await call(client)
        assert info.value.field == field
        assert wire.requests == []

    async def test_the_v1_guide_example_with_docs_tags_is_sent_as_it_is(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(text_reply(_docs.CREATE_RESPONSE))
        body = json.loads(GUIDE_CREATE_V1)
        await client.create_contact(**body)
        assert_request(wire.last, "POST", "/v1/contact", body=body)

    async def test_upsert_items_in_the_docs_shape(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        answered = {"id": 1, "uuid": _docs.DOCS_UUID, "contact_channels": [PHONE]}
        wire.reply(json_reply({"contacts": [answered], "failed_contacts": []}))
        items = [{"contact_channels": [{"channel_type": "phone", "channel_id": "+1 510 555 3344"}]}]
        result = await client.v2.upsert_contacts(items)
        assert wire.last.json == {"contacts": [{"contact_channels": [PHONE]}]}
        assert [i.status for i in result] == [BulkStatus.SUCCEEDED]

    async def test_a_json_decoded_upsert_file_is_sent(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"contacts": [], "failed_contacts": []}))
        items = json.loads('[{"channels": [["phone", "15105553344"]], "tags": [{"tag_id": 7}]}]')
        await client.v2.upsert_contacts(items)
        assert wire.last.json == {
            "contacts": [{"contact_channels": [PHONE], "tags": [{"tag_id": 7}]}]
        }
