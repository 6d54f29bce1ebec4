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
