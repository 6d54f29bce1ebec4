"""The emulator's own JSON decoding of request bodies, and the 400 it answers for bad ones."""

from __future__ import annotations

import json
import math

import pytest
from _fake_http import Raw

from heymarket_async.testing import FakeHeymarket
from heymarket_async.testing._json import NotJSON, decode_json, decode_json_or_none

NOT_JSON = [
    b"{not json",
    b'{"a": 1} {"b": 2}',
    b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
    '{"a": 1}'.encode("utf-16"),
    b'{"a": "\xff"}',  # not UTF-8
    b"[" * 100_000,  # deep enough to exhaust the recursion limit
    b"",
    b"  ",
]


class TestDecode:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (b'{"a": 1, "a": 2}', {"a": 2}),
            (b' \n{"a": [1, 2.5, true, null]}\t', {"a": [1, 2.5, True, None]}),
            ('"caf\u00e9"'.encode(), "caf\u00e9"),
            (b'"\\ud800"', "\ud800"),
            (b"12345678901234567890123", 12345678901234567890123),
        ],
    )
    def test_what_json_reads(self, raw: bytes, expected: object) -> None:
        assert decode_json(raw) == expected
        assert decode_json_or_none(raw) == expected

    def test_nan_and_infinity_as_the_stdlib_reads_them(self) -> None:
        value = decode_json(b"[NaN, Infinity, -Infinity]")
        assert math.isnan(value[0])
        assert value[1:] == [math.inf, -math.inf]

    @pytest.mark.parametrize("raw", NOT_JSON)
    def test_not_json(self, raw: bytes) -> None:
        with pytest.raises(NotJSON):
            decode_json(raw)
        assert decode_json_or_none(raw) is None
        assert isinstance(NotJSON("x"), ValueError)

    def test_matches_the_stdlib_on_utf8(self) -> None:
        for raw in (b"[]", b"{}", b"0", b'"x"', b"-0.0e5", b'{"k": {"n": [[]]}}'):
            assert decode_json(raw) == json.loads(raw.decode())


class TestOverHttp:
    @pytest.mark.parametrize("data", [d for d in NOT_JSON if d.strip()])
    async def test_bad_bodies_are_400_and_recorded_as_none(
        self, raw: Raw, fake: FakeHeymarket, data: bytes
    ) -> None:
        answer = await raw("POST", "/v1/contact", data=data)
        assert answer.status == 400
        assert answer.json == {"error": "bad_data", "message": "malformed JSON body"}
        assert fake.requests[-1].json is None
        assert len(fake.contacts) == 0

    @pytest.mark.parametrize("data", [b"", b"  \n"])
    async def test_an_empty_body_is_an_empty_object(self, raw: Raw, data: bytes) -> None:
        answer = await raw("POST", "/v1/contacts", data=data)
        assert answer.status == 200
        assert answer.json == []

    async def test_a_body_is_recorded_decoded(self, raw: Raw, fake: FakeHeymarket) -> None:
        await raw("POST", "/v1/contacts", data=b'{"date": null, "x": [NaN]}')
        recorded = fake.requests[-1].json
        assert recorded["date"] is None
        assert math.isnan(recorded["x"][0])
