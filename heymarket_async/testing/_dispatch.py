"""The steps of the emulator's request pipeline that keep no state of their own: running an
endpoint, answering or applying a fault, tagging every answer with an ``X-Request-Id``.

``FakeHeymarket``'s middleware calls them in order (see ``FakeHeymarket._handle``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import _rules as rules
from ._faults import Fault, FaultKind, reason_phrase
from ._http import JSON_TYPE, error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Drop(Exception):
    """Raised inside the middleware to close the connection without an answer."""


async def run_endpoint(handler: Handler, request: web.Request) -> tuple[web.StreamResponse, float]:
    """The endpoint's answer, and the process CPU seconds it took.

    Bad data is answered 400 ``{"error": "bad_data", ...}``, an HTTP error raised by the
    endpoint as its status with ``{"error": "<reason_slug>", "message": ...}``.
    """
    started = time.process_time()
    try:
        response = await handler(request)
    except rules.BadData as exc:
        response = error_response(400, "bad_data", str(exc))
    except web.HTTPException as exc:
        slug = exc.reason.lower().replace(" ", "_")
        response = error_response(exc.status, slug, exc.text or exc.reason)
    return response, time.process_time() - started


async def fault_before(fault: Fault, closing: asyncio.Event) -> web.Response:
    """A fault that stops the request before its endpoint: the status answered, or
    :class:`Drop` (for a hang, once ``closing`` is set)."""
    if fault.kind is FaultKind.STATUS:
        return fault_response(fault)
    if fault.kind is FaultKind.HANG:
        await closing.wait()
    raise Drop


async def fault_after(
    request: web.Request, response: web.StreamResponse, fault: Fault
) -> web.StreamResponse:
    """What a fault that runs the endpoint first answers instead of its ``response``; raises
    :class:`Drop` for those that answer nothing (after half the body, for a truncation)."""
    if fault.kind is FaultKind.FAIL_AFTER_WRITE:
        return fault_response(fault)
    if fault.kind is FaultKind.NOT_JSON:
        body, content_type = fault.error_body(reason_phrase(fault.code))
        return web.Response(status=fault.code, body=body, content_type=content_type)
    if fault.kind is FaultKind.TRUNCATE and isinstance(response, web.Response):
        await _send_truncated(request, response)
    raise Drop


def fault_response(fault: Fault) -> web.Response:
    """A status fault's answer, with its ``Retry-After`` if it has one."""
    reason = reason_phrase(fault.code)
    body, content_type = fault.error_body(reason)
    response = web.Response(status=fault.code, body=body, content_type=content_type)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = fault.retry_after
    return response


def drop_connection(request: web.Request) -> None:
    """Close the request's connection, unanswered."""
    transport = request.transport
    if transport is not None:
        transport.close()


async def _send_truncated(request: web.Request, response: web.Response) -> None:
    # Content-Length promises the whole body (at least 2 bytes, so that even "{}" is cut);
    # half of it is sent, then the middleware drops the connection.
    body = response.body
    data = body if isinstance(body, bytes) else b""
    stream = web.StreamResponse(status=response.status)
    stream.content_type = JSON_TYPE
    stream.content_length = max(len(data), 2)
    await stream.prepare(request)
    await stream.write(data[: len(data) // 2])


async def add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """``X-Request-Id`` on every answer (an ``on_response_prepare`` signal)."""
    response.headers["X-Request-Id"] = uuid.uuid4().hex
