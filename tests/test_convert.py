"""Decoding responses into models: tolerant of what the API leaves out, adds or varies.

The hand-tuned ``structure_contact`` is held equal to what cattrs' generated function gives
with the same primitive hooks, on random valid contacts.
"""

from __future__ import annotations

import copy
import inspect
import json
import pickle
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import cattrs
import pytest
from cattrs.gen import make_dict_structure_fn, override
from hypothesis import given, settings
from hypothesis import strategies as st

from heymarket_async import Contact, ContactChannel, ContactField, ContactRef, Tag
from heymarket_async import _convert as convert
from heymarket_async._convert import StructureError
from heymarket_async._sansio import format_timestamp, json_dumps, json_loads
from heymarket_async.models import _Extra

UTC = timezone.utc


def reference_converter() -> cattrs.Converter:
    """cattrs' own generated structuring for Contact, with the converter's primitive hooks."""
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(datetime, lambda v, _: convert._timestamp(v, "timestamp"))
    # cattrs' own bool hook is bool(), which reads "false" as True.
    conv.register_structure_hook(bool, lambda v, _: convert._opt_bool(v, "bool"))
    conv.register_structure_hook(Tag, lambda v, _: convert._tag(v))
    conv.register_structure_hook(ContactChannel, lambda v, _: convert._channel(v))
    fields = make_dict_structure_fn(Contact, conv, extra=override(omit=True))
    known = {a.name for a in attrs.fields(Contact)} - {"extra"}

    def contact(data: Any, _: Any) -> Contact:
        extra = {k: v for k, v in data.items() if k not in known}
        return attrs.evolve(fields(data, Contact), extra=extra)

    conv.register_structure_hook(Contact, contact)
    return conv


REFERENCE = reference_converter()

# -- strategies for valid contact JSON ------------------------------------------------------------

texts = st.text(max_size=12)
opt_texts = st.none() | texts
ids = st.integers(1, 2**53)
opt_ids = st.none() | ids
timestamps = st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=9))]),
).map(lambda d: d.isoformat().replace("+00:00", "Z"))
tag_items = st.one_of(
    ids.map(lambda n: {"tag_id": n}),
    st.fixed_dictionaries(
        {"id": ids}, optional={"name": opt_texts, "color": opt_texts, "team_id": ids}
    ),
    ids,
)
json_scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | texts
#: A text field as a response may hold it: text mostly, else any JSON value (read as str() of it).
any_texts = st.one_of(
    opt_texts,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(json_scalars, max_size=2),
    st.dictionaries(texts, json_scalars, max_size=2),
)
#: A flag as a response may hold it: JSON true/false, 0/1, or their text in any case.
any_flags = (
    st.none() | st.booleans() | st.sampled_from([0, 1, "true", "false", "True", "FALSE", "1", "0"])
)

CONTACT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "id": ids,
    "uuid": st.none() | st.uuids().map(str),
    "phone": st.none() | st.text(alphabet="0123456789", min_size=8, max_size=15),
    "first": any_texts,
    "last": any_texts,
    "display_name": any_texts,
    "email": any_texts,
    "custom": st.dictionaries(st.integers(1, 9999).map(str), texts, max_size=4),
    "tags": st.lists(tag_items, max_size=5),
    "contact_channels": st.lists(
        st.fixed_dictionaries({"channel_type": texts, "channel_id": texts}), max_size=3
    ),
    "assigned_user_id": opt_ids,
    "is_opted_out": any_flags,
    "avatar": any_texts,
    "created": st.none() | timestamps,
    "updated": st.none() | timestamps,
    "rev": opt_ids,
    "team_id": opt_ids,
    "creator_id": opt_ids,
    "shared": any_flags,
    "op": any_texts,
    "external_id": opt_texts,
    "external_ref": opt_texts,
    "local_id": opt_texts,
    "inbox_id": opt_ids,
    "parent_id": opt_ids,
    "type": any_texts,
    "note": st.lists(json_scalars | st.dictionaries(texts, json_scalars, max_size=2), max_size=3),
}
contact_dicts = st.fixed_dictionaries(
    {"id": CONTACT_FIELDS["id"]},  # every contact has one (the rest may be left out)
    optional={
        **{k: v for k, v in CONTACT_FIELDS.items() if k != "id"},
        # Keys the SDK does not know, as a newer API would send them.
        "status": texts,
        "lists": st.lists(ids),
        "inbox": st.dictionaries(texts, json_scalars, max_size=2),
    },
)


FLAGS = {"is_opted_out", "shared"}


def typed(contact: Contact) -> list[tuple[type, Any]]:
    """Every field's value with its type: ``1 == True``, so equality alone would not tell.
    ``extra`` (which equality leaves out) as a plain dict of its keys."""
    *fields, extra = attrs.astuple(contact, recurse=False)
    return [(type(v), v) for v in fields] + [(dict, dict(extra))]


class TestStructureContactMatchesCattrs:
    @settings(max_examples=300)
    @given(contact_dicts)
    def test_same_contact_as_the_generated_function(self, data: dict[str, Any]) -> None:
        assert typed(convert.structure_contact(data)) == typed(REFERENCE.structure(data, Contact))

    @pytest.mark.parametrize(
        "data",
        [
            {"first": 123},
            {"last": 1.5},
            {"email": True},
            {"display_name": ["Avery"]},
            {"op": {"kind": "update"}},
            {"avatar": 7},
            {"type": None, "op": None, "avatar": None, "shared": None, "first": ["x"]},
            {"type": 7},
            {"is_opted_out": 1},
            {"shared": 0},
            {"is_opted_out": "false", "shared": "TRUE"},
        ],
    )
    def test_text_and_flag_fields_get_their_type(self, data: dict[str, Any]) -> None:
        contact = convert.structure_contact({"id": 1, **data})
        assert typed(contact) == typed(REFERENCE.structure({"id": 1, **data}, Contact))
        for name in data:
            value = getattr(contact, name)
            assert value is None or type(value) is (bool if name in FLAGS else str)
        hash(contact)  # a list or dict left in a text field would make it unhashable

    def test_a_flag_given_as_text_reads_as_it_says(self) -> None:
        # As structure_status reads its flags: "false" is not a truthy string.
        assert convert.structure_contact({"id": 1, "is_opted_out": "false"}).is_opted_out is False
        assert convert.structure_contact({"id": 1, "shared": "true"}).shared is True

    @pytest.mark.parametrize(("text", "flag"), [("1", True), ("0", False), (" True ", True)])
    def test_a_flag_given_as_a_digit_reads_as_it_says(self, text: str, flag: bool) -> None:
        assert convert.structure_contact({"id": 1, "is_opted_out": text}).is_opted_out is flag

    @pytest.mark.parametrize("text", ["", "yes", "2"])
    def test_any_other_text_is_no_flag(self, text: str) -> None:
        with pytest.raises(StructureError, match="is_opted_out"):
            convert.structure_contact({"id": 1, "is_opted_out": text})

    def test_the_converter_uses_the_hand_tuned_hook(self) -> None:
        data = {"id": "98765", "tags": [55]}
        assert convert.structure(data, Contact) == Contact(id=98765, tags=(Tag(id=55),))

    def test_every_model_field_is_decoded(self) -> None:
        # A field added to Contact but forgotten in structure_contact would stay at its default.
        assert set(CONTACT_FIELDS) | {"extra"} == {a.name for a in Contact.__attrs_attrs__}
        assert attrs.fields(Contact)[-1].name == "extra"  # made of the keys left over


# Every Contact field with a value of its own, so a builder that swaps two fields shows.
FULL_CONTACT: dict[str, Any] = {
    "id": 1,
    "uuid": "d8b5de26-73fd-4b29-8373-00000000ea60",
    "phone": "15100060000",
    "first": "Avery",
    "last": "Patel",
    "display_name": "Avery Patel",
    "email": "avery@example.com",
    "custom": {"123": "Enterprise"},
    "tags": (Tag(id=58), Tag(id=60, name="vip")),
    "contact_channels": (ContactChannel(channel_type="phone", channel_id="15100060000"),),
    "assigned_user_id": 3018,
    "is_opted_out": False,
    "avatar": "https://example.com/a.png",
    "created": datetime(2024, 6, 2, 5, 47, 50, tzinfo=UTC),
    "updated": datetime(2025, 1, 1, 16, 39, 59, tzinfo=UTC),
    "rev": 5,
    "team_id": 1001,
    "creator_id": 2001,
    "shared": True,
    "op": "update",
    "external_id": "ext-1",
    "external_ref": "ref-1",
    "local_id": "crm-1",
    "inbox_id": 77,
    "parent_id": 9,
    "type": "person",
    "note": ("hello",),
    "extra": _Extra({"loyalty": {"tier": "gold"}}),
}


class TestSlotBuilder:
    def build_full(self) -> tuple[Contact, Contact]:
        built = convert.slot_builder(Contact)(*FULL_CONTACT.values())
        return built, Contact(**FULL_CONTACT)

    def test_the_fixture_names_every_field_in_order(self) -> None:
        assert list(FULL_CONTACT) == [a.name for a in attrs.fields(Contact)]

    def test_built_equals_init_field_by_field(self) -> None:
        built, made = self.build_full()
        assert type(built) is Contact
        assert built == made
        assert attrs.asdict(built, recurse=False) == FULL_CONTACT
        assert hash(built) == hash(made)
        assert repr(built) == repr(made)

    def test_built_contacts_stay_frozen(self) -> None:
        built, _ = self.build_full()
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            built.first = "Bo"  # type: ignore[misc]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            del built.first  # type: ignore[misc]
        with pytest.raises(AttributeError):
            built.nickname = "x"  # type: ignore[attr-defined]
        assert built.first == "Avery"

    def test_evolve_and_pickle_work_on_built_contacts(self) -> None:
        built, made = self.build_full()
        evolved = attrs.evolve(built, first="Bo")
        assert evolved == attrs.evolve(made, first="Bo")
        assert evolved.last == "Patel"
        assert built.first == "Avery"
        assert pickle.loads(pickle.dumps(built)) == made
        assert copy.deepcopy(built) == made
        for copied in (evolved, pickle.loads(pickle.dumps(built)), copy.deepcopy(built)):
            assert copied.extra == {"loyalty": {"tier": "gold"}}

    def test_channels_are_built_the_same(self) -> None:
        (channel,) = convert.structure_contact(
            {"id": 1, "contact_channels": [{"channel_type": "email", "channel_id": "a@b.c"}]}
        ).contact_channels
        expected = ContactChannel(channel_type="email", channel_id="a@b.c")
        assert type(channel) is ContactChannel
        assert (channel, hash(channel)) == (expected, hash(expected))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            channel.channel_id = "x"  # type: ignore[misc]

    def test_a_builder_takes_exactly_every_field(self) -> None:
        build = convert.slot_builder(ContactChannel)
        with pytest.raises(TypeError):
            build("phone")
        with pytest.raises(TypeError):
            build(channel_type="phone", channel_id="1")

    def test_classes_whose_init_does_more_are_refused(self) -> None:
        @attrs.frozen
        class Checked:
            n: int = attrs.field(validator=attrs.validators.instance_of(int))

        @attrs.frozen
        class Converted:
            n: int = attrs.field(converter=int)

        @attrs.frozen
        class PostInit:
            n: int

            def __attrs_post_init__(self) -> None:
                pass

        @attrs.frozen(slots=False)
        class NoSlots:
            n: int

        for cls in (Checked, Converted, PostInit, NoSlots):
            with pytest.raises(TypeError, match="needs its __init__"):
                convert.slot_builder(cls)

    def test_the_generated_source_is_readable_for_tracebacks(self) -> None:
        source = inspect.getsource(convert.slot_builder(ContactChannel))
        assert "channel_type" in source
        assert "channel_id" in source


class TestRoundTrip:
    @settings(max_examples=200)
    @given(contact_dicts)
    def test_a_contact_survives_unstructure_json_and_structure(self, data: dict[str, Any]) -> None:
        contact = convert.structure_contact(data)
        wire = json_loads(json_dumps(convert.CONVERTER.unstructure(contact)))
        assert convert.structure_contact(wire) == contact

    def test_timestamps_unstructure_to_utc_with_z(self) -> None:
        contact = Contact(
            id=1, updated=datetime(2026, 5, 7, 14, tzinfo=timezone(timedelta(hours=2)))
        )
        assert convert.CONVERTER.unstructure(contact)["updated"] == "2026-05-07T12:00:00Z"
        assert format_timestamp(contact.updated) == "2026-05-07T12:00:00Z"  # type: ignore[arg-type]


class TestContactTolerance:
    def test_every_field_but_the_id_may_be_missing(self) -> None:
        assert convert.structure_contact({"id": 1}) == Contact(id=1)
        contact = Contact(id=1)
        assert contact.custom == {}
        assert contact.tags == ()
        assert contact.note == ()

    def test_unknown_keys_are_ignored(self) -> None:
        data = {"id": 1, "status": "active", "brand_new": {"x": [1]}, "lists": [3]}
        assert convert.structure_contact(data) == Contact(id=1)

    def test_nulls_and_empty_strings_become_defaults(self) -> None:
        data = {
            "id": 1,
            "custom": None,
            "tags": None,
            "contact_channels": None,
            "note": None,
            "created": "",
            "updated": None,
        }
        assert convert.structure_contact(data) == Contact(id=1)

    def test_assigned_user_id_is_the_response_name(self) -> None:
        assert convert.structure_contact({"id": 1, "assigned_user_id": 7}).assigned_user_id == 7
        # "assignee_id" is the request name: a response that used it is ignored, not guessed.
        assert convert.structure_contact({"id": 1, "assignee_id": 7}).assigned_user_id is None

    @pytest.mark.parametrize(
        ("tags", "expected"),
        [
            ([{"tag_id": 55}], (Tag(id=55),)),
            (
                [{"id": 55, "name": "VIP", "color": "#ff0000"}],
                (Tag(id=55, name="VIP", color="#ff0000"),),
            ),
            ([{"tag_id": "55", "id": 9, "name": 7}], (Tag(id=55, name="7"),)),
            ([55, "56"], (Tag(id=55), Tag(id=56))),
            ([], ()),
        ],
    )
    def test_tags_in_every_shape(self, tags: Any, expected: tuple[Tag, ...]) -> None:
        assert convert.structure_contact({"id": 1, "tags": tags}).tags == expected

    @pytest.mark.parametrize(
        "stamp",
        [
            "2026-05-07T12:00:00.000Z",
            "2026-05-07T12:00:00Z",
            "2026-05-07t12:00:00z",
            "2026-05-07T14:00:00+02:00",
            "2026-05-07T12:00:00.000000000Z",
        ],
    )
    def test_timestamps_become_aware_datetimes(self, stamp: str) -> None:
        contact = convert.structure_contact({"id": 1, "created": stamp, "updated": stamp})
        assert contact.updated == datetime(2026, 5, 7, 12, tzinfo=UTC)
        assert contact.created is not None
        assert contact.created.tzinfo is not None

    def test_a_timestamp_without_offset_is_taken_as_utc(self) -> None:
        contact = convert.structure_contact({"id": 1, "updated": "2026-05-07T12:00:00"})
        assert contact.updated == datetime(2026, 5, 7, 12, tzinfo=UTC)
        assert contact.updated.tzinfo is not None

    def test_tag_objects_are_shared_and_the_cache_is_bounded(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(convert, "_TAG_CACHE", {})
        monkeypatch.setattr(convert, "_TAG_CACHE_MAX", 1)
        first = convert.structure_contact({"id": 1, "tags": [{"tag_id": 1}, {"tag_id": 2}]})
        again = convert.structure_contact({"id": 2, "tags": [{"tag_id": 1}, {"tag_id": 2}]})
        assert first.tags == again.tags == (Tag(id=1), Tag(id=2))
        assert first.tags[0] is again.tags[0]
        assert list(convert._TAG_CACHE) == [1]

    def test_the_tolerant_helpers_take_empty_values(self) -> None:
        assert convert._custom({}) == {}
        assert convert._custom(None) == {}
        assert convert._note([]) == ()
        assert convert._channels([]) == ()
        assert convert.structure_channels([]) == []

    @pytest.mark.parametrize("field", ["id", "rev", "team_id", "assigned_user_id", "inbox_id"])
    def test_a_digit_string_beyond_pythons_int_limit_is_a_structure_error(self, field: str) -> None:
        # int() refuses more than sys.get_int_max_str_digits() (4300) digits with a bare
        # ValueError, which the pagers would not catch as a response that does not fit.
        with pytest.raises(StructureError) as info:
            convert.structure_contact({"id": 1, field: "9" * 5000})
        assert info.value.field == field
        with pytest.raises(StructureError):
            convert.structure_count("9" * 5000)

    def test_ints_may_come_as_strings_or_whole_floats(self) -> None:
        data = {"id": "98765", "rev": 2.0, "team_id": " 5 ", "inbox_id": -1}
        contact = convert.structure_contact(data)
        assert (contact.id, contact.rev, contact.team_id, contact.inbox_id) == (98765, 2, 5, -1)

    def test_ids_and_phones_may_come_as_numbers(self) -> None:
        data = {
            "id": 1,
            "phone": 15105553344,
            "uuid": None,
            "external_id": 12,
            "external_ref": None,
        }
        contact = convert.structure_contact(data)
        assert (contact.phone, contact.external_id) == ("15105553344", "12")

    def test_custom_values_become_strings(self) -> None:
        data = {"id": 1, "custom": {"123": "Premium", 456: 7, "789": None}}
        assert convert.structure_contact(data).custom == {"123": "Premium", "456": "7", "789": ""}

    def test_a_single_note_becomes_a_one_item_tuple(self) -> None:
        assert convert.structure_contact({"id": 1, "note": "called"}).note == ("called",)
        note = convert.structure_contact({"id": 1, "note": [{"text": "a"}]}).note
        assert note == ({"text": "a"},)

    def test_any_mapping_is_accepted(self) -> None:
        class Frozen(Mapping[str, Any]):
            def __init__(self, data: dict[str, Any]) -> None:
                self._data = data

            def __getitem__(self, key: str) -> Any:
                return self._data[key]

            def __iter__(self) -> Any:
                return iter(self._data)

            def __len__(self) -> int:
                return len(self._data)

        assert convert.structure_contact(Frozen({"id": 3})) == Contact(id=3)

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ([], "contact"),
            ("ok", "contact"),
            (None, "contact"),
            ({}, "id"),
            ({"id": None}, "id"),
            ({"first": "Ada", "uuid": "d8b5de26-73fd-4b29-8373-00000000ea60"}, "id"),
            ({"id": "abc"}, "id"),
            ({"id": True}, "id"),
            ({"id": 1.5}, "id"),
            ({"id": [1]}, "id"),
            ({"id": {"v1": 1}}, "id"),
            ({"rev": "--5"}, "rev"),
            ({"team_id": "²"}, "team_id"),
            ({"tags": {"tag_id": 1}}, "tags"),
            ({"tags": [{"name": "no id"}]}, "tags"),
            ({"tags": ["x"]}, "tags"),
            ({"contact_channels": {"a": 1}}, "contact_channels"),
            ({"contact_channels": ["phone"]}, "contact_channels"),
            ({"contact_channels": [{"channel_type": "phone"}]}, "contact_channels"),
            ({"custom": ["a"]}, "custom"),
            ({"updated": 1715083200}, "updated"),
            ({"is_opted_out": "no"}, "is_opted_out"),
            ({"is_opted_out": 2}, "is_opted_out"),
            ({"shared": []}, "shared"),
            ({"shared": {"x": 1}}, "shared"),
            ({"created": "yesterday"}, "created"),
        ],
    )
    def test_what_cannot_fit_raises_a_structure_error_naming_the_field(
        self, data: Any, field: str
    ) -> None:
        if isinstance(data, dict) and field != "id":
            data = {"id": 1, **data}  # the id is fine: the error is the other field's
        with pytest.raises(StructureError) as info:
            convert.structure_contact(data)
        assert info.value.field == field
        assert isinstance(info.value, ValueError)


class TestPages:
    def test_a_page_is_a_bare_array(self) -> None:
        assert convert.structure_contacts([{"id": 1}, {"id": 2}]) == [Contact(id=1), Contact(id=2)]

    def test_a_contact_without_an_id_fails_the_page(self) -> None:
        with pytest.raises(StructureError, match="a contact without an id") as info:
            convert.structure_contacts([{"id": 1}, {"first": "Ada"}])
        assert info.value.field == "id"

    @pytest.mark.parametrize("data", [{"contacts": []}, None, "ok"])
    def test_anything_else_is_a_structure_error(self, data: Any) -> None:
        with pytest.raises(StructureError, match="contacts"):
            convert.structure_contacts(data)


class TestCount:
    @pytest.mark.parametrize(
        "data", ["1042", 1042, 1042.0, {"count": 1042}, {"count": "1042"}, " 1042 "]
    )
    def test_every_shape_of_1042(self, data: Any) -> None:
        assert convert.structure_count(data) == 1042

    @pytest.mark.parametrize(
        "data", [{"total": 5}, "-1", -1, "many", None, True, [1042], 10.5, "1_042"]
    )
    def test_anything_else_is_a_structure_error(self, data: Any) -> None:
        with pytest.raises(StructureError):
            convert.structure_count(data)


FIELDS = [ContactField(id=123, name="Plan"), ContactField(id=456, name="Renewal Date")]
CHANNELS = [{"channel_type": "phone", "channel_id": 15105553344}]


class TestContactFields:
    @pytest.mark.parametrize(
        "data",
        [
            {"fields": [{"id": 123, "name": "Plan"}, {"id": 456, "name": "Renewal Date"}]},
            [{"id": 123, "name": "Plan"}, {"id": 456, "name": "Renewal Date"}],
            [{"id": "123", "title": "Plan"}, {"id": 456, "title": "Renewal Date", "x": 1}],
            {"contact_fields": [{"id": 123, "name": "Plan"}, {"id": 456, "title": "Renewal Date"}]},
        ],
    )
    def test_object_or_bare_array_with_name_or_title(self, data: Any) -> None:
        assert convert.structure_fields(data) == FIELDS

    def test_a_field_without_a_name_has_none(self) -> None:
        assert convert.structure_fields([{"id": 1}]) == [ContactField(id=1)]

    @pytest.mark.parametrize("data", [{}, {"fields": None}, None])
    def test_no_fields_is_an_empty_list(self, data: Any) -> None:
        assert convert.structure_fields(data) == []

    @pytest.mark.parametrize("data", [{"fields": "Plan"}, [{"name": "Plan"}], ["Plan"], "x"])
    def test_anything_else_is_a_structure_error(self, data: Any) -> None:
        with pytest.raises(StructureError, match="fields"):
            convert.structure_fields(data)

    def test_the_converter_structures_one_field(self) -> None:
        assert convert.structure({"id": 1, "title": "Plan"}, ContactField) == ContactField(
            id=1, name="Plan"
        )


class TestContactRef:
    def test_the_documented_create_answer(self) -> None:
        data = json.loads('{"id": 98765, "rev": 1, "uuid": "a1b2c3d4-e5f6-7890-abcd-ef1234567890"}')
        assert convert.structure(data, ContactRef) == ContactRef(
            id=98765, rev=1, uuid="a1b2c3d4-e5f6-7890-abcd-ef1234567890"
        )

    def test_tolerates_string_ids_missing_fields_and_extra_keys(self) -> None:
        ref = convert.structure({"id": "98765", "uuid": uuid.UUID(int=1), "x": 1}, ContactRef)
        assert ref == ContactRef(id=98765, uuid="00000000-0000-0000-0000-000000000001")

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({}, "id"),
            ({"rev": 1, "uuid": "a1b2c3d4-e5f6-7890-abcd-ef1234567890"}, "id"),
            ({"id": None, "rev": 1}, "id"),
            ({"id": "x"}, "id"),
            ({"id": 1, "rev": "r2"}, "rev"),
            ("ok", "ref"),
            ([], "ref"),
            (None, "ref"),
        ],
    )
    def test_without_a_usable_id_it_is_a_structure_error(self, data: Any, field: str) -> None:
        with pytest.raises(StructureError) as info:
            convert.structure(data, ContactRef)
        assert info.value.field == field


class TestChannels:
    def test_bare_array_or_object_and_ids_become_strings(self) -> None:
        expected = [ContactChannel(channel_type="phone", channel_id="15105553344")]
        assert convert.structure_channels(CHANNELS) == expected
        assert convert.structure_channels({"contact_channels": CHANNELS}) == expected
        assert convert.structure_channels({"channels": CHANNELS}) == expected
        assert convert.structure_channels({}) == []
        assert convert.structure_channels(None) == []

    def test_the_converter_structures_one_channel(self) -> None:
        assert convert.structure(CHANNELS[0], ContactChannel) == ContactChannel(
            channel_type="phone", channel_id="15105553344"
        )

    def test_tags_structure_through_the_converter(self) -> None:
        assert convert.structure({"tag_id": "5"}, Tag) == Tag(id=5)


class TestTagObjects:
    def test_a_full_tag_with_times(self) -> None:
        tag = convert.structure_tag(
            {"id": "55", "name": "VIP", "color": "#f00", "updated": "2026-05-07T12:00:00Z"}
        )
        assert tag == Tag(
            id=55, name="VIP", color="#f00", updated=datetime(2026, 5, 7, 12, tzinfo=timezone.utc)
        )

    @pytest.mark.parametrize(
        "data", [55, "55", {"tag_id": 55}, {"tag": {"id": 55}}, {"id": 55, "created_at": None}]
    )
    def test_id_only_shapes(self, data: Any) -> None:
        assert convert.structure_tag(data) == Tag(id=55)

    @pytest.mark.parametrize("data", [{"name": "x"}, {"id": 1, "updated": 5}, "x"])
    def test_shapes_that_do_not_fit(self, data: Any) -> None:
        with pytest.raises(StructureError):
            convert.structure_tag(data)

    @pytest.mark.parametrize("data", [None, {}, {"other": []}])
    def test_an_empty_page(self, data: Any) -> None:
        assert convert.raw_tags(data) == []

    @pytest.mark.parametrize("data", [{"tags": {}}, [1], "x"])
    def test_pages_that_do_not_fit(self, data: Any) -> None:
        with pytest.raises(StructureError):
            convert.raw_tags(data)


class TestContactStatus:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(True, True), (False, False), (1, True), (0, False), ("true", True), ("False", False)],
    )
    def test_flags(self, value: Any, expected: bool) -> None:
        assert convert.structure_status({"blocked": value}).blocked is expected

    @pytest.mark.parametrize(
        "data", [[], "success", {"blocked": "maybe"}, {"unsubscribed": 2}, {"id": "x"}]
    )
    def test_shapes_that_do_not_fit(self, data: Any) -> None:
        with pytest.raises(StructureError):
            convert.structure_status(data)
