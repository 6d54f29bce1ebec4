"""The files of an export: the output, its partial file, and the resume state beside them.

An export to ``contacts.jsonl`` writes ``contacts.jsonl.part`` and, after pages are written and
flushed (at most every half second, and always when the export stops), replaces
``contacts.jsonl.resume.json`` with the state that continues it: the partial file's length at
that point, the contacts written, and the pager's position. On success the partial file is
renamed to the output and the state file removed. Resuming cuts the partial file back to the
saved length (dropping pages that were written but not recorded), so every contact ends up in
the output exactly once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

import attrs

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
    one line per contact, and ``newest`` is the team's newest ``updated`` read before it began
    (``None`` for an empty team), which tells the lines that may be older versions (``_dedupe``).
    A state written before these two existed reads as an export without ``dedupe``.
    ``normalized`` (JSONL: the SDK's records, not the API's objects) and ``formula_guard`` (CSV)
    say how the lines already written were encoded; a state written before they existed
    describes what that version wrote: normalized JSONL, CSV without the guard.
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
        }

    @classmethod
    def from_json(cls, data: Any) -> ExportState:
        """Raises ``StateError`` for anything that is not a state this version wrote."""
        if not isinstance(data, dict) or data.get("kind") != _KIND:
            raise StateError("not a heymarket-async resume file")
        if data.get("version") != STATE_VERSION:
            raise StateError(f"resume file version {data.get('version')!r} is not supported")
        try:
            state = cls(
                format=_typed(data, "format", str),
                api=_typed(data, "api", str),
                source=_typed(data, "source", str),
                since=data["since"] if data.get("since") is None else _typed(data, "since", str),
                bytes=_typed(data, "bytes", int),
                contacts=_typed(data, "contacts", int),
                position=data["position"],
                columns=tuple(_strings(data, "columns")),
                field_ids=tuple(_strings(data, "field_ids")),
                dedupe=_optional(data, "dedupe", bool, False),
                newest=_optional(data, "newest", str, None),
                normalized=_optional(data, "normalized", bool, True),
                formula_guard=_optional(data, "formula_guard", bool, False),
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


def _optional(data: dict[str, Any], key: str, kind: type[Any], default: Any) -> Any:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise StateError(f"resume file field {key!r} is not a {kind.__name__}")
    return value


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
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to be a state
        raise StateError(f"{path} is not valid JSON") from None


def save_state(path: Path, state: ExportState) -> None:
    """Replace the state file atomically: a reader sees the old state or the new, never half.

    Not fsynced: a killed process loses nothing that reached the OS, and a power cut can at
    worst leave an unreadable state, which ``load_state`` reports rather than trusts.
    """
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(json.dumps(state.to_json(), separators=(",", ":")).encode("utf-8"))
    os.replace(tmp, path)
