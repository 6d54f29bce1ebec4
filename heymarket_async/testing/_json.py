"""The emulator's own JSON decoding of request bodies: the standard library's, as UTF-8.

Kept apart from the SDK's codec on purpose: a decoding bug shared by the client and the fake
would pass every test that runs one against the other.
"""

from __future__ import annotations

import json
from typing import Any, Final

_DECODER: Final = json.JSONDecoder()


class NotJSON(ValueError):
    """A body that is not one JSON value in UTF-8."""


def decode_json(raw: bytes) -> Any:
    """The JSON value in ``raw``; :class:`NotJSON` if there is none.

    What the standard ``json`` module reads (``NaN`` and ``Infinity`` included, duplicate keys
    keeping the last), from UTF-8 only: no byte order mark, no UTF-16 guessing.
    """
    try:
        return _DECODER.decode(raw.decode("utf-8"))
    # UnicodeDecodeError and JSONDecodeError are ValueErrors; the decoder recurses, so a deeply
    # nested body raises RecursionError, and is just as undecodable.
    except (ValueError, RecursionError):
        raise NotJSON("the body is not JSON") from None


def decode_json_or_none(raw: bytes) -> Any:
    """The JSON value in ``raw``, or ``None`` if it is empty or not JSON (for recording)."""
    if not raw:
        return None
    try:
        return decode_json(raw)
    except NotJSON:
        return None
