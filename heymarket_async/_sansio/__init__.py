"""The wire format without I/O: request descriptions, JSON, timestamps and response checks.

Everything here is a pure function or a value, tested without an event loop.
"""

from .codec import JSONDecodeError, json_dumps, json_loads, std_json_dumps, std_json_loads
from .request import (
    DEFAULT_BASE_URL,
    Endpoint,
    Request,
    Safety,
    TransportRequest,
    is_heymarket,
)
from .response import (
    REQUEST_ID_HEADER,
    TEXT_LIMIT,
    TransportResponse,
    api_error,
    body_text,
    decode_response,
    error_class,
    error_message,
    parse_retry_after,
)
from .timestamps import (
    FIRST_INSTANT,
    LAST_INSTANT,
    format_timestamp,
    is_rfc3339,
    parse_timestamp,
    representable,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "FIRST_INSTANT",
    "LAST_INSTANT",
    "REQUEST_ID_HEADER",
    "TEXT_LIMIT",
    "Endpoint",
    "JSONDecodeError",
    "TransportRequest",
    "TransportResponse",
    "Request",
    "Safety",
    "api_error",
    "body_text",
    "decode_response",
    "error_class",
    "error_message",
    "format_timestamp",
    "is_heymarket",
    "is_rfc3339",
    "json_dumps",
    "json_loads",
    "parse_retry_after",
    "parse_timestamp",
    "representable",
    "std_json_dumps",
    "std_json_loads",
]
