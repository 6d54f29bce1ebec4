"""``HeymarketClient`` and its request pipeline: auth, concurrency cap, retries, decoding."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Final, TypeVar

import aiohttp
from yarl import URL

from ._auth import Credentials, resolve_credentials
from ._convert import StructureError
from ._retry import RetryPolicy, backoff_delay, is_retryable
from ._transport import USER_AGENT, Transport
from ._v1 import V1Methods
from ._v2 import V2Contacts
from ._wire import RawResponse, Request, Safety, body_text, decode_response, json_dumps
from .errors import (
    APIError,
    APITimeoutError,
    ClientClosedError,
    HeymarketError,
    InvalidRequestError,
    InvalidResponseError,
    RateLimitError,
    TransportError,
)
from .models import UNSET, UnsetType

T = TypeVar("T")

logger: Final = logging.getLogger("heymarket_async")

DEFAULT_BASE_URL: Final = "https://api.heymarket.com"

Sleep = Callable[[float], Awaitable[None]]


def _add_note(exc: BaseException, note: str) -> None:
    if sys.version_info >= (3, 11):
        exc.add_note(note)
    else:  # pragma: no cover - Python 3.10
        exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]


class HeymarketClient(V1Methods):
    """An async client for the Heymarket contacts API.

    v1 endpoints (integer ids) are methods of the client; v2 endpoints (UUIDs) are on
    :attr:`v2`. Use it as ``async with HeymarketClient(...) as hm:`` or call :meth:`close`.

    Credentials: ``api_key`` (a legacy team key), or ``secret_id`` and ``secret_key`` (an API
    secret pair, from which short-lived JWTs are signed). Without arguments they are read from
    ``HEYMARKET_API_KEY``, or ``HEYMARKET_SECRET_ID`` and ``HEYMARKET_SECRET_KEY``;
    ``HEYMARKET_BASE_URL`` overrides the base URL.

    - ``session``: an ``aiohttp.ClientSession`` of yours; the client uses it and never closes
      it. Without one, the client makes its own on first use and closes it in :meth:`close`.
    - ``timeout``: seconds for a whole call, every attempt and every wait between them
      included; ``None`` for no limit.
    - ``max_retries``: retries after the first attempt (see :class:`RetryPolicy`; ``retry``
      gives the whole policy and wins over ``max_retries``).
    - ``max_concurrency``: the most requests in flight at once, across every task using the
      client.

    Raises :class:`InvalidRequestError` at construction when there are no credentials or an
    option is out of range.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        secret_id: str | None = None,
        secret_key: str | None = None,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float | None = 30.0,
        max_retries: int = 3,
        max_concurrency: int = 16,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._credentials: Credentials = resolve_credentials(api_key, secret_id, secret_key)
        self._base_url = _base_url(base_url)
        self._timeout = _timeout(timeout)
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise InvalidRequestError("max_concurrency", "must be an int")
        if max_concurrency < 1:
            raise InvalidRequestError("max_concurrency", "must be at least 1")
        if retry is None:
            if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
                raise InvalidRequestError("max_retries", "must be an int >= 0")
            retry = RetryPolicy(max_retries=max_retries)
        self._retry = retry
        self._max_concurrency = max_concurrency
        self._slots = asyncio.Semaphore(max_concurrency)
        self._transport = Transport(session, pool_size=max_concurrency)
        self._sleep: Sleep = asyncio.sleep
        self._clock: Callable[[], float] = time.monotonic
        self._v2 = V2Contacts(self)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def v2(self) -> V2Contacts:
        """The v2 contact endpoints (UUID contact ids, contact channels, page/limit listing)."""
        return self._v2

    @property
    def base_url(self) -> str:
        """The API's base URL, without a trailing slash."""
        return self._base_url

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called; a closed client raises :class:`ClientClosedError`."""
        return self._transport.closed

    async def close(self) -> None:
        """Close the client's own session (never one given to it). Safe to call twice."""
        await self._transport.close()

    async def __aenter__(self) -> HeymarketClient:
        if self.closed:
            raise ClientClosedError("the client is closed; create a new HeymarketClient")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def with_options(
        self,
        *,
        timeout: float | None | UnsetType = UNSET,
        retry: RetryPolicy | UnsetType = UNSET,
    ) -> HeymarketClient:
        """A view of this client with other per-call options, sharing its session and caps.

        ``hm.with_options(timeout=5, retry=RetryPolicy.disabled()).get_contact(42)``.
        Closing the view closes the client.
        """
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        if not isinstance(timeout, UnsetType):
            clone._timeout = _timeout(timeout)
        if not isinstance(retry, UnsetType):
            clone._retry = retry
        clone._v2 = V2Contacts(clone)
        return clone

    def __repr__(self) -> str:
        return f"HeymarketClient(base_url={self._base_url!r}, credentials={self._credentials!r})"

    # -- the pipeline -----------------------------------------------------------------------

    async def _call(self, request: Request, parse: Callable[[Any], T]) -> T:
        """Send ``request`` (with retries as its safety allows) and parse the decoded body."""
        target = self._base_url + request.path
        if request.query:
            target += "?" + "&".join(f"{k}={v}" for k, v in request.query.items())
        # Paths and queries are built from validated ids and fixed words: nothing to quote.
        url = URL(target, encoded=True)
        body = json_dumps(request.json) if request.has_body else None
        policy = self._retry
        deadline = None if self._timeout is None else self._clock() + self._timeout
        attempt = 0
        failures: list[str] = []
        while True:
            attempt += 1
            try:
                response = await self._send(request, url, body, deadline, attempt)
                data = decode_response(
                    response, request.method, target, self._credentials.secrets()
                )
                try:
                    return parse(data)
                except (StructureError, KeyError, TypeError, ValueError) as exc:
                    raise InvalidResponseError(
                        f"unexpected response shape: {exc}",
                        status=response.status,
                        method=request.method,
                        url=target,
                        request_id=response.request_id,
                        text=body_text(response.body),
                    ) from exc
            except HeymarketError as exc:
                wait = self._retry_wait(exc, request, policy, attempt, deadline)
                if wait is None:
                    _set_attempts(exc, attempt)
                    for note in failures:
                        _add_note(exc, note)
                    if request.safety is Safety.CREATE and _may_have_written(exc):
                        _add_note(exc, "the contact may have been created: check before retrying")
                        exc.args = (f"{exc.args[0]} (the write may have been applied)",)
                    raise
                failures.append(f"attempt {attempt}: {exc}")
                logger.warning(
                    "retrying %s %s in %.2f s (attempt %d failed: %s)",
                    request.method,
                    request.path,
                    wait,
                    attempt,
                    exc,
                )
                await self._sleep(wait)

    def _retry_wait(
        self,
        exc: HeymarketError,
        request: Request,
        policy: RetryPolicy,
        attempt: int,
        deadline: float | None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to raise ``exc`` now."""
        if attempt > policy.max_retries or not is_retryable(exc, request.safety, policy):
            return None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            if exc.retry_after > policy.max_retry_after:
                return None
            wait = exc.retry_after
        else:
            wait = backoff_delay(attempt - 1, policy)
        if deadline is not None and self._clock() + wait >= deadline:
            return None
        return wait

    async def _send(
        self,
        request: Request,
        url: URL,
        body: bytes | None,
        deadline: float | None,
        attempt: int,
    ) -> RawResponse:
        """One attempt inside a concurrency slot, timed against what is left of the deadline."""
        await self._acquire_slot(request, deadline)
        try:
            started = self._clock()
            timeout = None if deadline is None else deadline - started
            if timeout is not None and timeout <= 0:
                raise self._deadline_error(request)
            headers = {
                "Authorization": self._credentials.authorization(),
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            }
            if body is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = await self._transport.send(request.method, url, headers, body, timeout)
            except TransportError as exc:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "%s %s -> %s after %.1f ms (attempt %d)",
                        request.method,
                        request.path,
                        type(exc).__name__,
                        (self._clock() - started) * 1000,
                        attempt,
                    )
                raise
        finally:
            self._slots.release()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms (request id %s, attempt %d)",
                request.method,
                request.path,
                response.status,
                (self._clock() - started) * 1000,
                response.request_id,
                attempt,
            )
        return response

    async def _acquire_slot(self, request: Request, deadline: float | None) -> None:
        if deadline is None or not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            await asyncio.wait_for(self._slots.acquire(), deadline - self._clock())
        except asyncio.TimeoutError:
            raise self._deadline_error(request) from None

    def _deadline_error(self, request: Request) -> APITimeoutError:
        return APITimeoutError(
            f"deadline of {self._timeout:g} s passed",
            method=request.method,
            url=self._base_url + request.path,
            maybe_applied=False,
        )


def _set_attempts(exc: HeymarketError, attempts: int) -> None:
    if isinstance(exc, (APIError, TransportError)):
        exc.attempts = attempts


def _may_have_written(exc: HeymarketError) -> bool:
    if isinstance(exc, TransportError):
        return exc.maybe_applied
    if isinstance(exc, APIError):
        return exc.status >= 500
    # A 2xx whose body could not be read: the write was applied.
    return isinstance(exc, InvalidResponseError)


def _base_url(value: str | None, environ: Mapping[str, str] = os.environ) -> str:
    raw = value if value is not None else environ.get("HEYMARKET_BASE_URL", DEFAULT_BASE_URL)
    if not isinstance(raw, str):
        raise InvalidRequestError("base_url", "must be a string")
    url = URL(raw)
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidRequestError("base_url", f"must be an http(s) URL, got {raw!r}")
    if url.user or url.password or url.query_string or url.fragment:
        raise InvalidRequestError("base_url", "must hold no credentials, query or fragment")
    return str(url).rstrip("/")


def _timeout(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidRequestError("timeout", "must be a number of seconds > 0, or None")
    return float(value)
