"""Every exception that ``heymarket_async`` raises.

::

    HeymarketError
    ├── InvalidRequestError        (also ValueError) bad input; nothing was sent
    ├── ClientClosedError          (also RuntimeError) the client was closed
    ├── APIError                   the API answered with an error status
    │   ├── BadRequestError        400, 422
    │   ├── AuthenticationError    401
    │   ├── PermissionDeniedError  403
    │   ├── NotFoundError          404
    │   ├── ConflictError          409
    │   │   └── ConcurrentModificationError  patch_contact saw another write (``rev`` moved)
    │   ├── RateLimitError         429 (``retry_after``)
    │   └── ServerError            5xx
    ├── TransportError             the request did not get an answer
    │   ├── APIConnectionError     (also ConnectionError) connect failed or connection dropped
    │   └── APITimeoutError        (also TimeoutError) a per-attempt timeout or the deadline
    ├── InvalidResponseError       an answer whose body cannot be decoded, or is too long
    └── PaginationError            a paging cursor that cannot advance

No exception of aiohttp escapes the public API: they are translated in ``_transport`` and
chained with ``raise ... from``. ``str(exc)`` is one line and never holds a credential; neither
do the notes, nor any exception chained from an SDK error (``__cause__``, ``__context__``):
phone numbers and email addresses are masked in all of them unless ``log_pii=True``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Contact, ContactRef

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConcurrentModificationError",
    "ConflictError",
    "HeymarketError",
    "InvalidRequestError",
    "InvalidResponseError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TransportError",
]


def _restore(cls: type[HeymarketError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class HeymarketError(Exception):
    """Base class of every error raised by ``heymarket_async``.

    Every subclass pickles with its attributes (and notes), so an error can cross a process
    boundary, as task queues such as arq do with a failed job's exception.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # The default rebuilds with ``cls(*self.args)``, which the keyword-only constructors
        # below cannot take.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class InvalidRequestError(HeymarketError, ValueError):
    """An argument was rejected before anything was sent.

    ``field`` names the offending argument (``"phone"``, ``"tags"``, ``"custom[123]"``...).
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class ClientClosedError(HeymarketError, RuntimeError):
    """The client was used after ``close()`` (or after its ``async with`` block ended), or was
    closed while a call waited (for a retry, or a rate-limit turn).

    A call ended that way keeps its story: ``attempts`` (the attempts it sent, ``0`` when it was
    used after close), a note for each failed attempt, and ``maybe_applied`` (whether one of them
    may have been applied: a write that failed with a 5xx or a dropped connection).
    """

    #: The attempts the call had sent when the client closed.
    attempts: int = 0
    #: Whether an attempt the call sent may have been applied.
    maybe_applied: bool = False


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status"


class APIError(HeymarketError):
    """The API answered with an error status.

    Attributes: ``status``, ``method``, ``url`` (never holds a credential), ``request_id`` (the
    ``X-Request-Id`` header, or ``None``), ``body`` (the decoded JSON body, or the raw text when it
    is not JSON), ``text`` (the raw body text) and ``message`` (the server's own message, when the
    body has one).
    """

    def __init__(
        self,
        *,
        status: int,
        method: str,
        url: str,
        request_id: str | None = None,
        body: Any = None,
        text: str = "",
        message: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.status = status
        self.method = method
        self.url = url
        self.request_id = request_id
        self.body = body
        self.text = text
        self.message = message
        #: How many attempts were made before this error was raised (retries included).
        self.attempts = attempts
        super().__init__(self._line())

    def _line(self) -> str:
        line = f"{self.status} {_reason(self.status)} for {self.method} {self.url}"
        if self.request_id:
            line += f" (request id {self.request_id})"
        if self.message:
            line += f": {self.message}"
        return line


class BadRequestError(APIError):
    """400 or 422: the API rejected the request's content."""


class AuthenticationError(APIError):
    """401: the API key or the signed token was not accepted."""


class PermissionDeniedError(APIError):
    """403: the credentials may not do this."""


class NotFoundError(APIError):
    """404: no such contact (or other resource)."""


class ConflictError(APIError):
    """409: the request conflicts with the resource's current state."""


class ConcurrentModificationError(ConflictError):
    """``patch_contact`` found that someone else wrote the contact between its read and write.

    Raised after the write was applied: the API has no conditional update, so the SDK can only
    tell afterwards. Fields that the patch re-sent from its read may have overwritten the other
    change. ``contact_id``; ``read_rev``, the revision read; ``written_rev``, the revision the
    write produced (``read_rev + 1`` had nobody else written); ``before``, the contact as read;
    ``ref``, what the write returned. ``status`` is 409 by convention: the API itself answered
    with success.
    """

    def __init__(
        self,
        *,
        contact_id: int,
        read_rev: int,
        written_rev: int,
        before: Contact | None = None,
        ref: ContactRef | None = None,
        method: str = "PUT",
        url: str = "",
        request_id: str | None = None,
    ) -> None:
        self.contact_id = contact_id
        self.read_rev = read_rev
        self.written_rev = written_rev
        self.before = before
        self.ref = ref
        super().__init__(status=409, method=method, url=url, request_id=request_id)

    def _line(self) -> str:
        return (
            f"contact {self.contact_id} was changed by another writer during patch_contact: "
            f"read at rev {self.read_rev}, the write made rev {self.written_rev} (expected "
            f"{self.read_rev + 1}); the patch was applied and may have overwritten that change"
        )


class RateLimitError(APIError):
    """429: too many requests.

    ``retry_after`` is the wait in seconds that the server asked for, or ``None``.
    """

    def __init__(self, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)


class ServerError(APIError):
    """5xx: the API failed. On a create, the contact may have been written all the same."""


class TransportError(HeymarketError):
    """The request got no answer: the connection failed, dropped or timed out.

    ``method`` and ``url`` say which request; ``attempts`` how many were made.
    ``maybe_applied`` is true when the request may have reached the server (the write may have
    been applied) and false when it provably did not.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        maybe_applied: bool = True,
        attempts: int = 1,
    ) -> None:
        self.message = message
        self.method = method
        self.url = url
        self.maybe_applied = maybe_applied
        self.attempts = attempts
        where = f" for {method} {url}" if method else ""
        super().__init__(f"{message}{where}")


class APIConnectionError(TransportError, ConnectionError):
    """The connection could not be made, or broke before a whole answer was read."""


class APITimeoutError(TransportError, TimeoutError):
    """An attempt timed out, or the call's overall deadline passed."""


class InvalidResponseError(HeymarketError):
    """The API answered, but the body is not what the endpoint returns, or a success's body
    is longer than ``max_response_bytes`` (then it was not read further).

    Carries ``status``, ``method``, ``url``, ``request_id``, ``text`` (the first part of the raw
    body) and ``attempts``.
    """

    #: A success whose body was longer than ``max_response_bytes``: asking again would read
    #: the same, so it is not retried.
    _too_large: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        request_id: str | None = None,
        text: str = "",
        attempts: int = 1,
    ) -> None:
        self.message = message
        self.status = status
        self.method = method
        self.url = url
        self.request_id = request_id
        self.text = text
        self.attempts = attempts
        line = f"{message} (status {status}) for {method} {url}"
        if request_id:
            line += f" (request id {request_id})"
        super().__init__(line)


class PaginationError(HeymarketError):
    """A paging cursor could not advance; ``cursor`` is the value that got stuck."""

    def __init__(self, message: str, *, cursor: str | None = None) -> None:
        self.cursor = cursor
        super().__init__(message)
