"""OpenTelemetry spans: one CLIENT span per call, one span per walk (``tracer_provider=``).

The pipeline and the pagers import this module, so it imports nothing of opentelemetry at
module level: ``import heymarket_async`` must not import it, and a client without
``tracer_provider`` never does. :class:`Tracing` imports the API when a client is built with
one.

What goes into a span is chosen, never copied: the method, the route with its ids taken out,
the server's host and port, status codes, counts, waits, the error's kind and the request id
(masked like a log line). No path, body, server message or exception text: they may hold
phone numbers, emails or ids. Attribute names follow the stable HTTP client semantic
conventions; the rest are under ``heymarket.``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, TypeVar

from yarl import URL

from ._redact import mask
from .errors import APIError, InvalidRequestError, InvalidResponseError

if TYPE_CHECKING:
    from opentelemetry.trace import Span, TracerProvider

    from ._pipeline import Pipeline
    from ._sansio import Endpoint, Request, TransportResponse

__all__ = ["WALK", "Tracing", "Walk", "answered", "error_type"]

T = TypeVar("T")

#: What ``pip install`` brings the API in with.
_EXTRA: Final = "pip install 'heymarket-async[otel]'"
#: The longest request id put in a span (a header a server could make as long as it likes).
_MAX_REQUEST_ID: Final = 128
#: A request id as servers make them (a UUID, hex, a token): letters, digits, "_" and "-".
#: With a letter in it, no phone number (which :func:`mask` finds only between characters
#: that are none of these), email or JWT can be in it, so mask()'s scans (5 us) are skipped.
_PLAIN_ID: Final = re.compile(r"[\w-]+", re.ASCII)

Attributes = dict[str, "str | int | float"]


class Walk:
    """A walk's span: started by the walk's first request (by the client, which has the
    tracer), ended when the walk ends. Every pager has one, traced or not; untraced it stays
    empty."""

    __slots__ = ("ended", "pager", "requests", "route", "span")

    def __init__(self, pager: str, route: str) -> None:
        self.pager = pager
        self.route = route  # the list it walks ("": the route of its first request)
        self.span: Span | None = None
        self.requests = 0
        self.ended = False

    def fail(self, exc: BaseException) -> None:
        """The walk ends with ``exc`` (raised to its reader)."""
        span = self.span
        if span is not None and not self.ended:
            _set_error(span, exc)

    def end(self) -> None:
        """The walk is over (done, closed or failed); no page after this starts it again."""
        if self.ended:
            return
        self.ended = True
        span = self.span
        if span is not None:
            span.set_attribute("heymarket.walk.requests", self.requests)
            span.end()


#: The walk whose page is being fetched: set by the pager around each fetch, and inherited by
#: the tasks a walk starts (slices, prefetched pages), so that their requests are linked to it.
WALK: ContextVar[Walk | None] = ContextVar("heymarket_async_walk", default=None)


class _Call:
    """What one traced call learned on its way, for its span's last attributes."""

    __slots__ = ("attempts", "rate_wait", "response", "retries", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.response: TransportResponse | None = None
        self.attempts = 0
        self.retries = 0
        self.rate_wait = 0.0


_CALL: ContextVar[_Call | None] = ContextVar("heymarket_async_call", default=None)


class Tracing:
    """A client's tracer and what its spans say about the server (``server.address``...)."""

    def __init__(self, provider: TracerProvider, base_url: str) -> None:
        try:
            from opentelemetry import context, trace
        except ImportError as exc:
            raise ImportError(
                f"tracer_provider= needs OpenTelemetry's API (opentelemetry-api): {_EXTRA}"
            ) from exc
        if not callable(getattr(provider, "get_tracer", None)):
            raise InvalidRequestError(
                "tracer_provider",
                "must be an opentelemetry TracerProvider, such as "
                "opentelemetry.trace.get_tracer_provider()",
            )
        from ._version import __version__

        self._tracer = provider.get_tracer("heymarket_async", __version__)
        self._client_kind = trace.SpanKind.CLIENT
        self._link = trace.Link
        self._in_context = trace.set_span_in_context
        self._attach = context.attach
        self._detach = context.detach
        url = URL(base_url)
        self._base = base_url
        self._server: Attributes = {"server.address": url.host or "", "server.port": url.port or 0}
        # By method and route: cheaper to hash than the Endpoint.
        self._described: dict[tuple[str, str], tuple[str, Attributes]] = {}

    def _describe(self, endpoint: Endpoint) -> tuple[str, Attributes]:
        """The span name and first attributes of a call of ``endpoint`` (computed once)."""
        key = (endpoint.method, endpoint.route)
        found = self._described.get(key)
        if found is None:
            template = url_template(endpoint.route)
            # The URL as sent, but for the id: a customer's, not for a trace backend.
            path = template.replace("{id}", "REDACTED").replace("{uuid}", "REDACTED")
            attributes: Attributes = {
                "http.request.method": endpoint.method,
                **self._server,
                "url.full": self._base + path,
                "url.template": template,
            }
            found = self._described[key] = (f"{endpoint.method} {template}", attributes)
        return found

    async def call(
        self,
        pipeline: Pipeline,
        request: Request,
        parse: Callable[[Any], T],
        deadline: float | None,
        decode: Callable[[bytes], Any] | None = None,
    ) -> T:
        """:meth:`Pipeline.call` inside a CLIENT span (current while the call runs, so that
        the SDK's log lines and any span made under it belong to it)."""
        name, attributes = self._describe(request.endpoint)
        if request.query:
            # The keys say what was asked; the values may be customer data.
            query = "&".join(f"{key}=REDACTED" for key in request.query)
            attributes = {**attributes, "url.full": f"{attributes['url.full']}?{query}"}
        links = None
        walk = WALK.get()
        if walk is not None and not walk.ended:
            walk_span = walk.span
            if walk_span is None:
                walk_span = walk.span = self._start_walk(walk, name)
            walk.requests += 1
            attributes = {**attributes, "heymarket.walk.request": walk.requests}
            links = [self._link(walk_span.get_span_context())]
        span = self._tracer.start_span(
            name,
            kind=self._client_kind,
            attributes=attributes,
            links=links,
            record_exception=False,
            set_status_on_exception=False,
        )
        if not span.is_recording():
            # No SDK, or not sampled: nothing to record, nothing more to pay.
            return await pipeline.call(request, parse, deadline, span_started=True, decode=decode)
        state = _Call(span)
        token = _CALL.set(state)
        current = self._attach(self._in_context(span))
        try:
            result = await pipeline.call(request, parse, deadline, span_started=True, decode=decode)
        except BaseException as exc:
            _failed(state, exc, pipeline)
            raise
        else:
            _succeeded(state, pipeline)
            return result
        finally:
            self._detach(current)
            _CALL.reset(token)
            span.end()

    def _start_walk(self, walk: Walk, first: str) -> Span:
        """The walk's span, a sibling of the span its first page is read under."""
        route = walk.route or first.partition(" ")[2]
        return self._tracer.start_span(
            f"walk {route}",
            attributes={"heymarket.walk.pager": walk.pager, "heymarket.walk.route": route},
            record_exception=False,
            set_status_on_exception=False,
        )

    def retrying(self, exc: BaseException, attempt: int, wait: float) -> None:
        """An event on the call's span: attempt ``attempt`` failed with ``exc``, the next
        one starts in ``wait`` seconds."""
        state = _CALL.get()
        if state is None:
            return
        state.retries += 1
        event: Attributes = {
            "heymarket.retry.attempt": attempt,
            "heymarket.retry.wait_s": wait,
            "heymarket.retry.reason": _reason(exc),
            "error.type": error_type(exc),
        }
        if isinstance(exc, APIError):
            event["http.response.status_code"] = exc.status
        state.span.add_event("retry", event)

    def rate_limit_waited(self, seconds: float) -> None:
        """An attempt of the call waited ``seconds`` for the rate limiter's turn."""
        state = _CALL.get()
        if state is not None:
            state.rate_wait += seconds


def answered(response: TransportResponse, attempts: int) -> None:
    """The call got ``response`` after ``attempts`` attempts (its answer, parsed next)."""
    state = _CALL.get()
    if state is not None:
        state.response = response
        state.attempts = attempts


def url_template(route: str) -> str:
    """The route as the API's documentation writes it: v2 ids are UUIDs."""
    return route.replace("{id}", "{uuid}") if route.startswith("/v2/") else route


def error_type(exc: BaseException) -> str:
    """``error.type``: the status code of an error answer, else the exception's full name."""
    if isinstance(exc, APIError):
        return str(exc.status)
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, APIError):
        try:
            return f"{exc.status} {HTTPStatus(exc.status).phrase}"
        except ValueError:
            return str(exc.status)
    return type(exc).__name__


def _set_error(span: Span, exc: BaseException) -> None:
    from opentelemetry.trace import Status, StatusCode

    kind = error_type(exc)
    span.set_attribute("error.type", kind)
    # The kind only: an exception's text may hold a path with an id, or the server's message.
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    if not isinstance(exc, asyncio.CancelledError):
        span.add_event("exception", {"exception.type": _full_name(exc)})


def _full_name(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def _counts(attributes: Attributes, state: _Call, attempts: int | None, pipeline: Pipeline) -> None:
    if attempts is not None:
        attributes["heymarket.attempts"] = attempts
    resends = state.retries if attempts is None else attempts - 1
    if resends > 0:
        attributes["http.request.resend_count"] = resends
    if pipeline.limiter is not None:
        attributes["heymarket.rate_limit.wait_s"] = state.rate_wait


def _request_id(value: str | None, secrets: Iterable[str]) -> str | None:
    """``X-Request-Id`` as a span shows it: cut short, masked as a log line is masked."""
    if not value:
        return None
    value = value[:_MAX_REQUEST_ID]
    if (
        _PLAIN_ID.fullmatch(value) is None
        or value.replace("-", "").isdigit()
        or any(secret in value for secret in secrets)
    ):
        return mask(value, secrets, keep_pii=False)
    return value


def _succeeded(state: _Call, pipeline: Pipeline) -> None:
    attributes: Attributes = {}
    response = state.response
    if response is not None:
        attributes["http.response.status_code"] = response.status
        request_id = _request_id(response.request_id, pipeline.secrets)
        if request_id is not None:
            attributes["heymarket.request_id"] = request_id
    _counts(attributes, state, state.attempts, pipeline)
    state.span.set_attributes(attributes)


def _failed(state: _Call, exc: BaseException, pipeline: Pipeline) -> None:
    attributes: Attributes = {}
    if isinstance(exc, (APIError, InvalidResponseError)):
        attributes["http.response.status_code"] = exc.status
        request_id = _request_id(exc.request_id, pipeline.secrets)
        if request_id is not None:
            attributes["heymarket.request_id"] = request_id
    # Unknown when the call was cancelled or closed, or a hook raised: then left out.
    attempts = getattr(exc, "attempts", None)
    _counts(attributes, state, attempts if isinstance(attempts, int) else None, pipeline)
    state.span.set_attributes(attributes)
    _set_error(state.span, exc)
