"""``HeymarketClient``: configuration, lifecycle and ``with_options``.

Its v1 methods are those of the v1 resources it inherits (``resources/v1/``); ``client.v2`` is
the v2 resource. Every request goes through one :class:`Pipeline` (``_pipeline.py``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Final

import aiohttp
import attrs
from yarl import URL

from ._auth import SecretCredentials, resolve_credentials
from ._hooks import Hooks
from ._loops import CLOSED
from ._otel import Tracing
from ._pipeline import Pipeline
from ._ratelimit import HEYMARKET_RATE_LIMIT, LocalRateLimiter, RateLimiter
from ._retry import RetryPolicy
from ._sansio import DEFAULT_BASE_URL, is_heymarket
from ._shared import Closing, ConcurrencyCap
from ._transport import DEFAULT_MAX_RESPONSE_BYTES, AiohttpTransport, Transport
from .errors import ClientClosedError, InvalidRequestError
from .models import UNSET, UnsetType
from .resources import V1ContactFields, V1Contacts, V1ContactStatus, V1Tags, V2Contacts

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider


class HeymarketClient(V1Contacts, V1ContactFields, V1ContactStatus, V1Tags):
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
    - ``transport``: any :class:`Transport` (one coroutine, ``handle_async_request``) instead
      of the aiohttp one, such as ``heymarket_async.testing.MockTransport``; the client does
      not close it.
    - Event loops: the client belongs to the loop it is first used in, and moves to a new one
      once that loop is closed; from another open loop a call raises :class:`ClientClosedError`
      (see the README's "The client"). So one client built at import time serves one
      ``asyncio.run()`` after another, or one pytest test after another: its own session is
      closed as each loop shuts down (``asyncio.run``, ``asyncio.Runner``, pytest-asyncio and
      ``IsolatedAsyncioTestCase`` shut a loop down before closing it), which leaves no
      connection open and no ``ResourceWarning``, and the next loop gets a new one. A loop you
      close yourself must run ``loop.shutdown_asyncgens()`` first, as ``asyncio.run`` does (or
      :meth:`close` the client in it): once it is closed, nothing can close the connections
      left in it.
    - ``timeout``: the deadline of a whole call in seconds, every attempt and every wait
      between them included (``None``: no limit). Within it, an attempt of a read or an
      idempotent write that hangs is cut off after 10 s and retried (a third of the default
      deadline: room for two retries, and far more than a healthy page of 100 contacts takes);
      creates have only the deadline, since one cut off after sending is never sent again. No
      attempt outlives the deadline. ``RetryPolicy(read_attempt_timeout=...)`` changes the 10 s,
      ``RetryPolicy(attempt_timeout=...)`` sets one limit for every attempt, creates included,
      and ``attempt_timeout=None`` leaves only the deadline.
    - ``max_retries``: retries after the first attempt; ``retry`` gives a whole
      :class:`RetryPolicy` and wins over ``max_retries``. Reads and idempotent writes are
      retried on connection failures, timeouts, 408, 429 and 5xx; creates only when nothing can
      have been written (429, a failed connect).
    - ``max_concurrency``: the most requests in flight at once, across every task using the
      client.
    - ``rate_limit``: requests per minute, spaced evenly and shared by every task using the
      client (and its :meth:`with_options` views), so a pool of workers never draws a 429; or
      a :class:`RateLimiter` object (``RedisRateLimiter`` shares one key's budget between
      processes). By default, Heymarket's own 500 a minute when ``base_url`` is Heymarket's
      API, and no pacing for another one (the emulator, a proxy); ``None``: no limiter, at no
      cost. A 429 pauses every task, for its ``Retry-After`` (capped at the policy's
      ``max_retry_after``) or else for the backoff, and the limiter paces a little slower from
      then on (:class:`LocalRateLimiter`).
    - ``hooks``: :class:`Hooks` called on every attempt, answer and retry (for metrics);
      ``trace_configs``: aiohttp ``TraceConfig`` objects for the session the client makes
      (with your own ``session``, give them to it instead).
    - ``tracer_provider``: an OpenTelemetry ``TracerProvider`` (such as
      ``opentelemetry.trace.get_tracer_provider()``; needs the ``otel`` extra): one CLIENT
      span per call, named by its route (``GET /v1/contact/{id}``), and a span per walk,
      linked from each page's. No phone number, email, id or credential goes into a span.
      ``None`` (the default): no tracing, and opentelemetry is never imported.
    - ``log_pii``: show phone numbers and email addresses in log lines and error messages.
      By default they are masked (``*********44``, ``j***@example.com``): they are customer
      data. Turn it on only to debug. The API key, the secret key and JWTs are never shown.
    - ``proxy``: an http(s) proxy URL (``"http://user:password@proxy.local:3128"``) for every
      request, through the client's own session or yours. Without it, the client's own
      session uses the proxy the environment names for the API's host (``HTTPS_PROXY``,
      ``HTTP_PROXY`` or ``ALL_PROXY``, unless ``NO_PROXY`` matches the host), as requests and
      httpx do; a session of yours follows its own ``trust_env``.
    - ``max_response_bytes``: the longest answer body read, 64 MiB by default (``None``: no
      limit). Past it nothing more is read and the call raises: :class:`InvalidResponseError`
      for a success status (not retried: it would be as long again), the status's
      :class:`APIError` otherwise, each with its status and request id. Bodies over 1 MiB
      are decoded in a thread, off the event loop.

    The logger ``heymarket_async`` writes one DEBUG line per attempt and one WARNING per retry.

    Raises :class:`InvalidRequestError` at construction when there are no credentials or an
    option is out of range, and ``ImportError`` for a ``tracer_provider`` without
    opentelemetry-api installed.
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
        rate_limit: float | RateLimiter | UnsetType | None = UNSET,
        hooks: Hooks | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] | None = None,
        log_pii: bool = False,
        transport: Transport | None = None,
        proxy: str | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        credentials = resolve_credentials(api_key, secret_id, secret_key)
        base = _base_url(base_url)
        deadline = _timeout(timeout)
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise InvalidRequestError("max_concurrency", "must be an int")
        if max_concurrency < 1:
            raise InvalidRequestError("max_concurrency", "must be at least 1")
        if retry is None:
            if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
                raise InvalidRequestError("max_retries", "must be an int >= 0")
            retry = RetryPolicy(max_retries=max_retries)
        policy = _retry_policy(retry)
        reaches = getattr(transport, "reaches_heymarket", True) is not False
        limiter = _rate_limiter(rate_limit, base if reaches else "")
        if hooks is not None and not isinstance(hooks, Hooks):
            raise InvalidRequestError("hooks", "must be a heymarket_async.Hooks")
        proxy = _proxy(proxy)
        max_bytes = _max_response_bytes(max_response_bytes)
        tracing = None if tracer_provider is None else Tracing(tracer_provider, base)
        _check_transport(transport, session, trace_configs)
        if transport is not None and (proxy is not None or max_bytes != DEFAULT_MAX_RESPONSE_BYTES):
            raise InvalidRequestError(
                "transport", "proxy= and max_response_bytes= are the aiohttp transport's options"
            )
        owns_transport = transport is None
        if transport is None:
            transport = _aiohttp_transport(
                session, trace_configs, max_concurrency, proxy=proxy, max_response_bytes=max_bytes
            )
        if not isinstance(log_pii, bool):
            raise InvalidRequestError("log_pii", "must be True or False")
        self._bind(
            Pipeline(
                credentials=credentials,
                base_url=base,
                transport=transport,
                owns_transport=owns_transport,
                timeout=deadline,
                retry=policy,
                cap=ConcurrencyCap(max_concurrency),
                closing=Closing(),
                limiter=limiter,
                owns_limiter=limiter is not None and limiter is not rate_limit,
                hooks=hooks,
                log_pii=log_pii,
                tracing=tracing,
            )
        )

    def _bind(self, pipeline: Pipeline) -> None:
        """Send this client's requests through ``pipeline`` (its v1 methods and ``v2``)."""
        V1Contacts.__init__(self, pipeline)
        self._v2 = V2Contacts(pipeline)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def v2(self) -> V2Contacts:
        """The v2 contact endpoints (UUID contact ids, contact channels, page/limit listing)."""
        return self._v2

    @property
    def base_url(self) -> str:
        """The API's base URL, without a trailing slash."""
        return self._pipeline.base_url

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called; a closed client raises :class:`ClientClosedError`."""
        return self._pipeline.closing.closed

    async def close(self) -> None:
        """Close the client's own session (never one given to it, nor a ``transport``). Safe to
        call twice; a closed client cannot be used again.

        Calls waiting to send (for a rate-limit turn, or before a retry) end at once with
        :class:`ClientClosedError` (queued behind other clients' calls on a rate limiter shared
        with them, when the queue reaches them: the limiter wakes its queue in order); calls in
        flight end as the client's own session closes (through a session or transport of yours,
        they run to their end).

        A client used in one loop after another needs no :meth:`close` between them: the
        session of each loop is closed when that loop shuts down (see the class's "Event
        loops"), and the client stays usable in the next one.
        """
        pipeline = self._pipeline
        pipeline.closing.closed = True
        if pipeline.owns_transport:
            assert isinstance(pipeline.transport, AiohttpTransport)
            await pipeline.transport.aclose()
        pipeline.closing.wake()
        if isinstance(pipeline.limiter, LocalRateLimiter) and pipeline.owns_limiter:
            pipeline.limiter.wake_all()

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
        pipeline = self._pipeline
        if not isinstance(timeout, UnsetType):
            pipeline = attrs.evolve(pipeline, timeout=_timeout(timeout))
        if not isinstance(retry, UnsetType):
            pipeline = attrs.evolve(pipeline, retry=_retry_policy(retry))
        view = self.__class__.__new__(self.__class__)
        view._bind(pipeline)
        return view

    def _use_time(
        self,
        *,
        clock: Callable[[], float] | None,
        sleep: Callable[[float], Awaitable[None]] | None,
        wall_clock: Callable[[], float] | None,
    ) -> None:
        """Fake time for tests: see ``heymarket_async.testing.install_clock``."""
        pipeline = self._pipeline
        if clock is not None:
            pipeline = attrs.evolve(pipeline, clock=clock)
        if sleep is not None:
            pipeline = attrs.evolve(pipeline, sleep=sleep)
        credentials = pipeline.credentials
        if isinstance(credentials, SecretCredentials) and (clock or wall_clock):
            pipeline = attrs.evolve(
                pipeline, credentials=credentials.with_clocks(wall_clock, clock)
            )
        self._bind(pipeline)

    def __repr__(self) -> str:
        pipeline = self._pipeline
        return (
            f"HeymarketClient(base_url={pipeline.base_url!r}, credentials={pipeline.credentials!r})"
        )


def _check_transport(transport: object, session: object, trace_configs: object) -> None:
    if transport is None:
        return
    if session is not None or trace_configs:
        raise InvalidRequestError(
            "transport", "give session= and trace_configs= to the transport, not the client"
        )
    if not callable(getattr(transport, "handle_async_request", None)):
        raise InvalidRequestError(
            "transport", "must have an async handle_async_request(request) method"
        )


def _rate_limiter(
    rate_limit: float | RateLimiter | UnsetType | None, base_url: str
) -> RateLimiter | None:
    """The limiter asked for: a number makes a :class:`LocalRateLimiter`; by default,
    Heymarket's own 500 a minute for Heymarket's API and none for another base URL (``""``
    for a transport that reaches no server: ``testing.MockTransport``)."""
    if isinstance(rate_limit, UnsetType):
        return LocalRateLimiter(HEYMARKET_RATE_LIMIT) if is_heymarket(base_url) else None
    if rate_limit is None:
        return None
    if isinstance(rate_limit, RateLimiter):
        return rate_limit
    try:
        return LocalRateLimiter(rate_limit)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(
            "rate_limit", f"{exc}, or a RateLimiter (acquire, pause, per_minute)"
        ) from None


def _aiohttp_transport(
    session: object,
    trace_configs: object,
    pool_size: int,
    *,
    proxy: str | None,
    max_response_bytes: int | None,
) -> AiohttpTransport:
    if session is not None and not isinstance(session, aiohttp.ClientSession):
        raise InvalidRequestError(
            "session", f"must be an aiohttp.ClientSession, got {type(session).__name__}"
        )
    configs = _trace_configs(trace_configs)
    if configs and session is not None:
        raise InvalidRequestError(
            "trace_configs", "give them to your own session; the client cannot add them"
        )
    return AiohttpTransport(
        session,
        pool_size=pool_size,
        trace_configs=configs,
        proxy=proxy,
        max_response_bytes=max_response_bytes,
    )


def _proxy(value: object) -> str | None:
    """The ``proxy`` option, checked; never quoted in the error (it may hold a password)."""
    if value is None:
        return None
    if isinstance(value, URL):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidRequestError("proxy", f"must be a URL string, got {type(value).__name__}")
    try:
        url = URL(value)
    except ValueError:
        url = URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidRequestError(
            "proxy",
            f"must be an http(s) URL such as http://proxy.local:3128, got one with scheme "
            f"{url.scheme!r} and {'a' if url.host else 'no'} host",
        )
    if url.query_string or url.fragment or url.path not in ("", "/"):
        raise InvalidRequestError("proxy", "must be a proxy's address, without path or query")
    return value


def _max_response_bytes(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(
            "max_response_bytes", "must be a number of bytes >= 1, or None for no limit"
        )
    return value


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
