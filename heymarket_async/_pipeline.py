"""The request pipeline: one attempt loop with its deadline, retries, rate limit, hooks and logs.

A resource method builds a :class:`Request` from its :class:`Endpoint`; :meth:`Pipeline.call`
sends it through the transport as often as the endpoint's :class:`Safety` and the
:class:`RetryPolicy` allow, and parses the decoded body. The pipeline knows no paths: what it
must know about an operation is on its endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

import attrs

from ._auth import Credentials
from ._convert import StructureError
from ._hooks import Hooks, RequestEvent
from ._loops import CLOSED
from ._otel import Tracing, answered
from ._ratelimit import WIRE_TIME, RateLimiter
from ._redact import mask, scrub_error
from ._retry import (
    RetryPolicy,
    attempt_timeout_for,
    backoff_delay,
    may_have_written,
    plan_retry,
)
from ._sansio import (
    Request,
    Safety,
    TransportRequest,
    TransportResponse,
    body_text,
    decode_response,
    json_dumps,
)
from ._shared import Closing, ConcurrencyCap, Sleep, give_back
from ._transport import USER_AGENT, Transport
from .errors import (
    APIConnectionError,
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

T = TypeVar("T")

#: Answers longer than this are decoded and parsed in a thread: megabytes of JSON (and of
#: contacts to structure, or of an error body to mask) held the event loop for hundreds of
#: milliseconds to seconds (benchmarks/bench_bodies.py); a page of 100 contacts is ~50 KB.
THREAD_BODY_BYTES: Final = 1 << 20

logger: Final = logging.getLogger("heymarket_async")
# What the logging HOWTO asks of a library: no handler but a NullHandler, so that an app that
# never configured logging does not get the retry WARNINGs on stderr from logging's last-resort
# handler. An app that configures logging sees them as before.
logger.addHandler(logging.NullHandler())


@attrs.frozen(eq=False, repr=False)
class Pipeline:
    """What sends a client's requests. A ``with_options`` view is an :func:`attrs.evolve` of it
    with another ``timeout`` or ``retry``, sharing the transport, the concurrency slots, the
    rate limiter and the closing state."""

    credentials: Credentials
    base_url: str
    transport: Transport
    #: Whether ``close()`` closes the transport (the client made it).
    owns_transport: bool
    timeout: float | None
    retry: RetryPolicy
    cap: ConcurrencyCap
    closing: Closing
    limiter: RateLimiter | None = None
    #: Whether the client made the limiter (from a number): ``close()`` then ends its waits at
    #: once; a limiter of the user's may serve other clients too.
    owns_limiter: bool = False
    hooks: Hooks | None = None
    log_pii: bool = False
    #: The monotonic clock and the sleep of every wait: a test gives fake ones
    #: (``heymarket_async.testing.install_clock``), so that no test waits on a real backoff.
    clock: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    #: Spans for every call (``HeymarketClient(tracer_provider=...)``); ``None``: none, at the
    #: cost of one attribute check per call.
    tracing: Tracing | None = None

    secrets: _Secrets = attrs.field(
        init=False, default=attrs.Factory(lambda self: _Secrets(self.credentials), takes_self=True)
    )

    def deadline(self) -> float | None:
        """When a call started now must be over: ``timeout`` from now, or never."""
        return None if self.timeout is None else self.clock() + self.timeout

    def scrub_text(self, text: str) -> str:
        """``text`` as errors show it: no secret, and no phone or email unless ``log_pii``."""
        return mask(text, self.credentials.secrets(), keep_pii=self.log_pii)

    def _raw_text(self, text: str) -> str:
        """A raw answer's text as an error keeps it: customer data kept, no credential."""
        return mask(text, self.credentials.secrets(), keep_pii=True)

    # call() runs once per page of a million-contact export: the success path allocates only
    # what the request needs, formats log lines only when they are enabled, and skips the
    # limiter and hooks when there are none.

    async def call(
        self,
        request: Request,
        parse: Callable[[Any], T],
        deadline: float | None = None,
        *,
        span_started: bool = False,
        decode: Callable[[bytes], Any] | None = None,
    ) -> T:
        """Send ``request`` (with retries as its safety allows) and parse the decoded body.

        ``deadline`` (on :attr:`clock`) is for a call made of several requests, which share it;
        by default the request has ``timeout`` of its own. The error finally raised has
        ``attempts`` set, and the earlier failures as notes. With :attr:`tracing`, the call
        runs inside its span (``span_started``: it is open already, ``_otel`` sends it on).
        ``decode`` decodes a 2xx body instead of the usual JSON decoder.
        """
        if self.tracing is not None and not span_started:
            return await self.tracing.call(self, request, parse, deadline, decode)
        target = self.base_url + request.path
        if request.query:
            target += "?" + "&".join(f"{k}={v}" for k, v in request.query.items())
        body = self._encode(request) if request.has_body else None
        if deadline is None:
            deadline = self.deadline()
        failures: list[str] = []
        response, data, attempts = await self._attempts(
            request, target, body, deadline, failures, decode
        )
        if span_started:
            answered(response, attempts)
        try:
            if len(response.body) > THREAD_BODY_BYTES:
                return await asyncio.to_thread(parse, data)
            return parse(data)
        except (StructureError, KeyError, TypeError, ValueError) as exc:
            error = InvalidResponseError(
                f"unexpected response shape: {self.scrub_text(str(exc))}",
                status=response.status,
                method=request.method,
                url=target,
                request_id=response.request_id,
                text=body_text(response.body, self.secrets),
            )
            error.__cause__ = exc  # the structure error holds the raw values: scrubbed below
            self._finish(error, request, attempts, failures, None)
        # Raised out here, past the except block, so that the cause is what the scrub left
        # (a link it could not clean is replaced) and no unscrubbed __context__ is added.
        raise error

    async def _attempts(
        self,
        request: Request,
        target: str,
        body: bytes | None,
        deadline: float | None,
        failures: list[str],
        decode: Callable[[bytes], Any] | None,
    ) -> tuple[TransportResponse, Any, int]:
        """Attempt until one succeeds or a failure is final: the answer, its decoded body and
        how many attempts it took."""
        policy = self.retry
        attempt = 0
        applied = False  # whether a failed attempt may have been applied
        while True:
            attempt += 1
            try:
                response = await self._send(request, target, body, deadline, attempt, policy)
                args = (response, request.method, target, self.secrets)
                if len(response.body) > THREAD_BODY_BYTES:
                    data = await asyncio.to_thread(
                        decode_response, *args, keep_pii=self.log_pii, loads=decode
                    )
                else:
                    data = decode_response(*args, keep_pii=self.log_pii, loads=decode)
                return response, data, attempt
            except _DeadlineReached as stop:
                # Out of time before this attempt was sent: final, whatever the policy says.
                late = self._deadline_error(request, stop.waiting)
                self._finish(late, request, attempt - 1, failures, None)
                raise late from None
            except ClientClosedError as closed:
                # Closed while this attempt waited for its turn: nothing of it was sent.
                raise self._closed(closed, request, attempt - 1, failures, applied) from None
            except HeymarketError as exc:
                if applied and request.endpoint.gone_is_done and isinstance(exc, NotFoundError):
                    # An earlier attempt may have deleted it: what was asked for is done.
                    return response, None, attempt
                wait = await self._retry_wait(exc, request, policy, attempt, deadline, failures)
                applied = applied or may_have_written(exc)
                failures.append(f"attempt {attempt}: {exc}")
                try:
                    await self.closing.sleep(self.sleep, wait)
                except ClientClosedError as closed:
                    raise self._closed(closed, request, attempt, failures, applied) from None

    async def _retry_wait(
        self,
        exc: HeymarketError,
        request: Request,
        policy: RetryPolicy,
        attempt: int,
        deadline: float | None,
        failures: list[str],
    ) -> float:
        """The wait before retrying after ``exc``; raises ``exc`` when it is final."""
        self._scrub(exc)
        wait, why = plan_retry(exc, request.safety, policy, attempt)
        if wait is not None and deadline is not None and self.clock() + wait >= deadline:
            wait = None
            why = f"not retried: the next attempt would start after the {self.timeout:g} s deadline"
        if self.limiter is not None and isinstance(exc, RateLimitError):
            # A 429 holds back every task sharing the limiter: for its Retry-After, or the
            # backoff (a final 429 too: the others would draw one next). Paused even for no
            # time (``Retry-After: 0``, a zero backoff): the limiter learns from every 429.
            seconds = exc.retry_after if exc.retry_after is not None else wait
            if seconds is None:
                seconds = backoff_delay(attempt - 1, policy)
            await self.limiter.pause(min(seconds, policy.max_retry_after), self.clock)
        if wait is None:
            self._finish(exc, request, attempt, failures, why)
            raise exc
        if logger.isEnabledFor(logging.WARNING):
            logger.warning(
                "retrying %s %s in %.2f s (attempt %d of %d failed: %s)",
                request.method,
                request.path,
                wait,
                attempt,
                policy.max_retries + 1,
                exc,
            )
        hooks = self.hooks
        if hooks is not None and hooks.on_retry is not None:
            hooks.on_retry(_event(request, attempt, error=exc, wait=wait))
        if self.tracing is not None:
            self.tracing.retrying(exc, attempt, wait)
        return wait

    def _encode(self, request: Request) -> bytes:
        """The JSON of a request's body; what no encoder can write is bad input, not sent.

        Validation already refuses such values (a lone surrogate, an int past 64 bits); this
        keeps a bare TypeError or UnicodeEncodeError of the encoder from reaching the caller
        should anything slip past it.
        """
        try:
            return json_dumps(request.json)
        except (TypeError, ValueError) as exc:  # orjson's JSONEncodeError is a TypeError
            reason = self.scrub_text(str(exc))
            raise InvalidRequestError(
                "body", f"cannot be encoded as JSON, so nothing was sent: {reason}"
            ) from exc

    def _scrub(self, exc: HeymarketError) -> None:
        """Take every secret and JWT (and phone and email, unless ``log_pii``) out of what an
        error shows, and out of every exception it chains, whatever put them there.

        Server answers are already masked as they are read; this also covers the request id,
        transport messages, causes (a structure error quoting the raw value) and errors made
        anywhere else. ``text`` and ``body`` keep the customer's data, never a credential.
        """
        scrub_error(exc, self.scrub_text, raw=self._raw_text)

    def _closed(
        self,
        closed: ClientClosedError,
        request: Request,
        attempts: int,
        failures: list[str],
        applied: bool,
    ) -> ClientClosedError:
        """``closed``, telling what the call had done: its attempts, their failures, and
        whether one of them may have been applied."""
        closed.attempts = attempts
        closed.maybe_applied = applied
        for note in failures:
            _add_note(closed, note)
        if applied:
            what = request.endpoint.effect or "write may have been applied"
            _add_note(closed, f"the client closed before a retry: the {what}; check it")
        self._scrub(closed)
        return closed

    def _finish(
        self,
        exc: HeymarketError,
        request: Request,
        attempts: int,
        failures: list[str],
        why: str | None,
    ) -> None:
        """Make ``exc`` tell the whole story: attempts, earlier failures, a possible write."""
        if isinstance(exc, (APIError, TransportError, InvalidResponseError)):
            exc.attempts = attempts
        for note in failures:
            _add_note(exc, note)
        if why is not None:
            _add_note(exc, why)
        if request.safety is Safety.ONCE and may_have_written(exc):
            what = request.endpoint.effect or "write may have been applied"
            _add_note(exc, f"not retried: the {what}; check before trying again")
            exc.args = (f"{exc.args[0]} (the write may have been applied)", *exc.args[1:])
        self._scrub(exc)

    async def _send(
        self,
        request: Request,
        target: str,
        body: bytes | None,
        deadline: float | None,
        attempt: int,
        policy: RetryPolicy,
    ) -> TransportResponse:
        """One attempt inside a concurrency slot and a rate-limit turn, timed against the
        deadline and the policy's timeout for an attempt of its kind (whichever ends first)."""
        if self.closing.closed:
            raise ClientClosedError(CLOSED)
        clock = self.clock
        hooks = self.hooks
        queued_at = clock() if hooks is not None else 0.0
        slots = self.cap.slots()
        if deadline is None or not slots.locked():
            await slots.acquire()
        else:
            await self._acquire_slot(slots, deadline)
        try:
            started = clock() if self.limiter is None else await self._wait_turn(deadline)
            timeout = attempt_timeout_for(request.safety, policy, attempt)
            if deadline is not None:
                left = deadline - started
                if left <= 0:
                    raise _DeadlineReached("")
                if timeout is None or left < timeout:
                    timeout = left
            wire = TransportRequest(request.method, target, self._headers(body), body, timeout)
            if hooks is not None and hooks.on_request is not None:
                hooks.on_request(_event(request, attempt, queued=started - queued_at))
            try:
                if self.owns_transport:  # one coroutine less a request: ours raises ours
                    response = await self.transport.handle_async_request(wire)
                else:
                    response = await self._transport_send(wire)
            except TransportError as exc:
                self._scrub(exc)  # before a hook sees it
                self._answered(request, attempt, clock() - started, error=exc)
                raise
        finally:
            slots.release()
        elapsed = clock() - started
        WIRE_TIME.set(elapsed)
        self._answered(request, attempt, elapsed, response=response)
        return response

    async def _wait_turn(self, deadline: float | None) -> float:
        """Wait for the rate limiter's turn; the time it came."""
        limiter = self.limiter
        assert limiter is not None
        closing = self.closing
        tracing = self.tracing
        began = self.clock() if tracing is not None else 0.0
        turn = await limiter.acquire(deadline, self.clock, closing.sleeper(self.sleep))
        if tracing is not None:
            tracing.rate_limit_waited(self.clock() - began)
        if not turn:
            if closing.closed:
                raise ClientClosedError(CLOSED)
            raise _DeadlineReached("waiting for the rate limit")
        if closing.closed:
            # Its turn came as the client closed (a limiter shared with another client wakes
            # its waiters in turn, not at once): the turn is spent, nothing is sent.
            raise ClientClosedError(CLOSED)
        return self.clock()

    def _headers(self, body: bytes | None) -> dict[str, str]:
        headers = {
            "Authorization": self.credentials.authorization(),
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        return headers

    async def _transport_send(self, wire: TransportRequest) -> TransportResponse:
        """The answer of a transport of the user's: what it raises or returns that is not the
        SDK's becomes a typed error. (The aiohttp transport's errors are the SDK's already: it
        is awaited directly.)"""
        try:
            response = await self.transport.handle_async_request(wire)
        except (HeymarketError, asyncio.CancelledError):
            raise
        except Exception as exc:
            # Not chained, neither as __cause__ nor __context__ (raised past the except block):
            # a foreign error may hold the request and its Authorization header.
            reason = self.scrub_text(f"{type(exc).__name__}: {exc}")
            failed = APIConnectionError(
                f"the transport failed: {reason}", method=wire.method, url=wire.url
            )
        else:
            if (
                isinstance(response, TransportResponse)
                and type(response.status) is int
                and isinstance(response.body, bytes)
            ):
                return response
            failed = APIConnectionError(
                f"the transport returned {type(response).__name__}, not a TransportResponse "
                "with an int status and bytes",
                method=wire.method,
                url=wire.url,
            )
        raise failed

    def _answered(
        self,
        request: Request,
        attempt: int,
        elapsed: float,
        *,
        response: TransportResponse | None = None,
        error: TransportError | None = None,
    ) -> None:
        """Log (at DEBUG) and pass to ``on_response`` how an attempt ended: the ``response``,
        or the transport ``error`` that came instead of one."""
        debug = logger.isEnabledFor(logging.DEBUG)
        hooks = self.hooks
        on_response = None if hooks is None else hooks.on_response
        if not debug and on_response is None:
            return
        # A server may echo anything into X-Request-Id: it is shown as an error's text is.
        request_id = None
        if response is not None and response.request_id is not None:
            request_id = self.scrub_text(response.request_id)
        if debug:
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
                    request_id,
                    attempt,
                )
        if on_response is not None:
            on_response(
                _event(
                    request,
                    attempt,
                    status=None if response is None else response.status,
                    elapsed=elapsed,
                    request_id=request_id,
                    error=error,
                )
            )

    async def _acquire_slot(self, slots: asyncio.Semaphore, deadline: float) -> None:
        """A slot, waited for until ``deadline`` (when none is free right away)."""
        # Not asyncio.wait_for: before Python 3.12 it returns a slot granted in the same step as
        # a cancellation and swallows the cancellation, so a cancelled create was still sent.
        acquire = asyncio.ensure_future(slots.acquire())
        try:
            await asyncio.wait((acquire,), timeout=deadline - self.clock())
        except BaseException:
            give_back(acquire, slots)
            raise
        if not acquire.done():
            give_back(acquire, slots)
            raise _DeadlineReached("waiting for a concurrency slot")
        acquire.result()  # one that failed raises here, rather than go on without a slot

    def _deadline_error(self, request: Request, waiting: str = "") -> APITimeoutError:
        where = f" {waiting}" if waiting else ""
        return APITimeoutError(
            f"the {self.timeout:g} s deadline passed{where}",
            method=request.method,
            url=self.base_url + request.path,
            maybe_applied=False,
        )


def _event(request: Request, attempt: int, **fields: Any) -> RequestEvent:
    return RequestEvent(
        method=request.method,
        path=request.path,
        route=request.endpoint.route,
        attempt=attempt,
        **fields,
    )


class _DeadlineReached(Exception):
    """The call's deadline came before an attempt could be sent (never leaves the pipeline)."""

    def __init__(self, waiting: str) -> None:
        self.waiting = waiting


class _Secrets:
    """The credentials' secrets, read only when an error message is made (never on success)."""

    __slots__ = ("_credentials",)

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def __iter__(self) -> Iterator[str]:
        return iter(self._credentials.secrets())


def _add_note(exc: BaseException, note: str) -> None:
    if sys.version_info >= (3, 11):
        exc.add_note(note)
    else:  # pragma: no cover - Python 3.10
        exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]
