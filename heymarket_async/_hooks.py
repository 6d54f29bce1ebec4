"""Callbacks for metrics: every attempt, every answer, every retry (``HeymarketClient(hooks=)``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import attrs

from .errors import HeymarketError, InvalidRequestError

__all__ = ["Hooks", "RequestEvent"]


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


def _is_async(hook: object) -> bool:
    """Whether calling ``hook`` only makes a coroutine or an async generator (a partial of an
    ``async def`` included, and an object whose ``__call__`` is one)."""
    for candidate in (hook, getattr(hook, "__call__", None)):  # noqa: B004 - the method itself
        if inspect.iscoroutinefunction(candidate) or inspect.isasyncgenfunction(candidate):
            return True
    return False


def _plain_function(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """A hook is None or a plain function: one that cannot run is refused here, not mid-call."""
    if value is None:
        return
    if not callable(value):
        raise InvalidRequestError(
            attribute.name, f"must be a function taking a RequestEvent, got {type(value).__name__}"
        )
    if _is_async(value):
        # Called without await, it would only make a coroutine that never runs.
        raise InvalidRequestError(
            attribute.name,
            "must be a plain function, not an async one: hooks are called, never awaited; "
            "to do async work, start a task from a plain function "
            "(asyncio.get_running_loop().create_task(...)) or put the event on a queue",
        )


@attrs.frozen(kw_only=True)
class Hooks:
    """Functions called on every attempt, answer and retry, for metrics and tracing.

    ``HeymarketClient(hooks=Hooks(on_retry=lambda e: RETRIES.labels(e.route).inc()))``.
    Each gets a :class:`RequestEvent`. They are plain functions called on the event loop in
    the middle of a call: keep them quick and never blocking. An exception a hook raises
    ends the call. For connection-level detail (DNS, connection reuse), pass aiohttp
    ``trace_configs`` to the client instead, or to your own session.

    Raises :class:`InvalidRequestError` for a hook that is not callable, or is an ``async def``
    function (it would never be awaited).
    """

    on_request: Hook | None = attrs.field(default=None, validator=_plain_function)
    on_response: Hook | None = attrs.field(default=None, validator=_plain_function)
    on_retry: Hook | None = attrs.field(default=None, validator=_plain_function)
