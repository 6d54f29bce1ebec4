"""RFC 3339 timestamps as the API writes and reads them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Final

from heymarket_async.errors import InvalidRequestError

#: What responses may hold: ``T`` or a space, any case, an offset with or without its colon.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:[Zz]|([+-])(\d{2}):?(\d{2}))?"
)
#: What requests may send: RFC 3339's date-time (section 5.6) in ASCII digits, with its offset
#: (``Z`` or ``+hh:mm``), ``T`` or (as its note allows) a space, in either case.
_RFC3339_STRICT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
#: The first and last instants that RFC 3339 can write in UTC (years 1 to 9999).
FIRST_INSTANT: Final = datetime.min.replace(tzinfo=timezone.utc)
LAST_INSTANT: Final = datetime.max.replace(tzinfo=timezone.utc)


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 timestamp as an aware datetime; a missing offset is taken as UTC.

    Accepts ``Z`` or an offset, 0 to 9 fractional digits (beyond 6 are truncated), ``T`` or a
    space. A leap second (``23:59:60``, which ``datetime`` cannot hold) is read as the last
    microsecond before it, ``23:59:59.999999``. A time in year 1 or 9999 whose offset puts it
    outside those years in UTC is read as :data:`FIRST_INSTANT` or :data:`LAST_INSTANT`, so that
    whatever is read can be written again. Raises ``ValueError`` for anything else.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_rfc3339(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed if 1 < parsed.year < 9999 else representable(parsed)


def _parse_rfc3339(value: str) -> datetime:
    # The slow path: Python 3.10's fromisoformat knows neither "Z" nor 1, 2, 4, 5 or 7+ digit
    # fractions, no version accepts a lowercase "t" or "z", and none a leap second.
    m = _RFC3339.fullmatch(value)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    year, month, day, hour, minute, second, frac, sign, oh, om = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    seconds = int(second)
    if seconds == 60:  # a leap second: the nearest instant that a datetime can hold
        seconds, micro = 59, 999_999
    tz = timezone.utc
    if sign:
        delta = timedelta(hours=int(oh), minutes=int(om))
        tz = timezone(-delta if sign == "-" else delta)
    return datetime(
        int(year), int(month), int(day), int(hour), int(minute), seconds, micro, tzinfo=tz
    )


def representable(value: datetime) -> datetime:
    """An aware ``value``, or the nearest instant that RFC 3339 can write in UTC when an offset
    puts it before :data:`FIRST_INSTANT` or after :data:`LAST_INSTANT`."""
    if value < FIRST_INSTANT:
        return FIRST_INSTANT
    if value > LAST_INSTANT:
        return LAST_INSTANT
    return value


def is_rfc3339(value: str) -> bool:
    """Whether ``value`` is an RFC 3339 date-time with its offset (``Z`` or ``+hh:mm``).

    Stricter than :func:`parse_timestamp`, which also takes what Python's ``fromisoformat``
    takes (a bare date, the basic format, no offset, other digits than ASCII) and so differs
    between Python versions: this is the check for what a request may send as it is.
    """
    return _RFC3339_STRICT.fullmatch(value) is not None


def format_timestamp(value: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC with ``Z``, keeping microseconds when there are any.

    Raises :class:`InvalidRequestError` (a ``ValueError``) for an instant outside the years 1 to
    9999 in UTC (``datetime.min`` in a zone east of UTC), which RFC 3339 cannot write; what
    :func:`parse_timestamp` read never is, and :func:`representable` brings any other into range.
    """
    try:
        utc = value.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidRequestError(
            "timestamp",
            f"{value.isoformat()} is outside the years 1 to 9999 in UTC, "
            "which RFC 3339 cannot write",
        ) from None
    spec = "microseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"
