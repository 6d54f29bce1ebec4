"""The transport seam: a :class:`Transport` protocol of one coroutine, and the aiohttp one.

The aiohttp transport is the only code that touches aiohttp's client; any object with
``handle_async_request`` can stand in for it (``HeymarketClient(transport=...)``), as
``heymarket_async.testing.MockTransport`` does in tests (after httpx's transports).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import platform
import urllib.request
from collections.abc import Sequence
from typing import Any, Final, Protocol

import aiohttp
from yarl import URL

from ._loops import CLOSED, LoopBinding, ShutdownHook
from ._sansio import TransportRequest, TransportResponse
from ._version import __version__
from .errors import APIConnectionError, APITimeoutError, ClientClosedError, TransportError

USER_AGENT: Final = (
    f"heymarket-async/{__version__} aiohttp/{aiohttp.__version__} "
    f"python/{platform.python_version()}"
)
#: The largest body read by default: 64 MiB, far above any answer of the API (a page of 100
#: contacts is tens of kilobytes) and small enough that a broken or hostile server cannot take
#: the process's memory. ``HeymarketClient(max_response_bytes=...)`` changes it.
DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024
#: How much of a body over the limit is kept, for the error's ``text``.
_KEPT_OF_TOO_LARGE: Final = 64 * 1024
#: How many request URLs a transport keeps parsed (:meth:`AiohttpTransport._target`).
_TARGETS_KEPT: Final = 256

logger: Final = logging.getLogger("heymarket_async")


class Transport(Protocol):
    """Sends one attempt and returns the whole answer, whatever its status.

    Raise :class:`TransportError` (``APIConnectionError``, ``APITimeoutError``) when no answer
    came, with ``maybe_applied=False`` only when the request surely never reached the server;
    the client decides about retries, statuses and decoding. Honour ``request.timeout``.
    """

    async def handle_async_request(self, request: TransportRequest) -> TransportResponse:
        """Send ``request`` and read its answer."""
        ...


class AiohttpTransport:
    """The default transport: one pooled aiohttp session, errors translated.

    Without a ``session`` of the caller's, it makes its own in the loop of its first request and
    makes it again in a new loop once that one is closed (see :class:`LoopBinding`); a caller's
    session is used as it is, never replaced, and never closed here. Its own session is closed
    when its loop shuts down (``asyncio.run``, ``asyncio.Runner`` and pytest-asyncio do that
    before closing a loop; see :class:`ShutdownHook`), so that no connection outlives the loop
    it belongs to, where nothing could close it any more.

    ``proxy`` (a URL) carries every request, on any session. Without it, the client's own
    session goes through the proxy the environment names for the API's host
    (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``, unless ``NO_PROXY`` matches it; read once per
    host), as requests and httpx do; a caller's session follows its own ``trust_env``.

    A body longer than ``max_response_bytes`` (``None``: no limit) is not read further: the
    answer comes back with ``complete=False`` and the first part of its body.

    aiohttp never sends a request of the SDK's again by itself, on this session or the
    caller's (see ``_no_resend``): only the client's retry rules do. That takes aiohttp 3.12
    (client middlewares); with an older aiohttp, only the client's own session is kept from
    it, and a session of the caller's may still resend a GET, PUT or DELETE once.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        pool_size: int = 16,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
        proxy: str | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._binding = LoopBinding(_loop_of(session))
        self._pool_size = pool_size
        self._trace_configs = list(trace_configs)
        self._proxy = proxy
        #: The environment's proxy for each (scheme, host) the own session talked to.
        self._by_host: dict[tuple[str, str], str | None] = {}
        #: Each request URL's ``URL`` and proxy (:meth:`_target`), for up to _TARGETS_KEPT.
        self._targets: dict[str, tuple[URL, str | None]] = {}
        self._max_bytes = max_response_bytes
        self._closed = False
        #: Closes our session when its loop shuts down, once the calls on it are done.
        self._shutdown: ShutdownHook | None = None
        self._calls = _InFlight()
        #: The per-request options of the session last used (its middlewares and ours), made
        #: once per session: a session's middlewares are fixed when it is made.
        self._options_of: tuple[aiohttp.ClientSession | None, dict[str, Any]] = (None, {})
        #: The last attempt's timeout and its ClientTimeout (most attempts share one: 10 s).
        self._timeout: tuple[float | None, aiohttp.ClientTimeout] = (
            None,
            aiohttp.ClientTimeout(total=None),
        )

    @property
    def closed(self) -> bool:
        return self._closed

    async def _get_session(self) -> aiohttp.ClientSession:
        """The session to use in the running loop, made (or made again) if it is ours."""
        if self._closed:
            raise ClientClosedError(CLOSED)
        if not self._owns_session:
            return self._callers_session()
        session = self._session
        stale = None
        if self._binding.moved():
            stale = session
        elif session is not None and not session.closed:
            return session
        # Created here rather than in __init__ so that a client can be built outside a running
        # loop (at import time, in a settings object) and bind to the loop it is first used in.
        session = self._session = self._new_session()
        calls = self._calls = _InFlight()
        if self._shutdown is not None:
            # Not fired: its loop was closed without a shutdown (and cannot run it any more).
            self._shutdown.cancel()
        self._shutdown = await ShutdownHook.start(
            functools.partial(_close_when_idle, session, calls)
        )
        if stale is not None:
            await _close_stale(stale)
            if self._closed or session.closed:  # close() came while the old one closed
                raise ClientClosedError(CLOSED)
        return session

    def _new_session(self) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._pool_size),
            trace_configs=self._trace_configs or None,
        )
        _no_silent_resend(session)
        return session

    def _shut_down_here(self) -> bool:
        """Whether the running loop's shutdown closed our session already."""
        hook = self._shutdown
        return hook is not None and hook.fired and hook.loop is asyncio.get_running_loop()

    def _callers_session(self) -> aiohttp.ClientSession:
        session = self._session
        assert session is not None
        if session.closed:
            raise ClientClosedError("the aiohttp session given to the client is closed")
        bound = self._binding.loop
        if bound is not None and bound is not asyncio.get_running_loop():
            where = "is closed" if bound.is_closed() else "is not the running one"
            raise ClientClosedError(
                "the aiohttp session given to the client belongs to an event loop that "
                f"{where}; give it a session made in the loop it is used in"
            )
        return session

    async def handle_async_request(self, request: TransportRequest) -> TransportResponse:
        """One attempt. Raises :class:`TransportError` (``maybe_applied`` set) on any failure."""
        session, calls = self._session, self._calls
        if (
            session is None
            or self._binding.loop is not asyncio.get_running_loop()
            or session.closed
        ):
            if self._owns_session and not self._closed and self._shut_down_here():
                # A call from the loop's shutdown (an async generator's cleanup), after ours
                # closed the session: a session for this call alone, closed before the loop is.
                async with self._new_session() as once:
                    return await self._send(once, request)
            session = await self._get_session()
            calls = self._calls
        with calls:
            return await self._send(session, request)

    async def _send(
        self, session: aiohttp.ClientSession, request: TransportRequest
    ) -> TransportResponse:
        method, timeout = request.method, request.timeout
        target = self._targets.get(request.url)
        if target is None:
            target = await self._target(request.url)
        url, proxy = target
        options = self._options(session) if method in _RESENT else _NO_OPTIONS
        if proxy is not None:
            options = {**options, "proxy": proxy}
        last, client_timeout = self._timeout
        if timeout != last:
            client_timeout = aiohttp.ClientTimeout(total=timeout)
            self._timeout = (timeout, client_timeout)
        try:
            async with session.request(
                method,
                url,
                headers=request.headers,
                data=request.body,
                timeout=client_timeout,
                allow_redirects=False,
                # A caller's session may say raise_for_status=True: statuses are ours to map.
                raise_for_status=False,
                **options,
            ) as resp:
                # Read the whole body here, so that the connection goes back to the pool before
                # the caller does anything else (and an abandoned iterator holds none).
                return await _read(resp, self._max_bytes)
        except asyncio.CancelledError:
            raise
        except Exception as caught:
            exc = caught.original if isinstance(caught, _NotResent) else caught
            error = _translate(exc, method, request.url, timeout)
            if not _holds_request(exc):
                raise error from exc
        # aiohttp's error holds request_info, whose headers hold Authorization (the API key or
        # a JWT): not chained, neither as __cause__ nor as __context__ (raised out here, past the
        # except block); the message keeps what went wrong.
        raise error

    def _options(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        """The options a request on ``session`` takes when aiohttp might send it again by
        itself (never changed: copied to add). Other requests take none (:data:`_RESENT`)."""
        known, options = self._options_of
        if known is not session:
            resends = getattr(session, "_retry_connection", True) is not False
            options = {"middlewares": _middlewares(session)} if _MIDDLEWARES and resends else {}
            self._options_of = (session, options)
        return options

    async def _target(self, text: str) -> tuple[URL, str | None]:
        """A request URL as aiohttp takes it, and the proxy it goes through; kept for the
        next request to it (a walk sends every page to one URL): aiohttp and yarl keep what
        they work out of a URL (its host, its origin) on the object."""
        # Paths and queries are built from validated ids and fixed words: nothing to quote.
        url = URL(text, encoded=True)
        proxy = self._proxy
        if proxy is None and self._owns_session:
            proxy = await self._env_proxy(url)  # looked up once per host
        targets = self._targets
        if len(targets) >= _TARGETS_KEPT:
            targets.clear()  # one URL per contact read by id: no need to keep them all
        targets[text] = (url, proxy)
        return url, proxy

    async def _env_proxy(self, url: URL) -> str | None:
        """The proxy the environment names for ``url``'s host, looked up once per host (in a
        thread: on macOS and Windows it reads the system's settings)."""
        key = (url.scheme, url.host or "")
        try:
            return self._by_host[key]
        except KeyError:
            pass
        proxy = self._by_host[key] = await asyncio.to_thread(env_proxy, url)
        return proxy

    async def aclose(self) -> None:
        """Close the session if it is ours; idempotent."""
        self._closed = True
        hook, self._shutdown = self._shutdown, None
        if hook is not None:
            hook.cancel()
        session, self._session = self._session, None
        self._options_of = (None, {})
        if session is not None and self._owns_session and not session.closed:
            await session.close()


async def _read(resp: aiohttp.ClientResponse, limit: int | None) -> TransportResponse:
    """The whole answer, or, past ``limit`` bytes, its first part with ``complete=False``
    (the rest is not read: the connection is closed rather than drained)."""
    length = resp.content_length
    encoded = resp.headers.get("Content-Encoding", "identity").lower() != "identity"
    if limit is None or (length is not None and length <= limit and not encoded):
        # Bounded by Content-Length (the body is not decompressed): read at once.
        return TransportResponse(resp.status, resp.headers, await resp.read())
    chunks: list[bytes] = []
    size = 0
    if length is None or length <= limit:  # a length over the limit: nothing is read
        async for chunk in resp.content.iter_any():
            size += len(chunk)
            chunks.append(chunk)  # one chunk past the limit at most: its head may be kept
            if size > limit:
                break
        else:
            return TransportResponse(resp.status, resp.headers, b"".join(chunks))
    resp.close()  # the rest of the body stays unread: this connection is not reused
    kept = bytearray()
    for chunk in chunks:  # only the head, not megabytes joined to be cut
        kept += chunk[: _KEPT_OF_TOO_LARGE - len(kept)]
        if len(kept) >= _KEPT_OF_TOO_LARGE:
            break
    return TransportResponse(resp.status, resp.headers, bytes(kept), complete=False)


def env_proxy(url: URL) -> str | None:
    """The proxy the environment names for ``url``, with the rules aiohttp's ``trust_env``
    applies (``urllib.request.getproxies`` and ``proxy_bypass``), and ``ALL_PROXY`` as a
    fallback. Only http and https proxies; ``~/.netrc`` is not read (with ``trust_env``, an
    entry for the API's host would make aiohttp refuse every request)."""
    host = url.host
    if not host:
        return None
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    scheme = URL(proxy).scheme
    if scheme not in ("http", "https"):
        logger.warning("ignoring the environment's %s proxy: only http(s) proxies work", scheme)
        return None
    return proxy


def _translate(exc: Exception, method: str, url: str, timeout: float | None) -> TransportError:
    """The SDK's error for what aiohttp (or the OS) raised during one attempt."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError("timed out connecting", method=method, url=url, maybe_applied=False)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(
            f"cannot connect: {exc.os_error.strerror or exc.os_error}",
            method=method,
            url=url,
            maybe_applied=False,
        )
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return APITimeoutError(
            f"timed out after {timeout:g} s" if timeout else "timed out", method=method, url=url
        )
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        # One line: aiohttp's parser errors quote the offending bytes over several lines.
        reason = " ".join(f"{type(exc).__name__}: {exc}".split()).rstrip(": ")
        return APIConnectionError(f"connection failed: {reason}", method=method, url=url)
    raise exc


# -- no resend by aiohttp -------------------------------------------------------------------
#
# aiohttp (3.9 and later) sends a GET, PUT or DELETE once more by itself when the connection
# drops before the answer (``ClientSession._request`` catches ``ClientOSError`` and
# ``ServerDisconnectedError`` and goes round again). That second attempt would pass by the
# SDK's retry rules (a bulk delete or patch_contact's write, never sent twice once it may have
# been applied; ``RetryPolicy.disabled()``) and its rate limiter. There is no public switch
# (aio-libs/aiohttp#10790; ``_retry_connection`` is private, for aiohttp's test client), but
# client middlewares (aiohttp 3.12) are public and may be given per request: the SDK's own,
# innermost, turns those two errors into one that aiohttp does not retry, on any session.
# The client's own session has the private switch off while it exists, and then takes no
# middleware of the SDK's: one layer less a GET, PUT or DELETE.

#: Whether this aiohttp takes ``middlewares=`` per request (3.12 and later).
_MIDDLEWARES: Final = hasattr(aiohttp, "ClientMiddlewareType")
#: The methods aiohttp may send again by itself: only those go through ``_no_resend`` (a
#: middleware costs a few microseconds a request, and a walk's every page is a POST). Should
#: aiohttp's private name go, every method does. (A middleware of the caller's session that
#: resends on a dropped connection sees aiohttp's own error for a POST: resending is then the
#: caller's own doing, as for any request of theirs.)
_RESENT: Final[frozenset[str]] = frozenset(
    getattr(aiohttp.client, "IDEMPOTENT_METHODS", None)
    or ("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "POST", "PATCH")
)
#: A request's options when it takes none.
_NO_OPTIONS: Final[dict[str, Any]] = {}


class _NotResent(aiohttp.ClientConnectionError):
    """Carries a dropped connection's error past aiohttp's resend; unwrapped in this module."""

    def __init__(self, original: aiohttp.ClientError) -> None:
        super().__init__(str(original))
        self.original = original


async def _no_resend(request: Any, handler: Any) -> aiohttp.ClientResponse:
    try:
        response: aiohttp.ClientResponse = await handler(request)
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
        raise  # the connection was never made: aiohttp does not resend these either
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _NotResent(exc) from exc
    return response


def _middlewares(session: aiohttp.ClientSession) -> tuple[Any, ...]:
    """The session's own middlewares, then the SDK's: a request's ``middlewares=`` replaces
    the session's, which the caller set up for every request (auth for a proxy, logging).

    aiohttp has no public accessor for them; should ``_middlewares`` be renamed, a test fails.
    """
    theirs = getattr(session, "_middlewares", ())
    return (*theirs, _no_resend) if theirs else (_no_resend,)


def _no_silent_resend(session: aiohttp.ClientSession) -> None:
    """The private switch aiohttp's own test client sets, on the client's own session only (a
    caller's is not the SDK's to change): a session with it off takes no ``_no_resend`` (a
    middleware costs a request a few microseconds). Should the name go, the middleware does
    the work (aiohttp 3.12 and later; before, nothing else can)."""
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False


def _loop_of(session: aiohttp.ClientSession | None) -> asyncio.AbstractEventLoop | None:
    """The loop a caller's session was made in (``ClientSession.loop`` is deprecated)."""
    loop = getattr(session, "_loop", None)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) else None


class _InFlight:
    """The calls in flight on one session of ours: its loop's shutdown closes it after them (a
    call from another async generator's cleanup, run at the same time)."""

    __slots__ = ("_idle", "count")

    def __init__(self) -> None:
        self.count = 0
        self._idle: asyncio.Future[None] | None = None

    def __enter__(self) -> None:
        self.count += 1

    def __exit__(self, *exc_info: object) -> None:
        self.count -= 1
        idle = self._idle
        # (A call of a loop closed by hand may end only when collected, in no loop.)
        if (
            not self.count
            and idle is not None
            and not idle.done()
            and not idle.get_loop().is_closed()
        ):
            idle.set_result(None)

    async def done(self) -> None:
        """Until no call is in flight."""
        while self.count:
            self._idle = asyncio.get_running_loop().create_future()
            await self._idle


async def _close_when_idle(session: aiohttp.ClientSession, calls: _InFlight) -> None:
    """Close our session at its loop's shutdown, after the calls on it: its pooled connections
    are closed for good, while the loop can still close them."""
    await calls.done()
    await session.close()


async def _close_stale(session: aiohttp.ClientSession) -> None:
    """Close our session of a loop that is closed, so that it and its connector do not warn
    when collected. Closed at that loop's shutdown already unless the loop was closed without
    one (``loop.close()`` alone): aiohttp then only marks them closed, since the sockets still
    open when that loop was closed cannot be closed through it."""
    # A lookup the dead loop left running can be neither cancelled nor awaited from this one.
    with contextlib.suppress(RuntimeError):
        await session.close()


def _holds_request(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it chains, holds aiohttp's ``request_info``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if getattr(current, "request_info", None) is not None:
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "USER_AGENT",
    "AiohttpTransport",
    "Transport",
    "env_proxy",
]
