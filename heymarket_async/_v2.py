"""The v2 contact endpoints (UUID contact ids), on ``HeymarketClient.v2``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import _validate as check
from ._bulk import (
    DEFAULT_BATCH_SIZE,
    Answer,
    contact_keys,
    failures_answer,
    run_batches,
    upsert_answer,
)
from ._convert import structure, structure_channels, structure_contact, structure_contacts
from ._sansio import Request, Safety
from ._v1 import CustomValues, Tags, _ignore
from .errors import InvalidRequestError
from .models import UNSET, BulkResult, Contact, ContactChannel, ContactRef, UnsetType
from .pagination import V2ContactPager, V2Position

if TYPE_CHECKING:
    from ._client import HeymarketClient

#: A channel given as a ContactChannel or a ``(channel_type, channel_id)`` pair.
ChannelInput = ContactChannel | tuple[str, str]


class V2Contacts:
    """The v2 contact endpoints. Reached as ``client.v2``; ids are UUIDs, never v1 ints."""

    def __init__(self, client: HeymarketClient) -> None:
        self._client = client
        self._call = client._call

    async def get_contact(self, contact_uuid: str) -> Contact:
        """The contact with this UUID (``GET /v2/contact/{uuid}``); :class:`NotFoundError` if none.

        Passing a v1 integer id raises :class:`InvalidRequestError` before anything is sent.
        """
        path = f"/v2/contact/{check.contact_uuid(contact_uuid)}"
        return await self._call(Request("GET", path, Safety.READ), structure_contact)

    async def create_contact(
        self,
        channels: Iterable[ChannelInput],
        *,
        first: str | None | UnsetType = UNSET,
        last: str | None | UnsetType = UNSET,
        display_name: str | None | UnsetType = UNSET,
        email: str | None | UnsetType = UNSET,
        custom: CustomValues | None | UnsetType = UNSET,
        avatar: str | None | UnsetType = UNSET,
        assignee_id: int | None | UnsetType = UNSET,
        tags: Tags | None | UnsetType = UNSET,
        is_opted_out: bool | None | UnsetType = UNSET,
    ) -> ContactRef:
        """Create a contact from one or more channels (``POST /v2/contact``).

        ``channels``: ``[("phone", "15105553344"), ("email", "a@example.com")]`` or
        :class:`ContactChannel` objects; phone channels are normalized. Never sent twice (see
        ``HeymarketClient.create_contact``).
        """
        body: dict[str, Any] = {"contact_channels": check.channels(channels)}
        body.update(check.contact_body(check.contact_fields(locals())))
        return await self._call(
            Request("POST", "/v2/contact", Safety.CREATE, body),
            lambda data: structure(data, ContactRef),
        )

    async def list_contacts(
        self,
        *,
        limit: int = 30,
        page: int = 0,
        since: datetime | str | None = None,
        ascending: bool = False,
    ) -> list[Contact]:
        """One page of ``POST /v2/contacts/list``: ``limit`` (1-100) contacts from page ``page``.

        ``since`` keeps the contacts updated after it; ``ascending`` sorts by ``updated``
        oldest first (the API's default is newest first). To walk every page, use
        :meth:`iter_contacts`.
        """
        body: dict[str, Any] = {
            "limit": check.bounded_int(limit, "limit", 1, check.V2_MAX_LIMIT),
            "page": check.bounded_int(page, "page", 0),
            "ascending": check.boolean(ascending, "ascending"),
        }
        if since is not None:
            body["date"] = check.timestamp(since, "since")
        return await self._call(
            Request("POST", "/v2/contacts/list", Safety.READ, body), structure_contacts
        )

    def iter_contacts(
        self,
        *,
        since: datetime | str | None = None,
        page_size: int = 100,
        ascending: bool = True,
        max_items: int | None = None,
        prefetch: int = 2,
        resume: V2Position | Mapping[str, Any] | str | None = None,
    ) -> V2ContactPager:
        """Every contact, page by page: ``async for c in hm.v2.iter_contacts()``.

        ``page_size`` (1-100) is the API's ``limit``, only the size of a page; ``max_items`` caps
        how many contacts come out. ``ascending`` defaults to oldest first (the API's own
        default is newest first). ``prefetch`` (0-8) pages are requested ahead of the one being
        read. ``resume`` is a saved ``position``; it brings its own ``page_size``, ``since`` and
        ``ascending``. See :class:`V2ContactPager`. Nothing is sent until the first contact is
        asked for; arguments are checked here (:class:`InvalidRequestError`).
        """
        return V2ContactPager(
            lambda body, parse: self._call(
                Request("POST", "/v2/contacts/list", Safety.READ, body), parse
            ),
            scrub=self._client._scrub_text,
            since=since,
            page_size=page_size,
            ascending=ascending,
            max_items=max_items,
            prefetch=prefetch,
            resume=resume,
        )

    async def search_contacts(self, *values: str, channel_type: str | None = None) -> list[Contact]:
        """The contacts reached by any of these phone numbers or email addresses.

        ``POST /v2/contacts/search``. Without ``channel_type`` the server infers each value's
        type; a value made only of digits and phone punctuation (``"+1 (415) 555-1234"``) is
        normalized to E.164 digits first, and any other value is sent as given. With
        ``channel_type``, every value is checked as that type.
        """
        group: dict[str, Any] = {}
        if channel_type is not None:
            group["channel_type"] = check.channel_type(channel_type)
        group["channel_ids"] = check.search_values(values, channel_type)
        return await self._call(
            Request("POST", "/v2/contacts/search", Safety.READ, {"contact_channels": [group]}),
            structure_contacts,
        )

    async def add_channel(
        self, contact_uuid: str, channel_type: str, channel_id: str
    ) -> list[ContactChannel]:
        """Add a channel to a contact (``POST /v2/contact/{uuid}/channel``); returns its channels.

        Not repeated after an answer that may follow a write, like a create.
        """
        request = _channel_request("POST", Safety.CREATE, contact_uuid, channel_type, channel_id)
        return await self._call(request, structure_channels)

    async def update_contact(
        self,
        contact_uuid: str,
        *,
        first: str | None | UnsetType = UNSET,
        last: str | None | UnsetType = UNSET,
        display_name: str | None | UnsetType = UNSET,
        email: str | None | UnsetType = UNSET,
        custom: CustomValues | None | UnsetType = UNSET,
        avatar: str | None | UnsetType = UNSET,
        assignee_id: int | None | UnsetType = UNSET,
        tags: Tags | None | UnsetType = UNSET,
        is_opted_out: bool | None | UnsetType = UNSET,
    ) -> Contact:
        """Update a contact by UUID (``PUT /v2/contact/{uuid}``) and return the whole contact.

        Only the fields given are sent; channels are changed with :meth:`add_channel` and
        :meth:`update_channel`. Retried like any idempotent write.
        """
        path = f"/v2/contact/{check.contact_uuid(contact_uuid)}"
        body = check.contact_body(check.contact_fields(locals()))
        if not body:
            raise InvalidRequestError("fields", "give at least one field to update")
        return await self._call(Request("PUT", path, Safety.IDEMPOTENT, body), structure_contact)

    async def delete_contact(self, contact_uuid: str) -> None:
        """Delete a contact by UUID (``DELETE /v2/contact/{uuid}``)."""
        path = f"/v2/contact/{check.contact_uuid(contact_uuid)}"
        await self._call(Request("DELETE", path, Safety.IDEMPOTENT), _ignore)

    async def update_channel(
        self, contact_uuid: str, channel_type: str, channel_id: str
    ) -> list[ContactChannel]:
        """Set a contact's channel of this type (``PUT /v2/contact/{uuid}/channel``).

        Sends ``{"channel_type", "channel_id"}`` like :meth:`add_channel` and returns the
        contact's channels. Retried like an idempotent write.
        """
        request = _channel_request("PUT", Safety.IDEMPOTENT, contact_uuid, channel_type, channel_id)
        return await self._call(request, structure_channels)

    async def upsert_contacts(
        self,
        contacts: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> BulkResult[Contact]:
        """Create or update many contacts through ``POST /v2/contacts`` (``{"contacts": [...]}``).

        Each item is a mapping: ``channels`` (as :meth:`create_contact` takes them) for a new
        contact, ``uuid`` to update an existing one, and any of the fields ``create_contact``
        takes. Every item is checked before anything is sent. Items go in requests of
        ``batch_size`` (default 100; the API documents no maximum) under the client's
        concurrency cap and rate limiter. A batch is never sent twice once it may have been
        applied.

        Returns a :class:`BulkResult` in input order: each item succeeded (``result`` is the
        contact the API returned for it, matched by UUID or channel), failed (listed in
        ``failed_contacts``, or its batch was refused) or unknown (its batch may have been
        applied). Raises only :class:`InvalidRequestError`, before sending.
        """
        items = check.items(contacts, "contacts")
        bodies = check.v2_bulk_contacts(items)
        return await self._in_batches("POST", items, bodies, batch_size, upsert_answer)

    async def delete_contacts(
        self, contact_uuids: Iterable[str], *, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> BulkResult[None]:
        """Delete many contacts by UUID (``DELETE /v2/contacts``, ``{"contacts": [uuid, ...]}``).

        Batched like :meth:`upsert_contacts`, and like it, a batch is not sent again once it may
        have been applied (a repeat would report the contacts it deleted as not found): its
        items are unknown, and deleting them again is harmless. Returns a :class:`BulkResult`
        in input order; an item the API lists as failed (matched by UUID) is failed.
        """
        items = check.items(contact_uuids, "contact_uuids")
        uuids = check.contact_uuids(items)
        return await self._in_batches("DELETE", items, uuids, batch_size, failures_answer)

    async def _in_batches(
        self,
        method: str,
        items: list[Any],
        bodies: list[Any],
        batch_size: int,
        answer: Callable[[Any], Answer],
    ) -> BulkResult[Any]:
        """Send ``bodies`` to ``/v2/contacts`` as ``{"contacts": [...]}`` batches; see
        :func:`run_batches`. Items are matched to the answer by UUID or channel."""
        size = check.batch_size(batch_size)

        async def send(batch: list[Any]) -> Answer:
            # CREATE: a batch is retried only when it provably never arrived, for a delete too
            # (a repeat would report the contacts it deleted as not found).
            request = Request(method, "/v2/contacts", Safety.CREATE, {"contacts": batch})
            return await self._call(request, answer)

        return await run_batches(
            items,
            bodies,
            batch_size=size,
            workers=self._client._max_concurrency,
            send=send,
            keys=contact_keys,
        )


def _channel_request(
    method: str, safety: Safety, contact_uuid: str, channel_type: str, channel_id: str
) -> Request:
    """``{"channel_type", "channel_id"}`` to ``/v2/contact/{uuid}/channel``, checked."""
    path = f"/v2/contact/{check.contact_uuid(contact_uuid)}/channel"
    kind = check.channel_type(channel_type)
    body = {"channel_type": kind, "channel_id": check.channel_id(kind, channel_id)}
    return Request(method, path, safety, body)
