"""How contacts become bytes in an export: JSONL records and CSV rows. No I/O here.

The export writes contacts as the API sent them (``raw`` pages of dicts): :class:`RawJsonlEncoder`
writes each object back out with every key, in the API's order, values untouched, and
:class:`CsvEncoder` flattens them into columns. ``--normalized`` writes the SDK's typed
contacts instead (:class:`JsonlEncoder`, :func:`contact_record`).

Every encoder works a page at a time and returns the bytes to append, so the exporter can count
bytes exactly (the resume state stores the file's length after whole pages) and write once per
page.
"""

from __future__ import annotations

import collections
import csv
import io
import itertools
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Final, Protocol, cast

from heymarket_async._sansio import format_timestamp, json_dumps, std_json_dumps
from heymarket_async._sansio.response import ItemTexts
from heymarket_async.models import Contact, ContactField

__all__ = [
    "STANDARD_COLUMNS",
    "ContactEncoder",
    "CsvEncoder",
    "JsonlEncoder",
    "RawJsonlEncoder",
    "contact_line",
    "contact_record",
    "csv_columns",
    "formula_guarded",
]


_UTC: Final = timezone.utc
#: How text that UTF-8 cannot hold (lone surrogates) is written: as ``\\udXXX`` escapes.
_SURROGATES: Final = "backslashreplace"
#: Whether ``_sansio.json_dumps`` is orjson's (the optional fast JSON library).
_HAS_ORJSON: Final = json_dumps is not std_json_dumps


class ContactEncoder(Protocol):
    """Turns pages of contacts (the API's dicts, or typed ``Contact``) into export bytes."""

    def header(self) -> bytes:
        """What the file starts with (empty for JSONL)."""

    def encode(self, contacts: Sequence[Any]) -> bytes:
        """The bytes for a page of contacts, ending with a newline."""


def _time_text(value: datetime) -> str:
    """``format_timestamp``, with a shortcut for the UTC times that parsing ``...Z`` gives."""
    if value.tzinfo is _UTC:
        text = value.isoformat("T", "microseconds" if value.microsecond else "seconds")
        return text[:-6] + "Z"  # "+00:00" -> "Z"
    return format_timestamp(value)


def _ts(value: datetime | None) -> str | None:
    return None if value is None else _time_text(value)


def contact_record(c: Contact) -> dict[str, Any]:
    """A contact as JSON-ready data: what ``CONVERTER.unstructure`` gives, at a third of the cost,
    but for the keys of ``extra`` (of the contact, its tags and its channels): the SDK's
    normalized record, its fields only.

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
        "tags": [
            {
                "id": t.id,
                "name": t.name,
                "color": t.color,
                "created": _ts(t.created),
                "updated": _ts(t.updated),
            }
            for t in c.tags
        ],
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
        "local_id": c.local_id,
        "inbox_id": c.inbox_id,
        "parent_id": c.parent_id,
        "type": c.type,
        "note": list(c.note),
    }


def _unserializable(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _stdlib_line_encoder() -> Callable[[Any], str]:
    """Compact JSON text for one record, on the standard library's C encoder.

    ``json.dumps`` builds a new C encoder on every call, which for a record this small costs
    as much as the encoding: build it once. Non-ASCII text is kept as it is (UTF-8 output).
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has _json
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    encode = make(
        None, _unserializable, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )
    return lambda obj: "".join(encode(obj, 0))


_record_text: Final = _stdlib_line_encoder()
#: ``Infinity`` outside a string, as the standard encoder spells a number past a double's range
#: (what ``1e400`` decodes to): not JSON.
_INFINITY: Final = re.compile(r'("(?:[^"\\]|\\.)*")|(-?)Infinity')


def _api_text(obj: Any) -> str:
    """A decoded API object as compact JSON: :data:`_record_text`, with a number past a
    double's range written ``1e999`` (valid JSON, read back as the same infinity) rather than
    ``Infinity``."""
    text = _record_text(obj)
    if "Infinity" in text:
        text = _INFINITY.sub(lambda m: m[1] or f"{m[2]}1e999", text)
    return text


_quote: Final[Callable[[str], str]] = json.encoder.encode_basestring


def _j(value: Any) -> str:
    """Any value as JSON text: strings and ``None`` at once, the rest through the encoder."""
    if type(value) is str:
        return _quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _record_text(value)


def contact_line(c: Contact) -> str:
    """``contact_record(c)`` as compact JSON text, written out without building the dict.

    The same text as encoding the record (a test holds them equal) at half the cost, since an
    export does this once per contact. Inline ``None`` checks rather than helper calls: a call
    per field would cost as much as the rest. Fields the converter has typed (ints, strings)
    are written directly; the ones it passes through as sent go through :func:`_j`.
    """
    q = _quote
    j = _j
    r = int.__repr__
    ts = _time_text
    tags = ",".join(
        [
            f'{{"id":{r(t.id)},"name":{"null" if t.name is None else q(t.name)},'
            f'"color":{"null" if t.color is None else q(t.color)},'
            f'"created":{"null" if t.created is None else q(ts(t.created))},'
            f'"updated":{"null" if t.updated is None else q(ts(t.updated))}}}'
            for t in c.tags
        ]
    )
    channels = ",".join(
        [
            f'{{"channel_type":{q(ch.channel_type)},"channel_id":{q(ch.channel_id)}}}'
            for ch in c.contact_channels
        ]
    )
    custom = ",".join([f"{q(k)}:{q(v)}" for k, v in c.custom.items()])
    return (
        f'{{"id":{r(c.id)},'
        f'"uuid":{"null" if c.uuid is None else q(c.uuid)},'
        f'"phone":{"null" if c.phone is None else q(c.phone)},'
        f'"first":{j(c.first)},"last":{j(c.last)},"display_name":{j(c.display_name)},'
        f'"email":{j(c.email)},"custom":{{{custom}}},"tags":[{tags}],'
        f'"contact_channels":[{channels}],'
        f'"assigned_user_id":{"null" if c.assigned_user_id is None else r(c.assigned_user_id)},'
        f'"is_opted_out":{j(c.is_opted_out)},"avatar":{j(c.avatar)},'
        f'"created":{"null" if c.created is None else q(ts(c.created))},'
        f'"updated":{"null" if c.updated is None else q(ts(c.updated))},'
        f'"rev":{"null" if c.rev is None else r(c.rev)},'
        f'"team_id":{"null" if c.team_id is None else r(c.team_id)},'
        f'"creator_id":{"null" if c.creator_id is None else r(c.creator_id)},'
        f'"shared":{j(c.shared)},"op":{j(c.op)},'
        f'"external_id":{"null" if c.external_id is None else q(c.external_id)},'
        f'"external_ref":{"null" if c.external_ref is None else q(c.external_ref)},'
        f'"local_id":{"null" if c.local_id is None else q(c.local_id)},'
        f'"inbox_id":{"null" if c.inbox_id is None else r(c.inbox_id)},'
        f'"parent_id":{"null" if c.parent_id is None else r(c.parent_id)},'
        f'"type":{j(c.type)},"note":{_record_text(list(c.note)) if c.note else "[]"}}}'
    )


class JsonlEncoder:
    """``--normalized``: one JSON object per line, every field of the typed contact (see
    :func:`contact_record`). Keys the model does not know are not written.

    With orjson installed its ``dumps`` is used; otherwise :func:`contact_line`.
    """

    def __init__(self, *, use_orjson: bool = _HAS_ORJSON) -> None:
        self._orjson = use_orjson

    def header(self) -> bytes:
        return b""

    def encode(self, contacts: Sequence[Contact]) -> bytes:
        if not contacts:
            return b""
        if self._orjson:
            dumps = json_dumps
            record = contact_record
            try:
                return b"\n".join([dumps(record(c)) for c in contacts]) + b"\n"
            except (TypeError, ValueError):
                pass  # a lone surrogate, which orjson refuses: the standard library copes
        line = contact_line
        # One join and one encode per page: a single write and one bytes object to count.
        # A lone surrogate (what a "\\ud800" escape decodes to) cannot be UTF-8: writing it
        # back as that escape keeps the line valid JSON with the same value.
        return ("\n".join([line(c) for c in contacts]) + "\n").encode("utf-8", _SURROGATES)


class RawJsonlEncoder:
    """One JSON object per line, each contact exactly as the API sent it: every key, in the
    API's order, values untouched (times keep their digits, tags stay ``{"tag_id": N}``).

    A page that kept the contacts' texts (:class:`ItemTexts`, what the export asks the walk for
    when orjson is not installed) is written as those texts: the API's own bytes, one contact a
    line (one whose text holds a line break, or whose page lost its texts, such as a page cut
    by ``max_items``, is encoded again, compact). Otherwise compact,
    non-ASCII text as UTF-8: with orjson installed, ``orjson.dumps`` per contact; without it
    (and for a page orjson refuses: a lone surrogate, an integer beyond 64 bits) the standard
    library's encoder. All write the same values; they differ only in spelling (``1e+16``
    against ``1e16``, ``\\u00e9`` against ``é``, ``1e999`` for ``1e400``), but for two limits of
    orjson's: an integer beyond 64 bits is read as a float, and a number past a double's range
    (read by the standard library, which orjson leaves it to) is written ``null``.
    """

    def __init__(self, *, use_orjson: bool = _HAS_ORJSON) -> None:
        self._orjson = use_orjson

    @property
    def wants_texts(self) -> bool:
        """Whether pages with their texts are faster to write than to encode: without orjson,
        keeping each contact's text costs a fifth of a decode, encoding it more than a decode."""
        return not self._orjson

    def header(self) -> bytes:
        return b""

    def encode(self, contacts: Sequence[Mapping[str, Any]]) -> bytes:
        if not contacts:
            return b""
        if type(contacts) is ItemTexts:
            texts = contacts.texts
            if None not in texts:
                return b"\n".join(cast("list[bytes]", texts)) + b"\n"
            pairs = zip(contacts, texts, strict=True)
            lines = [self.encode([c])[:-1] if t is None else t for c, t in pairs]
            return b"\n".join(lines) + b"\n"
        if self._orjson:
            dumps = json_dumps
            try:
                return b"\n".join([dumps(c) for c in contacts]) + b"\n"
            except (TypeError, ValueError):
                pass  # what orjson refuses (see the class docstring): the standard library copes
        text = _api_text
        # A lone surrogate (what a "\\ud800" escape decodes to) cannot be UTF-8: written back
        # as that escape, the line stays valid JSON with the same value.
        return ("\n".join([text(c) for c in contacts]) + "\n").encode("utf-8", _SURROGATES)


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
    "local_id",
    "inbox_id",
    "parent_id",
    "type",
    "note",
)


def csv_columns(fields: Sequence[ContactField], *, guard: bool = False) -> list[str]:
    """The CSV header: the standard columns, then one per custom field, named as the team names it.

    A field without a name is headed by its id; a name that repeats another column's gets its id
    appended (``"Plan (12)"``), again until it names no other column, so every column can be
    told apart. With ``guard``, each name is first as the header writes it
    (:func:`formula_guarded`): ``=x`` and ``'=x`` would both be written ``'=x``.
    """
    names = [f.name if f.name else str(f.id) for f in fields]
    if guard:
        names = [formula_guarded(name) for name in names]
    repeated = {name for name, n in collections.Counter(names).items() if n > 1}
    taken = set(STANDARD_COLUMNS)
    out = list(STANDARD_COLUMNS)
    for field, name in zip(fields, names, strict=True):
        if name in taken or name in repeated:
            name = f"{name} ({field.id})"
            # A field may be named so already ("Plan (12)" beside two fields named "Plan").
            while name in taken:
                name = f"{name} ({field.id})"
        taken.add(name)
        out.append(name)
    return out


#: What a cell may start with for a spreadsheet to run it as a formula (OWASP, "CSV Injection").
_FORMULA_STARTS: Final = frozenset("=+-@\t\r")
#: A number with an optional sign and nothing else ("-5", "+15105550001"): a spreadsheet reads it
#: as that number and runs nothing, so it is written as it is, not guarded.
_PLAIN_NUMBER: Final = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_first_character: Final = operator.itemgetter(slice(0, 1))
_is_text: Final = str.__instancecheck__


def formula_guarded(text: str) -> str:
    """``text`` as a cell that no spreadsheet runs: prefixed with ``'`` when it starts with
    ``=``, ``+``, ``-``, ``@``, a tab or a CR, unless it is a plain signed number.

    OWASP's advice is to prefix every such cell; a number such as ``-5`` or a phone number in
    E.164 form (``+15105550001``) is exempt, because a spreadsheet evaluates it to that same
    number (no function, no reference), and a quote would change the value every other reader
    of the file sees.
    """
    if text and text[0] in _FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


#: The keys of a contact that have a place in the CSV: the standard columns and ``custom``.
_PLACED: Final = frozenset((*STANDARD_COLUMNS, "custom"))
#: The cell types csv writes by itself as JSON would (bool aside: it writes ``True``).
_PLAIN_CELLS: Final = frozenset((str, int, float, type(None)))
_json_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def _cell(value: Any, guard: bool) -> Any:
    """Any value as its cell: text (guarded), numbers, ``true``/``false``, JSON for the rest."""
    kind = type(value)
    if kind is str:
        return formula_guarded(value) if guard else value
    if value is None or kind is int or kind is float:
        return value
    if kind is bool:
        return "true" if value else "false"
    return _json_text(value)


#: The keys of a tag's object that its cell holds, and of a channel's.
_TAG_ID_KEYS: Final = frozenset(("tag_id", "id"))
_CHANNEL_KEYS: Final = frozenset(("channel_type", "channel_id"))


def _tags_cell(tags: Any, unplaced: collections.Counter[str]) -> Any:
    """Tag ids joined by ``;`` (``{"tag_id": N}``, ``{"id": N, ...}`` or a bare N); a value of
    another shape as JSON. The tags' other keys (a fuller tag's ``name``) are counted in
    ``unplaced`` as ``tags.name``, once a contact."""
    if type(tags) is list:
        ids = []
        lost: set[str] = set()
        for tag in tags:
            if type(tag) is dict:
                tag_id = tag.get("tag_id", tag.get("id"))
                if len(tag) > 1:
                    lost.update(tag.keys() - _TAG_ID_KEYS)
            else:
                tag_id = tag
            if type(tag_id) is not int and type(tag_id) is not str:
                return _json_text(tags)
            ids.append(str(tag_id))
        if lost:
            unplaced.update(f"tags.{key}" for key in lost)
        return ";".join(ids)
    return tags


def _channels_cell(channels: Any, unplaced: collections.Counter[str]) -> Any:
    """Channels as ``type:id`` joined by ``;``; a value of another shape as JSON. The channels'
    other keys are counted in ``unplaced`` as ``contact_channels.status``, once a contact."""
    if type(channels) is list:
        try:
            cell = ";".join([f"{c['channel_type']}:{c['channel_id']}" for c in channels])
        except (TypeError, KeyError):
            return _json_text(channels)
        lost = {key for c in channels if len(c) > 2 for key in c.keys() - _CHANNEL_KEYS}
        if lost:
            unplaced.update(f"contact_channels.{key}" for key in lost)
        return cell
    return channels


class CsvEncoder:
    """One row per contact (the API's dicts): the standard fields, then the custom fields in
    ``field_ids`` order.

    RFC 4180 CSV (CRLF line ends, quotes where needed), UTF-8. On Python 3.10, whose csv module
    cannot write them, NUL characters are left out.

    Cells hold the values as sent: empty for missing or null, ``true``/``false`` for booleans,
    times as the API wrote them, tag ids joined by ``;``, channels as ``type:id`` joined by
    ``;``, ``note`` (and any object or list where a plain value belongs) as JSON. With
    ``formula_guard`` (the default) a text cell that a spreadsheet would run as a formula gets a
    ``'`` in front (see :func:`formula_guarded`), the header's names too.

    What has no column is counted, per contact: :attr:`unplaced` maps each key the CSV has no
    place for (``"loyalty_tier"``), each custom field not in ``field_ids``
    (``"custom field 99"``), and each key of a tag or a channel that its cell leaves out
    (``"tags.name"``, ``"contact_channels.status"``), to how many contacts had it.
    """

    def __init__(
        self, field_ids: Sequence[str], columns: Sequence[str], *, formula_guard: bool = True
    ) -> None:
        self._field_ids = tuple(field_ids)
        self._known = frozenset(field_ids)
        self._columns = tuple(columns)
        self._guard = formula_guard
        self.unplaced: collections.Counter[str] = collections.Counter()

    def header(self) -> bytes:
        buf = io.StringIO()
        names = self._columns
        if self._guard:
            names = tuple(formula_guarded(name) for name in names)
        csv.writer(buf, lineterminator="\r\n").writerow(names)
        return buf.getvalue().encode("utf-8")

    def encode(self, contacts: Sequence[Mapping[str, Any]]) -> bytes:
        # The common page is written as built, at C speed: rows built without a check per
        # cell, then one pass over every cell's type and one over the first character of every
        # text cell. Only a page that fails either is converted cell by cell.
        rows = [self._row(c) for c in contacts]
        cells = itertools.chain.from_iterable
        if not _PLAIN_CELLS.issuperset(map(type, cells(rows))) or (
            self._guard
            and not _FORMULA_STARTS.isdisjoint(map(_first_character, filter(_is_text, cells(rows))))
        ):
            guard = self._guard
            rows = [tuple([_cell(v, guard) for v in row]) for row in rows]
        return _write(rows).encode("utf-8", _SURROGATES)

    def _row(self, contact: Any) -> tuple[Any, ...]:
        if not isinstance(contact, Mapping):  # not an object: nothing to place, a row of blanks
            self.unplaced["(not an object)"] += 1
            contact = {}
        get = contact.get
        if not contact.keys() <= _PLACED:
            self.unplaced.update(k for k in contact if k not in _PLACED)
        custom = get("custom")
        if type(custom) is dict:
            if not self._known.issuperset(custom):
                known = self._known
                self.unplaced.update(f"custom field {k}" for k in custom if k not in known)
            values = [custom.get(i) for i in self._field_ids]
        else:
            if custom not in (None, [], ""):  # not an object: no field ids to place it by
                self.unplaced["custom"] += 1
            values = [None] * len(self._field_ids)
        tags = get("tags")
        channels = get("contact_channels")
        note = get("note")
        return (
            get("id"),
            get("uuid"),
            get("phone"),
            get("first"),
            get("last"),
            get("display_name"),
            get("email"),
            None if tags is None else _tags_cell(tags, self.unplaced),
            None if channels is None else _channels_cell(channels, self.unplaced),
            get("assigned_user_id"),
            "true"
            if (opted := get("is_opted_out")) is True
            else "false"
            if opted is False
            else opted,
            get("avatar"),
            get("created"),
            get("updated"),
            get("rev"),
            get("team_id"),
            get("creator_id"),
            "true" if (shared := get("shared")) is True else "false" if shared is False else shared,
            get("op"),
            get("external_id"),
            get("external_ref"),
            get("local_id"),
            get("inbox_id"),
            get("parent_id"),
            get("type"),
            (_json_text(note) if note else None) if type(note) is list else note,
            *values,
        )


def _write(rows: list[tuple[Any, ...]]) -> str:
    buf = io.StringIO()
    try:
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
    except csv.Error:
        # Python 3.10's csv cannot write a NUL character: drop them (only then, so the
        # common page pays nothing).
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(
            [tuple(_no_nul(value) for value in row) for row in rows]
        )
    return buf.getvalue()


def _no_nul(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) else value
