"""Input checks (SPEC §2): each bad input raises InvalidRequestError naming the field.

These are pure functions; the endpoint tests (test_v1, test_v2) show that a rejected call sends
nothing.
"""

from __future__ import annotations

import ast
import enum
import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async import UNASSIGN, UNSET, ContactChannel, InvalidRequestError, Tag
from heymarket_async import _validate as check


def _field_of(fn: Callable[[], object]) -> str:
    with pytest.raises(InvalidRequestError) as info:
        fn()
    assert isinstance(info.value, ValueError)
    return info.value.field


# -- phone numbers ----------------------------------------------------------------------------


@st.composite
def e164_numbers(draw: st.DrawFn) -> str:
    """Any valid E.164 number as digits: 8-15 digits, no leading 0, 11 digits in country 1."""
    first = draw(st.sampled_from("123456789"))
    length = 11 if first == "1" else draw(st.integers(8, 15))
    rest = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    return first + rest


@st.composite
def friendly(draw: st.DrawFn, digits: str) -> str:
    """``digits`` written the way people write numbers: +, spaces, dashes, dots, brackets."""
    out = ""
    for i, digit in enumerate(digits):
        if i and draw(st.integers(0, 3)) == 0:
            out += draw(st.sampled_from([" ", "-", ".", "/", " - ", "(", ")", ") "]))
        out += digit
    # Written with separators, an international number carries its "+" (without it, some
    # layouts read as a national number: see test_refuses_the_north_american_national_layout),
    # and so do bare 10 digits shaped like a North American number.
    nanp = len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"
    return "+" + out if out != digits or nanp or draw(st.booleans()) else out


class TestPhone:
    @given(e164_numbers().flatmap(lambda d: st.tuples(st.just(d), friendly(d))))
    def test_any_friendly_form_normalizes_back_to_the_digits(self, case: tuple[str, str]) -> None:
        digits, written = case
        assert check.phone(written) == digits

    @pytest.mark.parametrize(
        ("given_", "expected"),
        [
            ("15105553344", "15105553344"),
            ("+1 (510) 555-3344", "15105553344"),
            ("+1.510.555.3344", "15105553344"),
            ("+44 20 7946 0958", "442079460958"),
            ("+49 30 1234567", "49301234567"),
            ("33 1 23 45 67 89", "33123456789"),
        ],
    )
    def test_normalizes_documented_and_international_forms(
        self, given_: str, expected: str
    ) -> None:
        assert check.phone(given_) == expected

    @pytest.mark.parametrize(
        "bad",
        [
            "151055533445",  # 12 digits in country code 1
            "1510555334",  # 10 digits in country code 1
            "4420794",  # 7 digits
            "4420794609581234",  # 16 digits
            "0044 20 7946 0958",  # an international prefix, not E.164
            "1-800-FLOWERS",  # letters
            "15105553344x",
            "++15105553344",
            "1510555+3344",
            "١٥١٠٥٥٥٣٣٤٤",  # Arabic-Indic digits: not ASCII
            "",
            "   ",
        ],
    )
    def test_rejects_what_cannot_be_e164(self, bad: str) -> None:
        assert _field_of(lambda: check.phone(bad)) == "phone"

    @pytest.mark.parametrize("bad", [15105553344, None, b"15105553344", 1.5e10])
    def test_rejects_non_strings(self, bad: object) -> None:
        assert _field_of(lambda: check.phone(bad)) == "phone"

    @pytest.mark.parametrize(
        "national",
        [
            "(510) 555-3344",
            "(510)555-3344",
            "510-555-3344",
            "510.555.3344",
            # Whatever the punctuation and spacing: each would go out as 5105553344 (Peru).
            "(510)-555-3344",
            "(510)5553344",
            "510 - 555 - 3344",
            "(510) 555 - 3344",
            "510  555  3344",
            " 510/555/3344 ",
        ],
    )
    def test_refuses_the_north_american_national_layout(self, national: str) -> None:
        with pytest.raises(InvalidRequestError, match="without its country code"):
            check.phone(national)

    @pytest.mark.parametrize(
        ("written", "e164"),
        [
            ("+44 (0)20 7946 0958", "442079460958"),
            ("+44(0)7700 900123", "447700900123"),
            ("+61 (0)4 1234 5678", "61412345678"),
            ("+33 (0) 1 23 45 67 89", "33123456789"),
            ("1 (510) 555-3344", "15105553344"),
        ],
    )
    def test_the_trunk_zero_in_brackets_is_no_part_of_the_number(
        self, written: str, e164: str
    ) -> None:
        assert check.phone(written) == e164

    @pytest.mark.parametrize(
        "bare", ["5105553357", "2125550123", " 5105553357 ", "510555 3357", "9999999999"]
    )
    def test_bare_north_american_ten_digits_are_refused_like_the_layout(self, bare: str) -> None:
        # "5105553357" used to go out as a Peru (+51) number while "(510) 555-3356" was refused:
        # one rule now, whatever the punctuation (issue 14).
        with pytest.raises(InvalidRequestError, match="without its country code") as info:
            check.phone(bare)
        assert "+" in info.value.message  # it says how to write a foreign 10-digit number

    @pytest.mark.parametrize(
        ("written", "e164"),
        [
            ("+5105553357", "5105553357"),
            ("+510 555 3357", "5105553357"),
            ("+45 20 12 34 56", "4520123456"),
            ("+4520123456", "4520123456"),
        ],
    )
    def test_ten_digits_with_a_plus_are_e164_as_written(self, written: str, e164: str) -> None:
        assert check.phone(written) == e164

    @pytest.mark.parametrize("bare", ["5101234567", "4520123456", "6510234567"])
    def test_bare_ten_digits_not_shaped_north_american_are_e164_as_written(self, bare: str) -> None:
        # An exchange starting 0 or 1 is no North American number: nothing to mistake.
        assert check.phone(bare) == bare

    @given(
        st.sampled_from("23456789"),
        st.text("0123456789", min_size=2, max_size=2),
        st.sampled_from("23456789"),
        st.text("0123456789", min_size=6, max_size=6),
    )
    def test_every_north_american_shape_without_plus_is_refused(
        self, a: str, area: str, e: str, rest: str
    ) -> None:
        digits = a + area + e + rest
        with pytest.raises(InvalidRequestError, match="without its country code"):
            check.phone(digits)
        assert check.phone("1" + digits) == "1" + digits
        assert check.phone("+" + digits) == digits

    @pytest.mark.parametrize(
        "check_phone",
        [
            lambda v: check.phone(v),
            lambda v: check.channels([("phone", v)]),
            lambda v: check.channels([{"channel_type": "phone", "channel_id": v}]),
            lambda v: check.channel_id("phone", v),
            lambda v: check.contact_lookup(None, v),
            lambda v: check.search_values((v,), None),
            lambda v: check.search_values((v,), "phone"),
            lambda v: check.v1_batch_item({"phone": v}, 0),
            lambda v: check.v2_bulk_item({"channels": [("phone", v)]}, 0),
        ],
    )
    @pytest.mark.parametrize("written", ["5105553357", "(510) 555-3356"])
    def test_the_rule_holds_wherever_a_phone_is_checked(
        self, check_phone: Callable[[str], object], written: str
    ) -> None:
        with pytest.raises(InvalidRequestError, match="without its country code"):
            check_phone(written)

    def test_names_the_field_it_was_given(self) -> None:
        assert _field_of(lambda: check.phone("12", "values[3]")) == "values[3]"


# -- tags, custom, assignee ---------------------------------------------------------------------


class TestTags:
    def test_ints_and_tag_objects_become_tag_id_objects(self) -> None:
        assert check.tags([55, Tag(id=56, name="vip")]) == [{"tag_id": 55}, {"tag_id": 56}]

    def test_accepts_any_iterable_of_up_to_five(self) -> None:
        assert check.tags(iter(range(1, 6))) == [{"tag_id": n} for n in range(1, 6)]
        assert check.tags(()) == []

    def test_rejects_more_than_five(self) -> None:
        assert _field_of(lambda: check.tags([1, 2, 3, 4, 5, 6])) == "tags"

    @pytest.mark.parametrize(
        ("bad", "field"),
        [
            ([True], "tags[0]"),
            ([1, 0], "tags[1]"),
            ([-3], "tags[0]"),
            (["55"], "tags[0]"),
            ([1.0], "tags[0]"),
            ([Tag(id=0)], "tags[0]"),
            ("55", "tags"),
            ({55: "x"}, "tags"),
            (55, "tags"),
        ],
    )
    def test_rejects_non_positive_bool_and_foreign_items(self, bad: object, field: str) -> None:
        assert _field_of(lambda: check.tags(bad)) == field


class _Field(enum.IntEnum):
    PLAN = 123


class TestCustom:
    def test_keys_and_values_become_strings(self) -> None:
        values: dict[Any, Any] = {
            123: "Premium",
            "456": date(2024, 1, 15),
            7: 42,
            8: datetime(2024, 1, 15, 9, 30, tzinfo=timezone(timedelta(hours=1))),
            9: datetime(2024, 1, 15, 9, 30),
            _Field.PLAN: _Field.PLAN,
        }
        # The IntEnum key overwrote 123 (the same field id), as it would in a dict.
        assert check.custom(values) == {
            "123": "123",
            "456": "2024-01-15",
            "7": "42",
            "8": "2024-01-15T08:30:00Z",
            "9": "2024-01-15T09:30:00",
        }

    @pytest.mark.parametrize(
        ("bad", "field"),
        [
            ({"plan": "x"}, "custom"),
            ({"": "x"}, "custom"),
            ({-1: "x"}, "custom"),
            ({"١٢": "x"}, "custom"),
            ({True: "x"}, "custom"),
            ({1.0: "x"}, "custom"),
            ({None: "x"}, "custom"),
            ({1: True}, "custom[1]"),
            ({1: 1.5}, "custom[1]"),
            ({"2": None}, "custom[2]"),
            ({3: ["a"]}, "custom[3]"),
            ([("1", "a")], "custom"),
        ],
    )
    def test_rejects_foreign_keys_and_values(self, bad: object, field: str) -> None:
        assert _field_of(lambda: check.custom(bad)) == field


class TestAssignee:
    @pytest.mark.parametrize("value", [1, 42, UNASSIGN, None])
    def test_accepts_user_ids_unassign_and_none(self, value: int | None) -> None:
        assert check.assignee(value) == value

    @pytest.mark.parametrize("bad", [0, -2, True, "7", 7.0])
    def test_rejects_the_rest(self, bad: object) -> None:
        assert _field_of(lambda: check.assignee(bad)) == "assignee_id"


class TestContactBody:
    def test_leaves_out_what_was_not_given_and_sends_none_as_null(self) -> None:
        body = check.contact_body(
            {"first": "A", "last": UNSET, "email": None, "tags": UNSET, "is_opted_out": False}
        )
        assert body == {"first": "A", "email": None, "is_opted_out": False}

    @pytest.mark.parametrize(
        ("name", "bad"),
        [
            ("first", 1),
            ("last", b"x"),
            ("display_name", ["x"]),
            ("email", 5),
            ("avatar", object()),
            ("is_opted_out", "false"),
            ("is_opted_out", 0),
        ],
    )
    def test_rejects_wrong_types_naming_the_field(self, name: str, bad: object) -> None:
        assert _field_of(lambda: check.contact_body({name: bad})) == name


# -- ids ----------------------------------------------------------------------------------------


A_UUID = uuid.UUID("0b9e4f0e-7c1d-4d55-9a57-3c2f1e8d6a42")


class TestContactId:
    def test_accepts_positive_ints(self) -> None:
        assert check.contact_id(98765) == 98765

    # A fixed UUID: parameters must be the same in every process that collects them (xdist).
    @pytest.mark.parametrize("bad", [0, -1, True, "98765", 98765.0, None, A_UUID, str(A_UUID)])
    def test_rejects_everything_else(self, bad: object) -> None:
        assert _field_of(lambda: check.contact_id(bad)) == "contact_id"

    def test_a_uuid_is_pointed_at_v2(self) -> None:
        with pytest.raises(InvalidRequestError, match=r"client\.v2"):
            check.contact_id(str(uuid.uuid4()))

    @pytest.mark.parametrize("digits", ["42", " 42", "98765"])
    def test_a_string_of_digits_is_told_to_be_an_int(self, digits: str) -> None:
        # It used to suggest a UUID and client.v2, which a digit string is not (issue 14).
        with pytest.raises(InvalidRequestError) as info:
            check.contact_id(digits)
        assert "int(" in info.value.message
        assert "UUID" not in info.value.message

    def test_a_phone_given_as_an_id_is_pointed_at_the_phone_lookup_and_masked(self) -> None:
        with pytest.raises(InvalidRequestError) as info:
            check.contact_id("15105553344")
        assert "phone" in info.value.message
        assert "5105553344" not in str(info.value)


class TestContactUuid:
    @pytest.mark.parametrize(
        "value",
        [
            "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
            "A1B2C3D4-E5F6-7890-ABCD-EF1234567890",
            "a1b2c3d4e5f67890abcdef1234567890",
            uuid.UUID("a1b2c3d4-e5f6-7890-abcd-ef1234567890"),
        ],
    )
    def test_accepts_str_and_uuid_in_canonical_form(self, value: object) -> None:
        assert check.contact_uuid(value) == "a1b2c3d4-e5f6-7890-abcd-ef1234567890"

    def test_an_int_is_the_v1_id_mistake(self) -> None:
        with pytest.raises(InvalidRequestError, match="not the v1 integer id") as info:
            check.contact_uuid(98765)
        assert info.value.field == "contact_uuid"

    @pytest.mark.parametrize("bad", ["98765", "", "a1b2c3d4-e5f6", None, 1.5, b"x"])
    def test_rejects_what_is_not_a_uuid(self, bad: object) -> None:
        assert _field_of(lambda: check.contact_uuid(bad)) == "contact_uuid"

    @pytest.mark.parametrize(
        ("bad", "secret"),
        [("+1 (510) 555-3344", "555-3344"), ("avery.patel@example.com", "very.patel")],
    )
    def test_a_phone_or_email_given_as_a_uuid_is_masked(self, bad: str, secret: str) -> None:
        with pytest.raises(InvalidRequestError, match="is not a UUID") as info:
            check.contact_uuid(bad)
        assert secret not in str(info.value)

    def test_a_phone_given_as_a_timestamp_is_masked(self) -> None:
        with pytest.raises(InvalidRequestError, match="RFC 3339") as info:
            check.timestamp("15105553344", "since")
        assert "5553344" not in str(info.value)


# -- timestamps ---------------------------------------------------------------------------------


class TestTimestamp:
    @pytest.mark.parametrize(
        "text",
        [
            "2026-04-01T00:00:00Z",
            "2026-04-01T00:00:00.000Z",
            "2026-04-01T00:00:00.123456789Z",
            "2026-04-01t00:00:00z",
            "2026-04-01T02:00:00+02:00",
            "2026-04-01T00:00:00-07:00",
            "2026-04-01 00:00:00Z",
        ],
    )
    def test_an_rfc3339_string_is_sent_exactly_as_given(self, text: str) -> None:
        assert check.timestamp(text, "date") == text

    @pytest.mark.parametrize(
        "text",
        [
            "2026-04-01",  # a date, not a date-time
            "20260401T000000Z",  # ISO basic format, which Python 3.11's fromisoformat takes
            "2026-04-01T00:00:00",  # no offset: as ambiguous as a naive datetime
            "2026-13-01T00:00:00Z",
            "yesterday",
            "",
        ],
    )
    def test_rejects_strings_that_are_not_rfc3339_date_times(self, text: str) -> None:
        assert _field_of(lambda: check.timestamp(text, "since")) == "since"

    def test_an_aware_datetime_is_sent_in_utc_with_z(self) -> None:
        tz = timezone(timedelta(hours=-5))
        assert check.timestamp(datetime(2026, 4, 1, 7, tzinfo=tz), "d") == "2026-04-01T12:00:00Z"
        micro = datetime(2026, 4, 1, 12, 0, 0, 1500, tzinfo=timezone.utc)
        assert check.timestamp(micro, "d") == "2026-04-01T12:00:00.001500Z"

    def test_a_naive_datetime_is_rejected(self) -> None:
        with pytest.raises(InvalidRequestError, match="naive") as info:
            check.timestamp(datetime(2026, 4, 1), "date")
        assert info.value.field == "date"

    @pytest.mark.parametrize("bad", [1712000000, date(2026, 4, 1), None, 1.5])
    def test_rejects_other_types(self, bad: object) -> None:
        assert _field_of(lambda: check.timestamp(bad, "date")) == "date"


# -- v2 inputs ----------------------------------------------------------------------------------


class TestChannels:
    def test_pairs_and_objects_become_channel_objects(self) -> None:
        assert check.channels(
            [("phone", "+1 510 555 3344"), ContactChannel(channel_type="email", channel_id="a@b.c")]
        ) == [
            {"channel_type": "phone", "channel_id": "15105553344"},
            {"channel_type": "email", "channel_id": "a@b.c"},
        ]

    def test_other_channel_types_are_sent_as_given(self) -> None:
        assert check.channels([("facebook", "fb.123")]) == [
            {"channel_type": "facebook", "channel_id": "fb.123"}
        ]

    @pytest.mark.parametrize(
        ("bad", "field"),
        [
            ([], "channels"),
            ("phone", "channels"),
            (ContactChannel(channel_type="phone", channel_id="15105553344"), "channels"),
            (5, "channels"),
            ([("phone",)], "channels[0]"),
            ([("", "x")], "channels[0].channel_type"),
            ([("Email", "a@b.c")], "channels[0].channel_type"),
            ([(None, "x")], "channels[0].channel_type"),
            ([("email", "ab.c")], "channels[0].channel_id"),
            ([("phone", "555-1234")], "channels[0].channel_id"),
            ([("sms", "")], "channels[0].channel_id"),
            ([("sms", 5)], "channels[0].channel_id"),
        ],
    )
    def test_rejects_bad_channels_naming_the_item(self, bad: object, field: str) -> None:
        assert _field_of(lambda: check.channels(bad)) == field


class TestSearchValues:
    def test_without_a_type_phones_are_normalized_and_the_rest_sent_as_given(self) -> None:
        assert check.search_values(("+1 (415) 555-1234", "a@b.c", "fb-user-12345"), None) == [
            "14155551234",
            "a@b.c",
            "fb-user-12345",
        ]

    def test_with_a_type_each_value_is_checked_as_that_type(self) -> None:
        assert check.search_values(("+1 415.555.1234",), "phone") == ["14155551234"]
        assert check.search_values(("a@b.c",), "email") == ["a@b.c"]
        assert check.search_values(("fb 123",), "facebook") == ["fb 123"]

    @pytest.mark.parametrize(
        ("values", "kind", "field"),
        [
            ((), None, "values"),
            (("",), None, "values[0]"),
            (("  ",), None, "values[0]"),
            ((15105553344,), None, "values[0]"),
            (("a@b.c", "555-1234"), None, "values[1]"),
            (("a@b.c",), "phone", "values[0]"),
            (("15105553344",), "email", "values[0]"),
        ],
    )
    def test_rejects_bad_values_naming_the_item(
        self, values: tuple[object, ...], kind: str | None, field: str
    ) -> None:
        assert _field_of(lambda: check.search_values(values, kind)) == field

    @pytest.mark.parametrize("kind", [None, "phone", "email"])
    @pytest.mark.parametrize(
        "values", [(["15105553344"],), (("a@b.c", "15105553344"),), ("a@b.c", {"15105553344"})]
    )
    def test_a_list_where_values_go_is_told_to_be_unpacked(
        self, values: tuple[object, ...], kind: str | None
    ) -> None:
        # "values[0]: must be a non-empty string" did not say what was wrong (issue 14).
        with pytest.raises(InvalidRequestError) as info:
            check.search_values(values, kind)
        assert "search_contacts(*values)" in info.value.message
        assert "5105553344" not in str(info.value)


class TestNumbers:
    def test_bounded_int_accepts_the_bounds(self) -> None:
        assert check.bounded_int(1, "limit", 1, 100) == 1
        assert check.bounded_int(100, "limit", 1, 100) == 100
        assert check.bounded_int(10**6, "page", 0) == 10**6

    @pytest.mark.parametrize("bad", [0, 101, -1, True, 1.0, "5"])
    def test_bounded_int_rejects_the_rest(self, bad: object) -> None:
        assert _field_of(lambda: check.bounded_int(bad, "limit", 1, 100)) == "limit"

    def test_the_message_says_the_bounds(self) -> None:
        with pytest.raises(InvalidRequestError, match="between 1 and 100, got 0"):
            check.bounded_int(0, "limit", 1, 100)
        with pytest.raises(InvalidRequestError, match="at least 0, got -1"):
            check.bounded_int(-1, "page", 0)

    @pytest.mark.parametrize("bad", [1, 0, "true", None])
    def test_boolean_takes_only_bools(self, bad: object) -> None:
        assert _field_of(lambda: check.boolean(bad, "ascending")) == "ascending"


# -- what JSON can carry --------------------------------------------------------------------------

# A lone surrogate: what a name read with errors="surrogateescape" holds. It is a valid str but
# has no UTF-8 form, so no JSON encoder can send it.
LONE = "bad \ud800 text"


class TestTextThatCannotBeSent:
    @pytest.mark.parametrize(
        ("call", "field"),
        [
            (lambda: check.contact_body({"first": LONE}), "first"),
            (lambda: check.contact_body({"last": LONE}), "last"),
            (lambda: check.contact_body({"display_name": LONE}), "display_name"),
            (lambda: check.contact_body({"email": "bad\ud800@x.y"}), "email"),
            (lambda: check.contact_body({"avatar": LONE}), "avatar"),
            (lambda: check.custom({1: LONE}), "custom[1]"),
            (lambda: check.channels([("sms", LONE)]), "channels[0].channel_id"),
            (lambda: check.channels([("email", "bad\ud800@x.y")]), "channels[0].channel_id"),
            (lambda: check.search_values(("ok", LONE), None), "values[1]"),
            (lambda: check.search_values((LONE,), "sms"), "values[0]"),
            (lambda: check.field_titles(["Plan", LONE]), "titles[1]"),
            (lambda: check.tag_body(LONE, UNSET), "name"),
            (lambda: check.tag_body("VIP", LONE), "color"),
            (
                lambda: check.v1_batch_item({"phone": "15105553344", "last": LONE}, 0),
                "contacts[0].last",
            ),
            (
                lambda: check.v2_bulk_item({"channels": [("sms", "a")], "first": LONE}, 0),
                "contacts[0].first",
            ),
        ],
    )
    def test_a_lone_surrogate_is_refused_naming_the_field(
        self, call: Callable[[], object], field: str
    ) -> None:
        with pytest.raises(InvalidRequestError, match="UTF-8") as info:
            call()
        assert info.value.field == field

    def test_any_text_with_a_utf8_form_passes(self) -> None:
        text = "Zoë 😀 \u4e2d\u6587 \ud7ff\ue000"
        assert check.contact_body({"first": text}) == {"first": text}
        assert check.custom({1: text}) == {"1": text}
        assert check.channels([("sms", text)]) == [{"channel_type": "sms", "channel_id": text}]


class TestNumbersThatCannotBeSent:
    """Ids must fit the API's 64-bit signed integers: 1 to 2**63 - 1."""

    @pytest.mark.parametrize("number", [2**63, 2**64, 10**30])
    @pytest.mark.parametrize(
        ("call", "field"),
        [
            (check.contact_id, "contact_id"),
            (check.tag_id, "tag_id"),
            (lambda n: check.tags([1, n]), "tags[1]"),
            (check.assignee, "assignee_id"),
            (lambda n: check.bounded_int(n, "page", 0), "page"),
            (lambda n: check.contact_lookup(n, None), "contact_id"),
        ],
    )
    def test_an_int_beyond_64_bits_is_refused_naming_the_field(
        self, call: Callable[[object], object], field: str, number: int
    ) -> None:
        with pytest.raises(InvalidRequestError, match=r"2\*\*63") as info:
            call(number)
        assert info.value.field == field

    def test_the_largest_64_bit_id_passes(self) -> None:
        top = 2**63 - 1
        assert check.contact_id(top) == check.tag_id(top) == check.assignee(top) == top
        assert check.tags([top]) == [{"tag_id": top}]

    def test_a_custom_value_or_key_too_long_to_write_is_refused(self) -> None:
        # str() of an int of more than 4300 digits raises a bare ValueError (CVE-2020-10735).
        assert _field_of(lambda: check.custom({1: 10**5000})) == "custom[1]"
        assert _field_of(lambda: check.custom({10**5000: "x"})) == "custom"


@pytest.mark.parametrize(
    ("ident", "number", "message"),
    [(None, None, "give contact_id or phone$"), (1, "15105553344", "not both")],
)
def test_a_status_lookup_needs_exactly_one_of_id_and_phone(
    ident: object, number: object, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message) as info:
        check.contact_lookup(ident, number)
    assert info.value.field == "contact_id"


class TestChannelValues:
    @pytest.mark.parametrize(
        "written", ["avery@example.com\n", "  avery@example.com", "avery@example.com"]
    )
    def test_an_email_is_sent_without_the_whitespace_around_it(self, written: str) -> None:
        assert check.channel_id("email", written) == "avery@example.com"
        assert check.search_values((written,), None) == ["avery@example.com"]

    @pytest.mark.parametrize("bad", ["@", "avery@", "@example.com", "avery"])
    def test_an_email_needs_text_on_both_sides_of_the_at(self, bad: str) -> None:
        with pytest.raises(InvalidRequestError, match="not an email address"):
            check.channel_id("email", bad)


class TestCustomKeys:
    def test_a_key_with_leading_zeros_is_the_same_field(self) -> None:
        assert check.custom({"007": "a", 8: "b"}) == {"7": "a", "8": "b"}

    @pytest.mark.parametrize("bad", ["0", 0, "1" * 20])
    def test_a_key_that_is_no_field_id_is_refused(self, bad: object) -> None:
        assert _field_of(lambda: check.custom({bad: "x"})) == "custom"

    def test_an_unwritable_datetime_names_its_custom_field(self) -> None:
        east = timezone(timedelta(hours=5))
        assert _field_of(lambda: check.custom({123: datetime.min.replace(tzinfo=east)})) == (
            "custom[123]"
        )


class TestEmailField:
    @pytest.mark.parametrize(
        ("given", "sent"),
        [(" avery@example.com\n", "avery@example.com"), ("", ""), (None, None)],
    )
    def test_is_sent_trimmed_and_may_be_cleared(self, given: object, sent: object) -> None:
        assert check.contact_body({"email": given}) == {"email": sent}

    @pytest.mark.parametrize("bad", ["a@@b.com", "avery", "@b.com", "a@", "a b@c.com", 5])
    def test_what_is_not_an_address_is_refused(self, bad: object) -> None:
        assert _field_of(lambda: check.contact_body({"email": bad})) == "email"


class TestCheckNamespace:
    """``_validate`` is a package; its callers reach every check as ``check.<name>``."""

    def test_every_name_the_sdk_calls_is_exported(self) -> None:
        package = Path(check.__file__).parent.parent
        used = set()
        for path in package.rglob("*.py"):
            if path.parent.name == "_validate":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "check"
                ):
                    used.add(node.attr)
        assert used, "no caller found: the SDK no longer uses `check.`?"
        assert used <= set(check.__all__), used - set(check.__all__)

    def test_every_exported_name_resolves(self) -> None:
        assert [name for name in check.__all__ if not hasattr(check, name)] == []


class TestPersonalDataInMessages:
    """An email or phone given where a key, a status or a field name goes is masked in the
    error (issue 14); the masking is _redact.mask's."""

    EMAIL = "jordan.rivera@example.com"

    @pytest.mark.parametrize(
        "fn",
        [
            lambda v: check.custom({v: "x"}),
            lambda v: check.custom({(v,): "x"}),
            lambda v: check.status(v),
            lambda v: check.contact_body({"custom": {v: 1}}),
            lambda v: check.v1_batch_item({"phone": "15105553344", v: 1}, 0),
            lambda v: check.v2_bulk_item({"channels": [("phone", "15105553344")], v: 1}, 0),
            lambda v: check.channels([{"channel_type": "email", "channel_id": "a@b.c", v: 1}]),
            lambda v: check.tags([{"tag_id": 5, v: 1}]),
        ],
    )
    @pytest.mark.parametrize("value", [EMAIL, "+1 (510) 555-3344"])
    def test_is_masked(self, fn: Callable[[str], object], value: str) -> None:
        with pytest.raises(InvalidRequestError) as info:
            fn(value)
        text = str(info.value)
        assert "jordan.rivera" not in text
        assert "555-3344" not in text
        assert "5553344" not in text


def _endless(item: object, stop_at: int = 2_000_000) -> Iterator[object]:
    """Endless as far as the code reading it can tell; fails the test (rather than filling the
    memory) if read past ``stop_at`` items."""
    for _ in range(stop_at):
        yield item
    raise AssertionError(f"read {stop_at} items of an endless iterable")


class TestInfiniteInput:
    """An endless iterable is refused after a bounded read, never read to a MemoryError or a
    hang (issue 14)."""

    def test_bulk_items_are_read_up_to_the_documented_maximum(self) -> None:
        assert check.MAX_BULK_ITEMS == 1_000_000
        with pytest.raises(InvalidRequestError) as info:
            check.items(_endless(0), "contacts")
        assert info.value.field == "contacts"
        assert "1,000,000" in info.value.message

    def test_the_maximum_itself_is_taken(self) -> None:
        assert len(check.items(itertools.repeat(0, check.MAX_BULK_ITEMS), "contacts")) == (
            check.MAX_BULK_ITEMS
        )

    def test_at_most_max_plus_one_items_are_read(self) -> None:
        source = iter(range(check.MAX_BULK_ITEMS + 10))
        with pytest.raises(InvalidRequestError):
            check.items(source, "contact_uuids")
        assert next(source) == check.MAX_BULK_ITEMS + 1

    @pytest.mark.parametrize(
        ("fn", "field"),
        [
            (lambda: check.tags(_endless(5, 10_000)), "tags"),
            (lambda: check.channels(_endless(("phone", "15105553344"), 10_000)), "channels"),
            (lambda: check.field_titles(_endless("Plan", 10_000)), "titles"),
            (
                lambda: check.v2_bulk_item({"contact_channels": _endless(("sms", "x"), 10_000)}, 2),
                "contacts[2].contact_channels",
            ),
        ],
    )
    def test_other_lists_are_bounded_too(self, fn: Callable[[], object], field: str) -> None:
        assert _field_of(fn) == field
