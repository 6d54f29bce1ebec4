"""Callbacks for metrics: every attempt, every answer, every retry (``HeymarketClient(hooks=)``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import attrs

from .errors import HeymarketError

__all__ = ["Hooks", "RequestEvent", "route_of"]

# A numeric v1 id or a v2 UUID as a path segment.
_ID_SEGMENT: Final = re.compile(r"/(?:\d+|[0-9A-Fa-f]{8}-[0-9A-Fa-f-]{27})(?=/|$)")


def route_of(path: str) -> str:
    """The path with ids replaced by ``{id}``: a label with few values, fit for metrics."""
    return _ID_SEGMENT.sub("/{id}", path)


@attrs.frozen(kw_only=True)
class RequestEvent:
    """What a hook is told about one attempt.

    - ``method``, ``path`` (with ids: ``/v1/contact/42``), ``route`` (ids replaced:
      ``/v1/contact/{id}``, for metric labels) and ``attempt`` (1 for the first).
    - ``on_request``: ``queued`` is the seconds the attempt waited for a concurrency slot and
      the rate limiter before it was sent.
    - ``on_response``: ``status`` (``None`` when no answer came: then ``error`` says why),
      ``elapsed`` seconds and ``request_id`` (``X-Request-Id``).
    - ``on_retry``: ``error`` is the failure being retried and ``wait`` the seconds before the
      next attempt.
    """

    method: str
    path: str
    route: str
    attempt: int
    queued: float = 0.0
    status: int | None = None
    elapsed: float = 0.0
    request_id: str | None = None
    error: HeymarketError | None = None
    wait: float = 0.0


Hook = Callable[[RequestEvent], None]


@attrs.frozen(kw_only=True)
class Hooks:
    """Functions called on every attempt, answer and retry, for metrics and tracing.

    ``HeymarketClient(hooks=Hooks(on_retry=lambda e: RETRIES.labels(e.route).inc()))``.
    Each gets a :class:`RequestEvent`. They are plain functions called on the event loop in
    the middle of a call: keep them quick and never blocking. An exception a hook raises
    ends the call. For connection-level detail (DNS, connection reuse), pass aiohttp
    ``trace_configs`` to the client instead, or to your own session.
    """

    on_request: Hook | None = None
    on_response: Hook | None = None
    on_retry: Hook | None = None
