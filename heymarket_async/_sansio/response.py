"""Answers: a status, headers and body become decoded data or the matching typed error.

Pure functions, tested without an event loop (after gidgethub's ``sansio``).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Final, cast

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from heymarket_async._redact import map_strings, mask, mask_data, raw_masked, replace_secrets
from heymarket_async.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    HeymarketError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

from .codec import JSONDecodeError, json_dumps, json_loads

REQUEST_ID_HEADER: Final = "X-Request-Id"
#: How many characters of a body an error keeps in its ``text``.
TEXT_LIMIT: Final = 2000


def _case_insensitive(headers: Mapping[str, str]) -> Mapping[str, str]:
    # aiohttp's headers already are; a transport of yours may give a plain dict.
    return headers if isinstance(headers, (CIMultiDictProxy, CIMultiDict)) else CIMultiDict(headers)


@attrs.frozen
class TransportResponse:
    """A whole answer, as a :class:`Transport` returns it: status, headers (case-insensitive)
    and the body's bytes, read before the connection went back to the pool.

    ``complete=False``: the body was longer than the transport reads (``max_response_bytes``),
    and ``body`` is only its first part; the client raises for it rather than decode it.
    """

    status: int
    headers: Mapping[str, str] = attrs.field(converter=_case_insensitive)
    body: bytes
    complete: bool = attrs.field(default=True, kw_only=True)

    @property
    def request_id(self) -> str | None:
        """The ``X-Request-Id`` header: what Heymarket's support asks for."""
        return self.headers.get(REQUEST_ID_HEADER)

    @classmethod
    def from_json(
        cls, data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> TransportResponse:
        """An answer whose body is ``data`` as JSON: ``TransportResponse.from_json({"id": 1})``."""
        return cls(
            status, {"Content-Type": "application/json", **(headers or {})}, json_dumps(data)
        )


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

    The text is masked before it is cut, so that a cut never leaves the head of a key: a
    margin past ``limit`` is masked with it (a body of many megabytes is not decoded whole).
    Phone numbers and emails are left as they are: this is the raw text, for debugging.
    """
    head = body[: (limit + _MASK_MARGIN) * 4]  # at most 4 bytes a character
    return mask(head.decode("utf-8", errors="replace"), secrets, keep_pii=True)[:limit]


#: Characters past the cut that are masked with the text: longer than any key or JWT.
_MASK_MARGIN: Final = 4096


def decode_response(
    response: TransportResponse,
    method: str,
    url: str,
    secrets: Iterable[str] = (),
    *,
    keep_pii: bool = False,
    loads: Callable[[bytes], Any] | None = None,
) -> Any:
    """The decoded JSON of a 2xx answer (``None`` for an empty body), or the typed error.

    Raises an :class:`APIError` subclass for an error status and :class:`InvalidResponseError`
    for a 2xx body that is not JSON. ``secrets`` (the credentials' strings) are masked in the
    error's message, should the server echo one back; ``keep_pii=True`` leaves phone numbers and
    emails in it unmasked (for debugging). A 2xx body that holds one of ``secrets`` has it
    replaced by ``***`` wherever it is (nothing else in it is changed): whatever the data goes
    on to (a paging cursor, a bulk item's reason, a log line), the client's own credentials
    never come out of it. ``loads`` decodes the body instead of the usual decoder.
    """
    body = response.body
    if not response.complete:
        raise too_large_error(response, method, url, secrets, keep_pii=keep_pii)
    if 200 <= response.status < 300:
        if not body:
            return None
        try:
            data = _loads(body) if loads is None else loads(body)
        except JSONDecodeError:
            pass  # raised below, out of the except block: the decoder's error holds the body
        else:
            echoed = _echoed(secrets, body)
            if echoed:
                data = map_strings(data, lambda text: replace_secrets(text, echoed))
            return data
        raise InvalidResponseError(
            "response body is not JSON",
            status=response.status,
            method=method,
            url=url,
            request_id=response.request_id,
            text=body_text(body, secrets),
        )
    raise api_error(response, method, url, secrets, keep_pii=keep_pii)


#: Bodies longer than this are decoded a value at a time (:func:`loads_in_pieces`).
PIECEWISE_BYTES: Final = 1 << 20
_DECODER: Final = json.JSONDecoder()
_SPACE: Final = " \t\n\r"


def _loads(body: bytes) -> Any:
    return json_loads(body) if len(body) <= PIECEWISE_BYTES else loads_in_pieces(body)


def loads_in_pieces(body: bytes | str) -> Any:
    """``json.loads``, one array element or object member at a time, two levels deep.

    A JSON decoder written in C holds the GIL for a whole body: decoded in a thread, 20 MB of
    contacts still held the event loop for most of a second. Decoding the items of a
    top-level array (or of an array under a top-level key, ``{"contacts": [...]}``) one by one
    lets the loop run between them. Same result and errors as the standard decoder's.
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    end = len(text)
    i = _skip(text, 0)
    if i >= end or text[i] not in "[{":
        return _DECODER.decode(text)
    value, i = _container(text, i, deep=True)
    if _skip(text, i) != end:
        raise json.JSONDecodeError("Extra data", text, i)
    return value


def _skip(text: str, i: int) -> int:
    end = len(text)
    while i < end and text[i] in _SPACE:
        i += 1
    return i


def _container(text: str, i: int, *, deep: bool) -> tuple[Any, int]:
    """The array or object at ``text[i]``, its items decoded one at a time (the items of an
    array member too when ``deep``), and the index after it."""
    is_object = text[i] == "{"
    close = "}" if is_object else "]"
    out: Any = {} if is_object else []
    i = _skip(text, i + 1)
    if i < len(text) and text[i] == close:
        return out, i + 1
    while True:
        if is_object:
            if i >= len(text) or text[i] != '"':
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, i
                )
            key, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if i >= len(text) or text[i] != ":":
                raise json.JSONDecodeError("Expecting ':' delimiter", text, i)
            i = _skip(text, i + 1)
        if deep and i < len(text) and text[i] == "[":
            item, i = _container(text, i, deep=False)
        else:
            item, i = _DECODER.raw_decode(text, i)
        if is_object:
            out[key] = item
        else:
            out.append(item)
        i = _skip(text, i)
        if i < len(text) and text[i] == close:
            return out, i + 1
        if i >= len(text) or text[i] != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
        i = _skip(text, i + 1)


class ItemTexts(list[Any]):
    """A decoded JSON array that also keeps each item's JSON text as the body spelt it, UTF-8
    (``None`` for an item whose text holds a line break or a tab): what :func:`loads_with_texts`
    gives, so that the export can write the API's own bytes for each contact."""

    __slots__ = ("texts",)

    def __init__(self, items: list[Any], texts: list[bytes | None]) -> None:
        super().__init__(items)
        self.texts = texts

    def of(self, items: list[Any], earlier: ItemTexts | None = None) -> list[Any]:
        """``items`` (some of this list's own, or of ``earlier``'s, in its order) with their
        texts; ``None`` for an item of neither."""
        if items is self:
            return self
        if not items:
            return items
        by_id = {id(item): text for item, text in zip(self, self.texts, strict=True)}
        if earlier is not None:
            for item, text in zip(earlier, earlier.texts, strict=True):
                by_id.setdefault(id(item), text)
        return ItemTexts(items, [by_id.get(id(item)) for item in items])

    def tail(self, start: int) -> list[Any]:
        """``self[start:]`` with its texts."""
        return ItemTexts(self[start:], self.texts[start:])


#: Bytes that JSON allows only between tokens (never raw inside a string): an item's text
#: holding one is not written as a line of its own.
_BREAKS: Final = (b"\n", b"\r", b"\t")


def loads_with_texts(body: bytes) -> Any:
    """What :func:`decode_response` decodes ``body`` to; a top-level array as :class:`ItemTexts`.

    Each item is decoded on its own by the standard decoder (the same values as decoding the
    whole; about a fifth slower, as each item makes its own key strings), and its text is the
    slice of the body it was read from. Whatever is not an array, or does not decode, goes
    through the usual decoder (and its errors).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _loads(body)
    end = len(text)
    i = _skip(text, 0)
    if i >= end or text[i] != "[":
        return _loads(body)
    items: list[Any] = []
    spans: list[tuple[int, int]] = []
    # The C scanner itself (raw_decode wraps it in a call of Python): StopIteration where no
    # value starts.
    decode: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
    i = _skip(text, i + 1)
    try:
        if text[i] != "]":
            while True:
                item, stop = decode(text, i)
                items.append(item)
                spans.append((i, stop))
                i = stop if text[stop] in ",]" else _skip(text, stop)
                if text[i] == "]":
                    break
                if text[i] != ",":
                    return _loads(body)  # raises
                i = i + 1 if text[i + 1] not in _SPACE else _skip(text, i + 1)
    except (ValueError, IndexError, StopIteration):
        return _loads(body)  # raises the decoder's own error
    if _skip(text, i + 1) != end:
        return _loads(body)  # raises
    if len(text) == len(body):  # ASCII: the text's offsets are the body's
        found = [body[a:b] for a, b in spans]
    else:
        found = [text[a:b].encode("utf-8") for a, b in spans]
    texts: list[bytes | None] = cast("list[bytes | None]", found)
    if any(mark in body for mark in _BREAKS):
        texts = [None if any(mark in t for mark in _BREAKS) else t for t in found]
    return ItemTexts(items, texts)


def too_large_error(
    response: TransportResponse,
    method: str,
    url: str,
    secrets: Iterable[str] = (),
    *,
    keep_pii: bool = False,
) -> HeymarketError:
    """The error for an answer whose body was longer than the client reads: for a 2xx, an
    :class:`InvalidResponseError` (what was asked for was done, its answer cannot be read);
    for an error status, that status's error, with a note. ``text`` is the body's first part."""
    length = response.headers.get("Content-Length")
    # In MiB: a byte count of ten digits would read as a phone number and be masked.
    size = f" (Content-Length {int(length) / 2**20:.1f} MiB)" if length and length.isdigit() else ""
    why = f"response body larger than max_response_bytes{size}; not read further"
    if 200 <= response.status < 300:
        invalid = InvalidResponseError(
            why,
            status=response.status,
            method=method,
            url=url,
            request_id=response.request_id,
            text=body_text(response.body, secrets),
        )
        invalid._too_large = True
        return invalid
    error = api_error(response, method, url, secrets, keep_pii=keep_pii)
    notes = getattr(error, "__notes__", None)
    error.__notes__ = [*(notes or ()), why]  # type: ignore[attr-defined]  # add_note, on 3.10
    return error


#: Shorter strings are not looked for in a body (``_redact`` does not mask them either).
_MIN_SECRET: Final = 6


def _echoed(secrets: Iterable[str], body: bytes) -> list[str]:
    """The secrets a body may hold: those found in its bytes, or, when it has escapes that can
    spell a key's characters otherwise (``\\u0073k_...``, ``\\/``), all of them, to look for
    once decoded. (``\\"``, ``\\n`` and the like spell nothing a key holds, nor does the
    escape of a character past ASCII a key of ASCII.)"""
    wanted = [s for s in secrets if len(s) >= _MIN_SECRET]
    if not wanted or _spells(body, all(s.isascii() for s in wanted)):
        return wanted
    return [s for s in wanted if s.encode() in body]


def _spells(body: bytes, ascii_only: bool) -> bool:
    """Whether ``body`` holds ``\\/`` or a ``\\u`` escape (of a character below 128, when
    ``ascii_only``). Each backslash is found with ``memchr`` (one byte): a page without any
    takes about a microsecond, where a search for the two-byte needles read a 50 KB page at
    some 60 us each."""
    find = body.find
    i = find(b"\\")
    while i >= 0:
        after = body[i + 1 : i + 2]
        if after == b"/":
            return True
        if after == b"u" and (not ascii_only or body[i + 2 : i + 5] in _ASCII_ESCAPES):
            return True
        i = find(b"\\", i + 1)
    return False


#: The hex digits after ``\\u`` that begin the escape of an ASCII character (``\\u0000`` to
#: ``\\u007f``), and those of a body cut short there (nothing to tell: taken as one).
_ASCII_ESCAPES: Final = frozenset([b"", b"0", b"00", *(b"00" + bytes([c]) for c in b"01234567")])


def api_error(
    response: TransportResponse,
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
            body = mask_data(_loads(response.body), secrets, keep_pii=True)
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
    error = cls(**kwargs)
    raw_masked(error)  # text and body: credentials masked above, not to be walked again
    return error


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
