"""FakeHeymarket over loopback: every endpoint against the docs' examples, every switch."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _fake_http import Raw, has_ipv6_loopback
from aiohttp import web

from heymarket_async import (
    BadRequestError,
    ConcurrentModificationError,
    Contact,
    ContactChannel,
    ContactField,
    ContactRef,
    ContactStatusValue,
    NotFoundError,
    RetryPolicy,
)
from heymarket_async.testing import FakeClock, FakeHeymarket, RecordedRequest
from heymarket_async.testing._server import listening_url

T0 = datetime(2026, 5, 7, 12, 0, 0, 123456, tzinfo=timezone.utc)
DOCS_CONTACT = {
    "phone": "15105553344",
    "first": "API",
    "last": "Contact",
    "display_name": "API Contact",
    "email": "help@heymarket.com",
    "is_opted_out": False,
}


def frozen(**options: Any) -> dict[str, Any]:
    return {"clock": FakeClock(T0, frozen=True), **options}


class TestLifecycle:
    async def test_url_is_loopback_with_a_random_port(self, fake: FakeHeymarket) -> None:
        assert fake.url.startswith("http://127.0.0.1:")
        assert fake.port > 0
        assert repr(fake) == f"FakeHeymarket({fake.url}, 0 contacts)"

    @pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
    async def test_an_ipv6_host_gives_a_bracketed_url_the_client_takes(self) -> None:
        async with FakeHeymarket(host="::1") as fake:
            assert fake.url == f"http://[::1]:{fake.port}"
            async with fake.client() as hm:
                assert await hm.count_contacts() == 0

    def test_a_host_listening_on_both_families_is_reached_by_its_ipv4_address(self) -> None:
        # "localhost" may resolve to ::1 and 127.0.0.1, and the site listens on both.
        both = [("::1", 8787, 0, 0), ("127.0.0.1", 8787)]
        assert listening_url(both) == ("http://127.0.0.1:8787", 8787)
        assert listening_url(both[:1]) == ("http://[::1]:8787", 8787)

    def test_url_before_start_is_an_error(self) -> None:
        with pytest.raises(RuntimeError, match="not started"):
            _ = FakeHeymarket().url

    async def test_start_and_close_without_async_with(self) -> None:
        fake = FakeHeymarket()
        assert await fake.start() is fake
        assert await fake.start() is fake  # idempotent
        client = fake.client()
        await client.count_contacts()
        await fake.close()
        assert client.closed, "the fake closes the clients it made"
        await fake.close()  # twice is fine

    async def test_a_port_in_use_leaves_nothing_set_up(
        self, fake: FakeHeymarket, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cleaned: list[web.AppRunner] = []
        cleanup = web.AppRunner.cleanup

        async def spy(runner: web.AppRunner) -> None:
            cleaned.append(runner)
            await cleanup(runner)

        monkeypatch.setattr(web.AppRunner, "cleanup", spy)
        second = FakeHeymarket(port=fake.port)
        with pytest.raises(OSError, match="in use"):
            await second.start()
        assert len(cleaned) == 1
        await second.close()  # still fine
        assert len(cleaned) == 1

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"v1_order": "sideways"}, "v1_order"),
            ({"secret_id": "x"}, "together"),
            ({"api_key": None}, "api_key"),
            ({"v1_page_size": 0}, "v1_page_size"),
            ({"v2_default_limit": 101}, "v2_default_limit"),
            ({"v2_default_limit": 20, "v2_max_limit": 10}, "v2_default_limit"),
            ({"timestamp_format": "days"}, "timestamp_format"),
        ],
    )
    def test_bad_options_are_rejected(self, options: dict[str, Any], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            FakeHeymarket(**options)

    async def test_every_answer_has_a_request_id(self, raw: Raw) -> None:
        ids = set()
        for method, path in [("POST", "/v1/contacts"), ("GET", "/v1/contact/1"), ("GET", "/x")]:
            answer = await raw(method, path)
            ids.add(answer.headers["X-Request-Id"])
        assert len(ids) == 3

    async def test_unknown_route_is_a_json_404(self, raw: Raw) -> None:
        answer = await raw("GET", "/v3/nothing")
        assert answer.status == 404
        assert answer.json["error"] == "not_found"


class TestV1Create:
    @pytest.mark.parametrize("fake_options", [frozen()])
    async def test_docs_example(self, raw: Raw, fake: FakeHeymarket) -> None:
        answer = await raw("POST", "/v1/contact", DOCS_CONTACT)
        assert answer.status == 200
        assert set(answer.json) == {"id", "rev", "uuid"}
        assert answer.json["rev"] == 1
        stored = fake.contacts[answer.json["id"]]
        assert {k: stored[k] for k in DOCS_CONTACT} == DOCS_CONTACT
        assert stored["uuid"] == answer.json["uuid"]
        assert stored["created"] == stored["updated"] == "2026-05-07T12:00:00.123Z"
        assert stored["contact_channels"] == [
            {"channel_type": "phone", "channel_id": "15105553344"},
            {"channel_type": "email", "channel_id": "help@heymarket.com"},
        ]

    async def test_guide_example_with_tags_and_custom(self, raw: Raw, fake: FakeHeymarket) -> None:
        body = {
            "phone": "15105553344",
            "first": "Jordan",
            "last": "Rivera",
            "email": "jordan.rivera@example.com",
            "tags": [{"tag_id": 55}, {"tag_id": 56}],
            "custom": {"123": "Premium", "456": "2024-01-15"},
            "assignee_id": 7,
        }
        answer = await raw("POST", "/v1/contact", body)
        stored = fake.contacts[answer.json["id"]]
        assert stored["tags"] == body["tags"]
        assert stored["custom"] == body["custom"]
        assert stored["display_name"] == "Jordan Rivera", "defaults to first + last"
        assert stored["assigned_user_id"] == 7

    async def test_ids_count_up_and_uuids_differ(self, raw: Raw) -> None:
        a = (await raw("POST", "/v1/contact", {"phone": "15105553344"})).json
        b = (await raw("POST", "/v1/contact", {"phone": "15105553345"})).json
        assert b["id"] == a["id"] + 1
        assert a["uuid"] != b["uuid"]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"first": "x"}, "phone is required"),
            ({"phone": "+15105553344"}, "E.164"),
            ({"phone": "05105553344"}, "E.164"),
            ({"phone": "1510555334x"}, "E.164"),
            ({"phone": "1510555334"}, "11 digits"),
            ({"phone": "15105553344", "tags": [{"tag_id": i} for i in range(6)]}, "at most 5"),
            ({"phone": "15105553344", "tags": [55]}, "tag_id"),
            ({"phone": "15105553344", "custom": {"Plan": "x"}}, "numeric field id"),
            ({"phone": "15105553344", "custom": {"123": 5}}, "string"),
            ({"phone": "15105553344", "first": 5}, "first"),
            ({"phone": "15105553344", "is_opted_out": "no"}, "boolean"),
            ({"phone": "15105553344", "assignee_id": "7"}, "integer"),
        ],
    )
    async def test_bad_data_is_400_with_a_json_body(
        self, raw: Raw, fake: FakeHeymarket, body: dict[str, Any], message: str
    ) -> None:
        answer = await raw("POST", "/v1/contact", body)
        assert answer.status == 400
        assert answer.json["error"] == "bad_data"
        assert message in answer.json["message"]
        assert len(fake.contacts) == 0

    @pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b'"x"'])
    async def test_malformed_or_non_object_json_is_400(self, raw: Raw, data: bytes) -> None:
        answer = await raw("POST", "/v1/contact", data=data)
        assert answer.status == 400
        assert answer.json["error"] == "bad_data"

    async def test_unassign_with_minus_one(self, raw: Raw, fake: FakeHeymarket) -> None:
        answer = await raw("POST", "/v1/contact", {"phone": "15105553344", "assignee_id": -1})
        assert fake.contacts[answer.json["id"]]["assigned_user_id"] is None


class TestV1Get:
    async def test_docs_example_shape(self, raw: Raw, fake: FakeHeymarket) -> None:
        created = fake.add_contact(id=98765, **DOCS_CONTACT)
        answer = await raw("GET", "/v1/contact/98765")
        assert answer.status == 200
        assert answer.json == created
        assert {k: answer.json[k] for k in DOCS_CONTACT} == DOCS_CONTACT
        assert answer.json["id"] == 98765

    @pytest.mark.parametrize("path", ["/v1/contact/1", "/v1/contact/abc", "/v1/contact/-1"])
    async def test_unknown_id_is_404(self, raw: Raw, path: str) -> None:
        answer = await raw("GET", path)
        assert answer.status == 404
        assert answer.json == {"error": "not_found", "message": answer.json["message"]}


class TestV1GetBy:
    async def test_by_phone_by_id_and_phone_wins(self, raw: Raw, fake: FakeHeymarket) -> None:
        a = fake.add_contact(phone="15105553344")
        b = fake.add_contact(phone="15105553345")
        by_phone = await raw("POST", "/v1/contact/get", {"phone": "15105553344"})
        assert by_phone.json["id"] == a["id"]
        by_id = await raw("POST", "/v1/contact/get", {"id": str(b["id"])})
        assert by_id.json["id"] == b["id"]
        both = await raw("POST", "/v1/contact/get", {"phone": "15105553344", "id": str(b["id"])})
        assert both.json["id"] == a["id"]

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            ({}, 400),
            ({"phone": "555"}, 400),
            ({"id": "x1"}, 400),
            ({"phone": "15105550000"}, 404),
            ({"id": "424242"}, 404),
        ],
    )
    async def test_errors(self, raw: Raw, body: dict[str, Any], status: int) -> None:
        assert (await raw("POST", "/v1/contact/get", body)).status == status


class TestV1Update:
    async def test_docs_example_merges_custom_by_default(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        c = fake.add_contact(phone="15105553344", first="Old", custom={"123": "Free", "789": "k"})
        body = {"phone": "15105553344", "first": "Jordan", "custom": {"123": "Premium"}}
        answer = await raw("PUT", f"/v1/contact/{c['id']}", body)
        assert answer.json == {"id": c["id"], "rev": 2, "uuid": c["uuid"]}
        stored = fake.contacts[c["id"]]
        assert stored["custom"] == {"123": "Premium", "789": "k"}
        assert stored["first"] == "Jordan"

    async def test_overwrite_true_replaces_custom(self, raw: Raw, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344", custom={"123": "Free", "789": "k"})
        body = {"phone": "15105553344", "custom": {"456": "2024-01-15"}}
        await raw("PUT", f"/v1/contact/{c['id']}?overwrite=true", body)
        assert fake.contacts[c["id"]]["custom"] == {"456": "2024-01-15"}

    @pytest.mark.parametrize("fake_options", [frozen()])
    async def test_every_write_bumps_rev_and_updated(self, raw: Raw, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344")
        for rev in (2, 3):
            fake.clock.advance(1.5)
            answer = await raw("PUT", f"/v1/contact/{c['id']}", {"phone": "15105553344"})
            assert answer.json["rev"] == rev
        stored = fake.contacts[c["id"]]
        assert stored["updated"] == "2026-05-07T12:00:03.123Z"
        assert stored["created"] == c["created"]

    async def test_a_new_phone_replaces_the_phone_channel(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        c = fake.add_contact(phone="15105553344")
        await raw("PUT", f"/v1/contact/{c['id']}", {"phone": "15105550001"})
        found = await raw("POST", "/v1/contact/get", {"phone": "15105550001"})
        assert found.json["id"] == c["id"]
        assert (await raw("POST", "/v1/contact/get", {"phone": "15105553344"})).status == 404

    async def test_errors(self, raw: Raw, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344")
        assert (await raw("PUT", f"/v1/contact/{c['id']}", {"first": "x"})).status == 400
        bad = await raw("PUT", f"/v1/contact/{c['id']}?overwrite=maybe", {"phone": "15105553344"})
        assert bad.status == 400
        assert (await raw("PUT", "/v1/contact/999", {"phone": "15105553344"})).status == 404
        assert fake.contacts[c["id"]]["rev"] == 1


class TestV1Delete:
    async def test_delete_answers_ok_then_404(self, raw: Raw, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344")
        answer = await raw("DELETE", f"/v1/contact/{c['id']}")
        assert (answer.status, answer.json) == (200, "ok")
        assert c["id"] not in fake.contacts
        assert (await raw("DELETE", f"/v1/contact/{c['id']}")).status == 404
        assert (await raw("GET", f"/v1/contact/{c['id']}")).status == 404

    async def test_deleting_a_seeded_contact(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(10)
        phone = fake.contacts[4]["phone"]
        assert (await raw("DELETE", "/v1/contact/4")).status == 200
        assert (await raw("POST", "/v1/contact/get", {"phone": phone})).status == 404
        assert (await raw("POST", "/v1/contacts/count", {})).json == "9"


def ids(answer_json: list[dict[str, Any]]) -> list[int]:
    return [c["id"] for c in answer_json]


def add_sequence(fake: FakeHeymarket, times: list[int]) -> list[dict[str, Any]]:
    """Contacts with ``updated`` = T0 + t seconds, in the order given."""
    return [
        fake.add_contact(phone=f"1510555{i:04d}", updated=T0 + timedelta(seconds=t))
        for i, t in enumerate(times)
    ]


class TestV1List:
    async def test_first_page_is_30_newest_first_as_a_bare_array(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(45)
        answer = await raw("POST", "/v1/contacts", {})
        assert isinstance(answer.json, list)
        assert ids(answer.json) == list(range(45, 15, -1))

    async def test_no_body_is_the_first_page(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(3)
        assert ids((await raw("POST", "/v1/contacts")).json) == [3, 2, 1]

    @pytest.mark.parametrize(
        ("fake_options", "expected"),
        [
            ({"v1_order": "newest_first", "v1_cursor_inclusive": False}, [2, 1]),
            ({"v1_order": "newest_first", "v1_cursor_inclusive": True}, [4, 3, 2, 1]),
            ({"v1_order": "oldest_first", "v1_cursor_inclusive": False}, [5, 6]),
            ({"v1_order": "oldest_first", "v1_cursor_inclusive": True}, [3, 4, 5, 6]),
        ],
    )
    async def test_order_and_inclusivity_around_a_tie(
        self, raw: Raw, fake: FakeHeymarket, expected: list[int]
    ) -> None:
        # ids 3 and 4 share the cursor value; ties are ordered by id in both directions.
        add_sequence(fake, [0, 1, 2, 2, 3, 4])
        cursor = fake.contacts[3]["updated"]
        answer = await raw("POST", "/v1/contacts", {"date": cursor})
        assert ids(answer.json) == expected

    @pytest.mark.parametrize("fake_options", [{"v1_order": "oldest_first"}])
    async def test_oldest_first_first_page(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(40)
        assert ids((await raw("POST", "/v1/contacts", {})).json) == list(range(1, 31))

    @pytest.mark.parametrize(
        "fake_options",
        [
            {"v1_order": o, "v1_cursor_inclusive": i, "v1_page_size": 7}
            for o in ("newest_first", "oldest_first")
            for i in (False, True)
        ],
    )
    async def test_walking_the_cursor_on_distinct_times_sees_every_contact(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(50)
        seen: list[int] = []
        body: dict[str, Any] = {}
        while True:
            page = (await raw("POST", "/v1/contacts", body)).json
            new = [c["id"] for c in page if c["id"] not in seen]
            seen += new
            if len(page) < 7 or not new:
                break
            body = {"date": page[-1]["updated"]}
        assert sorted(seen) == list(range(1, 51))

    async def test_a_bad_date_is_400(self, raw: Raw) -> None:
        answer = await raw("POST", "/v1/contacts", {"date": "yesterday"})
        assert (answer.status, answer.json["error"]) == (400, "bad_data")
        assert (await raw("POST", "/v1/contacts", {"date": 5})).status == 400

    async def test_an_offset_cursor_means_the_same_instant(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        add_sequence(fake, [0, 1, 2])
        at = T0.replace(microsecond=123000) + timedelta(seconds=1)  # contact 2, as rendered
        cursor = at.astimezone(timezone(timedelta(hours=-7)))
        answer = await raw("POST", "/v1/contacts", {"date": cursor.isoformat()})
        assert ids(answer.json) == [1]


class TestV1Count:
    async def test_count_is_a_json_string(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(1042)
        answer = await raw("POST", "/v1/contacts/count", {})
        assert answer.body == b'"1042"'

    async def test_count_with_date_counts_updated_after(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        add_sequence(fake, [0, 1, 2, 3])
        cursor = fake.contacts[2]["updated"]
        assert (await raw("POST", "/v1/contacts/count", {"date": cursor})).json == "2"


class TestV1Fields:
    async def test_docs_example(self, raw: Raw) -> None:
        answer = await raw("POST", "/v1/contact-fields")
        assert answer.json == {
            "fields": [{"id": 123, "name": "Plan"}, {"id": 456, "name": "Renewal Date"}]
        }

    @pytest.mark.parametrize("fake_options", [{"contact_fields": [(12, "Tier")]}])
    async def test_configurable(self, raw: Raw, fake: FakeHeymarket) -> None:
        assert (await raw("POST", "/v1/contact-fields")).json == {
            "fields": [{"id": 12, "name": "Tier"}]
        }
        fake.seed(1)
        assert set(fake.contacts[1]["custom"]) == {"12"}


class TestV2:
    async def test_create_docs_example(self, raw: Raw, fake: FakeHeymarket) -> None:
        body = {
            "contact_channels": [
                {"channel_type": "phone", "channel_id": "15105553344"},
                {"channel_type": "email", "channel_id": "help@heymarket.com"},
            ],
            "first": "API",
            "last": "Contact",
            "display_name": "API Contact",
        }
        answer = await raw("POST", "/v2/contact", body)
        assert set(answer.json) == {"id", "rev", "uuid"}
        got = await raw("GET", f"/v2/contact/{answer.json['uuid']}")
        assert got.json["id"] == answer.json["id"]
        assert got.json["contact_channels"] == body["contact_channels"]
        assert got.json["phone"] == "15105553344"
        assert got.json["email"] == "help@heymarket.com"

    @pytest.mark.parametrize(
        "channels",
        [
            None,
            [],
            [{"channel_type": "phone", "channel_id": "+15105553344"}],
            [{"channel_type": "email", "channel_id": "nobody"}],
            [{"channel_type": "Phone!", "channel_id": "x"}],
            ["15105553344"],
        ],
    )
    async def test_create_needs_valid_channels(self, raw: Raw, channels: Any) -> None:
        answer = await raw("POST", "/v2/contact", {"contact_channels": channels})
        assert (answer.status, answer.json["error"]) == (400, "bad_data")

    async def test_get_unknown_or_v1_id_is_404(self, raw: Raw, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344")
        assert (await raw("GET", f"/v2/contact/{c['id']}")).status == 404
        path = "/v2/contact/a1b2c3d4-e5f6-7890-abcd-ef1234567890"
        assert (await raw("GET", path)).status == 404

    async def test_get_a_seeded_contact_by_uuid(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(20)
        contact = fake.contacts[17]
        assert (await raw("GET", f"/v2/contact/{contact['uuid']}")).json == contact

    async def test_list_docs_example(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(120)
        answer = await raw("POST", "/v2/contacts/list", {"limit": 50, "page": 0, "ascending": True})
        assert ids(answer.json) == list(range(1, 51))
        page2 = await raw("POST", "/v2/contacts/list", {"limit": 50, "page": 2, "ascending": True})
        assert ids(page2.json) == list(range(101, 121))

    async def test_list_defaults_to_30_newest_first(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(100)
        assert ids((await raw("POST", "/v2/contacts/list", {})).json) == list(range(100, 70, -1))
        page = await raw("POST", "/v2/contacts/list", {"page": 3})
        assert ids(page.json) == list(range(10, 0, -1))
        assert (await raw("POST", "/v2/contacts/list", {"page": 4})).json == []

    async def test_list_date_keeps_updated_strictly_after(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        add_sequence(fake, [0, 1, 1, 2, 3])
        cursor = fake.contacts[2]["updated"]
        for ascending, expected in ((True, [4, 5]), (False, [5, 4])):
            body = {"date": cursor, "ascending": ascending}
            assert ids((await raw("POST", "/v2/contacts/list", body)).json) == expected

    @pytest.mark.parametrize(
        "body",
        [{"limit": 101}, {"limit": 0}, {"page": -1}, {"limit": "5"}, {"ascending": "yes"}],
    )
    async def test_list_bad_parameters_are_400(self, raw: Raw, body: dict[str, Any]) -> None:
        answer = await raw("POST", "/v2/contacts/list", body)
        assert (answer.status, answer.json["error"]) == (400, "bad_data")

    @pytest.mark.parametrize("fake_options", [{"v2_default_limit": 10, "v2_max_limit": 20}])
    async def test_list_limits_are_switches(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(30)
        assert len((await raw("POST", "/v2/contacts/list", {})).json) == 10
        assert len((await raw("POST", "/v2/contacts/list", {"limit": 20})).json) == 20
        assert (await raw("POST", "/v2/contacts/list", {"limit": 21})).status == 400

    async def test_search_by_phone_and_email_with_and_without_type(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(5)
        a = fake.add_contact(phone="14155551234", email="a@example.com")
        seeded = fake.contacts[3]
        body = {
            "contact_channels": [
                {"channel_type": "phone", "channel_ids": ["14155551234", seeded["phone"]]},
                {"channel_ids": ["a@example.com", "nobody@example.com"]},
            ]
        }
        answer = await raw("POST", "/v2/contacts/search", body)
        assert ids(answer.json) == [a["id"], 3]
        by_email = {"contact_channels": [{"channel_ids": [seeded["email"]]}]}
        assert ids((await raw("POST", "/v2/contacts/search", by_email)).json) == [3]

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"contact_channels": []},
            {"contact_channels": ["x"]},
            {"contact_channels": [{"channel_ids": []}]},
            {"contact_channels": [{"channel_ids": [5]}]},
            {"contact_channels": [{"channel_type": 1, "channel_ids": ["x"]}]},
        ],
    )
    async def test_search_bad_bodies_are_400(self, raw: Raw, body: dict[str, Any]) -> None:
        assert (await raw("POST", "/v2/contacts/search", body)).status == 400

    async def test_add_channel_returns_the_channels_as_a_bare_array(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        c = fake.add_contact(phone="15105553344")
        path = f"/v2/contact/{c['uuid']}/channel"
        channel = {"channel_type": "email", "channel_id": "help@heymarket.com"}
        answer = await raw("POST", path, channel)
        assert answer.json == [{"channel_type": "phone", "channel_id": "15105553344"}, channel]
        assert fake.contacts[c["id"]]["rev"] == 2
        again = await raw("POST", path, channel)
        assert again.json == answer.json
        assert fake.contacts[c["id"]]["rev"] == 2, "adding a channel it has is not a write"
        search = {"contact_channels": [{"channel_ids": ["help@heymarket.com"]}]}
        assert ids((await raw("POST", "/v2/contacts/search", search)).json) == [c["id"]]

    async def test_add_channel_errors(self, raw: Raw, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344")
        bad = {"channel_type": "phone", "channel_id": "12"}
        assert (await raw("POST", f"/v2/contact/{c['uuid']}/channel", bad)).status == 400
        path = "/v2/contact/a1b2c3d4-e5f6-7890-abcd-ef1234567890/channel"
        good = {"channel_type": "phone", "channel_id": "15105553344"}
        assert (await raw("POST", path, good)).status == 404


class TestTimestampFormat:
    @pytest.mark.parametrize(
        ("fmt", "rendered"),
        [
            ("milliseconds", "2026-05-07T12:00:00.123Z"),
            ("seconds", "2026-05-07T12:00:00Z"),
            ("microseconds", "2026-05-07T12:00:00.123456+00:00"),
        ],
    )
    async def test_rendering(self, fmt: str, rendered: str) -> None:
        async with FakeHeymarket(**frozen(timestamp_format=fmt)) as fake, fake.client() as hm:
            ref = await hm.create_contact("15105553344")
            assert fake.contacts[ref.id]["updated"] == rendered
            assert (await hm.get_contact(ref.id)).updated == T0.replace(
                microsecond={"milliseconds": 123000, "seconds": 0, "microseconds": 123456}[fmt]
            )

    @pytest.mark.parametrize("fake_options", [{"timestamp_format": "seconds"}])
    async def test_times_that_render_alike_tie(self, raw: Raw, fake: FakeHeymarket) -> None:
        # 0.2 s apart but the same second: for the cursor they are one value.
        add_sequence(fake, [0.1, 0.3, 1.5])
        assert fake.contacts[1]["updated"] == fake.contacts[2]["updated"]
        answer = await raw("POST", "/v1/contacts", {"date": fake.contacts[3]["updated"]})
        assert ids(answer.json) == [2, 1]
        answer = await raw("POST", "/v1/contacts", {"date": fake.contacts[1]["updated"]})
        assert ids(answer.json) == []


class TestObservation:
    async def test_requests_are_recorded_without_the_key(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.add_contact(id=5, phone="15105553344")
        await raw("PUT", "/v1/contact/5?overwrite=true", {"phone": "15105553344"})
        (request,) = fake.requests
        assert isinstance(request, RecordedRequest)
        assert (request.method, request.path, request.route) == (
            "PUT",
            "/v1/contact/5",
            "PUT /v1/contact/{id}",
        )
        assert request.query == {"overwrite": "true"}
        assert request.json == {"phone": "15105553344"}
        assert request.headers["Authorization"] == "Bearer ***"
        assert "test" not in str(request.headers.values())
        assert (request.status, request.number, request.fault) == (200, 1, None)
        assert request.handler_cpu >= 0
        assert fake.requests_to("PUT /v1/contact/{id}") == [request]
        assert fake.requests_to("PUT /v1/contact/5") == [request]

    async def test_record_limit_keeps_the_last_requests(self) -> None:
        async with FakeHeymarket(record_limit=2) as fake, fake.client() as hm:
            for _ in range(3):
                await hm.count_contacts()
            assert [r.number for r in fake.requests] == [2, 3]

    async def test_in_flight_and_peak(self, raw: Raw, fake: FakeHeymarket) -> None:
        arrived = 0
        all_in = asyncio.Event()

        async def hold(_: RecordedRequest) -> None:
            nonlocal arrived
            arrived += 1
            if arrived == 5:
                all_in.set()
            await all_in.wait()

        fake.on_request(hold)
        await asyncio.gather(*(raw("POST", "/v1/contacts/count", {}) for _ in range(5)))
        assert fake.peak_in_flight == 5
        assert fake.in_flight == 0
        fake.remove_hook(hold)
        await raw("POST", "/v1/contacts/count", {})
        assert fake.peak_in_flight == 5


class TestHooksAndStoreAccess:
    async def test_a_hook_changes_contacts_between_pages(self, fake: FakeHeymarket) -> None:
        fake.seed(40)

        @fake.on_request
        def touch_one(request: RecordedRequest) -> None:
            if request.route == "POST /v1/contacts" and request.number == 2:
                fake.update_contact(1, first="Moved")  # now the newest

        async with fake.client() as hm:
            first = await hm.list_contacts()
            second = await hm.list_contacts(date=first[-1].updated)
            again = await hm.list_contacts()
        assert [c.id for c in first] == list(range(40, 10, -1))
        assert [c.id for c in second] == list(range(10, 1, -1)), "1 moved off the end"
        assert again[0].id == 1
        assert again[0].first == "Moved"

    async def test_add_update_delete_directly(self, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344", first="A", updated=T0)
        assert c["updated"] == "2026-05-07T12:00:00.123Z"
        assert c["rev"] == 1
        changed = fake.update_contact(c["id"], first="B", updated=T0 + timedelta(seconds=1))
        assert (changed["first"], changed["rev"]) == ("B", 2)
        assert changed["updated"] == "2026-05-07T12:00:01.123Z"
        fake.delete_contact(c["id"])
        assert len(fake.contacts) == 0
        with pytest.raises(KeyError):
            fake.update_contact(c["id"])
        with pytest.raises(KeyError):
            fake.delete_contact(c["id"])
        with pytest.raises(KeyError):
            fake.contacts[c["id"]]

    @pytest.mark.parametrize("contact_id", [0, -5, 2**40])
    async def test_add_contact_refuses_an_id_out_of_range(
        self, raw: Raw, fake: FakeHeymarket, contact_id: int
    ) -> None:
        fake.add_contact(phone="15105553344")
        with pytest.raises(ValueError, match="contact id must be an int from 1 to"):
            fake.add_contact(id=contact_id, phone="15105553345")
        assert len(fake.contacts) == 1
        assert [c["id"] for c in (await raw("POST", "/v1/contacts", {})).json] == [1]
        assert [c["id"] for c in (await raw("POST", "/v2/contacts/list", {})).json] == [1]

    async def test_contacts_view_iterates_in_updated_order(self, fake: FakeHeymarket) -> None:
        add_sequence(fake, [3, 1, 2])
        assert list(fake.contacts) == [2, 3, 1]
        assert 2 in fake.contacts
        assert "2" not in fake.contacts


class TestClientOverLoopback:
    """The core client's calls against the emulator, as a user would make them."""

    async def test_v1_calls(self, fake: FakeHeymarket) -> None:
        fake.seed(35)
        async with fake.client() as hm:
            ref = await hm.create_contact(
                "+1 (510) 555-3344", first="Jordan", tags=[55, 56], custom={123: "Premium"}
            )
            assert isinstance(ref, ContactRef)
            assert (ref.id, ref.rev) == (36, 1)
            contact = await hm.get_contact(ref.id)
            assert isinstance(contact, Contact)
            assert (contact.phone, contact.first, contact.custom) == (
                "15105553344",
                "Jordan",
                {"123": "Premium"},
            )
            assert [t.id for t in contact.tags] == [55, 56]
            assert (await hm.get_contact_by_phone("15105553344")).id == ref.id
            updated = await hm.update_contact(ref.id, "15105553344", custom={456: "2024-01-15"})
            assert updated.rev == 2
            assert (await hm.get_contact(ref.id)).custom == {
                "123": "Premium",
                "456": "2024-01-15",
            }
            await hm.update_contact(ref.id, "15105553344", custom={456: "x"}, overwrite=True)
            assert (await hm.get_contact(ref.id)).custom == {"456": "x"}
            page = await hm.list_contacts()
            assert len(page) == 30
            assert page[0].id == ref.id
            assert await hm.count_contacts() == 36
            assert await hm.count_contacts(since=page[1].updated) == 1
            assert await hm.list_contact_fields() == [
                ContactField(id=123, name="Plan"),
                ContactField(id=456, name="Renewal Date"),
            ]
            await hm.delete_contact(ref.id)
            with pytest.raises(NotFoundError) as info:
                await hm.get_contact(ref.id)
            assert info.value.request_id

    async def test_v2_calls(self, fake: FakeHeymarket) -> None:
        async with fake.client() as hm:
            ref = await hm.v2.create_contact(
                [("phone", "15105553344"), ("email", "help@heymarket.com")], first="API"
            )
            assert ref.uuid is not None
            contact = await hm.v2.get_contact(ref.uuid)
            assert contact.contact_channels == (
                ContactChannel(channel_type="phone", channel_id="15105553344"),
                ContactChannel(channel_type="email", channel_id="help@heymarket.com"),
            )
            channels = await hm.v2.add_channel(ref.uuid, "phone", "14155551234")
            assert channels[-1] == ContactChannel(channel_type="phone", channel_id="14155551234")
            found = await hm.v2.search_contacts("+1 415 555 1234")
            assert [c.id for c in found] == [ref.id]
            assert [c.id for c in await hm.v2.list_contacts(limit=5)] == [ref.id]

    async def test_server_side_validation_reaches_the_client_as_bad_request(
        self, fake: FakeHeymarket
    ) -> None:
        async with fake.client(retry=RetryPolicy.disabled()) as hm:
            # The client lets any digit string through for channel type "whatsapp"; the
            # server checks phone channels only, so use a custom key it cannot see instead.
            fake.add_contact(id=7, phone="15105553344")
            with pytest.raises(NotFoundError):
                await hm.v2.get_contact("a1b2c3d4-e5f6-7890-abcd-ef1234567890")
            fake.v2_max_limit = 10
            with pytest.raises(BadRequestError) as info:
                await hm.v2.list_contacts(limit=11)
            assert info.value.status == 400
            assert "limit" in str(info.value)


# -- the rest of the contacts API ---------------------------------------------------------------


class TestV1Status:
    async def test_status_by_id_or_phone(self, raw: Raw, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344", is_opted_out=True)
        expected = {"id": c["id"], "phone": "15105553344", "unsubscribed": True, "blocked": False}
        assert (await raw("POST", "/v1/contact/status", {"id": c["id"]})).json == expected
        assert (await raw("POST", "/v1/contact/status", {"id": str(c["id"])})).json == expected
        answer = await raw("POST", "/v1/contact/status", {"phone": "15105553344"})
        assert answer.json == expected

    @pytest.mark.parametrize(
        ("body", "status"),
        [({}, 400), ({"id": 1, "phone": "15105553344"}, 400), ({"id": "x"}, 400), ({"id": 9}, 404)],
    )
    async def test_bad_lookups(self, raw: Raw, body: Any, status: int) -> None:
        assert (await raw("POST", "/v1/contact/status", body)).status == status

    async def test_set_status_moves_the_flags(self, raw: Raw, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344")

        async def flags(status: str) -> tuple[bool, bool, int]:
            answer = await raw("POST", "/v1/contact/set_status", {"id": c["id"], "status": status})
            assert answer.json == "success"
            got = (await raw("POST", "/v1/contact/status", {"id": c["id"]})).json
            return got["unsubscribed"], got["blocked"], fake.contacts[c["id"]]["rev"]

        assert await flags("blocked") == (False, True, 1)
        assert await flags("unsubscribed") == (True, True, 2)
        assert await flags("unsubscribed") == (True, True, 2), "no change, no write"
        assert await flags("active") == (False, False, 3)
        assert await flags("blocked") == (False, True, 3)
        assert await flags("unblocked") == (False, False, 3)
        assert await flags("unsubscribed") == (True, False, 4)
        assert await flags("subscribed") == (False, False, 5)
        answer = await raw("POST", "/v1/contact/set_status", {"id": c["id"], "status": "paused"})
        assert answer.status == 400


class TestV1CreateFields:
    async def test_new_fields_get_new_ids_and_are_listed(self, raw: Raw) -> None:
        answer = await raw("POST", "/v1/contacts/fields", [{"title": "Tier"}, {"title": "Region"}])
        assert answer.json == {
            "fields": [{"id": 457, "name": "Tier"}, {"id": 458, "name": "Region"}]
        }
        listed = (await raw("POST", "/v1/contact-fields")).json["fields"]
        assert [f["name"] for f in listed] == ["Plan", "Renewal Date", "Tier", "Region"]

    @pytest.mark.parametrize("body", [[], {"title": "x"}, [{"title": ""}], [{"name": "x"}], ["x"]])
    async def test_bad_bodies(self, raw: Raw, body: Any) -> None:
        assert (await raw("POST", "/v1/contacts/fields", body)).status == 400


class TestV1Batch:
    async def test_creates_or_updates_by_phone_and_answers_ok(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        old = fake.add_contact(phone="15105553344", first="Old", custom={"123": "A", "456": "B"})
        body = [
            {"phone": "15105553344", "first": "New", "custom": {"123": "C"}},
            {"phone": "15105553345", "first": "Other"},
        ]
        assert (await raw("POST", "/v1/batch/contacts?overwrite=false", body)).json == "ok"
        assert len(fake.contacts) == 2
        updated = fake.contacts[old["id"]]
        assert (updated["first"], updated["custom"]) == ("New", {"123": "C", "456": "B"})
        await raw("POST", "/v1/batch/contacts?overwrite=true", body[:1])
        assert fake.contacts[old["id"]]["custom"] == {"123": "C"}

    async def test_answers_the_failed_contacts_and_applies_the_others(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        body = [{"phone": "15105553344"}, {"phone": "+1"}, 7]
        answer = await raw("POST", "/v1/batch/contacts", body)
        assert [(f.get("phone"), "error" in f) for f in answer.json] == [("+1", True), (None, True)]
        assert len(fake.contacts) == 1

    @pytest.mark.parametrize("body", [[], {"phone": "15105553344"}])
    async def test_bad_bodies(self, raw: Raw, body: Any) -> None:
        assert (await raw("POST", "/v1/batch/contacts", body)).status == 400


class TestV1Tags:
    @pytest.mark.parametrize("fake_options", [frozen(tag_page_size=2)])
    async def test_create_get_list_delete(self, raw: Raw, fake: FakeHeymarket) -> None:
        created = (await raw("POST", "/v1/tag", {"name": "VIP", "color": "#f00"})).json
        assert created == {
            "id": 1,
            "name": "VIP",
            "color": "#f00",
            "created": "2026-05-07T12:00:00.123Z",
            "updated": "2026-05-07T12:00:00.123Z",
        }
        assert (await raw("GET", "/v1/tag/1")).json == created
        fake.clock.advance(1)
        fake.add_tag("B")
        fake.clock.advance(1)
        fake.add_tag("C")
        first = (await raw("POST", "/v1/tags", {})).json
        assert [t["name"] for t in first] == ["C", "B"]
        rest = (await raw("POST", "/v1/tags", {"date": first[-1]["updated"]})).json
        assert [t["name"] for t in rest] == ["VIP"]
        assert (await raw("DELETE", "/v1/tag/1")).json == "ok"
        assert (await raw("GET", "/v1/tag/1")).status == 404
        assert (await raw("DELETE", "/v1/tag/1")).status == 404

    @pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x", "color": 1}])
    async def test_create_needs_a_name(self, raw: Raw, body: Any) -> None:
        assert (await raw("POST", "/v1/tag", body)).status == 400


class TestV2Rest:
    async def test_update_answers_the_whole_contact(self, raw: Raw, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344", first="A", custom={"123": "x"})
        answer = await raw("PUT", f"/v2/contact/{c['uuid']}", {"last": "B", "custom": {"456": "y"}})
        assert answer.json["uuid"] == c["uuid"]
        assert (answer.json["first"], answer.json["last"]) == ("A", "B")
        assert answer.json["custom"] == {"123": "x", "456": "y"}
        assert answer.json["rev"] == 2

    async def test_delete_one(self, raw: Raw, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344")
        assert (await raw("DELETE", f"/v2/contact/{c['uuid']}")).json == "ok"
        assert (await raw("DELETE", f"/v2/contact/{c['uuid']}")).status == 404

    async def test_update_channel_replaces_the_channel_of_that_type(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        c = fake.add_contact(phone="15105553344", email="a@example.com")
        body = {"channel_type": "phone", "channel_id": "15105559999"}
        answer = await raw("PUT", f"/v2/contact/{c['uuid']}/channel", body)
        assert answer.json == [
            {"channel_type": "email", "channel_id": "a@example.com"},
            {"channel_type": "phone", "channel_id": "15105559999"},
        ]
        assert fake.contacts[c["id"]]["phone"] == "15105559999"
        found = await raw("POST", "/v1/contact/get", {"phone": "15105553344"})
        assert found.status == 404

    async def test_bulk_upsert_answers_contacts_and_failures(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        c = fake.add_contact(phone="15105553344")
        body = {
            "contacts": [
                {"uuid": c["uuid"], "first": "X"},
                {"contact_channels": [{"channel_type": "email", "channel_id": "n@example.com"}]},
                {"contact_channels": []},
            ]
        }
        answer = (await raw("POST", "/v2/contacts", body)).json
        assert [x["first"] for x in answer["contacts"]] == ["X", None]
        assert answer["contacts"][1]["email"] == "n@example.com"
        assert len(answer["failed_contacts"]) == 1
        assert "error" in answer["failed_contacts"][0]

    async def test_bulk_delete(self, raw: Raw, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344")
        answer = await raw("DELETE", "/v2/contacts", {"contacts": [c["uuid"], "nope"]})
        assert answer.json == {"failed_contacts": [{"uuid": "nope", "error": "not found"}]}
        assert len(fake.contacts) == 0
        assert (await raw("DELETE", "/v2/contacts", {"contacts": []})).status == 400


class TestMalformedRequests:
    """A body or path of a shape the checks do not expect is the client's error, never a 500."""

    @pytest.mark.parametrize("route", ["/v1/contact/get", "/v1/contact/status"])
    @pytest.mark.parametrize("contact_id", ["²", "٣", "9" * 5000])
    async def test_an_id_int_refuses_is_bad_data(
        self, raw: Raw, fake: FakeHeymarket, route: str, contact_id: str
    ) -> None:
        fake.add_contact(id=2, phone="15105553344")
        answer = await raw("POST", route, {"id": contact_id})
        assert answer.status == 400
        assert answer.json["error"] == "bad_data"

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            *((m, "/v1/contact/" + "9" * 5000) for m in ("GET", "PUT", "DELETE")),
            *((m, "/v1/tag/" + "9" * 5000) for m in ("GET", "DELETE")),
        ],
    )
    async def test_an_id_in_the_path_int_refuses_is_not_found(
        self, raw: Raw, method: str, path: str
    ) -> None:
        answer = await raw(method, path, {"phone": "15105553344"})
        assert answer.status == 404
        assert answer.json["error"] == "not_found"

    async def test_an_error_past_the_checks_is_not_hidden_as_bad_data(
        self, raw: Raw, fake: FakeHeymarket, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken(*args: Any, **kwargs: Any) -> list[int]:
            raise TypeError("a bug in the store")

        monkeypatch.setattr(fake.store, "v1_page", broken)
        assert (await raw("POST", "/v1/contacts", {})).status == 500

    @pytest.mark.parametrize("channels", [5, True, 1.5, {"channel_type": "phone"}])
    async def test_bulk_update_channels_not_an_array_fail_that_item(
        self, raw: Raw, fake: FakeHeymarket, channels: Any
    ) -> None:
        c = fake.add_contact(phone="15105553344")
        body = {"contacts": [{"uuid": c["uuid"], "contact_channels": channels}]}
        answer = await raw("POST", "/v2/contacts", body)
        assert answer.status == 200
        assert answer.json["contacts"] == []
        [failed] = answer.json["failed_contacts"]
        assert "contact_channels" in failed["error"]
        assert fake.contacts[c["id"]]["rev"] == 1


class TestRestThroughTheClient:
    async def test_v1_status_fields_and_tags(self, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344")
        async with fake.client() as hm:
            await hm.set_contact_status(phone="+1 510 555 3344", status=ContactStatusValue.BLOCKED)
            status = await hm.get_contact_status(c["id"])
            assert (status.blocked, status.unsubscribed) == (True, False)
            fields = await hm.create_contact_fields(["Tier"])
            assert fields == [ContactField(id=457, name="Tier")]
            tag = await hm.create_tag("VIP", color="#f00")
            assert await hm.get_tag(tag.id) == tag
            assert [t.id async for t in hm.iter_tags()] == [tag.id]
            await hm.delete_tag(tag.id)
            assert await hm.list_tags() == []
            with pytest.raises(NotFoundError):
                await hm.get_contact_status(phone="15105550000")

    async def test_v2_update_delete_and_channel(self, fake: FakeHeymarket) -> None:
        c = fake.add_contact(phone="15105553344")
        async with fake.client() as hm:
            contact = await hm.v2.update_contact(c["uuid"], first="Ada", tags=[5])
            assert (contact.first, [t.id for t in contact.tags]) == ("Ada", [5])
            channels = await hm.v2.update_channel(c["uuid"], "email", "ada@example.com")
            assert ContactChannel(channel_type="email", channel_id="ada@example.com") in channels
            await hm.v2.delete_contact(c["uuid"])
            with pytest.raises(NotFoundError):
                await hm.v2.get_contact(c["uuid"])

    async def test_patch_keeps_what_it_was_not_asked_to_change(self, fake: FakeHeymarket) -> None:
        c = fake.add_contact(
            phone="15105553344", first="A", last="B", email="a@example.com", custom={"123": "x"}
        )
        async with fake.client() as hm:
            ref = await hm.patch_contact(c["id"], custom={456: "y"})
        assert ref.rev == 2
        after = fake.contacts[c["id"]]
        assert (after["first"], after["last"], after["email"]) == ("A", "B", "a@example.com")
        assert after["custom"] == {"123": "x", "456": "y"}

    async def test_patch_reports_a_write_between_its_read_and_its_write(
        self, fake: FakeHeymarket
    ) -> None:
        c = fake.add_contact(phone="15105553344", first="A")

        @fake.on_request
        def someone_else(request: RecordedRequest) -> None:
            if request.method == "PUT":
                fake.update_contact(c["id"], email="other@example.com")

        async with fake.client() as hm:
            with pytest.raises(ConcurrentModificationError) as caught:
                await hm.patch_contact(c["id"], first="Z")
        assert (caught.value.read_rev, caught.value.written_rev) == (1, 3)
        assert fake.contacts[c["id"]]["first"] == "Z"
