"""The items of the bulk calls: v1 batch creates, v2 bulk upserts and deletes.

A bad item raises :class:`InvalidRequestError` naming it (``contacts[3].phone``): nothing of the
batch is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from heymarket_async._params import CONTACT_FIELDS
from heymarket_async.errors import InvalidRequestError

from ._channels import channels, phone
from ._contact import contact_body, contact_uuid
from ._scalars import bounded_int

#: The most items a bulk helper puts in one request when asked (the API's own limit is not
#: documented).
MAX_BATCH_SIZE: Final = 1000


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
