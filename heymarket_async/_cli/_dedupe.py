"""``export --dedupe``: one line per contact, its newest version, in memory bounded by the changes
(and 8 bytes a line).

A walk over a live team reads a contact changed during the walk again, in its newer version
(same ``id``, later ``updated``). Only such a contact can be written twice, and each version
that a change during the walk makes has an ``updated`` at or after ``newest``, a time at or
before the walk's first read (a change stamps the time of the change; the export reads the
team's newest ``updated`` beside the walk and takes off the time that read took, see
``_export._threshold``). So :class:`LatestVersions` remembers, for the lines whose ``updated``
is at or after ``newest`` only, each contact's newest line; :func:`drop_older_versions` then
drops every other line of those contacts. The rule: the newest version by ``updated``, and of
two lines with the same ``updated`` the later. A line without an ``id`` is never dropped; one
without an ``updated`` (or whose ``updated`` is not a time) is never remembered, and goes only
when a version of its contact at or after ``newest`` is in the file.

Contacts come as the API sent them (``add_raw_page``: ``id`` as sent, ``updated`` the API's
text) or typed (``add_page``, for ``--normalized``). An id written as digits in a string counts
as that number, as it does when read back from the file.

Memory: the remembered contacts (those changed during the export), and the id of every line,
8 bytes each, kept while all are whole numbers (as the API's are): the lines to drop are then
known without reading the file, and a file with none to drop is not read again. Otherwise the
file is streamed once.
"""

from __future__ import annotations

import array
import contextlib
import csv
import operator
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Final

from heymarket_async._sansio import JSONDecodeError, format_timestamp, json_loads, parse_timestamp
from heymarket_async.models import Contact

from ._output import STANDARD_COLUMNS

__all__ = ["CorruptLineError", "LatestVersions", "drop_older_versions", "scan_lines"]

#: A JSONL line as the exporter writes it starts with its id: read it without decoding the line.
_JSONL_ID: Final = re.compile(rb'\{"id":(\d+)[,}]')
#: What an id array (``array("q")``) holds.
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_INT_ONLY: Final = frozenset((int,))
#: Up to this many remembered contacts, their lines are found by scanning the ids once each.
_FEW: Final = 64
_CSV_UPDATED: Final = STANDARD_COLUMNS.index("updated")
_COPY_CHUNK: Final = 1 << 20


#: The length of ``YYYY-MM-DDTHH:MM:SS``, the part of an RFC 3339 time that orders as text.
_SECONDS_TEXT: Final = 19
#: A UTC time as the API writes it, whose text orders as the time does (to the second).
_UTC_TIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z"
)
_DIGITS_AS_ZERO: Final = bytes.maketrans(b"0123456789", b"0" * 10)
_updated: Final = operator.itemgetter("updated")
_id_of: Final = operator.itemgetter("id")


class CorruptLineError(ValueError):
    """A line of a partial file that is not a contact as the exporter writes it."""


def _instant(value: datetime) -> datetime:
    # A time sent without an offset is UTC, as everywhere in the command.
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


class LatestVersions:
    """The newest line of each contact that may have changed since the export began.

    ``newest`` is a time at or before the export's first read (``None``: the team was empty, so
    every line counts). Lines are numbered from 0 in the order they are written,
    the CSV header aside; ``lines`` is the number of the next one.
    """

    def __init__(self, newest: datetime | None, *, lines: int = 0) -> None:
        self.newest = None if newest is None else _instant(newest)
        self.lines = lines
        self._latest: dict[Any, tuple[datetime, int]] = {}
        # The id of every line, in order, while each is a 64-bit int; else None.
        self._ids: array.array[int] | None = array.array("q") if lines == 0 else None
        # ``newest`` to the second, as UTC text: a time the API writes in the same shape that
        # sorts before it is before ``newest`` (see add_raw_page).
        self._newest_text = (
            "" if self.newest is None else format_timestamp(self.newest)[:_SECONDS_TEXT]
        )

    def __len__(self) -> int:
        """How many contacts are remembered: those with a line at or after ``newest``."""
        return len(self._latest)

    def add(self, contact_id: Any, updated: datetime | None) -> None:
        """The next line holds version ``updated`` of contact ``contact_id``."""
        line = self.lines
        self.lines += 1
        if self._ids is not None:
            if type(contact_id) is int and _INT64_MIN <= contact_id <= _INT64_MAX:
                self._ids.append(contact_id)
            else:
                self._ids = None
        if contact_id is None or updated is None:
            return
        updated = _instant(updated)
        # At or after, not after: a change in the same instant as ``newest`` (or rendered to
        # it) is a change too.
        if self.newest is not None and updated < self.newest:
            return
        known = self._latest.get(contact_id)
        if known is None or updated >= known[0]:
            self._latest[contact_id] = (updated, line)

    def add_page(self, contacts: Sequence[Contact]) -> None:
        """The next lines hold ``contacts``, in order."""
        for c in contacts:
            self.add(c.id, c.updated)

    def add_raw_page(self, contacts: Sequence[Mapping[str, Any]]) -> None:
        """The next lines hold ``contacts``, in order, as the API sent them.

        Most pages of an export are older than ``newest`` and are told so at once (see
        :func:`_plainly_before`); the others are read contact by contact, times parsed.
        """
        try:
            before = _plainly_before(list(map(_updated, contacts)), self._newest_text)
        except (KeyError, TypeError, ValueError):  # a time missing, not text, not ASCII
            before = False
        if before:
            if self._ids is not None:
                try:
                    ids = list(map(_id_of, contacts))
                    if not _INT_ONLY.issuperset(map(type, ids)):
                        raise TypeError("an id that is not an int")
                    self._ids.fromlist(ids)
                except (KeyError, TypeError, OverflowError):  # no id, not an int, too large
                    self._ids = None
            self.lines += len(contacts)
            return
        for c in contacts:
            self.add(_id_key(c.get("id")), _time_or_none(c.get("updated")))

    def keeps(self, contact_id: Any, line: int) -> bool:
        """Whether line ``line``, of contact ``contact_id``, stays in the file."""
        known = self._latest.get(contact_id)
        return known is None or known[1] == line

    def older_lines(self) -> set[int] | None:
        """The lines that :meth:`keeps` drops, when every line's id is known (a whole number);
        ``None`` when only reading the file can tell."""
        if self._ids is None or len(self._ids) != self.lines:
            return None
        ids = self._ids
        latest = self._latest
        gone = set()
        if len(latest) <= _FEW:
            # A few contacts changed: each one's lines are found by a scan in C.
            for contact_id, (_, kept) in latest.items():
                if ids.count(contact_id) > 1:
                    line = -1
                    with contextlib.suppress(ValueError):  # no line after the last
                        while True:
                            line = ids.index(contact_id, line + 1)
                            if line != kept:
                                gone.add(line)
            return gone
        for line, contact_id in enumerate(ids):
            known = latest.get(contact_id)
            if known is not None and known[1] != line:
                gone.add(line)
        return gone


def _plainly_before(texts: list[str], before: str) -> bool:
    """Whether every time of ``texts`` (a page's ``updated``) is before ``before`` (the newest
    ``updated``, to the second, as ``YYYY-MM-DDTHH:MM:SS``), told from the text alone.

    True when the greatest sorts before it and all are laid out as the first, a UTC time in
    RFC 3339's shape (same digits, same separators): then each time's first 19 characters are
    its date and time to the second, which order as the text does. A page of the API's own
    times costs a few C calls.
    """
    if not texts or max(texts) >= before or _UTC_TIME.fullmatch(texts[0]) is None:
        return False
    layout = texts[0].encode("ascii").translate(_DIGITS_AS_ZERO)
    laid_out = "|".join(texts).encode("ascii").translate(_DIGITS_AS_ZERO)
    return laid_out == b"|".join([layout] * len(texts))


def _id_key(value: Any) -> Any:
    """An id as the file gives it back: digits in a string are that number (a CSV cell)."""
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    return value


def _time_or_none(value: Any) -> datetime | None:
    """The time an API ``updated`` says, ``None`` for anything that is not one."""
    if type(value) is not str:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _records(stream: IO[bytes], fmt: str) -> Iterator[bytes]:
    """The file's records with their line ends: its lines, or CSV rows (whose quoted cells may
    hold line breaks: a row ends where its quotes are balanced)."""
    if fmt != "csv":
        yield from stream
        return
    pending: list[bytes] = []
    quotes = 0
    for line in stream:
        pending.append(line)
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            yield b"".join(pending)
            pending, quotes = [], 0
    if pending:
        yield b"".join(pending)


def _jsonl_id(line: bytes) -> Any:
    match = _JSONL_ID.match(line)
    # A line is the API's own text (see RawJsonlEncoder): should it hold "id" twice, the
    # decoded contact has the last one, which the whole decode below reads.
    if match is not None and line.count(b'"id":') == 1:
        return int(match[1])
    try:
        data = json_loads(line)
    except JSONDecodeError:
        return None
    return _id_key(data.get("id")) if isinstance(data, dict) else None


def _csv_id(row: bytes) -> Any:
    # The id is the first column, digits or empty: never quoted.
    cell = row.partition(b",")[0]
    return int(cell) if cell.isdigit() else None


def scan_lines(stream: IO[bytes], fmt: str, versions: LatestVersions) -> None:
    """Feed the contacts already in a partial file (read from its start) to ``versions``.

    For a resumed export: its lines at or after ``newest`` come back into memory. Raises
    :class:`CorruptLineError` for a line that is not a contact.
    """
    records = _records(stream, fmt)
    if fmt == "csv":
        next(records, None)  # the header
    for record in records:
        number = versions.lines + 1
        try:
            contact_id, updated = (_csv_fields if fmt == "csv" else _jsonl_fields)(record)
        except (ValueError, RecursionError, TypeError, IndexError, KeyError):
            raise CorruptLineError(f"contact {number} is not a contact as exported") from None
        versions.add(contact_id, updated)


def _jsonl_fields(line: bytes) -> tuple[Any, datetime | None]:
    data = json_loads(line)
    if type(data) is not dict:
        raise ValueError("not an object")
    # The API's contact as sent (it may lack either key, or hold no time: never dropped), or
    # a normalized record.
    return _id_key(data.get("id")), _time_or_none(data.get("updated"))


def _csv_fields(record: bytes) -> tuple[Any, datetime | None]:
    (row,) = csv.reader([record.decode("utf-8")])
    return _csv_id(record), _time_or_none(row[_CSV_UPDATED])


def drop_older_versions(part: Path, tmp: Path, fmt: str, versions: LatestVersions) -> int:
    """Copy ``part`` to ``tmp`` without the lines that ``versions`` does not keep; how many
    were dropped.

    When ``versions`` knows every line's id, a file without older versions is not read at all;
    otherwise one streamed pass. ``tmp`` is created only at the first line dropped (the lines
    before it copied in one go); when the count is 0, ``tmp`` does not exist. Written and
    synced before returning; removed on any failure.
    """
    gone = versions.older_lines()
    if gone is not None and not gone:
        return 0
    dropped = 0
    out: IO[bytes] | None = None
    try:
        with open(part, "rb") as src:
            records = _records(src, fmt)
            offset = 0
            if fmt == "csv":
                offset = len(next(records, b""))  # the header, always kept
            read_id = _csv_id if fmt == "csv" else _jsonl_id
            for line, record in enumerate(records):
                keep = versions.keeps(read_id(record), line) if gone is None else line not in gone
                if keep:
                    if out is not None:
                        out.write(record)
                    offset += len(record)
                    continue
                if out is None:
                    out = open(tmp, "wb")  # noqa: SIM115 - closed in the finally below
                    _copy_prefix(part, offset, out)
                dropped += 1
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        if out is not None:
            out.close()
            tmp.unlink(missing_ok=True)
        raise
    if out is not None:
        out.close()
    return dropped


def _copy_prefix(path: Path, length: int, out: IO[bytes]) -> None:
    """The first ``length`` bytes of ``path`` into ``out``."""
    with open(path, "rb") as src:
        left = length
        while left:
            chunk = src.read(min(left, _COPY_CHUNK))
            if not chunk:
                raise OSError(f"{path} is shorter than the {length} bytes read from it")
            out.write(chunk)
            left -= len(chunk)
