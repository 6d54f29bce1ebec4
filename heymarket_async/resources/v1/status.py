"""The v1 contact status endpoints: unsubscribed, blocked."""

from __future__ import annotations

from heymarket_async import _validate as check
from heymarket_async._convert import structure_status
from heymarket_async._sansio import Endpoint, Safety
from heymarket_async.models import ContactStatus, ContactStatusValue
from heymarket_async.resources._base import Resource, ignore

GET = Endpoint("POST", "/v1/contact/status", Safety.READ)
#: Setting a status twice leaves the same state.
SET = Endpoint("POST", "/v1/contact/set_status", Safety.IDEMPOTENT)


class V1ContactStatus(Resource):
    """Whether a contact is unsubscribed or blocked, and setting it."""

    async def get_contact_status(
        self, contact_id: int | None = None, *, phone: str | None = None
    ) -> ContactStatus:
        """Whether a contact is unsubscribed or blocked (``POST /v1/contact/status``).

        Give exactly one of ``contact_id`` and ``phone`` (normalized like everywhere else).
        """
        body = check.contact_lookup(contact_id, phone)
        return await self._call(GET.request(json=body), structure_status)

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
        await self._call(SET.request(json=body), ignore)
