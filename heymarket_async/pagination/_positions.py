"""Where a walk stands, as a value that survives a crash: :class:`V1Position`,
:class:`V2OffsetPosition` (the keyset walk's ``V2Position`` is in ``_keyset``).

Saved with ``to_json()`` and checked field by field when loaded, since it comes back from a
file the SDK did not write itself (``InvalidRequestError``, field ``resume``, for anything else).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final, TypeVar

import attrs

from heymarket_async import _validate as check
from heymarket_async._sansio import parse_timestamp
from heymarket_async.errors import InvalidRequestError

__all__ = ["V1Position", "V2OffsetPosition", "resumed", "since_text"]

RawContact = dict[str, Any]

#: The documented v1 page size: a shorter page ends the walk.
V1_PAGE_SIZE: Final = 30
_FORMAT: Final = 1
#: What an ``id`` or ``updated`` value may be: the walks use them as dict keys and set members.
KEY_TYPES: Final = frozenset([int, str, type(None)])


PosT = TypeVar("PosT")
#: Per class that :func:`evolved` copied: its field names, and the converters of those that
#: have one.
_COPIERS: dict[type, tuple[frozenset[str], dict[str, Callable[[Any], Any]]]] = {}
_set: Final = object.__setattr__


def evolved(inst: PosT, changes: dict[str, Any]) -> PosT:
    """``attrs.evolve(inst, **changes)`` for a frozen attrs class without slots, validators
    or ``__attrs_post_init__`` whose fields all take their own name in ``__init__``, some four
    times as fast: the instance's ``__dict__`` is copied, only the changed fields are converted,
    and ``changes`` comes as a dict, not as keywords (a v1 walk's position has some 25 fields,
    and changes once a page of 30 contacts). ``changes`` is used up. Unchanged values are the
    old instance's own, as with ``attrs.evolve``, except that an unchanged field with a converter
    (``seen``) is not converted again: both share its dict (positions are never changed in
    place)."""
    cls = type(inst)
    try:
        names, converters = _COPIERS[cls]
    except KeyError:
        fields = attrs.fields(cls)  # type: ignore[arg-type]  # any attrs class
        assert "__slots__" not in vars(cls)
        assert not hasattr(cls, "__attrs_post_init__")
        assert all(f.init and f.alias == f.name and f.validator is None for f in fields)
        names = frozenset(f.name for f in fields)
        converters = {f.name: f.converter for f in fields if f.converter is not None}
        _COPIERS[cls] = (names, converters)
    if not changes.keys() <= names:
        raise TypeError(f"{cls.__name__} has no field {sorted(changes.keys() - names)[0]!r}")
    for name, convert in converters.items():
        if name in changes:
            changes[name] = convert(changes[name])
    values = inst.__dict__.copy()
    values.update(changes)
    new: PosT = object.__new__(cls)
    _set(new, "__dict__", values)  # (a frozen class's own __setattr__ refuses)
    return new


def bad_resume(why: str) -> InvalidRequestError:
    return InvalidRequestError("resume", why)


def _load(value: Mapping[str, Any] | str, kind: str, fmt: int = _FORMAT) -> Mapping[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to be one
            raise bad_resume("not a JSON position") from None
    if not isinstance(value, Mapping):
        raise bad_resume(f"expected a position object, got {type(value).__name__}")
    if value.get("kind") == "v2" and kind == "v2" and value.get("format") != fmt:
        # Format 1 is the offset walk's position, format 2 the keyset walk's.
        walk = "iter_contacts()" if fmt == _FORMAT else "iter_contacts_by_offset()"
        raise bad_resume(f"this position is not for this walk; resume it with client.v2.{walk}")
    if value.get("kind") != kind or value.get("format") != fmt:
        raise bad_resume(f"not a {kind} position of format {fmt}: {value!r:.200}")
    return value


# The ``_saved_*`` readers check one field of a saved position (unlike ``_validate``'s checks
# of arguments, they all raise for the field ``resume``).


def _saved_bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise bad_resume(f"{key} must be a bool or null")
    return value


def _saved_since(data: Mapping[str, Any]) -> str | None:
    value = data.get("since")
    return None if value is None else check.timestamp(value, "resume.since")


def _saved_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_resume(f"{key} must be a string or null")
    return value


def _saved_time(data: Mapping[str, Any], key: str) -> str | None:
    """A server's ``updated`` value kept in a position: sent as it is, so it must read as one."""
    value = _saved_str(data, key)
    if value is not None:
        try:
            parse_timestamp(value)
        except ValueError:
            why = f"{key} must be an RFC 3339 time or null, got {value!r:.100}"
            raise bad_resume(why) from None
    return value


def _saved_ids(value: Any, key: str) -> list[Any]:
    """Contact ids as a position stores them: a list of strings, integers or nulls."""
    if not isinstance(value, list) or any(type(v) not in KEY_TYPES for v in value):
        raise bad_resume(f"{key} must be a list of contact ids")
    return value


def _saved_count(data: Mapping[str, Any], key: str) -> int:
    return check.bounded_int(data.get(key, 0), f"resume.{key}", 0)


def freeze_seen(value: Mapping[str, Iterable[Any]]) -> Mapping[str, frozenset[Any]]:
    """A ``seen`` mapping as positions keep it: each time's ids frozen."""
    return {k: frozenset(v) for k, v in value.items()}


def _tuple_or_none(value: Iterable[Any] | None) -> tuple[Any, ...] | None:
    return None if value is None else tuple(value)


# Without slots: :func:`evolved` copies its ``__dict__`` (once a page of a walk).
@attrs.frozen(kw_only=True, slots=False)
class V1Position:
    """Where a v1 walk stands: enough to resume it in another process after a crash.

    ``cursor`` is the ``date`` to send next, as the server wrote it (``None`` before the first
    page); ``seen`` maps ``updated`` values at that boundary to the ids handed out there;
    ``descending`` and ``inclusive`` are what the walk learned about the server; ``tie`` and the
    fields after it follow a tie group read through the v2 list (docs/pagination.md). Treat it
    as opaque: save :meth:`to_json` and pass it back as ``resume=``.
    """

    cursor: str | None = None
    seen: Mapping[str, frozenset[Any]] = attrs.field(factory=dict, converter=freeze_seen)
    since: str | None = None
    descending: bool | None = None
    inclusive: bool | None = None
    #: True when ``cursor`` is the SDK's own time (``since``, or just before a tie group), not
    #: a server ``updated`` value, so the answer says nothing about inclusivity.
    own_cursor: bool = False
    page_size: int = V1_PAGE_SIZE
    done: bool = False
    #: The ``updated`` value of a tie group being read through the v2 list.
    tie: str | None = None
    #: The v2 page of that read's pass (a saved position always starts a pass again).
    tie_page: int = 0
    #: The latest ``updated`` value below ``tie`` that the v2 read's pass met.
    tie_below: str | None = None
    #: ``tie_skip``, ``tie_matched``, ``tie_prev`` and ``tie_excl`` were an earlier version's
    #: place in a tie group's read: unused now, and a saved position that sets them is refused
    #: (resuming it could hand out contacts again).
    tie_skip: int = 0
    tie_matched: int = 0
    tie_prev: tuple[Any, ...] | None = attrs.field(default=None, converter=_tuple_or_none)
    tie_excl: frozenset[Any] = attrs.field(default=frozenset(), converter=frozenset)
    #: A tie group read through v2; its contacts are dropped if a cursor sends them again.
    resolved: str | None = None
    #: The group past ``resolved`` (a server time), read through v2 when the cursor cannot pass
    #: ``resolved`` (``None``: the end, or on a newest-first list the time before the read).
    resolved_next: str | None = None
    #: True when ``cursor`` is the last page's last time, whose group the page may have cut:
    #: the answer must show one of the ids in ``seen[cursor]``, or that group is read
    #: through v2 (``inclusive`` then stays False, see docs/pagination.md).
    check: bool = False
    #: The cursor to send instead when that check fails (the last different time before
    #: ``cursor`` on the page; ``None``: the page held nothing else past the cursor before it).
    fallback: str | None = None
    #: In a tie group's read: the ids at ``tie`` it handed out (beside ``seen[tie]``, from v1).
    tie_given: frozenset[Any] = attrs.field(default=frozenset(), converter=frozenset)
    #: The read's pass over the group (from page 0): places at ``tie`` met and their ids.
    tie_count: int = 0
    tie_ids: frozenset[Any] = attrs.field(default=frozenset(), converter=frozenset)
    #: Passes over the group so far, and a digest of the ids of the last one if it held no
    #: id twice: two passes in a row must agree before the read counts as complete.
    tie_pass: int = 0
    tie_digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``seen`` as lists of ids)."""
        data: dict[str, Any] = {"kind": "v1", "format": _FORMAT}
        for field in attrs.fields(V1Position):
            data[field.name] = getattr(self, field.name)
        data["seen"] = {k: sorted(v, key=repr) for k, v in self.seen.items()}
        data["tie_prev"] = None if self.tie_prev is None else list(self.tie_prev)
        data["tie_excl"] = sorted(self.tie_excl, key=repr)
        data["tie_given"] = sorted(self.tie_given, key=repr)
        data["tie_ids"] = sorted(self.tie_ids, key=repr)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> V1Position:
        """The position that :meth:`to_dict` (or :meth:`to_json`) wrote.

        Raises :class:`InvalidRequestError` (field ``resume``) for anything else.
        """
        data = _load(data, "v1")
        seen = data.get("seen") or {}
        if not isinstance(seen, Mapping) or not all(isinstance(k, str) for k in seen):
            raise bad_resume("seen must map timestamps to lists of ids")
        for ids in seen.values():
            _saved_ids(ids, "seen")
        tie_prev = data.get("tie_prev")
        if tie_prev is not None:
            _saved_ids(tie_prev, "tie_prev")
        old = ("tie_skip", "tie_matched", "tie_prev", "tie_excl")
        if data.get("tie") is not None and any(data.get(k) for k in (*old, "tie_page")):
            raise bad_resume(
                "saved in the middle of a tie group's read by an earlier version; walk again "
                "from the start (or from a position saved outside that read)"
            )
        return cls(
            cursor=_saved_time(data, "cursor"),
            seen=seen,
            since=_saved_since(data),
            descending=_saved_bool(data, "descending"),
            inclusive=_saved_bool(data, "inclusive"),
            own_cursor=bool(data.get("own_cursor", False)),
            page_size=check.bounded_int(data.get("page_size", V1_PAGE_SIZE), "resume.page_size", 1),
            done=bool(data.get("done", False)),
            tie=_saved_time(data, "tie"),
            tie_page=_saved_count(data, "tie_page"),
            tie_skip=_saved_count(data, "tie_skip"),
            tie_below=_saved_time(data, "tie_below"),
            tie_matched=_saved_count(data, "tie_matched"),
            tie_prev=tie_prev,
            tie_excl=_saved_ids(data.get("tie_excl") or [], "tie_excl"),
            resolved=_saved_time(data, "resolved"),
            resolved_next=_saved_time(data, "resolved_next"),
            check=bool(data.get("check", False)),
            fallback=_saved_time(data, "fallback"),
            tie_given=_saved_ids(data.get("tie_given") or [], "tie_given"),
            tie_count=_saved_count(data, "tie_count"),
            tie_ids=_saved_ids(data.get("tie_ids") or [], "tie_ids"),
            tie_pass=_saved_count(data, "tie_pass"),
            tie_digest=_saved_str(data, "tie_digest"),
        )

    def to_json(self) -> str:
        """The position as compact JSON, to store and resume from with :meth:`from_json`."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> V1Position:
        """The position that :meth:`to_json` wrote."""
        return cls.from_dict(text)


@attrs.frozen(kw_only=True)
class V2OffsetPosition:
    """Where a v2 offset walk stands: the next ``page`` to read and how many of its contacts to
    ``skip``.

    ``page_size``, ``since`` and ``ascending`` are the walk's parameters: a page number means
    nothing without them, so a resumed walk takes them from here.
    """

    page: int = 0
    skip: int = 0
    page_size: int = 100
    since: str | None = None
    ascending: bool = True
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": "v2",
            "format": _FORMAT,
            "page": self.page,
            "skip": self.skip,
            "page_size": self.page_size,
            "since": self.since,
            "ascending": self.ascending,
            "done": self.done,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> V2OffsetPosition:
        """The position that :meth:`to_dict` (or :meth:`to_json`) wrote.

        Raises :class:`InvalidRequestError` (field ``resume``) for anything else.
        """
        data = _load(data, "v2")
        ascending = _saved_bool(data, "ascending")
        return cls(
            page=_saved_count(data, "page"),
            skip=_saved_count(data, "skip"),
            page_size=check.bounded_int(
                data.get("page_size", 100), "resume.page_size", 1, check.V2_MAX_LIMIT
            ),
            since=_saved_since(data),
            ascending=True if ascending is None else ascending,
            done=bool(data.get("done", False)),
        )

    def to_json(self) -> str:
        """The position as compact JSON, to store and resume from with :meth:`from_json`."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> V2OffsetPosition:
        """The position that :meth:`to_json` wrote."""
        return cls.from_dict(text)


def resumed(
    value: V1Position | V2OffsetPosition | Mapping[str, Any] | str,
    cls: type[V1Position] | type[V2OffsetPosition],
    since: str | None,
) -> Any:
    """The position a walk resumes from; a ``since`` given again must be the walk's own."""
    if isinstance(value, cls):
        pos: V1Position | V2OffsetPosition = value
    elif isinstance(value, (V1Position, V2OffsetPosition)):
        raise bad_resume(f"expected a {cls.__name__}, got a {type(value).__name__}")
    elif isinstance(value, (str, Mapping)):
        pos = cls.from_dict(value)
    else:
        raise bad_resume(f"expected a {cls.__name__}, a dict or a JSON string")
    if since is not None and since != pos.since:
        raise InvalidRequestError("since", "differs from the since of the resumed walk")
    return pos


def since_text(since: datetime | str | None) -> str | None:
    """The ``since`` argument of a walk, checked, as the RFC 3339 text it is kept as."""
    return None if since is None else check.timestamp(since, "since")


#: What the keyset walk's position (``_keyset``) reads its saved fields with.
load_position = _load
saved_ids = _saved_ids
saved_time = _saved_time
