"""The only code that touches aiohttp: one pooled session, one ``send``, errors translated."""

from __future__ import annotations

import asyncio
import contextlib
import platform
from collections.abc import Mapping, Sequence
from typing import Final

import aiohttp
from yarl import URL

from ._sansio import RawResponse
from ._version import __version__
from .errors import APIConnectionError, APITimeoutError, ClientClosedError, TransportError

USER_AGENT: Final = (
    f"heymarket-async/{__version__} aiohttp/{aiohttp.__version__} "
    f"python/{platform.python_version()}"
)


#: What a closed client says when it is used.
CLOSED: Final = "the client is closed; create a new HeymarketClient"

#: Why a client cannot be used in the running loop: it is in use in another one.
OTHER_LOOP: Final = (
    "the client is in use in another event loop that is still open; aiohttp sessions and "
    "asyncio primitives belong to one loop: use one HeymarketClient per event loop"
)


class Transport:
    """Sends one request and reads its whole answer.

    The session is created lazily, inside the running loop, on first use, unless the caller
    gave one: then it is used as it is and never closed here. When the loop the transport's own
    session was made in is closed (an ``asyncio.run`` is over: each pytest test, each run of a
    CLI command) and a request comes from a new loop, the dead loop's session is closed and a
    new one made; while that loop is still open, the request is refused with
    :class:`ClientClosedError`. A caller's session is never replaced.
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
        #: The loop ``_session`` belongs to (None: not known yet).
        self._loop: asyncio.AbstractEventLoop | None = _loop_of(session)
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
        loop = asyncio.get_running_loop()
        session = self._session
        if not self._owns_session:
            assert session is not None
            if session.closed:
                raise ClientClosedError("the aiohttp session given to the client is closed")
            if self._loop is not None and self._loop is not loop:
                where = "is closed" if self._loop.is_closed() else "is not the running one"
                raise ClientClosedError(
                    "the aiohttp session given to the client belongs to an event loop that "
                    f"{where}; give it a session made in the loop it is used in"
                )
            return session
        stale = None
        if session is not None:
            if self._loop is loop and not session.closed:
                return session
            if self._loop is not None and self._loop is not loop:
                if not self._loop.is_closed():
                    raise ClientClosedError(OTHER_LOOP)
                stale = session
        # Created here rather than in __init__ so that a client can be built outside a running
        # loop (at import time, in a settings object) and bind to the loop it is first used in.
        session = self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._pool_size),
            trace_configs=self._trace_configs or None,
        )
        _no_silent_resend(session)
        self._loop = loop
        if stale is not None:
            await _close_stale(stale)
            if self._closed or session.closed:  # close() came while the old one closed
                raise ClientClosedError(CLOSED)
        return session

    async def send(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float | None,
    ) -> RawResponse:
        """One attempt. Raises :class:`TransportError` (``maybe_applied`` set) on any failure."""
        session = self._session
        if session is None or self._loop is not asyncio.get_running_loop() or session.closed:
            session = await self._get_session()
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                data=body,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
                # A caller's session may say raise_for_status=True: statuses are ours to map.
                raise_for_status=False,
            ) as resp:
                # Read the whole body here, so that the connection goes back to the pool before
                # the caller does anything else (and an abandoned iterator holds none).
                payload = await resp.read()
                return RawResponse(resp.status, resp.headers, payload)
        except asyncio.CancelledError:
            raise
        except aiohttp.ConnectionTimeoutError as exc:
            cause: BaseException = exc
            error: TransportError = APITimeoutError(
                "timed out connecting", method=method, url=str(url), maybe_applied=False
            )
        except aiohttp.ClientConnectorError as exc:
            cause = exc
            error = APIConnectionError(
                f"cannot connect: {exc.os_error.strerror or exc.os_error}",
                method=method,
                url=str(url),
                maybe_applied=False,
            )
        except (aiohttp.ServerTimeoutError, asyncio.TimeoutError) as exc:
            cause = exc
            error = APITimeoutError(
                f"timed out after {timeout:g} s" if timeout else "timed out",
                method=method,
                url=str(url),
            )
        except (aiohttp.ClientError, OSError) as exc:
            cause = exc
            # One line: aiohttp's parser errors quote the offending bytes over several lines.
            reason = " ".join(f"{type(exc).__name__}: {exc}".split()).rstrip(": ")
            error = APIConnectionError(f"connection failed: {reason}", method=method, url=str(url))
        if _holds_request(cause):
            # Its request_info holds the request's headers, Authorization with the API key or
            # JWT among them: not chained, neither as __cause__ nor as __context__ (raised out
            # here, past the except block); the message keeps what went wrong.
            raise error
        raise error from cause

    async def close(self) -> None:
        """Close the session if it is ours; idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()


def _no_silent_resend(session: aiohttp.ClientSession) -> None:
    """Stop aiohttp from sending a GET, PUT or DELETE again by itself when a pooled connection
    drops: that second attempt would pass by the SDK's retry rules (a bulk delete, never to be
    sent twice once it may have been applied; ``RetryPolicy.disabled()``) and its rate limiter.
    The SDK's own retries handle a dropped connection instead.

    aiohttp has no public switch for it: ``_retry_connection`` is what its own test client sets.
    A test fails should a new aiohttp version rename it.
    """
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


__all__ = ["OTHER_LOOP", "USER_AGENT", "Transport", "TransportError"]
