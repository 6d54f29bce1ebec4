"""The API's body checks as pure functions."""

from __future__ import annotations

from typing import Any

import pytest

from heymarket_async.testing import _rules as rules


class TestPhone:
    @pytest.mark.parametrize(
        "value", ["15105553344", "447911123456", "4915112345678", "33612345678"]
    )
    def test_valid(self, value: str) -> None:
        assert rules.phone(value) == value

    @pytest.mark.parametrize(
        "value",
        ["+15105553344", "1510555334", "151055533445", "0123456789", "1234567", 15105553344],
    )
    def test_invalid(self, value: object) -> None:
        with pytest.raises(rules.BadData):
            rules.phone(value)


class TestContactFields:
    def test_keeps_known_fields_and_renames_assignee(self) -> None:
        body = {
            "phone": "15105553344",
            "first": "A",
            "custom": {"1": "x"},
            "tags": [{"tag_id": 1}],
            "assignee_id": 5,
            "is_opted_out": True,
            "unknown": 1,
        }
        assert rules.contact_fields(body, phone_required=True) == {
            "phone": "15105553344",
            "first": "A",
            "custom": {"1": "x"},
            "tags": [{"tag_id": 1}],
            "assigned_user_id": 5,
            "is_opted_out": True,
        }

    def test_nulls_clear(self) -> None:
        body = {"custom": None, "tags": None, "assignee_id": None, "email": None}
        assert rules.contact_fields(body, phone_required=False) == {
            "custom": {},
            "tags": [],
            "assigned_user_id": None,
            "email": None,
        }

    @pytest.mark.parametrize(
        "body",
        [
            {"tags": "55"},
            {"tags": [{"tag_id": True}]},
            {"custom": [1]},
            {"custom": {"١٢": "x"}},
            {"phone": None},
        ],
    )
    def test_rejections(self, body: dict[str, Any]) -> None:
        with pytest.raises(rules.BadData):
            rules.contact_fields(body, phone_required=False)


class TestOthers:
    def test_channel_and_inference(self) -> None:
        assert rules.channel({"channel_type": "sms_x", "channel_id": "abc"}) == {
            "channel_type": "sms_x",
            "channel_id": "abc",
        }
        assert rules.infer_channel_type("a@b.c") == "email"
        assert rules.infer_channel_type("15105553344") == "phone"
        with pytest.raises(rules.BadData, match="channel_id"):
            rules.channel({"channel_type": "email", "channel_id": ""})

    def test_date_integer_boolean(self) -> None:
        assert rules.date({}) is None
        assert rules.date({"date": "1970-01-01T00:00:01Z"}) == 1_000_000
        assert rules.integer({}, "limit", 30, 1, 100) == 30
        assert rules.integer({"page": 7}, "page", 0, 0, None) == 7
        with pytest.raises(rules.BadData, match="at least 0"):
            rules.integer({"page": -1}, "page", 0, 0, None)
        with pytest.raises(rules.BadData, match="between 1 and 100"):
            rules.integer({"limit": 101}, "limit", 30, 1, 100)
        with pytest.raises(rules.BadData, match="integer"):
            rules.integer({"limit": True}, "limit", 30, 1, 100)
        assert rules.boolean({}, "ascending", False) is False


class TestReading:
    @pytest.mark.parametrize("error", [ValueError("x"), TypeError("x")])
    def test_a_stray_value_or_type_error_is_bad_data(self, error: Exception) -> None:
        with pytest.raises(rules.BadData, match="malformed request: x") as info, rules.reading():
            raise error
        assert info.value.__cause__ is error

    def test_bad_data_and_other_errors_pass_unchanged(self) -> None:
        bad = rules.BadData("phone is required")
        with pytest.raises(rules.BadData) as info, rules.reading():
            raise bad
        assert info.value is bad
        with pytest.raises(KeyError), rules.reading():
            raise KeyError("x")

    def test_the_checks_read_inside_it(self) -> None:
        with pytest.raises(rules.BadData, match="malformed request"):
            rules.contact_id("9" * 5000)  # more digits than int() takes

    @pytest.mark.parametrize("value", [5, None, {"channel_type": "phone"}, [5]])
    def test_channels_must_be_an_array_of_channels(self, value: object) -> None:
        with pytest.raises(rules.BadData, match="channel"):
            rules.channels(value, required=False)
        assert rules.channels([], required=False) == []
        with pytest.raises(rules.BadData, match="at least one"):
            rules.channels([], required=True)

    @pytest.mark.parametrize("value", ["²", "٣", "-1", "", -1, True, 1.0, None])
    def test_contact_id_refuses_what_is_no_id(self, value: object) -> None:
        with pytest.raises(rules.BadData, match="id must be a contact id"):
            rules.contact_id(value)
        assert rules.contact_id("42") == rules.contact_id(42) == 42
