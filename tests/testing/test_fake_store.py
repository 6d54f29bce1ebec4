"""The contact store: its index answers every list query exactly as a brute-force model does."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heymarket_async.testing import FakeClock
from heymarket_async.testing._clock import to_micros
from heymarket_async.testing._seed import ID_BITS, ID_MASK
from heymarket_async.testing._store import SEEDED_CACHE_LIMIT, ContactStore, TagStore, channels_of

T0 = to_micros(datetime(2026, 5, 7, 12, tzinfo=timezone.utc))
MS = 1000


def new_store(fmt: str = "milliseconds") -> ContactStore:
    return ContactStore(
        clock=FakeClock(datetime(2026, 6, 1, tzinfo=timezone.utc), frozen=True),
        timestamp_format=fmt,
    )


def model_order(store: ContactStore, times: dict[int, int]) -> list[tuple[int, int]]:
    return sorted((t // store.resolution * store.resolution, i) for i, t in times.items())


def expected_v1(
    rows: list[tuple[int, int]], date: int | None, newest: bool, inclusive: bool, size: int
) -> list[int]:
    if newest:
        keep = [r for r in rows if date is None or (r[0] <= date if inclusive else r[0] < date)]
        return [i for _, i in reversed(keep)][:size]
    keep = [r for r in rows if date is None or (r[0] >= date if inclusive else r[0] > date)]
    return [i for _, i in keep][:size]


operations = st.lists(
    st.one_of(
        st.tuples(st.just("seed"), st.integers(0, 40), st.integers(1, 6), st.integers(0, 3)),
        st.tuples(st.just("create"), st.integers(0, 8), st.just(0), st.just(0)),
        st.tuples(st.just("touch"), st.integers(0, 200), st.integers(0, 8), st.just(0)),
        st.tuples(st.just("delete"), st.integers(0, 200), st.just(0), st.just(0)),
    ),
    max_size=12,
)


class TestIndexAgainstAModel:
    @settings(max_examples=60, deadline=None)
    @given(ops=operations, size=st.integers(1, 7), fmt=st.sampled_from(["milliseconds", "seconds"]))
    def test_every_query_matches_brute_force(
        self, ops: list[tuple[str, int, int, int]], size: int, fmt: str
    ) -> None:
        store = new_store(fmt)
        times: dict[int, int] = {}
        for op, a, b, c in ops:
            if op == "seed":
                # Seeded times step by 0.5 s: in "seconds", pairs render alike and tie.
                start = T0 + c * 1_500_000
                for i in store.seed(a, seed=c, start=start, step=500_000, ties=b):
                    times[i] = store.get(i).updated  # type: ignore[union-attr]
            elif op == "create":
                record = store.create({"phone": "15105553344"}, updated=T0 + a * 700_000)
                times[record.id] = record.updated
            elif times:
                target = sorted(times)[a % len(times)]
                if op == "touch":
                    store.replace(target, {"first": "x"}, updated=T0 + b * 700_000)
                    times[target] = T0 + b * 700_000
                else:
                    store.delete(target)
                    del times[target]
        rows = model_order(store, times)
        assert list(store.ids()) == [i for _, i in rows]
        assert len(store) == len(times)
        dates: list[int | None] = [None, T0 - 1, T0 + 100 * 1_000_000]
        for visible, _ in rows:
            dates += [visible - 1, visible, visible + 1]
        for date in dates:
            for newest in (True, False):
                for inclusive in (True, False):
                    got = store.v1_page(date, newest_first=newest, inclusive=inclusive, size=size)
                    assert got == expected_v1(rows, date, newest, inclusive, size)
            after = [i for t, i in rows if date is None or t > date]
            assert store.count_after(date) == len(after)
            for page in range(3):
                up = store.v2_page(date, limit=size, page=page, ascending=True)
                down = store.v2_page(date, limit=size, page=page, ascending=False)
                assert up == after[page * size : (page + 1) * size]
                assert down == after[::-1][page * size : (page + 1) * size]
        for contact_id in times:
            assert json.loads(store.render(contact_id))["id"] == contact_id


class TestWrites:
    def test_create_stamps_the_clock_and_counts_ids_up(self) -> None:
        store = new_store()
        a = store.create({"phone": "1"})
        b = store.create({"phone": "2"})
        assert (a.id, b.id, a.rev) == (1, 2, 1)
        assert a.created == a.updated == to_micros(datetime(2026, 6, 1, tzinfo=timezone.utc))
        assert a.uuid != b.uuid

    def test_uuids_are_deterministic_per_seed(self) -> None:
        assert new_store().create({}).uuid == new_store().create({}).uuid

    def test_an_existing_id_is_refused(self) -> None:
        store = new_store()
        store.create({}, contact_id=5)
        with pytest.raises(ValueError, match="already exists"):
            store.create({}, contact_id=5)
        assert store.create({}).id == 6

    @pytest.mark.parametrize("contact_id", [0, -1, 1 << ID_BITS, 1 << 60, True, "7"])
    def test_an_id_the_index_cannot_pack_is_refused(self, contact_id: Any) -> None:
        store = new_store()
        with pytest.raises(ValueError, match="contact id must be an int from 1 to"):
            store.create({}, contact_id=contact_id)
        assert len(store) == 0
        assert store.create({}).id == 1

    def test_the_highest_id_is_taken_and_then_no_more(self) -> None:
        store = new_store()
        store.create({}, contact_id=ID_MASK)
        assert store.v1_page(None, newest_first=True, inclusive=False, size=5) == [ID_MASK]
        with pytest.raises(ValueError, match="contact id must be an int from 1 to"):
            store.create({})
        assert len(store) == 1

    def test_replace_invalidates_the_rendered_json(self) -> None:
        store = new_store()
        record = store.create({"first": "A"})
        assert json.loads(store.render(record.id))["first"] == "A"
        store.replace(record.id, {"first": "B"})
        assert store.as_json(record.id)["first"] == "B"
        assert store.as_json(record.id)["rev"] == 2

    def test_writing_a_seeded_contact_copies_it(self) -> None:
        store = new_store()
        store.seed(5, seed=0, start=T0, step=1_000_000, ties=1)
        before = store.as_json(3)
        old_phone = before["phone"]
        fields = store.get(3).fields  # type: ignore[union-attr]
        store.replace(3, {**fields, "phone": "15105550000"})
        after = store.as_json(3)
        assert after["rev"] == before["rev"] + 1
        assert after["uuid"] == before["uuid"]
        assert store.find_channel("phone", old_phone) == [3], "the old channel was kept here"
        assert store.find_channel("phone", "15105550000") == [3]
        assert store.id_for_uuid(before["uuid"]) == 3
        assert list(store.ids())[-1] == 3

    def test_unknown_ids(self) -> None:
        store = new_store()
        assert store.get(1) is None
        assert 1 not in store
        with pytest.raises(KeyError):
            store.render(1)
        with pytest.raises(KeyError):
            store.replace(1, {})
        with pytest.raises(KeyError):
            store.delete(1)

    def test_delete_a_seeded_contact_removes_its_lookups(self) -> None:
        store = new_store()
        store.seed(5, seed=0, start=T0, step=1_000_000, ties=1)
        contact = store.as_json(2)
        store.delete(2)
        assert 2 not in store
        assert store.get(2) is None
        assert store.find_channel("phone", contact["phone"]) == []
        assert store.find_channel("email", contact["email"]) == []
        assert store.id_for_uuid(contact["uuid"]) is None

    def test_deleting_a_created_contact_removes_its_lookups(self) -> None:
        store = new_store()
        record = store.create({"phone": "15105553344", "email": "a@b.co"})
        store.delete(record.id)
        assert store.find_channel("phone", "15105553344") == []
        assert store.id_for_uuid(record.uuid) is None

    def test_seeding_under_existing_contacts_merges_the_index(self) -> None:
        store = new_store()
        late = store.create({}, updated=T0 + 10_000_000)
        seeded = store.seed(3, seed=0, start=T0, step=1_000_000, ties=1)
        assert list(store.ids()) == [*seeded, late.id]

    def test_seed_arguments_are_checked(self) -> None:
        store = new_store()
        with pytest.raises(ValueError, match="count"):
            store.seed(-1, seed=0, start=T0, step=1, ties=1)
        with pytest.raises(ValueError, match="seeded ids stop"):
            store.seed(10_000_000, seed=0, start=T0, step=1, ties=1)
        assert store.seed(0, seed=0, start=T0, step=1, ties=1) == range(1, 1)

    def test_the_seeded_render_cache_is_bounded(self) -> None:
        store = new_store()
        assert store.seeded_cache_limit == SEEDED_CACHE_LIMIT
        store.seeded_cache_limit = 10
        store.seed(25, seed=0, start=T0, step=1000, ties=1)
        first = store.render_list(range(1, 26))
        assert len(store._seeded_cache) <= 10
        assert store.render_list(range(1, 26)) == first


class TestLookups:
    def test_find_channel_on_created_and_seeded(self) -> None:
        store = new_store()
        store.seed(10, seed=3, start=T0, step=1, ties=1)
        record = store.create(
            {"contact_channels": [{"channel_type": "whatsapp", "channel_id": "x1"}]}
        )
        assert store.find_channel("whatsapp", "x1") == [record.id]
        seeded = store.as_json(7)
        assert store.find_channel("phone", seeded["phone"]) == [7]
        assert store.find_channel("email", seeded["email"]) == [7]
        assert store.find_channel("facebook", seeded["phone"]) == []
        assert store.id_for_uuid(seeded["uuid"]) == 7
        assert store.id_for_uuid("not-a-uuid-at-all") is None

    def test_duplicate_phones_are_allowed_and_found_lowest_first(self) -> None:
        store = new_store()
        a = store.create({"phone": "15105553344"})
        b = store.create({"phone": "15105553344"})
        assert store.find_channel("phone", "15105553344") == [a.id, b.id]

    def test_channels_of_adds_phone_and_email(self) -> None:
        fields: dict[str, Any] = {
            "phone": "1",
            "email": "e@x",
            "contact_channels": [{"channel_type": "phone", "channel_id": "1"}],
        }
        assert channels_of(fields) == [("phone", "1"), ("email", "e@x")]


class TestTagStore:
    def new(self) -> tuple[TagStore, FakeClock]:
        clock = FakeClock(datetime(2026, 6, 1, tzinfo=timezone.utc), frozen=True)
        return TagStore(clock=clock), clock

    def test_pages_newest_first_with_an_exclusive_date_and_id_ties(self) -> None:
        store, clock = self.new()
        ids = []
        for step in (0, 1, 0, 2):  # the second and third tags share a time
            clock.advance(step)
            ids.append(store.create(f"t{len(ids)}"))
        assert store.page(None, 10) == [ids[3], ids[2], ids[1], ids[0]]
        cursor = store._tags[ids[2]]["updated"]
        assert store.page(cursor, 10) == [ids[0]]
        assert store.page(None, 2) == [ids[3], ids[2]]

    def test_create_with_an_id_delete_and_render(self) -> None:
        store, _ = self.new()
        assert store.create("a", "#fff", tag_id=40) == 40
        assert store.create("b") == 41
        with pytest.raises(ValueError, match="exists"):
            store.create("c", tag_id=40)
        assert store.as_json(40) == {
            "id": 40,
            "name": "a",
            "color": "#fff",
            "created": "2026-06-01T00:00:00.000Z",
            "updated": "2026-06-01T00:00:00.000Z",
        }
        store.delete(40)
        assert 40 not in store
        assert len(store) == 1
        with pytest.raises(KeyError):
            store.delete(40)
