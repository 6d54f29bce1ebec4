"""Models are frozen, slotted, keyword-only values; UNSET and UNASSIGN mean what they say."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timezone

import attrs
import pytest

from heymarket_async import models
from heymarket_async.models import (
    UNASSIGN,
    UNSET,
    Contact,
    ContactChannel,
    ContactField,
    ContactRef,
    Tag,
    UnsetType,
)

MODELS = [Contact, ContactChannel, ContactField, ContactRef, Tag]
SAMPLES = [
    Contact(id=1, tags=(Tag(id=2),), updated=datetime(2026, 5, 7, tzinfo=timezone.utc)),
    ContactChannel(channel_type="phone", channel_id="15105553344"),
    ContactField(id=123, name="Plan"),
    ContactRef(id=98765, rev=1, uuid="a1b2c3d4-e5f6-7890-abcd-ef1234567890"),
    Tag(id=55, name="vip"),
]


class TestModelShape:
    @pytest.mark.parametrize("cls", MODELS)
    def test_frozen_slotted_keyword_only(self, cls: type) -> None:
        assert attrs.has(cls)
        assert "__slots__" in cls.__dict__
        assert all(a.kw_only for a in attrs.fields(cls))

    @pytest.mark.parametrize("sample", SAMPLES)
    def test_instances_cannot_change_or_grow(self, sample: object) -> None:
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            sample.id = 5  # type: ignore[attr-defined]
        with pytest.raises((AttributeError, TypeError)):
            sample.extra = 1  # type: ignore[attr-defined]

    @pytest.mark.parametrize("sample", SAMPLES)
    def test_copy_pickle_and_equality(self, sample: object) -> None:
        assert copy.deepcopy(sample) == sample
        assert pickle.loads(pickle.dumps(sample)) == sample

    def test_positional_arguments_are_refused(self) -> None:
        with pytest.raises(TypeError):
            Tag(55)  # type: ignore[misc]

    def test_models_import_neither_aiohttp_nor_cattrs(self) -> None:
        source = models.__loader__.get_source(models.__name__)  # type: ignore[union-attr]
        assert source is not None
        assert "import aiohttp" not in source
        assert "cattrs" not in source

    def test_hashable_models_hash(self) -> None:
        assert hash(Tag(id=1)) == hash(Tag(id=1))
        assert len({ContactRef(id=1), ContactRef(id=1)}) == 1

    def test_a_contact_hashes_whatever_its_custom_fields_and_notes_hold(self) -> None:
        # ``note`` keeps its items as decoded (objects are dicts) and ``custom`` is a dict:
        # neither takes part in the hash, so a contact is hashable whatever it holds.
        one = Contact(id=1, custom={"123": "Premium"}, note=({"text": "called", "user_id": 7},))
        other = Contact(id=1, custom={"123": "Premium"}, note=({"text": "called", "user_id": 7},))
        assert hash(one) == hash(other)
        assert len({one, other}) == 1
        assert one != attrs.evolve(one, note=({"text": "emailed"},))


class TestSentinels:
    def test_unset_is_falsy_and_prints_as_its_name(self) -> None:
        assert not UNSET
        assert repr(UNSET) == "UNSET"
        assert isinstance(UNSET, UnsetType)
        assert UNSET is UnsetType.UNSET

    def test_unset_survives_copy_and_pickle_as_the_same_object(self) -> None:
        assert copy.deepcopy(UNSET) is UNSET
        assert pickle.loads(pickle.dumps(UNSET)) is UNSET

    def test_unassign_is_heymarkets_minus_one(self) -> None:
        assert UNASSIGN == -1
