"""Testing your own code against the emulator, with the SDK's pytest plugin.

    pip install heymarket-async pytest pytest-asyncio
    pytest -p heymarket_async.testing.pytest_plugin examples/test_with_the_emulator.py

(or ``pytest_plugins = ["heymarket_async.testing.pytest_plugin"]`` in your top-level
conftest.py). The plugin's fixtures: ``heymarket_fake``, a started emulator (API key
``"test"``) on 127.0.0.1, and ``heymarket_client``, a client bound to it; both are closed
after each test.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from heymarket_async import HeymarketClient
from heymarket_async.testing import FakeHeymarket, Fault


# The code under test: yours. It takes a client, so a test hands it one bound to the emulator.
async def import_customers(
    hm: HeymarketClient, customers: Iterable[tuple[str, str, str]]
) -> dict[str, int]:
    """Create a contact for each ``(crm_id, phone, name)``; returns crm_id -> contact id.

    The CRM id is the contact's ``local_id``, so an import run twice updates the same
    contacts instead of making new ones.
    """
    ids: dict[str, int] = {}
    for crm_id, phone, name in customers:
        ref = await hm.create_contact(phone, first=name, local_id=crm_id)
        ids[crm_id] = ref.id
    return ids


CUSTOMERS = [("crm-1", "+1 (510) 555-3344", "Jordan"), ("crm-2", "15105550199", "Sam")]


@pytest.mark.asyncio
async def test_an_import_run_twice_makes_each_contact_once(
    heymarket_fake: FakeHeymarket, heymarket_client: HeymarketClient
) -> None:
    first = await import_customers(heymarket_client, CUSTOMERS)
    again = await import_customers(heymarket_client, [("crm-1", "15105553344", "Jo")])

    assert again["crm-1"] == first["crm-1"]
    assert len(heymarket_fake.contacts) == 2
    assert heymarket_fake.contacts[first["crm-1"]]["first"] == "Jo"
    # What went over the wire: three creates, the phone normalized, the CRM id as local_id.
    sent = [r.json for r in heymarket_fake.requests_to("POST /v1/contact")]
    assert sent == [
        {"phone": "15105553344", "local_id": "crm-1", "first": "Jordan"},
        {"phone": "15105550199", "local_id": "crm-2", "first": "Sam"},
        {"phone": "15105553344", "local_id": "crm-1", "first": "Jo"},
    ]


@pytest.mark.asyncio
async def test_an_import_waits_out_a_rate_limit(
    heymarket_fake: FakeHeymarket, heymarket_client: HeymarketClient
) -> None:
    # The second create is refused once with a 429; the client waits (0 s here) and retries.
    heymarket_fake.faults.add("POST /v1/contact", Fault.rate_limited(retry_after=0), on=[2])

    ids = await import_customers(heymarket_client, CUSTOMERS)

    assert sorted(ids) == ["crm-1", "crm-2"]
    assert len(heymarket_fake.contacts) == 2
    statuses = [r.status for r in heymarket_fake.requests_to("POST /v1/contact")]
    assert statuses == [200, 429, 200]
