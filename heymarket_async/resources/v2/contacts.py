"""The v2 contact endpoints (UUID contact ids), on ``HeymarketClient.v2``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, overload

from heymarket_async import _validate as check
from heymarket_async._bulk import (
    DEFAULT_BATCH_SIZE,
    contact_keys,
    failures_answer,
    upsert_answer,
)
from heymarket_async._convert import (
    structure,
    structure_channels,
    structure_contact,
    structure_contacts,
)
from heymarket_async._params import contact_fields_signature, given_fields
from heymarket_async._retry import create_safety
from heymarket_async._sansio import Endpoint, Request, Safety
from heymarket_async.errors import InvalidRequestError
from heymarket_async.models import BulkResult, Contact, ContactChannel, ContactRef
from heymarket_async.pagination import (
    V2ContactPager,
    V2OffsetPager,
    V2OffsetPosition,
    V2Position,
)
from heymarket_async.resources._base import Resource, ignore
from heymarket_async.resources.v1 import contacts as v1  # COUNT, read when a walk is split

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from heymarket_async._params import ContactFields

#: A channel given as a ContactChannel, a ``(channel_type, channel_id)`` pair (a list from JSON)
#: or the docs' ``{"channel_type": ..., "channel_id": ...}``.
ChannelInput = ContactChannel | tuple[str, str] | list[str] | Mapping[str, str]

GET = Endpoint("GET", "/v2/contact/{id}", Safety.READ)
CREATE = Endpoint("POST", "/v2/contact", Safety.ONCE, effect="contact may have been created")
UPDATE = Endpoint("PUT", "/v2/contact/{id}", Safety.IDEMPOTENT)
DELETE = Endpoint("DELETE", "/v2/contact/{id}", Safety.IDEMPOTENT, gone_is_done=True)
LIST = Endpoint("POST", "/v2/contacts/list", Safety.READ)
SEARCH = Endpoint("POST", "/v2/contacts/search", Safety.READ)
#: Not repeated after an answer that may follow a write, like a create.
ADD_CHANNEL = Endpoint(
    "POST", "/v2/contact/{id}/channel", Safety.ONCE, effect="channel may have been added"
)
UPDATE_CHANNEL = Endpoint("PUT", "/v2/contact/{id}/channel", Safety.IDEMPOTENT)
# Bulk writes go again only when they provably never arrived, a delete too: a repeat would
# report the contacts it deleted as not found.
UPSERT = Endpoint(
    "POST", "/v2/contacts", Safety.ONCE, effect="contacts may have been created or updated"
)
DELETE_MANY = Endpoint(
    "DELETE", "/v2/contacts", Safety.ONCE, effect="contacts may have been deleted"
)


def _ref(data: Any) -> ContactRef:
    return structure(data, ContactRef)


class V2Contacts(Resource):
    """The v2 contact endpoints. Reached as ``client.v2``; ids are UUIDs, never v1 ints."""

    async def get_contact(self, contact_uuid: str) -> Contact:
        """The contact with this UUID (``GET /v2/contact/{uuid}``); :class:`NotFoundError` if none.

        Passing a v1 integer id raises :class:`InvalidRequestError` before anything is sent.
        """
        request = GET.request(id=check.contact_uuid(contact_uuid))
        return await self._call(request, structure_contact)

    @contact_fields_signature
    async def create_contact(
        self,
        channels: Iterable[ChannelInput] | None = None,
        *,
        contact_channels: Iterable[ChannelInput] | None = None,
        local_id: str | None = None,
        **fields: Unpack[ContactFields],
    ) -> ContactRef:
        """Create a contact from one or more channels (``POST /v2/contact``).

        ``channels``: ``[("phone", "15105553344"), ("email", "a@example.com")]`` or
        :class:`ContactChannel` objects; phone channels are normalized. The fields are those of
        :class:`ContactFields`. Never sent twice once it may have been applied, unless it has a
        ``local_id`` (your own id of the contact): then it is retried like an idempotent write
        (see ``HeymarketClient.create_contact``).
        """
        given = given_fields("create_contact", fields)
        body: dict[str, Any] = {
            "contact_channels": check.create_channels(channels, contact_channels)
        }
        if local_id is not None:
            body["local_id"] = check.local_id(local_id)
        body.update(check.contact_body(given))
        safety = create_safety((body,), self._pipeline.retry)
        return await self._call(CREATE.request(json=body, safety=safety), _ref)

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
        return await self._call(LIST.request(json=body), structure_contacts)

    @overload
    def iter_contacts(
        self,
        *,
        since: datetime | str | None = None,
        page_size: int = 100,
        ascending: bool = True,
        max_items: int | None = None,
        slices: int | Literal["auto"] = "auto",
        resume: V2Position | Mapping[str, Any] | str | None = None,
        raw: Literal[False] = False,
    ) -> V2ContactPager[Contact]: ...

    @overload
    def iter_contacts(
        self,
        *,
        since: datetime | str | None = None,
        page_size: int = 100,
        ascending: bool = True,
        max_items: int | None = None,
        slices: int | Literal["auto"] = "auto",
        resume: V2Position | Mapping[str, Any] | str | None = None,
        raw: Literal[True],
    ) -> V2ContactPager[dict[str, Any]]: ...

    @overload
    def iter_contacts(
        self,
        *,
        since: datetime | str | None = None,
        page_size: int = 100,
        ascending: bool = True,
        max_items: int | None = None,
        slices: int | Literal["auto"] = "auto",
        resume: V2Position | Mapping[str, Any] | str | None = None,
        raw: bool,
    ) -> V2ContactPager[Contact] | V2ContactPager[dict[str, Any]]: ...

    def iter_contacts(
        self,
        *,
        since: datetime | str | None = None,
        page_size: int = 100,
        ascending: bool = True,
        max_items: int | None = None,
        slices: int | Literal["auto"] = "auto",
        resume: V2Position | Mapping[str, Any] | str | None = None,
        raw: bool = False,
    ) -> V2ContactPager[Any]:
        """Every contact, oldest first: ``async for c in hm.v2.iter_contacts()``.

        A keyset walk (``date`` = the last ``updated`` read), which holds while the team
        changes: every contact that exists for the whole walk comes at least once, and one
        changed during the walk comes again in its newer version (same ``id``, later ``updated``;
        keep the newest). Exactly once on a team that does not change. ``page_size`` (1-100) is the
        API's ``limit``; ``max_items`` caps how many contacts come out. ``slices`` (1-16) splits the
        ``updated`` range into parts read concurrently (a count request and ``slices - 1`` pages at
        the boundaries, each the first page of its part, choose them while the first part reads;
        contacts then come in the order their pages arrive), bounded by the client's concurrency cap
        and rate limit. ``"auto"`` (the default) reads one part at a time on an unpaced client, and
        on a paced one as many parts as keep its rate busy: 1.5 x the rate x the count request's
        latency (from its turn to its answer: not the wait for its turn; at 500 a minute, one part
        up to about 80 ms a request, three at 200 ms). ``ascending`` must stay ``True``: the keyset
        walk reads oldest first; use :meth:`iter_contacts_by_offset` for newest first. ``resume`` is
        a saved ``position``; a walk that ended resumes as a read of what changed since.
        ``raw=True`` hands out each contact as the JSON object the API sent (a ``dict``, every key
        kept, nothing converted; read-only: ``position`` reads its ``id`` and ``updated``) instead
        of a :class:`Contact`, with the same bookkeeping, positions and ``pages()``. See
        :class:`V2ContactPager`.
        Nothing is sent until the first contact is asked for; arguments are checked here
        (:class:`InvalidRequestError`).
        """
        if not check.boolean(ascending, "ascending"):
            raise InvalidRequestError(
                "ascending",
                "the keyset walk reads oldest first; iter_contacts_by_offset(ascending=False) "
                "reads newest first",
            )
        return V2ContactPager(
            self._fetch(LIST, typed=not raw),
            count=self._fetch(v1.COUNT),
            scrub=self._pipeline.scrub_text,
            since=since,
            page_size=page_size,
            max_items=max_items,
            slices=slices,
            resume=resume,
            pace=self._pace(),
            clock=self._pipeline.clock,
            raw=raw,
        )

    @overload
    def iter_contacts_by_offset(
        self,
        *,
        since: datetime | str | None = None,
        page_size: int = 100,
        ascending: bool = True,
        max_items: int | None = None,
        prefetch: int = 2,
        resume: V2OffsetPosition | Mapping[str, Any] | str | None = None,
        raw: Literal[False] = False,
    ) -> V2OffsetPager[Contact]: ...

    @overload
    def iter_contacts_by_offset(
        self,
        *,
        since: datetime | str | None = None,
        page_size: int = 100,
        ascending: bool = True,
        max_items: int | None = None,
        prefetch: int = 2,
        resume: V2OffsetPosition | Mapping[str, Any] | str | None = None,
        raw: Literal[True],
    ) -> V2OffsetPager[dict[str, Any]]: ...

    @overload
    def iter_contacts_by_offset(
        self,
        *,
        since: datetime | str | None = None,
        page_size: int = 100,
        ascending: bool = True,
        max_items: int | None = None,
        prefetch: int = 2,
        resume: V2OffsetPosition | Mapping[str, Any] | str | None = None,
        raw: bool,
    ) -> V2OffsetPager[Contact] | V2OffsetPager[dict[str, Any]]: ...

    def iter_contacts_by_offset(
        self,
        *,
        since: datetime | str | None = None,
        page_size: int = 100,
        ascending: bool = True,
        max_items: int | None = None,
        prefetch: int = 2,
        resume: V2OffsetPosition | Mapping[str, Any] | str | None = None,
        raw: bool = False,
    ) -> V2OffsetPager[Any]:
        """Every contact by offset pages (``page`` 0, 1, 2...) in the server's order.

        Offset pages shift when contacts change during the walk (an update moves a contact to
        the end and one nobody touched can be skipped): use :meth:`iter_contacts` unless the
        team does not change meanwhile or you need newest first. ``ascending`` defaults to
        oldest first (the API's own default is newest first). ``prefetch`` (0-8) pages are
        requested ahead of the one being read. ``resume`` is a saved ``position``; it brings
        its own ``page_size``, ``since`` and ``ascending``. ``raw=True`` hands out each contact
        as the JSON object the API sent (a ``dict``) instead of a :class:`Contact`, as for
        :meth:`iter_contacts`. See :class:`V2OffsetPager`.
        """
        return V2OffsetPager(
            self._fetch(LIST, typed=not raw),
            scrub=self._pipeline.scrub_text,
            since=since,
            page_size=page_size,
            ascending=ascending,
            max_items=max_items,
            prefetch=prefetch,
            resume=resume,
            raw=raw,
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
        request = SEARCH.request(json={"contact_channels": [group]})
        return await self._call(request, structure_contacts)

    async def add_channel(
        self, contact_uuid: str, channel_type: str, channel_id: str
    ) -> list[ContactChannel]:
        """Add a channel to a contact (``POST /v2/contact/{uuid}/channel``); returns its channels.

        Not repeated after an answer that may follow a write, like a create.
        """
        request = _channel_request(ADD_CHANNEL, contact_uuid, channel_type, channel_id)
        return await self._call(request, structure_channels)

    @contact_fields_signature
    async def update_contact(self, contact_uuid: str, **fields: Unpack[ContactFields]) -> Contact:
        """Update a contact by UUID (``PUT /v2/contact/{uuid}``) and return the whole contact.

        Only the fields given are sent; channels are changed with :meth:`add_channel` and
        :meth:`update_channel`. Retried like any idempotent write.
        """
        given = given_fields("update_contact", fields)
        uuid = check.contact_uuid(contact_uuid)
        body = check.contact_body(given)
        if not body:
            raise InvalidRequestError("fields", "give at least one field to update")
        return await self._call(UPDATE.request(id=uuid, json=body), structure_contact)

    async def delete_contact(self, contact_uuid: str) -> None:
        """Delete a contact by UUID (``DELETE /v2/contact/{uuid}``)."""
        await self._call(DELETE.request(id=check.contact_uuid(contact_uuid)), ignore)

    async def update_channel(
        self, contact_uuid: str, channel_type: str, channel_id: str
    ) -> list[ContactChannel]:
        """Set a contact's channel of this type (``PUT /v2/contact/{uuid}/channel``).

        Sends ``{"channel_type", "channel_id"}`` like :meth:`add_channel` and returns the
        contact's channels. Retried like an idempotent write.
        """
        request = _channel_request(UPDATE_CHANNEL, contact_uuid, channel_type, channel_id)
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
        takes, ``local_id`` included. Every item is checked before anything is sent. Items go
        in requests of ``batch_size`` (default 100; the API documents no maximum) under the
        client's concurrency cap and rate limiter. A batch is never sent twice once it may have
        been applied, unless every item of it has a ``local_id``: then it is retried like an
        idempotent write (see :class:`RetryPolicy`'s ``retry_creates_with_local_id``).

        Returns a :class:`BulkResult` in input order: each item succeeded (``result`` is the
        contact the API returned for it, matched by UUID or channel), failed (listed in
        ``failed_contacts``, or its batch was refused) or unknown (its batch may have been
        applied). Raises only :class:`InvalidRequestError`, before sending.
        """
        items = check.items(contacts, "contacts")
        bodies = await check.v2_bulk_contacts(items)
        policy = self._pipeline.retry
        return await self._batches(
            UPSERT,
            items,
            bodies,
            batch_size,
            upsert_answer,
            contact_keys,
            wrap=_contacts,
            safety_of=lambda batch: create_safety(batch, policy),
        )

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
        uuids = await check.contact_uuids(items)
        return await self._batches(
            DELETE_MANY, items, uuids, batch_size, failures_answer, contact_keys, wrap=_contacts
        )


def _contacts(batch: list[Any]) -> dict[str, Any]:
    """A v2 bulk body: the batch under ``contacts``; items match the answer by UUID or channel."""
    return {"contacts": batch}


def _channel_request(
    endpoint: Endpoint, contact_uuid: str, channel_type: str, channel_id: str
) -> Request:
    """``{"channel_type", "channel_id"}`` to ``/v2/contact/{uuid}/channel``, checked."""
    uuid = check.contact_uuid(contact_uuid)
    kind = check.channel_type(channel_type)
    body = {"channel_type": kind, "channel_id": check.channel_id(kind, channel_id)}
    return endpoint.request(id=uuid, json=body)
