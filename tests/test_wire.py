"""The sans-I/O wire layer: timestamps, JSON, status -> error, Retry-After. No event loop."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from heymarket_async import _sansio as wire
from heymarket_async._sansio import Endpoint, Safety, TransportResponse

UTC = timezone.utc
URL = "http://127.0.0.1:1/v1/contact/42"


def raw(status: int, body: bytes = b"", **headers: str) -> TransportResponse:
    return TransportResponse(status, {"X-Request-Id": "abc", **headers}, body)


# -- timestamps ---------------------------------------------------------------------------------


class TestParseTimestamp:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-05-07T12:00:00Z", datetime(2026, 5, 7, 12, tzinfo=UTC)),
            ("2026-05-07T12:00:00.000Z", datetime(2026, 5, 7, 12, tzinfo=UTC)),
            ("2026-05-07T12:00:00.1Z", datetime(2026, 5, 7, 12, 0, 0, 100000, tzinfo=UTC)),
            ("2026-05-07T12:00:00.12Z", datetime(2026, 5, 7, 12, 0, 0, 120000, tzinfo=UTC)),
            ("2026-05-07T12:00:00.1234Z", datetime(2026, 5, 7, 12, 0, 0, 123400, tzinfo=UTC)),
            ("2026-05-07T12:00:00.123456Z", datetime(2026, 5, 7, 12, 0, 0, 123456, tzinfo=UTC)),
            ("2026-05-07T12:00:00.1234567Z", datetime(2026, 5, 7, 12, 0, 0, 123456, tzinfo=UTC)),
            (
                "2026-05-07T12:00:00.123456789Z",
                datetime(2026, 5, 7, 12, 0, 0, 123456, tzinfo=UTC),
            ),
            ("2026-05-07t12:00:00z", datetime(2026, 5, 7, 12, tzinfo=UTC)),
            ("2026-05-07t12:00:00.5z", datetime(2026, 5, 7, 12, 0, 0, 500000, tzinfo=UTC)),
            ("2026-05-07 12:00:00Z", datetime(2026, 5, 7, 12, tzinfo=UTC)),
            ("2026-05-07T14:00:00+02:00", datetime(2026, 5, 7, 12, tzinfo=UTC)),
            ("2026-05-07T07:00:00-05:00", datetime(2026, 5, 7, 12, tzinfo=UTC)),
            ("2026-05-07t07:00:00.25-0500", datetime(2026, 5, 7, 12, 0, 0, 250000, tzinfo=UTC)),
            ("2026-05-07T12:00:00", datetime(2026, 5, 7, 12, tzinfo=UTC)),
        ],
    )
    def test_gives_the_same_instant_as_an_aware_datetime(
        self, text: str, expected: datetime
    ) -> None:
        parsed = wire.parse_timestamp(text)
        assert parsed.tzinfo is not None
        assert parsed == expected

    def test_keeps_the_offset_it_was_given(self) -> None:
        assert wire.parse_timestamp("2026-05-07T14:00:00+02:00").utcoffset() == timedelta(hours=2)
        assert wire.parse_timestamp("2026-05-07t14:00:00-02:30").utcoffset() == -timedelta(
            hours=2, minutes=30
        )

    @pytest.mark.parametrize(
        "text",
        ["", "yesterday", "2026-05-07T25:00:00Z", "2026-05-07t25:00:00z", "2026-05-07T12:00:00ZZ"],
    )
    def test_rejects_what_is_not_a_timestamp(self, text: str) -> None:
        with pytest.raises(ValueError, match=r".+"):
            wire.parse_timestamp(text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
            ("2016-12-31t23:59:60.5z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
            (
                "1990-12-31T15:59:60-08:00",
                datetime(1990, 12, 31, 15, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-8))),
            ),
        ],
    )
    def test_a_leap_second_is_read_as_the_last_microsecond_before_it(
        self, text: str, expected: datetime
    ) -> None:
        # RFC 3339 5.6 allows time-second 60; a datetime cannot hold it.
        parsed = wire.parse_timestamp(text)
        assert (parsed, parsed.utcoffset()) == (expected, expected.utcoffset())

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("0001-01-01T00:30:00+01:00", datetime.min.replace(tzinfo=UTC)),
            ("0001-01-01t00:30:00.5+0100", datetime.min.replace(tzinfo=UTC)),
            ("9999-12-31T23:30:00-01:00", datetime.max.replace(tzinfo=UTC)),
            ("0001-01-01T00:30:00-01:00", datetime(1, 1, 1, 1, 30, tzinfo=UTC)),
            ("9999-12-31T23:30:00Z", datetime(9999, 12, 31, 23, 30, tzinfo=UTC)),
        ],
    )
    def test_an_instant_beyond_the_years_1_to_9999_in_utc_is_read_as_the_nearest_one(
        self, text: str, expected: datetime
    ) -> None:
        # Only an offset can take a valid RFC 3339 time there; read as it is, it could not be
        # written back (format_timestamp, the CLI export).
        parsed = wire.parse_timestamp(text)
        assert parsed == expected
        assert wire.parse_timestamp(wire.format_timestamp(parsed)) == parsed

    @given(
        st.datetimes(
            min_value=datetime(1970, 1, 1),
            max_value=datetime(9999, 1, 1),
            timezones=st.sampled_from(
                [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
            ),
        ),
        st.integers(0, 9),
        st.booleans(),
    )
    def test_the_slow_path_agrees_with_the_fast_one(
        self, when: datetime, digits: int, lower: bool
    ) -> None:
        # The regex path is what Python 3.10 (and lowercase t/z) relies on: it must agree
        # with fromisoformat wherever both apply.
        text = when.strftime("%Y-%m-%dT%H:%M:%S")
        if digits:
            text += "." + f"{when.microsecond:06d}{'987'}"[:digits]
        offset = when.strftime("%z")
        text += "Z" if offset == "+0000" else f"{offset[:3]}:{offset[3:]}"
        if lower:
            text = text.replace("T", "t").replace("Z", "z")
        slow = wire.timestamps._parse_rfc3339(text)
        assert wire.parse_timestamp(text) == slow
        assert slow.utcoffset() == when.utcoffset()
        truncated = when.replace(microsecond=int(f"{when.microsecond:06d}"[:digits].ljust(6, "0")))
        assert slow == truncated


class TestFormatTimestamp:
    def test_is_utc_with_z_and_seconds(self) -> None:
        tz = timezone(timedelta(hours=2))
        assert wire.format_timestamp(datetime(2026, 4, 1, 2, tzinfo=tz)) == "2026-04-01T00:00:00Z"

    def test_keeps_microseconds_when_there_are_any(self) -> None:
        when = datetime(2026, 4, 1, 0, 0, 0, 120, tzinfo=UTC)
        assert wire.format_timestamp(when) == "2026-04-01T00:00:00.000120Z"

    @pytest.mark.parametrize(
        "when",
        [
            datetime.min.replace(tzinfo=timezone(timedelta(hours=1))),
            datetime.max.replace(tzinfo=timezone(timedelta(minutes=-1))),
        ],
    )
    def test_an_instant_rfc_3339_cannot_write_is_an_invalid_request(self, when: datetime) -> None:
        with pytest.raises(InvalidRequestError, match="outside the years 1 to 9999"):
            wire.format_timestamp(when)
        assert wire.format_timestamp(wire.representable(when)) in (
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999Z",
        )

    def test_the_first_and_last_instants_are_written(self) -> None:
        assert wire.format_timestamp(wire.FIRST_INSTANT) == "0001-01-01T00:00:00Z"
        assert wire.format_timestamp(wire.LAST_INSTANT) == "9999-12-31T23:59:59.999999Z"
        tz = timezone(timedelta(hours=-1))
        assert wire.format_timestamp(datetime.min.replace(tzinfo=tz)) == "0001-01-01T01:00:00Z"

    @given(st.datetimes(timezones=st.just(UTC), min_value=datetime(1000, 1, 1)))
    def test_round_trips_through_parse(self, when: datetime) -> None:
        text = wire.format_timestamp(when)
        assert wire.is_rfc3339(text)
        assert wire.parse_timestamp(text) == when


class TestIsRfc3339:
    @pytest.mark.parametrize(
        ("text", "ok"),
        [
            ("2026-04-01T00:00:00Z", True),
            ("2026-04-01t00:00:00.1z", True),
            ("2026-04-01T00:00:00+02:00", True),
            ("2026-04-01T00:00:00", False),
            ("2026-04-01", False),
            ("20260401T000000Z", False),
            ("2026-04-01 00:00:00-05:30", True),
            ("2016-12-31T23:59:60Z", True),
        ],
    )
    def test_wants_a_date_time_with_an_offset(self, text: str, ok: bool) -> None:
        assert wire.is_rfc3339(text) is ok

    @pytest.mark.parametrize(
        "text",
        [
            "\u0662\u0660\u0662\u0666-\u0660\u0665-\u0660\u0667T12:00:00Z",  # Arabic-Indic digits
            "\uff12\uff10\uff12\uff16-05-07T12:00:00Z",  # full-width digits
            "2026-05-07T12:00:00+0530",  # time-numoffset is ("+" / "-") hh ":" mm
            "2026-05-07T12:00:00-05",
            "2026-05-07T12:00:00.Z",
            "2026-05-07T12:00:00Z\n",
        ],
    )
    def test_refuses_what_rfc_3339_does_not_allow(self, text: str) -> None:
        # What passes is sent as it is: parse_timestamp's tolerance is for responses only.
        assert not wire.is_rfc3339(text)

    def test_responses_may_still_use_an_offset_without_its_colon(self) -> None:
        assert wire.parse_timestamp("2026-05-07T12:00:00+0530").utcoffset() == timedelta(
            hours=5, minutes=30
        )


# -- JSON and request descriptions ----------------------------------------------------------------


class TestJson:
    def test_std_codec_is_compact_utf8_and_reads_bytes_or_text(self) -> None:
        data = {"first": "Zoë", "tags": [{"tag_id": 1}]}
        encoded = wire.std_json_dumps(data)
        assert encoded == '{"first":"Zoë","tags":[{"tag_id":1}]}'.encode()
        assert wire.std_json_loads(encoded) == data
        assert wire.std_json_loads(encoded.decode()) == data

    def test_the_chosen_codec_reads_what_it_writes(self) -> None:
        assert wire.json_loads(wire.json_dumps({"a": [1, None, "é"]})) == {"a": [1, None, "é"]}

    def test_the_chosen_decoder_reads_a_lone_surrogate_as_json_does(self) -> None:
        # JSON allows the escape; orjson alone refuses it, and falls back to the stdlib.
        body = b'[{"first": "\\ud800x"}]'
        assert wire.json_loads(body) == wire.std_json_loads(body) == [{"first": "\ud800x"}]

    @pytest.mark.parametrize("body", [b"ok", b'{"a": ', b"\xff\xfe", b'["\\ud800'])
    def test_the_chosen_decoder_still_refuses_what_is_not_json(self, body: bytes) -> None:
        with pytest.raises(wire.JSONDecodeError):
            wire.json_loads(body)


class TestRequest:
    def test_has_a_body_only_when_json_was_given(self) -> None:
        assert not Endpoint("GET", "/v1/contact/{id}", Safety.READ).request(id=1).has_body
        assert Endpoint("POST", "/v1/contacts", Safety.READ).request(json={}).has_body
        # JSON null is a body
        assert Endpoint("POST", "/v1/x", Safety.READ).request(json=None).has_body

    def test_an_endpoint_fills_in_its_id(self) -> None:
        endpoint = Endpoint("PUT", "/v2/contact/{id}/channel", Safety.IDEMPOTENT)
        request = endpoint.request(id="abc", json={"a": 1}, query={"q": "1"})
        assert (request.method, request.path, request.safety) == (
            "PUT",
            "/v2/contact/abc/channel",
            Safety.IDEMPOTENT,
        )
        assert (request.endpoint, request.json, request.query) == (endpoint, {"a": 1}, {"q": "1"})

    def test_raw_response_exposes_the_request_id(self) -> None:
        assert raw(200).request_id == "abc"
        assert TransportResponse(200, {}, b"").request_id is None


# -- responses ------------------------------------------------------------------------------------


class TestDecodeSuccess:
    @pytest.mark.parametrize(
        ("body", "data"),
        [
            (b'{"id": 1}', {"id": 1}),
            (b"[]", []),
            (b'"ok"', "ok"),
            (b'"1042"', "1042"),
            (b"1042", 1042),
            (b"", None),
        ],
    )
    def test_returns_the_json_of_any_2xx(self, body: bytes, data: Any) -> None:
        for status in (200, 201, 204):
            assert wire.decode_response(raw(status, body), "GET", URL) == data

    @pytest.mark.parametrize(
        "body",
        [
            b"<html><body>Gateway</body></html>",
            b"ok",
            b'{"id": 1',
            b"\xff\xfe\x00garbage",
            b"[" * 100_000,
        ],
    )
    def test_an_undecodable_body_is_an_invalid_response(self, body: bytes) -> None:
        with pytest.raises(InvalidResponseError) as info:
            wire.decode_response(raw(200, body), "POST", URL)
        exc = info.value
        assert (exc.status, exc.method, exc.url, exc.request_id) == (200, "POST", URL, "abc")
        assert exc.text == body[: wire.TEXT_LIMIT].decode("utf-8", errors="replace")
        assert str(exc) == f"response body is not JSON (status 200) for POST {URL} (request id abc)"

    def test_keeps_only_the_first_part_of_a_long_body(self) -> None:
        body = b"x" * (wire.TEXT_LIMIT * 3)
        with pytest.raises(InvalidResponseError) as info:
            wire.decode_response(raw(200, body), "GET", URL)
        assert info.value.text == "x" * wire.TEXT_LIMIT


SECRET = "sk_live_0123456789abcdef"


class TestSecretsInErrors:
    """A credential the server echoes back is masked in every part of the error."""

    def test_a_secret_across_the_cut_of_the_text_leaves_no_part_of_it(self) -> None:
        body = ("x" * (wire.TEXT_LIMIT - 10) + SECRET).encode()
        exc = wire.api_error(raw(401, body), "GET", URL, [SECRET])
        assert exc.text == "x" * (wire.TEXT_LIMIT - 10) + "***"
        assert exc.body == exc.text
        with pytest.raises(InvalidResponseError) as info:
            wire.decode_response(raw(200, body), "GET", URL, [SECRET])
        assert info.value.text == exc.text

    def test_a_jwt_across_the_cut_is_masked_without_secrets(self) -> None:
        jwt = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl"
        body = ("x" * (wire.TEXT_LIMIT - 20) + jwt).encode()
        exc = wire.api_error(raw(401, body), "GET", URL)
        assert exc.text == "x" * (wire.TEXT_LIMIT - 20) + "***"

    def test_the_text_is_cut_to_the_limit_after_masking(self) -> None:
        body = (SECRET + "y" * (wire.TEXT_LIMIT * 2)).encode()
        exc = wire.api_error(raw(500, body), "GET", URL, [SECRET])
        assert exc.text == "***" + "y" * (wire.TEXT_LIMIT - 3)

    def test_every_string_of_a_json_body_is_masked(self) -> None:
        body = (
            b'{"error": "bad", "key": "'
            + SECRET.encode()
            + b'", "list": [1, "'
            + SECRET.encode()
            + b'"]}'
        )
        exc = wire.api_error(raw(401, body), "GET", URL, [SECRET])
        assert exc.body == {"error": "bad", "key": "***", "list": [1, "***"]}
        assert SECRET not in exc.text


STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, BadRequestError),
    (429, RateLimitError),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (504, ServerError),
    (599, ServerError),
    (301, APIError),
    (402, APIError),
    (408, APIError),
    (418, APIError),
    (451, APIError),
]


class TestStatusMapping:
    @pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
    def test_each_status_gets_its_class(self, status: int, cls: type[APIError]) -> None:
        assert wire.error_class(status) is cls
        with pytest.raises(cls) as info:
            wire.decode_response(raw(status, b'{"message": "nope"}'), "GET", URL)
        assert type(info.value) is cls
        assert info.value.status == status

    def test_an_error_carries_everything_and_reads_as_one_line(self) -> None:
        exc = wire.api_error(raw(404, b'{"error": "not found"}'), "GET", URL)
        assert isinstance(exc, NotFoundError)
        assert (exc.status, exc.method, exc.url, exc.request_id) == (404, "GET", URL, "abc")
        assert exc.body == {"error": "not found"}
        assert exc.text == '{"error": "not found"}'
        assert exc.message == "not found"
        assert str(exc) == f"404 Not Found for GET {URL} (request id abc): not found"

    def test_an_html_body_is_kept_as_text_and_left_out_of_the_line(self) -> None:
        html = b"<html><head><title>502 Bad Gateway</title></head></html>"
        exc = wire.api_error(raw(502, html), "POST", URL)
        assert exc.body == html.decode()
        assert exc.text == html.decode()
        assert exc.message is None
        assert str(exc) == f"502 Bad Gateway for POST {URL} (request id abc)"

    def test_an_empty_body_is_empty_text(self) -> None:
        exc = wire.api_error(TransportResponse(500, {}, b""), "GET", URL)
        assert (exc.body, exc.text, exc.message, exc.request_id) == ("", "", None, None)
        assert str(exc) == f"500 Internal Server Error for GET {URL}"

    def test_plain_text_is_the_message(self) -> None:
        exc = wire.api_error(raw(400, b"bad_data\n"), "POST", URL)
        assert exc.body == "bad_data\n"
        assert exc.message == "bad_data"

    def test_an_unknown_status_still_reads_as_one_line(self) -> None:
        assert str(wire.api_error(raw(499), "GET", URL)) == (
            f"499 Unknown Status for GET {URL} (request id abc)"
        )


class TestErrorMessage:
    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"message": "Invalid phone"}, "Invalid phone"),
            ({"error_code": "bad_data", "message": "m"}, "m"),
            ({"error_code": "bad_data"}, "bad_data"),
            ({"error": "e", "detail": "d"}, "e"),
            ({"error_description": "desc"}, "desc"),
            ({"detail": "d"}, "d"),
            ({"error": {"message": "nested"}}, "nested"),
            ({"error": {"code": 5}, "detail": "fallback"}, "fallback"),
            ({"message": ""}, None),
            ({"message": 5}, None),
            ({"other": "x"}, None),
            (["a", "b"], None),
            (42, None),
            (None, None),
            ("  two\n lines ", "two lines"),
            ("<!DOCTYPE html><p>x</p>", None),
            ("", None),
        ],
    )
    def test_finds_the_servers_words(self, body: Any, message: str | None) -> None:
        assert wire.error_message(body) == message

    def test_masks_phones_and_emails(self) -> None:
        body = {"message": "contact 15105553344 (jordan@example.com) exists"}
        assert wire.error_message(body) == "contact *********44 (j***@example.com) exists"

    def test_masks_the_secrets_it_is_given(self) -> None:
        body = {"message": "invalid key test-key-0123456789abcdef"}
        assert wire.error_message(body, ["test-key-0123456789abcdef"]) == "invalid key ***"
        exc = wire.api_error(
            raw(401, b'{"message": "bad key sk-123456"}'), "GET", URL, ["sk-123456"]
        )
        assert "sk-123456" not in str(exc)
        assert "sk-123456" not in repr(exc)

    def test_a_phone_at_the_cut_is_masked_before_it_is_cut(self) -> None:
        # Cut first, "…15105553344" would keep "1510555" (7 digits, below the mask's 8).
        message = wire.error_message({"message": "x" * 192 + " 15105553344 is taken"})
        assert message is not None
        assert "1510555" not in message
        assert "*" in message

    def test_is_cut_to_one_short_line(self) -> None:
        message = wire.error_message({"message": "word " * 100})
        assert message is not None
        assert len(message) == 200
        assert message.endswith("…")
        assert "\n" not in message


class TestRetryAfter:
    NOW = datetime(2026, 5, 7, 12, 0, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("value", "seconds"),
        [("120", 120.0), (" 5 ", 5.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0)],
    )
    def test_reads_delay_seconds(self, value: str, seconds: float) -> None:
        assert wire.parse_retry_after(value) == seconds

    def test_reads_an_http_date(self) -> None:
        later = format_datetime(self.NOW + timedelta(seconds=30), usegmt=True)
        assert wire.parse_retry_after(later, now=self.NOW) == 30.0

    def test_a_date_in_the_past_means_now(self) -> None:
        earlier = format_datetime(self.NOW - timedelta(hours=1), usegmt=True)
        assert wire.parse_retry_after(earlier, now=self.NOW) == 0.0

    def test_a_date_without_zone_is_taken_as_utc(self) -> None:
        assert wire.parse_retry_after("Thu, 07 May 2026 12:00:10 -0000", now=self.NOW) == 10.0

    def test_a_date_is_measured_from_the_real_clock_by_default(self) -> None:
        far = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
        seconds = wire.parse_retry_after(far)
        assert seconds is not None
        assert 3500 < seconds <= 3600

    @pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf", "-inf", "Fri, 99 Foo"])
    def test_unreadable_or_endless_is_none(self, value: str | None) -> None:
        assert wire.parse_retry_after(value) is None

    def test_a_429_carries_it(self) -> None:
        exc = wire.api_error(raw(429, b"slow down", **{"Retry-After": "7"}), "POST", URL)
        assert isinstance(exc, RateLimitError)
        assert exc.retry_after == 7.0
        assert wire.api_error(raw(429), "POST", URL).retry_after is None  # type: ignore[attr-defined]
