"""What mypy sees of contact ids: checked by ``mypy --strict`` in
``test_contact_ids.py::TestTyping`` (never run; the ``assert_type`` calls are for the checker).

A ``# type: ignore[...]`` here marks a line that must be an error: ``--strict`` reports an
ignore that is not needed, so the check fails if the line stops being one.
"""

from __future__ import annotations

from datetime import datetime

from typing_extensions import assert_type

from heymarket_async import Contact, ContactRef, HeymarketClient, NotFoundError


async def reads(hm: HeymarketClient) -> None:
    c = await hm.get_contact(1)
    n: int = c.id  # no assert needed
    assert_type(n, int)
    assert_type((await hm.get_contact_by_phone("15105553344")).id, int)
    assert_type((await hm.v2.get_contact("a1b2c3d4-e5f6-7890-abcd-ef1234567890")).id, int)
    assert_type([c.id for c in await hm.list_contacts()], list[int])
    assert_type([c.id for c in await hm.v2.search_contacts("ada@example.com")], list[int])
    async for contact in hm.iter_contacts():
        assert_type(contact.id, int)
    async for contact in hm.v2.iter_contacts():
        assert_type(contact.id, int)
    # What a response may leave out stays optional.
    assert_type(c.uuid, str | None)
    assert_type(c.phone, str | None)
    assert_type(c.updated, datetime | None)
    assert_type(c.rev, int | None)


async def writes(hm: HeymarketClient) -> None:
    ref = await hm.create_contact("15105553344")
    assert_type(ref, ContactRef)
    assert_type(ref.id, int)
    assert_type(ref.uuid, str | None)


# Code under test as the README's testing example had it (no assert needed for the id).
async def register(hm: HeymarketClient, phone: str, name: str) -> int:
    """Create the contact unless one with this phone exists; return its id."""
    try:
        return (await hm.get_contact_by_phone(phone)).id
    except NotFoundError:
        return (await hm.create_contact(phone, first=name)).id


def built_by_hand() -> None:
    Contact(id=1, first="Ada")
    Contact(first="Ada")  # type: ignore[call-arg]
