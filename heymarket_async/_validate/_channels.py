"""Phone numbers, email addresses and v2 channels, and the values of a v2 search."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from heymarket_async.errors import InvalidRequestError
from heymarket_async.models import ContactChannel

from ._scalars import _text

_PHONE_FORMATTING: Final = re.compile(r"[\s().\-/]")
_DIGITS: Final = re.compile(r"\d{8,15}")
# "(510) 555-3344", "510-555-3344": the North American national layout, without "+" or a
# country code. Its 10 digits would pass as some other country's E.164 number (51: Peru), so
# the docs' own example of a wrong number is refused rather than sent to the wrong place,
# whatever the punctuation and spacing (see _nanp_national). Bare digits are E.164 as written.
_DIGIT_GROUP: Final = re.compile(r"[0-9]+")
# "+44 (0)20 7946 0958": the national trunk prefix, written in brackets after the country code,
# is not dialled from abroad and is no part of the E.164 number.
_TRUNK_ZERO: Final = re.compile(r"^\s*\+([0-9]{1,3})[\s.\-]*\(0\)")
_CHANNEL_TYPE: Final = re.compile(r"[a-z][a-z0-9_]*")
_PHONE_LIKE: Final = re.compile(r"\+?[\d\s().\-/]*\d[\d\s().\-/]*")


def phone(value: object, field: str = "phone") -> str:
    """A phone number as E.164 digits without ``+`` (``"+1 (510) 555-3344"`` -> ``"15105553344"``).

    8 to 15 digits, not starting with 0; a number in country code 1 has exactly 11. A number in
    the North American national layout without its country code (``"(510) 555-3344"``) is
    refused: it would pass as another country's number.
    """
    if not isinstance(value, str):
        raise InvalidRequestError(field, f"must be a string of digits, not {type(value).__name__}")
    if _nanp_national(value):
        raise InvalidRequestError(
            field,
            "looks like a US/Canada number without its country code: write it as "
            "1 and 10 digits, such as 15105553344",
        )
    digits = _PHONE_FORMATTING.sub("", _TRUNK_ZERO.sub(r"+\1", value))
    if digits.startswith("+"):
        digits = digits[1:]
    if not _DIGITS.fullmatch(digits) or not digits.isascii():
        raise InvalidRequestError(
            field, "must be an E.164 number of 8 to 15 digits, such as 15105553344"
        )
    if digits[0] == "0":
        raise InvalidRequestError(field, "an E.164 number does not start with 0")
    if digits[0] == "1" and len(digits) != 11:
        raise InvalidRequestError(
            field, "a number in country code 1 (US, Canada) has 11 digits, such as 15105553344"
        )
    return digits


def _nanp_national(value: str) -> bool:
    """Whether ``value`` is written as a North American number without its country code: digit
    groups of 3, 3 and 4 (or "(ddd)" and 7), with no "+", whatever separates them."""
    text = value.strip()
    if "+" in text or text.isdigit():
        return False
    groups = [len(g) for g in _DIGIT_GROUP.findall(text)]
    return groups == [3, 3, 4] or (text.startswith("(") and groups == [3, 7])


def email(value: object, field: str = "email") -> str:
    """An email address, without the whitespace around it: one "@" with text on both sides."""
    if not isinstance(value, str):
        raise InvalidRequestError(field, f"must be a str, not {type(value).__name__}")
    value = value.strip()
    local, at, domain = value.partition("@")
    if not (at and local and domain) or "@" in domain or any(c.isspace() for c in value):
        raise InvalidRequestError(field, "is not an email address")
    return _text(value, field)


def channel(value: object, field: str) -> dict[str, str]:
    """One v2 channel: a :class:`ContactChannel` or a ``(channel_type, channel_id)`` pair."""
    if isinstance(value, ContactChannel):
        kind, ident = value.channel_type, value.channel_id
    elif isinstance(value, tuple) and len(value) == 2:
        kind, ident = value
    else:
        raise InvalidRequestError(
            field, "must be a ContactChannel or a (channel_type, channel_id) pair"
        )
    return {
        "channel_type": channel_type(kind, f"{field}.channel_type"),
        "channel_id": channel_id(kind, ident, f"{field}.channel_id"),
    }


def channel_type(value: object, field: str = "channel_type") -> str:
    if not isinstance(value, str) or not _CHANNEL_TYPE.fullmatch(value):
        raise InvalidRequestError(field, "must be a channel type such as 'phone' or 'email'")
    return value


def channel_id(kind: str, value: object, field: str = "channel_id") -> str:
    """A channel's value: phones are normalized like ``phone``; others must be non-empty."""
    if kind == "phone":
        return phone(value, field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(field, "must be a non-empty string")
    if kind == "email":
        return email(value, field)
    # Whitespace around a value read from a file or a form would make a channel no search finds.
    return _text(value.strip(), field)


def channels(value: object) -> list[dict[str, str]]:
    """At least one channel for a v2 create."""
    if isinstance(value, (str, bytes, ContactChannel)) or not isinstance(value, Iterable):
        raise InvalidRequestError("channels", "must be a list of channels")
    out = [channel(item, f"channels[{i}]") for i, item in enumerate(value)]
    if not out:
        raise InvalidRequestError("channels", "at least one channel is required")
    return out


def search_values(values: tuple[object, ...], kind: str | None) -> list[str]:
    """The values of a v2 search; with no ``channel_type``, phone-like values are normalized."""
    if not values:
        raise InvalidRequestError("values", "give at least one phone number or email address")
    if kind is not None:
        return [channel_id(kind, v, f"values[{i}]") for i, v in enumerate(values)]
    out: list[str] = []
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise InvalidRequestError(f"values[{i}]", "must be a non-empty string")
        # Only digits and phone punctuation: a phone number written some friendly way. Other
        # channel ids (which may hold digits too) go to the server as given, for it to infer.
        looks_like_phone = _PHONE_LIKE.fullmatch(value) is not None
        out.append(
            phone(value, f"values[{i}]")
            if looks_like_phone
            else _text(value.strip(), f"values[{i}]")
        )
    return out
