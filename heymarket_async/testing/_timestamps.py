"""How the emulator renders and compares ``created``/``updated`` for each timestamp format."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal

from heymarket_async._wire import parse_timestamp

from ._clock import to_micros

TimestampFormat = Literal["milliseconds", "seconds", "microseconds"]

#: The resolution of each format in microseconds: stored values are compared at this
#: resolution, so a cursor sent back byte for byte means exactly what the client saw.
UNITS: Final[dict[str, int]] = {"seconds": 1_000_000, "milliseconds": 1000, "microseconds": 1}

_NAIVE_EPOCH: Final = datetime(1970, 1, 1)


def unit(fmt: str) -> int:
    """The resolution of ``fmt`` in microseconds; ``ValueError`` for an unknown format."""
    try:
        return UNITS[fmt]
    except KeyError:
        raise ValueError(
            f"timestamp_format must be one of {', '.join(UNITS)}, got {fmt!r}"
        ) from None


def render(micros: int, fmt: str) -> str:
    """``micros`` since the epoch in ``fmt``.

    ``milliseconds`` -> ``2026-05-07T12:00:00.123Z``, ``seconds`` -> ``2026-05-07T12:00:00Z``,
    ``microseconds`` -> ``2026-05-07T12:00:00.123456+00:00``. Always truncated, never rounded,
    so the rendered value is never later than the stored one.
    """
    base = (_NAIVE_EPOCH + timedelta(microseconds=micros)).isoformat(timespec="microseconds")
    if fmt == "milliseconds":
        return base[:23] + "Z"
    if fmt == "seconds":
        return base[:19] + "Z"
    return base + "+00:00"


def parse(value: str) -> int:
    """An RFC 3339 string as microseconds since the epoch; ``ValueError`` if it is not one."""
    return to_micros(parse_timestamp(value))
