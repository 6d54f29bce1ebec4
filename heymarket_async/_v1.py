"""The v1 contact endpoints (integer contact ids), as methods of ``HeymarketClient``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from . import _validate as check
from ._convert import (
    structure,
    structure_contact,
    structure_contacts,
    structure_count,
    structure_fields,
)
from ._pagination import V1ContactPager, V1Position
from ._wire import Request, Safety
from .models import UNSET, Contact, ContactField, ContactRef, Tag, UnsetType

T = TypeVar("T")

CustomValues = Mapping[int | str, str | int | date | datetime]
Tags = Iterable[int | Tag]


def _ref(data: Any) -> ContactRef:
    return structure(data, ContactRef)


def _ignore(_: Any) -> None:
    return None


class V1Methods:
    """The v1 endpoints; mixed into ``HeymarketClient``, which provides ``_call``."""

    async def _call(self, request: Request, parse: Callable[[Any], T]) -> T:
        raise NotImplementedError

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
        body.update(
            check.contact_body(
                {
                    "first": first,
                    "last": last,
                    "display_name": display_name,
                    "email": email,
                    "custom": custom,
                    "avatar": avatar,
                    "assignee_id": assignee_id,
                    "tags": tags,
                    "is_opted_out": is_opted_out,
                }
            )
        )
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
        body.update(
            check.contact_body(
                {
                    "first": first,
                    "last": last,
                    "display_name": display_name,
                    "email": email,
                    "custom": custom,
                    "avatar": avatar,
                    "assignee_id": assignee_id,
                    "tags": tags,
                    "is_opted_out": is_opted_out,
                }
            )
        )
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
        return V1ContactPager(self._call, since=since, max_items=max_items, resume=resume)

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
