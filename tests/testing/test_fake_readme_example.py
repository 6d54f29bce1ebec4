"""The testing guide's pytest example (docs/guides/testing.md includes it), as printed there."""

# --- guide example starts here ---
import pytest

from heymarket_async import HeymarketClient, NotFoundError

pytest_plugins = ["heymarket_async.testing.pytest_plugin"]  # better: in your conftest.py


# The code under test: yours, taking a client.
async def register(hm: HeymarketClient, phone: str, name: str) -> int:
    """Create the contact unless one with this phone exists; return its id."""
    try:
        return (await hm.get_contact_by_phone(phone)).id
    except NotFoundError:
        return (await hm.create_contact(phone, first=name)).id


@pytest.mark.asyncio
async def test_register_creates_a_contact_once(heymarket_fake, heymarket_client):
    first = await register(heymarket_client, "+1 (510) 555-3344", "Jordan")
    again = await register(heymarket_client, "15105553344", "Jordan")

    assert again == first
    assert heymarket_fake.contacts[first]["first"] == "Jordan"
    assert [r.route for r in heymarket_fake.requests] == [
        "POST /v1/contact/get",  # not found
        "POST /v1/contact",
        "POST /v1/contact/get",  # found
    ]


@pytest.mark.asyncio
async def test_register_survives_a_rate_limit(heymarket_fake, heymarket_client):
    from heymarket_async.testing import Fault

    heymarket_fake.faults.add("POST /v1/contact/get", Fault.rate_limited(retry_after=0), times=1)
    await register(heymarket_client, "15105553344", "Jordan")
    assert len(heymarket_fake.contacts) == 1


# --- guide example ends here ---
