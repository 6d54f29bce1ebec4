"""An asyncio-native SDK for the Heymarket contacts API (v1 and v2).

::

    from heymarket_async import HeymarketClient

    async with HeymarketClient(api_key="...") as hm:
        ref = await hm.create_contact("15105553344", first="Jordan")
        contact = await hm.get_contact(ref.id)

The emulator for tests lives in ``heymarket_async.testing`` (not imported here).
"""

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
