"""Input checks and request bodies: everything is checked before a request is built.

Each check raises :class:`InvalidRequestError` naming the argument; nothing is sent.

What goes into a body must be something JSON can carry: text with a UTF-8 form (no lone
surrogate, as ``errors="surrogateescape"`` leaves in a name read from a badly encoded file) and
ints the API's 64-bit signed integers hold (an id is 1 to 2**63 - 1).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final

from ._redact import mask
from ._sansio import format_timestamp, is_rfc3339, parse_timestamp
from .errors import InvalidRequestError
from .models import UNASSIGN, ContactChannel, ContactStatusValue, Tag, UnsetType

MAX_TAGS: Final = 5
#: The largest int a request may carry: the API's ids are 64-bit signed integers (orjson cannot
#: even write an int of 2**64 or more, and the stdlib encoder would send it to be refused).
MAX_INT: Final = 2**63 - 1
V2_MAX_LIMIT: Final = 100

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


def _int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(field, f"must be an int, not {type(value).__name__}")
    if not -MAX_INT - 1 <= value <= MAX_INT:
        raise InvalidRequestError(field, "is out of range: the API takes ints up to 2**63 - 1")
    return value


def _text(value: str, field: str) -> str:
    """``value``, once it is known to have a UTF-8 form (which JSON needs)."""
    if not value.isascii():  # the common case costs one scan
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidRequestError(
                field,
                f"holds {value[exc.start]!r} at index {exc.start}, which has no UTF-8 form "
                "(a lone surrogate, as errors='surrogateescape' leaves): it cannot be sent",
            ) from None
    return value


def _decimal(value: int, field: str) -> str:
    """An int as its decimal digits; past Python's limit on int to str (4300 digits), bad input."""
    try:
        return str(int(value))  # int() first: str() of an IntEnum member is its name on 3.10
    except ValueError:
        raise InvalidRequestError(field, "is an int too long to write out") from None


def contact_id(value: object) -> int:
    """A v1 contact id: a positive int."""
    if isinstance(value, (str, uuid.UUID)):
        raise InvalidRequestError(
            "contact_id", "v1 takes the integer contact id; use client.v2 for a UUID"
        )
    number = _int(value, "contact_id")
    if number <= 0:
        raise InvalidRequestError("contact_id", "must be a positive int")
    return number


def contact_uuid(value: object) -> str:
    """A v2 contact id: a UUID (``str`` or ``uuid.UUID``), in its canonical form."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int):
        raise InvalidRequestError(
            "contact_uuid",
            "v2 takes the contact's UUID, not the v1 integer id (ContactRef.uuid has it)",
        )
    if not isinstance(value, str):
        raise InvalidRequestError("contact_uuid", f"must be a UUID, not {type(value).__name__}")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        # Masked: a phone number or an email given by mistake is customer data.
        raise InvalidRequestError("contact_uuid", f"{mask(repr(value))} is not a UUID") from None


def timestamp(value: object, field: str) -> str:
    """An aware datetime or an RFC 3339 string, as the string to send.

    A string is sent exactly as given, once it parses as an RFC 3339 date-time with an offset; a
    naive datetime (or a string without an offset) is rejected, since the API's times are
    absolute.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidRequestError(
                field, "a naive datetime is ambiguous: give it a tzinfo (e.g. timezone.utc)"
            )
        try:
            return format_timestamp(value)
        except InvalidRequestError as exc:  # outside the years RFC 3339 can write
            raise InvalidRequestError(field, exc.message) from None
    if isinstance(value, str):
        try:
            parse_timestamp(value)
        except ValueError:
            valid = False
        else:
            valid = is_rfc3339(value)
        if not valid:
            raise InvalidRequestError(
                field,
                f"{mask(repr(value))} is not an RFC 3339 timestamp with an offset, such as "
                "'2026-04-01T00:00:00Z'",
            )
        return value
    raise InvalidRequestError(
        field, f"must be an aware datetime or an RFC 3339 string, not {type(value).__name__}"
    )


def tags(value: object) -> list[dict[str, int]]:
    """At most five tags, given as ints or :class:`Tag`, as ``[{"tag_id": N}, ...]``."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidRequestError("tags", "must be a list of tag ids or Tag objects")
    items = list(value)
    if len(items) > MAX_TAGS:
        raise InvalidRequestError("tags", f"at most {MAX_TAGS} tags, got {len(items)}")
    out: list[dict[str, int]] = []
    for i, item in enumerate(items):
        tag_id = item.id if isinstance(item, Tag) else item
        number = _int(tag_id, f"tags[{i}]")
        if number <= 0:
            raise InvalidRequestError(f"tags[{i}]", "a tag id is a positive int")
        out.append({"tag_id": number})
    return out


def custom(value: object) -> dict[str, str]:
    """Custom field values keyed by numeric field id, keys and values both as strings."""
    if not isinstance(value, Mapping):
        raise InvalidRequestError("custom", "must be a mapping of field id to value")
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise InvalidRequestError("custom", f"key {key!r} is not a numeric field id")
        name = _decimal(key, "custom") if isinstance(key, int) else key
        number = int(name) if name.isdigit() and name.isascii() and len(name) <= 19 else 0
        if number <= 0:
            raise InvalidRequestError(
                "custom",
                f"key {key!r} is not a numeric field id (list_contact_fields() gives the ids)",
            )
        name = str(number)  # "007" and 7 are the same field: one key, as the API writes it
        out[name] = _custom_value(item, f"custom[{name}]")
    return out


def _custom_value(value: object, field: str) -> str:
    if isinstance(value, str):
        return _text(value, field)
    if isinstance(value, bool):
        raise InvalidRequestError(field, "a bool is ambiguous: pass the string the field expects")
    if isinstance(value, int):
        return _decimal(value, field)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        try:
            return format_timestamp(value)
        except InvalidRequestError as exc:  # outside the years RFC 3339 can write
            raise InvalidRequestError(field, exc.message) from None
    if isinstance(value, date):
        return value.isoformat()
    raise InvalidRequestError(
        field, f"must be a str, int, date or datetime, not {type(value).__name__}"
    )


def _optional_str(value: object, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _text(value, field)
    raise InvalidRequestError(field, f"must be a str, not {type(value).__name__}")


def assignee(value: object) -> int | None:
    if value is None:
        return None
    number = _int(value, "assignee_id")
    if number <= 0 and number != UNASSIGN:
        raise InvalidRequestError("assignee_id", "must be a user id, or UNASSIGN (-1)")
    return number


def contact_fields(scope: Mapping[str, Any]) -> dict[str, Any]:
    """The contact fields among a method's arguments (its ``locals()``), by name."""
    return {name: scope[name] for name in CONTACT_FIELDS}


def contact_body(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body for the contact fields of a create or update; unset fields are left out.

    ``None`` is sent as ``null``: the caller asked for it explicitly.
    """
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, UnsetType):
            continue
        if name == "email":
            # None and "" (clearing it) go as they are; an address goes checked and trimmed.
            body[name] = value if value is None or value == "" else email(value, name)
        elif name in ("first", "last", "display_name", "avatar"):
            body[name] = _optional_str(value, name)
        elif name == "custom":
            body[name] = None if value is None else custom(value)
        elif name == "tags":
            body[name] = None if value is None else tags(value)
        elif name == "assignee_id":
            body[name] = assignee(value)
        elif name == "is_opted_out":
            if value is not None and not isinstance(value, bool):
                raise InvalidRequestError(name, f"must be a bool, not {type(value).__name__}")
            body[name] = value
        else:  # pragma: no cover - a programming error in this package
            raise AssertionError(name)
    return body


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


def email(value: object, field: str = "email") -> str:
    """An email address, without the whitespace around it: one "@" with text on both sides."""
    if not isinstance(value, str):
        raise InvalidRequestError(field, f"must be a str, not {type(value).__name__}")
    value = value.strip()
    local, at, domain = value.partition("@")
    if not (at and local and domain) or "@" in domain or any(c.isspace() for c in value):
        raise InvalidRequestError(field, "is not an email address")
    return _text(value, field)


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


def bounded_int(value: object, field: str, low: int, high: int | None = None) -> int:
    number = _int(value, field)
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidRequestError(field, f"must be {bound}, got {number}")
    return number


def boolean(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(field, f"must be a bool, not {type(value).__name__}")
    return value


# -- the rest of the contacts API -------------------------------------------------------------

#: The optional contact fields of every create and update (and of a batch item, besides its
#: identifier).
CONTACT_FIELDS: Final = (
    "first",
    "last",
    "display_name",
    "email",
    "custom",
    "avatar",
    "assignee_id",
    "tags",
    "is_opted_out",
)
STATUSES: Final = tuple(s.value for s in ContactStatusValue)
#: The most items a bulk helper puts in one request when asked (the API's own limit is not
#: documented).
MAX_BATCH_SIZE: Final = 1000


def contact_lookup(ident: object, number: object) -> dict[str, Any]:
    """``{"id": "98765"}`` or ``{"phone": "..."}``: exactly one of the two must be given.

    The id goes as a string, as the docs show it for ``POST /v1/contact/get``.
    """
    if ident is None and number is None:
        raise InvalidRequestError("contact_id", "give contact_id or phone")
    if ident is not None and number is not None:
        raise InvalidRequestError("contact_id", "give either contact_id or phone, not both")
    if ident is not None:
        return {"id": str(contact_id(ident))}
    return {"phone": phone(number)}


def status(value: object) -> str:
    """One of the five documented statuses, as a :class:`ContactStatusValue` or its string."""
    text = value.value if isinstance(value, enum.Enum) else value
    if not isinstance(text, str) or text not in STATUSES:
        raise InvalidRequestError("status", f"must be one of {', '.join(STATUSES)}; got {value!r}")
    return text


def field_titles(value: object) -> list[dict[str, str]]:
    """New custom field titles as ``[{"title": ...}]``: at least one, each a non-empty string."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidRequestError("titles", "must be a list of strings")
    out = []
    for i, title in enumerate(value):
        if not isinstance(title, str):
            raise InvalidRequestError(f"titles[{i}]", f"must be a str, not {type(title).__name__}")
        if not title.strip():
            raise InvalidRequestError(f"titles[{i}]", "must not be empty")
        out.append({"title": _text(title, f"titles[{i}]")})
    if not out:
        raise InvalidRequestError("titles", "give at least one title")
    return out


def tag_id(value: object) -> int:
    """A tag id: a positive int (or a :class:`Tag`)."""
    number = _int(value.id if isinstance(value, Tag) else value, "tag_id")
    if number <= 0:
        raise InvalidRequestError("tag_id", "must be a positive int")
    return number


def tag_body(name: object, color: object) -> dict[str, Any]:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequestError("name", "must be a non-empty string")
    body: dict[str, Any] = {"name": _text(name, "name")}
    if not isinstance(color, UnsetType):
        body["color"] = _optional_str(color, "color")
    return body


def batch_size(value: object) -> int:
    return bounded_int(value, "batch_size", 1, MAX_BATCH_SIZE)


def _in_item(index: int, exc: InvalidRequestError, name: str = "contacts") -> InvalidRequestError:
    return InvalidRequestError(f"{name}[{index}].{exc.field}", exc.message)


def items(value: object, name: str) -> list[Any]:
    """The items of a bulk call as a list: at least one, from any iterable but a string or
    mapping."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidRequestError(name, "must be a list")
    items = list(value)
    if not items:
        raise InvalidRequestError(name, "is empty: give at least one")
    return items


def _item_fields(item: object, index: int, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise InvalidRequestError(
            f"contacts[{index}]", f"must be a mapping of fields, not {type(item).__name__}"
        )
    unknown = [k for k in item if k not in allowed]
    if unknown:
        raise InvalidRequestError(
            f"contacts[{index}]",
            f"unknown field {unknown[0]!r}; the fields are {', '.join(allowed)}",
        )
    return item


def v1_batch_contacts(value: list[Any]) -> list[dict[str, Any]]:
    """Batch create items: mappings with ``phone`` and the fields ``create_contact`` takes."""
    out = []
    for i, item in enumerate(value):
        fields = _item_fields(item, i, ("phone", *CONTACT_FIELDS))
        try:
            if "phone" not in fields:
                raise InvalidRequestError("phone", "is required")
            body: dict[str, Any] = {"phone": phone(fields["phone"])}
            body.update(contact_body({k: v for k, v in fields.items() if k != "phone"}))
        except InvalidRequestError as exc:
            raise _in_item(i, exc) from None
        out.append(body)
    return out


def v2_bulk_contacts(value: list[Any]) -> list[dict[str, Any]]:
    """Bulk create/update items: ``uuid`` (to update) and/or ``channels``, and the fields."""
    out = []
    for i, item in enumerate(value):
        fields = _item_fields(item, i, ("uuid", "channels", *CONTACT_FIELDS))
        try:
            body: dict[str, Any] = {}
            if "uuid" in fields:
                body["uuid"] = contact_uuid(fields["uuid"])
            if "channels" in fields:
                body["contact_channels"] = channels(fields["channels"])
            elif "uuid" not in fields:
                raise InvalidRequestError("channels", "a new contact needs at least one channel")
            body.update(
                contact_body({k: v for k, v in fields.items() if k not in ("uuid", "channels")})
            )
        except InvalidRequestError as exc:
            raise _in_item(i, exc) from None
        out.append(body)
    return out


def contact_uuids(value: list[Any]) -> list[str]:
    """At least one contact UUID, each in its canonical form."""
    out = []
    for i, item in enumerate(value):
        try:
            out.append(contact_uuid(item))
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"contact_uuids[{i}]", exc.message) from None
    return out
