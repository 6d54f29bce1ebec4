"""Deterministic, realistic seeded contacts, made on demand from (seed, id).

A block of seeded contacts stores only its sort keys: every other field is a pure function of
the block's seed and the contact id, and a contact's JSON is rendered straight from a template.
That is what makes a million contacts cost a few hundred milliseconds and a few tens of
megabytes. A seeded contact that is written to is copied into the store as an ordinary record.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any, Final

from . import _timestamps as ts

#: Sort keys pack ``(updated, id)`` into one int, so the index is a plain sorted list of ints.
ID_BITS: Final = 40
ID_MASK: Final = (1 << ID_BITS) - 1
#: Seeded phone numbers and emails carry the id in their last digits, so they can be looked up
#: without an index; that works up to this id.
MAX_SEEDED_ID: Final = 9_999_999

_M64: Final = (1 << 64) - 1

FIRST_NAMES: Final = (
    "Jordan", "Avery", "Riley", "Morgan", "Casey", "Taylor", "Quinn", "Harper", "Rowan", "Emery",
    "Sofia", "Mateo", "Amara", "Kenji", "Priya", "Lucas", "Chloe", "Omar", "Ingrid", "Diego",
    "Mei", "Noah", "Zara", "Elias", "Fatima", "Leo", "Hana", "Ivan", "Nora", "Tariq",
)  # fmt: skip
LAST_NAMES: Final = (
    "Rivera", "Nguyen", "Smith", "Okafor", "Kowalski", "Garcia", "Tanaka", "Patel", "Muller",
    "Rossi", "Johnson", "Haddad", "Kim", "Silva", "Novak", "Brown", "Lindqvist", "Chen", "Diaz",
    "Walker", "Ahmed", "Moreau", "Sato", "Lopez", "Fischer", "Clarke", "Singh", "Costa", "Ali",
    "Young",
)  # fmt: skip
AREA_CODES: Final = (
    "201", "212", "305", "312", "415", "510", "617", "646", "702", "713", "718", "818", "917",
)  # fmt: skip
PLANS: Final = ("Free", "Starter", "Premium", "Enterprise")
TAG_IDS: Final = (55, 56, 57, 58, 59, 60, 61)
TEAM_ID: Final = 1001
CREATOR_ID: Final = 2001


def mix(value: int) -> int:
    """A 64-bit hash (splitmix64's finalizer): cheap, deterministic, well spread."""
    z = (value + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def updated_keys(
    first_id: int,
    count: int,
    start_us: int,
    step_us: int,
    ties: int | Sequence[int],
    resolution: int,
) -> list[int]:
    """The sort keys of ``count`` seeded contacts: ``updated`` goes up by ``step_us`` per group.

    ``ties`` is a group size (``1``: every contact has its own time) or a pattern of group
    sizes, repeated: ``[1, 1, 40]`` gives two lone contacts, then 40 sharing one time, etc.
    """
    pattern = [ties] if isinstance(ties, int) else list(ties)
    if not pattern or any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in pattern):
        raise ValueError(f"tie_group_size must be a positive int or a pattern of them: {ties!r}")
    if step_us < 0:
        raise ValueError("step must be >= 0")
    if len(pattern) == 1:
        size = pattern[0]
        return [
            ((start_us + (i // size) * step_us) // resolution * resolution) << ID_BITS
            | (first_id + i)
            for i in range(count)
        ]
    keys: list[int] = []
    append = keys.append
    group = 0
    i = 0
    while i < count:
        size = pattern[group % len(pattern)]
        visible = (start_us + group * step_us) // resolution * resolution << ID_BITS
        for j in range(i, min(i + size, count)):
            append(visible | (first_id + j))
        i += size
        group += 1
    return keys


class SeedBlock:
    """Contacts ``first_id .. first_id + count - 1``, made from ``seed`` on demand."""

    __slots__ = ("count", "field_ids", "first_id", "fmt", "keys", "salt", "seed")

    def __init__(
        self,
        first_id: int,
        keys: list[int],
        *,
        seed: int,
        field_ids: Sequence[int],
        fmt: str,
    ) -> None:
        self.first_id = first_id
        self.count = len(keys)
        self.keys = keys
        self.seed = seed
        self.salt = mix(seed * 0x632BE59BD9B4E019 + 17)
        self.field_ids = tuple(field_ids)
        self.fmt = fmt

    @property
    def last_id(self) -> int:
        return self.first_id + self.count - 1

    def __contains__(self, contact_id: int) -> bool:
        return self.first_id <= contact_id <= self.last_id

    def key(self, contact_id: int) -> int:
        return self.keys[contact_id - self.first_id]

    def _hash(self, contact_id: int) -> int:
        return mix(contact_id ^ self.salt)

    def phone(self, contact_id: int, h: int | None = None) -> str:
        h = self._hash(contact_id) if h is None else h
        if h % 10 == 7:  # a few UK mobiles among the North American numbers
            return f"4479{contact_id:08d}"
        return f"1{AREA_CODES[(h >> 8) % len(AREA_CODES)]}{contact_id:07d}"

    def uuid(self, contact_id: int, h: int | None = None) -> str:
        h = self._hash(contact_id) if h is None else h
        return (
            f"{h >> 32:08x}-{(h >> 16) & 0xFFFF:04x}-4{(h >> 4) & 0xFFF:03x}-"
            f"{8 + (h & 3):x}{(self.salt >> 8) & 0xFFF:03x}-{contact_id:012x}"
        )

    def fields(self, contact_id: int) -> dict[str, Any]:
        """Everything but id, uuid, created, updated and rev, as the store keeps it."""
        h = self._hash(contact_id)
        first = FIRST_NAMES[(h >> 12) % len(FIRST_NAMES)]
        last = LAST_NAMES[(h >> 20) % len(LAST_NAMES)]
        phone = self.phone(contact_id, h)
        email = f"{first}.{last}.{contact_id}@example.com".lower()
        custom: dict[str, str] = {}
        if self.field_ids:
            custom[str(self.field_ids[0])] = PLANS[(h >> 28) % len(PLANS)]
        if len(self.field_ids) > 1:
            month, day = 1 + (h >> 32) % 12, 1 + (h >> 36) % 28
            custom[str(self.field_ids[1])] = f"2025-{month:02d}-{day:02d}"
        ntags = (h >> 40) % 4
        tags = [{"tag_id": TAG_IDS[(h >> (44 + 3 * k)) % len(TAG_IDS)]} for k in range(ntags)]
        return {
            "phone": phone,
            "first": first,
            "last": last,
            "display_name": f"{first} {last}",
            "email": email,
            "custom": custom,
            "tags": tags,
            "contact_channels": [
                {"channel_type": "phone", "channel_id": phone},
                {"channel_type": "email", "channel_id": email},
            ],
            "assigned_user_id": None if h % 3 else 3000 + (h >> 8) % 20,
            "is_opted_out": h % 17 == 0,
            "team_id": TEAM_ID,
            "creator_id": CREATOR_ID,
        }

    def times(self, contact_id: int) -> tuple[int, int, int]:
        """(created, updated, rev): created up to a year before updated."""
        h = self._hash(contact_id)
        updated = self.key(contact_id) >> ID_BITS
        created = updated - ((h >> 9) % 31_536_000) * 1_000_000
        return created, updated, 1 + (h >> 50) % 5

    def render(self, contact_id: int) -> bytes:
        """The contact's JSON, straight from a template (the hot path of a seeded list).

        The same values as :meth:`fields` and :meth:`times`, computed inline (a test holds
        the two equal); every generated string is plain ASCII, so nothing needs escaping.
        """
        h = mix(contact_id ^ self.salt)
        first = FIRST_NAMES[(h >> 12) % len(FIRST_NAMES)]
        last = LAST_NAMES[(h >> 20) % len(LAST_NAMES)]
        phone = self.phone(contact_id, h)
        email = f"{first}.{last}.{contact_id}@example.com".lower()
        ids = self.field_ids
        custom = ""
        if ids:
            custom = f'"{ids[0]}":"{PLANS[(h >> 28) % len(PLANS)]}"'
            if len(ids) > 1:
                custom += f',"{ids[1]}":"2025-{1 + (h >> 32) % 12:02d}-{1 + (h >> 36) % 28:02d}"'
        tags = ",".join(
            [
                f'{{"tag_id":{TAG_IDS[(h >> (44 + 3 * k)) % len(TAG_IDS)]}}}'
                for k in range((h >> 40) % 4)
            ]
        )
        assigned = "null" if h % 3 else str(3000 + (h >> 8) % 20)
        updated = self.keys[contact_id - self.first_id] >> ID_BITS
        created = updated - ((h >> 9) % 31_536_000) * 1_000_000
        fmt = self.fmt
        return (
            f'{{"id":{contact_id},"uuid":"{self.uuid(contact_id, h)}","phone":"{phone}",'
            f'"first":"{first}","last":"{last}","display_name":"{first} {last}",'
            f'"email":"{email}","custom":{{{custom}}},"tags":[{tags}],'
            f'"contact_channels":[{{"channel_type":"phone","channel_id":"{phone}"}},'
            f'{{"channel_type":"email","channel_id":"{email}"}}],'
            f'"assigned_user_id":{assigned},'
            f'"is_opted_out":{"false" if h % 17 else "true"},'
            f'"team_id":{TEAM_ID},"creator_id":{CREATOR_ID},'
            f'"created":"{ts.render(created, fmt)}","updated":"{ts.render(updated, fmt)}",'
            f'"rev":{1 + (h >> 50) % 5}}}'
        ).encode()

    def id_for_phone(self, phone: str) -> int | None:
        """The seeded id whose generated phone is ``phone``, if any (ignores later writes)."""
        for digits in (7, 8):
            tail = phone[-digits:]
            if len(phone) > digits and tail.isdigit():
                contact_id = int(tail)
                if contact_id in self and self.phone(contact_id) == phone:
                    return contact_id
        return None

    def id_for_email(self, email: str) -> int | None:
        local = email.partition("@")[0]
        tail = local.rpartition(".")[2]
        if tail.isdigit():
            contact_id = int(tail)
            if contact_id in self and self.fields(contact_id)["email"] == email:
                return contact_id
        return None

    def id_for_uuid(self, value: str) -> int | None:
        tail = value[-12:]
        try:
            contact_id = int(tail, 16)
        except ValueError:
            return None
        if contact_id in self and self.uuid(contact_id) == value:
            return contact_id
        return None


def find_block(blocks: Sequence[SeedBlock], contact_id: int) -> SeedBlock | None:
    """The block holding ``contact_id`` (blocks are in id order and do not overlap)."""
    pos = bisect.bisect_right([b.first_id for b in blocks], contact_id) - 1
    if pos >= 0 and contact_id in blocks[pos]:
        return blocks[pos]
    return None
