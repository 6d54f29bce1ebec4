"""The emulator's one route table: each endpoint's method, path template and handler.

The server registers its routes from :data:`TABLE`; fault rules name them as :data:`ROUTES`
(``"GET /v1/contact/{id}"``). No imports of the handlers here, so that :mod:`._faults` can use
the table without aiohttp.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Route(NamedTuple):
    """One endpoint: ``handler`` is the name of its method on the handlers of its API version
    (``V1Routes`` for ``/v1/...`` paths, ``V2Routes`` for ``/v2/...``)."""

    method: str
    path: str
    handler: str

    @property
    def api(self) -> str:
        """``"v1"`` or ``"v2"``: the first segment of the path."""
        return self.path.split("/")[1]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


TABLE: Final = (
    Route("POST", "/v1/contact", "create"),
    Route("GET", "/v1/contact/{id}", "get"),
    Route("PUT", "/v1/contact/{id}", "update"),
    Route("DELETE", "/v1/contact/{id}", "delete"),
    Route("POST", "/v1/contact/get", "get_by"),
    Route("POST", "/v1/contacts", "list_page"),
    Route("POST", "/v1/contacts/count", "count"),
    Route("POST", "/v1/contact-fields", "fields"),
    Route("GET", "/v2/contact/{uuid}", "get"),
    Route("POST", "/v2/contact", "create"),
    Route("POST", "/v2/contacts/list", "list_page"),
    Route("POST", "/v2/contacts/search", "search"),
    Route("POST", "/v2/contact/{uuid}/channel", "add_channel"),
    Route("POST", "/v1/contact/status", "status"),
    Route("POST", "/v1/contact/set_status", "set_status"),
    Route("POST", "/v1/contacts/fields", "create_fields"),
    Route("POST", "/v1/batch/contacts", "batch"),
    Route("POST", "/v1/tag", "tag_create"),
    Route("GET", "/v1/tag/{id}", "tag_get"),
    Route("DELETE", "/v1/tag/{id}", "tag_delete"),
    Route("POST", "/v1/tags", "tags"),
    Route("PUT", "/v2/contact/{uuid}", "update"),
    Route("DELETE", "/v2/contact/{uuid}", "delete"),
    Route("POST", "/v2/contacts", "bulk"),
    Route("DELETE", "/v2/contacts", "bulk_delete"),
    Route("PUT", "/v2/contact/{uuid}/channel", "update_channel"),
)

#: The routes of the emulator, as rules name them.
ROUTES: Final = tuple(str(route) for route in TABLE)
