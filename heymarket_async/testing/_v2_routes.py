"""The emulator's v2 endpoints: contacts by UUID, their channels, lists, search and bulk writes.

Where Heymarket's docs are silent (besides the choices :class:`.FakeHeymarket` lists):
``POST /v2/contact/{uuid}/channel`` answers the contact's channels as a bare array
``[{"channel_type", "channel_id"}, ...]``, and adding a channel the contact already has is not
a write; search answers the matching contacts in the order of the values asked, each once.
``PUT /v2/contact/{uuid}`` merges like the v1 PUT and answers the whole contact;
``PUT .../channel`` replaces the contact's channel of that type. ``POST /v2/contacts`` updates
the items with a ``uuid`` and creates the others, answering ``{"contacts": [...],
"failed_contacts": [{...item, "error"}]}``. A create (one or an item) whose ``local_id`` a
contact holds already updates that contact (fields merged, new channels added), as v1's does;
an item with a ``uuid`` and a ``local_id`` another contact holds fails. ``DELETE /v2/contacts``
takes ``{"contacts": [uuid, ...]}`` and answers ``"ok"`` or ``{"failed_contacts": [{"uuid",
"error"}]}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import _rules as rules
from ._contacts import apply_each, by_local_id, by_uuid, merge, new_fields, sync_channels
from ._http import json_response, not_found, raw_response, read_object, ref_response
from ._store import Record

if TYPE_CHECKING:
    from ._server import FakeHeymarket

_Response = web.StreamResponse


class V2Routes:
    """The v2 handlers of one emulator, named by :data:`._routes.TABLE`.

    They read the fake's switches (``v2_default_limit``, ``v2_max_limit``) on every request.
    """

    def __init__(self, fake: FakeHeymarket) -> None:
        self._fake = fake

    async def get(self, request: web.Request) -> _Response:
        """``GET /v2/contact/{uuid}``: the contact."""
        return raw_response(self._fake.store.render(self._record(request).id))

    async def create(self, request: web.Request) -> _Response:
        """``POST /v2/contact``: create; answers ``{"id", "rev", "uuid"}``."""
        return ref_response(self._create(await read_object(request)))

    async def list_page(self, request: web.Request) -> _Response:
        """``POST /v2/contacts/list``: page ``page`` of ``limit`` updated after ``date``."""
        fake = self._fake
        body = await read_object(request)
        limit = rules.integer(body, "limit", fake.v2_default_limit, 1, fake.v2_max_limit)
        page = rules.integer(body, "page", 0, 0, None)
        ascending = rules.boolean(body, "ascending", False)
        date = rules.date(body)
        ids = fake.store.v2_page(
            date, limit=limit, page=page, ascending=ascending, reorder=fake.next_tie_order()
        )
        return raw_response(fake.store.render_list(ids))

    async def search(self, request: web.Request) -> _Response:
        """``POST /v2/contacts/search``: the contacts reached by the channels asked."""
        store = self._fake.store
        found: dict[int, None] = {}  # a set that keeps the order of the values asked
        for kind, value in rules.search_values(await read_object(request)):
            for contact_id in store.find_channel(kind, value):
                found[contact_id] = None
        return raw_response(store.render_list(list(found)))

    async def add_channel(self, request: web.Request) -> _Response:
        """``POST /v2/contact/{uuid}/channel``: add one channel; answers all of them."""
        record = self._record(request)
        channel = rules.channel(await read_object(request))
        channels = list(record.fields.get("contact_channels") or ())
        if channel not in channels:
            new = dict(record.fields)
            new["contact_channels"] = [*channels, channel]
            record = self._fake.store.replace(record.id, new)
        return json_response(record.fields["contact_channels"])

    async def update(self, request: web.Request) -> _Response:
        """``PUT /v2/contact/{uuid}``: merge the given fields; answers the contact."""
        record = self._record(request)
        given = rules.contact_fields(await read_object(request), phone_required=False)
        store = self._fake.store
        return raw_response(store.render(merge(store, record, given, overwrite=False).id))

    async def delete(self, request: web.Request) -> _Response:
        """``DELETE /v2/contact/{uuid}``."""
        self._fake.store.delete(self._record(request).id)
        return json_response("ok")

    async def update_channel(self, request: web.Request) -> _Response:
        """``PUT /v2/contact/{uuid}/channel``: replace the channel of that type."""
        record = self._record(request)
        channel = rules.channel(await read_object(request))
        kind = channel["channel_type"]
        channels = [
            c for c in record.fields.get("contact_channels") or () if c["channel_type"] != kind
        ]
        new = {**record.fields, "contact_channels": [*channels, channel]}
        if kind in ("phone", "email"):
            new[kind] = channel["channel_id"]
        sync_channels(record.fields, new)
        return json_response(self._fake.store.replace(record.id, new).fields["contact_channels"])

    async def bulk(self, request: web.Request) -> _Response:
        """``POST /v2/contacts``: update (with ``uuid``) or create, item by item."""
        items = (await read_object(request)).get("contacts")
        if not isinstance(items, list) or not items:
            raise rules.BadData("contacts must be a non-empty array")
        store = self._fake.store
        done: list[int] = []

        def upsert(item: dict[str, Any]) -> None:
            if item.get("uuid") is None:
                done.append(self._create(item).id)
                return
            record = by_uuid(store, str(item["uuid"]))
            if record is None:
                raise rules.BadData(f"no contact with uuid {item['uuid']}")
            given = rules.contact_fields(item, phone_required=False)
            local_id = rules.local_id(item)
            if local_id is not None:
                holder = by_local_id(store, local_id)
                if holder is not None and holder.id != record.id:
                    raise rules.BadData("local_id is held by another contact")
                given["local_id"] = local_id
            if item.get("contact_channels") is not None:
                added = rules.channels(item["contact_channels"], required=False)
                old = list(record.fields.get("contact_channels") or ())
                given["contact_channels"] = old + [c for c in added if c not in old]
            done.append(merge(store, record, given, overwrite=False).id)

        failed = json.dumps(apply_each(items, upsert), separators=(",", ":")).encode()
        return raw_response(
            b'{"contacts":' + store.render_list(done) + b',"failed_contacts":' + failed + b"}"
        )

    async def bulk_delete(self, request: web.Request) -> _Response:
        """``DELETE /v2/contacts``: delete by UUID; answers the ones not found."""
        uuids = (await read_object(request)).get("contacts")
        if not isinstance(uuids, list) or not uuids:
            raise rules.BadData("contacts must be a non-empty array of UUIDs")
        store = self._fake.store
        failed = []
        for value in uuids:
            contact_id = store.id_for_uuid(value) if isinstance(value, str) else None
            if contact_id is None:
                failed.append({"uuid": value, "error": "not found"})
            else:
                store.delete(contact_id)
        return json_response({"failed_contacts": failed} if failed else "ok")

    def _record(self, request: web.Request) -> Record:
        raw = request.match_info["uuid"]
        record = by_uuid(self._fake.store, raw)
        if record is None:
            raise not_found(f"contact {raw} not found")
        return record

    def _create(self, body: Mapping[str, Any]) -> Record:
        """A v2 create: ``contact_channels`` required; ``phone``/``email`` default to the first
        channel of their type. One whose ``local_id`` a contact holds updates that contact."""
        channels = rules.channels(body.get("contact_channels"), required=True)
        fields = rules.contact_fields(body, phone_required=False)
        local_id = rules.local_id(body)
        store = self._fake.store
        if local_id is not None:
            fields["local_id"] = local_id
            held = by_local_id(store, local_id)
            if held is not None:
                old = list(held.fields.get("contact_channels") or ())
                fields["contact_channels"] = old + [c for c in channels if c not in old]
                return merge(store, held, fields, overwrite=False)
        for kind in ("phone", "email"):
            if fields.get(kind) is None:
                first = next((c["channel_id"] for c in channels if c["channel_type"] == kind), None)
                if first is not None:
                    fields[kind] = first
        fields["contact_channels"] = channels
        return store.create(new_fields(fields))
