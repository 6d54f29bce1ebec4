"""A model of ``POST /v2/contacts/list`` (and the count) over contacts that change between
requests, for the keyset walk's tests: no sockets, so hypothesis can run hundreds of walks.

What the docs leave open is a switch: whether ``date`` is inclusive, whether the server compares
at the precision it writes (milliseconds) or finer (microseconds), and the order among tied
contacts (stable, reversed on every other request, shuffled per request).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from heymarket_async._sansio import parse_timestamp

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MS = 1000


def micros(when: datetime) -> int:
    return (when - EPOCH) // timedelta(microseconds=1)


def text(us: int) -> str:
    """Milliseconds, as Heymarket writes ``updated``."""
    when = EPOCH + timedelta(microseconds=us - us % MS)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // MS:03d}Z"


class _Contacts(dict[int, tuple[int, int]]):
    """The model's contacts, counting changes so that the sorted order is rebuilt only after
    one (hypothesis runs walks of thousands of requests; sorting on each was most of them)."""

    changes = 0

    def __setitem__(self, key: int, value: tuple[int, int]) -> None:
        self.changes += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: int) -> None:
        self.changes += 1
        super().__delitem__(key)

    def _no(self, *args: object, **kwargs: object) -> Any:
        raise NotImplementedError("change LiveList.contacts by item only")

    pop = popitem = setdefault = update = clear = __ior__ = _no


class LiveList:
    """Contacts ``id -> (true time in µs, version)``; the list answers by ``updated``."""

    def __init__(
        self,
        times: Iterable[int],
        *,
        inclusive: bool = False,
        micro: bool = False,
        tie_order: str = "stable",
        seed: int = 0,
    ) -> None:
        self.contacts = _Contacts((i + 1, (t, 1)) for i, t in enumerate(times))
        self._sorted: tuple[int, bool, list[tuple[int, int]], list[int]] | None = None
        self.next_id = len(self.contacts) + 1
        self.inclusive = inclusive
        self.micro = micro
        self.tie_order = tie_order
        self.rng = random.Random(seed)
        self.requests = 0
        self.clock = max((t for t, _ in self.contacts.values()), default=micros(T0)) + 10 * MS
        #: Called before each request is answered, with the request's number (from 1).
        self.before: Callable[[int], None] = lambda n: None
        #: The number of the request before which each contact last changed (0: never).
        self.changed_at: dict[int, int] = {}
        self.deleted: set[int] = set()

    # -- changes ---------------------------------------------------------------------------

    def tick(self) -> int:
        self.clock += self.rng.randrange(1, 3 * MS)
        return self.clock

    def update(self, cid: int) -> None:
        _, version = self.contacts[cid]
        self.contacts[cid] = (self.tick(), version + 1)
        self.changed_at[cid] = self.requests + 1

    def create(self) -> int:
        cid = self.next_id
        self.next_id += 1
        self.contacts[cid] = (self.tick(), 1)
        self.changed_at[cid] = self.requests + 1
        return cid

    def delete(self, cid: int) -> None:
        del self.contacts[cid]
        self.deleted.add(cid)
        self.changed_at[cid] = self.requests + 1

    # -- reading ---------------------------------------------------------------------------

    def key(self, us: int) -> int:
        return us if self.micro else us - us % MS

    def _by_key(self) -> tuple[list[tuple[int, int]], list[int]]:
        """``(key, id)`` of every contact in order, and the keys alone (to bisect)."""
        changes = self.contacts.changes
        if self._sorted is None or self._sorted[:2] != (changes, self.micro):
            keyed = sorted((self.key(us), cid) for cid, (us, _) in self.contacts.items())
            self._sorted = (changes, self.micro, keyed, [k for k, _ in keyed])
        return self._sorted[2], self._sorted[3]

    def keyed(self, date: str | None) -> list[tuple[int, int]]:
        """``(key, id)`` of the contacts after ``date``, in the order of this request."""
        keyed, keys = self._by_key()
        if date is not None:
            after = self.key(micros(parse_timestamp(date)))
            cut = bisect.bisect_left if self.inclusive else bisect.bisect_right
            keyed = keyed[cut(keys, after) :]
        if self.tie_order == "reversed" and self.requests % 2 == 0:
            keyed = sorted(keyed, key=lambda kc: (kc[0], -kc[1]))
        elif self.tie_order == "shuffled":
            salt = self.rng.random()
            keyed = sorted(keyed, key=lambda kc: (kc[0], hash((kc[1], salt))))
        return keyed

    def ordered(self, date: str | None) -> list[int]:
        return [cid for _, cid in self.keyed(date)]

    def render(self, cid: int) -> dict[str, Any]:
        us, version = self.contacts[cid]
        return {"id": cid, "updated": text(us), "rev": version}

    async def list_v2(self, body: dict[str, Any], parse: Callable[[Any], Any], /) -> Any:
        self.requests += 1
        self.before(self.requests)
        assert body["ascending"] is True
        start = body["page"] * body["limit"]
        page = self.keyed(body.get("date"))[start : start + body["limit"]]
        return parse([self.render(c) for _, c in page])

    async def count(self, body: dict[str, Any], parse: Callable[[Any], Any], /) -> Any:
        self.requests += 1
        self.before(self.requests)
        return parse(str(len(self.keyed(body.get("date")))))


def spaced(n: int, pattern: list[int], step_us: int) -> list[int]:
    """``n`` times from T0: groups of ``pattern`` sizes (repeated) share one time."""
    out: list[int] = []
    at = micros(T0)
    k = 0
    while len(out) < n:
        size = pattern[k % len(pattern)]
        out.extend([at] * min(size, n - len(out)))
        at += step_us
        k += 1
    return out
