"""The emulator's aiohttp glue shared by its handlers: reading bodies, path ids, answers.

The answers are the API's shapes: JSON bodies, ``{"error": "<slug>", "message": ...}`` for
errors, ``{"id", "rev", "uuid"}`` for a write's reference.
"""

from __future__ import annotations

import json
from typing import Any, Final

from aiohttp import web

from . import _rules as rules
from ._json import NotJSON, decode_json
from ._store import Record

JSON_TYPE: Final = "application/json"


def error_response(status: int, error: str, message: str) -> web.Response:
    """``{"error": error, "message": message}`` with ``status``."""
    # json.dumps' default separators: error bodies have always been spaced, unlike the others.
    body = json.dumps({"error": error, "message": message}).encode()
    return web.Response(status=status, body=body, content_type=JSON_TYPE)


def json_response(data: Any) -> web.Response:
    """``data`` as compact JSON."""
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(), content_type=JSON_TYPE
    )


def raw_response(body: bytes) -> web.Response:
    """Bytes that are JSON already (a rendered contact or list)."""
    return web.Response(body=body, content_type=JSON_TYPE)


def ref_response(record: Record) -> web.Response:
    """A write's answer: ``{"id", "rev", "uuid"}``."""
    return json_response({"id": record.id, "rev": record.rev, "uuid": record.uuid})


def not_found(message: str) -> web.HTTPNotFound:
    """The 404 to raise from a handler: answered as ``{"error": "not_found", ...}``."""
    return web.HTTPNotFound(reason="Not Found", text=message)


def path_id(raw: str) -> int | None:
    """The id in a path such as ``/v1/contact/42``; ``None`` if it cannot be one."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    try:
        return int(raw)
    except ValueError:  # more digits than int() takes: no contact's id
        return None


def overwrite(request: web.Request) -> bool:
    """The ``?overwrite=true|false`` flag (default false); any other value is bad data."""
    value = request.query.get("overwrite", "false").lower()
    if value not in ("true", "false"):
        raise rules.BadData("overwrite must be true or false")
    return value == "true"


async def read_any(request: web.Request) -> Any:
    """The JSON body, ``None`` if it is empty or blank; bad data if it is not JSON."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return decode_json(raw)
    except NotJSON:
        raise rules.BadData("malformed JSON body") from None


async def read_object(request: web.Request) -> dict[str, Any]:
    """The JSON object body, ``{}`` if there is none; bad data for any other JSON."""
    data = await read_any(request)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise rules.BadData("the body must be a JSON object")
    return data
