"""The transport seam: a :class:`Transport` protocol of one coroutine, and the aiohttp one.

The aiohttp transport is the only code that touches aiohttp's client; any object with
``handle_async_request`` can stand in for it (``HeymarketClient(transport=...)``), as
``heymarket_async.testing.MockTransport`` does in tests (after httpx's transports).
"""

from __future__ import annotations

import asyncio
import contextlib
import platform
from collections.abc import Sequence
from typing import Any, Final, Protocol

import aiohttp
from yarl import URL

from ._loops import CLOSED, LoopBinding
from ._sansio import TransportRequest, TransportResponse
from ._version import __version__
from .errors import APIConnectionError, APITimeoutError, ClientClosedError, TransportError

USER_AGENT: Final = (
    f"heymarket-async/{__version__} aiohttp/{aiohttp.__version__} "
    f"python/{platform.python_version()}"
)


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
    session is used as it is, never replaced, and never closed here.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        pool_size: int = 16,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._binding = LoopBinding(_loop_of(session))
        self._pool_size = pool_size
        self._trace_configs = list(trace_configs)
        self._closed = False

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
        session = self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._pool_size),
            trace_configs=self._trace_configs or None,
        )
        if not _MIDDLEWARES:  # pragma: no cover - aiohttp < 3.12
            _no_silent_resend(session)
        if stale is not None:
            await _close_stale(stale)
            if self._closed or session.closed:  # close() came while the old one closed
                raise ClientClosedError(CLOSED)
        return session

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
        session = self._session
        if (
            session is None
            or self._binding.loop is not asyncio.get_running_loop()
            or session.closed
        ):
            session = await self._get_session()
        method, timeout = request.method, request.timeout
        options: dict[str, Any] = {}
        if _MIDDLEWARES:
            options["middlewares"] = _middlewares(session)
        try:
            async with session.request(
                method,
                # Paths and queries are built from validated ids and fixed words: nothing to quote.
                URL(request.url, encoded=True),
                headers=request.headers,
                data=request.body,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
                # A caller's session may say raise_for_status=True: statuses are ours to map.
                raise_for_status=False,
                **options,
            ) as resp:
                # Read the whole body here, so that the connection goes back to the pool before
                # the caller does anything else (and an abandoned iterator holds none).
                payload = await resp.read()
                return TransportResponse(resp.status, resp.headers, payload)
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

    async def aclose(self) -> None:
        """Close the session if it is ours; idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()


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

#: Whether this aiohttp takes ``middlewares=`` per request (3.12 and later).
_MIDDLEWARES: Final = hasattr(aiohttp, "ClientMiddlewareType")


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


def _no_silent_resend(session: aiohttp.ClientSession) -> None:  # pragma: no cover - < 3.12
    """Before aiohttp 3.12 (no middlewares), the private switch its own test client sets; on
    the client's own session only (a caller's is not the SDK's to change)."""
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False


def _loop_of(session: aiohttp.ClientSession | None) -> asyncio.AbstractEventLoop | None:
    """The loop a caller's session was made in (``ClientSession.loop`` is deprecated)."""
    loop = getattr(session, "_loop", None)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) else None


async def _close_stale(session: aiohttp.ClientSession) -> None:
    """Close our session of a loop that is closed, so that it and its connector do not warn
    when collected. aiohttp then only marks them closed: the sockets still open when that loop
    was closed cannot be closed through it."""
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


__all__ = ["USER_AGENT", "AiohttpTransport", "Transport"]
