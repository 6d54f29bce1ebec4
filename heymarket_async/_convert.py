"""The one cattrs converter: JSON data <-> models, tolerant of what the API leaves out or adds.

Keys a model has no field for are kept in its ``extra`` (and written back at the top level when
a model is unstructured). Every special case is a hook registered here. ``Contact`` is
structured by a hand-tuned hook because a bulk export structures hundreds of thousands of them:
it does what cattrs' generated function does (tests hold the two equal) at about a third of the
cost. Much of the saving is in :func:`slot_builder`, which fills a frozen slotted instance
without going through its ``__init__``.
"""

from __future__ import annotations

import linecache
import operator
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from itertools import islice
from types import MemberDescriptorType
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from ._sansio import format_timestamp, parse_timestamp
from .models import (
    _NO_EXTRA,
    Contact,
    ContactChannel,
    ContactField,
    ContactRef,
    ContactStatus,
    Tag,
    _Extra,
)

T = TypeVar("T")

# ASCII digits only: str.isdigit() also passes "²" and "--5", on which int() raises.
_INT_TEXT: Final = re.compile(r"\s*-?[0-9]+\s*")

__all__ = ["CONVERTER", "StructureError", "make_converter", "structure"]


class StructureError(ValueError):
    """A response value that does not fit its model; ``field`` says where."""

    def __init__(self, field: str, why: str) -> None:
        self.field = field
        self.why = why
        super().__init__(f"{field}: {why}")


def _to_int(value: Any, field: str) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        try:
            return int(value)
        except ValueError:  # beyond sys.get_int_max_str_digits() (4300 by default)
            raise StructureError(field, f"an integer of {len(value)} characters") from None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise StructureError(field, f"expected an integer, got {value!r}")


def _contact_id(value: Any) -> int:
    """A contact's ``id`` that is not already an int: text or a whole float is read, anything
    else (a missing id above all) is a :class:`StructureError`."""
    if value is None:
        raise StructureError("id", "a contact without an id")
    return _to_int(value, "id")


def require_ids(page: Any) -> None:
    """Check that every contact object of ``page`` (a list of dicts) has a readable id.

    A typed walk's page goes through it when it is parsed, so that a contact without an id
    fails the request that brought it (with its request id and body), not later when the
    contact is structured. A raw walk hands out what the API sent and does not check.
    """
    for item in page:
        value = item.get("id")
        if type(value) is not int:
            _contact_id(value)


def _opt_int(value: Any, field: str) -> int | None:
    return value if value is None or type(value) is int else _to_int(value, field)


def _opt_str(value: Any) -> str | None:
    # No ``field``, unlike _opt_int and _opt_bool: str() of any JSON value succeeds. One
    # argument also lets structure_contact map it over a row of values.
    return value if value is None or type(value) is str else str(value)


#: Flags given as text.
_FLAG_TEXT: Final = {"true": True, "false": False, "1": True, "0": False}


def _opt_bool(value: Any, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _FLAG_TEXT:
        return _FLAG_TEXT[value.strip().lower()]
    raise StructureError(field, f"expected a boolean, got {value!r}")


def _timestamp(value: Any, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise StructureError(field, f"expected an RFC 3339 string, got {value!r}")
    try:
        return parse_timestamp(value)
    except ValueError:
        raise StructureError(field, f"not an RFC 3339 timestamp: {value!r}") from None


def _extra(data: Mapping[str, Any], known: frozenset[str]) -> Mapping[str, Any]:
    """A model's ``extra``: the keys of ``data`` not in ``known``, with their values as given."""
    extra = {k: v for k, v in data.items() if k not in known}
    return _Extra(extra) if extra else _NO_EXTRA


#: The keys of a tag's object that Tag reads (on a contact or from a tag endpoint).
_TAG_KEYS: Final = frozenset(
    {"tag_id", "id", "name", "color", "created", "updated", "created_at", "updated_at"}
)


def _tag(value: Any) -> Tag:
    # {"tag_id": 55}, a fuller {"id": 55, "name": ..., "color": ..., "created": ...}, or a
    # bare 55. Times are read wherever a tag comes from: kept in ``extra`` instead, a
    # contact's tag lost them when written back (its field's None went in their place).
    if isinstance(value, Mapping):
        raw = value.get("tag_id", value.get("id"))
        if raw is None:
            raise StructureError("tags", f"a tag without an id: {value!r}")
        created, known = _tag_time(value, "created", _TAG_KEYS)
        updated, known = _tag_time(value, "updated", known)
        return Tag(
            id=_to_int(raw, "tags"),
            name=_opt_str(value.get("name")),
            color=_opt_str(value.get("color")),
            created=None if created is None else _timestamp(created, "tags.created"),
            updated=None if updated is None else _timestamp(updated, "tags.updated"),
            extra=_extra(value, known),
        )
    return Tag(id=_to_int(value, "tags"))


def _tag_time(
    value: Mapping[str, Any], key: str, known: frozenset[str]
) -> tuple[Any, frozenset[str]]:
    """A tag's time under ``key`` or ``key + "_at"``, the first with a value, and ``known``
    without the other spelling if it has one too: one field cannot hold both, ``extra`` keeps
    it."""
    other = key + "_at"
    raw = value.get(key)
    if raw is None:
        return value.get(other), known
    return raw, known - {other} if value.get(other) is not None else known


def _tags(value: Any) -> tuple[Tag, ...]:
    if not value:
        return ()
    if not isinstance(value, list):
        raise StructureError("tags", f"expected a list, got {value!r}")
    return tuple(_tag(item) for item in value)


#: The keys of a channel's object that ContactChannel reads.
_CHANNEL_KEYS: Final = frozenset({"channel_type", "channel_id"})


def _channel(value: Any) -> ContactChannel:
    if not isinstance(value, Mapping):
        raise StructureError("contact_channels", f"expected an object, got {value!r}")
    kind = value.get("channel_type")
    ident = value.get("channel_id")
    if kind is None or ident is None:
        raise StructureError(
            "contact_channels", f"a channel needs channel_type and channel_id: {value!r}"
        )
    return ContactChannel(
        channel_type=str(kind), channel_id=str(ident), extra=_extra(value, _CHANNEL_KEYS)
    )


def _channels(value: Any) -> tuple[ContactChannel, ...]:
    if not value:
        return ()
    if not isinstance(value, list):
        raise StructureError("contact_channels", f"expected a list, got {value!r}")
    return tuple(_channel(item) for item in value)


def _custom(value: Any) -> dict[str, str]:
    if not value:
        return {}
    if not isinstance(value, Mapping):
        raise StructureError("custom", f"expected an object, got {value!r}")
    return {
        k if type(k) is str else str(k): v if type(v) is str else ("" if v is None else str(v))
        for k, v in value.items()
    }


def _note(value: Any) -> tuple[Any, ...]:
    if not value:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


_fromisoformat = datetime.fromisoformat
_UTC: Final = timezone.utc
#: Tags given as ``{"tag_id": N}`` are values: one shared instance per id saves an attrs
#: __init__ per tag per contact on a bulk walk. Bounded: a team has a few hundred tags at most.
_TAG_CACHE: dict[int, Tag] = {}
_TAG_CACHE_MAX: Final = 4096


def slot_builder(cls: type[T]) -> Callable[..., T]:
    """A function that makes a ``cls`` from its field values, positionally, in field order.

    For frozen slotted attrs classes on hot paths: their ``__init__`` sets every field through
    ``object.__setattr__`` by name; the builder, generated once, creates the instance with
    ``object.__new__`` and stores each value through its slot's descriptor, about half the
    cost. It does no checking, so it is refused for classes that have validators, converters,
    ``__attrs_post_init__`` or no slots, whose ``__init__`` does more than store values.
    """
    fields = attrs.fields(cls)  # type: ignore[arg-type]  # T is any attrs class here
    names = [a.name for a in fields]
    if (
        any(a.validator is not None or a.converter is not None or not a.init for a in fields)
        or hasattr(cls, "__attrs_post_init__")
        or hasattr(cls, "__attrs_pre_init__")
        or not all(isinstance(cls.__dict__.get(n), MemberDescriptorType) for n in names)
    ):
        raise TypeError(f"{cls.__name__} needs its __init__: a slot builder would skip checks")
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def build_{cls.__name__}({', '.join(f'v{i}' for i in range(len(names)))}, /):"]
    lines.append("    obj = _new(_cls)")
    for i, name in enumerate(names):
        namespace[f"_set{i}"] = cls.__dict__[name].__set__
        lines.append(f"    _set{i}(obj, v{i})  # {name}")
    lines.append("    return obj")
    source = "\n".join(lines) + "\n"
    filename = f"<heymarket_async slot builder {cls.__module__}.{cls.__qualname__}>"
    exec(compile(source, filename, "exec"), namespace)
    # Tracebacks through the builder show its source, as for attrs' and cattrs' own functions.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    build: Callable[..., T] = namespace[f"build_{cls.__name__}"]
    return build


_build_contact: Final = slot_builder(Contact)
_build_channel: Final = slot_builder(ContactChannel)
#: Every Contact field read from a key, in the builder's order (``extra`` comes last, made of
#: the other keys); missing keys read as None through _NONES.
_CONTACT_KEYS: Final = tuple(a.name for a in attrs.fields(Contact) if a.name != "extra")
_NONES: Final = dict.fromkeys(_CONTACT_KEYS)
#: How many keys a contact's object merged over _NONES has when it holds no key unknown.
_KNOWN_COUNT: Final = len(_NONES)
_contact_values: Final = operator.itemgetter(*_CONTACT_KEYS)


def _fast_timestamp(value: Any, field: str) -> datetime | None:
    # fromisoformat reads what Heymarket sends (RFC 3339 with "Z") on Python 3.11+ at C speed;
    # anything else (3.10, lowercase, naive, a leap second) takes the tolerant path, and so
    # does an offset in year 1 or 9999, which parse_timestamp brings into the UTC range.
    if type(value) is str:
        try:
            parsed = _fromisoformat(value)
        except ValueError:
            pass
        else:
            tz = parsed.tzinfo
            if tz is _UTC or (tz is not None and 1 < parsed.year < 9999):
                return parsed
    return _timestamp(value, field)


def _fast_tags(value: list[Any]) -> tuple[Tag, ...]:
    out = []
    for item in value:
        if type(item) is dict and len(item) == 1:
            tag_id = item.get("tag_id")
            if type(tag_id) is int:
                tag = _TAG_CACHE.get(tag_id)
                if tag is None:
                    tag = Tag(id=tag_id)
                    if len(_TAG_CACHE) < _TAG_CACHE_MAX:
                        _TAG_CACHE[tag_id] = tag
                out.append(tag)
                continue
        return _tags(value)
    return tuple(out)


def _fast_channels(value: list[Any]) -> tuple[ContactChannel, ...]:
    out = []
    for item in value:
        if type(item) is dict and len(item) == 2:  # no key the model has no field for
            kind = item.get("channel_type")
            ident = item.get("channel_id")
            if type(kind) is str and type(ident) is str:
                out.append(_build_channel(kind, ident, _NO_EXTRA))
                continue
        return _channels(value)
    return tuple(out)


def _fast_custom(value: Any) -> dict[str, str]:
    if type(value) is dict:
        try:
            # JSON object keys are always strings; join() checks every value is one, in C.
            "".join(value.values())
        except TypeError:
            pass
        else:
            return dict(value)
    return _custom(value)


def _plain_values(*values: Any) -> tuple[Any, ...]:
    # The seven text fields and two flags of a contact, when one of them is neither None nor
    # its own type: as _opt_str and _opt_bool read them.
    *texts, is_opted_out, shared = values
    return (
        *map(_opt_str, texts),
        _opt_bool(is_opted_out, "is_opted_out"),
        _opt_bool(shared, "shared"),
    )


def structure_contact(data: Any, _: Any = Contact) -> Contact:
    """One contact from its JSON object. Unknown keys go to ``extra``; missing ones are
    defaults, except ``id``: a contact without one is a :class:`StructureError`.

    The hot path of every walk: values that already have the right type are taken as they are
    (checked with ``type() is``), everything else goes through the tolerant converters. The
    27 values are read at C speed (a merge over all-None defaults, then one itemgetter). The
    seven text fields and two flags are checked in one condition, and all nine go through
    ``_opt_str`` and ``_opt_bool`` only when one of them is off (any JSON value becomes its
    ``str()``; a flag may be ``0``/``1`` or ``"true"``/``"false"``). Whether any key is unknown
    costs one ``len()`` of the merge (it holds more keys than the defaults only then); the
    ``extra`` dict is built only in that case.
    """
    # Over 60 lines, and kept so: it runs once per contact on every walk (hundreds of thousands
    # in an export), where a helper call per contact costs measurable time; a third of it is
    # the unpacking of the 27 fields, one per line.
    if type(data) is not dict and not isinstance(data, Mapping):
        raise StructureError("contact", f"expected an object, got {type(data).__name__}")
    merged = {**_NONES, **data}
    (
        id_,
        uuid,
        phone,
        first,
        last,
        display_name,
        email,
        custom,
        tags,
        channels,
        assigned,
        is_opted_out,
        avatar,
        created,
        updated,
        rev,
        team,
        creator,
        shared,
        op,
        external_id,
        external_ref,
        local_id,
        inbox,
        parent,
        type_,
        note,
    ) = _contact_values(merged)
    if not (
        (first is None or type(first) is str)
        and (last is None or type(last) is str)
        and (display_name is None or type(display_name) is str)
        and (email is None or type(email) is str)
        and (avatar is None or type(avatar) is str)
        and (op is None or type(op) is str)
        and (type_ is None or type(type_) is str)
        and (is_opted_out is None or type(is_opted_out) is bool)
        and (shared is None or type(shared) is bool)
    ):
        first, last, display_name, email, avatar, op, type_, is_opted_out, shared = _plain_values(
            first, last, display_name, email, avatar, op, type_, is_opted_out, shared
        )
    # In field order: _build_contact takes the values positionally.
    return _build_contact(
        id_ if type(id_) is int else _contact_id(id_),
        uuid if uuid is None or type(uuid) is str else str(uuid),
        phone if phone is None or type(phone) is str else str(phone),
        first,
        last,
        display_name,
        email,
        _fast_custom(custom) if custom else {},
        _fast_tags(tags) if type(tags) is list else _tags(tags),
        _fast_channels(channels) if type(channels) is list else _channels(channels),
        (
            assigned
            if assigned is None or type(assigned) is int
            else _to_int(assigned, "assigned_user_id")
        ),
        is_opted_out,
        avatar,
        None if created is None else _fast_timestamp(created, "created"),
        None if updated is None else _fast_timestamp(updated, "updated"),
        rev if rev is None or type(rev) is int else _to_int(rev, "rev"),
        team if team is None or type(team) is int else _to_int(team, "team_id"),
        creator if creator is None or type(creator) is int else _to_int(creator, "creator_id"),
        shared,
        op,
        _opt_str(external_id),
        _opt_str(external_ref),
        _opt_str(local_id),
        inbox if inbox is None or type(inbox) is int else _to_int(inbox, "inbox_id"),
        parent if parent is None or type(parent) is int else _to_int(parent, "parent_id"),
        type_,
        _note(note) if note else (),
        _NO_EXTRA if len(merged) == _KNOWN_COUNT else _contact_extra(merged),
    )


def _contact_extra(merged: dict[str, Any]) -> Mapping[str, Any]:
    # The merge over _NONES holds the known keys first, then the others in the object's order
    # (with the object's values): those are the extra ones.
    return _Extra(dict(islice(merged.items(), _KNOWN_COUNT, None)))


def structure_contacts(data: Any) -> list[Contact]:
    """A page of contacts from a bare JSON array."""
    if not isinstance(data, list):
        raise StructureError("contacts", f"expected an array, got {type(data).__name__}")
    return [structure_contact(item) for item in data]


def structure_count(data: Any) -> int:
    """A count given as ``"1042"``, ``1042`` or ``{"count": 1042}``."""
    if isinstance(data, Mapping):
        if "count" not in data:
            raise StructureError("count", f"an object without count: {data!r}")
        data = data["count"]
    count = _to_int(data, "count")
    if count < 0:
        raise StructureError("count", f"a negative count: {count}")
    return count


def structure_fields(data: Any) -> list[ContactField]:
    """Custom fields given as ``{"fields": [...]}`` or a bare array; ``name`` or ``title``."""
    if isinstance(data, Mapping):
        data = data.get("fields", data.get("contact_fields"))
    if data is None:
        return []
    if not isinstance(data, list):
        raise StructureError("fields", f"expected an array, got {type(data).__name__}")
    out = []
    for item in data:
        if not isinstance(item, Mapping) or "id" not in item:
            raise StructureError("fields", f"a field without an id: {item!r}")
        name = item.get("name", item.get("title"))
        out.append(ContactField(id=_to_int(item["id"], "fields.id"), name=_opt_str(name)))
    return out


def structure_channels(data: Any) -> list[ContactChannel]:
    """The channels that add-channel returns: a bare array or ``{"contact_channels": [...]}``."""
    if isinstance(data, Mapping):
        data = data.get("contact_channels", data.get("channels"))
    if data is None:
        return []
    return list(_channels(data))


def structure_tag(data: Any) -> Tag:
    """A tag from a tag endpoint: an object (``id`` or ``tag_id``, with ``name``, ``color``,
    ``created``, ``updated`` when sent), ``{"tag": {...}}``, or a bare id."""
    if isinstance(data, Mapping) and isinstance(data.get("tag"), Mapping):
        data = data["tag"]
    return _tag(data)


def raw_tags(data: Any) -> list[dict[str, Any]]:
    """A page of the tag list as raw objects: a bare array or ``{"tags": [...]}``."""
    if isinstance(data, Mapping):
        data = data.get("tags")
    if data is None:
        return []
    if not isinstance(data, list):
        raise StructureError("tags", f"expected an array, got {type(data).__name__}")
    for item in data:
        if not isinstance(item, Mapping):
            raise StructureError("tags", f"expected a tag object, got {item!r}")
    return data


def structure_ref(data: Any) -> ContactRef:
    """What a create or update answers, ``{"id", "rev", "uuid"}``: ``id`` is required."""
    if not isinstance(data, Mapping):
        raise StructureError("ref", f"expected an object, got {type(data).__name__}")
    ident = data.get("id")
    if ident is None:
        raise StructureError("id", "an answer without the contact's id")
    return ContactRef(
        id=_to_int(ident, "id"),
        rev=_opt_int(data.get("rev"), "rev"),
        uuid=_opt_str(data.get("uuid")),
    )


def structure_status(data: Any) -> ContactStatus:
    """``{"id", "phone", "unsubscribed", "blocked"}``; ids and flags given as text are read."""
    if not isinstance(data, Mapping):
        raise StructureError("status", f"expected an object, got {type(data).__name__}")
    return ContactStatus(
        id=_opt_int(data.get("id"), "id"),
        phone=_opt_str(data.get("phone")),
        unsubscribed=_opt_bool(data.get("unsubscribed"), "unsubscribed"),
        blocked=_opt_bool(data.get("blocked"), "blocked"),
    )


def make_converter() -> cattrs.Converter:
    """The converter for every model, with the API's quirks as hooks."""
    conv = cattrs.Converter(forbid_extra_keys=False)

    def hook(fn: Callable[[Any, str], T], field: str) -> Callable[[Any, Any], T]:
        return lambda value, _: fn(value, field)

    conv.register_structure_hook(datetime, hook(_timestamp, "timestamp"))
    conv.register_unstructure_hook(datetime, format_timestamp)
    conv.register_structure_hook(Tag, lambda value, _: _tag(value))
    conv.register_structure_hook(ContactChannel, lambda value, _: _channel(value))
    conv.register_structure_hook(Contact, structure_contact)
    conv.register_structure_hook(ContactRef, lambda value, _: structure_ref(value))
    conv.register_structure_hook(ContactField, lambda value, _: structure_fields([value])[0])
    # The keys of ``extra`` go back where they came from: the top level of the object.
    for cls in (Tag, ContactChannel, Contact):
        conv.register_unstructure_hook(
            cls, _with_extra(make_dict_unstructure_fn(cls, conv, extra=override(omit=True)))
        )
    return conv


def _with_extra(fields: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def unstructure(model: Any) -> dict[str, Any]:
        out = fields(model)
        for key, value in model.extra.items():
            out.setdefault(key, value)  # a field the model has wins over a key of extra
        return out

    return unstructure


CONVERTER: Final = make_converter()


def structure(data: Any, cls: type[T]) -> T:
    """``data`` as a ``cls``, through the one converter."""
    return CONVERTER.structure(data, cls)
