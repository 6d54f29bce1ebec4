"""Phone numbers, email addresses and v2 channels, and the values of a v2 search.

The phone rule for 10 digits (one rule, wherever a phone is checked: v1 phones, v2 phone
channels, lookups by phone, searches): written without a ``+``, a number of 10 digits that reads
as a North American one (NANP: area code and exchange each starting 2-9, as ``510 555 3344``)
or is written in the North American layout (``(510) 555-3344``, ``510-555-3344``) is refused as
a US/Canada number missing its country code ``1``. Sent as written it would reach another
country (``5105553344`` is a Peru number, +51), and for an SMS service used mostly in North
America the dropped ``1`` is the likelier story. With a ``+`` (``+51 0555 3357``) the same
digits are taken as the E.164 number they are. Ten digits that cannot be North American (an
exchange starting 0 or 1, such as ``4520123456``) are E.164 as written.

Weighed and left out: the ``phonenumbers`` library. It would know each country's lengths, but
the question here is which country a bare number is in, which it answers only given a default
region, that is, this same rule; and it would add 0.5-2.6 MB of wheel (1.2-22 MB installed,
lite or full) and some 0.2 s to the first import, to a package whose runtime dependencies are
aiohttp, attrs, cattrs and yarl. Whether a number exists is the API's to say.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from heymarket_async._redact import mask
from heymarket_async.errors import InvalidRequestError
from heymarket_async.models import ContactChannel

from ._scalars import MAX_SHORT_LIST, _take, _text

_PHONE_FORMATTING: Final = re.compile(r"[\s().\-/]")
_DIGITS: Final = re.compile(r"\d{8,15}")
# The North American numbering plan's 10 digits: area code and exchange start with 2-9.
_NANP_DIGITS: Final = re.compile(r"[2-9][0-9]{2}[2-9][0-9]{6}")
# "(510) 555-3344", "510-555-3344": the North American national layout, without "+" or a
# country code, refused whatever the punctuation and spacing (see _nanp_without_country_code).
_DIGIT_GROUP: Final = re.compile(r"[0-9]+")
# "+44 (0)20 7946 0958": the national trunk prefix, written in brackets after the country code,
# is not dialled from abroad and is no part of the E.164 number.
_TRUNK_ZERO: Final = re.compile(r"^\s*\+([0-9]{1,3})[\s.\-]*\(0\)")
_CHANNEL_TYPE: Final = re.compile(r"[a-z][a-z0-9_]*")
_PHONE_LIKE: Final = re.compile(r"\+?[\d\s().\-/]*\d[\d\s().\-/]*")


def phone(value: object, field: str = "phone") -> str:
    """A phone number as E.164 digits without ``+`` (``"+1 (510) 555-3344"`` -> ``"15105553344"``).

    8 to 15 digits, not starting with 0; a number in country code 1 has exactly 11. Without a
    ``+``, 10 digits shaped or written like a North American number (``"5105553344"``,
    ``"(510) 555-3344"``) are refused as a US/Canada number missing its ``1``: write
    ``15105553344``, or ``+5105553344`` for another country's 10-digit number (see the module
    docstring).
    """
    if not isinstance(value, str):
        raise InvalidRequestError(field, f"must be a string of digits, not {type(value).__name__}")
    digits = _PHONE_FORMATTING.sub("", _TRUNK_ZERO.sub(r"+\1", value))
    if _nanp_without_country_code(value, digits):
        raise InvalidRequestError(
            field,
            "looks like a US/Canada number without its country code: write it as 1 and its 10 "
            "digits, such as 15105553344 (another country's 10-digit number: with a leading +)",
        )
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


def _nanp_without_country_code(value: str, digits: str) -> bool:
    """Whether ``value`` (``digits`` once unformatted) is a North American number written
    without its country code: no "+", and either 10 digits of the plan's shape, or digit groups
    of 3, 3 and 4 (or "(ddd)" and 7), whatever separates them."""
    if "+" in value:
        return False
    if _NANP_DIGITS.fullmatch(digits):
        return True
    text = value.strip()
    if text.isdigit():
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
    """One v2 channel: a :class:`ContactChannel`, a ``(channel_type, channel_id)`` pair (a
    tuple, or a list as JSON decodes one) or the docs' ``{"channel_type": "phone",
    "channel_id": "15105553344"}`` object; checked and normalized alike."""
    if isinstance(value, ContactChannel):
        kind, ident = value.channel_type, value.channel_id
    elif isinstance(value, Mapping):
        unknown = [key for key in value if key not in ("channel_type", "channel_id")]
        if unknown:
            raise InvalidRequestError(
                field,
                f"unknown key {mask(repr(unknown[0]))}: a channel has channel_type and channel_id",
            )
        for key in ("channel_type", "channel_id"):
            if key not in value:
                raise InvalidRequestError(f"{field}.{key}", "is required")
        kind, ident = value["channel_type"], value["channel_id"]
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        kind, ident = value
    else:
        raise InvalidRequestError(
            field,
            "must be a ContactChannel, a (channel_type, channel_id) pair or a "
            '{"channel_type": ..., "channel_id": ...} object',
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


def channels(value: object, field: str = "channels") -> list[dict[str, str]]:
    """At least one channel (see :func:`channel`) for a v2 create; ``field`` is the name it was
    given by (``contact_channels`` is the docs' name for the same list)."""
    if isinstance(value, (str, bytes, Mapping, ContactChannel)) or not isinstance(value, Iterable):
        raise InvalidRequestError(field, "must be a list of channels")
    items = _take(value, MAX_SHORT_LIST)
    if len(items) > MAX_SHORT_LIST:
        raise InvalidRequestError(field, f"more than {MAX_SHORT_LIST:,} channels")
    out = [channel(item, f"{field}[{i}]") for i, item in enumerate(items)]
    if not out:
        raise InvalidRequestError(field, "at least one channel is required")
    return out


def create_channels(given: object, contact_channels: object) -> list[dict[str, str]]:
    """The channels of a v2 create, given positionally or as ``contact_channels=`` (the docs'
    name, so that a body written as the docs write it can be passed as keywords), not both."""
    if given is not None and contact_channels is not None:
        raise InvalidRequestError(
            "contact_channels", "give the channels once: positionally or as contact_channels="
        )
    if contact_channels is not None:
        return channels(contact_channels, "contact_channels")
    if given is None:
        raise InvalidRequestError("channels", "at least one channel is required")
    return channels(given)


def search_values(values: tuple[object, ...], kind: str | None) -> list[str]:
    """The values of a v2 search; with no ``channel_type``, phone-like values are normalized."""
    if not values:
        raise InvalidRequestError("values", "give at least one phone number or email address")
    for i, value in enumerate(values):
        if isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping)):
            # search_contacts(["1510..."]): the list where its values go.
            raise InvalidRequestError(
                f"values[{i}]",
                f"is a {type(value).__name__}: the values are given one by one; to search for "
                "the values of a list, unpack it: search_contacts(*values)",
            )
    if kind is not None:
        return [channel_id(kind, v, f"values[{i}]") for i, v in enumerate(values)]
    out: list[str] = []
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise InvalidRequestError(f"values[{i}]", f"must be a str, not {type(value).__name__}")
        if not value.strip():
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
