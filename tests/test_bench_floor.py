"""The bound that ``benchmarks/bench_pacing.py`` prints beside its figures counts the requests
of a walk as the SDK's own walk sends them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from heymarket_async.testing import FakeHeymarket

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_pacing import floor, walk_requests


@pytest.mark.parametrize("contacts", [0, 1, 99, 100, 101, 199, 298, 299, 1000, 1090, 1189])
async def test_the_floor_counts_the_requests_a_walk_sends(contacts: int) -> None:
    async with FakeHeymarket() as fake:
        fake.seed(contacts)
        async with fake.client() as hm:
            got = [c.id async for c in hm.v2.iter_contacts(slices=1)]
        assert sorted(got) == sorted(fake.contacts)
        assert len(fake.requests_to("POST /v2/contacts/list")) == walk_requests(contacts)


def test_the_floor_is_two_round_trips_after_the_others_paced() -> None:
    # 30,000 contacts: 304 requests; 302 intervals at 98% of 20 a second, then two round trips.
    assert floor(30_000, 1200, 0.2) == pytest.approx(302 / 19.6 + 0.4)
    assert floor(50, 1200, 0.2) == 0.2
