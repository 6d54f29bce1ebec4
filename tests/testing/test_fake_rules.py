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
