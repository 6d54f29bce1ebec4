"""The v1 contact endpoints: create, read, update, delete, list, walk, count, batch create."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, overload

from heymarket_async import _validate as check
from heymarket_async._bulk import DEFAULT_BATCH_SIZE, failures_answer, phone_keys
from heymarket_async._convert import (
    structure,
    structure_contact,
    structure_contacts,
    structure_count,
)
from heymarket_async._params import CONTACT_FIELDS, contact_fields_signature, given_fields
from heymarket_async._retry import create_safety
from heymarket_async._sansio import Endpoint, Safety
from heymarket_async.errors import ConcurrentModificationError, InvalidRequestError
from heymarket_async.models import BulkResult, Contact, ContactRef
from heymarket_async.pagination import V1ContactPager, V1Position
from heymarket_async.resources._base import Resource, ignore
from heymarket_async.resources.v2.contacts import LIST as V2_LIST

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from heymarket_async._params import ContactFields

CREATE = Endpoint("POST", "/v1/contact", Safety.ONCE, effect="contact may have been created")
GET = Endpoint("GET", "/v1/contact/{id}", Safety.READ)
GET_BY_PHONE = Endpoint("POST", "/v1/contact/get", Safety.READ)
UPDATE = Endpoint("PUT", "/v1/contact/{id}", Safety.IDEMPOTENT)
#: patch_contact's write: a repeat would move ``rev`` and pass for someone else's change.
PATCH_WRITE = Endpoint(
    "PUT", "/v1/contact/{id}", Safety.ONCE, effect="contact may have been updated"
)
DELETE = Endpoint("DELETE", "/v1/contact/{id}", Safety.IDEMPOTENT, gone_is_done=True)
LIST = Endpoint("POST", "/v1/contacts", Safety.READ)
COUNT = Endpoint("POST", "/v1/contacts/count", Safety.READ)
BATCH_CREATE = Endpoint(
    "POST", "/v1/batch/contacts", Safety.ONCE, effect="contacts may have been created"
)


def _ref(data: Any) -> ContactRef:
    return structure(data, ContactRef)


def _overwrite(value: bool) -> dict[str, str]:
    return {"overwrite": "true" if check.boolean(value, "overwrite") else "false"}


class V1Contacts(Resource):
    """The v1 contact endpoints (integer ids); ``HeymarketClient``'s own methods."""

    @contact_fields_signature
    async def create_contact(
        self, phone: str, *, local_id: str | None = None, **fields: Unpack[ContactFields]
    ) -> ContactRef:
        """Create a contact (``POST /v1/contact``) and return its id, revision and UUID.

        ``phone`` is normalized to E.164 digits (``"+1 (510) 555-3344"`` -> ``"15105553344"``);
        the fields are those of :class:`ContactFields`; those not given are left out.
        ``local_id`` is your own id of the contact (a non-empty str, sent as given), which
        Heymarket's docs say makes the create idempotent.

        Without ``local_id``, never sent twice: retried only when the server refused it (429) or
        it provably never left (a failed connect); otherwise the error says the contact may
        have been created. With one, retried like an idempotent write (a repeat updates the
        contact the first attempt made), unless ``RetryPolicy(retry_creates_with_local_id=False)``.
        """
        given = given_fields("create_contact", fields)
        body = {"phone": check.phone(phone)}
        if local_id is not None:
            body["local_id"] = check.local_id(local_id)
        body.update(check.contact_body(given))
        safety = create_safety((body,), self._pipeline.retry)
        return await self._call(CREATE.request(json=body, safety=safety), _ref)

    async def get_contact(self, contact_id: int) -> Contact:
        """The contact with this integer id (``GET /v1/contact/{id}``).

        Raises :class:`NotFoundError` when there is none.
        """
        request = GET.request(id=check.contact_id(contact_id))
        return await self._call(request, structure_contact)

    async def get_contact_by_phone(self, phone: str) -> Contact:
        """The contact with this phone number (``POST /v1/contact/get``), normalized first."""
        request = GET_BY_PHONE.request(json={"phone": check.phone(phone)})
        return await self._call(request, structure_contact)

    @contact_fields_signature
    async def update_contact(
        self,
        contact_id: int,
        phone: str,
        *,
        overwrite: bool = False,
        **fields: Unpack[ContactFields],
    ) -> ContactRef:
        """Update a contact (``PUT /v1/contact/{id}?overwrite=...``).

        The API requires ``phone`` and overwrites the names whatever else is given.
        ``overwrite=False`` merges ``custom`` into the stored values; ``True`` replaces them.
        Retried like any idempotent write.
        """
        given = given_fields("update_contact", fields)
        cid = check.contact_id(contact_id)
        query = _overwrite(overwrite)
        body = {"phone": check.phone(phone)}
        body.update(check.contact_body(given))
        return await self._call(UPDATE.request(id=cid, json=body, query=query), _ref)

    async def delete_contact(self, contact_id: int) -> None:
        """Delete a contact for good (``DELETE /v1/contact/{id}``)."""
        await self._call(DELETE.request(id=check.contact_id(contact_id)), ignore)

    async def list_contacts(self, *, date: datetime | str | None = None) -> list[Contact]:
        """One page (up to 30) of ``POST /v1/contacts``; ``date`` is the cursor.

        To walk every contact, use :meth:`iter_contacts`, which picks the cursors and copes
        with contacts that share an ``updated`` time.
        """
        body = {} if date is None else {"date": check.timestamp(date, "date")}
        return await self._call(LIST.request(json=body), structure_contacts)

    @overload
    def iter_contacts(
        self,
        *,
        since: datetime | str | None = None,
        max_items: int | None = None,
        resume: V1Position | Mapping[str, Any] | str | None = None,
        raw: Literal[False] = False,
    ) -> V1ContactPager[Contact]: ...

    @overload
    def iter_contacts(
        self,
        *,
        since: datetime | str | None = None,
        max_items: int | None = None,
        resume: V1Position | Mapping[str, Any] | str | None = None,
        raw: Literal[True],
    ) -> V1ContactPager[dict[str, Any]]: ...

    @overload
    def iter_contacts(
        self,
        *,
        since: datetime | str | None = None,
        max_items: int | None = None,
        resume: V1Position | Mapping[str, Any] | str | None = None,
        raw: bool,
    ) -> V1ContactPager[Contact] | V1ContactPager[dict[str, Any]]: ...

    def iter_contacts(
        self,
        *,
        since: datetime | str | None = None,
        max_items: int | None = None,
        resume: V1Position | Mapping[str, Any] | str | None = None,
        raw: bool = False,
    ) -> V1ContactPager[Any]:
        """Every contact, through the v1 ``updated`` cursor: ``async for c in hm.iter_contacts()``.

        Exactly once on unchanging data, whatever the list's order and the cursor's semantics;
        see :class:`V1ContactPager` and ``docs/pagination.md``. ``since`` (an aware datetime or
        an RFC 3339 string) keeps the contacts updated after it; ``max_items`` caps how many
        come out; ``resume`` is a saved ``position`` (a :class:`V1Position`, its ``to_dict()``
        or its ``to_json()``). ``raw=True`` hands out each contact as the JSON object the API
        sent (a ``dict``, every key kept, nothing converted; read-only: the walk's
        ``position`` reads its ``id`` and ``updated``) instead of a :class:`Contact`, with the
        same bookkeeping, positions and ``pages()``. Nothing is sent until the first contact
        is asked for. Arguments are checked here (:class:`InvalidRequestError`).
        """
        return V1ContactPager(
            self._fetch(LIST, typed=not raw),
            self._fetch(V2_LIST, typed=not raw),
            scrub=self._pipeline.scrub_text,
            since=since,
            max_items=max_items,
            resume=resume,
            raw=raw,
        )

    async def count_contacts(self, *, since: datetime | str | None = None) -> int:
        """How many contacts the team has (``POST /v1/contacts/count``).

        With ``since``, only those updated after it.
        """
        body = {} if since is None else {"date": check.timestamp(since, "since")}
        return await self._call(COUNT.request(json=body), structure_count)

    async def batch_create_contacts(
        self,
        contacts: Iterable[Mapping[str, Any]],
        *,
        overwrite: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> BulkResult[None]:
        """Create many contacts through ``POST /v1/batch/contacts?overwrite=...``.

        Each item is a mapping of the arguments :meth:`create_contact` takes
        (``{"phone": "15105553344", "first": "Ada", "tags": [55], "local_id": "crm-7"}``); every
        item is checked before anything is sent. The items go in requests of ``batch_size``
        (default 100; the API documents no maximum), at most as many at once as the client's
        ``max_concurrency``, through its rate limiter. ``overwrite`` is the API's flag.

        Returns a :class:`BulkResult` with one :class:`BulkItem` per input item, in input order:
        failed (the API listed it as failed, matched by phone, or its batch was refused),
        unknown (its batch may have been applied: a 5xx or a dropped connection) or succeeded.
        A batch is never sent twice once it may have been applied, unless every item of it
        has a ``local_id``: then it is retried like an idempotent write (see
        :class:`RetryPolicy`'s ``retry_creates_with_local_id``). Raises only
        :class:`InvalidRequestError`, before sending.
        """
        items = check.items(contacts, "contacts")
        bodies = await check.v1_batch_contacts(items)
        query = _overwrite(overwrite)
        policy = self._pipeline.retry
        return await self._batches(
            BATCH_CREATE,
            items,
            bodies,
            batch_size,
            failures_answer,
            phone_keys,
            query=query,
            safety_of=lambda batch: create_safety(batch, policy),
        )

    async def patch_contact(self, contact_id: int, **changes: Any) -> ContactRef:
        """Change only some fields of a contact, keeping the others: read, merge, write.

        ``changes`` are the keyword arguments of :meth:`update_contact` (``phone``, ``first``,
        ``custom``...; ``custom`` is merged key by key). ``PUT /v1/contact/{id}`` needs the
        phone and overwrites the names whether given or not, so the contact is read first
        (``GET``) and the write carries its current phone, names, email, avatar, assignee,
        tags and opt-out with the changes applied.

        A concurrent change is reported, not hidden: the API has no conditional write, so the
        write's ``rev`` is compared with the one read, and if anyone else wrote the contact in
        between (``rev`` moved by more than one), :class:`ConcurrentModificationError` is
        raised. It is raised after the write was applied (read the contact again and decide);
        a change made between the read and the write to a field this write re-sent was
        overwritten. When the API gives no ``rev``, no check can be made. The SDK does not
        repeat the write once it may have been applied (a repeat would move ``rev`` too). (An
        aiohttp session of yours, given as ``session=``, resends a ``PUT`` once by itself when a
        pooled connection drops; that rare case is reported as a conflict as well.)
        """
        unknown = sorted(set(changes) - {"phone", *CONTACT_FIELDS})
        if unknown:
            raise InvalidRequestError(unknown[0], "is not a contact field")
        if not changes:
            raise InvalidRequestError("changes", "give at least one field to change")
        cid = check.contact_id(contact_id)
        body: dict[str, Any] = {}
        if "phone" in changes:
            body["phone"] = check.phone(changes["phone"])
        body.update(check.contact_body({k: v for k, v in changes.items() if k != "phone"}))
        # One deadline for the read and the write: ``timeout`` is the whole call's.
        deadline = self._pipeline.deadline()
        current = await self._call(GET.request(id=cid), structure_contact, deadline)
        merged = {**_snapshot(current), **body}
        if merged.get("phone") is None:
            raise InvalidRequestError(
                "phone", "the contact has no phone to keep: give one in the changes"
            )
        write = PATCH_WRITE.request(id=cid, json=merged, query={"overwrite": "false"})
        ref = await self._call(write, _ref, deadline)
        if current.rev is not None and ref.rev is not None and ref.rev != current.rev + 1:
            raise ConcurrentModificationError(
                contact_id=cid,
                read_rev=current.rev,
                written_rev=ref.rev,
                before=current,
                ref=ref,
                url=self._pipeline.base_url + write.path,
            )
        return ref


def _snapshot(contact: Contact) -> dict[str, Any]:
    """The fields of a read contact that a v1 PUT would otherwise overwrite or may clear."""
    out: dict[str, Any] = {}
    for name in ("phone", "first", "last", "display_name", "email", "avatar"):
        value = getattr(contact, name)
        if value is not None:
            out[name] = value
    if contact.assigned_user_id is not None:
        out["assignee_id"] = contact.assigned_user_id
    if contact.tags:
        out["tags"] = [{"tag_id": tag.id} for tag in contact.tags]
    if contact.is_opted_out is not None:
        out["is_opted_out"] = contact.is_opted_out
    return out
