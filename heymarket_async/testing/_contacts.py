"""How the emulator writes a contact's fields, shared by the v1 and v2 handlers and by tests'
direct writes (``fake.add_contact``...): new contacts' defaults, PUT merges, channels kept in
step with ``phone`` and ``email``, and batches that apply the valid items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import _rules as rules
from ._seed import CREATOR_ID, TEAM_ID
from ._store import ContactStore, Record


def new_fields(given: Mapping[str, Any]) -> dict[str, Any]:
    """A new contact's stored fields: the standard keys in a stable order, then what was given."""
    fields: dict[str, Any] = {
        "phone": None,
        "first": None,
        "last": None,
        "display_name": None,
        "email": None,
        "custom": {},
        "tags": [],
        "contact_channels": [],
        "assigned_user_id": None,
        "is_opted_out": False,
        "avatar": None,
        "team_id": TEAM_ID,
        "creator_id": CREATOR_ID,
    }
    fields.update(given)
    if fields["display_name"] is None:
        name = " ".join(p for p in (fields["first"], fields["last"]) if p)
        fields["display_name"] = name or None
    sync_channels({}, fields)
    return fields


def sync_channels(old: Mapping[str, Any], new: dict[str, Any]) -> None:
    """Keep ``contact_channels`` in step with ``phone`` and ``email`` after a write."""
    channels = [dict(c) for c in new.get("contact_channels") or ()]
    for kind in ("phone", "email"):
        before, after = old.get(kind), new.get(kind)
        if before != after and before:
            channels = [
                c for c in channels if (c["channel_type"], c["channel_id"]) != (kind, before)
            ]
        if after and not any(
            (c["channel_type"], c["channel_id"]) == (kind, after) for c in channels
        ):
            channels.append({"channel_type": kind, "channel_id": after})
    new["contact_channels"] = channels


def merge(store: ContactStore, record: Record, given: dict[str, Any], *, overwrite: bool) -> Record:
    """A PUT's write: given fields replace stored ones; ``custom`` merges unless ``overwrite``."""
    new = dict(record.fields)
    if "custom" in given and not overwrite:
        given["custom"] = {**record.fields.get("custom", {}), **given["custom"]}
    new.update(given)
    sync_channels(record.fields, new)
    return store.replace(record.id, new)


def by_uuid(store: ContactStore, value: str) -> Record | None:
    """The contact with this UUID, if any."""
    contact_id = store.id_for_uuid(value)
    return None if contact_id is None else store.get(contact_id)


def by_local_id(store: ContactStore, value: str | None) -> Record | None:
    """The contact that holds this ``local_id``, if any (``None``: no local_id was given)."""
    contact_id = None if value is None else store.id_for_local_id(value)
    return None if contact_id is None else store.get(contact_id)


def apply_each(
    items: Iterable[Any], apply: Callable[[dict[str, Any]], None]
) -> list[dict[str, Any]]:
    """``apply`` each object of a batch; returns the items refused, each with its ``error``.

    An item that is not an object, or that ``apply`` refuses with :class:`~._rules.BadData`,
    fails alone: the batch goes on (a non-object is echoed as ``{"contact": item}``).
    """
    failed = []
    for item in items:
        try:
            if not isinstance(item, dict):
                raise rules.BadData("each contact must be an object")
            apply(item)
        except rules.BadData as exc:
            echo = item if isinstance(item, dict) else {"contact": item}
            failed.append({**echo, "error": str(exc)})
    return failed
