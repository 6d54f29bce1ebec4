"""The values that the Heymarket contacts API returns, as frozen attrs classes.

Models are plain data: they do no I/O, and every field may be missing from a response, so every
field has a default (``None`` or empty). Fields that the SDK does not know are ignored when a
response is decoded, so a new field on Heymarket's side never breaks a caller.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal

import attrs

__all__ = [
    "UNASSIGN",
    "UNSET",
    "Contact",
    "ContactChannel",
    "ContactField",
    "ContactRef",
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


@attrs.frozen(kw_only=True)
class Tag:
    """A tag on a contact. Responses give either ``{"tag_id": N}`` or a fuller tag object."""

    id: int
    name: str | None = None
    color: str | None = None


@attrs.frozen(kw_only=True)
class ContactChannel:
    """One way to reach a contact (v2): a phone number, an email address, another channel."""

    channel_type: str
    channel_id: str


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

    ``id`` is the v1 integer id, ``uuid`` the v2 id. ``custom`` maps custom field ids (as
    strings) to their string values. ``assigned_user_id`` is the field that requests call
    ``assignee_id``. ``created`` and ``updated`` are timezone-aware datetimes.
    """

    id: int | None = None
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
    inbox_id: int | None = None
    parent_id: int | None = None
    type: str | None = None
    note: tuple[Any, ...] = ()
