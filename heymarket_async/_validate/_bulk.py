"""The items of the bulk calls: v1 batch creates, v2 bulk upserts and deletes.

A bad item raises :class:`InvalidRequestError` naming it (``contacts[3].phone``): nothing of the
batch is sent. A bulk call takes at most :data:`MAX_BULK_ITEMS` items, read from any iterable
(an endless one is refused after ``MAX_BULK_ITEMS + 1``). The items are checked in chunks of
:data:`CHECK_CHUNK` with a turn of the event loop between two: checked in one go, 20,000 items
held the loop some 200 ms (``benchmarks/bench_validate.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, TypeVar

from heymarket_async._params import CONTACT_FIELDS
from heymarket_async._redact import mask
from heymarket_async.errors import InvalidRequestError

from ._channels import channels, phone
from ._contact import contact_body, contact_uuid, local_id
from ._scalars import _take, bounded_int

T = TypeVar("T")

#: The most items a bulk helper puts in one request when asked (the API's own limit is not
#: documented).
MAX_BATCH_SIZE: Final = 1000
#: The most items one bulk call takes (it sends them in many requests): a bound, so that an
#: endless iterable is refused instead of read until the memory runs out.
MAX_BULK_ITEMS: Final = 1_000_000
#: Items checked between two turns of the event loop: some 5-10 ms of checking (a v2 upsert
#: item takes 10-20 us); the turn itself costs well under 1 us an item.
CHECK_CHUNK: Final = 500

# ``local_id`` (``None``: none) is the caller's own id of the contact, as create_contact takes it.
_V1_FIELDS: Final = ("phone", "local_id", *CONTACT_FIELDS)
# "contact_channels" is the docs' (and the wire's) name for "channels".
_V2_FIELDS: Final = ("uuid", "local_id", "channels", "contact_channels", *CONTACT_FIELDS)


def batch_size(value: object) -> int:
    return bounded_int(value, "batch_size", 1, MAX_BATCH_SIZE)


def _in_item(index: int, exc: InvalidRequestError, name: str = "contacts") -> InvalidRequestError:
    return InvalidRequestError(f"{name}[{index}].{exc.field}", exc.message)


def items(value: object, name: str) -> list[Any]:
    """The items of a bulk call as a list: at least one and at most :data:`MAX_BULK_ITEMS`,
    from any iterable but a string or mapping."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidRequestError(name, "must be a list")
    items = _take(value, MAX_BULK_ITEMS)
    if len(items) > MAX_BULK_ITEMS:
        raise InvalidRequestError(
            name, f"more than {MAX_BULK_ITEMS:,} items (or an endless iterable): split them"
        )
    if not items:
        raise InvalidRequestError(name, "is empty: give at least one")
    return items


async def _each(value: list[Any], check: Callable[[Any, int], T]) -> list[T]:
    """``check(item, index)`` of every item, letting the loop run every :data:`CHECK_CHUNK`."""
    out = []
    for i, item in enumerate(value):
        if i and not i % CHECK_CHUNK:
            await asyncio.sleep(0)
        out.append(check(item, i))
    return out


def _item_fields(item: object, index: int, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise InvalidRequestError(
            f"contacts[{index}]", f"must be a mapping of fields, not {type(item).__name__}"
        )
    unknown = [k for k in item if k not in allowed]
    if unknown:
        # Masked: a misplaced email or phone number is customer data.
        raise InvalidRequestError(
            f"contacts[{index}]",
            f"unknown field {mask(repr(unknown[0]))}; the fields are {', '.join(allowed)}",
        )
    return item


def v1_batch_item(item: object, index: int) -> dict[str, Any]:
    """One batch create item: a mapping with ``phone``, and ``local_id`` and the fields
    ``create_contact`` takes."""
    fields = _item_fields(item, index, _V1_FIELDS)
    try:
        if "phone" not in fields:
            raise InvalidRequestError("phone", "is required")
        body: dict[str, Any] = {"phone": phone(fields["phone"])}
        if fields.get("local_id") is not None:
            body["local_id"] = local_id(fields["local_id"])
        body.update(contact_body({k: v for k, v in fields.items() if k in CONTACT_FIELDS}))
    except InvalidRequestError as exc:
        raise _in_item(index, exc) from None
    return body


async def v1_batch_contacts(value: list[Any]) -> list[dict[str, Any]]:
    """Batch create items (see :func:`v1_batch_item`), checked in chunks."""
    return await _each(value, v1_batch_item)


def v2_bulk_item(item: object, index: int) -> dict[str, Any]:
    """One bulk create/update item: ``uuid`` (to update) and/or ``channels`` (or, as the docs
    name them, ``contact_channels``), ``local_id``, and the fields."""
    fields = _item_fields(item, index, _V2_FIELDS)
    try:
        body: dict[str, Any] = {}
        if "uuid" in fields:
            body["uuid"] = contact_uuid(fields["uuid"])
        if fields.get("local_id") is not None:
            body["local_id"] = local_id(fields["local_id"])
        if "channels" in fields and "contact_channels" in fields:
            raise InvalidRequestError(
                "contact_channels", "give channels or contact_channels (its wire name), not both"
            )
        given = "contact_channels" if "contact_channels" in fields else "channels"
        if given in fields:
            body["contact_channels"] = channels(fields[given], given)
        elif "uuid" not in fields:
            raise InvalidRequestError("channels", "a new contact needs at least one channel")
        body.update(contact_body({k: v for k, v in fields.items() if k in CONTACT_FIELDS}))
    except InvalidRequestError as exc:
        raise _in_item(index, exc) from None
    return body


async def v2_bulk_contacts(value: list[Any]) -> list[dict[str, Any]]:
    """Bulk create/update items (see :func:`v2_bulk_item`), checked in chunks."""
    return await _each(value, v2_bulk_item)


def _uuid_item(item: object, index: int) -> str:
    try:
        return contact_uuid(item)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"contact_uuids[{index}]", exc.message) from None


async def contact_uuids(value: list[Any]) -> list[str]:
    """At least one contact UUID, each in its canonical form, checked in chunks."""
    return await _each(value, _uuid_item)
