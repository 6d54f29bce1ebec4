"""The public exception tree: bases, builtins, attributes, one-line str(), no secrets."""

from __future__ import annotations

import pickle

import pytest

from heymarket_async import Contact, ContactRef, errors
from heymarket_async.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConcurrentModificationError,
    ConflictError,
    HeymarketError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)

URL = "https://api.heymarket.com/v1/contact/42"


class TestHierarchy:
    @pytest.mark.parametrize(
        ("cls", "bases"),
        [
            (InvalidRequestError, (HeymarketError, ValueError)),
            (ClientClosedError, (HeymarketError, RuntimeError)),
            (APIError, (HeymarketError,)),
            (BadRequestError, (APIError,)),
            (AuthenticationError, (APIError,)),
            (PermissionDeniedError, (APIError,)),
            (NotFoundError, (APIError,)),
            (ConflictError, (APIError,)),
            (ConcurrentModificationError, (ConflictError,)),
            (RateLimitError, (APIError,)),
            (ServerError, (APIError,)),
            (TransportError, (HeymarketError,)),
            (APIConnectionError, (TransportError, ConnectionError)),
            (APITimeoutError, (TransportError, TimeoutError)),
            (InvalidResponseError, (HeymarketError,)),
            (PaginationError, (HeymarketError,)),
        ],
    )
    def test_each_error_has_its_bases(self, cls: type, bases: tuple[type, ...]) -> None:
        for base in bases:
            assert issubclass(cls, base)
        assert issubclass(cls, HeymarketError)

    def test_the_module_docstring_draws_every_class(self) -> None:
        assert errors.__doc__ is not None
        for name in errors.__all__:
            assert name in errors.__doc__


class TestAPIError:
    def test_carries_everything_and_reads_as_one_line(self) -> None:
        exc = NotFoundError(
            status=404,
            method="GET",
            url=URL,
            request_id="7f3c",
            body={"error": "not found"},
            text='{"error": "not found"}',
            message="not found",
        )
        assert (exc.status, exc.method, exc.url, exc.request_id) == (404, "GET", URL, "7f3c")
        assert exc.body == {"error": "not found"}
        assert exc.attempts == 1
        assert str(exc) == f"404 Not Found for GET {URL} (request id 7f3c): not found"
        assert "\n" not in str(exc)

    def test_without_request_id_or_message(self) -> None:
        assert str(ServerError(status=503, method="POST", url=URL)) == (
            f"503 Service Unavailable for POST {URL}"
        )

    def test_rate_limit_error_carries_retry_after(self) -> None:
        exc = RateLimitError(status=429, method="POST", url=URL, retry_after=2.5)
        assert exc.retry_after == 2.5
        assert str(exc) == f"429 Too Many Requests for POST {URL}"
        assert RateLimitError(status=429, method="GET", url=URL).retry_after is None


class TestOtherErrors:
    def test_invalid_request_names_the_field(self) -> None:
        exc = InvalidRequestError("tags", "at most 5 tags, got 6")
        assert (exc.field, exc.message) == ("tags", "at most 5 tags, got 6")
        assert str(exc) == "tags: at most 5 tags, got 6"

    def test_transport_error_says_which_request(self) -> None:
        exc = APIConnectionError("cannot connect: refused", method="GET", url=URL)
        assert str(exc) == f"cannot connect: refused for GET {URL}"
        assert exc.maybe_applied is True
        assert exc.attempts == 1
        assert str(APITimeoutError("timed out")) == "timed out"

    def test_invalid_response_carries_status_and_request_id(self) -> None:
        exc = InvalidResponseError(
            "response body is not JSON",
            status=200,
            method="GET",
            url=URL,
            request_id="r1",
            text="<",
        )
        assert (exc.status, exc.request_id, exc.text) == (200, "r1", "<")
        assert str(exc) == f"response body is not JSON (status 200) for GET {URL} (request id r1)"
        no_id = InvalidResponseError("bad", status=201, method="POST", url=URL)
        assert str(no_id) == f"bad (status 201) for POST {URL}"

    def test_a_concurrent_modification_says_what_happened_in_one_line(self) -> None:
        exc = ConcurrentModificationError(contact_id=42, read_rev=3, written_rev=5, url=URL)
        assert str(exc) == (
            "contact 42 was changed by another writer during patch_contact: read at rev 3, the "
            "write made rev 5 (expected 4); the patch was applied and may have overwritten that "
            "change"
        )
        assert (exc.status, exc.method, exc.url) == (409, "PUT", URL)

    def test_pagination_error_carries_the_cursor(self) -> None:
        exc = PaginationError("stuck", cursor="2026-05-07T12:00:00Z")
        assert exc.cursor == "2026-05-07T12:00:00Z"
        assert str(exc) == "stuck"


class TestPickling:
    """Task queues (arq, taskiq, process pools) pickle a failed job's exception."""

    @pytest.mark.parametrize(
        "exc",
        [
            NotFoundError(status=404, method="GET", url=URL, request_id="r", body={"a": 1}),
            RateLimitError(status=429, method="POST", url=URL, retry_after=3.0),
            InvalidRequestError("phone", "must be E.164"),
            InvalidResponseError("not JSON", status=200, method="GET", url=URL, text="<"),
            APIConnectionError("cannot connect", method="GET", url=URL, maybe_applied=False),
            APITimeoutError("timed out", method="GET", url=URL),
            PaginationError("stuck", cursor="c"),
            ClientClosedError("closed"),
            ConcurrentModificationError(
                contact_id=42,
                read_rev=3,
                written_rev=5,
                before=Contact(id=42, rev=3),
                ref=ContactRef(id=42, rev=5),
                url=URL,
            ),
        ],
    )
    def test_every_error_survives_a_round_trip(self, exc: HeymarketError) -> None:
        exc.__notes__ = ["attempt 1: 503"]  # add_note() is 3.11+
        copy = pickle.loads(pickle.dumps(exc))
        assert type(copy) is type(exc)
        assert str(copy) == str(exc)
        assert copy.args == exc.args
        assert vars(copy) == vars(exc)
        assert copy.__notes__ == ["attempt 1: 503"]
