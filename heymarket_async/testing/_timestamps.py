"""How the emulator renders and compares ``created``/``updated`` for each timestamp format."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Final, Literal

from ._clock import EPOCH

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


#: What ``datetime.fromisoformat`` refuses but a cursor may still be (Python 3.10 knows neither
#: ``Z`` nor fractions other than 3 or 6 digits; no version reads a lowercase ``t``/``z`` or a
#: leap second). ``\d`` is any Unicode digit, as ``int()`` reads them: the emulator has always
#: taken those, and keeps taking what it took.
_FALLBACK: Final = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d+))?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<off_hours>\d{2}):?(?P<off_minutes>\d{2}))?"
)
_NAIVE_EPOCH: Final = EPOCH.replace(tzinfo=None)
_MICROSECOND: Final = timedelta(microseconds=1)
#: The first and last microseconds that RFC 3339 can write in UTC (years 1 to 9999): an offset
#: that puts a time of year 1 or 9999 beyond them is read as the nearest of the two.
FIRST_MICROS: Final = (datetime.min - _NAIVE_EPOCH) // _MICROSECOND
LAST_MICROS: Final = (datetime.max - _NAIVE_EPOCH) // _MICROSECOND


def parse(value: str) -> int:
    """An RFC 3339 time as microseconds since the epoch; ``ValueError`` if it is not one.

    Takes what ``datetime.fromisoformat`` takes on this Python, and RFC 3339 with ``T``, ``t``
    or a space, ``Z``/``z`` or an offset (its colon optional), any number of fraction digits
    (truncated to 6). No offset means UTC; a leap second (``:60``) is the last microsecond
    before it. The emulator's own parser: it shares no code with the SDK's, so a bug in one is
    caught by tests against the other.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            local, offset = _parse_fallback(value)
        except ValueError:  # no match, or a field out of range (month 13, hour 24...)
            raise ValueError(f"not an RFC 3339 timestamp: {value!r}") from None
    else:
        utc_offset = parsed.utcoffset()
        local = parsed.replace(tzinfo=None)
        offset = timedelta(0) if utc_offset is None else utc_offset
    # Naive arithmetic on ints: an offset that crosses year 1 or 9999 cannot overflow.
    micros = (local - _NAIVE_EPOCH) // _MICROSECOND - offset // _MICROSECOND
    return min(max(micros, FIRST_MICROS), LAST_MICROS)


def _parse_fallback(value: str) -> tuple[datetime, timedelta]:
    """The local time and UTC offset of an RFC 3339 string ``fromisoformat`` refused."""
    match = _FALLBACK.fullmatch(value)
    if match is None:
        raise ValueError("no match")
    year, month, day = (int(part) for part in match["date"].split("-"))
    second = int(match["second"])
    fraction = match["fraction"] or ""
    micro = int(fraction[:6].ljust(6, "0"))
    if second == 60:  # a leap second: datetime cannot hold it
        second, micro = 59, 999_999
    local = datetime(year, month, day, int(match["hour"]), int(match["minute"]), second, micro)
    offset = timedelta(0)
    if match["sign"]:
        offset = timedelta(hours=int(match["off_hours"]), minutes=int(match["off_minutes"]))
        if offset >= timedelta(hours=24):  # as datetime.timezone refuses it
            raise ValueError("UTC offset out of range")
        if match["sign"] == "-":
            offset = -offset
    return local, offset
