"""The v2 keyset walk: :class:`V2ContactPager`, the I/O around :func:`keyset_step` and
:func:`tie_step`, optionally split into ``updated`` slices read concurrently."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Final, Literal, cast

import attrs

from heymarket_async import _validate as check
from heymarket_async._convert import structure_count
from heymarket_async._ratelimit import WIRE_TIME
from heymarket_async._redact import mask
from heymarket_async._sansio.response import ItemTexts, loads_with_texts
from heymarket_async.errors import InvalidRequestError, PaginationError
from heymarket_async.pagination._base import (
    ContactT,
    DecodingFetch,
    Fetch,
    Pager,
    checked_max_items,
    contact_structure,
    raw_page,
)
from heymarket_async.pagination._keyset import (
    Slice,
    V2Position,
    resume_point,
    step,
    updated_of,
)
from heymarket_async.pagination._positions import (
    RawContact,
    V1Position,
    V2OffsetPosition,
    bad_resume,
    evolved,
    since_text,
)
from heymarket_async.pagination._v1_step import parse_updated

__all__ = ["MAX_SLICES", "V2ContactPager", "auto_slices"]

#: The most slices a walk may be split into.
MAX_SLICES: Final = 16
#: ``slices="auto"`` keeps this many times the requests in flight that the rate and the
#: latency need (Little's law: rate x latency): a page of 100 contacts may take longer than
#: the count request it is measured on, and latency varies.
_IN_FLIGHT_MARGIN: Final = 1.5
#: The most requests a walk may send per page of contacts handed out (a walk over groups of
#: exactly a page of one ``updated`` sends up to ten: each is read twice, from the page before,
#: and where it ends is read again).
_PER_PAGE: Final = 12
#: Requests a walk may send beyond that budget.
_SPARE_REQUESTS: Final = 16

_Item = tuple[int, Slice, list[RawContact], Slice]
#: Pages of the slices' tasks, for the reader; an error one raised; ``None``: the planner ended.
_Queue = asyncio.Queue[_Item | BaseException | None]
#: Put in the queue by ``aclose()`` to wake a reader waiting in another task.
_CLOSED: Final = PaginationError("the walk was closed")


class V2ContactPager(Pager[RawContact, ContactT]):
    """Every contact through the v2 list as a keyset walk (``client.v2.iter_contacts()``).

    Oldest first, ``date`` = the last ``updated`` read: a contact that changes during the walk
    moves after the cursor, so every contact that exists for the whole walk is read at least
    once, and one changed during it is read again in its newer version (same ``id``, later
    ``updated``: keep the newest). On a team that does not change, each contact exactly once.
    ``slices=K`` splits the ``updated`` range into K parts read concurrently, contacts coming
    in the order their pages arrive, and ends with a catch-up read past the last part so that
    contacts changed meanwhile are read. The first part reads from the start while a count and
    K-1 pages at the boundaries (each the first page of the part it starts) choose them.
    ``max_items`` caps how many come out; ``since`` keeps the contacts updated after it.
    ``position`` is valid after every contact handed out; a walk that ended can be resumed too,
    and then reads what changed since. Raises :class:`PaginationError` rather than risk a gap,
    and after twelve requests per page of contacts handed out (plus a few): no walk sends
    requests forever. With ``raw=True`` (a ``V2ContactPager[dict[str, Any]]``) each contact
    comes as the JSON object the API sent, not a :class:`Contact`. The reasoning, and raw
    walks: docs/pagination.md.
    """

    _error_url = "/v2/contacts/list"

    def __init__(
        self,
        list_v2: Fetch,
        *,
        count: Fetch | None = None,
        scrub: Callable[[str], str] = mask,
        since: datetime | str | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        slices: int | Literal["auto"] = 1,
        resume: V2Position | Mapping[str, Any] | str | None = None,
        raw: bool = False,
        pace: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            contact_structure(raw), scrub=scrub, max_items=checked_max_items(max_items)
        )
        self._list = list_v2
        self._count = count
        # None: chosen when the walk starts, from the pace (requests a second) and the latency.
        wanted = None if slices == "auto" else check.bounded_int(slices, "slices", 1, MAX_SLICES)
        if wanted is None and (pace is None or count is None):
            wanted = 1  # unpaced: nothing to keep up with, one request at a time
        if wanted != 1 and count is None:
            raise ValueError("a walk split into slices needs the count request")
        since_at = since_text(since)
        if resume is not None:
            pos = _resumed(resume, since_at)
            reopened = pos.done
            if reopened:
                # A walk that ended goes on from where its last part stopped: what changed.
                last = attrs.evolve(pos.slices[-1], done=False, waiting=False)
                pos = attrs.evolve(pos, slices=(*pos.slices[:-1], last))
        else:
            reopened = False
            pos = V2Position(
                since=since_at,
                page_size=check.bounded_int(page_size, "page_size", 1, check.V2_MAX_LIMIT),
                slices=(Slice(cursor=since_at, floor=since_at),),
                planned=wanted == 1,
            )
        if not pos.planned and (count is None or wanted == 1 or len(pos.slices) > 1):
            # (Saved while the walk split: its slices cover the range, the last one open.)
            pos = attrs.evolve(pos, planned=True)
        self._wanted = wanted
        self._pace = pace
        self._clock = clock
        self._pos = pos  # every slice as far as its contacts were handed out
        self._cur: tuple[int, Slice] | None = None  # the page handed out: slice, state before
        self._sent = 0  # requests sent, for the cap
        self._got = 0  # contacts the steps yielded, for the cap
        self._queue: _Queue | None = None
        # Pages read and not yet taken (a few): a slice's task takes one before each request.
        self._room = asyncio.Semaphore(MAX_SLICES)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._catching_up = reopened  # only the last slice reads: no catch-up after it
        # While the walk is split (the last slice reads on, to the end, until the next boundary
        # comes): the upper boundaries chosen after their slices started, the latest time each
        # slice read, the slices that reached the end of the list, and how many requests the
        # first slice sent.
        self._stops: dict[int, str] = {}
        self._highs: dict[int, datetime | None] = {}
        self._ended: set[int] = set()
        self._first_sent = 0
        self._concurrent = False  # requests other than the last slice's went out beside it
        self._decode: Callable[[bytes], Any] | None = None  # see _keep_texts
        # Each slice's last page read, while texts are kept: a tie group's read may hand out
        # contacts of the page before (``Slice.tie_hold``).
        self._last_read: dict[int, ItemTexts] = {}

    def _keep_texts(self) -> None:
        """Keep each contact's JSON text as the API sent it (for the export, which writes it
        as it is): ``pages()`` of a raw walk then gives :class:`ItemTexts`. Before the walk
        starts; the fetches must be :class:`DecodingFetch` (the resources' are)."""
        if self._structure is None:
            self._decode = loads_with_texts

    def _ask(self, body: dict[str, Any]) -> Awaitable[list[RawContact]]:
        """The list request of ``body``, its answer decoded as :meth:`_keep_texts` says."""
        decode = self._decode
        if decode is None:
            return self._list(body, raw_page)
        return cast(DecodingFetch, self._list)(body, raw_page, decode)

    def _texts_of(self, i: int, data: list[RawContact], keep: list[RawContact]) -> list[RawContact]:
        """``keep``, from slice ``i``'s answer ``data``, with the texts ``data`` holds (and the
        slice's page before holds, for contacts a tie group's read held back from it)."""
        if type(data) is not ItemTexts:
            return keep
        keep = data.of(keep, self._last_read.get(i))
        self._last_read[i] = data
        return keep

    @property
    def position(self) -> V2Position:
        """Where to resume from: just after the last contact handed out."""
        pos = self._pos
        cur = self._cur
        if cur is None or self._i >= self._avail:
            return pos
        i, before = cur
        slices = list(pos.slices)
        slices[i] = resume_point(self._bounded(i, before), self._buf[: self._i])
        return attrs.evolve(pos, slices=slices)

    # -- one request ----------------------------------------------------------------------

    async def _read(self, i: int, s: Slice) -> tuple[Slice, list[RawContact], Slice]:
        """One request of slice ``i`` from ``s``: the state it was stepped from (``s``, with the
        upper boundary chosen while the request was out), what it yields, the next state."""
        limit = self._pos.page_size
        self._sent += 1
        cap = _PER_PAGE * (self._got // limit + 1) + _SPARE_REQUESTS + 4 * len(self._pos.slices)
        if self._sent > cap:
            raise PaginationError(
                f"the v2 walk sent {self._sent - 1} requests for {self._got} contacts, more than "
                "it can need: the server keeps sending contacts already read",
                cursor=s.tie or s.cursor,
            )
        if i == 0:
            self._first_sent += 1
        data = await self._ask(s.body(limit))
        s = self._bounded(i, s)
        keep, nxt = step(s, data, limit)
        if self._decode is not None:
            keep = self._texts_of(i, data, keep)
        self._got += _earned(s, data, keep, nxt)
        if not self._pos.planned:
            # What the boundaries being chosen must not cut into: this slice read up to here.
            if data:
                last = parse_updated(updated_of(data[-1]))
                high = self._highs.get(i)
                if high is None or last > high:
                    self._highs[i] = last
            if nxt.done and s.stop is None:
                self._ended.add(i)
        return s, keep, nxt

    def _bounded(self, i: int, s: Slice) -> Slice:
        """``s`` with slice ``i``'s upper boundary, if it was chosen after ``s`` was."""
        stop = self._stops.get(i)
        if stop is not None and s.stop is None:
            return attrs.evolve(s, stop=stop)
        return s

    def _commit(
        self, i: int, before: Slice, keep: list[RawContact], nxt: Slice
    ) -> list[RawContact]:
        before, nxt = self._bounded(i, before), self._bounded(i, nxt)
        slices = list(self._pos.slices)
        last = len(slices) - 1
        if nxt.done and i == last and (last or self._concurrent) and not self._catching_up:
            # The others (or the requests that split the walk) may read after this: contacts
            # changed meanwhile move past its end, so it reads once more when they are done
            # (one request, if nothing changed).
            nxt = attrs.evolve(nxt, done=False, waiting=True)
        slices[i] = nxt
        self._pos = evolved(self._pos, {"slices": slices})
        self._cur = (i, before)
        return keep

    # -- the walk -------------------------------------------------------------------------

    async def _fetch(self) -> list[RawContact] | None:
        if self._queue is not None:
            return await self._from_queue()
        if not self._pos.planned:
            # The first slice reads while the count and the boundaries come: the start of a
            # split walk costs no round trip of idle budget.
            # Unbounded, so that each page goes in as it is read: contacts come out in the order
            # they were read, never a version after a newer one. ``_room`` bounds it.
            queue: _Queue = asyncio.Queue()
            self._queue = queue
            self._concurrent = True
            planner = asyncio.ensure_future(self._plan(queue))
            planner.add_done_callback(_retrieve)
            self._tasks[-1] = planner
            first = self._pos.slices[0]
            self._highs[0] = _high_mark(first)
            if not first.done:
                self._start(0, first)
            return await self._from_queue()
        active = [i for i, s in enumerate(self._pos.slices) if not s.done and not s.waiting]
        if len(active) > 1:
            self._queue = asyncio.Queue()
            self._room = asyncio.Semaphore(len(active))
            for i in active:
                self._start(i, self._pos.slices[i])
            return await self._from_queue()
        if not active:
            if not self._catch_up():
                return None
            active = [len(self._pos.slices) - 1]
        i = active[0]
        before, keep, nxt = await self._read(i, self._pos.slices[i])
        if self._stopped():
            return None
        return self._commit(i, before, keep, nxt)

    def _catch_up(self) -> bool:
        """Start the last slice's read past the end once the others are done (``False``: the
        walk is over)."""
        slices = self._pos.slices
        if not slices[-1].waiting:
            return False
        self._catching_up = True
        last = attrs.evolve(slices[-1], waiting=False, done=False)
        self._pos = attrs.evolve(self._pos, slices=(*slices[:-1], last))
        return True

    def _start(self, i: int, s: Slice) -> None:
        assert self._queue is not None
        task = asyncio.ensure_future(self._run(i, s, self._queue))
        task.add_done_callback(_retrieve)
        self._tasks[i] = task

    async def _run(self, i: int, s: Slice, queue: _Queue) -> None:
        """Read slice ``i`` to its end, a page at a time into the queue."""
        try:
            while True:
                await self._room.acquire()  # given back when the reader takes the page
                before, keep, nxt = await self._read(i, s)
                queue.put_nowait((i, before, keep, nxt))
                if nxt.done:
                    return
                s = nxt
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the reader, who raises it
            queue.put_nowait(exc)

    async def _from_queue(self) -> list[RawContact] | None:
        assert self._queue is not None
        while True:
            if self._queue.empty() and not any(not t.done() for t in self._tasks.values()):
                if not self._catch_up():
                    return None
                last = len(self._pos.slices) - 1
                self._start(last, self._pos.slices[last])
            item = await self._queue.get()
            if self._stopped():
                return None
            if item is None:
                continue  # the planner is done: look again whether anything still reads
            if isinstance(item, BaseException):
                raise item
            self._room.release()
            i, before, keep, nxt = item
            if nxt.done:
                with contextlib.suppress(KeyError):
                    await self._tasks.pop(i)
            return self._commit(i, before, keep, nxt)

    async def _plan(self, queue: _Queue) -> None:
        """Split the ``updated`` range while the first slice reads: the count, then one full
        page at each boundary, which is also the first page of the slice it starts."""
        try:
            await self._split(queue)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the reader, who raises it
            queue.put_nowait(exc)
        else:
            queue.put_nowait(None)

    async def _split(self, queue: _Queue) -> None:
        """K-1 boundaries at the pages that share what is left after the first slice's head
        start into K parts, the left one the first slice's."""
        assert self._count is not None
        since = self._pos.since
        limit = self._pos.page_size
        self._sent += 1
        started = self._clock()
        WIRE_TIME.set(-1.0)  # (this task's own copy) the client sets it as the count is answered
        total = await self._count({} if since is None else {"date": since}, structure_count)
        wanted = self._wanted
        if wanted is None:
            assert self._pace is not None
            # The count's time on the wire, not its wait for a turn (behind the first page, and
            # in the export behind another read): a fetch that does not say, the whole call.
            wire = WIRE_TIME.get()
            wanted = auto_slices(self._pace, wire if wire >= 0 else self._clock() - started)
        head = self._first_sent  # pages the first slice read or asked for meanwhile
        left = -(-total // limit) - head
        k = max(1, min(wanted, left))
        bodies = []
        for j in range(1, k):
            body: dict[str, Any] = {
                "limit": limit,
                "page": head + left * j // k,
                "ascending": True,
            }
            if since is not None:
                body["date"] = since
            bodies.append(body)
        self._sent += len(bodies)
        reads = [asyncio.ensure_future(self._ask(b)) for b in bodies]
        try:
            for read in reads:
                # Each boundary as its page comes, in order: the slice it starts reads at once.
                await self._extend(await read, queue)
        finally:
            for read in reads:
                read.cancel()
            await asyncio.gather(*reads, return_exceptions=True)
        self._pos = attrs.evolve(self._pos, planned=True)

    async def _extend(self, page: list[RawContact], queue: _Queue) -> None:
        """A boundary page: the last slice (so far open-ended) stops at its first time, and a
        slice from there on starts, the page its first."""
        slices = self._pos.slices
        last = len(slices) - 1
        if not page or last in self._ended:
            return
        value = updated_of(page[0])
        at = parse_updated(value)
        # From here to the first ``await``, no slice steps: what the last one read is known.
        high = self._highs.get(last)
        if high is not None and at < high:
            return  # the last slice read past it already
        floor = slices[last].floor
        if last and floor is not None and at <= parse_updated(floor):
            return
        self._stops[last] = value
        j = last + 1
        s = Slice(cursor=value, floor=value)
        # The boundary page is what the slice's own first request would read (the contacts
        # after its lower boundary, in order), unless it holds a group of one time that may go
        # on past it: then the slice reads from its boundary.
        keep, nxt = step(s, page, self._pos.page_size)
        if self._decode is not None:
            keep = self._texts_of(j, page, keep)
        self._pos = attrs.evolve(
            self._pos, slices=(*slices[:last], self._bounded(last, slices[last]), s)
        )
        if nxt.tie is not None:
            self._highs[j] = None
            self._start(j, s)
            return
        self._got += _earned(s, page, keep, nxt)
        self._highs[j] = parse_updated(updated_of(page[-1]))
        if nxt.done:
            self._ended.add(j)
        # In the order of reading now: the last slice read nothing past the boundary, so no
        # newer version of a contact on this page has been read yet.
        queue.put_nowait((j, s, keep, nxt))
        if not nxt.done:
            self._start(j, nxt)
        await self._room.acquire()  # the page takes room like any other

    async def aclose(self) -> None:
        """Stop the walk: the slices' requests are cancelled and awaited; no request follows."""
        self._stop()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        queue = self._queue
        if queue is not None:
            # A reader waiting for a page in another task: wake it (it sees the walk closed).
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(_CLOSED)

    def __del__(self) -> None:
        for task in getattr(self, "_tasks", {}).values():
            if not task.done():
                with contextlib.suppress(RuntimeError):  # the loop is already closed
                    task.cancel()


def auto_slices(pace: float, latency: float) -> int:
    """How many slices keep a walk paced at ``pace`` requests a second busy when a request
    takes ``latency`` seconds: the requests in flight that needs, with a margin."""
    return max(1, min(MAX_SLICES, math.ceil(_IN_FLIGHT_MARGIN * pace * latency)))


def _high_mark(s: Slice) -> datetime | None:
    """The latest time a slice (resumed) may have read: its cursor, its tie group, or a time
    it remembers ids at."""
    times = [t for t in (s.cursor, s.tie, *s.seen) if t is not None]
    return max((parse_updated(t) for t in times), default=None)


def _earned(s: Slice, data: list[RawContact], keep: list[RawContact], nxt: Slice) -> int:
    """How many contacts a page brought that the walk had not read: those handed out, and
    those it read only to leave out (at or before ``since`` or a slice's lower boundary, which
    a server may send when it compares finer than it writes). A page of what was read already
    brings none, so a server that keeps sending it meets the request cap."""
    if s.tie is not None:
        if nxt.tie == s.tie and nxt.tie_pass == s.tie_pass and not nxt.tie_confirm:
            return max(len(keep), len(nxt.tie_ids) - len(s.tie_ids))
        return len(keep)
    if s.floor is None:
        return len(keep)
    seen = s.seen
    return sum(
        1 for c in data if c.get("updated") not in seen or c.get("id") not in seen[c["updated"]]
    )


def _resumed(value: V2Position | Mapping[str, Any] | str, since: str | None) -> V2Position:
    if isinstance(value, V2Position):
        pos = value
    elif isinstance(value, V2OffsetPosition):
        raise bad_resume("an offset walk's position: resume it with iter_contacts_by_offset()")
    elif isinstance(value, V1Position):
        raise bad_resume("expected a V2Position, got a V1Position")
    elif isinstance(value, (str, Mapping)):
        pos = V2Position.from_dict(value)
    else:
        raise bad_resume("expected a V2Position, a dict or a JSON string")
    if since is not None and since != pos.since:
        raise InvalidRequestError("since", "differs from the since of the resumed walk")
    return pos


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
