"""The files of an export: the output, its partial file, and the resume state beside them.

An export to ``contacts.jsonl`` writes ``contacts.jsonl.part`` and, after pages are written and
flushed (at most every half second, and always when the export stops), replaces
``contacts.jsonl.resume.json`` with the state that continues it: the partial file's length at
that point, the contacts written, and the pager's position. On success the partial file is
renamed to the output and the state file removed. Resuming cuts the partial file back to the
saved length (dropping pages that were written but not recorded), so every contact ends up in
the output exactly once.

Every step leaves a pair that ``--resume`` can use, wherever a kill lands: a new export removes
an earlier state before it cuts the partial file (no state says more than the file holds), and
a finished one saves a last state naming the file about to become the output (``finished``)
before renaming it, so that a resume after a kill between the rename and the removal of the
state sees the output complete and only removes the state.
"""

from __future__ import annotations

import json
import os
import reprlib
from pathlib import Path
from typing import Any, Final

import attrs

from heymarket_async._sansio import parse_timestamp

__all__ = ["STATE_VERSION", "ExportPaths", "ExportState", "StateError", "load_state", "save_state"]

STATE_VERSION: Final = 1
_KIND: Final = "heymarket-async export"


class StateError(Exception):
    """A resume state file that cannot be used; the message says why and what to do."""


@attrs.frozen
class ExportPaths:
    """Where an export to ``output`` keeps its partial file and its resume state."""

    output: Path
    part: Path
    state: Path

    @classmethod
    def for_output(cls, output: str | os.PathLike[str]) -> ExportPaths:
        out = Path(output)
        return cls(
            output=out,
            part=out.with_name(out.name + ".part"),
            state=out.with_name(out.name + ".resume.json"),
        )


@attrs.frozen(kw_only=True)
class ExportState:
    """Everything needed to continue an export where its last flushed page ended.

    ``source`` is the base URL (or ``sandbox:N``), ``since`` the RFC 3339 lower bound or
    ``None``; ``position`` is the pager's own JSON form. ``columns`` and ``field_ids`` pin the CSV
    header, which was written before the interruption. ``dedupe`` says whether the export keeps
    one line per contact, and ``newest`` a time at or before its walk's first read (``None`` for an
    empty team), which tells the lines that may be older versions (``_dedupe``).
    A state written before these two existed reads as an export without ``dedupe``.
    ``normalized`` (JSONL: the SDK's records, not the API's objects) and ``formula_guard`` (CSV)
    say how the lines already written were encoded; a state written before they existed
    describes what that version wrote: normalized JSONL, CSV without the guard.
    ``finished`` is the ``(device, inode, size)`` of the complete file about to be renamed to
    the output: when the output is that file, the export is done.
    """

    format: str
    api: str
    source: str
    since: str | None
    bytes: int
    contacts: int
    position: Any
    columns: tuple[str, ...] = ()
    field_ids: tuple[str, ...] = ()
    dedupe: bool = False
    newest: str | None = None
    normalized: bool = False
    formula_guard: bool = True
    finished: tuple[int, int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": _KIND,
            "version": STATE_VERSION,
            "format": self.format,
            "api": self.api,
            "source": self.source,
            "since": self.since,
            "bytes": self.bytes,
            "contacts": self.contacts,
            "position": self.position,
            "columns": list(self.columns),
            "field_ids": list(self.field_ids),
            "dedupe": self.dedupe,
            "newest": self.newest,
            "normalized": self.normalized,
            "formula_guard": self.formula_guard,
            "finished": None if self.finished is None else list(self.finished),
        }

    @classmethod
    def from_json(cls, data: Any) -> ExportState:
        """Raises ``StateError`` for anything that is not a state this version wrote."""
        if not isinstance(data, dict) or data.get("kind") != _KIND:
            raise StateError("not a heymarket-async resume file")
        version = data.get("version")
        if type(version) is not int or version != STATE_VERSION:
            # reprlib: a value of any size stays a short line.
            raise StateError(f"resume file version {reprlib.repr(version)} is not supported")
        try:
            state = cls(
                format=_choice(data, "format", ("jsonl", "csv")),
                api=_choice(data, "api", ("v1", "v2")),
                source=_line(data, "source"),
                since=data["since"] if data.get("since") is None else _time(data, "since"),
                bytes=_typed(data, "bytes", int),
                contacts=_typed(data, "contacts", int),
                position=data["position"],
                columns=tuple(_strings(data, "columns")),
                field_ids=tuple(_strings(data, "field_ids")),
                dedupe=_optional(data, "dedupe", bool, False),
                newest=None if data.get("newest") is None else _time(data, "newest"),
                normalized=_optional(data, "normalized", bool, True),
                formula_guard=_optional(data, "formula_guard", bool, False),
                finished=_file_id(data),
            )
        except KeyError as exc:
            raise StateError(f"resume file lacks {exc.args[0]!r}") from None
        if state.bytes < 0 or state.contacts < 0:
            raise StateError("resume file holds a negative count")
        return state


def _typed(data: dict[str, Any], key: str, kind: type[Any]) -> Any:
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise StateError(f"resume file field {key!r} is not a {kind.__name__}")
    return value


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = data[key]
    if value not in choices or not isinstance(value, str):
        raise StateError(f"resume file field {key!r} is not one of {', '.join(choices)}")
    return value


def _line(data: dict[str, Any], key: str) -> str:
    """A text field that error messages quote: one printable line."""
    value = _typed(data, key, str)
    if not value.isprintable():
        raise StateError(f"resume file field {key!r} holds a line break or control character")
    return str(value)


def _time(data: dict[str, Any], key: str) -> str:
    value = _line(data, key)
    try:
        parse_timestamp(value)
    except ValueError:
        raise StateError(f"resume file field {key!r} is not an RFC 3339 time") from None
    return value


def _optional(data: dict[str, Any], key: str, kind: type[Any], default: Any) -> Any:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise StateError(f"resume file field {key!r} is not a {kind.__name__}")
    return value


def _file_id(data: dict[str, Any]) -> tuple[int, int, int] | None:
    value = data.get("finished")
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(type(v) is int and v >= 0 for v in value)
    ):
        raise StateError("resume file field 'finished' is not a file's device, inode and size")
    return (value[0], value[1], value[2])


def _strings(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StateError(f"resume file field {key!r} is not a list of strings")
    return value


def load_state(path: Path) -> ExportState | None:
    """The state saved at ``path``, ``None`` when there is none; ``StateError`` when unusable."""
    data = read_json_file(path)
    return None if data is None else ExportState.from_json(data)


def read_json_file(path: Path) -> Any:
    """The JSON in ``path``, ``None`` when there is no file; :class:`StateError` when it is not
    JSON."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to be a state
        raise StateError(f"{path} is not valid JSON") from None
    if data is None:  # not to be read as "no file"
        raise StateError(f"{path} holds null, not a heymarket-async file")
    return data


def save_state(path: Path, state: ExportState) -> None:
    """Replace the state file atomically: a reader sees the old state or the new, never half.

    Not fsynced: a killed process loses nothing that reached the OS, and a power cut can at
    worst leave an unreadable state, which ``load_state`` reports rather than trusts.
    """
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(json.dumps(state.to_json(), separators=(",", ":")).encode("utf-8"))
    os.replace(tmp, path)
