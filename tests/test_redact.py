"""Masking of phones, emails and credentials in messages; dates and ids are left alone."""

from __future__ import annotations

import pytest

from heymarket_async._auth import sign_jwt
from heymarket_async._redact import mask


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

    def test_the_given_secrets_are_hidden(self) -> None:
        assert mask("bad key sk_live_abcdef", ["sk_live_abcdef"]) == "bad key ***"

    def test_very_short_secrets_are_not_searched(self) -> None:
        # A 3-character "secret" would mask ordinary words; real keys are far longer.
        assert mask("the end", ["the"]) == "the end"
