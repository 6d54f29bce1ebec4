"""Typed models keep what they do not know: ``Contact.extra`` and ``Tag.extra`` hold the keys of
the API's object that the SDK has no field for, read-only, with their values as decoded."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async import Contact, ContactChannel, Tag
from heymarket_async._convert import CONVERTER, StructureError, structure_contact, structure_tag
from heymarket_async.testing import FakeHeymarket

#: Keys the SDK has no field for, with values of every JSON kind.
UNKNOWN: dict[str, Any] = {
    "loyalty": {"tier": "gold", "points": [1, 2.5, None, True]},
    "zz_flag": False,
    "last_seen": "2026-05-07T12:00:00.123Z",  # text that looks like a time stays text
    "score": 12,
}
KNOWN_KEYS = {a.name for a in attrs.fields(Contact)} - {"extra"}


class TestContactExtra:
    def test_unknown_keys_are_kept_with_their_values_as_decoded(self) -> None:
        data = {"id": 7, "first": "Ada", "updated": "2026-05-07T12:00:00Z", **UNKNOWN}
        contact = structure_contact(data)
        assert contact.extra == UNKNOWN
        assert dict(contact.extra) == UNKNOWN
        assert contact.extra["loyalty"] is data["loyalty"]  # the decoded value itself
        assert contact.first == "Ada"
        assert "first" not in contact.extra

    def test_a_contact_of_known_keys_has_an_empty_extra(self) -> None:
        contact = structure_contact({"id": 7, "first": "Ada", "tags": [{"tag_id": 61}]})
        assert contact.extra == {}
        assert len(contact.extra) == 0
        assert Contact(id=7).extra == {}
        # One shared empty mapping: nothing is built for a contact the SDK reads whole.
        assert contact.extra is Contact(id=7).extra

    def test_extra_is_read_only(self) -> None:
        contact = structure_contact({"id": 7, **UNKNOWN})
        assert isinstance(contact.extra, Mapping)
        with pytest.raises(TypeError):
            contact.extra["score"] = 13  # type: ignore[index]
        with pytest.raises(AttributeError):
            contact.extra.pop("score")  # type: ignore[attr-defined]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            contact.extra = {}  # type: ignore[misc]
        assert contact.extra["score"] == 12

    def test_equality_and_hash_leave_extra_out(self) -> None:
        plain = structure_contact({"id": 7, "first": "Ada"})
        richer = structure_contact({"id": 7, "first": "Ada", **UNKNOWN})
        assert plain == richer
        assert hash(plain) == hash(richer)
        assert len({plain, richer}) == 1

    def test_a_key_named_extra_is_an_unknown_key_like_any_other(self) -> None:
        contact = structure_contact({"id": 7, "extra": {"a": 1}})
        assert contact.extra == {"extra": {"a": 1}}

    def test_pickle_copy_evolve_and_repr_keep_it(self) -> None:
        contact = structure_contact({"id": 7, **UNKNOWN})
        for other in (
            pickle.loads(pickle.dumps(contact)),
            copy.deepcopy(contact),
            copy.copy(contact),
            attrs.evolve(contact, first="Bo"),
        ):
            assert other.extra == UNKNOWN
        assert "'loyalty'" in repr(contact)

    def test_unstructure_writes_extra_back_at_the_top_level(self) -> None:
        data = {"id": 7, "first": "Ada", **UNKNOWN}
        contact = structure_contact(data)
        out = CONVERTER.unstructure(contact)
        assert "extra" not in out
        assert {k: out[k] for k in UNKNOWN} == UNKNOWN
        assert structure_contact(out).extra == UNKNOWN
        assert "extra" not in CONVERTER.unstructure(Contact(id=1))

    @given(
        st.dictionaries(
            st.text(max_size=8).filter(lambda k: k not in KNOWN_KEYS),
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            max_size=5,
        ),
        st.fixed_dictionaries({"id": st.integers(1, 99)}, optional={"first": st.text()}),
    )
    def test_extra_is_exactly_the_keys_without_a_field(
        self, unknown: dict[str, Any], known: dict[str, Any]
    ) -> None:
        contact = structure_contact({**known, **unknown})
        assert dict(contact.extra) == unknown


class TestTagExtra:
    def test_a_contacts_tag_keeps_its_unknown_keys(self) -> None:
        contact = structure_contact(
            {"id": 7, "tags": [{"tag_id": 61}, {"tag_id": 62, "label": "x", "team_id": 5}]}
        )
        first, second = contact.tags
        assert first.extra == {}
        assert second.extra == {"label": "x", "team_id": 5}
        assert second == Tag(id=62)  # not compared

    def test_a_tag_endpoints_object_keeps_its_unknown_keys(self) -> None:
        tag = structure_tag(
            {"id": 5, "name": "vip", "created": "2026-01-01T00:00:00Z", "usage_count": 41}
        )
        assert tag.extra == {"usage_count": 41}
        assert tag.created is not None
        assert structure_tag({"id": 5, "name": "vip"}).extra == {}

    def test_a_time_in_both_spellings_keeps_both(self) -> None:
        # The first with a value fills the field; the other, with one too, stays in extra.
        created = "2024-01-02T03:04:05Z"
        (tag,) = structure_contact(
            {"id": 1, "tags": [{"tag_id": 1, "created": None, "created_at": created}]}
        ).tags
        assert tag.created is not None
        assert tag.extra == {}
        both = {"tag_id": 1, "created": created, "created_at": "2024-05-06T00:00:00Z"}
        (tag,) = structure_contact({"id": 1, "tags": [both]}).tags
        assert tag.created is not None
        assert tag.created.month == 1
        assert tag.extra == {"created_at": "2024-05-06T00:00:00Z"}

    def test_an_unreadable_time_of_a_contacts_tag_names_the_tag(self) -> None:
        with pytest.raises(StructureError, match=r"tags\.created"):
            structure_contact({"id": 1, "tags": [{"tag_id": 1, "created": 1700000000}]})

    def test_unstructure_writes_a_tags_extra_back(self) -> None:
        tag = structure_tag({"id": 5, "usage_count": 41})
        assert CONVERTER.unstructure(tag)["usage_count"] == 41

    @pytest.mark.parametrize("spelling", ["", "_at"])
    def test_a_contacts_tag_keeps_its_times_through_a_round_trip(self, spelling: str) -> None:
        # Kept in ``extra`` instead, the field's None took their place when written back.
        sent = {"tag_id": 5, f"created{spelling}": "2026-01-01T00:00:00Z", "label": "x"}
        (tag,) = structure_contact({"id": 1, "tags": [sent]}).tags
        assert tag.created is not None
        assert tag.created.year == 2026
        assert tag.extra == {"label": "x"}
        written = CONVERTER.unstructure(structure_contact({"id": 1, "tags": [sent]}))
        assert written["tags"][0]["created"] == "2026-01-01T00:00:00Z"
        (again,) = structure_contact(written).tags
        assert (again.created, again.extra) == (tag.created, {"label": "x"})
        assert CONVERTER.structure(CONVERTER.unstructure(tag), Tag).created == tag.created


class TestChannelExtra:
    def test_a_contacts_channel_keeps_its_unknown_keys(self) -> None:
        contact = structure_contact(
            {
                "id": 7,
                "contact_channels": [
                    {"channel_type": "phone", "channel_id": "15105550001"},
                    {"channel_type": "email", "channel_id": "a@b.co", "is_primary": True},
                ],
            }
        )
        phone, email = contact.contact_channels
        assert phone.extra == {}
        assert email.extra == {"is_primary": True}
        assert email == ContactChannel(channel_type="email", channel_id="a@b.co")  # not compared
        with pytest.raises(TypeError):
            email.extra["is_primary"] = False  # type: ignore[index]
        written = CONVERTER.unstructure(contact)["contact_channels"]
        assert written[1] == {"channel_type": "email", "channel_id": "a@b.co", "is_primary": True}
        assert structure_contact(CONVERTER.unstructure(contact)).contact_channels[1].extra == {
            "is_primary": True
        }

    def test_its_extra_is_never_sent(self) -> None:
        from heymarket_async import _validate as check

        (channel,) = structure_contact(
            {
                "id": 7,
                "contact_channels": [
                    {"channel_type": "phone", "channel_id": "15105550001", "is_primary": True}
                ],
            }
        ).contact_channels
        assert check.channel(channel, "contact_channels[0]") == {
            "channel_type": "phone",
            "channel_id": "15105550001",
        }


async def walk_typed_and_raw(hm: Any, make: Any) -> tuple[list[Contact], list[dict[str, Any]]]:
    typed = [c async for c in make(hm, False)]
    raw = [c async for c in make(hm, True)]
    return typed, raw


class TestAnUnknownFieldSurvivesEveryWalk:
    @pytest.mark.parametrize(
        "make",
        [
            pytest.param(lambda hm, raw: hm.iter_contacts(raw=raw), id="v1"),
            pytest.param(lambda hm, raw: hm.v2.iter_contacts(raw=raw, page_size=9), id="v2-keyset"),
            pytest.param(lambda hm, raw: hm.v2.iter_contacts(raw=raw, slices=3), id="v2-slices"),
            pytest.param(
                lambda hm, raw: hm.v2.iter_contacts_by_offset(raw=raw, page_size=9),
                id="v2-offset",
            ),
        ],
    )
    async def test_typed_walk_keeps_it_in_extra_and_raw_walk_in_the_object(self, make: Any) -> None:
        async with FakeHeymarket() as fake:
            fake.seed(120)
            odd = fake.add_contact(phone="15105550100", first="Ada", **UNKNOWN)
            other = fake.add_contact(phone="15105550101", nickname="Bo")
            async with fake.client() as hm:
                typed, raw = await walk_typed_and_raw(hm, make)
        by_id = {c.id: c for c in typed}
        raw_by_id = {d["id"]: d for d in raw}
        assert by_id[odd["id"]].extra == UNKNOWN
        assert {k: raw_by_id[odd["id"]][k] for k in UNKNOWN} == UNKNOWN
        assert (
            by_id[other["id"]].extra
            == {"nickname": "Bo"}
            == {k: v for k, v in raw_by_id[other["id"]].items() if k not in KNOWN_KEYS}
        )
        # Every typed contact's extra is what its raw object has beyond the fields.
        for cid, contact in by_id.items():
            unknown = {k: v for k, v in raw_by_id[cid].items() if k not in KNOWN_KEYS}
            assert dict(contact.extra) == unknown

    async def test_single_reads_keep_it_too(self) -> None:
        async with FakeHeymarket() as fake:
            odd = fake.add_contact(phone="15105550100", **UNKNOWN)
            async with fake.client() as hm:
                v1 = await hm.get_contact(odd["id"])
                v2 = await hm.v2.get_contact(odd["uuid"])
                (listed,) = await hm.v2.list_contacts()
        assert v1.extra == v2.extra == listed.extra == UNKNOWN
