"""Fields the SDK does not know, served on contacts exactly as given (``extra_fields``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _fake_http import Raw

from heymarket_async.testing import FakeHeymarket, _serve

EXTRA = {"loyalty_tier": "gold", "score": 1.5, "nested": {"a": [1, None, "é"]}, "flag": None}


def _keys_tail(body: bytes, n: int) -> list[str]:
    """The last ``n`` keys of a JSON object, in the order they were sent."""
    return list(json.loads(body, object_pairs_hook=lambda pairs: [k for k, _ in pairs]))[-n:]


@pytest.fixture
def fake_options() -> dict[str, Any]:
    return {"extra_fields": EXTRA}


class TestServedOnEveryAnswer:
    async def test_v1_list_and_get(self, fake: FakeHeymarket, raw: Raw) -> None:
        fake.seed(3)
        written = fake.add_contact(phone="15105550100", first="Ann")["id"]
        page = await raw("POST", "/v1/contacts", {})
        assert page.status == 200
        assert len(page.json) == 4
        for contact in page.json:
            assert {k: contact[k] for k in EXTRA} == EXTRA
        for contact_id in (1, written):
            got = await raw("GET", f"/v1/contact/{contact_id}")
            assert {k: got.json[k] for k in EXTRA} == EXTRA
            assert _keys_tail(got.body, len(EXTRA)) == list(EXTRA), "after the contact's own"

    async def test_v2_list_get_and_write_answers(self, fake: FakeHeymarket, raw: Raw) -> None:
        fake.seed(2)
        page = await raw("POST", "/v2/contacts/list", {"limit": 10})
        assert [{k: c[k] for k in EXTRA} for c in page.json] == [EXTRA, EXTRA]
        uuid = page.json[0]["uuid"]
        got = await raw("GET", f"/v2/contact/{uuid}")
        assert got.json["loyalty_tier"] == "gold"
        put = await raw("PUT", f"/v2/contact/{uuid}", {"first": "Bo"})
        assert (put.json["first"], put.json["nested"]) == ("Bo", EXTRA["nested"])
        search = {"contact_channels": [{"channel_ids": [got.json["phone"]]}]}
        found = await raw("POST", "/v2/contacts/search", search)
        assert found.json[0]["score"] == 1.5

    async def test_the_contacts_view_and_the_typed_client_see_them(
        self, fake: FakeHeymarket
    ) -> None:
        (contact_id,) = fake.seed(1)
        assert fake.contacts[contact_id]["loyalty_tier"] == "gold"
        async with fake.client() as hm:
            contact = await hm.get_contact(contact_id)
        assert contact.id == contact_id  # an unknown key does not break decoding

    async def test_the_values_are_the_bytes_json_makes_of_them(
        self, fake: FakeHeymarket, raw: Raw
    ) -> None:
        fake.seed(1)
        got = await raw("GET", "/v1/contact/1")
        assert got.body.endswith(
            b',"loyalty_tier":"gold","score":1.5,"nested":{"a":[1,null,"\\u00e9"]},"flag":null}'
        )


class TestSettingThem:
    async def test_settable_on_a_running_fake(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(1)
        assert "tier" not in (await raw("GET", "/v1/contact/1")).json
        fake.extra_fields = {"tier": 3}
        assert (await raw("GET", "/v1/contact/1")).json["tier"] == 3, "cached answers rebuilt"
        fake.extra_fields = {}
        assert "tier" not in (await raw("GET", "/v1/contact/1")).json
        assert fake.extra_fields == {}

    @pytest.mark.parametrize("fake_options", [{}])
    async def test_the_getter_returns_a_copy_of_the_values(self, fake: FakeHeymarket) -> None:
        given: dict[str, Any] = {"tier": {"level": 1}}
        fake.extra_fields = given
        given["tier"]["level"] = 2  # the caller's dict changing later changes nothing served
        assert fake.extra_fields == {"tier": {"level": 1}}

    @pytest.mark.parametrize("fake_options", [{}])
    async def test_a_contacts_own_unknown_field_is_served_as_given(
        self, fake: FakeHeymarket, raw: Raw
    ) -> None:
        own = fake.add_contact(phone="15105550100", tier=[1, 2])["id"]
        fake.extra_fields = {"tier": "global", "other": 1}
        got = (await raw("GET", f"/v1/contact/{own}")).json
        assert (got["tier"], got["other"]) == ([1, 2], 1), "its own value wins"
        page = (await raw("POST", "/v2/contacts/list", {})).json
        assert page[0]["tier"] == [1, 2]

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"phone": "x"}, "'phone' is a field every contact has already"),
            ({"updated": "x"}, "'updated' is a field every contact has already"),
            ({"x": float("nan")}, "extra field 'x' is not JSON"),
            ({"x": object()}, "extra field 'x' is not JSON"),
            ({1: "x"}, "an extra field's name is a string"),
        ],
    )
    def test_refused(self, fields: dict[Any, Any], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            FakeHeymarket(extra_fields=fields)


class TestCommandLine:
    def test_extra_field_flags(self) -> None:
        args = _serve.build_parser().parse_args(
            ["--extra-field", "tier=gold", "--extra-field", "n=7", "--extra-field", 'j={"a":1}']
        )
        assert dict(args.extra_field) == {"tier": "gold", "n": 7, "j": {"a": 1}}

    def test_extra_field_needs_a_name(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit):
            _serve.build_parser().parse_args(["--extra-field", "=x"])
        assert "'=x' is not NAME=VALUE" in capsys.readouterr().err
