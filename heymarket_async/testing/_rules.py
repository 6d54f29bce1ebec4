"""The checks the real API makes on request bodies, as pure functions raising :class:`BadData`.

Each check runs inside :func:`reading`, so a body of a shape it did not foresee is a 400
``bad_data`` too, not a crash of the emulator (aiohttp's bare 500).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from . import _timestamps as ts

MAX_TAGS: Final = 5
_PHONE: Final = re.compile(r"[1-9][0-9]{7,14}")
_CHANNEL_TYPE: Final = re.compile(r"[a-z][a-z0-9_]*")
_STRING_FIELDS: Final = ("first", "last", "display_name", "email", "avatar")
STATUSES: Final = ("active", "blocked", "unblocked", "subscribed", "unsubscribed")


class BadData(ValueError):
    """A request the API answers with ``400 {"error": "bad_data", "message": ...}``."""


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """Inside, a ``ValueError`` or ``TypeError`` is :class:`BadData`.

    Only around code that parses or checks the request: a stray error there means the body
    had a shape no check foresaw, which is the client's error. Usable as a decorator.
    """
    try:
        yield
    except BadData:
        raise
    except (ValueError, TypeError) as exc:
        raise BadData(f"malformed request: {exc}") from exc


@reading()
def phone(value: object, field: str = "phone") -> str:
    """E.164 digits without ``+``: 8-15 digits, exactly 11 in country code 1."""
    if not isinstance(value, str) or not _PHONE.fullmatch(value):
        raise BadData(f"{field} must be E.164 digits without '+', such as 15105553344")
    if value[0] == "1" and len(value) != 11:
        raise BadData(f"{field}: a number in country code 1 has 11 digits")
    return value


@reading()
def tags(value: object) -> list[dict[str, int]]:
    if not isinstance(value, list):
        raise BadData('tags must be an array of {"tag_id": N}')
    if len(value) > MAX_TAGS:
        raise BadData(f"a contact has at most {MAX_TAGS} tags, got {len(value)}")
    out = []
    for item in value:
        tag_id = item.get("tag_id") if isinstance(item, Mapping) else None
        if isinstance(tag_id, bool) or not isinstance(tag_id, int):
            raise BadData(f'each tag must be {{"tag_id": N}}, got {item!r}')
        out.append({"tag_id": tag_id})
    return out


@reading()
def custom(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise BadData("custom must be an object keyed by numeric field id")
    for key, item in value.items():
        if not key.isdigit() or not key.isascii():
            raise BadData(f"custom key {key!r} is not a numeric field id")
        if not isinstance(item, str):
            raise BadData(f"custom[{key}] must be a string")
    return dict(value)


@reading()
def contact_fields(body: Mapping[str, Any], *, phone_required: bool) -> dict[str, Any]:
    """The contact fields of a v1/v2 create or update body, checked; unknown keys are ignored."""
    out: dict[str, Any] = {}
    if "phone" in body or phone_required:
        if body.get("phone") is None:
            raise BadData("phone is required")
        out["phone"] = phone(body["phone"])
    for name in _STRING_FIELDS:
        if name in body:
            value = body[name]
            if value is not None and not isinstance(value, str):
                raise BadData(f"{name} must be a string")
            out[name] = value
    if "custom" in body:
        out["custom"] = {} if body["custom"] is None else custom(body["custom"])
    if "tags" in body:
        out["tags"] = [] if body["tags"] is None else tags(body["tags"])
    if "assignee_id" in body:
        value = body["assignee_id"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise BadData("assignee_id must be an integer")
        out["assigned_user_id"] = None if value in (None, -1) else value
    if "is_opted_out" in body:
        value = body["is_opted_out"]
        if value is not None and not isinstance(value, bool):
            raise BadData("is_opted_out must be a boolean")
        out["is_opted_out"] = value
    return out


@reading()
def local_id(body: Mapping[str, Any]) -> str | None:
    """A create's optional ``local_id`` (the caller's own id of the contact): a non-empty string."""
    value = body.get("local_id")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadData("local_id must be a non-empty string")
    return value


@reading()
def channel(value: object) -> dict[str, str]:
    """One ``{"channel_type", "channel_id"}``; phone channels must be E.164."""
    if not isinstance(value, Mapping):
        raise BadData("a channel must be an object with channel_type and channel_id")
    kind = value.get("channel_type")
    ident = value.get("channel_id")
    if not isinstance(kind, str) or not _CHANNEL_TYPE.fullmatch(kind):
        raise BadData("channel_type must be a channel type such as phone or email")
    if not isinstance(ident, str) or not ident:
        raise BadData("channel_id must be a non-empty string")
    if kind == "phone":
        phone(ident, "channel_id")
    elif kind == "email" and "@" not in ident:
        raise BadData("channel_id is not an email address")
    return {"channel_type": kind, "channel_id": ident}


@reading()
def channels(value: object, *, required: bool) -> list[dict[str, str]]:
    """An array of channels (:func:`channel`), non-empty if ``required``."""
    if required and (not isinstance(value, list) or not value):
        raise BadData("contact_channels must hold at least one channel")
    if not isinstance(value, list):
        raise BadData("contact_channels must be an array of channels")
    return [channel(c) for c in value]


@reading()
def search_values(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``(channel_type, value)`` pairs a v2 search asks for, in order (the type inferred
    from the value where a group has none)."""
    groups = body.get("contact_channels")
    if not isinstance(groups, list) or not groups:
        raise BadData("contact_channels must hold at least one search group")
    out = []
    for group in groups:
        if not isinstance(group, Mapping):
            raise BadData("each search group must be an object")
        kind = group.get("channel_type")
        values = group.get("channel_ids")
        if kind is not None and not isinstance(kind, str):
            raise BadData("channel_type must be a string")
        if not isinstance(values, list) or not values:
            raise BadData("channel_ids must be a non-empty array")
        for value in values:
            if not isinstance(value, str) or not value:
                raise BadData("each channel_id must be a non-empty string")
            out.append((kind or infer_channel_type(value), value))
    return out


@reading()
def contact_id(value: object) -> int:
    """A contact id in a body: an int, or a string of ASCII digits."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise BadData("id must be a contact id, as an int or a string of digits")
    # int() refuses a string of more than 4300 digits: reading() makes that bad data too.
    return int(value)


@reading()
def field_titles(body: object) -> list[str]:
    """The titles of a ``POST /v1/contacts/fields`` body, ``[{"title": ...}, ...]``."""
    if not isinstance(body, list) or not body:
        raise BadData('the body must be a non-empty array of {"title": ...}')
    titles = []
    for item in body:
        title = item.get("title") if isinstance(item, Mapping) else None
        if not isinstance(title, str) or not title.strip():
            raise BadData('each field must be {"title": "<non-empty string>"}')
        titles.append(title)
    return titles


def infer_channel_type(value: str) -> str:
    """What the API guesses for a search value without ``channel_type``."""
    return "email" if "@" in value else "phone"


@reading()
def date(body: Mapping[str, Any], field: str = "date") -> int | None:
    """An optional RFC 3339 ``date`` as microseconds since the epoch."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadData(f"{field} must be an RFC 3339 string")
    try:
        return ts.parse(value)
    except ValueError:
        raise BadData(f"{field} is not an RFC 3339 timestamp: {value!r}") from None


@reading()
def integer(body: Mapping[str, Any], field: str, default: int, low: int, high: int | None) -> int:
    value = body.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadData(f"{field} must be an integer")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadData(f"{field} must be {bound}, got {value}")
    return value


@reading()
def boolean(body: Mapping[str, Any], field: str, default: bool) -> bool:
    value = body.get(field, default)
    if not isinstance(value, bool):
        raise BadData(f"{field} must be a boolean")
    return value
