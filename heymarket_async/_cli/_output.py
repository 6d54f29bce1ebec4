"""How contacts become bytes in an export: JSONL records and CSV rows. No I/O here.

Both encoders work a page at a time and return the bytes to append, so the exporter can count
bytes exactly (the resume state stores the file length after each page) and write once per page.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

from heymarket_async._wire import format_timestamp, json_dumps, std_json_dumps
from heymarket_async.models import Contact, ContactField

__all__ = [
    "STANDARD_COLUMNS",
    "ContactEncoder",
    "CsvEncoder",
    "JsonlEncoder",
    "contact_record",
    "csv_columns",
]


class ContactEncoder(Protocol):
    """Turns pages of contacts into the bytes of one export format."""

    def header(self) -> bytes:
        """What the file starts with (empty for JSONL)."""

    def encode(self, contacts: Sequence[Contact]) -> bytes:
        """The bytes for a page of contacts, ending with a newline."""


def _ts(value: Any) -> str | None:
    return None if value is None else format_timestamp(value)


def contact_record(c: Contact) -> dict[str, Any]:
    """A contact as JSON-ready data: what ``CONVERTER.unstructure`` gives, at a third of the cost.

    Every field is kept, in the model's order, with datetimes as RFC 3339 strings. Written out by
    hand because an export does this once per contact; a test holds it equal to the converter.
    """
    return {
        "id": c.id,
        "uuid": c.uuid,
        "phone": c.phone,
        "first": c.first,
        "last": c.last,
        "display_name": c.display_name,
        "email": c.email,
        "custom": dict(c.custom),
        "tags": [{"id": t.id, "name": t.name, "color": t.color} for t in c.tags],
        "contact_channels": [
            {"channel_type": ch.channel_type, "channel_id": ch.channel_id}
            for ch in c.contact_channels
        ],
        "assigned_user_id": c.assigned_user_id,
        "is_opted_out": c.is_opted_out,
        "avatar": c.avatar,
        "created": _ts(c.created),
        "updated": _ts(c.updated),
        "rev": c.rev,
        "team_id": c.team_id,
        "creator_id": c.creator_id,
        "shared": c.shared,
        "op": c.op,
        "external_id": c.external_id,
        "external_ref": c.external_ref,
        "inbox_id": c.inbox_id,
        "parent_id": c.parent_id,
        "type": c.type,
        "note": list(c.note),
    }


class JsonlEncoder:
    """One JSON object per line, every field of the contact (see :func:`contact_record`)."""

    def __init__(self, dumps: Callable[[Any], bytes] = json_dumps) -> None:
        self._dumps = dumps

    def header(self) -> bytes:
        return b""

    def encode(self, contacts: Sequence[Contact]) -> bytes:
        dumps = self._dumps
        # One join per page: a single write call and one bytes object to count.
        return b"".join([dumps(contact_record(c)) + b"\n" for c in contacts])


#: The CSV columns for the model's own fields, in the model's order (custom fields follow).
#: Spelled out to match the row built in ``CsvEncoder.encode``; a test holds both to the model.
STANDARD_COLUMNS: Final = (
    "id",
    "uuid",
    "phone",
    "first",
    "last",
    "display_name",
    "email",
    "tags",
    "contact_channels",
    "assigned_user_id",
    "is_opted_out",
    "avatar",
    "created",
    "updated",
    "rev",
    "team_id",
    "creator_id",
    "shared",
    "op",
    "external_id",
    "external_ref",
    "inbox_id",
    "parent_id",
    "type",
    "note",
)


def csv_columns(fields: Sequence[ContactField]) -> list[str]:
    """The CSV header: the standard columns, then one per custom field, named as the team names it.

    A field without a name is headed by its id; a name that repeats another column's gets its id
    appended (``"Plan (12)"``), so every column can be told apart.
    """
    names = [f.name if f.name else str(f.id) for f in fields]
    taken = set(STANDARD_COLUMNS)
    out = list(STANDARD_COLUMNS)
    for field, name in zip(fields, names, strict=True):
        if name in taken or names.count(name) > 1:
            name = f"{name} ({field.id})"
        taken.add(name)
        out.append(name)
    return out


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


_note_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


class CsvEncoder:
    """One row per contact: the standard fields, then the custom fields in ``field_ids`` order.

    RFC 4180 CSV (CRLF line ends, quotes where needed), UTF-8.

    Cells: empty for a missing value, ``true``/``false`` for booleans, RFC 3339 for times,
    tag ids joined by ``;``, channels as ``type:id`` joined by ``;``, ``note`` as JSON. Custom
    values for fields not in ``field_ids`` have no column; :attr:`unlisted_fields` collects their
    ids so the caller can warn.
    """

    def __init__(self, field_ids: Sequence[str], columns: Sequence[str]) -> None:
        self._field_ids = tuple(field_ids)
        self._known = frozenset(field_ids)
        self._columns = tuple(columns)
        self.unlisted_fields: set[str] = set()

    def header(self) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerow(self._columns)
        return buf.getvalue().encode("utf-8")

    def encode(self, contacts: Sequence[Contact]) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        ids = self._field_ids
        known = self._known
        cell = _cell
        rows = []
        for c in contacts:
            custom: Mapping[str, str] = c.custom
            if custom and not known.issuperset(custom):
                self.unlisted_fields.update(k for k in custom if k not in known)
            rows.append(
                (
                    cell(c.id),
                    cell(c.uuid),
                    cell(c.phone),
                    cell(c.first),
                    cell(c.last),
                    cell(c.display_name),
                    cell(c.email),
                    ";".join([str(t.id) for t in c.tags]),
                    ";".join([f"{ch.channel_type}:{ch.channel_id}" for ch in c.contact_channels]),
                    cell(c.assigned_user_id),
                    cell(c.is_opted_out),
                    cell(c.avatar),
                    "" if c.created is None else format_timestamp(c.created),
                    "" if c.updated is None else format_timestamp(c.updated),
                    cell(c.rev),
                    cell(c.team_id),
                    cell(c.creator_id),
                    cell(c.shared),
                    cell(c.op),
                    cell(c.external_id),
                    cell(c.external_ref),
                    cell(c.inbox_id),
                    cell(c.parent_id),
                    cell(c.type),
                    _note_dumps(list(c.note)) if c.note else "",
                    *[custom.get(i, "") for i in ids],
                )
            )
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8")


def stdlib_jsonl() -> JsonlEncoder:
    """A JSONL encoder on the standard library's json, whatever else is installed."""
    return JsonlEncoder(std_json_dumps)
