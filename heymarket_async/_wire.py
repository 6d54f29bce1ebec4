"""The wire format, without I/O: request descriptions, JSON, timestamps, and response checks.

``decode_response`` turns a status, headers and body into data or the matching typed error, so
everything here is tested without an event loop (after gidgethub's ``sansio``).
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Final, TypeVar

import attrs

from ._redact import mask, mask_data
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from .models import UNSET, UnsetType

_std_decode = json.JSONDecoder().decode
_std_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def std_json_loads(data: bytes | str) -> Any:
    """``json.loads`` for bytes or text: the decoder used when orjson is not installed."""
    return _std_decode(data.decode("utf-8") if isinstance(data, bytes) else data)


def std_json_dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON: the encoder used when orjson is not installed."""
    return _std_encode(obj).encode("utf-8")


json_loads: Callable[[bytes | str], Any] = std_json_loads
json_dumps: Callable[[Any], bytes] = std_json_dumps
try:  # orjson is optional (the [fast] extra): about three times faster on a page of contacts.
    import orjson
except ImportError:  # pragma: no cover - depends on what is installed
    pass
else:
    _orjson_loads = orjson.loads

    def orjson_loads(data: bytes | str) -> Any:
        """``orjson.loads``, and ``json.loads`` for what orjson alone refuses.

        orjson rejects a lone surrogate escape (``"\\ud800"``), which JSON allows and the
        standard decoder reads: with or without the extra, a body decodes the same.
        """
        try:
            return _orjson_loads(data)
        except orjson.JSONDecodeError:
            return std_json_loads(data)

    json_loads = orjson_loads
    json_dumps = orjson.dumps

#: What json and orjson raise for a body that is not JSON (both subclass ValueError; invalid
#: UTF-8 raises UnicodeDecodeError, a ValueError too). The stdlib decoder raises RecursionError
#: for a deeply nested body, which is just as undecodable.
JSONDecodeError: Final = (ValueError, RecursionError)

REQUEST_ID_HEADER: Final = "X-Request-Id"
#: How many characters of a body an error keeps in its ``text``.
TEXT_LIMIT: Final = 2000


class Safety(enum.Enum):
    """What a request may do to the server, which decides when it may be sent again."""

    #: Reads, including Heymarket's POST reads: always safe to repeat.
    READ = "read"
    #: Writes that leave the same state when repeated (PUT, DELETE).
    IDEMPOTENT = "idempotent"
    #: Writes that create something: a repeat would create it twice.
    CREATE = "create"


@attrs.frozen
class Request:
    """One API call as data: what the pipeline sends, and how safely it may be retried."""

    method: str
    path: str
    safety: Safety
    json: Any = UNSET
    query: Mapping[str, str] | None = None

    @property
    def has_body(self) -> bool:
        return not isinstance(self.json, UnsetType)


_T = TypeVar("_T")
#: The client's ``_call``, as the pagers take it: send a request, parse the decoded body.
Call = Callable[[Request, Callable[[Any], _T]], Awaitable[_T]]


@attrs.frozen
class RawResponse:
    """A whole answer, read before the connection goes back to the pool."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def request_id(self) -> str | None:
        return self.headers.get(REQUEST_ID_HEADER)


# -- timestamps -------------------------------------------------------------------------------

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


# -- responses --------------------------------------------------------------------------------

_STATUS_ERRORS: Final[Mapping[int, type[APIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_class(status: int) -> type[APIError]:
    """The error class for a status: one table, then 5xx, then the base class."""
    cls = _STATUS_ERRORS.get(status)
    if cls is not None:
        return cls
    return ServerError if status >= 500 else APIError


def body_text(body: bytes, secrets: Iterable[str] = (), limit: int = TEXT_LIMIT) -> str:
    """The first ``limit`` characters of a body as text, whatever its encoding, with any JWT
    or any of ``secrets`` masked.

    The whole body is masked before it is cut, so that a cut never leaves the head of a key.
    Phone numbers and emails are left as they are: this is the raw text, for debugging.
    """
    return mask(body.decode("utf-8", errors="replace"), secrets, keep_pii=True)[:limit]


def decode_response(
    response: RawResponse,
    method: str,
    url: str,
    secrets: Iterable[str] = (),
    *,
    keep_pii: bool = False,
) -> Any:
    """The decoded JSON of a 2xx answer (``None`` for an empty body), or the typed error.

    Raises an :class:`APIError` subclass for an error status and :class:`InvalidResponseError`
    for a 2xx body that is not JSON. ``secrets`` (the credentials' strings) are masked in the
    error's message, should the server echo one back; ``keep_pii=True`` leaves phone numbers and
    emails in it unmasked (for debugging).
    """
    if 200 <= response.status < 300:
        if not response.body:
            return None
        try:
            return json_loads(response.body)
        except JSONDecodeError:
            raise InvalidResponseError(
                "response body is not JSON",
                status=response.status,
                method=method,
                url=url,
                request_id=response.request_id,
                text=body_text(response.body, secrets),
            ) from None
    raise api_error(response, method, url, secrets, keep_pii=keep_pii)


def api_error(
    response: RawResponse,
    method: str,
    url: str,
    secrets: Iterable[str] = (),
    *,
    keep_pii: bool = False,
) -> APIError:
    """The typed error for an error answer, with its parsed body and the server's message.

    Any of ``secrets`` (or any JWT) the server echoed is masked in every string of ``body``
    and in ``text``; phone numbers and emails only in ``message`` (unless ``keep_pii``).
    """
    secrets = tuple(secrets)
    text = body_text(response.body, secrets)
    body: Any = text
    if response.body:
        with contextlib.suppress(*JSONDecodeError):
            body = mask_data(json_loads(response.body), secrets, keep_pii=True)
    cls = error_class(response.status)
    kwargs: dict[str, Any] = {
        "status": response.status,
        "method": method,
        "url": url,
        "request_id": response.request_id,
        "body": body,
        "text": text,
        "message": error_message(body, secrets, keep_pii=keep_pii),
    }
    if cls is RateLimitError:
        kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    return cls(**kwargs)


_MESSAGE_KEYS: Final = ("message", "error_description", "error", "detail", "error_code")
_MESSAGE_LIMIT: Final = 200


def error_message(body: Any, secrets: Iterable[str] = (), *, keep_pii: bool = False) -> str | None:
    """The server's own words from an error body, masked and cut to one short line."""
    message: Any = None
    if isinstance(body, Mapping):
        for key in _MESSAGE_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value:
                message = value
                break
            if isinstance(value, Mapping):  # {"error": {"message": ...}}
                message = error_message(value, secrets, keep_pii=keep_pii)
                if message:
                    break
    elif isinstance(body, str):
        stripped = body.strip()
        # An HTML error page says nothing useful in one line; its text stays in ``exc.text``.
        if stripped and not stripped.startswith("<"):
            message = stripped
    if not message:
        return None
    # Masked before it is cut, so that a cut never leaves half a phone number or secret.
    line = mask(" ".join(str(message).split()), secrets, keep_pii=keep_pii)
    if len(line) > _MESSAGE_LIMIT:
        line = line[: _MESSAGE_LIMIT - 1] + "…"
    return line


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds, from delay-seconds or an HTTP date; ``None`` if unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):  # "nan", "inf": not a wait anyone can honour
        return None
    return max(0.0, seconds)
