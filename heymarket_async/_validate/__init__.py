"""Input checks and request bodies: everything is checked before a request is built.

Each check raises :class:`InvalidRequestError` naming the argument; nothing is sent.

What goes into a body must be something JSON can carry: text with a UTF-8 form (no lone
surrogate, as ``errors="surrogateescape"`` leaves in a name read from a badly encoded file) and
ints the API's 64-bit signed integers hold (an id is 1 to 2**63 - 1).

Callers import the package as ``check`` and call ``check.<name>``; the checks live in
``_scalars`` (ints, text, bounds), ``_channels`` (phones, emails, channels, search values),
``_contact`` (ids, timestamps, tags, custom fields, contact bodies) and ``_bulk`` (bulk items).

Where the docs write an input in its wire shape, that shape is taken as well as the friendly
one, with the same checks: a channel as ``{"channel_type", "channel_id"}`` (or a JSON-decoded
``["phone", "..."]`` list), a tag as ``{"tag_id": N}``, a v2 item's channels under
``contact_channels``. Masked (``_redact.mask``): any input a message repeats, since a phone
number or an email given in the wrong place is customer data. Lists are read up to a bound,
so that an endless iterable is refused; the bulk items' checks let the event loop run between
chunks (the only checks that are coroutines).
"""

from heymarket_async._params import CONTACT_FIELDS

from ._bulk import (
    CHECK_CHUNK,
    MAX_BATCH_SIZE,
    MAX_BULK_ITEMS,
    batch_size,
    contact_uuids,
    items,
    v1_batch_contacts,
    v1_batch_item,
    v2_bulk_contacts,
    v2_bulk_item,
)
from ._channels import (
    channel,
    channel_id,
    channel_type,
    channels,
    create_channels,
    email,
    phone,
    search_values,
)
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
    local_id,
    status,
    tag_body,
    tag_id,
    tags,
    timestamp,
)
from ._scalars import MAX_INT, MAX_SHORT_LIST, V2_MAX_LIMIT, boolean, bounded_int

__all__ = [
    "CHECK_CHUNK",
    "CONTACT_FIELDS",
    "MAX_BATCH_SIZE",
    "MAX_BULK_ITEMS",
    "MAX_INT",
    "MAX_SHORT_LIST",
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
    "create_channels",
    "custom",
    "email",
    "field_titles",
    "items",
    "local_id",
    "phone",
    "search_values",
    "status",
    "tag_body",
    "tag_id",
    "tags",
    "timestamp",
    "v1_batch_contacts",
    "v1_batch_item",
    "v2_bulk_contacts",
    "v2_bulk_item",
]
