"""The values that the Heymarket contacts API returns, as frozen attrs classes.

Models are plain data: they do no I/O. A model's identifier is required (``Contact.id``,
``ContactRef.id``, ``Tag.id``, ``ContactField.id``): an object from the API without one is a bad
response, and raises :class:`~heymarket_async.InvalidResponseError`. Every other field may be
missing from a response, so it has a default (``None`` or empty). A new field on Heymarket's
side never breaks a caller: the keys of a contact (or of a tag) that the SDK has no field for
are kept, as decoded from the JSON, in the model's read-only ``extra`` mapping (in the spirit of
pydantic's ``model_extra``), which equality and hashing leave out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar

import attrs

if TYPE_CHECKING:
    from .errors import HeymarketError

T = TypeVar("T")

__all__ = [
    "UNASSIGN",
    "UNSET",
    "BulkItem",
    "BulkResult",
    "BulkStatus",
    "Contact",
    "ContactChannel",
    "ContactField",
    "ContactRef",
    "ContactStatus",
    "ContactStatusValue",
    "Tag",
    "UnsetType",
]


class UnsetType(enum.Enum):
    """The type of :data:`UNSET`."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> Literal[False]:
        return False


#: The default of optional arguments: "not given", so the field is left out of the request
#: body. Passing ``None`` instead sends an explicit JSON ``null``.
UNSET: Final = UnsetType.UNSET

#: Pass as ``assignee_id`` to unassign a contact explicitly (Heymarket's ``-1``).
UNASSIGN: Final = -1


class _Extra(Mapping[str, Any]):
    """A read-only mapping (``model.extra``): the keys of the API's object that the model has
    no field for. Unlike ``types.MappingProxyType`` it pickles and copies, as models do."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[type[_Extra], tuple[dict[str, Any]]]:
        return (type(self), (self._data,))


#: The ``extra`` of a model whose object held only keys the SDK knows (one shared instance).
_NO_EXTRA: Final[Mapping[str, Any]] = _Extra({})


@attrs.frozen(kw_only=True)
class Tag:
    """A tag. On a contact, responses give either ``{"tag_id": N}`` or a fuller tag object.

    ``created`` and ``updated`` are filled in by the tag endpoints when they send them.
    ``extra`` holds the keys of the tag's object that the SDK has no field for (read-only,
    values as decoded from the JSON; left out of equality and hashing).
    """

    id: int
    name: str | None = None
    color: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    extra: Mapping[str, Any] = attrs.field(default=_NO_EXTRA, eq=False)


@attrs.frozen(kw_only=True)
class ContactChannel:
    """One way to reach a contact (v2): a phone number, an email address, another channel.

    ``extra`` holds the keys of the channel's object that the SDK has no field for (read-only,
    values as decoded from the JSON; left out of equality and hashing, and never sent).
    """

    channel_type: str
    channel_id: str
    extra: Mapping[str, Any] = attrs.field(default=_NO_EXTRA, eq=False)


@attrs.frozen(kw_only=True)
class ContactRef:
    """What a create or update returns: the contact's integer id, revision and UUID."""

    id: int
    rev: int | None = None
    #: The v2 identifier; missing on some older deployments.
    uuid: str | None = None


@attrs.frozen(kw_only=True)
class ContactField:
    """A custom contact field defined for the team: its numeric id and display name."""

    id: int
    name: str | None = None


@attrs.frozen(kw_only=True)
class Contact:
    """A contact as the API returns it.

    ``id`` is the v1 integer id, which every contact has, read through v1 or v2 (a v2 create
    answers it too): a contact from the API without one raises
    :class:`~heymarket_async.InvalidResponseError`, so ``id`` is required here as well.
    ``uuid`` is the v2 id (missing on some older deployments). ``custom`` maps custom field ids
    (as strings) to their string values. ``assigned_user_id`` is the field that requests call
    ``assignee_id``. ``created`` and ``updated`` are timezone-aware datetimes. The other fields
    are ``None`` or empty when the API leaves them out.
    """

    id: int
    uuid: str | None = None
    phone: str | None = None
    first: str | None = None
    last: str | None = None
    display_name: str | None = None
    email: str | None = None
    custom: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    tags: tuple[Tag, ...] = ()
    contact_channels: tuple[ContactChannel, ...] = ()
    assigned_user_id: int | None = None
    is_opted_out: bool | None = None
    avatar: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    rev: int | None = None
    team_id: int | None = None
    creator_id: int | None = None
    shared: bool | None = None
    op: str | None = None
    external_id: str | None = None
    external_ref: str | None = None
    #: The ``local_id`` the contact was created with (your own id of it), if the API returns it.
    local_id: str | None = None
    inbox_id: int | None = None
    parent_id: int | None = None
    type: str | None = None
    #: Heymarket's notes as decoded: objects stay dicts, so like ``custom`` it is not hashed.
    note: tuple[Any, ...] = attrs.field(default=(), hash=False)
    #: The keys the SDK has no field for, as decoded (read-only; not compared, not hashed).
    extra: Mapping[str, Any] = attrs.field(default=_NO_EXTRA, eq=False)


class ContactStatusValue(str, enum.Enum):
    """The statuses that ``set_contact_status`` can set (``POST /v1/contact/set_status``)."""

    ACTIVE = "active"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"

    def __str__(self) -> str:
        return self.value


@attrs.frozen(kw_only=True)
class ContactStatus:
    """Whether a contact can be messaged (``POST /v1/contact/status``).

    ``id`` stays optional: the status is asked by phone as well as by id, and what the API
    answers for a phone that belongs to no contact is not documented.
    """

    id: int | None = None
    phone: str | None = None
    unsubscribed: bool | None = None
    blocked: bool | None = None


class BulkStatus(str, enum.Enum):
    """What became of one item of a bulk call."""

    #: The server applied it (it was not among the failures it reported).
    SUCCEEDED = "succeeded"
    #: Not applied: the server reported it as failed, or its batch was refused or never sent.
    #: Safe to send again once the reason is fixed.
    FAILED = "failed"
    #: Its batch may or may not have been applied (a 5xx, a dropped connection, a body that
    #: could not be read): check before sending it again.
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


@attrs.frozen(kw_only=True)
class BulkItem(Generic[T]):
    """One input item of a bulk call and what became of it.

    ``index`` is its position in the input and ``input`` the item as given. ``result`` is what
    the server returned for it, when it returns something per item (the :class:`Contact` of a
    v2 bulk create/update). ``reason`` is the server's reason for a failure, or the message of
    the ``error`` that failed the whole batch; ``detail`` is the raw failure entry the server
    sent for this item.
    """

    index: int
    input: Any
    status: BulkStatus
    result: T | None = None
    reason: str | None = None
    error: HeymarketError | None = attrs.field(default=None, eq=False)
    detail: Any = None

    @property
    def ok(self) -> bool:
        """Whether the item succeeded."""
        return self.status is BulkStatus.SUCCEEDED


@attrs.frozen(kw_only=True)
class BulkResult(Generic[T]):
    """The outcome of a bulk call: one :class:`BulkItem` per input item, in input order.

    ``unmatched`` holds the failure entries that the server reported but that could not be
    matched to an input item; when there are any, the items they may belong to are
    :attr:`BulkStatus.UNKNOWN` rather than succeeded. ``batches`` is how many requests were
    made.
    """

    items: tuple[BulkItem[T], ...] = ()
    unmatched: tuple[Any, ...] = ()
    batches: int = 0

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[BulkItem[T]]:
        return iter(self.items)

    @property
    def ok(self) -> bool:
        """Whether every item succeeded."""
        return not self.unmatched and all(item.ok for item in self.items)

    @property
    def succeeded(self) -> list[BulkItem[T]]:
        """The items that succeeded, in input order."""
        return [i for i in self.items if i.status is BulkStatus.SUCCEEDED]

    @property
    def failed(self) -> list[BulkItem[T]]:
        """The items that were not applied, in input order: safe to send again."""
        return [i for i in self.items if i.status is BulkStatus.FAILED]

    @property
    def unknown(self) -> list[BulkItem[T]]:
        """The items that may or may not have been applied: check before sending again."""
        return [i for i in self.items if i.status is BulkStatus.UNKNOWN]
