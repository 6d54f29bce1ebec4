"""Input checks and request bodies: everything is checked before a request is built.

Each check raises :class:`InvalidRequestError` naming the argument; nothing is sent.

What goes into a body must be something JSON can carry: text with a UTF-8 form (no lone
surrogate, as ``errors="surrogateescape"`` leaves in a name read from a badly encoded file) and
ints the API's 64-bit signed integers hold (an id is 1 to 2**63 - 1).

Callers import the package as ``check`` and call ``check.<name>``; the checks live in
``_scalars`` (ints, text, bounds), ``_channels`` (phones, emails, channels, search values),
``_contact`` (ids, timestamps, tags, custom fields, contact bodies) and ``_bulk`` (bulk items).
"""

from heymarket_async._params import CONTACT_FIELDS

from ._bulk import (
    MAX_BATCH_SIZE,
    batch_size,
    contact_uuids,
    items,
    v1_batch_contacts,
    v2_bulk_contacts,
)
from ._channels import channel, channel_id, channel_type, channels, email, phone, search_values
from ._contact import (
    MAX_TAGS,
    STATUSES,
    assignee,
    contact_body,
    contact_id,
    contact_lookup,
    contact_uuid,
    custom,
    field_titles,
    status,
    tag_body,
    tag_id,
    tags,
    timestamp,
)
from ._scalars import MAX_INT, V2_MAX_LIMIT, boolean, bounded_int

__all__ = [
    "CONTACT_FIELDS",
    "MAX_BATCH_SIZE",
    "MAX_INT",
    "MAX_TAGS",
    "STATUSES",
    "V2_MAX_LIMIT",
    "assignee",
    "batch_size",
    "boolean",
    "bounded_int",
    "channel",
    "channel_id",
    "channel_type",
    "channels",
    "contact_body",
    "contact_id",
    "contact_lookup",
    "contact_uuid",
    "contact_uuids",
    "custom",
    "email",
    "field_titles",
    "items",
    "phone",
    "search_values",
    "status",
    "tag_body",
    "tag_id",
    "tags",
    "timestamp",
    "v1_batch_contacts",
    "v2_bulk_contacts",
]
