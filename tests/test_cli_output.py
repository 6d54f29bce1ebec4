"""The export encoders: JSONL keeps every field, CSV has one column per field, both per page."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async import Contact, ContactChannel, ContactField, Tag
from heymarket_async._cli._output import (
    STANDARD_COLUMNS,
    CsvEncoder,
    JsonlEncoder,
    contact_line,
    contact_record,
    csv_columns,
)
from heymarket_async._convert import CONVERTER, structure_contact

# No NUL: Python 3.10's csv cannot write it (see test_a_nul_character_never_fails_the_page).
texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
opt_texts = st.none() | texts
opt_ints = st.none() | st.integers(min_value=0, max_value=2**53)
times = st.none() | st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-7))]),
)
contacts = st.builds(
    Contact,
    id=opt_ints,
    uuid=opt_texts,
    phone=opt_texts,
    first=opt_texts,
    last=opt_texts,
    display_name=opt_texts,
    email=opt_texts,
    custom=st.dictionaries(st.integers(1, 50).map(str), texts, max_size=4),
    tags=st.lists(st.builds(Tag, id=st.integers(1, 999), name=opt_texts), max_size=3).map(tuple),
    contact_channels=st.lists(
        st.builds(
            ContactChannel, channel_type=st.sampled_from(["phone", "email"]), channel_id=texts
        ),
        max_size=2,
    ).map(tuple),
    assigned_user_id=opt_ints,
    is_opted_out=st.none() | st.booleans(),
    avatar=opt_texts,
    created=times,
    updated=times,
    rev=opt_ints,
    team_id=opt_ints,
    shared=st.none() | st.booleans(),
    note=st.lists(texts, max_size=2).map(tuple),
)

#: Tags as the tag endpoints give them, with times (a contact's tags come without).
timed_tags = st.builds(
    Contact,
    tags=st.lists(
        st.builds(Tag, id=st.integers(1, 999), color=opt_texts, created=times, updated=times),
        max_size=2,
    ).map(tuple),
)


def _plain(data: Any) -> Any:
    """What a JSON round trip makes of it (tuples become lists)."""
    return json.loads(json.dumps(data))


#: What the API may send in the fields the converter passes through unchecked.
raw_values = st.none() | texts | st.booleans() | st.integers() | st.floats(allow_nan=False)
odd_contacts = st.builds(
    Contact,
    first=raw_values,
    last=raw_values,
    display_name=raw_values,
    email=raw_values,
    avatar=raw_values,
    op=raw_values,
    type=raw_values,
    is_opted_out=raw_values,
    shared=raw_values,
    note=st.lists(raw_values | st.dictionaries(texts, raw_values, max_size=2), max_size=3).map(
        tuple
    ),
)


class TestJsonl:
    @given(contacts | odd_contacts | timed_tags)
    def test_line_is_the_record_encoded(self, contact: Contact) -> None:
        expected = json.dumps(contact_record(contact), ensure_ascii=False, separators=(",", ":"))
        assert contact_line(contact) == expected

    @given(contacts | timed_tags)
    def test_record_is_what_the_converter_unstructures(self, contact: Contact) -> None:
        assert _plain(contact_record(contact)) == _plain(CONVERTER.unstructure(contact))

    def test_record_has_every_model_field_in_order(self) -> None:
        record = contact_record(Contact(tags=(Tag(id=1),)))
        # ``extra`` (the keys the SDK has no field for) is not a column of its own.
        assert list(record) == [f.name for f in attrs.fields(Contact) if f.name != "extra"]
        assert list(record["tags"][0]) == [f.name for f in attrs.fields(Tag) if f.name != "extra"]

    @given(st.lists(contacts, max_size=5))
    def test_each_line_structures_back_to_the_same_contact(self, page: list[Contact]) -> None:
        data = JsonlEncoder().encode(page)
        # Split on "\n" only: JSON strings may hold U+2028 or U+0085 as they are.
        lines = data.decode("utf-8").split("\n")[:-1]
        assert len(lines) == len(page)
        for line, contact in zip(lines, page, strict=True):
            back = structure_contact(json.loads(line))
            # Timestamps come back in UTC: compare instants, the rest field by field.
            assert back == attrs.evolve(
                contact,
                created=back.created if contact.created == back.created else contact.created,
                updated=back.updated if contact.updated == back.updated else contact.updated,
            )

    @given(st.lists(contacts, max_size=4))
    def test_both_json_back_ends_write_the_same_bytes(self, page: list[Contact]) -> None:
        # Without orjson installed, the "orjson" path runs _sansio's stdlib json_dumps.
        assert JsonlEncoder(use_orjson=True).encode(page) == JsonlEncoder(use_orjson=False).encode(
            page
        )

    def test_a_lone_surrogate_is_written_as_its_json_escape(self) -> None:
        # What a "\\ud800" escape in a response decodes to: not UTF-8, still valid JSON out.
        for enc in (JsonlEncoder(use_orjson=True), JsonlEncoder(use_orjson=False)):
            line = enc.encode([Contact(id=1, first="a\ud800b")])
            assert json.loads(line)["first"] == "a\ud800b"

    def test_page_ends_with_a_newline_and_header_is_empty(self) -> None:
        enc = JsonlEncoder()
        assert enc.header() == b""
        assert enc.encode([Contact(id=1), Contact(id=2)]).endswith(b"}\n")
        assert enc.encode([]) == b""

    def test_non_ascii_is_written_as_utf8(self) -> None:
        line = JsonlEncoder(use_orjson=False).encode([Contact(first="Zoë")])
        assert "Zoë".encode() in line

    def test_datetimes_are_rfc3339_utc(self) -> None:
        when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
        record = json.loads(JsonlEncoder().encode([Contact(updated=when)]))
        assert record["updated"] == "2024-05-01T10:00:00Z"


class TestCsvColumns:
    def test_standard_columns_are_the_model_fields_but_custom(self) -> None:
        assert list(STANDARD_COLUMNS) == [
            f.name for f in attrs.fields(Contact) if f.name not in ("custom", "extra")
        ]

    def test_custom_columns_are_named_by_field_name_or_id(self) -> None:
        fields = [ContactField(id=12, name="Plan"), ContactField(id=13, name=None)]
        assert csv_columns(fields)[-2:] == ["Plan", "13"]

    def test_clashing_names_get_their_id(self) -> None:
        fields = [
            ContactField(id=1, name="Plan"),
            ContactField(id=2, name="Plan"),
            ContactField(id=3, name="email"),
        ]
        assert csv_columns(fields)[-3:] == ["Plan (1)", "Plan (2)", "email (3)"]

    def test_a_renamed_column_never_takes_a_name_already_given(self) -> None:
        fields = [
            ContactField(id=5, name="Plan (12)"),
            ContactField(id=12, name="Plan"),
            ContactField(id=13, name="Plan"),
        ]
        assert csv_columns(fields)[-3:] == ["Plan (12)", "Plan (12) (12)", "Plan (13)"]
        fields = [
            ContactField(id=12, name="Plan"),
            ContactField(id=13, name="Plan"),
            ContactField(id=5, name="Plan (12)"),
            ContactField(id=6, name="5"),
            ContactField(id=5, name=None),
        ]
        assert csv_columns(fields)[-5:] == [
            "Plan (12)",
            "Plan (13)",
            "Plan (12) (5)",
            "5 (6)",
            "5 (5)",
        ]

    @given(
        st.lists(
            st.builds(
                ContactField,
                id=st.integers(min_value=1, max_value=20),
                name=st.none() | st.sampled_from(["Plan", "Plan (3)", "Plan (3) (3)", "3", "id"]),
            ),
            max_size=8,
        )
    )
    def test_every_column_name_is_unique(self, fields: list[ContactField]) -> None:
        columns = csv_columns(fields)
        assert len(columns) == len(set(columns)) == len(STANDARD_COLUMNS) + len(fields)


def _rows(enc: CsvEncoder, page: list[Contact]) -> list[dict[str, str]]:
    text = (enc.header() + enc.encode(page)).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


class TestCsv:
    def _encoder(self, fields: list[ContactField]) -> CsvEncoder:
        return CsvEncoder([str(f.id) for f in fields], csv_columns(fields))

    @given(st.lists(contacts, min_size=1, max_size=5))
    def test_each_standard_cell_holds_its_field(self, page: list[Contact]) -> None:
        rows = _rows(self._encoder([]), page)
        assert len(rows) == len(page)
        for row, c in zip(rows, page, strict=True):
            assert list(row) == list(STANDARD_COLUMNS)
            for name in ("id", "uuid", "phone", "first", "last", "email", "rev", "team_id"):
                value = getattr(c, name)
                assert row[name] == ("" if value is None else str(value)), name
            expected_opt = {None: "", True: "true", False: "false"}[c.is_opted_out]
            assert row["is_opted_out"] == expected_opt
            assert row["tags"] == ";".join(str(t.id) for t in c.tags)
            if c.updated is None:
                assert row["updated"] == ""
            else:
                assert datetime.fromisoformat(row["updated"].replace("Z", "+00:00")) == c.updated
            assert (json.loads(row["note"]) if row["note"] else []) == list(c.note)

    def test_custom_values_land_under_their_field(self) -> None:
        fields = [ContactField(id=12, name="Plan"), ContactField(id=13, name="Region")]
        enc = self._encoder(fields)
        rows = _rows(enc, [Contact(custom={"13": "EU"}), Contact(custom={"12": "Pro, yearly"})])
        assert [(r["Plan"], r["Region"]) for r in rows] == [("", "EU"), ("Pro, yearly", "")]
        assert enc.unlisted_fields == set()

    def test_values_of_unlisted_fields_are_reported(self) -> None:
        enc = self._encoder([ContactField(id=12, name="Plan")])
        _rows(enc, [Contact(custom={"12": "a", "99": "b"})])
        assert enc.unlisted_fields == {"99"}

    def test_a_lone_surrogate_never_fails_the_page(self) -> None:
        rows = _rows(self._encoder([]), [Contact(id=1, first="a\ud800b")])
        assert rows[0]["first"] == "a\\ud800b"

    def test_a_nul_character_never_fails_the_page(self) -> None:
        # Python 3.10's csv refuses NUL; 3.11 and later write it.
        rows = _rows(self._encoder([]), [Contact(id=1, first="a\x00b", last="c")])
        assert rows[0]["first"] in ("a\x00b", "ab")
        assert (rows[0]["id"], rows[0]["last"]) == ("1", "c")

    def test_quotes_and_newlines_survive(self) -> None:
        rows = _rows(self._encoder([]), [Contact(first='a "b",\nc')])
        assert rows[0]["first"] == 'a "b",\nc'
