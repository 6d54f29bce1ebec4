"""Timestamps end to end: what ``since``/``date`` accept, and what a decoded contact writes back.

A timestamp string passes input validation only as RFC 3339 in ASCII digits with its offset,
since it is sent as it is; an aware datetime only when RFC 3339 can write it in UTC. Whatever a
response held is read, and can be written out again (``CONVERTER.unstructure``, the CLI export).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from heymarket_async import HeymarketClient, InvalidRequestError
from heymarket_async._cli._output import contact_line, contact_record
from heymarket_async._convert import CONVERTER, structure_contact
from heymarket_async._sansio import json_loads
from tests._server import WireServer, json_reply

UTC = timezone.utc


class TestSinceInput:
    @pytest.mark.parametrize(
        "since",
        [
            "\u0662\u0660\u0662\u0666-05-07T12:00:00Z",  # Arabic-Indic digits
            "\uff12\uff10\uff12\uff16-05-07T12:00:00Z",  # full-width digits
            "2026-05-07T12:00:00+0530",  # the offset needs its colon
            datetime.min.replace(tzinfo=timezone(timedelta(hours=1))),  # "since forever", local
            datetime.max.replace(tzinfo=timezone(timedelta(hours=-1))),
        ],
    )
    async def test_is_refused_before_sending(
        self, client: HeymarketClient, wire: WireServer, since: datetime | str
    ) -> None:
        wire.reply(json_reply("5"))
        with pytest.raises(InvalidRequestError) as info:
            await client.count_contacts(since=since)
        assert info.value.field == "since"
        with pytest.raises(InvalidRequestError):
            await client.v2.list_contacts(since=since)
        assert wire.requests == []

    @pytest.mark.parametrize(
        ("since", "sent"),
        [
            ("2026-05-07T12:00:00+05:30", "2026-05-07T12:00:00+05:30"),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:60Z"),
            (datetime.min.replace(tzinfo=timezone(timedelta(hours=-1))), "0001-01-01T01:00:00Z"),
        ],
    )
    async def test_rfc_3339_is_sent(
        self, client: HeymarketClient, wire: WireServer, since: datetime | str, sent: str
    ) -> None:
        wire.reply(json_reply("5"))
        assert await client.count_contacts(since=since) == 5
        assert wire.last.json == {"date": sent}


class TestDecodedTimestamps:
    @pytest.mark.parametrize(
        ("stamp", "written"),
        [
            ("0001-01-01T00:30:00+01:00", "0001-01-01T00:00:00Z"),
            ("9999-12-31T23:30:00-01:00", "9999-12-31T23:59:59.999999Z"),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999999Z"),
        ],
    )
    def test_a_contact_read_at_the_edges_is_written_back(self, stamp: str, written: str) -> None:
        contact = structure_contact({"id": 1, "created": stamp, "updated": stamp})
        assert CONVERTER.unstructure(contact)["created"] == written
        assert contact_record(contact)["updated"] == written
        assert json_loads(contact_line(contact))["created"] == written
        assert structure_contact(CONVERTER.unstructure(contact)) == contact

    async def test_a_leap_second_does_not_fail_a_walk(
        self, client: HeymarketClient, wire: WireServer
    ) -> None:
        wire.reply(json_reply([{"id": 1, "uuid": "a", "updated": "2016-12-31T23:59:60Z"}]))
        contacts = [c async for c in client.v2.iter_contacts(page_size=100)]
        assert [c.updated for c in contacts] == [
            datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
        ]
