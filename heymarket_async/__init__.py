"""An asyncio-native SDK for the Heymarket contacts API (v1 and v2).

::

    from heymarket_async import HeymarketClient

    async with HeymarketClient(api_key="...") as hm:
        ref = await hm.create_contact("15105553344", first="Jordan")
        contact = await hm.get_contact(ref.id)

The emulator for tests lives in ``heymarket_async.testing`` (not imported here).

The public names are imported when first used (PEP 562), so that ``import heymarket_async``
costs almost nothing until one is: the ``heymarket-async`` command installs its signal handlers
before aiohttp is imported, and a program that only imports the package pays nothing for it.
Type checkers and IDEs see the imports below as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:
    from ._client import HeymarketClient
    from ._hooks import Hooks, RequestEvent
    from ._params import ContactFields
    from ._ratelimit import LocalRateLimiter, RateLimiter
    from ._redis_limiter import RedisRateLimiter
    from ._retry import RetryPolicy
    from ._sansio import TransportRequest, TransportResponse
    from ._transport import Transport
    from ._version import __version__
    from .errors import (
        APIConnectionError,
        APIError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ClientClosedError,
        ConcurrentModificationError,
        ConflictError,
        HeymarketError,
        InvalidRequestError,
        InvalidResponseError,
        NotFoundError,
        PaginationError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        TransportError,
    )
    from .models import (
        UNASSIGN,
        UNSET,
        BulkItem,
        BulkResult,
        BulkStatus,
        Contact,
        ContactChannel,
        ContactField,
        ContactRef,
        ContactStatus,
        ContactStatusValue,
        Tag,
        UnsetType,
    )
    from .pagination import (
        TagPager,
        V1ContactPager,
        V1Position,
        V2ContactPager,
        V2OffsetPager,
        V2OffsetPosition,
        V2Position,
    )
    from .resources import V1ContactFields, V1Contacts, V1ContactStatus, V1Tags, V2Contacts

#: Where each public name lives: imported from there on first use, then kept in the module.
_LAZY: dict[str, str] = {
    "HeymarketClient": "._client",
    "Hooks": "._hooks",
    "RequestEvent": "._hooks",
    "ContactFields": "._params",
    "LocalRateLimiter": "._ratelimit",
    "RateLimiter": "._ratelimit",
    "RedisRateLimiter": "._redis_limiter",
    "RetryPolicy": "._retry",
    "TransportRequest": "._sansio",
    "TransportResponse": "._sansio",
    "Transport": "._transport",
    "APIConnectionError": ".errors",
    "APIError": ".errors",
    "APITimeoutError": ".errors",
    "AuthenticationError": ".errors",
    "BadRequestError": ".errors",
    "ClientClosedError": ".errors",
    "ConcurrentModificationError": ".errors",
    "ConflictError": ".errors",
    "HeymarketError": ".errors",
    "InvalidRequestError": ".errors",
    "InvalidResponseError": ".errors",
    "NotFoundError": ".errors",
    "PaginationError": ".errors",
    "PermissionDeniedError": ".errors",
    "RateLimitError": ".errors",
    "ServerError": ".errors",
    "TransportError": ".errors",
    "UNASSIGN": ".models",
    "UNSET": ".models",
    "BulkItem": ".models",
    "BulkResult": ".models",
    "BulkStatus": ".models",
    "Contact": ".models",
    "ContactChannel": ".models",
    "ContactField": ".models",
    "ContactRef": ".models",
    "ContactStatus": ".models",
    "ContactStatusValue": ".models",
    "Tag": ".models",
    "UnsetType": ".models",
    "TagPager": ".pagination",
    "V1ContactPager": ".pagination",
    "V1Position": ".pagination",
    "V2ContactPager": ".pagination",
    "V2OffsetPager": ".pagination",
    "V2OffsetPosition": ".pagination",
    "V2Position": ".pagination",
    "V1ContactFields": ".resources",
    "V1Contacts": ".resources",
    "V1ContactStatus": ".resources",
    "V1Tags": ".resources",
    "V2Contacts": ".resources",
}

#: The public submodules, importable as attributes too (``heymarket_async.errors``).
_SUBMODULES = frozenset({"errors", "models", "pagination", "resources"})


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module, __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # the next use finds it without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "UNASSIGN",
    "UNSET",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BulkItem",
    "BulkResult",
    "BulkStatus",
    "ClientClosedError",
    "ConcurrentModificationError",
    "ConflictError",
    "Contact",
    "ContactChannel",
    "ContactField",
    "ContactFields",
    "ContactRef",
    "ContactStatus",
    "ContactStatusValue",
    "HeymarketClient",
    "HeymarketError",
    "Hooks",
    "InvalidRequestError",
    "InvalidResponseError",
    "LocalRateLimiter",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiter",
    "RedisRateLimiter",
    "RequestEvent",
    "RetryPolicy",
    "ServerError",
    "Tag",
    "TagPager",
    "Transport",
    "TransportError",
    "TransportRequest",
    "TransportResponse",
    "UnsetType",
    "V1ContactFields",
    "V1ContactPager",
    "V1ContactStatus",
    "V1Contacts",
    "V1Position",
    "V1Tags",
    "V2ContactPager",
    "V2Contacts",
    "V2OffsetPager",
    "V2OffsetPosition",
    "V2Position",
    "__version__",
]
