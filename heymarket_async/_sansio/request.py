"""A request as data: what the pipeline sends, and how safely it may be sent again."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeVar

import attrs

from heymarket_async.models import UNSET, UnsetType

#: Heymarket's API; ``HEYMARKET_BASE_URL`` or ``base_url=`` point a client elsewhere.
DEFAULT_BASE_URL: Final = "https://api.heymarket.com"


class Safety(enum.Enum):
    """What a request may do to the server, which decides when it may be sent again."""

    #: Reads, including Heymarket's POST reads: always safe to repeat.
    READ = "read"
    #: Writes that leave the same state when repeated (PUT, DELETE).
    IDEMPOTENT = "idempotent"
    #: Writes that create something: a repeat would create it twice.
    CREATE = "create"


@attrs.frozen
class Request:
    """One API call as data: what the pipeline sends, and how safely it may be retried."""

    method: str
    path: str
    safety: Safety
    json: Any = UNSET
    query: Mapping[str, str] | None = None

    @property
    def has_body(self) -> bool:
        return not isinstance(self.json, UnsetType)


_T = TypeVar("_T")
#: The client's ``_call``, as the pagers take it: send a request, parse the decoded body.
Call = Callable[[Request, Callable[[Any], _T]], Awaitable[_T]]
