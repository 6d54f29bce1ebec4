"""Live changes while a client walks the contacts: ``fake.churn(updates=10)``.

Before each request on its routes (or at a steady rate of real time), a :class:`Churn` updates,
creates and deletes random contacts of the store, and logs each change as a :class:`Change`,
so a test can tell which contacts a walk had to return (those untouched during it) and which
versions it may have seen.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable
from typing import Final, Literal

import attrs

from . import _timestamps as ts
from ._contacts import new_fields
from ._faults import check_route
from ._seed import FIRST_NAMES, LAST_NAMES
from ._store import ContactStore

ChangeKind = Literal["update", "create", "delete"]

#: The routes churned by default: the two contact lists.
LIST_PATHS: Final = ("/v1/contacts", "/v2/contacts/list")
#: The longest wait between two rounds of time-driven updates (seconds).
RATE_TICK: Final = 0.01


@attrs.frozen(kw_only=True)
class Change:
    """One change made by ``fake.churn``, in ``fake.changes``.

    ``updated`` is the new version's rendered ``updated`` and ``rev`` its ``rev`` (both
    ``None`` for a delete). ``request`` is the number of the churned request before which the
    change was made (1 for the first request on the churned routes after ``churn()`` was
    called), ``None`` for a time-driven change; ``time`` is ``time.monotonic()`` when it was
    made, comparable with :attr:`RecordedRequest.time <.RecordedRequest>`.
    """

    kind: ChangeKind
    id: int
    uuid: str
    updated: str | None
    rev: int | None
    request: int | None
    time: float


def check_routes(routes: Iterable[str]) -> tuple[str, ...]:
    """``routes`` as a tuple; each a path (``"/v1/contacts"``) or a route as faults name them."""
    if isinstance(routes, str):
        routes = (routes,)
    out = tuple(routes)
    for route in out:
        if not route.startswith("/"):
            check_route(route)
    return out


class Churn:
    """Random updates, creates and deletes on one store; see ``FakeHeymarket.churn``."""

    def __init__(
        self,
        store: ContactStore,
        log: list[Change],
        *,
        updates: int,
        creates: int,
        deletes: int,
        routes: Iterable[str],
        seed: int,
        stop_after: int | None,
        rate_per_second: float | None,
    ) -> None:
        for name, value in (("updates", updates), ("creates", creates), ("deletes", deletes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        if stop_after is not None and stop_after < 1:
            raise ValueError("stop_after must be >= 1")
        if rate_per_second is not None and not rate_per_second > 0:
            raise ValueError("rate_per_second must be > 0")
        self.store = store
        self.log = log
        self.updates = updates
        self.creates = creates
        self.deletes = deletes
        self.routes = check_routes(routes)
        self.stop_after = stop_after
        self.rate_per_second = rate_per_second
        self.rng = random.Random(seed)
        #: How many requests the churn has acted before.
        self.requests = 0

    def wants(self, method: str, path: str, route: str) -> bool:
        """Whether a request (``"POST"``, ``"/v1/contacts"``, its route) is churned before."""
        if self.stop_after is not None and self.requests >= self.stop_after:
            return False
        if not (self.updates or self.creates or self.deletes):
            return False
        return any(r in (path, route, f"{method} {path}") for r in self.routes)

    def before_request(self) -> None:
        """One request's changes: updates, then deletes (of other contacts), then creates."""
        self.requests += 1
        self.apply(updates=self.updates, deletes=self.deletes, creates=self.creates)

    def apply(
        self, *, updates: int = 0, deletes: int = 0, creates: int = 0, timed: bool = False
    ) -> None:
        """Make these changes now (distinct random contacts; fewer if the store runs out)."""
        store, rng = self.store, self.rng
        request = None if timed else self.requests
        picked = store.sample_ids(rng, updates + deletes)
        for contact_id in picked[:updates]:
            old = store.get(contact_id)
            if old is None:  # pragma: no cover - sampled from the index just now
                continue
            fields = dict(old.fields)
            first = rng.choice([n for n in FIRST_NAMES if n != fields.get("first")])
            fields["first"] = first
            fields["display_name"] = " ".join(p for p in (first, fields.get("last")) if p)
            record = store.replace(contact_id, fields)
            self._log("update", record.id, record.uuid, record.updated, record.rev, request)
        for contact_id in picked[updates:]:
            old = store.get(contact_id)
            if old is None:  # pragma: no cover
                continue
            store.delete(contact_id)
            self._log("delete", contact_id, old.uuid, None, None, request)
        for _ in range(creates):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            record = store.create(
                new_fields(
                    {"phone": f"1999{rng.randrange(10**7):07d}", "first": first, "last": last}
                )
            )
            self._log("create", record.id, record.uuid, record.updated, record.rev, request)

    def _log(
        self,
        kind: ChangeKind,
        contact_id: int,
        uuid: str,
        updated: int | None,
        rev: int | None,
        request: int | None,
    ) -> None:
        self.log.append(
            Change(
                kind=kind,
                id=contact_id,
                uuid=uuid,
                updated=None if updated is None else ts.render(updated, self.store.fmt),
                rev=rev,
                request=request,
                time=time.monotonic(),
            )
        )

    async def run(self) -> None:
        """Update ``rate_per_second`` contacts per second of real time, until cancelled."""
        rate = self.rate_per_second
        if rate is None:
            return
        started = time.monotonic()
        done = 0
        while True:
            await asyncio.sleep(min(RATE_TICK, 1.0 / rate))
            due = int((time.monotonic() - started) * rate) - done
            if due > 0:
                self.apply(updates=due, timed=True)
                done += due
