"""``HeymarketClient`` and its request pipeline: auth, concurrency cap, retries, decoding."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, TypeVar

import aiohttp
from yarl import URL

from ._auth import Credentials, resolve_credentials
from ._bulk import may_have_written
from ._convert import StructureError
from ._hooks import Hooks, RequestEvent, route_of
from ._ratelimit import RateLimiter
from ._redact import mask, mask_data
from ._retry import RetryPolicy, plan_retry
from ._sansio import (
    DEFAULT_BASE_URL,
    RawResponse,
    Request,
    Safety,
    body_text,
    decode_response,
    json_dumps,
)
from ._transport import CLOSED, OTHER_LOOP, USER_AGENT, Transport
from ._v1 import V1Methods
from ._v2 import V2Contacts
from .errors import (
    APIError,
    APITimeoutError,
    ClientClosedError,
    HeymarketError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    TransportError,
)
from .models import UNSET, UnsetType

T = TypeVar("T")

logger: Final = logging.getLogger("heymarket_async")
# What the logging HOWTO asks of a library: no handler but a NullHandler, so that an app that
# never configured logging does not get the retry WARNINGs on stderr from logging's last-resort
# handler. An app that configures logging sees them as before.
logger.addHandler(logging.NullHandler())

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
    One client is meant to be shared by every task of a process.

    Credentials: ``api_key`` (a legacy team key), or ``secret_id`` and ``secret_key`` (an API
    secret pair, from which short-lived JWTs are signed). Without arguments they are read from
    ``HEYMARKET_API_KEY``, or ``HEYMARKET_SECRET_ID`` and ``HEYMARKET_SECRET_KEY``;
    ``HEYMARKET_BASE_URL`` overrides the base URL.

    - ``session``: an ``aiohttp.ClientSession`` of yours; the client uses it and never closes
      it. Without one, the client makes its own on first use and closes it in :meth:`close`.
    - Event loops: the client belongs to the loop it is first used in. Once that loop is closed
      (an ``asyncio.run`` ended: a pytest test, a script run twice), a call from a new loop
      makes a new session and concurrency slots there, so a client built at import time serves
      one loop after another. While that loop is still open, a call from another loop raises
      :class:`ClientClosedError`, as does one through your ``session`` from another loop.
    - ``timeout``: the deadline of a whole call in seconds, every attempt and every wait
      between them included (``None``: no limit). ``RetryPolicy(attempt_timeout=...)`` caps
      each attempt lower.
    - ``max_retries``: retries after the first attempt; ``retry`` gives a whole
      :class:`RetryPolicy` and wins over ``max_retries``. Reads and idempotent writes are
      retried on connection failures, timeouts, 408, 429 and 5xx; creates only when nothing can
      have been written (429, a failed connect).
    - ``max_concurrency``: the most requests in flight at once, across every task using the
      client.
    - ``rate_limit``: requests per minute (Heymarket allows 500), spaced evenly and shared by
      every task using the client (and its :meth:`with_options` views), so a pool of workers
      never draws a 429. A 429 pauses every task, for its ``Retry-After`` (capped at the
      policy's ``max_retry_after``) or else for the backoff. ``None`` (the default): no
      limiter, at no cost.
    - ``hooks``: :class:`Hooks` called on every attempt, answer and retry (for metrics);
      ``trace_configs``: aiohttp ``TraceConfig`` objects for the session the client makes
      (with your own ``session``, give them to it instead).
    - ``log_pii``: show phone numbers and email addresses in log lines and error messages.
      By default they are masked (``*********44``, ``j***@example.com``): they are customer
      data. Turn it on only to debug. The API key, the secret key and JWTs are never shown.

    The logger ``heymarket_async`` writes one DEBUG line per attempt (method, path, status,
    milliseconds, ``X-Request-Id``, attempt number) and one WARNING per retry (why, and the
    wait).

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
        rate_limit: float | None = None,
        hooks: Hooks | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] | None = None,
        log_pii: bool = False,
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
        self._retry = _retry_policy(retry)
        self._limiter: RateLimiter | None = None
        if rate_limit is not None:
            try:
                self._limiter = RateLimiter(rate_limit)
            except (TypeError, ValueError) as exc:
                raise InvalidRequestError("rate_limit", str(exc)) from None
        if hooks is not None and not isinstance(hooks, Hooks):
            raise InvalidRequestError("hooks", "must be a heymarket_async.Hooks")
        self._hooks = hooks
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise InvalidRequestError(
                "session", f"must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        configs = _trace_configs(trace_configs)
        if configs and session is not None:
            raise InvalidRequestError(
                "trace_configs", "give them to your own session; the client cannot add them"
            )
        if not isinstance(log_pii, bool):
            raise InvalidRequestError("log_pii", "must be True or False")
        self._log_pii = log_pii
        self._secrets = _Secrets(self._credentials)
        self._max_concurrency = max_concurrency
        self._cap = _ConcurrencyCap(max_concurrency)
        self._transport = Transport(session, pool_size=max_concurrency, trace_configs=configs)
        # Injectable, so that tests never wait on a real backoff or a real rate limit.
        self._sleep: Sleep = asyncio.sleep
        # Shared by the with_options views, like the transport: close() ends their waits too.
        self._closing = _Closing()
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
        """Close the client's own session (never one given to it). Safe to call twice.

        Calls waiting to send (for a rate-limit turn, or before a retry) end at once with
        :class:`ClientClosedError`; calls in flight end as their session closes.
        """
        await self._transport.close()
        self._closing.wake()
        if self._limiter is not None:
            self._limiter.wake_all()

    async def __aenter__(self) -> HeymarketClient:
        if self.closed:
            raise ClientClosedError(CLOSED)
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
        """A view of this client with another deadline or retry policy, for some calls.

        ``hm.with_options(timeout=5, retry=RetryPolicy.disabled()).get_contact(42)``. The view
        shares the client's session, concurrency cap, rate limiter and hooks; closing the view
        closes the client.
        """
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        if not isinstance(timeout, UnsetType):
            clone._timeout = _timeout(timeout)
        if not isinstance(retry, UnsetType):
            clone._retry = _retry_policy(retry)
        clone._v2 = V2Contacts(clone)
        return clone

    def __repr__(self) -> str:
        return f"HeymarketClient(base_url={self._base_url!r}, credentials={self._credentials!r})"

    # -- the pipeline -----------------------------------------------------------------------
    # _call runs once per page of a million-contact export: the success path allocates only
    # what the request needs, formats log lines only when they are enabled, and skips the
    # limiter and hooks when there are none.

    async def _call(
        self, request: Request, parse: Callable[[Any], T], deadline: float | None = None
    ) -> T:
        """Send ``request`` (with retries as its safety allows) and parse the decoded body.

        ``deadline`` (on the client's clock) is for a call made of several requests: they share
        it (see :meth:`_deadline`); by default the request has ``timeout`` of its own.
        The error finally raised has ``attempts`` set, and the earlier failures as notes.
        """
        target = self._base_url + request.path
        if request.query:
            target += "?" + "&".join(f"{k}={v}" for k, v in request.query.items())
        # Paths and queries are built from validated ids and fixed words: nothing to quote.
        url = URL(target, encoded=True)
        body = self._encode(request) if request.has_body else None
        policy = self._retry
        clock = self._clock
        if deadline is None:
            deadline = self._deadline()
        attempt = 0
        failures: list[str] | None = None
        applied = False  # whether a failed attempt may have been applied
        while True:
            attempt += 1
            try:
                response = await self._send(request, url, body, deadline, attempt, policy)
                data = decode_response(
                    response, request.method, target, self._secrets, keep_pii=self._log_pii
                )
                break
            except _DeadlineReached as stop:
                # Out of time before this attempt was sent: final, whatever the policy says.
                late = self._deadline_error(request, stop.waiting)
                self._finish(late, request, attempt - 1, failures, None)
                raise late from None
            except HeymarketError as exc:
                if applied and request.method == "DELETE" and isinstance(exc, NotFoundError):
                    # An earlier attempt may have deleted it: what was asked for is done.
                    data = None
                    break
                self._scrub(exc)
                wait, why = plan_retry(exc, request.safety, policy, attempt)
                if wait is not None and deadline is not None and clock() + wait >= deadline:
                    wait = None
                    why = (
                        "not retried: the next attempt would start after the "
                        f"{self._timeout:g} s deadline"
                    )
                if self._limiter is not None and isinstance(exc, RateLimitError):
                    self._pause_limiter(exc, wait, policy)
                if wait is None:
                    self._finish(exc, request, attempt, failures, why)
                    raise
                applied = applied or may_have_written(exc)
                reason = str(exc)
                if failures is None:
                    failures = []
                failures.append(f"attempt {attempt}: {reason}")
                if logger.isEnabledFor(logging.WARNING):
                    logger.warning(
                        "retrying %s %s in %.2f s (attempt %d of %d failed: %s)",
                        request.method,
                        request.path,
                        wait,
                        attempt,
                        policy.max_retries + 1,
                        reason,
                    )
                hooks = self._hooks
                if hooks is not None and hooks.on_retry is not None:
                    hooks.on_retry(
                        RequestEvent(
                            method=request.method,
                            path=request.path,
                            route=route_of(request.path),
                            attempt=attempt,
                            error=exc,
                            wait=wait,
                        )
                    )
                await self._closing.sleep(self._sleep, wait)
        try:
            return parse(data)
        except (StructureError, KeyError, TypeError, ValueError) as exc:
            error = InvalidResponseError(
                f"unexpected response shape: {self._scrub_text(str(exc))}",
                status=response.status,
                method=request.method,
                url=target,
                request_id=response.request_id,
                text=body_text(response.body, self._secrets),
            )
            self._scrub(error)
            self._finish(error, request, attempt, failures, None)
            raise error from exc

    def _deadline(self) -> float | None:
        """When a call started now must be over: ``timeout`` from now, or never."""
        return None if self._timeout is None else self._clock() + self._timeout

    def _encode(self, request: Request) -> bytes:
        """The JSON of a request's body; what no encoder can write is bad input, not sent.

        Validation already refuses such values (a lone surrogate, an int past 64 bits); this
        keeps a bare TypeError or UnicodeEncodeError of the encoder from reaching the caller
        should anything slip past it.
        """
        try:
            return json_dumps(request.json)
        except (TypeError, ValueError) as exc:  # orjson's JSONEncodeError is a TypeError
            reason = self._scrub_text(str(exc))
            raise InvalidRequestError(
                "body", f"cannot be encoded as JSON, so nothing was sent: {reason}"
            ) from exc

    def _scrub(self, exc: HeymarketError) -> None:
        """Take every secret and JWT out of an error's text, whatever put it there.

        Server answers are already masked as they are read (message, text, every string of
        the body); this also covers transport messages and errors made anywhere else.
        """
        secrets = self._credentials.secrets()
        if exc.args and isinstance(exc.args[0], str):
            line = mask(exc.args[0], secrets, keep_pii=True)
            if line != exc.args[0]:
                exc.args = (line, *exc.args[1:])
        for name in ("message", "text"):
            value = getattr(exc, name, None)
            if isinstance(value, str):
                setattr(exc, name, mask(value, secrets, keep_pii=True))
        if isinstance(exc, APIError) and exc.body is not None:
            exc.body = mask_data(exc.body, secrets, keep_pii=True)

    def _finish(
        self,
        exc: HeymarketError,
        request: Request,
        attempts: int,
        failures: list[str] | None,
        why: str | None,
    ) -> None:
        """Make ``exc`` tell the whole story: attempts, earlier failures, a possible write."""
        if isinstance(exc, (APIError, TransportError, InvalidResponseError)):
            exc.attempts = attempts
        for note in failures or ():
            _add_note(exc, note)
        if why is not None:
            _add_note(exc, why)
        if request.safety is Safety.CREATE and may_have_written(exc):
            what = _write_effect(request)
            _add_note(exc, f"not retried: the {what}; check before trying again")
            exc.args = (f"{exc.args[0]} (the write may have been applied)", *exc.args[1:])

    def _pause_limiter(self, exc: RateLimitError, wait: float | None, policy: RetryPolicy) -> None:
        """A 429 holds back every task of the client: for its Retry-After, or the backoff."""
        assert self._limiter is not None
        seconds = exc.retry_after if exc.retry_after is not None else wait
        if seconds:
            self._limiter.pause(self._clock(), min(seconds, policy.max_retry_after))

    async def _send(
        self,
        request: Request,
        url: URL,
        body: bytes | None,
        deadline: float | None,
        attempt: int,
        policy: RetryPolicy,
    ) -> RawResponse:
        """One attempt inside a concurrency slot and a rate-limit turn, timed against the
        deadline and the policy's ``attempt_timeout``."""
        clock = self._clock
        hooks = self._hooks
        route = ""
        if hooks is not None:
            queued_at = clock()
            route = route_of(request.path)
        slots = self._cap.slots()
        await self._acquire_slot(slots, deadline)
        try:
            limiter = self._limiter
            if limiter is not None and not await limiter.wait_turn(
                clock, self._closing.sleeper(self._sleep), deadline
            ):
                if self.closed:
                    raise ClientClosedError(CLOSED)
                raise _DeadlineReached("waiting for the rate limit")
            started = clock()
            timeout = policy.attempt_timeout
            if deadline is not None:
                left = deadline - started
                if left <= 0:
                    raise _DeadlineReached("")
                if timeout is None or left < timeout:
                    timeout = left
            headers = {
                "Authorization": self._credentials.authorization(),
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            }
            if body is not None:
                headers["Content-Type"] = "application/json"
            if hooks is not None and hooks.on_request is not None:
                hooks.on_request(
                    RequestEvent(
                        method=request.method,
                        path=request.path,
                        route=route,
                        attempt=attempt,
                        queued=started - queued_at,
                    )
                )
            try:
                response = await self._transport.send(request.method, url, headers, body, timeout)
            except TransportError as exc:
                self._answered(request, route, attempt, clock() - started, error=exc)
                raise
        finally:
            slots.release()
        self._answered(request, route, attempt, clock() - started, response=response)
        return response

    def _answered(
        self,
        request: Request,
        route: str,
        attempt: int,
        elapsed: float,
        *,
        response: RawResponse | None = None,
        error: TransportError | None = None,
    ) -> None:
        """Log (at DEBUG) and pass to ``on_response`` how an attempt ended: the ``response``,
        or the transport ``error`` that came instead of one."""
        if logger.isEnabledFor(logging.DEBUG):
            if response is None:
                logger.debug(
                    "%s %s -> %s after %.1f ms (attempt %d)",
                    request.method,
                    request.path,
                    type(error).__name__,
                    elapsed * 1000,
                    attempt,
                )
            else:
                logger.debug(
                    "%s %s -> %d in %.1f ms (request id %s, attempt %d)",
                    request.method,
                    request.path,
                    response.status,
                    elapsed * 1000,
                    response.request_id,
                    attempt,
                )
        hooks = self._hooks
        if hooks is not None and hooks.on_response is not None:
            hooks.on_response(
                RequestEvent(
                    method=request.method,
                    path=request.path,
                    route=route,
                    attempt=attempt,
                    status=None if response is None else response.status,
                    elapsed=elapsed,
                    request_id=None if response is None else response.request_id,
                    error=error,
                )
            )

    async def _acquire_slot(self, slots: asyncio.Semaphore, deadline: float | None) -> None:
        if deadline is None or not slots.locked():
            await slots.acquire()
            return
        # Not asyncio.wait_for: before Python 3.12 it returns a slot granted in the same step as
        # a cancellation and swallows the cancellation, so a cancelled create was still sent.
        acquire = asyncio.ensure_future(slots.acquire())
        try:
            await asyncio.wait((acquire,), timeout=deadline - self._clock())
        except BaseException:
            _give_back(acquire, slots)
            raise
        if not acquire.done():
            _give_back(acquire, slots)
            raise _DeadlineReached("waiting for a concurrency slot")
        acquire.result()  # one that failed raises here, rather than go on without a slot

    def _deadline_error(self, request: Request, waiting: str = "") -> APITimeoutError:
        where = f" {waiting}" if waiting else ""
        return APITimeoutError(
            f"the {self._timeout:g} s deadline passed{where}",
            method=request.method,
            url=self._base_url + request.path,
            maybe_applied=False,
        )


class _DeadlineReached(Exception):
    """The call's deadline came before an attempt could be sent (never leaves ``_call``)."""

    def __init__(self, waiting: str) -> None:
        self.waiting = waiting


class _Closing:
    """Ends the client's waits (a retry's sleep, a rate-limit turn) when it is closed."""

    __slots__ = ("_woken",)

    def __init__(self) -> None:
        self._woken: set[asyncio.Future[None]] = set()

    async def sleep(self, sleep: Sleep, seconds: float) -> None:
        """``sleep(seconds)``, or :class:`ClientClosedError` as soon as the client closes."""
        woken = asyncio.get_running_loop().create_future()
        self._woken.add(woken)
        nap = asyncio.ensure_future(sleep(seconds))
        try:
            await asyncio.wait((nap, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._woken.discard(woken)
            if not nap.done() and not nap.get_loop().is_closed():
                nap.cancel()
        if woken.done():
            raise ClientClosedError(CLOSED)
        nap.result()

    def sleeper(self, sleep: Sleep) -> Sleep:
        """``sleep``, ended by :meth:`wake`."""
        return functools.partial(self.sleep, sleep)

    def wake(self) -> None:
        for woken in self._woken:
            # (A wait of an event loop that is closed already will never resume.)
            if not woken.done() and not woken.get_loop().is_closed():
                woken.set_result(None)


class _ConcurrencyCap:
    """The ``max_concurrency`` slots of a client, shared by its :meth:`with_options` views.

    An ``asyncio.Semaphore`` belongs to the loop it first waited in, so the slots are made again
    when the client is used in a new loop once its previous one is closed (as the transport
    makes its session again); while that loop is open, the new one is refused.
    """

    __slots__ = ("_loop", "_slots", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(size)

    def slots(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._loop is not None:
                if not self._loop.is_closed():
                    raise ClientClosedError(OTHER_LOOP)
                # Slots taken by tasks of the dead loop will never be given back.
                self._slots = asyncio.Semaphore(self.size)
            self._loop = loop
        return self._slots


class _Secrets:
    """The credentials' secrets, read only when an error message is made (never on success)."""

    __slots__ = ("_credentials",)

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def __iter__(self) -> Iterator[str]:
        return iter(self._credentials.secrets())


def _give_back(acquire: asyncio.Future[Any], slots: asyncio.Semaphore) -> None:
    """Undo a slot acquisition that is no longer wanted, whether or not it was granted yet."""
    if not acquire.done():
        acquire.cancel()  # Semaphore.acquire returns a slot granted meanwhile when cancelled
    elif not acquire.cancelled() and acquire.exception() is None:
        slots.release()


def _trace_configs(value: object) -> list[aiohttp.TraceConfig]:
    """The ``trace_configs`` option as a list, checked now rather than failing every call."""
    if value is None:
        return []
    expected = "must be a list of aiohttp.TraceConfig"
    if isinstance(value, aiohttp.TraceConfig):
        raise InvalidRequestError("trace_configs", f"{expected}: trace_configs=[config]")
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidRequestError("trace_configs", f"{expected}, got {type(value).__name__}")
    configs = list(value)
    for config in configs:
        if not isinstance(config, aiohttp.TraceConfig):
            raise InvalidRequestError(
                "trace_configs", f"{expected}, got a {type(config).__name__} in it"
            )
    return configs


def _retry_policy(value: object) -> RetryPolicy:
    if not isinstance(value, RetryPolicy):
        raise InvalidRequestError("retry", "must be a heymarket_async.RetryPolicy")
    return value


#: What a create that may have been applied did, by path (the default: a contact created).
_EFFECTS: Final = {
    "/v1/tag": "tag may have been created",
    "/v1/contacts/fields": "fields may have been created",
    "/v1/batch/contacts": "contacts may have been created",
    "/v2/contacts": "contacts may have been created or updated",
}


def _write_effect(request: Request) -> str:
    if request.path.endswith("/channel"):
        return "channel may have been added"
    if request.method == "PUT":
        return "contact may have been updated"
    if request.method == "DELETE":
        return "contacts may have been deleted"
    return _EFFECTS.get(request.path, "contact may have been created")


def _base_url(value: str | None, environ: Mapping[str, str] = os.environ) -> str:
    raw = value if value is not None else environ.get("HEYMARKET_BASE_URL", DEFAULT_BASE_URL)
    if not isinstance(raw, str):
        raise InvalidRequestError("base_url", "must be a string")
    url = URL(raw)
    if url.scheme not in ("http", "https") or not url.host:
        # Not the URL itself: a mistyped one may still hold a password or a token.
        raise InvalidRequestError(
            "base_url",
            f"must be an http(s) URL such as {DEFAULT_BASE_URL}, got one with scheme "
            f"{url.scheme!r} and host {url.host!r}",
        )
    if url.user or url.password or url.query_string or url.fragment:
        raise InvalidRequestError("base_url", "must hold no credentials, query or fragment")
    return str(url).rstrip("/")


#: The longest timeout: the largest float (``math.inf``, or an int beyond it, cannot be a timer).
_MAX_SECONDS: Final = sys.float_info.max


def _timeout(value: float | None) -> float | None:
    if value is None:
        return None
    # Finite: aiohttp cannot arm a timer for math.inf, nor for an int past the largest float
    # (every call would raise OverflowError).
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value <= _MAX_SECONDS
    ):
        raise InvalidRequestError(
            "timeout", "must be a finite number of seconds > 0, or None for no limit"
        )
    return float(value)
