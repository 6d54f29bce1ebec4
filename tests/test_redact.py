"""Masking of phones, emails and credentials in messages; dates and ids are left alone."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async._auth import sign_jwt
from heymarket_async._redact import _EMAIL, _JWT, _mask_emails, _mask_jwts, mask, mask_data


class TestPhones:
    @pytest.mark.parametrize(
        ("text", "masked"),
        [
            ("15105553344", "*********44"),
            ("+15105553344", "*********44"),
            ("call +1 (510) 555-3344 now", "call *********44 now"),
            ("510.555.3344", "********44"),
            ("(510) 555-3344", "********44"),
            ("phone=442079460958,", "phone=**********58,"),
            ("a 15105553344 and 14155551234", "a *********44 and *********34"),
        ],
    )
    def test_keeps_only_the_last_two_digits(self, text: str, masked: str) -> None:
        assert mask(text) == masked


class TestEmails:
    def test_hides_the_local_part_but_the_first_letter(self) -> None:
        assert mask("no contact jordan.rivera@example.com here") == (
            "no contact j***@example.com here"
        )
        assert mask("a+tag@mail.example.co.uk") == "a***@mail.example.co.uk"


class TestWhatIsNotMasked:
    @pytest.mark.parametrize(
        "text",
        [
            "updated 2026-05-07T12:00:00.000Z",
            "date 2026-05-07",
            "request id 7f3c9a2b11d04e6f",
            "request id 12345678-1234-5678-1234-567812345678",
            "contact a1b2c3d4-e5f6-7890-abcd-ef1234567890",
            "id 98765 rev 1",
            "field 123 is Premium",
            "v1.2.3 on 127.0.0.1:8080",
            "",
        ],
    )
    def test_dates_ids_and_short_numbers_pass_unchanged(self, text: str) -> None:
        assert mask(text) == text


class TestCredentials:
    def test_a_jwt_is_hidden_whoever_signed_it(self) -> None:
        token = sign_jwt("someone", "their-secret", 1_700_000_000)
        assert mask(f"token {token} expired") == "token *** expired"

    @pytest.mark.parametrize("before", ["Bearer ", '{"token":"', "jwt=", "(", "x.", ""])
    def test_a_jwt_is_hidden_wherever_it_follows_punctuation(self, before: str) -> None:
        token = sign_jwt("someone", "their-secret", 1_700_000_000)
        assert mask(f"{before}{token}") == f"{before}***"

    def test_the_given_secrets_are_hidden(self) -> None:
        assert mask("bad key sk_live_abcdef", ["sk_live_abcdef"]) == "bad key ***"

    def test_very_short_secrets_are_not_searched(self) -> None:
        # A 3-character "secret" would mask ordinary words; real keys are far longer.
        assert mask("the end", ["the"]) == "the end"

    @given(st.lists(st.sampled_from(["eyJ", "ey", "J", ".", "-", "_", "a9", " ", "é", "\n"])))
    def test_jwts_are_found_as_the_pattern_finds_them(self, pieces: list[str]) -> None:
        text = "".join(pieces)
        assert _mask_jwts(text) == _JWT.sub("***", text)

    def test_masking_a_long_run_of_jwt_starts_takes_linear_time(self) -> None:
        # Tried at every "eyJ" of one run, the JWT search was quadratic: about 30 s for this.
        start = time.perf_counter()
        assert mask("eyJ" * 100_000, keep_pii=True) == "eyJ" * 100_000
        assert time.perf_counter() - start < 2

    @given(st.lists(st.sampled_from(["a", "1", ".", "+", "-", "@", "b.c", " ", "é", "_", "@x"])))
    def test_emails_are_masked_as_the_pattern_finds_them(self, pieces: list[str]) -> None:
        text = "".join(pieces)

        def reference(match: re.Match[str]) -> str:
            local, _, domain = match.group(0).partition("@")
            return f"{local[:1]}***@{domain}"

        assert _mask_emails(text) == _EMAIL.sub(reference, text)

    @pytest.mark.parametrize("run", ["a", "1", "a.", "ab1-", "a@", "@a", "a@b"])
    def test_masking_a_long_run_without_an_at_sign_takes_linear_time(self, run: str) -> None:
        # Tried at every character of the run, the email search was quadratic: seconds for
        # 30,000 characters, 5-15 s for these; linear, a few milliseconds. (A guard on the
        # complexity with a wide margin, not a measure of speed.)
        text = run * (60_000 // len(run))
        start = time.perf_counter()
        assert mask(text) == text
        assert time.perf_counter() - start < 2


class TestData:
    def test_every_string_of_a_decoded_body_is_masked_and_its_shape_kept(self) -> None:
        body = {
            "error": "bad key sk_live_abcdef",
            "sk_live_abcdef": ["sk_live_abcdef", {"n": 1, "ok": True, "x": None, "f": 1.5}],
        }
        assert mask_data(body, ["sk_live_abcdef"], keep_pii=True) == {
            "error": "bad key ***",
            "***": ["***", {"n": 1, "ok": True, "x": None, "f": 1.5}],
        }

    def test_a_string_or_scalar_alone(self) -> None:
        assert mask_data("key sk_live_abcdef", ["sk_live_abcdef"]) == "key ***"
        assert mask_data(15105553344) == 15105553344
        assert mask_data(None) is None

    def test_pii_is_masked_unless_kept(self) -> None:
        assert mask_data(["15105553344"]) == ["*********44"]
        assert mask_data(["15105553344"], keep_pii=True) == ["15105553344"]

    def test_the_input_is_left_unchanged(self) -> None:
        body = {"a": ["sk_live_abcdef"]}
        mask_data(body, ["sk_live_abcdef"])
        assert body == {"a": ["sk_live_abcdef"]}

    def test_a_deeply_nested_body_is_no_recursion_error(self) -> None:
        body: object = "sk_live_abcdef"
        for _ in range(100_000):
            body = [body]
        masked = mask_data(body, ["sk_live_abcdef"])
        for _ in range(100_000):
            assert isinstance(masked, list)
            masked = masked[0]
        assert masked == "***"
