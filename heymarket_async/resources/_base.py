"""What every resource is: endpoints bound to a client's pipeline (after openai-python's
``_resource.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from heymarket_async._pipeline import Pipeline
from heymarket_async._sansio import Endpoint

T = TypeVar("T")


def ignore(_: Any) -> None:
    """The parse of an endpoint whose answer says nothing the caller needs."""
    return


class Resource:
    """A group of endpoints; ``self._call`` sends a request through the client's pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._call = pipeline.call

    def _fetch(self, endpoint: Endpoint) -> Callable[[dict[str, Any], Callable[[Any], T]], Any]:
        """A pager's request of ``endpoint``: the body goes as JSON, the answer is parsed."""
        call = self._call

        def fetch(body: dict[str, Any], parse: Callable[[Any], T]) -> Any:
            return call(endpoint.request(json=body), parse)

        return fetch
