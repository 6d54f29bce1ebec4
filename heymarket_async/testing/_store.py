"""The emulator's in-memory contact store: records, a sorted index, lookups, rendered JSON.

No I/O. The index is one sorted list of ints, each packing ``(updated, id)`` (``updated`` at
the resolution the server compares: the rendered one, or every stored microsecond), so a list
page is two bisects and a slice, and a write moves one entry. Each contact's JSON is rendered
once and cached until it is written to.
"""

from __future__ import annotations

import bisect
import json
import random
import uuid as uuid_module
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final, Literal

from . import _timestamps as ts
from ._clock import FakeClock
from ._seed import ID_BITS, ID_MASK, MAX_SEEDED_ID, SeedBlock, find_block, updated_keys
from ._ties import Reorder

#: How many rendered seeded contacts are kept; past it the cache is emptied (it refills as
#: pages are read), so walking a million seeded contacts does not keep a million strings.
SEEDED_CACHE_LIMIT: Final = 100_000

CursorResolution = Literal["rendered", "microseconds"]

#: The keys every contact answer has (or may have): extra fields cannot take these names.
SERVED_KEYS: Final = frozenset(
    {
        "id",
        "uuid",
        "phone",
        "first",
        "last",
        "display_name",
        "email",
        "custom",
        "tags",
        "contact_channels",
        "assigned_user_id",
        "is_opted_out",
        "avatar",
        "team_id",
        "creator_id",
        "created",
        "updated",
        "rev",
        "local_id",
    }
)


class Record:
    """A contact written through the API or by a test (seeded contacts are made on demand)."""

    __slots__ = ("created", "fields", "id", "rev", "updated", "uuid")

    def __init__(
        self,
        contact_id: int,
        uuid: str,
        fields: dict[str, Any],
        created: int,
        updated: int,
        rev: int,
    ) -> None:
        self.id = contact_id
        self.uuid = uuid
        self.fields = fields
        self.created = created
        self.updated = updated
        self.rev = rev

    def to_json(self, fmt: str) -> dict[str, Any]:
        """The contact as the API returns it."""
        return {
            "id": self.id,
            "uuid": self.uuid,
            **self.fields,
            "created": ts.render(self.created, fmt),
            "updated": ts.render(self.updated, fmt),
            "rev": self.rev,
        }


def channels_of(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every ``(channel_type, channel_id)`` a contact can be found by."""
    out = [(c["channel_type"], c["channel_id"]) for c in fields.get("contact_channels") or ()]
    for kind in ("phone", "email"):
        value = fields.get(kind)
        if value and (kind, value) not in out:
            out.append((kind, value))
    return out


class ContactStore:
    """Every contact of one fake team, indexed by ``(updated, id)``, id, UUID and channel."""

    def __init__(
        self,
        *,
        clock: FakeClock,
        timestamp_format: str = "milliseconds",
        field_ids: Sequence[int] = (123, 456),
        seed: int = 0,
        cursor_resolution: CursorResolution = "rendered",
    ) -> None:
        if cursor_resolution not in ("rendered", "microseconds"):
            raise ValueError(
                f"cursor_resolution must be 'rendered' or 'microseconds': {cursor_resolution!r}"
            )
        self.clock = clock
        self.fmt = timestamp_format
        rendered = ts.unit(timestamp_format)
        #: The resolution (microseconds) at which contacts are ordered, tied and compared with
        #: cursors: the rendered one, or 1 for ``cursor_resolution="microseconds"``. Fixed for
        #: the store's life, since the index is built at it.
        self.resolution = rendered if cursor_resolution == "rendered" else 1
        self.field_ids = tuple(field_ids)
        self.random_seed = seed
        self._rng = random.Random(seed)
        self._records: dict[int, Record] = {}
        self._blocks: list[SeedBlock] = []
        self._deleted_seeded: set[int] = set()
        self._index: list[int] = []
        self._uuids: dict[str, int] = {}
        self._channels: dict[tuple[str, str], set[int]] = {}
        self._local_ids: dict[str, int] = {}
        self._cache: dict[int, bytes] = {}
        self._seeded_cache: dict[int, bytes] = {}
        self._next_id = 1
        #: How many rendered seeded contacts to keep (see :data:`SEEDED_CACHE_LIMIT`).
        self.seeded_cache_limit = SEEDED_CACHE_LIMIT
        #: Bumped on every write, so observers can tell that something changed.
        self.version = 0
        # Each extra field as its key and its ',"key":value' JSON, spliced into every answer.
        self._extra: list[tuple[str, bytes]] = []

    # -- reading --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, contact_id: object) -> bool:
        return isinstance(contact_id, int) and self._key(contact_id) is not None

    def ids(self) -> Iterator[int]:
        """Every contact id, in ``(updated, id)`` order."""
        for key in list(self._index):
            yield key & ID_MASK

    def _seeded_block(self, contact_id: int) -> SeedBlock | None:
        if contact_id in self._records or contact_id in self._deleted_seeded:
            return None
        return find_block(self._blocks, contact_id)

    def _key(self, contact_id: int) -> int | None:
        record = self._records.get(contact_id)
        if record is not None:
            return self._sort_key(record.updated, contact_id)
        block = self._seeded_block(contact_id)
        return None if block is None else block.key(contact_id)

    def _sort_key(self, updated: int, contact_id: int) -> int:
        return (updated // self.resolution * self.resolution) << ID_BITS | contact_id

    def get(self, contact_id: int) -> Record | None:
        """The contact's record (a fresh copy for a seeded contact not yet written to)."""
        record = self._records.get(contact_id)
        if record is not None:
            return record
        block = self._seeded_block(contact_id)
        if block is None:
            return None
        created, updated, rev = block.times(contact_id)
        return Record(
            contact_id, block.uuid(contact_id), block.fields(contact_id), created, updated, rev
        )

    @property
    def extra_fields(self) -> dict[str, Any]:
        """The fields served on every contact besides its own (a fresh dict)."""
        return {key: json.loads(b"{" + part[1:] + b"}")[key] for key, part in self._extra}

    def set_extra_fields(self, fields: Mapping[str, Any]) -> None:
        """Serve ``fields`` on every contact, after its own keys (values as JSON, as given).

        A contact that has a field of the same name (``add_contact(loyalty_tier=...)``) keeps
        its own value. ``ValueError`` for a name every contact has already, or a value that
        is not JSON.
        """
        parts = []
        for key, value in fields.items():
            if not isinstance(key, str):
                raise ValueError(f"an extra field's name is a string, got {key!r}")
            if key in SERVED_KEYS:
                raise ValueError(f"{key!r} is a field every contact has already")
            try:
                encoded = json.dumps({key: value}, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"extra field {key!r} is not JSON: {exc}") from None
            parts.append((key, b"," + encoded[1:-1].encode()))
        self._extra = parts
        self._cache.clear()
        self._seeded_cache.clear()

    def _with_extra(self, data: bytes, own: Mapping[str, Any]) -> bytes:
        extra = b"".join([part for key, part in self._extra if key not in own])
        return data[:-1] + extra + b"}" if extra else data

    def render(self, contact_id: int) -> bytes:
        """The contact's JSON bytes, cached until the contact is written to."""
        data = self._cache.get(contact_id)
        if data is not None:
            return data
        data = self._seeded_cache.get(contact_id)
        if data is not None:
            return data
        record = self._records.get(contact_id)
        if record is not None:
            data = json.dumps(record.to_json(self.fmt), separators=(",", ":")).encode()
            if self._extra:
                data = self._with_extra(data, record.fields)
            self._cache[contact_id] = data
            return data
        block = self._seeded_block(contact_id)
        if block is None:
            raise KeyError(contact_id)
        data = block.render(contact_id)
        if self._extra:
            data = self._with_extra(data, {})
        if len(self._seeded_cache) >= self.seeded_cache_limit:
            self._seeded_cache.clear()
        self._seeded_cache[contact_id] = data
        return data

    def render_list(self, ids: Sequence[int]) -> bytes:
        """A JSON array of these contacts, joined from their cached bytes."""
        render = self.render
        return b"[" + b",".join([render(i) for i in ids]) + b"]"

    def as_json(self, contact_id: int) -> dict[str, Any]:
        """The contact as a fresh dict, exactly as the API returns it."""
        loaded: dict[str, Any] = json.loads(self.render(contact_id))
        return loaded

    def id_for_uuid(self, value: str) -> int | None:
        found = self._uuids.get(value)
        if found is not None:
            return found
        for block in self._blocks:
            contact_id = block.id_for_uuid(value)
            if contact_id is not None and self._seeded_block(contact_id) is not None:
                return contact_id
        return None

    def id_for_local_id(self, value: str) -> int | None:
        """The id of the contact that holds this ``local_id`` (seeded contacts hold none)."""
        return self._local_ids.get(value)

    def find_channel(self, kind: str, value: str) -> list[int]:
        """The ids of the contacts reached by this channel, lowest first."""
        found = set(self._channels.get((kind, value), ()))
        for block in self._blocks:
            if kind == "phone":
                contact_id = block.id_for_phone(value)
            elif kind == "email":
                contact_id = block.id_for_email(value)
            else:
                contact_id = None
            if contact_id is not None and self._seeded_block(contact_id) is not None:
                found.add(contact_id)
        return sorted(found)

    def sample_ids(self, rng: random.Random, k: int) -> list[int]:
        """``k`` distinct contact ids at random (all of them, shuffled, if there are fewer)."""
        index = self._index
        return [index[p] & ID_MASK for p in rng.sample(range(len(index)), min(k, len(index)))]

    # -- listing --------------------------------------------------------------------------

    def v1_page(
        self,
        date: int | None,
        *,
        newest_first: bool,
        inclusive: bool,
        size: int,
        reorder: Reorder | None = None,
    ) -> list[int]:
        """The ids of one v1 page: from ``date`` (the cursor), in the configured order.

        ``reorder`` (see :mod:`._ties`) orders the contacts that tie; the page is a slice of
        the list so ordered.
        """
        index = self._index
        if newest_first:
            if date is None:
                end = len(index)
            elif inclusive:
                end = bisect.bisect_right(index, date << ID_BITS | ID_MASK)
            else:
                end = bisect.bisect_left(index, date << ID_BITS)
            return self._slice(max(0, end - size), end, descending=True, reorder=reorder)
        if date is None:
            start = 0
        elif inclusive:
            start = bisect.bisect_left(index, date << ID_BITS)
        else:
            start = bisect.bisect_right(index, date << ID_BITS | ID_MASK)
        return self._slice(start, start + size, descending=False, reorder=reorder)

    def _after(self, date: int | None) -> int:
        """The position of the first contact updated strictly after ``date``."""
        if date is None:
            return 0
        return bisect.bisect_right(self._index, date << ID_BITS | ID_MASK)

    def v2_page(
        self,
        date: int | None,
        *,
        limit: int,
        page: int,
        ascending: bool,
        reorder: Reorder | None = None,
    ) -> list[int]:
        """The ids of one v2 page: contacts updated after ``date``, offset ``page * limit``
        in the order (ties ordered by ``reorder``, if given)."""
        lo = self._after(date)
        offset = page * limit
        if ascending:
            start = lo + offset
            return self._slice(start, start + limit, descending=False, reorder=reorder)
        end = len(self._index) - offset
        if end <= lo:
            return []
        return self._slice(max(lo, end - limit), end, descending=True, reorder=reorder)

    def _slice(
        self, start: int, end: int, *, descending: bool, reorder: Reorder | None
    ) -> list[int]:
        """The ids at index positions ``start`` to ``end``, in the answer's direction.

        With ``reorder``, each position shows the contact that ``reorder`` puts at that rank
        of its tie group; only the groups overlapping the slice are looked at (two bisects
        each), so a page costs the same in a group of ten or of a million.
        """
        index = self._index
        end = min(end, len(index))
        if reorder is None or start >= end:
            keys = index[start:end]
            if descending:
                keys.reverse()
            return [k & ID_MASK for k in keys]
        out: list[int] = []
        first = last = group = 0  # the current tie group: positions first..last - 1
        for pos in range(end - 1, start - 1, -1) if descending else range(start, end):
            if not first <= pos < last:
                group = index[pos] >> ID_BITS
                first = bisect.bisect_left(index, group << ID_BITS, 0, pos + 1)
                last = bisect.bisect_left(index, (group + 1) << ID_BITS, pos)
            size = last - first
            if size == 1:
                out.append(index[pos] & ID_MASK)
            elif descending:
                out.append(index[last - 1 - reorder(last - 1 - pos, size, group)] & ID_MASK)
            else:
                out.append(index[first + reorder(pos - first, size, group)] & ID_MASK)
        return out

    def count_after(self, date: int | None) -> int:
        """How many contacts were updated strictly after ``date`` (all, without one)."""
        return len(self._index) - self._after(date)

    # -- writing --------------------------------------------------------------------------

    def _new_uuid(self) -> str:
        return str(uuid_module.UUID(int=self._rng.getrandbits(128), version=4))

    def _index_add(self, record: Record) -> None:
        bisect.insort(self._index, self._sort_key(record.updated, record.id))
        self._uuids[record.uuid] = record.id
        for channel in channels_of(record.fields):
            self._channels.setdefault(channel, set()).add(record.id)
        local_id = record.fields.get("local_id")
        if isinstance(local_id, str):
            self._local_ids[local_id] = record.id

    def _index_remove(self, contact_id: int) -> None:
        key = self._key(contact_id)
        if key is None:
            raise KeyError(contact_id)
        pos = bisect.bisect_left(self._index, key)
        del self._index[pos]
        record = self._records.get(contact_id)
        if record is not None:
            self._uuids.pop(record.uuid, None)
            local_id = record.fields.get("local_id")
            if isinstance(local_id, str) and self._local_ids.get(local_id) == contact_id:
                del self._local_ids[local_id]
            for channel in channels_of(record.fields):
                ids = self._channels.get(channel)
                if ids is not None:
                    ids.discard(contact_id)
                    if not ids:
                        del self._channels[channel]
        self._cache.pop(contact_id, None)
        self._seeded_cache.pop(contact_id, None)

    def _stored(self, record: Record) -> Record:
        self._records[record.id] = record
        self._index_add(record)
        self.version += 1
        return record

    def create(
        self,
        fields: dict[str, Any],
        *,
        updated: int | None = None,
        created: int | None = None,
        contact_id: int | None = None,
        uuid: str | None = None,
    ) -> Record:
        """Store a new contact (rev 1); times default to the clock's now.

        ``ValueError`` for an id that exists, or that the index cannot pack (not an int from
        1 to ``2**40 - 1``), given or next in line.
        """
        now = self.clock.micros() if updated is None or created is None else 0
        if contact_id is None:
            contact_id = self._next_id
        elif contact_id in self:
            raise ValueError(f"contact {contact_id} already exists")
        packable = isinstance(contact_id, int) and not isinstance(contact_id, bool)
        if not packable or not 1 <= contact_id <= ID_MASK:
            raise ValueError(f"contact id must be an int from 1 to {ID_MASK}, got {contact_id!r}")
        self._next_id = max(self._next_id, contact_id + 1)
        record = Record(
            contact_id,
            uuid or self._new_uuid(),
            fields,
            now if created is None else created,
            now if updated is None else updated,
            1,
        )
        return self._stored(record)

    def replace(
        self, contact_id: int, fields: dict[str, Any], *, updated: int | None = None
    ) -> Record:
        """Write new fields to a contact: ``rev`` + 1 and ``updated`` = now (or ``updated``)."""
        old = self.get(contact_id)
        if old is None:
            raise KeyError(contact_id)
        self._index_remove(contact_id)
        record = Record(
            contact_id,
            old.uuid,
            fields,
            old.created,
            self.clock.micros() if updated is None else updated,
            old.rev + 1,
        )
        return self._stored(record)

    def delete(self, contact_id: int) -> None:
        """Remove a contact for good; ``KeyError`` if there is none."""
        self._index_remove(contact_id)
        if self._records.pop(contact_id, None) is None or find_block(self._blocks, contact_id):
            self._deleted_seeded.add(contact_id)
        self.version += 1

    def seed(
        self,
        count: int,
        *,
        seed: int,
        start: int,
        step: int,
        ties: int | Sequence[int],
    ) -> range:
        """Add ``count`` generated contacts with the next ids; returns their ids."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be an int >= 0, got {count!r}")
        first = self._next_id
        if first + count - 1 > MAX_SEEDED_ID:
            raise ValueError(f"seeded ids stop at {MAX_SEEDED_ID}")
        if count == 0:
            return range(first, first)
        keys = updated_keys(first, count, start, step, ties, self.resolution)
        self._blocks.append(
            SeedBlock(first, keys, seed=seed, field_ids=self.field_ids, fmt=self.fmt)
        )
        index = self._index
        if not index or keys[0] > index[-1]:
            index.extend(keys)
        else:
            # Two sorted runs: timsort merges them in linear time.
            index.extend(keys)
            index.sort()
        self._next_id = first + count
        self.version += 1
        return range(first, first + count)


class ContactsView(Mapping[int, dict[str, Any]]):
    """Read-only ``{id: contact JSON}`` over the store; each read is a fresh dict."""

    def __init__(self, store: ContactStore) -> None:
        self._store = store

    def __getitem__(self, contact_id: int) -> dict[str, Any]:
        if contact_id not in self._store:
            raise KeyError(contact_id)
        return self._store.as_json(contact_id)

    def __iter__(self) -> Iterator[int]:
        return self._store.ids()

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, contact_id: object) -> bool:
        return contact_id in self._store


class TagStore:
    """The team's tags, listed newest first by ``(updated, id)`` with an exclusive ``date``."""

    def __init__(self, *, clock: FakeClock, timestamp_format: str = "milliseconds") -> None:
        self.clock = clock
        self.fmt = timestamp_format
        self.resolution = ts.unit(timestamp_format)
        self._tags: dict[int, dict[str, Any]] = {}
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._tags)

    def __contains__(self, tag_id: object) -> bool:
        return tag_id in self._tags

    def create(self, name: str, color: str | None = None, *, tag_id: int | None = None) -> int:
        """Store a new tag; returns its id."""
        if tag_id is None:
            tag_id = self._next_id
        elif tag_id in self._tags:
            raise ValueError(f"tag {tag_id} already exists")
        self._next_id = max(self._next_id, tag_id + 1)
        now = self.clock.micros()
        self._tags[tag_id] = {"name": name, "color": color, "created": now, "updated": now}
        return tag_id

    def delete(self, tag_id: int) -> None:
        """Remove a tag; ``KeyError`` if there is none."""
        del self._tags[tag_id]

    def as_json(self, tag_id: int) -> dict[str, Any]:
        """The tag as the emulator answers it."""
        tag = self._tags[tag_id]
        return {
            "id": tag_id,
            "name": tag["name"],
            "color": tag["color"],
            "created": ts.render(tag["created"], self.fmt),
            "updated": ts.render(tag["updated"], self.fmt),
        }

    def page(self, date: int | None, size: int) -> list[int]:
        """The ids of one list page: newest first, updated strictly before ``date``."""
        res = self.resolution
        keyed = sorted(
            ((tag["updated"] // res * res, tag_id) for tag_id, tag in self._tags.items()),
            reverse=True,
        )
        if date is not None:
            keyed = [k for k in keyed if k[0] < date // res * res]
        return [tag_id for _, tag_id in keyed[:size]]
