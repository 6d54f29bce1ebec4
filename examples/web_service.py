"""A web service (aiohttp.web) holding one Heymarket client for its whole life.

    pip install heymarket-async
    export HEYMARKET_API_KEY=...              # and HEYMARKET_BASE_URL to reach an emulator
    python examples/web_service.py            # serves http://127.0.0.1:8080 (HOST, PORT)

    curl http://127.0.0.1:8080/contacts/+15105553344
    curl -d '{"phone": "+1 510 555 3344", "local_id": "crm-1042"}' http://127.0.0.1:8080/contacts

A cleanup context opens the client when the application starts and closes it when it stops;
every request shares it (its connections, its cap on requests in flight, its rate limiter).
One middleware turns the SDK's errors into HTTP answers.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from heymarket_async import (
    APITimeoutError,
    Contact,
    ContactFields,
    HeymarketClient,
    HeymarketError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
)

log = logging.getLogger("web_service")

HEYMARKET = web.AppKey("heymarket", HeymarketClient)


async def heymarket_client(app: web.Application) -> AsyncIterator[None]:
    """One client for the application's life: made at startup, closed at shutdown."""
    # Credentials from the environment: HEYMARKET_API_KEY (or HEYMARKET_SECRET_ID and
    # HEYMARKET_SECRET_KEY), and HEYMARKET_BASE_URL if set. Against api.heymarket.com the
    # client paces itself at Heymarket's 500 requests a minute. A request path wants a short
    # deadline: 5 s per call, its retries and their waits included.
    async with HeymarketClient(timeout=5) as hm:
        app[HEYMARKET] = hm
        yield


@web.middleware
async def heymarket_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The SDK's errors as HTTP answers: the caller's mistake, not found, or try again later."""
    try:
        return await handler(request)
    except InvalidRequestError as exc:  # bad input (a phone that is not one): nothing was sent
        return web.json_response({"error": exc.message, "field": exc.field}, status=400)
    except NotFoundError:
        return web.json_response({"error": "no such contact"}, status=404)
    except RateLimitError as exc:  # still 429 after the retries, or told to wait over 60 s
        # The budget is per minute: without a Retry-After from Heymarket, a minute is safe.
        wait = 60 if exc.retry_after is None else math.ceil(exc.retry_after)
        return web.json_response(
            {"error": "too many requests to Heymarket"},
            status=503,
            headers={"Retry-After": str(wait)},
        )
    except APITimeoutError:  # the 5 s deadline passed
        return web.json_response({"error": "Heymarket did not answer in time"}, status=504)
    except HeymarketError as exc:  # 5xx or no answer after the retries, a rejected key...
        # One line with the status and request id; never a key, and phone numbers masked.
        log.warning("Heymarket call failed: %s", exc)
        return web.json_response({"error": "Heymarket failed"}, status=502)


def contact_json(contact: Contact) -> dict[str, Any]:
    """What this service answers about a contact."""
    return {
        "id": contact.id,
        "phone": contact.phone,
        "first": contact.first,
        "last": contact.last,
        "local_id": contact.local_id,
        "updated": None if contact.updated is None else contact.updated.isoformat(),
    }


async def get_contact(request: web.Request) -> web.Response:
    """``GET /contacts/{phone}``: the contact with this phone number, in any common format."""
    hm = request.app[HEYMARKET]
    contact = await hm.get_contact_by_phone(request.match_info["phone"])
    return web.json_response(contact_json(contact))


async def create_contact(request: web.Request) -> web.Response:
    """``POST /contacts`` with ``{"phone", "local_id", "first"?}``: create the contact.

    ``local_id`` is the caller's own id of the contact (a CRM id): the create is idempotent,
    so a caller that sends it again (after a timeout, say) updates the same contact, and the
    client may retry it after a failure that could have been applied.
    """
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="the body must be JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    phone, local_id, first = body.get("phone"), body.get("local_id"), body.get("first")
    if not isinstance(phone, str) or not isinstance(local_id, str):
        raise web.HTTPBadRequest(text="phone and local_id must be strings")
    fields: ContactFields = {}
    if isinstance(first, str):
        fields["first"] = first
    hm = request.app[HEYMARKET]
    ref = await hm.create_contact(phone, local_id=local_id, **fields)
    return web.json_response({"id": ref.id, "uuid": ref.uuid}, status=201)


def make_app() -> web.Application:
    """The application: its client, its error middleware and its two routes."""
    app = web.Application(middlewares=[heymarket_errors])
    app.cleanup_ctx.append(heymarket_client)
    app.router.add_get("/contacts/{phone}", get_contact)
    app.router.add_post("/contacts", create_contact)
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    host = os.environ.get("HOST", "127.0.0.1")
    web.run_app(make_app(), host=host, port=int(os.environ.get("PORT", "8080")))


if __name__ == "__main__":
    main()
