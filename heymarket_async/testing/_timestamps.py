"""How the emulator renders and compares ``created``/``updated`` for each timestamp format."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final, Literal

from heymarket_async._sansio import parse_timestamp

from ._clock import to_micros

TimestampFormat = Literal["milliseconds", "seconds", "microseconds"]

#: The resolution of each format in microseconds: stored values are compared at this
#: resolution, so a cursor sent back byte for byte means exactly what the client saw.
UNITS: Final[dict[str, int]] = {"seconds": 1_000_000, "milliseconds": 1000, "microseconds": 1}

_EPOCH_DAY: Final = date(1970, 1, 1)
#: Rendered dates by day number: a page of contacts spans a few days at most, and building
#: the time of day by hand is three times faster than ``datetime.isoformat``.
_DAYS: dict[int, str] = {}


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
    seconds, fraction = divmod(micros, 1_000_000)
    days, rest = divmod(seconds, 86_400)
    day = _DAYS.get(days)
    if day is None:
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        day = _DAYS[days] = (_EPOCH_DAY + timedelta(days=days)).isoformat()
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    base = f"{day}T{hours:02d}:{minutes:02d}:{secs:02d}"
    if fmt == "milliseconds":
        return f"{base}.{fraction // 1000:03d}Z"
    if fmt == "seconds":
        return base + "Z"
    return f"{base}.{fraction:06d}+00:00"


def parse(value: str) -> int:
    """An RFC 3339 string as microseconds since the epoch; ``ValueError`` if it is not one."""
    return to_micros(parse_timestamp(value))
