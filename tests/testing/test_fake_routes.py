"""The one route table: what fault rules name (``ROUTES``) is what the server serves."""

from __future__ import annotations

from heymarket_async.testing import ROUTES, FakeHeymarket
from heymarket_async.testing._routes import TABLE, Route

#: ``testing.ROUTES`` as it was written out by hand before the table: its value is public.
DOCUMENTED = (
    "POST /v1/contact",
    "GET /v1/contact/{id}",
    "PUT /v1/contact/{id}",
    "DELETE /v1/contact/{id}",
    "POST /v1/contact/get",
    "POST /v1/contacts",
    "POST /v1/contacts/count",
    "POST /v1/contact-fields",
    "GET /v2/contact/{uuid}",
    "POST /v2/contact",
    "POST /v2/contacts/list",
    "POST /v2/contacts/search",
    "POST /v2/contact/{uuid}/channel",
    "POST /v1/contact/status",
    "POST /v1/contact/set_status",
    "POST /v1/contacts/fields",
    "POST /v1/batch/contacts",
    "POST /v1/tag",
    "GET /v1/tag/{id}",
    "DELETE /v1/tag/{id}",
    "POST /v1/tags",
    "PUT /v2/contact/{uuid}",
    "DELETE /v2/contact/{uuid}",
    "POST /v2/contacts",
    "DELETE /v2/contacts",
    "PUT /v2/contact/{uuid}/channel",
)


def test_routes_is_the_documented_tuple() -> None:
    assert ROUTES == DOCUMENTED
    assert type(ROUTES) is tuple


def test_the_app_serves_exactly_the_table() -> None:
    app = FakeHeymarket().make_app()
    served = {
        f"{route.method} {route.resource.canonical}"
        for route in app.router.routes()
        if route.resource is not None and not route.resource.canonical.startswith("/_emulator/")
    }
    heads = {r.replace("GET ", "HEAD ", 1) for r in ROUTES if r.startswith("GET ")}
    assert served == set(ROUTES) | heads


def test_each_handler_is_named_once_per_api() -> None:
    assert len(set(TABLE)) == len(TABLE)
    for api in ("v1", "v2"):
        names = [route.handler for route in TABLE if route.api == api]
        assert len(names) == len(set(names)), api
    assert Route("POST", "/v2/contacts", "bulk").api == "v2"
    assert str(Route("GET", "/v1/tag/{id}", "tag_get")) == "GET /v1/tag/{id}"
