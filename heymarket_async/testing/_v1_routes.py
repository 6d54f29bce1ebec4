"""The emulator's v1 endpoints: contacts, their status, custom fields, batches and tags.

Where Heymarket's docs are silent (besides the choices :class:`.FakeHeymarket` lists):
``/v1/contact/status`` and ``set_status`` take ``{"id"}`` (an int or a digit string) or
``{"phone"}``; ``unsubscribed`` is the contact's ``is_opted_out`` (``subscribed``/
``unsubscribed``/``active`` write it, moving ``rev`` when it changes) and ``blocked`` is kept
beside the contact in ``fake.blocked`` (no ``rev`` change); ``active`` also unblocks.
``POST /v1/contacts/fields`` numbers new fields after the highest id and answers
``{"fields": [{"id", "name"}]}``. ``POST /v1/batch/contacts`` updates the contact that holds
the item's ``local_id``, else the one that has its phone (``custom`` merged unless
``?overwrite=true``), or creates one, applies the valid items and answers ``"ok"`` or the array
of failed items, each with an ``error``. ``local_id`` (the docs: a client-side id that "makes
create-or-update operations idempotent"): a create whose ``local_id`` a contact holds already
updates that contact (its fields merged, ``custom`` too) and answers its reference; a contact
created or updated with one holds it, and serves it as ``local_id``. Tags are
``{"id", "name", "color", "created", "updated"}``; ``POST /v1/tags`` lists them newest first,
``date`` exclusive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import _rules as rules
from ._contacts import apply_each, by_local_id, merge, new_fields
from ._http import (
    json_response,
    not_found,
    overwrite,
    path_id,
    raw_response,
    read_any,
    read_object,
    ref_response,
)
from ._store import Record

if TYPE_CHECKING:
    from ._server import FakeHeymarket

_Response = web.StreamResponse


class V1Routes:
    """The v1 handlers of one emulator, named by :data:`._routes.TABLE`.

    They read the fake's switches (``v1_order``, ``v1_page_size``...) on every request, so a
    test may change them on a running fake.
    """

    def __init__(self, fake: FakeHeymarket) -> None:
        self._fake = fake

    # -- contacts -----------------------------------------------------------------------------

    async def create(self, request: web.Request) -> _Response:
        """``POST /v1/contact``: create (or update the contact that holds its ``local_id``);
        answers ``{"id", "rev", "uuid"}``."""
        body = await read_object(request)
        fields = rules.contact_fields(body, phone_required=True)
        local_id = rules.local_id(body)
        store = self._fake.store
        if local_id is not None:
            fields["local_id"] = local_id
            held = by_local_id(store, local_id)
            if held is not None:
                return ref_response(merge(store, held, fields, overwrite=False))
        return ref_response(store.create(new_fields(fields)))

    async def get(self, request: web.Request) -> _Response:
        """``GET /v1/contact/{id}``: the contact."""
        return raw_response(self._fake.store.render(self._record(request).id))

    async def get_by(self, request: web.Request) -> _Response:
        """``POST /v1/contact/get``: the contact with ``{"phone"}`` (first) or ``{"id"}``."""
        body = await read_object(request)
        store = self._fake.store
        if body.get("phone") is not None:
            found = store.find_channel("phone", rules.phone(body["phone"]))
            if not found:
                raise not_found("no contact with this phone")
            return raw_response(store.render(found[0]))
        if body.get("id") is None:
            raise rules.BadData("give phone or id")
        contact_id = rules.contact_id(body["id"])
        if contact_id not in store:
            raise not_found(f"contact {contact_id} not found")
        return raw_response(store.render(contact_id))

    async def update(self, request: web.Request) -> _Response:
        """``PUT /v1/contact/{id}``: merge the given fields; answers the reference."""
        record = self._record(request)
        replace_custom = overwrite(request)
        given = rules.contact_fields(await read_object(request), phone_required=True)
        return ref_response(merge(self._fake.store, record, given, overwrite=replace_custom))

    async def delete(self, request: web.Request) -> _Response:
        """``DELETE /v1/contact/{id}``."""
        self._fake.store.delete(self._record(request).id)
        return json_response("ok")

    async def list_page(self, request: web.Request) -> _Response:
        """``POST /v1/contacts``: one page before (or after) the ``date`` cursor."""
        fake = self._fake
        date = rules.date(await read_object(request))
        ids = fake.store.v1_page(
            date,
            newest_first=fake.v1_order == "newest_first",
            inclusive=fake.v1_cursor_inclusive,
            size=fake.v1_page_size,
            reorder=fake.next_tie_order(),
        )
        return raw_response(fake.store.render_list(ids))

    async def count(self, request: web.Request) -> _Response:
        """``POST /v1/contacts/count``: how many were updated after ``date``, as a string."""
        date = rules.date(await read_object(request))
        return json_response(str(self._fake.store.count_after(date)))

    async def fields(self, request: web.Request) -> _Response:
        """``POST /v1/contact-fields``: the team's custom fields."""
        await read_object(request)
        fields = self._fake.contact_fields
        return json_response({"fields": [{"id": i, "name": n} for i, n in fields]})

    # -- status, custom fields, batches -------------------------------------------------------

    async def status(self, request: web.Request) -> _Response:
        """``POST /v1/contact/status``."""
        record = self._lookup(await read_object(request))
        return json_response(
            {
                "id": record.id,
                "phone": record.fields.get("phone"),
                "unsubscribed": bool(record.fields.get("is_opted_out")),
                "blocked": record.id in self._fake.blocked,
            }
        )

    async def set_status(self, request: web.Request) -> _Response:
        """``POST /v1/contact/set_status``."""
        body = await read_object(request)
        status = body.get("status")
        if status not in rules.STATUSES:
            raise rules.BadData(f"status must be one of {', '.join(rules.STATUSES)}")
        record = self._lookup(body)
        if status == "blocked":
            self._fake.blocked.add(record.id)
        elif status in ("unblocked", "active"):
            self._fake.blocked.discard(record.id)
        opted_out = {"unsubscribed": True, "subscribed": False, "active": False}.get(status)
        if opted_out is not None and bool(record.fields.get("is_opted_out")) != opted_out:
            merge(self._fake.store, record, {"is_opted_out": opted_out}, overwrite=False)
        return json_response("success")

    async def create_fields(self, request: web.Request) -> _Response:
        """``POST /v1/contacts/fields``: add custom fields, numbered after the highest id."""
        titles = rules.field_titles(await read_any(request))
        fields = self._fake.contact_fields
        next_id = max((i for i, _ in fields), default=0) + 1
        created = []
        for title in titles:
            fields.append((next_id, title))
            created.append({"id": next_id, "name": title})
            next_id += 1
        return json_response({"fields": created})

    async def batch(self, request: web.Request) -> _Response:
        """``POST /v1/batch/contacts``: update by phone or create, item by item."""
        replace_custom = overwrite(request)
        body = await read_any(request)
        if not isinstance(body, list) or not body:
            raise rules.BadData("the body must be a non-empty array of contacts")
        store = self._fake.store

        def upsert(item: dict[str, Any]) -> None:
            given = rules.contact_fields(item, phone_required=True)
            local_id = rules.local_id(item)
            if local_id is not None:
                given["local_id"] = local_id
            record = by_local_id(store, local_id)
            if record is None:
                existing = store.find_channel("phone", given["phone"])
                record = store.get(existing[0]) if existing else None
            if record is None:
                store.create(new_fields(given))
            else:
                merge(store, record, given, overwrite=replace_custom)

        failed = apply_each(body, upsert)
        return json_response(failed if failed else "ok")

    # -- tags ---------------------------------------------------------------------------------

    async def tag_create(self, request: web.Request) -> _Response:
        """``POST /v1/tag``: answers the new tag."""
        body = await read_object(request)
        name, color = body.get("name"), body.get("color")
        if not isinstance(name, str) or not name.strip():
            raise rules.BadData("name must be a non-empty string")
        if color is not None and not isinstance(color, str):
            raise rules.BadData("color must be a string")
        tags = self._fake.tags
        return json_response(tags.as_json(tags.create(name, color)))

    async def tag_get(self, request: web.Request) -> _Response:
        """``GET /v1/tag/{id}``."""
        return json_response(self._fake.tags.as_json(self._tag_id(request)))

    async def tag_delete(self, request: web.Request) -> _Response:
        """``DELETE /v1/tag/{id}``."""
        self._fake.tags.delete(self._tag_id(request))
        return json_response("ok")

    async def tags(self, request: web.Request) -> _Response:
        """``POST /v1/tags``: one page, newest first, before ``date``."""
        date = rules.date(await read_object(request))
        tags = self._fake.tags
        return json_response([tags.as_json(i) for i in tags.page(date, self._fake.tag_page_size)])

    # -- lookups ------------------------------------------------------------------------------

    def _record(self, request: web.Request) -> Record:
        raw = request.match_info["id"]
        contact_id = path_id(raw)
        record = None if contact_id is None else self._fake.store.get(contact_id)
        if record is None:
            raise not_found(f"contact {raw} not found")
        return record

    def _lookup(self, body: Mapping[str, Any]) -> Record:
        """The contact named by ``{"id"}`` (an int or a digit string) or ``{"phone"}``."""
        store = self._fake.store
        has_id, has_phone = body.get("id") is not None, body.get("phone") is not None
        if has_id == has_phone:
            raise rules.BadData("give either id or phone")
        if has_phone:
            found = store.find_channel("phone", rules.phone(body["phone"]))
            record = store.get(found[0]) if found else None
        else:
            record = store.get(rules.contact_id(body["id"]))
        if record is None:
            raise not_found("no such contact")
        return record

    def _tag_id(self, request: web.Request) -> int:
        raw = request.match_info["id"]
        tag_id = path_id(raw)
        if tag_id is None or tag_id not in self._fake.tags:
            raise not_found(f"tag {raw} not found")
        return tag_id
