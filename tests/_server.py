"""A recording loopback server: real sockets on 127.0.0.1, every request kept byte for byte."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
from aiohttp import web
from aiohttp.typedefs import Handler

API_KEY = "test-key-0123456789abcdef"


@attrs.frozen
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@attrs.frozen
class Reply:
    """One queued answer."""

    status: int = 200
    body: bytes = b"{}"
    headers: Mapping[str, str] = attrs.field(factory=dict)
    #: Seconds to wait before answering (only ever a few milliseconds, or a gate).
    delay: float = 0.0
    #: Close the connection without answering.
    drop: bool = False


def json_reply(data: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers})


def text_reply(text: str, status: int = 200, content_type: str = "application/json") -> Reply:
    """A body given byte for byte, such as a documented example copied verbatim."""
    return Reply(status, text.encode(), {"Content-Type": content_type})


async def serve_all(
    handler: Handler, sock: socket.socket | None = None
) -> tuple[web.AppRunner, str]:
    """``handler`` answering every method and path on a random port of 127.0.0.1 (or on
    ``sock``, bound before a loop ran): the runner to clean up, and the base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site: web.BaseSite = (
        web.TCPSite(runner, "127.0.0.1", 0) if sock is None else web.SockSite(runner, sock)
    )
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


_S = TypeVar("_S", bound="CatchAllServer")


class CatchAllServer:
    """A loopback server of a test's own: ``_handle`` answers every method and path, ``async
    with`` starts and stops it, ``url`` is its base URL once started."""

    url = ""
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    async def __aenter__(self: _S) -> _S:
        self._runner, self.url = await serve_all(self._handle)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


class WireServer:
    """An aiohttp.web server on 127.0.0.1 that records requests and plays queued replies."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: list[Reply] = []
        self.default = Reply()
        self.in_flight = 0
        self.max_in_flight = 0
        #: When set, every handler waits for it before answering.
        self.gate: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    @property
    def last(self) -> Recorded:
        assert self.requests, "no request reached the server"
        return self.requests[-1]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Recorded(
                request.method,
                request.rel_url.raw_path,
                request.rel_url.raw_query_string,
                dict(request.headers),
                body,
            )
        )
        reply = self.replies.pop(0) if self.replies else self.default
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if reply.delay:
                await asyncio.sleep(reply.delay)
        finally:
            self.in_flight -= 1
        if reply.drop:
            # Abort (no flush): the client sees the connection die with no answer at all.
            assert request.transport is not None
            request.transport.abort()
            return web.Response()
        headers = {"X-Request-Id": f"req-{len(self.requests)}", **reply.headers}
        return web.Response(status=reply.status, body=reply.body, headers=headers)

    async def start(self, sock: socket.socket | None = None) -> None:
        """Listen on a random port of 127.0.0.1, or on ``sock`` (bound before a loop ran)."""
        self._runner, self.url = await serve_all(self._handle, sock)

    async def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()
