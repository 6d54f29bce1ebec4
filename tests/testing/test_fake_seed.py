"""Seeded contacts: deterministic, realistic, valid, and rendered exactly like stored ones."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async._validate import phone as sdk_phone
from heymarket_async.testing import FakeHeymarket
from heymarket_async.testing._clock import to_micros
from heymarket_async.testing._rules import contact_fields
from heymarket_async.testing._seed import ID_BITS, MAX_SEEDED_ID, SeedBlock, mix, updated_keys
from heymarket_async.testing._store import Record

T0 = to_micros(datetime(2025, 1, 1, tzinfo=timezone.utc))


def block(n: int = 100, *, seed: int = 0, fmt: str = "milliseconds", first: int = 1) -> SeedBlock:
    keys = updated_keys(first, n, T0, 1_000_000, 1, 1000)
    return SeedBlock(first, keys, seed=seed, field_ids=(123, 456), fmt=fmt)


class TestUpdatedKeys:
    def test_one_time_per_contact(self) -> None:
        keys = updated_keys(1, 3, T0, 1_000_000, 1, 1)
        assert [k >> ID_BITS for k in keys] == [T0, T0 + 1_000_000, T0 + 2_000_000]
        assert [k & ((1 << ID_BITS) - 1) for k in keys] == [1, 2, 3]

    def test_groups_of_ties(self) -> None:
        keys = updated_keys(1, 7, T0, 10, 3, 1)
        assert [(k >> ID_BITS) - T0 for k in keys] == [0, 0, 0, 10, 10, 10, 20]

    def test_a_pattern_repeats(self) -> None:
        keys = updated_keys(1, 9, T0, 10, [1, 3], 1)
        assert [(k >> ID_BITS) - T0 for k in keys] == [0, 10, 10, 10, 20, 30, 30, 30, 40]

    def test_times_are_truncated_to_the_resolution(self) -> None:
        keys = updated_keys(1, 3, T0 + 999, 400, 1, 1000)
        assert [(k >> ID_BITS) - T0 for k in keys] == [0, 1000, 1000]

    @pytest.mark.parametrize("ties", [0, [], [1, 0], True, [2.5]])
    def test_bad_patterns(self, ties: object) -> None:
        with pytest.raises(ValueError, match="tie_group_size"):
            updated_keys(1, 3, T0, 1, ties, 1)  # type: ignore[arg-type]

    def test_negative_step(self) -> None:
        with pytest.raises(ValueError, match="step"):
            updated_keys(1, 3, T0, -1, 1, 1)


class TestSeedBlock:
    @given(
        contact_id=st.integers(1, 5000),
        seed=st.integers(0, 2**32),
        fmt=st.sampled_from(["milliseconds", "seconds", "microseconds"]),
    )
    def test_the_template_renders_what_a_stored_record_would(
        self, contact_id: int, seed: int, fmt: str
    ) -> None:
        b = block(5000, seed=seed, fmt=fmt)
        created, updated, rev = b.times(contact_id)
        record = Record(contact_id, b.uuid(contact_id), b.fields(contact_id), created, updated, rev)
        assert json.loads(b.render(contact_id)) == record.to_json(fmt)

    @given(contact_id=st.integers(1, MAX_SEEDED_ID), seed=st.integers(0, 1000))
    def test_generated_values_pass_the_apis_checks(self, contact_id: int, seed: int) -> None:
        b = SeedBlock(
            contact_id, [T0 << ID_BITS | contact_id], seed=seed, field_ids=(1, 2), fmt="seconds"
        )
        fields = b.fields(contact_id)
        body = {k: fields[k] for k in ("phone", "first", "last", "email", "custom", "tags")}
        assert contact_fields(body, phone_required=True)["phone"] == fields["phone"]
        assert sdk_phone(fields["phone"]) == fields["phone"]
        assert b.id_for_phone(fields["phone"]) == contact_id
        assert b.id_for_email(fields["email"]) == contact_id
        assert b.id_for_uuid(b.uuid(contact_id)) == contact_id
        assert len(fields["tags"]) <= 3

    def test_lookups_outside_the_block(self) -> None:
        b = block(10)
        other = block(10, seed=1)
        assert b.id_for_phone("15105553344") is None
        assert b.id_for_phone(other.phone(3)) in (None, 3)
        assert b.id_for_uuid(other.uuid(3)) is None
        assert b.id_for_uuid("zzzz") is None
        assert b.id_for_email("someone@example.com") is None
        assert b.id_for_email(block(30).fields(25)["email"]) is None

    def test_deterministic_and_seed_dependent(self) -> None:
        assert block(seed=4).render(7) == block(seed=4).render(7)
        assert block(seed=4).render(7) != block(seed=5).render(7)

    def test_realistic_variety(self) -> None:
        b = block(1000)
        contacts = [b.fields(i) for i in range(1, 1001)]
        assert len({c["first"] for c in contacts}) > 20
        assert len({c["phone"] for c in contacts}) == 1000
        assert any(c["phone"].startswith("44") for c in contacts)
        assert any(c["is_opted_out"] for c in contacts)
        assert any(c["tags"] for c in contacts)
        assert any(not c["tags"] for c in contacts)
        assert {c["custom"]["123"] for c in contacts} == {
            "Free",
            "Starter",
            "Premium",
            "Enterprise",
        }

    def test_mix_spreads(self) -> None:
        assert len({mix(i) % 1000 for i in range(1000)}) > 600


class TestFakeSeed:
    async def test_seed_options(self) -> None:
        async with FakeHeymarket() as fake:
            ids = fake.seed(
                6, tie_group_size=2, start=datetime(2026, 1, 1, tzinfo=timezone.utc), step=60
            )
            assert ids == range(1, 7)
            times = [fake.contacts[i]["updated"] for i in ids]
            assert times == [
                "2026-01-01T00:00:00.000Z",
                "2026-01-01T00:00:00.000Z",
                "2026-01-01T00:01:00.000Z",
                "2026-01-01T00:01:00.000Z",
                "2026-01-01T00:02:00.000Z",
                "2026-01-01T00:02:00.000Z",
            ]
            assert fake.seed(2) == range(7, 9), "a second call continues the ids"

    async def test_a_million_contacts_seed_fast_and_serve_pages(self) -> None:
        async with FakeHeymarket() as fake, fake.client() as hm:
            started = time.process_time()
            fake.seed(1_000_000)
            assert time.process_time() - started < 10.0  # about 0.2 s; generous for slow CI
            page = await hm.list_contacts()
            assert [c.id for c in page] == list(range(1_000_000, 999_970, -1))
            assert await hm.count_contacts() == 1_000_000
            found = await hm.get_contact_by_phone(fake.contacts[123_456]["phone"])
            assert found.id == 123_456
