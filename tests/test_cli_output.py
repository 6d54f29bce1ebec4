"""The export encoders, per page: JSONL as the API sent it (or normalized), CSV flattened."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async import Contact, ContactChannel, ContactField, Tag
from heymarket_async._cli._output import (
    STANDARD_COLUMNS,
    CsvEncoder,
    JsonlEncoder,
    RawJsonlEncoder,
    contact_line,
    contact_record,
    csv_columns,
    formula_guarded,
)
from heymarket_async._convert import CONVERTER, structure_contact
from heymarket_async._sansio.response import loads_with_texts

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
    id=st.integers(min_value=0, max_value=2**53),
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
        record = contact_record(Contact(id=1, tags=(Tag(id=1),)))
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
        line = JsonlEncoder(use_orjson=False).encode([Contact(id=1, first="Zoë")])
        assert "Zoë".encode() in line

    def test_datetimes_are_rfc3339_utc(self) -> None:
        when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
        record = json.loads(JsonlEncoder().encode([Contact(id=1, updated=when)]))
        assert record["updated"] == "2024-05-01T10:00:00Z"


class TestCsvColumns:
    def test_standard_columns_are_the_model_fields_but_custom(self) -> None:
        assert list(STANDARD_COLUMNS) == [
            f.name for f in attrs.fields(Contact) if f.name not in ("custom", "extra")
        ]

    def test_custom_columns_are_named_by_field_name_or_id(self) -> None:
        fields = [ContactField(id=12, name="Plan"), ContactField(id=13, name=None)]
        assert csv_columns(fields)[-2:] == ["Plan", "13"]

    def test_names_guarded_into_one_get_their_id(self) -> None:
        # The header writes "=x" as "'=x": beside a field named "'=x", the two would be one.
        fields = [ContactField(id=1, name="=x"), ContactField(id=2, name="'=x")]
        assert csv_columns(fields, guard=True)[-2:] == ["'=x (1)", "'=x (2)"]
        assert csv_columns(fields)[-2:] == ["=x", "'=x"]
        encoder = CsvEncoder(["1", "2"], csv_columns(fields, guard=True))
        header = next(csv.reader(io.StringIO(encoder.header().decode())))
        assert len(set(header)) == len(header)

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


def _rows(enc: CsvEncoder, page: list[Any]) -> list[dict[str, str]]:
    """The rows ``enc`` writes for ``page`` (typed contacts are given as their records)."""
    records = [contact_record(c) if isinstance(c, Contact) else c for c in page]
    text = (enc.header() + enc.encode(records)).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


class TestCsv:
    def _encoder(self, fields: list[ContactField], *, guard: bool = False) -> CsvEncoder:
        return CsvEncoder([str(f.id) for f in fields], csv_columns(fields), formula_guard=guard)

    @given(st.lists(contacts, min_size=1, max_size=5))
    def test_each_standard_cell_holds_its_field(self, page: list[Contact]) -> None:
        # Unguarded: the text strategies make cells that start with "=" or "-".
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
        rows = _rows(
            enc, [Contact(id=1, custom={"13": "EU"}), Contact(id=2, custom={"12": "Pro, yearly"})]
        )
        assert [(r["Plan"], r["Region"]) for r in rows] == [("", "EU"), ("Pro, yearly", "")]
        assert enc.unplaced == {}

    def test_values_of_unlisted_fields_are_reported(self) -> None:
        enc = self._encoder([ContactField(id=12, name="Plan")])
        _rows(
            enc, [Contact(id=1, custom={"12": "a", "99": "b"}), Contact(id=2, custom={"99": "c"})]
        )
        assert enc.unplaced == {"custom field 99": 2}

    def test_a_lone_surrogate_never_fails_the_page(self) -> None:
        rows = _rows(self._encoder([]), [Contact(id=1, first="a\ud800b")])
        assert rows[0]["first"] == "a\\ud800b"

    def test_a_nul_character_never_fails_the_page(self) -> None:
        # Python 3.10's csv refuses NUL; 3.11 and later write it.
        rows = _rows(self._encoder([]), [Contact(id=1, first="a\x00b", last="c")])
        assert rows[0]["first"] in ("a\x00b", "ab")
        assert (rows[0]["id"], rows[0]["last"]) == ("1", "c")

    def test_quotes_and_newlines_survive(self) -> None:
        rows = _rows(self._encoder([]), [Contact(id=1, first='a "b",\nc')])
        assert rows[0]["first"] == 'a "b",\nc'


#: JSON values as a decoder gives them: what the API may send anywhere in a contact.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
api_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=8)

#: A contact as the emulator (and the API) sends it, plus a key the SDK has no field for.
SENT = {
    "id": 42,
    "uuid": "7fc9967e-a25e-4a21-8373-000000000042",
    "phone": "15105550042",
    "first": "Zoë",
    "custom": {"123": "Premium"},
    "tags": [{"tag_id": 61}, {"tag_id": 60}],
    "contact_channels": [{"channel_type": "phone", "channel_id": "15105550042"}],
    "loyalty_tier": {"level": "gold", "since": "2023-07-01T00:00:00.5Z", "points": 1.25},
    "is_opted_out": False,
    "created": "2023-01-02T03:04:05.000Z",
    "updated": "2024-01-02T03:04:05.120Z",
    "rev": 3,
}


def _both_back_ends() -> list[RawJsonlEncoder]:
    # Without orjson installed, the "orjson" encoder runs _sansio's stdlib json_dumps.
    return [RawJsonlEncoder(use_orjson=True), RawJsonlEncoder(use_orjson=False)]


class TestRawJsonl:
    def test_a_contact_is_written_as_the_api_sent_it(self) -> None:
        sent = json.dumps(SENT, ensure_ascii=False, separators=(",", ":")).encode()
        for enc in _both_back_ends():
            assert enc.encode([json.loads(sent)]) == sent + b"\n"

    def test_unknown_keys_tags_and_times_are_kept_exactly(self) -> None:
        for enc in _both_back_ends():
            (line,) = enc.encode([dict(SENT)]).splitlines()
            back = json.loads(line)
            assert back["loyalty_tier"] == SENT["loyalty_tier"]
            assert back["tags"] == [{"tag_id": 61}, {"tag_id": 60}]
            assert b'"updated":"2024-01-02T03:04:05.120Z"' in line
            assert b'"created":"2023-01-02T03:04:05.000Z"' in line
            assert list(back) == list(SENT)  # the API's key order

    def test_a_number_past_a_doubles_range_is_written_as_json(self) -> None:
        # 1e400 decodes to infinity; the encoder's own spelling of it, Infinity, is not JSON.
        sent = json.loads('{"id":1,"score":1e400,"low":[-1e400],"note":"Infinity"}')
        (line,) = RawJsonlEncoder(use_orjson=False).encode([sent]).splitlines()

        def refuse(token: str) -> Any:
            raise ValueError(f"not JSON: {token}")

        assert json.loads(line, parse_constant=refuse) == sent
        assert line == b'{"id":1,"score":1e999,"low":[-1e999],"note":"Infinity"}'

    @given(st.lists(api_objects, max_size=4))
    def test_every_line_decodes_to_the_object_in_its_key_order(
        self, page: list[dict[str, Any]]
    ) -> None:
        for enc in _both_back_ends():
            data = enc.encode(page)
            lines = data.decode("utf-8").split("\n")
            assert lines.pop() == ""
            assert len(lines) == len(page)
            for line, sent in zip(lines, page, strict=True):
                back = json.loads(line)
                assert back == sent
                assert list(back) == list(sent)

    @given(st.lists(api_objects, max_size=4))
    def test_both_json_back_ends_write_equivalent_json(self, page: list[dict[str, Any]]) -> None:
        fast, std = (enc.encode(page) for enc in _both_back_ends())
        assert [json.loads(line) for line in fast.splitlines()] == [
            json.loads(line) for line in std.splitlines()
        ]

    def test_a_page_with_its_texts_is_written_as_those_bytes(self) -> None:
        """The API's own spelling stays (escapes, exponents, spaces): nothing is encoded."""
        body = b'[{"id":1,"first":"Zo\\u00eb","n":1E16},{"id": 2, "tags" : [{"tag_id":61}]}]'
        page = loads_with_texts(body)
        for enc in _both_back_ends():
            assert enc.encode(page) == (
                b'{"id":1,"first":"Zo\\u00eb","n":1E16}\n{"id": 2, "tags" : [{"tag_id":61}]}\n'
            )
            assert enc.encode(page.tail(1)) == b'{"id": 2, "tags" : [{"tag_id":61}]}\n'

    def test_a_contact_whose_text_spans_lines_is_encoded_again(self) -> None:
        page = loads_with_texts(b'[{"id":1},{"id":\n2,"a":"b"},{"id":3}]')
        for enc in _both_back_ends():
            assert enc.encode(page) == b'{"id":1}\n{"id":2,"a":"b"}\n{"id":3}\n'

    def test_only_the_encoder_without_orjson_asks_for_texts(self) -> None:
        assert RawJsonlEncoder(use_orjson=False).wants_texts
        assert not RawJsonlEncoder(use_orjson=True).wants_texts

    def test_what_orjson_refuses_is_written_by_the_standard_library(self) -> None:
        # A lone surrogate (a "\\ud800" escape decoded) and an integer beyond 64 bits.
        for enc in _both_back_ends():
            data = enc.encode([{"id": 2**65, "first": "a\ud800b"}])
            assert data == b'{"id":36893488147419103232,"first":"a\\ud800b"}\n'
            assert json.loads(data) == {"id": 2**65, "first": "a\ud800b"}

    def test_non_ascii_is_utf8_and_a_page_ends_with_a_newline(self) -> None:
        for enc in _both_back_ends():
            assert enc.header() == b""
            assert enc.encode([]) == b""
            assert enc.encode([{"first": "Zoë"}, {"first": "東京"}]) == (
                '{"first":"Zoë"}\n{"first":"東京"}\n'.encode()
            )


#: Cells that a spreadsheet would run, one per character OWASP names.
FORMULAS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1"]


class TestFormulaGuard:
    @pytest.mark.parametrize("text", FORMULAS)
    def test_a_cell_starting_a_formula_gets_a_quote(self, text: str) -> None:
        assert formula_guarded(text) == "'" + text

    @pytest.mark.parametrize("text", ["-5", "+15105550001", "-5.25", "+0", "42"])
    def test_a_plain_number_is_written_as_it_is(self, text: str) -> None:
        assert formula_guarded(text) == text

    @pytest.mark.parametrize("text", ["=5", "+1 510 555 0001", "-5e3", "--5", "-", "+", "@"])
    def test_what_is_more_than_a_plain_number_is_guarded(self, text: str) -> None:
        assert formula_guarded(text) == "'" + text

    @pytest.mark.parametrize("text", ["", "'=1", "a=1", " =1", "Zoë", "2024-01-02T03:04:05Z"])
    def test_other_text_is_untouched(self, text: str) -> None:
        assert formula_guarded(text) == text


def _api_rows(page: list[dict[str, Any]], **options: Any) -> tuple[list[list[str]], CsvEncoder]:
    """The header and rows written for ``page``, custom field 123 named ``Plan``."""
    fields = [ContactField(id=123, name=options.pop("field_name", "Plan"))]
    enc = CsvEncoder(["123"], csv_columns(fields), **options)
    text = (enc.header() + enc.encode(page)).decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline=""))), enc


def _expected_cell(value: Any) -> str:
    """What a cell holds for a value, written out independently of the encoder."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value if isinstance(value, str) else repr(value)


#: Text cells without NUL (Python 3.10's csv drops it) or lone surrogates.
csv_texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8
)
csv_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | csv_texts,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(csv_texts, inner, max_size=2),
    max_leaves=4,
)


class TestCsvFromTheApi:
    def test_values_are_written_as_sent(self) -> None:
        [header, row], enc = _api_rows([dict(SENT)])
        cells = dict(zip(header, row, strict=True))
        assert cells["updated"] == "2024-01-02T03:04:05.120Z"
        assert cells["created"] == "2023-01-02T03:04:05.000Z"
        assert cells["tags"] == "61;60"
        assert cells["contact_channels"] == "phone:15105550042"
        assert (cells["first"], cells["is_opted_out"], cells["Plan"]) == ("Zoë", "false", "Premium")
        assert (cells["id"], cells["rev"], cells["avatar"]) == ("42", "3", "")
        assert enc.unplaced == {"loyalty_tier": 1}

    def test_keys_without_a_column_are_counted_per_contact(self) -> None:
        page = [
            {"id": 1, "loyalty_tier": "gold", "custom": {"123": "a", "9": "x"}},
            {"id": 2, "loyalty_tier": None, "badge": 1},
            {"id": 3, "custom": "not an object"},
        ]
        _, enc = _api_rows(page)
        assert enc.unplaced == {"loyalty_tier": 2, "badge": 1, "custom field 9": 1, "custom": 1}

    def test_keys_of_tags_and_channels_its_cells_leave_out_are_counted(self) -> None:
        # A fuller tag's name, a channel's status: written neither in "61" nor "phone:1".
        page = [
            {
                "id": 1,
                "tags": [{"tag_id": 61, "name": "VIP"}, {"tag_id": 62, "name": "x", "by": 9}],
                "contact_channels": [{"channel_type": "phone", "channel_id": "1", "status": "ok"}],
            },
            {"id": 2, "tags": [{"tag_id": 61}, {"id": 5}], "contact_channels": []},
            {"id": 3, "tags": [{"tag_id": 61, "id": 61}]},
        ]
        rows, enc = _api_rows(page)
        assert [row[rows[0].index("tags")] for row in rows[1:]] == ["61;62", "61;5", "61"]
        assert enc.unplaced == {"tags.name": 1, "tags.by": 1, "contact_channels.status": 1}

    @pytest.mark.parametrize(
        ("key", "value", "cell"),
        [
            ("first", True, "true"),
            ("avatar", {"url": "x", "size": 2}, '{"url":"x","size":2}'),
            ("rev", 1.5, "1.5"),
            ("note", ["a", {"b": 1}], '["a",{"b":1}]'),
            ("note", "plain text", "plain text"),
            ("note", [], ""),
            ("tags", [61, "62", {"id": 63, "name": "VIP"}], "61;62;63"),
            ("tags", [{"name": "no id"}], '[{"name":"no id"}]'),
            ("contact_channels", [{"channel_type": "phone"}], '[{"channel_type":"phone"}]'),
            ("contact_channels", "sms", "sms"),
            ("shared", 0, "0"),
        ],
    )
    def test_a_value_of_another_shape_keeps_its_content(
        self, key: str, value: Any, cell: str
    ) -> None:
        [header, row], _ = _api_rows([{"id": 1, key: value}])
        assert row[header.index(key)] == cell

    @given(
        st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    **dict.fromkeys(("id", "first", "avatar", "rev", "updated"), csv_values),
                    "custom": st.dictionaries(st.sampled_from(["123", "9"]), csv_values),
                },
            ),
            min_size=1,
            max_size=4,
        ),
        st.booleans(),
    )
    def test_each_cell_is_its_value_guarded_or_not(
        self, page: list[dict[str, Any]], guard: bool
    ) -> None:
        [header, *rows], _ = _api_rows(page, formula_guard=guard)
        assert len(rows) == len(page)
        for row, sent in zip(rows, page, strict=True):
            cells = dict(zip(header, row, strict=True))
            custom = sent.get("custom") or {}
            for column, value in [
                *((k, sent.get(k)) for k in ("id", "first", "avatar", "rev", "updated")),
                ("Plan", custom.get("123")),
            ]:
                expected = _expected_cell(value)
                if guard and isinstance(value, str):
                    expected = formula_guarded(expected)
                assert cells[column] == expected, column

    @pytest.mark.parametrize("text", FORMULAS)
    def test_every_text_cell_starting_a_formula_is_guarded(self, text: str) -> None:
        sent = {
            "id": 1,
            "first": text,
            "custom": {"123": text},
            "contact_channels": [{"channel_type": text, "channel_id": "x"}],
            "tags": [text],
        }
        [header, row], _ = _api_rows([sent], field_name=text)
        cells = dict(zip(header, row, strict=True))
        assert header[-1] == "'" + text
        assert cells["first"] == cells["'" + text] == cells["tags"] == "'" + text
        assert cells["contact_channels"] == f"'{text}:x"
        [header, row], _ = _api_rows([sent], field_name=text, formula_guard=False)
        assert header[-1] == text
        assert row[header.index("first")] == row[-1] == text

    def test_numbers_and_phone_numbers_are_not_guarded(self) -> None:
        sent = {"id": 1, "phone": "+15105550001", "rev": -5, "first": "-5", "last": "+1 510"}
        [header, row], _ = _api_rows([sent])
        cells = dict(zip(header, row, strict=True))
        assert (cells["phone"], cells["rev"], cells["first"]) == ("+15105550001", "-5", "-5")
        assert cells["last"] == "'+1 510"

    def test_a_formula_character_inside_a_cell_is_untouched(self) -> None:
        [header, row], _ = _api_rows([{"id": 1, "first": "a,-b", "last": "x\n=y", "email": "a@b"}])
        cells = dict(zip(header, row, strict=True))
        assert (cells["first"], cells["last"], cells["email"]) == ("a,-b", "x\n=y", "a@b")
