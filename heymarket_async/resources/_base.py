"""What every resource is: endpoints bound to a client's pipeline (after openai-python's
``_resource.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from heymarket_async import _validate as check
from heymarket_async._bulk import Answer, Keys, run_batches
from heymarket_async._convert import require_ids
from heymarket_async._pipeline import Pipeline
from heymarket_async._sansio import Endpoint, Safety
from heymarket_async.models import BulkResult
from heymarket_async.pagination import Fetch

T = TypeVar("T")


def ignore(_: Any) -> None:
    """The parse of an endpoint whose answer says nothing the caller needs."""
    return


def _with_ids(parse: Callable[[Any], T]) -> Callable[[Any], T]:
    """``parse`` of a page of contacts, then :func:`require_ids` on the page."""

    def parse_checked(data: Any) -> T:
        page = parse(data)
        require_ids(page)
        return page

    return parse_checked


class Resource:
    """A group of endpoints; ``self._call`` sends a request through the client's pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._call = pipeline.call

    def _pace(self) -> float | None:
        """The rate the client paces at, in requests a second (``None``: not paced)."""
        limiter = self._pipeline.limiter
        return None if limiter is None else limiter.per_minute / 60.0

    def _fetch(self, endpoint: Endpoint, *, typed: bool = False) -> Fetch:
        """A pager's request of ``endpoint``: the body goes as JSON, the answer is parsed.

        ``typed``: a typed walk's list, whose every contact must have an id (checked as the
        answer is parsed, so that the error names the request: its id and its body).
        """
        call = self._call

        def fetch(
            body: dict[str, Any],
            parse: Callable[[Any], T],
            /,
            decode: Callable[[bytes], Any] | None = None,
        ) -> Awaitable[T]:
            request = endpoint.request(json=body)
            return call(request, _with_ids(parse) if typed else parse, decode=decode)

        return fetch

    async def _batches(
        self,
        endpoint: Endpoint,
        items: list[Any],
        bodies: list[Any],
        batch_size: int,
        answer: Callable[[Any], Answer],
        keys: Callable[[Any], Keys],
        *,
        wrap: Callable[[list[Any]], Any] | None = None,
        query: Mapping[str, str] | None = None,
        safety_of: Callable[[list[Any]], Safety | None] | None = None,
    ) -> BulkResult[Any]:
        """Send ``bodies`` to ``endpoint`` in batches of ``batch_size`` (each wrapped in
        ``wrap``'s shape) under the client's concurrency cap; see :func:`run_batches`.
        ``safety_of`` gives a batch's own safety when its items decide it (``None``: the
        endpoint's)."""
        size = check.batch_size(batch_size)
        call = self._call

        async def send(batch: list[Any]) -> Answer:
            body = batch if wrap is None else wrap(batch)
            safety = None if safety_of is None else safety_of(batch)
            return await call(endpoint.request(json=body, query=query, safety=safety), answer)

        return await run_batches(
            items, bodies, batch_size=size, workers=self._pipeline.cap.size, send=send, keys=keys
        )
