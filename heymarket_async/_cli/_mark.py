"""``export --since-last MARK``: the high-water mark that makes the next export incremental.

The mark is the position of the last successful export's walk, which ended: resumed, a keyset
walk reads only what was created or changed since (``V2Position``). It is written only after
the output is complete, so a failed run leaves the old mark and the next run exports those
changes again: at least once, never lost. Deletes are not in a list, so they are not reported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

from heymarket_async.errors import InvalidRequestError
from heymarket_async.pagination import V2Position

from ._state import StateError, read_json_file

__all__ = ["load_mark", "save_mark"]

_KIND: Final = "heymarket-async export mark"
_VERSION: Final = 1


def load_mark(path: Path, source: str) -> Any:
    """The finished walk's position saved at ``path`` (JSON-ready), ``None`` when there is no
    file yet; :class:`StateError` when it cannot be used."""
    data = read_json_file(path)
    if data is None:
        return None
    if not isinstance(data, dict) or data.get("kind") != _KIND:
        raise StateError(f"{path} is not a heymarket-async --since-last mark")
    if data.get("version") != _VERSION:
        raise StateError(f"{path}: mark version {data.get('version')!r} is not supported")
    if data.get("source") != source:
        raise StateError(
            f"{path} is the mark of an export from {data.get('source')}, not {source}: "
            "give each account its own --since-last file"
        )
    position = data.get("position")
    if not isinstance(position, dict):
        raise StateError(f"{path} holds no position")
    try:
        finished = V2Position.from_dict(position).done
    except InvalidRequestError as exc:
        raise StateError(f"{path} holds no usable position: {exc.message}") from None
    if not finished:
        raise StateError(f"{path} holds the position of an unfinished walk")
    return position


def save_mark(path: Path, position: Any, source: str) -> None:
    """Replace the mark atomically (and durably: it is what the next run starts from)."""
    data = {"kind": _KIND, "version": _VERSION, "source": source, "position": position}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        out.write(json.dumps(data, separators=(",", ":")).encode("utf-8"))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
