"""The v1 contact endpoints (integer contact ids), as methods of ``HeymarketClient``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from . import _validate as check
from ._bulk import (
    DEFAULT_BATCH_SIZE,
    ERROR_KEYS,
    OK_WORDS,
    failures_answer,
    phone_keys,
    run_batches,
)
from ._convert import (
    StructureError,
    raw_tags,
    structure,
    structure_contact,
    structure_contacts,
    structure_count,
    structure_fields,
    structure_status,
    structure_tag,
)
from ._redact import mask
from ._sansio import Request, Safety
from .errors import ConcurrentModificationError, InvalidRequestError
from .models import (
    UNSET,
    BulkResult,
    Contact,
    ContactField,
    ContactRef,
    ContactStatus,
    ContactStatusValue,
    Tag,
    UnsetType,
)
from .pagination import TagPager, V1ContactPager, V1Position

T = TypeVar("T")

CustomValues = Mapping[int | str, str | int | date | datetime]
Tags = Iterable[int | Tag]


def _ref(data: Any) -> ContactRef:
    return structure(data, ContactRef)


def _ignore(_: Any) -> None:
    return None


class V1Methods:
    """The v1 endpoints; mixed into ``HeymarketClient``, which provides ``_call``."""

    _max_concurrency: int
    _base_url: str
    _secrets: Iterable[str]
    _log_pii: bool

    async def _call(
        self, request: Request, parse: Callable[[Any], T], deadline: float | None = None
    ) -> T:
        raise NotImplementedError

    def _deadline(self) -> float | None:
        raise NotImplementedError

    def _scrub_text(self, text: str) -> str:
        """``text`` as this client's errors show it: no secret, and no phone or email unless
        ``log_pii``."""
        return mask(text, self._secrets, keep_pii=self._log_pii)

    async def create_contact(
        self,
        phone: str,
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
        """Create a contact (``POST /v1/contact``) and return its id, revision and UUID.

        ``phone`` is normalized to E.164 digits (``"+1 (510) 555-3344"`` -> ``"15105553344"``);
        ``tags`` are at most five ids or :class:`Tag`; ``custom`` maps numeric field ids to
        strings, ints or dates. Arguments not given are left out of the request.

        Never sent twice: retried only when the server refused it (429) or it provably never
        left (a failed connect). Otherwise the error says the contact may have been created.
        """
        body = {"phone": check.phone(phone)}
        body.update(check.contact_body(check.contact_fields(locals())))
        return await self._call(Request("POST", "/v1/contact", Safety.CREATE, body), _ref)

    async def get_contact(self, contact_id: int) -> Contact:
        """The contact with this integer id (``GET /v1/contact/{id}``).

        Raises :class:`NotFoundError` when there is none.
        """
        path = f"/v1/contact/{check.contact_id(contact_id)}"
        return await self._call(Request("GET", path, Safety.READ), structure_contact)

    async def get_contact_by_phone(self, phone: str) -> Contact:
        """The contact with this phone number (``POST /v1/contact/get``), normalized first."""
        body = {"phone": check.phone(phone)}
        return await self._call(
            Request("POST", "/v1/contact/get", Safety.READ, body), structure_contact
        )

    async def update_contact(
        self,
        contact_id: int,
        phone: str,
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
        overwrite: bool = False,
    ) -> ContactRef:
        """Update a contact (``PUT /v1/contact/{id}?overwrite=...``).

        The API requires ``phone`` and overwrites the names whatever else is given.
        ``overwrite=False`` merges ``custom`` into the stored values; ``True`` replaces them.
        Retried like any idempotent write.
        """
        path = f"/v1/contact/{check.contact_id(contact_id)}"
        query = {"overwrite": "true" if check.boolean(overwrite, "overwrite") else "false"}
        body = {"phone": check.phone(phone)}
        body.update(check.contact_body(check.contact_fields(locals())))
        return await self._call(Request("PUT", path, Safety.IDEMPOTENT, body, query), _ref)

    async def delete_contact(self, contact_id: int) -> None:
        """Delete a contact for good (``DELETE /v1/contact/{id}``)."""
        path = f"/v1/contact/{check.contact_id(contact_id)}"
        await self._call(Request("DELETE", path, Safety.IDEMPOTENT), _ignore)

    async def list_contacts(self, *, date: datetime | str | None = None) -> list[Contact]:
        """One page (up to 30) of ``POST /v1/contacts``; ``date`` is the cursor.

        To walk every contact, use :meth:`iter_contacts`, which picks the cursors and copes
        with contacts that share an ``updated`` time.
        """
        body = {} if date is None else {"date": check.timestamp(date, "date")}
        return await self._call(
            Request("POST", "/v1/contacts", Safety.READ, body), structure_contacts
        )

    def iter_contacts(
        self,
        *,
        since: datetime | str | None = None,
        max_items: int | None = None,
        resume: V1Position | Mapping[str, Any] | str | None = None,
    ) -> V1ContactPager:
        """Every contact, through the v1 ``updated`` cursor: ``async for c in hm.iter_contacts()``.

        Exactly once on unchanging data, whatever the list's order and the cursor's semantics;
        see :class:`V1ContactPager` for pages, positions, resuming and changes during a walk.
        ``since`` (an aware datetime or an RFC 3339 string) keeps the contacts updated after it;
        ``max_items`` caps how many come out; ``resume`` is a saved ``position`` (a
        :class:`V1Position`, its ``to_dict()`` or its ``to_json()``). Nothing is sent until the
        first contact is asked for. Arguments are checked here (:class:`InvalidRequestError`).
        """
        return V1ContactPager(
            lambda body, parse: self._call(
                Request("POST", "/v1/contacts", Safety.READ, body), parse
            ),
            lambda body, parse: self._call(
                Request("POST", "/v2/contacts/list", Safety.READ, body), parse
            ),
            scrub=self._scrub_text,
            since=since,
            max_items=max_items,
            resume=resume,
        )

    async def count_contacts(self, *, since: datetime | str | None = None) -> int:
        """How many contacts the team has (``POST /v1/contacts/count``).

        With ``since``, only those updated after it.
        """
        body = {} if since is None else {"date": check.timestamp(since, "since")}
        return await self._call(
            Request("POST", "/v1/contacts/count", Safety.READ, body), structure_count
        )

    async def list_contact_fields(self) -> list[ContactField]:
        """The team's custom contact fields, with the numeric ids that ``custom`` keys use."""
        # The docs send no body, but aiohttp labels an empty POST "application/octet-stream";
        # an empty JSON object says the same thing in the API's own content type.
        return await self._call(
            Request("POST", "/v1/contact-fields", Safety.READ, {}), structure_fields
        )

    # -- status ----------------------------------------------------------------------------

    async def get_contact_status(
        self, contact_id: int | None = None, *, phone: str | None = None
    ) -> ContactStatus:
        """Whether a contact is unsubscribed or blocked (``POST /v1/contact/status``).

        Give exactly one of ``contact_id`` and ``phone`` (normalized like everywhere else).
        """
        body = check.contact_lookup(contact_id, phone)
        return await self._call(
            Request("POST", "/v1/contact/status", Safety.READ, body), structure_status
        )

    async def set_contact_status(
        self,
        contact_id: int | None = None,
        *,
        phone: str | None = None,
        status: ContactStatusValue | str,
    ) -> None:
        """Set a contact's status (``POST /v1/contact/set_status``).

        ``status`` is a :class:`ContactStatusValue` or its string: ``"active"``,
        ``"blocked"``, ``"unblocked"``, ``"subscribed"`` or ``"unsubscribed"``. Give exactly
        one of ``contact_id`` and ``phone``. Setting a status twice leaves the same state, so it
        is retried like an idempotent write.
        """
        body = check.contact_lookup(contact_id, phone)
        body["status"] = check.status(status)
        await self._call(
            Request("POST", "/v1/contact/set_status", Safety.IDEMPOTENT, body), _ignore
        )

    # -- custom fields ---------------------------------------------------------------------

    async def create_contact_fields(self, titles: Iterable[str]) -> list[ContactField]:
        """Define new custom contact fields (``POST /v1/contacts/fields``, ``[{"title": ...}]``).

        Returns the fields the API answers with (their ids are the keys of ``custom``), or an
        empty list when it answers without them: :meth:`list_contact_fields` then has the ids.
        Never sent twice, like a create.
        """
        body = check.field_titles(titles)
        return await self._call(
            Request("POST", "/v1/contacts/fields", Safety.CREATE, body), _created_fields
        )

    # -- batch create ----------------------------------------------------------------------

    async def batch_create_contacts(
        self,
        contacts: Iterable[Mapping[str, Any]],
        *,
        overwrite: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> BulkResult[None]:
        """Create many contacts through ``POST /v1/batch/contacts?overwrite=...``.

        Each item is a mapping of the arguments :meth:`create_contact` takes
        (``{"phone": "15105553344", "first": "Ada", "tags": [55]}``); every item is checked
        before anything is sent. The items go in requests of ``batch_size`` (default 100; the
        API documents no maximum), at most as many at once as the client's
        ``max_concurrency``, through its rate limiter. ``overwrite`` is the API's flag, passed
        as it is.

        Returns a :class:`BulkResult` with one :class:`BulkItem` per input item, in input order:
        failed (the API listed it as failed, matched by phone, or its batch was refused),
        unknown (its batch may have been applied: a 5xx or a dropped connection; a batch is
        never sent twice) or succeeded. Raises only :class:`InvalidRequestError`, before
        sending.
        """
        items = check.items(contacts, "contacts")
        bodies = check.v1_batch_contacts(items)
        query = {"overwrite": "true" if check.boolean(overwrite, "overwrite") else "false"}
        size = check.batch_size(batch_size)

        async def send(batch: list[Any]) -> Any:
            request = Request("POST", "/v1/batch/contacts", Safety.CREATE, batch, query)
            return await self._call(request, failures_answer)

        return await run_batches(
            items,
            bodies,
            batch_size=size,
            workers=self._max_concurrency,
            send=send,
            keys=phone_keys,
        )

    # -- tags ------------------------------------------------------------------------------

    async def create_tag(self, name: str, *, color: str | None | UnsetType = UNSET) -> Tag:
        """Create a tag (``POST /v1/tag``); never sent twice, like a contact create."""
        body = check.tag_body(name, color)
        return await self._call(Request("POST", "/v1/tag", Safety.CREATE, body), structure_tag)

    async def get_tag(self, tag_id: int) -> Tag:
        """The tag with this id (``GET /v1/tag/{id}``); :class:`NotFoundError` if none."""
        path = f"/v1/tag/{check.tag_id(tag_id)}"
        return await self._call(Request("GET", path, Safety.READ), structure_tag)

    async def delete_tag(self, tag_id: int) -> None:
        """Delete a tag (``DELETE /v1/tag/{id}``)."""
        path = f"/v1/tag/{check.tag_id(tag_id)}"
        await self._call(Request("DELETE", path, Safety.IDEMPOTENT), _ignore)

    async def list_tags(self, *, date: datetime | str | None = None) -> list[Tag]:
        """One page of the team's tags (``POST /v1/tags``); ``date`` is the list's cursor.

        To walk them all, use :meth:`iter_tags`.
        """
        body = {} if date is None else {"date": check.timestamp(date, "date")}
        return await self._call(Request("POST", "/v1/tags", Safety.READ, body), _structure_tag_page)

    def iter_tags(self) -> TagPager:
        """Every tag, page by page through the ``date`` cursor: ``async for t in hm.iter_tags()``.

        See :class:`TagPager` for how the cursor is followed; nothing is sent until the first
        tag is asked for.
        """
        return TagPager(
            lambda body, parse: self._call(Request("POST", "/v1/tags", Safety.READ, body), parse)
        )

    # -- a safe partial update -------------------------------------------------------------

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
        unknown = sorted(set(changes) - {"phone", *check.CONTACT_FIELDS})
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
        deadline = self._deadline()
        path = f"/v1/contact/{cid}"
        current = await self._call(Request("GET", path, Safety.READ), structure_contact, deadline)
        merged = {**_snapshot(current), **body}
        if merged.get("phone") is None:
            raise InvalidRequestError(
                "phone", "the contact has no phone to keep: give one in the changes"
            )
        # CREATE: sent again only when it provably never arrived, since a second write would
        # move the rev and pass for someone else's change.
        request = Request("PUT", path, Safety.CREATE, merged, {"overwrite": "false"})
        ref = await self._call(request, _ref, deadline)
        if current.rev is not None and ref.rev is not None and ref.rev != current.rev + 1:
            raise ConcurrentModificationError(
                contact_id=cid,
                read_rev=current.rev,
                written_rev=ref.rev,
                before=current,
                ref=ref,
                url=self._base_url + path,
            )
        return ref


def _created_fields(data: Any) -> list[ContactField]:
    if data is None or (isinstance(data, str) and data.strip().lower() in OK_WORDS):
        return []  # "ok", "success": created, ids not given
    if isinstance(data, str) or (
        isinstance(data, Mapping)
        and "fields" not in data
        and "contact_fields" not in data
        and any(data.get(key) for key in ERROR_KEYS)
    ):
        raise StructureError("fields", f"an answer that reads as an error: {data!r:.200}")
    return structure_fields(data)


def _structure_tag_page(data: Any) -> list[Tag]:
    return [structure_tag(item) for item in raw_tags(data)]


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
