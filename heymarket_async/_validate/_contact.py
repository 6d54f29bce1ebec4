"""Contact ids, timestamps, tags, custom fields, and the body of a contact create or update.

Also the smaller bodies of the contacts API: a v1 lookup, a status, field titles, a tag.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final

from heymarket_async._redact import mask
from heymarket_async._sansio import format_timestamp, is_rfc3339, parse_timestamp
from heymarket_async.errors import InvalidRequestError
from heymarket_async.models import UNASSIGN, ContactStatusValue, Tag, UnsetType

from ._channels import email, phone
from ._scalars import MAX_SHORT_LIST, _decimal, _int, _optional_str, _take, _text

MAX_TAGS: Final = 5
STATUSES: Final = tuple(s.value for s in ContactStatusValue)


def contact_id(value: object) -> int:
    """A v1 contact id: a positive int."""
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        # get_contact("42"): an id read from a URL, a file or argv. Not echoed: it may be a
        # phone number, which is customer data.
        hint = "must be an int, not a str of digits: convert it first, such as int(contact_id)"
        if len(value.strip()) >= 10:
            hint += "; a phone number is looked up by phone (get_contact_by_phone, phone=)"
        raise InvalidRequestError("contact_id", hint)
    if isinstance(value, uuid.UUID) or (isinstance(value, str) and _is_uuid(value)):
        raise InvalidRequestError(
            "contact_id", "v1 takes the integer contact id; use client.v2 for a UUID"
        )
    number = _int(value, "contact_id")
    if number <= 0:
        raise InvalidRequestError("contact_id", "must be a positive int")
    return number


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


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
    """At most five tags, given as ints, :class:`Tag` or the docs' ``{"tag_id": N}``, sent as
    ``[{"tag_id": N}, ...]``."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidRequestError("tags", "must be a list of tag ids or Tag objects")
    items = _take(value, MAX_TAGS)
    if len(items) > MAX_TAGS:
        raise InvalidRequestError("tags", f"at most {MAX_TAGS} tags, got more")
    out: list[dict[str, int]] = []
    for i, item in enumerate(items):
        number = _int(_tag_id_of(item, f"tags[{i}]"), f"tags[{i}]")
        if number <= 0:
            raise InvalidRequestError(f"tags[{i}]", "a tag id is a positive int")
        out.append({"tag_id": number})
    return out


def _tag_id_of(item: object, field: str) -> object:
    """The id in a tag as given: an int, a :class:`Tag` or ``{"tag_id": N}``."""
    if isinstance(item, Tag):
        return item.id
    if isinstance(item, Mapping):
        unknown = [key for key in item if key != "tag_id"]
        if unknown or "tag_id" not in item:
            what = f"unknown key {mask(repr(unknown[0]))}" if unknown else "no tag_id"
            raise InvalidRequestError(field, f'{what}: a tag object is {{"tag_id": N}}')
        return item["tag_id"]
    return item


def custom(value: object) -> dict[str, str]:
    """Custom field values keyed by numeric field id, keys and values both as strings."""
    if not isinstance(value, Mapping):
        raise InvalidRequestError("custom", "must be a mapping of field id to value")
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise InvalidRequestError("custom", f"key {mask(repr(key))} is not a numeric field id")
        name = _decimal(key, "custom") if isinstance(key, int) else key
        number = int(name) if name.isdigit() and name.isascii() and len(name) <= 19 else 0
        if number <= 0:
            raise InvalidRequestError(
                "custom",
                f"key {mask(repr(key))} is not a numeric field id (list_contact_fields() gives "
                "the ids)",
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


def local_id(value: object) -> str:
    """A ``local_id``: the caller's own identifier of a contact, sent exactly as given.

    The docs give it no type, length or alphabet: it must be a non-empty ``str`` (an int, such
    as a database key, is refused rather than converted, so that ``42`` and ``"42"`` are never
    taken for one another). Never echoed: it may be an email or a phone number.
    """
    if not isinstance(value, str):
        hint = ": convert it first, such as str(row_id)" if isinstance(value, int) else ""
        raise InvalidRequestError("local_id", f"must be a str, not {type(value).__name__}{hint}")
    if not value.strip():
        raise InvalidRequestError("local_id", "must not be empty")
    return _text(value, "local_id")


def assignee(value: object) -> int | None:
    if value is None:
        return None
    number = _int(value, "assignee_id")
    if number <= 0 and number != UNASSIGN:
        raise InvalidRequestError("assignee_id", "must be a user id, or UNASSIGN (-1)")
    return number


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
        raise InvalidRequestError(
            "status", f"must be one of {', '.join(STATUSES)}; got {mask(repr(value))}"
        )
    return text


def field_titles(value: object) -> list[dict[str, str]]:
    """New custom field titles as ``[{"title": ...}]``: at least one, each a non-empty string."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidRequestError("titles", "must be a list of strings")
    titles = _take(value, MAX_SHORT_LIST)
    if len(titles) > MAX_SHORT_LIST:
        raise InvalidRequestError("titles", f"more than {MAX_SHORT_LIST:,} titles")
    out = []
    for i, title in enumerate(titles):
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
