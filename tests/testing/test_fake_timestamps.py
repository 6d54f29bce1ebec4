"""Timestamp rendering per format, and cursor parsing."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async.testing import _timestamps as ts
from heymarket_async.testing._clock import to_micros

T0 = to_micros(datetime(2026, 5, 7, 12, 0, 0, 123456, tzinfo=timezone.utc))


class TestRender:
    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ("milliseconds", "2026-05-07T12:00:00.123Z"),
            ("seconds", "2026-05-07T12:00:00Z"),
            ("microseconds", "2026-05-07T12:00:00.123456+00:00"),
        ],
    )
    def test_formats(self, fmt: str, expected: str) -> None:
        assert ts.render(T0, fmt) == expected

    @given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
    def test_matches_isoformat_and_parses_back(self, value: datetime) -> None:
        aware = value.replace(tzinfo=timezone.utc)
        micros = to_micros(aware)
        assert ts.render(micros, "microseconds") == aware.isoformat(timespec="microseconds")
        assert ts.parse(ts.render(micros, "microseconds")) == micros
        assert ts.parse(ts.render(micros, "milliseconds")) == micros // 1000 * 1000
        assert ts.parse(ts.render(micros, "seconds")) == micros // 1_000_000 * 1_000_000

    def test_units(self) -> None:
        assert [ts.unit(f) for f in ("seconds", "milliseconds", "microseconds")] == [
            1_000_000,
            1000,
            1,
        ]
        with pytest.raises(ValueError, match="timestamp_format"):
            ts.unit("nanoseconds")


class TestParse:
    def test_offsets_and_z(self) -> None:
        assert ts.parse("2026-05-07T12:00:00.123456Z") == T0
        assert ts.parse("2026-05-07T14:00:00.123456+02:00") == T0
        naive_is_utc = ts.parse("2026-05-07T12:00:00.123456")
        assert naive_is_utc == T0
        assert ts.parse("2026-05-07T12:00:00Z") == T0 - 123456

    def test_garbage(self) -> None:
        with pytest.raises(ValueError, match="RFC 3339"):
            ts.parse("yesterday")


class TestOwnParser:
    """What the emulator takes as a cursor, stated here without the SDK's parser."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("2026-05-07t12:00:00.123456z", T0),
            ("2026-05-07 12:00:00.123456Z", T0),
            ("2026-05-07T12:00:00.1234567Z", T0),
            ("2026-05-07T12:00:00.123456789+00:00", T0),
            ("2026-05-07T14:00:00.123456+0200", T0),
            ("2026-05-07t14:00:00.123456+0200", T0),
            ("2026-05-07T12:00:00.1Z", T0 - 23456),
            ("2026-05-07T12:00:00.12Z", T0 - 3456),
            ("2026-05-07T12:00:00.1234z", T0 - 56),
            ("2026-05-07T12:00:00", T0 - 123456),
            ("2026-05-07T12:00:60Z", T0 - 123456 + 59_999_999),
            ("2026-05-07t14:00:60.5+02:00", T0 - 123456 + 59_999_999),
            ("\u0662\u0660\u0662\u0666-05-07T12:00:00Z", T0 - 123456),
        ],
    )
    def test_rfc3339_variants(self, value: str, expected: int) -> None:
        assert ts.parse(value) == expected

    def test_what_fromisoformat_takes_is_taken(self) -> None:
        for value in ("2026-05-07", "20260507T120000Z", "2026-05-07T12:00:00,5Z"):
            expected = to_micros(datetime.fromisoformat(value).replace(tzinfo=timezone.utc))
            assert ts.parse(value) == expected

    def test_offsets_beyond_the_years_clamp(self) -> None:
        assert ts.parse("0001-01-01T00:00:00+01:00") == ts.FIRST_MICROS
        assert ts.parse("0001-01-01t00:00:00+0100") == ts.FIRST_MICROS
        assert ts.parse("9999-12-31T23:59:59-01:00") == ts.LAST_MICROS
        assert ts.parse("9999-12-31t23:59:60-0100") == ts.LAST_MICROS
        assert to_micros(datetime.min.replace(tzinfo=timezone.utc)) == ts.FIRST_MICROS
        assert to_micros(datetime.max.replace(tzinfo=timezone.utc)) == ts.LAST_MICROS
        assert ts.parse("0001-01-01T00:00:00-01:00") == ts.FIRST_MICROS + 3_600_000_000

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "2026-05-07T12:00:00Zjunk",
            "2026-05-07T12:00:00+24:00",
            "2026-05-07t12:00:00+99:00",
            "2026-05-07t12:00:61Z",
            "2026-05-07t24:00:00Z",
            "2026-13-07t12:00:00Z",
            "2026-05-07t12:00:00Z\n",
        ],
    )
    def test_refused(self, value: str) -> None:
        with pytest.raises(ValueError, match="not an RFC 3339 timestamp"):
            ts.parse(value)


_PIECES = st.sampled_from(
    ["2026", "0001", "9999", "-", "05", "07", "12", "13", "31", "00", "59", "60", "24", ":",
     "T", "t", " ", ".", "1", "123", "1234567", "Z", "z", "+", "-", "+01:00", "-0130", "+23:59",
     "+24:00", ",", "W19", "\u0662", "\n"]
)  # fmt: skip


@st.composite
def _timestamp_like(draw: st.DrawFn) -> str:
    """Strings near RFC 3339: a valid one, with pieces swapped, dropped or added."""
    base = draw(
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
            lambda d: d.isoformat()
        )
    )
    tail = draw(st.lists(_PIECES, max_size=3).map("".join))
    cut = draw(st.integers(0, len(base)))
    head = draw(st.sampled_from([base, base[:cut], base.replace("T", draw(_PIECES))]))
    return head + tail


class TestAgreesWithTheSdk:
    """The emulator parses on its own; it must still take and read what the SDK does."""

    @given(st.one_of(_timestamp_like(), st.text(max_size=40)))
    def test_same_verdict_and_instant(self, value: str) -> None:
        from heymarket_async._sansio import parse_timestamp

        try:
            sdk: int | None = to_micros(parse_timestamp(value))
        except ValueError:
            sdk = None
        try:
            ours: int | None = ts.parse(value)
        except ValueError:
            ours = None
        assert ours == sdk
